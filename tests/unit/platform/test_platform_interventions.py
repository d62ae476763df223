"""Platform-side interventions: labels, the circuit breaker, demotions, filters, bot detection."""

from dataclasses import replace

import numpy as np

from feedlab.platform.interventions import (
    HostilityRule,
    InterventionRanker,
    admit_reshares,
    due_reviews,
    expire_window,
    flag_accounts,
    hostile,
    init_intervention_state,
    labelled,
    observe_account_activity,
    record_reviews,
    record_verdicts,
    remove_flagged,
)
from feedlab.platform.observe import observe_posts, observe_verdicts
from feedlab.platform.rankers.builtin import Chronological, Popularity
from feedlab.world.posts import empty_posts


def _view_with_roots(n: int):
    """A view of ``n`` live original posts with ids 1..n authored by person ``id % 7``."""
    posts = empty_posts(1024)
    ids = np.arange(1, n + 1, dtype=np.uint32)
    slots = posts.slots_of(ids)
    posts.id[slots] = ids
    posts.root[slots] = ids
    posts.author[slots] = ids % 7
    posts.root_author[slots] = ids % 7
    return posts, observe_posts(posts)


def test_labels_mark_the_whole_cascade_and_only_rated_false_ones() -> None:
    posts, view = _view_with_roots(10)
    # a reshare (id 11) of post 3
    slot = posts.slots_of(np.array([11], np.uint32))
    posts.id[slot], posts.root[slot], posts.depth[slot] = 11, 3, 1
    state = init_intervention_state(7, posts.capacity)
    record_verdicts(
        state, view, observe_verdicts(np.array([3, 4], np.uint32), np.array([True, False]))
    )
    marks = labelled(state, view, posts.slots_of(np.array([3, 4, 11, 5], np.uint32)))
    assert marks.tolist() == [True, False, True, False]
    assert not labelled(state, view, np.array([-1])).any()
    assert state.labelled_today == 1


def test_breaker_never_admits_more_than_the_cap_within_the_window() -> None:
    posts, view = _view_with_roots(3)
    state = init_intervention_state(7, posts.capacity)
    cap, window = 5, 3
    admitted_per_tick = []
    for tick in range(6):
        expire_window(state, tick, window)
        roots = np.array([1] * 4 + [2], np.uint32)  # four attempts on cascade 1 per tick
        ok = admit_reshares(state, view, roots, cap, review_ticks=100, tick=tick)
        admitted_per_tick.append(int(ok[:4].sum()))
        assert ok[4]  # cascade 2: one per tick, three in a 3-tick window, never held
    # Cascade 1: 4 then 1 (cap reached, held); held afterwards until review.
    assert admitted_per_tick == [4, 1, 0, 0, 0, 0]
    assert state.held_root[posts.slots_of(np.array([1], np.uint32))][0] == 1
    assert state.refused_today == 3 + 4 * 4
    assert state.breaker_count[posts.slots_of(np.array([2], np.uint32))][0] == window


def test_attempts_in_one_tick_are_admitted_in_order_up_to_the_cap() -> None:
    posts, view = _view_with_roots(2)
    state = init_intervention_state(7, posts.capacity)
    roots = np.array([1, 2, 1, 1, 2, 1], np.uint32)
    ok = admit_reshares(state, view, roots, cap=2, review_ticks=5, tick=0)
    assert ok.tolist() == [True, True, True, False, True, False]
    assert due_reviews(state, 4).size == 0
    assert sorted(due_reviews(state, 5).tolist()) == [1, 2]


def test_review_releases_true_cascades_and_keeps_false_ones_removed() -> None:
    posts, view = _view_with_roots(2)
    state = init_intervention_state(7, posts.capacity)
    admit_reshares(state, view, np.array([1, 1, 2, 2], np.uint32), cap=2, review_ticks=1, tick=0)
    due = due_reviews(state, 1)
    record_reviews(state, view, observe_verdicts(due, due == 2))
    assert due_reviews(state, 2).size == 0
    again = admit_reshares(state, view, np.array([1, 1, 1, 2], np.uint32), 2, 1, tick=2)
    assert again.tolist() == [True, True, True, False]  # 1 released and exempt; 2 removed


def test_ranker_wrapper_filters_out_of_network_removed_and_held(make_context) -> None:
    valid = np.ones((3, 6), bool)
    in_network = np.tile([True, False, True, True, False, True], (3, 1))
    authors = np.tile(np.arange(6), (3, 1))
    context = make_context(valid, authors=authors, in_network=in_network)
    removed = np.zeros(10, bool)
    removed[3] = True
    held = np.zeros(context.view.capacity, np.uint32)
    held_slot = context.candidates.slots[0, 5]
    held[held_slot] = context.candidates.ids[0, 5]
    ranker = InterventionRanker(
        inner=Popularity(), in_network_only=True, removed_accounts=removed, stopped_roots=(held,)
    )
    feeds = ranker.rank(context, 6, np.random.default_rng(0))
    shown = [set(row[row >= 0].tolist()) for row in feeds]
    assert shown[0] == {0, 2}  # 1, 4 out of network; 3 removed; 5 held
    assert shown[1] == shown[2] == {0, 2, 5}


def test_demotion_moves_labelled_posts_down_by_the_factor(make_context) -> None:
    valid = np.ones((1, 8), bool)
    created = np.arange(8)[None, :]  # chronological: column 7 first, then 6, ...
    context = make_context(valid, created=created, tick=20)
    table = np.zeros(context.view.capacity, np.uint32)
    table[context.candidates.slots[0, 7]] = context.candidates.ids[0, 7]
    plain = Chronological().rank(context, 8, np.random.default_rng(0))
    assert plain[0, 0] == 7
    demoted = InterventionRanker(inner=Chronological(), label_root=table, label_factor=0.3)
    feeds = demoted.rank(context, 8, np.random.default_rng(0))
    # reciprocal rank 1 x 0.3 falls between 1/3 and 1/4: the post drops from first to third.
    assert feeds[0].tolist() == [6, 5, 7, 4, 3, 2, 1, 0]
    none = InterventionRanker(inner=Chronological(), label_root=table, label_factor=0.0)
    assert none.rank(context, 8, np.random.default_rng(0))[0, -1] == 7
    assert np.array_equal(
        InterventionRanker(inner=Chronological()).rank(context, 8, np.random.default_rng(0)),
        plain,
    )


def test_hostility_reads_only_observable_signals(make_context) -> None:
    valid = np.ones((2, 4), bool)
    context = make_context(valid)
    slots = context.candidates.slots
    posts_slant = np.array([[0.8, -0.8, -0.8, -0.1], [0.8, -0.8, -0.8, -0.1]], np.float32)
    excl = np.array([[5, 5, 0, 5], [5, 5, 0, 5]], np.int32)
    view = replace(context.view, slant=context.view.slant.copy(), exclamations=excl.ravel())
    view.slant[slots] = posts_slant
    exclamations = np.zeros(view.capacity, np.int32)
    exclamations[slots] = excl
    view = replace(view, exclamations=exclamations)
    context = replace(context, view=view)
    leaning = np.zeros(20_000, np.float32)
    leaning[10_000] = 0.6  # viewer 0 inferred right; viewer 1 unknown
    rule = HostilityRule(viewer_leaning=leaning, min_exclamations=2, min_slant=0.3, factor=0.0)
    hit = hostile(rule, context)
    assert hit[0].tolist() == [False, True, False, False]
    assert not hit[1].any()


def test_detector_flags_fast_and_coordinated_accounts_and_removes_after_delay() -> None:
    posts = empty_posts(1024)
    n_people = 10
    state = init_intervention_state(n_people, posts.capacity)
    view = observe_posts(posts)
    # Tick 0: account 1 posts 50 originals; accounts 2, 3, 4 co-reshare root 900 twelve times.
    ids = np.arange(1, 51, dtype=np.uint32)
    slots = posts.slots_of(ids)
    posts.id[slots], posts.author[slots], posts.root[slots] = ids, 1, ids
    observe_account_activity(state, view, ids, coordination_min=3)
    for k in range(12):
        re = np.arange(100 + 3 * k, 103 + 3 * k, dtype=np.uint32)
        s = posts.slots_of(re)
        posts.id[s], posts.author[s], posts.root[s], posts.depth[s] = re, [2, 3, 4], 900 + k, 1
        observe_account_activity(state, view, re, coordination_min=3)
    # account 5 reshares alone
    s = posts.slots_of(np.array([200], np.uint32))
    posts.id[s], posts.author[s], posts.root[s], posts.depth[s] = 200, 5, 950, 1
    observe_account_activity(state, view, np.array([200], np.uint32), coordination_min=3)
    flag_accounts(state, 23, posts_per_day=40, coordinated_per_day=10, coordinated_share=0.5)
    assert np.flatnonzero(state.flagged_at >= 0).tolist() == [1, 2, 3, 4]
    remove_flagged(state, 30, delay_ticks=24)
    assert not state.removed.any()
    remove_flagged(state, 47, delay_ticks=24)
    assert np.flatnonzero(state.removed).tolist() == [1, 2, 3, 4]
    assert state.posts_today.sum() == 0  # the day's counters were reset
