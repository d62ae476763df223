"""The targeting inventory: what the platform's digital model lets an advertiser pick people by.

Meta's ad tools expose tens of thousands of targeting categories inferred from behaviour (the
"29,000 criteria" of ProPublica's 2016 collection; Speicher et al. 2018, "Potential for
discrimination in online targeted advertising", FAT*), and Facebook's own 2017 pitch to advertisers
described detecting when teenagers feel "insecure" or "worthless" (The Australian, 2017). Here each
person's inventory holds three kinds of inferred criteria, each with a confidence in [0, 1]:

* topic affinities: topics whose estimated engagement rate is high, confidence growing with the
  impressions logged on that topic;
* a leaning band (left, centre, right) from the inferred leaning and its standard error
  (confidence = posterior probability of the band under a normal error);
* life-state flags derived from usage patterns the platform logs: ``lonely_late_night`` (much
  late-night use and a high usage-based well-being risk), ``heavy_user``, ``outrage_prone`` and
  ``persuadable`` (near the centre politically).

A criterion is *held* when its condition is met with at least ``min_confidence``. Everything here
is computed from :class:`~feedlab.platform.estimator.PersonModel` alone; whether a criterion is
*true* is scored by the metrics layer, which may read the world.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydantic import Field
from scipy.special import ndtr

from feedlab.core.arrays import BoolArray, FloatArray, IntArray
from feedlab.core.params import Params
from feedlab.platform.estimator import PersonModel

FLAGS = ("lonely_late_night", "heavy_user", "outrage_prone", "persuadable")
"""Life-state flags of the inventory, in column order of :attr:`Inventory.flags`."""
Flag = Literal["lonely_late_night", "heavy_user", "outrage_prone", "persuadable"]
BANDS = ("left", "centre", "right")
"""Leaning bands; :attr:`Inventory.band` holds -1, 0, +1 for them."""
Band = Literal["any", "left", "centre", "right"]


class TargetingParams(Params):
    """How inferred criteria are derived from the digital model.

    Attributes:
        enabled: record the inventory metrics even when no ads are served.
        min_confidence: confidence at or above which a criterion is held.
        topic_threshold: estimated engagement rate (relative to the person's best topic) that
            makes a topic an affinity.
        topic_evidence: impressions on a topic that give its affinity confidence 1 - 1/e.
        centre_band: inferred leanings within this distance of 0 form the centre band.
        night_share: share of logged minutes between 23:00 and 05:00 that marks late-night use.
        risk_threshold: usage-based well-being risk that marks someone as struggling.
        heavy_ratio: logged minutes over the population median that mark a heavy user.
        minutes_evidence: logged minutes that give usage flags confidence 1 - 1/e.
        outrage_threshold: inferred outrage susceptibility that marks someone outrage-prone.
    """

    enabled: bool = False
    min_confidence: float = Field(0.6, ge=0, le=1)
    topic_threshold: float = Field(0.6, gt=0, le=1)
    topic_evidence: float = Field(15.0, gt=0)
    centre_band: float = Field(0.3, gt=0, lt=1)
    night_share: float = Field(0.2, ge=0, le=1)
    risk_threshold: float = Field(0.5, ge=0, le=1)
    heavy_ratio: float = Field(2.0, gt=0)
    minutes_evidence: float = Field(60.0, gt=0)
    outrage_threshold: float = Field(0.6, ge=0, le=1)


@dataclass(frozen=True, slots=True)
class Inventory:
    """Inferred criteria of a batch of people (rows follow ``persons``)."""

    persons: IntArray  # (n,)
    topic_held: BoolArray  # (n, n_topics) the topic is an affinity
    topic_confidence: FloatArray  # (n, n_topics) in [0, 1]
    band: IntArray  # (n,) -1 left, 0 centre, +1 right
    band_confidence: FloatArray  # (n,) posterior probability of that band
    flags: BoolArray  # (n, len(FLAGS)) condition met
    flag_confidence: FloatArray  # (n, len(FLAGS)) in [0, 1]
    min_confidence: float

    @property
    def topics(self) -> BoolArray:
        """Topic affinities held with enough confidence, ``(n, n_topics)``."""
        return self.topic_held & (self.topic_confidence >= self.min_confidence)

    @property
    def band_held(self) -> BoolArray:
        """Whether the leaning band is held with enough confidence, ``(n,)``."""
        return self.band_confidence >= self.min_confidence

    @property
    def flags_held(self) -> BoolArray:
        """Life-state flags held with enough confidence, ``(n, len(FLAGS))``."""
        return self.flags & (self.flag_confidence >= self.min_confidence)

    def count(self) -> IntArray:
        """Number of criteria held per person, ``(n,)``."""
        return (self.topics.sum(axis=1) + self.band_held + self.flags_held.sum(axis=1)).astype(
            np.int64
        )

    def matches(self, topics: list[int], band: Band, flags: list[Flag]) -> BoolArray:
        """Who an audience definition reaches: any of ``topics``, the band, all ``flags``.

        An empty ``topics`` list or ``band == "any"`` leaves that part unrestricted.
        """
        ok = np.ones(self.persons.shape[0], bool)
        if topics:
            ok &= self.topics[:, topics].any(axis=1)
        if band != "any":
            ok &= self.band_held & (self.band == BANDS.index(band) - 1)
        for flag in flags:
            ok &= self.flags_held[:, FLAGS.index(flag)]
        return ok


def inventory(
    model: PersonModel, persons: IntArray, params: TargetingParams, leaning_noise: float
) -> Inventory:
    """The inferred criteria of ``persons`` from the digital model alone.

    Args:
        model: the platform's model of people.
        persons: whose inventory to build, ``(n,)``.
        params: thresholds.
        leaning_noise: the estimator's assumed s.d. of one slant observation.
    """
    p = params
    interest = model.estimated_interest(persons)
    topic_conf = 1.0 - np.exp(-model.topic_shown[persons] / p.topic_evidence)

    lean = model.estimated_leaning(persons).astype(np.float64)
    se = (leaning_noise / np.sqrt(model.leaning_weight[persons] + 1.0)).astype(np.float64)
    c = p.centre_band
    left = ndtr((-c - lean) / se)
    right = ndtr((lean - c) / se)
    centre = np.clip(1.0 - left - right, 0.0, 1.0)
    band = np.where(lean < -c, -1, np.where(lean > c, 1, 0)).astype(np.int64)
    band_conf = np.choose(band + 1, [left, centre, right])

    minutes = model.minutes[persons].astype(np.float64)
    usage_conf = 1.0 - np.exp(-minutes / p.minutes_evidence)
    night = model.night_minutes[persons] / (minutes + 1.0)
    median = float(np.median(model.minutes)) + 1.0
    # the model's usage-based risk score (estimated_wellbeing_risk), for ``persons`` only
    heavy = minutes / median
    risk = 1.0 / (1.0 + np.exp(-(1.2 * (heavy - 1.5) + 4.0 * (night - 0.2))))
    outrage = model.estimated_outrage_susceptibility(persons)
    outrage_se = model.estimated_outrage_susceptibility_se()[persons]
    flags = np.stack(
        [
            (night >= p.night_share) & (risk >= p.risk_threshold),
            minutes / median >= p.heavy_ratio,
            outrage >= p.outrage_threshold,
            band == 0,
        ],
        axis=1,
    )
    flag_conf = np.stack(
        [usage_conf, usage_conf, np.clip(1.0 - 2.0 * outrage_se, 0.0, 1.0), centre], axis=1
    )
    return Inventory(
        persons=persons,
        topic_held=interest >= p.topic_threshold,
        topic_confidence=topic_conf.astype(np.float32),
        band=band,
        band_confidence=band_conf.astype(np.float32),
        flags=flags,
        flag_confidence=flag_conf.astype(np.float32),
        min_confidence=p.min_confidence,
    )
