"""Metric invariants: known values of the bimodality coefficient and AUC, permutation invariance."""

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from feedlab.metrics.daily import auc, auc_reference, bimodality, pair_jaccard, topic_entropy

SETTINGS = settings(max_examples=50, deadline=None)
BIMODAL = 5 / 9


@SETTINGS
@given(
    half=st.integers(5, 500),
    centre=st.floats(-10, 10),
    spread=st.floats(0.01, 10),
)
def test_a_symmetric_two_point_mass_is_bimodal(half: int, centre: float, spread: float) -> None:
    x = np.r_[np.full(half, centre - spread), np.full(half, centre + spread)]
    assert bimodality(x) > BIMODAL


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(500, 3000), scale=st.floats(0.01, 100))
def test_a_normal_sample_is_not_bimodal(seed: int, n: int, scale: float) -> None:
    x = np.random.default_rng(seed).normal(3.0, scale, n)
    assert bimodality(x) < BIMODAL


def test_bimodality_is_nan_for_tiny_or_constant_samples() -> None:
    assert np.isnan(bimodality(np.array([1.0, 2.0, 3.0])))
    assert np.isnan(bimodality(np.full(10, 0.5)))


def _pair_fraction(scores: np.ndarray, labels: np.ndarray) -> float:
    pos, neg = scores[labels], scores[~labels]
    greater = (pos[:, None] > neg[None, :]).sum()
    ties = (pos[:, None] == neg[None, :]).sum()
    return (greater + 0.5 * ties) / (pos.size * neg.size)


@SETTINGS
@given(
    data=st.integers(2, 60).flatmap(
        lambda n: st.tuples(
            arrays(np.float64, n, elements=st.sampled_from([0.0, 0.1, 0.5, 0.9, 1.0]))
            | arrays(np.float64, n, elements=st.floats(0, 1)),
            arrays(np.bool_, n),
        )
    )
)
def test_auc_is_the_fraction_of_correctly_ordered_pairs(data) -> None:
    scores, labels = data
    assume(0 < labels.sum() < labels.size)
    assert np.isclose(auc(scores, labels), _pair_fraction(scores, labels))
    # Invariant to the order of the sample.
    order = np.random.default_rng(labels.size).permutation(labels.size)
    assert np.isclose(auc(scores[order], labels[order]), auc(scores, labels))


@SETTINGS
@given(
    data=st.integers(2, 400).flatmap(
        lambda n: st.tuples(
            arrays(np.float32, n, elements=st.sampled_from([0.0, -0.0, 0.25, 0.5, 1.0, np.nan]))
            | arrays(np.float32, n, elements=st.floats(0, 1, width=32)),
            arrays(np.bool_, n),
        )
    )
)
def test_auc_equals_its_stable_argsort_definition_bit_for_bit(data) -> None:
    scores, labels = data
    fast, reference = auc(scores, labels), auc_reference(scores, labels)
    assert fast == reference or (np.isnan(fast) and np.isnan(reference))


def test_auc_is_nan_with_one_class() -> None:
    assert np.isnan(auc(np.array([0.1, 0.2]), np.array([True, True])))
    assert np.isnan(auc(np.array([0.1, 0.2]), np.array([False, False])))


@st.composite
def consumption(draw: st.DrawFn):
    n_people = draw(st.integers(3, 30))
    n_events = draw(st.integers(1, 120))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    people = rng.integers(0, n_people, n_events)
    roots = rng.integers(1, 15, n_events) * 1000  # sparse item ids
    a = rng.integers(0, n_people, 40)
    pairs = np.stack([a, (a + rng.integers(1, n_people, 40)) % n_people], axis=1)
    return n_people, people, roots, pairs, rng


@SETTINGS
@given(drawn=consumption())
def test_pair_jaccard_is_invariant_to_relabelling_people_and_events(drawn) -> None:
    n_people, people, roots, pairs, rng = drawn
    value = pair_jaccard(people, roots, pairs, n_people)
    relabel = rng.permutation(n_people)
    events = rng.permutation(people.size)
    relabelled = pair_jaccard(relabel[people][events], roots[events], relabel[pairs], n_people)
    if np.isnan(value):
        assert np.isnan(relabelled)
    else:
        assert np.isclose(value, relabelled)
        assert 0.0 <= value <= 1.0
    # Swapping the two people of each pair changes nothing either.
    swapped = pair_jaccard(people, roots, pairs[:, ::-1], n_people)
    assert np.isclose(value, swapped, equal_nan=True)


def test_pair_jaccard_known_values() -> None:
    people = np.array([0, 0, 1, 1, 2])
    roots = np.array([10, 20, 20, 30, 10])
    # {10,20} vs {20,30}: 1/3; {10,20} vs {10}: 1/2; person 3 consumed nothing with 4: skipped.
    pairs = np.array([[0, 1], [0, 2], [3, 4]])
    assert np.isclose(pair_jaccard(people, roots, pairs, 5), (1 / 3 + 1 / 2) / 2)
    # Repeated consumption of one item counts once.
    again = pair_jaccard(np.r_[people, 0, 0], np.r_[roots, 10, 10], pairs, 5)
    assert np.isclose(again, (1 / 3 + 1 / 2) / 2)
    # People in no pair do not count, whatever they consumed.
    others = pair_jaccard(np.r_[people, 5, 6], np.r_[roots, 20, 40], pairs, 7)
    assert np.isclose(others, (1 / 3 + 1 / 2) / 2)
    assert np.isnan(pair_jaccard(np.array([5, 6]), np.array([20, 40]), pairs, 7))


@SETTINGS
@given(
    counts=st.integers(1, 20).flatmap(
        lambda n: arrays(np.float64, (n, 5), elements=st.sampled_from([0.0, 1.0, 2.0, 7.0]))
    ),
    seed=st.integers(0, 2**32 - 1),
)
def test_topic_entropy_is_invariant_to_permuting_people_and_topics(counts, seed: int) -> None:
    rng = np.random.default_rng(seed)
    h = topic_entropy(counts)
    active = counts.sum(axis=1) > 0
    assert h.shape == (int(active.sum()),)
    assert ((h >= -1e-12) & (h <= np.log2(5) + 1e-12)).all()
    rows = rng.permutation(counts.shape[0])
    cols = rng.permutation(counts.shape[1])
    shuffled = topic_entropy(counts[rows][:, cols])
    np.testing.assert_allclose(np.sort(shuffled), np.sort(h), atol=1e-12)
    # Row by row: each person keeps their own entropy wherever their row moves.
    per_person = np.full(counts.shape[0], np.nan)
    per_person[active] = h
    np.testing.assert_allclose(topic_entropy(counts[rows]), per_person[rows][active[rows]])


def test_topic_entropy_known_values() -> None:
    counts = np.array([[4.0, 0, 0, 0], [1, 1, 1, 1], [0, 0, 0, 0], [2, 2, 0, 0]])
    np.testing.assert_allclose(topic_entropy(counts), [0.0, 2.0, 1.0])
