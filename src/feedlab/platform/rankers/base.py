"""The ranker protocol, its registry and its conformance check."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from feedlab.core import kernels
from feedlab.core.arrays import F64Array, FloatArray, IntArray
from feedlab.core.errors import ShapeError
from feedlab.platform.candidates import Candidates
from feedlab.platform.estimator import PersonModel
from feedlab.platform.observe import LOGGED_ACTIONS, PostView


@dataclass(frozen=True, slots=True)
class RankContext:
    """What a ranker may use: candidates, the digital model's predictions, observable posts."""

    candidates: Candidates
    predictions: FloatArray  # (n_sessions, n_candidates, len(LOGGED_ACTIONS)) probabilities
    popularity: FloatArray  # (n_sessions, n_candidates) engagements logged on the cascade
    view: PostView
    tick: int
    model: PersonModel | None = None  # the platform's logged history of each person, if given

    def prediction(self, action: str) -> FloatArray:
        """Predicted probability of ``action`` for every candidate."""
        return self.predictions[..., LOGGED_ACTIONS.index(action)]


class Ranker(Protocol):
    """Orders candidates into feeds."""

    def rank(self, context: RankContext, k: int, rng: np.random.Generator) -> IntArray:
        """Return ``(n_sessions, k)`` candidate columns, best first, ``-1`` where none is left."""
        ...


def top_k(scores: F64Array, k: int) -> IntArray:
    """Columns of the ``k`` highest scores per row, best first; ``-inf`` scores become ``-1``.

    Ties are broken by column (lower first), so the result never depends on the sort algorithm.
    """
    return kernels.top_k(scores, k)


def masked(scores: np.ndarray, context: RankContext) -> F64Array:
    """Scores as float64 with ``-inf`` where no candidate is."""
    return np.where(context.candidates.valid, scores.astype(np.float64), -np.inf)


def check_ranker(ranker: Ranker, context: RankContext, k: int = 5) -> None:
    """Conformance: shape, dtype, valid distinct columns, padding last, same rng gives same feeds.

    Raises:
        ShapeError: describing the first violated rule.
    """
    n, c = context.candidates.slots.shape
    a = ranker.rank(context, k, np.random.default_rng(7))
    b = ranker.rank(context, k, np.random.default_rng(7))
    name = type(ranker).__name__
    if a.shape != (n, k) or not np.issubdtype(a.dtype, np.integer):
        raise ShapeError(f"{name}.rank must return int ({n}, {k}), got {a.dtype} {a.shape}.")
    if not np.array_equal(a, b):
        raise ShapeError(f"{name}.rank must be deterministic given the rng.")
    if ((a < -1) | (a >= c)).any():
        raise ShapeError(f"{name}.rank must return columns in [-1, {c}).")
    rows = np.broadcast_to(np.arange(n)[:, None], a.shape)
    chosen = a >= 0
    if (~context.candidates.valid[rows[chosen], a[chosen]]).any():
        raise ShapeError(f"{name}.rank must choose only valid candidates.")
    padded = np.cumsum(~chosen, axis=1) > 0
    if (padded & chosen).any():
        raise ShapeError(f"{name}.rank must put padding (-1) after every chosen column.")
    srt = np.sort(np.where(chosen, a, -1 - np.arange(k)), axis=1)
    if (srt[:, 1:] == srt[:, :-1]).any():
        raise ShapeError(f"{name}.rank must not repeat a candidate in one feed.")
    n_valid = context.candidates.valid.sum(axis=1)
    expected = np.minimum(n_valid, k)
    if isinstance(ranker, FillsFeeds) and (chosen.sum(axis=1) != expected).any():
        raise ShapeError(f"{name}.rank must fill min(k, candidates) slots.")


class FillsFeeds:
    """Marker base: rankers that always fill ``min(k, n_valid)`` slots."""
