"""Mechanism of the content-filtering ranker (T-RECS' ContentFiltering on the digital model)."""

from dataclasses import replace

import numpy as np

from feedlab.platform.estimator import init_person_model
from feedlab.platform.rankers.base import check_ranker
from feedlab.platform.rankers.content import ContentFiltering
from feedlab.platform.rankers.registry import RANKERS

N_TOPICS = 8
RNG = np.random.default_rng(0)


def _model_liking(persons: np.ndarray, topics: np.ndarray):
    """A digital model that has logged engagements of ``persons[i]`` on ``topics[i]`` only."""
    model = init_person_model(int(persons.max()) + 1, N_TOPICS, 16)
    model.topic_shown[persons] = 20.0
    model.topic_engaged[persons, topics] = 15.0
    return model


def test_a_person_whose_model_likes_topic_t_gets_topic_t_posts_first(
    make_context, with_columns
) -> None:
    n, c = 4, 12
    context = make_context(np.ones((n, c), bool))
    topic = np.tile(np.arange(c) % N_TOPICS, (n, 1))  # candidate j is all about topic j % 8
    context = with_columns(
        context, topic_a=topic, topic_b=topic, topic_weight=np.ones((n, c), np.float32)
    )
    liked = np.array([2, 1, 3, 0])  # topics with two candidates each (j = t and t + 8)
    context = replace(context, model=_model_liking(context.candidates.persons, liked))
    feeds = ContentFiltering().rank(context, 2, RNG)
    shown = topic[np.arange(n)[:, None], feeds]
    assert (shown == liked[:, None]).all()
    assert (feeds == np.stack([liked, liked + 8], axis=1)).all()  # ties: lower column first


def test_the_topic_mix_weights_the_two_topics(make_context, with_columns) -> None:
    """A post mostly about the liked topic beats one only partly about it."""
    context = make_context(np.ones((1, 3), bool))
    context = with_columns(
        context,
        topic_a=np.array([[1, 3, 3]]),
        topic_b=np.array([[3, 1, 4]]),
        topic_weight=np.array([[0.6, 0.9, 1.0]], np.float32),
    )
    model = _model_liking(context.candidates.persons, np.array([3]))
    context = replace(context, model=model)
    score = ContentFiltering().score(context)
    interest = model.estimated_interest(context.candidates.persons)[0]
    expected = [
        0.6 * interest[1] + 0.4 * interest[3],
        0.9 * interest[3] + 0.1 * interest[1],
        interest[3],
    ]
    np.testing.assert_allclose(score[0], expected, rtol=1e-6)
    assert ContentFiltering().rank(context, 3, RNG)[0].tolist() == [2, 1, 0]


def test_conforms_with_a_model_and_is_registered(make_context, with_columns) -> None:
    n, c = 30, 20
    valid = RNG.random((n, c)) < 0.7
    valid[0] = False
    context = make_context(valid)
    context = with_columns(
        context,
        topic_a=RNG.integers(0, N_TOPICS, (n, c)),
        topic_b=RNG.integers(0, N_TOPICS, (n, c)),
        topic_weight=RNG.uniform(0.5, 1.0, (n, c)).astype(np.float32),
    )
    persons = context.candidates.persons
    context = replace(context, model=_model_liking(persons, RNG.integers(0, N_TOPICS, n)))
    for k in (1, 5, 30):
        check_ranker(ContentFiltering(), context, k)
    assert isinstance(RANKERS.create("content-filtering"), ContentFiltering)


def test_the_compiled_ranking_equals_the_reference(make_context, with_columns) -> None:
    rng = np.random.default_rng(12)
    n, c = 40, 25
    context = make_context(rng.random((n, c)) < 0.7)
    context = with_columns(
        context,
        topic_a=rng.integers(0, N_TOPICS, (n, c)),
        topic_b=rng.integers(0, N_TOPICS, (n, c)),
        # Few distinct weights and a few liked topics: many exact ties (lower column first).
        topic_weight=rng.choice([0.5, 0.75, 1.0], (n, c)).astype(np.float32),
    )
    persons = context.candidates.persons
    context = replace(context, model=_model_liking(persons, rng.integers(0, N_TOPICS, n)))
    ranker = ContentFiltering()
    for k in (1, 10, 30):
        np.testing.assert_array_equal(
            ranker.rank(context, k, RNG), ranker.rank_reference(context, k)
        )
