"""Coordinated inauthentic accounts: which accounts are bots, whom they target, whom they follow.

A bot network takes over ``n_bots`` accounts of the society (bought or hijacked accounts keep
their followers, as in the Internet Research Agency operations; DiResta et al. 2018). Which
accounts are bots is ground truth: the platform never reads it and learns of bots only through
its own detector (``platform.interventions``). Each bot works for one side of the leaning axis
(both sides by default: the IRA targeted both, Linvill & Warren 2020), follows people of that
side and gains followers back (Boshmaf et al. 2011 found most social-bot requests accepted;
the default rate here is far lower).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydantic import Field

from feedlab.core.arrays import BoolArray, FloatArray, IntArray
from feedlab.core.params import Params
from feedlab.core.random import WORLD_BOTS, Streams


class AdversaryParams(Params):
    """A network of coordinated bots (none by default).

    Attributes:
        n_bots: accounts taken over by the network.
        side: which side the bots push: ``both`` (half each), ``left`` or ``right``.
        strategy: what the bots amplify besides each other's posts: ``divisive`` (outrageous
            human posts of their side) or ``false`` (false human posts of their side).
        posts_per_day: original posts per bot per day, on a fixed schedule.
        outrage: outrage of the bots' own posts in [0, 1].
        false_share: share of the bots' own posts that are false.
        campaign_size: posts each side's network amplifies each tick (the newest bot posts and
            the most matching human posts).
        reshare_probability: chance that a bot reshares each campaign post in a tick.
        follows_per_bot: people of the bot's side each bot follows at the start.
        follow_back: chance that a followed person follows the bot back.
    """

    n_bots: int = Field(0, ge=0, le=1_000_000)
    side: Literal["both", "left", "right"] = "both"
    strategy: Literal["divisive", "false"] = "divisive"
    posts_per_day: float = Field(12.0, ge=0, le=1440)
    outrage: float = Field(0.85, ge=0, le=1)
    false_share: float = Field(0.3, ge=0, le=1)
    campaign_size: int = Field(4, ge=0, le=256)
    reshare_probability: float = Field(0.5, ge=0, le=1)
    follows_per_bot: int = Field(50, ge=0, le=100_000)
    follow_back: float = Field(0.1, ge=0, le=1)


@dataclass(frozen=True, slots=True)
class Bots:
    """Ground truth about the bot network."""

    ids: IntArray  # (n_bots,) int64 account rows, sorted
    side: FloatArray  # (n_bots,) float32, +1 or -1: the side each bot pushes
    is_bot: BoolArray  # (n_people,) bool
    phase: FloatArray  # (n_bots,) float64 in [0, 1), offset of each bot's posting schedule

    @property
    def n_bots(self) -> int:
        """Number of bots."""
        return int(self.ids.size)


def no_bots(n_people: int) -> Bots:
    """A society without bots."""
    return Bots(
        ids=np.zeros(0, np.int64),
        side=np.zeros(0, np.float32),
        is_bot=np.zeros(n_people, bool),
        phase=np.zeros(0),
    )


def choose_bots(params: AdversaryParams, leaning: FloatArray, streams: Streams) -> Bots:
    """Pick the bot accounts and their sides from the ``world.bots`` stream (at most everyone)."""
    n_people = leaning.size
    if params.n_bots == 0:
        return no_bots(n_people)
    rng = streams.rng(WORLD_BOTS, 0)
    ids = np.sort(rng.choice(n_people, size=min(params.n_bots, n_people), replace=False))
    if params.side == "both":
        side = np.where(np.arange(ids.size) % 2 == 0, 1.0, -1.0)
        side = side[rng.permutation(ids.size)]
    else:
        side = np.full(ids.size, 1.0 if params.side == "right" else -1.0)
    is_bot = np.zeros(n_people, bool)
    is_bot[ids] = True
    return Bots(
        ids=ids.astype(np.int64),
        side=side.astype(np.float32),
        is_bot=is_bot,
        phase=rng.random(ids.size),
    )


def bot_follows(
    bots: Bots, params: AdversaryParams, leaning: FloatArray, streams: Streams
) -> tuple[IntArray, IntArray]:
    """Follows the network adds at the start: bots -> targets and targets -> bots (follow-back).

    Each bot follows ``follows_per_bot`` people drawn from the humans on its side.

    Returns:
        ``(src, dst)`` arrays of new follow edges.
    """
    if bots.n_bots == 0 or params.follows_per_bot == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    rng = streams.rng(WORLD_BOTS, 1)
    humans = np.flatnonzero(~bots.is_bot)
    src_parts, dst_parts = [], []
    for sign in (1.0, -1.0):  # two sides, not one iteration per bot
        mine = bots.ids[bots.side == sign]
        pool = humans[(leaning[humans] >= 0) == (sign > 0)]
        if mine.size == 0 or pool.size == 0:
            continue
        n = min(params.follows_per_bot, pool.size)
        targets = pool[rng.integers(0, pool.size, (mine.size, n))]
        src_parts.append(np.repeat(mine, n))
        dst_parts.append(targets.ravel())
    src = np.concatenate(src_parts) if src_parts else np.zeros(0, np.int64)
    dst = np.concatenate(dst_parts) if dst_parts else np.zeros(0, np.int64)
    back = rng.random(src.size) < params.follow_back
    return (
        np.concatenate([src, dst[back]]).astype(np.int64),
        np.concatenate([dst, src[back]]).astype(np.int64),
    )
