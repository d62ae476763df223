"""The optimizer's log as result files: every A/B test, and the shipped values day by day.

A cell reports the platform optimizer's log through its metric rows, under names that start with
``optimizer.`` (``optimizer.value.<parameter>`` each day; ``optimizer.test.<parameter>.<field>``
on the day a test ends), so the log survives worker processes, Ray and checkpoints exactly as the
metrics do. The runner splits those rows out of ``metrics.parquet`` into two tables.
"""

from __future__ import annotations

import polars as pl

PREFIX = "optimizer."
VALUE_PREFIX = "optimizer.value."
TEST_PREFIX = "optimizer.test."
TEST_FIELDS = ("control", "treatment", "effect", "ci_low", "ci_high", "shipped")


def split_optimizer_rows(frame: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Split a long metrics table into (metrics, shipped values, tests).

    Returns:
        ``metrics``: the rows that are not the optimizer's log;
        ``values``: ``arm, seed, day, parameter, value`` — the shipped value of each tunable
        parameter at the end of each day;
        ``tests``: ``arm, seed, day, parameter, control, treatment, effect, ci_low, ci_high,
        shipped`` — one row per finished test, ``day`` being the day it ended.
    """
    is_log = pl.col("metric").str.starts_with(PREFIX)
    metrics = frame.filter(~is_log)
    values = (
        frame.filter(pl.col("metric").str.starts_with(VALUE_PREFIX))
        .with_columns(pl.col("metric").str.strip_prefix(VALUE_PREFIX).alias("parameter"))
        .select("arm", "seed", "day", "parameter", "value")
        .sort("arm", "seed", "parameter", "day")
    )
    tests_long = (
        frame.filter(pl.col("metric").str.starts_with(TEST_PREFIX))
        .with_columns(pl.col("metric").str.strip_prefix(TEST_PREFIX).alias("key"))
        .with_columns(
            pl.col("key").str.replace(r"\.[a-z_]+$", "").alias("parameter"),
            pl.col("key").str.extract(r"\.([a-z_]+)$").alias("field"),
        )
    )
    if tests_long.height == 0:
        tests = pl.DataFrame(
            schema={
                "arm": pl.Utf8,
                "seed": pl.Int64,
                "day": pl.Int64,
                "parameter": pl.Utf8,
                **{f: pl.Float64 for f in TEST_FIELDS},
            }
        )
    else:
        tests = (
            tests_long.pivot(on="field", index=["arm", "seed", "day", "parameter"], values="value")
            .select("arm", "seed", "day", "parameter", *TEST_FIELDS)
            .sort("arm", "seed", "day")
        )
    return metrics, values, tests
