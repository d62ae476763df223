"""The person-side effects of platform interventions, and the world's fact-checkers.

Each function takes a batch of sessions and returns new arrays; none mutates its inputs. Every
die is counter-based and keyed by (person, slot, channel) or by post id, so a person meets the
same dice under every arm (common random numbers). Sources are in ``docs/interventions.md``.

* :func:`fact_check` - third-party fact-checkers (people of the world, who can read a post's
  truth) find false posts with some recall; the platform learns the verdicts only through
  ``platform.observe.observe_verdicts``.
* :func:`label_shift` - a "False information" label lowers the odds of sharing (Clayton et al.
  2020; Pennycook et al. 2020; Yaqub et al. 2020).
* :func:`apply_share_friction` - "read before you share" (Twitter 2020): a prompt before sharing an
  unopened post makes some people open it and some give up the share.
* :func:`apply_time_nudge` - a daily time-limit reminder: past the threshold, a person stops
  scrolling with the compliance probability (Okeke et al. 2018; Instagram "daily limit" 2018).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from feedlab.behaviour.choice import ACTIONS, Responses
from feedlab.behaviour.social_proof import N_RESPONSE_CHANNELS, SHARE_CHANNEL
from feedlab.core.arrays import BoolArray, FloatArray, IntArray, U32Array
from feedlab.core.random import PEOPLE_INTERVENTIONS, WORLD_FACT_CHECK, Streams
from feedlab.world.posts import Posts

_FRICTION_ABANDON = 0
_FRICTION_OPEN = 1
_NUDGE = 2


def fact_check(
    posts: Posts, root_ids: U32Array, recall: float, streams: Streams, round_: int = 0
) -> BoolArray:
    """Fact-checkers' verdicts on cascades: True where a false cascade is found to be false.

    A true post is never rated false (fact-checkers' false-positive rate is small; Clayton et
    al. 2020 use real ratings). A false one is found with probability ``recall``; the die is
    keyed by the post id only, so the verdict is the same under every arm and at every delay.

    Args:
        posts: the post ring (ground truth).
        root_ids: ids of the cascades' original posts under review, ``(n,)``.
        recall: share of false posts the fact-checkers catch.
        streams: random streams.
        round_: which review this is (0: fact-checkers, 1: the circuit breaker's reviewers),
            so that the two draw independent dice.
    """
    slots = posts.slots_of(root_ids)
    live = (root_ids != 0) & (posts.id[slots] == root_ids)
    u = streams.uniform(WORLD_FACT_CHECK, round_, root_ids.astype(np.int64))
    return live & posts.is_false[slots] & (u < recall)


def label_shift(labelled: BoolArray, share_effect: float) -> FloatArray:
    """Log-odds shifts ``(n_sessions, k, 6)``: a labelled post is shared less.

    Args:
        labelled: which slots carry a misinformation label, ``(n_sessions, k)``.
        share_effect: log-odds subtracted from sharing a labelled post.
    """
    shift = np.zeros((*labelled.shape, N_RESPONSE_CHANNELS), np.float32)
    shift[..., SHARE_CHANNEL] = -share_effect * labelled
    return shift


def _dice(streams: Streams, tick: int, persons: IntArray, k: int, channel: int) -> FloatArray:
    return streams.uniform(PEOPLE_INTERVENTIONS, tick, persons[:, None], np.arange(k), channel)


def _keep_seen(responses: Responses, seen: BoolArray) -> Responses:
    """``responses`` restricted to the slots still ``seen`` (actions and dwell elsewhere dropped)."""
    actions = {name: responses.action(name) & seen for name in ACTIONS}
    dwell = np.where(seen, responses.dwell_seconds, 0.0).astype(np.float32)
    return replace(responses, seen=seen, dwell_seconds=dwell, **actions)


@dataclass(frozen=True, slots=True)
class FrictionOutcome:
    """What the share prompt did in one tick."""

    responses: Responses
    prompts: int  # prompts shown (shares of unopened posts attempted)
    abandoned: int  # shares given up at the prompt
    opened: int  # posts opened because of the prompt


def apply_share_friction(
    responses: Responses,
    persons: IntArray,
    open_probability: float,
    abandon_probability: float,
    streams: Streams,
    tick: int,
) -> FrictionOutcome:
    """Show a "read before you share" prompt on every attempt to share an unopened post.

    Twitter (2020) reported that people shown the prompt opened articles 40% more often and
    opened before retweeting 33% more often, and that some did not retweet after all. At the
    prompt a person gives the share up with ``abandon_probability``; otherwise they open the
    post with ``open_probability`` (a click) and share it.

    Args:
        responses: the batch's responses.
        persons: who is in session, ``(n_sessions,)``.
        open_probability: chance that a prompted person opens the post and still shares.
        abandon_probability: chance that a prompted person does not share.
        streams: random streams (``people.interventions``).
        tick: current tick.
    """
    prompted = responses.share & ~responses.click
    k = prompted.shape[1]
    abandon = prompted & (_dice(streams, tick, persons, k, _FRICTION_ABANDON) < abandon_probability)
    opened = (
        prompted & ~abandon & (_dice(streams, tick, persons, k, _FRICTION_OPEN) < open_probability)
    )
    out = replace(responses, share=responses.share & ~abandon, click=responses.click | opened)
    return FrictionOutcome(
        responses=out,
        prompts=int(prompted.sum()),
        abandoned=int(abandon.sum()),
        opened=int(opened.sum()),
    )


@dataclass(frozen=True, slots=True)
class NudgeOutcome:
    """What the time-limit reminder did in one tick."""

    responses: Responses
    nudged: BoolArray  # (n_sessions,) the session met the reminder
    complied: BoolArray  # (n_sessions,) and ended there


def apply_time_nudge(
    responses: Responses,
    persons: IntArray,
    minutes_today: FloatArray,
    threshold_min: float,
    compliance: float,
    streams: Streams,
    tick: int,
) -> NudgeOutcome:
    """Remind people past ``threshold_min`` minutes today to stop; compliers end the session.

    The reminder appears at the first seen slot reached with the day's time at or past the
    threshold (so in every session of the day once the threshold is passed, as Instagram's daily
    limit does). A person complies with probability ``compliance``: that slot and the rest of
    the feed go unseen. Okeke et al. (2018) found a vibrating reminder past a self-set limit cut
    Facebook time by about 20%.

    Args:
        responses: the batch's responses.
        persons: who is in session, ``(n_sessions,)``.
        minutes_today: minutes each person has spent today before this tick, ``(n_people,)``.
        threshold_min: daily minutes after which the reminder is shown.
        compliance: chance that a reminded person stops.
        streams: random streams (``people.interventions``).
        tick: current tick.
    """
    dwell = responses.dwell_seconds
    before = minutes_today[persons][:, None] + (np.cumsum(dwell, axis=1) - dwell) / 60.0
    over = responses.seen & (before >= threshold_min)
    nudged: BoolArray = np.asarray(over.any(axis=1))
    first = np.argmax(over, axis=1)
    u = streams.uniform(PEOPLE_INTERVENTIONS, tick, persons, _NUDGE)
    complied = nudged & (u < compliance)
    cut = complied[:, None] & (np.arange(dwell.shape[1])[None, :] >= first[:, None])
    return NudgeOutcome(responses=_keep_seen(responses, responses.seen & ~cut), nudged=nudged,
                        complied=complied)  # fmt: skip
