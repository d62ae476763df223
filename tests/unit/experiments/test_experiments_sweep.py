"""Sweeps: points from a grid, cells written one by one, resumption, worker independence."""

import re
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from feedlab.core.errors import ConfigError
from feedlab.experiments.runner import CELLS_DIR
from feedlab.experiments.sweep import load_sweep, run_sweep

BASE = """
name = "tiny-sweep"
days = 1
seeds = 2
root_seed = {seed}

[world]
n_people = 250

[[arms]]
name = "engagement"
ranker = "engagement"

[[arms]]
name = "chronological"
ranker = "chronological"

[sweep]
{sweep}
"""


def _file(tmp_path: Path, seed: int, sweep: str, name: str = "sweep.toml") -> Path:
    path = tmp_path / name
    path.write_text(BASE.format(seed=seed, sweep=sweep))
    return path


def test_grid_gives_every_combination_then_the_listed_points(tmp_path: Path, seed: int) -> None:
    sweep = load_sweep(
        _file(
            tmp_path,
            seed,
            'grid = { "behaviour.choice.arousal_weight" = [0.5, 1.5], "seeds" = [1, 2] }\n'
            'points = [ { "world.n_people" = 300 } ]',
        )
    )
    assert [p.id for p in sweep.points] == ["p000", "p001", "p002", "p003", "p004"]
    weights = [p.config.behaviour.choice.arousal_weight for p in sweep.points[:4]]
    assert weights == [0.5, 0.5, 1.5, 1.5]
    assert [p.config.seeds for p in sweep.points[:4]] == [1, 2, 1, 2]
    assert sweep.points[4].config.world.n_people == 300


def test_a_bad_value_names_the_point_and_the_key(tmp_path: Path, seed: int) -> None:
    path = _file(tmp_path, seed, 'grid = { "world.n_people" = [300, 3] }')
    message = "sweep point 1 (world.n_people=3): world.n_people must be greater than or equal to 10, got 3."
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_sweep(path)


def test_a_file_without_a_sweep_table_is_refused(tmp_path: Path, seed: int) -> None:
    path = tmp_path / "plain.toml"
    path.write_text(BASE.format(seed=seed, sweep="").replace("[sweep]", ""))
    with pytest.raises(ConfigError, match="must have a \\[sweep\\] table"):
        load_sweep(path)


def test_resume_recomputes_only_missing_cells_and_matches(tmp_path: Path, seed: int) -> None:
    sweep = load_sweep(
        _file(tmp_path, seed, 'grid = { "behaviour.choice.arousal_weight" = [0.8, 2.4] }')
    )
    out = tmp_path / "out"
    first = run_sweep(sweep, out, workers=1)
    cells = sorted((out / CELLS_DIR).iterdir())
    assert len(cells) == 2 * 2 * 2  # points x arms x seeds
    kept = {c.name: c.stat().st_mtime_ns for c in cells[1:]}
    cells[0].unlink()  # as if the sweep was killed before this cell finished
    calls = []
    second = run_sweep(sweep, out, workers=1, progress=lambda done, total: calls.append(done))
    assert calls[0] == 7  # seven cells were already done
    assert {c.name: c.stat().st_mtime_ns for c in sorted((out / CELLS_DIR).iterdir())[1:]} == kept
    assert_frame_equal(first, second)
    assert set(first["point"].unique()) == {"p000", "p001"}
    assert_frame_equal(pl.read_parquet(out / "metrics.parquet"), second)


def test_results_do_not_depend_on_the_number_of_workers(tmp_path: Path, seed: int) -> None:
    sweep = load_sweep(_file(tmp_path, seed, 'grid = { "seeds" = [1] }'))
    one = run_sweep(sweep, tmp_path / "one", workers=1)
    two = run_sweep(sweep, tmp_path / "two", workers=2)
    assert_frame_equal(one, two)


def test_a_folder_holding_another_sweep_is_refused(tmp_path: Path, seed: int) -> None:
    out = tmp_path / "out"
    run_sweep(
        load_sweep(_file(tmp_path, seed, 'grid = { "seeds" = [1] }', "a.toml")), out, workers=1
    )
    other = load_sweep(_file(tmp_path, seed, 'grid = { "days" = [2] }', "b.toml"))
    with pytest.raises(ConfigError, match="holding another sweep"):
        run_sweep(other, out, workers=1)


def test_ray_gives_the_same_results_as_local_processes(tmp_path: Path, seed: int) -> None:
    pytest.importorskip("ray")
    sweep = load_sweep(_file(tmp_path, seed, 'grid = { "seeds" = [1] }'))
    local = run_sweep(sweep, tmp_path / "local", workers=1)
    on_ray = run_sweep(sweep, tmp_path / "ray", workers=2, engine="ray")
    assert_frame_equal(local, on_ray)


def test_an_unknown_engine_is_refused(tmp_path: Path, seed: int) -> None:
    sweep = load_sweep(_file(tmp_path, seed, 'grid = { "seeds" = [1] }'))
    with pytest.raises(
        ConfigError, match=re.escape("--engine must be one of local, ray, got 'dask'.")
    ):
        run_sweep(sweep, tmp_path / "out", engine="dask")
