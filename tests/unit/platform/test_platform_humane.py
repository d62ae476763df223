"""Mechanisms of the humane rankers: diversity, well-being, stated preference, user controls."""

import re
from dataclasses import replace

import numpy as np
import pytest

from feedlab.core.errors import ConfigError
from feedlab.experiments.config import validate_config
from feedlab.platform.estimator import init_person_model
from feedlab.platform.observe import (
    LOGGED_ACTIONS,
    ImpressionLog,
    SurveyLog,
    UserControls,
    observe_posts,
)
from feedlab.platform.rankers.base import Feedback
from feedlab.platform.rankers.builtin import Engagement
from feedlab.platform.rankers.humane import (
    Diversity,
    StatedPreference,
    SurveyMemory,
    UserControlled,
    Wellbeing,
)
from feedlab.platform.survey import choose_respondents
from feedlab.world.posts import empty_posts

A = {name: i for i, name in enumerate(LOGGED_ACTIONS)}
RNG = np.random.default_rng(0)


def _clicks(values) -> np.ndarray:
    values = np.atleast_2d(np.asarray(values, np.float32))
    out = np.zeros((*values.shape, len(LOGGED_ACTIONS)), np.float32)
    out[..., A["click"]] = values
    return out


def test_diversity_with_lambda_one_is_engagement_order(make_context, with_columns) -> None:
    context = make_context(np.ones((1, 4), bool), predictions=_clicks([0.4, 0.3, 0.2, 0.1]))
    with_columns(context, topic_a=[[1, 1, 1, 2]], topic_b=[[1, 1, 1, 2]])
    np.testing.assert_array_equal(Diversity(mmr_lambda=1.0).rank(context, 4, RNG), [[0, 1, 2, 3]])


def test_diversity_lifts_another_topic_and_viewpoint(make_context, with_columns) -> None:
    # Three near-duplicates (topic 1, slant +0.8) and a weaker post of topic 2 from the other side.
    context = make_context(np.ones((2, 4), bool), predictions=_clicks([[0.4, 0.39, 0.38, 0.2]] * 2))
    with_columns(
        context,
        topic_a=[[1, 1, 1, 2]] * 2,
        topic_b=[[1, 1, 1, 2]] * 2,
        slant=[[0.8, 0.8, 0.8, -0.8]] * 2,
    )
    feeds = Diversity(mmr_lambda=0.5).rank(context, 4, RNG)
    np.testing.assert_array_equal(feeds, [[0, 3, 1, 2]] * 2)


def test_wellbeing_demotes_outrage_cues_and_likely_hides(make_context, with_columns) -> None:
    predictions = _clicks([[0.3, 0.3, 0.3]])
    predictions[0, 2, A["hide"]] = 0.02
    context = make_context(np.ones((1, 3), bool), authors=[[1, 2, 3]], predictions=predictions)
    with_columns(context, exclamations=[[6, 0, 0]])
    assert Engagement(author_diversity_floor=1.0).rank(context, 3, RNG)[0, 0] == 0  # tie, column
    engagement = Engagement().score(context)
    scores = Wellbeing().score(context)
    assert scores[0, 1] == pytest.approx(engagement[0, 1])  # calm, unlikely to be hidden
    assert scores[0, 0] < scores[0, 1]  # outrage cue
    assert scores[0, 2] < engagement[0, 2]  # the likely hide loses more than under engagement
    np.testing.assert_array_equal(Wellbeing().rank(context, 1, RNG), [[1]])
    np.testing.assert_array_equal(
        Wellbeing(hide_penalty=0, outrage_penalty=0).score(context), Engagement().score(context)
    )


def test_wellbeing_penalty_grows_with_the_persons_usage_risk(make_context, with_columns) -> None:
    context = make_context(np.ones((2, 1), bool), predictions=_clicks([[0.3], [0.3]]))
    with_columns(context, exclamations=[[4], [4]])
    model = init_person_model(20_002, 4, 8)
    persons = context.candidates.persons
    model.minutes[:] = 10.0
    model.minutes[persons[1]] = 400.0  # heavy user
    model.night_minutes[persons[1]] = 200.0
    scores = Wellbeing().score(replace(context, model=model))
    assert scores[1, 0] < scores[0, 0]


def _survey_memory(worth_of_outrage: float, n: int = 400) -> SurveyMemory:
    """A stated-preference memory fitted on answers that depend only on exclamation marks."""
    ranker = StatedPreference()
    memory = ranker.start_memory(n, 2 * n, None)
    model = init_person_model(n, 4, 2 * n)
    persons = np.arange(n)
    loud = persons % 2 == 0
    posts = empty_posts(2 * n)
    ids = (1 + persons).astype(np.uint32)
    posts.id[ids] = ids
    posts.exclamations[ids] = np.where(loud, 5, 0)
    view = observe_posts(posts)
    log = ImpressionLog(
        tick=0,
        persons=persons,
        post_ids=ids[:, None],
        seen=np.ones((n, 1), bool),
        dwell_seconds=np.ones((n, 1), np.float32),
        actions=np.zeros((n, 1, len(LOGGED_ACTIONS)), bool),
    )
    predictions = _clicks(np.where(loud, 0.4, 0.2)[:, None])
    survey = SurveyLog(
        tick=0,
        rows=persons,
        cols=np.zeros(n, np.int64),
        persons=persons,
        post_ids=ids,
        worth=np.where(loud, worth_of_outrage, 1.0).astype(np.float32),
    )
    feedback = Feedback(log, predictions, np.ones((n, 1), bool), view, model, survey, 24)
    return ranker.remember(memory, feedback)


def test_stated_preference_ranks_by_what_people_say_not_what_they_click(
    make_context, with_columns
) -> None:
    memory = _survey_memory(worth_of_outrage=0.0)
    assert memory.answers == 400
    context = make_context(np.ones((1, 2), bool), predictions=_clicks([[0.4, 0.2]]))
    with_columns(context, exclamations=[[5, 0]])
    model = init_person_model(20_001, 4, 8)
    ranked = StatedPreference().rank(replace(context, memory=memory, model=model), 2, RNG)
    np.testing.assert_array_equal(ranked, [[1, 0]])
    # Before enough answers, or without a memory, it ranks by engagement.
    np.testing.assert_array_equal(StatedPreference().rank(context, 2, RNG), [[0, 1]])
    few = StatedPreference(min_answers=1000).rank(
        replace(context, memory=memory, model=model), 2, RNG
    )
    np.testing.assert_array_equal(few, [[0, 1]])


def test_old_survey_answers_fade() -> None:
    memory = _survey_memory(worth_of_outrage=0.0)
    ranker = StatedPreference(memory_days=1.0)
    empty = Feedback(None, None, None, None, None, None, 24)  # type: ignore[arg-type]
    for _ in range(24):
        memory = ranker.remember(memory, empty)
    assert memory.answers == pytest.approx(200.0, rel=1e-6)


def _controls(n: int, n_topics: int = 4, **overrides) -> UserControls:
    base = {
        "topic_weight": np.ones((n, n_topics), np.float32),
        "in_network_only": np.zeros(n, bool),
        "no_outrage": np.zeros(n, bool),
    }
    base.update(overrides)
    return UserControls(**base)


def test_user_controls_filter_and_weight(make_context, with_columns) -> None:
    n = 3
    context = make_context(
        np.ones((n, 3), bool),
        authors=[[1, 2, 3]] * n,
        in_network=np.array([[True, False, True]] * n),
        predictions=_clicks([[0.5, 0.4, 0.3]] * n),
    )
    with_columns(
        context, exclamations=[[0, 0, 4]] * n, topic_a=[[0, 1, 2]] * n, topic_b=[[0, 1, 2]] * n
    )
    persons = context.candidates.persons
    size = int(persons.max()) + 1
    weights = np.ones((size, 4), np.float32)
    weights[persons[2], 0] = 0.1  # person 2 does not want topic 0
    controls = _controls(
        size,
        topic_weight=weights,
        in_network_only=np.isin(np.arange(size), persons[0]),
        no_outrage=np.isin(np.arange(size), persons[1]),
    )
    feeds = UserControlled().rank(replace(context, memory=controls), 3, RNG)
    np.testing.assert_array_equal(feeds[0], [0, 2, -1])  # following only
    np.testing.assert_array_equal(feeds[1], [0, 1, -1])  # no outrage
    np.testing.assert_array_equal(feeds[2], [1, 2, 0])  # topic 0 demoted
    # Without settings: engagement order.
    np.testing.assert_array_equal(UserControlled().rank(context, 3, RNG)[0], [0, 1, 2])


def test_choose_respondents_asks_about_seen_slots_only() -> None:
    seen = np.zeros((2000, 10), bool)
    seen[:, :4] = True
    seen[::2] = False
    rows, cols = choose_respondents(seen, 0.2, np.random.default_rng(1))
    assert (rows % 2 == 1).all()
    assert seen[rows, cols].all()
    assert 150 < rows.size < 250
    assert set(np.unique(cols)) == {0, 1, 2, 3}


@pytest.mark.parametrize(
    ("ranker", "params", "field"),
    [
        ("diversity", {"mmr_lambda": 1.5}, "mmr_lambda"),
        ("wellbeing", {"hide_penalty": -1}, "hide_penalty"),
        ("stated-preference", {"survey_rate": 0}, "survey_rate"),
        ("user-controlled", {"outrage_exclamations": 0}, "outrage_exclamations"),
    ],
)
def test_bad_params_name_the_field(ranker: str, params: dict, field: str) -> None:
    raw = {"arms": [{"name": "a", "ranker": ranker, "ranker_params": params}]}
    with pytest.raises(ConfigError, match=re.escape(f"arms[0].ranker_params.{field} must be")):
        validate_config(raw)


def _outrage_share(state) -> float:
    return state.tally.impressions_outrage / max(state.tally.impressions, 1)


def test_stated_preference_shows_less_outrage_than_engagement(simulate) -> None:
    _, engaged = simulate(n_people=800, ticks=40)
    _, stated = simulate(
        n_people=800,
        ticks=40,
        overrides=["arms.0.ranker=stated-preference", "arms.0.ranker_params={min_answers=50}"],
    )
    memory = stated.platform.ranker_memory
    assert isinstance(memory, SurveyMemory) and memory.answers > 50
    assert _outrage_share(stated) < 0.85 * _outrage_share(engaged)


def test_user_controls_come_from_the_people(simulate) -> None:
    _, state = simulate(n_people=500, ticks=2, overrides=["arms.0.ranker=user-controlled"])
    controls = state.platform.ranker_memory
    assert isinstance(controls, UserControls)
    adopted = (controls.topic_weight < 1).any(axis=1)
    assert 0.35 < adopted.mean() < 0.65  # behaviour.controls.adoption = 0.5
    assert not (controls.no_outrage & ~adopted).any()
    # Adopters keep their strongest true interests.
    interest = state.world.people.interest
    kept = controls.topic_weight == 1
    top = np.argmax(interest, axis=1)
    assert kept[adopted, top[adopted]].all()
