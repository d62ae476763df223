"""``FeedEnv``: the platform's ranker as a reinforcement-learning agent, over a simulated society.

Like RecSim (Ie et al. 2019) and KuaiSim (Zhao et al. 2023) the agent recommends slates to
simulated users and is rewarded by their responses - but here the users are people of a feedlab
society, whose habits, opinions and well-being drift with what they are shown, and who live among
others served by the platform's own ranker.

One step is one tick. A fixed *cohort* of ``n_sessions`` people (drawn once per episode from the
``gym.rank`` stream) is served by the agent: each of them opens the app every tick (their own
habit-driven sessions are switched off), the platform sources their candidates exactly as it
would, and the agent ranks them. Everyone else is served by the society's ranker.

* **Observation**: ``Box(-10, 10, (n_sessions, n_candidates, N_FEATURES), float32)``, the
  platform-visible features of each session's first ``n_candidates`` candidates (see
  :data:`FEATURES`); empty candidate cells are all zero (``valid`` = 0). Nothing from the
  people's true state is observed.
* **Action**: ``Box(-1, 1, (n_sessions, n_candidates), float32)``, a score per candidate; the
  slate is the ``feed_size`` best-scored valid candidates, best first.
* **Reward**: the cohort's mean of ``time_weight`` x minutes spent + ``click_weight`` x
  engagements (click, like, share, reply; revenue stand-in until ads exist) +
  ``wellbeing_weight`` x 100 x change in well-being. ``info`` carries each component and the
  per-person reward (``info["person_reward"]``), so the environment is vectorized over people
  inside one step.

Episodes are truncated after ``episode_ticks`` ticks; they never terminate.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from pydantic import Field

from feedlab.behaviour.choice import respond
from feedlab.behaviour.drift import drift
from feedlab.behaviour.social import social_effects
from feedlab.core.arrays import FloatArray, IntArray
from feedlab.core.params import Params
from feedlab.core.random import GYM_RANK, PLATFORM_EXPLORE, PLATFORM_RANK
from feedlab.engine import interventions as iv
from feedlab.engine.run import setup_for
from feedlab.engine.step import Setup, SimState, start, step
from feedlab.experiments.config import load_config
from feedlab.experiments.runner import plan
from feedlab.platform.estimator import N_ACTIONS, features, predict
from feedlab.platform.observe import LOGGED_ACTIONS, observe_impressions, observe_posts
from feedlab.platform.rankers.base import RankContext, masked, top_k
from feedlab.platform.state import ingest_posts, learn_from_log, serve, source_candidates

FEATURES = (
    *(f"predicted_{a}" for a in LOGGED_ACTIONS),
    "log_popularity",
    "in_network",
    "slant",
    "agreement",
    "log_exclamations",
    "age",
    "valid",
)
"""Features of one candidate, in order: the platform's predicted probability of each logged
action, log(1 + logged engagements of the cascade), followed author, text slant, slant x the
person's estimated leaning, log(1 + exclamation marks), age as a share of the post lifetime, and
whether the cell holds a candidate."""
N_FEATURES = len(FEATURES)
BOUND = 10.0


class FeedEnvParams(Params):
    """Settings of :class:`FeedEnv`.

    Attributes:
        scenario: built-in scenario name or TOML file of the society.
        overrides: ``--set``-style overrides of the scenario (``world.n_people=2000``).
        n_sessions: people served by the agent at every step.
        n_candidates: candidate columns observed and scored per session.
        warmup_days: days the society runs before the episode starts.
        episode_ticks: steps before the episode is truncated.
        time_weight: reward per minute spent.
        click_weight: reward per engagement (click, like, share or reply).
        wellbeing_weight: reward per 0.01 of well-being gained.
    """

    scenario: str = "social-dilemma"
    overrides: list[str] = Field(
        default_factory=lambda: ["world.n_people=2000", "platform.feed_size=10"]
    )
    n_sessions: int = Field(64, ge=1, le=100_000)
    n_candidates: int = Field(40, ge=1, le=1000)
    warmup_days: int = Field(1, ge=0, le=60)
    episode_ticks: int = Field(24 * 7, ge=1)
    time_weight: float = 1.0
    click_weight: float = 0.0
    wellbeing_weight: float = 0.0


class _ActionRanker:
    """Ranks the cohort's candidates by the agent's scores (cells past the observed ones: never)."""

    def __init__(self, scores: FloatArray) -> None:
        self.scores = scores

    def rank(self, context: RankContext, k: int, rng: np.random.Generator) -> IntArray:
        n, c = context.candidates.slots.shape
        scores = np.full((n, c), -np.inf)
        width = min(c, self.scores.shape[1])
        scores[:, :width] = self.scores[:, :width]
        return top_k(masked(scores, context), k)


class FeedEnv(gym.Env[np.ndarray, np.ndarray]):
    """The platform's ranker as an agent; see the module docstring for spaces and reward.

    Args:
        params: a :class:`FeedEnvParams`, or its fields as keywords.
    """

    metadata: dict[str, Any] = {"render_modes": []}  # noqa: RUF012 - Gymnasium's convention

    def __init__(self, params: FeedEnvParams | None = None, **kwargs: Any) -> None:
        self.params = params if params is not None else FeedEnvParams(**kwargs)
        p = self.params
        self.config = load_config(p.scenario, [*p.overrides, "seeds=1", "days=1"])
        if p.n_sessions > self.config.world.n_people:
            raise ValueError(
                f"n_sessions must be at most world.n_people ({self.config.world.n_people}), got {p.n_sessions}."
            )
        self.observation_space = spaces.Box(
            -BOUND, BOUND, (p.n_sessions, p.n_candidates, N_FEATURES), np.float32
        )
        self.action_space = spaces.Box(-1.0, 1.0, (p.n_sessions, p.n_candidates), np.float32)
        self._setup: Setup | None = None
        self._state: SimState | None = None
        self._cohort = np.zeros(0, np.int64)
        self._ticks = 0

    # -- gymnasium API --------------------------------------------------------------------

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Build the society (seeded by ``seed``), run the warm-up and draw the cohort."""
        super().reset(seed=seed)
        root = int(self.np_random.integers(0, 2**62)) if seed is None else int(seed)
        config = self.config.model_copy(update={"root_seed": root})
        cell = plan(config)[0]
        self._setup = setup_for(cell)
        state = start(self._setup)
        for _ in range(self.params.warmup_days * state.world.clock.ticks_per_day):
            step(state, self._setup)
        n = state.world.n_people
        rng = self._setup.streams.rng(GYM_RANK, 0)
        self._cohort = np.sort(rng.choice(n, self.params.n_sessions, replace=False)).astype(
            np.int64
        )
        people = state.world.people
        sessions = people.sessions_per_day.copy()
        sessions[self._cohort] = 0.0  # the cohort is served by the agent only
        state.world = replace(state.world, people=replace(people, sessions_per_day=sessions))
        self._state = state
        self._ticks = 0
        return self._observe(), {"cohort": self._cohort.copy(), "tick": state.tick}

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Serve the cohort the agent's slates, let them respond and drift, then tick the society."""
        if self._state is None or self._setup is None:
            raise RuntimeError("call reset() before step()")
        state, setup = self._state, self._setup
        scores = np.asarray(action, np.float64).reshape(self.action_space.shape)
        world, t = state.world, state.tick
        clock = world.clock
        lifetime = clock.ticks(setup.world.posts.lifetime_hours)
        view = observe_posts(world.posts)
        persons = self._cohort
        served = serve(
            state.platform, view, persons, _ActionRanker(scores), setup.platform,
            setup.streams.rng(PLATFORM_RANK, t), t, lifetime,
            setup.streams.rng(PLATFORM_EXPLORE, t),
        )  # fmt: skip
        people, posts = world.people, world.posts
        # Displayed like counts (social proof) and labels shift the cohort's odds as everyone's.
        assert state.extra is not None  # set by start()
        shift = iv.response_shift(
            state.extra, setup.interventions, setup.behaviour, state.platform, view, served
        )
        responses = respond(
            people, posts, persons, served.slots, setup.behaviour.choice, setup.streams, t,
            shift=shift,
        )  # fmt: skip
        effects = social_effects(posts, persons, served.slots, responses, world.n_people)
        reshare_ids = posts.append(t, lifetime, **effects.reshares)
        state.follow_src.append(effects.follow_src)
        state.follow_dst.append(effects.follow_dst)
        log = observe_impressions(t, persons, served.post_ids, responses)
        learn_from_log(
            state.platform, log, served, view, setup.platform, clock.hour(t), clock.ticks_per_day
        )
        ingest_posts(state.platform, view, reshare_ids)
        engaged = responses.click | responses.like | responses.share | responses.reply
        before = people.wellbeing[persons].copy()
        people = drift(
            people, posts, persons, served.slots, responses.seen, engaged,
            responses.dwell_seconds, effects.approval, setup.behaviour.drift, clock.ticks_per_day,
        )  # fmt: skip
        state.world = replace(world, people=people)
        step(state, setup)  # everyone else's tick t
        minutes = responses.dwell_seconds.sum(axis=1) / 60.0
        clicks = engaged.sum(axis=1).astype(np.float64)
        wellbeing = (state.world.people.wellbeing[persons] - before) * 100.0
        p = self.params
        person_reward = (
            p.time_weight * minutes + p.click_weight * clicks + p.wellbeing_weight * wellbeing
        )
        self._ticks += 1
        info = {
            "person_reward": person_reward,
            "minutes": float(minutes.mean()),
            "engagements": float(clicks.mean()),
            "wellbeing_change": float(wellbeing.mean()),
            "tick": t,
        }
        truncated = self._ticks >= p.episode_ticks
        return self._observe(), float(person_reward.mean()), False, truncated, info

    # -- observation ----------------------------------------------------------------------

    def _observe(self) -> np.ndarray:
        """The cohort's candidate features at the current tick (see :data:`FEATURES`)."""
        assert self._state is not None and self._setup is not None
        state, setup = self._state, self._setup
        p = self.params
        t = state.tick
        lifetime = state.world.clock.ticks(setup.world.posts.lifetime_hours)
        view = observe_posts(state.world.posts)
        model = state.platform.model
        persons = self._cohort
        cands = source_candidates(state.platform, view, persons, setup.platform, t, lifetime)
        valid = cands.valid[:, : p.n_candidates]
        rows, cols = np.nonzero(valid)
        slots = cands.slots[rows, cols]
        x = features(model, view, persons, rows, slots, cands.in_network[rows, cols], t, lifetime)
        predicted = predict(model, x)  # (n_valid, N_ACTIONS)
        roots = view.slots_of(view.root[slots])
        popularity = model.engagements(roots)
        slant = view.slant[slots].astype(np.float64)
        columns = [
            *(predicted[:, a] for a in range(N_ACTIONS)),
            np.log1p(popularity),
            cands.in_network[rows, cols].astype(np.float64),
            slant,
            slant * model.estimated_leaning(persons)[rows],
            np.log1p(view.exclamations[slots].astype(np.float64)),
            (t - view.created[slots]) / max(lifetime, 1),
            np.ones(rows.size),
        ]
        obs = np.zeros((p.n_sessions, p.n_candidates, N_FEATURES), np.float32)
        obs[rows, cols] = np.clip(np.stack(columns, axis=1), -BOUND, BOUND)
        return obs


def register_envs() -> None:
    """Register ``feedlab/Feed-v0`` with Gymnasium (idempotent)."""
    if "feedlab/Feed-v0" not in gym.registry:
        gym.register(id="feedlab/Feed-v0", entry_point="feedlab.gym.env:FeedEnv")
