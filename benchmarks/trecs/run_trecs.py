"""T-RECS' ContentFiltering at one size, timed per step; prints one JSON line.

Runs inside the T-RECS environment (see requirements.txt), called by ``benchmarks/trecs_compare.py``.
Usage: python run_trecs.py USERS ITEMS STEPS SEED
"""

import json
import resource
import sys
import time

import numpy as np
from trecs.metrics import InteractionSimilarity
from trecs.models import ContentFiltering

ATTRIBUTES = 32
ITEMS_PER_STEP = 10
PAIRS = 800  # Chaney et al.'s random pairs, as in the T-RECS replication


def main() -> None:
    users, items, steps, seed = (int(a) for a in sys.argv[1:5])
    rng = np.random.default_rng(seed)
    a = rng.integers(0, users, PAIRS)
    b = (a + rng.integers(1, users, PAIRS)) % users
    pairs = list(zip(a.tolist(), b.tolist(), strict=True))
    started = time.perf_counter()
    model = ContentFiltering(
        num_users=users,
        num_items=items,
        num_attributes=ATTRIBUTES,
        num_items_per_iter=ITEMS_PER_STEP,
        seed=seed,
    )
    model.add_metrics(InteractionSimilarity(pairs))
    setup = time.perf_counter() - started
    started = time.perf_counter()
    model.run(timesteps=steps, disable_tqdm=True)
    seconds = time.perf_counter() - started
    similarity = model.get_measurements()["interaction_similarity"]
    print(
        json.dumps(
            {
                "engine": "trecs",
                "people": users,
                "items": items,
                "steps": steps,
                "setup_seconds": setup,
                "seconds_per_step": seconds / steps,
                "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "homogeneity_jaccard": [float(x) for x in similarity if x is not None],
            }
        )
    )


if __name__ == "__main__":
    main()
