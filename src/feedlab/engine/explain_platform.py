"""Why am I seeing this, continued: the interventions that touched each post, and the ads.

Two fact sources keep, with every traced feed (:class:`~feedlab.engine.trace.Tracer`), what the
platform's interventions and its ad auction did to that feed, and two line sources
(:func:`~feedlab.engine.explain.add_line_source`) turn those facts into explanation lines:

* ``interventions``: for each slot, whether its cascade carries a fact-check label and the
  label's demotion factor (Facebook 2017: rated posts lose about 80% of their views; Clayton et
  al. 2020 on labels), whether the classifier read it as hostile to the viewer's side and its
  demotion factor (Piccardi et al. 2024), whether the virality circuit breaker held the cascade
  after this tick's reshares (Simpson & Conner 2020), and the feed-wide rules (hidden like
  counts, followed accounts only). Demotions multiply the post's reciprocal rank
  (``platform/interventions.py``), so a factor of 0.2 places a first-ranked post fifth.
* ``ads``: for each ad slot, the advertiser, the price per click set by the generalized
  second-price auction (Edelman, Ostrovsky & Schwarz 2007), whether the person saw and clicked
  it and what the advertiser was charged.

The facts are read from state the tick already computed and kept: the tick's
:class:`~feedlab.platform.interventions.InterventionRanker` (``Runtime.feed_ranker``) and its ad
slots (``Goals.last_ads``). Nothing here writes to the simulation, so results are identical with
tracing on or off (tested).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from feedlab.engine.explain import ExplanationLine, FeedFacts, add_line_source
from feedlab.engine.interventions import HiddenLikes
from feedlab.platform.interventions import matches_root
from feedlab.platform.observe import observe_posts

if TYPE_CHECKING:
    from feedlab.engine.step import Setup, SimState
    from feedlab.engine.trace import Tracer
    from feedlab.platform.state import Served

INTERVENTIONS_FACT = "interventions"
ADS_FACT = "ads"


def intervention_facts(
    state: Callable[[], SimState], setup: Setup
) -> Callable[[int, int, Served], dict[str, Any] | None]:
    """A fact source: what the interventions did to one traced feed (None without any).

    The result holds, per slot of the feed: ``labelled`` (bool), ``label_factor``,
    ``hostile`` (bool), ``hostility_factor``, ``held`` (bool); and feed-wide ``hidden_likes``
    and ``in_network_only``.
    """
    hidden_likes = setup.interventions.get(HiddenLikes) is not None

    def fact(tick: int, row: int, served: Served) -> dict[str, Any] | None:
        sim = state()
        rt = sim.extra
        ranker = rt.feed_ranker if rt is not None else None
        if ranker is None and not hidden_likes:
            return None
        slots = served.slots[row]
        k = slots.shape[0]
        out: dict[str, Any] = {
            "labelled": np.zeros(k, bool),
            "label_factor": 1.0,
            "hostile": np.zeros(k, bool),
            "hostility_factor": 1.0,
            "held": np.zeros(k, bool),
            "hidden_likes": hidden_likes,
            "in_network_only": False,
        }
        if ranker is None or rt is None:
            return out
        view = observe_posts(sim.world.posts)
        out["in_network_only"] = ranker.in_network_only
        if ranker.label_root is not None:
            out["labelled"] = matches_root(ranker.label_root, view, slots)
            out["label_factor"] = float(ranker.label_factor)
        if ranker.hostility is not None:
            rule = ranker.hostility
            safe = np.maximum(slots, 0)
            viewer = float(rule.viewer_leaning[int(served.persons[row])])
            slant = view.slant[safe]
            out["hostile"] = (
                (slots >= 0)
                & (view.exclamations[safe] >= rule.min_exclamations)
                & (np.abs(slant) >= rule.min_slant)
                & (slant * viewer < 0)
            )
            out["hostility_factor"] = float(rule.factor)
        if ranker.stopped_roots:
            out["held"] = matches_root(rt.platform.held_root, view, slots)
        return out

    return fact


def ad_facts(
    state: Callable[[], SimState], setup: Setup
) -> Callable[[int, int, Served], list[dict[str, Any]] | None]:
    """A fact source: the ad slots of one traced feed (None when ads are off or none was sold).

    Each ad slot is ``{position, advertiser, bid, price_per_click, seen, clicked, charged}``.
    """
    advertisers = setup.platform.ads.advertisers

    def fact(tick: int, row: int, served: Served) -> list[dict[str, Any]] | None:
        goals = state().goals
        ads = goals.last_ads if goals is not None else None
        if ads is None or ads.tick != tick or row >= ads.winner.shape[0]:
            return None
        out = []
        for w in np.flatnonzero((ads.winner[row] >= 0) & (ads.position[row] >= 0)).tolist():
            who = advertisers[int(ads.winner[row, w])]
            out.append(
                {
                    "position": int(ads.position[row, w]),
                    "advertiser": who.name,
                    "bid": float(who.bid),
                    "price_per_click": float(ads.price[row, w]),
                    "seen": bool(ads.seen[row, w]),
                    "clicked": bool(ads.clicked[row, w]),
                    "charged": float(ads.charge[row, w]),
                }
            )
        return out or None

    return fact


def attach(tracer: Tracer, state: Callable[[], SimState], setup: Setup) -> None:
    """Keep interventions' and ads' facts with ``tracer``'s feeds (``state`` returns the live state)."""
    tracer.fact_sources.setdefault(INTERVENTIONS_FACT, intervention_facts(state, setup))
    tracer.fact_sources.setdefault(ADS_FACT, ad_facts(state, setup))


def intervention_lines(ranker: Any, facts: FeedFacts) -> list[list[ExplanationLine]]:
    """A line source: one ``intervention`` line per intervention that touched each post."""
    k = len(facts.post_ids)
    out: list[list[ExplanationLine]] = [[] for _ in range(k)]
    iv = facts.extra.get(INTERVENTIONS_FACT)
    if not isinstance(iv, dict):
        return out
    for slot in np.flatnonzero(facts.shown).tolist():
        lines = out[slot]
        if iv["labelled"][slot]:
            f = iv["label_factor"]
            lines.append(
                ExplanationLine(
                    "intervention",
                    f"fact-check label, demoted × {f:g}",
                    None,
                    f"fact-checkers rated this cascade false: it carries a label and its rank weight "
                    f"was multiplied by {f:g}; the label also makes sharing it less likely.",
                )
            )
        if iv["hostile"][slot]:
            f = iv["hostility_factor"]
            lines.append(
                ExplanationLine(
                    "intervention",
                    f"hostility demotion × {f:g}",
                    None,
                    "the classifier read this post as outraged and slanted against your side; "
                    + (
                        "it was placed after every other candidate."
                        if f == 0
                        else f"its rank weight was multiplied by {f:g}."
                    ),
                )
            )
        if iv["held"][slot]:
            lines.append(
                ExplanationLine(
                    "intervention",
                    "held by the circuit breaker",
                    None,
                    "after this feed was served, the cascade reached its reshare cap and is now "
                    "held for review: it will not be shown or reshared until reviewed.",
                )
            )
        if iv["hidden_likes"]:
            lines.append(
                ExplanationLine(
                    "intervention",
                    "like count hidden",
                    None,
                    "you did not see how many people liked this post.",
                )
            )
        if iv["in_network_only"]:
            lines.append(
                ExplanationLine(
                    "intervention",
                    "followed accounts only",
                    None,
                    "this feed shows only posts of accounts you follow and their reshares.",
                )
            )
    return out


def ad_lines(ranker: Any, facts: FeedFacts) -> list[list[ExplanationLine]]:
    """A line source: an ``ad`` line on the slot where each ad was placed."""
    k = len(facts.post_ids)
    out: list[list[ExplanationLine]] = [[] for _ in range(k)]
    ads = facts.extra.get(ADS_FACT)
    for ad in ads if isinstance(ads, list) else []:
        price = ad["price_per_click"]
        if ad["clicked"]:
            outcome = f"you clicked it: {ad['advertiser']} paid {ad['charged']:.2f}."
        elif ad["seen"]:
            outcome = "you saw it and did not click: the advertiser paid nothing."
        else:
            outcome = "you did not scroll to it: the advertiser paid nothing."
        out[ad["position"]].append(
            ExplanationLine(
                "ad",
                f"ad by {ad['advertiser']} at {price:.2f} per click",
                None,
                f"an ad slot at position {ad['position'] + 1}: {ad['advertiser']} bid up to "
                f"{ad['bid']:.2f} per click and won the auction at {price:.2f} per click "
                f"(the price the next-ranked bid set); {outcome}",
            )
        )
    return out


add_line_source(intervention_lines)
add_line_source(ad_lines)
