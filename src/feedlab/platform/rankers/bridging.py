"""The ``bridging`` ranker: Community-Notes-style bridging scores fitted on the engagement log.

Every seen impression becomes a rating (a like is positive, a click, share, reply or long dwell
is neutral by default, an impression scrolled past is mildly negative, a hide is negative). The ranker keeps the newest ``window_ratings`` of them in a ring in the platform
state and every ``refit_ticks`` ticks fits :func:`feedlab.platform.bridging.fit_bridging` to the
window: a cascade's score is its post intercept, high only when people on both sides of the
learned factor axis respond well to it (Wojcik et al. 2022; Ovadya & Thorburn 2023, "bridging-
based ranking"). Cascades with fewer than ``min_ratings`` ratings in the last fit (Community
Notes needs 5) are scored by the engagement model's expected rating, shrunk toward the mean.

Only likes count as approval: on this platform, as in Rathje et al. (2021), many shares and
replies are hate-shares and angry answers from the other side, and counting them as approval
would make outrage look bridging (measured: with shares as approval and clicks, shares and
replies at +0.3, the fitted intercepts correlated +0.13 with true outrage; with likes only,
+0.03).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import Field

from feedlab.core.arrays import FloatArray, I32Array, IntArray, U32Array, cells
from feedlab.core.params import Params
from feedlab.platform.bridging import BridgingFit, fit_bridging
from feedlab.platform.observe import LOGGED_ACTIONS, UserControls
from feedlab.platform.rankers.base import (
    Feedback,
    FillsFeeds,
    RankContext,
    Remembers,
    masked,
    top_k,
)

_A = {name: i for i, name in enumerate(LOGGED_ACTIONS)}


@dataclass(slots=True)
class BridgingMemory:
    """The rating window and the scores of the last fit (buffers updated in place).

    Attributes:
        persons: who gave each rating in the ring, ``(window,)``.
        roots: the cascade (root post id) rated, ``(window,)``, 0 = empty.
        ratings: the rating, ``(window,)``.
        written: ratings ever written (the ring's head).
        last_fit: tick of the last fit (-1: none yet).
        fits: fits run so far.
        fitted_root: root id whose scores a ring slot holds, ``(capacity,)``, 0 = none.
        intercept: post intercept (the bridging score) per root slot, ``(capacity,)``.
        factor: post factor per root slot, ``(capacity,)``.
        n_ratings: ratings of the cascade in the last fit, per root slot, ``(capacity,)``.
        person_intercept: each person's intercept in the last fit, ``(n_people,)``.
        mu: the global intercept of the last fit.
        last: the last fit itself (the next fit starts from its factors).
    """

    persons: I32Array
    roots: U32Array
    ratings: FloatArray
    written: int
    last_fit: int
    fits: int
    fitted_root: U32Array
    intercept: FloatArray
    factor: FloatArray
    n_ratings: I32Array
    person_intercept: FloatArray
    mu: float
    last: BridgingFit | None = None


class Bridging(Params, FillsFeeds, Remembers):
    """Rank by bridging score: the post intercept of a matrix factorization of the log.

    Attributes:
        factor_lambda: L2 weight of the factors (Community Notes: 0.03).
        intercept_multiplier: intercept L2 weight is ``factor_lambda`` times this
            (Community Notes: 5); 1 turns the extra intercept regularization off.
        refit_ticks: ticks between fits (24 with hourly ticks: daily).
        window_ratings: newest ratings kept for the fit.
        min_ratings: ratings a cascade needs in the fit to be scored by its intercept.
        seen_keep: share of impressions without any action that are kept as ratings (the rest
            are dropped by a hash of person and post, so the window is not all scrolling).
        endorse_rating: rating of a like.
        attention_rating: rating of a click, share, reply or long dwell without a like.
        seen_rating: rating of an impression with no action.
        hide_rating: rating of a hide.
        fallback_shrink: multiplier of the expected-rating deviation used for cascades without
            enough ratings.
    """

    factor_lambda: float = Field(0.03, gt=0, le=100)
    intercept_multiplier: float = Field(5.0, gt=0, le=1000)
    refit_ticks: int = Field(24, ge=1, le=24 * 365)
    window_ratings: int = Field(200_000, ge=100, le=100_000_000)
    min_ratings: int = Field(5, ge=1)
    seen_keep: float = Field(0.25, ge=0, le=1)
    endorse_rating: float = 1.0
    attention_rating: float = 0.0
    seen_rating: float = -0.1
    hide_rating: float = -1.0
    fallback_shrink: float = Field(0.5, ge=0, le=1)

    def start_memory(
        self, n_people: int, capacity: int, controls: UserControls | None
    ) -> BridgingMemory:
        """An empty window and no scores."""
        w = self.window_ratings
        return BridgingMemory(
            persons=np.zeros(w, np.int32),
            roots=np.zeros(w, np.uint32),
            ratings=np.zeros(w, np.float32),
            written=0,
            last_fit=-1,
            fits=0,
            fitted_root=np.zeros(capacity, np.uint32),
            intercept=np.zeros(capacity, np.float32),
            factor=np.zeros(capacity, np.float32),
            n_ratings=np.zeros(capacity, np.int32),
            person_intercept=np.zeros(n_people, np.float32),
            mu=0.0,
        )

    def ratings_of(self, actions: np.ndarray) -> FloatArray:
        """The rating of impressions from their logged actions, ``actions.shape[:-1]``."""
        endorse = actions[..., _A["like"]]
        attention = (
            actions[..., _A["click"]]
            | actions[..., _A["share"]]
            | actions[..., _A["reply"]]
            | actions[..., _A["long_dwell"]]
        )
        rating = np.where(
            actions[..., _A["hide"]],
            self.hide_rating,
            np.where(
                endorse,
                self.endorse_rating,
                np.where(attention, self.attention_rating, self.seen_rating),
            ),
        )
        return rating.astype(np.float32)

    def expected_rating(self, predictions: FloatArray) -> FloatArray:
        """The rating the engagement model expects, with its heads taken as independent."""
        p = predictions.astype(np.float64)
        hide = p[..., _A["hide"]]
        endorse = p[..., _A["like"]]
        attention = 1 - (
            (1 - p[..., _A["click"]])
            * (1 - p[..., _A["share"]])
            * (1 - p[..., _A["reply"]])
            * (1 - p[..., _A["long_dwell"]])
        )
        rest = attention * self.attention_rating + (1 - attention) * self.seen_rating
        kept = endorse * self.endorse_rating + (1 - endorse) * rest
        return (hide * self.hide_rating + (1 - hide) * kept).astype(np.float32)

    def remember(self, memory: Any, feedback: Feedback) -> BridgingMemory:
        """Add the tick's impressions to the window; refit when ``refit_ticks`` have passed."""
        log, view = feedback.log, feedback.view
        rows, cols = cells(log.seen)
        ids = log.post_ids[rows, cols]
        actions = log.actions[rows, cols]
        rating = self.ratings_of(actions)
        persons = log.persons[rows]
        roots = view.root[view.slots_of(ids)]
        if self.seen_keep < 1.0:
            acted = actions.any(axis=1)
            keep = acted | (_hash_unit(persons, roots) < self.seen_keep)
            persons, roots, rating = persons[keep], roots[keep], rating[keep]
        _append(memory, persons, roots, rating)
        if log.tick - memory.last_fit >= self.refit_ticks or memory.last_fit < 0:
            self.refit(memory, view.id, view.capacity, log.tick)
        return memory

    def refit(self, memory: BridgingMemory, live_ids: U32Array, capacity: int, tick: int) -> None:
        """Fit the window and store the scores of cascades that are still in the ring."""
        filled = min(memory.written, memory.roots.size)
        memory.last_fit = tick
        if filled == 0:
            return
        fit = fit_bridging(
            memory.persons[:filled],
            memory.roots[:filled],
            memory.ratings[:filled],
            factor_lambda=self.factor_lambda,
            intercept_multiplier=self.intercept_multiplier,
            warm_start=memory.last,
        )
        memory.last = fit
        memory.fits += 1
        memory.mu = fit.mu
        memory.person_intercept[:] = 0.0
        memory.person_intercept[fit.person_ids] = fit.person_intercept
        roots = fit.post_ids.astype(np.uint32)
        slots = (roots & np.uint32(capacity - 1)).astype(np.int64)
        alive = live_ids[slots] == roots
        memory.fitted_root[:] = 0
        memory.fitted_root[slots[alive]] = roots[alive]
        memory.intercept[slots[alive]] = fit.post_intercept[alive]
        memory.factor[slots[alive]] = fit.post_factor[alive]
        memory.n_ratings[slots[alive]] = fit.post_ratings[alive]

    def score(self, context: RankContext) -> FloatArray:
        """Bridging score of every candidate (fallback where the cascade has too few ratings)."""
        expected = self.expected_rating(context.predictions)
        memory = context.memory
        if not isinstance(memory, BridgingMemory):
            return expected
        view = context.view
        slots = np.maximum(context.candidates.slots, 0)
        root = view.root[slots]
        root_slot = view.slots_of(root)
        rated = (memory.fitted_root[root_slot] == root) & (
            memory.n_ratings[root_slot] >= self.min_ratings
        )
        person_b = memory.person_intercept[context.candidates.persons][:, None]
        fallback = self.fallback_shrink * (expected - memory.mu - person_b)
        return np.where(rated, memory.intercept[root_slot], fallback).astype(np.float32)

    def rank(self, context: RankContext, k: int, rng: np.random.Generator) -> IntArray:
        """Highest bridging score first."""
        return top_k(masked(self.score(context), context), k)


def _append(
    memory: BridgingMemory, persons: IntArray, roots: U32Array, ratings: FloatArray
) -> None:
    """Write ratings into the ring (the newest overwrite the oldest)."""
    size = memory.roots.size
    if persons.size > size:  # only the newest fit
        persons, roots, ratings = persons[-size:], roots[-size:], ratings[-size:]
    at = (memory.written + np.arange(persons.size)) % size
    memory.persons[at] = persons
    memory.roots[at] = roots
    memory.ratings[at] = ratings
    memory.written += int(persons.size)


def _hash_unit(persons: IntArray, roots: U32Array) -> FloatArray:
    """A fixed pseudo-random number in [0, 1) per (person, post): which scrolls are kept."""
    with np.errstate(over="ignore"):
        h = persons.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15) + roots.astype(np.uint64)
        h ^= h >> np.uint64(31)
        h *= np.uint64(0xBF58476D1CE4E5B9)
        h ^= h >> np.uint64(29)
    return (h >> np.uint64(11)).astype(np.float64) / float(1 << 53)
