"""Growth: the notification policy that decides whom to push, with what, and when.

Three notification types, as push services send them: *social* ("someone liked your post", sent
after the person's posts got engagement), *content* (a recommended post) and *re-engagement* (to
people who are lapsing). The policy follows Twitter's push service (candidate → heavy ranker
predicting P(open) → filters; ``pushservice/`` in the-algorithm) and Pinterest's volume control
(Zhao et al. 2018, KDD: per-user budgets): for each person it predicts, from its own log, the
chance of a session now without a push and with each type of push, sends the type with the largest
predicted *return uplift* minus the objective's cost of an interruption, and never sends more than
the daily cap.

In ``digest`` mode the chosen notifications are not pushed at once: they are queued and delivered
as one digest a day at ``digest_hour`` (one interruption instead of many), the bundling
intervention of Fitz et al. 2019, "Batching smartphone notifications can improve well-being",
*Computers in Human Behavior* 101.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydantic import Field

from feedlab.core.arrays import BoolArray, F64Array, IntArray
from feedlab.core.params import Params

TYPES = ("social", "content", "reengagement", "digest")
"""Notification types, indexed by the codes of :attr:`GrowthState.pending` (-1 = none)."""
SOCIAL, CONTENT, REENGAGEMENT, DIGEST = range(4)


class NotificationParams(Params):
    """The growth team's notification policy.

    Attributes:
        enabled: send notifications and record the growth metrics.
        mode: ``instant`` pushes, or one ``digest`` a day.
        per_day: most notifications per person per day (in digest mode: items queued).
        min_uplift: smallest predicted return uplift (minus the interruption cost) worth a push.
        social: send social notifications.
        content: send content recommendations.
        reengagement: send re-engagement notifications.
        lapsing_days: days without a session after which someone counts as lapsing.
        digest_hour: hour of day at which digests are delivered.
        prior: pseudo-notifications shrinking each person's open rate to the type's rate.
    """

    enabled: bool = False
    mode: Literal["instant", "digest"] = "instant"
    per_day: int = Field(3, ge=0, le=96)
    min_uplift: float = Field(0.02, ge=0, le=1)
    social: bool = True
    content: bool = True
    reengagement: bool = True
    lapsing_days: float = Field(2.0, gt=0)
    digest_hour: float = Field(18.0, ge=0, lt=24)
    prior: float = Field(5.0, gt=0)


@dataclass
class GrowthState:
    """What the growth system logs about each person (all from its own log and settings)."""

    visit_rate: F64Array  # (n_people,) decayed sessions logged per day
    last_seen: IntArray  # (n_people,) last tick a session was logged (-1 never)
    sent_today: IntArray  # (n_people,) notifications sent (or queued) since midnight
    queued: IntArray  # (n_people,) items waiting for the digest
    person_sent: F64Array  # (n_people,) decayed notifications sent
    person_opened: F64Array  # (n_people,) decayed notifications followed by a session
    type_sent: F64Array  # (len(TYPES),) notifications sent by type
    type_opened: F64Array  # (len(TYPES),) of which followed by a session
    social_signal: F64Array  # (n_people,) engagement received on own posts last tick
    traffic: F64Array  # (ticks_per_day,) decayed sessions logged per tick of the day
    pending: IntArray  # (n_people,) type delivered this tick, -1 none
    sent_day: int = 0
    opened_day: int = 0


def init_growth(n_people: int, ticks_per_day: int) -> GrowthState:
    """A growth system that has sent nothing yet."""
    return GrowthState(
        visit_rate=np.full(n_people, 1.0),
        last_seen=np.full(n_people, -1, np.int64),
        sent_today=np.zeros(n_people, np.int64),
        queued=np.zeros(n_people, np.int64),
        person_sent=np.zeros(n_people),
        person_opened=np.zeros(n_people),
        type_sent=np.full(len(TYPES), 10.0),
        type_opened=np.full(len(TYPES), 2.0),
        social_signal=np.zeros(n_people),
        traffic=np.ones(ticks_per_day),
        pending=np.full(n_people, -1, np.int64),
    )


def predicted_uplift(state: GrowthState, params: NotificationParams, tick_of_day: int) -> F64Array:
    """Predicted gain in the chance of a session this tick from each type, ``(n_people, 3)``.

    P(session | push of type) x (1 - P(session | no push)), where the natural chance comes from
    the person's logged visit rate and the day's traffic curve, and the open chance from the
    type's logged open rate scaled by the person's own.
    """
    share = state.traffic[tick_of_day] / max(state.traffic.sum(), 1e-9)
    natural = 1.0 - np.exp(-state.visit_rate * share)
    type_rate = state.type_opened[:3] / state.type_sent[:3]
    overall = state.type_opened.sum() / state.type_sent.sum()
    person = (state.person_opened + params.prior * overall) / (state.person_sent + params.prior)
    p_open = np.clip(type_rate[None, :] * (person / overall)[:, None], 0.0, 1.0)
    return p_open * (1.0 - natural)[:, None]


def choose(
    state: GrowthState,
    params: NotificationParams,
    cap: IntArray,
    off: BoolArray,
    tick: int,
    ticks_per_day: int,
    interruption_cost: float,
) -> IntArray:
    """Whom to notify this tick and with which type, ``(n_people,)`` codes (-1 = nobody).

    In digest mode the chosen items are queued and the result holds :data:`DIGEST` for those
    whose digest is delivered this tick.
    """
    tick_of_day = tick % ticks_per_day
    uplift = predicted_uplift(state, params, tick_of_day)
    allowed = np.array([params.social, params.content, params.reengagement])[None, :]
    lapsing = (tick - state.last_seen) >= params.lapsing_days * ticks_per_day
    eligible = allowed & np.stack(
        [state.social_signal > 0, np.ones_like(lapsing), lapsing | (state.last_seen < 0)], axis=1
    )
    value = np.where(eligible, uplift, -np.inf) - interruption_cost
    best = np.argmax(value, axis=1)
    send = (
        (np.take_along_axis(value, best[:, None], axis=1)[:, 0] >= params.min_uplift)
        & (state.sent_today < cap)
        & ~off
    )
    chosen = np.where(send, best, -1).astype(np.int64)
    state.sent_today += send
    if params.mode == "instant":
        state.pending = chosen
        return chosen
    state.queued += send
    hour = tick_of_day * 24.0 / ticks_per_day
    due = hour <= params.digest_hour < hour + 24.0 / ticks_per_day
    digest = np.full(chosen.shape, -1, np.int64)
    if due:
        deliver = (state.queued > 0) & ~off
        digest[deliver] = DIGEST
    state.pending = digest
    return digest


def observe_sessions(state: GrowthState, persons: IntArray, tick: int, ticks_per_day: int) -> None:
    """Log who opened the app this tick: visit rates, traffic, and opens after a push."""
    opened = np.zeros(state.last_seen.size, bool)
    opened[persons] = True
    state.last_seen[persons] = tick
    state.visit_rate[persons] += 1.0 / 7.0  # decays by 6/7 a day: a one-week mean
    state.traffic[tick % ticks_per_day] += persons.size
    sent = state.pending >= 0
    codes = state.pending[sent]
    state.type_sent += np.bincount(codes, minlength=len(TYPES))
    state.type_opened += np.bincount(codes, opened[sent].astype(np.float64), len(TYPES))
    state.person_sent[sent] += 1.0
    state.person_opened[sent & opened] += 1.0
    state.sent_day += int(sent.sum())
    state.opened_day += int((sent & opened).sum())
    state.queued[state.pending == DIGEST] = 0
    state.pending = np.full(state.last_seen.size, -1, np.int64)


def end_growth_day(state: GrowthState) -> None:
    """Midnight: daily caps reset, rates decay (one-week memory)."""
    state.sent_today[:] = 0
    state.visit_rate *= 6.0 / 7.0
    state.person_sent *= 6.0 / 7.0
    state.person_opened *= 6.0 / 7.0
    state.traffic *= 6.0 / 7.0
    state.sent_day = 0
    state.opened_day = 0
