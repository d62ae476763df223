"""Daily metrics: a tally filled each tick, closed into one row per metric at midnight.

Metrics read both the world (truth) and the platform (beliefs): that is how the digital model's
accuracy is scored. Each function reads only the arrays it names.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from feedlab.core.arrays import BoolArray, F64Array, FloatArray, IntArray
from feedlab.metrics import kernels
from feedlab.platform.estimator import PersonModel, p_engage
from feedlab.world.people import People
from feedlab.world.posts import Posts

AUC_SAMPLE_PER_TICK = 4_000
"""Impressions per tick kept for the AUC (a uniform thinning beyond this)."""

LEANING_SIDE = 1.0 / 3.0
"""A post leans left (right) when its true leaning is below -1/3 (above 1/3); else centre."""

ContentGroup = Callable[[People, Posts, IntArray, float], BoolArray]
"""Which of the impressed post slots belong to a group: ``(people, posts, slots, threshold)``."""

CONTENT_GROUPS: dict[str, ContentGroup] = {
    "outrage_high": lambda people, posts, slots, t: posts.outrage[slots] >= t,
    "outrage_low": lambda people, posts, slots, t: posts.outrage[slots] < t,
    "left": lambda people, posts, slots, t: posts.leaning[slots] < -LEANING_SIDE,
    "centre": lambda people, posts, slots, t: np.abs(posts.leaning[slots]) <= LEANING_SIDE,
    "right": lambda people, posts, slots, t: posts.leaning[slots] > LEANING_SIDE,
    "false": lambda people, posts, slots, t: posts.is_false[slots],
    "true": lambda people, posts, slots, t: ~posts.is_false[slots],
}
"""Content groups whose exposure is a metric (``reach_<group>``) and whose amplification is
reported against the chronological arm (Huszár et al. 2022). Ground truth is allowed here:
metrics read the world. A new group (e.g. posts by bot accounts) is one more entry, with a
matching ``reach_<group>`` spec in :mod:`feedlab.metrics.catalog`; :func:`tally_sessions` counts
a group that :func:`derive_groups` does not derive with its own pass over the seen slots."""


def derive_groups(counts: IntArray) -> dict[str, int]:
    """Impressions of the built-in content groups, from the compiled tally's trait counts.

    :func:`feedlab.metrics.kernels.tally_seen` counts the traits the groups are made of (outrage
    at or above the threshold, leaning below ``-LEANING_SIDE``, within it, above ``LEANING_SIDE``,
    false); this is where they become the groups of :data:`CONTENT_GROUPS`, and
    ``tests/unit/metrics/test_metrics_daily.py`` checks that both give the same counts. A
    complement is the rest of the impressions: outrage is never NaN (it lies in [0, 1]).
    """
    n = int(counts[kernels.SEEN])
    high = int(counts[kernels.OUTRAGE_HIGH])
    false = int(counts[kernels.FALSE])
    return {
        "outrage_high": high,
        "outrage_low": n - high,
        "left": int(counts[kernels.LEFT]),
        "centre": int(counts[kernels.CENTRE]),
        "right": int(counts[kernels.RIGHT]),
        "false": false,
        "true": n - false,
    }


@dataclass
class DayTally:
    """Running sums for one simulated day."""

    n_people: int
    n_topics: int
    sessions: IntArray = field(init=False)
    active: BoolArray = field(init=False)
    minutes: F64Array = field(init=False)
    topic_counts: F64Array = field(init=False)
    impressions: int = 0
    impressions_outrage: int = 0
    impressions_false: int = 0
    impressions_cross: int = 0
    posts: int = 0
    posts_outrage: int = 0
    posts_false: int = 0
    cascades_true: list[F64Array] = field(default_factory=list)
    cascades_false: list[F64Array] = field(default_factory=list)
    consumed_people: list[IntArray] = field(default_factory=list)
    consumed_roots: list[IntArray] = field(default_factory=list)
    auc_scores: list[FloatArray] = field(default_factory=list)
    auc_labels: list[BoolArray] = field(default_factory=list)
    group_impressions: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.sessions = np.zeros(self.n_people, np.int64)
        self.active = np.zeros(self.n_people, bool)
        self.minutes = np.zeros(self.n_people)
        self.topic_counts = np.zeros((self.n_people, self.n_topics))


def tally_posts(tally: DayTally, posts: Posts, slots: IntArray, outrage_threshold: float) -> None:
    """Count original posts written this tick."""
    tally.posts += int(slots.size)
    tally.posts_outrage += int((posts.outrage[slots] >= outrage_threshold).sum())
    tally.posts_false += int(posts.is_false[slots].sum())


def tally_sessions(
    tally: DayTally,
    people: People,
    posts: Posts,
    persons: IntArray,
    feed: IntArray,
    seen: BoolArray,
    engaged: BoolArray,
    dwell_seconds: FloatArray,
    predictions: FloatArray,
    outrage_threshold: float,
    rng: np.random.Generator,
) -> None:
    """Count one tick's sessions and impressions.

    ``predictions`` are the digital model's, ``(n_sessions, feed_size, n_actions)``: a sample of
    the seen slots' probability of engaging is kept for the day's AUC. The impressions are counted
    in one compiled pass (:func:`feedlab.metrics.kernels.tally_seen`), with the same sample drawn
    from ``rng``: the tally equals :func:`tally_sessions_reference`'s bit for bit.
    """
    tally.sessions[persons] += 1
    tally.active[persons] = True
    n_seen = int(np.count_nonzero(seen))
    draws = rng.random(n_seen)
    counts, consumed_people, consumed_roots, rows, cols, labels = kernels.tally_seen(
        persons, feed, seen, engaged, dwell_seconds, draws,
        min(1.0, AUC_SAMPLE_PER_TICK / max(n_seen, 1)), people.leaning, posts.outrage,
        posts.leaning, posts.is_false, posts.topic_a, posts.root, np.float32(outrage_threshold),
        np.float32(LEANING_SIDE), tally.minutes, tally.topic_counts,
    )  # fmt: skip
    tally.impressions += n_seen
    tally.impressions_outrage += int(counts[kernels.OUTRAGE_HIGH])
    tally.impressions_false += int(counts[kernels.FALSE])
    tally.impressions_cross += int(counts[kernels.CROSS])
    tally.consumed_people.append(consumed_people.astype(persons.dtype, copy=False))
    tally.consumed_roots.append(consumed_roots)
    groups = derive_groups(counts)
    for group, member in CONTENT_GROUPS.items():
        if group not in groups:  # a group added to CONTENT_GROUPS is counted by its own pass
            groups[group] = int(member(people, posts, feed[seen], outrage_threshold).sum())
        tally.group_impressions[group] = tally.group_impressions.get(group, 0) + groups[group]
    tally.auc_scores.append(p_engage(predictions[rows, cols]))
    tally.auc_labels.append(labels)


def tally_sessions_reference(
    tally: DayTally,
    people: People,
    posts: Posts,
    persons: IntArray,
    feed: IntArray,
    seen: BoolArray,
    engaged: BoolArray,
    dwell_seconds: FloatArray,
    predictions: FloatArray,
    outrage_threshold: float,
    rng: np.random.Generator,
) -> None:
    """NumPy reference of :func:`tally_sessions` (in place): the tally's definition."""
    tally.sessions[persons] += 1
    tally.active[persons] = True
    rows, cols = np.nonzero(seen)
    who = persons[rows]
    slot = feed[rows, cols]
    tally.minutes += np.bincount(who, dwell_seconds[rows, cols] / 60.0, tally.n_people)
    tally.impressions += int(rows.size)
    tally.impressions_outrage += int((posts.outrage[slot] >= outrage_threshold).sum())
    tally.impressions_false += int(posts.is_false[slot].sum())
    tally.impressions_cross += int(((people.leaning[who] >= 0) != (posts.leaning[slot] >= 0)).sum())
    flat = who * tally.n_topics + posts.topic_a[slot]
    tally.topic_counts.reshape(-1)[:] += np.bincount(flat, minlength=tally.topic_counts.size)
    hit = engaged[rows, cols]
    tally.consumed_people.append(who[hit])
    tally.consumed_roots.append(posts.root[slot[hit]].astype(np.int64))
    for group, member in CONTENT_GROUPS.items():
        hits = int(member(people, posts, slot, outrage_threshold).sum())
        tally.group_impressions[group] = tally.group_impressions.get(group, 0) + hits
    keep = rng.random(rows.size) < min(1.0, AUC_SAMPLE_PER_TICK / max(rows.size, 1))
    tally.auc_scores.append(p_engage(predictions[rows[keep], cols[keep]]))
    tally.auc_labels.append(hit[keep])


def tally_closed_cascades(tally: DayTally, posts: Posts, tick: int, lifetime: int) -> None:
    """Record the final size of cascades whose lifetime ends at this tick.

    One compiled pass over the ring (:func:`feedlab.metrics.kernels.closing_cascade_sizes`),
    equal to :func:`closed_cascades_reference`.
    """
    false, true = kernels.closing_cascade_sizes(
        posts.id, posts.depth, posts.created, posts.cascade_size, posts.is_false, tick - lifetime
    )
    tally.cascades_false.append(false)
    tally.cascades_true.append(true)


def closed_cascades_reference(posts: Posts, tick: int, lifetime: int) -> tuple[F64Array, F64Array]:
    """NumPy reference of :func:`tally_closed_cascades`: the (false, true) sizes it records."""
    closing = (posts.id != 0) & (posts.depth == 0) & (posts.created == tick - lifetime)
    sizes = posts.cascade_size[closing].astype(np.float64)
    false = posts.is_false[closing]
    return sizes[false], sizes[~false]


def auc(scores: FloatArray, labels: BoolArray) -> float:
    """Area under the ROC curve (Mann-Whitney U with mid-ranks for ties); NaN if one class.

    A positive's mid-rank is found in the sorted scores (first and last place of its value), as
    :func:`auc_reference` assigns them from a stable argsort: the same values, summed in the same
    order, at a fraction of the sort's cost. Scores holding NaN (no two of which tie) take the
    reference's path.
    """
    n_pos = int(labels.sum())
    n_neg = labels.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    if np.isnan(scores).any():
        return auc_reference(scores, labels)
    ordered = np.sort(scores)
    positives = scores[labels]
    start = np.searchsorted(ordered, positives, side="left")
    end = np.searchsorted(ordered, positives, side="right")
    ranks = (start + end + 1) / 2.0
    return float((ranks.sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def auc_reference(scores: FloatArray, labels: BoolArray) -> float:
    """The definition of :func:`auc`: every score's mid-rank from a stable argsort."""
    n_pos = int(labels.sum())
    n_neg = labels.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(scores, kind="stable")
    ranks = np.empty(scores.size)
    sorted_scores = scores[order]
    # mid-ranks for ties
    start = np.flatnonzero(np.r_[True, sorted_scores[1:] != sorted_scores[:-1]])
    end = np.r_[start[1:], scores.size]
    mid = (start + end + 1) / 2.0
    ranks[order] = np.repeat(mid, end - start)
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def bimodality(x: FloatArray) -> float:
    """Sample bimodality coefficient (g^2 + 1) / (k + 3(n-1)^2 / ((n-2)(n-3)))."""
    n = x.size
    if n < 4:
        return float("nan")
    d = x.astype(np.float64) - x.mean()
    m2 = (d**2).mean()
    if m2 == 0:
        return float("nan")
    g = (d**3).mean() / m2**1.5 * np.sqrt(n * (n - 1)) / (n - 2)
    k_pop = (d**4).mean() / m2**2 - 3.0
    k = ((n + 1) * k_pop + 6) * (n - 1) / ((n - 2) * (n - 3))
    return float((g**2 + 1) / (k + 3 * (n - 1) ** 2 / ((n - 2) * (n - 3))))


def topic_entropy(counts: F64Array) -> F64Array:
    """Shannon entropy in bits of each row of topic counts (rows with no count are skipped)."""
    total = counts.sum(axis=1)
    # Only the non-zero counts contribute (0 log 0 = 0): most people see a few topics a day.
    rows, cols = np.nonzero(counts)
    p = counts[rows, cols] / total[rows]
    h = -np.bincount(rows, p * np.log2(p), counts.shape[0])
    return np.asarray(h[total > 0], dtype=np.float64)


def pair_jaccard(people_ids: IntArray, roots: IntArray, pairs: IntArray, n_people: int) -> float:
    """Mean Jaccard overlap of consumed sets over ``pairs`` ``(n_pairs, 2)`` with a non-empty union."""
    # Only the people of the pairs matter: the matrix is built from their engagements alone.
    member = np.zeros(n_people, bool)
    member[pairs.ravel()] = True
    keep = member[people_ids]
    people_ids, roots = people_ids[keep], roots[keep]
    if people_ids.size == 0:
        return float("nan")
    _, item = np.unique(roots, return_inverse=True)
    m = sp.csr_array(
        (np.ones(people_ids.size), (people_ids, item)), shape=(n_people, int(item.max()) + 1)
    )
    m.data[:] = 1.0
    m.sum_duplicates()
    m.data[:] = 1.0
    a, b = m[pairs[:, 0]], m[pairs[:, 1]]
    inter = np.asarray(a.multiply(b).sum(axis=1)).ravel()
    size_a = np.asarray(a.sum(axis=1)).ravel()
    size_b = np.asarray(b.sum(axis=1)).ravel()
    union = size_a + size_b - inter
    ok = union > 0
    return float((inter[ok] / union[ok]).mean()) if ok.any() else float("nan")


def close_day(
    tally: DayTally, people: People, model: PersonModel, pairs: IntArray
) -> dict[str, float]:
    """Reduce a day's tally and the end-of-day state to one value per metric."""
    n = tally.n_people
    impressions = max(tally.impressions, 1)
    posts = max(tally.posts, 1)
    false_sizes = np.concatenate(tally.cascades_false) if tally.cascades_false else np.zeros(0)
    true_sizes = np.concatenate(tally.cascades_true) if tally.cascades_true else np.zeros(0)
    logged = model.impressions > 0
    leaning_error = np.abs(model.estimated_leaning() - people.leaning)[logged]
    scores = np.concatenate(tally.auc_scores) if tally.auc_scores else np.zeros(0, np.float32)
    labels = np.concatenate(tally.auc_labels) if tally.auc_labels else np.zeros(0, bool)
    consumed_people = (
        np.concatenate(tally.consumed_people) if tally.consumed_people else np.zeros(0, np.int64)
    )
    consumed_roots = (
        np.concatenate(tally.consumed_roots) if tally.consumed_roots else np.zeros(0, np.int64)
    )
    entropy = topic_entropy(tally.topic_counts)

    def mean_or_nan(a: np.ndarray) -> float:
        return float(a.mean()) if a.size else float("nan")

    return {
        "time_spent_min": float(tally.minutes.sum() / n),
        "sessions_per_person": float(tally.sessions.sum() / n),
        "dau_share": float(tally.active.mean()),
        "impressions_per_person": tally.impressions / n,
        "impressions_outrage_share": tally.impressions_outrage / impressions,
        "posts_outrage_share": tally.posts_outrage / posts,
        "impressions_false_share": tally.impressions_false / impressions,
        "posts_false_share": tally.posts_false / posts,
        "false_cascade_mean_size": mean_or_nan(false_sizes),
        "true_cascade_mean_size": mean_or_nan(true_sizes),
        "opinion_variance": float(np.var(people.leaning.astype(np.float64))),
        "opinion_bimodality": bimodality(people.leaning),
        "opinion_extremity": float(np.abs(people.leaning).mean()),
        "affective_gap": float((people.warmth_own - people.affect_out).astype(np.float64).mean()),
        "exposure_topic_entropy": mean_or_nan(entropy),
        "cross_cutting_share": tally.impressions_cross / impressions,
        "homogenization_jaccard": pair_jaccard(consumed_people, consumed_roots, pairs, n),
        "wellbeing_mean": float(people.wellbeing.astype(np.float64).mean()),
        "wellbeing_teen_mean": mean_or_nan(people.wellbeing[people.is_teen].astype(np.float64)),
        "habit_mean": float(people.habit.astype(np.float64).mean()),
        "model_auc": auc(scores, labels),
        "leaning_inference_mae": mean_or_nan(leaning_error.astype(np.float64)),
        **{f"reach_{group}": tally.group_impressions.get(group, 0) / n for group in CONTENT_GROUPS},
    }
