"""Full-platform scaling: person-days per second and peak memory at several population sizes.

Each size runs in its own process (so peak memory is that size's alone), one arm (engagement),
one seed, the default parameters of ``social-dilemma``. Prints each simulated day as it ends, then a
table and the time per stage of a tick, and saves everything (with each day's seconds) as JSON.

    python benchmarks/scale.py                      # 10k, 100k, 1M people x 30 days
    python benchmarks/scale.py --sizes 10000,100000 --days 5
    python benchmarks/scale.py --sizes 100000 --days 2 --threads 1,2   # one thread against two

The cell runs alone, so its compiled kernels get every core as threads (``--threads``), as
``feedlab run`` gives a run of one cell.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

from feedlab.io.atomic import atomic_write_text

RESULTS = Path(__file__).parent / "results"


def measure(n_people: int, days: int, ranker: str, threads: int) -> dict[str, object]:
    """Run one cell in this process and return timings (called in a child process)."""
    from feedlab.core.kernels import set_kernel_threads
    from feedlab.engine.run import setup_for
    from feedlab.engine.step import start, step
    from feedlab.experiments.config import load_config
    from feedlab.experiments.runner import plan

    config = load_config(
        "social-dilemma", [f"world.n_people={n_people}", f"days={days}", "seeds=1"]
    )
    setup = setup_for(next(cell for cell in plan(config) if cell.arm == ranker))
    threads = set_kernel_threads(threads)  # as `feedlab run` gives a cell that runs alone
    t0 = time.perf_counter()
    state = start(setup)
    init_seconds = time.perf_counter() - t0
    t1 = time.perf_counter()
    per_day = state.world.clock.ticks_per_day
    ticks = days * per_day
    day_seconds = []
    while state.tick < ticks:
        step(state, setup)
        if state.tick % per_day == 0:  # progress, on stderr (the parent reads stdout)
            day_seconds.append(time.perf_counter() - t1 - sum(day_seconds))
            print(
                f"  {n_people:,} people: day {state.tick // per_day}/{days} in "
                f"{day_seconds[-1]:.1f} s, {time.perf_counter() - t1:.0f} s so far, "
                f"peak {_peak_mib():,.0f} MiB",
                file=sys.stderr,
                flush=True,
            )
    run_seconds = time.perf_counter() - t1
    peak_mib = _peak_mib()
    return {
        "n_people": n_people,
        "days": days,
        "ranker": ranker,
        "threads": threads,
        "init_seconds": init_seconds,
        "run_seconds": run_seconds,
        "person_days_per_second": n_people * days / run_seconds,
        "peak_mib": peak_mib,
        "day_seconds": day_seconds,
        "stage_ms_per_tick": {k: 1000 * v / ticks for k, v in state.stage_seconds.items()},
    }


def _peak_mib() -> float:
    """This process's peak resident memory so far, MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _counts(parser: argparse.ArgumentParser, flag: str, text: str) -> list[int]:
    """Comma-separated whole numbers of at least 1, or exit 2 with a message naming ``flag``."""
    parts = [part.strip() for part in text.split(",")]
    if not all(part.isdigit() and int(part) >= 1 for part in parts):
        parser.error(f"{flag}: expected comma-separated whole numbers >= 1, got {text!r}")
    return [int(part) for part in parts]


def main() -> None:
    """Run every size in a child process and print the table."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--ranker", default="engagement", choices=["engagement", "chronological"])
    parser.add_argument(
        "--threads",
        default=str(len(os.sched_getaffinity(0))),
        help="kernel threads per size, or several to compare, e.g. 1,2 (default: every core)",
    )
    parser.add_argument("--out", type=Path, default=RESULTS / "scale.json", help="JSON file")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child, args.days, args.ranker, int(args.threads))))
        return
    rows = []
    sizes = _counts(parser, "--sizes", args.sizes)
    threads = _counts(parser, "--threads", args.threads)
    runs = [(size, n) for size in sizes for n in threads]
    for size, threads in runs:
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--child",
                str(size),
                "--days",
                str(args.days),
                "--ranker",
                args.ranker,
                "--threads",
                str(threads),
            ],
            check=True,
            stdout=subprocess.PIPE,  # the result; progress goes straight to stderr
            text=True,
        )
        row = json.loads(out.stdout.strip().splitlines()[-1])
        rows.append(row)
        print(
            f"{row['n_people']:>10,} people x {row['days']} days, {row['threads']} threads: "
            f"{row['run_seconds']:8.1f} s "
            f"({row['person_days_per_second']:,.0f} person-days/s), peak {row['peak_mib']:,.0f} MiB",
            flush=True,
        )
    base = rows[0]["run_seconds"] / (rows[0]["n_people"] * rows[0]["days"])
    print()
    print(
        f"{'people':>10} {'days':>5} {'threads':>7} {'wall s':>9} {'person-days/s':>14} {'peak MiB':>9} {'cost vs first':>13}"
    )
    for row in rows:
        cost = row["run_seconds"] / (row["n_people"] * row["days"]) / base
        print(
            f"{row['n_people']:>10,} {row['days']:>5} {row['threads']:>7} {row['run_seconds']:>9.1f} "
            f"{row['person_days_per_second']:>14,.0f} {row['peak_mib']:>9,.0f} {cost:>12.2f}x"
        )
    print("\ntime per tick by stage (ms):")
    stages = list(rows[0]["stage_ms_per_tick"])
    print(f"{'people':>10} {'threads':>7} " + " ".join(f"{s:>10}" for s in stages))
    for row in rows:
        print(
            f"{row['n_people']:>10,} {row['threads']:>7} "
            + " ".join(f"{row['stage_ms_per_tick'][s]:>10.1f}" for s in stages)
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out, json.dumps(rows, indent=2))
    print(f"\nsaved {args.out}")


if __name__ == "__main__":
    main()
