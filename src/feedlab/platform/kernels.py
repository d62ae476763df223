"""Compiled kernels of the digital model's learning step.

:func:`count_impressions` adds a tick's impressions to the per-person counters in one pass,
where the NumPy reference (:func:`feedlab.platform.estimator.count_reference`) makes a dozen
``bincount`` passes. ``tests/unit/platform/test_platform_kernels.py`` checks the two agree to
float32 rounding. (A fused kernel for features and predictions was measured slower than NumPy:
NumPy's vectorized ``exp`` beats a scalar one, so that path stays in NumPy.)
"""

from __future__ import annotations

import numba
import numpy as np

from feedlab.core.arrays import AnyArray


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
    excl_engaged: AnyArray,
    excl_shown: AnyArray,
    minutes: AnyArray,
    night_minutes: AnyArray,
) -> None:
    """Add a tick's impressions to the per-person counters, in place, in one pass."""
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
        endorse = max(y[i, 1], y[i, 2])
        leaning_sum[p] += endorse * slant[s]
        leaning_weight[p] += endorse
        e = np.log1p(np.float32(exclamations[s]))
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
