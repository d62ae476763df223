"""The versioned column layout of the daily metrics table and its validation.

The table is long-format: one row per (arm, seed, day, metric). Bump :data:`SCHEMA_VERSION`
whenever a column is added, removed, renamed or changes meaning, so readers can tell old files
from new ones.
"""

from __future__ import annotations

from typing import Final

import polars as pl

from feedlab.core.errors import ShapeError

METRICS_SCHEMA: Final[dict[str, type[pl.DataType]]] = {
    "arm": pl.Utf8,
    "seed": pl.Int64,
    "day": pl.Int64,
    "metric": pl.Utf8,
    "value": pl.Float64,
}
"""Column name -> dtype of the metrics table, in on-disk column order.

``arm`` is the platform policy, ``seed`` the replicate, ``day`` the simulated day, ``metric``
the metric name and ``value`` its value that day (NaN where the metric is undefined that day).
"""

KEY_COLUMNS: Final[tuple[str, ...]] = ("arm", "seed", "day", "metric")
"""The columns that identify a row; rows are unique by, and stored sorted by, these."""

SCHEMA_VERSION: Final[int] = 1
"""Version of :data:`METRICS_SCHEMA`, stored in every metrics file."""

SCHEMA_VERSION_KEY: Final[str] = "feedlab.schema_version"
"""Parquet key-value metadata key that holds :data:`SCHEMA_VERSION`."""


def check_metrics_frame(
    frame: pl.DataFrame, *, name: str = "metrics", allow_extra_columns: bool = False
) -> None:
    """Raise :class:`ShapeError` unless ``frame`` is a valid daily metrics table.

    A valid table has every column of :data:`METRICS_SCHEMA` with exactly its dtype, no nulls,
    and at most one row per :data:`KEY_COLUMNS` combination. ``value`` may hold NaN.

    Args:
        frame: the table to check.
        name: what the table is called in error messages (a path or a role).
        allow_extra_columns: accept columns beyond the schema (such as ``run_id``).
    """
    columns = frame.columns
    for column, dtype in METRICS_SCHEMA.items():
        want = dtype.__name__
        if column not in frame.schema:
            raise ShapeError(f"{name} must have a column {column!r} ({want}), got {columns!r}.")
        actual = frame.schema[column]
        if actual != dtype:
            raise ShapeError(f"{name} column {column!r} must have type {want}, got {actual!r}.")
        nulls = frame[column].null_count()
        if nulls > 0:
            raise ShapeError(f"{name} column {column!r} must have no nulls, got {nulls} null(s).")
    extra = [column for column in columns if column not in METRICS_SCHEMA]
    if extra and not allow_extra_columns:
        known = list(METRICS_SCHEMA)
        raise ShapeError(f"{name} must have only the columns {known!r}, got extra {extra!r}.")
    keys = frame.select(KEY_COLUMNS)
    duplicated = keys.filter(keys.is_duplicated())
    if duplicated.height > 0:
        example = duplicated.row(0)
        key = f"({', '.join(KEY_COLUMNS)})"
        n_rows = duplicated.height
        raise ShapeError(
            f"{name} rows must be unique by {key}, got {n_rows} repeated, e.g. {example!r}."
        )
