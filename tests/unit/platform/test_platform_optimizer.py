"""Constant testing: stable balanced buckets, honest statistics, shipping, the objective."""

from __future__ import annotations

import re

import numpy as np
import pytest

from feedlab.core.errors import ConfigError
from feedlab.experiments.config import validate_config
from feedlab.platform.optimizer import (
    ObjectiveParams,
    OptimizerParams,
    bucket,
    init_optimizer,
    objective_value,
    record_day,
    start_test,
    value_of,
    welch,
)


def test_buckets_are_stable_balanced_and_independent_across_tests() -> None:
    people = np.arange(200_000)
    a = bucket(people, 12345)
    np.testing.assert_array_equal(a, bucket(people, 12345))
    assert abs((a < 0.5).mean() - 0.5) < 0.005
    assert abs((a < 0.1).mean() - 0.1) < 0.003
    b = bucket(people, 12346)
    assert abs(np.corrcoef(a, b)[0, 1]) < 0.01
    # both halves of one test split evenly in the next one
    assert abs((b[a < 0.5] < 0.5).mean() - 0.5) < 0.01
    # a person's bucket does not depend on who else is in the test
    np.testing.assert_array_equal(bucket(people[::7], 12345), a[::7])


def test_the_interval_covers_the_truth_and_a_a_tests_rarely_ship(seed: int) -> None:
    rng = np.random.default_rng(seed)
    shipped = covered = 0
    runs = 400
    for _ in range(runs):
        control = rng.exponential(1.0, 800)
        treatment = rng.exponential(1.0, 800) + 0.05
        result = welch(control, treatment, 0.95)
        covered += result.ci_low <= 0.05 <= result.ci_high
        aa = welch(control, rng.exponential(1.0, 800), 0.95)
        shipped += aa.ci_low > 0
    assert 0.92 <= covered / runs <= 0.98
    assert shipped / runs <= 0.06  # one-sided 2.5% in expectation


def test_welch_matches_the_textbook_formula() -> None:
    c = np.array([1.0, 2.0, 3.0, 4.0])
    t = np.array([3.0, 5.0, 4.0, 6.0, 7.0])
    r = welch(c, t, 0.95)
    se = np.sqrt(c.var(ddof=1) / 4 + t.var(ddof=1) / 5)
    assert r.effect == pytest.approx(5.0 - 2.5)
    assert r.ci_high - r.effect == pytest.approx(1.959964 * se, rel=1e-5)
    assert (r.n_control, r.n_treatment) == (4, 5)


def test_the_optimizer_ships_a_better_treatment_and_logs_every_test() -> None:
    params = OptimizerParams(enabled=True, parameters=["ad_load"], test_days=2)
    state = init_optimizer({"ad_load": 0.1}, 4000, seed=7)
    rng = np.random.default_rng(0)
    start_test(state, params, np.random.default_rng(1))
    treated = state.treated.copy()
    assert 0.45 < treated.mean() < 0.55
    load = value_of(state, "ad_load")
    assert set(np.unique(load)) == {0.1, state.treatment_value}
    better = state.treatment_value > 0.1  # pretend revenue rises with the ad load
    for day in range(2):
        value = rng.normal(1.0, 0.5, 4000) + 0.2 * (load - 0.1) / 0.03
        result = record_day(state, params, value, day)
    assert result is not None
    entry = state.log[-1]
    assert entry["parameter"] == "ad_load" and entry["day"] == 1
    assert entry["ci_low"] <= entry["effect"] <= entry["ci_high"]
    assert bool(entry["shipped"]) == better
    assert state.values["ad_load"] == (entry["treatment"] if better else 0.1)
    assert not state.treated.any()


def test_parameters_stay_within_bounds() -> None:
    params = OptimizerParams(enabled=True, parameters=["notifications_per_day"], step=0.5)
    state = init_optimizer({"notifications_per_day": 0.0}, 10, seed=1)
    for i in range(20):
        start_test(state, params, np.random.default_rng(i))
        assert 0 <= state.treatment_value <= 24
        assert state.treatment_value != state.values["notifications_per_day"]
        assert state.treatment_value == round(state.treatment_value)


def test_objectives_value_what_each_business_model_sells() -> None:
    revenue = np.array([1.0, 0.0])
    minutes = np.array([100.0, 0.0])
    subscribed = np.array([True, True])
    zeros = np.zeros(2)
    ad = objective_value(
        ObjectiveParams(kind="ad-funded"), revenue, minutes, subscribed, zeros, zeros
    )
    sub = objective_value(
        ObjectiveParams(kind="subscription"),
        revenue,
        minutes,
        subscribed,
        np.array([0.0, 3.0]),
        np.array([0.0, 10.0]),
    )
    mix = objective_value(
        ObjectiveParams(kind="mix", ad_share=0.5), revenue, minutes, subscribed, zeros, zeros
    )
    assert ad[0] > ad[1] == 0.0
    assert sub[0] == pytest.approx(0.3) and sub[1] < sub[0]
    np.testing.assert_allclose(mix, 0.5 * ad + 0.5 * 0.3)


def test_unknown_optimizer_parameters_get_a_clear_error() -> None:
    raw = {"arms": [{"name": "a"}], "platform": {"optimizer": {"parameters": ["ad_lod"]}}}
    with pytest.raises(
        ConfigError,
        match=re.escape(
            "platform.optimizer.parameters must be a list of ad_load, notifications_per_day, ranker.<field>, got 'ad_lod'"
        ),
    ):
        validate_config(raw)
    raw["platform"] = {"objective": {"kind": "donations"}}
    with pytest.raises(
        ConfigError,
        match=re.escape("platform.objective.kind must be 'ad-funded', 'subscription' or 'mix'"),
    ):
        validate_config(raw)


def test_ranker_weights_the_arm_ranker_lacks_are_refused_at_load() -> None:
    raw = {
        "arms": [{"name": "e"}, {"name": "c", "ranker": "chronological"}],
        "platform": {"optimizer": {"enabled": True, "parameters": ["ranker.reply"]}},
    }
    with pytest.raises(
        ConfigError,
        match=re.escape(
            "arms[1] (c): platform.optimizer.parameters must name numeric fields of the arm's ranker"
        ),
    ):
        validate_config(raw)
    raw["arms"] = [{"name": "e"}]
    assert validate_config(raw).arms[0].name == "e"


def test_advertiser_topics_are_checked_against_the_world_at_load() -> None:
    raw = {
        "arms": [{"name": "e"}],
        "world": {"n_topics": 4},
        "platform": {
            "ads": {
                "enabled": True,
                "advertisers": [{"name": "x", "budget": 1.0, "bid": 1.0, "topic": 6}],
            }
        },
    }
    with pytest.raises(ConfigError, match=re.escape("must be below world.n_topics (4), got 6")):
        validate_config(raw)


def test_ranker_weights_are_tuned_through_an_intervention_wrapper() -> None:
    from feedlab.engine.goals import with_weights
    from feedlab.platform.interventions import InterventionRanker
    from feedlab.platform.rankers.builtin import Engagement

    wrapped = InterventionRanker(inner=Engagement(), in_network_only=True)
    tuned = with_weights(wrapped, {"reply": 27.0})
    assert isinstance(tuned, InterventionRanker)
    assert tuned.inner.reply == 27.0 and tuned.in_network_only
    assert wrapped.inner.reply == 13.5  # the original is untouched
