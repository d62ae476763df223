"""An audit of a third-party recommender (implicit's ALS) served over HTTP, end to end."""

from __future__ import annotations

import importlib.util
import sys
import threading
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from feedlab.experiments.audit import AuditSpec, run_audit

pytest.importorskip("implicit")
EXAMPLE = Path(__file__).parents[2] / "examples" / "als_recommender.py"


@pytest.fixture(scope="module")
def als() -> object:
    spec = importlib.util.spec_from_file_location("als_recommender", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["als_recommender"] = module
    spec.loader.exec_module(module)
    return module


def test_the_als_recommender_learns_topic_affinities(als) -> None:
    log = als.engagement_log(n_people=400, days=1, seed=3)
    assert log.shape[1] == 16 and log.sum() > 0
    recommender = als.AlsRecommender(log, factors=4)
    favourite = int(np.argmax(log.sum(axis=0)))
    history = np.zeros(16)
    history[favourite] = 5.0
    scores = recommender.topic_scores(history.tolist())
    assert int(np.argmax(scores)) == favourite


def test_an_audit_of_the_als_recommender_over_http(als, tmp_path: Path, seed: int) -> None:
    recommender = als.AlsRecommender(als.engagement_log(n_people=400, days=1, seed=3), factors=4)
    server = als.make_server(recommender)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        spec = AuditSpec.model_validate(
            {
                "name": "als",
                "root_seed": seed,
                "warmup_days": 1,
                "steps": 6,
                "puppets": 5,
                "n_follow": 50,
                "world": {"n_people": 800},
                "audited": {"name": "als", "ranker": "external", "ranker_params": {"url": url}},
                "control": {"name": "random", "ranker": "random"},
                "personas": [
                    {"name": "neutral", "kind": "neutral"},
                    {"name": "left-only", "kind": "one-side", "side": "left"},
                ],
            }
        )
        result = run_audit(spec, out=tmp_path / "als")
    finally:
        server.shutdown()
        server.server_close()
    sizes = result.frame.filter(pl.col("measure") == "feed_size")
    assert sizes.height == 2 * 2 * 6, sizes
    # Both recommenders fill the puppets' feeds (a step may come up short in a tiny society).
    for arm in ("als", "random"):
        served = sizes.filter(pl.col("arm") == arm)["value"]
        assert (served > 0).mean() >= 0.75 and served.mean() > 2, sizes
    assert (tmp_path / "als" / "report.html").is_file()
    assert result.amplification["amplification"].is_not_nan().any()
