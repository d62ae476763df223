"""Interrupted runs resume to exactly the results of uninterrupted ones."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from feedlab.core.errors import ConfigError
from feedlab.engine.run import run_cell
from feedlab.experiments.config import ExperimentConfig, load_config
from feedlab.experiments.runner import (
    partial_folder,
    plan,
    resume_experiment,
    rows_to_frame,
    run_experiment,
)


class Stop(Exception):
    """Stands in for a crash at a chosen moment."""


def _config(seed: int, people: int = 300, days: int = 3) -> ExperimentConfig:
    return load_config(
        "social-dilemma",
        [
            f"world.n_people={people}",
            f"days={days}",
            "seeds=2",
            f"root_seed={seed}",
            "warmup_days=1",
        ],
    )


def test_a_cell_resumed_from_its_checkpoint_ends_with_the_same_rows(
    tmp_path: Path, seed: int
) -> None:
    cell = plan(_config(seed))[0]
    whole = run_cell(cell)
    checkpoint = tmp_path / "cell.pkl"

    def crash_on_day_3(day: int) -> None:
        if day == 3:
            raise Stop

    with pytest.raises(Stop):
        run_cell(cell, on_day=crash_on_day_3, checkpoint=checkpoint, checkpoint_days=2)
    assert checkpoint.exists()
    resumed = run_cell(cell, checkpoint=checkpoint, checkpoint_days=2)
    assert_frame_equal(rows_to_frame(resumed), rows_to_frame(whole))


def test_an_interrupted_experiment_resumes_to_the_uninterrupted_result(
    tmp_path: Path, seed: int
) -> None:
    config = _config(seed)
    reference = run_experiment(config, out=tmp_path / "whole", workers=1, checkpoint_days=0)
    out = tmp_path / "runs" / "interrupted"

    def crash_late(done: int, total: int) -> None:
        if done >= total - 2:
            raise Stop

    with pytest.raises(Stop):
        run_experiment(config, out=out, workers=1, progress=crash_late, checkpoint_days=1)
    staging = partial_folder(out)
    assert not out.exists()
    assert len(list((staging / "cells").iterdir())) == 3  # three of the four cells finished
    assert len(list((staging / "checkpoints").iterdir())) == 1
    with pytest.raises(ConfigError, match="continue it with --resume"):
        run_experiment(config, out=out, workers=1)

    _, resumed = resume_experiment(out, workers=1, checkpoint_days=1)
    assert not staging.exists()
    assert sorted(p.name for p in out.iterdir()) == [
        "amplification.csv", "catalog-entry.json", "comparison.csv", "config.toml", "metrics.parquet", "report.html",
    ]  # fmt: skip
    assert_frame_equal(resumed.frame, reference.frame)
    with pytest.raises(ConfigError, match="already complete"):
        resume_experiment(out)


def test_a_run_killed_with_sigkill_resumes_from_the_command_line(tmp_path: Path, seed: int) -> None:
    out = tmp_path / "killed"
    args = [
        sys.executable, "-c", "from feedlab.cli.main import main; main()", "run", "social-dilemma",
        "--people", "1500", "--days", "4", "--seeds", "1", "--workers", "1",
        "--set", f"root_seed={seed}", "--set", "warmup_days=0", "--checkpoint-days", "1",
    ]  # fmt: skip
    process = subprocess.Popen(
        [*args, "--out", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    checkpoints = partial_folder(out) / "checkpoints"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if checkpoints.exists() and any(checkpoints.iterdir()):
            break
        time.sleep(0.05)
    if process.poll() is not None:
        pytest.skip("the run finished before a checkpoint could be interrupted")
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    resumed = subprocess.run(
        [*args[:3], "run", "--resume", str(out), "--workers", "1"], capture_output=True, text=True
    )
    assert resumed.returncode == 0, resumed.stderr
    reference = subprocess.run(
        [*args, "--out", str(tmp_path / "whole")], capture_output=True, text=True
    )
    assert reference.returncode == 0, reference.stderr
    assert_frame_equal(
        pl.read_parquet(out / "metrics.parquet"),
        pl.read_parquet(tmp_path / "whole" / "metrics.parquet"),
    )


def test_resume_of_a_folder_without_an_interrupted_run_is_a_clear_error(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from feedlab.cli.main import main; main()",
            "run",
            "--resume",
            str(tmp_path / "none"),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert "--resume must name an interrupted run folder" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_a_run_killed_many_times_at_random_points_still_ends_exact(
    tmp_path: Path, seed: int
) -> None:
    out = tmp_path / "tortured"
    base = [sys.executable, "-c", "from feedlab.cli.main import main; main()", "run"]
    fresh = [
        "social-dilemma", "--people", "1200", "--days", "3", "--seeds", "1", "--workers", "1",
        "--set", f"root_seed={seed}", "--set", "warmup_days=0", "--checkpoint-days", "1",
    ]  # fmt: skip
    meta = partial_folder(out) / "run.json"

    def started(command: list[str], marker: Path) -> tuple[subprocess.Popen[bytes], float]:
        """Start `command` and wait until `marker` (its partial folder's run.json) exists."""
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while not marker.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        return process, time.monotonic()

    # The uninterrupted reference run goes first: how long it runs once its partial folder exists
    # sets the kill times, so the kills land inside the run however fast or loaded the machine is.
    whole = tmp_path / "whole"
    reference, begun = started(
        [*base, *fresh, "--out", str(whole)], partial_folder(whole) / "run.json"
    )
    assert reference.wait() == 0
    length = time.monotonic() - begun
    # Each kill lands a random fraction of that length after the run has started, so neither a
    # slow interpreter start nor a fast machine can use up the kills outside the run.
    delays = np.random.default_rng(seed).uniform(0.05, 0.8, size=6) * length
    kills = 0

    def args() -> list[str]:
        if meta.exists():
            return ["--resume", str(out), "--workers", "1"]
        return [*fresh, "--out", str(out)]

    for delay in delays:
        process, _ = started([*base, *args()], meta)
        try:
            process.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
            kills += 1
        if (out / "metrics.parquet").exists():
            break
    if not (out / "metrics.parquet").exists():
        finished = subprocess.run([*base, *args()], capture_output=True, text=True)
        assert finished.returncode == 0, finished.stderr
    assert kills >= 1
    assert_frame_equal(
        pl.read_parquet(out / "metrics.parquet"), pl.read_parquet(whole / "metrics.parquet")
    )
