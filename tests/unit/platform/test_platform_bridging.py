"""The bridging scorer and ranker: a post liked across the divide beats one loved by one side."""

import re
from dataclasses import replace

import numpy as np
import pytest

from feedlab.core.errors import ConfigError, ShapeError
from feedlab.experiments.config import validate_config
from feedlab.platform.bridging import fit_bridging
from feedlab.platform.observe import LOGGED_ACTIONS
from feedlab.platform.rankers.bridging import Bridging, BridgingMemory

N = 200  # people 0-99 are camp L, 100-199 camp R
BRIDGE, ONE_SIDED = 1000, 1001


def two_camps(n_background: int = 40) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Polarized background posts, one bridging post and one post loved by camp L.

    The bridging post is liked by 70% of both camps. The one-sided post is liked by all of camp
    L and by none of the 30 people of camp R it reached, so its raw mean (0.77) is *higher*.
    """
    persons, posts, ratings = [], [], []
    people = np.arange(N)
    left = people < N // 2
    for j in range(n_background):
        side_left = j % 2 == 0
        persons.append(people)
        posts.append(np.full(N, j))
        ratings.append(np.where(left == side_left, 1.0, 0.0))
    persons.append(people)
    posts.append(np.full(N, BRIDGE))
    ratings.append(np.where(people % 10 < 7, 1.0, 0.0))
    reached = np.r_[people[left], people[~left][:30]]
    persons.append(reached)
    posts.append(np.full(reached.size, ONE_SIDED))
    ratings.append(np.where(reached < N // 2, 1.0, 0.0))
    return np.concatenate(persons), np.concatenate(posts), np.concatenate(ratings)


def _post(fit, post_id: int) -> tuple[float, float]:
    j = int(np.searchsorted(fit.post_ids, post_id))
    return float(fit.post_intercept[j]), float(fit.post_factor[j])


def test_a_post_liked_by_both_camps_gets_a_high_intercept_and_a_small_factor() -> None:
    fit = fit_bridging(*two_camps())
    bridge_c, bridge_f = _post(fit, BRIDGE)
    one_c, one_f = _post(fit, ONE_SIDED)
    assert bridge_c > one_c
    assert abs(bridge_f) < 0.25 * abs(one_f)
    # The learned axis separates the camps, and the one-sided post sits on camp L's side.
    left_factor = fit.person_factor[:100].mean()
    right_factor = fit.person_factor[100:].mean()
    assert np.sign(left_factor) != np.sign(right_factor)
    assert np.sign(one_f) == np.sign(left_factor)


def test_the_separation_weakens_without_the_extra_intercept_regularization() -> None:
    data = two_camps()
    strong = fit_bridging(*data, intercept_multiplier=5.0)
    equal = fit_bridging(*data, intercept_multiplier=1.0)
    gap_strong = _post(strong, BRIDGE)[0] - _post(strong, ONE_SIDED)[0]
    gap_equal = _post(equal, BRIDGE)[0] - _post(equal, ONE_SIDED)[0]
    assert gap_strong > gap_equal


def test_the_fit_reproduces_the_ratings_and_is_deterministic() -> None:
    data = two_camps()
    a, b = fit_bridging(*data), fit_bridging(*data)
    np.testing.assert_array_equal(a.post_intercept, b.post_intercept)
    assert a.iterations < 200
    residual = data[2] - a.predict(data[0], data[1])
    assert np.abs(residual).mean() < 0.2  # polarized ratings are explained by the factor


def test_most_people_get_a_negative_factor() -> None:
    fit = fit_bridging(*two_camps())
    assert (fit.person_factor < 0).sum() >= (fit.person_factor != 0).sum() / 2


def test_no_ratings_give_an_empty_fit() -> None:
    fit = fit_bridging(np.zeros(0, int), np.zeros(0, int), np.zeros(0))
    assert fit.post_ids.size == 0 and fit.iterations == 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"factor_lambda": 0.0}, "factor_lambda must be a number > 0, got 0.0."),
        ({"intercept_multiplier": -1.0}, "intercept_multiplier must be a number > 0, got -1.0."),
        ({"max_iterations": 0}, "max_iterations must be an integer >= 1, got 0."),
    ],
)
def test_bad_fit_parameters_are_named(kwargs, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        fit_bridging(np.zeros(1, int), np.zeros(1, int), np.zeros(1), **kwargs)


def test_bad_rating_arrays_are_refused() -> None:
    with pytest.raises(ShapeError, match="1-D of one length"):
        fit_bridging(np.zeros(2, int), np.zeros(1, int), np.zeros(2))
    with pytest.raises(ShapeError, match="finite"):
        fit_bridging(np.zeros(1, int), np.zeros(1, int), np.array([np.nan]))


def test_bad_ranker_params_name_the_field() -> None:
    raw = {"arms": [{"name": "b", "ranker": "bridging", "ranker_params": {"refit_ticks": 0}}]}
    with pytest.raises(ConfigError, match=re.escape("arms[0].ranker_params.refit_ticks must be")):
        validate_config(raw)
    raw["arms"][0]["ranker_params"] = {"intercept_multipler": 1}
    with pytest.raises(ConfigError, match="Did you mean 'intercept_multiplier'"):
        validate_config(raw)


def _memory_from(ranker: Bridging, data, capacity: int, n_people: int) -> BridgingMemory:
    memory = ranker.start_memory(n_people, capacity, None)
    persons, posts, ratings = data
    memory.persons[: persons.size] = persons
    memory.roots[: posts.size] = posts
    memory.ratings[: ratings.size] = ratings
    memory.written = persons.size
    return memory


def test_in_ranking_a_post_liked_by_both_camps_outranks_one_loved_by_one_camp(
    make_context,
) -> None:
    # One session of a camp-L person with two candidates: column 0 is the one-sided post,
    # column 1 the bridging post, and the engagement model prefers the one-sided one.
    context = make_context(np.ones((1, 2), bool))
    ids = context.candidates.ids[0].astype(np.int64)  # the posts' ids in the ring
    persons, posts, ratings = two_camps()
    posts = np.select([posts == ONE_SIDED, posts == BRIDGE], [ids[0], ids[1]], posts + 10_000)
    ranker = Bridging()
    view = context.view
    memory = _memory_from(ranker, (persons, posts, ratings), view.capacity, 20_000)
    ranker.refit(memory, view.id, view.capacity, tick=context.tick)
    like = LOGGED_ACTIONS.index("like")
    predictions = np.zeros((1, 2, len(LOGGED_ACTIONS)), np.float32)
    predictions[0, :, like] = [0.9, 0.2]
    context = make_context(np.ones((1, 2), bool), predictions=predictions)
    with_memory = replace(context, memory=memory)
    assert ranker.rank(context, 2, np.random.default_rng(0))[0].tolist() == [0, 1]
    assert ranker.rank(with_memory, 2, np.random.default_rng(0))[0].tolist() == [1, 0]


def test_ratings_from_the_log() -> None:
    ranker = Bridging()
    a = {name: i for i, name in enumerate(LOGGED_ACTIONS)}
    actions = np.zeros((5, len(LOGGED_ACTIONS)), bool)
    actions[0, a["like"]] = True
    actions[1, a["share"]] = True
    actions[2, a["hide"]] = True
    actions[2, a["like"]] = True  # a hide outweighs anything else
    actions[3, a["click"]] = True
    assert ranker.ratings_of(actions).tolist() == pytest.approx([1.0, 0.0, -1.0, 0.0, -0.1])


def test_the_ranker_refits_every_refit_ticks_in_a_simulation(simulate) -> None:
    _, state = simulate(
        n_people=600,
        ticks=13,
        overrides=["arms.0.ranker=bridging", "arms.0.ranker_params={refit_ticks=4}"],
    )
    memory = state.platform.ranker_memory
    assert isinstance(memory, BridgingMemory)
    assert memory.fits >= 3  # ticks 0, 4, 8, 12 (the first ones may have no rating yet)
    assert memory.last_fit == 12
    assert memory.written > 0
    scored = (memory.fitted_root != 0) & (memory.n_ratings >= 5)
    assert scored.any()


def test_a_warm_start_converges_faster_to_the_same_scores() -> None:
    data = two_camps()
    cold = fit_bridging(*data)
    warm = fit_bridging(*data, warm_start=cold)
    assert warm.iterations < cold.iterations
    np.testing.assert_allclose(warm.post_intercept, cold.post_intercept, atol=1e-3)
