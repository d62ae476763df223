from collections.abc import Callable
from dataclasses import fields, replace
from typing import Any

import numpy as np
import pytest

import feedlab.engine.step as engine_step
from feedlab.behaviour.drift import Approval, DriftParams, drift, drift_reference
from feedlab.core.random import WORLD_PEOPLE, Streams
from feedlab.engine.step import Setup, SimState
from feedlab.world.people import People, PeopleParams, generate_people
from feedlab.world.posts import Posts, empty_posts

N_PEOPLE = 300
N_TOPICS = 5
N_POSTS = 60
K = 12


def _posts(rng: np.random.Generator) -> Posts:
    authors = rng.integers(0, N_PEOPLE, N_POSTS).astype(np.int32)
    posts = empty_posts(128)
    posts.append(
        0,
        48,
        author=authors,
        root_author=authors,
        depth=np.zeros(N_POSTS, np.int32),
        topic_a=rng.integers(0, N_TOPICS, N_POSTS).astype(np.int32),
        topic_b=rng.integers(0, N_TOPICS, N_POSTS).astype(np.int32),
        topic_weight=rng.uniform(0.5, 1.0, N_POSTS).astype(np.float32),
        leaning=rng.uniform(-1, 1, N_POSTS).astype(np.float32),
        slant=rng.uniform(-1, 1, N_POSTS).astype(np.float32),
        outrage=rng.uniform(0, 1, N_POSTS).astype(np.float32),
        is_false=rng.random(N_POSTS) < 0.1,
        novelty=rng.uniform(0, 1, N_POSTS).astype(np.float32),
        quality=rng.uniform(0, 1, N_POSTS).astype(np.float32),
        exclamations=rng.integers(0, 4, N_POSTS).astype(np.int32),
    )
    return posts


def test_interest_moves_toward_the_topics_each_person_engaged_with(seed: int) -> None:
    rng = np.random.default_rng(seed)
    people = generate_people(PeopleParams(), N_PEOPLE, N_TOPICS, Streams(seed).rng(WORLD_PEOPLE))
    posts = _posts(rng)
    persons = np.sort(rng.choice(N_PEOPLE, 120, replace=False))
    feed = rng.integers(1, N_POSTS + 1, (persons.size, K))
    seen = np.arange(K)[None, :] < rng.integers(0, K + 1, persons.size)[:, None]
    engaged = seen & (rng.random(seen.shape) < 0.3)
    dwell = np.where(seen, rng.uniform(1, 30, seen.shape), 0.0).astype(np.float32)
    approval = Approval(likes=np.zeros(N_PEOPLE), outrage_likes=np.zeros(N_PEOPLE))
    params = DriftParams(interest_drift=0.05)

    before = people.interest.copy()
    after = drift(people, posts, persons, feed, seen, engaged, dwell, approval, params, 24)

    expected = before.copy()
    for row, person in enumerate(persons):
        topics = posts.topic_a[feed[row, engaged[row]]]
        if topics.size == 0:
            continue
        counts = np.bincount(topics, minlength=N_TOPICS)
        block = before[person] + params.interest_drift * counts
        expected[person] = block / block.max()
    np.testing.assert_array_equal(after.interest, expected, strict=True)
    moved = np.flatnonzero((after.interest != before).any(axis=1))
    assert 0 < moved.size < persons.size
    assert np.isin(moved, persons).all()
    np.testing.assert_array_equal(after.interest.max(axis=1)[moved], 1.0)
    assert after.interest is people.interest  # the moved rows are rewritten in place


def test_no_engagement_leaves_interest_as_it_was(seed: int) -> None:
    rng = np.random.default_rng(seed)
    people = generate_people(PeopleParams(), N_PEOPLE, N_TOPICS, Streams(seed).rng(WORLD_PEOPLE))
    posts = _posts(rng)
    persons = np.arange(10)
    feed = rng.integers(1, N_POSTS + 1, (persons.size, K))
    seen = np.ones(feed.shape, bool)
    none = np.zeros(feed.shape, bool)
    dwell = np.full(feed.shape, 5.0, np.float32)
    approval = Approval(likes=np.zeros(N_PEOPLE), outrage_likes=np.zeros(N_PEOPLE))
    before = people.interest.copy()
    after = drift(people, posts, persons, feed, seen, none, dwell, approval, DriftParams(), 24)
    assert after.interest is people.interest
    np.testing.assert_array_equal(after.interest, before, strict=True)


# -- the compiled pass against the NumPy reference ------------------------------------------

CASES = ("tick", "bounds", "repeated", "no-engagement", "nothing-seen", "no-sessions")
"""Random ticks: a plain one; teens and people at the clip bounds, pushed past them by large
rates (a habit baseline below 0 lets decay push habit past 0); people in several sessions, in no
order, with engaged slots that were not seen (both count them); sessions with no engagement;
sessions that saw nothing; no session at all."""

Rest = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, Approval, DriftParams, int]
"""drift's arguments after people and posts."""


def _tick(seed: int, case: str) -> tuple[People, Posts, Rest]:
    """People, posts and the remaining arguments of drift for one random tick of ``case``."""
    rng = np.random.default_rng(seed)
    people = generate_people(PeopleParams(), N_PEOPLE, N_TOPICS, Streams(seed).rng(WORLD_PEOPLE))
    posts = _posts(rng)
    params = DriftParams()
    if case == "bounds":
        edge = rng.random(N_PEOPLE) < 0.5

        def at_bounds(values: np.ndarray, lo: float, hi: float) -> np.ndarray:
            bound = np.where(rng.random(N_PEOPLE) < 0.5, lo, hi)
            return np.where(edge, bound, values).astype(np.float32)

        people = replace(
            people,
            is_teen=rng.random(N_PEOPLE) < 0.5,
            leaning=at_bounds(people.leaning, -1.0, 1.0),
            affect_out=at_bounds(people.affect_out, 0.0, 100.0),
            habit=at_bounds(people.habit, 0.0, 1.0),
            habit_baseline=np.where(edge, -0.5, people.habit_baseline).astype(np.float32),
            wellbeing=at_bounds(people.wellbeing, 0.0, 1.0),
            outrage_expression=at_bounds(people.outrage_expression, 0.0, 1.0),
            minutes_today=rng.uniform(0, 60, N_PEOPLE).astype(np.float32),
        )
        params = DriftParams(
            confidence=0.3, assimilation=0.5, repulsion=0.7, hostile_affect=40.0,
            contact_affect=30.0, habit_reward=0.6, habit_engagement=0.2, habit_decay=1.0,
            wellbeing_approval=0.5, wellbeing_comparison=0.2, wellbeing_overuse=3.0,
            wellbeing_outrage=0.3, wellbeing_recovery=1.0, interest_drift=0.4,
            outrage_learning=3.0, reward_memory=0.7,
        )  # fmt: skip
    n_sessions = {"no-sessions": 0, "repeated": 200}.get(case, 120)
    if case == "repeated":
        persons = rng.integers(0, 40, n_sessions)
    else:
        persons = np.sort(rng.choice(N_PEOPLE, n_sessions, replace=False))
    feed = rng.integers(1, N_POSTS + 1, (n_sessions, K))
    depth = (
        np.zeros(n_sessions, int) if case == "nothing-seen" else rng.integers(0, K + 1, n_sessions)
    )
    seen = np.arange(K)[None, :] < depth[:, None]
    feed[~seen & (rng.random(feed.shape) < 0.5)] = -1  # past where people stopped, or empty
    engaged = seen & (rng.random(feed.shape) < 0.3)
    if case == "repeated":
        engaged |= (feed >= 0) & (rng.random(feed.shape) < 0.1)
    elif case == "no-engagement":
        engaged[:] = False
    dwell = np.where(seen, rng.uniform(0.5, 90, feed.shape), 0.0).astype(np.float32)
    # Authors of posts in the feeds: their own posts are no upward comparison.
    posts.root_author[1 : N_POSTS + 1 : 3] = rng.choice(persons, N_POSTS // 3) if n_sessions else 0
    likes = np.where(rng.random(N_PEOPLE) < 0.3, rng.integers(1, 50, N_PEOPLE), 0).astype(float)
    approval = Approval(likes=likes, outrage_likes=likes * rng.uniform(-0.5, 0.5, N_PEOPLE))
    return people, posts, (persons, feed, seen, engaged, dwell, approval, params, 24)


def _assert_same_people(got: People, want: People) -> None:
    for field in fields(People):
        a, b = getattr(got, field.name), getattr(want, field.name)
        np.testing.assert_array_equal(a, b, err_msg=field.name, strict=True)


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("offset", [0, 1, 2])
def test_drift_equals_its_numpy_reference(seed: int, offset: int, case: str) -> None:
    people, posts, rest = _tick(seed + offset, case)
    want = drift_reference(people, posts, *rest)
    got = drift(replace(people, interest=people.interest.copy()), posts, *rest)
    _assert_same_people(got, want)
    if case == "bounds":  # people end at every bound
        for name, lo, hi in (("leaning", -1, 1), ("affect_out", 0, 100), ("habit", 0, 1),
                             ("wellbeing", 0, 1), ("outrage_expression", 0, 1)):  # fmt: skip
            values = getattr(want, name)
            assert (values == lo).any() and (values == hi).any(), name


def test_the_reference_leaves_people_as_they_were(seed: int) -> None:
    people, posts, rest = _tick(seed, "tick")
    before = people.interest.copy()
    after = drift_reference(people, posts, *rest)
    np.testing.assert_array_equal(people.interest, before, strict=True)
    assert not np.shares_memory(after.interest, people.interest)


def test_a_read_only_interest_matrix_is_copied_not_written(seed: int) -> None:
    people, posts, rest = _tick(seed, "tick")
    want = drift_reference(people, posts, *rest)
    frozen = people.interest.copy()
    frozen.flags.writeable = False
    got = drift(replace(people, interest=frozen), posts, *rest)
    _assert_same_people(got, want)
    np.testing.assert_array_equal(frozen, people.interest, strict=True)


def test_every_tick_of_a_simulation_drifts_as_the_reference(
    simulate: Callable[..., tuple[Setup, SimState]], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen_slots = []

    def checked_drift(people: People, posts: Posts, *rest: Any) -> People:
        want = drift_reference(people, posts, *rest)
        got = drift(people, posts, *rest)
        _assert_same_people(got, want)
        seen_slots.append(int(rest[2].sum()))
        return got

    monkeypatch.setattr(engine_step, "drift", checked_drift)
    simulate(n_people=600, ticks=30)
    assert len(seen_slots) == 30 and sum(seen_slots) > 0
