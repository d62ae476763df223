"""Sock-puppet audits: personas, planted-bias detection, determinism, failures that keep results."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from feedlab.behaviour.personas import (
    GLANCE_SECONDS,
    WATCH_SECONDS,
    PersonaParams,
    scripted_responses,
)
from feedlab.cli.main import app
from feedlab.core.errors import ConfigError, ExternalRankerError
from feedlab.engine.puppets import run_audit_cell
from feedlab.experiments.audit import AuditSpec, load_audit, run_audit
from feedlab.io.catalog import list_runs
from feedlab.metrics.audit import amplification, forgetting_steps
from feedlab.platform.external import PROTOCOL, NewestFirst
from feedlab.world.posts import empty_posts


class PushRight:
    """A deliberately biased recommender: candidates whose text reads most right-wing first."""

    def rank(self, request: dict[str, Any]) -> dict[str, Any]:
        return {
            "protocol": PROTOCOL,
            "rankings": [
                {
                    "session": s["session"],
                    "ids": [
                        c["id"]
                        for c in sorted(s["candidates"], key=lambda c: (-c["slant"], c["id"]))
                    ],
                }
                for s in request["sessions"]
            ],
        }


def _spec(seed: int, audited: dict[str, Any], **changes: Any) -> AuditSpec:
    raw: dict[str, Any] = {
        "name": "test-audit",
        "root_seed": seed,
        "warmup_days": 1,
        "steps": 10,
        "puppets": 6,
        "n_follow": 60,
        "world": {"n_people": 1200},
        "audited": audited,
        "control": {"name": "random", "ranker": "random"},
        "personas": [
            {"name": "neutral", "kind": "neutral"},
            {"name": "ext", "kind": "extreme-then-neutral", "switch_step": 4},
        ],
    }
    raw.update(changes)
    return AuditSpec.model_validate(raw)


def _amp(result_amp: pl.DataFrame, persona: str, content: str) -> float:
    row = result_amp.filter((pl.col("persona") == persona) & (pl.col("content") == content))
    return float(row["amplification"][0])


def test_an_audit_detects_a_planted_bias(tmp_path: Path, seed: int) -> None:
    biased = {
        "name": "push-right",
        "ranker": "external",
        "ranker_params": {"module": f"{__name__}:PushRight"},
    }
    fair = {"name": "random-again", "ranker": "random"}  # the control audited against itself
    # Puppets look at the top five posts, where the order (and so the bias) decides exposure.
    found = run_audit(_spec(seed, biased, scroll=5, puppets=10), out=tmp_path / "biased")
    control = run_audit(_spec(seed, fair, scroll=5, puppets=10), out=tmp_path / "fair")
    right, left = (
        _amp(found.amplification, "neutral", "right"),
        _amp(found.amplification, "neutral", "left"),
    )
    # Pushing one side up pushes the other side and the centre down: the gap is the signature.
    assert right > 0.15, (right, left)
    assert left < 0, (right, left)
    assert right - left > 0.25, (right, left)
    fair_gap = _amp(control.amplification, "neutral", "right") - _amp(
        control.amplification, "neutral", "left"
    )
    assert fair_gap == 0.0  # identical rankers on common random numbers: no amplification
    means = found.summary.filter(
        (pl.col("persona") == "neutral") & (pl.col("measure") == "toward_side")
    )
    by_arm = dict(means.select("arm", "value").iter_rows())
    assert by_arm["push-right"] > by_arm["random"] + 0.05
    # Output like any run: Parquet, report, catalog entry.
    assert (tmp_path / "biased" / "audit.parquet").is_file()
    report = (tmp_path / "biased" / "report.html").read_text(encoding="utf-8")
    assert "Persona neutral" in report and "Persona ext" in report
    runs = list_runs(tmp_path)
    assert set(runs["run_id"]) == {"biased", "fair"}


def test_an_audit_is_deterministic(seed: int) -> None:
    spec = _spec(seed, {"name": "engagement", "ranker": "engagement"}, steps=5)
    first = run_audit_cell(spec.cells()[0])
    second = run_audit_cell(spec.cells()[0])
    assert first == second
    assert len({r[2] for r in first}) == 2 and len({r[0] for r in first}) == 2


class _Failing(BaseHTTPRequestHandler):
    answered = 0
    good: ClassVar[int] = 3

    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        if type(self).answered >= type(self).good:
            self.send_response(503)
            self.end_headers()
            return
        type(self).answered += 1
        payload = json.dumps(NewestFirst().rank(body)).encode()
        self.send_response(200)
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


@pytest.fixture
def failing_server() -> Iterator[str]:
    handler = type("Handler", (_Failing,), {"answered": 0})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_a_failing_http_recommender_stops_the_audit_and_keeps_what_was_measured(
    tmp_path: Path, seed: int, failing_server: str
) -> None:
    audited = {
        "name": "remote",
        "ranker": "external",
        "ranker_params": {"url": failing_server, "retries": 1, "backoff_seconds": 0.01},
    }
    spec = _spec(seed, audited, steps=6)
    with pytest.raises(ExternalRankerError) as caught:
        run_audit(spec, out=tmp_path / "run")
    message = str(caught.value)
    assert "HTTP 503 Service Unavailable (after 2 attempts)" in message
    assert failing_server in message and "tick" in message and "persons" in message
    assert "Results measured so far are kept in" in message
    kept = pl.read_parquet(next((tmp_path / ".run.partial" / "cells").glob("*.failed.parquet")))
    assert sorted(kept["step"].unique().to_list()) == [0, 1, 2]  # three answered steps
    assert not (tmp_path / "run").exists()

    # The CLI prints the same as one error line with exit code 2, no traceback.
    spec_file = tmp_path / "spec.toml"
    spec_file.write_text(spec.to_toml(), encoding="utf-8")
    result = CliRunner().invoke(app, ["audit", str(spec_file), "--out", str(tmp_path / "cli")])
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_audit_specs_are_validated() -> None:
    spec = load_audit("engagement")
    assert [p.kind for p in spec.personas] == [
        "neutral",
        "one-side",
        "extreme-then-neutral",
        "hide-side",
    ]
    example = load_audit(Path(__file__).parents[3] / "examples" / "audit-engagement.toml")
    assert example == spec
    with pytest.raises(ConfigError, match=r"personas\[2\].switch_step must be below steps"):
        load_audit("engagement", ["steps=10"])
    with pytest.raises(ConfigError, match="Unknown key 'puppet'"):
        load_audit("engagement", ["puppet=3"])
    with pytest.raises(ConfigError, match=r"audited\.ranker"):
        load_audit("engagement", ["audited.ranker=engagment"])
    with pytest.raises(ConfigError, match=r"personas\[1\]\.name must be unique, got 'n'"):
        load_audit("engagement", ["personas.0.name=n", "personas.1.name=n"])


def test_persona_scripts_are_fixed_rules() -> None:
    posts = empty_posts(16)
    posts.leaning[:6] = [-0.9, -0.3, 0.0, 0.3, 0.7, 0.95]
    feed = np.array([[0, 1, 2, 3, 4, 5, -1]])
    neutral = scripted_responses(PersonaParams(name="n", watch=2), 0, posts, feed)
    assert neutral.click[0].tolist() == [True, True, False, False, False, False, False]
    assert neutral.seen[0].tolist() == [True] * 6 + [False]
    assert (
        neutral.dwell_seconds[0, 0] == WATCH_SECONDS
        and neutral.dwell_seconds[0, 2] == GLANCE_SECONDS
    )
    one = scripted_responses(PersonaParams(name="r", kind="one-side"), 0, posts, feed)
    assert one.like[0].tolist() == [False, False, False, True, True, True, False]
    hide = scripted_responses(
        PersonaParams(name="h", kind="hide-side", side="left"), 0, posts, feed
    )
    assert hide.hide[0].tolist() == [True, True, False, False, False, False, False]
    assert hide.click[0].tolist() == [False, False, True, False, False, False, False]
    ext = PersonaParams(name="e", kind="extreme-then-neutral", switch_step=3)
    before = scripted_responses(ext, 2, posts, feed)
    assert before.click[0].tolist() == [False] * 5 + [True, False]
    after = scripted_responses(ext, 3, posts, feed)
    assert after.click[0].tolist() == [True] + [False] * 6


def test_amplification_and_forgetting_follow_their_definitions() -> None:
    assert amplification(3.0, 2.0) == pytest.approx(0.5)
    assert np.isnan(amplification(1.0, 0.0))
    toward = np.array([0.5, 0.5, 0.5, 0.5, 0.4, 0.3, 0.2, 0.1])
    neutral = np.full(8, 0.1)
    assert (
        forgetting_steps(toward, neutral, switch_step=4) == 1.0
    )  # gap 0.4 halves to 0.2 one step after the switch
    assert np.isnan(forgetting_steps(np.full(8, 0.5), neutral, switch_step=4))


def test_the_audit_command_prints_amplification(tmp_path: Path) -> None:
    args = ["audit", "engagement", "--out", str(tmp_path / "run")]
    for setting in (
        "world.n_people=600", "warmup_days=0", "steps=3", "puppets=2", "n_follow=40",
        "personas.2.switch_step=1",
    ):  # fmt: skip
        args += ["--set", setting]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "amplification of engagement over random" in result.output
    assert (tmp_path / "run" / "amplification.csv").is_file()
    bad = CliRunner().invoke(app, ["audit", "engagment"])
    assert bad.exit_code == 2
    assert "Did you mean 'engagement'?" in bad.output


def test_an_audit_too_big_for_memory_is_refused_before_it_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from feedlab.experiments import resources

    monkeypatch.setattr(resources, "available_bytes", lambda: 2**30)  # a 1 GiB machine
    spec = load_audit("engagement", ["world.n_people=2000000"])
    with pytest.raises(ConfigError, match="must fit in memory"):
        run_audit(spec, out=tmp_path / "run")
    assert not any(tmp_path.iterdir())
