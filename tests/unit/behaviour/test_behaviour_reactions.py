"""People's reactions to notifications and ads: opens, habit, annoyance, switching off, leaving."""

from __future__ import annotations

import numpy as np
import pytest

from feedlab.behaviour.reactions import (
    ReactionParams,
    init_reach,
    react_to_ads,
    react_to_notifications,
    recover,
)
from feedlab.core.random import WORLD_PEOPLE, Streams
from feedlab.world.people import People, PeopleParams, generate_people

N = 4000


@pytest.fixture
def people(seed: int) -> People:
    return generate_people(PeopleParams(), N, 4, Streams(seed).rng(WORLD_PEOPLE))


def test_a_notification_brings_people_in_feeds_habit_and_costs_wellbeing(
    people: People, seed: int
) -> None:
    streams = Streams(seed)
    kind = np.where(np.arange(N) < N // 2, 1, -1)
    after, reach, opens = react_to_notifications(
        people, init_reach(N), kind, np.zeros(N, int), ReactionParams(), streams, 5
    )
    got = kind >= 0
    assert opens[got].mean() > 0.1 and not opens[~got].any()
    assert (after.habit[got] >= people.habit[got]).all()
    assert (after.wellbeing[got] <= people.wellbeing[got]).all()
    np.testing.assert_array_equal(after.habit[~got], people.habit[~got])
    assert (reach.annoyance[got] > 0).all() and (reach.annoyance[~got] == 0).all()


def test_social_pushes_open_more_than_re_engagement(people: People, seed: int) -> None:
    streams = Streams(seed)
    opens = {}
    for code in (0, 2):
        _, _, o = react_to_notifications(
            people, init_reach(N), np.full(N, code), np.zeros(N, int), ReactionParams(), streams, 5
        )
        opens[code] = o.mean()
    assert opens[0] > opens[2]


def test_overuse_makes_people_switch_off_and_leave(people: People, seed: int) -> None:
    streams = Streams(seed)
    params = ReactionParams()

    def day_of(pushes: int) -> tuple[float, float]:
        reach = init_reach(N)
        p = people
        for tick in range(pushes):
            p, reach, _ = react_to_notifications(
                p, reach, np.ones(N, int), np.zeros(N, int), params, streams, tick
            )
        return float(reach.push_off.mean()), float(reach.left.mean())

    light, heavy = day_of(2), day_of(20)
    assert heavy[0] > 3 * light[0] and heavy[1] > light[1]


def test_people_who_left_or_switched_off_are_not_reached(people: People, seed: int) -> None:
    reach = init_reach(N)
    reach = reach.__class__(reach.annoyance, np.arange(N) % 2 == 0, np.arange(N) % 3 == 0)
    _, _, opens = react_to_notifications(
        people, reach, np.ones(N, int), np.zeros(N, int), ReactionParams(), Streams(seed), 1
    )
    assert not opens[reach.push_off | reach.left].any()


def test_annoyance_fades_each_day() -> None:
    reach = init_reach(3)
    reach = reach.__class__(np.array([1.0, 2.0, 0.0], np.float32), reach.push_off, reach.left)
    np.testing.assert_allclose(
        recover(reach, ReactionParams(annoyance_recovery=0.25)).annoyance, [0.75, 1.5, 0.0]
    )


def test_ads_are_clicked_by_the_interested_and_cost_a_little_habit(
    people: People, seed: int
) -> None:
    persons = np.arange(N)
    seen = np.ones((N, 3), bool)
    topic = np.zeros((N, 3), np.int64)
    flat = np.zeros((N, 3), np.float32)
    after, reach, answers = react_to_ads(
        people, init_reach(N), persons, seen, topic, flat, flat + 0.5, np.zeros((N, 3), bool),
        ReactionParams(), 0.5, Streams(seed), 3,
    )  # fmt: skip
    keen = people.interest[:, 0] > 0.8
    cold = people.interest[:, 0] < 0.2
    assert answers.click[keen].mean() > 1.5 * answers.click[cold].mean()
    assert (after.habit <= people.habit).all() and (reach.annoyance > 0).all()
    np.testing.assert_array_equal(after.leaning, people.leaning)  # not political: no pull


def test_political_ads_pull_leanings_within_reach(people: People, seed: int) -> None:
    persons = np.arange(N)
    seen = np.ones((N, 2), bool)
    slant = np.full((N, 2), 0.4, np.float32)
    after, _, _ = react_to_ads(
        people, init_reach(N), persons, seen, np.zeros((N, 2), np.int64), slant,
        np.full((N, 2), 0.5, np.float32), np.ones((N, 2), bool), ReactionParams(), 0.5,
        Streams(seed), 3,
    )  # fmt: skip
    near = np.abs(people.leaning - 0.4) < 0.5
    moved = after.leaning - people.leaning
    assert (np.sign(moved[near & (people.leaning < 0.39)]) >= 0).all()
    assert (moved[near & (people.leaning < 0.39)] > 0).mean() > 0.9
    np.testing.assert_array_equal(moved[~near], 0.0)
