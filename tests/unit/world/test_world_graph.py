import numpy as np
import pytest

from feedlab.core.random import WORLD_GRAPH, WORLD_PEOPLE, Streams
from feedlab.world.graph import (
    FollowGraph,
    GraphParams,
    add_follows,
    add_follows_reference,
    generate_graph,
    graph_from_edges,
)
from feedlab.world.people import People, PeopleParams, generate_people

N = 2000


@pytest.fixture(scope="module")
def population() -> tuple[People, FollowGraph]:
    streams = Streams(7)
    people = generate_people(PeopleParams(), N, 12, streams.rng(WORLD_PEOPLE))
    graph = generate_graph(GraphParams(), people.leaning, people.interest, streams.rng(WORLD_GRAPH))
    return people, graph


def _edges(graph: FollowGraph) -> tuple[np.ndarray, np.ndarray]:
    src = np.repeat(np.arange(graph.n_people), graph.following_counts())
    return src, graph.following.astype(np.int64)


def _edge_set(src: np.ndarray, dst: np.ndarray) -> set[tuple[int, int]]:
    return set(zip(src.tolist(), dst.tolist(), strict=True))


def test_shapes_and_dtypes(population: tuple[People, FollowGraph]) -> None:
    _, graph = population
    assert graph.n_people == N
    assert graph.following_indptr.shape == (N + 1,)
    assert graph.followers_indptr.shape == (N + 1,)
    assert graph.following_indptr[0] == 0
    assert graph.following_indptr[-1] == graph.n_edges
    assert graph.followers.shape == graph.following.shape
    assert graph.following.dtype == np.int32
    assert graph.following_indptr.dtype == np.int64
    assert graph.following.min() >= 0
    assert graph.following.max() < N
    # Mean degree near follows_mean (40) after removing duplicates.
    assert 20 < graph.n_edges / N < 50


def test_no_self_loops_and_no_duplicate_edges(population: tuple[People, FollowGraph]) -> None:
    _, graph = population
    src, dst = _edges(graph)
    assert not np.any(src == dst)
    assert len(_edge_set(src, dst)) == graph.n_edges
    # Rows are sorted (strictly increasing within each row).
    same_row = src[1:] == src[:-1]
    assert np.all(dst[1:][same_row] > dst[:-1][same_row])


def test_followers_is_the_transpose_of_following(population: tuple[People, FollowGraph]) -> None:
    _, graph = population
    src, dst = _edges(graph)
    followee = np.repeat(np.arange(N), graph.follower_counts())
    follower = graph.followers.astype(np.int64)
    assert _edge_set(follower, followee) == _edge_set(src, dst)
    np.testing.assert_array_equal(graph.follower_counts(), np.bincount(dst, minlength=N))
    assert graph.follower_counts().sum() == graph.following_counts().sum()


def test_follows_are_homophilous_by_leaning(population: tuple[People, FollowGraph]) -> None:
    people, graph = population
    src, dst = _edges(graph)
    r = np.corrcoef(people.leaning[src], people.leaning[dst])[0, 1]
    assert r > 0.3


def test_follower_counts_are_heavy_tailed(population: tuple[People, FollowGraph]) -> None:
    _, graph = population
    counts = np.sort(graph.follower_counts())[::-1]
    assert counts.max() > 10 * np.median(counts)
    # The most-followed 10% hold far more than 10% of follows.
    assert counts[: N // 10].sum() / counts.sum() > 0.25


def test_graph_from_edges_drops_self_loops_and_duplicates() -> None:
    src = np.array([0, 0, 0, 1, 2, 2, 3])
    dst = np.array([1, 1, 0, 2, 2, 0, 1])
    graph = graph_from_edges(src, dst, 4)
    assert _edge_set(*_edges(graph)) == {(0, 1), (1, 2), (2, 0), (3, 1)}
    np.testing.assert_array_equal(graph.follower_counts(), [1, 2, 1, 0])


def test_add_follows_adds_edges_and_ignores_duplicates() -> None:
    graph = graph_from_edges(np.array([0, 1]), np.array([1, 2]), 4)
    grown = add_follows(graph, np.array([0, 3, 0, 2, 1]), np.array([1, 0, 2, 2, 2]))
    # (0,1) and (1,2) already exist, (2,2) is a self-loop.
    assert _edge_set(*_edges(grown)) == {(0, 1), (1, 2), (3, 0), (0, 2)}
    np.testing.assert_array_equal(grown.follower_counts(), [1, 1, 2, 0])
    # The original graph is not modified.
    assert _edge_set(*_edges(graph)) == {(0, 1), (1, 2)}


def test_add_follows_with_nothing_new_returns_the_same_graph() -> None:
    graph = graph_from_edges(np.array([0]), np.array([1]), 3)
    empty = np.zeros(0, np.int64)
    assert add_follows(graph, empty, empty) is graph


def test_generate_graph_is_deterministic_given_the_stream(seed: int) -> None:
    streams = Streams(seed)
    people = generate_people(PeopleParams(), 400, 6, streams.rng(WORLD_PEOPLE))
    a = generate_graph(GraphParams(), people.leaning, people.interest, streams.rng(WORLD_GRAPH))
    b = generate_graph(GraphParams(), people.leaning, people.interest, streams.rng(WORLD_GRAPH))
    np.testing.assert_array_equal(a.following_indptr, b.following_indptr)
    np.testing.assert_array_equal(a.following, b.following)


def test_same_leaning_zero_removes_homophily(seed: int) -> None:
    streams = Streams(seed)
    people = generate_people(PeopleParams(), N, 12, streams.rng(WORLD_PEOPLE))
    graph = generate_graph(
        GraphParams(same_leaning=0.0), people.leaning, people.interest, streams.rng(WORLD_GRAPH)
    )
    src, dst = _edges(graph)
    assert abs(np.corrcoef(people.leaning[src], people.leaning[dst])[0, 1]) < 0.1


@pytest.mark.parametrize("n_new", [1, 7, 400, 5000])
def test_merging_new_follows_equals_rebuilding_the_graph(seed: int, n_new: int) -> None:
    rng = np.random.default_rng(seed)
    n = 300
    graph = graph_from_edges(rng.integers(0, n, 3000), rng.integers(0, n, 3000), n)
    # New follows repeat each other, repeat old edges, include self-follows and new rows.
    src = rng.integers(0, n, n_new)
    dst = rng.integers(0, n, n_new)
    src[: n_new // 3] = dst[: n_new // 3] if n_new > 5 else src[: n_new // 3]
    old_src, old_dst = _edges(graph)
    take = rng.integers(0, old_src.size, n_new // 4)
    src = np.concatenate([src, old_src[take], src[: n_new // 5]])
    dst = np.concatenate([dst, old_dst[take], dst[: n_new // 5]])
    got = add_follows(graph, src, dst)
    want = add_follows_reference(graph, src, dst)
    for name in ("following_indptr", "following", "followers_indptr", "followers"):
        a, b = getattr(got, name), getattr(want, name)
        np.testing.assert_array_equal(a, b, err_msg=name, strict=True)
