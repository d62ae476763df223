"""Built-in rankers: engagement (Twitter 2023 weights), chronological, popularity, random."""

from __future__ import annotations

import numpy as np
from pydantic import Field

from feedlab.core.arrays import IntArray
from feedlab.core.kernels import score_occurrence_reference, threaded, top_k_reference
from feedlab.core.params import Params
from feedlab.platform import kernels
from feedlab.platform.observe import LOGGED_ACTIONS
from feedlab.platform.rankers.base import (
    FillsFeeds,
    IgnoresPredictions,
    RankContext,
    masked,
    top_k,
)


class Engagement(Params, FillsFeeds):
    """Rank by expected weighted engagement: score = sum_a weight_a x P(action a).

    Defaults are Twitter's heavy-ranker weights as open-sourced on 2023-04-05
    (``the-algorithm-ml/projects/home/recap/README.md``), mapped onto feedlab's logged actions:

    ========== ============================ ========
    feedlab    Twitter head                 weight
    ========== ============================ ========
    like       fav                          0.5
    share      retweet                      1.0
    reply      reply                        13.5
    follow     good_profile_click           12.0
    click      good_click                   11.0
    long_dwell good_click_v2 (stay >= 2 min) 10.0
    hide       negative_feedback_v2         -74.0
    ========== ============================ ========

    Twitter's ``reply_engaged_by_author`` (75.0), ``report`` (-369.0) and
    ``video_playback50`` (0.005) have no counterpart among logged actions; they are recorded in
    ``docs/model.md``. Scores are then rescored as home-mixer does: the k-th post (0-based) of
    the same author in a feed is multiplied by (1 - floor) * decay^k + floor (decay 0.5, floor
    0.25), and out-of-network candidates by ``out_of_network_scale`` (0.75, OONTweetScalingScorer).
    """

    like: float = 0.5
    share: float = 1.0
    reply: float = 13.5
    follow: float = 12.0
    click: float = 11.0
    long_dwell: float = 10.0
    hide: float = -74.0
    author_diversity_decay: float = Field(0.5, ge=0, le=1)
    author_diversity_floor: float = Field(0.25, ge=0, le=1)
    out_of_network_scale: float = Field(0.75, ge=0)

    def weights(self) -> np.ndarray:
        """Weight of each logged action, in :data:`LOGGED_ACTIONS` order."""
        return np.array([getattr(self, a) for a in LOGGED_ACTIONS], dtype=np.float32)

    def score(self, context: RankContext) -> np.ndarray:
        """Weighted engagement score of every candidate, before diversity rescoring."""
        raw = context.predictions @ self.weights()
        return np.where(context.candidates.in_network, raw, raw * self.out_of_network_scale)

    def rank(self, context: RankContext, k: int, rng: np.random.Generator) -> IntArray:
        """Top ``k`` by weighted engagement, with the author-diversity discount.

        One compiled pass per row (:func:`~feedlab.platform.kernels.engagement_top_k`), equal to
        :meth:`score`, ``masked``, the discount and ``top_k`` in turn
        (:func:`engagement_top_k_reference`). The factor demotes whatever the sign: a negative score (expected hides outweigh
        the rest) is divided by it, not multiplied, or a repeated author would be promoted.
        """
        cands = context.candidates
        c = cands.slots.shape[1]
        top = (
            kernels.engagement_top_k_threaded
            if threaded(cands.slots.size)
            else kernels.engagement_top_k
        )
        scored, position = context.flat_predictions()
        return top(
            np.ascontiguousarray(scored, np.float32), position, self.weights(),
            cands.in_network, cands.valid, cands.slots, context.view.author,
            self.out_of_network_scale,
            np.power(self.author_diversity_decay, np.arange(max(c, 1), dtype=np.float64)),
            self.author_diversity_floor, k,
        )  # fmt: skip


def engagement_top_k_reference(ranker: Engagement, context: RankContext, k: int) -> IntArray:
    """NumPy reference of :meth:`Engagement.rank`: score, mask, discount repeats, sort."""
    scores = masked(ranker.score(context), context)
    authors = context.view.author[np.maximum(context.candidates.slots, 0)]
    occurrence = score_occurrence_reference(scores, authors)
    powers = np.power(ranker.author_diversity_decay, np.arange(max(scores.shape[-1], 1)))
    floor = ranker.author_diversity_floor
    factor = (1.0 - floor) * powers[occurrence] + floor
    scores = np.where(scores >= 0, scores * factor, scores / factor)
    return top_k_reference(np.where(np.isnan(scores), -np.inf, scores), k)


class Chronological(Params, IgnoresPredictions):
    """Reverse-chronological feed of followed accounts only (the "Following" tab).

    Out-of-network candidates are never shown, so feeds may hold fewer than ``k`` posts.
    """

    def rank(self, context: RankContext, k: int, rng: np.random.Generator) -> IntArray:
        """Newest in-network posts first (scores in one compiled pass, as the reference's)."""
        cands = context.candidates
        return top_k(
            kernels.in_network_created(cands.slots, cands.in_network, context.view.created), k
        )


def chronological_scores_reference(context: RankContext) -> np.ndarray:
    """NumPy reference of :meth:`Chronological.rank`'s scores: the creation tick, in-network."""
    slots = np.maximum(context.candidates.slots, 0)
    created = context.view.created[slots].astype(np.float64)
    scores = np.where(context.candidates.in_network, created, -np.inf)
    return masked(scores, context)


class Popularity(Params, FillsFeeds, IgnoresPredictions):
    """Most-engaged cascades first, whoever the viewer is (a non-personalized baseline)."""

    def rank(self, context: RankContext, k: int, rng: np.random.Generator) -> IntArray:
        """Highest logged engagement first."""
        return top_k(masked(context.popularity, context), k)


class Random(Params, FillsFeeds, IgnoresPredictions):
    """Uniformly random order of the candidates (the control of audits and Chaney et al.)."""

    def rank(self, context: RankContext, k: int, rng: np.random.Generator) -> IntArray:
        """A random permutation of the valid candidates."""
        scores = rng.random(context.candidates.slots.shape)
        return top_k(masked(scores, context), k)
