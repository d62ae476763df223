"""Compiled kernel of the daily tally, beside the NumPy code that defines it.

:func:`tally_seen` counts one tick's impressions in one pass over the seen slots of the feeds,
where the NumPy statement of the tally (:func:`feedlab.metrics.daily.tally_sessions_reference`)
takes the seen positions with ``np.nonzero``, gathers five post columns for every impression,
sums minutes over all people and topics over all people x topics with ``np.bincount``, and
gathers again for each content group. The pass visits the seen slots in the reference's row-major
order, so each person's minutes are summed in the same order from zero (as ``bincount`` does)
and added once, and whole-number counts are exact; the thresholds are compared in float32, as
NumPy compares a float32 column with a Python float: the tally is the reference's bit for bit.
The AUC sample's uniforms are drawn by the caller, one per seen slot as the reference draws
them, so the random stream is consumed the same way. ``tests/unit/metrics/test_metrics_daily.py``
checks the two agree on random ticks, boundary values and empty ticks.
"""

from __future__ import annotations

import numba
import numpy as np

from feedlab.core.arrays import AnyArray
from feedlab.core.kernels import PREFETCH_AHEAD, prefetch

(SEEN, OUTRAGE_HIGH, FALSE, CROSS, LEFT, CENTRE, RIGHT, N_COUNTS) = range(8)
"""Positions in the counts returned by :func:`tally_seen`."""

_SIXTY = np.float32(60.0)


@numba.njit(cache=True)
def tally_seen(
    persons: AnyArray,
    feed: AnyArray,
    seen: AnyArray,
    engaged: AnyArray,
    dwell_seconds: AnyArray,
    draws: AnyArray,
    keep_below: float,
    person_leaning: AnyArray,
    outrage: AnyArray,
    leaning: AnyArray,
    is_false: AnyArray,
    topic_a: AnyArray,
    root: AnyArray,
    outrage_threshold: np.float32,
    leaning_side: np.float32,
    minutes: AnyArray,
    topic_counts: AnyArray,
) -> tuple[AnyArray, AnyArray, AnyArray, AnyArray, AnyArray, AnyArray]:
    """Count the seen slots of one tick's feeds; add minutes and topics in place.

    Args:
        persons: who is in each session, ``(n_sessions,)`` int.
        feed: post slots shown, ``(n_sessions, feed_size)`` int.
        seen: which slots were seen, ``(n_sessions, feed_size)`` bool.
        engaged: which slots were clicked, liked, shared or replied to, same shape, bool.
        dwell_seconds: seconds on each slot, same shape, float32.
        draws: one uniform per seen slot in row-major order, ``(n_seen,)`` float64, exactly as
            many as ``seen`` holds (they also size the outputs); a slot is kept for the AUC
            sample when its draw is below ``keep_below``.
        keep_below: the sampling probability of a seen slot.
        person_leaning: people's true leaning, ``(n_people,)`` float32.
        outrage: the post ring's outrage, ``(capacity,)`` float32.
        leaning: the post ring's true leaning, ``(capacity,)`` float32.
        is_false: the post ring's veracity, ``(capacity,)`` bool.
        topic_a: the post ring's main topic, ``(capacity,)`` int32.
        root: the post ring's cascade roots, ``(capacity,)`` uint32.
        outrage_threshold: outrage from which a post counts as outrageous (float32).
        leaning_side: leaning beyond which a post leans left or right (float32).
        minutes: the day's minutes per person, ``(n_people,)`` float64, added to.
        topic_counts: the day's impressions per person and topic, ``(n_people, n_topics)``
            float64, added to.

    Returns:
        ``counts`` (int64, indexed by this module's positions: seen slots, outrageous, false,
        cross-cutting, left, centre and right impressions), the engaging people and their
        cascade roots (int64, in seen order), and the AUC sample's session rows, feed columns
        and engagement labels.
    """
    n_seen = draws.size
    consumed_people = np.empty(n_seen, np.int64)
    consumed_roots = np.empty(n_seen, np.int64)
    sample_rows = np.empty(n_seen, np.int64)
    sample_cols = np.empty(n_seen, np.int64)
    sample_labels = np.empty(n_seen, np.bool_)
    # Each person's minutes are summed from zero, then added once, as the reference's bincount.
    person_minutes = np.zeros(minutes.size, np.float64)
    k = 0  # index of the seen slot, in row-major order
    high = false = cross = left = centre = right = 0  # in locals, not an array: kept in registers
    n_consumed = 0
    n_sample = 0
    n_rows, width = feed.shape
    for r in range(n_rows):
        p = persons[r]
        if r + 1 < n_rows:  # the next session's person
            after = persons[r + 1]
            prefetch(person_leaning, after)
            prefetch(person_minutes, after)
            prefetch(topic_counts, after)
        own_right = person_leaning[p] >= 0
        spent = person_minutes[p]  # summed in a register, in the same order
        for c in range(width):
            ahead = r * width + c + PREFETCH_AHEAD  # the post columns of a slot further on
            t = feed[ahead // width, ahead % width] if ahead < feed.size else -1
            if t >= 0:
                prefetch(topic_a, t)
                prefetch(leaning, t)
                prefetch(outrage, t)
                prefetch(is_false, t)
            if not seen[r, c]:
                continue
            s = feed[r, c]
            spent += np.float64(np.float32(dwell_seconds[r, c] / _SIXTY))
            topic_counts[p, topic_a[s]] += 1.0
            x = leaning[s]
            high += outrage[s] >= outrage_threshold
            false += is_false[s]
            cross += own_right != (x >= 0)
            left += x < -leaning_side
            centre += abs(x) <= leaning_side
            right += x > leaning_side
            hit = engaged[r, c]
            # Written always, kept when engaged: no branch to mispredict on a quarter of slots.
            consumed_people[n_consumed] = p
            consumed_roots[n_consumed] = s  # the slot for now; its root is read below
            n_consumed += hit
            if draws[k] < keep_below:
                sample_rows[n_sample] = r
                sample_cols[n_sample] = c
                sample_labels[n_sample] = hit
                n_sample += 1
            k += 1
        person_minutes[p] = spent
    for i in range(n_consumed):
        consumed_roots[i] = root[consumed_roots[i]]
    counts = np.zeros(N_COUNTS, np.int64)
    counts[SEEN], counts[OUTRAGE_HIGH], counts[FALSE], counts[CROSS] = k, high, false, cross
    counts[LEFT], counts[CENTRE], counts[RIGHT] = left, centre, right
    for r in range(persons.size):  # a person in two sessions is added once, then zeroed
        p = persons[r]
        minutes[p] += person_minutes[p]
        person_minutes[p] = 0.0
    return (
        counts,
        consumed_people[:n_consumed].copy(),
        consumed_roots[:n_consumed].copy(),
        sample_rows[:n_sample].copy(),
        sample_cols[:n_sample].copy(),
        sample_labels[:n_sample].copy(),
    )


@numba.njit(cache=True)
def closing_cascade_sizes(
    post_id: AnyArray,
    depth: AnyArray,
    created: AnyArray,
    cascade_size: AnyArray,
    is_false: AnyArray,
    closing_tick: int,
) -> tuple[AnyArray, AnyArray]:
    """Sizes of the false and of the true cascades whose original was created at ``closing_tick``.

    One pass over the ring, in slot order, in place of the reference's four array passes and
    two masked gathers (:func:`feedlab.metrics.daily.closed_cascades_reference`); the same
    float64 sizes in the same order.
    """
    n = post_id.size
    false_sizes = np.empty(n, np.float64)
    true_sizes = np.empty(n, np.float64)
    n_false = n_true = 0
    for s in range(n):
        if created[s] == closing_tick and depth[s] == 0 and post_id[s] != 0:
            if is_false[s]:
                false_sizes[n_false] = cascade_size[s]
                n_false += 1
            else:
                true_sizes[n_true] = cascade_size[s]
                n_true += 1
    return false_sizes[:n_false].copy(), true_sizes[:n_true].copy()
