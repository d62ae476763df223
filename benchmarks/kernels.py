"""Kernel efficiency: the scoring and top-k kernels beside this machine's measured limits.

Measures, in one run:

* the machine: float32 matrix multiply (GFLOP/s, all threads) and memory bandwidth (GB/s of a
  large array copy, read + write);
* scoring: the digital model's features and seven action heads over a realistic batch of
  candidates captured from a simulated day (GFLOP/s of the heads' multiply-adds and GB/s of the
  arrays read and written), by the compiled pass serving uses (``predict_pairs``) and by the
  NumPy reference it is tested against (``features`` then ``predict``);
* the roofline of scoring: the GFLOP/s its arithmetic intensity (the heads' flops per byte of
  features, logits and outputs it must move) allows at the measured bandwidth, which bounds any
  implementation of this model far below the matmul rate;
* ranking: the top-k kernel (rows/s) beside ``np.argpartition`` on the same rows.

    python benchmarks/kernels.py            # 10,000 people, candidates of one evening tick
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from feedlab.io.atomic import atomic_write_text

RESULTS = Path(__file__).parent / "results"


def best_of(fn: Callable[[], object], repeat: int = 7) -> float:
    """Best wall time of ``repeat`` calls after one warm-up call."""
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def machine_limits() -> dict[str, float]:
    """Measured float32 matmul rate and copy bandwidth."""
    rng = np.random.default_rng(0)
    n = 2048
    a = rng.random((n, n), dtype=np.float32)
    b = rng.random((n, n), dtype=np.float32)
    matmul = best_of(lambda: a @ b, 5)
    src = np.ones(64 * 1024**2, np.float64)  # 512 MiB
    dst = np.empty_like(src)
    copy = best_of(lambda: np.copyto(dst, src), 5)
    return {"matmul_gflops": 2 * n**3 / matmul / 1e9, "copy_gbps": 2 * src.nbytes / copy / 1e9}


def captured_batch(n_people: int) -> tuple:
    """Candidates of one evening tick after a simulated day, as the platform builds them."""
    from feedlab.behaviour.sessions import open_app
    from feedlab.engine.run import setup_for
    from feedlab.engine.step import start, step
    from feedlab.experiments.config import load_config
    from feedlab.experiments.runner import plan
    from feedlab.platform.observe import observe_posts
    from feedlab.platform.state import source_candidates

    config = load_config("social-dilemma", [f"world.n_people={n_people}", "days=2", "seeds=1"])
    setup = setup_for(plan(config)[0])
    state = start(setup)
    while state.tick < 24 + 20:  # to 20:00 of the second day
        step(state, setup)
    t = state.tick
    clock = state.world.clock
    lifetime = clock.ticks(config.world.posts.lifetime_hours)
    open_now = open_app(
        state.world.people,
        config.behaviour.sessions,
        clock.hour(t),
        clock.tick_hours,
        setup.streams,
        t,
    )
    persons = np.flatnonzero(open_now)
    view = observe_posts(state.world.posts)
    cands = source_candidates(state.platform, view, persons, setup.platform, t, lifetime)
    return {
        "state": state,
        "view": view,
        "persons": persons,
        "cands": cands,
        "tick": t,
        "lifetime": lifetime,
    }


def main() -> None:
    """Print the table and save it as JSON."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--k", type=int, default=30)
    parser.add_argument("--out", default=str(RESULTS / "kernels.json"), help="where the JSON goes")
    args = parser.parse_args()

    from feedlab.core.kernels import top_k
    from feedlab.platform.estimator import (
        N_ACTIONS,
        N_SHARED,
        features,
        predict,
        predict_pairs,
    )

    limits = machine_limits()
    batch = captured_batch(args.people)
    state, view, persons = batch["state"], batch["view"], batch["persons"]
    cands, tick, lifetime = batch["cands"], batch["tick"], batch["lifetime"]
    model = state.platform.model
    rows, cols = np.nonzero(cands.valid)
    slots = cands.slots[rows, cols]
    in_network = cands.in_network[rows, cols]
    interest = model.estimated_interest(persons)  # serving computes it once, for sourcing too

    def compiled() -> object:
        return predict_pairs(
            model, view, persons, rows, slots, in_network, tick, lifetime, interest=interest
        )

    def reference() -> object:
        return predict(
            model, features(model, view, persons, rows, slots, in_network, tick, lifetime)
        )

    m = rows.size
    flops = 2.0 * m * N_ACTIONS * (N_SHARED + 3)  # multiply-adds of the seven heads
    bytes_moved = (
        m * 4 * (N_SHARED + 3 * N_ACTIONS) + m * 8 * 2
    )  # features, logits, outputs, indices

    def rates(seconds: float) -> dict[str, float]:
        return {
            "candidates": m,
            "seconds": seconds,
            "candidates_per_second": m / seconds,
            "gflops": flops / seconds / 1e9,
            "share_of_matmul": flops / seconds / 1e9 / limits["matmul_gflops"],
            "gbps": bytes_moved / seconds / 1e9,
            "share_of_bandwidth": bytes_moved / seconds / 1e9 / limits["copy_gbps"],
        }

    intensity = flops / bytes_moved  # flops per byte the scoring pass must move
    roofline = min(limits["matmul_gflops"], limits["copy_gbps"] * intensity)

    scores = np.where(cands.valid, np.random.default_rng(1).random(cands.slots.shape), -np.inf)
    n_rows = scores.shape[0]
    topk_seconds = best_of(lambda: top_k(scores, args.k))
    part_seconds = best_of(lambda: np.argpartition(-scores, args.k - 1, axis=1)[:, : args.k])

    table = {
        "machine": limits,
        "scoring": rates(best_of(compiled)),
        "scoring_reference": rates(best_of(reference)),
        "roofline": {
            "flops_per_byte": intensity,
            "gflops": roofline,
            "share_of_matmul": roofline / limits["matmul_gflops"],
        },
        "top_k": {
            "rows": n_rows,
            "columns": int(scores.shape[1]),
            "k": args.k,
            "kernel_rows_per_second": n_rows / topk_seconds,
            "argpartition_rows_per_second": n_rows / part_seconds,
        },
    }
    t = table["top_k"]
    print(
        f"machine: float32 matmul {limits['matmul_gflops']:.0f} GFLOP/s, copy {limits['copy_gbps']:.1f} GB/s"
    )
    print(f"{m:,} candidates of {persons.size:,} sessions")
    print(f"{'kernel':<32} {'rate':>22} {'vs machine':>14}")
    for name, key in (("scoring, compiled (serving)", "scoring"),
                      ("scoring, NumPy reference", "scoring_reference")):  # fmt: skip
        s = table[key]
        print(f"{name:<32} {s['gflops']:>15.2f} GFLOP/s {s['share_of_matmul']:>13.1%}")
        print(f"{'':<32} {s['gbps']:>18.2f} GB/s {s['share_of_bandwidth']:>13.1%}")
        print(f"{'':<32} {s['candidates_per_second']:>11,.0f} candidates/s")
    r = table["roofline"]
    print(
        f"{'scoring roofline':<32} {r['gflops']:>15.2f} GFLOP/s {r['share_of_matmul']:>13.1%}"
        f"  ({r['flops_per_byte']:.2f} flop/byte x the copy bandwidth; compiled scoring"
        f" reaches {table['scoring']['gflops'] / r['gflops']:.0%} of it)"
    )
    print(f"{'top-k kernel':<32} {t['kernel_rows_per_second']:>15,.0f} rows/s")
    print(f"{'np.argpartition (same rows)':<32} {t['argpartition_rows_per_second']:>15,.0f} rows/s")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out, json.dumps(table, indent=2))
    print(f"saved {out}")


if __name__ == "__main__":
    main()
