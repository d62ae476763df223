"""Tracing reads without changing results, and explains feeds the way the ranker scored them."""

from __future__ import annotations

import math

import numpy as np
import pytest

from feedlab.engine.explain import (
    ExplanationLine,
    FeedFacts,
    add_line_source,
    engagement_scores,
    explain_feed,
    remove_line_source,
)
from feedlab.engine.run import CellStepper, run_cell
from feedlab.engine.trace import LEANING_BINS, Tracer
from feedlab.experiments.config import load_config
from feedlab.experiments.runner import plan
from feedlab.platform.rankers.builtin import Engagement


@pytest.fixture(scope="module")
def cells():
    config = load_config(
        "social-dilemma",
        [
            "world.n_people=400",
            "days=2",
            "seeds=1",
            "warmup_days=1",
            *(
                "world.people.posts_per_day_median=0.5",
                "world.people.sessions_per_day_median=5.0",
            ),
        ],
    )
    return plan(config)


@pytest.fixture(scope="module")
def traced(cells):
    """The engagement cell stepped with a tracer on 40 people."""
    tracer = Tracer.of(range(0, 400, 10))
    stepper = CellStepper(cells[0], tracer=tracer)
    while not stepper.done:
        stepper.advance()
    return stepper, tracer


def test_rows_are_identical_with_and_without_tracing(cells, traced):
    stepper, _ = traced
    plain = CellStepper(cells[0])
    while not plain.done:
        plain.advance()
    reference = run_cell(cells[0])
    assert same_rows(stepper.rows, reference)
    assert same_rows(plain.rows, reference)
    assert len(reference) > 10


def same_rows(a, b) -> bool:
    """Row lists equal value for value, NaN equal to NaN (some metrics are NaN on empty days)."""
    return len(a) == len(b) and all(
        x[:4] == y[:4] and (x[4] == y[4] or (math.isnan(x[4]) and math.isnan(y[4])))
        for x, y in zip(a, b, strict=True)
    )


def test_tracer_records_feeds_days_and_histogram(traced):
    _, tracer = traced
    assert len(tracer.leaning_histogram) == 3  # warm-up day + 2 recorded days
    assert all(sum(h) == 400 for h in tracer.leaning_histogram)
    assert all(len(h) == LEANING_BINS for h in tracer.leaning_histogram)
    n_feeds = sum(len(f) for f in tracer.feeds.values())
    assert n_feeds > 20
    for person, days in tracer.days.items():
        assert [d.day for d in days] == [1, 2, 3]
        assert set(days[-1].true) >= {"leaning", "wellbeing", "affect_out"}
        value, se = days[-1].inferred["leaning"]
        assert -1.0 <= value <= 1.0 and se is not None and se > 0
        for feed in tracer.feeds[person]:
            assert feed.facts.person == person
    # the platform's evidence only grows for someone who is served, and its SE shrinks
    active = max(tracer.feeds, key=lambda p: len(tracer.feeds[p]))
    days = tracer.days[active]
    assert days[-1].collected["impressions_seen_total"] > 0
    assert days[-1].inferred["leaning"][1] <= days[0].inferred["leaning"][1]


def test_engagement_explanation_reproduces_the_feed_order(traced):
    stepper, tracer = traced
    ranker = stepper.setup.ranker
    assert isinstance(ranker, Engagement)
    checked = 0
    for feeds in tracer.feeds.values():
        for feed in feeds:
            facts = feed.facts
            scores = engagement_scores(ranker, facts)[facts.shown]
            # a feed is the top-k of the final scores, best first
            assert np.all(np.diff(scores) <= 1e-4 * np.maximum(1.0, np.abs(scores[:-1])))
            lines = explain_feed(ranker, facts)
            for slot in np.flatnonzero(facts.shown):
                terms = [ln.value for ln in lines[slot] if ln.kind == "action"]
                expected = sum(terms)
                raw = next(ln.value for ln in lines[slot] if ln.label == "expected engagement")
                assert raw == pytest.approx(expected, rel=1e-4, abs=1e-5)
                final = lines[slot][-1]
                assert final.label == "final score"
                adjustments = sum(ln.value for ln in lines[slot] if ln.kind in ("boost", "penalty"))
                assert final.value == pytest.approx(raw + adjustments, rel=1e-4, abs=1e-5)
                checked += 1
    assert checked > 100


def test_a_line_source_adds_lines_to_every_shown_post(traced):
    stepper, tracer = traced
    feed = next(f for feeds in tracer.feeds.values() for f in feeds)

    def sponsor(ranker, facts: FeedFacts):
        return [
            [ExplanationLine("ad", "sponsored", 0.12, "the advertiser paid 0.12")] if shown else []
            for shown in facts.shown
        ]

    add_line_source(sponsor)
    try:
        lines = explain_feed(stepper.setup.ranker, feed.facts)
    finally:
        remove_line_source(sponsor)
    for slot, shown in enumerate(feed.facts.shown):
        assert any(ln.kind == "ad" for ln in lines[slot]) == bool(shown)
    plain = explain_feed(stepper.setup.ranker, feed.facts)
    assert not any(ln.kind == "ad" for slot in plain for ln in slot)


def test_author_diversity_penalty_appears_for_a_repeated_author():
    ranker = Engagement()
    predictions = np.full((3, 7), 0.1, np.float32)
    predictions[:, 4] = 0.0  # no predicted hides: positive scores are multiplied by the discount
    facts = FeedFacts(
        tick=5,
        person=1,
        post_ids=np.array([11, 12, 13], np.uint32),
        predictions=predictions,
        in_network=np.array([True, True, False]),
        authors=np.array([7, 7, 8]),
        created=np.array([1, 2, 3]),
        popularity=np.zeros(3, np.float32),
        extra={},
    )
    lines = explain_feed(ranker, facts)
    labels = [[ln.label for ln in slot] for slot in lines]
    assert not any(label.startswith("author diversity") for label in labels[0])
    assert any(label.startswith("author diversity (1 earlier)") for label in labels[1])
    assert any(label.startswith("out of network") for label in labels[2])
    scores = engagement_scores(ranker, facts)
    raw = float(predictions[0] @ ranker.weights())
    assert scores[1] == pytest.approx(raw * (0.75 * 0.5 + 0.25), rel=1e-5)
    assert scores[2] == pytest.approx(raw * 0.75, rel=1e-5)


def test_fact_sources_are_kept_with_each_traced_feed(cells):
    tracer = Tracer.of([0, 100, 200, 300])
    tracer.fact_sources["shown"] = lambda tick, row, served: int((served.slots[row] >= 0).sum())
    stepper = CellStepper(cells[0], tracer=tracer)
    stepper.advance_day()
    feeds = [f for fs in tracer.feeds.values() for f in fs]
    assert feeds
    for feed in feeds:
        assert feed.facts.extra["shown"] == int(feed.facts.shown.sum())


def test_a_released_stepper_keeps_rows_and_traces_but_not_the_world(cells):
    tracer = Tracer.of([1, 2, 3])
    stepper = CellStepper(cells[1], tracer=tracer)
    rows = stepper.advance_day()
    assert stepper.tick == stepper.ticks_per_day and not stepper.done
    stepper.release()
    assert stepper.done
    assert stepper.tracer is tracer and len(tracer.leaning_histogram) == 1
    assert rows == [] and stepper.day == 0  # the warm-up day closed, nothing recorded
    with pytest.raises(RuntimeError, match="already done"):
        stepper.advance()
    with pytest.raises(RuntimeError, match="released its state"):
        _ = stepper.state
