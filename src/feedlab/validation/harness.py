"""The machinery of validation: simulate cells with probes, reduce seeds to intervals, judge.

A validation *task* is one cell of the ordinary engine (same ``Setup``, ``start`` and ``step``
as every run) plus a *probe* that reads the finished state, and possibly the state at every
midnight, and returns a few numbers. Tasks run in worker processes; only those numbers come
back. A *check* turns the numbers of several seeds into an estimate with a 95% confidence
interval and a verdict.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from feedlab.engine.run import Cell, CellStepper
from feedlab.engine.step import SimState
from feedlab.experiments.summary import t_interval


class Probe(Protocol):
    """Reads a simulation while it runs; returns its measurements at the end."""

    def attach(self, cell: Cell) -> Cell:
        """Return the cell to simulate (a probe may wrap the ranker to watch feeds)."""
        ...

    def before_tick(self, state: SimState) -> None:
        """Called before every tick with the state about to be advanced."""
        ...

    def on_day(self, state: SimState, cell: Cell, day: int, row: dict[str, float]) -> None:
        """Called at every midnight with the day's metrics (``day`` < 1 during warm-up)."""
        ...

    def finish(self, state: SimState, cell: Cell) -> dict[str, float]:
        """The cell's measurements."""
        ...


@dataclass(frozen=True, slots=True)
class Task:
    """One cell to simulate for one finding, and the probe that measures it.

    Attributes:
        finding: the finding's key.
        cell: the engine cell (arm, seed and every parameter).
        probe: a zero-argument factory of the probe (a module-level callable, picklable).
    """

    finding: str
    cell: Cell
    probe: Callable[[], Probe]


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one task measured."""

    finding: str
    arm: str
    seed: int
    values: dict[str, float]


def simulate(task: Task) -> Outcome:
    """Run one task's cell to the end with its probe attached (the engine's own stepper)."""
    probe = task.probe()
    cell = probe.attach(task.cell)
    stepper = CellStepper(cell)
    while not stepper.done:
        probe.before_tick(stepper.state)
        rows = stepper.advance()
        if rows is not None:  # a midnight: rows are empty during warm-up
            values = {name: value for *_, name, value in rows}
            probe.on_day(stepper.state, cell, stepper.day, values)
    return Outcome(task.finding, cell.arm, cell.seed, probe.finish(stepper.state, cell))


def run_tasks(
    tasks: Sequence[Task], workers: int, on_done: Callable[[Outcome], None] | None = None
) -> list[Outcome]:
    """Simulate every task (in ``workers`` processes if more than 1); outcomes in task order.

    Workers take the largest cells (people x days) first, so the last to finish is a small one.
    """
    if workers <= 1:
        outcomes = []
        for task in tasks:
            outcomes.append(simulate(task))
            if on_done is not None:
                on_done(outcomes[-1])
        return outcomes
    results: dict[int, Outcome] = {}
    with ProcessPoolExecutor(max_workers=workers) as pool:
        order = sorted(range(len(tasks)), key=lambda i: -_person_days(tasks[i].cell))
        futures = {pool.submit(simulate, tasks[i]): i for i in order}
        for future in as_completed(futures):
            results[futures[future]] = future.result()
            if on_done is not None:
                on_done(results[futures[future]])
    return [results[i] for i in range(len(tasks))]


def _person_days(cell: Cell) -> int:
    return cell.world.n_people * (cell.days + cell.warmup_days)


@dataclass(frozen=True, slots=True)
class Estimate:
    """A mean over seeds with its 95% Student-t interval."""

    mean: float
    low: float
    high: float
    n: int

    @classmethod
    def of(cls, values: Sequence[float] | np.ndarray, confidence: float = 0.95) -> Estimate:
        """The mean of the finite ``values`` and its t interval (NaN bounds if fewer than 2)."""
        x = np.asarray(values, np.float64)
        x = x[np.isfinite(x)]
        n = int(x.size)
        if n == 0:
            return cls(math.nan, math.nan, math.nan, 0)
        mean = float(x.mean())
        if n < 2:
            return cls(mean, math.nan, math.nan, n)
        low, high = t_interval(
            np.array([mean]), np.array([x.std(ddof=1)]), np.array([n]), confidence
        )
        return cls(mean, float(low[0]), float(high[0]), n)

    def exp(self) -> Estimate:
        """The estimate of a log quantity carried back by ``exp`` (a geometric mean and interval)."""
        return Estimate(math.exp(self.mean), math.exp(self.low), math.exp(self.high), self.n)

    @property
    def above_zero(self) -> bool:
        """The whole interval lies above zero."""
        return self.n >= 2 and self.low > 0

    @property
    def below_zero(self) -> bool:
        """The whole interval lies below zero."""
        return self.n >= 2 and self.high < 0

    def format(self, digits: int = 3) -> str:
        """``mean [low, high]`` with ``digits`` significant figures."""
        if self.n < 2:
            return f"{self.mean:.{digits}g}"
        return f"{self.mean:.{digits}g} [{self.low:.{digits}g}, {self.high:.{digits}g}]"


@dataclass(frozen=True, slots=True)
class Check:
    """One row of the validation table.

    Attributes:
        finding: the finding's number and short title.
        claim: what is tested, in words.
        source: the publication.
        reported: what the publication reports.
        measured: what feedlab measured (an estimate with its interval, or a plain figure).
        passed: the verdict.
        detail: how the verdict was reached, for the docs and ``--verbose``.
    """

    finding: str
    claim: str
    source: str
    reported: str
    measured: str
    passed: bool
    detail: str = ""


@dataclass(slots=True)
class Collected:
    """Outcomes of one finding, indexed by arm then seed."""

    by_arm: dict[str, dict[int, dict[str, float]]] = field(default_factory=dict)

    def add(self, outcome: Outcome) -> None:
        """File one outcome."""
        self.by_arm.setdefault(outcome.arm, {})[outcome.seed] = outcome.values

    def values(self, arm: str, key: str) -> np.ndarray:
        """``key`` measured under ``arm``, one value per seed in seed order."""
        seeds = self.by_arm[arm]
        return np.array([seeds[s][key] for s in sorted(seeds)], np.float64)

    def pair(self, arm: str, baseline: str, key: str) -> tuple[np.ndarray, np.ndarray]:
        """``key`` under ``arm`` and under ``baseline`` on the seeds both ran, in seed order."""
        a, b = self.by_arm[arm], self.by_arm[baseline]
        seeds = sorted(set(a) & set(b))
        return (
            np.array([a[s][key] for s in seeds], np.float64),
            np.array([b[s][key] for s in seeds], np.float64),
        )

    def paired(self, arm: str, baseline: str, key: str) -> np.ndarray:
        """``key`` under ``arm`` minus under ``baseline``, seed by seed (common random numbers)."""
        a, b = self.pair(arm, baseline, key)
        return a - b
