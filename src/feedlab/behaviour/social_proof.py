"""Social proof: a visible like count makes people more likely to click and like.

In the MusicLab experiment (Salganik, Dodds & Watts 2006) showing download counts made popular
songs more popular and outcomes less predictable; on Reddit, a single early up-vote raised a
comment's final score by 25% (Muchnik, Aral & Taylor 2013). Here the like count displayed under
a post adds ``weight x log10(1 + likes)`` to the log-odds of clicking and liking it, so a post
showing 100 likes gets +2 x weight. Hiding like counts (the ``hidden-likes`` intervention,
Instagram's 2019 test) sets the displayed count to zero and removes the effect.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from feedlab.behaviour import kernels
from feedlab.core.arrays import AnyArray, FloatArray, IntArray
from feedlab.core.params import Params

CLICK_CHANNEL = 0
LIKE_CHANNEL = 1
SHARE_CHANNEL = 2
N_RESPONSE_CHANNELS = 6
"""Order of the log-odds a shift adds to: click, like, share, reply, hide, follow."""


class SocialProofParams(Params):
    """How visible like counts sway people.

    Attributes:
        weight: log-odds added to clicking and liking per factor of ten in the displayed likes
            (Salganik, Dodds & Watts 2006; Muchnik, Aral & Taylor 2013).
    """

    weight: float = Field(0.15, ge=0, le=5)


def social_proof_shift(likes_shown: FloatArray, params: SocialProofParams) -> FloatArray:
    """Log-odds shifts ``(n_sessions, k, 6)`` from the like counts displayed on each slot."""
    shift = np.zeros((*likes_shown.shape, N_RESPONSE_CHANNELS), np.float32)
    if params.weight == 0.0:
        return shift
    # The log in float64, rounded once: float32 log10 differs between NumPy's SIMD variants.
    shown = (1.0 + np.maximum(likes_shown, 0.0)).astype(np.float32, copy=False)
    boost = (np.float64(np.float32(params.weight)) * np.log10(shown.astype(np.float64))).astype(
        np.float32
    )
    shift[..., CLICK_CHANNEL] = boost
    shift[..., LIKE_CHANNEL] = boost
    return shift


def displayed_likes_shift(
    feed: IntArray,
    root: AnyArray,
    capacity: int,
    counts: FloatArray,
    like: int,
    params: SocialProofParams,
) -> FloatArray:
    """:func:`social_proof_shift` of the likes displayed on each slot of ``feed``, in one pass.

    ``feed`` holds ring slots ``(n_sessions, k)``, ``-1`` empty (no likes displayed); a post
    displays the likes logged on its cascade root, ``counts[root[slot] & (capacity - 1), like]``.
    The same values as gathering the likes and calling :func:`social_proof_shift`
    (:func:`~feedlab.behaviour.kernels.social_proof_boosts`).
    """
    shift = np.zeros((*feed.shape, N_RESPONSE_CHANNELS), np.float32)
    if params.weight == 0.0 or feed.size == 0:
        return shift
    kernels.social_proof_boosts(
        np.ascontiguousarray(feed, np.int64), root, capacity, counts, like, params.weight, shift
    )
    return shift
