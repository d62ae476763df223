"""Runs: one (arm, seed) cell for a number of days, in this process or across workers."""

from __future__ import annotations

import pickle
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from feedlab.behaviour.params import BehaviourParams
from feedlab.core.random import Streams
from feedlab.engine.interventions import Interventions
from feedlab.engine.step import Setup, homogenization_pairs, start, step
from feedlab.io.atomic import atomic_path
from feedlab.platform.rankers.base import Ranker
from feedlab.platform.state import PlatformParams
from feedlab.world.bots import AdversaryParams
from feedlab.world.world import WorldParams

MetricRow = tuple[str, int, int, str, float]
"""(arm, seed, day, metric, value): one row of the long metrics table."""


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
    """The fixed parts of one cell's run: parameters, ranker, streams and metric pairs."""
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
    setup = setup_for(cell)
    if checkpoint is not None and checkpoint.exists():
        with checkpoint.open("rb") as handle:
            state, rows, day = pickle.load(handle)  # a file this run wrote itself
    else:
        state, rows, day = start(setup), [], -cell.warmup_days
    total = cell.total_days * state.world.clock.ticks_per_day
    while state.tick < total:
        values = step(state, setup)
        if values is not None:
            day += 1
            if day >= 1:
                rows.extend(
                    (cell.arm, cell.seed, day, name, float(v)) for name, v in values.items()
                )
            elapsed = day + cell.warmup_days
            due = bool(checkpoint_days) and elapsed % checkpoint_days == 0 and state.tick < total
            if checkpoint is not None and due:
                checkpoint.parent.mkdir(parents=True, exist_ok=True)
                with atomic_path(checkpoint) as tmp:
                    tmp.write_bytes(pickle.dumps((state, rows, day), protocol=5))
            if on_day is not None:
                on_day(elapsed)
    add_stage_seconds(stage_seconds, state.stage_seconds)
    return rows


def add_stage_seconds(total: dict[str, float] | None, stages: dict[str, float]) -> None:
    """Add each stage's seconds in ``stages`` to ``total`` (nothing if ``total`` is None)."""
    if total is not None:
        for stage, seconds in stages.items():
            total[stage] = total.get(stage, 0.0) + seconds
