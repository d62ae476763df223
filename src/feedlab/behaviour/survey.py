"""How people answer the platform's "was this post worth your time?" survey.

Facebook asks a random sample of people whether a post they saw was "worth your time" and
uses the answers in ranking; Milli et al. (2023; *PNAS Nexus* 2025) found that what people *say*
they value differs from what they engage with: readers did not prefer the angry, partisan and
out-group-hostile political posts that engagement ranking chose, though these drew engagement.
A person's answer here is therefore driven by what they would endorse on reflection - interest,
quality, agreement - and turned *down* by outrage, more so by outrage aimed at their side, and
by falsity they can recognize (1 - credulity).

The weights are assumptions, not estimates; they are parameters so their effect can be swept.
Their relative sizes follow the sources:

* outrage costs as much as interest match gains (2.0 each): the engagement ranker's extra
  anger (+0.47 SD) came with readers saying they did not want those political posts (Milli et
  al.), and a nationally representative US sample said that moral outrage and divisive content
  should *not* go viral (Rathje, Robertson, Brady & Van Bavel 2024, *Perspectives on
  Psychological Science*, n = 511);
* outrage from the other side costs 3.0 more (5.0 in all): out-group animosity is the
  strongest driver of engagement (Rathje, Van Bavel & van der Linden 2021, *PNAS*), yet what
  readers say they do not want - it made Milli et al.'s readers feel worse about their
  out-group, and ranking by their stated preferences showed less of it;
* agreement counts (1.0, up from a mild 0.6): ranking by those stated preferences also raised
  the share of pro-attitudinal posts (Milli et al.).

With the earlier, milder penalties (outrage 1.0, hostility 1.5, agreement 0.6) simulated people
said they valued the partisan posts engagement ranking picks *more* than the chronological
feed's, against Milli et al.; ``feedlab validate`` checks this (``docs/validation.md``, finding 3).

The answer is drawn from a counter-based die keyed by (person, feed slot): a person meets the
same die under every arm (common random numbers).
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from feedlab.behaviour.choice import interest_match
from feedlab.core.arrays import FloatArray, IntArray
from feedlab.core.params import Params
from feedlab.core.random import PEOPLE_SURVEY, Streams
from feedlab.world.people import People
from feedlab.world.posts import Posts


class SurveyParams(Params):
    """Log-odds of answering "worth my time" (only the platform's survey asks).

    Attributes:
        base: intercept.
        interest_weight: effect of interest match.
        quality_weight: effect of the post's quality.
        agreement_weight: effect of agreement with the post's leaning.
        outrage_weight: effect of the post's outrage (negative: people say they do not want it).
        hostility_weight: extra effect of outrage from the other side (out-group animosity).
        falsity_weight: effect of a false post, times the person's discernment (1 - credulity).
    """

    base: float = -0.5
    interest_weight: float = Field(2.0, ge=0)
    quality_weight: float = Field(1.5, ge=0)
    agreement_weight: float = Field(1.0, ge=0)
    outrage_weight: float = Field(2.0, ge=0)
    hostility_weight: float = Field(3.0, ge=0)
    falsity_weight: float = Field(1.5, ge=0)


def answer_worth(
    people: People,
    posts: Posts,
    persons: IntArray,
    feed_slots: IntArray,
    post_slots: IntArray,
    params: SurveyParams,
    streams: Streams,
    tick: int,
) -> FloatArray:
    """Each respondent's answer (1 = worth my time, 0 = not) about one post they saw.

    Args:
        people: true state of everyone.
        posts: the live posts (ground truth).
        persons: the respondents, ``(m,)``.
        feed_slots: the feed position each was asked about, ``(m,)`` (keys the die).
        post_slots: ring slot of the post each was asked about, ``(m,)``.
        params: answer model.
        streams: random streams.
        tick: current tick.
    """
    if persons.size == 0:
        return np.zeros(0, np.float32)
    worth = worth_probability(people, posts, persons, post_slots, params)
    u = streams.uniform(PEOPLE_SURVEY, tick, persons, feed_slots)
    return (u < worth).astype(np.float32)


def worth_probability(
    people: People, posts: Posts, persons: IntArray, post_slots: IntArray, params: SurveyParams
) -> FloatArray:
    """Probability that each person would call the post "worth my time" (shapes broadcast).

    ``persons`` is ``(m,)`` and ``post_slots`` ``(m,)`` or ``(m, k)``.
    """
    m = interest_match(people.interest, posts, persons, post_slots)
    col = persons.reshape(persons.shape + (1,) * (post_slots.ndim - persons.ndim))
    x = people.leaning[col]
    y = posts.leaning[post_slots]
    agree = 1.0 - np.abs(x - y)
    outrage = posts.outrage[post_slots]
    cross = (x >= 0) != (y >= 0)
    p = params
    logit = (
        p.base
        + p.interest_weight * m
        + p.quality_weight * posts.quality[post_slots]
        + p.agreement_weight * agree
        - p.outrage_weight * outrage
        - p.hostility_weight * outrage * cross
        - p.falsity_weight * posts.is_false[post_slots] * (1.0 - people.credulity[col])
    )
    return 1.0 / (1.0 + np.exp(-logit))
