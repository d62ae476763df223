"""Validation: the measurements, the judges and the suite's plumbing."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from feedlab.behaviour.params import BehaviourParams
from feedlab.engine.run import Cell
from feedlab.platform.rankers.base import check_ranker, reads_predictions
from feedlab.platform.rankers.builtin import Engagement
from feedlab.platform.state import PlatformParams
from feedlab.validation import findings
from feedlab.validation.devices import TruthRanker, Watched, WorldView
from feedlab.validation.harness import Collected, Estimate, Outcome, Task, simulate
from feedlab.validation.probes import (
    REACH_SIZES,
    opinion_clusters,
    reach_ticks,
    society_probe,
    tail_test,
    tailless_probe,
    top_share,
)
from feedlab.world.world import WorldParams


def test_reach_ticks_matches_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    roots = rng.permutation(np.arange(1, 60, dtype=np.uint32))[:40]
    created = rng.integers(0, 50, roots.size)
    n = 300
    reshare_root = rng.choice(np.concatenate([roots, np.array([999, 1000], np.uint32)]), n)
    reshare_created = rng.integers(50, 120, n)
    got = reach_ticks(roots, created, reshare_root, reshare_created)
    for i, root in enumerate(roots):
        ticks = np.sort(reshare_created[reshare_root == root])
        for j, size in enumerate(REACH_SIZES):
            if ticks.size >= size - 1:
                assert got[i, j] == ticks[size - 2] - created[i]
            else:
                assert math.isnan(got[i, j])


def test_opinion_clusters_counts_modes(seed: int) -> None:
    rng = np.random.default_rng(seed)
    one = np.clip(rng.normal(0, 0.1, 3000), -1, 1)
    two = np.concatenate([rng.normal(-0.6, 0.05, 1500), rng.normal(0.6, 0.05, 1500)])
    three = np.concatenate([two, rng.normal(0.0, 0.05, 1500)])
    assert opinion_clusters(one) == 1
    assert opinion_clusters(two) == 2
    assert opinion_clusters(three) == 3


def test_tail_test_tells_pareto_from_exponential(seed: int) -> None:
    rng = np.random.default_rng(seed)
    heavy = np.round(rng.pareto(1.5, 4000) + 1).astype(np.int64)
    light = np.round(rng.exponential(5.0, 4000) + 1).astype(np.int64)
    ratio_heavy, p_heavy, _ = tail_test(heavy)
    ratio_light, _, _ = tail_test(light)
    assert ratio_heavy > 0 and p_heavy < 0.1
    assert ratio_light < 0
    assert math.isnan(tail_test(np.ones(10, np.int64))[0])


def test_top_share() -> None:
    values = np.array([0.0] * 90 + [1.0] * 10)
    assert top_share(values) == 1.0
    assert top_share(np.ones(100)) == pytest.approx(0.1)


def test_estimate_interval() -> None:
    e = Estimate.of([1.9, 2.0, 2.1])
    assert e.mean == 2.0 and e.n == 3
    assert e.low < 2.0 < e.high
    assert e.above_zero and not e.below_zero
    assert Estimate.of([1.0]).n == 1 and not Estimate.of([1.0]).above_zero
    assert Estimate.of([float("nan")]).n == 0
    assert Estimate.of(np.log([2.0, 2.0, 2.0])).exp().mean == pytest.approx(2.0)


def _collected(values: dict[str, dict[str, list[float]]]) -> Collected:
    c = Collected()
    for arm, keys in values.items():
        n = len(next(iter(keys.values())))
        for i in range(n):
            c.add(Outcome("society", arm, i, {k: v[i] for k, v in keys.items()}))
    return c


def test_exact_algorithms_detects_a_changed_weight(monkeypatch: pytest.MonkeyPatch) -> None:
    assert findings.exact_algorithms(Collected())[0].passed
    monkeypatch.setitem(findings.TWITTER_2023_WEIGHTS, "reply", 27.0)
    check = findings.exact_algorithms(Collected())[0]
    assert not check.passed and "reply" in check.measured


def test_outrage_judge_follows_the_data() -> None:
    base = {"feed_outrage_var": [0.04] * 4, "feed_hostile_share": [0.1] * 4}
    more = {"feed_outrage_mean": [0.40, 0.41, 0.39, 0.42], **base,
            "feed_hostile_share": [0.2, 0.21, 0.19, 0.2],
            "feed_political_worth": [0.40, 0.41, 0.39, 0.40]}  # fmt: skip
    less = {"feed_outrage_mean": [0.30, 0.31, 0.29, 0.30], **base,
            "feed_political_worth": [0.50, 0.52, 0.49, 0.51]}  # fmt: skip
    passed = findings.outrage_amplification(_collected({"engagement": more, "chronological": less}))
    assert all(c.passed for c in passed)
    failed = findings.outrage_amplification(_collected({"engagement": less, "chronological": more}))
    assert not any(c.passed for c in failed)


def test_homogenization_judge_needs_overlap_without_utility_gain() -> None:
    key = "mean:homogenization_jaccard"
    eng = {key: [0.02, 0.021, 0.019], "feed_utility": [0.5, 0.5, 0.51]}
    ideal = {key: [0.01, 0.011, 0.01], "feed_utility": [0.7, 0.69, 0.7]}
    rand = {key: [0.005, 0.006, 0.004], "feed_utility": [0.3, 0.3, 0.3]}
    checks = findings.homogenization(
        _collected({"engagement": eng, "oracle": ideal, "random": rand})
    )
    assert [c.passed for c in checks] == [True, True, True]
    checks = findings.homogenization(
        _collected({"engagement": ideal, "oracle": eng, "random": rand})
    )
    assert [c.passed for c in checks] == [False, True, False]


def test_every_judge_returns_checks_with_all_fields() -> None:
    assert next(iter(findings.FINDINGS)) == "exact-algorithms"
    for check in findings.exact_algorithms(Collected()):
        assert check.source and check.reported and check.measured


@pytest.fixture(scope="module")
def tiny_cell() -> Cell:
    return Cell(
        arm="engagement",
        seed=5,
        replicate=0,
        days=2,
        warmup_days=1,
        world=WorldParams(n_people=400),
        behaviour=BehaviourParams(),
        platform=PlatformParams(),
        ranker=Engagement(),
    )


def test_simulation_with_probe_is_deterministic(tiny_cell: Cell) -> None:
    a = simulate(Task("society", tiny_cell, society_probe))
    b = simulate(Task("society", tiny_cell, society_probe))
    assert a.values.keys() == b.values.keys()
    np.testing.assert_array_equal(list(a.values.values()), list(b.values.values()))
    assert a.values["feed_items"] > 0
    assert a.values["true_cascades"] > 0
    assert 0 <= a.values["feed_hostile_share"] <= 1


def test_probe_leaves_the_simulation_unchanged(tiny_cell: Cell) -> None:
    from feedlab.engine.run import run_cell

    rows = run_cell(tiny_cell)
    probed = simulate(Task("society", tiny_cell, society_probe))
    by_name = {(day, m): v for _, _, day, m, v in rows}
    last = max(day for day, _ in by_name)
    assert probed.values["final:time_spent_min"] == by_name[(last, "time_spent_min")]


def test_truth_rankers_conform(tiny_cell: Cell, make_context) -> None:  # type: ignore[no-untyped-def]
    from feedlab.engine.run import setup_for
    from feedlab.engine.step import start

    state = start(setup_for(tiny_cell))
    rng = np.random.default_rng(3)
    context = make_context(rng.random((6, 12)) < 0.7)
    persons = np.arange(6, dtype=np.int64)
    context = replace(context, candidates=replace(context.candidates, persons=persons))
    for mode in ("oracle", "like-minded"):
        ranker = TruthRanker(mode)  # type: ignore[arg-type]
        ranker.view.world = state.world
        check_ranker(ranker, context)
        # it never reads predictions, so serving predicts only what it shows
        assert not reads_predictions(ranker)
        scrambled = replace(context, predictions=rng.random(context.predictions.shape))
        zeros = replace(context, predictions=np.zeros(context.predictions.shape))
        np.testing.assert_array_equal(
            ranker.rank(scrambled, 4, np.random.default_rng(0)),
            ranker.rank(zeros, 4, np.random.default_rng(0)),
        )


def test_a_tailless_probe_skips_only_the_tail_fits(tiny_cell: Cell) -> None:
    full = simulate(Task("society", tiny_cell, society_probe)).values
    tailless = simulate(Task("society", tiny_cell, tailless_probe)).values
    missing = set(full) - set(tailless)
    assert missing and all("tail" in k or "alpha" in k or "top10" in k for k in missing)
    assert not set(tailless) - set(full)
    np.testing.assert_array_equal([full[k] for k in tailless], list(tailless.values()))


def test_oracle_serves_more_true_utility_than_random(tiny_cell: Cell) -> None:
    from feedlab.platform.rankers.builtin import Random

    oracle = simulate(
        Task("society", replace(tiny_cell, ranker=TruthRanker("oracle")), society_probe)
    )
    rand = simulate(Task("society", replace(tiny_cell, ranker=Random()), society_probe))
    assert oracle.values["feed_utility"] > rand.values["feed_utility"]


def test_watched_returns_the_inner_feeds(make_context) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(4)
    context = make_context(rng.random((5, 9)) < 0.8, predictions=rng.random((5, 9, 7)))
    inner = Engagement()
    watched = Watched(inner, WorldView(), outrage_threshold=0.5)
    a = watched.rank(context, 5, np.random.default_rng(1))
    b = inner.rank(context, 5, np.random.default_rng(1))
    np.testing.assert_array_equal(a, b)


def test_bridging_checks_pass_on_the_scorer_and_see_the_penalty() -> None:
    checks = findings.bridging_checks()
    assert [c.passed for c in checks] == [True, True, True]
    gap_default, _ = findings.bridging_separation(0, 5.0)
    gap_flat, _ = findings.bridging_separation(0, 1.0)
    assert gap_default > 0 > gap_flat  # without the penalty the majority's posts win


def test_notifications_judge_needs_gains_then_churn() -> None:
    quiet = {"early:sessions_per_person": [4.0, 4.1, 3.9], "final:churned_share": [0.0, 0.0, 0.0]}
    loud = {"early:sessions_per_person": [5.0, 5.2, 4.9], "final:churned_share": [0.05, 0.04, 0.06]}
    assert all(
        c.passed for c in findings.notifications(_collected({"quiet": quiet, "push-12": loud}))
    )
    flipped = findings.notifications(_collected({"quiet": loud, "push-12": quiet}))
    assert not any(c.passed for c in flipped)


def test_plan_covers_every_arm_a_judge_reads() -> None:
    from feedlab.validation.suite import QUICK, plan

    arms = {task.cell.arm for task in plan(QUICK)}
    assert {"engagement", "chronological", "random", "oracle", "like-minded"} <= arms
    assert {"engagement/consent", "quiet", "push-12"} <= arms
    assert {"like-minded/deffuant", "random/deffuant"} <= arms


def test_plan_runs_extra_engagement_seeds_that_pairs_leave_out() -> None:
    from feedlab.validation.suite import QUICK, plan

    seeds: dict[str, set[int]] = {}
    for task in plan(QUICK):
        seeds.setdefault(task.cell.arm, set()).add(task.cell.seed)
    assert len(seeds["engagement"]) == QUICK.engagement_seeds > QUICK.seeds
    assert len(seeds["chronological"]) == QUICK.seeds
    assert seeds["chronological"] < seeds["engagement"]
    eng = {"x": [1.0] * QUICK.engagement_seeds}
    chron = {"x": [0.0] * QUICK.seeds}
    c = _collected({"engagement": eng, "chronological": chron})
    assert c.paired("engagement", "chronological", "x").size == QUICK.seeds


def test_model_learns_judge_reads_error_against_data() -> None:
    engagement = {
        "leaning_error_data_rho": [-0.10, -0.14, -0.12, -0.15],
        "leaning_mae_least_data": [0.21, 0.21, 0.20, 0.19],
        "leaning_mae_most_data": [0.18, 0.15, 0.15, 0.14],
        "leaning_r_most_data": [0.80, 0.81, 0.79, 0.80],  # a lower r is not judged
        "leaning_r_least_data": [0.85, 0.84, 0.86, 0.85],
        "first:model_auc": [0.70] * 4,
        "final:model_auc": [0.76, 0.77, 0.75, 0.76],
    }
    consent = {
        "final:criteria_per_person_opt_out": [1.0, 1.1, 0.9, 1.0],
        "final:criteria_per_person_opt_in": [5.0, 5.1, 4.9, 5.0],
        "final:leaning_inference_mae_opt_out": [0.3] * 4,
        "final:leaning_inference_mae_opt_in": [0.2] * 4,
    }
    checks = findings.model_learns(
        _collected({"engagement": engagement, "engagement/consent": consent})
    )
    assert [c.passed for c in checks] == [True, True, True]
    assert "r most - least" in checks[1].measured
    engagement["leaning_error_data_rho"] = [0.10, 0.14, 0.12, 0.15]  # error grows with data
    checks = findings.model_learns(
        _collected({"engagement": engagement, "engagement/consent": consent})
    )
    assert [c.passed for c in checks] == [True, False, True]


def test_validate_refuses_an_out_file_in_a_missing_folder(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from feedlab.cli.main import app

    result = CliRunner().invoke(
        app, ["validate", "--quick", "--out", str(tmp_path / "no" / "v.json")]
    )
    assert result.exit_code == 2
    assert "--out must be a file in an existing folder" in result.output
    assert "Traceback" not in result.output


def test_deffuant_runs_change_only_repulsion_and_exploration() -> None:
    """Finding 6's regime: repulsion off and exploration candidates on, nothing else changed."""
    from feedlab.validation.suite import QUICK, plan

    deffuant = [t.cell for t in plan(QUICK) if t.cell.arm.endswith("/deffuant")]
    assert len(deffuant) == 2 * QUICK.opinion_seeds
    default = BehaviourParams()
    expected = default.model_copy(
        update={"drift": default.drift.model_copy(update={"repulsion": 0.0})}
    )
    platform = PlatformParams()
    exploring = platform.model_copy(
        update={"candidates": platform.candidates.model_copy(update={"explore": 64})}
    )
    for cell in deffuant:
        assert cell.behaviour == expected
        assert cell.platform == exploring
        assert cell.world == WorldParams(n_people=QUICK.opinion_people)
        assert cell.days == QUICK.opinion_days


def test_validate_out_keeps_every_simulation_even_when_a_judge_fails(
    tmp_path, monkeypatch: pytest.MonkeyPatch, tiny_cell: Cell
) -> None:  # type: ignore[no-untyped-def]
    import json

    from typer.testing import CliRunner

    from feedlab.cli.main import app
    from feedlab.validation import suite
    from feedlab.validation.harness import Check

    monkeypatch.setattr(suite, "plan", lambda size: [Task("society", tiny_cell, tailless_probe)])

    def broken(outcomes: list[Outcome]) -> list[Check]:
        raise RuntimeError("a judge with a bug")

    monkeypatch.setattr(suite, "judge", broken)
    out = tmp_path / "v.json"
    args = ["validate", "--quick", "--workers", "1", "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code != 0
    record = json.loads(out.read_text())
    assert [(o["arm"], o["seed"]) for o in record["outcomes"]] == [("engagement", tiny_cell.seed)]
    assert record["outcomes"][0]["values"]["true_cascades"] > 0
    assert "checks" not in record

    verdict = Check("8. x", "claim", "source", "reported", "measured", True)
    monkeypatch.setattr(suite, "judge", lambda outcomes: [verdict])
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    record = json.loads(out.read_text())
    assert len(record["outcomes"]) == 1 and record["checks"][0]["claim"] == "claim"
