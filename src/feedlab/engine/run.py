"""Cells: one (arm, seed) simulated for a number of days.

:func:`run_cell` runs a cell to its end, saving checkpoints; :class:`CellStepper` steps one under
its caller's control (the dashboard's live runs, validation probes, traces) and hands back each
day's metric rows as the day closes. ``run_cell`` is a loop over a stepper, so both give the same
rows, with or without a :class:`~feedlab.engine.trace.Tracer`.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from feedlab.behaviour.params import BehaviourParams
from feedlab.core.kernels import (
    freeze_imported_objects,
    reuse_freed_memory,
    single_threaded_blas,
)
from feedlab.core.random import Streams
from feedlab.engine import explain_platform
from feedlab.engine.interventions import Interventions
from feedlab.engine.step import Setup, SimState, homogenization_pairs, start, step
from feedlab.engine.trace import Tracer
from feedlab.io.atomic import atomic_path
from feedlab.platform.rankers.base import Ranker
from feedlab.platform.state import PlatformParams
from feedlab.world.bots import AdversaryParams
from feedlab.world.world import WorldParams

MetricRow = tuple[str, int, int, str, float]
"""(arm, seed, day, metric, value): one row of the long metrics table."""

Checkpoint = tuple[SimState, list[MetricRow], int]
"""(state, rows so far, last closed day): what a cell saves to continue later."""


@dataclass(frozen=True, slots=True)
class Cell:
    """One arm under one seed: everything a worker needs, picklable.

    Attributes:
        arm: the arm's name.
        seed: the replicate's root seed (arms of one seed share it: common random numbers).
        replicate: index of the seed within the experiment.
        days: days to simulate and record.
        world: world parameters.
        behaviour: behaviour parameters.
        platform: the arm's platform parameters.
        ranker: the arm's ranker.
        warmup_days: days simulated first and not recorded, so that inboxes, the digital model
            and habits are past their empty start; recorded days are numbered from 1 after them.
        label: what else identifies the cell within its run (a sweep's point id), or empty.
        interventions: the arm's interventions.
        adversaries: the bot network of the society (the same in every arm).
    """

    arm: str
    seed: int
    replicate: int
    days: int
    world: WorldParams
    behaviour: BehaviourParams
    platform: PlatformParams
    ranker: Ranker
    warmup_days: int = 0
    label: str = ""
    interventions: Interventions = field(default_factory=Interventions)
    adversaries: AdversaryParams = field(default_factory=AdversaryParams)

    @property
    def total_days(self) -> int:
        """Days simulated in all: warm-up and recorded."""
        return self.warmup_days + self.days

    @property
    def name(self) -> str:
        """A file-safe name unique within the run: ``[label__]arm__seed``."""
        parts = [self.label] if self.label else []
        return "__".join([*parts, self.arm, str(self.seed)])


def setup_for(cell: Cell) -> Setup:
    """The fixed parts of one cell's run: parameters, ranker, streams and metric pairs.

    Also settles the process for simulating: BLAS on one thread, freed memory kept for reuse,
    the imported objects out of the garbage collector's scans. Every cell, fresh or resumed
    from a checkpoint, is set up here (see :func:`~feedlab.core.kernels.single_threaded_blas`,
    :func:`~feedlab.core.kernels.reuse_freed_memory`,
    :func:`~feedlab.core.kernels.freeze_imported_objects`).
    """
    single_threaded_blas()
    reuse_freed_memory()
    freeze_imported_objects()
    streams = Streams(root_seed=cell.seed, replicate=0)
    return Setup(
        world=cell.world,
        behaviour=cell.behaviour,
        platform=cell.platform,
        ranker=cell.ranker,
        streams=streams,
        pairs=homogenization_pairs(cell.world.n_people, streams),
        interventions=cell.interventions,
        adversaries=cell.adversaries,
    )


def run_cell(
    cell: Cell,
    on_day: Callable[[int], None] | None = None,
    stage_seconds: dict[str, float] | None = None,
    checkpoint: Path | None = None,
    checkpoint_days: int = 0,
) -> list[MetricRow]:
    """Simulate one cell and return its daily metric rows.

    Args:
        cell: what to simulate.
        on_day: called with the finished day's number (1-based) after each day, for progress.
        stage_seconds: if given, each stage's total seconds are added to it (``--profile``).
        checkpoint: a file to resume from if it exists, and to save the cell's state to.
        checkpoint_days: save every this many simulated days (0: never).

    Every random draw is addressed by step, so a cell resumed from a checkpoint ends with
    exactly the rows of an uninterrupted run.
    """
    restored = None
    if checkpoint is not None and checkpoint.exists():
        with checkpoint.open("rb") as handle:
            restored = pickle.load(handle)  # a file this run wrote itself
    stepper = CellStepper(cell, restored=restored)
    while not stepper.done:
        if stepper.advance() is None:
            continue
        elapsed = stepper.day + cell.warmup_days
        due = bool(checkpoint_days) and elapsed % checkpoint_days == 0 and not stepper.done
        if checkpoint is not None and due:
            checkpoint.parent.mkdir(parents=True, exist_ok=True)
            with atomic_path(checkpoint) as tmp:
                tmp.write_bytes(pickle.dumps(stepper.checkpoint(), protocol=5))
        if on_day is not None:
            on_day(elapsed)
    add_stage_seconds(stage_seconds, stepper.state.stage_seconds)
    return stepper.rows


def add_stage_seconds(total: dict[str, float] | None, stages: dict[str, float]) -> None:
    """Add each stage's seconds in ``stages`` to ``total`` (nothing if ``total`` is None)."""
    if total is not None:
        for stage, seconds in stages.items():
            total[stage] = total.get(stage, 0.0) + seconds


class CellStepper:
    """One cell, stepped by its caller.

    Attributes:
        cell: what is simulated.
        day: the last closed day, numbered like the rows (warm-up days are ``<= 0``).
        tick: ticks simulated so far.
        rows: every recorded row so far.
        ticks_per_day: ticks in one simulated day.
        total_ticks: ticks the cell simulates in all.
    """

    def __init__(
        self, cell: Cell, tracer: Tracer | None = None, restored: Checkpoint | None = None
    ) -> None:
        """Start ``cell`` afresh, or from ``restored`` (what :meth:`checkpoint` returned)."""
        self.cell = cell
        self.setup = replace(setup_for(cell), trace=tracer)
        state, rows, day = restored or (start(self.setup), [], -cell.warmup_days)
        self._state: SimState | None = state
        if tracer is not None:  # interventions and ads explain themselves in traced feeds
            explain_platform.attach(tracer, lambda: self.state, self.setup)
        self.day = day
        self.tick = state.tick
        self.rows: list[MetricRow] = list(rows)
        self.ticks_per_day = state.world.clock.ticks_per_day
        self.total_ticks = cell.total_days * self.ticks_per_day

    @property
    def state(self) -> SimState:
        """The simulation state (read it, do not change it).

        Raises:
            RuntimeError: after :meth:`release`.
        """
        if self._state is None:
            raise RuntimeError(f"cell {self.cell.name!r} has released its state.")
        return self._state

    @property
    def tracer(self) -> Tracer | None:
        """The attached tracer, if any."""
        return self.setup.trace

    @property
    def done(self) -> bool:
        """Whether every day has been simulated (or the state was released)."""
        return self._state is None or self.tick >= self.total_ticks

    def checkpoint(self) -> Checkpoint:
        """Everything needed to continue later: the state, the rows so far and the day."""
        return self.state, self.rows, self.day

    def release(self) -> None:
        """Drop the world and the platform, keeping rows, the tracer and the ranker."""
        self._state = None

    def advance(self) -> list[MetricRow] | None:
        """Simulate one tick; return the closed day's rows at midnight (empty during warm-up).

        Raises:
            RuntimeError: if the cell is already done.
        """
        if self.done:
            raise RuntimeError(f"cell {self.cell.name!r} is already done.")
        values = step(self.state, self.setup)
        self.tick = self.state.tick
        if values is None:
            return None
        self.day += 1
        if self.day < 1:
            return []
        rows = [
            (self.cell.arm, self.cell.seed, self.day, name, float(v)) for name, v in values.items()
        ]
        self.rows.extend(rows)
        return rows

    def advance_day(self) -> list[MetricRow]:
        """Simulate to the next midnight; return that day's rows (empty during warm-up)."""
        while True:
            rows = self.advance()
            if rows is not None:
                return rows
