import re

import numpy as np
import pytest
from pydantic import ValidationError

from feedlab.core.random import Streams
from feedlab.world.clock import Clock, rhythm
from feedlab.world.world import WorldParams, init_world, post_capacity


def test_init_world_depends_only_on_params_and_seed(seed: int) -> None:
    params = WorldParams(n_people=300, n_topics=6)
    a = init_world(params, Streams(seed))
    b = init_world(params, Streams(seed))
    c = init_world(params, Streams(seed + 1))
    assert a.n_people == 300
    np.testing.assert_array_equal(a.people.leaning, b.people.leaning)
    np.testing.assert_array_equal(a.graph.following, b.graph.following)
    assert not np.array_equal(a.people.leaning, c.people.leaning)
    assert a.posts.capacity >= post_capacity(params)
    assert a.clock.ticks_per_day == 24


def test_explicit_capacity_wins_and_default_scales_with_people() -> None:
    assert post_capacity(WorldParams(n_people=100, posts={"capacity": 4096})) == 4096
    small = post_capacity(WorldParams(n_people=1000))
    large = post_capacity(WorldParams(n_people=2000))
    assert large > small > 1000


@pytest.mark.parametrize("hours", [5.0, 7.0, 0.3, 48.0])
def test_tick_hours_must_divide_a_day(hours: float) -> None:
    with pytest.raises(ValidationError, match=re.escape("a divisor of 24 hours")):
        WorldParams(tick_hours=hours)


@pytest.mark.parametrize("hours", [0.25, 1.0, 3.0, 24.0])
def test_allowed_tick_hours(hours: float) -> None:
    assert WorldParams(tick_hours=hours).tick_hours == hours


def test_clock_maps_ticks_to_days_and_hours() -> None:
    clock = Clock(tick_hours=2.0)
    assert clock.ticks_per_day == 12
    assert clock.day(11) == 0
    assert clock.day(12) == 1
    assert clock.hour(13) == 2.0
    assert clock.is_day_end(11)
    assert not clock.is_day_end(12)
    assert clock.ticks(48) == 24
    assert clock.ticks(0.5) == 1


def test_rhythm_has_mean_one_and_an_evening_peak() -> None:
    phase = np.zeros(3, np.float32)
    day = np.array([rhythm(float(h), phase)[0] for h in range(24)])
    assert abs(day.mean() - 1.0) < 1e-5
    assert day[20] > 5 * day[4]
    # A phase shift moves the curve: shifted by 3 h, 23:00 looks like 20:00.
    shifted = rhythm(23.0, np.full(1, 3.0, np.float32))[0]
    assert shifted == pytest.approx(day[20])
