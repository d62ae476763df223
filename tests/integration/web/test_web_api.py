"""Every endpoint of the dashboard API, with good and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from fastapi.testclient import TestClient

from feedlab.engine.explain import ExplanationLine, add_line_source, remove_line_source
from feedlab.experiments.config import load_config
from feedlab.web.app import create_app
from feedlab.web.forms import Limits
from feedlab.web.live import LiveRun

from .conftest import SMALL, wait_until_ended


def test_health_scenarios_and_limits(client: TestClient) -> None:
    assert client.get("/api/health").json()["ok"] is True
    scenarios = {s["name"]: s for s in client.get("/api/scenarios").json()}
    assert "social-dilemma" in scenarios
    assert "engagement" in scenarios["social-dilemma"]["arms"]
    limits = client.get("/api/limits").json()
    assert limits["max_people"] == 20_000 and limits["max_days"] == 60


def test_a_live_run_ends_with_one_event_per_day(client: TestClient, finished: dict) -> None:
    rid = finished["run_id"]
    assert finished["day"] == SMALL["days"]
    assert len(finished["arms"]) == 2
    days = client.get(f"/api/live/{rid}/days").json()["days"]
    assert [d["day"] for d in days] == [1, 2]
    for day in days:
        for arm in finished["arms"]:
            assert day["metrics"][arm]["time_spent_min"] > 0
            assert sum(day["histogram"][arm]) == SMALL["n_people"]
    assert any(r["run_id"] == rid for r in client.get("/api/live").json())


def test_a_finished_live_run_is_saved_like_a_run(
    client: TestClient, finished: dict, runs_dir: Path
) -> None:
    saved = finished["saved_run"]
    assert saved and "-live-" in saved and finished["run_id"] in saved
    record = client.get(f"/api/runs/{saved}").json()["record"]
    assert record["n_people"] == SMALL["n_people"] and record["seeds"] == 1
    assert record["arms"] == finished["arms"]
    frame = pl.read_parquet(runs_dir / saved / "metrics.parquet")
    days = client.get(f"/api/live/{finished['run_id']}/days").json()["days"]
    for day in days:
        for arm, metrics in day["metrics"].items():
            row = frame.filter(
                (pl.col("arm") == arm) & (pl.col("day") == day["day"])
                & (pl.col("metric") == "time_spent_min")
            )  # fmt: skip
            assert row["value"].to_list() == [pytest.approx(metrics["time_spent_min"])]
    assert (runs_dir / saved / "report.html").is_file()


def test_a_live_run_that_cannot_be_saved_still_finishes_and_says_so(tmp_path: Path) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    config = load_config(
        "social-dilemma", ["world.n_people=200", "days=1", "seeds=1", "warmup_days=0"]
    )
    run = LiveRun.create(config, tracked=[0, 1], runs_dir=blocked)
    run.start()
    run.join(timeout=120)
    state = run.summary()
    assert state["status"] == "finished"
    assert state["saved_run"] is None
    assert state["error"].startswith("not saved: ")
    assert [d["day"] for d in run.days] == [1]  # the live results are all there


def test_the_event_stream_replays_the_days_then_ends(client: TestClient, finished: dict) -> None:
    rid = finished["run_id"]
    events = []
    with client.stream("GET", f"/api/live/{rid}/events") as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        kind = None
        for line in response.iter_lines():
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: "):
                events.append((kind, json.loads(line[6:])))
    days = [payload["day"] for kind, payload in events if kind == "day"]
    assert days == [1, 2]
    states = [payload for kind, payload in events if kind == "state"]
    assert states and states[-1]["status"] == "finished"
    with client.stream("GET", f"/api/live/{rid}/events?start=1") as response:
        later = [line for line in response.iter_lines() if line == "event: day"]
    assert len(later) == 1


def test_a_traced_person_has_an_avatar_and_explained_feeds(
    client: TestClient, finished: dict
) -> None:
    rid = finished["run_id"]
    people = client.get(f"/api/live/{rid}/people").json()
    assert people["tracked"] == finished["tracked"]
    arm = finished["arms"][0]
    person = max(
        people["tracked"],
        key=lambda p: len(client.get(f"/api/live/{rid}/people/{p}?arm={arm}").json()["sessions"]),
    )
    avatar = client.get(f"/api/live/{rid}/people/{person}?arm={arm}").json()
    assert [d["day"] for d in avatar["days"]] == [1, 2]
    latest = avatar["latest"]
    assert set(latest["true"]) >= {"leaning", "wellbeing", "affect_out"}
    assert latest["inferred"]["leaning"]["se"] > 0
    assert latest["collected"]["impressions_seen_total"] > 0
    assert avatar["sessions"]
    feed = client.get(f"/api/live/{rid}/people/{person}/feed?arm={arm}").json()
    assert feed["tick"] == avatar["sessions"][-1]["tick"]
    assert feed["posts"]
    post = feed["posts"][0]
    kinds = [line["kind"] for line in post["why"]]
    assert "action" in kinds and post["why"][-1]["label"] == "final score"
    first = avatar["sessions"][0]["tick"]
    again = client.get(f"/api/live/{rid}/people/{person}/feed?arm={arm}&tick={first}").json()
    assert again["tick"] == first


def test_a_line_source_shows_in_the_api(client: TestClient, finished: dict) -> None:
    rid = finished["run_id"]
    person = finished["tracked"][0]

    def label(ranker, facts):
        return [
            [ExplanationLine("intervention", "label: disputed", None, "a fact-check label")]
            if shown
            else []
            for shown in facts.shown
        ]

    add_line_source(label)
    try:
        response = client.get(f"/api/live/{rid}/people/{person}/feed")
    finally:
        remove_line_source(label)
    if response.status_code == 404:
        pytest.skip("this traced person never opened the app")
    assert all(p["why"][-1]["kind"] == "intervention" for p in response.json()["posts"])


def test_pages_render(client: TestClient, finished: dict, run_id: str) -> None:
    rid = finished["run_id"]
    person = finished["tracked"][0]
    a, b = finished["arms"]
    for url in (
        "/",
        f"/live/{rid}",
        f"/live/{rid}/person/{person}?arm={b}",
        f"/live/{rid}/person/{person}/feed?arm={a}",
        f"/live/{rid}/compare/{person}?a={a}&b={b}",
        "/runs",
        f"/runs/{run_id}",
        f"/runs/compare?a={run_id}&b={run_id}",
    ):
        response = client.get(url)
        assert response.status_code == 200, (url, response.text[:300])
        assert "feedlab" in response.text
    assert "uPlot.iife.min.js" in client.get(f"/live/{rid}").text
    assert client.get("/static/vendor/uplot/uPlot.iife.min.js").status_code == 200


def test_unknown_run_person_arm_and_tick_are_404_with_a_message(
    client: TestClient, finished: dict
) -> None:
    rid = finished["run_id"]
    response = client.get("/api/live/nope")
    assert response.status_code == 404 and "no live run 'nope'" in response.json()["detail"]
    response = client.get(f"/api/live/{rid}/people/99999")
    assert response.status_code == 404
    assert "person 99999 is not traced" in response.json()["detail"]
    response = client.get(f"/api/live/{rid}/people/{finished['tracked'][0]}?arm=bogus")
    assert response.status_code == 404 and "arm must be one of" in response.json()["detail"]
    response = client.get(f"/api/live/{rid}/people/{finished['tracked'][-1]}/feed?tick=-5")
    assert response.status_code == 404
    assert client.get("/live/nope").status_code == 404
    assert "no live run" in client.get("/live/nope").text
    response = client.get(f"/api/live/{rid}/people/abc")
    assert response.status_code == 422 and response.json()["field"] == "person"
    response = client.post(f"/api/live/{rid}/explode")
    assert response.status_code == 404 and "action must be" in response.json()["detail"]
    response = client.post(f"/api/live/{rid}/step?unit=week")
    assert response.status_code == 422 and "unit must be" in response.json()["detail"]
    response = client.get(f"/api/live/{rid}/reveal")
    assert response.status_code == 404 and "without a guess" in response.json()["detail"]


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"n_people": 20_001}, "n_people", "at most 20000"),
        ({"days": 61}, "days", "at most 60"),
        ({"warmup_days": 30}, "warmup_days", "at most 7"),
        ({"tracked": 500}, "tracked", "at most 50"),
        ({"n_people": 10}, "n_people", "greater than or equal to 50"),
        ({"n_people": "many"}, "n_people", "n_people must be"),
        ({"days": 0}, "days", "days must be"),
        ({"seed": -1}, "seed", "seed must be"),
        ({"scenario": "social-dilema"}, "scenario", "Did you mean 'social-dilemma'"),
        ({"arms": ["engagment"]}, "arms", "Did you mean 'engagement'"),
        ({"arms": ["engagement", "engagement"]}, "arms", "must not repeat"),
        ({"arms": ["a", "b", "c", "d", "e"]}, "arms", "at most 4"),
        ({"people": [5, 10**6]}, "people", "people must be ids"),
        ({"colour": "red"}, "colour", "Unknown key 'colour'"),
        (
            {"guess": {"metric": "happiness", "highest_arm": "engagement"}},
            "guess.metric",
            "guess.metric must be one of",
        ),
        (
            {"guess": {"metric": "time_spent_min", "highest_arm": "tiktok"}},
            "guess.highest_arm",
            "guess.highest_arm must be",
        ),
    ],
)
def test_invalid_launch_values_are_refused_naming_the_field(
    client: TestClient, body: dict, field: str, words: str
) -> None:
    response = client.post("/api/live", json={**SMALL, **body})
    assert response.status_code == 422, response.text
    detail = response.json()
    assert detail["field"] == field
    assert words in detail["detail"]


def test_a_body_that_is_not_a_json_object_is_400(client: TestClient) -> None:
    for body in (b"{not json", b"[1, 2]", b"\xff\xfe"):
        response = client.post(
            "/api/live", content=body, headers={"content-type": "application/json"}
        )
        assert response.status_code == 400
        assert response.json()["field"] == "body"


def test_large_bodies_are_refused_with_413(runs_dir) -> None:
    with TestClient(create_app(runs_dir, limits=Limits(max_body_bytes=1024))) as small:
        big = json.dumps({"n_people": 300, "people": list(range(2000))}).encode()
        response = small.post(
            "/api/live", content=big, headers={"content-type": "application/json"}
        )
        assert response.status_code == 413
        assert "at most 1024 bytes" in response.json()["detail"]

        def chunks():  # no content-length: counted as it arrives
            for _ in range(20):
                yield b" " * 200

        response = small.post("/api/live", content=chunks())
        assert response.status_code == 413
        response = small.post("/launch", data={"people": "1," * 2000})
        assert response.status_code == 413


def test_pause_step_resume_and_stop(runs_dir) -> None:
    with TestClient(create_app(runs_dir)) as c:
        rid = c.post("/api/live", json={**SMALL, "days": 20}).json()["run_id"]
        status = c.post(f"/api/live/{rid}/pause").json()
        assert status["status"] == "paused"
        _wait_still(c, rid)
        before = c.get(f"/api/live/{rid}").json()
        tick0 = before["tick"]
        c.post(f"/api/live/{rid}/step?unit=tick")
        after = _wait_tick(c, rid, tick0 + 1)
        assert after["tick"] == tick0 + 1 and after["status"] == "paused"
        c.post(f"/api/live/{rid}/step?unit=day")
        per_day = after["ticks_per_day"]
        next_midnight = (after["tick"] // per_day + 1) * per_day
        stepped = _wait_tick(c, rid, next_midnight)
        assert stepped["tick"] == next_midnight
        assert stepped["day"] == next_midnight // per_day
        assert c.post(f"/api/live/{rid}/resume").json()["status"] == "running"
        c.post(f"/api/live/{rid}/stop")
        final = wait_until_ended(c, rid)
        assert final["status"] == "stopped"
        assert final["day"] < 20
        assert c.get(f"/api/live/{rid}/days").status_code == 200


def _wait_still(c: TestClient, rid: str) -> None:
    """Wait until the paused run's tick stops moving (the tick in flight finishes)."""
    import time

    last = -1
    for _ in range(200):
        tick = c.get(f"/api/live/{rid}").json()["tick"]
        if tick == last:
            return
        last = tick
        time.sleep(0.1)


def _wait_tick(c: TestClient, rid: str, tick: int) -> dict:
    import time

    for _ in range(600):
        status = c.get(f"/api/live/{rid}").json()
        if status["tick"] >= tick:
            _wait_still(c, rid)
            return c.get(f"/api/live/{rid}").json()
        time.sleep(0.05)
    raise AssertionError(f"tick {tick} not reached")


def test_too_many_simulating_runs_is_429(runs_dir) -> None:
    with TestClient(create_app(runs_dir, limits=Limits(max_active=1))) as c:
        first = c.post("/api/live", json={**SMALL, "days": 30}).json()["run_id"]
        c.post(f"/api/live/{first}/pause")
        response = c.post("/api/live", json=SMALL)
        assert response.status_code == 429
        assert "at most 1 live runs" in response.json()["detail"]
        c.post(f"/api/live/{first}/stop")
        wait_until_ended(c, first)
        assert c.post("/api/live", json=SMALL).status_code == 201


def test_predict_then_run_reveals_the_guess(runs_dir) -> None:
    guess = {"metric": "time_spent_min", "highest_arm": "chronological", "baseline_value": 5.0}
    with TestClient(create_app(runs_dir)) as c:
        rid = c.post("/api/live", json={**SMALL, "guess": guess}).json()["run_id"]
        early = c.get(f"/api/live/{rid}/reveal")
        assert early.status_code in (200, 409)
        wait_until_ended(c, rid)
        reveal = c.get(f"/api/live/{rid}/reveal").json()
        days = c.get(f"/api/live/{rid}/days").json()["days"]
    means = {
        arm: sum(d["metrics"][arm]["time_spent_min"] for d in days) / len(days)
        for arm in reveal["means"]
    }
    assert reveal["means"] == pytest.approx(means)
    highest = max(means, key=means.get)
    assert reveal["actual_highest_arm"] == highest
    assert reveal["highest_right"] == (highest == "chronological")
    baseline = reveal["baseline"]
    assert reveal["baseline_error"] == pytest.approx(5.0 - means[baseline])


def test_the_html_form_launches_and_reports_errors(runs_dir) -> None:
    with TestClient(create_app(runs_dir)) as c:
        response = c.post(
            "/launch",
            data={
                "scenario": "social-dilemma",
                "n_people": "300",
                "days": "1",
                "warmup_days": "0",
                "arms": ["engagement", "chronological"],
                "tracked": "3",
                "people": "7, 9",
            },
            follow_redirects=False,
        )
        assert response.status_code == 303
        rid = response.headers["location"].rsplit("/", 1)[1]
        status = wait_until_ended(c, rid)
        assert status["arms"] == ["engagement", "chronological"]
        assert {7, 9} <= set(status["tracked"])
        response = c.post("/launch", data={"n_people": "50000"})
        assert response.status_code == 422
        assert "n_people must be at most 20000" in response.text


def test_past_runs_come_from_the_catalog(client: TestClient, run_id: str) -> None:
    ids = [r["run_id"] for r in client.get("/api/runs").json()]
    assert run_id in ids
    assert all(i == run_id or "-live-" in i for i in ids)  # and saved live runs
    detail = client.get(f"/api/runs/{run_id}").json()
    assert detail["record"]["n_people"] == 300
    assert set(detail["means"]["time_spent_min"]) == set(detail["record"]["arms"])
    report = client.get(f"/runs/{run_id}/files/report.html")
    assert report.status_code == 200 and "<html" in report.text.lower()
    assert client.get(f"/runs/{run_id}/files/config.toml").status_code == 200
    compare = client.get(f"/api/runs/compare?a={run_id}&b={run_id}").json()
    assert compare["rows"] and compare["rows"][0]["a"] == compare["rows"][0]["b"]
    response = client.get("/api/runs/nope")
    assert response.status_code == 404 and "no run 'nope'" in response.json()["detail"]
    response = client.get(f"/api/runs/compare?a={run_id}&b=nope")
    assert response.status_code == 404 and "no run 'nope'" in response.json()["detail"]
    response = client.get(f"/runs/{run_id}/files/secrets.txt")
    assert response.status_code == 404 and "file must be one of" in response.text


def test_an_empty_runs_folder_lists_nothing(tmp_path) -> None:
    with TestClient(create_app(tmp_path / "absent")) as c:
        assert c.get("/api/runs").json() == []
        assert c.get("/runs").status_code == 200


def test_the_serve_command_prints_the_token_off_loopback(
    monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    import uvicorn
    from typer.testing import CliRunner

    from feedlab.cli.main import app as cli

    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append(kw))
    env = {"COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"}
    result = CliRunner().invoke(
        cli, ["serve", "--host", "0.0.0.0", "--port", "9001", "--runs-dir", str(tmp_path)], env=env
    )
    assert result.exit_code == 0, result.output
    assert "?token=" in result.output and "Authorization: Bearer" in result.output
    assert calls[-1]["host"] == "0.0.0.0" and calls[-1]["port"] == 9001
    result = CliRunner().invoke(cli, ["serve", "--runs-dir", str(tmp_path)], env=env)
    assert result.exit_code == 0 and "loopback only" in result.output
    assert calls[-1]["host"] == "127.0.0.1"
    result = CliRunner().invoke(cli, ["serve", "--port", "0"], env=env)
    assert result.exit_code == 2
