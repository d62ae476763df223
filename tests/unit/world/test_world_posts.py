import re

import numpy as np
import pytest

from feedlab.core.errors import CapacityError
from feedlab.world.posts import Posts, empty_posts

LIFETIME = 48


def _originals(n: int, first_author: int = 0) -> dict[str, np.ndarray]:
    authors = (first_author + np.arange(n)).astype(np.int32)
    return {
        "author": authors,
        "root_author": authors,
        "depth": np.zeros(n, np.int32),
        "topic_a": np.arange(n, dtype=np.int32) % 3,
        "topic_b": np.zeros(n, np.int32),
        "topic_weight": np.full(n, 0.7, np.float32),
        "leaning": np.linspace(-1, 1, n).astype(np.float32),
        "slant": np.zeros(n, np.float32),
        "outrage": np.full(n, 0.3, np.float32),
        "is_false": np.zeros(n, bool),
        "novelty": np.full(n, 0.5, np.float32),
        "quality": np.full(n, 0.5, np.float32),
        "exclamations": np.ones(n, np.int32),
    }


def test_empty_ring_is_a_power_of_two_of_at_least_the_request() -> None:
    for request, expected in ((0, 1024), (1000, 1024), (1025, 2048), (5000, 8192)):
        posts = empty_posts(request)
        assert posts.capacity == expected
        assert posts.mask == expected - 1
        assert (posts.id == 0).all()
        assert posts.next_id == 1


def test_append_assigns_consecutive_ids_and_their_slots() -> None:
    posts = empty_posts(1024)
    ids = posts.append(5, LIFETIME, **_originals(3))
    np.testing.assert_array_equal(ids, [1, 2, 3])
    assert ids.dtype == np.uint32
    np.testing.assert_array_equal(posts.slots_of(ids), [1, 2, 3])
    np.testing.assert_array_equal(posts.id[[1, 2, 3]], ids)
    np.testing.assert_array_equal(posts.created[[1, 2, 3]], 5)
    np.testing.assert_array_equal(posts.author[[1, 2, 3]], [0, 1, 2])
    np.testing.assert_array_equal(posts.cascade_size[[1, 2, 3]], 1)
    more = posts.append(6, LIFETIME, **_originals(2, first_author=7))
    np.testing.assert_array_equal(more, [4, 5])
    assert posts.next_id == 6
    assert posts.id[0] == 0  # slot 0 stays empty: id 0 means "none"


def test_originals_are_their_own_root_and_reshares_keep_theirs() -> None:
    posts = empty_posts(1024)
    ids = posts.append(2, LIFETIME, **_originals(2))
    slots = posts.slots_of(ids)
    np.testing.assert_array_equal(posts.root[slots], ids)
    np.testing.assert_array_equal(posts.root_created[slots], 2)
    np.testing.assert_array_equal(posts.depth[slots], 0)

    reshare = _originals(1, first_author=9)
    reshare |= {
        "root": ids[:1],
        "root_author": posts.root_author[slots[:1]],
        "root_created": posts.root_created[slots[:1]],
        "depth": np.ones(1, np.int32),
    }
    (rid,) = posts.append(4, LIFETIME, **reshare)
    rslot = posts.slots_of(np.array([rid], np.uint32))[0]
    assert rid == 3
    assert posts.root[rslot] == ids[0]
    assert posts.root_created[rslot] == 2
    assert posts.created[rslot] == 4
    assert posts.author[rslot] == 9
    assert posts.root_author[rslot] == 0
    assert posts.depth[rslot] == 1


def test_alive_checks_id_and_cascade_lifetime() -> None:
    posts = empty_posts(1024)
    ids = posts.append(10, LIFETIME, **_originals(2))
    assert posts.alive(ids, 10, LIFETIME).all()
    assert posts.alive(ids, 10 + LIFETIME - 1, LIFETIME).all()
    assert not posts.alive(ids, 10 + LIFETIME, LIFETIME).any()
    assert not posts.alive(np.array([0, 77], np.uint32), 10, LIFETIME).any()


def test_append_refuses_to_overwrite_a_live_slot() -> None:
    posts = empty_posts(1024)
    posts.append(0, LIFETIME, **_originals(1023))  # ids 1..1023 fill slots 1..1023
    posts.append(0, LIFETIME, **_originals(1))  # id 1024 takes the empty slot 0
    before = posts.id.copy()
    with pytest.raises(CapacityError, match=re.escape("world.posts.capacity")):
        posts.append(1, LIFETIME, **_originals(1))  # id 1025 -> slot 1, still live
    np.testing.assert_array_equal(posts.id, before)  # nothing was written
    assert posts.next_id == 1025


def test_append_reuses_a_slot_once_its_post_has_expired() -> None:
    posts = empty_posts(1024)
    posts.append(0, LIFETIME, **_originals(1024))
    (new,) = posts.append(LIFETIME, LIFETIME, **_originals(1, first_author=5))
    assert new == 1025
    slot = posts.slots_of(np.array([new], np.uint32))[0]
    assert slot == 1
    assert posts.id[slot] == 1025
    assert posts.root[slot] == 1025
    assert posts.author[slot] == 5
    # The id that used to live there no longer names a post.
    assert not posts.alive(np.array([1], np.uint32), LIFETIME, LIFETIME)[0]


def test_append_refuses_more_posts_than_slots() -> None:
    posts = empty_posts(1024)
    with pytest.raises(CapacityError, match=re.escape("one tick's posts (1025)")):
        posts.append(0, LIFETIME, **_originals(1025))


def test_append_of_nothing_returns_no_ids() -> None:
    posts = empty_posts(1024)
    ids = posts.append(0, LIFETIME, author=np.zeros(0, np.int32))
    assert ids.shape == (0,)
    assert posts.next_id == 1


def test_posts_is_a_slotted_struct_of_arrays() -> None:
    posts = empty_posts(1024)
    for name in Posts.__slots__:
        if name != "next_id":
            assert getattr(posts, name).shape == (1024,), name
