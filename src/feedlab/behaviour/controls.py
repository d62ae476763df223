"""How people set the feed controls a platform offers them (topics, following only, no outrage).

When a platform offers feed controls, only some people open the settings (defaults are sticky),
and those who do set them to what they *say* they want (Milli et al. 2023: stated preferences
reject outrage and out-group hostility more than engagement does). A person who adopts the
controls here keeps the topics they truly care most about, switches off outrage with
``no_outrage_share`` and restricts the feed to accounts they follow with
``in_network_share``. The shares are assumptions to sweep, not measured rates.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pydantic import Field

from feedlab.core.arrays import BoolArray, FloatArray
from feedlab.core.params import Params
from feedlab.core.random import PEOPLE_CONTROLS, Streams
from feedlab.world.people import People


class ControlParams(Params):
    """Who sets feed controls, and how.

    Attributes:
        adoption: share of people who change the defaults at all.
        topics_kept: topics an adopter marks as wanted (their strongest true interests).
        other_topic_weight: weight the adopter's settings leave on every other topic.
        no_outrage_share: share of adopters who switch outrage off.
        in_network_share: share of adopters who ask for posts from followed accounts only.
    """

    adoption: float = Field(0.5, ge=0, le=1)
    topics_kept: int = Field(3, ge=1, le=256)
    other_topic_weight: float = Field(0.3, ge=0, le=1)
    no_outrage_share: float = Field(0.7, ge=0, le=1)
    in_network_share: float = Field(0.2, ge=0, le=1)


@dataclass(frozen=True, slots=True)
class Controls:
    """Each person's feed settings (neutral for people who never changed them)."""

    topic_weight: FloatArray  # (n_people, n_topics) float32 in [0, 1]; all 1 = no preference
    in_network_only: BoolArray  # (n_people,)
    no_outrage: BoolArray  # (n_people,)


def set_controls(people: People, params: ControlParams, streams: Streams) -> Controls:
    """The settings every person chooses once, when the controls are offered."""
    n, n_topics = people.n_people, people.n_topics
    u = streams.uniform(PEOPLE_CONTROLS, 0, np.arange(n)[:, None], np.arange(3)[None, :])
    adopt = u[:, 0] < params.adoption
    kept = min(params.topics_kept, n_topics)
    rank = np.argsort(np.argsort(-people.interest, axis=1, kind="stable"), axis=1)
    chosen = np.where(rank < kept, 1.0, params.other_topic_weight)
    topic_weight = np.where(adopt[:, None], chosen, 1.0).astype(np.float32)
    return Controls(
        topic_weight=topic_weight,
        in_network_only=adopt & (u[:, 1] < params.in_network_share),
        no_outrage=adopt & (u[:, 2] < params.no_outrage_share),
    )
