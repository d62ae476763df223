"""Why a post was shown: a feed's score broken into the terms that produced it.

An explanation is a list of :class:`ExplanationLine` per shown post. The ranker's own part
comes from the explainer registered for its type (for :class:`~feedlab.platform.rankers.builtin.
Engagement`: each action's predicted probability times its weight, the out-of-network scale and
the author-diversity discount, read from the ranker's public weights, so the ranker's code is
untouched). Further line sources — ads and what the advertiser paid, interventions applied —
are added with :func:`add_line_source` and are appended after the ranker's lines.

The breakdown follows the ranker's scoring as published in Twitter's home-mixer
(``the-algorithm-ml/projects/home/recap/README.md``, 2023-04-05; ``AuthorBasedListwiseRescoringProvider``
and ``OONTweetScalingScorer`` in ``the-algorithm/home-mixer``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from feedlab.core.arrays import FloatArray, IntArray
from feedlab.platform.observe import LOGGED_ACTIONS
from feedlab.platform.rankers.builtin import Chronological, Engagement, Popularity, Random


@dataclass(frozen=True, slots=True)
class ExplanationLine:
    """One term of a post's explanation.

    Attributes:
        kind: ``action`` (probability x weight), ``boost``, ``penalty``, ``rule`` (how the
            policy orders posts), ``score`` (the total), or a kind a line source adds (``ad``,
            ``intervention``).
        label: a short name, e.g. ``P(reply) x 13.5``.
        value: the term's contribution to the score, or None for a line that is only text.
        detail: one sentence a reader can follow.
    """

    kind: str
    label: str
    value: float | None
    detail: str

    def to_dict(self) -> dict[str, Any]:
        """The line as JSON-ready values."""
        return {"kind": self.kind, "label": self.label, "value": self.value, "detail": self.detail}


@dataclass(frozen=True, slots=True)
class FeedFacts:
    """What the platform knew about one served feed when it ranked it (feed order, best first).

    Attributes:
        tick: the tick it was served.
        person: who it was served to.
        post_ids: ids shown, ``(k,)`` uint32, 0 = empty slot.
        predictions: predicted probability of each logged action, ``(k, len(LOGGED_ACTIONS))``.
        in_network: whether each post came from an account the person follows, ``(k,)`` bool.
        authors: the author of each post, ``(k,)`` int.
        created: the tick each post was created, ``(k,)`` int.
        popularity: engagements the platform has logged on each post's cascade, ``(k,)``.
        extra: anything a line source recorded for this feed (ads, interventions), by name.
    """

    tick: int
    person: int
    post_ids: np.ndarray
    predictions: FloatArray
    in_network: np.ndarray
    authors: IntArray
    created: IntArray
    popularity: FloatArray
    extra: dict[str, Any]

    @property
    def shown(self) -> np.ndarray:
        """Which slots hold a post, ``(k,)`` bool."""
        return np.asarray(self.post_ids) != 0


RankerExplainer = Callable[[Any, FeedFacts], list[list[ExplanationLine]]]
"""(ranker, facts) -> lines for each slot of the feed."""

LineSource = Callable[[Any, FeedFacts], list[list[ExplanationLine]]]
"""(ranker, facts) -> extra lines for each slot (empty lists where it has nothing to say)."""

_RANKER_EXPLAINERS: dict[type, RankerExplainer] = {}
_LINE_SOURCES: list[LineSource] = []


def register_ranker_explainer(ranker_type: type) -> Callable[[RankerExplainer], RankerExplainer]:
    """Decorator: ``fn`` explains feeds ranked by rankers of ``ranker_type``."""

    def add(fn: RankerExplainer) -> RankerExplainer:
        _RANKER_EXPLAINERS[ranker_type] = fn
        return fn

    return add


def add_line_source(source: LineSource) -> None:
    """Append ``source``'s lines to every explanation (ads, interventions); idempotent."""
    if source not in _LINE_SOURCES:
        _LINE_SOURCES.append(source)


def remove_line_source(source: LineSource) -> None:
    """Stop appending ``source``'s lines (no error if it was not added)."""
    if source in _LINE_SOURCES:
        _LINE_SOURCES.remove(source)


def explain_feed(ranker: Any, facts: FeedFacts) -> list[list[ExplanationLine]]:
    """Lines explaining each slot of a served feed: the ranker's terms, then every line source."""
    explainer = next(
        (fn for kind, fn in _RANKER_EXPLAINERS.items() if isinstance(ranker, kind)),
        _explain_unknown,
    )
    lines = explainer(ranker, facts)
    for source in _LINE_SOURCES:
        for slot, extra in enumerate(source(ranker, facts)):
            lines[slot].extend(extra)
    return lines


def engagement_scores(ranker: Engagement, facts: FeedFacts) -> np.ndarray:
    """Final score of each shown slot as the engagement ranker computed it, ``(k,)`` float64.

    The author discount counts the better-scored posts of the same author. Those always rank
    above the post (a higher raw score and a smaller discount), so they are exactly the
    same-author posts earlier in the feed.
    """
    raw = np.asarray(facts.predictions, np.float32) @ ranker.weights()
    scaled = np.where(facts.in_network, raw, raw * np.float32(ranker.out_of_network_scale))
    scaled = scaled.astype(np.float64)
    occurrence = _earlier_same_author(np.asarray(facts.authors), facts.shown)
    factor = (1.0 - ranker.author_diversity_floor) * np.power(
        ranker.author_diversity_decay, occurrence
    ) + ranker.author_diversity_floor
    final = np.where(scaled >= 0, scaled * factor, scaled / factor)
    return np.where(facts.shown, final, np.nan)


def _earlier_same_author(authors: np.ndarray, shown: np.ndarray) -> IntArray:
    """For each slot, how many earlier shown slots have the same author, ``(k,)`` int64."""
    k = authors.shape[0]
    same = (authors[:, None] == authors[None, :]) & shown[None, :] & shown[:, None]
    earlier = np.tril(np.ones((k, k), bool), -1)
    return (same & earlier).sum(axis=1).astype(np.int64)


@register_ranker_explainer(Engagement)
def _explain_engagement(ranker: Engagement, facts: FeedFacts) -> list[list[ExplanationLine]]:
    weights = ranker.weights()
    occurrence = _earlier_same_author(np.asarray(facts.authors), facts.shown)
    final = engagement_scores(ranker, facts)
    out: list[list[ExplanationLine]] = []
    for slot in range(len(facts.post_ids)):
        if not facts.shown[slot]:
            out.append([])
            continue
        p = facts.predictions[slot]
        lines = [
            ExplanationLine(
                "action",
                f"P({action}) × {weights[a]:g}",
                float(p[a] * weights[a]),
                f"the model predicts {action} with probability {p[a]:.3f}; the policy weighs it {weights[a]:g}.",
            )
            for a, action in enumerate(LOGGED_ACTIONS)
        ]
        raw = float(np.float32(p @ weights))
        lines.append(
            ExplanationLine("score", "expected engagement", raw, "the sum of probability × weight.")
        )
        current = raw
        if not facts.in_network[slot]:
            scaled = raw * ranker.out_of_network_scale
            kind = "penalty" if scaled < raw else "boost"
            lines.append(
                ExplanationLine(
                    kind,
                    f"out of network × {ranker.out_of_network_scale:g}",
                    scaled - raw,
                    "you do not follow the author: it came from topic pools or trending.",
                )
            )
            current = scaled
        j = int(occurrence[slot])
        if j > 0:
            lines.append(
                ExplanationLine(
                    "penalty",
                    f"author diversity ({j} earlier)",
                    float(final[slot]) - current,
                    f"the author already has {j} better-scored post(s) in this feed.",
                )
            )
        lines.append(
            ExplanationLine(
                "score", "final score", float(final[slot]), "feeds show the top scores."
            )
        )
        out.append(lines)
    return out


def _rule_lines(
    facts: FeedFacts, line: Callable[[int], ExplanationLine]
) -> list[list[ExplanationLine]]:
    """One rule line per shown slot (rankers that use no prediction)."""
    return [[line(slot)] if facts.shown[slot] else [] for slot in range(len(facts.post_ids))]


@register_ranker_explainer(Chronological)
def _explain_chronological(ranker: Chronological, facts: FeedFacts) -> list[list[ExplanationLine]]:
    return _rule_lines(
        facts,
        lambda slot: ExplanationLine(
            "rule",
            "newest first, followed accounts only",
            float(facts.created[slot]),
            f"posted at tick {int(facts.created[slot])} by an account you follow; no prediction is used.",
        ),
    )


@register_ranker_explainer(Popularity)
def _explain_popularity(ranker: Popularity, facts: FeedFacts) -> list[list[ExplanationLine]]:
    return _rule_lines(
        facts,
        lambda slot: ExplanationLine(
            "rule",
            "most-engaged cascades first",
            float(facts.popularity[slot]),
            f"{facts.popularity[slot]:.0f} engagements logged on this cascade by the end of the tick; the same for everyone.",
        ),
    )


@register_ranker_explainer(Random)
def _explain_random(ranker: Random, facts: FeedFacts) -> list[list[ExplanationLine]]:
    return _rule_lines(
        facts,
        lambda slot: ExplanationLine(
            "rule", "random order", None, "a random pick among the candidates."
        ),
    )


def _explain_unknown(ranker: Any, facts: FeedFacts) -> list[list[ExplanationLine]]:
    name = type(ranker).__name__
    out: list[list[ExplanationLine]] = []
    for slot in range(len(facts.post_ids)):
        if not facts.shown[slot]:
            out.append([])
            continue
        p = facts.predictions[slot]
        lines = [
            ExplanationLine(
                "rule", f"ranked by {name}", None, "this policy has no score breakdown."
            )
        ]
        lines.extend(
            ExplanationLine("prediction", f"P({action})", float(p[a]), "what the model predicted.")
            for a, action in enumerate(LOGGED_ACTIONS)
        )
        out.append(lines)
    return out
