"""The compiled daily tally equals its NumPy reference, field for field and bit for bit."""

from collections.abc import Callable
from dataclasses import dataclass, fields, replace

import numpy as np
import pytest

from feedlab.core.random import WORLD_PEOPLE, Streams
from feedlab.engine.step import Setup, SimState
from feedlab.metrics import kernels
from feedlab.metrics.daily import (
    CONTENT_GROUPS,
    LEANING_SIDE,
    DayTally,
    closed_cascades_reference,
    derive_groups,
    tally_closed_cascades,
    tally_sessions,
    tally_sessions_reference,
)
from feedlab.platform.observe import LOGGED_ACTIONS
from feedlab.world.people import People, PeopleParams, generate_people
from feedlab.world.posts import Posts, empty_posts

N_PEOPLE = 300
N_TOPICS = 5
K = 12
THRESHOLDS = (0.5, 0.7)  # float32(0.7) < 0.7: a comparison made in float64 would differ
SIDE = np.float32(LEANING_SIDE)  # float32(1/3) > 1/3: likewise
EDGES = np.array(
    [-SIDE, SIDE, np.nextafter(SIDE, 0), np.nextafter(SIDE, 1), -np.nextafter(SIDE, 0), 0.0, -0.0],
    np.float32,
)
"""Leanings on and beside the groups' bounds, and both zeros (which side a post is on)."""


def _people(seed: int) -> People:
    people = generate_people(PeopleParams(), N_PEOPLE, N_TOPICS, Streams(seed).rng(WORLD_PEOPLE))
    leaning = people.leaning.copy()
    leaning[: 2 * EDGES.size] = np.tile(EDGES, 2)
    return replace(people, leaning=leaning)


def _posts(seed: int) -> Posts:
    rng = np.random.default_rng(seed)
    posts = empty_posts(1024)
    n = posts.capacity
    posts.outrage[:] = rng.random(n)
    posts.outrage[:40] = np.repeat(np.float32(THRESHOLDS), 20)  # exactly at each threshold
    posts.outrage[40:60] = np.nextafter(np.float32(0.7), np.float32(0))
    posts.leaning[:] = rng.uniform(-1, 1, n)
    posts.leaning[60 : 60 + 4 * EDGES.size] = np.repeat(EDGES, 4)
    posts.is_false[:] = rng.random(n) < 0.2
    posts.topic_a[:] = rng.integers(0, N_TOPICS, n)
    posts.root[:] = rng.integers(1, 2**32, n, dtype=np.uint32)
    return posts


@dataclass
class Tick:
    """One tick's arguments of the tally, after the engine's."""

    persons: np.ndarray
    feed: np.ndarray
    seen: np.ndarray
    engaged: np.ndarray
    dwell_seconds: np.ndarray
    predictions: np.ndarray


def _tick(
    rng: np.random.Generator,
    n_sessions: int,
    seen_rate: float = 0.6,
    engage_rate: float = 0.2,
    duplicates: bool = False,
) -> Tick:
    if duplicates:
        persons = rng.integers(0, N_PEOPLE, n_sessions)
    else:
        persons = rng.permutation(N_PEOPLE)[:n_sessions]
    feed = rng.integers(0, 1024, (n_sessions, K))
    seen = rng.random((n_sessions, K)) < seen_rate
    feed[~seen & (rng.random((n_sessions, K)) < 0.5)] = -1  # padding is never seen
    engaged = seen & (rng.random((n_sessions, K)) < engage_rate)
    dwell = np.where(seen, rng.exponential(25.0, (n_sessions, K)), 0).astype(np.float32)
    predictions = rng.random((n_sessions, K, len(LOGGED_ACTIONS))).astype(np.float32)
    return Tick(persons, feed, seen, engaged, dwell, predictions)


def assert_same_tally(fast: DayTally, slow: DayTally) -> None:
    """Every field of two tallies is identical: values, bits, dtypes, list lengths, key order."""
    for f in fields(DayTally):
        a, b = getattr(fast, f.name), getattr(slow, f.name)
        if isinstance(b, list):
            assert len(a) == len(b), f.name
            pairs = list(zip(a, b, strict=True))
        elif isinstance(b, np.ndarray):
            pairs = [(a, b)]
        elif isinstance(b, dict):
            assert list(a.items()) == list(b.items()), f.name
            continue
        else:
            assert a == b, f.name
            continue
        for x, y in pairs:
            assert x.dtype == y.dtype, f.name
            np.testing.assert_array_equal(x, y, err_msg=f.name)
            assert x.tobytes() == y.tobytes(), f.name


def _both(people: People, posts: Posts, ticks: list[Tick], threshold: float, seed: int) -> None:
    fast, slow = DayTally(N_PEOPLE, N_TOPICS), DayTally(N_PEOPLE, N_TOPICS)
    for t, tick in enumerate(ticks):
        rngs = [np.random.default_rng([seed, t]) for _ in range(2)]
        for tally, count, rng in zip(
            (fast, slow), (tally_sessions, tally_sessions_reference), rngs, strict=True
        ):
            count(
                tally, people, posts, tick.persons, tick.feed, tick.seen, tick.engaged,
                tick.dwell_seconds, tick.predictions, threshold, rng,
            )  # fmt: skip
        assert rngs[0].random() == rngs[1].random()  # the same draws were taken
        assert_same_tally(fast, slow)


@pytest.mark.parametrize("threshold", THRESHOLDS)
@pytest.mark.parametrize("offset", range(4))
def test_tally_matches_reference_over_a_day(seed: int, offset: int, threshold: float) -> None:
    rng = np.random.default_rng([seed, offset])
    people, posts = _people(seed + offset), _posts(seed + offset)
    ticks = [_tick(rng, int(rng.integers(1, N_PEOPLE))) for _ in range(5)]
    _both(people, posts, ticks, threshold, seed + offset)


def test_tally_matches_reference_when_the_auc_sample_thins(seed: int) -> None:
    rng = np.random.default_rng(seed)
    # Beyond AUC_SAMPLE_PER_TICK seen slots a uniform thinning is kept: more slots than people.
    ticks = [_tick(rng, 600, seen_rate=0.9, duplicates=True) for _ in range(3)]
    assert min(int(t.seen.sum()) for t in ticks) > 4_000
    _both(_people(seed), _posts(seed), ticks, 0.5, seed)


@pytest.mark.parametrize(
    "case",
    ["empty tick", "nothing seen", "no engagement", "everything engaged", "one session",
     "people in two sessions", "dwell of every magnitude"],
)  # fmt: skip
def test_tally_matches_reference_on_edge_cases(seed: int, case: str) -> None:
    rng = np.random.default_rng(seed)
    ticks = {
        "empty tick": [_tick(rng, 0), _tick(rng, 50), _tick(rng, 0)],
        "nothing seen": [_tick(rng, 80, seen_rate=0.0)],
        "no engagement": [_tick(rng, 80, engage_rate=0.0), _tick(rng, 20, engage_rate=0.0)],
        "everything engaged": [_tick(rng, 80, engage_rate=1.0)],
        "one session": [_tick(rng, 1, seen_rate=1.0)],
        "people in two sessions": [_tick(rng, 400, duplicates=True) for _ in range(3)],
        "dwell of every magnitude": [_tick(rng, 200, seen_rate=0.9) for _ in range(3)],
    }[case]
    if case == "dwell of every magnitude":  # sums that round: each person's must start from 0
        for tick in ticks:
            tick.dwell_seconds *= (10.0 ** rng.uniform(-12, 12, tick.seen.shape)).astype(np.float32)
    _both(_people(seed), _posts(seed), ticks, 0.7, seed)


@pytest.mark.parametrize("threshold", THRESHOLDS)
def test_derived_groups_count_what_the_content_groups_select(seed: int, threshold: float) -> None:
    people, posts = _people(seed), _posts(seed)
    tick = _tick(np.random.default_rng(seed), 200, seen_rate=0.8)
    tally = DayTally(N_PEOPLE, N_TOPICS)
    counts, *_ = kernels.tally_seen(
        tick.persons, tick.feed, tick.seen, tick.engaged, tick.dwell_seconds,
        np.ones(int(tick.seen.sum())), 0.0, people.leaning, posts.outrage, posts.leaning,
        posts.is_false, posts.topic_a, posts.root, np.float32(threshold), SIDE, tally.minutes,
        tally.topic_counts,
    )  # fmt: skip
    slots = tick.feed[tick.seen]
    by_lambda = {
        group: int(member(people, posts, slots, threshold).sum())
        for group, member in CONTENT_GROUPS.items()
    }
    assert derive_groups(counts) == by_lambda
    # The edge values were seen, so the bounds were tested (both sides of each comparison).
    assert 0 < by_lambda["centre"] < slots.size
    assert 0 < by_lambda["outrage_high"] < slots.size


def test_a_new_content_group_is_counted_by_its_own_definition(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    groups = dict(CONTENT_GROUPS)
    groups["topic_zero"] = lambda people, posts, slots, t: posts.topic_a[slots] == 0
    monkeypatch.setattr("feedlab.metrics.daily.CONTENT_GROUPS", groups)
    rng = np.random.default_rng(seed)
    _both(_people(seed), _posts(seed), [_tick(rng, 100), _tick(rng, 0)], 0.5, seed)


def test_a_simulated_day_tallies_as_the_reference_does(
    simulate: Callable[..., tuple[Setup, SimState]], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, fast = simulate(n_people=400, ticks=20)
    monkeypatch.setattr("feedlab.engine.step.tally_sessions", tally_sessions_reference)
    _, slow = simulate(n_people=400, ticks=20)
    assert fast.tally.impressions > 0
    assert_same_tally(fast.tally, slow.tally)


def test_closing_cascades_equal_the_numpy_reference(seed: int) -> None:
    """Originals created exactly one lifetime ago, split by veracity, in slot order."""
    rng = np.random.default_rng(seed)
    posts = _posts(seed)
    n = posts.capacity
    posts.id[:] = np.where(rng.random(n) < 0.1, 0, np.arange(1, n + 1))  # some empty slots
    posts.created[:] = rng.integers(0, 6, n)
    posts.depth[:] = np.where(rng.random(n) < 0.3, rng.integers(1, 4, n), 0)
    posts.cascade_size[:] = rng.integers(1, 500, n)
    tally = DayTally(N_PEOPLE, N_TOPICS)
    for tick in (7, 9, 30):  # closing at ticks 2, 4 and none
        tally_closed_cascades(tally, posts, tick, 5)
        want = closed_cascades_reference(posts, tick, 5)
        got = (tally.cascades_false[-1], tally.cascades_true[-1])
        for a, b in zip(got, want, strict=True):
            assert a.dtype == b.dtype == np.float64
            np.testing.assert_array_equal(a, b)
        assert (got[0].size + got[1].size > 0) == (tick < 30)
