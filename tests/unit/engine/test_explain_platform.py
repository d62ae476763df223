"""Traced feeds explain the interventions that touched each post and the ads with their price."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from feedlab.engine.explain import explain_feed
from feedlab.engine.explain_platform import ADS_FACT, INTERVENTIONS_FACT
from feedlab.engine.run import CellStepper, run_cell
from feedlab.engine.trace import Tracer
from feedlab.experiments.config import load_config
from feedlab.experiments.runner import plan

CONFIG = """
name = "explain-platform"
days = 1
warmup_days = 1
seeds = 1
baseline = "plain"

[world]
n_people = 400

[world.people]
posts_per_day_median = 0.5
sessions_per_day_median = 5.0

[world.posts]
false_rate = 0.3

[platform.ads]
enabled = true
ad_load = 0.2

[[platform.ads.advertisers]]
name = "sneakers"
budget = 1000.0
bid = 0.6
topic = 1

[[platform.ads.advertisers]]
name = "soda-brand"
budget = 1000.0
bid = 0.3
topic = 3

[[arms]]
name = "plain"
platform = { ads = { ad_load = 0.0 } }

[[arms]]
name = "integrity"
interventions = [
  { name = "misinfo-label", recall = 1.0, delay_hours = 1, demotion = 0.2 },
  { name = "hostility-demotion", factor = 0.5, min_exclamations = 1, min_slant = 0.1 },
  { name = "circuit-breaker", cap = 3 },
  { name = "hidden-likes" },
]
"""

TRACKED = range(0, 400, 10)


@pytest.fixture(scope="module")
def cells(tmp_path_factory: pytest.TempPathFactory):
    path = Path(tmp_path_factory.mktemp("cfg")) / "explain-platform.toml"
    path.write_text(CONFIG)
    return plan(load_config(str(path)))


@pytest.fixture(scope="module")
def traced(cells):
    """The integrity arm with ads, stepped with a tracer on 40 people."""
    tracer = Tracer.of(TRACKED)
    stepper = CellStepper(cells[1], tracer=tracer)
    while not stepper.done:
        stepper.advance()
    return stepper, tracer


def _same_rows(a, b) -> bool:
    return len(a) == len(b) and all(
        x[:4] == y[:4] and (x[4] == y[4] or (math.isnan(x[4]) and math.isnan(y[4])))
        for x, y in zip(a, b, strict=True)
    )


def test_rows_are_identical_with_and_without_tracing_under_interventions_and_ads(cells, traced):
    stepper, _ = traced
    reference = run_cell(cells[1])
    assert _same_rows(stepper.rows, reference)
    assert any(r[3].startswith("ad") and r[4] > 0 for r in reference)  # ads were on


def _feeds(tracer: Tracer):
    return [f for fs in tracer.feeds.values() for f in fs]


def test_labelled_demoted_and_held_posts_carry_their_intervention_lines(traced):
    stepper, tracer = traced
    labelled = hostile = held = 0
    for feed in _feeds(tracer):
        facts = feed.facts
        iv = facts.extra[INTERVENTIONS_FACT]
        lines = explain_feed(stepper.setup.ranker, facts)
        for slot in np.flatnonzero(facts.shown).tolist():
            kinds = [(line.kind, line.label) for line in lines[slot]]
            has_label = ("intervention", "fact-check label, demoted × 0.2") in kinds
            assert has_label == bool(iv["labelled"][slot])
            if has_label:  # fact-checkers never rate a true post false
                assert feed.is_false[slot]
                labelled += 1
            if ("intervention", "hostility demotion × 0.5") in kinds:
                assert iv["hostile"][slot]
                hostile += 1
            has_held = ("intervention", "held by the circuit breaker") in kinds
            assert has_held == bool(iv["held"][slot])
            held += has_held
            assert ("intervention", "like count hidden") in kinds
    assert labelled > 0
    assert hostile > 0
    assert held > 0  # a cap of 3 reshares holds cascades within the day


def test_an_ad_line_shows_the_advertiser_and_the_price_per_click(traced):
    stepper, tracer = traced
    n_ads = clicked = 0
    for feed in _feeds(tracer):
        ads = feed.facts.extra[ADS_FACT] or []
        lines = explain_feed(stepper.setup.ranker, feed.facts)
        for ad in ads:
            assert ad["advertiser"] in {"sneakers", "soda-brand"}
            assert 0 < ad["price_per_click"] <= ad["bid"] + 1e-9
            assert ad["charged"] == (ad["price_per_click"] if ad["clicked"] else 0.0)
            assert ad["seen"] or not ad["clicked"]
            label = f"ad by {ad['advertiser']} at {ad['price_per_click']:.2f} per click"
            assert label in [line.label for line in lines[ad["position"]] if line.kind == "ad"]
            n_ads += 1
            clicked += ad["clicked"]
    assert n_ads > 0
    assert clicked > 0


def test_a_plain_arm_adds_no_intervention_or_ad_lines(cells):
    tracer = Tracer.of(TRACKED)
    stepper = CellStepper(cells[0], tracer=tracer)
    stepper.advance_day()
    feeds = _feeds(tracer)
    assert feeds
    for feed in feeds:
        assert feed.facts.extra[INTERVENTIONS_FACT] is None
        assert feed.facts.extra[ADS_FACT] is None
        for lines in explain_feed(stepper.setup.ranker, feed.facts):
            assert all(line.kind not in ("intervention", "ad") for line in lines)
