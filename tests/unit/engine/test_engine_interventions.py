"""Interventions and bots in small simulations: mechanisms, metrics, determinism, config errors."""

from __future__ import annotations

import math
import os
import re
import tomllib

import numpy as np
import pytest

from feedlab.core.errors import ConfigError
from feedlab.core.random import PLATFORM_RANK
from feedlab.engine import interventions as iv
from feedlab.engine.run import MetricRow, run_cell, setup_for
from feedlab.engine.step import Setup, SimState, start, step
from feedlab.experiments.config import ExperimentConfig, load_config, validate_config
from feedlab.experiments.runner import plan
from feedlab.metrics.catalog import METRICS
from feedlab.metrics.goals import GOAL_METRICS
from feedlab.platform.observe import observe_posts
from feedlab.platform.state import Served, serve

N_PEOPLE = 1000
BUSY = ("world.people.posts_per_day_median=0.5", "world.people.sessions_per_day_median=5.0")

ARMS = (
    '[{name = "plain"}, {name = "empty", interventions = []},'
    ' {name = "label", interventions = [{name = "misinfo-label", recall = 1.0,'
    " delay_hours = 1, demotion = 0.0}]},"
    ' {name = "breaker", interventions = [{name = "circuit-breaker", cap = 3,'
    " window_hours = 336, review_hours = 336}]},"
    ' {name = "nudge", interventions = [{name = "time-limit-nudge", threshold_min = 3,'
    " compliance = 1.0}]},"
    ' {name = "removal", interventions = [{name = "bot-removal", delay_hours = 2}]},'
    ' {name = "in-network", interventions = [{name = "no-out-of-network"}]},'
    ' {name = "calm", interventions = [{name = "hostility-demotion"}]},'
    ' {name = "friction", interventions = [{name = "share-friction",'
    " abandon_probability = 1.0}]}]"
)


def _config(seed: int, *extra: str) -> ExperimentConfig:
    return load_config(
        "social-dilemma",
        [
            f"world.n_people={N_PEOPLE}",
            "days=2",
            "seeds=1",
            "warmup_days=0",
            f"root_seed={seed}",
            "adversaries.n_bots=20",
            *BUSY,
            f"arms={ARMS}",
            "baseline=",
            *extra,
        ],
    )


def _simulate(config: ExperimentConfig, arm: str) -> tuple[dict[str, list[float]], SimState]:
    cell = next(c for c in plan(config) if c.arm == arm)
    setup = setup_for(cell)
    state = start(setup)
    by_metric: dict[str, list[float]] = {}
    while state.tick < cell.days * state.world.clock.ticks_per_day:
        row = step(state, setup)
        for name, value in (row or {}).items():
            by_metric.setdefault(name, []).append(value)
    return by_metric, state


@pytest.fixture(scope="module")
def runs() -> dict[str, tuple[dict[str, list[float]], SimState]]:
    config = _config(int(os.environ.get("FEEDLAB_TEST_SEED", "42")))
    return {arm.name: _simulate(config, arm.name) for arm in config.arms}


def _serve_everyone(setup: Setup, state: SimState) -> Served:
    """Feeds for every human under the arm's interventions at the state's tick."""
    ranker = iv.feed_ranker(state.extra, setup.interventions, state.platform, setup.ranker)
    view = observe_posts(state.world.posts)
    lifetime = state.world.clock.ticks(setup.world.posts.lifetime_hours)
    persons = iv.in_session(state.extra, np.arange(N_PEOPLE))
    return serve(
        state.platform, view, persons, ranker, setup.platform,
        setup.streams.rng(PLATFORM_RANK, state.tick), state.tick, lifetime,
    )  # fmt: skip


def _same(a: list[MetricRow], b: list[MetricRow]) -> bool:
    return len(a) == len(b) and all(
        x[1:4] == y[1:4] and (x[4] == y[4] or (math.isnan(x[4]) and math.isnan(y[4])))
        for x, y in zip(a, b, strict=True)
    )


def test_every_catalog_metric_is_recorded(runs) -> None:
    metrics, _ = runs["plain"]
    assert set(metrics) == {m.name for m in METRICS} - set(GOAL_METRICS)  # goal blocks are off


def test_an_empty_list_of_interventions_is_the_plain_arm(runs) -> None:
    plain, empty = runs["plain"][0], runs["empty"][0]
    assert plain.keys() == empty.keys()
    for name in plain:
        assert np.array_equal(plain[name], empty[name], equal_nan=True), name


def test_bots_reach_people_and_drive_impressions(runs) -> None:
    metrics, state = runs["plain"]
    assert min(metrics["bot_reach_share"]) > 0.05
    assert 0 < min(metrics["bot_impressions_share"]) < 1
    assert math.isnan(metrics["removed_accounts_bot_share"][-1])  # nothing removed without it
    assert metrics["bots_removed_share"][-1] == 0.0
    bots = state.extra.bots
    assert bots.n_bots == 20
    assert state.tally.sessions[bots.ids].sum() == 0  # bots never scroll


def test_no_cascade_exceeds_the_breaker_cap_before_review(runs) -> None:
    metrics, state = runs["breaker"]
    posts = state.world.posts
    originals = (posts.id != 0) & (posts.depth == 0)
    assert sum(metrics["cascades_held"]) > 0
    # Review is two weeks away: no cascade has more than ``cap`` reshares.
    assert (posts.cascade_size[originals] - 1).max() <= 3
    plain_posts = runs["plain"][1].world.posts
    plain_originals = (plain_posts.id != 0) & (plain_posts.depth == 0)
    assert (plain_posts.cascade_size[plain_originals] - 1).max() > 3  # the cap did bind


def test_labels_reach_only_fact_checked_false_cascades_and_demote_them(runs) -> None:
    metrics, state = runs["label"]
    assert sum(metrics["cascades_labelled"]) > 0
    plain = runs["plain"][0]
    assert np.mean(metrics["impressions_false_share"]) < np.mean(plain["impressions_false_share"])
    table = state.extra.platform.label_root
    posts = state.world.posts
    marked = np.flatnonzero(table != 0)
    assert marked.size
    live = posts.id[marked] == table[marked]
    assert posts.is_false[marked[live]].all()  # the platform labels only what was rated false


def test_time_nudges_cut_time_spent(runs) -> None:
    metrics, _ = runs["nudge"]
    plain = runs["plain"][0]
    assert min(metrics["nudges_per_person"]) > 0
    assert np.mean(metrics["time_spent_min"]) < 0.8 * np.mean(plain["time_spent_min"])


def test_the_detector_removes_bots_and_their_posts_leave_feeds(runs, seed: int) -> None:
    metrics, state = runs["removal"]
    assert metrics["bots_removed_share"][-1] > 0.5
    assert metrics["removed_accounts_bot_share"][-1] > 0.8
    assert metrics["bot_impressions_share"][-1] < runs["plain"][0]["bot_impressions_share"][-1]
    setup = setup_for(next(c for c in plan(_config(seed)) if c.arm == "removal"))
    served = _serve_everyone(setup, state)
    removed = state.extra.platform.removed
    shown = served.slots[served.slots >= 0]
    posts = state.world.posts
    assert shown.size > 0
    assert not (removed[posts.author[shown]] | removed[posts.root_author[shown]]).any()


def test_hostility_demotion_puts_out_party_outrage_last_in_every_feed(runs, seed: int) -> None:
    _, state = runs["calm"]
    setup = setup_for(next(c for c in plan(_config(seed)) if c.arm == "calm"))
    served = _serve_everyone(setup, state)
    view = observe_posts(state.world.posts)
    slots = np.maximum(served.slots, 0)
    viewer = state.platform.model.estimated_leaning(served.persons)[:, None]
    hostile = (
        (served.slots >= 0)
        & (view.exclamations[slots] >= 2)
        & (np.abs(view.slant[slots]) >= 0.3)
        & (view.slant[slots] * viewer < 0)
    )
    assert hostile.any()
    shown = served.slots >= 0
    # factor 0: within a feed no hostile post comes before a post that is not hostile
    calm_after_hostile = np.cumsum(hostile, axis=1) > 0
    assert not (calm_after_hostile & shown & ~hostile).any()


def test_share_friction_prompts_and_cuts_reshares_of_unopened_posts(runs) -> None:
    metrics, state = runs["friction"]
    assert min(metrics["share_prompts_per_person"]) > 0
    assert max(runs["plain"][0]["share_prompts_per_person"]) == 0

    def reshares(posts) -> int:
        return int(
            ((posts.id != 0) & (posts.depth > 0) & ~state.extra.bots.is_bot[posts.author]).sum()
        )

    assert reshares(state.world.posts) < 0.8 * reshares(runs["plain"][1].world.posts)


def test_in_network_only_serves_followed_accounts(seed: int) -> None:
    config = _config(seed, "days=1")
    cell = next(c for c in plan(config) if c.arm == "in-network")
    setup = setup_for(cell)
    state = start(setup)
    for _ in range(20):
        step(state, setup)
    served = _serve_everyone(setup, state)
    shown = served.slots >= 0
    assert shown.sum() > 0
    assert served.in_network[shown].all()


def test_hidden_likes_changes_nothing_without_social_proof(seed: int) -> None:
    arms = '[{name = "a"}, {name = "b", interventions = [{name = "hidden-likes"}]}]'
    for weight, equal in ((0.0, True), (0.5, False)):
        config = _config(
            seed, "days=1", "adversaries.n_bots=0", f"arms={arms}",
            f"behaviour.social_proof.weight={weight}", "world.n_people=500",
        )  # fmt: skip
        a, b = (run_cell(cell) for cell in plan(config))
        assert _same(a, b) is equal


def test_the_same_config_gives_the_same_rows_with_every_intervention(seed: int) -> None:
    everything = (
        '[{name = "x", interventions = [{name = "misinfo-label"}, {name = "share-friction"},'
        ' {name = "circuit-breaker", cap = 5}, {name = "hidden-likes"},'
        ' {name = "time-limit-nudge"}, {name = "hostility-demotion"}, {name = "bot-removal"},'
        ' {name = "no-out-of-network"}]}]'
    )
    config = _config(seed, "days=1", f"arms={everything}", "world.n_people=500")
    cell = plan(config)[0]
    first, second = run_cell(cell), run_cell(cell)
    assert _same(first, second)
    assert len(first) == len(METRICS) - len(GOAL_METRICS)  # goal blocks are off


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            '[{name = "misinfo-lable"}]',
            "arms[0].interventions[0].name must be a registered intervention",
        ),
        ('[{name = "misinfo-lable"}]', "Did you mean 'misinfo-label'?"),
        (
            '[{name = "circuit-breaker", cap = 0}]',
            "arms[0].interventions[0].cap must be greater than or equal to 1, got 0.",
        ),
        (
            '[{name = "share-friction", open_prob = 0.1}]',
            "Unknown key 'open_prob' in arms[0].interventions[0]. Did you mean 'open_probability'?",
        ),
        ("[{recall = 0.5}]", "arms[0].interventions[0].name must name an intervention"),
        (
            '[{name = "hidden-likes"}, {name = "hidden-likes-v1"}]',
            "arms[0].interventions[1].name must not repeat arms[0].interventions[0]",
        ),
        ('["misinfo-label"]', "arms[0].interventions[0] must be a valid dictionary, got "),
    ],
)
def test_bad_interventions_are_clear_errors(value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_config("social-dilemma", ["world.n_people=100", f"arms.0.interventions={value}"])


def test_too_many_bots_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match=re.escape("adversaries.n_bots must be below")):
        load_config("social-dilemma", ["world.n_people=100", "adversaries.n_bots=100"])
    with pytest.raises(ConfigError, match=re.escape("adversaries.strategy must be")):
        load_config("social-dilemma", ["world.n_people=100", "adversaries.strategy=spam"])


def test_the_resolved_config_pins_versions_and_writes_every_default() -> None:
    arms = '[{name = "a", interventions = [{name = "circuit-breaker", cap = 7}]}]'
    config = load_config("social-dilemma", ["world.n_people=100", f"arms={arms}", "baseline="])
    text = config.to_toml()
    assert 'name = "circuit-breaker-v1"' in text
    assert "review_recall = 0.7" in text
    again = validate_config(tomllib.loads(text))
    assert again.arm_interventions(0) == config.arm_interventions(0)
    assert again.to_toml() == text


class _Interrupt(Exception):
    pass


def test_a_cell_resumed_from_a_checkpoint_ends_exact_with_bots_and_interventions(
    tmp_path, seed: int
) -> None:
    everything = (
        '[{name = "x", interventions = [{name = "misinfo-label", delay_hours = 2},'
        ' {name = "circuit-breaker", cap = 4}, {name = "bot-removal", delay_hours = 2},'
        ' {name = "time-limit-nudge", threshold_min = 10}]}]'
    )
    config = _config(seed, f"arms={everything}", "world.n_people=400")
    cell = plan(config)[0]
    whole = run_cell(cell)
    checkpoint = tmp_path / "cell.pkl"

    def stop_after_first_day(day: int) -> None:
        if day == 1:
            raise _Interrupt

    with pytest.raises(_Interrupt):
        run_cell(cell, on_day=stop_after_first_day, checkpoint=checkpoint, checkpoint_days=1)
    assert checkpoint.exists()
    assert _same(run_cell(cell, checkpoint=checkpoint, checkpoint_days=1), whole)
