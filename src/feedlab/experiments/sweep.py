"""Sweeps: one experiment repeated over a grid or list of parameter values.

A sweep file is an experiment TOML plus a ``[sweep]`` table::

    [sweep]
    grid = { "behaviour.choice.arousal_weight" = [0.8, 1.6, 2.4] }   # Cartesian product
    points = [ { "world.n_people" = 2000 } ]                          # and/or explicit points

Cells run through the same executor as a single run
(:func:`feedlab.experiments.runner.execute`): every (point, arm, seed) cell is written to
``cells/`` atomically as soon as it finishes and checkpointed while it runs, so running the same
sweep into the same folder again skips finished cells and resumes the others. Results are sorted
by key before they are joined, so they do not depend on the number of workers or the order cells
finish in.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import polars as pl
import tomli_w
from pydantic import Field, ValidationError

from feedlab.core.errors import ConfigError
from feedlab.core.params import Params
from feedlab.engine.run import Cell
from feedlab.experiments.config import (
    ExperimentConfig,
    assign,
    format_errors,
    validate_config,
)
from feedlab.experiments.resources import check_memory
from feedlab.experiments.runner import (
    Checkpoints,
    Progress,
    check_engine,
    default_workers,
    execute,
    plan,
    rows_to_frame,
)
from feedlab.io.atomic import atomic_path, atomic_write_text

SWEEP_FILE = "sweep.toml"


class SweepSpec(Params):
    """The ``[sweep]`` table.

    Attributes:
        grid: dotted config key -> list of values; every combination is a point.
        points: explicit points, each a table of dotted key -> value (after the grid's).
    """

    grid: dict[str, list[Any]] = Field(default_factory=dict)
    points: list[dict[str, Any]] = Field(default_factory=list)


@dataclass(frozen=True, slots=True)
class SweepPoint:
    """One point of a sweep: its id, its assignments and the experiment they give."""

    id: str
    assignments: dict[str, Any]
    config: ExperimentConfig


@dataclass(frozen=True, slots=True)
class Sweep:
    """A validated sweep: the points and the resolved text that identifies it."""

    name: str
    points: list[SweepPoint]
    resolved: str  # the sweep file as TOML with every point's full config

    @property
    def digest(self) -> str:
        """SHA-256 of the resolved sweep."""
        return hashlib.sha256(self.resolved.encode()).hexdigest()


def load_sweep(path: Path) -> Sweep:
    """Read and validate a sweep file: the base experiment and every point's config.

    Raises:
        ConfigError: naming the point and key for any invalid value.
    """
    if not path.is_file():
        raise ConfigError(f"sweep file must exist, got {str(path)!r}.")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path} must be valid TOML: {error}.") from None
    if "sweep" not in raw:
        raise ConfigError(f"{path} must have a [sweep] table with grid and/or points, got none.")
    try:
        spec = SweepSpec.model_validate(raw.pop("sweep"))
    except ValidationError as error:
        raise ConfigError(format_errors(error, prefix="sweep", model=SweepSpec)) from None
    for key, values in spec.grid.items():
        if not values:
            raise ConfigError(f"sweep.grid.{key} must list at least one value, got [].")
    keys = list(spec.grid)
    combos = [
        dict(zip(keys, values, strict=True)) for values in itertools.product(*spec.grid.values())
    ]
    assignments = [c for c in combos if c] + list(spec.points)
    if not assignments:
        raise ConfigError(
            "sweep must define at least one point (sweep.grid or sweep.points), got none."
        )
    points = []
    for index, assignment in enumerate(assignments):
        base = copy.deepcopy(raw)
        try:
            for key, value in assignment.items():
                assign(base, key, copy.deepcopy(value), source="sweep")
            config = validate_config(base)
        except ConfigError as error:
            shown = ", ".join(f"{k}={v!r}" for k, v in assignment.items())
            raise ConfigError(f"sweep point {index} ({shown}): {error}") from None
        points.append(SweepPoint(id=f"p{index:03d}", assignments=assignment, config=config))
    resolved = tomli_w.dumps(
        {
            "sweep": {"points": [p.assignments for p in points]},
            "configs": {p.id: p.config.model_dump(mode="json") for p in points},
        }
    )
    name = points[0].config.name
    return Sweep(name=name, points=points, resolved=resolved)


def sweep_cells(sweep: Sweep) -> list[tuple[SweepPoint, Cell]]:
    """Every (point, cell) of the sweep; each cell is labelled with its point's id."""
    return [(p, replace(cell, label=p.id)) for p in sweep.points for cell in plan(p.config)]


def run_sweep(
    sweep: Sweep,
    out: Path,
    *,
    workers: int | None = None,
    progress: Progress | None = None,
    engine: str = "local",
    address: str | None = None,
    checkpoint_days: int = 5,
) -> pl.DataFrame:
    """Run every missing cell of ``sweep`` into ``out`` and return all results.

    Args:
        sweep: the validated sweep.
        out: the sweep folder; created if needed, resumed if it holds this sweep already.
        workers: processes (default one per core; 1 runs in this process). With Ray and no
            ``address``, the CPUs of the local Ray instance.
        progress: called with (cell-days done, cell-days in total).
        engine: ``local`` (a process pool) or ``ray``.
        address: an existing Ray cluster (``ray://host:10001`` or ``host:6379``); by default
            Ray starts a local instance bound to 127.0.0.1.
        checkpoint_days: with the local engine, save unfinished cells every this many days.

    Raises:
        ConfigError: if ``out`` holds a different sweep, or for an unknown engine.
    """
    check_engine(engine)
    marker = out / SWEEP_FILE
    if marker.exists():
        if marker.read_text(encoding="utf-8") != sweep.resolved:
            raise ConfigError(
                f"--out must be a new folder or hold this same sweep, got {str(out)!r} holding another sweep."
            )
    elif out.exists() and any(out.iterdir()):
        raise ConfigError(
            f"--out must be a new or empty folder (or this sweep's folder), got {str(out)!r}."
        )
    n_workers = workers or default_workers()
    if engine == "local":
        for point in sweep.points:
            check_memory(point.config, n_workers)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(marker, sweep.resolved)

    cells = [cell for _, cell in sweep_cells(sweep)]
    store = Checkpoints(folder=out, every_days=checkpoint_days)
    execute(cells, n_workers, progress, checkpoints=store, engine=engine, address=address)
    frame = collect(out, sweep)
    with atomic_path(out / "metrics.parquet") as tmp:
        frame.write_parquet(tmp, compression="zstd")
    return frame


def collect(out: Path, sweep: Sweep) -> pl.DataFrame:
    """All cells of ``sweep`` found in ``out``, sorted by (point, arm, seed, day, metric)."""
    store = Checkpoints(folder=out, every_days=0)
    frames = [
        pl.read_parquet(store.result(cell)).select(pl.lit(point.id).alias("point"), pl.all())
        for point, cell in sweep_cells(sweep)
        if store.result(cell).exists()
    ]
    if not frames:
        return rows_to_frame([]).select(pl.lit("").alias("point"), pl.all()).head(0)
    return pl.concat(frames).sort("point", "arm", "seed", "day", "metric")
