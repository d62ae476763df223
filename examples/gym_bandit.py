"""Train a linear epsilon-greedy contextual bandit as the platform's ranker in ``FeedEnv``.

The bandit scores each candidate as ``w . x`` (``x``: the platform-visible features of
:data:`feedlab.gym.env.FEATURES`) and shows the best-scored ones; with probability ``epsilon`` a
person's slate is random instead. Each person's reward (engagements, by default) is credited to
the mean feature vector of the slate they were shown, and ``w`` is the ridge-regression solution
of reward on those vectors (the additive slate decomposition of SlateQ, Ie et al. 2019, with a
linear value; Li et al. 2010 for linear contextual bandits).

Run:  python examples/gym_bandit.py --steps 3000
"""

from __future__ import annotations

import argparse

import numpy as np

from feedlab.gym.env import N_FEATURES, FeedEnv, FeedEnvParams


class LinearBandit:
    """Linear epsilon-greedy slate bandit, ridge-regression estimates in NumPy."""

    def __init__(self, n_features: int, epsilon: float, ridge: float, seed: int) -> None:
        self.epsilon = epsilon
        self.a = ridge * np.eye(n_features)
        self.b = np.zeros(n_features)
        self.w = np.zeros(n_features)
        self.rng = np.random.default_rng(seed)

    def act(self, obs: np.ndarray) -> np.ndarray:
        """Scores in [-1, 1]: the model's, or random ones for an epsilon share of people."""
        scores = np.tanh(obs @ self.w)
        explore = self.rng.random(obs.shape[0]) < self.epsilon
        scores[explore] = self.rng.uniform(-1, 1, scores[explore].shape)
        return np.where(obs[..., -1] > 0, scores, -1.0).astype(np.float32)

    def learn(self, obs: np.ndarray, action: np.ndarray, reward: np.ndarray, k: int) -> None:
        """Credit each person's reward to the mean features of the slate they were shown."""
        order = np.argsort(-np.where(obs[..., -1] > 0, action, -np.inf), axis=1, kind="stable")[
            :, :k
        ]
        shown = np.take_along_axis(obs, order[..., None], axis=1)
        x = shown.mean(axis=1)  # (n_sessions, n_features)
        self.a += x.T @ x
        self.b += x.T @ reward
        self.w = np.linalg.solve(self.a, self.b)


def train(env: FeedEnv, bandit: LinearBandit, steps: int, seed: int) -> list[float]:
    """Run ``steps`` steps (resetting at truncation); return the reward of every step."""
    k = env.config.platform.feed_size
    obs, _ = env.reset(seed=seed)
    rewards = []
    for i in range(steps):
        action = bandit.act(obs)
        next_obs, reward, _, truncated, info = env.step(action)
        bandit.learn(obs, action, info["person_reward"], k)
        rewards.append(reward)
        obs = next_obs
        if truncated:
            obs, _ = env.reset(seed=seed + i + 1)
    return rewards


def evaluate(env: FeedEnv, policy: LinearBandit | None, seed: int, steps: int) -> float:
    """Mean reward per step of ``policy`` (random scores if None) over one episode."""
    rng = np.random.default_rng(seed)
    obs, _ = env.reset(seed=seed)
    total = 0.0
    for _ in range(steps):
        action = (
            rng.uniform(-1, 1, env.action_space.shape).astype(np.float32)
            if policy is None
            else policy.act(obs)
        )
        obs, reward, _, _, _ = env.step(action)
        total += reward
    return total / steps


def main() -> None:
    """Train, then compare the bandit with a random ranker on a fresh society."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--people", type=int, default=2000)
    parser.add_argument("--sessions", type=int, default=64)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--objective", choices=("clicks", "time", "wellbeing"), default="clicks")
    args = parser.parse_args()
    env = FeedEnv(
        FeedEnvParams(
            overrides=[f"world.n_people={args.people}", "platform.feed_size=5"],
            n_sessions=args.sessions,
            n_candidates=40,
            episode_ticks=24 * 7,
            click_weight=float(args.objective == "clicks"),
            time_weight=float(args.objective == "time"),
            wellbeing_weight=float(args.objective == "wellbeing"),
        )
    )
    bandit = LinearBandit(N_FEATURES, epsilon=0.1, ridge=1.0, seed=args.seed)
    rewards = train(env, bandit, args.steps, args.seed)
    window = max(1, args.steps // 10)
    for start in range(0, args.steps, window):
        print(
            f"steps {start:>5}-{start + window - 1:<5} mean reward {np.mean(rewards[start : start + window]):.4f}"
        )
    bandit.epsilon = 0.0
    test_seed = args.seed + 10_000
    learned = evaluate(env, bandit, test_seed, 48)
    random = evaluate(env, None, test_seed, 48)
    print(f"fresh society, 48 steps: bandit {learned:.4f} per person per tick, random {random:.4f}")


if __name__ == "__main__":
    main()
