import numpy as np

from feedlab.behaviour.drift import Approval, DriftParams, drift
from feedlab.core.random import WORLD_PEOPLE, Streams
from feedlab.world.people import PeopleParams, generate_people
from feedlab.world.posts import Posts, empty_posts

N_PEOPLE = 300
N_TOPICS = 5
N_POSTS = 60
K = 12


def _posts(rng: np.random.Generator) -> Posts:
    authors = rng.integers(0, N_PEOPLE, N_POSTS).astype(np.int32)
    posts = empty_posts(128)
    posts.append(
        0,
        48,
        author=authors,
        root_author=authors,
        depth=np.zeros(N_POSTS, np.int32),
        topic_a=rng.integers(0, N_TOPICS, N_POSTS).astype(np.int32),
        topic_b=rng.integers(0, N_TOPICS, N_POSTS).astype(np.int32),
        topic_weight=rng.uniform(0.5, 1.0, N_POSTS).astype(np.float32),
        leaning=rng.uniform(-1, 1, N_POSTS).astype(np.float32),
        slant=rng.uniform(-1, 1, N_POSTS).astype(np.float32),
        outrage=rng.uniform(0, 1, N_POSTS).astype(np.float32),
        is_false=rng.random(N_POSTS) < 0.1,
        novelty=rng.uniform(0, 1, N_POSTS).astype(np.float32),
        quality=rng.uniform(0, 1, N_POSTS).astype(np.float32),
        exclamations=rng.integers(0, 4, N_POSTS).astype(np.int32),
    )
    return posts


def test_interest_moves_toward_the_topics_each_person_engaged_with(seed: int) -> None:
    rng = np.random.default_rng(seed)
    people = generate_people(PeopleParams(), N_PEOPLE, N_TOPICS, Streams(seed).rng(WORLD_PEOPLE))
    posts = _posts(rng)
    persons = np.sort(rng.choice(N_PEOPLE, 120, replace=False))
    feed = rng.integers(1, N_POSTS + 1, (persons.size, K))
    seen = np.arange(K)[None, :] < rng.integers(0, K + 1, persons.size)[:, None]
    engaged = seen & (rng.random(seen.shape) < 0.3)
    dwell = np.where(seen, rng.uniform(1, 30, seen.shape), 0.0).astype(np.float32)
    approval = Approval(likes=np.zeros(N_PEOPLE), outrage_likes=np.zeros(N_PEOPLE))
    params = DriftParams(interest_drift=0.05)

    after = drift(people, posts, persons, feed, seen, engaged, dwell, approval, params, 24)

    expected = people.interest.copy()
    for row, person in enumerate(persons):
        topics = posts.topic_a[feed[row, engaged[row]]]
        if topics.size == 0:
            continue
        counts = np.bincount(topics, minlength=N_TOPICS)
        block = people.interest[person] + params.interest_drift * counts
        expected[person] = block / block.max()
    np.testing.assert_array_equal(after.interest, expected, strict=True)
    moved = np.flatnonzero((after.interest != people.interest).any(axis=1))
    assert 0 < moved.size < persons.size
    assert np.isin(moved, persons).all()
    np.testing.assert_array_equal(after.interest.max(axis=1)[moved], 1.0)
    assert not np.shares_memory(after.interest, people.interest)


def test_no_engagement_leaves_interest_as_it_was(seed: int) -> None:
    rng = np.random.default_rng(seed)
    people = generate_people(PeopleParams(), N_PEOPLE, N_TOPICS, Streams(seed).rng(WORLD_PEOPLE))
    posts = _posts(rng)
    persons = np.arange(10)
    feed = rng.integers(1, N_POSTS + 1, (persons.size, K))
    seen = np.ones(feed.shape, bool)
    none = np.zeros(feed.shape, bool)
    dwell = np.full(feed.shape, 5.0, np.float32)
    approval = Approval(likes=np.zeros(N_PEOPLE), outrage_likes=np.zeros(N_PEOPLE))
    after = drift(people, posts, persons, feed, seen, none, dwell, approval, DriftParams(), 24)
    assert after.interest is people.interest
