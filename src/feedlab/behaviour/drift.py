"""How people change with what they see and receive: opinion, affect, habit, well-being, taste.

* Opinion: bounded confidence with repulsion. A post within ``confidence`` of a person's leaning
  pulls them a little toward it (Deffuant et al. 2000; Hegselmann & Krause 2002); a distant,
  outrageous post from the other side pushes them away (the backfire term of Jager & Amblard 2005;
  Bail et al. 2018 found exposure to the other side can polarize).
* Affect toward the other side falls with exposure to out-group animosity and rises slowly with
  calm cross-cutting contact (Piccardi et al. 2024: reranking hostile posts moved out-party
  feeling by about 2 points in 10 days).
* Habit grows with variable social reward - likes received, weighted by need for approval - and
  with rewarding impressions, and decays toward its baseline (Allcott et al. 2022; Lindström et al.
  2021).
* Well-being rises with approval received and falls with upward social comparison (stronger for
  teens), time past the day's budget and outrage exposure, relaxing toward baseline (Haidt-style
  mechanisms; effect sizes kept small per Orben & Przybylski 2019).
* Interest drifts toward the topics a person engages with (the rabbit hole's slow pull).
* Outrage expression grows when outrageous posts earn more likes than calm ones (Brady et al.
  2021, *Sci. Adv.*: social reinforcement of outrage).

:func:`drift` computes all of it in compiled passes; :func:`drift_reference` states it in NumPy
and is the definition the compiled passes are tested against.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from pydantic import Field

from feedlab.behaviour import kernels as bk
from feedlab.core.arrays import F64Array, FloatArray, IntArray
from feedlab.core.params import Params
from feedlab.world.people import People
from feedlab.world.posts import Posts


class DriftParams(Params):
    """Rates of change per impression or per tick.

    Attributes:
        confidence: bounded-confidence radius on the leaning scale [-1, 1].
        assimilation: pull toward a post within the radius, per impression.
        repulsion: push from a distant outrageous post of the other side, per impression.
        hostile_affect: thermometer points lost per out-group animosity impression.
        contact_affect: thermometer points gained per calm cross-cutting impression.
        habit_reward: habit gained per log(1 + likes received) x approval need.
        habit_engagement: habit gained per rewarding impression.
        habit_decay: share of the gap to baseline habit closed per day.
        wellbeing_approval: well-being gained per log(1 + likes received) x approval need.
        wellbeing_comparison: well-being lost per upward-comparison impression (x2 for teens).
        wellbeing_overuse: well-being lost per hour spent past the day's budget.
        wellbeing_outrage: well-being lost per unit of outrage x susceptibility seen.
        wellbeing_recovery: share of the gap to baseline well-being closed per day.
        interest_drift: taste moved toward an engaged topic, per engagement.
        outrage_learning: change of outrage expression per net like on outrage.
        reward_memory: weight of this tick in the running mean of likes received.
    """

    confidence: float = Field(0.5, ge=0, le=2)
    assimilation: float = Field(0.0008, ge=0, le=1)
    repulsion: float = Field(0.0006, ge=0, le=1)
    hostile_affect: float = Field(0.02, ge=0)
    contact_affect: float = Field(0.004, ge=0)
    habit_reward: float = Field(0.004, ge=0)
    habit_engagement: float = Field(0.0004, ge=0)
    habit_decay: float = Field(0.05, ge=0, le=1)
    wellbeing_approval: float = Field(0.002, ge=0)
    wellbeing_comparison: float = Field(0.0003, ge=0)
    wellbeing_overuse: float = Field(0.01, ge=0)
    wellbeing_outrage: float = Field(0.0004, ge=0)
    wellbeing_recovery: float = Field(0.1, ge=0, le=1)
    interest_drift: float = Field(0.003, ge=0, le=1)
    outrage_learning: float = Field(0.004, ge=0)
    reward_memory: float = Field(0.05, ge=0, le=1)


@dataclass(frozen=True, slots=True)
class Approval:
    """Social reward each person received this tick (likes on their posts and reshares)."""

    likes: F64Array  # (n_people,) likes received
    outrage_likes: F64Array  # (n_people,) sum over those likes of (post outrage - 0.5)


def drift(
    people: People,
    posts: Posts,
    persons: IntArray,
    feed: IntArray,
    seen: np.ndarray,
    engaged: np.ndarray,
    dwell_seconds: FloatArray,
    approval: Approval,
    params: DriftParams,
    ticks_per_day: int,
) -> People:
    """Return people after one tick of exposure and social feedback.

    One compiled pass over the seen slots of each person's sessions and one over people
    (:func:`feedlab.behaviour.kernels.drift_people`) give the results of :func:`drift_reference`
    bit for bit, without its per-impression and per-person temporaries.

    The rows of interest that move are rewritten in place, like the post ring: the returned
    people share ``people.interest`` with ``people`` (a read-only matrix is copied first). Nothing
    reads the old people's interest after drift (the tick, the Gymnasium environment, traces and
    checkpoints read the new people), and a copy of the matrix cost 64 MB a tick at 10^6 people.

    Args:
        people: state before the tick; the rows of its interest that move are rewritten.
        posts: the live posts (ground truth).
        persons: who was in session, shape ``(n_sessions,)``.
        feed: post slots shown, shape ``(n_sessions, feed_size)``.
        seen: which slots were seen, same shape.
        engaged: which seen slots got a click, like, share or reply, same shape.
        dwell_seconds: seconds on each slot, same shape, float32.
        approval: likes received this tick.
        params: drift rates.
        ticks_per_day: ticks in a day, to turn daily rates into per-tick ones.
    """
    n = people.n_people
    interest = people.interest
    if not interest.flags.writeable and engaged.any():
        interest = interest.copy()
    liked_people = np.flatnonzero(approval.likes)
    out = tuple(np.empty(n, np.float32) for _ in range(7))
    bk.drift_people(
        persons.astype(np.int64, copy=False),
        np.ascontiguousarray(feed, dtype=np.int64),
        seen,
        engaged,
        dwell_seconds,
        (
            people.leaning, people.affect_out, people.outrage_susceptibility,
            people.approval_need, people.habit, people.habit_baseline, people.wellbeing,
            people.wellbeing_baseline, people.time_budget_min, people.minutes_today,
            people.outrage_expression, people.reward_rate,
        ),
        people.is_teen,
        (approval.likes, approval.outrage_likes),
        (liked_people, np.log1p(approval.likes[liked_people])),  # NumPy's, as the reference's
        (posts.leaning, posts.outrage, posts.quality),
        (posts.root_author, posts.topic_a),
        _rates(params, ticks_per_day),
        interest,
        out,
    )  # fmt: skip
    leaning, affect_out, habit, wellbeing, minutes_today, expression, reward_rate = out
    return replace(
        people,
        leaning=leaning,
        affect_out=affect_out,
        habit=habit,
        wellbeing=wellbeing,
        minutes_today=minutes_today,
        interest=interest,
        outrage_expression=expression,
        reward_rate=reward_rate,
    )


def _rates(params: DriftParams, ticks_per_day: int) -> F64Array:
    """The drift rates in the order of :mod:`feedlab.behaviour.kernels`, float64.

    A rate that :func:`drift_reference` applies to a float32 array is rounded to float32 there, as
    NumPy rounds a Python float meeting a float32 array, per-tick products included; the others
    meet float64 arrays and stay float64.
    """
    p = params
    per_tick = 1.0 / ticks_per_day
    rates = np.empty(bk.N_RATES, np.float64)
    for position, value in (
        (bk.ASSIMILATION, np.float32(p.assimilation)), (bk.REPULSION, np.float32(p.repulsion)),
        (bk.CONFIDENCE, np.float32(p.confidence)),
        (bk.HOSTILE_AFFECT, np.float32(p.hostile_affect)),
        (bk.HABIT_DECAY, np.float32(p.habit_decay * per_tick)),
        (bk.WELLBEING_RECOVERY, np.float32(p.wellbeing_recovery * per_tick)),
        (bk.CONTACT_AFFECT, p.contact_affect), (bk.HABIT_REWARD, p.habit_reward),
        (bk.HABIT_ENGAGEMENT, p.habit_engagement),
        (bk.WELLBEING_APPROVAL, p.wellbeing_approval),
        (bk.WELLBEING_COMPARISON, p.wellbeing_comparison),
        (bk.WELLBEING_OVERUSE, p.wellbeing_overuse), (bk.WELLBEING_OUTRAGE, p.wellbeing_outrage),
        (bk.INTEREST_DRIFT, p.interest_drift), (bk.OUTRAGE_LEARNING, p.outrage_learning),
        (bk.REWARD_MEMORY, p.reward_memory),
    ):  # fmt: skip
        rates[position] = value
    return rates


def drift_reference(
    people: People,
    posts: Posts,
    persons: IntArray,
    feed: IntArray,
    seen: np.ndarray,
    engaged: np.ndarray,
    dwell_seconds: FloatArray,
    approval: Approval,
    params: DriftParams,
    ticks_per_day: int,
) -> People:
    """Return people after one tick of exposure and social feedback, in NumPy array passes.

    The plain statement of the drift model, against which :func:`drift` is tested. Arguments and
    result are those of :func:`drift`, except that ``people`` is left as it was: the interest
    matrix is copied when a row of it moves.
    """
    n = people.n_people
    rows, cols = np.nonzero(seen)
    who = persons[rows]
    slot = feed[rows, cols]
    p = params

    x = people.leaning[who]
    y = posts.leaning[slot]
    outrage = posts.outrage[slot]
    susceptibility = people.outrage_susceptibility[who]
    cross = (x >= 0) != (y >= 0)
    d = y - x
    near = np.abs(d) < p.confidence
    repel = ~near & cross & (outrage >= 0.5)
    step = np.where(near, p.assimilation * d, 0.0) - np.where(repel, p.repulsion * d * outrage, 0.0)
    leaning = np.clip(people.leaning + np.bincount(who, step, n), -1, 1).astype(np.float32)

    hostile = cross & (outrage >= 0.5)
    affect_step = np.where(hostile, -p.hostile_affect * outrage, 0.0) + np.where(
        cross & ~hostile, p.contact_affect, 0.0
    )
    affect_out = np.clip(people.affect_out + np.bincount(who, affect_step, n), 0, 100)

    liked = np.log1p(approval.likes)
    engaged_count = np.bincount(persons[np.nonzero(engaged)[0]], minlength=n)
    per_tick = 1.0 / ticks_per_day
    habit = people.habit + (
        p.habit_reward * liked * people.approval_need
        + p.habit_engagement * engaged_count
        - p.habit_decay * per_tick * (people.habit - people.habit_baseline)
    )

    minutes = np.bincount(who, dwell_seconds[rows, cols] / 60.0, n)
    minutes_today = people.minutes_today + minutes
    over_before = np.maximum(0.0, people.minutes_today - people.time_budget_min)
    over_after = np.maximum(0.0, minutes_today - people.time_budget_min)
    upward = (posts.quality[slot] > 0.75) & (posts.root_author[slot] != who)
    comparison = np.bincount(who, upward * (1.0 + people.is_teen[who]), n)
    outrage_seen = np.bincount(who, outrage * susceptibility, n)
    wellbeing = people.wellbeing + (
        p.wellbeing_approval * liked * people.approval_need
        - p.wellbeing_comparison * comparison
        - p.wellbeing_overuse * (over_after - over_before) / 60.0
        - p.wellbeing_outrage * outrage_seen
        + p.wellbeing_recovery * per_tick * (people.wellbeing_baseline - people.wellbeing)
    )

    interest = people.interest
    e_rows, e_cols = np.nonzero(engaged)
    if e_rows.size:
        e_who = persons[e_rows]
        e_topic = posts.topic_a[feed[e_rows, e_cols]]
        n_topics = people.n_topics
        # Engagements per (touched person, topic), counted for the touched people only: a count
        # over everyone would allocate n_people x n_topics every tick.
        touched, row = np.unique(e_who, return_inverse=True)
        pull = np.bincount(row * n_topics + e_topic, minlength=touched.size * n_topics)
        block = interest[touched] + p.interest_drift * pull.reshape(touched.size, n_topics)
        interest = interest.copy()
        interest[touched] = block / block.max(axis=1, keepdims=True)

    expression = np.clip(
        people.outrage_expression
        + p.outrage_learning * approval.outrage_likes / (1.0 + approval.likes),
        0,
        1,
    )
    reward_rate = people.reward_rate + p.reward_memory * (approval.likes - people.reward_rate)
    return replace(
        people,
        leaning=leaning,
        affect_out=affect_out.astype(np.float32),
        habit=np.clip(habit, 0, 1).astype(np.float32),
        wellbeing=np.clip(wellbeing, 0, 1).astype(np.float32),
        minutes_today=minutes_today.astype(np.float32),
        interest=interest,
        outrage_expression=expression.astype(np.float32),
        reward_rate=reward_rate.astype(np.float32),
    )
