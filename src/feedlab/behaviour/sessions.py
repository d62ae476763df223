"""Who opens the app this tick.

The chance to open follows each person's base rate, their daily rhythm and their checking habit
(Allcott, Gentzkow & Song 2022: self-control problems drive about a third of use), and falls once
the day's time budget is spent unless habit is strong. Time spent is therefore an outcome of what
the feed does to the habit, not an input.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from feedlab.core.arrays import BoolArray, FloatArray
from feedlab.core.params import Params
from feedlab.core.random import PEOPLE_SESSIONS, Streams
from feedlab.world.clock import rhythm
from feedlab.world.people import People


class SessionParams(Params):
    """When people open the app.

    Attributes:
        habit_gain: how much a full-strength habit multiplies the open rate.
        budget_restraint: how strongly exceeding the daily budget suppresses opening
            (scaled by 1 - habit).
    """

    habit_gain: float = Field(1.5, ge=0)
    budget_restraint: float = Field(2.0, ge=0)


def open_app(
    people: People,
    params: SessionParams,
    hour: float,
    tick_hours: float,
    streams: Streams,
    tick: int,
    activity: FloatArray | None = None,
) -> BoolArray:
    """Whether each person opens the app during this tick, shape ``(n_people,)``.

    ``activity`` is ``rhythm(hour, people.phase_hours)`` when the caller has it already.

    One uniform per person per tick (shape fixed by ``n_people``) keeps the draw common across
    arms: two arms that leave a person's state equal give them the same session.
    """
    over = np.maximum(0.0, people.minutes_today / people.time_budget_min - 1.0)
    restraint = np.exp(-params.budget_restraint * over * (1.0 - people.habit))
    rate = (
        people.sessions_per_day
        * (tick_hours / 24.0)
        * (rhythm(hour, people.phase_hours) if activity is None else activity)
        * (1.0 + params.habit_gain * (people.habit - 0.4))
        * restraint
    )
    p_open = 1.0 - np.exp(-np.maximum(rate, 0.0))
    return streams.rng(PEOPLE_SESSIONS, tick).random(people.n_people) < p_open
