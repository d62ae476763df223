"""Candidate sourcing: in-network inboxes, out-of-network topic pools, trending, exploration.

Like Twitter's 2023 pipeline (about half in-network, half out-of-network; home-mixer caps of 60
each), every session gets candidates from three sources, vectorized over all open sessions:

* **in-network**: a per-person inbox of recent posts and reshares by followed accounts, filled by
  fan-out on write (the home-timeline cache design);
* **out-of-network, by similarity**: the most engaging live posts of the person's two top
  *estimated* topics (a topic-level stand-in for SimClusters communities);
* **trending**: the posts with the highest engagement velocity (Hacker-News-style gravity).

A fourth source is off by default: **exploration**, live originals drawn uniformly at random from
the whole society for each session (the exploration slots of production recommenders) by
:func:`draw_explore`, laid at the end of each row by :func:`gather_candidates`, which keeps them
by the same rules as every other candidate.

Candidates are de-duplicated by cascade, against what the person has recently seen, and the
person's own posts are dropped. Fixed-width arrays pad with id 0 / slot -1.

Each per-tick step has a compiled path and keeps its NumPy definition as ``*_reference``
(:func:`gather_candidates_reference`, :func:`refresh_pools_reference`,
:func:`live_originals_reference`); ``tests/unit/platform/test_platform_candidates.py`` checks
they agree exactly, as for the kernels of :mod:`feedlab.core.kernels`. Sourcing runs for every
open session every tick (about 2,400 sessions of 50 candidates at 10^4 people); the references'
whole-batch temporaries and their two full sorts of the live posts, of which only a few dozen
are kept, cost several times the compiled passes.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numba
import numpy as np
from pydantic import Field, model_validator

from feedlab.core.arrays import AnyArray, BoolArray, IntArray, U32Array
from feedlab.core.errors import ConfigError
from feedlab.core.kernels import (
    kernel_threads,
    probe,
    repeated_keys,
    ring_push,
    ring_push_csr,
    run_on_threads,
    smallest_per_group,
    table_bits,
    thread_blocks,
    threaded,
)
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
        explore: live original posts drawn uniformly at random from the whole society for each
            session (with replacement; repeats, seen cascades and the person's own posts are
            dropped, so up to this many are offered). An out-of-network source; 0 turns it off.
    """

    inbox_size: int = Field(32, ge=1, le=4096)
    seen_memory: int = Field(48, ge=1, le=4096)
    topic_pool: int = Field(6, ge=0, le=1024)
    trending: int = Field(6, ge=0, le=1024)
    out_of_network: bool = True
    explore: int = Field(0, ge=0, le=1024)

    @model_validator(mode="after")
    def _explore_is_out_of_network(self) -> CandidateParams:
        if self.explore > 0 and not self.out_of_network:
            message = f"platform.candidates.explore must be 0 when platform.candidates.out_of_network is false (exploration is an out-of-network source), got {self.explore}."
            raise ConfigError(message)
        return self


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
    """Push new posts into the inboxes of their authors' followers (fan-out on write).

    Post by post, each to its author's followers in the order the follow graph lists them
    (:func:`feedlab.core.kernels.ring_push_csr`). Followers already checked to be accounts
    (``follows.followers_checked``) are not checked again.
    """
    ring_push_csr(
        inboxes.inbox, inboxes.inbox_head, follows.followers_indptr, follows.followers, authors,
        ids, members_checked=follows.followers_checked and
        inboxes.inbox.shape[0] >= follows.n_people,
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Pools:
    """Out-of-network pools, refreshed once per tick."""

    by_topic: U32Array  # (n_topics, topic_pool) post ids, 0 = empty
    trending: U32Array  # (trending,) post ids


@numba.njit(cache=True)
def _live_originals(
    post_id: AnyArray, depth: AnyArray, root_created: AnyArray, oldest: int
) -> IntArray:
    """One pass over the ring, keeping the slots that pass the reference's three tests."""
    out = np.empty(post_id.size, np.int64)
    m = 0
    for s in range(post_id.size):
        if post_id[s] != 0 and depth[s] == 0 and root_created[s] > oldest:
            out[m] = s
            m += 1
    return out[:m].copy()


def live_originals_reference(view: PostView, tick: int, lifetime: int) -> IntArray:
    """NumPy reference of :func:`live_originals`."""
    return np.flatnonzero(
        (view.id != 0) & (view.depth == 0) & (view.root_created > tick - lifetime)
    )


def live_originals(view: PostView, tick: int, lifetime: int) -> IntArray:
    """Ring slots of the live original posts (not reshares), ascending."""
    return _live_originals(view.id, view.depth, view.root_created, tick - lifetime)


def refresh_pools_reference(
    view: PostView,
    live: IntArray,
    engagement: np.ndarray,
    impressions: np.ndarray,
    n_topics: int,
    params: CandidateParams,
    tick: int,
) -> Pools:
    """NumPy reference of :func:`refresh_pools`: two full lexsorts of the live posts."""
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

    Posts are ranked by engagement rate within their topic and by velocity for trending,
    equal scores by id, so the pools never depend on the order of the ring; only the few
    best of each are selected (:func:`feedlab.core.kernels.smallest_per_group`), exactly as
    the full sorts of :func:`refresh_pools_reference` pick them.

    Args:
        view: observable post columns.
        live: slots of the live originals (:func:`live_originals`).
        engagement: engagements logged on each of them, ``(len(live),)``.
        impressions: impressions logged on each of them, ``(len(live),)``.
        n_topics: number of topics.
        params: pool sizes.
        tick: current tick.
    """
    if live.size == 0:
        return Pools(
            by_topic=np.zeros((n_topics, params.topic_pool), np.uint32),
            trending=np.zeros(params.trending, np.uint32),
        )
    rate = (engagement + 1.0) / (impressions + 10.0)
    ids = view.id[live]
    best = smallest_per_group(view.topic_a[live], -rate, ids, n_topics, params.topic_pool)
    age = (tick - view.created[live]).astype(np.float64)
    velocity = engagement / np.power(age + 2.0, 1.5)
    everyone = np.zeros(live.size, np.int64)
    top = smallest_per_group(everyone, -velocity, ids, 1, params.trending)[0]
    return Pools(
        by_topic=np.where(best >= 0, ids[best], 0).astype(np.uint32),
        trending=np.where(top >= 0, ids[top], 0).astype(np.uint32),
    )


def gather_candidates_reference(
    persons: IntArray,
    inboxes: Inboxes,
    pools: Pools,
    top_topics: IntArray,
    view: PostView,
    params: CandidateParams,
    tick: int,
    lifetime: int,
    explore: U32Array | None = None,
) -> Candidates:
    """NumPy reference of :func:`gather_candidates`: whole-batch gathers and masks.

    Args:
        persons: who is in session, ``(n_sessions,)``.
        inboxes: in-network inboxes and seen memory.
        pools: out-of-network pools.
        top_topics: each session's two top estimated topics, ``(n_sessions, 2)``.
        view: observable post columns.
        params: source sizes.
        tick: current tick.
        lifetime: cascade lifetime in ticks.
        explore: exploration draws per session, ``(n_sessions, n_explore)``, or None.
    """
    n = persons.size
    parts = [inboxes.inbox[persons]]
    if params.out_of_network:
        parts.append(pools.by_topic[top_topics].reshape(n, 2 * pools.by_topic.shape[1]))
        parts.append(np.broadcast_to(pools.trending, (n, pools.trending.size)))
    if explore is not None:
        parts.append(explore)
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


@numba.njit(cache=True, inline="always")
def _row_width(
    inbox: AnyArray, by_topic: AnyArray, trending: AnyArray, explore: AnyArray, out_of_network: bool
) -> tuple[int, int]:
    """Columns of a candidate row: (before the exploration draws, in all)."""
    width = inbox.shape[1]
    sourced = width + 2 * by_topic.shape[1] + trending.size if out_of_network else width
    return sourced, sourced + explore.shape[1]


@numba.njit(cache=True)
def _check_rows(
    persons: AnyArray,
    n_people: int,
    n_seen_rows: int,
    top_topics: AnyArray,
    n_topics: int,
    out_of_network: bool,
) -> None:
    """Raise IndexError for a person or top topic outside the inboxes, seen memory or pools."""
    for i in range(persons.size):  # compiled code does not check bounds; NumPy would raise
        if persons[i] < 0 or persons[i] >= n_people or persons[i] >= n_seen_rows:
            raise IndexError("gather_candidates: a person is outside the inboxes")
        if out_of_network:
            for t in range(2):
                if top_topics[i, t] < 0 or top_topics[i, t] >= n_topics:
                    raise IndexError("gather_candidates: a topic is outside the pools")


def _gather_in_blocks(
    persons: AnyArray,
    inbox: AnyArray,
    by_topic: AnyArray,
    top_topics: AnyArray,
    trending: AnyArray,
    explore: AnyArray,
    out_of_network: bool,
    n_in_network: int,
    capacity: int,
    post_id: AnyArray,
    author: AnyArray,
    root: AnyArray,
    root_author: AnyArray,
    root_created: AnyArray,
    oldest: int,
    seen: AnyArray,
    on_threads: bool,
) -> tuple[AnyArray, IntArray, BoolArray]:
    """Check the rows, then fill the candidates in one block, or one per kernel thread."""
    n = persons.size
    _check_rows(persons, inbox.shape[0], seen.shape[0], top_topics, by_topic.shape[0],
                out_of_network)  # fmt: skip
    c = _row_width(inbox, by_topic, trending, explore, out_of_network)[1]
    ids = np.empty((n, c), np.uint32)
    slots = np.empty((n, c), np.int64)
    in_network = np.empty((n, c), np.bool_)
    run_on_threads(
        [
            functools.partial(
                _gather_rows, persons[lo:hi], inbox, by_topic, top_topics[lo:hi], trending,
                explore[lo:hi], out_of_network, n_in_network, capacity, post_id, author, root,
                root_author, root_created, oldest, seen, ids[lo:hi], slots[lo:hi],
                in_network[lo:hi],
            )
            for lo, hi in thread_blocks(n, kernel_threads() if on_threads else 1)
        ]
    )  # fmt: skip
    return ids, slots, in_network


_gather = functools.partial(_gather_in_blocks, on_threads=False)
"""Per session: lay out the row's sources (draws last), keep each live, foreign, unseen one."""

_gather_threaded = functools.partial(_gather_in_blocks, on_threads=True)
""":func:`_gather` in blocks of sessions on the kernel threads (rows checked before they start)."""


@numba.njit(cache=True, nogil=True)
def _gather_rows(
    persons: AnyArray,
    inbox: AnyArray,
    by_topic: AnyArray,
    top_topics: AnyArray,
    trending: AnyArray,
    explore: AnyArray,
    out_of_network: bool,
    n_in_network: int,
    capacity: int,
    post_id: AnyArray,
    author: AnyArray,
    root: AnyArray,
    root_author: AnyArray,
    root_created: AnyArray,
    oldest: int,
    seen: AnyArray,
    ids: AnyArray,
    slots: AnyArray,
    in_network: AnyArray,
) -> None:
    """The rows of :func:`_gather` into ``ids``, ``slots`` and ``in_network``, rows checked."""
    n = persons.size
    width = inbox.shape[1]
    pool = by_topic.shape[1]
    sourced, c = _row_width(inbox, by_topic, trending, explore, out_of_network)
    ids[:] = 0
    slots[:] = -1
    in_network[:] = False
    row = np.empty(c, np.uint32)
    mask = np.uint32(capacity - 1)
    n_seen = seen.shape[1]
    bits = table_bits(n_seen + c)
    size = 1 << bits
    table_mask = size - 1
    shift = np.uint64(64 - bits)
    table = np.empty(size, np.int64)  # root 0 is never stored, so 0 marks an empty slot
    for i in range(n):
        p = persons[i]
        row[:width] = inbox[p]
        if out_of_network:
            row[width : width + pool] = by_topic[top_topics[i, 0]]
            row[width + pool : width + 2 * pool] = by_topic[top_topics[i, 1]]
            row[width + 2 * pool : sourced] = trending
        row[sourced:] = explore[i]
        table[:] = 0
        for j in range(n_seen):
            key = np.int64(seen[p, j])
            if key != 0:
                table[probe(table, key, shift, table_mask)] = key
        for j in range(c):
            candidate = row[j]
            if candidate == 0:
                continue
            s = np.int64(candidate & mask)
            if post_id[s] != candidate or root_created[s] <= oldest:
                continue  # not live
            if author[s] == p or root_author[s] == p:
                continue
            key = np.int64(root[s])
            if key != 0:
                h = probe(table, key, shift, table_mask)
                if table[h] == key:
                    continue  # seen recently, or offered earlier in the row
                table[h] = key
            ids[i, j] = candidate
            slots[i, j] = s
            in_network[i, j] = j < n_in_network


def gather_candidates(
    persons: IntArray,
    inboxes: Inboxes,
    pools: Pools,
    top_topics: IntArray,
    view: PostView,
    params: CandidateParams,
    tick: int,
    lifetime: int,
    explore: U32Array | None = None,
) -> Candidates:
    """Candidates for every open session at once.

    A session's row is its inbox, then the pools of its two top topics, then trending, then the
    session's exploration draws (``explore``, ``(n_sessions, n_explore)`` from
    :func:`draw_explore`), if any. A
    candidate is kept when it names a live post, neither the post nor the cascade it reshares is
    the person's own, and its cascade was neither seen recently nor offered earlier in the row.
    One compiled pass per row gives exactly what :func:`gather_candidates_reference` gives.

    Args:
        persons: who is in session, ``(n_sessions,)``.
        inboxes: in-network inboxes and seen memory.
        pools: out-of-network pools.
        top_topics: each session's two top estimated topics, ``(n_sessions, 2)``.
        view: observable post columns.
        params: source sizes.
        tick: current tick.
        lifetime: cascade lifetime in ticks.
        explore: exploration draws per session, ``(n_sessions, n_explore)``, or None.

    Raises:
        IndexError: if a person has no inbox or a top topic has no pool.
        ValueError: if ``explore`` does not have one row per session.
    """
    if explore is None:
        explore = np.zeros((persons.size, 0), np.uint32)
    elif explore.ndim != 2 or explore.shape[0] != persons.size:
        message = f"gather_candidates: explore has shape {explore.shape}, expected ({persons.size}, n_explore)."
        raise ValueError(message)
    gather = _gather_threaded if threaded(persons.size * inboxes.inbox.shape[1]) else _gather
    ids, slots, in_network = gather(
        persons,
        inboxes.inbox,
        pools.by_topic,
        top_topics,
        pools.trending,
        np.ascontiguousarray(explore, np.uint32),
        params.out_of_network,
        params.inbox_size,
        view.capacity,
        view.id,
        view.author,
        view.root,
        view.root_author,
        view.root_created,
        tick - lifetime,
        inboxes.seen,
    )
    return Candidates(persons=persons, ids=ids, slots=slots, in_network=in_network)


# --- exploration: random live posts from the whole society ------------------------------------


def draw_explore(
    view: PostView, live: IntArray, n_sessions: int, size: int, rng: np.random.Generator
) -> U32Array:
    """Ids of live originals drawn uniformly, with replacement, for every session at once.

    Args:
        view: observable post columns.
        live: slots of the live originals (:func:`live_originals`).
        n_sessions: number of sessions.
        size: draws per session (``CandidateParams.explore``).
        rng: the platform's exploration stream (``platform.explore``) for this tick.

    Returns:
        ``(n_sessions, size)`` uint32 post ids; all 0 when no post is live (nothing is drawn).
    """
    if live.size == 0 or size == 0:
        return np.zeros((n_sessions, size), np.uint32)
    return view.id[live[rng.integers(0, live.size, (n_sessions, size))]].astype(np.uint32)
