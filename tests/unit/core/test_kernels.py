"""Each compiled kernel equals its NumPy reference bit for bit, on random and edge-case rows."""

from __future__ import annotations

import ast
import functools
import multiprocessing
import multiprocessing.queues
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from feedlab.core import kernels
from feedlab.core.random import Streams
from feedlab.platform.candidates import push
from feedlab.platform.rankers.base import top_k

# Shapes (rows, columns): empty batches, no columns, the realistic width, and rows longer than
# the counting limit, which take the merge sort.
SHAPES = [(0, 72), (5, 0), (1, 1), (64, 72), (40, 130), (12, 300)]


def _scores(rng: np.random.Generator, shape: tuple[int, int], dtype: type) -> np.ndarray:
    """Scores on a coarse grid (many ties) with -inf padding, NaN, +inf and signed zeros."""
    scores = np.round(rng.normal(size=shape) * 3) / 4
    for value, share in ((-np.inf, 0.3), (np.nan, 0.03), (np.inf, 0.02), (-0.0, 0.05)):
        scores[rng.random(shape) < share] = value
    return scores.astype(dtype)


# --- counter-based uniforms ------------------------------------------------------------------


def _numpy_path(streams: Streams, name: str, step: int, counters: tuple) -> np.ndarray:
    """The NumPy path's uniforms: counters stacked on a new axis of 2 never form an outer product."""
    shape = np.broadcast_shapes(*(np.shape(c) for c in counters))
    stacked = tuple(np.broadcast_to(c, (2, *shape)) for c in counters)
    assert kernels.outer_counters(stacked) is None
    return streams.uniform(name, step, *stacked)[0]


@pytest.mark.parametrize("n", [0, 1, 257])
def test_outer_uniforms_equal_the_numpy_path(seed: int, n: int) -> None:
    streams = Streams(root_seed=seed, replicate=2)
    persons = np.random.default_rng(seed).choice(10_000, n, replace=False)
    counters = (persons[:, None, None], np.arange(30)[None, :, None], np.arange(9))
    assert kernels.outer_counters(counters) is not None
    fast = streams.uniform("people.choice", 7, *counters)
    reference = _numpy_path(streams, "people.choice", 7, counters)
    assert fast.shape == reference.shape == (n, 30, 9)
    assert fast.dtype == reference.dtype == np.float64
    np.testing.assert_array_equal(fast, reference)


@pytest.mark.parametrize(
    "counters",
    [
        (np.arange(4)[:, None, None], np.arange(3)[:, None], np.arange(5)),
        (7, np.arange(3)[:, None], np.arange(5)),
        (np.array([5]), 3, 2),
        (4, 3, 2),
        # Counters near 2^64 wrap around in uint64 arithmetic.
        (
            np.array([0, 2**63, 2**64 - 1], np.uint64)[:, None, None],
            np.array([2**64 - 2], np.uint64)[:, None],
            np.arange(3, dtype=np.int32),
        ),
    ],
)
def test_outer_uniforms_cover_scalars_short_shapes_and_wraparound(counters: tuple) -> None:
    streams = Streams(root_seed=11)
    assert kernels.outer_counters(counters) is not None
    fast = streams.uniform("people.choice", 3, *counters)
    reference = _numpy_path(streams, "people.choice", 3, counters)
    assert fast.shape == reference.shape == np.broadcast_shapes(*(np.shape(c) for c in counters))
    np.testing.assert_array_equal(fast, reference)


@pytest.mark.parametrize(
    "counters",
    [
        (np.arange(3)[:, None], np.arange(3)[:, None], np.arange(10)),  # creation's counters
        (np.arange(3)[:, None], np.arange(10)),
        (np.arange(2)[:, None, None, None], np.arange(3)[:, None], np.arange(4), np.arange(5)),
        (np.ones((1, 2, 3, 1)), np.arange(2), np.arange(3)),
        (np.arange(3)[None, :, None], np.arange(3)[:, None, None], np.arange(4)),
    ],
)
def test_other_counter_shapes_are_left_to_the_numpy_path(counters: tuple) -> None:
    assert kernels.outer_counters(counters) is None


def test_uniforms_stay_in_the_unit_interval() -> None:
    counters = (np.arange(50)[:, None, None], np.arange(30)[None, :, None], np.arange(9))
    u = Streams(root_seed=5).uniform("people.choice", 1, *counters)
    assert ((u >= 0.0) & (u < 1.0)).all()
    assert 0.45 < u.mean() < 0.55


# --- top k -----------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("k", [1, 30, 400])
def test_top_k_equals_the_stable_argsort(seed: int, shape: tuple, k: int, dtype: type) -> None:
    scores = _scores(np.random.default_rng(seed), shape, dtype)
    expected = kernels.top_k_reference(scores, k)
    got = kernels.top_k(scores, k)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(top_k(scores, k), expected)


def test_top_k_breaks_ties_by_lower_column_and_pads_non_finite() -> None:
    scores = np.array([[1.0, 2.0, 2.0, -np.inf, 0.0, -0.0, np.nan, np.inf, 2.0]])
    assert top_k(scores, 10).tolist() == [[-1, 1, 2, 8, 0, 4, 5, -1, -1, -1]]


def test_top_k_of_rows_without_scores() -> None:
    assert top_k(np.full((3, 4), -np.inf), 2).tolist() == [[-1, -1]] * 3
    assert top_k(np.zeros((0, 4)), 2).shape == (0, 2)


def test_top_k_of_other_dtypes_takes_the_numpy_path(seed: int) -> None:
    scores = np.random.default_rng(seed).integers(-5, 5, size=(20, 30))
    np.testing.assert_array_equal(top_k(scores, 7), kernels.top_k_reference(scores, 7))


@settings(max_examples=200, deadline=None)
@given(
    hnp.arrays(
        np.float64,
        st.tuples(st.integers(0, 6), st.integers(0, 12)),
        elements=st.sampled_from([-np.inf, np.inf, np.nan, -1.5, -0.0, 0.0, 0.5, 2.0]),
    ),
    st.integers(1, 14),
)
def test_top_k_equals_the_reference_on_any_small_row(scores: np.ndarray, k: int) -> None:
    np.testing.assert_array_equal(kernels.top_k(scores, k), kernels.top_k_reference(scores, k))


# --- occurrence in score order ---------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("n_keys", [1, 4, 1000])
@pytest.mark.parametrize("key_dtype", [np.int32, np.uint32, np.int64])
def test_score_occurrence_equals_the_argsort_reference(
    seed: int, shape: tuple, n_keys: int, dtype: type, key_dtype: type
) -> None:
    rng = np.random.default_rng(seed)
    scores = _scores(rng, shape, dtype)
    keys = rng.integers(0, n_keys, size=shape).astype(key_dtype)
    expected = kernels.score_occurrence_reference(scores, keys)
    got = kernels.score_occurrence(scores, keys)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, expected)


def test_score_occurrence_counts_better_columns_of_the_same_key() -> None:
    scores = np.array([[1.0, 3.0, 3.0, -np.inf, np.nan, 2.0, -np.inf]])
    keys = np.array([[7, 7, 7, 7, 7, 8, 7]])
    # Order: col 1, 2 (tie, lower first), 5, 0, 3, 6 (-inf by column), 4 (NaN last).
    assert kernels.score_occurrence(scores, keys).tolist() == [[2, 0, 1, 3, 5, 0, 4]]


@settings(max_examples=200, deadline=None)
@given(
    st.integers(0, 5).flatmap(
        lambda n: st.integers(0, 12).flatmap(
            lambda c: st.tuples(
                hnp.arrays(
                    np.float64,
                    (n, c),
                    elements=st.sampled_from([-np.inf, np.inf, np.nan, -1.0, -0.0, 0.0, 3.0]),
                ),
                hnp.arrays(np.int64, (n, c), elements=st.integers(-2, 2)),
            )
        )
    )
)
def test_score_occurrence_equals_the_reference_on_any_small_row(
    rows: tuple[np.ndarray, np.ndarray],
) -> None:
    scores, keys = rows
    np.testing.assert_array_equal(
        kernels.score_occurrence(scores, keys), kernels.score_occurrence_reference(scores, keys)
    )


# --- repeated keys ---------------------------------------------------------------------------


@pytest.mark.parametrize("n_rows", [0, 1, 300])
@pytest.mark.parametrize("widths", [(48, 72), (0, 72), (48, 0), (200, 300)])
@pytest.mark.parametrize("n_keys", [3, 60, 100_000])
def test_repeated_keys_equal_the_argsort_reference(
    seed: int, n_rows: int, widths: tuple[int, int], n_keys: int
) -> None:
    rng = np.random.default_rng(seed)
    n_seen, c = widths
    seen = rng.integers(0, n_keys, size=(n_rows, n_seen)).astype(np.uint32)
    keys = rng.integers(0, n_keys, size=(n_rows, c)).astype(np.uint32)
    keys[rng.random(keys.shape) < 0.3] = 0
    expected = kernels.repeated_keys_reference(seen, keys)
    got = kernels.repeated_keys(seen, keys)
    assert got.dtype == np.bool_
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(kernels.repeated_keys(seen, keys.astype(np.int64)), expected)


def test_repeated_keys_skip_zero_and_keep_the_first_of_each_key() -> None:
    seen = np.array([[5, 0, 9]], np.uint32)
    keys = np.array([[0, 0, 5, 7, 7, 9, 8, 7]], np.uint32)
    got = kernels.repeated_keys(seen, keys)
    assert got.tolist() == [[False, False, True, False, True, True, False, True]]


# --- ring buffers ----------------------------------------------------------------------------


@pytest.mark.parametrize("n_values", [0, 1, 50, 5000])
@pytest.mark.parametrize("width", [1, 4, 48])
def test_ring_push_equals_the_sorted_scatter(seed: int, n_values: int, width: int) -> None:
    rng = np.random.default_rng(seed)
    n_rows = 40
    ring = rng.integers(0, 100, size=(n_rows, width)).astype(np.uint32)
    head = rng.integers(0, 3 * width, size=n_rows).astype(np.int64)
    rows = rng.integers(0, n_rows, size=n_values).astype(np.int64)
    values = rng.integers(1, 2**32, size=n_values).astype(np.uint32)
    expected_ring, expected_head = ring.copy(), head.copy()
    kernels.ring_push_reference(expected_ring, expected_head, rows, values)
    push(ring, head, rows, values)
    np.testing.assert_array_equal(ring, expected_ring)
    np.testing.assert_array_equal(head, expected_head)


def test_ring_push_keeps_the_newest_values_in_order() -> None:
    ring = np.zeros((2, 3), np.uint32)
    head = np.zeros(2, np.int64)
    kernels.ring_push(ring, head, np.array([0, 1, 0, 0, 0]), np.array([1, 2, 3, 4, 5], np.uint32))
    assert ring.tolist() == [[5, 3, 4], [2, 0, 0]]
    assert head.tolist() == [4, 1]


def test_ring_push_rejects_rows_outside_the_ring() -> None:
    ring = np.zeros((2, 3), np.uint32)
    head = np.zeros(2, np.int64)
    with pytest.raises(IndexError, match="outside the ring"):
        kernels.ring_push(ring, head, np.array([0, 2]), np.array([1, 2], np.uint32))
    assert not ring.any()
    assert not head.any()


def test_ring_push_into_a_frozen_ring_raises_like_numpy() -> None:
    ring = np.zeros((2, 3), np.uint32)
    ring.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        kernels.ring_push(ring, np.zeros(2, np.int64), np.array([0]), np.array([1], np.uint32))


def _csr(rng: np.random.Generator, n_groups: int, n_rows: int) -> tuple[np.ndarray, np.ndarray]:
    """Random groups of ring rows: some empty, with repeated members."""
    sizes = rng.integers(0, 6, n_groups)
    sizes[rng.random(n_groups) < 0.3] = 0
    indptr = np.r_[0, np.cumsum(sizes)].astype(np.int64)
    members = rng.integers(0, n_rows, int(indptr[-1])).astype(np.int32)
    return indptr, members


@pytest.mark.parametrize("n_values", [0, 1, 50, 2000])
@pytest.mark.parametrize("width", [1, 4, 32])
def test_ring_push_csr_equals_the_expanded_ring_push(seed: int, n_values: int, width: int) -> None:
    rng = np.random.default_rng(seed)
    n_rows, n_groups = 30, 25
    indptr, members = _csr(rng, n_groups, n_rows)
    ring = rng.integers(0, 100, size=(n_rows, width)).astype(np.uint32)
    head = rng.integers(0, 3 * width, size=n_rows).astype(np.int64)
    sources = rng.integers(0, n_groups, size=n_values).astype(np.int64)  # repeated sources
    values = rng.integers(1, 2**32, size=n_values).astype(np.uint32)
    expected_ring, expected_head = ring.copy(), head.copy()
    kernels.ring_push_csr_reference(expected_ring, expected_head, indptr, members, sources, values)
    checked_ring, checked_head = ring.copy(), head.copy()
    kernels.ring_push_csr(ring, head, indptr, members, sources, values)
    np.testing.assert_array_equal(ring, expected_ring)
    np.testing.assert_array_equal(head, expected_head)
    kernels.ring_push_csr(
        checked_ring, checked_head, indptr, members, sources, values, members_checked=True
    )
    np.testing.assert_array_equal(checked_ring, expected_ring)
    np.testing.assert_array_equal(checked_head, expected_head)


@pytest.mark.parametrize("width", [1, 4])
def test_ring_push_csr_on_threads_equals_one_thread(
    seed: int, width: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(seed)
    n_rows, n_groups = 31, 25
    indptr, members = _csr(rng, n_groups, n_rows)
    ring = rng.integers(0, 100, size=(n_rows, width)).astype(np.uint32)
    head = rng.integers(0, 3 * width, size=n_rows).astype(np.int64)
    sources = rng.integers(0, n_groups, size=500).astype(np.int64)
    values = rng.integers(1, 2**32, size=500).astype(np.uint32)
    expected_ring, expected_head = ring.copy(), head.copy()
    kernels.ring_push_csr(expected_ring, expected_head, indptr, members, sources, values)
    calls = []
    original = kernels._ring_push_csr_threaded

    def counted(*args: object) -> None:
        calls.append(args[-1])
        original(*args)

    monkeypatch.setattr(kernels, "_ring_push_csr_threaded", counted)
    monkeypatch.setattr(kernels, "THREADED_MIN_ITEMS", 0)
    with kernels.kernel_threads_for(2) as threads:
        if threads < 2:
            pytest.skip("one core: Numba has no second thread")
        kernels.ring_push_csr(ring, head, indptr, members, sources, values)
        again_ring, again_head = expected_ring.copy(), expected_head.copy()
        kernels.ring_push_csr(
            again_ring, again_head, indptr, members, sources, values, members_checked=True
        )
        with pytest.raises(IndexError, match="outside the groups"):  # checked before pushing
            kernels.ring_push_csr(ring, head, indptr, members, np.array([n_groups]), values[:1])
    assert calls == [2, 2]
    np.testing.assert_array_equal(ring, expected_ring)
    np.testing.assert_array_equal(head, expected_head)
    kernels.ring_push_csr(expected_ring, expected_head, indptr, members, sources, values)
    np.testing.assert_array_equal(again_ring, expected_ring)
    np.testing.assert_array_equal(again_head, expected_head)


def test_ring_push_csr_pushes_value_by_value_then_member_by_member() -> None:
    ring = np.zeros((3, 3), np.uint32)
    head = np.zeros(3, np.int64)
    indptr = np.array([0, 2, 2, 4])  # group 0: rows 0, 1; group 1: none; group 2: rows 1, 1
    members = np.array([0, 1, 1, 1])
    sources = np.array([2, 0, 1, 0])
    kernels.ring_push_csr(ring, head, indptr, members, sources, np.array([7, 8, 9, 6], np.uint32))
    assert ring.tolist() == [[8, 6, 0], [6, 7, 8], [0, 0, 0]]
    assert head.tolist() == [2, 4, 0]


@pytest.mark.parametrize(
    ("sources", "members", "match"),
    [
        (np.array([0, 2]), np.array([0, 1]), "outside the groups"),
        (np.array([0, -1]), np.array([0, 1]), "outside the groups"),
        (np.array([0, 1]), np.array([0, 3]), "outside the ring"),
    ],
)
def test_ring_push_csr_rejects_sources_and_rows_outside_and_pushes_nothing(
    sources: np.ndarray, members: np.ndarray, match: str
) -> None:
    ring = np.zeros((3, 2), np.uint32)
    head = np.zeros(3, np.int64)
    indptr = np.array([0, 1, 2])
    with pytest.raises(IndexError, match=match):
        kernels.ring_push_csr(ring, head, indptr, members, sources, np.array([1, 2], np.uint32))
    assert not ring.any()
    assert not head.any()


# --- smallest keys per group -----------------------------------------------------------------


def _keys(rng: np.random.Generator, n: int, dtype: type) -> np.ndarray:
    """Keys on a coarse grid (many ties), with NaN, infinities and signed zeros for floats."""
    keys = np.round(rng.normal(size=n) * 2)
    if np.dtype(dtype).kind == "f":
        for value, share in ((np.nan, 0.05), (np.inf, 0.02), (-np.inf, 0.02), (-0.0, 0.05)):
            keys[rng.random(n) < share] = value
    return keys.astype(dtype)


@pytest.mark.parametrize("n", [0, 1, 30, 5000])
@pytest.mark.parametrize("k", [0, 1, 6, 50])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_smallest_per_group_equals_the_lexsort(seed: int, n: int, k: int, dtype: type) -> None:
    rng = np.random.default_rng(seed)
    n_groups = 7
    group = rng.integers(-1, n_groups + 1, n).astype(np.int32)  # some outside [0, n_groups)
    key = _keys(rng, n, dtype)
    tiebreak = rng.integers(0, max(n // 4, 1), n).astype(np.uint32)  # repeated tie-breaks
    expected = kernels.smallest_per_group_reference(group, key, tiebreak, n_groups, k)
    got = kernels.smallest_per_group(group, key, tiebreak, n_groups, k)
    assert got.dtype == expected.dtype == np.int64
    assert got.shape == (n_groups, k)
    np.testing.assert_array_equal(got, expected)


def test_smallest_per_group_breaks_ties_by_tiebreak_then_index_and_puts_nan_last() -> None:
    group = np.array([0, 0, 0, 0, 0, 1, 1])
    key = np.array([1.0, np.nan, 1.0, 0.0, 1.0, 2.0, -1.0])
    tiebreak = np.array([5, 1, 3, 9, 3, 0, 0])
    got = kernels.smallest_per_group(group, key, tiebreak, 3, 5)
    assert got.tolist() == [[3, 2, 4, 0, 1], [6, 5, -1, -1, -1], [-1, -1, -1, -1, -1]]


@settings(max_examples=200, deadline=None)
@given(
    st.integers(0, 12).flatmap(
        lambda n: st.tuples(
            hnp.arrays(np.int64, n, elements=st.integers(-1, 3)),
            hnp.arrays(np.float64, n, elements=st.sampled_from([0.0, -0.0, 1.0, np.nan, -np.inf])),
            hnp.arrays(np.int64, n, elements=st.integers(0, 2)),
        )
    ),
    st.integers(0, 4),
)
def test_smallest_per_group_equals_the_reference_on_any_small_input(
    arrays: tuple[np.ndarray, np.ndarray, np.ndarray], k: int
) -> None:
    group, key, tiebreak = arrays
    np.testing.assert_array_equal(
        kernels.smallest_per_group(group, key, tiebreak, 3, k),
        kernels.smallest_per_group_reference(group, key, tiebreak, 3, k),
    )


# --- inputs the kernels do not compile for take the NumPy path -------------------------------


def test_unsupported_dtypes_fall_back_to_the_references(seed: int) -> None:
    rng = np.random.default_rng(seed)
    scores = _scores(rng, (20, 30), np.float64)
    float_keys = rng.integers(0, 4, size=(20, 30)).astype(np.float64)
    np.testing.assert_array_equal(
        kernels.score_occurrence(scores, float_keys),
        kernels.score_occurrence_reference(scores, float_keys),
    )
    seen = rng.integers(0, 9, size=(20, 5)).astype(np.uint64)
    keys = rng.integers(0, 9, size=(20, 30)).astype(np.uint64)
    np.testing.assert_array_equal(
        kernels.repeated_keys(seen, keys), kernels.repeated_keys_reference(seen, keys)
    )
    group = rng.integers(0, 3, 40).astype(np.uint64)
    key = rng.integers(0, 5, 40).astype(np.uint64)
    np.testing.assert_array_equal(
        kernels.smallest_per_group(group, key, key, 3, 4),
        kernels.smallest_per_group_reference(group, key, key, 3, 4),
    )


def test_a_simulation_keeps_blas_to_one_thread() -> None:
    """Setting up any cell (fresh or resumed) limits BLAS in its process; checked in a new one."""
    script = (
        "from threadpoolctl import threadpool_info\n"
        "from feedlab.engine.run import setup_for\n"
        "from feedlab.experiments.config import load_config\n"
        "from feedlab.experiments.runner import plan\n"
        "config = load_config('social-dilemma', ['world.n_people=200', 'seeds=1'])\n"
        "setup_for(plan(config)[0])\n"
        "print([p['num_threads'] for p in threadpool_info() if p['user_api'] == 'blas'])\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    threads = ast.literal_eval(done.stdout.strip().splitlines()[-1])
    assert threads, "NumPy links a BLAS"
    assert all(n == 1 for n in threads)


def test_freed_large_arrays_are_reused_without_new_page_faults() -> None:
    import platform
    import resource

    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        pytest.skip("mallopt is glibc's")
    assert kernels.reuse_freed_memory()
    assert kernels.reuse_freed_memory()  # a second call is harmless
    size = 64 * 2**20 // 4  # above glibc's largest mmap threshold (32 MB)
    first = np.ones(size, np.float32)
    del first
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    again = np.ones(size, np.float32)
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
    assert again.sum() == size
    # a fresh mmap would fault every page in again: 16,384 faults of 4 KiB, 32 of 2 MiB
    assert faults < 16


@numba.njit(cache=False)
def _sum_with_prefetch(values: np.ndarray, table: np.ndarray, index: np.ndarray) -> float:
    total = 0.0
    for i in range(index.size):
        kernels.prefetch(values, index[i] + 1_000_000)  # far outside: a hint cannot fault
        kernels.prefetch(table, index[i])
        total += values[index[i]] + table[index[i], 1]
    return total


def test_prefetch_is_a_hint_that_changes_no_value() -> None:
    """1-D and 2-D arrays compile; the result equals the plain sum, even prefetching past the end."""
    rng = np.random.default_rng(3)
    values = rng.random(1000)
    table = rng.random((1000, 3)).astype(np.float32)
    index = rng.integers(0, 1000, 5000)
    got = _sum_with_prefetch(values, table, index)
    want = 0.0
    for i in index:  # the same additions in the same order
        want += values[i] + np.float64(table[i, 1])
    assert got == want


@pytest.mark.parametrize("shape", [(0, 7), (1, 7), (3, 7), (60_001, 7), (200_000,)])
def test_in_place_on_threads_gives_the_one_call_values(
    shape: tuple, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Row blocks on two threads equal one call on the whole array, for any number of rows."""
    monkeypatch.setattr(kernels, "THREADED_MIN_ITEMS", 0)
    values = np.random.default_rng(5).normal(0, 4, shape).astype(np.float32)

    def logistic(z: np.ndarray) -> None:
        np.negative(z, out=z)
        np.exp(z, out=z)
        z += 1.0
        np.reciprocal(z, out=z)

    want = values.copy()
    logistic(want)
    with kernels.kernel_threads_for(2):
        got = kernels.in_place_on_threads(logistic, values.copy())
    np.testing.assert_array_equal(got, want)


def test_threads_on_idle_cores_split_smaller_batches() -> None:
    try:
        kernels.set_kernel_threads(2)
        if kernels.kernel_threads() < 2:
            pytest.skip("one core")
        small = kernels.IDLE_CORES_MIN_ITEMS
        assert not kernels.threaded(small)
        kernels.set_kernel_threads(2, idle_cores=True)
        assert kernels.threaded(small) and not kernels.threaded(small - 1)
        with kernels.kernel_threads_for(1):
            assert not kernels.threaded(kernels.THREADED_MIN_ITEMS)
        assert kernels.threaded(small)  # the idle cores come back with the threads
        kernels.set_kernel_threads(1, idle_cores=True)  # one thread is never split
        assert not kernels.threaded(kernels.THREADED_MIN_ITEMS)
    finally:
        kernels.set_kernel_threads(1)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("n", [0, 1, 2, 5, 1001])
def test_thread_blocks_cover_the_rows_once_in_order(threads: int, n: int) -> None:
    with kernels.kernel_threads_for(threads) as allowed:
        blocks = kernels.thread_blocks(n)
    assert len(blocks) == min(allowed, n)
    assert [row for lo, hi in blocks for row in range(lo, hi)] == list(range(n))
    sizes = [hi - lo for lo, hi in blocks]
    assert all(size > 0 for size in sizes) and max(sizes, default=0) - min(sizes, default=0) <= 1


@pytest.mark.parametrize("parts", [1, 3, 80])
@pytest.mark.parametrize("n", [0, 2, 1001])
def test_thread_blocks_of_a_given_count(parts: int, n: int) -> None:
    blocks = kernels.thread_blocks(n, parts)  # whatever the kernel threads
    assert len(blocks) == min(parts, n)
    assert [row for lo, hi in blocks for row in range(lo, hi)] == list(range(n))
    sizes = [hi - lo for lo, hi in blocks]
    assert all(size > 0 for size in sizes) and max(sizes, default=0) - min(sizes, default=0) <= 1


def test_tasks_on_threads_run_at_once_and_return_in_order() -> None:
    """Two tasks that each wait for the other can only finish if they run at the same time."""
    with kernels.kernel_threads_for(2) as threads:
        if threads < 2:
            pytest.skip("one core")
        meeting = threading.Barrier(2, timeout=30)

        def task(value: int) -> tuple[int, str]:
            meeting.wait()
            return value, threading.current_thread().name

        results = kernels.run_on_threads([functools.partial(task, v) for v in (7, 8)])
    assert [value for value, _ in results] == [7, 8]
    assert results[0][1] != results[1][1]


def test_a_failing_task_is_raised_after_every_task_has_finished() -> None:
    finished: list[int] = []

    def fail() -> None:
        raise IndexError("outside")

    def slow(value: int) -> int:
        time.sleep(0.2)
        finished.append(value)
        return value

    with kernels.kernel_threads_for(2):
        with pytest.raises(IndexError, match="outside"):
            kernels.run_on_threads([fail, functools.partial(slow, 1)])
        assert finished == [1]
        with pytest.raises(ValueError, match="second"):  # the first error in task order
            kernels.run_on_threads([functools.partial(slow, 2), _raise_value_error])
        assert finished == [1, 2]


def _raise_value_error() -> None:
    raise ValueError("second")


def _threaded_sum_in_child(queue: multiprocessing.queues.Queue) -> None:
    with kernels.kernel_threads_for(2):
        queue.put(sum(kernels.run_on_threads([lambda: 1, lambda: 2])))


def test_a_forked_child_starts_its_own_kernel_threads() -> None:
    """A child forked after the parent started its threads must not wait on the parent's."""
    with kernels.kernel_threads_for(2) as threads:
        if threads < 2:
            pytest.skip("one core")
        assert kernels.run_on_threads([lambda: 1, lambda: 2]) == [1, 2]  # the parent's pool
        context = multiprocessing.get_context("fork")
        queue = context.Queue()
        child = context.Process(target=_threaded_sum_in_child, args=(queue,))
        child.start()
        child.join(timeout=60)
        if child.is_alive():
            child.kill()
            pytest.fail("the forked child hung on its parent's kernel threads")
    assert queue.get(timeout=5) == 3


R = TypeVar("R")


def _within_seconds(seconds: float, work: Callable[[], R]) -> R:
    """Run ``work`` in a daemon thread; fail the test if it has not returned in ``seconds``."""
    out: list[R] = []
    worker = threading.Thread(target=lambda: out.append(work()), daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        pytest.fail(f"still waiting after {seconds} s: the kernel threads deadlocked")
    return out[0]


def test_a_task_that_asks_for_threads_runs_its_tasks_in_turn() -> None:
    """A task on the pool's one thread asking for threads would otherwise wait on itself."""

    def inner() -> list[int]:
        return kernels.run_on_threads([lambda: 1, lambda: 2])

    with kernels.kernel_threads_for(2) as threads:
        if threads < 2:
            pytest.skip("one core")
        got = _within_seconds(30, lambda: kernels.run_on_threads([inner, inner]))
    assert got == [[1, 2], [1, 2]]


def test_threads_of_a_process_may_ask_for_kernel_threads_at_once() -> None:
    """Two callers (two live runs, say) share the pool, each getting its own results."""
    with kernels.kernel_threads_for(2) as threads:
        if threads < 2:
            pytest.skip("one core")

        def caller(base: int) -> list[list[int]]:
            tasks = [functools.partial(lambda v: v, base + t) for t in range(5)]
            return [kernels.run_on_threads(tasks) for _ in range(200)]

        with ThreadPoolExecutor(4) as callers:
            runs = _within_seconds(60, lambda: list(callers.map(caller, [0, 100, 200, 300])))
    for base, results in zip([0, 100, 200, 300], runs, strict=True):
        assert results == [[base + t for t in range(5)]] * 200
