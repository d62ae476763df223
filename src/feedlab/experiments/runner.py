"""Run an experiment: every (arm, seed) cell, in parallel, into one run folder.

The folder is built under a hidden staging name and renamed into place only when every file is
written, so a run folder either holds complete results or does not exist. The catalog entry is
written last.
"""

from __future__ import annotations

import functools
import hashlib
import multiprocessing
import os
import queue
import shutil
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from feedlab import __version__
from feedlab.core.errors import ConfigError
from feedlab.engine.run import Cell, MetricRow, run_cell
from feedlab.experiments.config import ExperimentConfig
from feedlab.experiments.summary import compare_arms
from feedlab.io.atomic import atomic_write_text
from feedlab.io.catalog import RunRecord, register_run
from feedlab.io.parquet import write_metrics
from feedlab.io.report import write_report
from feedlab.metrics.catalog import METRICS, summaries

Progress = Callable[[int, int], None]
"""Called with (days finished over all cells, days in total)."""


@dataclass(frozen=True, slots=True)
class RunResult:
    """What a finished run left behind."""

    run_dir: Path
    frame: pl.DataFrame  # the daily metrics table
    comparison: pl.DataFrame  # each arm against the baseline
    wall_seconds: float
    stage_seconds: dict[str, float]  # seconds per tick stage, summed over cells
    ticks: int  # ticks simulated, summed over cells


def plan(config: ExperimentConfig) -> list[Cell]:
    """Every (arm, seed) cell; replicate ``i`` of every arm uses seed ``root_seed + i``."""
    return [
        Cell(
            arm=arm.name,
            seed=config.root_seed + replicate,
            replicate=replicate,
            days=config.days,
            warmup_days=config.warmup_days,
            world=config.world,
            behaviour=config.behaviour,
            platform=config.arm_platform(index),
            ranker=config.arm_ranker(index),
        )
        for replicate in range(config.seeds)
        for index, arm in enumerate(config.arms)
    ]


def _run_reporting(
    cell: Cell, index: int, channel: Any
) -> tuple[list[MetricRow], dict[str, float]]:
    stages: dict[str, float] = {}
    rows = run_cell(cell, on_day=lambda day: channel.put((index, day)), stage_seconds=stages)
    return rows, stages


def execute(
    cells: list[Cell],
    workers: int,
    progress: Progress | None = None,
    stage_seconds: dict[str, float] | None = None,
) -> list[MetricRow]:
    """Run cells in ``workers`` processes (in this process when ``workers`` is 1).

    Results do not depend on the number of workers: each cell's streams come from its own seed.
    If ``stage_seconds`` is given, every cell's time per tick stage is added to it.
    """
    total = sum(cell.warmup_days + cell.days for cell in cells)
    done = [0] * len(cells)

    def report(index: int, day: int) -> None:
        done[index] = day
        if progress is not None:
            progress(sum(done), total)

    if workers <= 1 or len(cells) == 1:
        rows: list[MetricRow] = []
        for index, cell in enumerate(cells):
            rows.extend(
                run_cell(cell, on_day=functools.partial(report, index), stage_seconds=stage_seconds)
            )
        return rows

    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager, ProcessPoolExecutor(workers, mp_context=context) as pool:
        channel = manager.Queue()
        futures: dict[Future[tuple[list[MetricRow], dict[str, float]]], int] = {
            pool.submit(_run_reporting, cell, index, channel): index
            for index, cell in enumerate(cells)
        }
        results: dict[int, list[MetricRow]] = {}
        pending = set(futures)
        while pending:
            finished, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
            while True:
                try:
                    report(*channel.get_nowait())
                except queue.Empty:
                    break
            for future in finished:
                cell_rows, stages = future.result()
                results[futures[future]] = cell_rows
                for stage, seconds in stages.items():
                    if stage_seconds is not None:
                        stage_seconds[stage] = stage_seconds.get(stage, 0.0) + seconds
        return [row for index in range(len(cells)) for row in results[index]]


def rows_to_frame(rows: list[MetricRow]) -> pl.DataFrame:
    """The long metrics table from rows."""
    return pl.DataFrame(
        rows,
        schema={
            "arm": pl.Utf8,
            "seed": pl.Int64,
            "day": pl.Int64,
            "metric": pl.Utf8,
            "value": pl.Float64,
        },
        orient="row",
    )


def default_workers() -> int:
    """One worker per available core."""
    return max(
        1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    )


def run_experiment(
    config: ExperimentConfig,
    *,
    runs_dir: Path = Path("runs"),
    out: Path | None = None,
    workers: int | None = None,
    progress: Progress | None = None,
) -> RunResult:
    """Run every cell of ``config`` and write the run folder and its catalog entry.

    Args:
        config: the validated experiment.
        runs_dir: where run folders and ``catalog.duckdb`` live (ignored when ``out`` is given:
            then the catalog lives in ``out``'s parent).
        out: the run folder to create; must not exist yet (or be empty).
        workers: processes to use (default: one per core).
        progress: progress callback.
    """
    started = time.perf_counter()
    created = datetime.now(UTC)
    resolved = config.to_toml()
    digest = hashlib.sha256(resolved.encode()).hexdigest()
    if out is None:
        run_id = f"{config.name}-{created:%Y%m%d-%H%M%S}-{digest[:8]}"
        out = runs_dir / run_id
    else:
        runs_dir = out.parent if str(out.parent) else Path(".")
        run_id = out.name
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ConfigError(f"--out must be a new or empty folder, got {str(out)!r}.")
    runs_dir.mkdir(parents=True, exist_ok=True)

    cells = plan(config)
    stages: dict[str, float] = {}
    rows = execute(cells, workers or default_workers(), progress, stages)
    frame = rows_to_frame(rows)
    comparison = compare_arms(frame, config.baseline_arm, summaries())

    staging = runs_dir / f".{run_id}.partial-{os.getpid()}"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    try:
        atomic_write_text(staging / "config.toml", resolved)
        write_metrics(staging / "metrics.parquet", frame)
        comparison.write_csv(staging / "comparison.csv")
        write_report(
            staging / "report.html",
            frame,
            comparison,
            title=f"feedlab · {config.name}",
            config_toml=resolved,
            metric_docs={m.name: f"{m.definition} Unit: {m.unit}." for m in METRICS},
        )
        if out.exists():
            out.rmdir()
        os.replace(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    wall = time.perf_counter() - started
    register_run(
        runs_dir,
        RunRecord(
            run_id=run_id,
            created_at=created.isoformat(),
            scenario=config.name,
            path=run_id,
            n_people=config.world.n_people,
            days=config.days,
            seeds=config.seeds,
            arms=[arm.name for arm in config.arms],
            config_sha256=digest,
            feedlab_version=__version__,
            wall_seconds=wall,
        ),
    )
    ticks = sum(
        (cell.warmup_days + cell.days) * round(24 / cell.world.tick_hours) for cell in cells
    )
    return RunResult(
        run_dir=out,
        frame=frame,
        comparison=comparison,
        wall_seconds=wall,
        stage_seconds=stages,
        ticks=ticks,
    )
