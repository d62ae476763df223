import math
import re

import polars as pl
import pytest

from feedlab.core.errors import ConfigError, ShapeError
from feedlab.experiments.summary import amplification, compare_arms, run_values
from feedlab.io.schema import METRICS_SCHEMA

NAN = math.nan
T_975_2 = 4.302652729911275  # Student-t quantile t_{0.975} with 2 degrees of freedom
T_95_2 = 2.919985580355516  # t_{0.95} with 2 degrees of freedom (a 90% interval)


def _frame(rows: list[tuple[str, int, int, str, float]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=METRICS_SCHEMA, orient="row")


def _series(arm: str, seed: int, metric: str, values: list[float]) -> list:
    return [(arm, seed, day, metric, value) for day, value in enumerate(values)]


def _experiment() -> pl.DataFrame:
    """Three arms x three seeds x three days; run values chosen to be computed by hand.

    "reach" (mean over days) per seed: baseline 1, 2, 3; "ranked" baseline + (1, 2, 6);
    "chrono" baseline + (-2, -2.5, -1.5). "retention" (final day) is 5 + seed for the
    baseline and 7 + seed for "ranked"/"chrono"; its last day is NaN for seed 2.
    """
    rows: list = []
    offsets = {"baseline": (0.0, 0.0, 0.0), "ranked": (1.0, 2.0, 6.0), "chrono": (-2, -2.5, -1.5)}
    for arm, arm_offsets in offsets.items():
        for seed in range(3):
            level = seed + 1 + arm_offsets[seed]
            rows += _series(arm, seed, "reach", [level - 1, level, level + 1])
            final = 5.0 + seed + (0.0 if arm == "baseline" else 2.0)
            last = NAN if seed == 2 else final
            penultimate = final if seed == 2 else 100.0
            rows += _series(arm, seed, "retention", [100.0, penultimate, last])
    return _frame(rows)


def _row(table: pl.DataFrame, **keys: object) -> dict:
    selected = table.filter(*(pl.col(name) == value for name, value in keys.items()))
    assert selected.height == 1
    return selected.row(0, named=True)


# run_values ---------------------------------------------------------------------------------


def test_mean_and_final_aggregations() -> None:
    values = run_values(_experiment(), {"retention": "final"})
    assert values.columns == ["arm", "seed", "metric", "value"]
    assert values.height == 3 * 3 * 2
    assert _row(values, arm="baseline", seed=1, metric="reach")["value"] == 2.0
    assert _row(values, arm="ranked", seed=2, metric="reach")["value"] == 9.0
    assert _row(values, arm="baseline", seed=0, metric="retention")["value"] == 5.0
    # The last day of seed 2 is NaN, so "final" falls back to the day before.
    assert _row(values, arm="chrono", seed=2, metric="retention")["value"] == 9.0


def test_mean_skips_nan_days_and_all_nan_gives_nan() -> None:
    frame = _frame(
        _series("a", 0, "cascade_size", [2.0, NAN, 4.0])
        + _series("a", 1, "cascade_size", [NAN, NAN, NAN])
    )
    values = run_values(frame, {})
    assert values["value"][0] == 3.0
    assert math.isnan(values["value"][1])
    final = run_values(frame, {}, default="final")
    assert final["value"][0] == 4.0
    assert math.isnan(final["value"][1])


def test_final_uses_the_latest_day_not_the_last_row() -> None:
    rows = _series("a", 0, "m", [1.0, 2.0, 3.0])
    frame = _frame([rows[2], rows[0], rows[1]])
    assert run_values(frame, {"m": "final"})["value"].to_list() == [3.0]


def test_default_applies_to_metrics_not_listed() -> None:
    frame = _frame(_series("a", 0, "m", [1.0, 5.0]) + _series("a", 0, "n", [1.0, 5.0]))
    values = run_values(frame, {"m": "mean", "unmeasured": "final"}, default="final")
    assert values["value"].to_list() == [3.0, 5.0]


def test_rows_keep_arm_and_metric_order_of_first_appearance() -> None:
    frame = _frame(
        _series("zeta", 1, "b", [1.0])
        + _series("zeta", 0, "a", [1.0])
        + _series("alpha", 0, "b", [1.0])
        + _series("zeta", 0, "b", [1.0])
        + _series("alpha", 0, "a", [1.0])
    )
    values = run_values(frame, {})
    assert values.select("arm", "seed", "metric").rows() == [
        ("zeta", 0, "b"),
        ("zeta", 0, "a"),
        ("zeta", 1, "b"),
        ("alpha", 0, "b"),
        ("alpha", 0, "a"),
    ]


def test_unknown_aggregation_is_rejected_with_a_suggestion() -> None:
    message = "aggregation['reach'] must be 'mean' or 'final', got 'meen'. Did you mean 'mean'?"
    with pytest.raises(ConfigError, match=re.escape(message)):
        run_values(_experiment(), {"reach": "meen"})
    with pytest.raises(ConfigError, match=re.escape("default must be 'mean' or 'final'")):
        run_values(_experiment(), {}, default="median")


def test_frame_must_follow_the_metrics_schema() -> None:
    with pytest.raises(ShapeError, match="must have a column 'day'"):
        run_values(_experiment().drop("day"), {})


def test_extra_columns_are_allowed_but_duplicates_are_not() -> None:
    frame = _experiment().with_columns(run_id=pl.lit("r1"))
    assert run_values(frame, {}).height == 18
    with pytest.raises(ShapeError, match="unique by"):
        run_values(pl.concat([frame, frame.with_columns(run_id=pl.lit("r2"))]), {})


# compare_arms -------------------------------------------------------------------------------


def test_paired_difference_and_t_interval_match_a_hand_computation() -> None:
    table = compare_arms(_experiment(), "baseline", {"retention": "final"})
    ranked = _row(table, arm="ranked", metric="reach")
    # Paired differences 1, 2, 6: mean 3, sample variance ((-2)^2 + (-1)^2 + 3^2) / 2 = 7.
    half = T_975_2 * math.sqrt(7.0) / math.sqrt(3.0)
    assert ranked["mean"] == pytest.approx(5.0)  # run values 2, 4, 9
    assert ranked["sd"] == pytest.approx(math.sqrt(13.0))  # deviations -3, -1, 4
    assert ranked["n_seeds"] == 3
    assert ranked["diff"] == pytest.approx(3.0)
    assert ranked["diff_ci_low"] == pytest.approx(3.0 - half)
    assert ranked["diff_ci_high"] == pytest.approx(3.0 + half)
    assert ranked["rel_diff"] == pytest.approx(3.0 / 2.0)
    assert ranked["distinguishable"] is False  # 3 - 6.57 < 0

    chrono = _row(table, arm="chrono", metric="reach")
    # Paired differences -2, -2.5, -1.5: mean -2, sample sd 0.5.
    half = T_975_2 * 0.5 / math.sqrt(3.0)
    assert chrono["diff"] == pytest.approx(-2.0)
    assert chrono["diff_ci_low"] == pytest.approx(-2.0 - half)
    assert chrono["diff_ci_high"] == pytest.approx(-2.0 + half)
    assert chrono["rel_diff"] == pytest.approx(-1.0)
    assert chrono["distinguishable"] is True


def test_confidence_level_changes_the_quantile() -> None:
    table = compare_arms(_experiment(), "baseline", {}, confidence=0.90)
    chrono = _row(table, arm="chrono", metric="reach")
    assert chrono["diff_ci_high"] == pytest.approx(-2.0 + T_95_2 * 0.5 / math.sqrt(3.0))


def test_constant_differences_give_a_zero_width_interval() -> None:
    table = compare_arms(_experiment(), "baseline", {"retention": "final"})
    retention = _row(table, arm="ranked", metric="retention")
    assert retention["diff"] == retention["diff_ci_low"] == retention["diff_ci_high"] == 2.0
    assert retention["distinguishable"] is True
    assert retention["rel_diff"] == pytest.approx(2.0 / 6.0)


def test_baseline_rows_have_zero_diff_and_no_interval() -> None:
    table = compare_arms(_experiment(), "baseline", {})
    baseline = table.filter(pl.col("arm") == "baseline")
    assert baseline.height == 2
    assert baseline["diff"].to_list() == [0.0, 0.0]
    assert baseline["diff_ci_low"].is_nan().all()
    assert baseline["diff_ci_high"].is_nan().all()
    assert not baseline["distinguishable"].any()
    assert _row(table, arm="baseline", metric="reach")["sd"] == pytest.approx(1.0)


def test_columns_and_order_follow_the_input() -> None:
    table = compare_arms(_experiment(), "ranked", {})
    assert table.columns == [
        "arm",
        "metric",
        "mean",
        "sd",
        "n_seeds",
        "diff",
        "diff_ci_low",
        "diff_ci_high",
        "rel_diff",
        "distinguishable",
        "n_pairs",
    ]
    assert table.select("metric", "arm").rows() == [
        ("reach", "baseline"),
        ("reach", "ranked"),
        ("reach", "chrono"),
        ("retention", "baseline"),
        ("retention", "ranked"),
        ("retention", "chrono"),
    ]
    assert table.schema["n_seeds"] == pl.Int64
    assert table.schema["distinguishable"] == pl.Boolean


def test_only_common_seeds_enter_the_difference() -> None:
    frame = _frame(
        _series("base", 0, "m", [1.0])
        + _series("base", 1, "m", [2.0])
        + _series("new", 0, "m", [4.0])
        + _series("new", 1, "m", [4.0])
        + _series("new", 7, "m", [100.0])  # no baseline run for seed 7
    )
    new = _row(compare_arms(frame, "base", {}), arm="new")
    assert new["n_seeds"] == 3
    assert new["mean"] == pytest.approx(36.0)
    # Differences 3 and 2: mean 2.5, sd sqrt(0.5), t_{0.975,1} = 12.706204736174698.
    half = 12.706204736174698 * math.sqrt(0.5) / math.sqrt(2.0)
    assert new["diff"] == pytest.approx(2.5)
    assert new["diff_ci_high"] == pytest.approx(2.5 + half)


def test_single_pair_or_nan_runs_give_no_interval() -> None:
    frame = _frame(
        _series("base", 0, "m", [1.0])
        + _series("base", 1, "m", [NAN])
        + _series("new", 0, "m", [3.0])
        + _series("new", 1, "m", [5.0])
    )
    table = compare_arms(frame, "base", {})
    base, new = _row(table, arm="base"), _row(table, arm="new")
    assert base["n_seeds"] == 1
    assert math.isnan(base["sd"])
    assert new["diff"] == 2.0
    assert math.isnan(new["diff_ci_low"]) and math.isnan(new["diff_ci_high"])
    assert new["distinguishable"] is False


def test_relative_difference_is_nan_when_the_baseline_mean_is_zero() -> None:
    frame = _frame(
        _series("base", 0, "m", [1.0])
        + _series("base", 1, "m", [-1.0])
        + _series("new", 0, "m", [2.0])
        + _series("new", 1, "m", [1.0])
    )
    new = _row(compare_arms(frame, "base", {}), arm="new")
    assert new["diff"] == pytest.approx(1.5)
    assert math.isnan(new["rel_diff"])


def test_unknown_baseline_suggests_the_closest_arm() -> None:
    message = (
        "baseline must be one of the arms ['baseline', 'ranked', 'chrono'], got 'rankd'."
        " Did you mean 'ranked'?"
    )
    with pytest.raises(ConfigError, match=re.escape(message)):
        compare_arms(_experiment(), "rankd", {})


@pytest.mark.parametrize("confidence", [0.0, 1.0, 95.0])
def test_confidence_must_be_a_probability(confidence: float) -> None:
    message = f"confidence must be a float in (0, 1), got {confidence!r}."
    with pytest.raises(ConfigError, match=re.escape(message)):
        compare_arms(_experiment(), "baseline", {}, confidence=confidence)


def test_amplification_is_reach_ratio_minus_one_paired_by_seed() -> None:
    frame = _frame(
        _series("chrono", 0, "reach_false", [1.0, 3.0])  # run value 2
        + _series("chrono", 1, "reach_false", [4.0])
        + _series("ranked", 0, "reach_false", [5.0, 7.0])  # 6: ratio 3
        + _series("ranked", 1, "reach_false", [6.0])  # ratio 1.5
        + _series("ranked", 0, "time", [1.0])  # not a reach metric
        + _series("chrono", 0, "time", [1.0])
    )
    table = amplification(frame, "chrono")
    assert table.columns == [
        "arm", "group", "reach", "reference_reach", "amplification", "ci_low", "ci_high",
        "n_seeds", "distinguishable",
    ]  # fmt: skip
    row = table.row(0, named=True)
    assert (row["arm"], row["group"], row["n_seeds"]) == ("ranked", "false", 2)
    assert row["amplification"] == pytest.approx((2.0 + 0.5) / 2)
    assert row["reach"] == pytest.approx(6.0) and row["reference_reach"] == pytest.approx(3.0)
    half = (
        12.706204736174698 * math.sqrt(((2.0 - 1.25) ** 2 + (0.5 - 1.25) ** 2) / 1) / math.sqrt(2)
    )
    assert row["ci_high"] == pytest.approx(1.25 + half)
    assert row["distinguishable"] is False
    assert table.height == 1


def test_amplification_needs_a_known_reference() -> None:
    frame = _frame(_series("chrono", 0, "reach_false", [1.0]))
    with pytest.raises(ConfigError, match="reference must be one of the arms"):
        amplification(frame, "chronological")
