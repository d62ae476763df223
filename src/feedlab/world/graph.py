"""The follow graph: who follows whom, in compressed sparse row form.

Follows are homophilous by leaning and by topic (McPherson et al. 2001; Cinelli et al. 2021 find
strongly homophilic clusters on Facebook and Twitter) and follower counts are heavy-tailed
(preferential attraction to a Pareto-distributed popularity; Barabási & Albert 1999).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from pydantic import Field

from feedlab.core.arrays import F64Array, FloatArray, I32Array, IntArray
from feedlab.core.kernels import merge_csr
from feedlab.core.params import Params

LEANING_BINS = np.array([-0.6, -0.2, 0.2, 0.6], dtype=np.float32)
"""Edges of the five leaning bands used for homophily: far left ... far right."""


class GraphParams(Params):
    """How the follow graph is drawn.

    Attributes:
        follows_mean: mean number of accounts a person follows.
        same_leaning: probability that a follow goes to someone in the same leaning band.
        same_topic: probability that a same-band follow also shares the favourite topic.
        popularity_tail: Pareto shape of account attractiveness (smaller = heavier tail).
    """

    follows_mean: float = Field(40.0, gt=0)
    same_leaning: float = Field(0.75, ge=0, le=1)
    same_topic: float = Field(0.5, ge=0, le=1)
    popularity_tail: float = Field(1.3, gt=0)


@dataclass(frozen=True, slots=True)
class FollowGraph:
    """Directed follows as two CSR indexes over the same edges.

    ``following`` row ``i`` lists the accounts ``i`` follows; ``followers`` row ``j`` lists the
    people who follow ``j``.
    """

    following_indptr: IntArray  # (n_people + 1,) int64
    following: I32Array  # (n_edges,) int32, followee of each edge, rows sorted
    followers_indptr: IntArray  # (n_people + 1,) int64
    followers: I32Array  # (n_edges,) int32, follower of each edge

    @property
    def n_people(self) -> int:
        """Number of people (rows)."""
        return int(self.following_indptr.shape[0] - 1)

    @property
    def n_edges(self) -> int:
        """Number of follow edges."""
        return int(self.following.shape[0])

    def follower_counts(self) -> IntArray:
        """Number of followers of each person, shape ``(n_people,)``."""
        return np.diff(self.followers_indptr)

    def following_counts(self) -> IntArray:
        """Number of accounts each person follows, shape ``(n_people,)``."""
        return np.diff(self.following_indptr)


def graph_from_edges(src: IntArray, dst: IntArray, n_people: int) -> FollowGraph:
    """Build a :class:`FollowGraph` from edge lists, dropping self-loops and duplicates."""
    keep = src != dst
    ones = np.ones(int(keep.sum()), dtype=np.int8)
    matrix = sp.csr_array((ones, (src[keep], dst[keep])), shape=(n_people, n_people))
    matrix.sum_duplicates()
    matrix.sort_indices()
    transposed = matrix.T.tocsr()
    transposed.sort_indices()
    return FollowGraph(
        following_indptr=matrix.indptr.astype(np.int64),
        following=matrix.indices.astype(np.int32),
        followers_indptr=transposed.indptr.astype(np.int64),
        followers=transposed.indices.astype(np.int32),
    )


def add_follows(graph: FollowGraph, src: IntArray, dst: IntArray) -> FollowGraph:
    """Return the graph with new follows ``src -> dst`` added (duplicates and self-follows ignored).

    Both indexes are merged with the new edges in one pass each (:func:`merge_csr`), which gives
    what rebuilding the graph from all its edges gives (:func:`add_follows_reference`).
    """
    if src.size == 0:
        return graph
    keep = src != dst
    src, dst = np.asarray(src, np.int64)[keep], np.asarray(dst, np.int64)[keep]
    following_indptr, following = merge_csr(graph.following_indptr, graph.following, src, dst)
    followers_indptr, followers = merge_csr(graph.followers_indptr, graph.followers, dst, src)
    return FollowGraph(
        following_indptr=following_indptr,
        following=following,
        followers_indptr=followers_indptr,
        followers=followers,
    )


def add_follows_reference(graph: FollowGraph, src: IntArray, dst: IntArray) -> FollowGraph:
    """Reference of :func:`add_follows`: rebuild the graph from its edges and the new ones."""
    if src.size == 0:
        return graph
    rows = np.repeat(np.arange(graph.n_people, dtype=np.int64), graph.following_counts())
    return graph_from_edges(
        np.concatenate([rows, src.astype(np.int64)]),
        np.concatenate([graph.following.astype(np.int64), dst.astype(np.int64)]),
        graph.n_people,
    )


def generate_graph(
    params: GraphParams,
    leaning: FloatArray,
    interest: FloatArray,
    rng: np.random.Generator,
) -> FollowGraph:
    """Draw a homophilous follow graph with heavy-tailed follower counts.

    Each follow picks a target group (same leaning band and favourite topic, same band, or
    everyone) and then a target within it with probability proportional to attractiveness.
    Groups are contiguous ranges of one sort order, so the draw is a single ``searchsorted``.

    Args:
        params: graph parameters.
        leaning: true leanings, shape ``(n_people,)``.
        interest: true topic affinities, shape ``(n_people, n_topics)``.
        rng: the ``world.graph`` stream.
    """
    n = leaning.shape[0]
    band = np.searchsorted(LEANING_BINS, leaning).astype(np.int64)
    topic = np.argmax(interest, axis=1).astype(np.int64)
    n_topics = interest.shape[1]
    group = band * n_topics + topic
    order = np.lexsort((topic, band))
    attractiveness: F64Array = np.asarray(rng.pareto(params.popularity_tail, n)) + 1.0
    cum = np.concatenate([[0.0], np.cumsum(attractiveness[order])])

    def ranges(keys: IntArray, n_keys: int) -> tuple[IntArray, IntArray]:
        counts = np.bincount(keys, minlength=n_keys)
        ends = np.cumsum(counts)
        return ends - counts, ends

    band_start, band_end = ranges(band, len(LEANING_BINS) + 1)
    group_start, group_end = ranges(group, (len(LEANING_BINS) + 1) * n_topics)

    degree = np.minimum(
        np.maximum(1, rng.lognormal(np.log(params.follows_mean) - 0.32, 0.8, n)), n - 1
    ).astype(np.int64)
    src = np.repeat(np.arange(n, dtype=np.int64), degree)
    choice = rng.random(src.size)
    same_band = choice < params.same_leaning
    same_group = same_band & (rng.random(src.size) < params.same_topic)
    lo = np.where(
        same_group, group_start[group[src]], np.where(same_band, band_start[band[src]], 0)
    )
    hi = np.where(same_group, group_end[group[src]], np.where(same_band, band_end[band[src]], n))
    u = rng.random(src.size)
    target_mass = cum[lo] + u * (cum[hi] - cum[lo])
    position = np.clip(np.searchsorted(cum, target_mass, side="right") - 1, lo, hi - 1)
    dst = order[position].astype(np.int64)
    return graph_from_edges(src, dst, n)
