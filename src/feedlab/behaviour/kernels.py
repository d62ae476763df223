"""Compiled row kernels of how people answer their feeds, beside the NumPy code that defines them.

:func:`answer_feeds` walks each session's feed top-down, as a person scrolls, and stops where the
person stops: it computes only the slots that are seen, where the NumPy statement of the response
model (:func:`feedlab.behaviour.choice.respond_reference`) computes every slot of every feed and
then masks. Its arithmetic is the reference's, in the reference's order and in float32 (each
coefficient rounded to float32 as NumPy rounds a Python float meeting a float32 array), ``exp`` is
correctly rounded on both sides (evaluated in float64), and the dice are the same counter-based
uniforms, so the responses are the reference's bit for bit;
``tests/unit/behaviour/test_behaviour_choice.py`` checks it on ragged, shifted and empty feeds.
"""

from __future__ import annotations

import numba
import numpy as np

from feedlab.core.arrays import BoolArray, FloatArray, IntArray
from feedlab.core.kernels import chunk_bounds, counter_step, counter_unit, n_chunks_for

_F0 = np.float32(0.0)
_F1 = np.float32(1.0)


@numba.njit(cache=True, inline="always")
def _exp32(x: np.float32) -> np.float32:
    """``exp`` correctly rounded to float32 (evaluated in float64), as the reference does."""
    return np.float32(np.exp(np.float64(x)))


@numba.njit(cache=True, inline="always")
def _sigmoid32(x: np.float32) -> np.float32:
    return np.float32(_F1 / (_F1 + _exp32(-x)))


@numba.njit(cache=True, inline="always")
def _weibull32(v: np.float32, inv_shape: np.float32, mean: np.float32) -> np.float32:
    return np.float32(np.float32(-np.log1p(-v)) ** inv_shape) / mean


# Positions in the coefficient vector built by :func:`feedlab.behaviour.choice.respond`.
(CLICK_BASE, INTEREST, AROUSAL, NOVELTY, QUALITY, LIKE_BASE, AGREEMENT, AROUSAL_HALF,
 SHARE_BASE, INTEREST_SHARE, HOSTILITY, CREDULITY, REPLY_BASE, INTEREST_REPLY, HOSTILITY_REPLY,
 HIDE_BASE, DISAGREEMENT_HIDE, FOLLOW_BASE, DWELL, READ, GLANCE_MATCH, GLANCE_AROUSAL,
 GLANCE_QUALITY, READ_QUALITY, READ_MATCH, VALUE_AROUSAL, VALUE_NOVELTY, VALUE_QUALITY,
 INV_SHAPE, WEIBULL_MEAN, DOUBT, VALUE_PIVOT, STOP_BASE, STOP_VALUE, STOP_OVER_BUDGET,
 STOP_HABIT, MINUTE, N_COEF) = range(38)  # fmt: skip


@numba.njit(cache=True)
def answer_feeds(
    key: np.uint64,
    persons: IntArray,
    feed: IntArray,
    shift: FloatArray,
    coef: FloatArray,
    person_columns: tuple[FloatArray, ...],
    interest: FloatArray,
    post_columns: tuple[FloatArray, ...],
    topics: tuple[IntArray, IntArray],
    is_false: BoolArray,
    seen: BoolArray,
    acts: BoolArray,
    dwell: FloatArray,
) -> None:
    """Answer feeds slot by slot until each person stops, writing ``seen``, ``acts``, ``dwell``.

    Args:
        key: the counter key of ``people.choice`` at this tick (``Streams.counter_key``).
        persons: who is in each session, ``(n,)`` int64.
        feed: post slots shown, ``(n, k)`` int64, ``-1`` = empty (ends the session).
        shift: log-odds added to the six actions, ``(n, k, 6)`` float32, or ``(0, 0, 6)``.
        coef: the response coefficients, float32, in the order of this module's positions.
        person_columns: leaning, outrage susceptibility, novelty seeking, credulity, habit,
            time budget and minutes today, each ``(n_people,)`` float32.
        interest: true interests, ``(n_people, n_topics)`` float32.
        post_columns: leaning, outrage, novelty, quality and topic weight of the post ring,
            each ``(capacity,)`` float32.
        topics: the ring's main and second topics, ``(capacity,)`` int32 each.
        is_false: the ring's veracity, ``(capacity,)`` bool.
        seen: output, ``(n, k)`` bool, all False on entry.
        acts: output, ``(6, n, k)`` bool, all False on entry; set only at seen slots.
        dwell: output, ``(n, k)`` float32, all 0 on entry; set only at seen slots.
    """
    leaning, susceptibility, seeking_of, credulity, habit, budget, minutes_today = person_columns
    post_leaning, outrage, novelty, quality, topic_weight = post_columns
    topic_a, topic_b = topics
    n, k = feed.shape
    shifted = shift.shape[0] > 0
    below_one = np.float32(np.nextafter(np.float32(1.0), np.float32(0.0)))
    c = coef
    dice = np.empty(9, np.float32)
    logit = np.empty(6, np.float32)
    for i in range(n):
        p = persons[i]
        h_i = counter_step(key, np.uint64(p))
        x = leaning[p]
        sus = susceptibility[p]
        seeking = seeking_of[p]
        doubt = np.float32(credulity[p] - c[DOUBT])
        hab = habit[p]
        bud = budget[p]
        before_today = minutes_today[p]
        running = _F0
        for j in range(k):
            s = feed[i, j]
            if s < 0:  # an empty slot ends the session
                break
            h_ij = counter_step(h_i, np.uint64(j))
            for ch in range(9):
                u = np.float32(counter_unit(counter_step(h_ij, np.uint64(ch))))
                dice[ch] = min(u, below_one)
            w = topic_weight[s]
            m = np.float32(w * interest[p, topic_a[s]]) + np.float32(
                (_F1 - w) * interest[p, topic_b[s]]
            )
            y = post_leaning[s]
            agree = _F1 - abs(np.float32(x - y))
            arousal = np.float32(outrage[s] * sus)
            hostile = arousal if (x >= _F0) != (y >= _F0) else _F0
            nov = np.float32(novelty[s] * seeking)
            q = quality[s]
            falsity = doubt if is_false[s] else _F0
            logit[0] = (
                c[CLICK_BASE] + c[INTEREST] * m + c[AROUSAL] * arousal + c[NOVELTY] * nov
                + c[QUALITY] * q
            )  # fmt: skip
            logit[1] = (
                c[LIKE_BASE] + c[INTEREST] * m + c[AGREEMENT] * agree
                + c[AROUSAL_HALF] * (arousal - hostile) + c[QUALITY] * q
            )  # fmt: skip
            logit[2] = (
                c[SHARE_BASE] + c[INTEREST_SHARE] * m + c[AGREEMENT] * agree
                + c[AROUSAL] * arousal + c[HOSTILITY] * hostile + c[NOVELTY] * nov
                + c[CREDULITY] * falsity
            )  # fmt: skip
            logit[3] = (
                c[REPLY_BASE] + c[INTEREST_REPLY] * m + c[AROUSAL] * arousal
                + c[HOSTILITY_REPLY] * hostile
            )  # fmt: skip
            logit[4] = (
                c[HIDE_BASE] + c[DISAGREEMENT_HIDE] * max(-agree, _F0) * (_F1 - arousal)
                + (_F1 - m) + (_F1 - q)
            )  # fmt: skip
            logit[5] = c[FOLLOW_BASE] + c[INTEREST] * m + c[AGREEMENT] * agree
            for a in range(6):
                z = logit[a] + shift[i, j, a] if shifted else logit[a]
                acts[a, i, j] = dice[a] < _sigmoid32(z)
            glance = np.float32(
                c[DWELL]
                * _exp32(c[GLANCE_MATCH] * m + c[GLANCE_AROUSAL] * arousal + c[GLANCE_QUALITY] * q)
            )
            glance = np.float32(glance * _weibull32(dice[6], c[INV_SHAPE], c[WEIBULL_MEAN]))
            read = np.float32(c[READ] * _exp32(c[READ_QUALITY] * q + c[READ_MATCH] * m))
            read = np.float32(read * _weibull32(dice[7], c[INV_SHAPE], c[WEIBULL_MEAN]))
            d = np.float32(glance + read) if acts[0, i, j] else glance
            value = m + c[VALUE_AROUSAL] * arousal + c[VALUE_NOVELTY] * nov + c[VALUE_QUALITY] * q
            running = np.float32(running + d)
            minutes_before = before_today + np.float32(running - d) / c[MINUTE]
            over = max(_F0, np.float32(minutes_before / bud) - _F1)
            stop_logit = (
                c[STOP_BASE] - c[STOP_VALUE] * (value - c[VALUE_PIVOT])
                + c[STOP_OVER_BUDGET] * over * (_F1 - hab) - c[STOP_HABIT] * hab
            )  # fmt: skip
            if acts[4, i, j]:  # the reference adds 1.5 x hide in float64, then rounds
                stop_logit = np.float32(np.float64(stop_logit) + 1.5)
            seen[i, j] = True
            dwell[i, j] = d
            if dice[8] < _sigmoid32(stop_logit):
                break


@numba.njit(cache=True, parallel=True)
def answer_feeds_threaded(
    key: np.uint64,
    persons: IntArray,
    feed: IntArray,
    shift: FloatArray,
    coef: FloatArray,
    person_columns: tuple[FloatArray, ...],
    interest: FloatArray,
    post_columns: tuple[FloatArray, ...],
    topics: tuple[IntArray, IntArray],
    is_false: BoolArray,
    seen: BoolArray,
    acts: BoolArray,
    dwell: FloatArray,
) -> None:
    """:func:`answer_feeds` on the process's kernel threads, chunk by chunk of sessions.

    A session's dice depend on the person and the slot, never on the row, so every session is
    answered as on one thread.
    """
    n = persons.size
    n_chunks = n_chunks_for(n)
    shifted = shift.shape[0] > 0
    for chunk in numba.prange(n_chunks):
        lo, hi = chunk_bounds(chunk, n_chunks, n)
        answer_feeds(
            key, persons[lo:hi], feed[lo:hi], shift[lo:hi] if shifted else shift, coef,
            person_columns, interest, post_columns, topics, is_false, seen[lo:hi],
            acts[:, lo:hi], dwell[lo:hi],
        )  # fmt: skip
