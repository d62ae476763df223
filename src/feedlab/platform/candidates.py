"""Candidate sourcing: in-network inboxes, out-of-network topic pools and trending.

Like Twitter's 2023 pipeline (about half in-network, half out-of-network; home-mixer caps of 60
each), every session gets candidates from three sources, vectorized over all open sessions:

* **in-network**: a per-person inbox of recent posts and reshares by followed accounts, filled by
  fan-out on write (the home-timeline cache design);
* **out-of-network, by similarity**: the most engaging live posts of the person's two top
  *estimated* topics (a topic-level stand-in for SimClusters communities);
* **trending**: the posts with the highest engagement velocity (Hacker-News-style gravity).

Candidates are de-duplicated by cascade, against what the person has recently seen, and the
person's own posts are dropped. Fixed-width arrays pad with id 0 / slot -1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pydantic import Field

from feedlab.core.arrays import BoolArray, IntArray, U32Array
from feedlab.core.kernels import repeated_keys, ring_push
from feedlab.core.params import Params
from feedlab.platform.observe import FollowView, PostView


class CandidateParams(Params):
    """Sizes of the candidate sources.

    Attributes:
        inbox_size: in-network posts kept per person (newest win).
        seen_memory: recently seen cascades remembered per person, never shown again.
        topic_pool: out-of-network posts taken from each of a person's two top topics.
        trending: trending posts offered to everyone.
        out_of_network: whether out-of-network sources are used at all.
    """

    inbox_size: int = Field(32, ge=1, le=4096)
    seen_memory: int = Field(48, ge=1, le=4096)
    topic_pool: int = Field(6, ge=0, le=1024)
    trending: int = Field(6, ge=0, le=1024)
    out_of_network: bool = True


@dataclass(frozen=True, slots=True)
class Candidates:
    """Candidates for a batch of sessions; columns are padded with id 0 and slot -1."""

    persons: IntArray  # (n_sessions,)
    ids: U32Array  # (n_sessions, n_candidates) post ids, 0 = empty
    slots: IntArray  # (n_sessions, n_candidates) ring slots, -1 = empty
    in_network: BoolArray  # (n_sessions, n_candidates)

    @property
    def valid(self) -> BoolArray:
        """Which cells hold a candidate."""
        return self.slots >= 0


@dataclass(slots=True)
class Inboxes:
    """Per-person rings of post ids: ``inbox`` for in-network posts, ``seen`` for cascades shown.

    Ring buffers updated in place by :func:`push` (owned by the platform state).
    """

    inbox: U32Array  # (n_people, inbox_size) uint32 post ids, 0 = empty
    inbox_head: IntArray  # (n_people,) posts ever pushed
    seen: U32Array  # (n_people, seen_memory) uint32 root ids
    seen_head: IntArray  # (n_people,)


def empty_inboxes(n_people: int, params: CandidateParams) -> Inboxes:
    """Empty inboxes for ``n_people``."""
    return Inboxes(
        inbox=np.zeros((n_people, params.inbox_size), np.uint32),
        inbox_head=np.zeros(n_people, np.int64),
        seen=np.zeros((n_people, params.seen_memory), np.uint32),
        seen_head=np.zeros(n_people, np.int64),
    )


def push(ring: U32Array, head: IntArray, people: IntArray, ids: U32Array) -> None:
    """Append ``ids[i]`` to the ring row ``people[i]`` in order; the newest overwrite the oldest."""
    ring_push(ring, head, people, ids)


def fan_out(inboxes: Inboxes, follows: FollowView, authors: IntArray, ids: U32Array) -> None:
    """Push new posts into the inboxes of their authors' followers (fan-out on write)."""
    if authors.size == 0:
        return
    start = follows.followers_indptr[authors]
    counts = follows.followers_indptr[authors + 1] - start
    total = int(counts.sum())
    if total == 0:
        return
    offset = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
    recipients = follows.followers[np.repeat(start, counts) + offset].astype(np.int64)
    push(inboxes.inbox, inboxes.inbox_head, recipients, np.repeat(ids, counts))


@dataclass(frozen=True, slots=True)
class Pools:
    """Out-of-network pools, refreshed once per tick."""

    by_topic: U32Array  # (n_topics, topic_pool) post ids, 0 = empty
    trending: U32Array  # (trending,) post ids


def live_originals(view: PostView, tick: int, lifetime: int) -> IntArray:
    """Ring slots of the live original posts (not reshares), ascending."""
    return np.flatnonzero(
        (view.id != 0) & (view.depth == 0) & (view.root_created > tick - lifetime)
    )


def refresh_pools(
    view: PostView,
    live: IntArray,
    engagement: np.ndarray,
    impressions: np.ndarray,
    n_topics: int,
    params: CandidateParams,
    tick: int,
) -> Pools:
    """Pick each topic's most engaging live originals and the trending ones.

    Args:
        view: observable post columns.
        live: slots of the live originals (:func:`live_originals`).
        engagement: engagements logged on each of them, ``(len(live),)``.
        impressions: impressions logged on each of them, ``(len(live),)``.
        n_topics: number of topics.
        params: pool sizes.
        tick: current tick.
    """
    by_topic = np.zeros((n_topics, params.topic_pool), np.uint32)
    if live.size == 0:
        return Pools(by_topic=by_topic, trending=np.zeros(params.trending, np.uint32))
    rate = (engagement + 1.0) / (impressions + 10.0)
    # Tie-break by id so the order never depends on the sort algorithm.
    ids = view.id[live]
    topic = view.topic_a[live]
    order = np.lexsort((ids, -rate, topic))
    sorted_topic = topic[order]
    first = np.searchsorted(sorted_topic, np.arange(n_topics))
    last = np.searchsorted(sorted_topic, np.arange(n_topics), side="right")
    take = np.minimum(last - first, params.topic_pool)
    for t in range(n_topics):  # one iteration per topic, not per person
        by_topic[t, : take[t]] = ids[order[first[t] : first[t] + take[t]]]
    age = (tick - view.created[live]).astype(np.float64)
    velocity = engagement / np.power(age + 2.0, 1.5)
    top = np.lexsort((ids, -velocity))[: params.trending]
    trending = np.zeros(params.trending, np.uint32)
    trending[: top.size] = ids[top]
    return Pools(by_topic=by_topic, trending=trending)


def gather_candidates(
    persons: IntArray,
    inboxes: Inboxes,
    pools: Pools,
    top_topics: IntArray,
    view: PostView,
    params: CandidateParams,
    tick: int,
    lifetime: int,
) -> Candidates:
    """Candidates for every open session at once.

    Args:
        persons: who is in session, ``(n_sessions,)``.
        inboxes: in-network inboxes and seen memory.
        pools: out-of-network pools.
        top_topics: each session's two top estimated topics, ``(n_sessions, 2)``.
        view: observable post columns.
        params: source sizes.
        tick: current tick.
        lifetime: cascade lifetime in ticks.
    """
    n = persons.size
    parts = [inboxes.inbox[persons]]
    if params.out_of_network:
        parts.append(pools.by_topic[top_topics].reshape(n, 2 * pools.by_topic.shape[1]))
        parts.append(np.broadcast_to(pools.trending, (n, pools.trending.size)))
    ids = np.concatenate(parts, axis=1)
    in_network = np.zeros(ids.shape, bool)
    in_network[:, : params.inbox_size] = True

    ok = view.alive(ids, tick, lifetime)
    slots = view.slots_of(ids)
    # Never one's own posts, nor others' reshares of them.
    ok &= (view.author[slots] != persons[:, None]) & (view.root_author[slots] != persons[:, None])
    roots = np.where(ok, view.root[slots], 0)

    # A candidate is dropped when its cascade was seen recently or is offered earlier in the row.

    ok &= ~repeated_keys(inboxes.seen[persons], roots)
    return Candidates(
        persons=persons,
        ids=np.where(ok, ids, 0).astype(np.uint32),
        slots=np.where(ok, slots, -1),
        in_network=in_network & ok,
    )
