import numpy as np
import pytest

from feedlab.core.random import WORLD_PEOPLE, Streams
from feedlab.world.people import People, PeopleParams, generate_people

N = 2000
TOPICS = 12


@pytest.fixture
def people(seed: int) -> People:
    return generate_people(PeopleParams(), N, TOPICS, Streams(seed).rng(WORLD_PEOPLE))


def test_every_field_has_one_row_per_person(people: People) -> None:
    assert people.n_people == N
    assert people.n_topics == TOPICS
    assert people.interest.shape == (N, TOPICS)
    for name in People.__slots__:
        value = getattr(people, name)
        assert value.shape[0] == N, name
        assert np.all(np.isfinite(value)), name


def test_ranges(people: People) -> None:
    assert people.leaning.min() >= -1.0
    assert people.leaning.max() <= 1.0
    assert people.leaning.dtype == np.float32
    for name in ("affect_out", "warmth_own"):
        thermometer = getattr(people, name)
        assert thermometer.min() >= 0.0, name
        assert thermometer.max() <= 100.0, name
    for name in (
        "outrage_susceptibility",
        "novelty_seeking",
        "approval_need",
        "credulity",
        "habit",
        "wellbeing",
        "outrage_expression",
    ):
        trait = getattr(people, name)
        assert trait.min() >= 0.0, name
        assert trait.max() <= 1.0, name
    # Tastes: affinities in [0, 1] and each person's favourite topic at exactly 1.
    assert people.interest.min() >= 0.0
    np.testing.assert_allclose(people.interest.max(axis=1), 1.0, rtol=1e-6)
    assert (people.posts_per_day > 0).all()
    assert (people.sessions_per_day > 0).all()
    assert (people.time_budget_min > 0).all()
    assert people.is_teen.dtype == np.bool_
    assert 0.08 < people.is_teen.mean() < 0.22  # teen_share 0.15
    np.testing.assert_array_equal(people.minutes_today, 0.0)


def test_both_sides_are_populated_and_partisans_dominate(people: People) -> None:
    assert 0.4 < (people.leaning > 0).mean() < 0.6
    assert (np.abs(people.leaning) > 0.3).mean() > 0.5  # partisan_share 0.8
    np.testing.assert_array_equal(people.side, np.where(people.leaning >= 0, 1.0, -1.0))


def test_posting_is_heavy_tailed(people: People) -> None:
    rate = np.sort(people.posts_per_day)[::-1]
    top_share = rate[: N // 10].sum() / rate.sum()
    assert top_share > 0.4


def test_extremity_raises_outrage_susceptibility(people: People) -> None:
    r = np.corrcoef(np.abs(people.leaning), people.outrage_susceptibility)[0, 1]
    assert r > 0.1


def test_same_stream_same_people_and_other_seed_other_people(seed: int) -> None:
    a = generate_people(PeopleParams(), 300, 4, Streams(seed).rng(WORLD_PEOPLE))
    b = generate_people(PeopleParams(), 300, 4, Streams(seed).rng(WORLD_PEOPLE))
    c = generate_people(PeopleParams(), 300, 4, Streams(seed + 1).rng(WORLD_PEOPLE))
    for name in People.__slots__:
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert not np.array_equal(a.leaning, c.leaning)


def test_start_day_resets_only_the_daily_counter(people: People) -> None:
    from dataclasses import replace

    used = replace(people, minutes_today=np.full(N, 12.5, np.float32))
    fresh = used.start_day()
    np.testing.assert_array_equal(fresh.minutes_today, 0.0)
    np.testing.assert_array_equal(fresh.leaning, people.leaning)
    np.testing.assert_array_equal(used.minutes_today, 12.5)  # the original is untouched


def test_params_refuse_unknown_keys_and_out_of_range_values() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        PeopleParams(teen_share=1.5)
    with pytest.raises(ValidationError):
        PeopleParams(teen_shares=0.1)  # type: ignore[call-arg]
