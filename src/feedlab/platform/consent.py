"""Consent: people who opt out of tracking, and what the platform may then log about them.

Under the GDPR's consent rules and Apple's App Tracking Transparency (2021), a person may refuse
behavioural tracking. For them the platform keeps only what they explicitly do — clicks, likes,
shares, replies, hides, follows — and drops the passive signals: dwell time and the long-dwell
event, and with them the minutes and late-night usage that its well-being risk score and the
life-state criteria of :mod:`feedlab.platform.targeting` are built from. Its model of them is
correspondingly weaker (Johnson, Shriver & Du 2020, "Consumer privacy choice in online
advertising: who opts out and at what cost to industry?", *Marketing Science* 39(1)).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from pydantic import Field

from feedlab.core.arrays import BoolArray
from feedlab.core.params import Params
from feedlab.platform.observe import LOGGED_ACTIONS, ImpressionLog

LONG_DWELL = LOGGED_ACTIONS.index("long_dwell")


class ConsentParams(Params):
    """Tracking consent.

    Attributes:
        enabled: let people opt out and record metrics by consent group.
        opt_out_share: share of people who opt out of tracking.
    """

    enabled: bool = False
    opt_out_share: float = Field(0.3, ge=0, le=1)


def redact(log: ImpressionLog, opted_out: BoolArray) -> ImpressionLog:
    """The log with passive signals removed for sessions of people who opted out.

    Args:
        log: the tick's full log.
        opted_out: who opted out of tracking, ``(n_people,)``.
    """
    rows = opted_out[log.persons]
    if not rows.any():
        return log
    dwell = np.where(rows[:, None], np.float32(0.0), log.dwell_seconds).astype(np.float32)
    actions = log.actions.copy()
    actions[rows, :, LONG_DWELL] = False
    return replace(log, dwell_seconds=dwell, actions=actions)
