"""Who posts what: original posts drawn from each person's traits.

Posting follows the average-reward model of Lindström et al. (2021, *Nat. Commun.* 12:1311):
people post faster when the running rate of social reward (likes) is high. The outrage in a
person's posts is their learned ``outrage_expression``, which social feedback reinforces (Brady
et al. 2021, *Sci. Adv.*). False posts are more novel than true ones (Vosoughi et al. 2018) and
more likely from credulous, partisan authors.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field
from scipy.special import ndtri

from feedlab.core.arrays import F64Array, FloatArray, IntArray
from feedlab.core.kernels import poisson_counts
from feedlab.core.params import Params
from feedlab.core.random import PEOPLE_CREATION, PEOPLE_POSTING, Streams
from feedlab.world.clock import rhythm
from feedlab.world.people import People


class CreationParams(Params):
    """How new posts are written.

    Attributes:
        reward_reference: likes per tick at which posting runs at its baseline rate.
        reward_elasticity: exponent of the posting rate on relative reward (0.5 = square root,
            as in the average-reward vigor model tau* ~ sqrt(C / R)).
        false_novelty_boost: extra novelty of false posts.
        outrage_noise: s.d. of a post's outrage around the author's expression.
        exclamations_per_outrage: extra exclamation marks per unit of outrage.
    """

    reward_reference: float = Field(0.05, gt=0)
    reward_elasticity: float = Field(0.5, ge=0, le=2)
    false_novelty_boost: float = Field(0.5, ge=0, le=1)
    outrage_noise: float = Field(0.2, ge=0)
    exclamations_per_outrage: float = Field(3.0, ge=0)


def poisson_quantile_reference(u: F64Array, mean: F64Array, max_count: int = 40) -> IntArray:
    """NumPy reference of :func:`poisson_quantile`: one pass over all elements per count."""
    pmf = np.exp(-mean.astype(np.float64))
    cdf = pmf.copy()
    count = np.zeros(u.shape, np.int64)
    for k in range(1, max_count + 1):  # one pass per count value, vectorized over posts
        below = cdf <= u
        if not below.any():
            break
        count += below
        pmf = pmf * mean / k
        cdf = cdf + pmf
    return count


def poisson_quantile(u: F64Array, mean: F64Array, max_count: int = 40) -> IntArray:
    """Inverse CDF of Poisson(``mean``) at ``u``, elementwise (counts capped at ``max_count``).

    Compiled: each element walks its own CDF until it passes ``u``, with the reference's
    arithmetic step for step (the ``exp`` is NumPy's), so the counts are identical.
    """
    u = np.asarray(u)
    if u.ndim != 1 or np.shape(mean) != u.shape:
        return poisson_quantile_reference(u, mean, max_count)
    first = np.exp(-np.asarray(mean, np.float64))
    return poisson_counts(
        np.ascontiguousarray(u, np.float64),
        np.ascontiguousarray(mean, np.float64),
        first,
        max_count,
    )


def _normal(u: FloatArray) -> FloatArray:
    return ndtri(np.clip(u, 1e-12, 1 - 1e-12)).astype(np.float32)


def draw_posts(
    people: People,
    params: CreationParams,
    false_rate: float,
    slant_noise: float,
    hour: float,
    tick_hours: float,
    streams: Streams,
    tick: int,
    activity: FloatArray | None = None,
) -> dict[str, np.ndarray]:
    """Draw the original posts written during one tick.

    ``activity`` is ``rhythm(hour, people.phase_hours)`` when the caller has it already.

    Counts come from one Poisson draw per person (shape fixed by ``n_people``); each post's
    content comes from counter-based uniforms keyed by (author, post index), so a person writes
    the same post under every arm whenever their posting count agrees.

    Returns:
        Fields for :meth:`feedlab.world.posts.Posts.append` (without ids and cascade fields),
        one entry per post.
    """
    relative_reward = (people.reward_rate + params.reward_reference) / params.reward_reference
    rate = (
        people.posts_per_day
        * (tick_hours / 24.0)
        * (rhythm(hour, people.phase_hours) if activity is None else activity)
        * np.power(relative_reward, params.reward_elasticity)
    )
    # Inversion of one counter-based uniform per person: a person's count depends on their own
    # rate alone, so a change elsewhere in the society never shifts anyone else's draws.
    counts = poisson_quantile(
        streams.uniform(PEOPLE_POSTING, tick, np.arange(people.n_people)), rate
    )
    author: IntArray = np.repeat(np.arange(people.n_people, dtype=np.int64), counts)
    n = author.size
    if n == 0:
        return {"author": author.astype(np.int32)}
    first = np.cumsum(counts) - counts
    index = np.arange(n) - np.repeat(first, counts)
    u = streams.uniform(PEOPLE_CREATION, tick, author[:, None], index[:, None], np.arange(10))

    taste = people.interest[author]
    cum = np.cumsum(taste, axis=1)
    cum /= cum[:, -1:]
    topic_a = (cum < u[:, 0:1]).sum(axis=1).astype(np.int32)
    topic_b = (cum < u[:, 1:2]).sum(axis=1).astype(np.int32)
    topic_a = np.minimum(topic_a, people.n_topics - 1)
    topic_b = np.minimum(topic_b, people.n_topics - 1)

    leaning = np.clip(people.leaning[author] + 0.15 * _normal(u[:, 2]), -1, 1)
    outrage = np.clip(
        people.outrage_expression[author] + params.outrage_noise * _normal(u[:, 3]), 0, 1
    )
    extremity = np.abs(people.leaning[author])
    p_false = false_rate * (0.4 + 1.2 * people.credulity[author] + 0.6 * extremity)
    is_false = u[:, 4] < p_false
    novelty = np.clip(0.4 + 0.18 * _normal(u[:, 5]) + params.false_novelty_boost * is_false, 0, 1)
    quality = np.clip(0.55 + 0.18 * _normal(u[:, 6]) - 0.15 * is_false, 0, 1)
    mean_excl = people.punctuation[author] + params.exclamations_per_outrage * outrage
    exclamations = poisson_quantile(u[:, 7], mean_excl)
    slant = np.clip(leaning + slant_noise * _normal(u[:, 8]), -1, 1)
    return original_fields(
        author, topic_a, topic_b, 0.5 + 0.5 * u[:, 9], leaning, slant, outrage, is_false,
        novelty, quality, exclamations,
    )  # fmt: skip


def original_fields(
    author: IntArray,
    topic_a: IntArray,
    topic_b: IntArray,
    topic_weight: FloatArray,
    leaning: FloatArray,
    slant: FloatArray,
    outrage: FloatArray,
    is_false: np.ndarray,
    novelty: FloatArray,
    quality: FloatArray,
    exclamations: IntArray,
) -> dict[str, np.ndarray]:
    """Fields of new original posts for :meth:`feedlab.world.posts.Posts.append`, typed."""
    return {
        "author": author.astype(np.int32),
        "root_author": author.astype(np.int32),
        "depth": np.zeros(author.size, np.int32),
        "topic_a": topic_a.astype(np.int32),
        "topic_b": topic_b.astype(np.int32),
        "topic_weight": topic_weight.astype(np.float32),
        "leaning": leaning.astype(np.float32),
        "slant": slant.astype(np.float32),
        "outrage": outrage.astype(np.float32),
        "is_false": is_false.astype(bool),
        "novelty": novelty.astype(np.float32),
        "quality": quality.astype(np.float32),
        "exclamations": exclamations.astype(np.int32),
    }
