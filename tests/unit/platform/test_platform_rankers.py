from dataclasses import replace

import numpy as np
import pytest

from feedlab.core import kernels as core_kernels
from feedlab.core.errors import ShapeError
from feedlab.platform import kernels
from feedlab.platform.observe import LOGGED_ACTIONS
from feedlab.platform.rankers.base import RankContext, masked, top_k
from feedlab.platform.rankers.builtin import (
    Chronological,
    Engagement,
    Popularity,
    Random,
    chronological_scores_reference,
    engagement_top_k_reference,
)

A = {name: i for i, name in enumerate(LOGGED_ACTIONS)}
RNG = np.random.default_rng(0)


def _predictions(rows: list[list[dict[str, float]]]) -> np.ndarray:
    out = np.zeros((len(rows), len(rows[0]), len(LOGGED_ACTIONS)), np.float32)
    for i, row in enumerate(rows):
        for j, cell in enumerate(row):
            for action, p in cell.items():
                out[i, j, A[action]] = p
    return out


def test_engagement_weights_are_twitters_heavy_ranker_weights() -> None:
    w = dict(zip(LOGGED_ACTIONS, Engagement().weights().tolist(), strict=True))
    assert w == {
        "click": 11.0,
        "like": 0.5,
        "share": 1.0,
        "reply": 13.5,
        "hide": -74.0,
        "follow": 12.0,
        "long_dwell": 10.0,
    }


def test_a_likely_reply_outranks_a_likelier_like(make_context) -> None:
    predictions = _predictions([[{"like": 0.9}, {"reply": 0.1}, {}]])
    context = make_context(np.ones((1, 3), bool), authors=[[1, 2, 3]], predictions=predictions)
    feed = Engagement().rank(context, 3, RNG)
    np.testing.assert_array_equal(feed, [[1, 0, 2]])
    np.testing.assert_allclose(Engagement().score(context), [[0.45, 1.35, 0.0]], rtol=1e-6)


def test_a_likely_hide_sinks_a_post(make_context) -> None:
    predictions = _predictions([[{"click": 0.3, "hide": 0.05}, {"click": 0.1}]])
    context = make_context(np.ones((1, 2), bool), authors=[[1, 2]], predictions=predictions)
    np.testing.assert_array_equal(Engagement().rank(context, 2, RNG), [[1, 0]])


def test_out_of_network_candidates_are_scaled_down(make_context) -> None:
    predictions = _predictions([[{"share": 1.0}, {"share": 1.08}]])
    context = make_context(
        np.ones((1, 2), bool),
        authors=[[1, 2]],
        in_network=np.array([[True, False]]),
        predictions=predictions,
    )
    np.testing.assert_allclose(Engagement().score(context), [[1.0, 0.81]], rtol=1e-6)
    np.testing.assert_array_equal(Engagement().rank(context, 2, RNG), [[0, 1]])
    # Without the scale the out-of-network post would win.
    unscaled = Engagement(out_of_network_scale=1.0)
    np.testing.assert_array_equal(unscaled.rank(context, 2, RNG), [[1, 0]])


def test_author_diversity_multipliers_are_1_0625_04375(make_context) -> None:
    # Author 7 has three posts of raw score 1.0; other authors' single posts bracket the
    # discounted scores: 1.0 > 0.63 > 0.625 > 0.62 > 0.44 > 0.4375 > 0.43.
    share = [1.0, 1.0, 1.0, 0.63, 0.62, 0.44, 0.43]
    authors = [[7, 7, 7, 1, 2, 3, 4]]
    predictions = _predictions([[{"share": s} for s in share]])
    context = make_context(np.ones((1, 7), bool), authors=authors, predictions=predictions)
    feed = Engagement().rank(context, 7, RNG)
    np.testing.assert_array_equal(feed, [[0, 3, 1, 4, 5, 2, 6]])


def test_author_diversity_follows_score_order_not_column_order(make_context) -> None:
    # The author's best post keeps its full score wherever it sits.
    predictions = _predictions([[{"share": 0.5}, {"share": 0.9}, {"share": 0.55}]])
    context = make_context(np.ones((1, 3), bool), authors=[[7, 7, 1]], predictions=predictions)
    # 0.9 (full), 0.55 (other author), 0.5 * 0.625 = 0.3125.
    np.testing.assert_array_equal(Engagement().rank(context, 3, RNG), [[1, 2, 0]])


def test_no_author_discount_when_decay_is_one(make_context) -> None:
    predictions = _predictions([[{"share": 1.0}, {"share": 0.9}, {"share": 0.95}]])
    context = make_context(np.ones((1, 3), bool), authors=[[7, 7, 1]], predictions=predictions)
    flat = Engagement(author_diversity_decay=1.0)
    np.testing.assert_array_equal(flat.rank(context, 3, RNG), [[0, 2, 1]])
    np.testing.assert_array_equal(Engagement().rank(context, 3, RNG), [[0, 2, 1]])


def test_author_diversity_never_promotes_a_repeated_author(make_context) -> None:
    # Three equal negative-score posts: two by author 7, one by author 1.
    predictions = _predictions([[{"hide": 0.02}, {"hide": 0.02}, {"hide": 0.02}]])
    context = make_context(np.ones((1, 3), bool), authors=[[7, 7, 1]], predictions=predictions)
    feed = Engagement().rank(context, 3, RNG)[0].tolist()
    # Diversity demotes author 7's second post below the other author's equal post.
    assert feed.index(2) < feed.index(1)


def test_chronological_returns_in_network_posts_newest_first(make_context) -> None:
    created = np.array([[10, 50, 30, 90, 70, 50]])
    in_network = np.array([[True, True, True, False, True, True]])
    valid = np.array([[True, True, True, True, True, False]])
    context = make_context(valid, created=created, in_network=in_network)
    feed = Chronological().rank(context, 6, RNG)
    # 70 (col 4), 50 (col 1), 30 (col 2), 10 (col 0); col 3 is out-of-network, col 5 padding.
    np.testing.assert_array_equal(feed, [[4, 1, 2, 0, -1, -1]])
    np.testing.assert_array_equal(Chronological().rank(context, 2, RNG), [[4, 1]])


def test_chronological_breaks_ties_by_column(make_context) -> None:
    context = make_context(np.ones((1, 3), bool), created=np.array([[5, 9, 9]]))
    np.testing.assert_array_equal(Chronological().rank(context, 3, RNG), [[1, 2, 0]])


def test_chronological_scores_equal_their_numpy_reference(make_context) -> None:
    rng = np.random.default_rng(5)
    n, c = 30, 40
    valid = rng.random((n, c)) < 0.7
    created = rng.integers(0, 8, (n, c))  # few ticks: many ties
    in_network = rng.random((n, c)) < 0.6
    context = make_context(valid, created=created, in_network=in_network)
    context.candidates.in_network[~valid] = True  # an empty cell stays -inf regardless
    cands = context.candidates
    scores = kernels.in_network_created(cands.slots, cands.in_network, context.view.created)
    np.testing.assert_array_equal(scores, chronological_scores_reference(context))
    for k in (1, 10, 40):
        expected = top_k(chronological_scores_reference(context), k)
        np.testing.assert_array_equal(Chronological().rank(context, k, RNG), expected)


def test_popularity_ranks_by_logged_engagement(make_context) -> None:
    popularity = np.array([[3, 8, 1, 8], [0, 0, 0, 2]])
    valid = np.array([[True, True, True, True], [True, True, False, True]])
    context = make_context(valid, popularity=popularity)
    np.testing.assert_array_equal(Popularity().rank(context, 4, RNG), [[1, 3, 0, 2], [3, 0, 1, -1]])


def test_random_is_a_permutation_of_the_valid_candidates(make_context) -> None:
    valid = np.ones((50, 10), bool)
    valid[:, 7:] = False
    context = make_context(valid)
    a = Random().rank(context, 10, np.random.default_rng(1))
    b = Random().rank(context, 10, np.random.default_rng(2))
    np.testing.assert_array_equal(np.sort(a[:, :7], axis=1), np.tile(np.arange(7), (50, 1)))
    assert (a[:, 7:] == -1).all()
    assert not np.array_equal(a, b)
    # Every candidate reaches the top slot sometimes.
    assert set(a[:, 0].tolist()) == set(range(7))


def test_top_k_orders_pads_and_breaks_ties_by_column() -> None:
    scores = np.array([[0.5, 2.0, -np.inf, 2.0], [-np.inf, -np.inf, -np.inf, -np.inf]])
    np.testing.assert_array_equal(top_k(scores, 2), [[1, 3], [-1, -1]])
    np.testing.assert_array_equal(top_k(scores, 6), [[1, 3, 0, -1, -1, -1], [-1] * 6])
    assert top_k(scores, 3).dtype == np.int64


def test_masked_puts_minus_infinity_where_no_candidate_is(make_context) -> None:
    valid = np.array([[True, False, True]])
    context = make_context(valid)
    out = masked(np.array([[1.0, 2.0, 3.0]], np.float32), context)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, [[1.0, -np.inf, 3.0]])


@pytest.mark.parametrize("levels", [0, 3])
@pytest.mark.parametrize("c", [25, 150])  # ranks counted / merge sorted (rows over 128)
def test_engagement_rank_equals_score_mask_discount_and_sort(
    make_context, levels: int, c: int
) -> None:
    # levels > 0: predictions from a few values, so scores tie often (lower column first).
    rng = np.random.default_rng(11 + levels)
    n = 40
    valid = rng.random((n, c)) < 0.8
    shape = (n, c, len(LOGGED_ACTIONS))
    if levels:
        predictions = rng.integers(0, levels, shape).astype(np.float32) / 8
    else:
        predictions = rng.random(shape).astype(np.float32) * 0.2  # hides make some negative
    authors = rng.integers(0, 6, (n, c))  # few authors: many repeats
    in_network = rng.random((n, c)) < 0.5
    context = make_context(
        valid, authors=authors.tolist(), in_network=in_network, predictions=predictions
    )
    ranker = Engagement()
    for k in (1, 10, 30):
        expected = engagement_top_k_reference(ranker, context, k)
        np.testing.assert_array_equal(ranker.rank(context, k, RNG), expected)


def _flat(context: RankContext) -> RankContext:
    """The same context with its predictions as flat rows of the valid cells, then a zero row."""
    valid = context.candidates.valid
    rows = context.predictions[valid]
    scored = np.concatenate([rows, np.zeros((1, rows.shape[1]), np.float32)])
    position = np.full(valid.shape, rows.shape[0], np.int64)
    position[valid] = np.arange(rows.shape[0])
    return RankContext(
        candidates=context.candidates, view=context.view, tick=context.tick,
        scored=scored, position=position,
    )  # fmt: skip


@pytest.mark.parametrize("threads", [1, 2])
def test_engagement_ranks_flat_predictions_as_padded(
    make_context, monkeypatch: pytest.MonkeyPatch, threads: int
) -> None:
    monkeypatch.setattr(core_kernels, "THREADED_MIN_ITEMS", 0)  # two threads: the threaded twin
    rng = np.random.default_rng(5)
    n, c = 300, 40
    valid = rng.random((n, c)) < 0.7
    predictions = rng.random((n, c, len(LOGGED_ACTIONS))).astype(np.float32) * 0.2
    predictions[~valid] = 0  # padding predicts nothing, in both forms
    padded = make_context(
        valid, authors=rng.integers(0, 9, (n, c)).tolist(),
        in_network=rng.random((n, c)) < 0.5, predictions=predictions,
    )  # fmt: skip
    flat = _flat(padded)
    np.testing.assert_array_equal(flat.predictions, padded.predictions)
    with core_kernels.kernel_threads_for(threads):
        for k in (1, 10):
            np.testing.assert_array_equal(
                Engagement().rank(flat, k, RNG), Engagement().rank(padded, k, RNG)
            )


def test_rank_context_needs_predictions_and_given_ones_win(make_context) -> None:
    context = make_context(np.ones((1, 2), bool))
    with pytest.raises(ShapeError, match="needs the predictions"):
        RankContext(candidates=context.candidates, view=context.view, tick=0)
    rows = np.zeros((3, len(LOGGED_ACTIONS)), np.float32)
    for position in (None, np.zeros((2, 2), np.int64)):  # missing, or not the candidates' shape
        with pytest.raises(ShapeError, match="position="):
            RankContext(
                candidates=context.candidates, view=context.view, tick=0, scored=rows,
                position=position,
            )  # fmt: skip
    flat = _flat(context)
    swapped = replace(flat, predictions=context.predictions + 1)
    np.testing.assert_array_equal(swapped.predictions, context.predictions + 1)
    assert swapped.position is None


@pytest.mark.parametrize("threads", [1, 2])
def test_engagement_rejects_a_position_outside_the_rows(
    make_context, monkeypatch: pytest.MonkeyPatch, threads: int
) -> None:
    monkeypatch.setattr(core_kernels, "THREADED_MIN_ITEMS", 0)  # two threads: the threaded twin
    flat = _flat(make_context(np.ones((2, 3), bool)))
    position = flat.position.copy()
    position[1, 2] = 99
    broken = replace(flat, position=position)
    with (
        core_kernels.kernel_threads_for(threads),
        pytest.raises(IndexError, match="outside the prediction rows"),
    ):
        Engagement().rank(broken, 2, RNG)
