"""Every registered intervention, over every ranker, still yields valid feeds; each is documented."""

from pathlib import Path

import numpy as np
import pytest

from feedlab.engine import interventions as iv
from feedlab.platform.observe import LOGGED_ACTIONS, observe_follows
from feedlab.platform.rankers.base import RankContext, check_ranker
from feedlab.platform.rankers.registry import RANKERS
from feedlab.platform.state import PlatformParams, init_platform
from feedlab.world.bots import no_bots
from feedlab.world.graph import graph_from_edges

DOCS = Path(__file__).parents[2] / "docs" / "interventions.md"
N_PEOPLE = 10_100  # make_context numbers its viewers from 10,000


@pytest.fixture(scope="module")
def context(make_context) -> RankContext:
    rng = np.random.default_rng(5)
    n, c = 30, 20
    valid = rng.random((n, c)) < 0.7
    valid[0] = False
    return make_context(
        valid,
        authors=rng.integers(0, 50, (n, c)),
        created=rng.integers(80, 100, (n, c)),
        in_network=rng.random((n, c)) < 0.5,
        predictions=rng.random((n, c, len(LOGGED_ACTIONS))).astype(np.float32) * 0.3,
        popularity=rng.random((n, c)).astype(np.float32),
    )


def _runtime_with_everything_marked(context: RankContext) -> iv.Runtime:
    """Runtime whose platform state labels, holds and removes part of the candidates."""
    state = iv.init_intervention_state(N_PEOPLE, context.view.capacity)
    slots = context.candidates.slots[context.candidates.valid]
    ids = context.view.id[slots]
    state.label_root[slots[::3]] = ids[::3]
    state.held_root[slots[1::5]] = ids[1::5]
    state.removed[7] = True
    return iv.Runtime(
        bots=no_bots(N_PEOPLE), platform=state, tally=iv.InterventionTally(n_people=N_PEOPLE)
    )


@pytest.mark.parametrize("name", iv.INTERVENTIONS.names())
@pytest.mark.parametrize("ranker", RANKERS.names())
def test_intervention_over_ranker_conforms(name: str, ranker: str, context) -> None:
    graph = graph_from_edges(np.zeros(0, np.int64), np.zeros(0, np.int64), N_PEOPLE)
    platform = init_platform(
        N_PEOPLE, 4, context.view.capacity, observe_follows(graph), PlatformParams()
    )
    bundle = iv.Interventions((iv.INTERVENTIONS.create(name),))
    wrapped = iv.feed_ranker(
        _runtime_with_everything_marked(context), bundle, platform, RANKERS.create(ranker)
    )
    check_ranker(wrapped, context, k=6)


@pytest.mark.parametrize("name", iv.INTERVENTIONS.names())
def test_intervention_is_documented_with_its_parameters(name: str) -> None:
    cls = iv.INTERVENTIONS.factory(name)
    text = DOCS.read_text(encoding="utf-8")
    assert f"`{name.rsplit('-v', 1)[0]}`" in text
    for field in cls.model_fields:
        assert f"{field}:" in (cls.__doc__ or ""), field
        assert f"`{field}`" in text, field
