"""Shared fixtures: the test seed and a tiny experiment built through the public API."""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np
import pytest

from feedlab.engine.run import setup_for
from feedlab.engine.step import Setup, SimState, start, step
from feedlab.experiments.config import ExperimentConfig, load_config
from feedlab.experiments.runner import plan
from feedlab.platform.candidates import Candidates
from feedlab.platform.observe import LOGGED_ACTIONS, observe_posts
from feedlab.platform.rankers.base import RankContext
from feedlab.world.posts import empty_posts

# Ray, where tests start it, talks over loopback only and reports nothing (set before any import).
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")

SEED_ENV = "FEEDLAB_TEST_SEED"
DEFAULT_SEED = 42


def _seed_from_env() -> int:
    text = os.environ.get(SEED_ENV, "").strip()
    if not text:
        return DEFAULT_SEED
    try:
        return int(text)
    except ValueError:
        raise pytest.UsageError(f"{SEED_ENV} must be an integer, got {text!r}.") from None


@pytest.fixture
def seed() -> int:
    """The root seed of randomized tests: ``FEEDLAB_TEST_SEED`` or 42."""
    return _seed_from_env()


@pytest.fixture
def tiny_config() -> ExperimentConfig:
    """The social-dilemma scenario shrunk to 500 people, 2 days and 2 seeds."""
    return load_config(
        "social-dilemma", ["world.n_people=500", "days=2", "seeds=2", "warmup_days=0"]
    )


STEADY = ("world.people.posts_per_day_median=0.5", "world.people.sessions_per_day_median=5.0")
"""Overrides for a busier small society, so short tests see enough posts and sessions."""


@pytest.fixture(scope="session")
def simulate() -> Callable[..., tuple[Setup, SimState]]:
    """Factory: a small simulation of the social-dilemma scenario stepped ``ticks`` times.

    ``simulate(n_people=800, ticks=36, overrides=[...], arm=0)`` builds the scenario through
    :func:`load_config` (seeded by ``FEEDLAB_TEST_SEED``, with the :data:`STEADY` overrides
    unless ``steady=False``) and the cell of arm ``arm`` (0: engagement, 1: chronological), and
    returns its ``Setup`` and state.
    """

    def run(
        n_people: int = 800,
        ticks: int = 36,
        overrides: list[str] | None = None,
        arm: int = 0,
        steady: bool = True,
    ) -> tuple[Setup, SimState]:
        config = load_config(
            "social-dilemma",
            [
                f"world.n_people={n_people}",
                "days=1",
                "seeds=1",
                f"root_seed={_seed_from_env()}",
                *(STEADY if steady else ()),
                *(overrides or []),
            ],
        )
        cell = next(c for c in plan(config) if c.arm == config.arms[arm].name)
        setup = setup_for(cell)
        state = start(setup)
        for _ in range(ticks):
            step(state, setup)
        return setup, state

    return run


@pytest.fixture(scope="session")
def make_context() -> Callable[..., RankContext]:
    """Factory: a synthetic :class:`RankContext` whose candidate ``(i, j)`` has its own slot.

    Arguments (all arrays shaped ``(n_sessions, n_candidates)`` unless stated):
    ``valid`` (bool), ``authors``, ``created``, ``in_network`` (bool), ``predictions``
    (``(..., len(LOGGED_ACTIONS))``), ``popularity``. Omitted arrays get neutral defaults.
    """

    def build(
        valid: np.ndarray,
        authors: np.ndarray | None = None,
        created: np.ndarray | None = None,
        in_network: np.ndarray | None = None,
        predictions: np.ndarray | None = None,
        popularity: np.ndarray | None = None,
        tick: int = 100,
    ) -> RankContext:
        valid = np.asarray(valid, bool)
        n, c = valid.shape
        posts = empty_posts(n * c + 1)
        ids = (1 + np.arange(n * c, dtype=np.int64)).reshape(n, c)
        slots = posts.slots_of(ids.astype(np.uint32))
        posts.id[slots] = ids
        posts.root[slots] = ids
        posts.author[slots] = np.zeros((n, c)) if authors is None else authors
        posts.root_author[slots] = posts.author[slots]
        posts.created[slots] = np.full((n, c), tick - 1) if created is None else created
        posts.root_created[slots] = posts.created[slots]
        candidates = Candidates(
            persons=np.arange(n, dtype=np.int64) + 10_000,
            ids=np.where(valid, ids, 0).astype(np.uint32),
            slots=np.where(valid, slots, -1),
            in_network=valid & (np.ones((n, c), bool) if in_network is None else in_network),
        )
        if predictions is None:
            predictions = np.zeros((n, c, len(LOGGED_ACTIONS)), np.float32)
        if popularity is None:
            popularity = np.zeros((n, c), np.float32)
        return RankContext(
            candidates=candidates,
            predictions=np.where(valid[..., None], predictions, 0).astype(np.float32),
            logged_popularity=np.where(valid, popularity, 0).astype(np.float32),
            view=observe_posts(posts),
            tick=tick,
        )

    return build


@pytest.fixture(scope="session")
def with_columns() -> Callable[..., RankContext]:
    """Function: set observable post columns of every candidate of a :class:`RankContext`.

    ``with_columns(context, exclamations=[[...]], topic_a=[[...]])``: arrays shaped like the
    candidates; padded cells are left alone. Returns the context (changed in place).
    """

    def set_columns(context: RankContext, **columns: np.ndarray) -> RankContext:
        slots = context.candidates.slots
        for name, values in columns.items():
            getattr(context.view, name)[slots[slots >= 0]] = np.asarray(values)[slots >= 0]
        return context

    return set_columns


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say how many registered rankers the conformance suite checked, and with what outcome."""
    outcomes: dict[str, set[str]] = {}
    for key in ("passed", "failed", "xfailed", "xpassed"):
        for report in terminalreporter.stats.get(key, []):
            nodeid = getattr(report, "nodeid", "")
            if "conformance/test_rankers.py::test_conforms_on_" not in nodeid:
                continue
            ranker = nodeid.rsplit("[", 1)[-1].rstrip("]").split("-", 1)[-1]
            outcomes.setdefault(ranker, set()).add(key)
    if outcomes:
        detail = ", ".join(f"{name}: {'/'.join(sorted(v))}" for name, v in sorted(outcomes.items()))
        terminalreporter.write_line(
            f"ranker conformance: {len(outcomes)} rankers checked ({detail})"
        )
