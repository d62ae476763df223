"""The targeting inventory: criteria from the model alone, confidence growing with evidence."""

from __future__ import annotations

import inspect

import numpy as np

from feedlab.platform import ads, targeting
from feedlab.platform.consent import redact
from feedlab.platform.estimator import init_person_model
from feedlab.platform.observe import LOGGED_ACTIONS, ImpressionLog
from feedlab.platform.targeting import FLAGS, TargetingParams, inventory


def _model(n: int = 4, n_topics: int = 3):
    model = init_person_model(n, n_topics, 16)
    # person 0: much evidence of topic 1 and of a right leaning; person 1: one impression
    model.topic_shown[0] = [50.0, 50.0, 50.0]
    model.topic_engaged[0] = [2.0, 30.0, 1.0]
    model.leaning_sum[0], model.leaning_weight[0] = 40.0, 60.0
    model.topic_shown[1] = [0.0, 1.0, 0.0]
    model.topic_engaged[1] = [0.0, 1.0, 0.0]
    model.impressions[:] = [150.0, 1.0, 0.0, 0.0]
    return model


def test_criteria_need_evidence_before_they_are_held() -> None:
    inv = inventory(_model(), np.arange(4), TargetingParams(), leaning_noise=0.6)
    assert inv.topics[0].tolist() == [False, True, False]
    assert not inv.topics[1].any()  # an affinity from one impression is not confident
    assert inv.band[0] == 1 and inv.band_held[0]
    assert not inv.band_held[2] or inv.band[2] == 0
    assert inv.count()[0] > inv.count()[1]


def test_audiences_match_on_held_criteria_only() -> None:
    inv = inventory(_model(), np.arange(4), TargetingParams(), leaning_noise=0.6)
    assert inv.matches([1], "any", []).tolist() == [True, False, False, False]
    assert inv.matches([], "right", []).tolist()[0]
    assert not inv.matches([], "left", [])[0]
    assert inv.matches([], "any", []).all()
    assert inv.flags_held.shape == (4, len(FLAGS))


def test_ads_and_targeting_take_no_ground_truth() -> None:
    """Every public function of the ad and targeting modules is typed on platform data only."""
    for module in (ads, targeting):
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            if fn.__module__ != module.__name__:
                continue
            annotations = " ".join(str(a) for a in fn.__annotations__.values())
            assert "People" not in annotations and "Posts" not in annotations, name


def test_opted_out_sessions_keep_explicit_actions_but_lose_dwell() -> None:
    actions = np.zeros((2, 3, len(LOGGED_ACTIONS)), bool)
    actions[:, 0, LOGGED_ACTIONS.index("like")] = True
    actions[:, 1, LOGGED_ACTIONS.index("long_dwell")] = True
    log = ImpressionLog(
        tick=1,
        persons=np.array([3, 5]),
        post_ids=np.ones((2, 3), np.uint32),
        seen=np.ones((2, 3), bool),
        dwell_seconds=np.full((2, 3), 70.0, np.float32),
        actions=actions,
    )
    out = np.zeros(8, bool)
    out[5] = True
    red = redact(log, out)
    np.testing.assert_array_equal(red.dwell_seconds[0], 70.0)
    np.testing.assert_array_equal(red.dwell_seconds[1], 0.0)
    assert red.actions[1, 0, LOGGED_ACTIONS.index("like")]
    assert not red.actions[1, 1, LOGGED_ACTIONS.index("long_dwell")]
    assert red.actions[0, 1, LOGGED_ACTIONS.index("long_dwell")]
    assert redact(log, np.zeros(8, bool)) is log


def test_late_night_heavy_use_flags_lonely_late_night(seed: int) -> None:
    model = init_person_model(200, 3, 16)
    rng = np.random.default_rng(seed)
    model.minutes[:] = rng.exponential(40.0, 200)
    model.night_minutes[:] = model.minutes * rng.random(200) * 0.3
    model.minutes[:10] = 600.0
    model.night_minutes[:10] = 400.0
    inv = inventory(model, np.arange(200), TargetingParams(), leaning_noise=0.6)
    lonely = inv.flags_held[:, FLAGS.index("lonely_late_night")]
    assert lonely[:10].all()
    # the flag agrees with the model's own usage-based risk score
    risk = model.estimated_wellbeing_risk()
    night = model.night_minutes / (model.minutes + 1.0)
    expected = (night >= 0.2) & (risk >= 0.5) & (1 - np.exp(-model.minutes / 60.0) >= 0.6)
    np.testing.assert_array_equal(lonely, expected)
