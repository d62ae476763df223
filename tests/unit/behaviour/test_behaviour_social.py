"""Cascade views are counted on the live roots of the seen slots, as the NumPy reference does."""

import numpy as np

from feedlab.behaviour import kernels as bk
from feedlab.behaviour.social import record_views_reference
from feedlab.world.posts import empty_posts


def _ring(rng: np.random.Generator):
    posts = empty_posts(1024)
    cap = posts.capacity
    posts.id[:] = np.arange(cap, dtype=np.uint32) + np.uint32(cap)  # id & (cap - 1) = slot
    posts.root[:] = posts.id[rng.integers(0, cap, cap)]
    dead = rng.random(cap) < 0.3  # roots whose slot now holds a later post
    posts.id[dead] += np.uint32(2 * cap)
    posts.cascade_views[:] = rng.integers(0, 50, cap)
    return posts


def test_live_views_equal_the_reference(seed: int) -> None:
    rng = np.random.default_rng(seed)
    for n, k in [(0, 10), (1, 1), (200, 30)]:
        posts = _ring(rng)
        feed = rng.integers(0, posts.capacity, (n, k))
        seen = rng.random((n, k)) < 0.6
        feed[~seen & (rng.random((n, k)) < 0.5)] = -1  # empty slots are never seen
        want = posts.cascade_views.copy()
        reference = _ring(np.random.default_rng(0))
        reference.id[:], reference.root[:] = posts.id, posts.root
        reference.cascade_views[:] = want
        record_views_reference(reference, feed, seen)
        bk.count_live_views(seen, feed, posts.id, posts.root, posts.cascade_views)
        np.testing.assert_array_equal(posts.cascade_views, reference.cascade_views)
        if n > 1:
            assert (posts.cascade_views != want).any()
