"""Metrics of the platform's three goals: advertising, growth and constant testing.

The ad book, the notification counts and the optimizer's log are the platform's own numbers;
whether a targeted person truly matched the advertiser's criteria, and whether an inferred
criterion is true, needs ground truth and is scored here (the platform never sees it).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from feedlab.core.arrays import BoolArray, F64Array, IntArray, cells
from feedlab.platform.ads import AdvertiserParams
from feedlab.platform.estimator import PersonModel
from feedlab.platform.targeting import BANDS, FLAGS, Inventory, TargetingParams
from feedlab.world.people import People

GOAL_METRICS = (
    "ad_revenue", "revenue_per_person", "ad_impressions", "ad_ctr", "ad_targeting_precision",
    "criteria_per_person", "criteria_precision", "notifications_sent", "notification_open_rate",
    "retention_d1", "retention_d7", "retention_d30", "churned_share",
    "notifications_disabled_share", "objective_per_person", "experiments_run",
    "experiments_shipped", "opt_out_share", "leaning_inference_mae_opt_out",
    "leaning_inference_mae_opt_in", "criteria_per_person_opt_out", "criteria_per_person_opt_in",
)  # fmt: skip
"""Metrics recorded only when a ``platform`` goal block is enabled (see docs/platform.md)."""
RETENTION_DAYS = (1, 7, 30)
TRUE_MEMORY = 0.5 ** (1.0 / 30.0)
"""Daily decay of the true usage the life-state flags are scored against (30-day half-life)."""


@dataclass
class TrueUsage:
    """Decayed true minutes and late-night minutes per person (ground truth, all people)."""

    minutes: F64Array
    night_minutes: F64Array

    @classmethod
    def empty(cls, n_people: int) -> TrueUsage:
        """No use yet."""
        return cls(np.zeros(n_people), np.zeros(n_people))

    def add(self, persons: IntArray, minutes: F64Array, night: bool) -> None:
        """Add a tick's true minutes per session."""
        np.add.at(self.minutes, persons, minutes)
        if night:
            np.add.at(self.night_minutes, persons, minutes)

    def decay(self) -> None:
        """Midnight: old use fades."""
        self.minutes *= TRUE_MEMORY
        self.night_minutes *= TRUE_MEMORY


def true_criteria(
    people: People, usage: TrueUsage, persons: IntArray, params: TargetingParams
) -> tuple[BoolArray, IntArray, BoolArray]:
    """What is true of ``persons``: topic affinities, leaning band and life-state flags.

    Returns:
        ``(topics (n, n_topics), band (n,) in {-1, 0, 1}, flags (n, len(FLAGS)))``.
    """
    p = params
    interest = people.interest[persons]
    lean = people.leaning[persons]
    band = np.where(lean < -p.centre_band, -1, np.where(lean > p.centre_band, 1, 0))
    minutes = usage.minutes[persons]
    night = usage.night_minutes[persons] / (minutes + 1.0)
    median = float(np.median(usage.minutes)) + 1.0
    flags = np.stack(
        [
            (night >= p.night_share) & (people.wellbeing[persons] < 0.5),
            minutes / median >= p.heavy_ratio,
            people.outrage_susceptibility[persons] >= 0.5,
            band == 0,
        ],
        axis=1,
    )
    return interest >= p.topic_threshold, band.astype(np.int64), flags


def criteria_precision(inv: Inventory, truth: tuple[BoolArray, IntArray, BoolArray]) -> float:
    """Share of held criteria that are true; NaN when none is held."""
    topics, band, flags = truth
    held_topics = inv.topics
    held_flags = inv.flags_held
    n_held = held_topics.sum() + inv.band_held.sum() + held_flags.sum()
    if n_held == 0:
        return float("nan")
    n_true = (
        (held_topics & topics).sum()
        + (inv.band_held & (inv.band == band)).sum()
        + (held_flags & flags).sum()
    )
    return float(n_true / n_held)


def audience_truth(
    advertisers: list[AdvertiserParams],
    truth: tuple[BoolArray, IntArray, BoolArray],
) -> BoolArray:
    """Whether each person truly matches each advertiser's criteria, ``(n, n_ads)``."""
    topics, band, flags = truth
    out = np.ones((band.size, len(advertisers)), bool)
    for a, ad in enumerate(advertisers):
        if ad.target_topics:
            out[:, a] &= topics[:, ad.target_topics].any(axis=1)
        if ad.target_leaning != "any":
            out[:, a] &= band == BANDS.index(ad.target_leaning) - 1
        for flag in ad.target_flags:
            out[:, a] &= flags[:, FLAGS.index(flag)]
    return out


@dataclass
class GoalsTally:
    """Running sums of one day for the goal metrics."""

    n_people: int
    active: BoolArray = field(init=False)
    ad_impressions: int = 0
    ad_clicks: int = 0
    ad_revenue: float = 0.0
    targeted_impressions: int = 0
    targeted_true: int = 0

    def __post_init__(self) -> None:
        self.active = np.zeros(self.n_people, bool)


def tally_ads(
    tally: GoalsTally,
    people: People,
    usage: TrueUsage,
    advertisers: list[AdvertiserParams],
    targeting: TargetingParams,
    persons: IntArray,
    winner: IntArray,
    seen: BoolArray,
    clicked: BoolArray,
    charge: F64Array,
) -> None:
    """Count a tick's ad impressions, clicks, revenue, and how many targeted ones hit truly."""
    tally.ad_impressions += int(seen.sum())
    tally.ad_clicks += int(clicked.sum())
    tally.ad_revenue += float(charge.sum())
    targeted = np.array([a.targeted for a in advertisers])
    rows, cols = cells(seen)
    ads = winner[rows, cols]
    hit = targeted[ads]
    if not hit.any():
        return
    truth = audience_truth(advertisers, true_criteria(people, usage, persons, targeting))
    tally.targeted_impressions += int(hit.sum())
    tally.targeted_true += int(truth[rows[hit], ads[hit]].sum())


def retention(history: BoolArray, day_index: int) -> dict[str, float]:
    """Share of people active ``d`` days ago who are active today, for d in 1, 7, 30.

    ``history`` is a ring ``(31, n_people)`` of daily active masks; ``day_index`` counts days
    from the start of the run (today's mask is at ``day_index % 31``).
    """
    today = history[day_index % history.shape[0]]
    out = {}
    for d in RETENTION_DAYS:
        if day_index < d:
            out[f"retention_d{d}"] = float("nan")
            continue
        before = history[(day_index - d) % history.shape[0]]
        out[f"retention_d{d}"] = float(today[before].mean()) if before.any() else float("nan")
    return out


def inventory_metrics(
    inv: Inventory, truth: tuple[BoolArray, IntArray, BoolArray], suffix: str = ""
) -> dict[str, float]:
    """``criteria_per_person`` and ``criteria_precision`` of an inventory."""
    count = inv.count()
    return {
        f"criteria_per_person{suffix}": float(count.mean()) if count.size else float("nan"),
        f"criteria_precision{suffix}": criteria_precision(inv, truth),
    }


def leaning_mae(model: PersonModel, people: People, who: BoolArray) -> float:
    """Mean absolute error of the inferred leaning over ``who`` among people logged."""
    mask = who & (model.impressions > 0)
    if not mask.any():
        return float("nan")
    err = np.abs(model.estimated_leaning()[mask] - people.leaning[mask])
    return float(err.astype(np.float64).mean())
