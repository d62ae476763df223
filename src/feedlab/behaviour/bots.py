"""What coordinated bots do each tick: post on a schedule and amplify a shared campaign.

Bots post divisive (and partly false) content of their side on a fixed schedule, and every bot of
a side reshares the same few posts within the hour they appear - the network's newest posts and
the most divisive (or false) human posts of that side. Co-resharing the same content at the same
time is the signature of coordinated inauthentic behaviour (Pacheco et al. 2021; Giglietto et
al. 2020, "coordinated link sharing"). Bots do not scroll feeds: they have no sessions.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtri

from feedlab.behaviour.creation import original_fields, poisson_quantile
from feedlab.behaviour.social import _COPIED as COPIED_FIELDS  # the fields a reshare copies
from feedlab.core.arrays import BoolArray, FloatArray, IntArray, U32Array
from feedlab.core.random import PEOPLE_BOTS, Streams
from feedlab.world.bots import AdversaryParams, Bots
from feedlab.world.people import People
from feedlab.world.posts import Posts

_DIVISIVE_OUTRAGE = 0.6
"""Outrage from which a human post serves a ``divisive`` campaign."""


def _normal(u: FloatArray) -> FloatArray:
    return ndtri(np.clip(u, 1e-12, 1 - 1e-12)).astype(np.float32)


def scheduled_counts(bots: Bots, posts_per_day: float, tick: int, tick_hours: float) -> IntArray:
    """Posts each bot writes this tick: ``posts_per_day`` spread evenly, offset by its phase."""
    rate = posts_per_day * tick_hours / 24.0
    return (np.floor((tick + 1) * rate + bots.phase) - np.floor(tick * rate + bots.phase)).astype(
        np.int64
    )


def bot_originals(
    bots: Bots,
    active: BoolArray,
    params: AdversaryParams,
    people: People,
    slant_noise: float,
    tick: int,
    tick_hours: float,
    streams: Streams,
) -> dict[str, np.ndarray]:
    """The original posts the active bots write this tick, as fields for ``Posts.append``.

    Args:
        bots: the network.
        active: which bots still have an account, ``(n_bots,)``.
        params: the network's settings.
        people: everyone (a bot writes on its account's favourite topics).
        slant_noise: s.d. of the platform's text classifier of slant.
        tick: current tick.
        tick_hours: hours per tick.
        streams: random streams (``people.bots``).
    """
    counts = scheduled_counts(bots, params.posts_per_day, tick, tick_hours) * active
    which = np.repeat(np.arange(bots.n_bots), counts)
    n = which.size
    author = bots.ids[which]
    if n == 0:
        return {"author": np.zeros(0, np.int32)}
    index = np.arange(n) - np.repeat(np.cumsum(counts) - counts, counts)
    u = streams.uniform(PEOPLE_BOTS, tick, author[:, None], index[:, None], np.arange(9))
    cum = np.cumsum(people.interest[author], axis=1)
    cum /= cum[:, -1:]
    last = people.n_topics - 1
    topic_a = np.minimum((cum < u[:, 0:1]).sum(axis=1), last).astype(np.int32)
    topic_b = np.minimum((cum < u[:, 1:2]).sum(axis=1), last).astype(np.int32)
    side = bots.side[which]
    leaning = side * np.clip(0.85 + 0.1 * _normal(u[:, 2]), 0, 1)
    outrage = np.clip(params.outrage + 0.1 * _normal(u[:, 3]), 0, 1)
    is_false = u[:, 4] < params.false_share
    novelty = np.clip(0.5 + 0.15 * _normal(u[:, 5]) + 0.3 * is_false, 0, 1)
    quality = np.clip(0.35 + 0.1 * _normal(u[:, 6]), 0, 1)
    exclamations = poisson_quantile(u[:, 7], 0.5 + 3.0 * outrage)
    slant = np.clip(leaning + slant_noise * _normal(u[:, 8]), -1, 1)
    return original_fields(
        author, topic_a, topic_b, np.full(author.size, 0.8), leaning, slant, outrage,
        is_false, novelty, quality, exclamations,
    )  # fmt: skip


def campaign(bots: Bots, params: AdversaryParams, posts: Posts, side: float, tick: int) -> U32Array:
    """Ids of the posts one side's network amplifies this tick.

    The newest ``campaign_size`` bot originals of that side written last tick, plus the
    ``campaign_size`` most outrageous (``divisive``) or any false (``false``) human originals of
    that side written last tick.
    """
    recent = np.flatnonzero((posts.id != 0) & (posts.depth == 0) & (posts.created == tick - 1))
    recent = recent[(posts.leaning[recent] >= 0) == (side > 0)]
    by_bot = bots.is_bot[posts.author[recent]]
    mine = recent[by_bot]
    mine = mine[np.lexsort((posts.id[mine],))][::-1][: params.campaign_size]
    human = recent[~by_bot]
    if params.strategy == "divisive":
        human = human[posts.outrage[human] >= _DIVISIVE_OUTRAGE]
        key = -posts.outrage[human]
    else:
        human = human[posts.is_false[human]]
        key = -posts.novelty[human]
    human = human[np.lexsort((posts.id[human], key))][: params.campaign_size]
    return posts.id[np.concatenate([mine, human])]


def bot_reshares(
    bots: Bots,
    active: BoolArray,
    params: AdversaryParams,
    posts: Posts,
    tick: int,
    streams: Streams,
) -> dict[str, np.ndarray]:
    """Reshares by the active bots of their side's campaign, as fields for ``Posts.append``.

    Each (bot, campaign post) pair reshares with ``reshare_probability``; a bot never reshares
    its own post. A campaign post is amplified only in the tick after it appears, so each pair
    decides once.
    """
    authors, shared = [], []
    for side in (1.0, -1.0):  # two sides, not one iteration per bot
        ids = campaign(bots, params, posts, side, tick)
        members = np.flatnonzero((bots.side == side) & active)
        if ids.size == 0 or members.size == 0:
            continue
        u = streams.uniform(PEOPLE_BOTS, 0, bots.ids[members][:, None], ids.astype(np.int64))
        slots = posts.slots_of(ids)
        go = (u < params.reshare_probability) & (
            posts.author[slots][None, :] != bots.ids[members][:, None]
        )
        rows, cols = np.nonzero(go)
        authors.append(bots.ids[members][rows])
        shared.append(slots[cols])
    if not authors:
        return {"author": np.zeros(0, np.int32)}
    return reshare_fields(posts, np.concatenate(shared), np.concatenate(authors))


def reshare_fields(posts: Posts, slots: IntArray, authors: IntArray) -> dict[str, np.ndarray]:
    """Fields of reshares of the posts in ``slots`` by ``authors`` (one hop deeper)."""
    fields: dict[str, np.ndarray] = {name: getattr(posts, name)[slots] for name in COPIED_FIELDS}
    fields["author"] = authors.astype(np.int32)
    fields["depth"] = (posts.depth[slots] + 1).astype(np.int32)
    return fields


def record_reshares(posts: Posts, fields: dict[str, np.ndarray]) -> None:
    """Grow the size and depth of the cascades reshared (in place, as ``social_effects`` does)."""
    if fields["author"].size == 0:
        return
    roots = fields["root"]
    slots = posts.slots_of(roots)
    live = posts.id[slots] == roots
    np.add.at(posts.cascade_size, slots[live], 1)
    np.maximum.at(posts.cascade_depth, slots[live], fields["depth"][live])


def select(fields: dict[str, np.ndarray], keep: BoolArray) -> dict[str, np.ndarray]:
    """The posts of ``fields`` where ``keep`` holds."""
    return {name: values[keep] for name, values in fields.items()}
