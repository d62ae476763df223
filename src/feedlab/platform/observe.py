"""The only bridge from the world to the platform: what a real platform could log.

The platform sees the text-level features of posts (author, time, topics, the slant a text
classifier reads, punctuation), the follow graph, who opened the app and, per impression, the
dwell and the explicit actions. It never sees a person's leaning, interests, susceptibility,
well-being, nor whether a post is false, how outrageous it truly is, or its quality.
Every other platform module imports only from here (enforced by an import-linter contract).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from feedlab.behaviour.choice import ACTIONS, Responses
from feedlab.behaviour.controls import Controls
from feedlab.core.arrays import BoolArray, FloatArray, I32Array, IntArray, U32Array
from feedlab.world.graph import FollowGraph
from feedlab.world.posts import Posts

LOGGED_ACTIONS = (*ACTIONS, "long_dwell")
"""Actions the platform logs per impression; ``long_dwell`` is dwell of at least a minute."""
LONG_DWELL_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class PostView:
    """Observable columns of the post ring (read-only views, no ground truth).

    Rows are ring slots; an id names a live post only while ``id[slot] == id``.
    """

    id: U32Array
    author: I32Array
    created: I32Array
    root: U32Array
    root_author: I32Array
    root_created: I32Array
    depth: I32Array
    topic_a: I32Array
    topic_b: I32Array
    topic_weight: FloatArray
    slant: FloatArray
    exclamations: I32Array
    capacity: int

    def slots_of(self, ids: U32Array) -> IntArray:
        """Ring slots of ``ids``."""
        return (ids & np.uint32(self.capacity - 1)).astype(np.int64)

    def alive(self, ids: U32Array, tick: int, lifetime: int) -> BoolArray:
        """Whether each id names a post whose cascade is live at ``tick``."""
        slots = self.slots_of(ids)
        return (ids != 0) & (self.id[slots] == ids) & (self.root_created[slots] > tick - lifetime)


@dataclass(frozen=True, slots=True)
class FollowView:
    """The follow graph as the platform stores it (it is the platform's own data)."""

    following_indptr: IntArray
    following: I32Array
    followers_indptr: IntArray
    followers: I32Array
    followers_checked: bool = False  # every follower is known to be an account (one check)

    @property
    def n_people(self) -> int:
        """Number of accounts."""
        return int(self.following_indptr.shape[0] - 1)


@dataclass(frozen=True, slots=True)
class ImpressionLog:
    """One tick of logged sessions: what each person was shown and what they did.

    Arrays have shape ``(n_sessions, feed_size)`` unless stated.
    """

    tick: int
    persons: IntArray  # (n_sessions,) who opened the app
    post_ids: U32Array  # ids shown, 0 = empty slot
    seen: BoolArray  # the slot was scrolled to (an impression)
    dwell_seconds: FloatArray  # measured dwell, 0.1 s resolution
    actions: BoolArray  # (n_sessions, feed_size, len(LOGGED_ACTIONS)) explicit actions

    @property
    def n_impressions(self) -> int:
        """Number of impressions logged."""
        return int(self.seen.sum())


def observe_posts(posts: Posts) -> PostView:
    """The observable columns of the post ring."""
    return PostView(
        id=posts.id,
        author=posts.author,
        created=posts.created,
        root=posts.root,
        root_author=posts.root_author,
        root_created=posts.root_created,
        depth=posts.depth,
        topic_a=posts.topic_a,
        topic_b=posts.topic_b,
        topic_weight=posts.topic_weight,
        slant=posts.slant,
        exclamations=posts.exclamations,
        capacity=posts.capacity,
    )


def observe_follows(graph: FollowGraph) -> FollowView:
    """The follow graph as the platform stores it, its followers checked once to be accounts.

    The check (one pass over the edges, when the graph changes: once a day) spares the fan-out
    of posts a check of every follower list it pushes to, every tick.
    """
    followers = graph.followers
    checked = followers.size == 0 or bool(followers.min() >= 0 and followers.max() < graph.n_people)
    return FollowView(
        following_indptr=graph.following_indptr,
        following=graph.following,
        followers_indptr=graph.followers_indptr,
        followers=followers,
        followers_checked=checked,
    )


def observe_impressions(
    tick: int, persons: IntArray, post_ids: U32Array, responses: Responses
) -> ImpressionLog:
    """Log a tick's sessions: only impressions, measured dwell and explicit actions."""
    dwell = np.round(responses.dwell_seconds, 1).astype(np.float32)
    actions = np.stack(
        [responses.action(name) for name in ACTIONS] + [dwell >= LONG_DWELL_SECONDS], axis=-1
    )
    return ImpressionLog(
        tick=tick,
        persons=persons,
        post_ids=np.where(responses.seen, post_ids, 0).astype(np.uint32),
        seen=responses.seen,
        dwell_seconds=dwell,
        actions=actions,
    )


@dataclass(frozen=True, slots=True)
class SurveyLog:
    """Answers to the platform's "was this post worth your time?" survey this tick.

    The platform chose whom to ask and about which post they saw; it records the answer, never
    the reasons behind it.
    """

    tick: int
    rows: IntArray  # (m,) session row of each respondent in the tick's log
    cols: IntArray  # (m,) feed slot asked about
    persons: IntArray  # (m,) respondents
    post_ids: U32Array  # (m,) the post asked about
    worth: FloatArray  # (m,) 1 = worth my time, 0 = not


def observe_survey(
    tick: int,
    rows: IntArray,
    cols: IntArray,
    persons: IntArray,
    post_ids: U32Array,
    worth: FloatArray,
) -> SurveyLog:
    """Log survey answers: who was asked about which post, and what they answered."""
    return SurveyLog(
        tick=tick,
        rows=rows,
        cols=cols,
        persons=persons,
        post_ids=post_ids.astype(np.uint32),
        worth=worth.astype(np.float32),
    )


@dataclass(frozen=True, slots=True)
class UserControls:
    """Each person's feed settings, as the platform stores them (its own settings data)."""

    topic_weight: FloatArray  # (n_people, n_topics) in [0, 1]; all 1 = no preference
    in_network_only: BoolArray  # (n_people,)
    no_outrage: BoolArray  # (n_people,)


def observe_controls(controls: Controls) -> UserControls:
    """The settings people chose, as the platform reads them."""
    return UserControls(
        topic_weight=controls.topic_weight,
        in_network_only=controls.in_network_only,
        no_outrage=controls.no_outrage,
    )


# --- fact-checks: the only way the platform learns a post's veracity (docs/interventions.md) ---


@dataclass(frozen=True, slots=True)
class Verdicts:
    """Verdicts of fact-checkers or reviewers on cascades, as the platform receives them.

    The platform learns that a post is false only here, and only for the cascades that were
    checked and caught; it never reads the post's truth itself.
    """

    root_ids: U32Array  # (n,) cascades reviewed
    rated_false: BoolArray  # (n,) rated false


def observe_verdicts(root_ids: U32Array, rated_false: BoolArray) -> Verdicts:
    """Hand the fact-checkers' verdicts to the platform."""
    return Verdicts(
        root_ids=np.asarray(root_ids, np.uint32), rated_false=np.asarray(rated_false, bool)
    )
