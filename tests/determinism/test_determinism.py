"""Same inputs, same numbers: across repeats, across identical arms and across worker counts."""

import math

import numba
import pytest

from feedlab.engine.run import MetricRow, run_cell
from feedlab.experiments.config import ExperimentConfig, load_config
from feedlab.experiments.runner import execute, plan
from feedlab.metrics.catalog import METRICS
from feedlab.metrics.goals import GOAL_METRICS


def _same_rows(a: list[MetricRow], b: list[MetricRow]) -> bool:
    if len(a) != len(b):
        return False
    for x, y in zip(a, b, strict=True):
        if x[:4] != y[:4]:
            return False
        if not (x[4] == y[4] or (math.isnan(x[4]) and math.isnan(y[4]))):
            return False
    return True


# A busier small society, so short runs see enough posts and sessions.
STEADY = ("world.people.posts_per_day_median=0.5", "world.people.sessions_per_day_median=5.0")


def _config(
    seed: int, people: int, days: int, seeds: int, extra: tuple[str, ...] = ()
) -> ExperimentConfig:
    return load_config(
        "social-dilemma",
        [
            f"world.n_people={people}",
            f"days={days}",
            f"seeds={seeds}",
            f"root_seed={seed}",
            "warmup_days=0",
            *STEADY,
            *extra,
        ],
    )


def test_the_same_cell_twice_gives_identical_rows(tiny_config: ExperimentConfig) -> None:
    cell = plan(tiny_config)[0]
    first = run_cell(cell)
    second = run_cell(cell)
    assert len(first) == tiny_config.days * (len(METRICS) - len(GOAL_METRICS))  # goal blocks off
    assert _same_rows(first, second)


def test_different_seeds_give_different_rows(seed: int) -> None:
    a, b = plan(_config(seed, 400, 1, 2))[0::2]
    assert a.arm == b.arm
    assert a.seed != b.seed
    assert not _same_rows(run_cell(a), run_cell(b))


def test_two_arms_with_identical_settings_give_identical_metrics(seed: int) -> None:
    config = _config(seed, 500, 2, 2, ("arms.1.ranker=engagement", "arms.1.name=engagement-copy"))
    assert [arm.name for arm in config.arms] == ["engagement", "engagement-copy"]
    rows = execute(plan(config), workers=1)
    by_arm: dict[str, dict[tuple[int, int, str], float]] = {}
    for arm, s, day, metric, value in rows:
        by_arm.setdefault(arm, {})[(s, day, metric)] = value
    a, b = by_arm["engagement"], by_arm["engagement-copy"]
    assert a.keys() == b.keys()
    assert len({key[0] for key in a}) == 2  # both seeds
    for key, value in a.items():
        assert value == b[key] or (math.isnan(value) and math.isnan(b[key])), key


def test_arms_start_from_the_same_society_and_first_posts(simulate) -> None:
    import numpy as np

    _, engagement = simulate(n_people=500, ticks=2, arm=0)
    _, chronological = simulate(n_people=500, ticks=2, arm=1)
    a, b = engagement.world, chronological.world
    # Static traits (leanings and tastes drift with what each policy shows).
    for name in ("outrage_susceptibility", "posts_per_day", "is_teen", "time_budget_min"):
        np.testing.assert_array_equal(getattr(a.people, name), getattr(b.people, name))
    np.testing.assert_array_equal(a.graph.following, b.graph.following)
    # Original posts of the first tick are drawn before any feed: identical under both policies.
    first_a = (a.posts.id != 0) & (a.posts.created == 0) & (a.posts.depth == 0)
    first_b = (b.posts.id != 0) & (b.posts.created == 0) & (b.posts.depth == 0)
    np.testing.assert_array_equal(first_a, first_b)
    assert first_a.any()
    for name in ("id", "author", "topic_a", "leaning", "outrage", "is_false", "quality"):
        np.testing.assert_array_equal(
            getattr(a.posts, name)[first_a], getattr(b.posts, name)[first_b]
        )


def test_results_do_not_depend_on_the_number_of_workers(seed: int) -> None:
    config = _config(seed, 300, 1, 1)
    cells = plan(config)
    assert len(cells) == 2
    progress: list[tuple[int, int]] = []
    serial = execute(cells, workers=1, progress=lambda done, total: progress.append((done, total)))
    parallel = execute(cells, workers=2)
    assert _same_rows(serial, parallel)
    assert progress[-1] == (2, 2)


def test_warm_up_days_are_simulated_but_not_recorded(seed: int) -> None:
    two_days = plan(_config(seed, 400, 2, 1))[0]
    warmed = plan(_config(seed, 400, 1, 1, ("warmup_days=1",)))[0]
    assert warmed.warmup_days == 1
    full = run_cell(two_days)
    recorded = run_cell(warmed)
    day_two = [(arm, s, 1, metric, value) for arm, s, day, metric, value in full if day == 2]
    assert {row[2] for row in recorded} == {1}
    assert _same_rows(recorded, day_two)


def test_ray_and_local_processes_give_identical_rows(seed: int) -> None:
    pytest.importorskip("ray")
    cells = plan(_config(seed, 300, 1, 2))
    local = execute(cells, workers=1)
    on_ray = execute(cells, workers=2, engine="ray")
    assert _same_rows(local, on_ray)


def _count_calls(
    monkeypatch: pytest.MonkeyPatch, calls: dict[str, int], module: object, name: str
) -> None:
    """Count the calls of ``module.name`` into ``calls[name]``."""
    original = getattr(module, name)

    def wrapper(*args: object) -> object:
        calls[name] = calls.get(name, 0) + 1
        return original(*args)

    monkeypatch.setattr(module, name, wrapper)


def test_kernel_threads_do_not_change_results(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """A cell run alone may use threaded kernels; each row is computed as on one thread."""
    from feedlab.behaviour import kernels as behaviour_kernels
    from feedlab.core import kernels as core_kernels
    from feedlab.platform import candidates
    from feedlab.platform import kernels as platform_kernels

    cell = plan(_config(seed, 600, 2, 1))[0]
    assert cell.arm == "engagement"
    one = run_cell(cell)
    calls: dict[str, int] = {}
    _count_calls(monkeypatch, calls, platform_kernels, "candidate_logits_threaded")
    _count_calls(monkeypatch, calls, platform_kernels, "engagement_top_k_threaded")
    _count_calls(monkeypatch, calls, behaviour_kernels, "answer_feeds_threaded")
    _count_calls(monkeypatch, calls, candidates, "_gather_threaded")
    _count_calls(monkeypatch, calls, platform_kernels, "learn_seen_threaded")
    _count_calls(monkeypatch, calls, core_kernels, "_ring_push_csr_threaded")
    monkeypatch.setattr(core_kernels, "THREADED_MIN_ITEMS", 0)  # every batch goes threaded
    with core_kernels.kernel_threads_for(2) as threads:
        if threads < 2:
            pytest.skip("one core: Numba has no second thread")
        two = run_cell(cell)
    assert core_kernels.kernel_threads() == 1  # restored
    assert set(calls) == {
        "candidate_logits_threaded",
        "engagement_top_k_threaded",
        "answer_feeds_threaded",
        "_gather_threaded",
        "learn_seen_threaded",
        "_ring_push_csr_threaded",
    }
    assert _same_rows(one, two)


def test_kernel_threads_do_not_change_content_filtering(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    from feedlab.core import kernels as core_kernels
    from feedlab.platform import kernels as platform_kernels

    config = load_config(
        "trecs-content-filtering",
        ["world.n_people=500", "days=2", "seeds=1", f"root_seed={seed}"],
    )
    cell = next(c for c in plan(config) if c.arm == "content-filtering")
    one = run_cell(cell)
    calls: dict[str, int] = {}
    _count_calls(monkeypatch, calls, platform_kernels, "topic_match_top_k_threaded")
    monkeypatch.setattr(core_kernels, "THREADED_MIN_ITEMS", 0)
    with core_kernels.kernel_threads_for(2) as threads:
        if threads < 2:
            pytest.skip("one core: Numba has no second thread")
        two = run_cell(cell)
    assert calls["topic_match_top_k_threaded"] > 0
    assert _same_rows(one, two)


def test_a_run_of_one_cell_gets_the_workers_as_kernel_threads(
    tiny_config: ExperimentConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    from feedlab.core import kernels as core_kernels
    from feedlab.experiments import runner

    seen: list[int] = []
    simulate = runner.simulate_cell

    def spy(*args: object, **kwargs: object) -> object:
        seen.append(core_kernels.kernel_threads())
        return simulate(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(runner, "simulate_cell", spy)
    cells = plan(tiny_config)[:1]
    execute(cells, workers=2)
    execute(cells, workers=1)
    assert seen == [min(2, numba.config.NUMBA_NUM_THREADS), 1]
    assert core_kernels.kernel_threads() == 1  # restored after the run


def test_tail_threads_share_the_idle_workers_among_the_last_cells() -> None:
    from feedlab.experiments.runner import tail_threads

    assert [tail_threads(2, n) for n in (6, 3, 2, 1, 0)] == [1, 1, 1, 2, 2]
    assert [tail_threads(8, n) for n in (9, 8, 5, 4, 3, 1)] == [1, 1, 1, 2, 2, 8]


def test_a_pool_cell_takes_the_threads_its_share_allows_after_each_day(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker's cell reads its thread share at each midnight; its rows are as on one thread."""
    import queue
    from types import SimpleNamespace

    from feedlab.core import kernels as core_kernels
    from feedlab.experiments import cells

    cell = plan(_config(seed, 300, 2, 1))[0]
    one = run_cell(cell)
    share = SimpleNamespace(value=1)
    seen: list[tuple[int, bool]] = []
    set_threads = cells.set_kernel_threads

    def spy(n: int, idle_cores: bool = False) -> int:
        seen.append((n, idle_cores))
        share.value = 2  # the pool ran out of cells after the first day
        return set_threads(n, idle_cores)

    monkeypatch.setattr(cells, "set_kernel_threads", spy)
    channel: queue.Queue[tuple[int, int]] = queue.Queue()
    try:
        _, two, _ = cells.simulate_in_worker(cell, 0, None, channel, share)
    finally:
        core_kernels.set_kernel_threads(1)
    # one thread at the start; two from the first midnight on, on cores the pool left idle
    assert seen[:2] == [(1, False), (2, True)]
    assert channel.qsize() == cell.total_days
    assert _same_rows(one, two)
