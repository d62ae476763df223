"""What people's actions do to others: cascades, approval and new follows.

Reshares grow cascades, likes reward authors and follows rewire the graph.

A reshare is a new post that copies the content of the post it reshares, keeps the cascade's root
and goes one hop deeper, so cascade size and depth are measured exactly as Vosoughi, Roy & Aral
(2018) define them on retweet trees.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from feedlab.behaviour import kernels as bk
from feedlab.behaviour.choice import Responses
from feedlab.behaviour.drift import Approval
from feedlab.core.arrays import IntArray, cells
from feedlab.world.posts import Posts

_COPIED = (
    "root",
    "root_author",
    "root_created",
    "topic_a",
    "topic_b",
    "topic_weight",
    "leaning",
    "slant",
    "outrage",
    "is_false",
    "novelty",
    "quality",
    "exclamations",
)


@dataclass(frozen=True, slots=True)
class SocialEffects:
    """Consequences of one tick's responses for other people."""

    reshares: dict[str, np.ndarray]  # fields for Posts.append, one entry per reshare
    approval: Approval
    follow_src: IntArray  # (n_new_follows,) who follows
    follow_dst: IntArray  # (n_new_follows,) whom


def social_effects(
    posts: Posts, persons: IntArray, feed: IntArray, responses: Responses, n_people: int
) -> SocialEffects:
    """Turn shares, likes and follows into reshares, approval and new edges.

    Also records cascade views, sizes and depths on the cascades' original posts (in place: the
    ring is the one mutable buffer of the world).
    """
    bk.count_live_views(responses.seen, feed, posts.id, posts.root, posts.cascade_views)

    s_rows, s_cols = cells(responses.share)
    shared = feed[s_rows, s_cols]
    reshares: dict[str, np.ndarray] = {name: getattr(posts, name)[shared] for name in _COPIED}
    reshares["author"] = persons[s_rows].astype(np.int32)
    reshares["depth"] = (posts.depth[shared] + 1).astype(np.int32)
    _record_on_roots(posts, posts.root[shared], posts.cascade_size, np.ones(shared.size))
    root_slots = posts.slots_of(posts.root[shared])
    live = posts.id[root_slots] == posts.root[shared]
    np.maximum.at(posts.cascade_depth, root_slots[live], reshares["depth"][live])

    # Approval: a like or a reshare rewards the original author (Lindström et al. 2021).
    rewarded = responses.like | responses.share
    l_rows, l_cols = cells(rewarded)
    liked = feed[l_rows, l_cols]
    authors = posts.root_author[liked].astype(np.int64)
    likes = np.bincount(authors, minlength=n_people).astype(np.float64)
    outrage_likes = np.bincount(authors, posts.outrage[liked] - 0.5, n_people)

    f_rows, f_cols = cells(responses.follow)
    follow_src = persons[f_rows].astype(np.int64)
    follow_dst = posts.root_author[feed[f_rows, f_cols]].astype(np.int64)
    return SocialEffects(
        reshares=reshares,
        approval=Approval(likes=likes, outrage_likes=outrage_likes.astype(np.float64)),
        follow_src=follow_src,
        follow_dst=follow_dst,
    )


def record_views_reference(posts: Posts, feed: IntArray, seen: np.ndarray) -> None:
    """NumPy reference of :func:`feedlab.behaviour.kernels.count_live_views` (in place)."""
    rows, cols = np.nonzero(seen)
    _record_on_roots(posts, posts.root[feed[rows, cols]], posts.cascade_views, np.ones(rows.size))


def _record_on_roots(
    posts: Posts, roots: np.ndarray, counter: np.ndarray, amounts: np.ndarray
) -> None:
    slots = posts.slots_of(roots)
    live = posts.id[slots] == roots
    np.add.at(counter, slots[live], amounts[live].astype(counter.dtype))
