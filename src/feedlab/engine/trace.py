"""Tracing: what a few chosen people were shown, why, what they did, and what the platform believes.

A :class:`Tracer` is attached to a run's :class:`~feedlab.engine.step.Setup` (``trace=``). Each
tick it keeps, for the tracked people who opened the app, the feed they were served with the
model's predictions and the facts the ranker used (:class:`~feedlab.engine.explain.FeedFacts`),
what they did with each post, and what each post truly was. At each midnight it keeps their
true traits beside the platform's ``estimated_*`` (with standard errors), what the platform has
collected about them and how accurate its model of them is, plus a histogram of everyone's
leaning (the polarization picture).

Tracing only reads: the run's results are identical with and without it (tested). When no
tracer is attached the step does one ``is None`` check per tick.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from feedlab.engine.explain import FeedFacts
from feedlab.platform.estimator import p_engage
from feedlab.platform.observe import LOGGED_ACTIONS, PostView, observe_posts

if TYPE_CHECKING:
    from feedlab.behaviour.choice import Responses
    from feedlab.engine.step import Setup
    from feedlab.platform.estimator import PersonModel
    from feedlab.platform.state import PlatformState, Served
    from feedlab.world.people import People
    from feedlab.world.posts import Posts
    from feedlab.world.world import World

FactSource = Callable[[int, int, "Served"], Any]
"""(tick, session row, served feeds) -> a fact kept in ``FeedFacts.extra``."""

LEANING_BINS = 20
"""Bins of the leaning histogram over [-1, 1]."""

RESPONSE_ACTIONS = ("click", "like", "share", "reply", "hide", "follow")
"""What a person can do with an impression (besides seeing it and dwelling)."""


@dataclass(frozen=True, slots=True)
class FeedTrace:
    """One session of one tracked person: the feed, why, what the posts were, what they did.

    Attributes:
        facts: what the ranker knew (feed order).
        seen: whether each slot was seen, ``(k,)`` bool.
        actions: each of :data:`RESPONSE_ACTIONS` per slot, ``(k, 6)`` bool.
        dwell_seconds: seconds spent on each slot, ``(k,)``.
        topic: each post's main topic, ``(k,)``.
        leaning: each post's true slant, ``(k,)``.
        outrage: each post's true outrage, ``(k,)``.
        is_false: each post's veracity (True = false news), ``(k,)`` bool.
        depth: reshare hops from the original, ``(k,)``.
    """

    facts: FeedFacts
    seen: np.ndarray
    actions: np.ndarray
    dwell_seconds: np.ndarray
    topic: np.ndarray
    leaning: np.ndarray
    outrage: np.ndarray
    is_false: np.ndarray
    depth: np.ndarray


@dataclass(frozen=True, slots=True)
class PersonDay:
    """One tracked person at the end of one day.

    Attributes:
        day: the day's number, counted from the first simulated day (warm-up included), 1-based.
        true: the person's true traits (ground truth, which the platform never sees).
        inferred: the platform's estimate of each trait, as ``(value, standard error or None)``.
        collected: what the platform has logged about the person.
        accuracy: how close the platform's model is, for this person.
        minutes: minutes the person spent in the app that day.
        targeting: what the platform could target the person by (its inferred segments).
    """

    day: int
    true: dict[str, float]
    inferred: dict[str, tuple[float, float | None]]
    collected: dict[str, float]
    accuracy: dict[str, float]
    minutes: float
    targeting: dict[str, Any]


@dataclass
class Tracer:
    """Record feeds, responses and beliefs of the people in ``persons``.

    Attributes:
        persons: ids of the tracked people.
        feeds: per tracked person, every session served to them, in tick order.
        days: per tracked person, one :class:`PersonDay` per simulated day.
        leaning_histogram: per simulated day, everyone's leaning in :data:`LEANING_BINS` bins.
        fact_sources: extra facts to keep with each traced feed, by name (an ads stage may keep
            what each slot's advertiser paid); each is called as ``fn(tick, row, served)`` with
            the session's row in ``served`` and its result lands in ``FeedFacts.extra[name]``,
            where explanation line sources read it.
    """

    persons: np.ndarray
    feeds: dict[int, list[FeedTrace]] = field(default_factory=dict)
    days: dict[int, list[PersonDay]] = field(default_factory=dict)
    leaning_histogram: list[list[int]] = field(default_factory=list)
    fact_sources: dict[str, FactSource] = field(default_factory=dict)
    _minutes: dict[int, float] = field(default_factory=dict)
    _scored: dict[int, list[tuple[float, bool]]] = field(default_factory=dict)
    _impressions: dict[int, int] = field(default_factory=dict)

    @classmethod
    def of(cls, persons: Iterable[int]) -> Tracer:
        """A tracer for ``persons`` (duplicates dropped)."""
        ids = np.unique(np.fromiter(persons, np.int64))
        tracer = cls(persons=ids)
        for p in ids.tolist():
            tracer.feeds[p] = []
            tracer.days[p] = []
            tracer._minutes[p] = 0.0
            tracer._scored[p] = []
            tracer._impressions[p] = 0
        return tracer

    def record(
        self,
        tick: int,
        setup: Setup,
        world: World,
        people: People,
        platform: PlatformState,
        persons: np.ndarray,
        served: Served,
        responses: Responses,
    ) -> None:
        """Keep this tick's feeds of tracked people; at midnight, their day and the histogram.

        Args:
            tick: the tick just simulated.
            setup: the run's fixed parts.
            world: the world at the start of the tick (its post ring is current).
            people: the people after this tick's drift.
            platform: the platform's state after it learned from the tick.
            persons: who was in session, ``(n_sessions,)``.
            served: their feeds.
            responses: what they did.
        """
        model = platform.model
        view = observe_posts(world.posts)
        rows = np.flatnonzero(np.isin(persons, self.persons))
        if rows.size:
            self._record_feeds(tick, rows, persons, served, responses, view, world.posts, model)
        if world.clock.is_day_end(tick):
            noise = setup.platform.estimator.leaning_noise
            self._record_day(world.clock.day(tick) + 1, people, model, noise)

    def _record_feeds(
        self,
        tick: int,
        rows: np.ndarray,
        persons: np.ndarray,
        served: Served,
        responses: Responses,
        view: PostView,
        posts: Posts,
        model: PersonModel,
    ) -> None:
        engage = p_engage(served.predictions[rows])  # (r, k)
        for i, row in enumerate(rows.tolist()):
            person = int(persons[row])
            slots = served.slots[row]
            shown = slots >= 0
            safe = np.maximum(slots, 0)
            roots = view.slots_of(view.root[safe])
            popularity = model.engagements(roots)
            facts = FeedFacts(
                tick=tick,
                person=person,
                post_ids=served.post_ids[row].copy(),
                predictions=served.predictions[row].copy(),
                in_network=served.in_network[row].copy(),
                authors=np.where(shown, view.author[safe], -1).astype(np.int64),
                created=np.where(shown, view.created[safe], -1).astype(np.int64),
                popularity=np.where(shown, popularity, 0.0).astype(np.float32),
                extra={name: fn(tick, row, served) for name, fn in self.fact_sources.items()},
            )
            actions = np.stack([responses.action(a)[row] for a in RESPONSE_ACTIONS], axis=1)
            self.feeds[person].append(
                FeedTrace(
                    facts=facts,
                    seen=responses.seen[row].copy(),
                    actions=actions.copy(),
                    dwell_seconds=responses.dwell_seconds[row].copy(),
                    topic=np.where(shown, posts.topic_a[safe], -1),
                    leaning=np.where(shown, posts.leaning[safe], 0.0),
                    outrage=np.where(shown, posts.outrage[safe], 0.0),
                    is_false=shown & posts.is_false[safe],
                    depth=np.where(shown, posts.depth[safe], 0),
                )
            )
            seen = responses.seen[row]
            engaged = np.asarray(actions[:, :4].any(axis=1), bool)
            self._minutes[person] += float(responses.dwell_seconds[row].sum()) / 60.0
            self._impressions[person] += int(seen.sum())
            self._scored[person].extend(
                zip(engage[i][seen].tolist(), engaged[seen].tolist(), strict=True)
            )

    def _record_day(
        self, day: int, people: People, model: PersonModel, leaning_noise: float
    ) -> None:
        counts, _ = np.histogram(people.leaning, bins=LEANING_BINS, range=(-1.0, 1.0))
        self.leaning_histogram.append(counts.astype(int).tolist())
        ids = self.persons
        if ids.size == 0:
            return
        est_leaning = model.estimated_leaning(ids)
        se_leaning = model.estimated_leaning_se(leaning_noise)[ids]
        est_outrage = model.estimated_outrage_susceptibility(ids)
        se_outrage = model.estimated_outrage_susceptibility_se()[ids]
        est_interest = model.estimated_interest(ids)
        risk = model.estimated_wellbeing_risk()[ids]
        for i, person in enumerate(ids.tolist()):
            true_interest = people.interest[person]
            scored = self._scored[person]
            brier = (
                float(np.mean([(p - float(y)) ** 2 for p, y in scored])) if scored else float("nan")
            )
            actions_logged = float(model.action_counts[person].sum())
            top_true = np.argsort(-true_interest, kind="stable")[:3]
            top_est = np.argsort(-est_interest[i], kind="stable")[:3]
            self.days[person].append(
                PersonDay(
                    day=day,
                    true={
                        "leaning": float(people.leaning[person]),
                        "outrage_susceptibility": float(people.outrage_susceptibility[person]),
                        "affect_out": float(people.affect_out[person]),
                        "wellbeing": float(people.wellbeing[person]),
                        "habit": float(people.habit[person]),
                        "credulity": float(people.credulity[person]),
                    },
                    inferred={
                        "leaning": (float(est_leaning[i]), float(se_leaning[i])),
                        "outrage_susceptibility": (float(est_outrage[i]), float(se_outrage[i])),
                        "wellbeing_risk": (float(risk[i]), None),
                    },
                    collected={
                        "impressions_logged": float(model.impressions[person]),
                        "actions_logged": actions_logged,
                        "minutes_logged": float(model.minutes[person]),
                        "slant_observations": float(model.leaning_weight[person]),
                        "impressions_seen_total": float(self._impressions[person]),
                    },
                    accuracy={
                        "leaning_error": abs(float(est_leaning[i] - people.leaning[person])),
                        "outrage_error": abs(
                            float(est_outrage[i] - people.outrage_susceptibility[person])
                        ),
                        "interest_correlation": _correlation(est_interest[i], true_interest),
                        "top_topics_overlap": len(set(top_true.tolist()) & set(top_est.tolist()))
                        / 3.0,
                        "engage_brier_today": brier,
                    },
                    minutes=self._minutes[person],
                    targeting={
                        "top_topics": top_est.tolist(),
                        "side": "left"
                        if est_leaning[i] < -0.2
                        else "right"
                        if est_leaning[i] > 0.2
                        else "centre",
                        "outrage_responsive": bool(est_outrage[i] > 0.6),
                        "heavy_or_late_user": bool(risk[i] > 0.5),
                    },
                )
            )
            self._minutes[person] = 0.0
            self._scored[person] = []

    def feed_at(self, person: int, tick: int) -> FeedTrace | None:
        """The session served to ``person`` at ``tick``, or None."""
        return next((f for f in self.feeds.get(person, []) if f.facts.tick == tick), None)


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation of two vectors (nan if either is constant)."""
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    if a.std() == 0 or b.std() == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def action_names() -> tuple[str, ...]:
    """The logged actions, in the order of a feed's prediction columns."""
    return LOGGED_ACTIONS
