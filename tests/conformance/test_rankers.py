"""Every registered ranker passes :func:`check_ranker` on real and synthetic contexts."""

from dataclasses import replace

import numpy as np
import pytest

from feedlab.core.errors import ShapeError
from feedlab.platform.estimator import N_ACTIONS, features, predict
from feedlab.platform.observe import LOGGED_ACTIONS, observe_posts
from feedlab.platform.rankers.base import (
    FillsFeeds,
    RankContext,
    Remembers,
    check_ranker,
    reads_predictions,
)
from feedlab.platform.rankers.registry import RANKERS
from feedlab.platform.state import source_candidates


def _check(name: str, context: RankContext, k: int) -> None:
    check_ranker(RANKERS.create(name), context, k)


def _context_of(setup, state, with_memory: bool = False) -> RankContext:
    """Candidates and predictions exactly as the platform builds them for everyone."""
    view = observe_posts(state.world.posts)
    lifetime = state.world.clock.ticks(setup.world.posts.lifetime_hours)
    model = state.platform.model
    persons = np.arange(state.world.n_people)
    cands = source_candidates(state.platform, view, persons, setup.platform, state.tick, lifetime)
    rows, cols = np.nonzero(cands.valid)
    slots = cands.slots[rows, cols]
    x = features(
        model, view, persons, rows, slots, cands.in_network[rows, cols], state.tick, lifetime
    )
    predictions = np.zeros((*cands.slots.shape, N_ACTIONS), np.float32)
    predictions[rows, cols] = predict(model, x)
    popularity = np.zeros(cands.slots.shape, np.float32)
    root_slots = view.slots_of(view.root[slots])
    popularity[rows, cols] = model.engagements(root_slots)
    return RankContext(
        candidates=cands,
        predictions=predictions,
        logged_popularity=popularity,
        view=view,
        tick=state.tick,
        model=model if with_memory else None,
        memory=state.platform.ranker_memory if with_memory else None,
    )


@pytest.fixture(scope="module")
def simulated_context(simulate) -> RankContext:
    """Candidates and predictions exactly as the platform builds them after a simulated day."""
    setup, state = simulate(n_people=1000, ticks=30)
    context = _context_of(setup, state)
    cands = context.candidates
    # The context covers the hard cases: short rows, long rows and mixed sources.
    n_valid = cands.valid.sum(axis=1)
    assert (n_valid < 5).any()
    assert (n_valid > 30).any()
    assert (cands.in_network & cands.valid).any()
    assert (~cands.in_network & cands.valid).any()
    return context


REMEMBERING = [name for name in RANKERS.names() if isinstance(RANKERS.create(name), Remembers)]


@pytest.mark.parametrize("name", REMEMBERING)
@pytest.mark.parametrize("k", [1, 30])
def test_conforms_with_its_memory_after_a_simulation(name: str, k: int, simulate) -> None:
    """Rankers that remember conform with the memory and model their own run built up."""
    ranker = RANKERS.create(name)
    params = "{refit_ticks=4}" if name.startswith("bridging") else "{}"
    if name.startswith("stated-preference"):
        params = "{min_answers=10}"
    setup, state = simulate(
        n_people=1000,
        ticks=30,
        overrides=[f"arms.0.ranker={name}", f"arms.0.ranker_params={params}"],
    )
    assert state.platform.ranker_memory is not None
    context = _context_of(setup, state, with_memory=True)
    check_ranker(ranker, context, k)
    # The memory changes the feeds: it is not ignored.
    plain = replace(context, memory=None)
    rng = np.random.default_rng(0)
    assert not np.array_equal(ranker.rank(context, k, rng), ranker.rank(plain, k, rng))


@pytest.fixture(scope="module")
def synthetic_context(make_context) -> RankContext:
    """Padded candidates: empty rows, holes, ties, repeated authors, both sources."""
    rng = np.random.default_rng(3)
    n, c = 40, 25
    valid = rng.random((n, c)) < 0.7
    valid[0] = False  # an empty row
    valid[1] = False
    valid[1, [4, 20]] = True  # a short row with holes
    predictions = rng.random((n, c, len(LOGGED_ACTIONS))).astype(np.float32) * 0.3
    predictions[2] = 0.1  # a row of ties
    return make_context(
        valid,
        authors=rng.integers(0, 6, (n, c)),
        created=rng.integers(50, 100, (n, c)),
        in_network=rng.random((n, c)) < 0.6,
        predictions=predictions,
        popularity=rng.integers(0, 5, (n, c)),
    )


def test_the_registry_holds_the_builtin_rankers() -> None:
    names = RANKERS.names()
    assert {"engagement-v1", "chronological-v1", "popularity-v1", "random-v1"} <= set(names)
    humane = {"bridging-v1", "diversity-v1", "wellbeing-v1", "stated-preference-v1"}
    assert humane | {"user-controlled-v1"} <= set(names)
    for name in names:
        assert hasattr(RANKERS.create(name), "rank")


@pytest.mark.parametrize("name", RANKERS.names())
@pytest.mark.parametrize("k", [1, 5, 30])
def test_conforms_on_a_simulated_context(name: str, k: int, simulated_context: RankContext) -> None:
    _check(name, simulated_context, k)


@pytest.mark.parametrize("name", RANKERS.names())
@pytest.mark.parametrize("k", [3, 40])
def test_conforms_on_a_synthetic_padded_context(
    name: str, k: int, synthetic_context: RankContext
) -> None:
    _check(name, synthetic_context, k)


IGNORING = [n for n in RANKERS.names() if not reads_predictions(RANKERS.create(n))]


def test_the_rankers_that_ignore_predictions_are_the_expected_ones() -> None:
    expected = {"chronological-v1", "popularity-v1", "random-v1", "content-filtering-v1"}
    assert set(IGNORING) == expected
    assert reads_predictions(RANKERS.create("engagement-v1"))


@pytest.mark.parametrize("name", IGNORING)
def test_a_ranker_that_ignores_predictions_does_not_read_them(
    name: str, simulated_context: RankContext
) -> None:
    """Its feeds are the same whatever the predictions (so serving may skip them)."""
    ranker = RANKERS.create(name)
    rng = np.random.default_rng(9)
    scrambled = replace(
        simulated_context,
        predictions=rng.random(simulated_context.predictions.shape).astype(np.float32),
    )
    zeros = replace(simulated_context, predictions=np.zeros_like(scrambled.predictions))
    for k in (1, 30):
        a = ranker.rank(scrambled, k, np.random.default_rng(0))
        b = ranker.rank(zeros, k, np.random.default_rng(0))
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", RANKERS.names())
def test_conforms_when_every_candidate_is_in_network(name: str, make_context) -> None:
    rng = np.random.default_rng(5)
    valid = rng.random((20, 12)) < 0.6
    context = make_context(
        valid,
        authors=rng.integers(0, 4, valid.shape),
        created=rng.integers(0, 100, valid.shape),
        predictions=rng.random((*valid.shape, len(LOGGED_ACTIONS))) * 0.2,
        popularity=rng.integers(0, 9, valid.shape),
    )
    check_ranker(RANKERS.create(name), context, 5)


class _Bad:
    def __init__(self, mode: str) -> None:
        self.mode = mode

    def rank(self, context: RankContext, k: int, rng: np.random.Generator) -> np.ndarray:
        n, c = context.candidates.slots.shape
        valid = context.candidates.valid
        first = np.argmax(valid, axis=1)
        out = np.full((n, k), -1, np.int64)
        if self.mode == "shape":
            return out[:, :-1]
        if self.mode == "repeat":
            out[:, 0] = out[:, 1] = np.where(valid.any(axis=1), first, -1)
            return out
        if self.mode == "invalid":
            out[:, 0] = np.argmin(valid, axis=1)
            return out
        if self.mode == "gap":
            out[:, 1] = np.where(valid.any(axis=1), first, -1)
            return out
        if self.mode == "range":
            out[:, 0] = c
            return out
        raise AssertionError(self.mode)


@pytest.mark.parametrize(
    ("ranker", "message"),
    [
        (_Bad("shape"), "must return int"),
        (_Bad("repeat"), "must not repeat a candidate"),
        (_Bad("invalid"), "must choose only valid candidates"),
        (_Bad("gap"), "must put padding (-1) after"),
        (_Bad("range"), "must return columns in"),
    ],
    ids=["shape", "repeat", "invalid", "gap", "range"],
)
def test_check_ranker_catches_broken_rankers(ranker, message: str, synthetic_context) -> None:
    import re

    with pytest.raises(ShapeError, match=re.escape(message)):
        check_ranker(ranker, synthetic_context, 5)


def test_check_ranker_catches_a_feed_that_is_not_filled(make_context) -> None:
    class Lazy(FillsFeeds):
        def rank(self, context: RankContext, k: int, rng: np.random.Generator) -> np.ndarray:
            out = np.full((context.candidates.slots.shape[0], k), -1, np.int64)
            out[:, 0] = 0
            return out

    context = make_context(np.ones((2, 6), bool))
    with pytest.raises(ShapeError, match="must fill min"):
        check_ranker(Lazy(), context, 3)


def test_check_ranker_catches_nondeterminism(make_context) -> None:
    calls = []

    class Flaky:
        def rank(self, context: RankContext, k: int, rng: np.random.Generator) -> np.ndarray:
            calls.append(1)
            out = np.full((context.candidates.slots.shape[0], k), -1, np.int64)
            out[:, 0] = len(calls) % 2
            return out

    context = make_context(np.ones((2, 6), bool))
    with pytest.raises(ShapeError, match="deterministic"):
        check_ranker(Flaky(), context, 3)
