"""The platform's survey: whom to ask "was this post worth your time?" each tick.

Facebook has long asked a small random sample of people about single posts they saw; the answers
are a stated-preference signal the log of clicks cannot give (Milli et al. 2023). The platform
picks sessions at random and, in each, one post the person actually saw.
"""

from __future__ import annotations

import numpy as np

from feedlab.core.arrays import BoolArray, IntArray


def choose_respondents(
    seen: BoolArray, share: float, rng: np.random.Generator
) -> tuple[IntArray, IntArray]:
    """Sessions to survey and the feed slot to ask about in each.

    Args:
        seen: which slots each session saw, ``(n_sessions, k)``.
        share: chance that a session with at least one impression is surveyed.
        rng: the ``platform.survey`` stream at this tick.

    Returns:
        ``(rows, cols)``: the surveyed sessions and, for each, a uniformly chosen seen slot.
    """
    n = seen.shape[0]
    u = rng.random((n, 2))
    n_seen = seen.sum(axis=1)
    rows = np.flatnonzero((u[:, 0] < share) & (n_seen > 0))
    pick = np.minimum((u[rows, 1] * n_seen[rows]).astype(np.int64), n_seen[rows] - 1)
    # The pick-th seen slot of each row: seen slots are a prefix of the feed, but count anyway.
    order = np.cumsum(seen[rows], axis=1) - 1
    cols = np.argmax((order == pick[:, None]) & seen[rows], axis=1)
    return rows, cols.astype(np.int64)
