"""The control room: a FastAPI app over live runs (engine) and past runs (the catalog).

Pages are server-side Jinja2 templates with small scripts; every page reads the JSON API below,
which tests drive directly. The app never writes outside the runs folder and reads there only
through :func:`~feedlab.web.security.confined` paths of runs listed in the catalog.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import polars as pl
from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.responses import StreamingResponse

from feedlab import __version__
from feedlab.core.errors import SimError
from feedlab.engine.explain import explain_feed
from feedlab.engine.trace import RESPONSE_ACTIONS, FeedTrace, PersonDay, action_names
from feedlab.experiments.config import DEFAULT_SCENARIO, load_config, scenario_names
from feedlab.io.catalog import list_runs
from feedlab.metrics.catalog import METRICS
from feedlab.web.forms import (
    GUESS_METRICS,
    FormError,
    Limits,
    build_config,
    form_from_fields,
    guess_of,
    parse_launch,
)
from feedlab.web.live import LiveRun, LiveRuns, clean
from feedlab.web.security import (
    BodyLimitMiddleware,
    PathRefused,
    SameOriginMiddleware,
    TokenMiddleware,
    confined,
)

HERE = Path(__file__).parent
RUN_FILES = {
    "report.html": "text/html",
    "config.toml": "text/plain",
    "comparison.csv": "text/csv",
    "metrics.parquet": "application/octet-stream",
}
"""Files of a run folder the dashboard serves, and their media types."""

CHART_METRICS = (
    "time_spent_min",
    "impressions_outrage_share",
    "posts_outrage_share",
    "impressions_false_share",
    "posts_false_share",
    "wellbeing_mean",
    "model_auc",
    "leaning_inference_mae",
    "opinion_variance",
    "affective_gap",
)


def create_app(
    runs_dir: Path = Path("runs"),
    *,
    token: str | None = None,
    limits: Limits | None = None,
    allowed_hosts: tuple[str, ...] | None = None,
) -> FastAPI:
    """The dashboard app.

    Args:
        runs_dir: the runs folder (catalog and run folders); nothing outside it is served.
        token: if given, every request must carry it (set when binding beyond loopback).
        limits: bounds on what requests may ask for.
        allowed_hosts: host names the ``Host`` header may carry (``feedlab serve`` on loopback
            passes the loopback names); None for any. Cross-site state changes are refused
            either way.
    """
    limits = limits or Limits()
    live = LiveRuns(limits.max_active, limits.max_kept)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        live.stop_all()

    app = FastAPI(title="feedlab control room", version=__version__, lifespan=lifespan)
    app.state.runs_dir = Path(runs_dir)
    app.state.live = live
    app.state.limits = limits
    app.add_middleware(BodyLimitMiddleware, limit=limits.max_body_bytes)
    app.add_middleware(SameOriginMiddleware, allowed_hosts=allowed_hosts)
    if token is not None:
        app.add_middleware(TokenMiddleware, token=token)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    templates = Jinja2Templates(directory=HERE / "templates")
    templates.env.globals["version"] = __version__
    templates.env.globals["default_scenario"] = DEFAULT_SCENARIO

    def page(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        return templates.TemplateResponse(request, name, context, status_code=status)

    # -- errors: JSON for the API, a page for people ------------------------------------
    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": error.detail}, status_code=error.status_code)
        return page(request, "error.html", error.status_code, message=error.detail)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> Response:
        first = error.errors()[0]
        loc = [str(p) for p in first.get("loc", ()) if p not in ("path", "query", "body")]
        field = ".".join(loc) or "request"
        text = str(first.get("msg", "is invalid")).replace("Input should be ", "")
        detail = f"{field} must be {text}, got {first.get('input')!r}."
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": detail, "field": field}, status_code=422)
        return page(request, "error.html", 422, message=detail)

    def form_error(error: FormError) -> JSONResponse:
        return JSONResponse({"detail": str(error), "field": error.field}, status_code=422)

    def get_run(run_id: str) -> LiveRun:
        run = live.get(run_id)
        if run is None:
            raise HTTPException(
                404,
                f"no live run {run_id!r}; live runs: {', '.join(r.run_id for r in live.all()) or 'none'}.",
            )
        return run

    def get_arm(run: LiveRun, arm: str | None) -> str:
        name = arm or run.arms[0]
        if run.stepper(name) is None:
            raise HTTPException(404, f"arm must be one of {', '.join(run.arms)}, got {name!r}.")
        return name

    def get_person(run: LiveRun, person: int) -> int:
        if person not in run.tracked:
            shown = ", ".join(str(p) for p in run.tracked[:20])
            raise HTTPException(
                404, f"person {person} is not traced in run {run.run_id}; traced people: {shown}."
            )
        return person

    def launch(data: dict[str, Any]) -> LiveRun:
        form = parse_launch(data, limits)
        config, tracked = build_config(form, limits)
        run = LiveRun.create(config, tracked, guess_of(form), runs_dir=app.state.runs_dir)
        try:
            live.add(run)
        except RuntimeError as error:
            raise HTTPException(429, str(error)) from None
        return run

    # -- pages ----------------------------------------------------------------------------
    @app.get("/", response_class=HTMLResponse)
    def index(request: Request) -> HTMLResponse:
        return page(
            request,
            "index.html",
            scenarios=_scenarios(),
            runs=[r.summary() for r in live.all()],
            limits=limits,
            guess_metrics=GUESS_METRICS,
            error=None,
        )

    @app.post("/launch", response_class=HTMLResponse, response_model=None)
    async def launch_form(request: Request) -> Response:
        form = await request.form()
        fields: dict[str, str | list[str]] = {}
        for key in form:
            values = [str(v) for v in form.getlist(key)]
            fields[key] = values if key == "arms" else values[0]
        try:
            run = launch(form_from_fields(fields))
        except FormError as error:
            return page(
                request,
                "index.html",
                422,
                scenarios=_scenarios(),
                runs=[r.summary() for r in live.all()],
                limits=limits,
                guess_metrics=GUESS_METRICS,
                error=str(error),
            )
        return RedirectResponse(f"/live/{run.run_id}", status_code=303)

    @app.get("/live/{run_id}", response_class=HTMLResponse)
    def live_page(request: Request, run_id: str) -> HTMLResponse:
        run = get_run(run_id)
        return page(request, "live.html", run=run.summary(), charts=CHART_METRICS)

    @app.get("/live/{run_id}/person/{person}", response_class=HTMLResponse)
    def person_page(
        request: Request, run_id: str, person: int, arm: str | None = None
    ) -> HTMLResponse:
        run = get_run(run_id)
        name = get_arm(run, arm)
        data = _person(run, name, get_person(run, person))
        return page(request, "person.html", run=run.summary(), arm=name, data=data)

    @app.get("/live/{run_id}/person/{person}/feed", response_class=HTMLResponse)
    def feed_page(
        request: Request, run_id: str, person: int, arm: str | None = None, tick: int | None = None
    ) -> HTMLResponse:
        run = get_run(run_id)
        name = get_arm(run, arm)
        data = _feed(run, name, get_person(run, person), tick)
        return page(request, "feed.html", run=run.summary(), arm=name, data=data)

    @app.get("/live/{run_id}/compare/{person}", response_class=HTMLResponse)
    def compare_page(
        request: Request,
        run_id: str,
        person: int,
        a: str | None = None,
        b: str | None = None,
        day: int | None = None,
    ) -> HTMLResponse:
        run = get_run(run_id)
        get_person(run, person)
        arm_a = get_arm(run, a)
        arm_b = get_arm(run, b or (run.arms[1] if len(run.arms) > 1 else run.arms[0]))
        sides = [_side(run, arm, person, day) for arm in (arm_a, arm_b)]
        return page(request, "compare.html", run=run.summary(), person=person, sides=sides)

    @app.get("/runs", response_class=HTMLResponse)
    def runs_page(request: Request) -> HTMLResponse:
        return page(request, "runs.html", runs=_catalog(app.state.runs_dir))

    @app.get("/runs/compare", response_class=HTMLResponse)
    def runs_compare_page(request: Request, a: str, b: str) -> HTMLResponse:
        data = _compare_runs(app.state.runs_dir, a, b)
        return page(request, "runs_compare.html", data=data)

    @app.get("/runs/{run_id}", response_class=HTMLResponse)
    def run_page(request: Request, run_id: str) -> HTMLResponse:
        data = _past_run(app.state.runs_dir, run_id)
        return page(request, "run.html", data=data)

    @app.get("/runs/{run_id}/files/{name}")
    def run_file(run_id: str, name: str) -> FileResponse:
        _record(app.state.runs_dir, run_id)
        if name not in RUN_FILES:
            raise HTTPException(404, f"file must be one of {', '.join(RUN_FILES)}, got {name!r}.")
        path = _confined(app.state.runs_dir, run_id, name)
        if not path.is_file():
            raise HTTPException(404, f"run {run_id!r} has no {name}.")
        return FileResponse(path, media_type=RUN_FILES[name])

    # -- API --------------------------------------------------------------------------------
    @app.get("/api/health")
    def health() -> dict[str, Any]:
        return {"ok": True, "version": __version__}

    @app.get("/api/scenarios")
    def scenarios() -> list[dict[str, Any]]:
        return _scenarios()

    @app.get("/api/limits")
    def get_limits() -> dict[str, int]:
        return {k: int(getattr(limits, k)) for k in limits.__dataclass_fields__}

    @app.get("/api/live")
    def live_runs() -> list[dict[str, Any]]:
        return [r.summary() for r in live.all()]

    @app.post("/api/live", status_code=201, response_model=None)
    async def live_launch(request: Request) -> Response:
        try:
            data = json.loads(await request.body() or b"{}")
        except (json.JSONDecodeError, UnicodeDecodeError):
            return JSONResponse(
                {"detail": "the request body must be a JSON object.", "field": "body"}, 400
            )
        if not isinstance(data, dict):
            return JSONResponse(
                {"detail": "the request body must be a JSON object.", "field": "body"}, 400
            )
        try:
            run = launch(data)
        except FormError as error:
            return form_error(error)
        return JSONResponse(run.summary(), status_code=201)

    @app.get("/api/live/{run_id}")
    def live_status(run_id: str) -> dict[str, Any]:
        return get_run(run_id).summary()

    @app.post("/api/live/{run_id}/{action}")
    def live_control(run_id: str, action: str, unit: str = "day") -> dict[str, Any]:
        run = get_run(run_id)
        if action == "pause":
            run.pause()
        elif action == "resume":
            run.resume()
        elif action == "step":
            if unit not in ("tick", "day"):
                raise HTTPException(422, f"unit must be 'tick' or 'day', got {unit!r}.")
            run.step(unit)
        elif action == "stop":
            run.stop()
        else:
            raise HTTPException(404, f"action must be pause, resume, step or stop, got {action!r}.")
        return run.summary()

    @app.get("/api/live/{run_id}/events")
    def live_events(run_id: str, start: int = 0) -> StreamingResponse:
        run = get_run(run_id)
        return StreamingResponse(
            run.broadcaster.follow(start),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    @app.get("/api/live/{run_id}/days")
    def live_days(run_id: str) -> dict[str, Any]:
        run = get_run(run_id)
        return {"run": run.summary(), "days": list(run.days)}

    @app.get("/api/live/{run_id}/reveal")
    def live_reveal(run_id: str) -> dict[str, Any]:
        run = get_run(run_id)
        if run.guess is None:
            raise HTTPException(404, f"run {run_id} was launched without a guess.")
        result = run.reveal()
        if result is None:
            raise HTTPException(409, f"run {run_id} has not ended yet (status {run.status}).")
        return result

    @app.get("/api/live/{run_id}/people")
    def live_people(run_id: str) -> dict[str, Any]:
        run = get_run(run_id)
        return {"tracked": run.tracked, "arms": run.arms}

    @app.get("/api/live/{run_id}/people/{person}")
    def live_person(run_id: str, person: int, arm: str | None = None) -> dict[str, Any]:
        run = get_run(run_id)
        return _person(run, get_arm(run, arm), get_person(run, person))

    @app.get("/api/live/{run_id}/people/{person}/feed")
    def live_feed(
        run_id: str, person: int, arm: str | None = None, tick: int | None = None
    ) -> dict[str, Any]:
        run = get_run(run_id)
        return _feed(run, get_arm(run, arm), get_person(run, person), tick)

    @app.get("/api/runs")
    def past_runs() -> list[dict[str, Any]]:
        return _catalog(app.state.runs_dir)

    @app.get("/api/runs/compare")
    def past_runs_compare(a: str, b: str) -> dict[str, Any]:
        return _compare_runs(app.state.runs_dir, a, b)

    @app.get("/api/runs/{run_id}")
    def past_run(run_id: str) -> dict[str, Any]:
        return _past_run(app.state.runs_dir, run_id)

    return app


# -- live-run views -------------------------------------------------------------------------


def _scenarios() -> list[dict[str, Any]]:
    out = []
    for name in scenario_names():
        config = load_config(name)
        out.append(
            {
                "name": name,
                "description": config.description,
                "arms": [arm.name for arm in config.arms],
                "rankers": {arm.name: arm.ranker for arm in config.arms},
                "baseline": config.baseline_arm,
                "n_people": config.world.n_people,
                "days": config.days,
            }
        )
    return out


def _day_dict(day: PersonDay) -> dict[str, Any]:
    return {
        "day": day.day,
        "true": {k: clean(v) for k, v in day.true.items()},
        "inferred": {
            k: {"value": clean(v), "se": None if se is None else clean(se)}
            for k, (v, se) in day.inferred.items()
        },
        "collected": {k: clean(v) for k, v in day.collected.items()},
        "accuracy": {k: clean(v) for k, v in day.accuracy.items()},
        "minutes": clean(day.minutes),
        "targeting": day.targeting,
    }


def _person(run: LiveRun, arm: str, person: int) -> dict[str, Any]:
    stepper = run.stepper(arm)
    assert stepper is not None and stepper.tracer is not None
    tracer = stepper.tracer
    days = [_day_dict(d) for d in list(tracer.days.get(person, []))]
    feeds = list(tracer.feeds.get(person, []))
    per_day = stepper.ticks_per_day
    sessions = [
        {
            "tick": f.facts.tick,
            "day": f.facts.tick // per_day + 1,
            "hour": (f.facts.tick % per_day) * 24 / per_day,
            "shown": int(f.facts.shown.sum()),
            "seen": int(f.seen.sum()),
            "engaged": int(f.actions[:, :4].any(axis=1).sum()),
        }
        for f in feeds
    ]
    return {
        "run_id": run.run_id,
        "arm": arm,
        "arms": run.arms,
        "person": person,
        "warmup_days": run.config.warmup_days,
        "latest": days[-1] if days else None,
        "days": days,
        "sessions": sessions,
    }


def _feed_dict(run: LiveRun, arm: str, feed: FeedTrace) -> dict[str, Any]:
    stepper = run.stepper(arm)
    assert stepper is not None
    facts = feed.facts
    lines = explain_feed(stepper.setup.ranker, facts)
    names = action_names()
    posts = []
    for slot in np.flatnonzero(facts.shown).tolist():
        did = [a for i, a in enumerate(RESPONSE_ACTIONS) if feed.actions[slot, i]]
        posts.append(
            {
                "slot": slot,
                "post_id": int(facts.post_ids[slot]),
                "author": int(facts.authors[slot]),
                "in_network": bool(facts.in_network[slot]),
                "topic": int(feed.topic[slot]),
                "leaning": clean(float(feed.leaning[slot])),
                "outrage": clean(float(feed.outrage[slot])),
                "is_false": bool(feed.is_false[slot]),
                "reshare_depth": int(feed.depth[slot]),
                "predictions": {
                    a: clean(float(facts.predictions[slot, i])) for i, a in enumerate(names)
                },
                "seen": bool(feed.seen[slot]),
                "actions": did,
                "dwell_seconds": clean(float(feed.dwell_seconds[slot])),
                "why": [line.to_dict() for line in lines[slot]],
            }
        )
    per_day = stepper.ticks_per_day
    return {
        "tick": facts.tick,
        "day": facts.tick // per_day + 1,
        "hour": (facts.tick % per_day) * 24 / per_day,
        "ranker": type(stepper.setup.ranker).__name__,
        "posts": posts,
    }


def _feed(run: LiveRun, arm: str, person: int, tick: int | None) -> dict[str, Any]:
    stepper = run.stepper(arm)
    assert stepper is not None and stepper.tracer is not None
    feeds = list(stepper.tracer.feeds.get(person, []))
    if not feeds:
        raise HTTPException(404, f"person {person} has not opened the app yet under {arm}.")
    if tick is None:
        feed = feeds[-1]
    else:
        found = next((f for f in feeds if f.facts.tick == tick), None)
        if found is None:
            nearest = min(feeds, key=lambda f: abs(f.facts.tick - tick)).facts.tick
            raise HTTPException(
                404,
                f"person {person} had no session at tick {tick} under {arm}; nearest: tick {nearest}.",
            )
        feed = found
    out = _feed_dict(run, arm, feed)
    out.update(
        run_id=run.run_id,
        arm=arm,
        arms=run.arms,
        person=person,
        ticks=[f.facts.tick for f in feeds],
    )
    return out


def _side(run: LiveRun, arm: str, person: int, day: int | None) -> dict[str, Any]:
    """One arm's half of the side-by-side view: the trajectory and a feed of the chosen day."""
    data = _person(run, arm, person)
    stepper = run.stepper(arm)
    assert stepper is not None and stepper.tracer is not None
    feeds = list(stepper.tracer.feeds.get(person, []))
    per_day = stepper.ticks_per_day
    if day is not None:
        feeds = [f for f in feeds if f.facts.tick // per_day + 1 == day] or feeds
    data["feed"] = _feed_dict(run, arm, feeds[-1]) if feeds else None
    return data


# -- past runs -------------------------------------------------------------------------------


def _catalog(runs_dir: Path) -> list[dict[str, Any]]:
    if not runs_dir.is_dir():
        return []
    try:
        frame = list_runs(runs_dir)
    except (duckdb.Error, SimError) as error:
        raise HTTPException(
            503, f"the catalog of the runs folder could not be read: {error}"
        ) from None
    rows = frame.to_dicts()
    for row in rows:
        row["created_at"] = str(row["created_at"])
        row["arms"] = list(row["arms"] or [])
    return rows


def _record(runs_dir: Path, run_id: str) -> dict[str, Any]:
    for row in _catalog(runs_dir):
        if row["run_id"] == run_id:
            return row
    raise HTTPException(404, f"no run {run_id!r} in the catalog of this runs folder.")


def _confined(runs_dir: Path, *parts: str) -> Path:
    try:
        return confined(runs_dir, *parts)
    except PathRefused as error:
        raise HTTPException(403, f"refused: {error}") from None


def _means(runs_dir: Path, record: dict[str, Any]) -> dict[str, dict[str, float | None]]:
    """Mean of each metric over days and seeds, per arm: ``{metric: {arm: mean}}``."""
    path = _confined(runs_dir, record["path"], "metrics.parquet")
    if not path.is_file():
        raise HTTPException(404, f"run {record['run_id']!r} has no metrics.parquet.")
    frame = (
        pl.read_parquet(path)
        .group_by(["metric", "arm"])
        .agg(pl.col("value").fill_nan(None).mean())
        .sort(["metric", "arm"])
    )
    out: dict[str, dict[str, float | None]] = {}
    for metric, arm, value in frame.iter_rows():
        out.setdefault(metric, {})[arm] = None if value is None else clean(float(value))
    return out


def _past_run(runs_dir: Path, run_id: str) -> dict[str, Any]:
    record = _record(runs_dir, run_id)
    units = {m.name: m.unit for m in METRICS}
    return {"record": record, "means": _means(runs_dir, record), "units": units}


def _compare_runs(runs_dir: Path, a: str, b: str) -> dict[str, Any]:
    first, second = _record(runs_dir, a), _record(runs_dir, b)
    means_a, means_b = _means(runs_dir, first), _means(runs_dir, second)
    rows = []
    for metric in sorted(set(means_a) | set(means_b)):
        rows.append({"metric": metric, "a": means_a.get(metric, {}), "b": means_b.get(metric, {})})
    return {"a": first, "b": second, "rows": rows}
