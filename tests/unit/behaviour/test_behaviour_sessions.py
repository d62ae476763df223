from dataclasses import replace

import numpy as np
import pytest

from feedlab.behaviour.sessions import SessionParams, open_app
from feedlab.core.random import WORLD_PEOPLE, Streams
from feedlab.world.people import People, PeopleParams, generate_people

N = 2000
DAYS = 5


@pytest.fixture
def people(seed: int) -> People:
    return generate_people(PeopleParams(), N, 4, Streams(seed).rng(WORLD_PEOPLE))


def _opens_at(people: People, hour: int, seed: int, params: SessionParams | None = None) -> int:
    streams = Streams(seed)
    total = 0
    for day in range(DAYS):
        tick = 24 * day + hour
        opened = open_app(people, params or SessionParams(), float(hour), 1.0, streams, tick)
        assert opened.shape == (N,)
        assert opened.dtype == np.bool_
        total += int(opened.sum())
    return total


def test_more_people_open_the_app_in_the_evening_than_at_night(people: People, seed: int) -> None:
    evening = _opens_at(people, 20, seed)
    night = _opens_at(people, 4, seed)
    assert evening > 3 * night
    assert night > 0


def test_open_app_is_deterministic_per_tick(people: People, seed: int) -> None:
    a = open_app(people, SessionParams(), 12.0, 1.0, Streams(seed), 12)
    b = open_app(people, SessionParams(), 12.0, 1.0, Streams(seed), 12)
    np.testing.assert_array_equal(a, b)
    c = open_app(people, SessionParams(), 12.0, 1.0, Streams(seed), 36)
    assert not np.array_equal(a, c)


def test_habit_raises_the_open_rate(people: People, seed: int) -> None:
    weak = replace(people, habit=np.zeros(N, np.float32))
    strong = replace(people, habit=np.ones(N, np.float32))
    assert _opens_at(strong, 12, seed) > 1.5 * _opens_at(weak, 12, seed)


def test_a_spent_budget_holds_back_people_without_habit(people: People, seed: int) -> None:
    fresh = replace(people, habit=np.zeros(N, np.float32))
    spent = replace(fresh, minutes_today=fresh.time_budget_min * 3)
    assert _opens_at(spent, 12, seed) < 0.5 * _opens_at(fresh, 12, seed)
    # A full-strength habit ignores the budget.
    hooked = replace(people, habit=np.ones(N, np.float32))
    hooked_spent = replace(hooked, minutes_today=hooked.time_budget_min * 3)
    assert _opens_at(hooked_spent, 12, seed) == _opens_at(hooked, 12, seed)


def test_longer_ticks_mean_more_opens_per_tick(people: People, seed: int) -> None:
    streams = Streams(seed)
    one = open_app(people, SessionParams(), 12.0, 1.0, streams, 7).mean()
    six = open_app(people, SessionParams(), 12.0, 6.0, streams, 7).mean()
    assert six > 2 * one
