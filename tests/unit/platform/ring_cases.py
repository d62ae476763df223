"""Synthetic post rings and candidate checks shared by the candidate-sourcing tests."""

import numpy as np

from feedlab.platform.candidates import Candidates
from feedlab.platform.observe import PostView

CAPACITY = 64
N_TOPICS = 5


def random_view(rng: np.random.Generator, n_people: int, tick: int, lifetime: int) -> PostView:
    """A ring with empty slots, dead cascades, reshares and few authors (many own posts)."""
    slots = np.arange(CAPACITY)
    post_id = (slots + CAPACITY * rng.integers(0, 4, CAPACITY)).astype(np.uint32)
    post_id[0] += CAPACITY  # id 0 means "empty"
    post_id[rng.random(CAPACITY) < 0.15] = 0
    depth = np.where(rng.random(CAPACITY) < 0.4, rng.integers(1, 3, CAPACITY), 0)
    # A reshare's cascade starts at another post of the ring, or at one that left it.
    other = rng.choice(post_id, CAPACITY) + CAPACITY * (rng.random(CAPACITY) < 0.2)
    root = np.where(depth > 0, other, post_id).astype(np.uint32)
    created = rng.integers(tick - 2 * lifetime, tick + 1, CAPACITY)
    root_created = np.where(depth > 0, created - rng.integers(0, 3, CAPACITY), created)
    author = rng.integers(0, n_people, CAPACITY)
    root_author = np.where(depth > 0, rng.integers(0, n_people, CAPACITY), author)
    return PostView(
        id=post_id,
        author=author.astype(np.int32),
        created=created.astype(np.int32),
        root=root,
        root_author=root_author.astype(np.int32),
        root_created=root_created.astype(np.int32),
        depth=depth.astype(np.int32),
        topic_a=rng.integers(0, N_TOPICS, CAPACITY).astype(np.int32),
        topic_b=rng.integers(0, N_TOPICS, CAPACITY).astype(np.int32),
        topic_weight=rng.random(CAPACITY).astype(np.float32),
        slant=rng.random(CAPACITY).astype(np.float32),
        exclamations=np.zeros(CAPACITY, np.int32),
        capacity=CAPACITY,
    )


def some_ids(rng: np.random.Generator, view: PostView, shape: tuple[int, ...]) -> np.ndarray:
    """Ids from the ring (live, dead, repeated), ids whose slot was reused, and zeros."""
    ids = rng.choice(view.id, shape)
    stale = rng.random(shape) < 0.1
    ids[stale] += np.uint32(CAPACITY)
    ids[rng.random(shape) < 0.1] = 0
    return ids.astype(np.uint32)


def assert_same_candidates(got: Candidates, expected: Candidates) -> None:
    for name in ("persons", "ids", "slots", "in_network"):
        a, b = getattr(got, name), getattr(expected, name)
        assert a.dtype == b.dtype, name
        np.testing.assert_array_equal(a, b, err_msg=name)


def duplicate_count(rows: np.ndarray) -> int:
    total = 0
    for row in rows:
        row = row[row != 0]
        total += row.size - np.unique(row).size
    return total
