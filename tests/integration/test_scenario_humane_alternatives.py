"""The built-in ``humane-alternatives`` scenario loads, validates, is listed, and stays small."""

from __future__ import annotations

from typer.testing import CliRunner

from feedlab.cli.main import app
from feedlab.engine.interventions import (
    CircuitBreaker,
    HiddenLikes,
    HostilityDemotion,
    MisinfoLabel,
    NoOutOfNetwork,
    ShareFriction,
    TimeLimitNudge,
)
from feedlab.experiments.config import load_config, scenario_names
from feedlab.experiments.runner import plan

NAME = "humane-alternatives"


def test_the_scenario_is_built_in_and_listed() -> None:
    assert NAME in scenario_names()
    result = CliRunner().invoke(
        app, ["scenarios"], env={"COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"}
    )
    assert result.exit_code == 0, result.output
    assert NAME in result.stdout


def test_the_scenario_compares_rankers_and_two_bundles_on_the_default_society() -> None:
    config = load_config(NAME)
    names = [arm.name for arm in config.arms]
    assert names == ["engagement", "chronological", "bridging", "integrity", "wellbeing"]
    assert config.baseline == "engagement"
    assert config.seeds >= 3  # paired confidence intervals over seeds
    rankers = [type(config.arm_ranker(i)).__name__ for i in range(len(names))]
    assert rankers[3] == rankers[4] == rankers[0]  # bundles change only the interventions
    assert len(set(rankers[:3])) == 3
    assert config.arm_interventions(0).items == ()
    integrity = config.arm_interventions(3)
    for kind in (MisinfoLabel, ShareFriction, CircuitBreaker, HostilityDemotion):
        assert integrity.get(kind) is not None, kind
    wellbeing = config.arm_interventions(4)
    for kind in (TimeLimitNudge, HiddenLikes, NoOutOfNetwork):
        assert wellbeing.get(kind) is not None, kind
    # the default society, only smaller: every world setting but the size is social-dilemma's
    default = load_config("social-dilemma")
    assert config.world.model_dump(exclude={"n_people"}) == default.world.model_dump(
        exclude={"n_people"}
    )
    assert config.platform == default.platform
    person_days = config.world.n_people * (config.days + config.warmup_days)
    assert person_days * len(names) * config.seeds <= 300_000  # under 3 minutes on two cores
    assert len(plan(config)) == len(names) * config.seeds
