"""Invariants of feeds: no duplicates, only valid columns, sorted, exposure totals."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from feedlab.platform.observe import LOGGED_ACTIONS
from feedlab.platform.rankers.base import top_k
from feedlab.platform.rankers.registry import RANKERS

SETTINGS = settings(max_examples=50, deadline=None)

scores_strategy = st.integers(1, 6).flatmap(
    lambda n: st.integers(1, 12).flatmap(
        lambda c: arrays(
            np.float64,
            (n, c),
            elements=st.one_of(
                st.floats(-1e6, 1e6, allow_nan=False),
                st.just(-np.inf),
                st.sampled_from([0.0, 1.0, 2.0]),  # ties
            ),
        )
    )
)


@SETTINGS
@given(scores=scores_strategy, k=st.integers(1, 15))
def test_top_k_picks_distinct_finite_columns_sorted_by_score(scores: np.ndarray, k: int) -> None:
    feeds = top_k(scores, k)
    n = scores.shape[0]
    assert feeds.shape == (n, k)
    for row, feed in zip(scores, feeds, strict=True):
        chosen = feed[feed >= 0]
        assert chosen.size == len(set(chosen.tolist()))  # no duplicates
        assert np.isfinite(row[chosen]).all()  # only finite scores
        assert chosen.size == min(k, int(np.isfinite(row).sum()))  # as many as possible
        assert (feed[chosen.size :] == -1).all()  # padding last
        picked = row[chosen]
        assert (np.diff(picked) <= 0).all()  # best first
        if chosen.size:  # nothing left out beats the last pick
            rest = np.setdiff1d(np.flatnonzero(np.isfinite(row)), chosen)
            assert (row[rest] <= picked[-1]).all()
        for a, b in itertools.pairwise(chosen):  # ties by lower column
            if row[a] == row[b]:
                assert a < b


@st.composite
def contexts(draw: st.DrawFn):
    n = draw(st.integers(1, 8))
    c = draw(st.integers(1, 20))
    seed = draw(st.integers(0, 2**32 - 1))
    density = draw(st.sampled_from([0.0, 0.3, 0.8, 1.0]))
    rng = np.random.default_rng(seed)
    valid = rng.random((n, c)) < density
    return {
        "valid": valid,
        "authors": rng.integers(0, 4, (n, c)),
        "created": rng.integers(0, 100, (n, c)),
        "in_network": np.ones((n, c), bool),
        "predictions": rng.random((n, c, len(LOGGED_ACTIONS))) * 0.3,
        "popularity": rng.integers(0, 5, (n, c)),
    }, seed


@pytest.mark.parametrize("name", RANKERS.names())
@SETTINGS
@given(drawn=contexts(), k=st.integers(1, 25))
def test_feeds_have_no_duplicates_and_exposures_equal_n_k_minus_padding(
    name: str, drawn, k: int, make_context
) -> None:
    spec, seed = drawn
    context = make_context(**spec)
    feeds = RANKERS.create(name).rank(context, k, np.random.default_rng(seed))
    n = spec["valid"].shape[0]
    assert feeds.shape == (n, k)
    shown = feeds >= 0
    for row in range(n):
        chosen = feeds[row][shown[row]]
        assert chosen.size == np.unique(chosen).size
        assert spec["valid"][row, chosen].all()
    # Every candidate here is in-network, so every ranker fills min(k, n_valid) slots:
    # total exposures are n * k minus the padding.
    padding = (k - np.minimum(k, spec["valid"].sum(axis=1))).sum()
    assert shown.sum() == n * k - padding
