"""One cell where a pool, Ray or this process runs it: its checkpoints, its entry points.

A worker needs this module (and the engine) only, not the run's reporting and statistics; a
local pool's workers are forked from a server that has imported it (:func:`pool_context`), and
Ray's import it themselves.
"""

from __future__ import annotations

import multiprocessing
import sys
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.context import BaseContext
from pathlib import Path
from typing import Any

import polars as pl

from feedlab.core.kernels import set_kernel_threads
from feedlab.engine.run import Cell, MetricRow, run_cell
from feedlab.io.atomic import atomic_path
from feedlab.io.schema import METRICS_SCHEMA

CELLS_DIR = "cells"
CHECKPOINTS_DIR = "checkpoints"


@dataclass(frozen=True, slots=True)
class Checkpoints:
    """Where a run keeps finished cells and checkpoints while it is in progress."""

    folder: Path  # the run's staging folder
    every_days: int  # save each cell's state every this many days (0: never)

    def result(self, cell: Cell) -> Path:
        """The finished rows of ``cell``."""
        return self.folder / CELLS_DIR / f"{cell.name}.parquet"

    def state(self, cell: Cell) -> Path:
        """The latest saved state of ``cell``."""
        return self.folder / CHECKPOINTS_DIR / f"{cell.name}.pkl"

    def save(self, cell: Cell, rows: list[MetricRow]) -> None:
        """Keep a finished cell's rows (atomically) and drop its checkpoint."""
        target = self.result(cell)
        target.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(target) as tmp:
            rows_to_frame(rows).write_parquet(tmp, compression="zstd")
        self.state(cell).unlink(missing_ok=True)


CellOutcome = tuple[int, list[MetricRow], dict[str, float]]
"""(index of the cell, its rows, seconds per tick stage)."""


def simulate_cell(
    cell: Cell,
    index: int,
    checkpoints: Checkpoints | None,
    on_day: Callable[[int], None] | None = None,
) -> CellOutcome:
    """Run one cell, resuming from and saving to its checkpoint when there is a store."""
    stages: dict[str, float] = {}
    rows = run_cell(
        cell,
        on_day=on_day,
        stage_seconds=stages,
        checkpoint=checkpoints.state(cell) if checkpoints else None,
        checkpoint_days=checkpoints.every_days if checkpoints else 0,
    )
    return index, rows, stages


def simulate_in_worker(
    cell: Cell, index: int, checkpoints: Checkpoints | None, channel: Any, share: Any
) -> CellOutcome:
    """:func:`simulate_cell` in a worker process, reporting finished days over ``channel``.

    After each day the cell takes the kernel threads ``share.value`` allows it: one while every
    worker is busy, more once the pool runs out of cells and cores fall idle (see
    :func:`tail_threads`), and then splits smaller batches over them (``idle_cores``). Results
    do not depend on the count.
    """

    def take_share() -> None:
        set_kernel_threads(share.value, idle_cores=share.value > 1)

    def on_day(day: int) -> None:
        channel.put((index, day))
        take_share()

    take_share()
    return simulate_cell(cell, index, checkpoints, on_day)


def pool_context() -> BaseContext:
    """Where a local pool's processes come from: a fork server where the platform has one.

    The fork server (Python 3.14's default start method on Linux) imports this module, with the
    engine, and every feedlab module its parent has imported, once; every worker and the pool's
    manager is then forked from it, ready to run a cell. Each still takes its parent's present
    working directory and import path and runs its parent's main module, as a spawned process
    does, but finds what that imports already loaded. A spawned process would import it all
    itself first: for the ``feedlab`` command the whole CLI with its statistics, reports and web
    app, about two seconds of a core per process. Where there is no fork server, spawn.
    """
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    loaded = sorted(name for name in sys.modules if name.partition(".")[0] == "feedlab")
    context.set_forkserver_preload([__name__, *loaded])
    return context


def tail_threads(workers: int, unfinished: int) -> int:
    """Kernel threads for each running cell when ``unfinished`` cells are left on ``workers``.

    While cells wait for a worker every worker runs one cell on one thread; once fewer cells than
    workers remain, the idle workers' cores are shared out among the cells still running.
    """
    return max(1, workers // max(unfinished, 1))


def rows_from_frame(frame: pl.DataFrame) -> list[MetricRow]:
    """Rows of a metrics table, as :func:`run_cell` returns them."""
    return [
        (a, int(s), int(d), m, float(v))
        for a, s, d, m, v in frame.select(list(METRICS_SCHEMA)).iter_rows()
    ]


def rows_to_frame(rows: list[MetricRow]) -> pl.DataFrame:
    """The long metrics table from rows."""
    return pl.DataFrame(rows, schema=METRICS_SCHEMA, orient="row")
