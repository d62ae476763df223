"""The server holds: loopback by default, a token elsewhere, nothing outside the runs folder."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from feedlab.io.catalog import RunRecord, register_run
from feedlab.web import serve as serve_module
from feedlab.web.app import create_app
from feedlab.web.security import PathRefused, confined, is_loopback


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder outside the runs folder holding files nobody may read through the server."""
    folder = tmp_path / "outside"
    folder.mkdir()
    for name in ("report.html", "config.toml", "comparison.csv"):
        (folder / name).write_text("SECRET")
    return folder


@pytest.fixture
def runs_with_symlink(tmp_path: Path, runs_dir: Path, run_id: str, outside: Path) -> Path:
    """A copy of the runs folder plus a catalogued run whose folder is a symlink to ``outside``."""
    runs = tmp_path / "runs"
    shutil.copytree(runs_dir, runs, symlinks=True)
    (runs / "evil").symlink_to(outside, target_is_directory=True)
    (runs / run_id / "leak.html").symlink_to(outside / "report.html")
    register_run(
        runs,
        RunRecord(
            run_id="evil",
            created_at=datetime.now(UTC).isoformat(),
            scenario="x",
            path="evil",
            n_people=1,
            days=1,
            seeds=1,
            arms=["a"],
            config_sha256="0" * 64,
            feedlab_version="0",
            wall_seconds=0.0,
        ),
    )
    return runs


@pytest.mark.parametrize(
    "url",
    [
        "/runs/../files/report.html",
        "/runs/..%2F..%2Foutside/files/report.html",
        "/runs/%2e%2e/files/config.toml",
        "/runs/%2e%2e%2f%2e%2e%2foutside/files/report.html",
        "/runs/%2Fetc/files/report.html",
        "/runs/%2Fetc%2Fpasswd/files/config.toml",
        "/runs/RUN/files/..%2F..%2Foutside%2Freport.html",
        "/runs/RUN/files/%2e%2e%2fcatalog.duckdb",
        "/runs/RUN/files/leak.html",
        "/runs/evil/files/report.html",
        "/runs/evil/files/config.toml",
        "/api/runs/evil",
        "/static/../../outside/report.html",
        "/static/%2e%2e/%2e%2e/outside/report.html",
        "/static/..%2f..%2f..%2foutside%2freport.html",
    ],
)
def test_no_request_reads_outside_the_runs_folder(
    runs_with_symlink: Path, run_id: str, url: str
) -> None:
    with TestClient(create_app(runs_with_symlink)) as client:
        response = client.get(url.replace("RUN", run_id))
    assert response.status_code in (403, 404), (url, response.status_code)
    assert "SECRET" not in response.text


def test_the_symlinked_run_is_refused_as_an_escape(runs_with_symlink: Path) -> None:
    with TestClient(create_app(runs_with_symlink)) as client:
        response = client.get("/runs/evil/files/report.html")
    assert response.status_code == 403
    assert "outside the runs folder" in response.text
    assert "SECRET" not in response.text


def test_confined_refuses_every_escape(tmp_path: Path, outside: Path) -> None:
    root = tmp_path / "runs"
    root.mkdir()
    (root / "ok").mkdir()
    (root / "link").symlink_to(outside, target_is_directory=True)
    assert confined(root, "ok", "report.html") == (root / "ok" / "report.html").resolve()
    for parts in (
        ("..",),
        ("ok", ".."),
        ("../outside",),
        ("/etc",),
        ("ok/../..",),
        ("",),
        (".",),
        ("a\x00b",),
        ("link", "report.html"),
        ("..\\outside",),
    ):
        with pytest.raises(PathRefused):
            confined(root, *parts)


def test_a_token_guards_every_request_when_set(runs_dir: Path) -> None:
    token = "t0ken-for-tests"
    with TestClient(create_app(runs_dir, token=token)) as client:
        for url in ("/", "/api/health", "/api/runs", "/static/app.css", "/runs"):
            response = client.get(url)
            assert response.status_code == 401, url
            assert "access token" in response.json()["detail"]
        assert (
            client.get("/api/health", headers={"Authorization": "Bearer wrong"}).status_code == 401
        )
        assert client.post("/api/live", json={}).status_code == 401
        assert (
            client.get("/api/health", headers={"Authorization": f"Bearer {token}"}).status_code
            == 200
        )
        assert client.get("/api/health", headers={"X-Feedlab-Token": token}).status_code == 200
        response = client.get(f"/?token={token}")
        assert response.status_code == 200
        assert "feedlab_token" in response.headers.get("set-cookie", "")
        # the browser now carries the cookie, so scripts and later pages work
        assert client.get("/static/app.css").status_code == 200
    with TestClient(create_app(runs_dir, token=token), cookies={"feedlab_token": "nope"}) as fresh:
        assert fresh.get("/api/health").status_code == 401


def test_loopback_detection() -> None:
    for host in ("127.0.0.1", "127.5.0.1", "::1", "[::1]", "localhost"):
        assert is_loopback(host), host
    for host in ("0.0.0.0", "192.168.1.5", "::", "example.org", "10.0.0.1"):
        assert not is_loopback(host), host


def test_serve_binds_loopback_without_token_and_elsewhere_with_one(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import uvicorn

    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append((app, kw)))
    said: list[str] = []
    serve_module.serve(runs_dir=tmp_path, say=said.append)
    app, kw = calls[-1]
    assert kw["host"] == "127.0.0.1" and kw["port"] == 8765
    with TestClient(app, base_url="http://127.0.0.1:8765") as client:
        assert client.get("/api/health").status_code == 200
        assert client.get("/api/health", headers={"host": "evil.example"}).status_code == 403
    said.clear()
    serve_module.serve(host="0.0.0.0", port=9000, runs_dir=tmp_path, say=said.append)
    app, kw = calls[-1]
    assert kw["host"] == "0.0.0.0"
    token = said[0].split("?token=")[1].strip()
    assert len(token) >= 32
    with TestClient(app) as client:
        assert client.get("/api/health").status_code == 401
        assert (
            client.get("/api/health", headers={"Authorization": f"Bearer {token}"}).status_code
            == 200
        )
    said.clear()
    serve_module.serve(host="0.0.0.0", port=9000, runs_dir=tmp_path, say=said.append)
    assert said[0].split("?token=")[1].strip() != token  # a fresh token at every start


def test_other_hosts_and_cross_site_writes_are_refused(runs_dir: Path) -> None:
    app = create_app(runs_dir, allowed_hosts=("127.0.0.1", "localhost", "::1"))
    with TestClient(app, base_url="http://127.0.0.1:8765") as client:
        assert client.get("/api/health").status_code == 200
        assert client.get("/api/health", headers={"host": "localhost:8765"}).status_code == 200
        assert client.get("/api/health", headers={"host": "[::1]:8765"}).status_code == 200
        rebound = client.get("/api/health", headers={"host": "evil.example:8765"})
        assert rebound.status_code == 403 and "host must be one of" in rebound.json()["detail"]
        for origin in ("http://evil.example", "null", "http://127.0.0.1:9999"):
            response = client.post("/api/live", json={"n_people": 300}, headers={"origin": origin})
            assert response.status_code == 403, origin
            assert "must come from this dashboard" in response.json()["detail"]
            response = client.post("/launch", data={"n_people": "300"}, headers={"origin": origin})
            assert response.status_code == 403, origin
        same = client.post(
            "/api/live", json={"n_people": 10}, headers={"origin": "http://127.0.0.1:8765"}
        )
        assert same.status_code == 422  # reached the app (and refused n_people there)
        # reading from another origin is harmless without CORS headers, so GETs pass
        assert (
            client.get("/api/health", headers={"origin": "http://evil.example"}).status_code == 200
        )
        assert "access-control-allow-origin" not in client.get("/api/health").headers
