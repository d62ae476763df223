"""Live runs: one simulation thread per run, its days broadcast to any number of watchers.

A :class:`LiveRun` steps every arm of one seed tick by tick through
:class:`~feedlab.engine.live.CellStepper` (the engine's own loop, so results equal those of
``feedlab run`` with the same config and seed), with a :class:`~feedlab.engine.trace.Tracer` on a
few people per arm. Pause, step and stop act between ticks.

Each closed day becomes one event, encoded once, appended to the run's history. Watchers
(server-sent-event streams) keep only a cursor into that history and wait for a wake-up, so a
slow watcher costs no memory and never slows the simulation: the history is bounded by the
run's days, and nothing is queued per watcher.
"""

from __future__ import annotations

import asyncio
import json
import math
import secrets
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from feedlab.engine.run import CellStepper, MetricRow
from feedlab.engine.trace import Tracer
from feedlab.experiments.config import ExperimentConfig
from feedlab.experiments.runner import plan, save_run

KEEPALIVE_SECONDS = 15.0
"""An SSE comment is sent after this long without news, so idle connections stay open."""


def clean(value: float) -> float | None:
    """A float for JSON: NaN and infinities become None."""
    return None if not math.isfinite(value) else float(value)


class Broadcaster:
    """One producer thread, any number of asyncio watchers; per-watcher state is a cursor.

    The history holds every published event already encoded as SSE text, so each event is
    serialized once whatever the number of watchers.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._history: list[bytes] = []
        self._state: bytes = b""
        self._state_version = 0
        self._closed = False
        self._waiters: dict[asyncio.AbstractEventLoop, asyncio.Event] = {}
        self.watchers = 0

    def publish(self, kind: str, payload: dict[str, Any]) -> None:
        """Append an event to the history and wake every watcher."""
        data = _sse(kind, payload)
        with self._lock:
            self._history.append(data)
        self._wake()

    def set_state(self, payload: dict[str, Any], *, announce: bool = True) -> None:
        """Replace the current state (not kept in the history).

        With ``announce`` every watcher is woken to send it; without, only watchers that join
        later send it (for a state already carried by the event just published).
        """
        data = _sse("state", payload)
        with self._lock:
            self._state = data
            if announce:
                self._state_version += 1
        if announce:
            self._wake()

    def close(self) -> None:
        """No more events: watchers end after sending what they have not sent yet."""
        with self._lock:
            self._closed = True
        self._wake()

    @property
    def n_events(self) -> int:
        """Events published so far."""
        return len(self._history)

    def _wake(self) -> None:
        with self._lock:
            loops = list(self._waiters)
        for loop in loops:
            try:
                loop.call_soon_threadsafe(self._notify, loop)
            except RuntimeError:  # the loop has closed
                with self._lock:
                    self._waiters.pop(loop, None)

    def _notify(self, loop: asyncio.AbstractEventLoop) -> None:
        with self._lock:
            event = self._waiters.get(loop)
            self._waiters[loop] = asyncio.Event()
        if event is not None:
            event.set()

    def _waiter(self) -> asyncio.Event:
        loop = asyncio.get_running_loop()
        with self._lock:
            if loop not in self._waiters:
                self._waiters[loop] = asyncio.Event()
            return self._waiters[loop]

    async def follow(self, start: int = 0) -> AsyncIterator[bytes]:
        """Every event from index ``start`` on, then new ones as they come, until closed."""
        cursor = max(0, start)
        version = -1
        self.watchers += 1
        try:
            while True:
                waiter = self._waiter()  # taken before reading, so no wake-up is lost
                with self._lock:
                    fresh = self._history[cursor:]
                    state, state_version, closed = self._state, self._state_version, self._closed
                if fresh:  # one write for everything new: fewer sends when a watcher lags
                    yield b"".join(fresh)
                cursor += len(fresh)
                if state_version != version and state:
                    version = state_version
                    yield state
                if closed and not fresh:
                    return
                if fresh:
                    continue
                try:
                    await asyncio.wait_for(waiter.wait(), KEEPALIVE_SECONDS)
                except TimeoutError:
                    yield b": keepalive\n\n"
        finally:
            self.watchers -= 1


def _sse(kind: str, payload: dict[str, Any]) -> bytes:
    return f"event: {kind}\ndata: {json.dumps(payload, separators=(',', ':'))}\n\n".encode()


@dataclass
class Guess:
    """A viewer's prediction, made before the run, revealed after it.

    Attributes:
        metric: the metric guessed about.
        highest_arm: which arm the viewer expects to have the highest mean of the metric.
        baseline_value: the viewer's guess of the baseline arm's mean, or None.
    """

    metric: str
    highest_arm: str
    baseline_value: float | None = None


@dataclass
class LiveRun:
    """A run simulated in a background thread and watched from the browser.

    Attributes:
        run_id: a random id (the URL of the run).
        config: the validated experiment (one seed).
        tracked: the people traced in every arm.
        guess: the viewer's prediction, if the run is in predict-then-run mode.
    """

    run_id: str
    config: ExperimentConfig
    tracked: list[int]
    guess: Guess | None = None
    runs_dir: Path | None = None  # where a finished run is saved and catalogued (None: not saved)
    saved: str = ""  # the run folder's name once saved
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    status: str = "starting"
    error: str = ""
    day: int = 0
    tick: int = 0
    started: float = field(default_factory=time.perf_counter)
    finished_wall: float | None = None
    broadcaster: Broadcaster = field(default_factory=Broadcaster)
    steppers: list[CellStepper] = field(default_factory=list)
    days: list[dict[str, Any]] = field(default_factory=list)
    _control: threading.Condition = field(default_factory=threading.Condition)
    _paused: bool = False
    _step_ticks: int = 0
    _stop: bool = False
    _thread: threading.Thread | None = None

    @classmethod
    def create(
        cls,
        config: ExperimentConfig,
        tracked: list[int],
        guess: Guess | None = None,
        runs_dir: Path | None = None,
    ) -> LiveRun:
        """Plan the run's cells (the first seed of every arm) with a tracer each; not started.

        A run that finishes is saved under ``runs_dir`` like a ``feedlab run`` (if given).
        """
        run = cls(
            run_id=secrets.token_hex(6),
            config=config.model_copy(update={"seeds": 1}),  # one seed is simulated live
            tracked=tracked,
            guess=guess,
            runs_dir=runs_dir,
        )
        cells = plan(run.config)  # replicate 0 of every arm: seeds do not depend on the count
        run.steppers = [CellStepper(cell, tracer=Tracer.of(tracked)) for cell in cells]
        return run

    @property
    def arms(self) -> list[str]:
        """Arm names, in config order."""
        return [s.cell.arm for s in self.steppers]

    @property
    def total_ticks(self) -> int:
        """Ticks the run simulates."""
        return self.steppers[0].total_ticks

    @property
    def ticks_per_day(self) -> int:
        """Ticks in one simulated day."""
        return self.steppers[0].ticks_per_day

    def stepper(self, arm: str) -> CellStepper | None:
        """The stepper of ``arm``, or None."""
        return next((s for s in self.steppers if s.cell.arm == arm), None)

    def start(self) -> None:
        """Start the simulation thread."""
        self.status = "running"
        self._publish_state()
        self._thread = threading.Thread(target=self._loop, name=f"live-{self.run_id}", daemon=True)
        self._thread.start()

    def pause(self) -> None:
        """Stop advancing after the current tick."""
        with self._control:
            if self.status == "running":
                self._paused = True
                self.status = "paused"
            self._control.notify_all()
        self._publish_state()

    def resume(self) -> None:
        """Advance again."""
        with self._control:
            if self.status == "paused":
                self._paused = False
                self._step_ticks = 0
                self.status = "running"
            self._control.notify_all()
        self._publish_state()

    def step(self, unit: str = "day") -> None:
        """While paused, advance one tick or to the next midnight."""
        with self._control:
            if self.status == "paused":
                if unit == "tick":
                    self._step_ticks = 1
                else:
                    tick = self.steppers[0].tick
                    self._step_ticks = self.ticks_per_day - tick % self.ticks_per_day
            self._control.notify_all()

    def stop(self) -> None:
        """End the run after the current tick; what was simulated stays viewable."""
        with self._control:
            self._stop = True
            self._control.notify_all()

    def join(self, timeout: float | None = None) -> None:
        """Wait for the simulation thread to end."""
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def active(self) -> bool:
        """Whether the thread is still simulating (running or paused)."""
        return self.status in ("starting", "running", "paused")

    def _wait_turn(self) -> bool:
        """Block while paused with no step pending; False when stopped."""
        with self._control:
            while self._paused and self._step_ticks == 0 and not self._stop:
                self._control.wait()
            if self._stop:
                return False
            if self._paused:
                self._step_ticks -= 1
            return True

    def _loop(self) -> None:
        try:
            while not self.steppers[0].done:
                if not self._wait_turn():
                    self.status = "stopped"
                    break
                closed: list[list[MetricRow] | None] = [s.advance() for s in self.steppers]
                self.tick = self.steppers[0].tick
                if closed[0] is not None:
                    self._close_day([rows or [] for rows in closed])
            else:
                self._save()  # before "finished", so whoever sees it finished sees it saved
                self.status = "finished"
        except Exception as error:  # the run fails alone; the server keeps serving
            self.status = "failed"
            self.error = f"{type(error).__name__}: {error}"
        for stepper in self.steppers:  # the pages need the traces, not the world
            stepper.release()
        self.finished_wall = time.perf_counter() - self.started
        self._publish_state()
        self.broadcaster.close()

    def _save(self) -> None:
        """Write the finished run's folder and catalog entry; a failure is reported, not raised."""
        if self.runs_dir is None:
            return
        created = datetime.fromisoformat(self.created_at)
        name = f"{self.config.name}-live-{created:%Y%m%d-%H%M%S}-{self.run_id}"
        rows = [row for stepper in self.steppers for row in stepper.rows]
        try:
            save_run(self.config, rows, self.runs_dir / name, self.created_at, self.started)
        except Exception as error:  # the live results stay on the page either way
            self.error = f"not saved: {type(error).__name__}: {error}"
            return
        self.saved = name

    def _close_day(self, rows_by_arm: list[list[MetricRow]]) -> None:
        stepper = self.steppers[0]
        self.day = stepper.day
        histograms = {
            s.cell.arm: s.tracer.leaning_histogram[-1]
            for s in self.steppers
            if s.tracer is not None and s.tracer.leaning_histogram
        }
        if self.day < 1:  # warm-up: progress only
            self._publish_state()
            return
        metrics = {
            s.cell.arm: {name: clean(value) for _, _, _, name, value in rows}
            for s, rows in zip(self.steppers, rows_by_arm, strict=True)
        }
        event = {"day": self.day, "metrics": metrics, "histogram": histograms}
        self.days.append(event)
        # the day event carries the run's state too, so watchers need no second message
        state = self.summary()
        self.broadcaster.set_state(state, announce=False)
        self.broadcaster.publish("day", {**event, "state": state})

    def summary(self) -> dict[str, Any]:
        """Where the run is: status, day, tick, progress, arms, tracked people."""
        total = self.total_ticks
        return {
            "run_id": self.run_id,
            "scenario": self.config.name,
            "status": self.status,
            "error": self.error,
            "day": self.day,
            "days": self.config.days,
            "warmup_days": self.config.warmup_days,
            "tick": self.tick,
            "ticks_per_day": self.ticks_per_day,
            "progress": self.tick / total if total else 1.0,
            "arms": self.arms,
            "baseline": self.config.baseline_arm,
            "n_people": self.config.world.n_people,
            "seed": self.config.root_seed,
            "tracked": self.tracked,
            "created_at": self.created_at,
            "watchers": self.broadcaster.watchers,
            "guess": None if self.guess is None else vars(self.guess),
            "wall_seconds": self.finished_wall,
            "saved_run": self.saved or None,
        }

    def _publish_state(self) -> None:
        self.broadcaster.set_state(self.summary())

    def reveal(self) -> dict[str, Any] | None:
        """The guess beside what happened (mean of the metric over recorded days, per arm).

        None before the run has finished, or when there was no guess.
        """
        if self.guess is None or self.status not in ("finished", "stopped") or not self.days:
            return None
        metric = self.guess.metric
        means: dict[str, float | None] = {}
        for arm in self.arms:
            values = [d["metrics"][arm].get(metric) for d in self.days]
            finite = [v for v in values if v is not None]
            means[arm] = float(np.mean(finite)) if finite else None
        ranked = [arm for arm in self.arms if means[arm] is not None]
        highest = max(ranked, key=lambda a: means[a] or 0.0) if ranked else None
        baseline = self.config.baseline_arm
        actual = means.get(baseline)
        error = (
            None
            if self.guess.baseline_value is None or actual is None
            else self.guess.baseline_value - actual
        )
        return {
            "metric": metric,
            "means": means,
            "actual_highest_arm": highest,
            "guessed_highest_arm": self.guess.highest_arm,
            "highest_right": highest == self.guess.highest_arm,
            "baseline": baseline,
            "guessed_baseline_value": self.guess.baseline_value,
            "actual_baseline_value": actual,
            "baseline_error": error,
        }


class LiveRuns:
    """The server's live runs: at most ``max_active`` simulating, at most ``max_kept`` kept."""

    def __init__(self, max_active: int, max_kept: int) -> None:
        self.max_active = max_active
        self.max_kept = max_kept
        self._runs: dict[str, LiveRun] = {}
        self._lock = threading.Lock()

    def add(self, run: LiveRun) -> None:
        """Keep and start ``run``, dropping the oldest ended runs beyond ``max_kept``.

        Raises:
            RuntimeError: if ``max_active`` runs are already simulating.
        """
        with self._lock:
            if sum(r.active for r in self._runs.values()) >= self.max_active:
                raise RuntimeError(
                    f"at most {self.max_active} live runs may simulate at once; stop one first."
                )
            self._runs[run.run_id] = run
            ended = [r for r in self._runs.values() if not r.active and r is not run]
            while len(self._runs) > self.max_kept and ended:
                self._runs.pop(ended.pop(0).run_id)
        run.start()

    def get(self, run_id: str) -> LiveRun | None:
        """The run with this id, or None."""
        return self._runs.get(run_id)

    def all(self) -> list[LiveRun]:
        """Every kept run, newest first."""
        return sorted(self._runs.values(), key=lambda r: r.created_at, reverse=True)

    def stop_all(self, timeout: float = 10.0) -> None:
        """Stop every run and wait for its thread (server shutdown)."""
        for run in list(self._runs.values()):
            run.stop()
        for run in list(self._runs.values()):
            run.join(timeout)
