"""How a person answers each impression of their feed, from their true state.

A session scrolls the feed top-down. At every slot the person may click, like, share, reply,
hide or follow, dwells for a heavy-tailed time (Weibull with shape < 1; Liu, White & Dumais 2010),
and decides whether to keep scrolling. Probabilities are logistic in what the literature finds
drives engagement:

* interest match (the person's topic affinity to the post's topic mix);
* agreement with the post's leaning, and its reverse for hiding;
* outrage x susceptibility, i.e. moral-emotional arousal (Brady et al. 2017: +20% diffusion per
  moral-emotional word), including angry replies and hate-shares of the other side
  (Rathje, Van Bavel & van der Linden 2021: out-group animosity drives engagement);
* novelty x novelty seeking, which is why false news spreads (Vosoughi et al. 2018);
* credulity x falsity: credulous people share false posts, discerning ones hold back
  (Pennycook & Rand 2019);
* quality.

Scrolling goes on while items are rewarding and stops with boredom or once the day's time budget
is spent, unless the checking habit is strong - so feeds that arouse keep people longer.

Every die is a counter-based uniform keyed by (person, slot, channel): person ``i`` meets the same
dice at slot ``j`` under every ranking policy (common random numbers).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from pydantic import Field

from feedlab.behaviour import kernels as bk
from feedlab.core.arrays import BoolArray, F64Array, FloatArray, IntArray
from feedlab.core.kernels import threaded
from feedlab.core.params import Params
from feedlab.core.random import PEOPLE_CHOICE, Streams
from feedlab.world.people import People
from feedlab.world.posts import Posts

ACTIONS = ("click", "like", "share", "reply", "hide", "follow")
"""Discrete responses to an impression, in the order of :class:`Responses` fields."""

_CHANNELS = 9  # six actions, dwell, reading time, stop
_WEIBULL_SHAPE = 0.7
_WEIBULL_MEAN = 1.2658  # Gamma(1 + 1/0.7): divides a unit-scale Weibull to mean 1
_BELOW_ONE = float(np.nextafter(np.float32(1), np.float32(0)))


class ChoiceParams(Params):
    """Coefficients of the response model (log-odds unless stated).

    Attributes:
        click_base: intercept of clicking through.
        like_base: intercept of liking.
        share_base: intercept of sharing.
        reply_base: intercept of replying.
        hide_base: intercept of hiding ("show less").
        follow_base: intercept of following the author.
        interest_weight: effect of interest match on click, like, share and follow.
        agreement_weight: effect of agreement on like, share and follow.
        arousal_weight: effect of outrage x susceptibility on click, share and reply.
        hostility_weight: extra effect of arousal from the other side on replies and shares.
        novelty_weight: effect of novelty x novelty seeking on click and share.
        quality_weight: effect of quality on click and like.
        credulity_weight: effect of (credulity - 0.3) on sharing a false post.
        disagreement_hide: effect of disagreement on hiding, damped by susceptibility.
        dwell_seconds: median-ish seconds on an impression with no match.
        read_seconds: typical seconds spent on a clicked post.
        stop_base: intercept of ending the session after an impression.
        stop_value: how much a rewarding impression lowers the chance to stop.
        stop_over_budget: how much time past the day's budget raises it (x (1 - habit)).
        stop_habit: how much habit lowers it.
    """

    click_base: float = -4.0
    like_base: float = -4.0
    share_base: float = -6.2
    reply_base: float = -6.6
    hide_base: float = -5.8
    follow_base: float = -7.8
    interest_weight: float = Field(2.0, ge=0)
    agreement_weight: float = Field(1.2, ge=0)
    arousal_weight: float = Field(1.6, ge=0)
    hostility_weight: float = Field(1.2, ge=0)
    novelty_weight: float = Field(1.0, ge=0)
    quality_weight: float = Field(0.8, ge=0)
    credulity_weight: float = Field(3.5, ge=0)
    disagreement_hide: float = Field(1.8, ge=0)
    dwell_seconds: float = Field(6.0, gt=0)
    read_seconds: float = Field(45.0, gt=0)
    stop_base: float = -2.9
    stop_value: float = Field(1.6, ge=0)
    stop_over_budget: float = Field(2.5, ge=0)
    stop_habit: float = Field(1.2, ge=0)


@dataclass(frozen=True, slots=True)
class Responses:
    """What each person in a batch of sessions did with each slot of their feed.

    All arrays have shape ``(n_sessions, feed_size)``; unseen and padded slots are False / 0.
    """

    seen: BoolArray
    click: BoolArray
    like: BoolArray
    share: BoolArray
    reply: BoolArray
    hide: BoolArray
    follow: BoolArray
    dwell_seconds: FloatArray  # seconds on the impression, including reading after a click

    def action(self, name: str) -> BoolArray:
        """The array of one of :data:`ACTIONS`."""
        return getattr(self, name)


def _exp32(x: FloatArray) -> FloatArray:
    """``exp`` of float32 values, correctly rounded to float32 (evaluated in float64).

    NumPy's own float32 ``exp`` is a fast approximation that differs from the correctly rounded
    value in the last bit for about 40% of inputs; going through float64 gives the value the
    compiled kernel computes, bit for bit.
    """
    return np.exp(x.astype(np.float64)).astype(np.float32)


def _sigmoid(x: FloatArray) -> FloatArray:
    return (1.0 / (1.0 + _exp32(-x))).astype(np.float32, copy=False)


def interest_match(
    interest: FloatArray, posts: Posts, persons: IntArray, slots: IntArray
) -> FloatArray:
    """True interest match in [0, 1] of each (person, post) pair, shape of ``slots``."""
    rows = persons.reshape(persons.shape + (1,) * (slots.ndim - persons.ndim))  # broadcasts
    weight = posts.topic_weight[slots]
    return (
        weight * interest[rows, posts.topic_a[slots]]
        + (1 - weight) * interest[rows, posts.topic_b[slots]]
    ).astype(np.float32)


@dataclass(frozen=True, slots=True)
class _Answers:
    """A batch of sessions' answers at a run of consecutive slots, before the stop rule.

    Every array has shape ``(n_rows, n_slots)``; values at slots that turn out unseen are
    computed but discarded by the caller.
    """

    acts: tuple[BoolArray, ...]  # one per :data:`ACTIONS`
    dwell: FloatArray  # float32 seconds, including reading after a click
    value: FloatArray  # how rewarding the impression is, lowering the chance to stop
    stop_die: FloatArray  # float32 uniform of the stop channel


def _dice(uniforms: F64Array) -> FloatArray:
    """The float32 dice of the response model from counter-based float64 uniforms, all below 1."""
    # A float64 uniform may round up to 1.0 when narrowed; it is clamped to the largest float32
    # below 1. Narrowing is monotonic and that bound is a float32, so clamping after narrowing
    # gives what clamping before it would, on half the bytes.
    dice = uniforms.astype(np.float32)
    return np.minimum(dice, _BELOW_ONE, out=dice)


def _answer_slots(
    people: People,
    posts: Posts,
    persons: IntArray,
    feed: IntArray,
    dice: FloatArray,
    params: ChoiceParams,
    shift: FloatArray | None,
) -> _Answers:
    """Actions, dwell and reward of some slots of some feeds, each from its own (person, slot).

    ``dice`` are the slots' uniforms, ``(n_rows, n_slots, 9)`` float32 (see :func:`_dice`).
    """
    u = dice
    valid = feed >= 0
    slot = np.where(valid, feed, 0)
    col = persons[:, None]

    m = interest_match(people.interest, posts, persons, slot)
    x = people.leaning[col]
    y = posts.leaning[slot]
    agree = (1.0 - np.abs(x - y)).astype(np.float32)  # in [-1, 1]
    cross = (x >= 0) != (y >= 0)
    arousal = posts.outrage[slot] * people.outrage_susceptibility[col]
    hostile = arousal * cross
    novelty = posts.novelty[slot] * people.novelty_seeking[col]
    quality = posts.quality[slot]
    falsity = posts.is_false[slot] * (people.credulity[col] - 0.3)

    p = params
    logits = (
        p.click_base + p.interest_weight * m + p.arousal_weight * arousal
        + p.novelty_weight * novelty + p.quality_weight * quality,
        p.like_base + p.interest_weight * m + p.agreement_weight * agree
        + 0.5 * p.arousal_weight * (arousal - hostile) + p.quality_weight * quality,
        p.share_base + 0.7 * p.interest_weight * m + p.agreement_weight * agree
        + p.arousal_weight * arousal + p.hostility_weight * hostile
        + p.novelty_weight * novelty + p.credulity_weight * falsity,
        p.reply_base + 0.3 * p.interest_weight * m + p.arousal_weight * arousal
        + 1.5 * p.hostility_weight * hostile,
        p.hide_base + p.disagreement_hide * np.maximum(-agree, 0) * (1 - arousal)
        + (1.0 - m) + (1.0 - quality),
        p.follow_base + p.interest_weight * m + p.agreement_weight * agree,
    )  # fmt: skip
    if shift is not None:
        logits = tuple(logit + shift[:, :, c] for c, logit in enumerate(logits))
    acts = tuple(
        u[:, :, c] < _sigmoid(logit.astype(np.float32, copy=False))
        for c, logit in enumerate(logits)
    )

    def weibull(v: FloatArray) -> FloatArray:
        # In float64, rounded once (as _exp32): float32 log1p and power differ between NumPy's
        # SIMD variants (AVX2, AVX-512), which would make dwell depend on the CPU.
        inv_shape = np.float64(np.float32(1.0 / _WEIBULL_SHAPE))
        unit = np.power(-np.log1p(-v.astype(np.float64)), inv_shape).astype(np.float32)
        return unit / np.float32(_WEIBULL_MEAN)

    glance = p.dwell_seconds * _exp32(0.9 * m + 0.9 * arousal + 0.4 * quality) * weibull(u[:, :, 6])
    read = p.read_seconds * _exp32(0.8 * quality + 0.5 * m) * weibull(u[:, :, 7])
    dwell = (glance + acts[0] * read).astype(np.float32)
    value = m + 0.6 * arousal + 0.5 * novelty + 0.3 * quality
    return _Answers(acts=acts, dwell=dwell, value=value, stop_die=u[:, :, 8])


def _stops(
    people: People,
    persons: IntArray,
    valid: BoolArray,
    answers: _Answers,
    minutes_before: FloatArray,
    params: ChoiceParams,
) -> BoolArray:
    """Whether the session ends after each slot: the stop die, or an empty slot.

    ``minutes_before`` is the person's time on the platform today when the slot comes up.
    """
    p = params
    col = persons[:, None]
    habit = people.habit[col]
    budget = people.time_budget_min[col]
    over = np.maximum(0.0, minutes_before / budget - 1.0)
    stop_logit = (
        p.stop_base
        - p.stop_value * (answers.value - 0.8)
        + p.stop_over_budget * over * (1 - habit)
        - p.stop_habit * habit
        + 1.5 * answers.acts[4]
    )
    stop: BoolArray = (answers.stop_die < _sigmoid(stop_logit.astype(np.float32))) | ~valid
    return stop


def respond_reference(
    people: People,
    posts: Posts,
    persons: IntArray,
    feed: IntArray,
    params: ChoiceParams,
    streams: Streams,
    tick: int,
    shift: FloatArray | None = None,
) -> Responses:
    """Answer every impression of a batch of feeds, evaluating all slots of every feed.

    The plain statement of the response model, against which :func:`respond` is tested: it
    computes every slot, seen or not, and takes the running dwell and the stop rule over whole
    rows. Arguments and result are those of :func:`respond`.
    """
    valid = feed >= 0
    k = feed.shape[1]
    dice = _dice(
        streams.uniform(
            PEOPLE_CHOICE, tick, persons[:, None, None], np.arange(k)[None, :, None],
            np.arange(_CHANNELS),
        )
    )  # fmt: skip
    answers = _answer_slots(people, posts, persons, feed, dice, params, shift)
    dwell = answers.dwell
    minutes_before = (
        people.minutes_today[persons[:, None]] + (np.cumsum(dwell, axis=1) - dwell) / 60.0
    )
    stop = _stops(people, persons, valid, answers, minutes_before, params)
    # Slot j is seen if the person did not stop at any earlier slot and the slot holds a post.
    stopped_before: IntArray = np.cumsum(stop, axis=1) - stop
    seen = (stopped_before == 0) & valid
    acts = answers.acts
    return Responses(
        seen=seen,
        click=acts[0] & seen,
        like=acts[1] & seen,
        share=acts[2] & seen,
        reply=acts[3] & seen,
        hide=acts[4] & seen,
        follow=acts[5] & seen,
        dwell_seconds=np.where(seen, dwell, 0.0).astype(np.float32),
    )


def _coefficients(params: ChoiceParams) -> FloatArray:
    """The response coefficients in the order of :mod:`feedlab.behaviour.kernels`, float32.

    Each is rounded to float32 as NumPy rounds a Python float meeting a float32 array in
    :func:`_answer_slots`, products of constants included (``0.5 * arousal_weight``, ...).
    """
    p = params
    coef = np.empty(bk.N_COEF, np.float32)
    for position, value in (
        (bk.CLICK_BASE, p.click_base), (bk.INTEREST, p.interest_weight),
        (bk.AROUSAL, p.arousal_weight), (bk.NOVELTY, p.novelty_weight),
        (bk.QUALITY, p.quality_weight), (bk.LIKE_BASE, p.like_base),
        (bk.AGREEMENT, p.agreement_weight), (bk.AROUSAL_HALF, 0.5 * p.arousal_weight),
        (bk.SHARE_BASE, p.share_base), (bk.INTEREST_SHARE, 0.7 * p.interest_weight),
        (bk.HOSTILITY, p.hostility_weight), (bk.CREDULITY, p.credulity_weight),
        (bk.REPLY_BASE, p.reply_base), (bk.INTEREST_REPLY, 0.3 * p.interest_weight),
        (bk.HOSTILITY_REPLY, 1.5 * p.hostility_weight), (bk.HIDE_BASE, p.hide_base),
        (bk.DISAGREEMENT_HIDE, p.disagreement_hide), (bk.FOLLOW_BASE, p.follow_base),
        (bk.DWELL, p.dwell_seconds), (bk.READ, p.read_seconds),
        (bk.GLANCE_MATCH, 0.9), (bk.GLANCE_AROUSAL, 0.9), (bk.GLANCE_QUALITY, 0.4),
        (bk.READ_QUALITY, 0.8), (bk.READ_MATCH, 0.5),
        (bk.VALUE_AROUSAL, 0.6), (bk.VALUE_NOVELTY, 0.5), (bk.VALUE_QUALITY, 0.3),
        (bk.INV_SHAPE, 1.0 / _WEIBULL_SHAPE), (bk.WEIBULL_MEAN, _WEIBULL_MEAN),
        (bk.DOUBT, 0.3), (bk.VALUE_PIVOT, 0.8), (bk.STOP_BASE, p.stop_base),
        (bk.STOP_VALUE, p.stop_value), (bk.STOP_OVER_BUDGET, p.stop_over_budget),
        (bk.STOP_HABIT, p.stop_habit), (bk.MINUTE, 60.0),
    ):  # fmt: skip
        coef[position] = value
    return coef


def respond(
    people: People,
    posts: Posts,
    persons: IntArray,
    feed: IntArray,
    params: ChoiceParams,
    streams: Streams,
    tick: int,
    shift: FloatArray | None = None,
) -> Responses:
    """Answer every impression of a batch of feeds.

    Each feed is walked top-down in one compiled pass (:func:`feedlab.behaviour.kernels.answer_feeds`)
    that stops where the person stops, so unseen slots cost nothing; most sessions stop well
    before the end of the feed. Its arithmetic and dice are those of :func:`respond_reference`
    (see the kernel's module for the last bit of ``exp``).

    Args:
        people: true state of everyone.
        posts: the live posts (ground truth).
        persons: who is in session, shape ``(n_sessions,)``.
        feed: post slots shown, shape ``(n_sessions, feed_size)``, ``-1`` = empty slot.
        params: response coefficients.
        streams: random streams.
        tick: current tick.
        shift: log-odds added to the six actions, ``(n_sessions, feed_size, 6)`` in
            :data:`ACTIONS` order (social proof, misinformation labels), or None.

    Returns:
        The :class:`Responses` of the batch.
    """
    n, k = feed.shape
    seen = np.zeros((n, k), bool)
    acts = np.zeros((len(ACTIONS), n, k), bool)
    dwell = np.zeros((n, k), np.float32)
    no_shift = np.zeros((0, 0, len(ACTIONS)), np.float32)
    answer = (
        bk.answer_feeds_threaded
        if threaded(feed.size)
        else functools.partial(bk.answer_feeds, lo=0, hi=n)
    )
    answer(
        np.uint64(streams.counter_key(PEOPLE_CHOICE, tick)),
        persons.astype(np.int64, copy=False),
        np.ascontiguousarray(feed, dtype=np.int64),
        no_shift if shift is None else np.ascontiguousarray(shift, dtype=np.float32),
        _coefficients(params),
        (
            people.leaning, people.outrage_susceptibility, people.novelty_seeking,
            people.credulity, people.habit, people.time_budget_min, people.minutes_today,
        ),
        people.interest,
        (posts.leaning, posts.outrage, posts.novelty, posts.quality, posts.topic_weight),
        (posts.topic_a, posts.topic_b),
        posts.is_false,
        seen,
        acts,
        dwell,
    )  # fmt: skip
    return Responses(
        seen=seen,
        click=acts[0],
        like=acts[1],
        share=acts[2],
        reply=acts[3],
        hide=acts[4],
        follow=acts[5],
        dwell_seconds=dwell,
    )
