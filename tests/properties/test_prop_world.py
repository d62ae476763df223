"""The default initial state is varied, whatever the seed."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from feedlab.core.random import Streams
from feedlab.world.people import People
from feedlab.world.world import WorldParams, init_world

ZERO_AT_START = {"reward_rate", "minutes_today"}


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**63 - 1), n_people=st.integers(50, 400))
def test_the_default_state_is_not_constant(seed: int, n_people: int) -> None:
    world = init_world(WorldParams(n_people=n_people, n_topics=5), Streams(seed))
    for name in People.__slots__:
        value = np.asarray(getattr(world.people, name), dtype=np.float64)
        if name in ZERO_AT_START:
            assert (value == 0).all(), name
        else:
            assert value.std() > 0, name
    assert world.graph.n_edges > n_people
    assert world.graph.follower_counts().std() > 0
