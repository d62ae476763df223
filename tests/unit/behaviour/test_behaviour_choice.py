from dataclasses import replace

import numpy as np
import pytest

from feedlab.behaviour.choice import (
    ACTIONS,
    ChoiceParams,
    Responses,
    interest_match,
    respond,
    respond_reference,
)
from feedlab.core.random import WORLD_PEOPLE, Streams
from feedlab.world.people import People, PeopleParams, generate_people
from feedlab.world.posts import Posts, empty_posts

N_PEOPLE = 1500
N_TOPICS = 6
N_POSTS = 400
K = 20
TICK = 30


def _people(seed: int) -> People:
    return generate_people(PeopleParams(), N_PEOPLE, N_TOPICS, Streams(seed).rng(WORLD_PEOPLE))


def _posts(seed: int, outrage: float | None = None) -> Posts:
    rng = np.random.default_rng(seed)
    n = N_POSTS
    authors = rng.integers(0, N_PEOPLE, n).astype(np.int32)
    posts = empty_posts(1024)
    posts.append(
        TICK,
        48,
        author=authors,
        root_author=authors,
        depth=np.zeros(n, np.int32),
        topic_a=rng.integers(0, N_TOPICS, n).astype(np.int32),
        topic_b=rng.integers(0, N_TOPICS, n).astype(np.int32),
        topic_weight=rng.uniform(0.5, 1.0, n).astype(np.float32),
        leaning=rng.uniform(-1, 1, n).astype(np.float32),
        slant=rng.uniform(-1, 1, n).astype(np.float32),
        outrage=(rng.uniform(0, 1, n) if outrage is None else np.full(n, outrage)).astype(
            np.float32
        ),
        is_false=rng.random(n) < 0.1,
        novelty=rng.uniform(0, 1, n).astype(np.float32),
        quality=rng.uniform(0, 1, n).astype(np.float32),
        exclamations=rng.integers(0, 4, n).astype(np.int32),
    )
    return posts


def _feed(seed: int, n_sessions: int, padding: bool = True) -> np.ndarray:
    rng = np.random.default_rng(seed + 1)
    feed = np.stack([rng.choice(N_POSTS, K, replace=False) + 1 for _ in range(n_sessions)])
    if padding:
        lengths = rng.integers(0, K + 1, n_sessions)
        feed[np.arange(K)[None, :] >= lengths[:, None]] = -1
    return feed.astype(np.int64)


def _respond(people: People, posts: Posts, persons: np.ndarray, feed: np.ndarray, seed: int):
    return respond(people, posts, persons, feed, ChoiceParams(), Streams(seed), TICK)


@pytest.fixture
def case(seed: int) -> tuple[People, Posts, np.ndarray, np.ndarray, Responses]:
    people = _people(seed)
    posts = _posts(seed)
    persons = np.sort(np.random.default_rng(seed).choice(N_PEOPLE, 600, replace=False))
    feed = _feed(seed, persons.size)
    return people, posts, persons, feed, _respond(people, posts, persons, feed, seed)


def test_shapes_and_dtypes(case) -> None:
    *_, feed, r = case
    for name in ("seen", *ACTIONS):
        array = getattr(r, name)
        assert array.shape == feed.shape, name
        assert array.dtype == np.bool_, name
    assert r.dwell_seconds.shape == feed.shape
    assert r.dwell_seconds.dtype == np.float32
    assert r.action("share") is r.share


def test_unseen_slots_have_no_action_and_no_dwell(case) -> None:
    _, _, _, _, r = case
    for name in ACTIONS:
        assert not (r.action(name) & ~r.seen).any(), name
    np.testing.assert_array_equal(r.dwell_seconds[~r.seen], 0.0)
    assert (r.dwell_seconds[r.seen] > 0).all()
    assert np.isfinite(r.dwell_seconds).all()


def test_seen_slots_form_a_prefix_of_each_row(case) -> None:
    _, _, _, _, r = case
    # Once a slot is unseen, no later slot of the row is seen.
    assert not (r.seen[:, 1:] & ~r.seen[:, :-1]).any()
    # Some sessions stop before the end of a full feed, and most see something.
    assert r.seen[:, 0].mean() > 0.5
    assert 0 < r.seen.sum() < r.seen.size


def test_padded_slots_are_never_seen(case) -> None:
    _, _, _, feed, r = case
    assert not r.seen[feed < 0].any()


def test_a_hole_in_the_feed_ends_the_session(seed: int) -> None:
    people = _people(seed)
    posts = _posts(seed)
    persons = np.arange(300)
    feed = _feed(seed, 300, padding=False)
    feed[:, 3] = -1
    r = _respond(people, posts, persons, feed, seed)
    assert not r.seen[:, 3:].any()
    assert r.seen[:, 0].any()


def test_same_inputs_give_same_outputs(case, seed: int) -> None:
    people, posts, persons, feed, r = case
    again = _respond(people, posts, persons, feed, seed)
    for name in ("seen", *ACTIONS, "dwell_seconds"):
        np.testing.assert_array_equal(getattr(again, name), getattr(r, name), err_msg=name)
    other = respond(people, posts, persons, feed, ChoiceParams(), Streams(seed), TICK + 1)
    assert not np.array_equal(other.dwell_seconds, r.dwell_seconds)


def test_a_persons_answers_do_not_depend_on_who_else_is_in_session(case, seed: int) -> None:
    people, posts, persons, feed, r = case
    pick = np.array([5, 17, 300, 599])
    alone = _respond(people, posts, persons[pick], feed[pick], seed)
    for name in ("seen", *ACTIONS, "dwell_seconds"):
        np.testing.assert_array_equal(getattr(alone, name), getattr(r, name)[pick], err_msg=name)


def _with_outrage_susceptibility(people: People, value: float) -> People:
    return replace(
        people,
        outrage_susceptibility=np.full(people.n_people, value, np.float32),
        minutes_today=np.zeros(people.n_people, np.float32),
        time_budget_min=np.full(people.n_people, 600.0, np.float32),
    )


def test_outrage_raises_sharing_and_replying_of_susceptible_people(seed: int) -> None:
    people = _with_outrage_susceptibility(_people(seed), 0.9)
    persons = np.arange(N_PEOPLE)
    feed = _feed(seed, N_PEOPLE, padding=False)
    calm = _respond(people, _posts(seed, outrage=0.0), persons, feed, seed)
    angry = _respond(people, _posts(seed, outrage=0.95), persons, feed, seed)
    calm_rate = {a: calm.action(a).sum() / calm.seen.sum() for a in ("share", "reply")}
    angry_rate = {a: angry.action(a).sum() / angry.seen.sum() for a in ("share", "reply")}
    assert angry_rate["share"] > 1.5 * calm_rate["share"]
    assert angry_rate["reply"] > 1.5 * calm_rate["reply"]
    # On identical dice, outrage never turns a share or reply into none at a seen slot.
    both = calm.seen & angry.seen
    assert not (calm.share & both & ~angry.share).any()
    assert not (calm.reply & both & ~angry.reply).any()


def test_outrage_does_not_move_people_who_are_not_susceptible(seed: int) -> None:
    people = _with_outrage_susceptibility(_people(seed), 0.0)
    persons = np.arange(N_PEOPLE)
    feed = _feed(seed, N_PEOPLE, padding=False)
    calm = _respond(people, _posts(seed, outrage=0.0), persons, feed, seed)
    angry = _respond(people, _posts(seed, outrage=0.95), persons, feed, seed)
    for name in ("seen", *ACTIONS, "dwell_seconds"):
        np.testing.assert_array_equal(getattr(angry, name), getattr(calm, name), err_msg=name)


def test_interest_match_weights_the_two_topics(seed: int) -> None:
    people = _people(seed)
    posts = _posts(seed)
    persons = np.array([0, 1])
    slots = np.array([[1, 2], [3, 4]])
    m = interest_match(people.interest, posts, persons, slots)
    assert m.shape == (2, 2)
    w = posts.topic_weight[slots]
    expected = (
        w * people.interest[persons[:, None], posts.topic_a[slots]]
        + (1 - w) * people.interest[persons[:, None], posts.topic_b[slots]]
    )
    np.testing.assert_allclose(m, expected, rtol=1e-6)
    assert m.min() >= 0.0
    assert m.max() <= 1.0


def _assert_same_responses(got: Responses, want: Responses) -> None:
    for name in ("seen", *ACTIONS, "dwell_seconds"):
        a, b = getattr(got, name), getattr(want, name)
        assert a.dtype == b.dtype, name
        np.testing.assert_array_equal(a, b, err_msg=name, strict=True)


def _ragged_feed(seed: int, n_sessions: int) -> np.ndarray:
    """Feeds with holes, short and all-empty rows, and some full rows."""
    rng = np.random.default_rng(seed + 2)
    feed = _feed(seed, n_sessions, padding=True)
    holes = rng.random(feed.shape) < 0.03
    feed[holes] = -1
    feed[rng.random(n_sessions) < 0.1] = -1  # all-empty rows
    full = rng.random(n_sessions) < 0.2
    feed[full] = _feed(seed + 7, int(full.sum()), padding=False)
    return feed


@pytest.mark.parametrize("shifted", [False, True])
@pytest.mark.parametrize("stop_base", [ChoiceParams().stop_base, -60.0])
def test_the_compiled_walk_equals_answering_the_whole_feed(
    seed: int, shifted: bool, stop_base: float
) -> None:
    # stop_base -60: nobody stops of their own accord, so rows end only at an empty slot.
    people = _people(seed)
    posts = _posts(seed)
    rng = np.random.default_rng(seed + 3)
    persons = rng.choice(N_PEOPLE, 500, replace=False)
    feed = _ragged_feed(seed, persons.size)
    shift = rng.normal(0, 1.5, (*feed.shape, len(ACTIONS))).astype(np.float32) if shifted else None
    params = ChoiceParams(stop_base=stop_base)
    streams = Streams(seed)
    want = respond_reference(people, posts, persons, feed, params, streams, TICK, shift=shift)
    got = respond(people, posts, persons, feed, params, streams, TICK, shift=shift)
    _assert_same_responses(got, want)
    # The cases the walk must get right do occur.
    assert want.seen.any(axis=1).mean() < 1.0
    assert want.seen.all(axis=1).any() if stop_base < -50 else not want.seen[:, -1].all()
    assert (want.hide & want.seen).any()  # a hide raises the chance to stop after it


def test_the_compiled_walk_carries_a_days_minutes_past_the_budget(seed: int) -> None:
    # People near their daily budget stop because of the running dwell: the order in which it
    # is summed decides who stops, so any change in how it is summed would show.
    people = _people(seed)
    people = replace(
        people,
        minutes_today=np.full(people.n_people, 29.0, np.float32),
        time_budget_min=np.full(people.n_people, 30.0, np.float32),
    )
    posts = _posts(seed)
    persons = np.arange(800)
    feed = _feed(seed, persons.size, padding=False)
    params = ChoiceParams(stop_base=-8.0, stop_over_budget=40.0)
    streams = Streams(seed)
    want = respond_reference(people, posts, persons, feed, params, streams, TICK)
    got = respond(people, posts, persons, feed, params, streams, TICK)
    _assert_same_responses(got, want)


def test_no_sessions_and_an_empty_feed_answer_nothing(seed: int) -> None:
    people = _people(seed)
    posts = _posts(seed)
    for persons, feed in (
        (np.zeros(0, np.int64), np.zeros((0, K), np.int64)),
        (np.arange(4), np.full((4, K), -1, np.int64)),
        (np.arange(4), np.zeros((4, 0), np.int64)),
    ):
        got = respond(people, posts, persons, feed, ChoiceParams(), Streams(seed), TICK)
        want = respond_reference(people, posts, persons, feed, ChoiceParams(), Streams(seed), TICK)
        _assert_same_responses(got, want)
        assert not got.seen.any()
