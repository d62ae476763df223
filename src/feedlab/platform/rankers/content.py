"""Content filtering as in T-RECS: the person's estimated topic profile dotted with the post's topics.

T-RECS (Lucherini, Sun, Winecoff & Narayanan 2021, "T-RECS: A Simulation Tool to Study the
Societal Impact of Recommender Systems", arXiv:2107.08959) ships ``ContentFiltering``: every user
has a learned profile over ``num_attributes`` item attributes, every item an attribute vector, and
a user is recommended the items with the highest profile-item dot product. Here the attributes are
feedlab's topics, the user profile is the platform's *estimated* topic affinity
(:meth:`PersonModel.estimated_interest`, learned from logged engagements) and the item vector is
the post's observable topic mix (``topic_weight`` on ``topic_a``, the rest on ``topic_b``).
"""

from __future__ import annotations

import numpy as np

from feedlab.core.arrays import F64Array, IntArray
from feedlab.core.kernels import threaded
from feedlab.core.params import Params
from feedlab.platform import kernels
from feedlab.platform.rankers.base import (
    FillsFeeds,
    IgnoresPredictions,
    RankContext,
    masked,
    top_k,
)


class ContentFiltering(Params, FillsFeeds, IgnoresPredictions):
    """Rank by estimated topic affinity x the post's topic mix (T-RECS' ``ContentFiltering``).

    ``score = w * interest[topic_a] + (1 - w) * interest[topic_b]`` where ``interest`` is the
    person's estimated topic affinity (max 1) and ``w`` the post's ``topic_weight``: the dot
    product of the profile with the post's two-topic attribute vector. Ties go to the lower
    candidate column. With no digital model in the context every topic counts the same, so the
    order is the candidate order (in-network newest first, then out-of-network).
    """

    def score(self, context: RankContext) -> F64Array:
        """Profile-item dot product of every candidate, ``(n_sessions, n_candidates)``."""
        cands = context.candidates
        slots = np.maximum(cands.slots, 0)
        view = context.view
        w = view.topic_weight[slots].astype(np.float64)
        if context.model is None:
            return np.ones(slots.shape)
        interest = context.model.estimated_interest(cands.persons)  # (n, n_topics)
        rows = np.arange(cands.persons.size)[:, None]
        a = interest[rows, view.topic_a[slots]]
        b = interest[rows, view.topic_b[slots]]
        return np.asarray(w * a + (1.0 - w) * b, dtype=np.float64)

    def rank(self, context: RankContext, k: int, rng: np.random.Generator) -> IntArray:
        """Highest estimated topic match first, in one compiled pass per row.

        Equal to ``top_k(masked(self.score(context), context), k)`` (:meth:`rank_reference`).
        """
        if context.model is None:
            return self.rank_reference(context, k)
        cands, view = context.candidates, context.view
        top = (
            kernels.topic_match_top_k_threaded
            if threaded(cands.slots.size)
            else kernels.topic_match_top_k
        )
        return top(
            context.model.estimated_interest(cands.persons),
            view.topic_weight, view.topic_a, view.topic_b, cands.slots, k,
        )  # fmt: skip

    def rank_reference(self, context: RankContext, k: int) -> IntArray:
        """NumPy reference of :meth:`rank`: score every cell, mask, sort."""
        return top_k(masked(self.score(context), context), k)
