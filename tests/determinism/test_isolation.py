"""A change confined to one person's feed leaves the people it cannot reach unchanged.

With the platform's shared model frozen and no out-of-network sources, the only channels from one
person to another are the follow graph (inboxes, reshares, approval, new follows). On a society
cut into two halves with no follow edge between them, reversing one person's feed in the first
half must leave every person of the second half bit-identical, and change the first half.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np

from feedlab.core.arrays import IntArray
from feedlab.engine.run import setup_for
from feedlab.engine.step import Setup, SimState, start, step
from feedlab.experiments.config import load_config
from feedlab.experiments.runner import plan
from feedlab.platform.observe import observe_follows
from feedlab.platform.rankers.base import RankContext, Ranker
from feedlab.world.graph import graph_from_edges

ISOLATED = [
    "platform.estimator.frozen=true",
    "platform.candidates.out_of_network=false",
    "platform.candidates.topic_pool=0",
    "platform.candidates.trending=0",
]


@dataclass
class ReverseFor:
    """Ranks as ``inner`` does, but serves one person their feed in reverse order."""

    inner: Ranker
    person: int

    def rank(self, context: RankContext, k: int, rng: np.random.Generator) -> IntArray:
        columns = self.inner.rank(context, k, rng)
        rows = np.flatnonzero(context.candidates.persons == self.person)
        for row in rows:  # at most one session of one person per tick
            chosen = columns[row][columns[row] >= 0]
            columns[row, : chosen.size] = chosen[::-1]
        return columns


def _cut(state: SimState, half: int) -> None:
    """Drop every follow edge between people below ``half`` and the rest."""
    graph = state.world.graph
    n = graph.n_people
    src = np.repeat(np.arange(n), np.diff(graph.following_indptr))
    dst = graph.following
    keep = (src < half) == (dst < half)
    cut = graph_from_edges(src[keep], dst[keep], n)
    state.world = replace(state.world, graph=cut)
    state.platform.follows = observe_follows(cut)


def _run(setup: Setup, ticks: int, half: int) -> SimState:
    state = start(setup)
    _cut(state, half)
    for _ in range(ticks):
        step(state, setup)
    return state


def test_one_persons_feed_reaches_only_their_side(seed: int) -> None:
    n = 600
    config = load_config(
        "social-dilemma",
        [f"world.n_people={n}", "days=2", "seeds=1", f"root_seed={seed}", *ISOLATED],
    )
    cell = plan(config)[0]
    setup = setup_for(cell)
    half = n // 2
    ticks = 2 * 24
    base = _run(setup, ticks, half)
    # The most active person of the first half: their feed is served many times.
    person = int(np.argmax(base.platform.model.impressions[:half]))
    changed = _run(replace(setup, ranker=ReverseFor(setup.ranker, person)), ticks, half)

    a, b = base.world.people, changed.world.people
    differs_first_half = False
    for f in fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if not isinstance(x, np.ndarray) or x.shape[:1] != (n,):
            continue
        np.testing.assert_array_equal(x[half:], y[half:], err_msg=f"people.{f.name}")
        differs_first_half |= not np.array_equal(x[:half], y[:half])
    assert differs_first_half, "reversing the feed changed nothing: the test would prove nothing"
    np.testing.assert_array_equal(
        base.platform.model.impressions[half:], changed.platform.model.impressions[half:]
    )
