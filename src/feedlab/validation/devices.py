"""Devices of validation that know the truth: an oracle, a like-minded recommender, a watcher.

These are yardsticks, not platform policies. Chaney et al. (2018) compare recommenders against
an *ideal* one that knows every person's true utility; Sîrbu et al. (2019) bias who meets whom by
true opinion distance. Both read ground truth, which no platform ranker may do, so they live in
the validation layer and receive the world from the harness before every tick.

:class:`Watched` wraps any ranker and records, for the first slots of every feed it serves, what
a survey of the timeline would record (Milli et al. 2023 read the first ten tweets): outrage,
out-party hostility, partisanship and the true utility of what was shown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from feedlab.behaviour.choice import interest_match
from feedlab.behaviour.survey import SurveyParams, worth_probability
from feedlab.core.arrays import IntArray
from feedlab.platform.rankers.base import IgnoresPredictions, RankContext, Ranker, masked, top_k
from feedlab.world.world import World

ATTENTION_EXPONENT = -0.8
"""Rank-based attention of Chaney et al. (2018), as in T-RECS: weight of slot j is j^-0.8."""

TOP_SLOTS = 10
"""Slots of a feed a timeline survey reads (Milli et al. 2023: the first 10 tweets)."""


@dataclass
class WorldView:
    """The world as of the current tick, set by the harness before every step."""

    world: World | None = None

    def now(self) -> World:
        """The current world (raises if the harness has not set it)."""
        if self.world is None:
            raise RuntimeError("the validation harness sets the world before every tick")
        return self.world


@dataclass
class TruthRanker(IgnoresPredictions):
    """Ranks by ground truth (it never reads the platform's predictions).

    ``oracle``: by true interest match, the person's true utility in this model (Chaney's ideal
    recommender). ``like-minded``: by closeness of the post's true leaning to the person's
    (Sîrbu et al. 2019, algorithmic bias with gamma -> large).
    """

    mode: Literal["oracle", "like-minded"]
    view: WorldView = field(default_factory=WorldView)

    def rank(self, context: RankContext, k: int, rng: np.random.Generator) -> IntArray:
        """Top ``k`` candidates by the true criterion, ties broken at random."""
        world = self.view.now()
        persons = context.candidates.persons
        slots = np.maximum(context.candidates.slots, 0)
        if self.mode == "oracle":
            score = interest_match(world.people.interest, world.posts, persons, slots)
        else:
            lean = world.people.leaning[persons][:, None]
            score = -np.abs(lean - world.posts.leaning[slots])
        jitter = rng.random(score.shape) * 1e-6
        return top_k(masked(score + jitter, context), k)


@dataclass
class FeedTally:
    """Sums over the top slots of every feed served (item-level values for standardization)."""

    items: int = 0
    outrage: float = 0.0
    outrage_sq: float = 0.0
    hostile: float = 0.0
    partisan: float = 0.0
    partisan_sq: float = 0.0
    utility: float = 0.0
    attention: float = 0.0
    worth: float = 0.0  # stated "worth my time" probability, summed over items
    political: int = 0  # items with |leaning| > 1/3
    political_worth: float = 0.0

    def moments(self, total: float, total_sq: float) -> tuple[float, float]:
        """Mean and variance of an item-level value from its sums."""
        if self.items == 0:
            return float("nan"), float("nan")
        mean = total / self.items
        return mean, max(total_sq / self.items - mean * mean, 0.0)


@dataclass
class Watched:
    """A ranker whose feeds are measured against the truth as they are served."""

    inner: Ranker
    view: WorldView
    outrage_threshold: float
    survey: SurveyParams = field(default_factory=SurveyParams)
    tally: FeedTally = field(default_factory=FeedTally)
    record: bool = False

    def rank(self, context: RankContext, k: int, rng: np.random.Generator) -> IntArray:
        """The inner ranker's feeds; when recording, their top slots are tallied."""
        columns = self.inner.rank(context, k, rng)
        if self.record and columns.size:
            self._tally(context, columns)
        return columns

    def _tally(self, context: RankContext, columns: IntArray) -> None:
        world = self.view.now()
        posts, people = world.posts, world.people
        top = columns[:, :TOP_SLOTS]
        shown = top >= 0
        slots = np.where(
            shown, np.take_along_axis(context.candidates.slots, np.maximum(top, 0), 1), 0
        )
        persons = context.candidates.persons
        viewer = np.broadcast_to(people.leaning[persons][:, None], slots.shape)[shown]
        s = slots[shown]
        outrage = posts.outrage[s].astype(np.float64)
        lean = posts.leaning[s].astype(np.float64)
        other_side = (viewer >= 0) != (lean >= 0)
        t = self.tally
        t.items += int(s.size)
        t.outrage += float(outrage.sum())
        t.outrage_sq += float((outrage**2).sum())
        t.hostile += float((other_side & (outrage >= self.outrage_threshold)).sum())
        t.partisan += float(np.abs(lean).sum())
        t.partisan_sq += float((lean**2).sum())
        weight = np.power(np.arange(1, top.shape[1] + 1, dtype=np.float64), ATTENTION_EXPONENT)
        match = interest_match(people.interest, posts, persons, slots).astype(np.float64)
        w = np.where(shown, weight[None, :], 0.0)
        t.utility += float((w * match).sum())
        t.attention += float(w.sum())
        worth = worth_probability(people, posts, persons, slots, self.survey)[shown]
        political = np.abs(lean) > 1.0 / 3.0
        t.worth += float(worth.sum())
        t.political += int(political.sum())
        t.political_worth += float(worth[political].sum())
