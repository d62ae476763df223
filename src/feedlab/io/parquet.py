"""Read and write the daily metrics table as a versioned, reproducible Parquet file."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from feedlab.core.errors import ShapeError
from feedlab.io.atomic import StrPath, atomic_path
from feedlab.io.schema import (
    KEY_COLUMNS,
    METRICS_SCHEMA,
    SCHEMA_VERSION,
    SCHEMA_VERSION_KEY,
    check_metrics_frame,
)


def write_metrics(path: StrPath, frame: pl.DataFrame) -> None:
    """Write the daily metrics table to ``path`` as zstd-compressed Parquet, atomically.

    Rows are sorted by :data:`~feedlab.io.schema.KEY_COLUMNS` and columns put in schema order
    before writing, so the file's bytes depend only on the set of rows, never on the order in
    which workers produced them. :data:`~feedlab.io.schema.SCHEMA_VERSION` is stored in the
    file's key-value metadata under ``feedlab.schema_version``.

    Args:
        path: the destination file. Its folder must already exist.
        frame: the table, with exactly the columns of
            :data:`~feedlab.io.schema.METRICS_SCHEMA`.

    Raises:
        ShapeError: a column is missing, has the wrong dtype or nulls, an extra column is
            present, or a (arm, seed, day, metric) row is duplicated.
    """
    check_metrics_frame(frame, name="metrics")
    ordered = frame.select(list(METRICS_SCHEMA)).sort(KEY_COLUMNS)
    with atomic_path(path) as tmp:
        ordered.write_parquet(
            tmp,
            compression="zstd",
            statistics=True,
            metadata={SCHEMA_VERSION_KEY: str(SCHEMA_VERSION)},
        )


def read_metrics(path: StrPath) -> pl.DataFrame:
    """Read a daily metrics table written by :func:`write_metrics`.

    Args:
        path: the Parquet file.

    Returns:
        The table, with the columns of :data:`~feedlab.io.schema.METRICS_SCHEMA` in order.

    Raises:
        ShapeError: the file was written under another schema version, or its columns do not
            match the schema.
    """
    path = Path(path)
    version = pl.read_parquet_metadata(path).get(SCHEMA_VERSION_KEY)
    if version != str(SCHEMA_VERSION):
        want = str(SCHEMA_VERSION)
        raise ShapeError(
            f"{str(path)!r} metadata {SCHEMA_VERSION_KEY} must be {want!r}, got {version!r}."
        )
    frame = pl.read_parquet(path)
    check_metrics_frame(frame, name=repr(str(path)))
    return frame.select(list(METRICS_SCHEMA))
