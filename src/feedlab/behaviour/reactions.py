"""How people react to the platform's ads and notifications, and when they switch off or leave.

* Ads are answered like posts: a click is logistic in the person's true interest in the creative's
  topic, agreement with its slant and its appeal; disagreement raises hides. Each ad seen costs a
  little habit and well-being and adds to annoyance, so a heavy ad load lowers satisfaction
  (in-feed ad load reduces engagement: Huang, Reiley & Riabov 2018, "Measuring consumer
  sensitivity to audio advertising"; Yan et al. 2020, "Measuring long-term impact of ads on
  LinkedIn feed"). Political ads pull the leaning of people within the bounded-confidence radius a
  little toward their slant.
* A notification raises the chance of a session now (more for social ones, and with habit), feeds
  the habit (variable reward) and interrupts (a well-being cost; Kushlev, Proulx & Dunn 2016,
  "Silence your phones"). Interruptions build annoyance that recovers daily; the chance of
  disabling notifications, and of leaving the platform, rises with it — short-term gains and
  long-term churn (Zhao et al. 2018 at Pinterest; SmartNews 2022; see docs/platform.md).

Dice are counter-based uniforms keyed by (person, slot, channel): common across arms.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from pydantic import Field

from feedlab.core.arrays import BoolArray, FloatArray, IntArray
from feedlab.core.params import Params
from feedlab.core.random import PEOPLE_ADS, PEOPLE_NOTIFICATIONS, Streams
from feedlab.world.people import People

_BELOW_ONE = float(np.nextafter(np.float32(1), np.float32(0)))


class ReactionParams(Params):
    """Responses to ads and notifications (log-odds unless stated).

    Attributes:
        ad_click_base: intercept of clicking an ad.
        ad_interest_weight: effect of true interest in the ad's topic on clicking.
        ad_agreement_weight: effect of agreement with the ad's slant on clicking.
        ad_appeal_weight: effect of the creative's appeal on clicking.
        ad_hide_base: intercept of hiding an ad.
        ad_disagreement_hide: effect of disagreement with the ad's slant on hiding.
        ad_habit_cost: habit lost per ad seen.
        ad_wellbeing_cost: well-being lost per ad seen.
        ad_annoyance: annoyance added per ad seen.
        persuasion: share of the gap to a political ad's slant closed per ad seen (within the
            drift confidence radius).
        open_base: intercept of opening the app when notified.
        open_social: extra log-odds for a social notification.
        open_reengagement: extra log-odds for a re-engagement notification.
        open_digest: extra log-odds per log(1 + items) in a digest.
        open_habit: effect of (habit - 0.4) on opening after a notification.
        notification_habit: habit gained per notification received.
        notification_wellbeing_cost: well-being lost per interruption.
        notification_annoyance: annoyance added per interruption.
        annoyance_recovery: share of annoyance that fades per day.
        disable_base: intercept of disabling notifications, per notification received.
        disable_annoyance: effect of annoyance on disabling.
        leave_base: intercept of leaving the platform, per tick with a notification or ads seen.
        leave_annoyance: effect of annoyance on leaving.
    """

    ad_click_base: float = -3.8
    ad_interest_weight: float = Field(2.0, ge=0)
    ad_agreement_weight: float = Field(1.0, ge=0)
    ad_appeal_weight: float = Field(1.5, ge=0)
    ad_hide_base: float = -4.0
    ad_disagreement_hide: float = Field(1.5, ge=0)
    ad_habit_cost: float = Field(0.0005, ge=0)
    ad_wellbeing_cost: float = Field(0.0002, ge=0)
    ad_annoyance: float = Field(0.03, ge=0)
    persuasion: float = Field(0.003, ge=0, le=1)
    open_base: float = -1.8
    open_social: float = 0.8
    open_reengagement: float = -0.4
    open_digest: float = 0.5
    open_habit: float = Field(2.0, ge=0)
    notification_habit: float = Field(0.003, ge=0)
    notification_wellbeing_cost: float = Field(0.002, ge=0)
    notification_annoyance: float = Field(0.15, ge=0)
    annoyance_recovery: float = Field(0.3, ge=0, le=1)
    disable_base: float = -6.5
    disable_annoyance: float = Field(0.8, ge=0)
    leave_base: float = -9.5
    leave_annoyance: float = Field(0.8, ge=0)


@dataclass(frozen=True, slots=True)
class Reach:
    """Whether the platform can still reach each person, ``(n_people,)`` arrays (ground truth)."""

    annoyance: FloatArray  # float32 >= 0, accumulated irritation from interruptions and ads
    push_off: BoolArray  # the person disabled notifications
    left: BoolArray  # the person has left the platform for good


def init_reach(n_people: int) -> Reach:
    """Everyone reachable, nobody annoyed."""
    return Reach(
        annoyance=np.zeros(n_people, np.float32),
        push_off=np.zeros(n_people, bool),
        left=np.zeros(n_people, bool),
    )


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-x)))


def react_to_notifications(
    people: People,
    reach: Reach,
    kind: IntArray,
    digest_items: IntArray,
    params: ReactionParams,
    streams: Streams,
    tick: int,
) -> tuple[People, Reach, BoolArray]:
    """Answer this tick's notifications.

    Args:
        people: true state.
        reach: who can still be reached.
        kind: notification type per person (0 social, 1 content, 2 re-engagement, 3 digest;
            -1 none), ``(n_people,)``.
        digest_items: items bundled in each person's digest, ``(n_people,)``.
        params: reaction coefficients.
        streams: random streams.
        tick: current tick.

    Returns:
        ``(people, reach, opens)``: the updated state and who opens the app because of it.
    """
    n = people.n_people
    got = (kind >= 0) & ~reach.left & ~reach.push_off
    u = streams.uniform(PEOPLE_NOTIFICATIONS, tick, np.arange(n)[:, None], np.arange(3)[None, :])
    p = params
    offset = np.select(
        [kind == 0, kind == 2, kind == 3],
        [p.open_social, p.open_reengagement, p.open_digest * np.log1p(digest_items)],
        0.0,
    )
    z = p.open_base + offset + p.open_habit * (people.habit - 0.4)
    opens = got & (u[:, 0] < _sigmoid(z))
    annoyance = reach.annoyance + p.notification_annoyance * got
    disable = got & (u[:, 1] < _sigmoid(p.disable_base + p.disable_annoyance * annoyance))
    leave = got & (u[:, 2] < _sigmoid(p.leave_base + p.leave_annoyance * annoyance))
    people = replace(
        people,
        habit=np.clip(people.habit + p.notification_habit * got, 0, 1).astype(np.float32),
        wellbeing=np.clip(people.wellbeing - p.notification_wellbeing_cost * got, 0, 1).astype(
            np.float32
        ),
    )
    reach = Reach(
        annoyance=annoyance.astype(np.float32),
        push_off=reach.push_off | disable,
        left=reach.left | leave,
    )
    return people, reach, opens & ~leave


@dataclass(frozen=True, slots=True)
class AdResponses:
    """Answers to the ad slots of a batch of sessions, ``(n_sessions, n_ad_slots)``."""

    click: BoolArray
    hide: BoolArray


def react_to_ads(
    people: People,
    reach: Reach,
    persons: IntArray,
    seen: BoolArray,
    topic: IntArray,
    slant: FloatArray,
    appeal: FloatArray,
    political: BoolArray,
    params: ReactionParams,
    confidence: float,
    streams: Streams,
    tick: int,
) -> tuple[People, Reach, AdResponses]:
    """Answer the ads people scrolled past.

    Args:
        people: true state.
        reach: who can still be reached.
        persons: who is in session, ``(n_sessions,)``.
        seen: which ad slots were scrolled past, ``(n_sessions, w)``.
        topic: topic of each ad, same shape (any value where not seen).
        slant: slant of each ad in [-1, 1].
        appeal: true appeal of each ad in [0, 1].
        political: whether each ad is political.
        params: reaction coefficients.
        confidence: the drift model's bounded-confidence radius.
        streams: random streams.
        tick: current tick.
    """
    p = params
    n, w = seen.shape
    col = persons[:, None]
    u = streams.uniform(
        PEOPLE_ADS, tick, col[:, :, None], np.arange(w)[None, :, None], np.arange(2)
    )
    u = np.minimum(u, _BELOW_ONE)
    match = people.interest[np.broadcast_to(col, (n, w)), topic]
    agree = 1.0 - np.abs(people.leaning[col] - slant)
    click = seen & (
        u[:, :, 0]
        < _sigmoid(
            p.ad_click_base + p.ad_interest_weight * match + p.ad_agreement_weight * (agree - 0.5)
            + p.ad_appeal_weight * (appeal - 0.5)
        )
    )  # fmt: skip
    hide = seen & (
        u[:, :, 1] < _sigmoid(p.ad_hide_base + p.ad_disagreement_hide * np.maximum(-agree, 0))
    )
    count = np.zeros(people.n_people)
    np.add.at(count, persons, seen.sum(axis=1))
    gap = (slant - people.leaning[col]) * (
        seen & political & (np.abs(slant - people.leaning[col]) < confidence)
    )
    pull = np.zeros(people.n_people)
    np.add.at(pull, persons, gap.sum(axis=1))
    people = replace(
        people,
        habit=np.clip(people.habit - p.ad_habit_cost * count, 0, 1).astype(np.float32),
        wellbeing=np.clip(people.wellbeing - p.ad_wellbeing_cost * count, 0, 1).astype(np.float32),
        leaning=np.clip(people.leaning + p.persuasion * pull, -1, 1).astype(np.float32),
    )
    annoyance = reach.annoyance + p.ad_annoyance * count
    exposed = count > 0
    leave_u = streams.uniform(PEOPLE_ADS, tick, np.arange(people.n_people), 10_000, 2)
    leave = exposed & (leave_u < _sigmoid(p.leave_base + p.leave_annoyance * annoyance))
    reach = replace(reach, annoyance=annoyance.astype(np.float32), left=reach.left | leave)
    return people, reach, AdResponses(click=click, hide=hide)


def recover(reach: Reach, params: ReactionParams) -> Reach:
    """Midnight: a share of the day's annoyance fades."""
    return replace(
        reach, annoyance=(reach.annoyance * (1.0 - params.annoyance_recovery)).astype(np.float32)
    )
