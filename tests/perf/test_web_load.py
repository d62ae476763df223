"""Load: 200 live-chart (SSE) clients on loopback for 60 s, no errors, bounded memory, pace kept."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.slow

CLIENTS = int(os.environ.get("FEEDLAB_LOAD_CLIENTS", "200"))
HOLD_SECONDS = float(os.environ.get("FEEDLAB_LOAD_SECONDS", "60"))
BASELINE_SECONDS = 15.0
DAYS = 3650  # the most a config allows: longer than the test lasts; the run is stopped at its end


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ticks_per_second(base: str, rid: str, seconds: float) -> float:
    first = httpx.get(f"{base}/api/live/{rid}").json()["tick"]
    started = time.monotonic()
    time.sleep(seconds)
    last = httpx.get(f"{base}/api/live/{rid}").json()["tick"]
    return (last - first) / (time.monotonic() - started)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc for memory")
def test_200_sse_clients_for_60_seconds(tmp_path: Path) -> None:
    import uvicorn

    from feedlab.web.app import create_app
    from feedlab.web.forms import Limits

    port = _free_port()
    app = create_app(tmp_path, limits=Limits(max_days=DAYS))
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", backlog=512)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    base = f"http://127.0.0.1:{port}"
    try:
        launch = {
            "n_people": 200,
            "days": DAYS,
            "warmup_days": 0,
            "tracked": 2,
            "arms": ["engagement"],
        }
        response = httpx.post(f"{base}/api/live", json=launch)
        assert response.status_code == 201, response.text
        rid = response.json()["run_id"]
        time.sleep(2.0)  # past start-up (first compilation, caches)
        alone = _ticks_per_second(base, rid, BASELINE_SECONDS)
        rss_before = _rss_mb()

        clients = subprocess.Popen(
            [
                sys.executable,
                str(Path(__file__).with_name("sse_clients.py")),
                f"{base}/api/live/{rid}/events",
                str(CLIENTS),
                str(HOLD_SECONDS),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        time.sleep(5.0)  # let every client connect and replay the history
        watched = _ticks_per_second(base, rid, HOLD_SECONDS - 10.0)
        watchers = httpx.get(f"{base}/api/live/{rid}").json()["watchers"]
        rss_during = _rss_mb()
        out, _ = clients.communicate(timeout=HOLD_SECONDS + 60)
        summary = json.loads(out)
        status = httpx.get(f"{base}/api/live/{rid}").json()["status"]
        assert status == "running", f"the run ended ({status}) before the clients' hold did"
        left = -1
        for _ in range(100):  # closed streams are noticed and their watchers dropped
            left = httpx.get(f"{base}/api/live/{rid}").json()["watchers"]
            if left == 0:
                break
            time.sleep(0.1)
        rss_after = _rss_mb()
        # the machine's other load drifts: measure the pace alone again, and compare with both
        alone_after = _ticks_per_second(base, rid, BASELINE_SECONDS)
        httpx.post(f"{base}/api/live/{rid}/stop")
    finally:
        server.should_exit = True
        thread.join(15)

    alone = (alone + alone_after) / 2
    figures = {
        "ticks_per_s_alone": round(alone, 2),
        "ticks_per_s_alone_after": round(alone_after, 2),
        "ticks_per_s_with_clients": round(watched, 2),
        "pace_ratio": round(watched / alone, 3) if alone else None,
        "watchers_seen": watchers,
        "watchers_left": left,
        "rss_mb_before": round(rss_before, 1),
        "rss_mb_during": round(rss_during, 1),
        "rss_mb_after": round(rss_after, 1),
        **summary,
    }
    print("LOAD", json.dumps(figures))
    assert summary["n_errors"] == 0, summary["errors"]
    assert summary["held"] == CLIENTS
    assert watchers == CLIENTS
    assert left == 0
    assert summary["min_days"] >= 1  # every client got live days, not just the replay
    assert rss_after - rss_before < 150, figures  # nothing is queued per client
    assert watched >= 0.5 * alone, figures  # the simulation keeps its pace
