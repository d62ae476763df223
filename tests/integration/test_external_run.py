"""An experiment with an external arm that fails: clear error, exit code 2, finished cells kept."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from feedlab.cli.main import app


class _Broken(BaseHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["content-length"]))
        payload = b'{"protocol": "feedlab.external-ranker/1", "rankings": "oops"}'
        self.send_response(200)
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


@pytest.fixture
def broken_server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Broken)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_a_malformed_external_arm_ends_the_run_cleanly(tmp_path: Path, broken_server: str) -> None:
    out = tmp_path / "run"
    arms = (
        "arms=[{name='engagement', ranker='engagement'}, "
        f"{{name='remote', ranker='external', ranker_params={{url='{broken_server}', retries=0}}}}]"
    )
    result = CliRunner().invoke(
        app,
        [
            "run", "social-dilemma", "--people", "300", "--days", "1", "--seeds", "1",
            "--workers", "1", "--out", str(out), "--set", arms, "--set", "warmup_days=0",
        ],
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert f"external ranker {broken_server} at tick" in result.output
    assert "'rankings' must be a list" in result.output
    # The engagement arm's finished cell is kept; the run can be resumed once the server is fixed.
    partial = tmp_path / ".run.partial"
    assert [p.name for p in (partial / "cells").iterdir()] == [
        next(p.name for p in (partial / "cells").iterdir() if p.name.startswith("engagement__"))
    ]
    assert not out.exists()
