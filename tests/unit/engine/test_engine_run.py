"""Every cell's process is settled for simulating: freed memory reused, imports frozen."""

from __future__ import annotations

import gc
from dataclasses import replace

import pytest

from feedlab.core import kernels
from feedlab.engine import run
from feedlab.experiments.config import load_config
from feedlab.experiments.runner import plan


@pytest.mark.parametrize("n_people", [2_000, 200_000])
def test_setup_reuses_freed_memory_and_freezes_imports_at_any_size(
    n_people: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    monkeypatch.setattr(run, "reuse_freed_memory", lambda: bool(calls.append("reuse")) or True)
    monkeypatch.setattr(run, "freeze_imported_objects", lambda: bool(calls.append("freeze")))
    cell = plan(load_config("social-dilemma", ["seeds=1"]))[0]
    cell = replace(cell, world=cell.world.model_copy(update={"n_people": n_people}))
    run.setup_for(cell)
    assert calls == ["reuse", "freeze"]


def test_imported_objects_are_frozen_once_per_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kernels, "_frozen", False)
    freezes: list[int] = []
    monkeypatch.setattr(gc, "freeze", lambda: freezes.append(1))
    assert kernels.freeze_imported_objects()
    assert not kernels.freeze_imported_objects()
    assert freezes == [1]
