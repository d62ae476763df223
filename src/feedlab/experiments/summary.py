"""Summaries of an experiment: one value per run, and arms compared with a baseline arm.

The daily metrics table (:data:`~feedlab.io.schema.METRICS_SCHEMA`) is reduced in two steps:

1. :func:`run_values` turns each (arm, seed, metric) series over days into one number, by the
   metric's aggregation: ``"mean"`` over days or the ``"final"`` day's value.
2. :func:`compare_arms` compares each arm with the baseline arm on those numbers. Arms share
   seeds (common random numbers), so the comparison uses *paired* per-seed differences, whose
   spread is usually far smaller than that of either arm alone.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Final, Literal

import numpy as np
import polars as pl
from scipy import special

from feedlab.core.arrays import F64Array, IntArray
from feedlab.core.errors import ConfigError, did_you_mean
from feedlab.io.schema import check_metrics_frame
from feedlab.metrics.catalog import REACH_PREFIX

Aggregation = Literal["mean", "final"]
"""How a metric's daily series becomes one value: mean over days, or the last day's value."""

AGGREGATION_NAMES: Final[tuple[Aggregation, ...]] = ("mean", "final")
"""Every valid :data:`Aggregation`."""

_FINITE = pl.col("value").is_not_nan()


def run_values(
    frame: pl.DataFrame, aggregation: Mapping[str, str], default: str = "mean"
) -> pl.DataFrame:
    """Reduce the daily metrics table to one value per (arm, seed, metric).

    NaN marks a metric that is undefined on a day (for example, no cascade closed), so it is
    skipped: ``"mean"`` averages the days with a value and ``"final"`` takes the last day with
    a value. A series with no value at all gives NaN.

    Args:
        frame: the daily metrics table; columns beyond the schema are ignored.
        aggregation: metric name -> ``"mean"`` or ``"final"``. Names absent from ``frame`` are
            ignored.
        default: the aggregation of metrics not in ``aggregation``.

    Returns:
        Columns ``arm``, ``seed``, ``metric``, ``value``; rows ordered by arm (order of first
        appearance in ``frame``), seed (ascending), then metric (order of first appearance).

    Raises:
        ConfigError: an aggregation is neither ``"mean"`` nor ``"final"``.
        ShapeError: ``frame`` lacks a schema column, has a wrong dtype, nulls, or a duplicated
            (arm, seed, day, metric) row.
    """
    check_metrics_frame(frame, name="frame", allow_extra_columns=True)
    _check_aggregation("default", default)
    for metric, how in aggregation.items():
        _check_aggregation(f"aggregation[{metric!r}]", how)
    metrics = frame["metric"].unique(maintain_order=True).to_list()
    finals = [metric for metric in metrics if aggregation.get(metric, default) == "final"]
    value = pl.col("value").filter(_FINITE)
    day = pl.col("day").filter(_FINITE)
    reduced = frame.group_by("arm", "seed", "metric").agg(
        pl.when(pl.col("metric").is_in(finals).first())
        .then(value.sort_by(day).last())
        .otherwise(value.mean())
        .fill_null(math.nan)
        .alias("value")
    )
    return _order(reduced, frame, by=("arm", "seed", "metric")).select(
        "arm", "seed", "metric", "value"
    )


def compare_arms(
    frame: pl.DataFrame,
    baseline: str,
    aggregation: Mapping[str, str],
    confidence: float = 0.95,
    *,
    default: str = "mean",
) -> pl.DataFrame:
    """Compare every arm with ``baseline``, metric by metric, across seeds.

    Each run is first reduced to one value per metric (:func:`run_values`). For each (arm,
    metric) the paired differences ``arm - baseline`` are taken on the seeds both arms have
    a value for, and a Student-t confidence interval is put on their mean.

    Args:
        frame: the daily metrics table; columns beyond the schema are ignored.
        baseline: the arm the others are compared with.
        aggregation: metric name -> ``"mean"`` or ``"final"`` (see :func:`run_values`).
        confidence: the confidence level of the interval, in (0, 1).
        default: the aggregation of metrics not in ``aggregation``.

    Returns:
        One row per (arm, metric), ordered by metric (first appearance in ``frame``), then arm
        (first appearance), with columns:

        - ``arm``, ``metric``;
        - ``mean``, ``sd``: mean and sample standard deviation of the run values over seeds
          (NaN runs skipped; ``sd`` is NaN below 2 seeds);
        - ``n_seeds``: the number of seeds with a value;
        - ``diff``: mean paired difference arm - baseline over common seeds (0 for the
          baseline itself);
        - ``diff_ci_low``, ``diff_ci_high``: the Student-t interval of ``diff``; NaN with
          fewer than 2 pairs and for the baseline;
        - ``rel_diff``: ``diff / |baseline mean|``; NaN when the baseline mean is 0;
        - ``distinguishable``: whether the interval excludes 0;
        - ``n_pairs``: the number of seeds in the paired difference (both arms have a value).

    Raises:
        ConfigError: ``baseline`` is not an arm of ``frame``, ``confidence`` is not in (0, 1),
            or an aggregation is invalid.
        ShapeError: ``frame`` does not follow the metrics schema.
    """
    if not 0.0 < confidence < 1.0:
        raise ConfigError(f"confidence must be a float in (0, 1), got {confidence!r}.")
    values = run_values(frame, aggregation, default)
    arms = frame["arm"].unique(maintain_order=True).to_list()
    if baseline not in arms:
        hint = did_you_mean(baseline, arms)
        raise ConfigError(f"baseline must be one of the arms {arms!r}, got {baseline!r}.{hint}")

    finite = pl.col("value").filter(_FINITE)
    spread = values.group_by("arm", "metric").agg(
        finite.mean().fill_null(math.nan).alias("mean"),
        finite.std(ddof=1).fill_null(math.nan).alias("sd"),
        finite.len().cast(pl.Int64).alias("n_seeds"),
    )
    base = values.filter(pl.col("arm") == baseline).select(
        "seed", "metric", pl.col("value").alias("base_value")
    )
    paired = (
        values.join(base, on=["seed", "metric"], how="inner")
        .with_columns(pair=pl.col("value") - pl.col("base_value"))
        .filter(pl.col("pair").is_not_nan())
        .group_by("arm", "metric")
        .agg(
            pl.col("pair").mean().alias("diff"),
            pl.col("pair").std(ddof=1).alias("pair_sd"),
            pl.len().cast(pl.Int64).alias("n_pairs"),
        )
    )
    base_mean = spread.filter(pl.col("arm") == baseline).select(
        "metric", pl.col("mean").alias("base_mean")
    )
    table = (
        spread.join(paired, on=["arm", "metric"], how="left")
        .join(base_mean, on="metric", how="left")
        .with_columns(
            pl.col("diff", "pair_sd", "base_mean").fill_null(math.nan),
            pl.col("n_pairs").fill_null(0),
        )
    )
    table = _order(table, frame, by=("metric", "arm"))

    diff = table["diff"].to_numpy()
    n_pairs = table["n_pairs"].to_numpy()
    is_baseline = (table["arm"] == baseline).to_numpy()
    low, high = t_interval(diff, table["pair_sd"].to_numpy(), n_pairs, confidence)
    low[is_baseline] = high[is_baseline] = math.nan
    base_abs = np.abs(table["base_mean"].to_numpy())
    with np.errstate(divide="ignore", invalid="ignore"):
        rel_diff = np.where(base_abs > 0, diff / base_abs, math.nan)
    distinguishable = (low > 0) | (high < 0)  # False wherever the interval is NaN

    return table.select(
        "arm",
        "metric",
        "mean",
        "sd",
        "n_seeds",
        pl.Series("diff", diff, dtype=pl.Float64),
        pl.Series("diff_ci_low", low, dtype=pl.Float64),
        pl.Series("diff_ci_high", high, dtype=pl.Float64),
        pl.Series("rel_diff", rel_diff, dtype=pl.Float64),
        pl.Series("distinguishable", distinguishable, dtype=pl.Boolean),
        pl.Series("n_pairs", n_pairs, dtype=pl.Int64),
    )


def amplification(
    frame: pl.DataFrame,
    reference: str,
    prefix: str = REACH_PREFIX,
    confidence: float = 0.95,
) -> pl.DataFrame:
    """Amplification of each content group by each arm, against a reference (chronological) arm.

    In the form of Huszár et al. (2022, *PNAS* 119(1) e2025334119): a group's amplification
    under an arm is its reach under that arm divided by its reach under the reverse-
    chronological reference, minus 1 (0: no amplification; +1: twice the reach). Reach here is
    the group's ``reach_<group>`` metric, impressions per person per day (Huszár et al.
    count the users reached; with broad groups, nearly everyone is reached under any feed, so
    the volume is the informative measure). Arms share seeds, so the ratio is taken seed by
    seed on the run values (mean over days) and a Student-t interval is put on its mean.

    Args:
        frame: the daily metrics table.
        reference: the arm reach is compared with.
        prefix: the prefix of the reach metrics; the rest of the name is the group.
        confidence: the confidence level of the interval, in (0, 1).

    Returns:
        One row per (arm, group) for every arm but the reference, ordered by group then arm,
        with columns ``arm``, ``group``, ``reach``, ``reference_reach`` (means over seeds),
        ``amplification`` (mean over seeds of the per-seed ratio minus 1), ``ci_low``,
        ``ci_high``, ``n_seeds`` (seeds where both reaches exist and the reference's is > 0)
        and ``distinguishable`` (the interval excludes 0).

    Raises:
        ConfigError: ``reference`` is not an arm of ``frame`` or ``confidence`` is not in (0, 1).
    """
    if not 0.0 < confidence < 1.0:
        raise ConfigError(f"confidence must be a float in (0, 1), got {confidence!r}.")
    arms = frame["arm"].unique(maintain_order=True).to_list()
    if reference not in arms:
        hint = did_you_mean(reference, arms)
        raise ConfigError(f"reference must be one of the arms {arms!r}, got {reference!r}.{hint}")
    reach = frame.filter(pl.col("metric").str.starts_with(prefix))
    values = run_values(reach, {}, "mean")
    base = values.filter(pl.col("arm") == reference).select(
        "seed", "metric", pl.col("value").alias("ref")
    )
    finite = pl.col("value").is_not_nan() & pl.col("ref").is_not_nan() & (pl.col("ref") > 0)
    ratios = (
        values.filter(pl.col("arm") != reference)
        .join(base, on=["seed", "metric"], how="inner")
        .filter(finite)
        .with_columns(ratio=pl.col("value") / pl.col("ref") - 1.0)
        .group_by("arm", "metric")
        .agg(
            pl.col("value").mean().alias("reach"),
            pl.col("ref").mean().alias("reference_reach"),
            pl.col("ratio").mean().alias("amplification"),
            pl.col("ratio").std(ddof=1).fill_null(math.nan).alias("sd"),
            pl.len().cast(pl.Int64).alias("n_seeds"),
        )
    )
    if ratios.height == 0:
        return pl.DataFrame(
            schema={
                "arm": pl.Utf8, "group": pl.Utf8, "reach": pl.Float64,
                "reference_reach": pl.Float64, "amplification": pl.Float64,
                "ci_low": pl.Float64, "ci_high": pl.Float64, "n_seeds": pl.Int64,
                "distinguishable": pl.Boolean,
            }
        )  # fmt: skip
    ratios = _order(ratios, frame, by=("metric", "arm"))
    low, high = t_interval(
        ratios["amplification"].to_numpy(),
        ratios["sd"].to_numpy(),
        ratios["n_seeds"].to_numpy(),
        confidence,
    )
    return ratios.select(
        "arm",
        pl.col("metric").str.strip_prefix(prefix).alias("group"),
        "reach",
        "reference_reach",
        "amplification",
        pl.Series("ci_low", low, dtype=pl.Float64),
        pl.Series("ci_high", high, dtype=pl.Float64),
        "n_seeds",
        pl.Series("distinguishable", (low > 0) | (high < 0), dtype=pl.Boolean),
    )


def t_interval(
    mean: F64Array, sd: F64Array, n: IntArray, confidence: float
) -> tuple[F64Array, F64Array]:
    """Student-t interval ``mean ± t_{(1+c)/2, n-1} · sd / sqrt(n)``; NaN where ``n < 2``."""
    count = n.astype(np.float64)
    enough = count >= 2
    dof = np.where(enough, count - 1, 1.0)  # placeholder dof where the interval is undefined
    quantile = special.stdtrit(dof, (1.0 + confidence) / 2.0)  # Student t's inverse CDF
    half = np.where(enough, quantile * sd / np.sqrt(np.maximum(count, 1.0)), math.nan)
    return mean - half, mean + half


def _order(table: pl.DataFrame, frame: pl.DataFrame, *, by: tuple[str, ...]) -> pl.DataFrame:
    """Sort ``table`` by ``by``: arms and metrics in order of first appearance, seeds ascending."""
    keys = []
    for column in by:
        if column == "seed":
            keys.append(pl.col("seed"))
            continue
        first_seen = frame[column].unique(maintain_order=True)
        rank = pl.Series(range(first_seen.len()), dtype=pl.Int64)
        keys.append(pl.col(column).replace_strict(first_seen, rank, return_dtype=pl.Int64))
    return table.sort(keys)


def _check_aggregation(name: str, how: object) -> None:
    """Raise :class:`ConfigError` unless ``how`` is an :data:`Aggregation`."""
    if how not in AGGREGATION_NAMES:
        hint = did_you_mean(how, AGGREGATION_NAMES) if isinstance(how, str) else ""
        raise ConfigError(f"{name} must be 'mean' or 'final', got {how!r}.{hint}")
