"""The ranker protocol, its registry and its conformance check."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any, ClassVar, Protocol

import numpy as np

from feedlab.core import kernels
from feedlab.core.arrays import BoolArray, F64Array, FloatArray, IntArray
from feedlab.core.errors import ShapeError
from feedlab.platform.candidates import Candidates
from feedlab.platform.estimator import PersonModel
from feedlab.platform.observe import (
    LOGGED_ACTIONS,
    ImpressionLog,
    PostView,
    SurveyLog,
    UserControls,
)


@dataclass(frozen=True, init=False)
class RankContext:
    """What a ranker may use: candidates, the digital model's predictions, observable posts.

    The predictions come in one of two forms: ``predictions``, the padded
    ``(n_sessions, n_candidates, len(LOGGED_ACTIONS))`` probabilities, or the flat rows the
    model computed, ``scored`` (one row per valid candidate, then an all-zero row), with
    ``position``, the ``(n_sessions, n_candidates)`` row of each cell (the zero row where a
    cell is empty). Serving passes the flat form; :attr:`predictions` lays it out padded the
    first time a ranker reads it, so a ranker that reads the rows through ``position`` (the
    engagement ranker) never pays for the padded copy.
    """

    candidates: Candidates
    view: PostView
    tick: int
    model: PersonModel | None = None  # the digital model (estimated_* of the session persons)
    memory: Any = None  # what a ranker that remembers (:class:`Remembers`) kept between ticks
    logged_popularity: FloatArray | None = None  # (n_sessions, n_candidates) given, not read
    scored: FloatArray | None = None  # (rows, A): padded predictions, or flat rows (position)
    position: IntArray | None = None  # (n_sessions, n_candidates) rows of ``scored``, or None

    def __init__(
        self,
        candidates: Candidates,
        view: PostView,
        tick: int,
        predictions: FloatArray | None = None,
        model: PersonModel | None = None,
        memory: Any = None,
        logged_popularity: FloatArray | None = None,
        scored: FloatArray | None = None,
        position: IntArray | None = None,
    ) -> None:
        """Give ``predictions``, or ``scored`` with ``position``; raises ShapeError otherwise.

        Given ``predictions`` win over a flat form, so that ``dataclasses.replace(context,
        predictions=...)`` swaps them; ``scored`` alone is taken as padded predictions (as
        ``dataclasses.replace`` passes a padded context's).
        """
        if predictions is None and scored is None:
            message = "RankContext needs the predictions, padded (predictions=) or flat (scored= with position=)."
            raise ShapeError(message)
        if predictions is not None:
            scored, position = predictions, None
        elif position is None and scored is not None and scored.ndim != 3:
            message = f"RankContext: flat predictions (scored=) need position=, the row of each candidate cell {candidates.slots.shape}; got none."
            raise ShapeError(message)
        elif position is not None and position.shape != candidates.slots.shape:
            message = f"RankContext: position= must have the candidates' shape {candidates.slots.shape}, got {position.shape}."
            raise ShapeError(message)
        set_field = object.__setattr__
        set_field(self, "candidates", candidates)
        set_field(self, "view", view)
        set_field(self, "tick", tick)
        set_field(self, "model", model)
        set_field(self, "memory", memory)
        set_field(self, "logged_popularity", logged_popularity)
        set_field(self, "scored", scored)
        set_field(self, "position", position)

    @cached_property
    def predictions(self) -> FloatArray:
        """Predicted probabilities, ``(n_sessions, n_candidates, len(LOGGED_ACTIONS))``."""
        assert self.scored is not None  # set by __init__
        if self.position is None:
            return self.scored
        return np.take(self.scored, self.position, axis=0)  # a row gather: faster than [position]

    def flat_predictions(self) -> tuple[FloatArray, IntArray]:
        """The predictions as rows and each cell's row: ``(scored, position)``.

        ``scored[position[i, j]]`` is the prediction of cell ``(i, j)``; when the context holds
        them padded, ``scored`` is their ``(n * c, A)`` view and ``position`` counts the cells.
        """
        assert self.scored is not None  # set by __init__
        if self.position is not None:
            return self.scored, self.position
        n, c, a = self.scored.shape
        position = np.arange(n * c, dtype=np.int64).reshape(n, c)
        return np.ascontiguousarray(self.scored, np.float32).reshape(n * c, a), position

    @property
    def popularity(self) -> FloatArray:
        """Engagements logged on each candidate's cascade, ``(n_sessions, n_candidates)``.

        Read from the model when a ranker asks (most never do), unless given as
        ``logged_popularity``; 0 at empty cells and without a model.
        """
        if self.logged_popularity is not None:
            return self.logged_popularity
        slots = self.candidates.slots
        if self.model is None:
            return np.zeros(slots.shape, np.float32)
        valid = slots >= 0
        roots = self.view.slots_of(self.view.root[np.where(valid, slots, 0)])
        return np.where(valid, self.model.engagements(roots), np.float32(0))

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


class IgnoresPredictions:
    """Marker base: rankers that never read ``RankContext.predictions``.

    Serving such a ranker skips the digital model's predictions for the candidates it does not
    show (they are all zero in its context). The conformance suite checks the claim: the ranker
    must order the same candidates the same way whatever the predictions.
    """


def reads_predictions(ranker: object) -> bool:
    """Whether ``ranker`` (or the ranker a wrapper such as the interventions' wraps) reads them."""
    inner = getattr(ranker, "inner", None)
    if inner is not None:
        return reads_predictions(inner)
    return not isinstance(ranker, IgnoresPredictions)


@dataclass(frozen=True, slots=True)
class Feedback:
    """What a ranker that remembers may learn from after a tick: only what the platform logs.

    Attributes:
        log: the tick's impression log.
        predictions: what the model predicted for the shown slots, ``(n_sessions, k, A)``.
        in_network: whether each shown slot came from a followed account, ``(n_sessions, k)``.
        view: observable post columns.
        model: the digital model after learning from ``log``.
        survey: answers to the platform's survey this tick, if the ranker asked for one.
        ticks_per_day: ticks in a simulated day.
    """

    log: ImpressionLog
    predictions: FloatArray
    in_network: BoolArray
    view: PostView
    model: PersonModel
    survey: SurveyLog | None
    ticks_per_day: int


class Remembers:
    """Base of rankers that keep a memory in the platform state between ticks.

    The platform calls :meth:`start_memory` once, :meth:`remember` after every tick's learning,
    and passes the memory to :meth:`Ranker.rank` as ``context.memory``. A ranker must still rank
    with ``context.memory`` (or ``context.model``) left ``None``, from its fallback.

    Attributes:
        wants_controls: whether :meth:`start_memory` needs the people's feed settings.
    """

    wants_controls: ClassVar[bool] = False

    def survey_share(self) -> float:
        """Share of sessions the platform surveys each tick for this ranker (0: no survey)."""
        return 0.0

    def start_memory(self, n_people: int, capacity: int, controls: UserControls | None) -> Any:
        """The memory before anything is logged (``capacity``: slots of the post ring)."""
        raise NotImplementedError

    def remember(self, memory: Any, feedback: Feedback) -> Any:
        """The memory after one tick's ``feedback`` (it may be updated in place and returned)."""
        raise NotImplementedError
