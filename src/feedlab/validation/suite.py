"""``feedlab validate``: simulate the validation society, judge every finding, tabulate."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from feedlab.behaviour.params import BehaviourParams
from feedlab.engine.run import Cell
from feedlab.platform.rankers.base import Ranker
from feedlab.platform.rankers.builtin import Chronological, Engagement, Random
from feedlab.platform.state import PlatformParams
from feedlab.validation.devices import TruthRanker
from feedlab.validation.findings import FINDINGS
from feedlab.validation.harness import Check, Collected, Outcome, Task
from feedlab.validation.probes import society_probe, tailless_probe
from feedlab.world.world import WorldParams

ROOT_SEED = 20261122


@dataclass(frozen=True, slots=True)
class Size:
    """How big the validation society is and how long it runs."""

    n_people: int
    days: int
    warmup_days: int
    seeds: int
    engagement_seeds: int
    opinion_people: int
    opinion_days: int
    opinion_seeds: int
    growth_people: int
    growth_days: int


QUICK = Size(
    n_people=3_000, days=10, warmup_days=2, seeds=4, engagement_seeds=8,
    opinion_people=1_000, opinion_days=40, opinion_seeds=8,
    growth_people=1_000, growth_days=21,
)  # fmt: skip
"""Small enough for CI (a few minutes on two cores).

The engagement feed runs 8 seeds where the other feeds run 4: the findings read from it alone
rest on few events per seed at this size (some 40 false cascades reach 10 people), and the time
to reach varies from seed to seed by a factor of two. Findings that compare feeds pair the 4
seeds every feed ran.

The opinion runs are long: at the default assimilation rate the like-minded and random feeds'
opinion landscapes do not separate before about 30 days (``docs/validation.md``, finding 6), and
their bimodality varies from seed to seed as much as it separates, so they run 8 seeds of 40
days.
"""

FULL = Size(
    n_people=10_000, days=30, warmup_days=2, seeds=5, engagement_seeds=5,
    opinion_people=3_000, opinion_days=60, opinion_seeds=10,
    growth_people=2_000, growth_days=31,
)  # fmt: skip
"""The default society and horizon of ``feedlab run``."""

DEFFUANT_DRIFT = {"drift": {"repulsion": 0.0}}
"""Opinion dynamics of the Deffuant type: the default model with repulsion switched off."""

DEFFUANT_EXPLORE = {"candidates": {"explore": 64}}
"""Finding 6's platform: every session is also offered 64 random live posts of the whole society.

Deffuant et al. pair people at random from the whole population; without this the random feed
only shuffles candidates that mostly come from a homophilous follow graph. Both opinion arms get
the same pool, so the like-minded feed picks the nearest views of the society and the random feed
meets it at random (``docs/validation.md``, finding 6).
"""

CONSENT = {"consent": {"enabled": True, "opt_out_share": 0.5}, "targeting": {"enabled": True}}
"""Half the society opts out of tracking (the platform block's defaults otherwise)."""

PUSHES = {"quiet": 0, "push-12": 12}
"""Notifications per person per day in the growth runs (the growth policy's defaults otherwise)."""


def arms() -> dict[str, Callable[[], Ranker]]:
    """The feeds every finding is judged from (fresh objects per cell)."""
    return {
        "engagement": Engagement,
        "chronological": Chronological,
        "random": Random,
        "oracle": lambda: TruthRanker("oracle"),
        "like-minded": lambda: TruthRanker("like-minded"),
    }


def plan(size: Size) -> list[Task]:
    """One task per (feed, seed) on default parameters, then the runs of regime-bound findings.

    The engagement feed runs ``size.engagement_seeds`` seeds (at least ``size.seeds``), the other
    feeds ``size.seeds``.

    Those are: engagement ranking with half the society opted out of tracking, growth
    notifications at two rates, and Deffuant-type opinion dynamics on a platform that also
    offers random posts of the whole society (:data:`DEFFUANT_EXPLORE`).
    """
    tasks = [
        _task(arm, make(), replicate, size.n_people, size.days, size, BehaviourParams())
        for replicate in range(size.seeds)
        for arm, make in arms().items()
    ]
    tasks += [
        _task("engagement", Engagement(), replicate, size.n_people, size.days, size,
              BehaviourParams())
        for replicate in range(size.seeds, size.engagement_seeds)
    ]  # fmt: skip
    consent = PlatformParams.model_validate(CONSENT)
    for replicate in range(size.seeds):
        tasks.append(
            _task("engagement/consent", Engagement(), replicate, size.n_people, size.days,
                  size, BehaviourParams(), consent)
        )  # fmt: skip
    for replicate in range(size.seeds):
        for arm, per_day in PUSHES.items():
            platform = PlatformParams.model_validate(
                {"notifications": {"enabled": True, "per_day": per_day}}
            )
            tasks.append(
                _task(arm, Engagement(), replicate, size.growth_people, size.growth_days,
                      size, BehaviourParams(), platform)
            )  # fmt: skip
    deffuant = BehaviourParams.model_validate(DEFFUANT_DRIFT)
    exploring = PlatformParams.model_validate(DEFFUANT_EXPLORE)
    for replicate in range(size.opinion_seeds):
        for arm, ranker in (("like-minded", TruthRanker("like-minded")), ("random", Random())):
            tasks.append(
                _task(f"{arm}/deffuant", ranker, replicate, size.opinion_people,
                      size.opinion_days, size, deffuant, exploring)
            )  # fmt: skip
    return tasks


def _task(
    arm: str,
    ranker: Ranker,
    replicate: int,
    n_people: int,
    days: int,
    size: Size,
    behaviour: BehaviourParams,
    platform: PlatformParams | None = None,
) -> Task:
    """The cell of one (feed, seed); only the engagement feed's cells fit the heavy tails."""
    return Task(
        finding="society",
        cell=Cell(
            arm=arm,
            seed=ROOT_SEED + replicate,
            replicate=replicate,
            days=days,
            warmup_days=size.warmup_days,
            world=WorldParams(n_people=n_people),
            behaviour=behaviour,
            platform=platform or PlatformParams(),
            ranker=ranker,
        ),
        probe=society_probe if arm == "engagement" else tailless_probe,
    )


def judge(outcomes: list[Outcome]) -> list[Check]:
    """Every finding's checks from the suite's outcomes."""
    collected = Collected()
    for outcome in outcomes:
        collected.add(outcome)
    return [check for judge_one in FINDINGS.values() for check in judge_one(collected)]
