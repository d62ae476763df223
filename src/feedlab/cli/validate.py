"""``feedlab validate``: reproduce published findings and print the verdicts as a table."""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from feedlab.experiments.runner import default_workers
from feedlab.io.atomic import atomic_write_text

if TYPE_CHECKING:
    from feedlab.validation.harness import Check, Outcome
    from feedlab.validation.suite import Size


def validate_command(
    quick: Annotated[
        bool, typer.Option("--quick", help="Small sizes (a few minutes; used in CI).")
    ] = False,
    workers: Annotated[
        int | None,
        typer.Option("--workers", min=1, max=256, help="Worker processes (default: one per core)."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Also write every simulation's measurements and the verdicts to this JSON file.",
        ),
    ] = None,
) -> None:
    """Reproduce published findings on default parameters; exit 0 only if all pass."""
    if out is not None and not out.parent.is_dir():
        Console(stderr=True).print(
            f"[bold red]error:[/] --out must be a file in an existing folder, got {str(out)!r}.",
            highlight=False,
        )
        raise typer.Exit(code=2)
    # the validation suite (with its statistics) loads only for this command
    from feedlab.validation.harness import run_tasks
    from feedlab.validation.suite import FULL, QUICK, judge, plan

    size = QUICK if quick else FULL
    console, err = Console(width=160), Console(stderr=True)
    started = time.perf_counter()
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("simulations"),
        TimeElapsedColumn(),
        console=err,
    ) as bar:
        task = bar.add_task("validation society", total=len(plan(size)))

        def done(_: Outcome) -> None:
            bar.advance(task)

        outcomes = run_tasks(plan(size), workers or default_workers(), on_done=done)
    seconds = time.perf_counter() - started
    if out is not None:  # the simulations are kept even if a judge fails
        _write(out, size, seconds, outcomes, None)
    checks = judge(outcomes)
    console.print(verdict_table(checks, "quick" if quick else "full", seconds))
    passed = sum(c.passed for c in checks)
    console.print(f"{passed} passed, {len(checks) - passed} failed")
    if out is not None:
        _write(out, size, seconds, outcomes, checks)
    if passed < len(checks):
        raise typer.Exit(code=1)


def _write(
    out: Path, size: Size, seconds: float, outcomes: list[Outcome], checks: list[Check] | None
) -> None:
    """The run as JSON: sizes, seconds, every simulation's measurements, then the verdicts."""
    record: dict[str, object] = {
        "size": asdict(size),
        "seconds": seconds,
        "outcomes": [asdict(o) for o in outcomes],
    }
    if checks is not None:
        record["checks"] = [asdict(c) for c in checks]
    atomic_write_text(out, json.dumps(record, indent=2))


def verdict_table(checks: list[Check], mode: str, seconds: float) -> Table:
    """The validation table: finding, claim, source, reported, measured (95% CI), verdict."""
    table = Table(title=f"feedlab validate ({mode}, {seconds:.0f} s)", show_lines=False)
    for column in ("finding", "claim", "source", "reported", "measured [95% CI]", "verdict"):
        table.add_column(column, overflow="fold")
    last = ""
    for c in checks:
        table.add_row(
            c.finding if c.finding != last else "",
            c.claim,
            c.source if c.finding != last else "",
            c.reported,
            c.measured,
            "[green]pass[/]" if c.passed else "[red]FAIL[/]",
        )
        last = c.finding
    return table
