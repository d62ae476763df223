"""People: one row per simulated person, stored as struct-of-arrays.

Traits are heterogeneous and correlated the way the literature reports: activity and posting are
heavy-tailed (Pew 2019: the top 10% of users write 80% of posts), outrage susceptibility and
credulity rise with partisanship, teens seek more approval. Every field is ground truth, which the
platform never sees; it only sees the log (``platform.observe``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from pydantic import Field

from feedlab.core.arrays import BoolArray, FloatArray, check_shape
from feedlab.core.params import Params


class PeopleParams(Params):
    """How the initial population is drawn.

    Attributes:
        interest_concentration: Dirichlet concentration of topic tastes (small = few topics).
        partisan_share: share of people with a side (the rest are near the centre).
        leaning_extremity: Beta(a, 2) shape ``a`` of a partisan's distance from the centre;
            larger means more extreme.
        teen_share: share of people aged 13-17.
        sessions_per_day_median: median of the lognormal daily app-open rate.
        sessions_per_day_sigma: log-scale spread of that rate (heavy tail).
        posts_per_day_median: median of the lognormal daily posting rate.
        posts_per_day_sigma: log-scale spread of the posting rate.
        time_budget_min_median: median minutes a day a person intends to spend.
        affect_out_mean: mean initial feeling toward the other side (0-100 thermometer).
        warmth_own_mean: mean feeling toward one's own side (0-100).
        wellbeing_mean: mean initial well-being in [0, 1].
    """

    interest_concentration: float = Field(0.35, gt=0)
    partisan_share: float = Field(0.8, ge=0, le=1)
    leaning_extremity: float = Field(2.0, gt=0)
    teen_share: float = Field(0.15, ge=0, le=1)
    sessions_per_day_median: float = Field(4.0, gt=0)
    sessions_per_day_sigma: float = Field(0.8, ge=0)
    posts_per_day_median: float = Field(0.12, gt=0)
    posts_per_day_sigma: float = Field(1.4, ge=0)
    time_budget_min_median: float = Field(30.0, gt=0)
    affect_out_mean: float = Field(35.0, ge=0, le=100)
    warmth_own_mean: float = Field(72.0, ge=0, le=100)
    wellbeing_mean: float = Field(0.62, gt=0, lt=1)


@dataclass(frozen=True, slots=True)
class People:
    """Per-person arrays: row ``i`` of every field belongs to person ``i``.

    Static traits are drawn once; dynamic state is replaced by ``behaviour.drift`` each tick,
    except the rows of ``interest`` it moves, which it rewrites in place.
    """

    interest: FloatArray  # (n_people, n_topics) float32, affinity in [0, 1], max 1 per row
    leaning: FloatArray  # (n_people,) float32, political leaning in [-1, 1]
    affect_out: FloatArray  # (n_people,) float32, thermometer toward the other side, 0-100
    warmth_own: FloatArray  # (n_people,) float32, thermometer toward own side, 0-100
    outrage_susceptibility: FloatArray  # (n_people,) float32 in [0, 1]
    novelty_seeking: FloatArray  # (n_people,) float32 in [0, 1]
    approval_need: FloatArray  # (n_people,) float32 in [0, 1]
    credulity: FloatArray  # (n_people,) float32 in [0, 1], chance of believing false posts
    habit: FloatArray  # (n_people,) float32 in [0, 1], strength of the checking habit
    habit_baseline: FloatArray  # (n_people,) float32, what habit decays back to
    wellbeing: FloatArray  # (n_people,) float32 in [0, 1]
    wellbeing_baseline: FloatArray  # (n_people,) float32
    time_budget_min: FloatArray  # (n_people,) float32, minutes per day the person intends
    is_teen: BoolArray  # (n_people,) bool, age group 13-17
    sessions_per_day: FloatArray  # (n_people,) float32, baseline app-open rate
    posts_per_day: FloatArray  # (n_people,) float32, baseline posting rate
    phase_hours: FloatArray  # (n_people,) float32, shift of the person's daily rhythm
    outrage_expression: FloatArray  # (n_people,) float32 in [0, 1], outrage in own posts
    punctuation: FloatArray  # (n_people,) float32, exclamation marks per post at zero outrage
    reward_rate: FloatArray  # (n_people,) float32, running mean of likes received per tick
    minutes_today: FloatArray  # (n_people,) float32, minutes spent since midnight

    def __post_init__(self) -> None:
        n = self.leaning.shape[0]
        check_shape("People.interest", self.interest, (n, self.interest.shape[1]))
        for name in (
            "affect_out",
            "outrage_susceptibility",
            "habit",
            "wellbeing",
            "time_budget_min",
            "is_teen",
            "sessions_per_day",
            "posts_per_day",
            "minutes_today",
        ):
            check_shape(f"People.{name}", getattr(self, name), (n,))

    @property
    def n_people(self) -> int:
        """Number of people."""
        return int(self.leaning.shape[0])

    @property
    def n_topics(self) -> int:
        """Number of topics."""
        return int(self.interest.shape[1])

    @property
    def side(self) -> FloatArray:
        """+1 for people right of centre (or at it), -1 for people left of it."""
        return np.where(self.leaning >= 0, 1.0, -1.0).astype(np.float32)

    def start_day(self) -> People:
        """The same people at midnight: daily counters reset."""
        return replace(self, minutes_today=np.zeros_like(self.minutes_today))


def _beta(rng: np.random.Generator, a: float, b: float, n: int) -> FloatArray:
    return rng.beta(a, b, n).astype(np.float32)


def generate_people(
    params: PeopleParams, n_people: int, n_topics: int, rng: np.random.Generator
) -> People:
    """Draw a heterogeneous population.

    Args:
        params: distribution parameters.
        n_people: number of people.
        n_topics: number of topics.
        rng: the ``world.people`` stream.

    Returns:
        The initial :class:`People`.
    """
    n = n_people
    raw = rng.dirichlet(np.full(n_topics, params.interest_concentration), n)
    interest = (raw / raw.max(axis=1, keepdims=True)).astype(np.float32)

    partisan = rng.random(n) < params.partisan_share
    side = np.where(rng.random(n) < 0.5, -1.0, 1.0)
    distance = np.where(
        partisan, rng.beta(params.leaning_extremity, 2.0, n), rng.beta(1.0, 6.0, n) * 0.3
    )
    leaning = np.clip(side * distance, -1, 1).astype(np.float32)
    extremity = np.abs(leaning)

    is_teen = rng.random(n) < params.teen_share
    outrage = np.clip(_beta(rng, 2.0, 5.0, n) + 0.25 * extremity, 0, 1).astype(np.float32)
    credulity = np.clip(_beta(rng, 2.0, 6.0, n) + 0.2 * extremity, 0, 1).astype(np.float32)
    approval = np.clip(_beta(rng, 2.0, 3.0, n) + 0.15 * is_teen, 0, 1).astype(np.float32)
    habit = np.clip(_beta(rng, 2.0, 3.0, n) + 0.1 * is_teen, 0, 1).astype(np.float32)
    wellbeing = np.clip(
        rng.normal(params.wellbeing_mean, 0.12, n) - 0.04 * is_teen, 0.02, 0.98
    ).astype(np.float32)

    def lognormal(median: float, sigma: float) -> FloatArray:
        return (median * np.exp(sigma * rng.standard_normal(n))).astype(np.float32)

    sessions = np.minimum(
        lognormal(params.sessions_per_day_median, params.sessions_per_day_sigma), 24.0
    )
    posts = np.minimum(lognormal(params.posts_per_day_median, params.posts_per_day_sigma), 30.0)
    budget = lognormal(params.time_budget_min_median, 0.6)
    affect_out = np.clip(
        rng.normal(params.affect_out_mean + 10 - 20 * extremity, 12, n), 0, 100
    ).astype(np.float32)
    warmth_own = np.clip(
        rng.normal(params.warmth_own_mean - 5 + 10 * extremity, 10, n), 0, 100
    ).astype(np.float32)
    expression = np.clip(0.1 + 0.45 * outrage + 0.05 * rng.standard_normal(n), 0, 1)

    return People(
        interest=interest,
        leaning=leaning,
        affect_out=affect_out,
        warmth_own=warmth_own,
        outrage_susceptibility=outrage,
        novelty_seeking=_beta(rng, 2.0, 2.0, n),
        approval_need=approval,
        credulity=credulity,
        habit=habit,
        habit_baseline=habit.copy(),
        wellbeing=wellbeing,
        wellbeing_baseline=wellbeing.copy(),
        time_budget_min=budget,
        is_teen=is_teen,
        sessions_per_day=sessions,
        posts_per_day=posts,
        phase_hours=rng.normal(0.0, 1.5, n).astype(np.float32),
        outrage_expression=expression.astype(np.float32),
        punctuation=(0.2 + 0.6 * rng.random(n)).astype(np.float32),
        reward_rate=np.zeros(n, np.float32),
        minutes_today=np.zeros(n, np.float32),
    )
