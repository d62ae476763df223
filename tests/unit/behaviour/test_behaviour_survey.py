"""People's answers to the platform's "worth your time?" survey (Milli et al.'s stated preferences)."""

from dataclasses import replace

import numpy as np

from feedlab.behaviour.survey import SurveyParams, answer_worth, worth_probability
from feedlab.core.random import WORLD_PEOPLE, Streams
from feedlab.world.people import People, PeopleParams, generate_people
from feedlab.world.posts import Posts, empty_posts

N_TOPICS = 4
TICK = 5


def _people(seed: int, leaning: float) -> People:
    """Four people of the same ``leaning``, each most interested in topic 0."""
    people = generate_people(PeopleParams(), 4, N_TOPICS, Streams(seed).rng(WORLD_PEOPLE))
    interest = np.full((4, N_TOPICS), 0.1, np.float32)
    interest[:, 0] = 1.0
    return replace(
        people,
        leaning=np.full(4, leaning, np.float32),
        interest=interest,
        credulity=np.full(4, 0.3, np.float32),
    )


def _posts(leaning: list[float], outrage: list[float], topic: list[int]) -> Posts:
    """True posts of equal quality with the given leanings, outrage and (single) topics."""
    n = len(leaning)
    authors = np.zeros(n, np.int32)
    posts = empty_posts(64)
    posts.append(
        TICK,
        48,
        author=authors,
        root_author=authors,
        depth=np.zeros(n, np.int32),
        topic_a=np.array(topic, np.int32),
        topic_b=np.array(topic, np.int32),
        topic_weight=np.ones(n, np.float32),
        leaning=np.array(leaning, np.float32),
        slant=np.array(leaning, np.float32),
        outrage=np.array(outrage, np.float32),
        is_false=np.zeros(n, bool),
        novelty=np.full(n, 0.5, np.float32),
        quality=np.full(n, 0.6, np.float32),
        exclamations=np.zeros(n, np.int32),
    )
    return posts


def _worth(people: People, posts: Posts, params: SurveyParams | None = None) -> np.ndarray:
    """Each post's probability of "worth my time" for person 0, in append order."""
    slots = posts.slots_of(posts.id[posts.id != 0])
    return worth_probability(
        people, posts, np.zeros(1, np.int64), slots[None, :], params or SurveyParams()
    )[0]


def test_outrage_from_the_other_side_is_worth_less_than_from_ones_own(seed: int) -> None:
    people = _people(seed, leaning=0.6)
    # Same distance from the reader (0.6 -> 0.2 and 0.6 -> 1.0), one across the divide.
    own_calm, own_angry, other_calm, other_angry = _worth(
        people, _posts([0.2, 0.2, -0.2, -0.2], [0.0, 0.9, 0.0, 0.9], [0, 0, 0, 0])
    )
    assert own_angry < own_calm
    assert other_angry < other_calm
    # Out-group animosity costs more than the same outrage from one's own side.
    assert other_calm - other_angry > own_calm - own_angry
    assert other_angry < own_angry


def test_outrage_on_ones_favourite_topic_is_worth_less_than_calm_off_it(seed: int) -> None:
    """Engagement ranking finds what people are interested in; that does not redeem outrage.

    Milli et al.'s readers did not want the angry political posts engagement ranking picked for
    them, though it picked them by what they engage with.
    """
    people = _people(seed, leaning=-0.5)
    angry_own, hostile_other, calm_off_topic = _worth(
        people, _posts([-0.5, 0.5, -0.5], [1.0, 1.0, 0.0], [0, 0, 3])
    )
    assert hostile_other < angry_own < calm_off_topic


def test_agreement_raises_the_answer(seed: int) -> None:
    people = _people(seed, leaning=0.5)
    near, far = _worth(people, _posts([0.5, 0.9], [0.2, 0.2], [0, 0]))
    assert near > far


def test_answers_follow_the_probability_with_a_die_shared_by_every_arm(seed: int) -> None:
    people = _people(seed, leaning=0.3)
    posts = _posts([0.3, -0.6], [0.1, 0.9], [0, 0])
    slots = posts.slots_of(posts.id[posts.id != 0])
    persons = np.repeat(np.arange(4, dtype=np.int64), 500)
    feed_slots = np.tile(np.arange(500, dtype=np.int64), 4)
    streams = Streams(seed)
    calm = answer_worth(
        people, posts, persons, feed_slots, np.full(persons.size, slots[0]), SurveyParams(),
        streams, TICK,
    )  # fmt: skip
    hostile = answer_worth(
        people, posts, persons, feed_slots, np.full(persons.size, slots[1]), SurveyParams(),
        streams, TICK,
    )  # fmt: skip
    p_calm, p_hostile = _worth(people, posts)
    assert abs(calm.mean() - p_calm) < 0.05
    assert abs(hostile.mean() - p_hostile) < 0.05
    # The same die: whoever calls the hostile post worth their time also says so of the calm one.
    assert np.all(calm >= hostile)
