"""Run an experiment: every (arm, seed) cell, in parallel, into one run folder.

The folder is built under a hidden staging name and renamed into place only when every file is
written, so a run folder either holds complete results or does not exist. The catalog entry is
written last.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import queue
import shutil
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from feedlab import __version__
from feedlab.core.errors import ConfigError
from feedlab.core.kernels import kernel_threads_for
from feedlab.engine.run import Cell, MetricRow, add_stage_seconds
from feedlab.experiments.cells import (
    CELLS_DIR,
    CHECKPOINTS_DIR,
    CellOutcome,
    Checkpoints,
    pool_context,
    rows_from_frame,
    rows_to_frame,
    simulate_cell,
    simulate_in_worker,
    tail_threads,
)
from feedlab.experiments.config import ExperimentConfig, load_config
from feedlab.experiments.optimizer_log import split_optimizer_rows
from feedlab.experiments.resources import check_memory
from feedlab.experiments.summary import amplification, compare_arms
from feedlab.io.atomic import atomic_write_text
from feedlab.io.catalog import RunRecord, register_run, write_record
from feedlab.io.parquet import write_metrics
from feedlab.io.report import write_report
from feedlab.metrics.catalog import METRICS, summaries
from feedlab.world.clock import Clock

Progress = Callable[[int, int], None]
"""Called with (cell-days finished over all cells, cell-days in total)."""


@dataclass(frozen=True, slots=True)
class RunResult:
    """What a finished run left behind."""

    run_dir: Path
    frame: pl.DataFrame  # the daily metrics table
    comparison: pl.DataFrame  # each arm against the baseline
    wall_seconds: float
    stage_seconds: dict[str, float]  # seconds per tick stage, summed over cells
    ticks: int  # ticks simulated, summed over cells
    amplification: pl.DataFrame | None = None  # reach by content group vs the reference arm


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
            interventions=config.arm_interventions(index),
            adversaries=config.adversaries,
        )
        for replicate in range(config.seeds)
        for index, arm in enumerate(config.arms)
    ]


def execute(
    cells: list[Cell],
    workers: int,
    progress: Progress | None = None,
    stage_seconds: dict[str, float] | None = None,
    checkpoints: Checkpoints | None = None,
    engine: str = "local",
    address: str | None = None,
) -> list[MetricRow]:
    """Run cells in ``workers`` processes (in this process when ``workers`` is 1), or on Ray.

    A run of one cell runs in this process, its compiled kernels on up to ``workers`` threads
    (:func:`~feedlab.core.kernels.set_kernel_threads`); cells of a pool run on one thread each
    until fewer cells than workers are left, when the last cells share the idle cores as
    threads (:func:`tail_threads`).

    Results do not depend on the number of workers or the engine: each cell's streams come from
    its own seed. If ``stage_seconds`` is given, every cell's time per tick stage is added to it.
    With ``checkpoints``, finished cells are written as they finish and skipped when found, and
    (with the local engine) unfinished cells resume from their latest saved state.
    """
    check_engine(engine)
    total = sum(cell.total_days for cell in cells)
    done = [0] * len(cells)
    results: dict[int, list[MetricRow]] = {}
    if checkpoints is not None:
        for index, cell in enumerate(cells):
            if checkpoints.result(cell).exists():
                results[index] = rows_from_frame(pl.read_parquet(checkpoints.result(cell)))
                done[index] = cell.total_days

    def report(index: int, day: int) -> None:
        done[index] = day
        if progress is not None:
            progress(sum(done), total)

    def finish(outcome: CellOutcome) -> None:
        index, rows, stages = outcome
        results[index] = rows
        add_stage_seconds(stage_seconds, stages)
        if checkpoints is not None:
            checkpoints.save(cells[index], rows)

    todo = [index for index in range(len(cells)) if index not in results]
    if progress is not None:
        progress(sum(done), total)
    if engine == "ray":
        for outcome in _run_on_ray(cells, todo, workers, address):
            finish(outcome)
            report(outcome[0], cells[outcome[0]].total_days)
    elif workers <= 1 or len(todo) <= 1:
        # one cell alone gets the cores of the workers it leaves idle, as kernel threads
        with kernel_threads_for(workers if len(todo) == 1 else 1):
            for index in todo:
                finish(
                    simulate_cell(
                        cells[index], index, checkpoints, functools.partial(report, index)
                    )
                )
    else:
        context = pool_context()
        with context.Manager() as manager, ProcessPoolExecutor(workers, mp_context=context) as pool:
            channel = manager.Queue()
            threads = tail_threads(workers, len(todo))
            share = manager.Value("i", threads)
            pending: set[Future[CellOutcome]] = {
                pool.submit(simulate_in_worker, cells[index], index, checkpoints, channel, share)
                for index in todo
            }
            while pending:
                finished, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                if (now := tail_threads(workers, len(pending))) != threads:
                    threads = share.value = now
                while True:
                    try:
                        report(*channel.get_nowait())
                    except queue.Empty:
                        break
                for future in finished:
                    finish(future.result())
    return [row for index in range(len(cells)) for row in results[index]]


ENGINES = ("local", "ray")
"""Where cells run: a local process pool, or Ray (a local instance or an existing cluster)."""


def check_engine(engine: str) -> None:
    """Raise :class:`ConfigError` unless ``engine`` is one of :data:`ENGINES`."""
    if engine not in ENGINES:
        raise ConfigError(f"--engine must be one of {', '.join(ENGINES)}, got {engine!r}.")


def _run_on_ray(
    cells: list[Cell], todo: list[int], n_workers: int, address: str | None
) -> Iterator[CellOutcome]:
    """Run cells as Ray tasks, yielding each as it completes.

    A local instance talks over loopback only, reports no usage statistics and has a sized
    object store; tasks receive the picklable cell (seed and parameters), never a generator.
    Finished cells are written by the driver, so the run folder needs no shared storage.
    """
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    try:
        import ray
    except ImportError:
        raise ConfigError(
            "--engine ray must have Ray installed (pip install 'feedlab[ray]'), got no ray module."
        ) from None
    started = False
    if not ray.is_initialized():
        if address:
            ray.init(address=address, log_to_driver=False)
        else:
            ray.init(
                num_cpus=n_workers,
                include_dashboard=False,
                _node_ip_address="127.0.0.1",
                object_store_memory=256 * 1024**2,
                log_to_driver=False,
            )
        started = True
    try:
        remote = ray.remote(num_cpus=1)(simulate_cell)
        pending = [remote.remote(cells[index], index, None) for index in todo]
        while pending:
            finished, pending = ray.wait(pending, num_returns=1)
            yield ray.get(finished[0])
    finally:
        if started:
            ray.shutdown()


def default_workers() -> int:
    """One worker per available core."""
    return max(
        1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    )


PARTIAL_META = "run.json"
"""Inside a partial run folder: the run id and start time, so a resumed run keeps them."""


def partial_folder(out: Path) -> Path:
    """The hidden folder where the run ``out`` is built (and resumed from)."""
    return out.parent / f".{out.name}.partial"


def run_experiment(
    config: ExperimentConfig,
    *,
    runs_dir: Path = Path("runs"),
    out: Path | None = None,
    workers: int | None = None,
    progress: Progress | None = None,
    checkpoint_days: int = 5,
    on_start: Callable[[Path], None] | None = None,
    engine: str = "local",
    address: str | None = None,
) -> RunResult:
    """Run every cell of ``config`` and write the run folder and its catalog entry.

    The run is built in a hidden partial folder beside ``out`` that holds the resolved config,
    finished cells and checkpoints; it is renamed to ``out`` only when complete, so an
    interrupted run can be continued with :func:`resume_experiment`.

    Args:
        config: the validated experiment.
        runs_dir: where run folders and ``catalog.duckdb`` live (ignored when ``out`` is given:
            then the catalog lives in ``out``'s parent).
        out: the run folder to create; must not exist yet (or be empty).
        workers: processes to use (default: one per core).
        progress: progress callback.
        checkpoint_days: save every cell's state every this many simulated days (0: never).
        on_start: called with the run folder's path once the run is set up.
        engine: ``local`` processes or ``ray``.
        address: an existing Ray cluster (default: a local instance on 127.0.0.1).
    """
    check_engine(engine)
    created = datetime.now(UTC)
    resolved = config.to_toml()
    digest = hashlib.sha256(resolved.encode()).hexdigest()
    if out is None:
        out = runs_dir / f"{config.name}-{created:%Y%m%d-%H%M%S}-{digest[:8]}"
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ConfigError(f"--out must be a new or empty folder, got {str(out)!r}.")
    check_memory(config, workers or default_workers())
    staging = partial_folder(out)
    if (staging / PARTIAL_META).is_file():
        raise ConfigError(
            f"--out must not have an interrupted run, got {str(out)!r}; continue it with --resume {out}."
        )
    _stage(out, resolved, created.isoformat())
    if on_start is not None:
        on_start(out)
    return _complete(config, out, workers, progress, checkpoint_days, engine, address)


def resume_experiment(
    out: Path,
    *,
    workers: int | None = None,
    progress: Progress | None = None,
    checkpoint_days: int = 5,
    engine: str = "local",
    address: str | None = None,
) -> tuple[ExperimentConfig, RunResult]:
    """Continue an interrupted run: finished cells are kept, the others resume from checkpoints.

    Raises:
        ConfigError: if ``out`` has no interrupted run.
    """
    check_engine(engine)
    config = resumable_config(out)
    check_memory(config, workers or default_workers())
    return config, _complete(config, out, workers, progress, checkpoint_days, engine, address)


def resumable_config(out: Path) -> ExperimentConfig:
    """The config of the interrupted run ``out``.

    Raises:
        ConfigError: if ``out`` has no interrupted run.
    """
    staging = partial_folder(out)
    if not (staging / "config.toml").is_file() or not (staging / PARTIAL_META).is_file():
        done = " (it is already complete)" if (out / "metrics.parquet").exists() else ""
        raise ConfigError(f"--resume must name an interrupted run folder, got {str(out)!r}{done}.")
    return load_config(staging / "config.toml")


def _write_results(
    config: ExperimentConfig, out: Path, rows: list[MetricRow], started: float
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame | None]:
    """Write a run's folder and catalog entry from its rows; return what the summary shows.

    The folder is built in the partial folder, then renamed. Returns the metrics, the comparison
    and the amplification table (None without a reference arm).
    """
    staging = partial_folder(out)
    meta = json.loads((staging / PARTIAL_META).read_text(encoding="utf-8"))
    resolved = (staging / "config.toml").read_text(encoding="utf-8")
    digest = hashlib.sha256(resolved.encode()).hexdigest()
    runs_dir = out.parent
    frame, optimizer_values, optimizer_tests = split_optimizer_rows(rows_to_frame(rows))
    comparison = compare_arms(frame, config.baseline_arm, summaries())
    reference = config.reference_arm
    amplified = amplification(frame, reference) if reference is not None else None
    if optimizer_values.height:  # the platform optimizer's log (platform.optimizer.enabled)
        atomic_write_text(staging / "optimizer_values.csv", optimizer_values.write_csv())
        atomic_write_text(staging / "optimizer_tests.csv", optimizer_tests.write_csv())

    write_metrics(staging / "metrics.parquet", frame)
    atomic_write_text(staging / "comparison.csv", comparison.write_csv())
    if amplified is not None:
        atomic_write_text(staging / "amplification.csv", amplified.write_csv())
    write_report(
        staging / "report.html",
        frame,
        comparison,
        title=f"feedlab · {config.name}",
        config_toml=resolved,
        metric_docs={m.name: f"{m.definition} Unit: {m.unit}." for m in METRICS},
        amplification=amplified,
        reference=reference,
    )
    for scratch in (CELLS_DIR, CHECKPOINTS_DIR, PARTIAL_META):
        path = staging / scratch
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
    wall = time.perf_counter() - started
    record = RunRecord(
        run_id=meta["run_id"],
        created_at=meta["created_at"],
        scenario=config.name,
        path=out.name,
        n_people=config.world.n_people,
        days=config.days,
        seeds=config.seeds,
        arms=[arm.name for arm in config.arms],
        config_sha256=digest,
        feedlab_version=__version__,
        wall_seconds=wall,
    )
    write_record(staging, record)  # the folder carries its own row (catalog.recover_runs)
    if out.exists():
        out.rmdir()
    os.replace(staging, out)
    register_run(runs_dir, record)
    return frame, comparison, amplified


def save_run(
    config: ExperimentConfig, rows: list[MetricRow], out: Path, created_at: str, started: float
) -> Path:
    """Write rows simulated elsewhere (a dashboard's live run) as a run folder and catalog it.

    Args:
        config: the experiment the rows come from (its seeds as simulated).
        rows: every cell's daily rows.
        out: the run folder to create; must not exist yet.
        created_at: when the run started (ISO 8601).
        started: ``time.perf_counter()`` at its start, for the recorded wall time.
    """
    if out.exists():
        raise ConfigError(f"out must be a new folder, got {str(out)!r}.")
    _stage(out, config.to_toml(), created_at)
    _write_results(config, out, rows, started)
    return out


def _stage(out: Path, resolved: str, created_at: str) -> None:
    """Start the partial folder of ``out`` with the resolved config and the run's identity."""
    staging = partial_folder(out)
    if staging.exists():  # a start killed before it wrote its run.json: nothing to keep
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    atomic_write_text(staging / "config.toml", resolved)
    meta = {"run_id": out.name, "created_at": created_at}
    atomic_write_text(staging / PARTIAL_META, json.dumps(meta))


def _complete(
    config: ExperimentConfig,
    out: Path,
    workers: int | None,
    progress: Progress | None,
    checkpoint_days: int,
    engine: str,
    address: str | None,
) -> RunResult:
    started = time.perf_counter()
    staging = partial_folder(out)
    cells = plan(config)
    stages: dict[str, float] = {}
    checkpoints = Checkpoints(folder=staging, every_days=checkpoint_days)
    rows = execute(
        cells, workers or default_workers(), progress, stages, checkpoints, engine, address
    )
    frame, comparison, amplified = _write_results(config, out, rows, started)
    wall = time.perf_counter() - started
    ticks = sum(cell.total_days * Clock(cell.world.tick_hours).ticks_per_day for cell in cells)
    return RunResult(
        run_dir=out,
        frame=frame,
        comparison=comparison,
        wall_seconds=wall,
        stage_seconds=stages,
        ticks=ticks,
        amplification=amplified,
    )
