"""``feedlab`` commands: ``run`` an experiment, ``sweep`` a grid, list ``runs`` and ``scenarios``.

Bad input of any kind ends in one paragraph naming the field, what is allowed and (where it
helps) a did-you-mean, with exit code 2 and no traceback.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Annotated

import polars as pl
import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from feedlab.cli.validate import validate_command
from feedlab.core.errors import ConfigError, SimError
from feedlab.experiments.config import (
    DEFAULT_SCENARIO,
    ExperimentConfig,
    load_config,
    scenario_names,
    scenario_text,
)
from feedlab.experiments.resources import check_memory
from feedlab.experiments.runner import (
    check_engine,
    default_workers,
    resumable_config,
    resume_experiment,
    run_experiment,
)
from feedlab.experiments.summary import run_values
from feedlab.experiments.sweep import load_sweep, run_sweep
from feedlab.io.catalog import CATALOG_FILE, list_runs, recover_runs
from feedlab.metrics.catalog import summaries

app = typer.Typer(
    name="feedlab",
    help="A laboratory for the attention economy: simulate a platform and what it does to people.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out_console = Console(width=None if sys.stdout.isatty() else 120)
err_console = Console(stderr=True)


Workers = Annotated[
    int | None,
    typer.Option("--workers", min=1, max=256, help="Worker processes (default: one per core)."),
]
Engine = Annotated[str, typer.Option("--engine", help="local (process pool) or ray.")]
Address = Annotated[
    str | None,
    typer.Option("--address", help="An existing Ray cluster (default: start one on 127.0.0.1)."),
]


def _fail(error: Exception) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {error}", highlight=False, soft_wrap=True)
    return typer.Exit(code=2)


@app.command()
def run(
    scenario: Annotated[
        str, typer.Argument(help="Built-in scenario name or path to a TOML file.")
    ] = DEFAULT_SCENARIO,
    people: Annotated[
        int | None, typer.Option("--people", help="Number of people (world.n_people).")
    ] = None,
    days: Annotated[int | None, typer.Option("--days", help="Simulated days (days).")] = None,
    seeds: Annotated[
        int | None, typer.Option("--seeds", help="Replicates per arm (seeds).")
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Run folder to create (default: ./runs/<name>-<time>-<hash>)."),
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override any config key: dotted.key=value (repeatable)."),
    ] = None,
    workers: Workers = None,
    profile: Annotated[
        bool, typer.Option("--profile", help="Print where a tick's time goes, stage by stage.")
    ] = False,
    resume: Annotated[
        Path | None,
        typer.Option("--resume", help="Continue an interrupted run (its folder, as printed)."),
    ] = None,
    checkpoint_days: Annotated[
        int,
        typer.Option(
            "--checkpoint-days", min=0, max=3650, help="Save each cell every N days (0: never)."
        ),
    ] = 5,
    engine: Engine = "local",
    address: Address = None,
) -> None:
    """Run an experiment and print each arm's difference to the baseline with 95% CIs."""
    overrides = list(set_ or [])
    for key, value in (("world.n_people", people), ("days", days), ("seeds", seeds)):
        if value is not None:
            overrides.append(f"{key}={value}")
    started_at: list[Path] = []
    try:
        check_engine(engine)
        if resume is not None:
            config = resumable_config(resume)
        else:
            config = load_config(scenario, overrides)
        check_memory(config, workers or default_workers())
        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("person-days"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=err_console,
            transient=False,
        ) as bar:
            n_cells = len(config.arms) * config.seeds
            task = bar.add_task(
                f"{config.name}: {len(config.arms)} arms × {config.seeds} seeds × {config.days} days",
                total=n_cells * (config.warmup_days + config.days) * config.world.n_people,
            )

            def progress(done: int, total: int) -> None:
                bar.update(task, completed=done * config.world.n_people)

            if resume is not None:
                started_at.append(resume)
                _, result = resume_experiment(
                    resume,
                    workers=workers,
                    progress=progress,
                    checkpoint_days=checkpoint_days,
                    engine=engine,
                    address=address,
                )
            else:
                result = run_experiment(
                    config,
                    out=out,
                    workers=workers,
                    progress=progress,
                    checkpoint_days=checkpoint_days,
                    on_start=started_at.append,
                    engine=engine,
                    address=address,
                )
    except SimError as error:
        raise _fail(error) from None
    except KeyboardInterrupt:
        if started_at:
            err_console.print(f"interrupted: continue with  feedlab run --resume {started_at[0]}")
        else:
            err_console.print("interrupted before the run started: nothing was written.")
        raise typer.Exit(code=130) from None
    print_summary(config, result.comparison)
    print_amplification(result.amplification, config.reference_arm)
    if profile:
        print_profile(result.stage_seconds, result.ticks)
    out_console.print(
        f"\n{len(config.arms)} arms × {config.seeds} seeds × {config.days} days × "
        f"{config.world.n_people:,} people in {result.wall_seconds:.1f} s"
    )
    out_console.print(f"results: {result.run_dir}  (metrics.parquet, report.html, config.toml)")


def _fmt(value: float, digits: int = 4) -> str:
    return (
        "—"
        if value is None or (isinstance(value, float) and math.isnan(value))
        else f"{value:.{digits}g}"
    )


def print_summary(config: ExperimentConfig, comparison: pl.DataFrame) -> None:
    """Print, per metric, the baseline's mean and each arm's mean and paired difference to it.

    Each difference carries its 95% confidence interval over seeds and the number of seeds it
    rests on; ``*`` marks an interval that excludes 0 and ``n.s.`` one that does not.
    """
    baseline = config.baseline_arm
    arms = [arm.name for arm in config.arms]
    table = Table(
        title=f"{config.name}: paired difference to {baseline!r}, 95% CI over {config.seeds} seeds"
    )
    for column in ("metric", "arm", "mean", "Δ vs baseline [95% CI]", "n", ""):
        table.add_column(column, justify="left" if column in ("metric", "arm") else "right")
    by = {(r["arm"], r["metric"]): r for r in comparison.iter_rows(named=True)}
    silent = _silent_metrics(comparison)
    for metric in comparison["metric"].unique(maintain_order=True):
        if metric in silent:
            continue
        present = [arm for arm in arms if (arm, metric) in by]
        for i, arm in enumerate(present):
            r = by[(arm, metric)]
            last = i == len(present) - 1
            if arm == baseline:
                table.add_row(
                    metric, arm, _fmt(r["mean"]), "baseline", str(r["n_seeds"]), "",
                    end_section=last,
                )  # fmt: skip
                continue
            ci = f"[{_fmt(r['diff_ci_low'], 3)}, {_fmt(r['diff_ci_high'], 3)}]"
            flag = "*" if r["distinguishable"] else "n.s."
            n = r.get("n_pairs", r["n_seeds"])
            table.add_row(
                metric if i == 0 else "", arm, _fmt(r["mean"]), f"{_fmt(r['diff'], 3)} {ci}",
                str(n), flag, end_section=last,
            )  # fmt: skip
    out_console.print(table)
    out_console.print(
        "* the 95% interval of the paired difference excludes 0; "
        "n.s. not distinguishable from 0; n: seeds paired."
    )
    if silent:
        out_console.print(
            f"not shown, 0 or undefined in every arm (no such mechanism in this experiment; "
            f"in comparison.csv): {', '.join(silent)}"
        )


def _silent_metrics(comparison: pl.DataFrame) -> list[str]:
    """Metrics whose mean is 0 or undefined in every arm: they say nothing about this experiment."""
    means = comparison.group_by("metric", maintain_order=True).agg(
        (pl.col("mean").is_nan() | pl.col("mean").is_null() | (pl.col("mean") == 0)).all()
    )
    return means.filter(pl.col("mean"))["metric"].to_list()


def print_amplification(amplified: pl.DataFrame | None, reference: str | None) -> None:
    """Print each content group's amplification under each arm against the reference arm."""
    if amplified is None or amplified.height == 0 or reference is None:
        return
    table = Table(title=f"amplification: reach under each arm ÷ reach under {reference!r} − 1")
    for column in ("group", "arm", "amplification [95% CI]", "n", ""):
        table.add_column(column, justify="left" if column in ("group", "arm") else "right")
    previous = None
    for r in amplified.iter_rows(named=True):
        low, high = r["ci_low"], r["ci_high"]
        ci = "" if math.isnan(low) else f" [{low:+.1%}, {high:+.1%}]"
        table.add_row(
            r["group"] if r["group"] != previous else "",
            r["arm"],
            f"{r['amplification']:+.1%}{ci}",
            str(r["n_seeds"]),
            "*" if r["distinguishable"] else "n.s.",
        )
        previous = r["group"]
    out_console.print(table)


def print_profile(stage_seconds: dict[str, float], ticks: int) -> None:
    """Print milliseconds per tick and share of time for each stage of a tick."""
    total = sum(stage_seconds.values()) or 1.0
    table = Table(title=f"time per tick by stage ({ticks:,} ticks over all cells)")
    table.add_column("stage")
    table.add_column("ms per tick", justify="right")
    table.add_column("share", justify="right")
    for stage, seconds in sorted(stage_seconds.items(), key=lambda item: -item[1]):
        table.add_row(stage, f"{1000 * seconds / max(ticks, 1):.2f}", f"{seconds / total:.0%}")
    table.add_row("all", f"{1000 * total / max(ticks, 1):.2f}", "100%")
    out_console.print(table)


HEADLINE = ("time_spent_min", "impressions_outrage_share", "opinion_variance", "wellbeing_mean")
"""Metrics the sweep summary prints for every point and arm."""


@app.command()
def sweep(
    file: Annotated[Path, typer.Argument(help="Sweep TOML: an experiment plus a [sweep] table.")],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", help="Sweep folder (default: ./runs/<name>-sweep-<hash>; re-running resumes)."
        ),
    ] = None,
    workers: Workers = None,
    engine: Engine = "local",
    address: Address = None,
) -> None:
    """Run an experiment over a grid of parameters; finished cells are kept and skipped on re-run."""
    try:
        spec = load_sweep(file)
        folder = out or Path("runs") / f"{spec.name}-sweep-{spec.digest[:8]}"
        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("cell-days"),
            TimeElapsedColumn(),
            console=err_console,
        ) as bar:
            task = bar.add_task(f"{spec.name}: {len(spec.points)} points", total=None)

            def progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            frame = run_sweep(
                spec, folder, workers=workers, progress=progress, engine=engine, address=address
            )
    except SimError as error:
        raise _fail(error) from None
    table = Table(title=f"{spec.name}: mean over seeds of each run's summary")
    for column in ("point", "settings", "arm", *HEADLINE):
        table.add_column(column, justify="right" if column in HEADLINE else "left")
    for point in spec.points:
        values = run_values(frame.filter(pl.col("point") == point.id).drop("point"), summaries())
        means = values.group_by("arm", "metric", maintain_order=True).agg(pl.col("value").mean())
        settings = ", ".join(f"{k.rsplit('.', 1)[-1]}={v}" for k, v in point.assignments.items())
        for arm in point.config.arms:
            by_metric = dict(
                means.filter(pl.col("arm") == arm.name).select("metric", "value").iter_rows()
            )
            table.add_row(
                point.id,
                settings,
                arm.name,
                *(_fmt(by_metric.get(m, float("nan"))) for m in HEADLINE),
            )
    out_console.print(table)
    out_console.print(
        f"results: {folder}  (metrics.parquet with a point column, cells/, sweep.toml)"
    )


@app.command()
def runs(
    runs_dir: Annotated[
        Path, typer.Option("--runs-dir", help="Folder holding run folders and catalog.duckdb.")
    ] = Path("runs"),
) -> None:
    """List past runs from the DuckDB catalog, newest first."""
    try:
        recovered = recover_runs(runs_dir)  # finished runs whose catalog entry was lost
    except SimError as error:
        raise _fail(error) from None
    if not (runs_dir / CATALOG_FILE).is_file():
        raise _fail(ConfigError(f"--runs-dir must hold a {CATALOG_FILE}, got {str(runs_dir)!r}."))
    if recovered:
        err_console.print(f"entered {len(recovered)} finished run(s) missing from the catalog")
    try:
        frame = list_runs(runs_dir)
    except SimError as error:
        raise _fail(error) from None
    table = Table(title=f"runs in {runs_dir}")
    for column in ("run_id", "created_at", "n_people", "days", "seeds", "arms", "wall s"):
        table.add_column(
            column, justify="right" if column in ("n_people", "days", "seeds", "wall s") else "left"
        )
    for row in frame.iter_rows(named=True):
        table.add_row(
            row["run_id"],
            row["created_at"][:19],
            f"{row['n_people']:,}",
            str(row["days"]),
            str(row["seeds"]),
            ", ".join(row["arms"]),
            f"{row['wall_seconds']:.1f}",
        )
    out_console.print(table)


@app.command()
def scenarios(
    show: Annotated[str | None, typer.Option("--show", help="Print one scenario's TOML.")] = None,
) -> None:
    """List the built-in scenarios (or print one with --show)."""
    try:
        if show:
            out_console.print(scenario_text(show), highlight=False, markup=False)
            return
        table = Table(title="built-in scenarios")
        table.add_column("name")
        table.add_column("people", justify="right")
        table.add_column("days", justify="right")
        table.add_column("arms")
        table.add_column("description")
        for name in scenario_names():
            config = load_config(name)
            table.add_row(
                name,
                f"{config.world.n_people:,}",
                str(config.days),
                ", ".join(a.name for a in config.arms),
                config.description,
            )
        out_console.print(table)
    except SimError as error:
        raise _fail(error) from None


@app.command()
def audit(
    spec: Annotated[
        str, typer.Argument(help="Audit spec: a TOML file or a built-in audit name.")
    ] = "engagement",
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Run folder to create (default: ./runs/<name>-<time>-<hash>)."),
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override any spec key: dotted.key=value (repeatable)."),
    ] = None,
) -> None:
    """Audit a recommender with sock-puppet personas against a control; print amplification."""
    from feedlab.experiments.audit import load_audit, run_audit

    try:
        loaded = load_audit(spec, list(set_ or []))
        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("steps"),
            TimeElapsedColumn(),
            console=err_console,
        ) as bar:
            task = bar.add_task(
                f"{loaded.name}: {len(loaded.personas)} personas × {loaded.puppets} puppets",
                total=loaded.seeds * loaded.steps,
            )
            result = run_audit(
                loaded, out=out, progress=lambda done, total: bar.update(task, completed=done)
            )
    except SimError as error:
        raise _fail(error) from None
    table = Table(
        title=f"{loaded.name}: amplification of {loaded.audited.name} over {loaded.control.name}"
    )
    table.add_column("persona")
    contents = ("left", "right", "extreme", "false", "outrage")
    for column in contents:
        table.add_column(column, justify="right")
    amp = result.amplification
    for persona in loaded.personas:
        values = dict(
            amp.filter(pl.col("persona") == persona.name)
            .select("content", "amplification")
            .iter_rows()
        )
        table.add_row(persona.name, *(_fmt(values.get(c, float("nan")), 3) for c in contents))
    out_console.print(table)
    out_console.print("amplification = exposure under the audited ranker / under the control − 1")
    out_console.print(f"results: {result.run_dir}  (audit.parquet, amplification.csv, report.html)")


app.command(name="validate")(validate_command)


@app.command()
def serve(
    host: Annotated[
        str, typer.Option("--host", help="Address to bind; anything but loopback needs a token.")
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", min=1, max=65535, help="Port to listen on.")
    ] = 8765,
    runs_dir: Annotated[
        Path, typer.Option("--runs-dir", help="Folder holding run folders and catalog.duckdb.")
    ] = Path("runs"),
) -> None:
    """Start the control room: a web dashboard to launch, watch and explain runs."""
    from feedlab.web.serve import serve as serve_dashboard  # the web stack loads only here

    try:
        serve_dashboard(host=host, port=port, runs_dir=runs_dir, say=out_console.print)
    except SimError as error:
        raise _fail(error) from None


def main() -> None:
    """Entry point of the ``feedlab`` script."""
    try:
        app()
    except SimError as error:  # pragma: no cover - commands catch their own
        err_console.print(f"[bold red]error:[/] {error}", highlight=False)
        sys.exit(2)


if __name__ == "__main__":
    main()
