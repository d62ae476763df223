"""Measures of what a recommender showed sock-puppet accounts, and amplification ratios.

Per group of puppets and audit step (Haroon et al. 2023 measure the same quantities of the
recommendations their puppets receive):

* ``leaning``: mean true leaning of the recommended posts, in [-1, 1];
* ``toward_side``: the same, signed so that positive is the persona's own side;
* ``extremity``: mean absolute leaning;
* ``false_share`` and ``outrage_share``: share of recommended posts that are false, and whose
  outrage reaches the world's outrage threshold;
* ``topic_diversity``: mean over feeds of the Shannon entropy of the main topics recommended,
  divided by log(n_topics) (0: one topic, 1: all topics equally);
* ``feed_size``: posts recommended per feed.

Amplification follows Huszár et al. (2022), *PNAS* 119(1) e2025334119: the exposure of a set of
posts (impressions per puppet session) under the audited recommender divided by its exposure under
the control, minus one (0: no amplification; 1: twice the exposure).
"""

from __future__ import annotations

import numpy as np

from feedlab.core.arrays import IntArray
from feedlab.world.posts import Posts

FEED_MEASURES = (
    "leaning",
    "toward_side",
    "extremity",
    "false_share",
    "outrage_share",
    "topic_diversity",
    "feed_size",
)
"""Measures of the recommended feeds, one value per (group, step)."""

CONTENT_SETS = ("left", "right", "extreme", "false", "outrage")
"""Sets of posts whose amplification is reported."""


def feed_measures(
    posts: Posts,
    feed: IntArray,
    sign: float,
    n_topics: int,
    outrage_threshold: float,
    extreme: float,
) -> dict[str, float]:
    """Measures of one group's feeds at one step, and its exposure to each content set.

    Args:
        posts: the live posts (ground truth).
        feed: slots shown to the group's puppets, ``(n_puppets, feed_size)``, ``-1`` empty.
        sign: +1 if the persona's side is the right, -1 if the left.
        n_topics: number of topics.
        outrage_threshold: outrage at which a post counts as outrageous.
        extreme: absolute leaning at which a post counts as extreme.

    Returns:
        :data:`FEED_MEASURES` and ``exposure.<set>`` (impressions per puppet) for each of
        :data:`CONTENT_SETS`; measures of empty feeds are NaN.
    """
    shown = feed >= 0
    slot = feed[shown]
    n_feeds = feed.shape[0]
    lean = posts.leaning[slot].astype(np.float64)
    n = slot.size
    out: dict[str, float] = {}
    mean = (lambda a: float(np.mean(a))) if n else (lambda a: float("nan"))
    out["leaning"] = mean(lean)
    out["toward_side"] = mean(lean * sign)
    out["extremity"] = mean(np.abs(lean))
    out["false_share"] = mean(posts.is_false[slot])
    outrageous = posts.outrage[slot] >= outrage_threshold
    out["outrage_share"] = mean(outrageous)
    out["topic_diversity"] = _topic_diversity(posts, feed, n_topics)
    out["feed_size"] = n / n_feeds if n_feeds else float("nan")
    sets = {
        "left": lean < 0,
        "right": lean >= 0,
        "extreme": np.abs(lean) >= extreme,
        "false": posts.is_false[slot],
        "outrage": outrageous,
    }
    for name in CONTENT_SETS:
        out[f"exposure.{name}"] = float(sets[name].sum()) / n_feeds if n_feeds else float("nan")
    return out


def _topic_diversity(posts: Posts, feed: IntArray, n_topics: int) -> float:
    """Mean normalized entropy of the main topics of each non-empty feed."""
    shown = feed >= 0
    rows = np.flatnonzero(shown.any(axis=1))
    if rows.size == 0:
        return float("nan")
    topics = np.where(shown, posts.topic_a[np.maximum(feed, 0)], n_topics)[rows]
    counts = np.zeros((rows.size, n_topics + 1))
    np.add.at(counts, (np.repeat(np.arange(rows.size), topics.shape[1]), topics.ravel()), 1.0)
    counts = counts[:, :n_topics]
    p = counts / counts.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        entropy = -np.where(p > 0, p * np.log(p), 0.0).sum(axis=1)
    return float(np.mean(entropy) / np.log(n_topics))


def amplification(audited_exposure: float, control_exposure: float) -> float:
    """Huszár et al. (2022) amplification ratio: exposure under the audited ranker over the control, minus 1.

    NaN when the control shows none of the set (the ratio is undefined).
    """
    if not control_exposure > 0:
        return float("nan")
    return audited_exposure / control_exposure - 1.0


def forgetting_steps(toward: np.ndarray, neutral: np.ndarray, switch_step: int) -> float:
    """Steps after ``switch_step`` until a partisan history is half forgotten.

    The excess lean toward the persona's side over a neutral persona's, averaged over the three
    steps before the switch, is the starting gap; the result is the first step (counted from the
    switch) at which the gap has fallen to half of it. NaN if there was no gap, or it never halved
    within the audit. After Hosseinmardi et al. (2024), who report how many videos it takes the
    recommender to forget a partisan history.

    Args:
        toward: the persona's ``toward_side`` by step.
        neutral: a neutral persona's ``toward_side`` by step, under the same recommender.
        switch_step: the step at which the persona turned neutral.
    """
    gap = np.asarray(toward, np.float64) - np.asarray(neutral, np.float64)
    if switch_step < 1 or switch_step >= gap.size:
        return float("nan")
    start = float(np.nanmean(gap[max(0, switch_step - 3) : switch_step]))
    if not start > 0:
        return float("nan")
    after = gap[switch_step:]
    below = np.flatnonzero(after <= start / 2)
    return float(below[0]) if below.size else float("nan")
