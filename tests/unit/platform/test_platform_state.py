import numpy as np

from feedlab.platform.observe import observe_follows, observe_posts
from feedlab.platform.rankers.builtin import Engagement
from feedlab.platform.state import PlatformParams, init_platform, serve
from feedlab.world.graph import graph_from_edges
from feedlab.world.posts import empty_posts

N = 6
LIFETIME = 48


def _platform():
    graph = graph_from_edges(np.array([0, 1, 2]), np.array([1, 2, 0]), N)
    posts = empty_posts(1024)
    params = PlatformParams(feed_size=4)
    state = init_platform(N, 3, posts.capacity, observe_follows(graph), params)
    return state, posts, params


def test_serving_nobody_returns_empty_feeds() -> None:
    state, posts, params = _platform()
    served = serve(
        state, observe_posts(posts), np.zeros(0, np.int64), Engagement(), params,
        np.random.default_rng(0), 0, LIFETIME,
    )  # fmt: skip
    assert served.post_ids.shape == (0, 4)
    assert served.predictions.shape[:2] == (0, 4)


def test_sessions_without_any_candidate_get_empty_feeds() -> None:
    state, posts, params = _platform()
    persons = np.array([0, 3, 5])
    served = serve(
        state, observe_posts(posts), persons, Engagement(), params,
        np.random.default_rng(0), 0, LIFETIME,
    )  # fmt: skip
    assert served.post_ids.shape == (3, 4)
    assert (served.post_ids == 0).all()
    assert (served.slots == -1).all()
    assert not served.in_network.any()
