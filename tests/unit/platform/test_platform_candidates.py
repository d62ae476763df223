from dataclasses import replace

import numpy as np
import pytest
from ring_cases import (
    CAPACITY,
    N_TOPICS,
    assert_same_candidates,
    duplicate_count,
    random_view,
    some_ids,
)

from feedlab.core.kernels import ring_push_csr_reference
from feedlab.core.random import PLATFORM_RANK
from feedlab.engine.step import Setup, SimState
from feedlab.platform.candidates import (
    CandidateParams,
    Candidates,
    Inboxes,
    Pools,
    empty_inboxes,
    fan_out,
    gather_candidates,
    gather_candidates_reference,
    live_originals,
    live_originals_reference,
    push,
    refresh_pools,
    refresh_pools_reference,
)
from feedlab.platform.estimator import predict_pairs
from feedlab.platform.observe import PostView, observe_follows, observe_posts
from feedlab.platform.rankers.builtin import Chronological
from feedlab.platform.state import Served, serve, source_candidates
from feedlab.world.graph import graph_from_edges

N_PEOPLE = 800
TICKS = 36  # a day and a half: inboxes, pools and seen memories are filled


@pytest.fixture(scope="module")
def sim(simulate) -> tuple[Setup, SimState]:
    return simulate(n_people=N_PEOPLE, ticks=TICKS)


def _lifetime(setup: Setup, state: SimState) -> int:
    return state.world.clock.ticks(setup.world.posts.lifetime_hours)


@pytest.fixture(scope="module")
def candidates(sim) -> tuple[Candidates, PostView, SimState]:
    setup, state = sim
    view = observe_posts(state.world.posts)
    persons = np.arange(N_PEOPLE)
    cands = source_candidates(
        state.platform, view, persons, setup.platform, state.tick, _lifetime(setup, state)
    )
    return cands, view, state


@pytest.fixture(scope="module")
def served(sim) -> tuple[Served, PostView, SimState]:
    setup, state = sim
    view = observe_posts(state.world.posts)
    persons = np.arange(N_PEOPLE)
    out = serve(
        state.platform,
        view,
        persons,
        setup.ranker,
        setup.platform,
        setup.streams.rng(PLATFORM_RANK, state.tick),
        state.tick,
        _lifetime(setup, state),
    )
    return out, view, state


def test_candidates_are_padded_consistently(candidates) -> None:
    cands, view, _ = candidates
    params = CandidateParams()
    width = params.inbox_size + 2 * params.topic_pool + params.trending
    assert cands.ids.shape == (N_PEOPLE, width)
    assert cands.slots.shape == cands.ids.shape
    np.testing.assert_array_equal(cands.valid, cands.ids != 0)
    np.testing.assert_array_equal(cands.slots[cands.valid], view.slots_of(cands.ids[cands.valid]))
    assert not cands.in_network[~cands.valid].any()
    assert not cands.in_network[:, params.inbox_size :].any()
    # There is something to rank, from both sources.
    assert cands.valid.sum(axis=1).mean() > 10
    assert cands.in_network.any()
    assert (cands.valid & ~cands.in_network).any()


def test_candidates_are_live_posts(candidates, sim) -> None:
    cands, view, state = candidates
    setup, _ = sim
    ids = cands.ids[cands.valid]
    assert view.alive(ids, state.tick, _lifetime(setup, state)).all()


def test_candidates_have_no_duplicate_cascade_per_row(candidates) -> None:
    cands, view, _ = candidates
    roots = np.where(cands.valid, view.root[np.maximum(cands.slots, 0)], 0)
    assert duplicate_count(roots) == 0


def test_the_sources_do_overlap_so_deduplication_matters(candidates, sim) -> None:
    cands, view, state = candidates
    setup, _ = sim
    inbox = state.platform.inboxes.inbox[cands.persons]
    live = view.alive(inbox, state.tick, _lifetime(setup, state))
    raw_roots = np.where(live, view.root[view.slots_of(inbox)], 0)
    assert duplicate_count(raw_roots) > 0


def test_candidates_never_include_the_persons_own_posts(candidates) -> None:
    cands, view, _ = candidates
    authors = np.where(cands.valid, view.author[np.maximum(cands.slots, 0)], -1)
    assert not (authors == cands.persons[:, None]).any()


def test_candidates_skip_cascades_the_person_has_seen(candidates) -> None:
    cands, view, state = candidates
    seen = state.platform.inboxes.seen
    assert (seen != 0).any()
    roots = np.where(cands.valid, view.root[np.maximum(cands.slots, 0)], 0)
    for person in range(N_PEOPLE):
        remembered = seen[person][seen[person] != 0]
        assert not np.isin(roots[person][roots[person] != 0], remembered).any()


def test_served_feeds_are_distinct_cascades_not_by_the_viewer(served, sim) -> None:
    out, view, _ = served
    setup, _ = sim
    k = setup.platform.feed_size
    assert out.post_ids.shape == (N_PEOPLE, k)
    shown = out.post_ids != 0
    np.testing.assert_array_equal(shown, out.slots >= 0)
    # Padding only at the end of a feed.
    assert not (shown[:, 1:] & ~shown[:, :-1]).any()
    assert shown.sum(axis=1).mean() > 10
    roots = np.where(shown, view.root[np.maximum(out.slots, 0)], 0)
    assert duplicate_count(roots) == 0
    authors = np.where(shown, view.author[np.maximum(out.slots, 0)], -1)
    assert not (authors == out.persons[:, None]).any()
    assert out.predictions.shape == (N_PEOPLE, k, 7)
    assert ((out.predictions >= 0) & (out.predictions <= 1)).all()


def test_push_keeps_the_newest_items_per_row() -> None:
    ring = np.zeros((3, 4), np.uint32)
    head = np.zeros(3, np.int64)
    push(ring, head, np.array([0, 1, 0, 0]), np.array([1, 2, 3, 4], np.uint32))
    np.testing.assert_array_equal(head, [3, 1, 0])
    np.testing.assert_array_equal(ring[0], [1, 3, 4, 0])
    push(ring, head, np.array([0, 0, 2]), np.array([5, 6, 7], np.uint32))
    # Row 0 wrapped: 6 overwrote the oldest item (1).
    np.testing.assert_array_equal(ring[0], [6, 3, 4, 5])
    np.testing.assert_array_equal(ring[1], [2, 0, 0, 0])
    np.testing.assert_array_equal(ring[2], [7, 0, 0, 0])
    np.testing.assert_array_equal(head, [5, 1, 1])


def test_fan_out_delivers_to_every_follower() -> None:
    # 1 and 2 follow 0; 2 follows 1; nobody follows 2.
    graph = graph_from_edges(np.array([1, 2, 2]), np.array([0, 0, 1]), 3)
    inboxes = empty_inboxes(3, CandidateParams(inbox_size=4))
    fan_out(inboxes, observe_follows(graph), np.array([0, 1, 2]), np.array([10, 11, 12], np.uint32))
    assert set(inboxes.inbox[0][inboxes.inbox[0] != 0].tolist()) == set()
    assert set(inboxes.inbox[1][inboxes.inbox[1] != 0].tolist()) == {10}
    assert set(inboxes.inbox[2][inboxes.inbox[2] != 0].tolist()) == {10, 11}
    np.testing.assert_array_equal(inboxes.inbox_head, [0, 1, 2])


def test_followers_are_checked_once_and_a_graph_naming_no_account_is_not_trusted() -> None:
    graph = graph_from_edges(np.array([1, 2, 2]), np.array([0, 0, 1]), 3)
    assert observe_follows(graph).followers_checked
    broken = replace(graph, followers=np.array([1, 2, 7], np.int32))  # 7 is no account
    follows = observe_follows(broken)
    assert not follows.followers_checked
    with pytest.raises(IndexError, match="outside the ring"):  # so the fan-out checks them
        fan_out(
            empty_inboxes(3, CandidateParams()), follows, np.array([1]), np.array([5], np.uint32)
        )


def test_each_shown_slot_points_at_its_own_features_and_predictions(served, sim) -> None:
    out, view, state = served
    setup, _ = sim
    shown = out.slots >= 0
    assert shown.any() and (~shown).any()
    # Empty slots point nowhere and predict nothing; shown slots point at distinct rows.
    assert (out.feature_row[~shown] == -1).all()
    assert (out.predictions[~shown] == 0).all()
    assert np.unique(out.feature_row[shown]).size == int(shown.sum())
    # Recomputing the features of what was shown gives the rows the feeds point at.
    rows, cols = np.nonzero(shown)
    x, p = predict_pairs(
        state.platform.model, view, out.persons, rows, out.slots[rows, cols],
        out.in_network[rows, cols], state.tick, _lifetime(setup, state),
    )  # fmt: skip
    kept = out.shown_features(rows, cols)
    np.testing.assert_array_equal(kept.shared, x.shared)
    np.testing.assert_array_equal(kept.person_logit, x.person_logit)
    np.testing.assert_array_equal(kept.post_logit, x.post_logit)
    np.testing.assert_array_equal(out.predictions[rows, cols], p)


class _ChronologicalReadingPredictions:
    """The chronological ranker, without its claim to ignore predictions."""

    def rank(self, context, k, rng):
        return Chronological().rank(context, k, rng)


def test_skipping_predictions_a_ranker_ignores_serves_the_same_feeds(sim) -> None:
    setup, state = sim
    view = observe_posts(state.world.posts)
    persons = np.arange(N_PEOPLE)
    lifetime = _lifetime(setup, state)

    def serve_with(ranker) -> Served:
        rng = setup.streams.rng(PLATFORM_RANK, state.tick)
        return serve(
            state.platform, view, persons, ranker, setup.platform, rng, state.tick, lifetime
        )

    skipped, full = serve_with(Chronological()), serve_with(_ChronologicalReadingPredictions())
    assert skipped.features.shared.shape[0] < full.features.shared.shape[0]  # fewer predicted
    np.testing.assert_array_equal(skipped.post_ids, full.post_ids)
    np.testing.assert_array_equal(skipped.feature_row >= 0, full.feature_row >= 0)
    np.testing.assert_allclose(skipped.predictions, full.predictions, rtol=1e-6, atol=1e-7)
    rows, cols = np.nonzero(skipped.slots >= 0)
    a, b = skipped.shown_features(rows, cols), full.shown_features(rows, cols)
    np.testing.assert_array_equal(a.shared, b.shared)
    np.testing.assert_array_equal(a.person_logit, b.person_logit)


# --- the compiled paths equal their NumPy references -----------------------------------------


@pytest.mark.parametrize("n_sessions", [0, 1, 40])
@pytest.mark.parametrize("out_of_network", [True, False])
@pytest.mark.parametrize("n_people", [3, 30])
def test_gather_candidates_equals_the_numpy_reference(
    seed: int, n_sessions: int, out_of_network: bool, n_people: int
) -> None:
    rng = np.random.default_rng(seed)
    params = CandidateParams(
        inbox_size=8, seen_memory=6, topic_pool=3, trending=2, out_of_network=out_of_network
    )
    tick, lifetime = 50, 12
    for _ in range(20):
        view = random_view(rng, n_people, tick, lifetime)
        inboxes = Inboxes(
            inbox=some_ids(rng, view, (n_people, params.inbox_size)),
            inbox_head=np.zeros(n_people, np.int64),
            # Seen cascades: roots in the ring, roots that left it, and empty memory.
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
        persons = rng.integers(0, n_people, n_sessions)  # repeats allowed
        top_topics = np.argsort(rng.random((n_sessions, N_TOPICS)), axis=1)[:, :2]
        args = (persons, inboxes, pools, top_topics, view, params, tick, lifetime)
        got = gather_candidates(*args)
        assert_same_candidates(got, gather_candidates_reference(*args))
    # The draws cover every reason to drop a candidate, and some are kept.
    assert n_sessions == 0 or got.valid.any()


def test_gather_candidates_equals_the_reference_on_a_simulated_platform(sim) -> None:
    setup, state = sim
    view = observe_posts(state.world.posts)
    persons = np.arange(0, N_PEOPLE, 3)
    interest = state.platform.model.estimated_interest(persons)
    top_topics = np.argsort(-interest, axis=1, kind="stable")[:, :2]
    args = (
        persons,
        state.platform.inboxes,
        state.platform.pools,
        top_topics,
        view,
        setup.platform.candidates,
        state.tick,
        _lifetime(setup, state),
    )
    assert_same_candidates(gather_candidates(*args), gather_candidates_reference(*args))


def test_gather_candidates_drops_dead_own_seen_and_repeated_cascades() -> None:
    rng = np.random.default_rng(0)
    view = random_view(rng, 4, tick=50, lifetime=12)
    # Slots 1..6 hold posts 1..6 by person 3; 5 reshares 1's cascade, 6 reshares one of person 0.
    view.id[1:7] = np.arange(1, 7)
    view.author[1:7] = 3
    view.depth[1:7] = [0, 0, 0, 0, 1, 1]
    view.root[1:7] = [1, 2, 3, 4, 1, 99]
    view.root_author[1:7] = [3, 3, 3, 3, 3, 0]
    view.root_created[1:7] = [45, 45, 30, 45, 45, 45]  # post 3's cascade has died
    params = CandidateParams(inbox_size=7, seen_memory=2, out_of_network=False)
    inboxes = empty_inboxes(1, params)
    inboxes.inbox[0] = [1, 2, 3, 4, 5, 6, 2 + CAPACITY]
    inboxes.seen[0] = [4, 0]
    pools = Pools(by_topic=np.zeros((N_TOPICS, 6), np.uint32), trending=np.zeros(6, np.uint32))
    args = (np.array([0]), inboxes, pools, np.zeros((1, 2), np.int64), view, params, 50, 12)
    got = gather_candidates(*args)
    # Kept: 1 and 2. Dropped: 3 (dead), 4 (seen), 5 (cascade of 1 again), 6 (own cascade),
    # 2 + CAPACITY (its slot holds post 2).
    assert got.ids.tolist() == [[1, 2, 0, 0, 0, 0, 0]]
    assert got.slots.tolist() == [[1, 2, -1, -1, -1, -1, -1]]
    assert_same_candidates(got, gather_candidates_reference(*args))


def test_live_originals_equal_the_numpy_reference(seed: int) -> None:
    rng = np.random.default_rng(seed)
    for tick in (0, 30, 60):
        view = random_view(rng, 10, tick=tick, lifetime=12)
        got = live_originals(view, tick, 12)
        expected = live_originals_reference(view, tick, 12)
        assert got.dtype == expected.dtype
        np.testing.assert_array_equal(got, expected)
    view.id[:] = 0
    assert live_originals(view, 60, 12).shape == (0,)


@pytest.mark.parametrize("sizes", [(6, 6), (0, 3), (3, 0), (40, 40)])
def test_refresh_pools_equals_the_numpy_reference(seed: int, sizes: tuple[int, int]) -> None:
    rng = np.random.default_rng(seed)
    topic_pool, trending = sizes
    params = CandidateParams(topic_pool=topic_pool, trending=trending)
    tick = 40
    for _ in range(20):
        view = random_view(rng, 10, tick=tick, lifetime=12)
        live = live_originals_reference(view, tick, 12)
        # Few distinct counts, so rates and velocities tie often.
        engagement = rng.integers(0, 4, live.size).astype(np.float32)
        impressions = engagement + rng.integers(0, 3, live.size).astype(np.float32)
        args = (view, live, engagement, impressions, N_TOPICS, params, tick)
        got, expected = refresh_pools(*args), refresh_pools_reference(*args)
        for name in ("by_topic", "trending"):
            a, b = getattr(got, name), getattr(expected, name)
            assert a.dtype == b.dtype
            np.testing.assert_array_equal(a, b, err_msg=name)
    empty = refresh_pools(view, live[:0], engagement[:0], impressions[:0], N_TOPICS, params, tick)
    assert not empty.by_topic.any() and not empty.trending.any()
    assert empty.by_topic.shape == (N_TOPICS, topic_pool)


def test_fan_out_pushes_in_the_order_of_the_expanded_follower_lists(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n_people = 50
    graph = graph_from_edges(
        rng.integers(0, n_people, 400), rng.integers(0, n_people, 400), n_people
    )
    follows = observe_follows(graph)
    authors = rng.integers(0, n_people, 120)  # some post twice, some have no followers
    ids = rng.integers(1, 2**32, authors.size).astype(np.uint32)
    got = empty_inboxes(n_people, CandidateParams(inbox_size=4))
    expected = empty_inboxes(n_people, CandidateParams(inbox_size=4))
    fan_out(got, follows, authors, ids)
    ring_push_csr_reference(
        expected.inbox,
        expected.inbox_head,
        follows.followers_indptr,
        follows.followers,
        authors,
        ids,
    )
    np.testing.assert_array_equal(got.inbox, expected.inbox)
    np.testing.assert_array_equal(got.inbox_head, expected.inbox_head)
    assert got.inbox_head.sum() > 0
