"""``feedlab validate``: reproduce published findings and print the verdicts as a table."""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from feedlab.experiments.runner import default_workers
from feedlab.io.atomic import atomic_write_text
from feedlab.validation.harness import Check, Outcome
from feedlab.validation.suite import FULL, QUICK, plan, validate


def validate_command(
    quick: Annotated[
        bool, typer.Option("--quick", help="Small sizes (a few minutes; used in CI).")
    ] = False,
    workers: Annotated[
        int | None,
        typer.Option("--workers", min=1, max=256, help="Worker processes (default: one per core)."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Also write the verdicts to this JSON file.")
    ] = None,
) -> None:
    """Reproduce published findings on default parameters; exit 0 only if all pass."""
    if out is not None and not out.parent.is_dir():
        Console(stderr=True).print(
            f"[bold red]error:[/] --out must be a file in an existing folder, got {str(out)!r}.",
            highlight=False,
        )
        raise typer.Exit(code=2)
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

        checks = validate(size, workers=workers or default_workers(), on_done=done)
    seconds = time.perf_counter() - started
    console.print(verdict_table(checks, "quick" if quick else "full", seconds))
    passed = sum(c.passed for c in checks)
    console.print(f"{passed} passed, {len(checks) - passed} failed")
    if out is not None:
        atomic_write_text(
            out,
            json.dumps(
                {"size": asdict(size), "seconds": seconds, "checks": [asdict(c) for c in checks]},
                indent=2,
            ),
        )
    if passed < len(checks):
        raise typer.Exit(code=1)


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
