"""Compiled kernels of the digital model: features and logits of candidates, and learning.

:func:`candidate_logits` computes the shared features, the gathered base-rate logits and the
logit of every action head for a flat batch of (person, post) pairs in one pass, where the NumPy
reference (:func:`feedlab.platform.estimator.features` then
:func:`~feedlab.platform.estimator.predict`) makes some thirty passes with temporaries. The
sigmoid stays in NumPy, whose vectorized ``exp`` beats a compiled scalar one.
:func:`count_impressions` adds a tick's impressions to the per-person counters in one pass,
where the NumPy reference (:func:`feedlab.platform.estimator.count_reference`) makes a dozen
``bincount`` passes. ``tests/unit/platform/test_platform_kernels.py`` checks each kernel agrees
with its reference to float32 rounding.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import cast

import numba
import numpy as np
from numba import literal_unroll

from feedlab.core.arrays import AnyArray
from feedlab.core.kernels import (
    PREFETCH_AHEAD,
    SLOTS_AHEAD,
    kernel_threads,
    order_descending,
    prefetch,
    run_on_threads,
    thread_blocks,
)

_COUNTS = 4096
_LOG1P_F64 = np.log1p(np.arange(_COUNTS, dtype=np.float64))
_LOG1P_F32 = np.log1p(np.arange(_COUNTS, dtype=np.float32))
"""NumPy's ``log1p`` of the whole numbers below 4096 (exclamation marks, impressions), in both
precisions: a lookup costs a fraction of a call, and equals what NumPy computes."""


@numba.njit(cache=True, inline="always")
def _log1p_f64(count: int) -> float:
    """``log1p`` of a non-negative integer, as float64."""
    if count < _COUNTS:
        return _LOG1P_F64[count]
    return np.log1p(np.float64(count))


@numba.njit(cache=True, inline="always")
def _log1p_f32(value: np.float32 | float) -> float:
    """``log1p`` of a float32 count (a whole number below 4096 is looked up), as float32."""
    if 0 <= value < _COUNTS and value == np.floor(value):
        return _LOG1P_F32[np.int64(value)]
    return np.log1p(value)


@numba.njit(cache=True, nogil=True)
def candidate_logits(
    rows: AnyArray,
    slots: AnyArray,
    in_network: AnyArray,
    persons: AnyArray,
    interest: AnyArray,
    lean: AnyArray,
    outrage: AnyArray,
    topic_weight: AnyArray,
    topic_a: AnyArray,
    topic_b: AnyArray,
    slant: AnyArray,
    exclamations: AnyArray,
    root: AnyArray,
    root_created: AnyArray,
    person_logit: AnyArray,
    post_logit: AnyArray,
    post_impressions: AnyArray,
    shared_weight: AnyArray,
    person_weight: AnyArray,
    post_weight: AnyArray,
    bias: AnyArray,
    tick: int,
    lifetime: int,
    shared: AnyArray,
    person_part: AnyArray,
    post_part: AnyArray,
    z: AnyArray,
) -> None:
    """Fill the features and action logits of pairs ``(persons[rows[i]], slots[i])``, in place.

    ``interest``, ``lean`` and ``outrage`` are per session (row); ``root`` holds root ids, whose
    ring slot is ``id & (capacity - 1)``; the weights are float32. The outputs are ``shared``
    ``(m, S)``, the gathered base-rate logits ``person_part`` and ``post_part`` ``(m, A)`` and
    the logits ``z`` ``(m, A)``, as ``features`` then ``predict`` before its sigmoid. The ring
    columns of the pair :data:`~feedlab.core.kernels.PREFETCH_AHEAD` ahead, and its root's
    counters half as far ahead, are prefetched (0.72x the time on a captured 100k-person tick).
    """
    mask = np.uint32(post_logit.shape[0] - 1)
    one = np.float32(1.0)
    n = rows.size
    for i in range(n):
        if i + PREFETCH_AHEAD < n:  # the slot's columns now, its root's counters half-way
            ahead = slots[i + PREFETCH_AHEAD]
            prefetch(topic_weight, ahead)
            prefetch(topic_a, ahead)
            prefetch(topic_b, ahead)
            prefetch(slant, ahead)
            prefetch(exclamations, ahead)
            prefetch(root, ahead)
            prefetch(root_created, ahead)
            prefetch(person_logit, persons[rows[i + PREFETCH_AHEAD]])
        if i + PREFETCH_AHEAD // 2 < n:
            ahead_root = np.int64(root[slots[i + PREFETCH_AHEAD // 2]] & mask)
            prefetch(post_impressions, ahead_root)
            prefetch(post_logit, ahead_root)
        r = rows[i]
        s = slots[i]
        q = np.int64(root[s] & mask)
        w = topic_weight[s]
        ln = lean[r]
        sl = slant[s]
        # The seven shared features, in SHARED_FEATURES order.
        x0 = w * interest[r, topic_a[s]] + (one - w) * interest[r, topic_b[s]]
        x1 = ln * sl
        x2 = abs(ln) * abs(sl)
        x3 = np.float32(outrage[r] * _log1p_f64(exclamations[s]))
        x4 = one if in_network[i] else np.float32(0.0)
        x5 = np.float32((tick - np.int64(root_created[s])) / np.float64(lifetime))
        x6 = _log1p_f32(post_impressions[q]) / np.float32(5.0)
        shared[i, 0] = x0
        shared[i, 1] = x1
        shared[i, 2] = x2
        shared[i, 3] = x3
        shared[i, 4] = x4
        shared[i, 5] = x5
        shared[i, 6] = x6
        p = persons[r]
        for a in range(z.shape[1]):  # the heads are independent chains: no loop-carried sum
            pl = person_logit[p, a]
            ql = post_logit[q, a]
            person_part[i, a] = pl
            post_part[i, a] = ql
            z[i, a] = (
                x0 * shared_weight[a, 0] + x1 * shared_weight[a, 1] + x2 * shared_weight[a, 2]
                + x3 * shared_weight[a, 3] + x4 * shared_weight[a, 4] + x5 * shared_weight[a, 5]
                + x6 * shared_weight[a, 6] + pl * person_weight[a] + ql * post_weight[a] + bias[a]
            )  # fmt: skip


def candidate_logits_threaded(
    rows: AnyArray,
    slots: AnyArray,
    in_network: AnyArray,
    persons: AnyArray,
    interest: AnyArray,
    lean: AnyArray,
    outrage: AnyArray,
    topic_weight: AnyArray,
    topic_a: AnyArray,
    topic_b: AnyArray,
    slant: AnyArray,
    exclamations: AnyArray,
    root: AnyArray,
    root_created: AnyArray,
    person_logit: AnyArray,
    post_logit: AnyArray,
    post_impressions: AnyArray,
    shared_weight: AnyArray,
    person_weight: AnyArray,
    post_weight: AnyArray,
    bias: AnyArray,
    tick: int,
    lifetime: int,
    shared: AnyArray,
    person_part: AnyArray,
    post_part: AnyArray,
    z: AnyArray,
) -> None:
    """:func:`candidate_logits` in blocks of pairs on the kernel threads.

    Every pair is computed as on one thread, so the outputs are the same. ``z`` may have more
    rows than there are pairs (a padding row), which are left alone.
    """
    run_on_threads(
        [
            functools.partial(
                candidate_logits, rows[lo:hi], slots[lo:hi], in_network[lo:hi], persons,
                interest, lean, outrage, topic_weight, topic_a, topic_b, slant, exclamations,
                root, root_created, person_logit, post_logit, post_impressions, shared_weight,
                person_weight, post_weight, bias, tick, lifetime, shared[lo:hi],
                person_part[lo:hi], post_part[lo:hi], z[lo:hi],
            )
            for lo, hi in thread_blocks(rows.size)
        ]
    )  # fmt: skip


@numba.njit(cache=True)
def in_network_created(slots: AnyArray, in_network: AnyArray, created: AnyArray) -> AnyArray:
    """Creation tick of each in-network candidate as float64, ``-inf`` elsewhere, in one pass.

    The chronological ranker's scores: ``masked(np.where(in_network, created[slots], -inf))``
    of :class:`~feedlab.platform.rankers.builtin.Chronological`'s reference
    (:func:`~feedlab.platform.rankers.builtin.chronological_scores_reference`), without its five passes and temporaries. A cell
    with no candidate (slot ``-1``) is ``-inf`` whatever ``in_network`` says.
    """
    n, c = slots.shape
    out = np.empty((n, c), np.float64)
    for i in range(n):
        for j in range(c):
            s = slots[i, j]
            out[i, j] = np.float64(created[s]) if s >= 0 and in_network[i, j] else -np.inf
    return out


@numba.njit(cache=True)
def weighted_scores(
    predictions: AnyArray,
    weights: AnyArray,
    in_network: AnyArray,
    valid: AnyArray,
    out_of_network_scale: float,
) -> AnyArray:
    """Sum of weight x prediction per candidate, scaled when out of network; -inf where empty.

    ``predictions`` is ``(n, c, A)`` float32 and ``weights`` ``(A,)`` float32; the sum is taken
    in float32, as ``predictions @ weights``, and returned as float64 ``(n, c)``.
    """
    n, c, n_actions = predictions.shape
    scale = np.float32(out_of_network_scale)
    out = np.empty((n, c), np.float64)
    for i in range(n):
        for j in range(c):
            if not valid[i, j]:
                out[i, j] = -np.inf
                continue
            total = np.float32(0.0)
            for a in range(n_actions):
                total += predictions[i, j, a] * weights[a]
            out[i, j] = total if in_network[i, j] else total * scale
    return out


@numba.njit(cache=True, inline="always")
def _insertion_order(value: AnyArray, column: AnyArray, m: int) -> None:
    """Sort the first ``m`` (value, column) pairs by value descending, ties by column, in place."""
    for p in range(1, m):
        v = value[p]
        j = column[p]
        q = p - 1
        while q >= 0 and (value[q] < v or (value[q] == v and column[q] > j)):
            value[q + 1] = value[q]
            column[q + 1] = column[q]
            q -= 1
        value[q + 1] = v
        column[q + 1] = j


@numba.njit(cache=True)
def _check_positions(position: AnyArray, valid: AnyArray, n_rows: int) -> None:
    """Raise IndexError for a valid cell's position outside ``n_rows`` prediction rows."""
    n, c = position.shape
    for i in range(n):  # compiled code does not check bounds; NumPy would raise
        for j in range(c):
            if valid[i, j] and (position[i, j] < 0 or position[i, j] >= n_rows):
                raise IndexError("engagement_top_k: a position is outside the prediction rows")


def engagement_top_k(
    scored: AnyArray,
    position: AnyArray,
    weights: AnyArray,
    in_network: AnyArray,
    valid: AnyArray,
    slots: AnyArray,
    author: AnyArray,
    out_of_network_scale: float,
    powers: AnyArray,
    floor: float,
    k: int,
    on_threads: bool = False,
) -> AnyArray:
    """Feeds of the engagement ranker, ``(n, k)`` columns best first, ``-1`` where none is left.

    Per row, in one pass and without temporaries the size of the batch: the weighted sum of the
    predictions (float32, out-of-network scaled, as :func:`weighted_scores`), the author-diversity
    factor ``(1 - floor) * powers[j] + floor`` for the author's ``j``-th post in score order
    (dividing a negative score), then the top ``k`` of the rescored values. Ties go to the lower
    column at both orderings, as the stable argsorts of the reference do; NaN scores rank last
    and are never shown, and a ``+inf`` score keeps its place but is reported as ``-1``. A
    candidate's author is ``author[slots[i, j]]`` (``author`` the ring's column), read only for
    the valid ones; its predictions are the row ``scored[position[i, j]]`` (``scored`` the
    model's flat rows, see :meth:`~feedlab.platform.rankers.base.RankContext.flat_predictions`),
    checked to be rows before any is ranked. ``on_threads`` ranks a block of rows per kernel
    thread (:data:`engagement_top_k_threaded`), each row as on one thread.
    """
    n = position.shape[0]
    _check_positions(position, valid, scored.shape[0])
    out = np.empty((n, k), np.int64)
    run_on_threads(
        [
            functools.partial(
                _engagement_rows, scored, position[lo:hi], weights, in_network[lo:hi],
                valid[lo:hi], slots[lo:hi], author, out_of_network_scale, powers, floor,
                out[lo:hi],
            )
            for lo, hi in thread_blocks(n, kernel_threads() if on_threads else 1)
        ]
    )  # fmt: skip
    return out


engagement_top_k_threaded = functools.partial(engagement_top_k, on_threads=True)
""":func:`engagement_top_k` in blocks of rows on the kernel threads."""


@numba.njit(cache=True, nogil=True)
def _engagement_rows(
    scored: AnyArray,
    position: AnyArray,
    weights: AnyArray,
    in_network: AnyArray,
    valid: AnyArray,
    slots: AnyArray,
    author: AnyArray,
    out_of_network_scale: float,
    powers: AnyArray,
    floor: float,
    out: AnyArray,
) -> None:
    """The rows of :func:`engagement_top_k` into ``out`` ``(n, k)``, positions already checked."""
    n, c = position.shape
    n_actions = scored.shape[1]
    k = out.shape[1]
    out[:] = -1
    scale = np.float32(out_of_network_scale)
    value = np.empty(c, np.float64)  # the row's scores, in column order
    column = np.empty(c, np.int64)
    rescaled = np.empty(c, np.float64)  # after the discount, still in column order
    order = np.empty(c, np.int64)
    above = np.empty(c, np.int64)
    scratch = np.empty(c, np.int64)
    seen_key = np.empty(c, np.int64)
    seen_count = np.empty(c, np.int64)
    for i in range(n):
        m = np.int64(0)  # not the literal 0: one compiled ordering for every caller
        for j in range(c):
            if not valid[i, j]:
                continue
            prefetch(author, slots[i, j])  # read after the first ordering, which hides the wait
            q = position[i, j]
            total = np.float32(0.0)
            for a in range(n_actions):
                total += scored[q, a] * weights[a]
            score = np.float64(total if in_network[i, j] else total * scale)
            if np.isnan(score):
                continue  # ranks after every number and is never shown
            value[m] = score
            column[m] = j
            m += 1
        # Both orderings count ranks (ties to the lower index, here the lower column).
        order_descending(value, m, order, above, scratch)
        n_keys = 0
        for r in range(m):  # the author's occurrence in score order sets the factor
            p = order[r]
            key = np.int64(author[slots[i, column[p]]])
            t = 0
            while t < n_keys and seen_key[t] != key:
                t += 1
            if t == n_keys:
                seen_key[t] = key
                seen_count[t] = 0
                n_keys += 1
            factor = (1.0 - floor) * powers[seen_count[t]] + floor
            seen_count[t] += 1
            rescaled[p] = value[p] * factor if value[p] >= 0 else value[p] / factor
        order_descending(rescaled, m, order, above, scratch)
        for r in range(min(k, m)):
            p = order[r]
            if not np.isinf(rescaled[p]):
                out[i, r] = column[p]


def topic_match_top_k(
    interest: AnyArray,
    topic_weight: AnyArray,
    topic_a: AnyArray,
    topic_b: AnyArray,
    slots: AnyArray,
    k: int,
    on_threads: bool = False,
) -> AnyArray:
    """Feeds of the content-filtering ranker, ``(n, k)`` columns best first, ``-1`` for none.

    The score of a candidate (``slots >= 0``) is ``w * interest[topic_a] + (1 - w) *
    interest[topic_b]`` with the post's ``w = topic_weight`` in float64 and the session's row of
    ``interest``; ties go to the lower column, as a stable argsort orders them. ``on_threads``
    ranks a block of rows per kernel thread (:data:`topic_match_top_k_threaded`).
    """
    n = slots.shape[0]
    out = np.empty((n, k), np.int64)
    run_on_threads(
        [
            functools.partial(
                _topic_match_rows, interest[lo:hi], topic_weight, topic_a, topic_b, slots[lo:hi],
                out[lo:hi],
            )
            for lo, hi in thread_blocks(n, kernel_threads() if on_threads else 1)
        ]
    )  # fmt: skip
    return out


topic_match_top_k_threaded = functools.partial(topic_match_top_k, on_threads=True)
""":func:`topic_match_top_k` in blocks of rows on the kernel threads."""


@numba.njit(cache=True, nogil=True)
def _topic_match_rows(
    interest: AnyArray,
    topic_weight: AnyArray,
    topic_a: AnyArray,
    topic_b: AnyArray,
    slots: AnyArray,
    out: AnyArray,
) -> None:
    """The rows of :func:`topic_match_top_k` into ``out`` ``(n, k)``."""
    n, c = slots.shape
    k = out.shape[1]
    out[:] = -1
    value = np.empty(c, np.float64)
    column = np.empty(c, np.int64)
    for i in range(n):
        m = 0
        for j in range(c):
            s = slots[i, j]
            if s < 0:
                continue
            w = np.float64(topic_weight[s])
            value[m] = w * interest[i, topic_a[s]] + (1.0 - w) * interest[i, topic_b[s]]
            column[m] = j
            m += 1
        _insertion_order(value, column, m)
        for p in range(min(k, m)):
            out[i, p] = column[p]


@numba.njit(cache=True)
def top_two(values: AnyArray) -> AnyArray:
    """The columns of each row's two largest values, ``(n, 2)``; ties go to the lower column.

    As ``np.argsort(-values, axis=1, kind="stable")[:, :2]`` for rows without NaN and with at
    least two columns.
    """
    n, c = values.shape
    out = np.empty((n, 2), np.int64)
    for i in range(n):
        best, second = 0, 1
        if values[i, 1] > values[i, 0]:
            best, second = 1, 0
        for j in range(2, c):
            v = values[i, j]
            if v > values[i, best]:
                second = best
                best = j
            elif v > values[i, second]:
                second = j
        out[i, 0] = best
        out[i, 1] = second
    return out


@numba.njit(cache=True)
def flat_candidates(
    slots: AnyArray, in_network: AnyArray
) -> tuple[AnyArray, AnyArray, AnyArray, AnyArray, AnyArray]:
    """The valid cells (``slots >= 0``) of a padded candidate layout as a flat list.

    Returns ``rows``, ``cols`` (in ``np.nonzero`` order), their ``slots`` and ``in_network``
    flags, and ``position`` ``(n, c)``: each valid cell's index in the list, the list's length
    for an empty cell (where padded layouts keep an all-zero row).
    """
    n, c = slots.shape
    m = 0
    for i in range(n):
        for j in range(c):
            m += slots[i, j] >= 0
    rows = np.empty(m, np.int64)
    cols = np.empty(m, np.int64)
    flat_slots = np.empty(m, np.int64)
    flat_in_network = np.empty(m, np.bool_)
    position = np.full((n, c), m, np.int64)
    p = 0
    for i in range(n):
        for j in range(c):
            if slots[i, j] >= 0:
                rows[p] = i
                cols[p] = j
                flat_slots[p] = slots[i, j]
                flat_in_network[p] = in_network[i, j]
                position[i, j] = p
                p += 1
    return rows, cols, flat_slots, flat_in_network, position


@numba.njit(cache=True)
def chosen_cells(
    columns: AnyArray,
    position: AnyArray,
    ids: AnyArray,
    slots: AnyArray,
    in_network: AnyArray,
    empty_row: int,
) -> tuple[AnyArray, AnyArray, AnyArray, AnyArray]:
    """What the ranker chose, ``(n, k)`` each, with the empty value where it chose nothing.

    Post ids (0), ring slots (-1), in-network flags (False) and each chosen candidate's row in
    the flat candidate list (``empty_row``); ``columns`` holds the chosen columns, -1 for none.
    """
    n, k = columns.shape
    post_ids = np.zeros((n, k), np.uint32)
    chosen_slots = np.full((n, k), -1, np.int64)
    chosen_in_network = np.zeros((n, k), np.bool_)
    row = np.full((n, k), empty_row, np.int64)
    for i in range(n):
        for p in range(k):
            j = columns[i, p]
            if j < 0:
                continue
            post_ids[i, p] = ids[i, j]
            chosen_slots[i, p] = slots[i, j]
            chosen_in_network[i, p] = in_network[i, j]
            row[i, p] = position[i, j]
    return post_ids, chosen_slots, chosen_in_network, row


@numba.njit(cache=True)
def head_gradient(
    y: AnyArray,
    predictions: AnyArray,
    person_part: AnyArray,
    post_part: AnyArray,
    shared: AnyArray,
) -> AnyArray:
    """Mean log-loss gradient of every action head, ``(A, 3 + S)`` float64, in one pass.

    Columns: bias, person base-rate weight, post base-rate weight, then the shared features'
    weights; the error ``y - prediction`` is taken in float32, as the NumPy reference does.
    """
    m, n_actions = y.shape
    n_shared = shared.shape[1]
    grad = np.zeros((n_actions, 3 + n_shared), np.float64)
    for i in range(m):
        for a in range(n_actions):
            e = np.float64(y[i, a] - predictions[i, a])
            grad[a, 0] += e
            grad[a, 1] += e * person_part[i, a]
            grad[a, 2] += e * post_part[i, a]
            for f in range(n_shared):
                grad[a, 3 + f] += e * shared[i, f]
    if m > 0:
        grad /= m
    return grad


@numba.njit(cache=True)
def count_impressions(
    who: AnyArray,
    slots: AnyArray,
    y: AnyArray,
    engaged: AnyArray,
    topic_a: AnyArray,
    slant: AnyArray,
    exclamations: AnyArray,
    dwell_minutes: AnyArray,
    night: bool,
    impressions: AnyArray,
    action_counts: AnyArray,
    topic_shown: AnyArray,
    topic_engaged: AnyArray,
    leaning_sum: AnyArray,
    leaning_weight: AnyArray,
    shown_slant: AnyArray,
    excl_engaged: AnyArray,
    excl_shown: AnyArray,
    minutes: AnyArray,
    night_minutes: AnyArray,
) -> None:
    """Add a tick's impressions to the per-person counters, in place, in one pass.

    A like adds the post's slant to the person's leaning evidence (``leaning_sum``, one
    observation in ``leaning_weight``); shares and replies do not, since many are hate-shares and
    angry answers. Every impression adds its slant to ``shown_slant``, what the person was shown.
    """
    n_actions = y.shape[1]
    for i in range(who.size):
        p = who[i]
        s = slots[i]
        impressions[p] += 1.0
        for a in range(n_actions):
            action_counts[p, a] += y[i, a]
        t = topic_a[s]
        topic_shown[p, t] += 1.0
        topic_engaged[p, t] += engaged[i]
        like = y[i, 1]
        leaning_sum[p] += like * slant[s]
        leaning_weight[p] += like
        shown_slant[p] += slant[s]
        e = _log1p_f32(np.float32(exclamations[s]))
        excl_engaged[p] += engaged[i] * e
        excl_shown[p] += e
        minutes[p] += dwell_minutes[i]
        if night:
            night_minutes[p] += dwell_minutes[i]


@numba.njit(cache=True)
def count_cascades(
    root_slots: AnyArray,
    live: AnyArray,
    y: AnyArray,
    post_impressions: AnyArray,
    post_actions: AnyArray,
) -> AnyArray:
    """Add impressions and actions to their cascades' counters; return the touched slots.

    The touched slots come back in order of first touch (each once).
    """
    n_actions = y.shape[1]
    touched = np.empty(root_slots.size, np.int64)
    marked = np.zeros(post_impressions.size, np.bool_)
    n_touched = 0
    for i in range(root_slots.size):
        if not live[i]:
            continue
        s = root_slots[i]
        if not marked[s]:
            marked[s] = True
            touched[n_touched] = s
            n_touched += 1
        post_impressions[s] += 1.0
        for a in range(n_actions):
            post_actions[s, a] += y[i, a]
    return touched[:n_touched]


@numba.njit(cache=True, nogil=True)
def _seen_gradient(
    seen: AnyArray,
    actions: AnyArray,
    feature_row: AnyArray,
    shared: AnyArray,
    person_part: AnyArray,
    post_part: AnyArray,
    predictions: AnyArray,
    grad: AnyArray,
    y_sum: AnyArray,
) -> None:
    """Add the seen slots' gradient sums to ``grad`` and their actions to ``y_sum``, in place.

    The slots are walked in row-major order, so every sum is taken in :func:`head_gradient`'s
    order. The sums run in a local array, which the compiler keeps apart from every other array
    (``grad`` may alias nothing, but it cannot know), then are added to ``grad`` once; a slot's
    seven shared features are read once, into scalars, before the heads' sums (read from memory
    after each head's stores, they would be read seven times).
    """
    n, k = seen.shape
    n_actions = actions.shape[2]
    if shared.shape[1] != 7:
        raise ValueError("_seen_gradient reads the seven shared features of SHARED_FEATURES")
    acc = np.zeros((n_actions, 10), np.float64)
    ys = np.zeros(n_actions, np.float32)
    for i in range(n):
        for j in range(k):
            if not seen[i, j]:
                continue
            f = feature_row[i, j]
            x0 = np.float64(shared[f, 0])
            x1 = np.float64(shared[f, 1])
            x2 = np.float64(shared[f, 2])
            x3 = np.float64(shared[f, 3])
            x4 = np.float64(shared[f, 4])
            x5 = np.float64(shared[f, 5])
            x6 = np.float64(shared[f, 6])
            for a in range(n_actions):
                y = np.float32(1.0) if actions[i, j, a] else np.float32(0.0)
                ys[a] += y
                e = np.float64(y - predictions[i, j, a])
                acc[a, 0] += e
                acc[a, 1] += e * person_part[f, a]
                acc[a, 2] += e * post_part[f, a]
                acc[a, 3] += e * x0
                acc[a, 4] += e * x1
                acc[a, 5] += e * x2
                acc[a, 6] += e * x3
                acc[a, 7] += e * x4
                acc[a, 8] += e * x5
                acc[a, 9] += e * x6
    grad += acc
    y_sum += ys


@numba.njit(cache=True, nogil=True)
def _seen_cascades(
    seen: AnyArray,
    post_ids: AnyArray,
    actions: AnyArray,
    view_id: AnyArray,
    root: AnyArray,
    post_impressions: AnyArray,
    post_actions: AnyArray,
    touched: AnyArray,
) -> int:
    """:func:`count_cascades` over the seen slots in row-major order, in place.

    Writes the touched root slots into ``touched`` in order of first touch (each once) and
    returns how many there are.
    """
    n, k = seen.shape
    n_actions = actions.shape[2]
    mask = np.uint32(post_impressions.shape[0] - 1)
    marked = np.zeros(post_impressions.shape[0], np.bool_)
    n_touched = 0
    ahead, half = SLOTS_AHEAD, SLOTS_AHEAD // 2
    for i in range(n):
        for j in range(k):
            if j + ahead < k and post_ids[i, j + ahead] != 0:  # a root now, its counters later
                prefetch(root, np.int64(post_ids[i, j + ahead] & mask))
            if j + half < k and post_ids[i, j + half] != 0:
                later = np.int64(root[np.int64(post_ids[i, j + half] & mask)] & mask)
                prefetch(view_id, later)
                prefetch(post_impressions, later)
                prefetch(post_actions, later)
                prefetch(marked, later)
            if not seen[i, j]:
                continue
            r = root[np.int64(post_ids[i, j] & mask)]
            q = np.int64(r & mask)
            if view_id[q] != r:  # the root's slot holds a later post: the cascade is closed
                continue
            if not marked[q]:
                marked[q] = True
                touched[n_touched] = q
                n_touched += 1
            post_impressions[q] += 1.0
            for a in range(n_actions):
                if actions[i, j, a]:
                    post_actions[q, a] += np.float32(1.0)
    return n_touched


@numba.njit(cache=True, nogil=True)
def _seen_counters(
    lo: int,
    hi: int,
    start: int,
    seen: AnyArray,
    persons: AnyArray,
    post_ids: AnyArray,
    actions: AnyArray,
    dwell_seconds: AnyArray,
    root: AnyArray,
    topic_a: AnyArray,
    slant: AnyArray,
    exclamations: AnyArray,
    night: bool,
    counters: tuple[AnyArray, ...],
    person_seen: AnyArray,
    seen_persons: AnyArray,
    seen_roots: AnyArray,
) -> None:
    """:func:`count_impressions` for the seen slots of rows ``[lo, hi)``, in place.

    Row by row in row-major order; ``start`` is the number of seen slots before row ``lo``, the
    position of the rows' first entry in ``seen_persons`` and ``seen_roots``. A row touches only
    its own person's counters, so rows of distinct people may be counted in any order.
    """
    (impressions, action_counts, topic_shown, topic_engaged, leaning_sum, leaning_weight,
     shown_slant, excl_engaged, excl_shown, minutes, night_minutes) = counters  # fmt: skip
    k = seen.shape[1]
    n_actions = actions.shape[2]
    mask = np.uint32(root.shape[0] - 1)
    y = np.empty(n_actions, np.float32)
    m = start
    for i in range(lo, hi):
        p = persons[i]
        if i + 1 < hi:  # the next row's person
            for counter in literal_unroll(counters):
                prefetch(counter, persons[i + 1])
        for j in range(k):
            if j + SLOTS_AHEAD < k and post_ids[i, j + SLOTS_AHEAD] != 0:
                ahead = np.int64(post_ids[i, j + SLOTS_AHEAD] & mask)
                prefetch(root, ahead)
                prefetch(topic_a, ahead)
                prefetch(slant, ahead)
                prefetch(exclamations, ahead)
            if not seen[i, j]:
                continue
            s = np.int64(post_ids[i, j] & mask)
            for a in range(n_actions):
                y[a] = np.float32(1.0) if actions[i, j, a] else np.float32(0.0)
            engaged = max(max(y[0], y[1]), max(y[2], y[3]))
            impressions[p] += 1.0
            for a in range(n_actions):
                action_counts[p, a] += y[a]
            t = topic_a[s]
            topic_shown[p, t] += 1.0
            topic_engaged[p, t] += engaged
            leaning_sum[p] += y[1] * slant[s]  # likes only, as count_impressions
            leaning_weight[p] += y[1]
            shown_slant[p] += slant[s]
            x = _log1p_f32(np.float32(exclamations[s]))
            excl_engaged[p] += engaged * x
            excl_shown[p] += x
            d = np.float32(dwell_seconds[i, j] / np.float32(60.0))
            minutes[p] += d
            if night:
                night_minutes[p] += d
            person_seen[p] = True
            seen_persons[m] = p
            seen_roots[m] = root[s]
            m += 1


@numba.njit(cache=True)
def distinct(values: AnyArray, n: int) -> bool:
    """Whether the integers ``values``, each in ``[0, n)``, are pairwise distinct."""
    marked = np.zeros(n, np.bool_)
    for i in range(values.size):
        v = values[i]
        if marked[v]:
            return False
        marked[v] = True
    return True


def learn_seen(
    seen: AnyArray,
    persons: AnyArray,
    post_ids: AnyArray,
    actions: AnyArray,
    dwell_seconds: AnyArray,
    feature_row: AnyArray,
    shared: AnyArray,
    person_part: AnyArray,
    post_part: AnyArray,
    predictions: AnyArray,
    view_id: AnyArray,
    root: AnyArray,
    topic_a: AnyArray,
    slant: AnyArray,
    exclamations: AnyArray,
    night: bool,
    counters: tuple[AnyArray, ...],
    post_impressions: AnyArray,
    post_actions: AnyArray,
    grad: AnyArray,
    y_sum: AnyArray,
    seen_persons: AnyArray,
    seen_roots: AnyArray,
    n_groups: int = 0,
) -> tuple[AnyArray, AnyArray]:
    """A tick's impressions: the heads' gradient and every counter, in place.

    Walks the seen slots in row-major order (that of ``np.nonzero(seen)``) and does, for each,
    what :func:`head_gradient` (the gradient sums, into ``grad``), :func:`count_impressions`,
    :func:`count_cascades` and the column sums of the actions (into ``y_sum``, float32) do for
    the flat lists the reference gathers first. ``counters`` are the model's per-person buffers
    in the order of :func:`count_impressions`. Also writes who saw which cascade root, in that
    order, into ``seen_persons`` and ``seen_roots`` (``(n_seen,)`` each, for the seen memory).
    Three compiled passes (gradient, cascades, per-person counters): each keeps its sums apart
    from the others' arrays, which one fused pass could not.

    With ``n_groups`` of 1 or more (:data:`learn_seen_threaded`), the passes are tasks on the
    kernel threads, the per-person counters in ``n_groups - 1`` blocks of rows (at least one).
    Only for rows of distinct people (:func:`distinct`): then every counter receives exactly
    the additions, in the order, of one thread; the gradient sums (the longest part, which
    cannot be split without changing their order) and the cascade counters (shared by all rows)
    are one task each. No two tasks write the same array.

    Returns:
        The people who saw something (ascending, each once) and the live cascade roots that were
        seen (in order of first touch, each once).
    """
    n = seen.shape[0]
    person_seen = np.zeros(counters[0].shape[0], np.bool_)
    touched = np.empty(seen_roots.size, np.int64)
    bounds = thread_blocks(n, max(1, n_groups - 1))
    starts = [0, *np.cumsum([np.count_nonzero(seen[lo:hi]) for lo, hi in bounds[:-1]]).tolist()]
    tasks: list[Callable[[], object]] = [
        functools.partial(
            _seen_gradient, seen, actions, feature_row, shared, person_part, post_part,
            predictions, grad, y_sum,
        ),
        functools.partial(
            _seen_cascades, seen, post_ids, actions, view_id, root, post_impressions,
            post_actions, touched,
        ),
        *(
            functools.partial(
                _seen_counters, lo, hi, starts[b], seen, persons, post_ids, actions,
                dwell_seconds, root, topic_a, slant, exclamations, night, counters, person_seen,
                seen_persons, seen_roots,
            )
            for b, (lo, hi) in enumerate(bounds)
        ),
    ]  # fmt: skip
    results = run_on_threads(tasks) if n_groups > 0 else [task() for task in tasks]
    n_touched = cast(int, results[1])
    return np.flatnonzero(person_seen), touched[:n_touched]


learn_seen_threaded = learn_seen
""":func:`learn_seen` on the kernel threads, called with its last argument ``n_groups`` (the
process's thread count): a name of its own, for callers to choose it by."""


@numba.njit(cache=True)
def estimated_interest(engaged: AnyArray, shown: AnyArray, persons: AnyArray) -> AnyArray:
    """Smoothed engagement rate by topic of ``persons``, divided by each row's largest.

    ``(engaged + 0.5) / (shown + 2)`` then ``rate / rate.max(axis=1)``, in float32 (the
    counters' dtype) as NumPy computes them, without the gathered copies; a NaN rate makes its
    row's maximum NaN, as ``max`` does.

    Raises:
        IndexError: if a person is outside the counters.
    """
    n_people, n_topics = engaged.shape
    out = np.empty((persons.size, n_topics), np.float32)
    half = np.float32(0.5)
    two = np.float32(2.0)
    for i in range(persons.size):
        p = persons[i]
        if p < 0 or p >= n_people:
            raise IndexError("estimated_interest: a person is outside the counters")
        largest = np.float32(-np.inf)
        for t in range(n_topics):
            rate = np.float32((engaged[p, t] + half) / (shown[p, t] + two))
            out[i, t] = rate
            if rate > largest or rate != rate:
                largest = rate
            if largest != largest:
                break
        if largest != largest:
            for t in range(n_topics):
                out[i, t] = np.nan
            continue
        for t in range(n_topics):
            out[i, t] = np.float32(out[i, t] / largest)
    return out
