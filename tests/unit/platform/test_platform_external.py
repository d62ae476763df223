"""The external ranker protocol: requests, validation of answers, and the HTTP client."""

from __future__ import annotations

import json
import pickle
import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

from feedlab.core.errors import ConfigError, ExternalRankerError
from feedlab.experiments.config import load_config
from feedlab.platform.external import (
    PROTOCOL,
    ExternalRanker,
    NewestFirst,
    RankRequest,
    RankResponse,
    build_request,
    openapi_schema,
)
from feedlab.platform.rankers.base import RankContext, check_ranker

OPENAPI = Path(__file__).parents[3] / "docs" / "external-ranker.openapi.json"


@pytest.fixture
def context(make_context) -> RankContext:
    rng = np.random.default_rng(1)
    valid = np.ones((3, 6), bool)
    valid[2, 2:] = False  # a session with only two candidates
    return make_context(valid, created=rng.integers(50, 100, (3, 6)), tick=120)


class Scripted:
    """An in-process recommender that answers with a fixed transformation of the request."""

    def __init__(self, mode: str) -> None:
        self.mode = mode

    def rank(self, request: dict[str, Any]) -> Any:
        rankings = []
        for s in request["sessions"]:
            ids = [c["id"] for c in s["candidates"]]
            if s["session"] == 1:
                if self.mode == "duplicates":
                    ids = [ids[0], *ids[:-1]]
                elif self.mode == "unknown":
                    ids = [*ids[:-1], 999_999]
                elif self.mode == "too-few":
                    ids = ids[:2]
                elif self.mode == "strings":
                    ids = [str(i) for i in ids]
                elif self.mode == "crash":
                    raise ZeroDivisionError("bug in the recommender")
            rankings.append({"session": s["session"], "ids": ids})
        if self.mode == "missing-session":
            rankings = rankings[:2]
        return {"protocol": PROTOCOL, "rankings": rankings}


def _module_ranker(mode: str) -> ExternalRanker:
    return ExternalRanker(module=f"{__name__}:Scripted", options={"mode": mode})


def test_the_request_holds_history_and_observable_features_only(context: RankContext) -> None:
    request = build_request(context, 4, None)
    RankRequest.model_validate(request)  # matches the documented schema
    assert json.loads(json.dumps(request)) == request  # JSON-serialisable as is
    assert [len(s["candidates"]) for s in request["sessions"]] == [6, 6, 2]
    candidate = request["sessions"][0]["candidates"][0]
    for truth in ("leaning", "is_false", "outrage", "quality", "novelty"):
        assert truth not in candidate
    assert request["sessions"][2]["person"] == int(context.candidates.persons[2])


def test_the_reference_recommender_conforms_and_orders_newest_first(
    context: RankContext,
) -> None:
    ranker = ExternalRanker()
    check_ranker(ranker, context, k=4)
    feeds = ranker.rank(context, 4, np.random.default_rng(0))
    created = context.view.created[context.candidates.slots[0, feeds[0]]]
    assert (np.diff(created) <= 0).all()
    assert (feeds[2, 2:] == -1).all()  # two candidates, two slots filled


@pytest.mark.parametrize(
    ("mode", "problem"),
    [
        ("duplicates", "duplicate id"),
        ("unknown", "unknown id 999999"),
        ("too-few", "too few ids: 2 for 6 candidates, need 4"),
        ("strings", "'ids' must be a list of integers"),
        ("missing-session", "no ranking for 1 of 3 sessions"),
    ],
)
def test_a_bad_answer_is_refused_naming_the_request(
    mode: str, problem: str, context: RankContext
) -> None:
    ranker = _module_ranker(mode)
    session = 2 if mode == "missing-session" else 1
    person = int(context.candidates.persons[session])
    where = f"at tick 120, session {session} (person {person}): "
    with pytest.raises(ExternalRankerError, match=re.escape(where) + ".*" + re.escape(problem)):
        ranker.rank(context, 4, np.random.default_rng(0))


def test_a_crashing_recommender_gives_a_clear_error(context: RankContext) -> None:
    with pytest.raises(ExternalRankerError, match=r"tick 120 \(3 sessions.*ZeroDivisionError"):
        _module_ranker("crash").rank(context, 4, np.random.default_rng(0))


def test_a_module_that_cannot_be_loaded_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="importable module"):
        ExternalRanker(module="no_such_package.anywhere:Thing")
    with pytest.raises(ConfigError, match=re.escape("arms[0].ranker_params")):
        load_config(
            "social-dilemma",
            ["baseline=x", "arms=[{name='x', ranker='external', ranker_params={retries=-1}}]"],
        )


def test_the_ranker_pickles_as_its_parameters(context: RankContext) -> None:
    ranker = ExternalRanker(url="http://127.0.0.1:9", retries=0)
    clone = pickle.loads(pickle.dumps(ranker))
    assert clone.params == ranker.params


def test_the_committed_openapi_schema_is_current() -> None:
    committed = json.loads(OPENAPI.read_text(encoding="utf-8"))
    assert committed == openapi_schema(), (
        "regenerate with: python -c 'import json; from feedlab.platform.external import "
        "openapi_schema; print(json.dumps(openapi_schema(), indent=2))' > "
        "docs/external-ranker.openapi.json"
    )


# --- HTTP ------------------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    mode = "ok"
    calls: ClassVar[list[float]] = []

    def log_message(self, *args: Any) -> None:  # keep test output quiet
        pass

    def do_POST(self) -> None:
        type(self).calls.append(time.monotonic())
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        mode = type(self).mode
        if mode == "slow":
            time.sleep(1.0)
        if mode == "trickle":  # headers at once, then one byte every 0.1 s
            self.send_response(200)
            self.send_header("content-length", "40")
            self.end_headers()
            for _ in range(40):
                self.wfile.write(b" ")
                self.wfile.flush()
                time.sleep(0.1)
            return
        if mode == "500" or (mode == "flaky" and len(type(self).calls) < 3):
            self.send_response(500)
            self.end_headers()
            return
        if mode == "malformed":
            payload = b"{not json"
        elif mode == "wrong-schema":
            payload = json.dumps({"protocol": PROTOCOL, "rankings": {"0": [1, 2]}}).encode()
        else:
            payload = json.dumps(NewestFirst().rank(body)).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


@pytest.fixture
def server() -> Iterator[tuple[str, type[_Handler]]]:
    handler = type("Handler", (_Handler,), {"calls": [], "mode": "ok"})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", handler
    httpd.shutdown()
    httpd.server_close()


def test_an_http_recommender_ranks_like_the_same_code_in_process(server, context) -> None:
    url, _ = server
    over_http = ExternalRanker(url=url).rank(context, 4, np.random.default_rng(0))
    in_process = ExternalRanker().rank(context, 4, np.random.default_rng(0))
    np.testing.assert_array_equal(over_http, in_process)


@pytest.mark.parametrize(
    ("mode", "calls", "problem"),
    [
        ("slow", 2, "no answer within the 0.2 s timeout (after 2 attempts)"),
        ("trickle", 2, "no answer within the 0.2 s timeout (after 2 attempts)"),
        ("500", 3, "HTTP 500 Internal Server Error (after 3 attempts)"),
        ("malformed", 1, "the body is not valid JSON"),
        ("wrong-schema", 1, "'rankings' must be a list"),
    ],
)
def test_a_misbehaving_server_gives_a_clear_error(server, context, mode, calls, problem) -> None:
    url, handler = server
    handler.mode = mode
    retries = 1 if mode in ("slow", "trickle") else 2
    ranker = ExternalRanker(url=url, timeout_seconds=0.2, retries=retries, backoff_seconds=0.01)
    with pytest.raises(ExternalRankerError) as caught:
        ranker.rank(context, 4, np.random.default_rng(0))
    message = str(caught.value)
    assert url in message and "tick 120" in message
    assert problem in message
    assert len(handler.calls) == calls


class _FakeTime:
    """A clock that moves only when slept on, recording each sleep."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 9))
        self.now += seconds


def _http(url: str, **params: Any) -> tuple[ExternalRanker, _FakeTime]:
    ranker = ExternalRanker(url=url, **params)
    fake = _FakeTime()
    client = ranker.recommender()
    client.clock, client.sleep = fake.clock, fake.sleep  # type: ignore[attr-defined]
    return ranker, fake


def test_retries_with_backoff_recover_from_passing_failures(server, context) -> None:
    url, handler = server
    handler.mode = "flaky"  # two 500s, then answers
    ranker, fake = _http(url, retries=3, backoff_seconds=0.05)
    feeds = ranker.rank(context, 4, np.random.default_rng(0))
    assert (feeds[0] >= 0).all()
    assert len(handler.calls) == 3
    assert fake.sleeps == [0.05, 0.1]  # the wait doubles


def test_the_rate_limit_spaces_requests(server, context) -> None:
    url, handler = server
    ranker, fake = _http(url, rate_limit=4.0)
    for _ in range(3):
        ranker.rank(context, 4, np.random.default_rng(0))
        fake.now += 0.05  # the caller's own work between requests
    assert len(handler.calls) == 3
    assert fake.sleeps == [0.2, 0.2]  # 0.25 s between requests, 0.05 s of it already spent


def test_an_http_ranker_pickles_without_its_connection(server, context) -> None:
    url, _ = server
    ranker = ExternalRanker(url=url)
    ranker.rank(context, 4, np.random.default_rng(0))
    clone = pickle.loads(pickle.dumps(ranker))
    np.testing.assert_array_equal(
        clone.rank(context, 4, np.random.default_rng(0)),
        ranker.rank(context, 4, np.random.default_rng(0)),
    )


def test_the_response_model_documents_the_answer() -> None:
    assert RankResponse.model_validate(NewestFirst().rank({"sessions": []})).rankings == []
