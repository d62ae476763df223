"""Constant testing: the platform's objective and an autonomous A/B optimizer of its own settings.

The business model sets the objective each person's day is scored by, from the platform's own
log (Zuboff's "behavioural surplus"; the film: its programs "are constantly testing those models
to see what works on you"):

* ``ad-funded``: ad revenue plus the value of attention (``minutes_value`` per logged minute);
* ``subscription``: a flat fee for every person still subscribed (seen in the last week), minus
  the value of dissatisfaction (hides) and interruptions (notifications);
* ``mix``: ``ad_share`` of the first plus the rest of the second.

The optimizer runs one test after another, as online platforms do (Kohavi, Tang & Xu 2020,
*Trustworthy Online Controlled Experiments*): it assigns each person to control or treatment by
hashing (person, test) — stable within a test, independent across tests, balanced in expectation —
changes one of its parameters (ranking weights, the notification cap, the ad load) for the
treatment half, reads the mean objective per person of each half over ``test_days``, and ships the
treatment if the 95% confidence interval of the difference (Welch) lies above zero. Every test
with its arms, estimate, interval and decision is logged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from pydantic import Field, field_validator
from scipy.special import ndtri

from feedlab.core.arrays import BoolArray, F64Array, IntArray
from feedlab.core.params import Params

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_MASK = 2**64 - 1

TUNABLE_BOUNDS = {"ad_load": (0.0, 0.5), "notifications_per_day": (0.0, 24.0)}
"""Parameters the optimizer may test besides ranker weights (``ranker.<field>``), with bounds."""


class ObjectiveParams(Params):
    """The platform's business model: what one person's day is worth to it.

    Attributes:
        kind: ``ad-funded``, ``subscription`` or ``mix``.
        ad_share: weight of the ad-funded value in a ``mix``.
        minutes_value: value of one logged minute of attention (ad-funded).
        fee: subscription fee per subscriber per day.
        hide_cost: value lost per hide (subscription: satisfaction).
        notification_cost: value lost per notification (subscription: interruptions).
    """

    kind: Literal["ad-funded", "subscription", "mix"] = "ad-funded"
    ad_share: float = Field(0.5, ge=0, le=1)
    minutes_value: float = Field(0.002, ge=0)
    fee: float = Field(0.3, ge=0)
    hide_cost: float = Field(0.01, ge=0)
    notification_cost: float = Field(0.005, ge=0)

    @property
    def ad_weight(self) -> float:
        """Weight of the ad-funded value."""
        return {"ad-funded": 1.0, "subscription": 0.0}.get(self.kind, self.ad_share)


def objective_value(
    params: ObjectiveParams,
    revenue: F64Array,
    minutes: F64Array,
    subscribed: BoolArray,
    hides: F64Array,
    notifications: F64Array,
) -> F64Array:
    """Value of each person's day to the platform, ``(n_people,)``, from logged quantities."""
    ad = revenue + params.minutes_value * minutes
    sub = (
        params.fee * subscribed
        - params.hide_cost * hides
        - params.notification_cost * notifications
    )
    w = params.ad_weight
    return np.asarray(w * ad + (1.0 - w) * sub, dtype=np.float64)


class OptimizerParams(Params):
    """The autonomous optimizer.

    Attributes:
        enabled: run tests and record the optimizer's metrics and log.
        parameters: what it may test, in turn: ``ad_load``, ``notifications_per_day`` or a
            weight of the arm's ranker as ``ranker.<field>`` (e.g. ``ranker.reply``).
        test_days: length of each test.
        step: relative change tested (absolute when the current value is 0; at least 1 for the
            notification cap).
        treatment_share: share of people in the treatment arm.
        confidence: confidence level of the interval that decides shipping.
    """

    enabled: bool = False
    parameters: list[str] = Field(default_factory=lambda: ["ad_load", "notifications_per_day"])
    test_days: int = Field(3, ge=1, le=365)
    step: float = Field(0.3, gt=0, le=10)
    treatment_share: float = Field(0.5, gt=0, lt=1)
    confidence: float = Field(0.95, gt=0.5, lt=1)

    @field_validator("parameters")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        known = ", ".join([*TUNABLE_BOUNDS, "ranker.<field>"])
        if not value:
            raise ValueError(f"a non-empty list of {known}; got []")
        for name in value:
            if name not in TUNABLE_BOUNDS and not name.startswith("ranker."):
                raise ValueError(f"a list of {known}; got {name!r}")
        return value


def bucket(persons: IntArray, salt: int) -> F64Array:
    """A stable uniform in [0, 1) per person for test ``salt``: SplitMix64 of (salt, person)."""
    with np.errstate(over="ignore"):
        x = np.uint64(salt & _MASK) * _GOLDEN + (persons.astype(np.uint64) + np.uint64(1)) * _M2
        x = (x ^ (x >> np.uint64(30))) * _M1
        x = (x ^ (x >> np.uint64(27))) * _M2
        x = x ^ (x >> np.uint64(31))
    return (x >> np.uint64(11)).astype(np.float64) * (1.0 / 2.0**53)


@dataclass(frozen=True, slots=True)
class TestResult:
    """The reading of one A/B test: difference of mean objective, treatment minus control."""

    effect: float
    ci_low: float
    ci_high: float
    n_control: int
    n_treatment: int
    mean_control: float
    mean_treatment: float


def welch(control: F64Array, treatment: F64Array, confidence: float) -> TestResult:
    """Difference of means with a normal-approximation Welch interval."""
    nc, nt = control.size, treatment.size
    mc, mt = float(control.mean()), float(treatment.mean())
    se = float(np.sqrt(control.var(ddof=1) / nc + treatment.var(ddof=1) / nt))
    z = float(ndtri(0.5 + confidence / 2.0))
    d = mt - mc
    return TestResult(d, d - z * se, d + z * se, nc, nt, mc, mt)


@dataclass
class OptimizerState:
    """The running test, the shipped values and the log of every finished test."""

    values: dict[str, float]  # shipped value of each tunable parameter
    test: int = -1  # index of the running test
    parameter: str = ""
    treatment_value: float = 0.0
    days_run: int = 0
    totals: F64Array = field(default_factory=lambda: np.zeros(0))  # (n_people,) value so far
    treated: BoolArray = field(default_factory=lambda: np.zeros(0, bool))
    salt: int = 0
    log: list[dict[str, float | str]] = field(default_factory=list)
    shipped: int = 0


def init_optimizer(values: dict[str, float], n_people: int, seed: int) -> OptimizerState:
    """An optimizer with the configured starting values and no test yet."""
    return OptimizerState(
        values=dict(values), totals=np.zeros(n_people), treated=np.zeros(n_people, bool), salt=seed
    )


def value_of(state: OptimizerState, name: str) -> F64Array:
    """The value of parameter ``name`` each person gets now, ``(n_people,)``."""
    base = state.values[name]
    if name == state.parameter:
        return np.where(state.treated, state.treatment_value, base)
    return np.full(state.treated.size, base)


def _propose(name: str, current: float, up: bool, step: float) -> float:
    """The value tested against ``current``, within the parameter's bounds."""
    sign = 1.0 if up else -1.0
    if name == "notifications_per_day":
        proposal = current + sign * max(1.0, round(step * current))
    elif current == 0:
        proposal = sign * step * (0.1 if name == "ad_load" else 1.0)
    else:
        proposal = current * (1.0 + sign * step)
    lo, hi = TUNABLE_BOUNDS.get(name, (-np.inf, np.inf))
    return float(np.clip(proposal, lo, hi))


def start_test(state: OptimizerState, params: OptimizerParams, rng: np.random.Generator) -> None:
    """Begin the next test: the next parameter in turn, moved up or down at random."""
    state.test += 1
    name = params.parameters[state.test % len(params.parameters)]
    current = state.values[name]
    up = bool(rng.random() < 0.5)
    proposal = _propose(name, current, up, params.step)
    if proposal == current:  # at a bound: test the other direction
        proposal = _propose(name, current, not up, params.step)
    state.parameter = name
    state.treatment_value = proposal
    state.days_run = 0
    state.totals[:] = 0.0
    n = state.treated.size
    salt = state.salt ^ ((state.test + 1) * 0x9E3779B97F4A7C15)
    state.treated = bucket(np.arange(n), salt) < params.treatment_share


def record_day(
    state: OptimizerState, params: OptimizerParams, value: F64Array, day: int
) -> TestResult | None:
    """Add a day's objective per person; at the end of a test decide, log, and return its reading."""
    state.totals += value
    state.days_run += 1
    if state.days_run < params.test_days:
        return None
    result = welch(state.totals[~state.treated], state.totals[state.treated], params.confidence)
    ship = result.ci_low > 0
    state.log.append(
        {
            "test": state.test,
            "day": day,
            "parameter": state.parameter,
            "control": state.values[state.parameter],
            "treatment": state.treatment_value,
            "effect": result.effect,
            "ci_low": result.ci_low,
            "ci_high": result.ci_high,
            "n_control": result.n_control,
            "n_treatment": result.n_treatment,
            "shipped": float(ship),
        }
    )
    if ship:
        state.values[state.parameter] = state.treatment_value
        state.shipped += 1
    state.parameter = ""
    state.treated[:] = False
    return result
