"""The exploration source: random live originals of the whole society for every session."""

import numpy as np
import pytest
from pydantic import ValidationError
from ring_cases import (
    N_TOPICS,
    assert_same_candidates,
    duplicate_count,
    random_view,
    some_ids,
)

from feedlab.core.random import PLATFORM_EXPLORE, PLATFORM_RANK
from feedlab.engine.step import Setup, SimState, step
from feedlab.platform.candidates import (
    CandidateParams,
    Candidates,
    Inboxes,
    Pools,
    draw_explore,
    gather_candidates,
    gather_candidates_reference,
    live_originals,
)
from feedlab.platform.observe import PostView, observe_posts
from feedlab.platform.state import PlatformParams, serve, source_candidates

N_PEOPLE = 600
TICKS = 30
EXPLORE = 64


@pytest.fixture(scope="module")
def sim(simulate) -> tuple[Setup, SimState]:
    return simulate(n_people=N_PEOPLE, ticks=TICKS)


def _lifetime(setup: Setup, state: SimState) -> int:
    return state.world.clock.ticks(setup.world.posts.lifetime_hours)


def _exploring(setup: Setup, explore: int = EXPLORE) -> PlatformParams:
    candidates = setup.platform.candidates.model_copy(update={"explore": explore})
    return setup.platform.model_copy(update={"candidates": candidates})


def _source(
    sim: tuple[Setup, SimState], explore: int = EXPLORE, stream_seed: int = 0
) -> tuple[Candidates, PostView]:
    setup, state = sim
    view = observe_posts(state.world.posts)
    cands = source_candidates(
        state.platform,
        view,
        np.arange(N_PEOPLE),
        _exploring(setup, explore),
        state.tick,
        _lifetime(setup, state),
        np.random.default_rng(stream_seed),
    )
    return cands, view


def _base_width(params: CandidateParams) -> int:
    return params.inbox_size + 2 * params.topic_pool + params.trending


def test_explore_appends_columns_and_leaves_the_other_sources_unchanged(sim) -> None:
    setup, _ = sim
    base, _ = _source(sim, explore=0)
    cands, _ = _source(sim)
    width = _base_width(setup.platform.candidates)
    assert base.ids.shape == (N_PEOPLE, width)
    assert cands.ids.shape == (N_PEOPLE, width + EXPLORE)
    for name in ("ids", "slots", "in_network"):
        np.testing.assert_array_equal(getattr(cands, name)[:, :width], getattr(base, name))
    np.testing.assert_array_equal(cands.valid, cands.ids != 0)
    assert not cands.in_network[:, width:].any()
    # Nearly every draw is kept in a society with many live posts.
    assert cands.valid[:, width:].sum(axis=1).mean() > EXPLORE / 2


def test_explore_zero_is_the_gathered_candidates_and_needs_no_stream(sim) -> None:
    setup, state = sim
    view = observe_posts(state.world.posts)
    persons = np.arange(N_PEOPLE)
    lifetime = _lifetime(setup, state)
    assert setup.platform.candidates.explore == 0  # the default
    got = source_candidates(state.platform, view, persons, setup.platform, state.tick, lifetime)
    interest = state.platform.model.estimated_interest(persons)
    top_topics = np.argsort(-interest, axis=1, kind="stable")[:, :2]
    expected = gather_candidates(
        persons,
        state.platform.inboxes,
        state.platform.pools,
        top_topics,
        view,
        setup.platform.candidates,
        state.tick,
        lifetime,
    )
    assert_same_candidates(got, expected)


def test_explore_offers_only_live_originals_of_others(sim) -> None:
    setup, state = sim
    cands, view = _source(sim)
    width = _base_width(setup.platform.candidates)
    kept = cands.valid[:, width:]
    ids = cands.ids[:, width:][kept]
    slots = cands.slots[:, width:][kept]
    assert ids.size > 0
    assert view.alive(ids, state.tick, _lifetime(setup, state)).all()
    assert (view.depth[slots] == 0).all()  # originals, not reshares
    persons = np.broadcast_to(cands.persons[:, None], kept.shape)[kept]
    assert not (view.author[slots] == persons).any()


def test_explore_adds_no_duplicate_cascade_and_nothing_seen(sim) -> None:
    _, state = sim
    cands, view = _source(sim)
    roots = np.where(cands.valid, view.root[np.maximum(cands.slots, 0)], 0)
    assert duplicate_count(roots) == 0
    seen = state.platform.inboxes.seen
    assert (seen != 0).any()
    for person in range(N_PEOPLE):
        remembered = seen[person][seen[person] != 0]
        assert not np.isin(roots[person][roots[person] != 0], remembered).any()


def test_explore_reaches_beyond_the_follow_graph(sim) -> None:
    setup, _ = sim
    cands, view = _source(sim)
    width = _base_width(setup.platform.candidates)
    kept = cands.valid[:, width:]
    authors = view.author[cands.slots[:, width:][kept]]
    # Posts from many authors, not only the few each person follows.
    assert np.unique(authors).size > N_PEOPLE / 4


def test_explore_is_deterministic_in_its_stream(sim) -> None:
    a, _ = _source(sim, stream_seed=1)
    b, _ = _source(sim, stream_seed=1)
    c, _ = _source(sim, stream_seed=2)
    assert_same_candidates(a, b)
    assert not np.array_equal(a.ids, c.ids)


def test_serving_with_explore_needs_the_stream(sim) -> None:
    setup, state = sim
    view = observe_posts(state.world.posts)
    args = (
        state.platform,
        view,
        np.arange(10),
        setup.ranker,
        _exploring(setup),
        setup.streams.rng(PLATFORM_RANK, state.tick),
        state.tick,
        _lifetime(setup, state),
    )
    with pytest.raises(ValueError, match="explore"):
        serve(*args)
    served = serve(*args, setup.streams.rng(PLATFORM_EXPLORE, state.tick))
    assert (served.post_ids != 0).any()


def test_draw_explore_draws_nothing_when_nothing_is_live() -> None:
    rng = np.random.default_rng(0)
    view = random_view(rng, 5, tick=50, lifetime=12)
    before = rng.bit_generator.state
    drawn = draw_explore(view, np.zeros(0, np.int64), 7, 4, rng)
    assert drawn.shape == (7, 4) and drawn.dtype == np.uint32 and not drawn.any()
    assert rng.bit_generator.state == before
    assert draw_explore(view, np.arange(3), 7, 0, rng).shape == (7, 0)


def test_draw_explore_draws_uniformly_from_the_live_originals(seed: int) -> None:
    rng = np.random.default_rng(seed)
    view = random_view(rng, 5, tick=50, lifetime=12)
    live = live_originals(view, 50, 12)
    drawn = draw_explore(view, live, 2000, 8, rng)
    assert np.isin(drawn, view.id[live]).all()
    counts = np.unique(drawn, return_counts=True)[1]
    assert counts.size == np.unique(view.id[live]).size
    expected = drawn.size / live.size
    assert np.abs(counts - expected).max() < 6 * np.sqrt(expected)


@pytest.mark.parametrize("n_sessions", [0, 1, 40])
@pytest.mark.parametrize("n_people", [3, 30])
def test_gathering_with_draws_equals_the_numpy_reference(
    seed: int, n_sessions: int, n_people: int
) -> None:
    rng = np.random.default_rng(seed)
    params = CandidateParams(inbox_size=8, seen_memory=6, topic_pool=3, trending=2, explore=5)
    tick, lifetime = 50, 12
    kept = 0
    for _ in range(20):
        view = random_view(rng, n_people, tick, lifetime)
        inboxes = Inboxes(
            inbox=some_ids(rng, view, (n_people, params.inbox_size)),
            inbox_head=np.zeros(n_people, np.int64),
            seen=np.where(
                rng.random((n_people, params.seen_memory)) < 0.3,
                0,
                rng.choice(view.root, (n_people, params.seen_memory)),
            ).astype(np.uint32),
            seen_head=np.zeros(n_people, np.int64),
        )
        pools = Pools(
            by_topic=some_ids(rng, view, (N_TOPICS, params.topic_pool)),
            trending=some_ids(rng, view, (params.trending,)),
        )
        persons = rng.integers(0, n_people, n_sessions)
        top_topics = np.argsort(rng.random((n_sessions, N_TOPICS)), axis=1)[:, :2]
        cands = gather_candidates_reference(
            persons, inboxes, pools, top_topics, view, params, tick, lifetime
        )
        # Draws that are live, dead, stale, zero, repeated, seen or already offered.
        drawn = some_ids(rng, view, (n_sessions, params.explore))
        offered = rng.random(drawn.shape) < 0.2
        if cands.ids.size:
            pick = rng.integers(0, cands.ids.shape[1], drawn.shape)
            drawn = np.where(offered, np.take_along_axis(cands.ids, pick, 1), drawn)
        args = (persons, inboxes, pools, top_topics, view, params, tick, lifetime, drawn)
        got = gather_candidates(*args)
        assert_same_candidates(got, gather_candidates_reference(*args))
        # The other sources' columns are those of a row without draws.
        assert_same_candidates(
            Candidates(
                persons=got.persons,
                ids=got.ids[:, : cands.ids.shape[1]],
                slots=got.slots[:, : cands.ids.shape[1]],
                in_network=got.in_network[:, : cands.ids.shape[1]],
            ),
            cands,
        )
        kept += int(got.valid[:, cands.ids.shape[1] :].sum())
    assert n_sessions == 0 or kept > 0


def test_draws_drop_dead_own_seen_and_offered_cascades() -> None:
    rng = np.random.default_rng(0)
    view = random_view(rng, 4, tick=50, lifetime=12)
    view.id[1:7] = np.arange(1, 7)
    view.author[1:7] = [1, 1, 1, 1, 3, 1]
    view.depth[1:7] = 0
    view.root[1:7] = np.arange(1, 7)
    view.root_author[1:7] = view.author[1:7]
    view.root_created[1:7] = [45, 45, 30, 45, 45, 45]  # post 3's cascade has died
    inboxes = Inboxes(
        inbox=np.array([[0, 0], [0, 0], [0, 0], [1, 0]], np.uint32),
        inbox_head=np.zeros(4, np.int64),
        seen=np.array([[0], [0], [0], [4]], np.uint32),
        seen_head=np.zeros(4, np.int64),
    )
    params = CandidateParams(inbox_size=2, seen_memory=1, topic_pool=0, trending=0, explore=8)
    pools = Pools(by_topic=np.zeros((N_TOPICS, 0), np.uint32), trending=np.zeros(0, np.uint32))
    persons, top_topics = np.array([3]), np.zeros((1, 2), np.int64)
    drawn = np.array([[1, 2, 3, 4, 5, 2, 6, 0]], np.uint32)
    args = (persons, inboxes, pools, top_topics, view, params, 50, 12)
    got = gather_candidates(*args, drawn)
    # Kept: 2 and 6. Dropped: 1 (offered), 3 (dead), 4 (seen), 5 (own), 2 again, 0 (none).
    assert got.ids.tolist() == [[1, 0, 0, 2, 0, 0, 0, 0, 6, 0]]
    assert got.in_network.tolist() == [[True] + [False] * 9]
    assert_same_candidates(got, gather_candidates_reference(*args, drawn))
    with pytest.raises(ValueError, match="explore has shape"):
        gather_candidates(*args, drawn[:, 0])


@pytest.mark.parametrize("value", [-1, 1025, 2.5, "many"])
def test_explore_rejects_bad_sizes(value: object) -> None:
    with pytest.raises(ValidationError, match="explore"):
        CandidateParams(explore=value)


def test_explore_needs_out_of_network_sources() -> None:
    with pytest.raises(ValidationError, match=r"explore must be 0 when .*out_of_network"):
        CandidateParams(explore=5, out_of_network=False)
    assert CandidateParams(explore=0, out_of_network=False).explore == 0
    assert PlatformParams.model_validate({"candidates": {"explore": 80}}).candidates.explore == 80


def test_a_run_with_explore_is_reproducible(simulate) -> None:
    overrides = ["platform.candidates.explore=40"]
    a_setup, a = simulate(n_people=300, ticks=12, overrides=overrides)
    b_setup, b = simulate(n_people=300, ticks=12, overrides=overrides)
    assert a_setup.platform.candidates.explore == 40
    np.testing.assert_array_equal(a.world.people.leaning, b.world.people.leaning)
    np.testing.assert_array_equal(a.platform.inboxes.seen, b.platform.inboxes.seen)
    step(a, a_setup)
    step(b, b_setup)
    np.testing.assert_array_equal(
        a.platform.model.post_impressions, b.platform.model.post_impressions
    )
    # Exploration changes what people are shown.
    _, c = simulate(n_people=300, ticks=12)
    assert not np.array_equal(a.platform.inboxes.seen, c.platform.inboxes.seen)
