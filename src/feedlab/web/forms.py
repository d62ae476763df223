"""What the browser may ask for, validated, bounded, and turned into an experiment config.

Every refusal is a :class:`FormError` naming the field, what is allowed and what was given,
in the format of the config loader's messages.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import Field, ValidationError

from feedlab.core.errors import ConfigError, did_you_mean
from feedlab.core.params import Params
from feedlab.experiments.config import (
    ExperimentConfig,
    format_errors,
    load_config,
    scenario_names,
    validate_config,
)
from feedlab.experiments.resources import check_memory
from feedlab.web.live import Guess

GUESS_METRICS = (
    "time_spent_min",
    "impressions_outrage_share",
    "impressions_false_share",
    "opinion_variance",
    "affective_gap",
    "wellbeing_mean",
    "model_auc",
)
"""Metrics a viewer may make a prediction about."""


class FormError(ValueError):
    """A request value that is not allowed; ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds on what a web request may ask for (the CLI has no such bounds).

    Attributes:
        max_people: people in a live run.
        max_days: recorded days of a live run.
        max_warmup_days: warm-up days of a live run.
        max_arms: arms of a live run.
        max_tracked: people traced per arm.
        max_active: live runs simulating at once.
        max_kept: live runs kept in memory (finished ones are dropped oldest first).
        max_body_bytes: largest request body accepted.
    """

    max_people: int = 20_000
    max_days: int = 60
    max_warmup_days: int = 7
    max_arms: int = 4
    max_tracked: int = 50
    max_active: int = 2
    max_kept: int = 8
    max_body_bytes: int = 64 * 1024


class GuessForm(Params):
    """A prediction made before the run starts."""

    metric: str
    highest_arm: str
    baseline_value: float | None = None


class LaunchForm(Params):
    """A live run as the launch form asks for it.

    Attributes:
        scenario: a built-in scenario.
        n_people: people in the society.
        days: recorded days.
        warmup_days: days simulated before recording.
        seed: the root seed.
        arms: which of the scenario's arms to run (default: all).
        tracked: how many people to trace per arm (spread evenly over the population).
        people: particular people to trace, besides the spread.
        guess: a prediction, for predict-then-run mode.
    """

    scenario: str = "social-dilemma"
    n_people: int = Field(2000, ge=50)
    days: int = Field(10, ge=1)
    warmup_days: int = Field(1, ge=0)
    seed: int = Field(20261122, ge=0, lt=2**63)
    arms: list[str] = Field(default_factory=list)
    tracked: int = Field(12, ge=1)
    people: list[int] = Field(default_factory=list, max_length=50)
    guess: GuessForm | None = None


def parse_launch(data: dict[str, Any], limits: Limits) -> LaunchForm:
    """Validate the launch form against its schema and ``limits``.

    Raises:
        FormError: naming the first offending field.
    """
    try:
        form = LaunchForm.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "body"
        raise FormError(field, format_errors(error, model=LaunchForm)) from None
    for name, limit in (
        ("n_people", limits.max_people),
        ("days", limits.max_days),
        ("warmup_days", limits.max_warmup_days),
        ("tracked", limits.max_tracked),
    ):
        value = getattr(form, name)
        if value > limit:
            raise FormError(
                name,
                f"{name} must be at most {limit} in the web dashboard, got {value!r}; use the command line (feedlab run) for larger runs.",
            )
    if form.scenario not in scenario_names():
        hint = did_you_mean(form.scenario, scenario_names())
        raise FormError(
            "scenario",
            f"scenario must be one of {', '.join(scenario_names())}, got {form.scenario!r}.{hint}",
        )
    if len(form.arms) > limits.max_arms:
        raise FormError(
            "arms", f"arms must list at most {limits.max_arms} arms, got {len(form.arms)}."
        )
    for person in form.people:
        if not 0 <= person < form.n_people:
            raise FormError(
                "people", f"people must be ids in [0, {form.n_people}), got {person!r}."
            )
    return form


def build_config(form: LaunchForm, limits: Limits) -> tuple[ExperimentConfig, list[int]]:
    """The experiment of a launch form (one seed) and the people to trace.

    Raises:
        FormError: if an arm is unknown, the guess does not fit, or the run cannot fit in memory.
    """
    base = load_config(form.scenario)
    known = [arm.name for arm in base.arms]
    chosen = form.arms or known[: limits.max_arms]
    for name in chosen:
        if name not in known:
            hint = did_you_mean(name, known)
            raise FormError(
                "arms",
                f"arms must be arms of {form.scenario} ({', '.join(known)}), got {name!r}.{hint}",
            )
    if len(set(chosen)) != len(chosen):
        raise FormError("arms", f"arms must not repeat an arm, got {chosen!r}.")
    raw = base.model_dump(mode="json")
    raw["arms"] = [arm for arm in raw["arms"] if arm["name"] in chosen]
    if raw.get("baseline") not in chosen:
        raw["baseline"] = ""
    raw.update(days=form.days, warmup_days=form.warmup_days, seeds=1, root_seed=form.seed)
    raw["world"]["n_people"] = form.n_people
    try:
        config = validate_config(raw)
        check_memory(config, len(config.arms))  # every arm is in memory at once
    except ConfigError as error:
        raise FormError("config", str(error)) from None
    if form.guess is not None:
        if form.guess.metric not in GUESS_METRICS:
            hint = did_you_mean(form.guess.metric, list(GUESS_METRICS))
            raise FormError(
                "guess.metric",
                f"guess.metric must be one of {', '.join(GUESS_METRICS)}, got {form.guess.metric!r}.{hint}",
            )
        if form.guess.highest_arm not in chosen:
            raise FormError(
                "guess.highest_arm",
                f"guess.highest_arm must be one of the run's arms ({', '.join(chosen)}), got {form.guess.highest_arm!r}.",
            )
    spread = np.linspace(0, form.n_people - 1, form.tracked).astype(int).tolist()
    tracked = sorted({*spread, *form.people})
    return config, tracked


def guess_of(form: LaunchForm) -> Guess | None:
    """The viewer's prediction in a launch form, if any."""
    if form.guess is None:
        return None
    return Guess(
        metric=form.guess.metric,
        highest_arm=form.guess.highest_arm,
        baseline_value=form.guess.baseline_value,
    )


def form_from_fields(fields: dict[str, str | list[str]]) -> dict[str, Any]:
    """An HTML form's fields as the JSON the launch endpoint takes.

    Empty fields are left out (so they take their defaults); ``arms`` may repeat; ``people`` is
    a comma-separated list; ``guess_metric``, ``guess_arm`` and ``guess_value`` make the guess.
    Values stay strings: the schema converts and checks them.
    """
    out: dict[str, Any] = {}
    guess: dict[str, Any] = {}
    for key, value in fields.items():
        values = value if isinstance(value, list) else [value]
        values = [v.strip() for v in values if v.strip()]
        if not values:
            continue
        if key == "arms":
            out["arms"] = values
        elif key == "people":
            out["people"] = [p.strip() for p in values[0].split(",") if p.strip()]
        elif key == "guess_metric":
            guess["metric"] = values[0]
        elif key == "guess_arm":
            guess["highest_arm"] = values[0]
        elif key == "guess_value":
            guess["baseline_value"] = values[0]
        elif key == "predict":
            continue
        else:
            out[key] = values[0]
    if guess:
        out["guess"] = guess
    return out
