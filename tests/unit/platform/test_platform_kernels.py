"""The digital model's compiled kernels agree with their NumPy references."""

from copy import deepcopy
from dataclasses import replace

import numpy as np
import pytest

from feedlab.core import kernels as core_kernels
from feedlab.platform import kernels
from feedlab.platform.estimator import (
    ENGAGE_ACTIONS,
    N_ACTIONS,
    N_SHARED,
    EstimatorParams,
    Features,
    PersonModel,
    count_reference,
    features,
    head_gradient_reference,
    init_person_model,
    learn,
    learn_impressions,
    predict,
    predict_pairs,
)
from feedlab.platform.observe import ImpressionLog, observe_posts
from feedlab.world.posts import empty_posts


def _batch(seed: int, n_people: int, m: int):
    rng = np.random.default_rng(seed)
    posts = empty_posts(2048)
    posts.topic_a[:] = rng.integers(0, 5, posts.capacity)
    posts.slant[:] = rng.uniform(-1, 1, posts.capacity)
    posts.exclamations[:] = rng.integers(0, 6, posts.capacity)
    who = rng.integers(0, n_people, m)
    slots = rng.integers(0, posts.capacity, m)
    y = (rng.random((m, N_ACTIONS)) < 0.2).astype(np.float32)
    minutes = rng.random(m).astype(np.float32)
    return posts, who, slots, y, minutes


def test_count_impressions_matches_its_reference() -> None:
    posts, who, slots, y, minutes = _batch(1, 50, 4000)
    view = observe_posts(posts)
    fast = init_person_model(50, 5, posts.capacity)
    slow = init_person_model(50, 5, posts.capacity)
    engaged = y[:, list(ENGAGE_ACTIONS)].max(axis=1)
    kernels.count_impressions(
        who, slots, y, engaged, view.topic_a, view.slant, view.exclamations, minutes, True,
        fast.impressions, fast.action_counts, fast.topic_shown, fast.topic_engaged,
        fast.leaning_sum, fast.leaning_weight, fast.shown_slant, fast.excl_engaged,
        fast.excl_shown,
        fast.minutes, fast.night_minutes,
    )  # fmt: skip
    count_reference(slow, view, who, slots, y, minutes, True)
    for name in (
        "impressions", "action_counts", "topic_shown", "topic_engaged", "leaning_sum",
        "leaning_weight", "shown_slant", "excl_engaged", "excl_shown", "minutes",
        "night_minutes",
    ):  # fmt: skip
        np.testing.assert_allclose(getattr(fast, name), getattr(slow, name), rtol=1e-4, atol=1e-3)
    assert fast.impressions.sum() == 4000


def test_count_cascades_adds_live_rows_and_lists_each_touched_slot_once() -> None:
    rng = np.random.default_rng(2)
    roots = rng.integers(0, 64, 500)
    live = rng.random(500) < 0.8
    y = (rng.random((500, N_ACTIONS)) < 0.3).astype(np.float32)
    impressions = np.zeros(64, np.float32)
    actions = np.zeros((64, N_ACTIONS), np.float32)
    touched = kernels.count_cascades(roots, live, y, impressions, actions)
    np.testing.assert_array_equal(impressions, np.bincount(roots[live], minlength=64))
    expected = np.zeros((64, N_ACTIONS))
    np.add.at(expected, roots[live], y[live])
    np.testing.assert_allclose(actions, expected)
    assert sorted(touched.tolist()) == sorted(set(roots[live].tolist()))
    # A slot touched in an earlier call is listed again when touched again.
    again = kernels.count_cascades(roots[:1], np.ones(1, bool), y[:1], impressions, actions)
    assert again.tolist() == [roots[0]]


def test_predict_pairs_matches_features_then_predict() -> None:
    rng = np.random.default_rng(3)
    posts = empty_posts(2048)
    cap, n_people, n_topics = posts.capacity, 40, 5
    posts.id[:] = rng.integers(1, 2**31, cap, dtype=np.uint32)
    posts.root[:] = rng.integers(1, 2**31, cap, dtype=np.uint32)
    posts.root_created[:] = rng.integers(-30, 10, cap)
    posts.topic_a[:] = rng.integers(0, n_topics, cap)
    posts.topic_b[:] = rng.integers(0, n_topics, cap)
    posts.topic_weight[:] = rng.random(cap)
    posts.slant[:] = rng.uniform(-1, 1, cap)
    posts.exclamations[:] = rng.integers(0, 9, cap)
    view = observe_posts(posts)
    model = init_person_model(n_people, n_topics, cap)
    # A model that has learned something: every input of the features and heads varies.
    model.topic_shown[:] = rng.integers(0, 50, model.topic_shown.shape)
    model.topic_engaged[:] = rng.random(model.topic_shown.shape) * model.topic_shown
    model.leaning_sum[:] = rng.uniform(-5, 5, n_people)
    model.leaning_weight[:] = rng.integers(0, 10, n_people)
    model.excl_engaged[:] = rng.random(n_people) * 5
    model.excl_shown[:] = rng.random(n_people) * 20
    model.impressions[:] = rng.integers(0, 100, n_people)
    model.action_counts[:] = rng.random(model.action_counts.shape) * 10
    model.person_logit[:] = rng.normal(-3, 1, model.person_logit.shape)
    model.post_logit[:] = rng.normal(-3, 1, model.post_logit.shape)
    model.post_impressions[:] = rng.integers(0, 500, cap)
    model.post_impressions[::7] = rng.integers(4096, 9000, model.post_impressions[::7].size)
    model.post_impressions[::11] += 0.5  # beyond the lookup table: computed
    posts.exclamations[::13] = 5000
    model.shared_weight[:] = rng.normal(0, 1, (N_ACTIONS, N_SHARED))
    model.person_weight[:] = rng.random(N_ACTIONS)
    model.post_weight[:] = rng.random(N_ACTIONS)
    model.bias[:] = rng.normal(-1, 1, N_ACTIONS)
    persons = rng.choice(n_people, 12, replace=False)
    rows = np.sort(rng.integers(0, persons.size, 600))
    slots = rng.integers(0, cap, rows.size)
    in_network = rng.random(rows.size) < 0.5
    x, p = predict_pairs(model, view, persons, rows, slots, in_network, 7, 24)
    ref = features(model, view, persons, rows, slots, in_network, 7, 24)
    np.testing.assert_array_equal(x.shared[:, 3:], ref.shared[:, 3:])  # counts' log1p: NumPy's
    np.testing.assert_allclose(x.shared, ref.shared, rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(x.person_logit, ref.person_logit)
    np.testing.assert_array_equal(x.post_logit, ref.post_logit)
    np.testing.assert_allclose(p, predict(model, ref), rtol=1e-5, atol=1e-7)
    assert p.dtype == np.float32 and p.shape == (rows.size, N_ACTIONS)
    _, padded = predict_pairs(model, view, persons, rows, slots, in_network, 7, 24, pad=True)
    np.testing.assert_array_equal(padded[:-1], p)
    assert padded.shape == (rows.size + 1, N_ACTIONS) and not padded[-1].any()
    empty = predict_pairs(model, view, persons, rows[:0], slots[:0], in_network[:0], 7, 24)
    assert empty[1].shape == (0, N_ACTIONS) and empty[0].shared.shape == (0, N_SHARED)


def test_head_gradient_matches_its_reference() -> None:
    rng = np.random.default_rng(4)
    m = 3000
    y = (rng.random((m, N_ACTIONS)) < 0.2).astype(np.float32)
    predictions = rng.random((m, N_ACTIONS)).astype(np.float32)
    seen = Features(
        rng.normal(size=(m, N_SHARED)).astype(np.float32),
        rng.normal(-3, 1, (m, N_ACTIONS)).astype(np.float32),
        rng.normal(-3, 1, (m, N_ACTIONS)).astype(np.float32),
    )
    got = kernels.head_gradient(y, predictions, seen.person_logit, seen.post_logit, seen.shared)
    assert got.shape == (N_ACTIONS, 3 + N_SHARED) and got.dtype == np.float64
    np.testing.assert_allclose(got, head_gradient_reference(y, predictions, seen), rtol=1e-9)
    empty = seen.take(np.arange(0))
    assert not kernels.head_gradient(
        y[:0], predictions[:0], empty.person_logit, empty.post_logit, empty.shared
    ).any()


def test_chosen_cells_equal_the_take_along_axis_composition() -> None:
    rng = np.random.default_rng(8)
    n, c, k = 30, 12, 5
    columns = np.stack([rng.permutation(c)[:k] for _ in range(n)])
    columns[rng.random((n, k)) < 0.3] = -1
    columns = -np.sort(-columns, axis=1, kind="stable")  # padding last, as rankers return it
    position = rng.integers(0, 100, (n, c))
    ids = rng.integers(1, 2**31, (n, c)).astype(np.uint32)
    slots = rng.integers(0, 1024, (n, c))
    in_network = rng.random((n, c)) < 0.5
    post_ids, chosen, inside, row = kernels.chosen_cells(
        columns, position, ids, slots, in_network, 100
    )
    shown, column = columns >= 0, np.maximum(columns, 0)
    np.testing.assert_array_equal(post_ids, np.where(shown, np.take_along_axis(ids, column, 1), 0))
    np.testing.assert_array_equal(chosen, np.where(shown, np.take_along_axis(slots, column, 1), -1))
    np.testing.assert_array_equal(inside, shown & np.take_along_axis(in_network, column, 1))
    np.testing.assert_array_equal(
        row, np.where(shown, np.take_along_axis(position, column, 1), 100)
    )
    assert post_ids.dtype == np.uint32


def test_flat_candidates_equal_nonzero_and_a_position_map() -> None:
    rng = np.random.default_rng(9)
    slots = np.where(rng.random((20, 15)) < 0.6, rng.integers(0, 1024, (20, 15)), -1)
    slots[3] = -1  # a session without candidates
    in_network = rng.random(slots.shape) < 0.5
    rows, cols, flat_slots, flat_in, position = kernels.flat_candidates(slots, in_network)
    expected_rows, expected_cols = np.nonzero(slots >= 0)
    np.testing.assert_array_equal(rows, expected_rows)
    np.testing.assert_array_equal(cols, expected_cols)
    np.testing.assert_array_equal(flat_slots, slots[rows, cols])
    np.testing.assert_array_equal(flat_in, in_network[rows, cols])
    assert (position[slots < 0] == rows.size).all()
    np.testing.assert_array_equal(position[rows, cols], np.arange(rows.size))
    empty = kernels.flat_candidates(np.full((2, 3), -1), np.zeros((2, 3), bool))
    assert empty[0].size == 0 and (empty[4] == 0).all()


def test_top_two_equals_the_stable_argsort() -> None:
    rng = np.random.default_rng(10)
    values = rng.integers(0, 4, (500, 9)).astype(np.float32)  # many ties
    expected = np.argsort(-values, axis=1, kind="stable")[:, :2]
    np.testing.assert_array_equal(kernels.top_two(values), expected)
    two = rng.random((50, 2))
    np.testing.assert_array_equal(kernels.top_two(two), np.argsort(-two, axis=1, kind="stable"))


def _learning_case(seed: int, n_sessions: int, k: int):
    """A tick's log over a ring with live and dead cascades, and the feeds' features."""
    rng = np.random.default_rng(seed)
    posts = empty_posts(4096)
    cap, n_people, n_topics = posts.capacity, 1000, 5
    posts.id[:] = np.arange(cap, dtype=np.uint32) + np.uint32(cap)  # id & (cap - 1) = slot
    posts.root[:] = posts.id[rng.integers(0, cap, cap)]
    dead = rng.random(cap) < 0.2  # some roots' slots were reused by later posts
    posts.id[dead] += np.uint32(2 * cap)
    posts.topic_a[:] = rng.integers(0, n_topics, cap)
    posts.slant[:] = rng.uniform(-1, 1, cap)
    posts.exclamations[:] = rng.integers(0, 6, cap)
    view = observe_posts(posts)
    persons = rng.choice(n_people, n_sessions, replace=False)
    seen = np.arange(k)[None, :] < rng.integers(0, k + 1, n_sessions)[:, None]
    post_ids = np.where(seen, posts.id[rng.integers(0, cap, (n_sessions, k))], 0)
    actions = rng.random((n_sessions, k, N_ACTIONS)) < 0.15
    actions &= seen[:, :, None]
    dwell = np.where(seen, np.round(rng.exponential(12, seen.shape), 1), 0).astype(np.float32)
    log = ImpressionLog(
        tick=5, persons=persons, post_ids=post_ids.astype(np.uint32), seen=seen,
        dwell_seconds=dwell, actions=actions,
    )  # fmt: skip
    m = 3 * n_sessions * k
    feats = Features(
        rng.normal(size=(m, N_SHARED)).astype(np.float32),
        rng.normal(-3, 1, (m, N_ACTIONS)).astype(np.float32),
        rng.normal(-3, 1, (m, N_ACTIONS)).astype(np.float32),
    )
    feature_row = np.where(seen, rng.integers(0, m, seen.shape), -1)
    predictions = rng.random((n_sessions, k, N_ACTIONS)).astype(np.float32)
    model = init_person_model(n_people, n_topics, cap)
    model.action_counts[:] = rng.random(model.action_counts.shape) * 3
    model.impressions[:] = rng.integers(0, 20, n_people)
    return model, log, view, feats, feature_row, predictions


@pytest.mark.parametrize("frozen", [False, True])
@pytest.mark.parametrize("hour", [2.0, 14.0])
def test_learning_in_one_pass_equals_learning_from_gathered_features(
    seed: int, frozen: bool, hour: float
) -> None:
    model, log, view, feats, feature_row, predictions = _learning_case(seed, 400, 12)
    params = EstimatorParams(frozen=frozen)
    rows, cols = np.nonzero(log.seen)
    want = learn(
        deepcopy(model), log, view, feats.take(feature_row[rows, cols]),
        predictions[rows, cols], params, hour,
    )  # fmt: skip
    got, who, roots = learn_impressions(
        deepcopy(model), log, view, feats, feature_row, predictions, params, hour
    )
    for name in PersonModel.__dataclass_fields__:
        np.testing.assert_array_equal(getattr(got, name), getattr(want, name), err_msg=name)
    np.testing.assert_array_equal(who, log.persons[rows])
    np.testing.assert_array_equal(roots, view.root[view.slots_of(log.post_ids[rows, cols])])
    assert roots.dtype == np.uint32
    assert (want.post_impressions > 0).any() and (want.night_minutes > 0).any() == (hour < 5)


@pytest.mark.parametrize("groups", [1, 2, 3, 7, 80])
def test_threaded_learning_is_the_same_for_any_number_of_groups(seed: int, groups: int) -> None:
    """The gradient alone on one group and the counters shared out by the others change nothing."""
    model, log, view, feats, feature_row, predictions = _learning_case(seed, 300, 12)

    def run(threaded_groups: int | None) -> tuple:
        m = deepcopy(model)
        grad = np.zeros((N_ACTIONS, 3 + N_SHARED))
        y_sum = np.zeros(N_ACTIONS, np.float32)
        n_seen = int(log.seen.sum())
        who, roots = np.empty(n_seen, np.int64), np.empty(n_seen, np.uint32)
        arguments = (
            log.seen, log.persons, log.post_ids, log.actions, log.dwell_seconds, feature_row,
            feats.shared, feats.person_logit, feats.post_logit, predictions, view.id, view.root,
            view.topic_a, view.slant, view.exclamations, False,
            (
                m.impressions, m.action_counts, m.topic_shown, m.topic_engaged, m.leaning_sum,
                m.leaning_weight, m.shown_slant, m.excl_engaged, m.excl_shown, m.minutes,
                m.night_minutes,
            ),
            m.post_impressions, m.post_actions, grad, y_sum, who, roots,
        )  # fmt: skip
        if threaded_groups is None:
            touched, cascades = kernels.learn_seen(*arguments)
        else:
            touched, cascades = kernels.learn_seen_threaded(*arguments, threaded_groups)
        return m, grad, y_sum, who, roots, touched, cascades

    want, got = run(None), run(groups)
    for name in PersonModel.__dataclass_fields__:
        np.testing.assert_array_equal(getattr(got[0], name), getattr(want[0], name), err_msg=name)
    for a, b in zip(got[1:], want[1:], strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("duplicate", [False, True])
def test_threaded_learning_equals_learning_on_one_thread(
    seed: int, duplicate: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows of distinct people go threaded with the same results; a repeated person stays serial."""
    model, log, view, feats, feature_row, predictions = _learning_case(seed, 400, 12)
    if duplicate:
        persons = log.persons.copy()
        persons[1] = persons[0]
        log = replace(log, persons=persons)
    params = EstimatorParams()
    want, want_who, want_roots = learn_impressions(
        deepcopy(model), log, view, feats, feature_row, predictions, params, 14.0
    )
    calls = []
    original = kernels.learn_seen_threaded

    def counted(*args: object) -> object:
        calls.append(1)
        return original(*args)

    monkeypatch.setattr(kernels, "learn_seen_threaded", counted)
    monkeypatch.setattr(core_kernels, "THREADED_MIN_ITEMS", 0)
    with core_kernels.kernel_threads_for(2) as threads:
        if threads < 2:
            pytest.skip("one core: Numba has no second thread")
        got, who, roots = learn_impressions(
            deepcopy(model), log, view, feats, feature_row, predictions, params, 14.0
        )
    assert len(calls) == (0 if duplicate else 1)
    for name in PersonModel.__dataclass_fields__:
        np.testing.assert_array_equal(getattr(got, name), getattr(want, name), err_msg=name)
    np.testing.assert_array_equal(who, want_who)
    np.testing.assert_array_equal(roots, want_roots)


def test_distinct_tells_repeated_values() -> None:
    assert kernels.distinct(np.array([3, 0, 2]), 4)
    assert not kernels.distinct(np.array([3, 0, 3]), 4)
    assert kernels.distinct(np.array([], np.int64), 4)


def test_learning_from_a_tick_with_no_impressions_changes_nothing(seed: int) -> None:
    model, log, view, feats, feature_row, predictions = _learning_case(seed, 50, 6)
    log = replace(log, seen=np.zeros_like(log.seen))
    before = deepcopy(model)
    got, who, roots = learn_impressions(
        model, log, view, feats, feature_row, predictions, EstimatorParams(), 12.0
    )
    assert who.size == 0 and roots.size == 0
    for name in PersonModel.__dataclass_fields__:
        np.testing.assert_array_equal(getattr(got, name), getattr(before, name), err_msg=name)


def test_estimated_interest_equals_the_numpy_reference(seed: int) -> None:
    """The compiled rate of each person's topics equals the gathered NumPy formula, NaN included."""
    rng = np.random.default_rng(seed)
    engaged = rng.poisson(3, (500, 6)).astype(np.float32)
    shown = engaged + rng.poisson(10, (500, 6)).astype(np.float32)
    engaged[5, 3] = np.nan
    shown[7, 0] = np.inf
    engaged[9] = 1e30
    persons = np.concatenate([rng.integers(0, 500, 3000), [5, 7, 9]])
    want_rate = (engaged[persons] + 0.5) / (shown[persons] + 2.0)
    want = (want_rate / want_rate.max(axis=1, keepdims=True)).astype(np.float32)
    got = kernels.estimated_interest(engaged, shown, persons)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, want)
    assert kernels.estimated_interest(engaged, shown, persons[:0]).shape == (0, 6)
    with pytest.raises(IndexError):
        kernels.estimated_interest(engaged, shown, np.array([500]))
