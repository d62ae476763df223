import math

import numpy as np
import pytest

from feedlab.engine.run import run_cell
from feedlab.experiments.config import load_config
from feedlab.experiments.runner import plan
from feedlab.platform.estimator import (
    ENGAGE_ACTIONS,
    EXPOSURE_CORRECTION,
    N_ACTIONS,
    N_SHARED,
    EstimatorParams,
    Features,
    count_reference,
    forget,
    init_person_model,
    observe_own_posts,
    p_engage,
    predict,
)
from feedlab.platform.observe import LOGGED_ACTIONS, observe_posts
from feedlab.world.posts import empty_posts


def test_the_digital_model_learns_over_days(seed: int) -> None:
    config = load_config(
        "social-dilemma",
        ["world.n_people=1500", "days=3", "seeds=1", f"root_seed={seed}"],
    )
    (cell,) = [c for c in plan(config) if c.arm == "engagement"]
    rows = run_cell(cell)
    value = {(day, metric): v for _, _, day, metric, v in rows}
    auc = [value[(day, "model_auc")] for day in (1, 2, 3)]
    mae = [value[(day, "leaning_inference_mae")] for day in (1, 2, 3)]
    assert all(math.isfinite(v) for v in auc + mae)
    assert auc[2] > auc[0]
    assert auc[2] > 0.55
    assert mae[2] < mae[0]


def test_a_fresh_model_predicts_the_prior_rate_for_everything() -> None:
    model = init_person_model(5, 3, 1024)
    m = 4
    x = Features(
        shared=np.zeros((m, N_SHARED), np.float32),
        person_logit=model.person_logit[np.zeros(m, np.int64)],
        post_logit=model.post_logit[np.zeros(m, np.int64)],
    )
    p = predict(model, x)
    assert p.shape == (m, N_ACTIONS)
    np.testing.assert_allclose(p, 0.02, rtol=1e-4)
    # Knows nothing yet: no leaning, uniform interest.
    np.testing.assert_array_equal(model.estimated_leaning(), 0.0)
    np.testing.assert_allclose(model.estimated_interest(np.arange(5)), 1.0)


def test_leaning_is_read_from_likes_not_shares_and_corrected_for_the_feed() -> None:
    posts = empty_posts(1024)
    posts.slant[:4] = [0.8, 0.8, 0.2, -0.8]
    view = observe_posts(posts)
    model = init_person_model(3, 2, posts.capacity)
    like, share = LOGGED_ACTIONS.index("like"), LOGGED_ACTIONS.index("share")
    # Person 0 is shown two 0.8 posts and a 0.2 one and likes only the 0.2 one; person 1 is
    # shown the same and likes a 0.8 one; person 2 only hate-shares the -0.8 post.
    who = np.array([0, 0, 0, 1, 1, 1, 2])
    slots = np.array([0, 1, 2, 0, 1, 2, 3])
    y = np.zeros((who.size, N_ACTIONS), np.float32)
    y[2, like] = y[3, like] = y[6, share] = 1.0
    count_reference(model, view, who, slots, y, np.zeros(who.size, np.float32), False)
    lean = model.estimated_leaning()
    evidence = np.array([0.2, 0.8]) / 2.0  # one like each, shrunk by the +1
    feed = 1.8 / 4.0
    expected = evidence + EXPOSURE_CORRECTION * (evidence - 0.5 * feed)
    np.testing.assert_allclose(lean[:2], np.clip(expected, -1, 1), rtol=1e-5)
    # Liking the least right-leaning post of a right-leaning feed reads as left of its slant.
    assert lean[0] < evidence[0]
    assert lean[1] > lean[0]
    assert lean[2] == 0.0  # a share is no evidence, and the feed alone says nothing


def test_own_posts_count_but_reshares_do_not() -> None:
    posts = empty_posts(1024)
    posts.author[:3] = [0, 1, 1]
    posts.depth[:3] = [0, 0, 1]
    posts.slant[:3] = [0.6, -0.4, 0.9]
    model = observe_own_posts(init_person_model(2, 2, posts.capacity), observe_posts(posts),
                              np.arange(3))  # fmt: skip
    np.testing.assert_allclose(model.leaning_sum, [0.6, -0.4])
    np.testing.assert_allclose(model.leaning_weight, [1.0, 1.0])
    # No impressions: the evidence is read as it is (shrunk), pushed (1 + k) times.
    expected = np.clip((1 + EXPOSURE_CORRECTION) * np.array([0.3, -0.2]), -1, 1)
    np.testing.assert_allclose(model.estimated_leaning(), expected, rtol=1e-5)


def test_p_engage_treats_the_heads_as_independent() -> None:
    predictions = np.zeros((2, N_ACTIONS), np.float32)
    predictions[0, list(ENGAGE_ACTIONS)] = [0.1, 0.2, 0.0, 0.5]
    predictions[1, 4] = 0.9  # hide is not engagement
    expected = 1 - 0.9 * 0.8 * 1.0 * 0.5
    np.testing.assert_allclose(p_engage(predictions), [expected, 0.0], rtol=1e-6)


def test_forget_halves_counts_after_memory_days() -> None:
    params = EstimatorParams(memory_days=4.0)
    model = init_person_model(3, 2, 1024)
    model.impressions[:] = 8.0
    model.topic_shown[:] = 2.0
    model.shown_slant[:] = 6.0
    for _ in range(4):
        model = forget(model, params)
    np.testing.assert_allclose(model.impressions, 4.0, rtol=1e-5)
    np.testing.assert_allclose(model.topic_shown, 1.0, rtol=1e-5)
    np.testing.assert_allclose(model.shown_slant, 3.0, rtol=1e-5)


@pytest.mark.parametrize("value", [0.0, -1.0, 11.0])
def test_estimator_params_are_validated(value: float) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        EstimatorParams(learning_rate=value)


def test_engagements_sum_the_engage_actions_of_each_cascade() -> None:
    model = init_person_model(5, 3, 1024)
    rng = np.random.default_rng(4)
    model.post_actions[:] = rng.integers(0, 9, model.post_actions.shape).astype(np.float32)
    slots = rng.integers(0, 1024, 300)
    expected = model.post_actions[slots][:, list(ENGAGE_ACTIONS)].sum(axis=1)
    np.testing.assert_array_equal(model.engagements(slots), expected)
    assert model.engagements(slots[:0]).shape == (0,)
