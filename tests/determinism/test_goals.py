"""The goal stages in the engine: off by default, deterministic, within budget, consent kept."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl

from feedlab.engine.run import run_cell
from feedlab.engine.step import Setup, SimState
from feedlab.experiments.config import ExperimentConfig, load_config, scenario_names
from feedlab.experiments.runner import plan, run_experiment
from feedlab.metrics.catalog import METRICS
from feedlab.metrics.goals import GOAL_METRICS

ADVERTISERS = (
    'platform.ads.advertisers=[{name="shoes", budget=1.5, bid=0.4, topic=1, target_topics=[1]},'
    ' {name="pac", budget=1.0, bid=0.6, topic=2, leaning=-0.5, political=true,'
    ' target_flags=["persuadable"]}, {name="brand", budget=2.0, bid=0.2, topic=3}]'
)
ALL_ON = [
    "platform.ads.enabled=true",
    "platform.ads.ad_load=0.2",
    ADVERTISERS,
    "platform.notifications.enabled=true",
    "platform.optimizer.enabled=true",
    "platform.optimizer.test_days=1",
    'platform.optimizer.parameters=["ad_load", "ranker.reply", "notifications_per_day"]',
    "platform.consent.enabled=true",
]


def _rows(config: ExperimentConfig) -> list[tuple[str, int, int, str, float | None]]:
    """Every cell's rows, NaN written as None so that rows compare equal."""
    return [
        (a, s, d, m, None if np.isnan(v) else v)
        for cell in plan(config)
        for a, s, d, m, v in run_cell(cell)
    ]


def _small(extra: list[str], tmp_path: Path) -> ExperimentConfig:
    """A small engagement-only experiment (the optimizer tests a weight of that ranker)."""
    path = tmp_path / "small.toml"
    path.write_text('name = "small"\n[[arms]]\nname = "engagement"\n', encoding="utf-8")
    return load_config(path, ["world.n_people=400", "days=2", "seeds=1", "warmup_days=0", *extra])


def test_disabled_goal_blocks_change_nothing(tmp_path: Path) -> None:
    default = _rows(_small([], tmp_path))
    tuned_but_off = _rows(
        _small(
            [
                "platform.ads.ad_load=0.4",
                ADVERTISERS,
                "platform.notifications.per_day=9",
                "platform.objective.kind=subscription",
                "platform.consent.opt_out_share=0.9",
            ],
            tmp_path,
        )
    )
    assert default == tuned_but_off


def test_the_goal_stages_are_deterministic(tmp_path: Path) -> None:
    config = _small(ALL_ON, tmp_path)
    first, second = _rows(config), _rows(config)
    assert first == second
    metrics = {m for _, _, _, m, _ in first}
    documented = {m.name for m in METRICS}
    assert set(GOAL_METRICS) <= documented
    assert set(GOAL_METRICS) <= metrics  # every block on: every goal metric is recorded
    assert {m for m in metrics if not m.startswith("optimizer.")} == documented


def test_daily_ad_spend_never_exceeds_the_budgets(tmp_path: Path) -> None:
    rows = _rows(_small(ALL_ON, tmp_path))
    revenue = [v for _, _, _, m, v in rows if m == "ad_revenue"]
    assert revenue and max(revenue) <= 1.5 + 1.0 + 2.0 + 1e-9
    assert min(revenue) > 0


def test_opted_out_people_leave_no_dwell_in_the_model(
    simulate: Callable[..., tuple[Setup, SimState]],
) -> None:
    _, state = simulate(n_people=600, ticks=30, overrides=["platform.consent.enabled=true"])
    goals = state.goals
    assert goals is not None
    out = goals.opted_out
    assert 0.2 < out.mean() < 0.4
    model = state.platform.model
    assert (model.minutes[out] == 0).all()
    assert (model.minutes[~out] > 0).mean() > 0.5
    assert (model.impressions[out] > 0).mean() > 0.5  # explicit use is still logged
    assert (goals.usage.minutes[out] > 0).mean() > 0.5  # the truth the metrics score against


def test_a_ranking_weight_under_test_serves_each_bucket_its_own_ranker(
    simulate: Callable[..., tuple[Setup, SimState]],
) -> None:
    overrides = [
        "platform.optimizer.enabled=true",
        'platform.optimizer.parameters=["ranker.hide"]',
        "arms.1.ranker=engagement",  # every arm's ranker must have the weight under test
    ]
    _, state = simulate(n_people=500, ticks=12, overrides=overrides)
    opt = state.goals.optimizer if state.goals else None
    assert opt is not None and opt.parameter == "ranker.hide"
    assert opt.treatment_value != opt.values["ranker.hide"]


def test_the_optimizer_log_lands_in_the_results_folder(tmp_path: Path) -> None:
    config = _small([*ALL_ON, "days=3", "world.n_people=300"], tmp_path)
    result = run_experiment(config, out=tmp_path / "run", workers=1)
    tests = pl.read_csv(result.run_dir / "optimizer_tests.csv")
    values = pl.read_csv(result.run_dir / "optimizer_values.csv")
    assert tests.height >= 2
    assert set(tests.columns) >= {
        "parameter",
        "control",
        "treatment",
        "effect",
        "ci_low",
        "shipped",
    }
    assert (tests["ci_low"] <= tests["effect"]).all()
    assert set(values["parameter"]) == {"ad_load", "ranker.reply", "notifications_per_day"}
    frame = pl.read_parquet(result.run_dir / "metrics.parquet")
    assert not frame["metric"].str.starts_with("optimizer.").any()
    assert frame.filter(pl.col("metric") == "experiments_run")["value"].is_finite().all()


GOAL_SCENARIOS = (
    "ads-targeting",
    "growth-notifications",
    "autonomous-optimizer",
    "business-models",
    "consent",
)


def test_the_goal_scenarios_are_built_in_and_small() -> None:
    assert set(GOAL_SCENARIOS) <= set(scenario_names())
    for name in GOAL_SCENARIOS:
        config = load_config(name)
        assert config.seeds >= 2
        person_days = config.world.n_people * (config.days + config.warmup_days) * len(config.arms)
        assert person_days * config.seeds <= 300_000, name  # about two minutes on two cores
        assert any(config.arm_platform(i) != config.platform for i in range(len(config.arms)))
