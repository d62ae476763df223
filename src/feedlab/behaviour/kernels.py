"""Compiled row kernels of how people answer their feeds, beside the NumPy code that defines them.

:func:`answer_feeds` walks each session's feed top-down, as a person scrolls, and stops where the
person stops: it computes only the slots that are seen, where the NumPy statement of the response
model (:func:`feedlab.behaviour.choice.respond_reference`) computes every slot of every feed and
then masks. Its arithmetic is the reference's, in the reference's order and in float32 (each
coefficient rounded to float32 as NumPy rounds a Python float meeting a float32 array), ``exp`` is
correctly rounded on both sides (evaluated in float64), and the dice are the same counter-based
uniforms, so the responses are the reference's bit for bit;
``tests/unit/behaviour/test_behaviour_choice.py`` checks it on ragged, shifted and empty feeds. A
die is compared with a sigmoid only where a table of logits cannot tell the outcome
(:func:`_below_sigmoid`, the same outcome in every case), which spares most ``exp`` calls.

:func:`drift_people` moves everyone's opinion, affect, habit, well-being, daily minutes, outrage
expression and reward rate in one pass over people and one over the seen slots of each person's
sessions, where the NumPy statement of drift (:func:`feedlab.behaviour.drift.drift_reference`)
makes some 25 array passes and 8 ``bincount`` over everyone. It sums each person's impressions in
float64 in the order ``bincount`` does (row by row, slot by slot), keeps every intermediate in the
dtype NumPy gives it (float32 where a rate meets a float32 array, float64 where it meets a float64
one) and clips as ``np.clip`` does, so its results are the reference's bit for bit;
``tests/unit/behaviour/test_behaviour_drift.py`` checks them on ticks with and without impressions
or engagement, repeated people, teens and people at the clip bounds.
"""

from __future__ import annotations

import functools

import numba
import numpy as np

from feedlab.core.arrays import AnyArray, BoolArray, F64Array, FloatArray, IntArray
from feedlab.core.kernels import (
    PREFETCH_AHEAD,
    SLOTS_AHEAD,
    counter_step,
    counter_unit,
    prefetch,
    run_on_threads,
    thread_blocks,
)

_F0 = np.float32(0.0)
_F1 = np.float32(1.0)


@numba.njit(cache=True, inline="always")
def _exp32(x: np.float32) -> np.float32:
    """``exp`` correctly rounded to float32 (evaluated in float64), as the reference does."""
    return np.float32(np.exp(np.float64(x)))


@numba.njit(cache=True, inline="always")
def _sigmoid32(x: np.float32) -> np.float32:
    return np.float32(_F1 / (_F1 + _exp32(-x)))


_BUCKETS = 64
_MARGIN = 1e-3
_EDGES = np.arange(_BUCKETS + 1, dtype=np.float64) / _BUCKETS
with np.errstate(divide="ignore"):
    _LOGIT_EDGES = np.log(_EDGES) - np.log1p(-_EDGES)  # -inf at 0, +inf at 1
_SURELY_NOT = (_LOGIT_EDGES[:-1] - _MARGIN).astype(np.float32)
_SURELY = (_LOGIT_EDGES[1:] + _MARGIN).astype(np.float32)
"""Log-odds below which a die in bucket ``b`` (``[b/64, (b+1)/64)``) surely beats the sigmoid,
and above which it surely does not: the logit of the bucket's edges, widened by ``_MARGIN``. At
that distance the sigmoid differs from the edge by at least 1.5e-5, about a hundred times its
float32 rounding, so the comparison's outcome is known without computing it."""


@numba.njit(cache=True, inline="always")
def _below_sigmoid(die: np.float32, z: np.float32) -> bool:
    """``die < _sigmoid32(z)`` for a die in [0, 1), computing the sigmoid only when needed.

    Most dice fall far from the sigmoid: a table of logits of 64 buckets of the die decides
    them (:data:`_SURELY_NOT`, :data:`_SURELY`); only a die in the sigmoid's own bucket, about
    one in sixty, takes the ``exp``. The outcome equals the direct comparison's in every case
    (NaN logits fall through to it).
    """
    b = np.int64(die * np.float32(_BUCKETS))
    if z < _SURELY_NOT[b]:
        return False
    if z > _SURELY[b]:
        return True
    return bool(die < _sigmoid32(z))


@numba.njit(cache=True, inline="always")
def _weibull32(v: np.float32, inv_shape: np.float32, mean: np.float32) -> np.float32:
    """A unit-mean Weibull draw from the die ``v``, its power evaluated in float64.

    As the reference does, so neither depends on which SIMD code NumPy picks for float32.
    """
    return np.float32((-np.log1p(-np.float64(v))) ** np.float64(inv_shape)) / mean


# Positions in the coefficient vector built by :func:`feedlab.behaviour.choice.respond`.
(CLICK_BASE, INTEREST, AROUSAL, NOVELTY, QUALITY, LIKE_BASE, AGREEMENT, AROUSAL_HALF,
 SHARE_BASE, INTEREST_SHARE, HOSTILITY, CREDULITY, REPLY_BASE, INTEREST_REPLY, HOSTILITY_REPLY,
 HIDE_BASE, DISAGREEMENT_HIDE, FOLLOW_BASE, DWELL, READ, GLANCE_MATCH, GLANCE_AROUSAL,
 GLANCE_QUALITY, READ_QUALITY, READ_MATCH, VALUE_AROUSAL, VALUE_NOVELTY, VALUE_QUALITY,
 INV_SHAPE, WEIBULL_MEAN, DOUBT, VALUE_PIVOT, STOP_BASE, STOP_VALUE, STOP_OVER_BUDGET,
 STOP_HABIT, MINUTE, N_COEF) = range(38)  # fmt: skip


@numba.njit(cache=True, nogil=True)
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
    lo: int,
    hi: int,
) -> None:
    """Answer feeds ``[lo, hi)`` slot by slot until each person stops, into their output rows.

    Writes the rows ``[lo, hi)`` of ``seen``, ``acts`` and ``dwell`` only.

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
        lo: the first session to answer.
        hi: one past the last.
    """
    leaning, susceptibility, seeking_of, credulity, habit, budget, minutes_today = person_columns
    post_leaning, outrage, novelty, quality, topic_weight = post_columns
    topic_a, topic_b = topics
    k = feed.shape[1]
    shifted = shift.shape[0] > 0
    below_one = np.float32(np.nextafter(np.float32(1.0), np.float32(0.0)))
    c = coef
    dice = np.empty(9, np.float32)
    logit = np.empty(6, np.float32)
    for i in range(lo, hi):
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
                acts[a, i, j] = _below_sigmoid(dice[a], z)
            glance = np.float32(
                c[DWELL]
                * _exp32(c[GLANCE_MATCH] * m + c[GLANCE_AROUSAL] * arousal + c[GLANCE_QUALITY] * q)
            )
            glance = np.float32(glance * _weibull32(dice[6], c[INV_SHAPE], c[WEIBULL_MEAN]))
            d = glance
            if acts[0, i, j]:  # reading time only after a click (the reference computes it always)
                read = np.float32(c[READ] * _exp32(c[READ_QUALITY] * q + c[READ_MATCH] * m))
                read = np.float32(read * _weibull32(dice[7], c[INV_SHAPE], c[WEIBULL_MEAN]))
                d = np.float32(glance + read)
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
            if _below_sigmoid(dice[8], stop_logit):
                break


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
    """:func:`answer_feeds` of every session, in blocks of sessions on the kernel threads.

    A session's dice depend on the person and the slot, never on the row, so every session is
    answered as on one thread.
    """
    arguments = (
        key, persons, feed, shift, coef, person_columns, interest, post_columns, topics,
        is_false, seen, acts, dwell,
    )  # fmt: skip
    run_on_threads(
        [
            functools.partial(answer_feeds, *arguments, lo, hi)
            for lo, hi in thread_blocks(persons.size)
        ]
    )


# Positions in the rate vector built by :func:`feedlab.behaviour.drift.drift`, float64. The rates
# that meet a float32 array in the reference (ASSIMILATION, REPULSION, CONFIDENCE, HOSTILE_AFFECT,
# and HABIT_DECAY and WELLBEING_RECOVERY per tick) hold their float32 rounding and are used as
# float32.
(ASSIMILATION, REPULSION, CONFIDENCE, HOSTILE_AFFECT, CONTACT_AFFECT, HABIT_REWARD,
 HABIT_ENGAGEMENT, HABIT_DECAY, WELLBEING_APPROVAL, WELLBEING_COMPARISON, WELLBEING_OVERUSE,
 WELLBEING_OUTRAGE, WELLBEING_RECOVERY, INTEREST_DRIFT, OUTRAGE_LEARNING, REWARD_MEMORY,
 N_RATES) = range(17)  # fmt: skip

_HALF = np.float32(0.5)
_MINUTE = np.float32(60.0)


@numba.njit(cache=True, inline="always")
def _clip(v: float, lo: float, hi: float) -> float:
    """``np.clip`` of one float64: NaN passes through, a value equal to a bound gives the bound."""
    if np.isnan(v):
        return v
    v = v if v > lo else lo
    return v if v < hi else hi


@numba.njit(cache=True)
def _session_chains(persons: IntArray, n_people: int) -> tuple[IntArray, IntArray]:
    """Link each session row to the same person's next row; list each person's first row.

    Returns ``(after, heads)``: ``after[i]`` is the next row of ``persons[i]`` (-1 = none) and
    ``heads`` the first row of each person in session, in ascending order of person. Strictly
    increasing ``persons`` (the engine's sessions) need no table; otherwise two ``(n_people,)``
    tables (each person's last and first row) find the repeats and the heads.
    """
    n = persons.size
    after = np.full(n, -1, np.int64)
    increasing = True
    for i in range(1, n):
        if persons[i] <= persons[i - 1]:
            increasing = False
            break
    if increasing:
        return after, np.arange(n)
    last = np.full(n_people, -1, np.int64)
    first = np.full(n_people, -1, np.int64)
    for i in range(n):
        p = persons[i]
        if last[p] >= 0:
            after[last[p]] = i
        else:
            first[p] = i
        last[p] = i
    heads = first[first >= 0]  # in ascending order of person, without a sort
    return after, heads


@numba.njit(cache=True)
def drift_people(
    persons: IntArray,
    feed: IntArray,
    seen: BoolArray,
    engaged: BoolArray,
    dwell: FloatArray,
    person_columns: tuple[FloatArray, ...],
    is_teen: BoolArray,
    approval: tuple[F64Array, F64Array],
    liked: tuple[IntArray, F64Array],
    post_columns: tuple[FloatArray, FloatArray, FloatArray],
    post_ints: tuple[IntArray, IntArray],
    rates: F64Array,
    interest: FloatArray,
    out: tuple[FloatArray, ...],
) -> None:
    """Drift everyone by one tick, writing ``out`` and the engaged people's rows of ``interest``.

    First, for each person in session, the slots they saw are summed over all their sessions in
    row order (the order ``np.bincount`` adds them in) and their row of ``interest`` moves toward
    the topics they engaged with; then every person's state is moved, with those sums or none.

    Args:
        persons: who was in each session, ``(n,)`` int64.
        feed: post slots shown, ``(n, k)`` int64.
        seen: which slots were seen, ``(n, k)`` bool.
        engaged: which slots got a click, like, share or reply, ``(n, k)`` bool.
        dwell: seconds on each slot, ``(n, k)`` float32.
        person_columns: leaning, affect toward the other side, outrage susceptibility, approval
            need, habit, habit baseline, well-being, well-being baseline, time budget, minutes
            today, outrage expression and reward rate, each ``(n_people,)`` float32.
        is_teen: ``(n_people,)`` bool.
        approval: likes received and their outrage sum, each ``(n_people,)`` float64.
        liked: the people who received likes, ascending, and ``log1p`` of their likes (NumPy's,
            as the reference's), ``(n_liked,)`` int64 and float64.
        post_columns: the ring's leaning, outrage and quality, each ``(capacity,)`` float32.
        post_ints: the ring's root author and main topic, each ``(capacity,)`` int32.
        rates: the drift rates, in the order of this module's positions.
        interest: true interests, ``(n_people, n_topics)`` float32, updated in place.
        out: leaning, affect, habit, well-being, minutes today, outrage expression and reward
            rate after the tick, each ``(n_people,)`` float32, written for everyone.
    """
    leaning, affect, susceptibility, need_of, habit, habit_baseline = person_columns[:6]
    wellbeing, wellbeing_baseline, budget_of, minutes_today, expression, reward_rate = (
        person_columns[6:]
    )
    likes_of, outrage_likes = approval
    liked_people, liked_values = liked
    post_leaning, outrage, quality = post_columns
    root_author, topic_a = post_ints
    leaning_out, affect_out, habit_out, wellbeing_out, minutes_out, expression_out, reward_out = out
    r = rates
    assimilation = np.float32(r[ASSIMILATION])
    repulsion = np.float32(r[REPULSION])
    confidence = np.float32(r[CONFIDENCE])
    hostile_affect = -np.float32(r[HOSTILE_AFFECT])
    contact_affect = r[CONTACT_AFFECT]
    habit_decay = np.float32(r[HABIT_DECAY])
    recovery_rate = np.float32(r[WELLBEING_RECOVERY])
    n_people, n_topics = interest.shape
    k = feed.shape[1]

    # 1. Each person in session: sums over the slots they saw; interest moves toward engagement.
    after, heads = _session_chains(persons, n_people)
    sums = np.zeros((heads.size, 5), np.float64)  # leaning, affect, minutes, comparison, outrage
    engagements = np.zeros(heads.size, np.int64)
    counts = np.zeros(n_topics, np.int64)
    block = np.empty(n_topics, np.float64)
    for h in range(heads.size):
        w = persons[heads[h]]
        x = leaning[w]
        sus = susceptibility[w]
        teen = 2.0 if is_teen[w] else 1.0  # 1.0 + is_teen
        leaning_step = affect_step = minutes = comparison = outrage_seen = 0.0
        engaged_slots = 0
        counts[:] = 0
        row = heads[h]
        if h + 1 < heads.size:  # the next person's columns
            nxt = persons[heads[h + 1]]
            prefetch(leaning, nxt)
            prefetch(susceptibility, nxt)
            prefetch(is_teen, nxt)
            prefetch(interest, nxt)
        while row >= 0:
            for j in range(k):
                if j + SLOTS_AHEAD < k and feed[row, j + SLOTS_AHEAD] >= 0:
                    ahead = feed[row, j + SLOTS_AHEAD]
                    prefetch(post_leaning, ahead)
                    prefetch(outrage, ahead)
                    prefetch(quality, ahead)
                    prefetch(root_author, ahead)
                    prefetch(topic_a, ahead)
                s = feed[row, j]
                if seen[row, j]:
                    y = post_leaning[s]
                    o = outrage[s]
                    cross = (x >= _F0) != (y >= _F0)
                    d = np.float32(y - x)
                    near = abs(d) < confidence
                    hostile = cross & (o >= _HALF)
                    # Masks multiply (by 0 or 1) where the reference selects: branches on these
                    # unpredictable outcomes took twice as long. For finite posts and people the
                    # products are finite, and a -0.0 in place of a 0.0 leaves a sum that starts
                    # at +0.0 as it is.
                    pull = np.float32(assimilation * d) * np.float32(near)
                    push = np.float32(np.float32(repulsion * d) * o) * np.float32(hostile & ~near)
                    leaning_step += np.float64(np.float32(pull - push))
                    animosity = np.float32(hostile_affect * o) * np.float32(hostile)
                    contact = contact_affect * np.float64(cross & ~hostile)
                    affect_step += np.float64(animosity) + contact
                    minutes += np.float64(np.float32(dwell[row, j] / _MINUTE))
                    upward = (quality[s] > 0.75) & (root_author[s] != w)
                    comparison += teen * np.float64(upward)
                    outrage_seen += np.float64(np.float32(o * sus))
                    e = engaged[row, j]
                    engaged_slots += e
                    counts[topic_a[s]] += e
                elif engaged[row, j]:  # counted, as in the reference (responses have none)
                    engaged_slots += 1
                    counts[topic_a[s]] += 1
            row = after[row]
        sums[h, 0] = leaning_step
        sums[h, 1] = affect_step
        sums[h, 2] = minutes
        sums[h, 3] = comparison
        sums[h, 4] = outrage_seen
        engagements[h] = engaged_slots
        if engaged_slots:
            top = -np.inf
            for t in range(n_topics):
                b = np.float64(interest[w, t]) + r[INTEREST_DRIFT] * np.float64(counts[t])
                block[t] = b
                top = b if b > top else top
            for t in range(n_topics):
                interest[w, t] = np.float32(block[t] / top)

    # 2. Everyone: opinion, affect, habit, well-being, minutes, outrage expression, reward rate.
    h = 0
    q = 0
    for p in range(n_people):
        leaning_step = affect_step = minutes = comparison = outrage_seen = 0.0
        engaged_slots = 0
        if h < heads.size and persons[heads[h]] == p:
            leaning_step, affect_step, minutes = sums[h, 0], sums[h, 1], sums[h, 2]
            comparison, outrage_seen = sums[h, 3], sums[h, 4]
            engaged_slots = engagements[h]
            h += 1
        lk = 0.0  # log(1 + likes received)
        if q < liked_people.size and liked_people[q] == p:
            lk = liked_values[q]
            q += 1
        leaning_out[p] = np.float32(_clip(np.float64(leaning[p]) + leaning_step, -1.0, 1.0))
        affect_out[p] = np.float32(_clip(np.float64(affect[p]) + affect_step, 0.0, 100.0))

        need = np.float64(need_of[p])
        hab = habit[p]
        decay = np.float32(habit_decay * np.float32(hab - habit_baseline[p]))
        gain = r[HABIT_REWARD] * lk * need + r[HABIT_ENGAGEMENT] * np.float64(engaged_slots)
        habit_out[p] = np.float32(_clip(np.float64(hab) + (gain - np.float64(decay)), 0.0, 1.0))

        before = minutes_today[p]
        today = np.float64(before) + minutes
        budget = budget_of[p]
        gap_before = np.float32(before - budget)
        over_before = _F0 if gap_before <= _F0 else gap_before  # np.maximum(0.0, gap)
        gap_after = today - np.float64(budget)
        over_after = 0.0 if gap_after <= 0.0 else gap_after
        wb = wellbeing[p]
        recovery = np.float32(recovery_rate * np.float32(wellbeing_baseline[p] - wb))
        change = (
            r[WELLBEING_APPROVAL] * lk * need
            - r[WELLBEING_COMPARISON] * comparison
            - r[WELLBEING_OVERUSE] * (over_after - np.float64(over_before)) / 60.0
            - r[WELLBEING_OUTRAGE] * outrage_seen
            + np.float64(recovery)
        )
        wellbeing_out[p] = np.float32(_clip(np.float64(wb) + change, 0.0, 1.0))
        minutes_out[p] = np.float32(today)

        likes = likes_of[p]
        learned = r[OUTRAGE_LEARNING] * outrage_likes[p] / (1.0 + likes)
        expression_out[p] = np.float32(_clip(np.float64(expression[p]) + learned, 0.0, 1.0))
        rate = np.float64(reward_rate[p])
        reward_out[p] = np.float32(rate + r[REWARD_MEMORY] * (likes - rate))


@numba.njit(cache=True)
def count_live_views(
    seen: BoolArray, feed: IntArray, post_id: AnyArray, root: AnyArray, views: AnyArray
) -> None:
    """Add one view to the cascade root of every seen slot whose root is still in the ring.

    ``feed`` holds ring slots ``(n, k)``, ``seen`` which were seen; a root id's slot is
    ``id & (capacity - 1)`` and it is live when that slot still holds it. Integer counts: the
    order of the additions does not matter, and the result is
    ``np.add.at(views, live_root_slots, 1)``'s.
    """
    n, k = seen.shape
    mask = np.uint32(views.shape[0] - 1)
    for i in range(n):
        for j in range(k):
            if seen[i, j]:
                r = root[feed[i, j]]
                q = np.int64(r & mask)
                if post_id[q] == r:
                    views[q] += 1


@numba.njit(cache=True)
def social_proof_boosts(
    feed: IntArray,
    root: AnyArray,
    capacity: int,
    root_likes: AnyArray,
    like: int,
    weight: float,
    shift: FloatArray,
) -> None:
    """Write each shown slot's social-proof boost into the click and like channels of ``shift``.

    ``feed`` holds ring slots ``(n, k)`` (``-1`` empty, left at 0); a post displays the likes
    logged on its cascade root, ``root_likes[root[s] & (capacity - 1), like]`` (float32);
    ``shift`` is ``(n, k, 6)`` float32, zero on entry. The boost is
    :func:`~feedlab.behaviour.social_proof.social_proof_shift`'s, in its steps (``weight``
    rounded to float32 times the float64 ``log10`` of the float32 ``1 + max(likes, 0)``, rounded
    to float32), computed only where a post is shown, and not at all for the third or so of them
    with no likes (a boost of 0).
    """
    mask = np.uint32(capacity - 1)
    w = np.float32(weight)
    one = np.float32(1.0)
    flat = feed.reshape(-1)
    out = shift.reshape(flat.size, shift.shape[2])
    ahead, half = PREFETCH_AHEAD, PREFETCH_AHEAD // 2
    for f in range(flat.size):
        if f + ahead < flat.size and flat[f + ahead] >= 0:  # the root column now, its likes later
            prefetch(root, flat[f + ahead])
        if f + half < flat.size and flat[f + half] >= 0:
            prefetch(root_likes, np.int64(root[flat[f + half]] & mask))
        s = flat[f]
        if s >= 0:
            likes = root_likes[np.int64(root[s] & mask), like]
            if likes > 0 or likes != likes:  # NaN propagates, as through np.maximum
                boost = np.float32(np.float64(w) * np.log10(np.float64(one + likes)))
                out[f, 0] = boost
                out[f, 1] = boost
