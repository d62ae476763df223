"""The Gymnasium environment: API conformance, determinism, and a bandit that learns."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import feedlab.gym.env
from feedlab.gym import FeedEnv, FeedEnvParams, register_envs
from feedlab.gym.env import N_FEATURES

EXAMPLE = Path(__file__).parents[3] / "examples" / "gym_bandit.py"


def _env(**changes: object) -> FeedEnv:
    params = {
        "overrides": ["world.n_people=400", "platform.feed_size=5"],
        "n_sessions": 16,
        "n_candidates": 24,
        "warmup_days": 1,
        "episode_ticks": 12,
    }
    params.update(changes)
    return FeedEnv(FeedEnvParams.model_validate(params))


def test_the_environment_passes_the_gymnasium_checker() -> None:
    env = _env()
    check_env(env, skip_render_check=True)
    assert env.observation_space.shape == (16, 24, N_FEATURES)
    assert env.action_space.shape == (16, 24)


def test_it_is_registered_on_request_and_truncates_episodes() -> None:
    register_envs()
    env = gym.make(
        "feedlab/Feed-v0",
        disable_env_checker=True,
        overrides=["world.n_people=300"],
        n_sessions=8,
        warmup_days=0,
        episode_ticks=3,
    )
    env.reset(seed=1)
    flags = [env.step(env.action_space.sample())[3] for _ in range(3)]
    assert flags == [False, False, True]


def test_same_seed_same_episode(seed: int) -> None:
    env = _env()
    runs = []
    for _ in range(2):
        obs, _ = env.reset(seed=seed)
        action = np.linspace(-1, 1, 16 * 24, dtype=np.float32).reshape(16, 24)
        rewards = [env.step(action)[1] for _ in range(4)]
        runs.append((obs, rewards))
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    assert runs[0][1] == runs[1][1]
    assert (runs[0][0][..., -1] > 0).any()  # the cohort has candidates


def test_the_slate_decides_the_reward(seed: int) -> None:
    env = _env(overrides=["world.n_people=400", "platform.feed_size=1"])
    ramp = np.broadcast_to(np.linspace(-1, 1, 24, dtype=np.float32), env.action_space.shape)
    rewards = []
    for action in (ramp, -ramp):  # the last candidate first, then the first one
        env.reset(seed=seed)
        rewards.append(env.step(np.ascontiguousarray(action))[4]["person_reward"])
    assert not np.array_equal(rewards[0], rewards[1])


def test_displayed_likes_sway_the_cohort_as_they_sway_everyone(seed, monkeypatch) -> None:
    env = _env(overrides=["world.n_people=400", "behaviour.social_proof.weight=5.0"])
    action = np.zeros(env.action_space.shape, np.float32)
    engaged = []
    for sway in (True, False):  # the same society and slates, with and without the shift
        if not sway:
            monkeypatch.setattr(feedlab.gym.env.iv, "response_shift", lambda *args: None)
        env.reset(seed=seed)
        engaged.append(sum(env.step(action)[4]["engagements"] for _ in range(3)))
    assert engaged[0] > engaged[1]


def test_a_bad_cohort_size_is_refused() -> None:
    with pytest.raises(ValueError, match="n_sessions must be at most"):
        _env(n_sessions=5000)


def test_the_example_bandit_beats_a_random_ranker() -> None:
    spec = importlib.util.spec_from_file_location("gym_bandit", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["gym_bandit"] = module
    spec.loader.exec_module(module)
    env = _env(
        overrides=["world.n_people=600", "platform.feed_size=5"],
        n_sessions=24,
        n_candidates=40,
        episode_ticks=10_000,
        time_weight=0.0,
        click_weight=1.0,
    )
    bandit = module.LinearBandit(N_FEATURES, epsilon=0.1, ridge=1.0, seed=0)
    module.train(env, bandit, 150, seed=5)
    bandit.epsilon = 0.0
    learned = module.evaluate(env, bandit, seed=99, steps=24)
    random = module.evaluate(env, None, seed=99, steps=24)
    assert learned > random * 1.02
