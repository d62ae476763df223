"""Memory a run will need, estimated before it starts, and the refusal of runs that cannot fit.

The estimate adds the population's arrays, the post ring (world and platform columns), and the
larger of the follow graph's construction and the busiest tick's candidate arrays. Its constants
are bytes per element of the real arrays; checked against measured peaks of one engagement cell
over 2 days (10k people: 0.34 GiB measured, 0.33 estimated; 100k: 1.08 / 1.03; 1M: 6.34 / 7.53).
Rankers that remember add their memory on top, which the estimate leaves out (the bridging
ranker's per-slot fit is about 16 bytes per post slot, 0.5 GiB at 1M people).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from feedlab.core.errors import ConfigError
from feedlab.experiments.config import ExperimentConfig
from feedlab.world.world import post_capacity

GIB = 1024**3
BASE_BYTES = 250 * 1024**2  # interpreter, NumPy, SciPy, Numba and their code
PERSON_BYTES = 150 + 212 + 150  # people's traits and state, the digital model, the day's tally
POST_SLOT_BYTES = 77 + 60  # world columns of a post + the platform's counters and logits
EDGE_BUILD_BYTES = 60  # per follow edge while the graph is drawn (int64 pairs and draws)
EDGE_BYTES = 8  # per follow edge once built (both CSR directions, int32)
CANDIDATE_BYTES = 200  # per candidate cell of a tick (ids, slots, features, predictions, scores)
PEAK_HOUR = 1.9  # busiest hour's open rate over the daily mean


def estimate_cell_bytes(config: ExperimentConfig) -> int:
    """Peak resident bytes of one (arm, seed) cell of ``config``."""
    world, platform = config.world, config.platform
    n = world.n_people
    slots = 1 << max(10, math.ceil(math.log2(max(post_capacity(world), 2))))
    candidates = platform.candidates
    width = (
        candidates.inbox_size + 2 * candidates.topic_pool + candidates.trending + candidates.explore
    )
    ring_bytes = (candidates.inbox_size + candidates.seen_memory) * 4 + 16
    people = world.people
    mean_sessions = people.sessions_per_day_median * math.exp(people.sessions_per_day_sigma**2 / 2)
    sessions_per_tick = n * min(1.0, mean_sessions * world.tick_hours / 24 * PEAK_HOUR)
    edges = n * world.graph.follows_mean
    steady = (
        BASE_BYTES + n * (PERSON_BYTES + ring_bytes) + slots * POST_SLOT_BYTES + edges * EDGE_BYTES
    )
    transient = max(edges * EDGE_BUILD_BYTES, sessions_per_tick * width * CANDIDATE_BYTES)
    return int(steady + transient)


def available_bytes() -> int:
    """Memory the machine can give now (``MemAvailable``), or the total where that is unknown."""
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))


def check_memory(config: ExperimentConfig, workers: int, available: int | None = None) -> int:
    """Refuse a run whose concurrent cells would not fit in memory; return the estimate.

    Raises:
        ConfigError: with the estimate and the limit, naming what to lower.
    """
    cells = len(config.arms) * config.seeds
    parallel = max(1, min(workers, cells))
    per_cell = estimate_cell_bytes(config)
    need = per_cell * parallel
    limit = available_bytes() if available is None else available
    if need > limit:
        raise ConfigError(
            f"world.n_people={config.world.n_people:,} must fit in memory: the run needs an estimated {need / GIB:.1f} GiB ({per_cell / GIB:.1f} GiB per cell x {parallel} at once), got {limit / GIB:.1f} GiB available. Lower world.n_people or --workers."
        )
    return need
