import numpy as np
import pytest

from feedlab.core.random import PEOPLE_CHOICE, PEOPLE_SESSIONS, Streams


def test_uniform_is_deterministic_and_in_the_unit_interval(seed: int) -> None:
    persons = np.arange(5000)
    a = Streams(seed).uniform(PEOPLE_CHOICE, 3, persons, 7)
    b = Streams(seed).uniform(PEOPLE_CHOICE, 3, persons, 7)
    assert a.dtype == np.float64
    np.testing.assert_array_equal(a, b)
    assert a.min() >= 0.0
    assert a.max() < 1.0
    # Roughly uniform: mean 1/2, every decile populated.
    assert abs(a.mean() - 0.5) < 0.02
    assert np.histogram(a, bins=10, range=(0, 1))[0].min() > 400


@pytest.mark.parametrize(
    "other",
    [
        {"name": "people.creation"},
        {"step": 4},
        {"root_seed": None},
        {"replicate": 1},
    ],
    ids=["name", "step", "root_seed", "replicate"],
)
def test_uniform_depends_on_stream_step_seed_and_replicate(seed: int, other: dict) -> None:
    base = {"name": PEOPLE_CHOICE, "step": 3, "root_seed": seed, "replicate": 0}
    changed = base | other
    if changed["root_seed"] is None:
        changed["root_seed"] = seed + 1
    persons = np.arange(200)
    a = Streams(base["root_seed"], base["replicate"]).uniform(base["name"], base["step"], persons)
    b = Streams(changed["root_seed"], changed["replicate"]).uniform(
        changed["name"], changed["step"], persons
    )
    assert not np.any(a == b)


def test_uniform_depends_on_each_counter(seed: int) -> None:
    streams = Streams(seed)
    i = np.arange(300)
    base = streams.uniform(PEOPLE_CHOICE, 0, i, 2, 5)
    assert not np.any(base == streams.uniform(PEOPLE_CHOICE, 0, i + 1, 2, 5))
    assert not np.any(base == streams.uniform(PEOPLE_CHOICE, 0, i, 3, 5))
    assert not np.any(base == streams.uniform(PEOPLE_CHOICE, 0, i, 2, 6))
    # The order of the counters matters too (except where the swapped values are equal).
    swapped = streams.uniform(PEOPLE_CHOICE, 0, 2, i, 5)
    assert not np.any((base == swapped)[i != 2])
    assert base[2] == swapped[2]


def test_uniform_broadcasts_like_numpy(seed: int) -> None:
    streams = Streams(seed)
    persons = np.array([4, 9, 17])
    slots = np.arange(5)
    channels = np.arange(2)
    u = streams.uniform(PEOPLE_CHOICE, 1, persons[:, None, None], slots[None, :, None], channels)
    assert u.shape == (3, 5, 2)
    for a, person in enumerate(persons):
        for b, slot in enumerate(slots):
            for c, channel in enumerate(channels):
                one = streams.uniform(PEOPLE_CHOICE, 1, person, slot, channel)
                assert one.shape == ()
                assert u[a, b, c] == one
    # All cells are distinct draws.
    assert np.unique(u).size == u.size


def test_a_persons_uniforms_do_not_depend_on_who_else_is_in_the_batch(seed: int) -> None:
    streams = Streams(seed)
    everyone = np.arange(1000)
    full = streams.uniform(PEOPLE_CHOICE, 11, everyone[:, None], np.arange(30))
    subset = np.array([999, 3, 500, 42])
    part = streams.uniform(PEOPLE_CHOICE, 11, subset[:, None], np.arange(30))
    np.testing.assert_array_equal(part, full[subset])
    # Shorter feeds see the same dice in their first slots.
    short = streams.uniform(PEOPLE_CHOICE, 11, subset[:, None], np.arange(7))
    np.testing.assert_array_equal(short, full[subset, :7])


def test_rng_streams_are_reproducible_and_distinct_by_name_and_step(seed: int) -> None:
    streams = Streams(seed)
    a = streams.rng(PEOPLE_SESSIONS, 5).random(100)
    np.testing.assert_array_equal(a, Streams(seed).rng(PEOPLE_SESSIONS, 5).random(100))
    assert not np.any(a == streams.rng(PEOPLE_SESSIONS, 6).random(100))
    assert not np.any(a == streams.rng(PEOPLE_CHOICE, 5).random(100))
    assert not np.any(a == Streams(seed, replicate=1).rng(PEOPLE_SESSIONS, 5).random(100))


def test_rng_stream_does_not_depend_on_consumption_of_another(seed: int) -> None:
    streams = Streams(seed)
    expected = streams.rng(PEOPLE_SESSIONS, 2).random(10)
    streams.rng(PEOPLE_CHOICE, 2).random(10_000)  # a heavy consumer elsewhere
    np.testing.assert_array_equal(streams.rng(PEOPLE_SESSIONS, 2).random(10), expected)


def test_counter_key_is_a_stable_function_of_its_inputs(seed: int) -> None:
    a = Streams(seed).counter_key(PEOPLE_CHOICE, 9)
    assert a == Streams(seed).counter_key(PEOPLE_CHOICE, 9)
    assert 0 <= a < 2**64
    assert a != Streams(seed).counter_key(PEOPLE_CHOICE, 10)
