"""The ``feedlab`` command line: a real tiny run, and one clear error per kind of bad input."""

import os
import re
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from feedlab.cli.main import app
from feedlab.io.catalog import CATALOG_FILE, list_runs
from feedlab.metrics.catalog import METRICS
from feedlab.metrics.goals import GOAL_METRICS

WIDE = {"COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"}


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def _invoke(runner: CliRunner, *args: str):
    return runner.invoke(app, list(args), env=WIDE, catch_exceptions=False)


def _all_output(result) -> str:
    """Everything the user would see: stdout and stderr, interleaved."""
    return result.output


def test_scenarios_lists_the_builtin_scenarios(runner: CliRunner) -> None:
    result = _invoke(runner, "scenarios")
    assert result.exit_code == 0, _all_output(result)
    assert "social-dilemma" in result.stdout
    assert "ranker-zoo" in result.stdout


def test_scenarios_show_prints_the_toml(runner: CliRunner) -> None:
    result = _invoke(runner, "scenarios", "--show", "social-dilemma")
    assert result.exit_code == 0
    assert 'name = "social-dilemma"' in result.stdout
    assert "[[arms]]" in result.stdout


def test_a_tiny_run_writes_a_complete_run_folder(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = _invoke(
        runner,
        "run",
        "social-dilemma",
        *("--people", "300", "--days", "1", "--seeds", "2", "--workers", "1"),
        *("--out", str(out)),
    )
    assert result.exit_code == 0, _all_output(result)
    assert {p.name for p in out.iterdir()} >= {"config.toml", "metrics.parquet", "report.html"}
    assert "n_people = 300" in (out / "config.toml").read_text()
    # Every difference carries its seeds and a flag; reach is compared with the chronological arm.
    assert "n.s." in result.stdout or "*" in result.stdout
    assert "reach under 'chronological'" in result.stdout
    amplified = pl.read_csv(out / "amplification.csv")
    assert set(amplified["arm"]) == {"engagement"}
    assert {"outrage_high", "false", "left"} <= set(amplified["group"])

    frame = pl.read_parquet(out / "metrics.parquet")
    assert frame.columns == ["arm", "seed", "day", "metric", "value"]
    core = {m.name for m in METRICS} - set(GOAL_METRICS)  # goal blocks are off by default
    assert set(frame["metric"].unique()) == core
    assert set(frame["arm"].unique()) == {"engagement", "chronological"}
    assert frame["seed"].n_unique() == 2
    assert set(frame["day"].unique()) == {1}
    assert frame.height == 2 * 2 * len(core)

    html = (out / "report.html").read_text(encoding="utf-8")
    assert "<html" in html.lower()
    assert "time_spent_min" in html

    assert (tmp_path / CATALOG_FILE).is_file()
    runs = list_runs(tmp_path)
    assert runs.height == 1
    record = runs.row(0, named=True)
    assert record["run_id"] == "run"
    assert record["n_people"] == 300
    assert record["seeds"] == 2
    assert list(record["arms"]) == ["engagement", "chronological"]
    # Nothing else was left in the runs folder (no staging folder).
    assert {p.name for p in tmp_path.iterdir()} == {"run", CATALOG_FILE}
    assert "results:" in result.stdout


@pytest.mark.parametrize(
    "setting",
    [
        pytest.param("world.people.posts_per_day_median=1e-9", id="nothing-posted"),
        pytest.param("world.people.sessions_per_day_median=1e-9", id="nobody-online"),
    ],
)
def test_a_quiet_society_still_runs(runner: CliRunner, tmp_path: Path, setting: str) -> None:
    out = tmp_path / "run"
    result = _invoke(
        runner, "run", "social-dilemma", "--people", "300", "--days", "1", "--seeds", "1",
        "--workers", "1", "--set", setting, "--out", str(out),
    )  # fmt: skip
    assert result.exit_code == 0, _all_output(result)
    assert (out / "metrics.parquet").is_file()


BAD_INPUTS = [
    pytest.param(
        ["run", "social-dilemm"],
        ["Unknown scenario 'social-dilemm'", "Did you mean 'social-dilemma'?"],
        id="unknown-scenario",
    ),
    pytest.param(
        ["run", "social-dilemma", "--set", "world.n_peple=5"],
        ["Unknown key 'n_peple' in world", "Did you mean 'n_people'?"],
        id="misspelt-key",
    ),
    pytest.param(
        ["run", "social-dilemma", "--people", "3"],
        ["world.n_people", "10", "got 3"],
        id="too-few-people",
    ),
    pytest.param(
        ["run", "social-dilemma", "--set", "world.tick_hours=5"],
        ["world.tick_hours", "divisor of 24", "got 5"],
        id="tick-hours",
    ),
    pytest.param(
        ["run", "social-dilemma", "--set", "arms.0.ranker=engagment"],
        ["arms[0].ranker", "got 'engagment'", "Did you mean 'engagement'?"],
        id="misspelt-ranker",
    ),
    pytest.param(
        ["run", "social-dilemma", "--set", "arms.1.name=engagement"],
        ["arms[1].name must be unique", "got 'engagement' twice"],
        id="duplicate-arm",
    ),
    pytest.param(
        ["run", "social-dilemma", "--days", "0"],
        ["days", "got 0"],
        id="zero-days",
    ),
]


def _assert_clean_failure(result, expected: list[str]) -> None:
    text = _all_output(result)
    assert result.exit_code == 2, text
    assert "Traceback" not in text
    flat = re.sub(r"\s+", " ", text)
    for fragment in expected:
        assert fragment in flat, (fragment, text)


@pytest.mark.parametrize(("args", "expected"), BAD_INPUTS)
def test_bad_input_exits_2_names_the_field_and_writes_nothing(
    runner: CliRunner, tmp_path: Path, args: list[str], expected: list[str]
) -> None:
    out = tmp_path / "runs" / "run"
    result = _invoke(runner, *args, "--out", str(out))
    _assert_clean_failure(result, expected)
    assert list(tmp_path.iterdir()) == []


def test_malformed_toml_file(runner: CliRunner, tmp_path: Path) -> None:
    config = tmp_path / "broken.toml"
    config.write_text('name = "broken"\n[world\nn_people = 300\n', encoding="utf-8")
    out = tmp_path / "runs" / "run"
    result = _invoke(runner, "run", str(config), "--out", str(out))
    _assert_clean_failure(result, ["broken.toml", "must be valid TOML", "line 2"])
    assert [p.name for p in tmp_path.iterdir()] == ["broken.toml"]


def test_missing_toml_file(runner: CliRunner, tmp_path: Path) -> None:
    result = _invoke(runner, "run", str(tmp_path / "absent.toml"))
    _assert_clean_failure(result, ["config file must exist", "absent.toml"])
    assert list(tmp_path.iterdir()) == []


def test_an_existing_non_empty_out_folder_is_refused(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "taken"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    result = _invoke(
        runner, "run", "social-dilemma", "--people", "300", "--days", "1", "--seeds", "1",
        "--workers", "1", "--out", str(out),
    )  # fmt: skip
    _assert_clean_failure(result, ["--out must be a new or empty folder", "taken"])
    assert [p.name for p in tmp_path.iterdir()] == ["taken"]
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    assert (out / "keep.txt").read_text() == "mine"


def _feedlab(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = os.environ | WIDE
    return subprocess.run(
        [sys.executable, "-c", "from feedlab.cli.main import main; main()", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
        check=False,
    )


def test_the_entry_point_in_a_real_process(tmp_path: Path) -> None:
    listed = _feedlab("scenarios", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert "social-dilemma" in listed.stdout

    failed = _feedlab("run", "social-dilemma", "--set", "world.n_peple=5", cwd=tmp_path)
    assert failed.returncode == 2
    assert "Traceback" not in failed.stdout + failed.stderr
    assert "Did you mean 'n_people'?" in re.sub(r"\s+", " ", failed.stderr)
    assert list(tmp_path.iterdir()) == []


def test_profile_prints_the_time_of_every_stage(runner: CliRunner, tmp_path: Path) -> None:
    result = _invoke(
        runner,
        "run",
        "social-dilemma",
        *("--people", "300", "--days", "1", "--seeds", "1", "--workers", "1", "--profile"),
        *("--out", str(tmp_path / "run")),
    )
    assert result.exit_code == 0, _all_output(result)
    assert "time per tick by stage" in result.stdout
    for stage in ("posts", "sessions", "feeds", "responses", "social", "learning", "drift"):
        assert stage in result.stdout
    assert "144 ticks" in result.stdout  # 2 arms x 1 seed x (2 warm-up + 1) days x 24 ticks


def test_runs_lists_the_catalog_and_refuses_a_folder_without_one(
    runner: CliRunner, tmp_path: Path
) -> None:
    out = tmp_path / "runs" / "first"
    made = _invoke(
        runner, "run", "social-dilemma", "--people", "200", "--days", "1", "--seeds", "1",
        "--workers", "1", "--set", "warmup_days=0", "--out", str(out),
    )  # fmt: skip
    assert made.exit_code == 0, _all_output(made)
    listed = _invoke(runner, "runs", "--runs-dir", str(tmp_path / "runs"))
    assert listed.exit_code == 0, _all_output(listed)
    assert "first" in listed.stdout
    assert "engagement, chronological" in listed.stdout
    missing = _invoke(runner, "runs", "--runs-dir", str(tmp_path / "nowhere"))
    assert missing.exit_code == 2
    assert "--runs-dir must hold a catalog.duckdb" in _all_output(missing)
    assert "Traceback" not in _all_output(missing)


def test_a_run_whose_catalog_entry_was_lost_is_listed_again(
    runner: CliRunner, tmp_path: Path
) -> None:
    runs = tmp_path / "runs"
    made = _invoke(
        runner, "run", "social-dilemma", "--people", "200", "--days", "1", "--seeds", "1",
        "--workers", "1", "--set", "warmup_days=0", "--out", str(runs / "kept"),
    )  # fmt: skip
    assert made.exit_code == 0, _all_output(made)
    assert (runs / "kept" / "catalog-entry.json").is_file()
    # A kill between the folder's rename and the catalog write: the catalog never saw the run.
    (runs / "catalog.duckdb").unlink()
    listed = _invoke(runner, "runs", "--runs-dir", str(runs))
    assert listed.exit_code == 0, _all_output(listed)
    assert "kept" in listed.stdout
    assert "missing from the catalog" in _all_output(listed)
    again = _invoke(runner, "runs", "--runs-dir", str(runs))
    assert "missing from the catalog" not in _all_output(again)


def test_sweep_runs_a_grid_and_refuses_a_bad_file(runner: CliRunner, tmp_path: Path) -> None:
    spec = tmp_path / "grid.toml"
    spec.write_text(
        'name = "cli-sweep"\ndays = 1\nseeds = 1\n[world]\nn_people = 200\n'
        '[[arms]]\nname = "engagement"\n[[arms]]\nname = "chronological"\nranker = "chronological"\n'
        '[sweep]\ngrid = { "behaviour.choice.arousal_weight" = [0.8, 2.4] }\n'
    )
    out = tmp_path / "sweep"
    result = _invoke(runner, "sweep", str(spec), "--out", str(out), "--workers", "1")
    assert result.exit_code == 0, _all_output(result)
    assert "arousal_weight=0.8" in result.stdout and "arousal_weight=2.4" in result.stdout
    frame = pl.read_parquet(out / "metrics.parquet")
    assert frame.columns == ["point", "arm", "seed", "day", "metric", "value"]
    assert frame["point"].n_unique() == 2

    spec.write_text(spec.read_text().replace("[0.8, 2.4]", '["high"]'))
    bad = _invoke(runner, "sweep", str(spec), "--out", str(tmp_path / "bad"))
    assert bad.exit_code == 2
    assert "sweep point 0" in _all_output(bad)
    assert "arousal_weight" in _all_output(bad)
    assert "Traceback" not in _all_output(bad)


def test_python_dash_m_feedlab_runs_the_cli() -> None:
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "feedlab", "scenarios"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "social-dilemma" in result.stdout


def test_the_summary_leaves_out_metrics_of_mechanisms_the_experiment_lacks(
    runner: CliRunner, tmp_path: Path
) -> None:
    made = _invoke(
        runner, "run", "social-dilemma", "--people", "200", "--days", "1", "--seeds", "1",
        "--workers", "1", "--set", "warmup_days=0", "--out", str(tmp_path / "r"),
    )  # fmt: skip
    assert made.exit_code == 0, _all_output(made)
    shown, _, omitted = made.stdout.partition("not shown, 0 or undefined in every arm")
    assert "time_spent_min" in shown
    assert "bot_reach_share" in omitted and "bot_reach_share" not in shown
    assert "bot_reach_share" in pl.read_csv(tmp_path / "r" / "comparison.csv")["metric"].to_list()
