"""Feedlab side by side with T-RECS' ContentFiltering: seconds per step, peak memory, homogeneity.

T-RECS 0.2.1 (Lucherini et al. 2021) needs NumPy 1.x, so it runs in a virtual environment of its
own: ``benchmarks/.venv-trecs``, created on first use (``pip install --no-deps trecs==0.2.1`` and
``benchmarks/trecs/requirements.txt``) unless ``--trecs-python`` names an interpreter that already
has it. Every cell runs in its own process, one at a time, so peak memory is that cell's alone.

Feedlab runs the ``trecs-content-filtering`` scenario (its content-filtering arm) on the same
number of people: one warm-up tick (one tick = one 24-hour step), then ``--steps`` timed ticks.
It also runs at 100,000 and 1,000,000 people, where T-RECS' dense people x items matrices make it
impractical (T-RECS is never run above 10,000 people).

    python benchmarks/trecs_compare.py
    python benchmarks/trecs_compare.py --sizes 1000x1000,10000x1000 --steps 3
    python benchmarks/trecs_compare.py --trecs-python /path/to/venv/bin/python
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from feedlab.io.atomic import atomic_write_text

HERE = Path(__file__).parent
RESULTS = HERE / "results"
VENV = HERE / ".venv-trecs"
RUN_TRECS = HERE / "trecs" / "run_trecs.py"
REQUIREMENTS = HERE / "trecs" / "requirements.txt"
TRECS_MAX_PEOPLE = 10_000
NOT_RUN = "not run: dense people x items matrices"
DEFAULT_SIZES = "1000x1000,10000x1000,1000x10000"
FEEDLAB_ONLY = (100_000, 1_000_000)
SEED = 1


def parse_sizes(text: str) -> list[tuple[int, int]]:
    """``"1000x1000,10000x1000"`` -> ``[(1000, 1000), (10000, 1000)]`` (people x items).

    Raises:
        ValueError: naming the entry that is not two whole numbers >= 1 joined by ``x``.
    """
    sizes = []
    for part in text.split(","):
        people, _, items = part.strip().partition("x")
        if not (people.isdigit() and items.isdigit() and int(people) >= 1 and int(items) >= 1):
            raise ValueError(f"--sizes: expected PEOPLExITEMS entries >= 1, got {part.strip()!r}")
        sizes.append((int(people), int(items)))
    return sizes


def measure_feedlab(n_people: int, steps: int) -> dict[str, Any]:
    """Run the scenario's content-filtering arm in this process (called in a child process).

    The cell runs alone, so its kernels get every core as threads, as ``feedlab run`` gives a
    run of one cell (T-RECS runs unrestricted too: its BLAS uses every core).
    """
    from feedlab.core.kernels import set_kernel_threads
    from feedlab.engine.run import setup_for
    from feedlab.engine.step import start, step
    from feedlab.experiments.config import load_config
    from feedlab.experiments.runner import plan

    config = load_config(
        "trecs-content-filtering",
        [f"world.n_people={n_people}", f"days={steps + 1}", "seeds=1"],
    )
    setup = setup_for(next(c for c in plan(config) if c.arm == "content-filtering"))
    set_kernel_threads(len(os.sched_getaffinity(0)))
    t0 = time.perf_counter()
    state = start(setup)
    setup_seconds = time.perf_counter() - t0
    homogeneity = []
    row = step(state, setup)  # warm-up: compiles kernels, fills the post stream
    if row is not None:
        homogeneity.append(row["homogenization_jaccard"])
    warm = dict(state.stage_seconds)
    t1 = time.perf_counter()
    for _ in range(steps):
        row = step(state, setup)
        if row is not None:
            homogeneity.append(row["homogenization_jaccard"])
    seconds = time.perf_counter() - t1
    return {
        "engine": "feedlab",
        "people": n_people,
        "steps": steps,
        "setup_seconds": setup_seconds,
        "seconds_per_step": seconds / steps,
        "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "homogeneity_jaccard": [float(h) for h in homogeneity],
        "stage_ms_per_step": {
            k: 1000 * (v - warm.get(k, 0.0)) / steps for k, v in state.stage_seconds.items()
        },
    }


def has_trecs(python: str) -> bool:
    """Whether ``python`` exists and imports T-RECS' ContentFiltering."""
    if not Path(python).exists():
        return False
    check = [python, "-c", "import trecs.models"]
    return subprocess.run(check, capture_output=True, cwd=RESULTS.parent).returncode == 0


def trecs_python(given: str | None) -> str:
    """The interpreter that runs T-RECS: ``given``, or the benchmark venv (created if missing)."""
    if given:
        return given
    python = VENV / "bin" / "python"
    if not has_trecs(str(python)):
        print(f"creating {VENV} (T-RECS 0.2.1 and its pins) ...", flush=True)
        if not python.exists():
            subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        pip = [str(python), "-m", "pip", "install", "--quiet"]
        subprocess.run([*pip, "--no-deps", "trecs==0.2.1"], check=True)
        subprocess.run([*pip, "-r", str(REQUIREMENTS)], check=True)
    return str(python)


def _last_json(stdout: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(stdout.strip().splitlines()[-1])
    return result


def run_trecs(python: str, people: int, items: int, steps: int) -> dict[str, Any]:
    """One T-RECS cell in a child process (it writes ``trecs.log`` into ``benchmarks/results``)."""
    RESULTS.mkdir(exist_ok=True)
    out = subprocess.run(
        [python, str(RUN_TRECS), str(people), str(items), str(steps), str(SEED)],
        check=True,
        capture_output=True,
        text=True,
        cwd=RESULTS,
    )
    return _last_json(out.stdout)


def run_feedlab(people: int, steps: int) -> dict[str, Any]:
    """One feedlab cell in a child process."""
    out = subprocess.run(
        [sys.executable, __file__, "--feedlab-child", str(people), "--steps", str(steps)],
        check=True,
        capture_output=True,
        text=True,
    )
    return _last_json(out.stdout)


def compare(
    sizes: list[tuple[int, int]],
    steps: int,
    big_steps: int,
    trecs: Callable[[int, int, int], dict[str, Any]],
    feedlab: Callable[[int, int], dict[str, Any]],
) -> list[dict[str, Any]]:
    """Rows of the table: each size with T-RECS (up to 10,000 people) and feedlab, then feedlab alone.

    Feedlab has no catalog size, so sizes with the same people count share one feedlab run.
    """
    cache: dict[int, dict[str, Any]] = {}

    def feedlab_at(people: int, n_steps: int) -> dict[str, Any]:
        if people not in cache:
            cache[people] = feedlab(people, n_steps)
        return cache[people]

    rows = []
    for people, items in sizes:
        t = trecs(people, items, steps) if people <= TRECS_MAX_PEOPLE else None
        rows.append(_row(people, items, t, feedlab_at(people, steps)))
    for people in FEEDLAB_ONLY:
        if all(people != p for p, _ in sizes):
            rows.append(_row(people, None, None, feedlab_at(people, big_steps)))
    return rows


def _row(
    people: int, items: int | None, t: dict[str, Any] | None, f: dict[str, Any]
) -> dict[str, Any]:
    ratio = t["seconds_per_step"] / f["seconds_per_step"] if t else None
    return {
        "people": people,
        "items": items,
        "trecs": t if t else {"not_run": NOT_RUN},
        "feedlab": f,
        "ratio": ratio,
    }


def _last(values: list[float]) -> str:
    return f"{values[-1]:.4f}" if values else "-"


def format_table(rows: list[dict[str, Any]]) -> str:
    """The comparison table: size, s/step, ratio, peak MiB and last homogeneity of each engine."""
    head = (
        f"{'people x items':>18} {'T-RECS s/step':>14} {'feedlab s/step':>15} {'ratio':>8} "
        f"{'T-RECS MiB':>11} {'feedlab MiB':>12} {'T-RECS Jaccard':>15} {'feedlab Jaccard':>16}"
    )
    lines = [head]
    for row in rows:
        size = f"{row['people']:,} x {row['items']:,}" if row["items"] else f"{row['people']:,}"
        f = row["feedlab"]
        t = row["trecs"]
        feed = f"{f['seconds_per_step']:>15.3f}"
        fmib, fjac = f"{f['peak_mib']:>12,.0f}", f"{_last(f['homogeneity_jaccard']):>16}"
        if "not_run" in t:
            lines.append(f"{size:>18} {'-':>14} {feed} {'-':>8} {'-':>11} {fmib} {'-':>15} {fjac}")
            lines.append(f"{'':>18} T-RECS {t['not_run']}")
            continue
        lines.append(
            f"{size:>18} {t['seconds_per_step']:>14.3f} {feed} {row['ratio']:>7.0f}x "
            f"{t['peak_mib']:>11,.0f} {fmib} {_last(t['homogeneity_jaccard']):>15} {fjac}"
        )
    return "\n".join(lines)


def main() -> None:
    """Run every cell, print the table and save the JSON."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default=DEFAULT_SIZES, help="PEOPLExITEMS, comma-separated")
    parser.add_argument("--steps", type=int, default=3, help="timed steps per cell")
    parser.add_argument(
        "--big-steps", type=int, default=1, help="timed steps at 100k and 1M people"
    )
    parser.add_argument("--trecs-python", help="an interpreter with T-RECS 0.2.1 installed")
    parser.add_argument("--out", default=str(RESULTS / "trecs_compare.json"))
    parser.add_argument("--feedlab-child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.feedlab_child:
        print(json.dumps(measure_feedlab(args.feedlab_child, args.steps)))
        return
    try:
        sizes = parse_sizes(args.sizes)
    except ValueError as error:
        parser.error(str(error))  # exits 2, as for any malformed flag
    python = trecs_python(args.trecs_python)

    def trecs(people: int, items: int, steps: int) -> dict[str, Any]:
        print(f"T-RECS  {people:>9,} x {items:,} ...", flush=True)
        return run_trecs(python, people, items, steps)

    def feedlab(people: int, steps: int) -> dict[str, Any]:
        print(f"feedlab {people:>9,} people ...", flush=True)
        return run_feedlab(people, steps)

    rows = compare(sizes, args.steps, args.big_steps, trecs, feedlab)
    print()
    print(format_table(rows))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out, json.dumps({"steps": args.steps, "rows": rows}, indent=2))
    print(f"\nsaved {out}")


if __name__ == "__main__":
    main()
