"""A cell advanced one tick at a time, for callers that watch, pause and step a run.

:func:`~feedlab.engine.run.run_cell` runs a cell to its end; :class:`CellStepper` runs the same
:func:`~feedlab.engine.step.start` and :func:`~feedlab.engine.step.step` under the caller's
control and hands back each day's metric rows as the day closes. Its rows are exactly those of
``run_cell`` (tested), with or without a :class:`~feedlab.engine.trace.Tracer`.
"""

from __future__ import annotations

from dataclasses import replace

from feedlab.engine import explain_platform
from feedlab.engine.run import Cell, MetricRow, setup_for
from feedlab.engine.step import SimState, start, step
from feedlab.engine.trace import Tracer


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

    def __init__(self, cell: Cell, tracer: Tracer | None = None) -> None:
        self.cell = cell
        self.setup = replace(setup_for(cell), trace=tracer)
        self._state: SimState | None = start(self.setup)
        if tracer is not None:  # interventions and ads explain themselves in traced feeds
            explain_platform.attach(tracer, lambda: self.state, self.setup)
        self.day = -cell.warmup_days
        self.tick = 0
        self.rows: list[MetricRow] = []
        self.ticks_per_day = self._state.world.clock.ticks_per_day
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
