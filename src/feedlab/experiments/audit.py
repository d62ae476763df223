"""Sock-puppet audits: a TOML spec in, a run folder out (Parquet, report, catalog entry).

An audit runs scripted puppet accounts (personas, :mod:`feedlab.behaviour.personas`) inside a
simulated society against the audited recommender and, side by side, against a control
(chronological or random feeds), and measures what each persona is recommended over time
(:mod:`feedlab.metrics.audit`). The audited recommender can be any registered ranker, an
external Python recommender or one served over HTTP (``ranker = "external"``,
:mod:`feedlab.platform.external`).

The run folder holds ``config.toml`` (the resolved spec), ``audit.parquet`` (arm, seed, persona,
step, measure, value), ``amplification.csv`` (per persona and content set, the Huszár et al. 2022
ratio), ``summary.csv`` (per persona and arm, mean of each measure and the forgetting time) and
``report.html``; it is registered in the runs catalog. It is built in a hidden partial folder:
if the recommender fails part-way, the error names the request and the rows measured so far stay
in that folder.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Literal

import numpy as np
import polars as pl
import tomli_w
from pydantic import Field, ValidationError, model_validator

from feedlab import __version__
from feedlab.behaviour.params import BehaviourParams
from feedlab.behaviour.personas import PersonaParams
from feedlab.core.errors import ConfigError, SimError, UnknownComponentError, did_you_mean
from feedlab.core.params import Params
from feedlab.engine.puppets import AuditCell, AuditRow, run_audit_cell
from feedlab.experiments.config import (
    ArmConfig,
    ExperimentConfig,
    format_errors,
    require_unique_names,
)
from feedlab.experiments.resources import check_memory
from feedlab.io.atomic import atomic_path, atomic_write_text
from feedlab.io.audit_report import write_audit_report
from feedlab.io.catalog import RunRecord, register_run
from feedlab.metrics.audit import CONTENT_SETS, FEED_MEASURES, amplification, forgetting_steps
from feedlab.platform.rankers.base import Ranker
from feedlab.platform.rankers.registry import RANKERS
from feedlab.platform.state import PlatformParams
from feedlab.world.clock import Clock
from feedlab.world.world import WorldParams

AUDIT_PACKAGE = "feedlab.experiments.audits"
AUDIT_COLUMNS = {
    "arm": pl.Utf8,
    "seed": pl.Int64,
    "persona": pl.Utf8,
    "step": pl.Int64,
    "measure": pl.Utf8,
    "value": pl.Float64,
}
"""Columns of ``audit.parquet``, in order."""


class AuditSpec(Params):
    """A sock-puppet audit.

    Attributes:
        name: audit name, used in the run folder's name.
        description: what the audit asks.
        seeds: societies simulated; society ``i`` uses seed ``root_seed + i``.
        root_seed: seed of the first society.
        warmup_days: days the society runs before the puppets' first session.
        steps: sessions per puppet.
        step_ticks: ticks between two sessions of a puppet.
        puppets: fresh puppet accounts per persona and arm.
        follow: the puppets' seed set: the ``popular`` (most followed) or ``random`` accounts.
        n_follow: accounts in the seed set.
        scroll: posts a puppet scrolls through (and that are measured) at the top of each feed.
        world: the society (``n_people`` excludes puppets).
        behaviour: how the society's people act.
        platform: platform settings.
        society: the ranker of everyone else's feeds (its ``name`` is only a label).
        audited: the recommender under audit.
        control: the control arm (chronological or random feeds).
        personas: the scripts, each run by ``puppets`` puppets under each arm.
    """

    name: str = Field("audit", min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    description: str = ""
    seeds: int = Field(1, ge=1, le=100)
    root_seed: int = Field(20261122, ge=0, lt=2**63)
    warmup_days: int = Field(2, ge=0, le=60)
    steps: int = Field(48, ge=1, le=10_000)
    step_ticks: int = Field(1, ge=1, le=24 * 30)
    puppets: int = Field(20, ge=1, le=10_000)
    follow: Literal["popular", "random"] = "popular"
    n_follow: int = Field(100, ge=1, le=100_000)
    scroll: int = Field(10, ge=1, le=1000)
    world: WorldParams = WorldParams(n_people=3000)
    behaviour: BehaviourParams = BehaviourParams()
    platform: PlatformParams = PlatformParams()
    society: ArmConfig = ArmConfig(name="society", ranker="engagement")
    audited: ArmConfig = ArmConfig(name="engagement", ranker="engagement")
    control: ArmConfig = ArmConfig(name="random", ranker="random")
    personas: list[PersonaParams] = Field(min_length=1, max_length=32)

    @model_validator(mode="after")
    def _consistent(self) -> AuditSpec:
        require_unique_names("personas", [p.name for p in self.personas])
        if self.audited.name == self.control.name:
            raise ConfigError(
                f"control.name must differ from audited.name, got {self.control.name!r} for both."
            )
        if self.n_follow >= self.world.n_people:
            raise ConfigError(
                f"n_follow must be less than world.n_people ({self.world.n_people}), got {self.n_follow}."
            )
        for i, persona in enumerate(self.personas):
            if persona.kind == "extreme-then-neutral" and persona.switch_step >= self.steps:
                raise ConfigError(
                    f"personas[{i}].switch_step must be below steps ({self.steps}), got {persona.switch_step}."
                )
        for where in ("society", "audited", "control"):
            self.ranker(where)
        return self

    def ranker(self, where: str) -> Ranker:
        """A fresh ranker of ``society``, ``audited`` or ``control``."""
        arm: ArmConfig = getattr(self, where)
        try:
            return RANKERS.create(arm.ranker, **arm.ranker_params)
        except ValidationError as error:
            raise ConfigError(format_errors(error, prefix=f"{where}.ranker_params")) from None
        except TypeError as error:
            raise ConfigError(
                f"{where}.ranker_params are not accepted by {arm.ranker}: {error}."
            ) from None

    def cells(self) -> list[AuditCell]:
        """One :class:`AuditCell` per seed."""
        return [
            AuditCell(
                seed=self.root_seed + i,
                world=self.world,
                behaviour=self.behaviour,
                platform=self.platform,
                society_ranker=self.ranker("society"),
                arms=(
                    (self.audited.name, self.ranker("audited")),
                    (self.control.name, self.ranker("control")),
                ),
                personas=tuple(self.personas),
                puppets=self.puppets,
                warmup_days=self.warmup_days,
                steps=self.steps,
                step_ticks=self.step_ticks,
                follow=self.follow,
                n_follow=self.n_follow,
                scroll=self.scroll,
            )
            for i in range(self.seeds)
        ]

    def as_experiment(self) -> ExperimentConfig:
        """The society with its puppets as a one-arm, one-seed experiment (for the memory check)."""
        puppets = 2 * len(self.personas) * self.puppets
        world = self.world.model_copy(update={"n_people": self.world.n_people + puppets})
        return ExperimentConfig(
            name=self.name,
            seeds=1,
            world=world,
            behaviour=self.behaviour,
            platform=self.platform,
            arms=[ArmConfig(name="society", ranker="random")],
        )

    def to_toml(self) -> str:
        """The fully resolved spec as TOML."""
        return tomli_w.dumps(self.model_dump(mode="json"))


def audit_names() -> list[str]:
    """Names of the built-in audit specs."""
    files = resources.files(AUDIT_PACKAGE).iterdir()
    return sorted(f.name[:-5] for f in files if f.name.endswith(".toml"))


def load_audit(source: str | Path, overrides: list[str] | None = None) -> AuditSpec:
    """Load a built-in audit by name or a TOML file, apply ``--set`` overrides and validate.

    Raises:
        ConfigError: for malformed TOML, unknown keys and out-of-range values.
        UnknownComponentError: for an unknown built-in audit or ranker.
    """
    from feedlab.experiments.config import apply_override

    path = Path(source)
    if str(source).endswith(".toml") or path.exists():
        if not path.is_file():
            raise ConfigError(f"audit spec file must exist, got {str(source)!r}.")
        text = path.read_text(encoding="utf-8")
    else:
        names = audit_names()
        if str(source) not in names:
            hint = did_you_mean(str(source), names)
            raise UnknownComponentError(
                f"Unknown audit {str(source)!r}.{hint} Built-in audits: {', '.join(names)}."
            )
        text = (resources.files(AUDIT_PACKAGE) / f"{source}.toml").read_text(encoding="utf-8")
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{source} must be valid TOML: {error}.") from None
    for assignment in overrides or []:
        apply_override(raw, assignment)
    try:
        return AuditSpec.model_validate(raw)
    except ValidationError as error:
        raise ConfigError(format_errors(error, model=AuditSpec)) from None


@dataclass(frozen=True, slots=True)
class AuditResult:
    """What a finished audit left behind."""

    run_dir: Path
    frame: pl.DataFrame  # the long audit table
    amplification: pl.DataFrame  # persona, content, exposures, amplification
    summary: pl.DataFrame  # persona, arm, measure, mean
    wall_seconds: float


def rows_to_frame(rows: list[AuditRow]) -> pl.DataFrame:
    """The long audit table from rows, sorted by its keys."""
    return pl.DataFrame(rows, schema=AUDIT_COLUMNS, orient="row").sort(
        "arm", "seed", "persona", "step", "measure"
    )


def amplification_table(frame: pl.DataFrame, spec: AuditSpec) -> pl.DataFrame:
    """Per persona and content set: mean exposure per session under each arm, and the ratio."""
    exposure = (
        frame.filter(pl.col("measure").str.starts_with("exposure."))
        .group_by("arm", "persona", "measure")
        .agg(pl.col("value").mean())
    )
    by = {(a, p, m): v for a, p, m, v in exposure.iter_rows()}
    records = []
    for persona in spec.personas:
        for content in CONTENT_SETS:
            key = f"exposure.{content}"
            audited = by.get((spec.audited.name, persona.name, key), float("nan"))
            control = by.get((spec.control.name, persona.name, key), float("nan"))
            records.append(
                (persona.name, content, audited, control, amplification(audited, control))
            )
    return pl.DataFrame(
        records,
        schema={
            "persona": pl.Utf8,
            "content": pl.Utf8,
            "audited_exposure": pl.Float64,
            "control_exposure": pl.Float64,
            "amplification": pl.Float64,
        },
        orient="row",
    )


def summary_table(frame: pl.DataFrame, spec: AuditSpec) -> pl.DataFrame:
    """Per persona and arm: the mean of each feed measure over steps and seeds.

    ``extreme-then-neutral`` personas also get ``forgetting_steps``, measured against the first
    ``neutral`` persona of the spec (:func:`~feedlab.metrics.audit.forgetting_steps`).
    """
    means = (
        frame.filter(pl.col("measure").is_in(FEED_MEASURES))
        .group_by("persona", "arm", "measure")
        .agg(pl.col("value").mean().alias("value"))
    )
    records = list(means.iter_rows())
    neutral = next((p for p in spec.personas if p.kind == "neutral"), None)
    for persona in spec.personas:
        if persona.kind != "extreme-then-neutral" or neutral is None:
            continue
        for arm in (spec.audited.name, spec.control.name):

            def series(name: str, arm: str = arm) -> np.ndarray:
                part = frame.filter(
                    (pl.col("arm") == arm)
                    & (pl.col("persona") == name)
                    & (pl.col("measure") == "toward_side")
                )
                by_step = part.group_by("step").agg(pl.col("value").mean()).sort("step")
                return by_step["value"].to_numpy()

            own = series(persona.name)
            # The neutral reference leans toward this persona's side, not its own.
            reference = series(neutral.name) * persona.sign * neutral.sign
            records.append(
                (
                    persona.name,
                    arm,
                    "forgetting_steps",
                    forgetting_steps(own, reference, persona.switch_step),
                )
            )
    return pl.DataFrame(
        records,
        schema={"persona": pl.Utf8, "arm": pl.Utf8, "measure": pl.Utf8, "value": pl.Float64},
        orient="row",
    ).sort("persona", "arm", "measure")


def run_audit(
    spec: AuditSpec,
    *,
    runs_dir: Path = Path("runs"),
    out: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> AuditResult:
    """Run every seed of ``spec`` and write the run folder and its catalog entry.

    Args:
        spec: the validated audit.
        runs_dir: where run folders and ``catalog.duckdb`` live (ignored when ``out`` is given).
        out: the run folder to create; must not exist yet (or be empty).
        progress: called with (puppet steps finished, steps in total) over all seeds.

    Raises:
        SimError: if the recommender fails (the error names the request); the rows measured so
            far are kept in the hidden partial folder beside ``out``, named in the message.
    """
    started = time.perf_counter()
    created = datetime.now(UTC)
    resolved = spec.to_toml()
    digest = hashlib.sha256(resolved.encode()).hexdigest()
    if out is None:
        out = runs_dir / f"{spec.name}-{created:%Y%m%d-%H%M%S}-{digest[:8]}"
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ConfigError(f"--out must be a new or empty folder, got {str(out)!r}.")
    check_memory(spec.as_experiment(), workers=1)
    staging = out.parent / f".{out.name}.partial"
    if staging.exists():
        shutil.rmtree(staging)
    (staging / "cells").mkdir(parents=True)
    atomic_write_text(staging / "config.toml", resolved)
    cells = spec.cells()
    total = len(cells) * spec.steps
    rows: list[AuditRow] = []
    for i, cell in enumerate(cells):
        cell_rows: list[AuditRow] = []

        def on_step(done: int, i: int = i) -> None:
            if progress is not None:
                progress(i * spec.steps + done, total)

        try:
            run_audit_cell(cell, on_step=on_step, rows=cell_rows)
        except SimError as error:
            target = staging / "cells" / f"{cell.seed}.failed.parquet"
            with atomic_path(target) as tmp:
                rows_to_frame(cell_rows).write_parquet(tmp)
            kept = f"{i} finished seeds, {len(cell_rows)} rows of seed {cell.seed}"
            raise type(error)(
                f"{error} Results measured so far are kept in {staging} ({kept})."
            ) from None
        with atomic_path(staging / "cells" / f"{cell.seed}.parquet") as tmp:
            rows_to_frame(cell_rows).write_parquet(tmp)
        rows.extend(cell_rows)

    frame = rows_to_frame(rows)
    amp = amplification_table(frame, spec)
    summary = summary_table(frame, spec)
    with atomic_path(staging / "audit.parquet") as tmp:
        frame.write_parquet(tmp, compression="zstd", statistics=True)
    atomic_write_text(staging / "amplification.csv", amp.write_csv(float_precision=6))
    atomic_write_text(staging / "summary.csv", summary.write_csv(float_precision=6))
    write_audit_report(
        staging / "report.html",
        frame,
        amp,
        summary,
        title=f"feedlab audit · {spec.name}",
        description=spec.description,
        config_toml=resolved,
        arms=(spec.audited.name, spec.control.name),
        personas=tuple(p.name for p in spec.personas),
    )
    shutil.rmtree(staging / "cells")
    if out.exists():
        out.rmdir()
    os.replace(staging, out)
    wall = time.perf_counter() - started
    ticks_per_day = Clock(spec.world.tick_hours).ticks_per_day
    days = spec.warmup_days + -(-spec.steps * spec.step_ticks // ticks_per_day)
    register_run(
        out.parent,
        RunRecord(
            run_id=out.name,
            created_at=created.isoformat(),
            scenario=spec.name,
            path=out.name,
            n_people=spec.world.n_people,
            days=max(1, days),
            seeds=spec.seeds,
            arms=[spec.audited.name, spec.control.name],
            config_sha256=digest,
            feedlab_version=__version__,
            wall_seconds=wall,
        ),
    )
    return AuditResult(
        run_dir=out, frame=frame, amplification=amp, summary=summary, wall_seconds=wall
    )
