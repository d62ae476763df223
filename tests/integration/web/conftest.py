"""Fixtures of the dashboard tests: a runs folder with one finished run, and app clients."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from feedlab.experiments.config import load_config
from feedlab.experiments.runner import run_experiment
from feedlab.web.app import create_app
from feedlab.web.forms import Limits

SMALL = {"n_people": 300, "days": 2, "warmup_days": 0, "tracked": 4}


@pytest.fixture(scope="session")
def runs_dir(tmp_path_factory) -> Path:
    """A runs folder holding one finished run (300 people, 1 day, 1 seed) in its catalog."""
    folder = tmp_path_factory.mktemp("runs")
    config = load_config(
        "social-dilemma", ["world.n_people=300", "days=1", "seeds=1", "warmup_days=0"]
    )
    run_experiment(config, runs_dir=folder, workers=1, checkpoint_days=0)
    return folder


@pytest.fixture(scope="session")
def run_id(runs_dir: Path) -> str:
    """The run made by ``feedlab run`` (finished live runs are saved beside it)."""
    return next(
        p.name
        for p in runs_dir.iterdir()
        if p.is_dir() and not p.name.startswith(".") and "-live-" not in p.name
    )


@pytest.fixture(scope="module")
def client(runs_dir: Path):
    with TestClient(create_app(runs_dir, limits=Limits(max_active=2))) as c:
        yield c


def wait_until_ended(client: TestClient, run_id: str, timeout: float = 120.0) -> dict:
    """Poll a live run until it has ended; fail the test if it does not within ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = client.get(f"/api/live/{run_id}").json()
        if status["status"] not in ("starting", "running", "paused"):
            return status
        time.sleep(0.1)
    raise AssertionError(f"live run {run_id} did not end within {timeout} s")


@pytest.fixture(scope="module")
def finished(client: TestClient) -> dict:
    """A small live run with two arms, simulated to its end."""
    response = client.post("/api/live", json=SMALL)
    assert response.status_code == 201, response.text
    status = wait_until_ended(client, response.json()["run_id"])
    assert status["status"] == "finished", status
    return status
