"""Daily metrics of interventions and adversaries: bots' reach, labels, holds, nudges, removals.

Like :mod:`feedlab.metrics.daily`, a tally is filled each tick and reduced at midnight. Metrics
read the truth (which accounts are bots) and the platform's state (what it labelled, held or
removed); definitions are in ``docs/metrics.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from feedlab.core.arrays import BoolArray, IntArray, cells
from feedlab.platform.interventions import InterventionState
from feedlab.world.bots import Bots
from feedlab.world.posts import Posts

INTERVENTION_METRICS = (
    "bot_reach_share",
    "bot_impressions_share",
    "labelled_impressions_share",
    "cascades_labelled",
    "cascades_held",
    "share_prompts_per_person",
    "nudges_per_person",
    "bots_removed_share",
    "removed_accounts_bot_share",
)
"""Names of the metrics :func:`close_intervention_day` returns, in catalog order."""


@dataclass
class InterventionTally:
    """Running counts of one simulated day."""

    n_people: int
    reached: BoolArray = field(init=False)  # (n_people,) saw a bot-originated or -amplified post
    impressions: int = 0
    bot_impressions: int = 0
    labelled_impressions: int = 0
    prompts: int = 0
    nudges: int = 0

    def __post_init__(self) -> None:
        self.reached = np.zeros(self.n_people, bool)


def bot_touched(posts: Posts, bots: Bots, slots: IntArray) -> BoolArray:
    """Whether each post slot is bot-originated (root by a bot) or bot-amplified (by a bot)."""
    return bots.is_bot[posts.root_author[slots]] | bots.is_bot[posts.author[slots]]


def tally_interventions(
    tally: InterventionTally,
    posts: Posts,
    bots: Bots,
    persons: IntArray,
    feed: IntArray,
    seen: BoolArray,
    labelled: BoolArray | None,
    prompts: int,
    nudges: int,
) -> None:
    """Count one tick's impressions of bot and labelled posts, prompts and nudges."""
    tally.prompts += prompts
    tally.nudges += nudges
    if not bots.n_bots and labelled is None:  # nothing to tell apart: count the impressions
        tally.impressions += int(np.count_nonzero(seen))
        return
    rows, cols = cells(seen)
    tally.impressions += int(rows.size)
    if bots.n_bots:
        touched = bot_touched(posts, bots, feed[rows, cols])
        tally.bot_impressions += int(touched.sum())
        tally.reached[persons[rows[touched]]] = True
    if labelled is not None:
        tally.labelled_impressions += int(labelled[rows, cols].sum())


def close_intervention_day(
    tally: InterventionTally, bots: Bots, state: InterventionState
) -> dict[str, float]:
    """One value per metric of :data:`INTERVENTION_METRICS` for the day."""
    n = tally.n_people
    impressions = max(tally.impressions, 1)
    humans = ~bots.is_bot
    removed = state.removed
    n_removed = int(removed.sum())
    return {
        "bot_reach_share": float(tally.reached[humans].mean()) if humans.any() else 0.0,
        "bot_impressions_share": tally.bot_impressions / impressions,
        "labelled_impressions_share": tally.labelled_impressions / impressions,
        "cascades_labelled": float(state.labelled_today),
        "cascades_held": float(state.held_today),
        "share_prompts_per_person": tally.prompts / n,
        "nudges_per_person": tally.nudges / n,
        "bots_removed_share": float(removed[bots.ids].mean()) if bots.n_bots else float("nan"),
        "removed_accounts_bot_share": (
            float(bots.is_bot[removed].mean()) if n_removed else float("nan")
        ),
    }
