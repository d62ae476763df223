"""A local pool's processes: forked from a server that has the engine loaded, yet each running
in its parent's present working directory and with its present import path."""

import multiprocessing
from dataclasses import replace
from pathlib import Path

import pytest

from feedlab.experiments.cells import CHECKPOINTS_DIR, Checkpoints, pool_context
from feedlab.experiments.config import ExperimentConfig
from feedlab.experiments.runner import execute, plan
from feedlab.platform.external import PROTOCOL, ExternalRanker


def test_the_pool_forks_its_workers_from_a_server_with_the_engine_loaded() -> None:
    context = pool_context()
    if "forkserver" not in multiprocessing.get_all_start_methods():
        assert context.get_start_method() == "spawn"
        return
    assert context.get_start_method() == "forkserver"
    from multiprocessing import forkserver

    preload = forkserver._forkserver._preload_modules  # type: ignore[attr-defined]
    assert preload[0] == "feedlab.experiments.cells"
    assert "feedlab.engine.run" in preload  # imported by the cells module, so by this process
    assert all(name.partition(".")[0] == "feedlab" for name in preload)


def test_a_later_run_writes_its_checkpoints_where_it_was_started(
    tiny_config: ExperimentConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fork server outlives a run; the next run's workers must not write where it started."""
    cells = plan(tiny_config)[:2]
    for folder in (tmp_path / "first", tmp_path / "second"):
        folder.mkdir()
        monkeypatch.chdir(folder)
        rows = execute(cells, workers=2, checkpoints=Checkpoints(Path("run"), every_days=1))
        assert {row[0] for row in rows} == {cell.arm for cell in cells}
        assert (folder / "run" / CHECKPOINTS_DIR).is_dir()  # written by the workers
    assert sorted(p.name for p in tmp_path.iterdir()) == ["first", "second"]


def test_a_recommender_module_found_after_the_pool_started_is_found_by_its_workers(
    tiny_config: ExperimentConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cells = plan(tiny_config)[:2]
    execute(cells, workers=2)  # the fork server is running, with the import path of then
    (tmp_path / "late_recommender.py").write_text(
        f"PROTOCOL = {PROTOCOL!r}\n"
        "class Newest:\n"
        "    def rank(self, request):\n"
        "        return {'protocol': PROTOCOL, 'rankings': [\n"
        "            {'session': s['session'], 'ids': [c['id'] for c in s['candidates']]}\n"
        "            for s in request['sessions']\n"
        "        ]}\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    ranker = ExternalRanker(module="late_recommender:Newest")
    late = [replace(cell, arm=f"late-{cell.arm}", ranker=ranker) for cell in cells]
    rows = execute(late, workers=2)
    assert {row[0] for row in rows} == {"late-engagement", "late-chronological"}
