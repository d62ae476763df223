"""A cell's process keeps freed memory for reuse only for a society whose arrays need it."""

from __future__ import annotations

from dataclasses import replace

import pytest

from feedlab.engine import run
from feedlab.experiments.config import load_config
from feedlab.experiments.runner import plan


@pytest.mark.parametrize("n_people", [2_000, run.REUSE_MEMORY_MIN_PEOPLE])
def test_setup_reuses_freed_memory_only_for_large_societies(
    n_people: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    monkeypatch.setattr(run, "reuse_freed_memory", lambda: bool(calls.append(1)) or True)
    cell = plan(load_config("social-dilemma", ["seeds=1"]))[0]
    cell = replace(cell, world=cell.world.model_copy(update={"n_people": n_people}))
    run.setup_for(cell)
    assert len(calls) == (1 if n_people >= run.REUSE_MEMORY_MIN_PEOPLE else 0)
