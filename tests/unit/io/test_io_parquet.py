import math
import re
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow.parquet as pq
import pytest
from polars.testing import assert_frame_equal

from feedlab.core.errors import ShapeError
from feedlab.io.parquet import read_metrics, write_metrics
from feedlab.io.schema import METRICS_SCHEMA, SCHEMA_VERSION, SCHEMA_VERSION_KEY


def _metrics() -> pl.DataFrame:
    rows = [
        (arm, seed, day, metric, float(10 * seed + day) + (0.5 if metric == "b" else 0.0))
        for arm in ("ranked", "chrono")
        for seed in (0, 1)
        for day in range(3)
        for metric in ("b", "a")
    ]
    frame = pl.DataFrame(rows, schema=METRICS_SCHEMA, orient="row")
    return frame.with_columns(
        value=pl.when(pl.col("day") == 1).then(math.nan).otherwise(pl.col("value"))
    )


def test_round_trip_returns_the_rows_sorted_by_key(tmp_path: Path) -> None:
    frame = _metrics()
    path = tmp_path / "metrics.parquet"
    write_metrics(path, frame)
    back = read_metrics(path)
    assert back.schema == pl.Schema(METRICS_SCHEMA)
    assert_frame_equal(back, frame.sort("arm", "seed", "day", "metric"))
    assert back["arm"][0] == "chrono"
    assert back["value"].is_nan().sum() == frame["value"].is_nan().sum() > 0


def test_file_records_schema_version_and_uses_zstd(tmp_path: Path) -> None:
    path = tmp_path / "metrics.parquet"
    write_metrics(path, _metrics())
    meta = pq.read_metadata(path)
    assert meta.metadata[SCHEMA_VERSION_KEY.encode()] == str(SCHEMA_VERSION).encode()
    assert SCHEMA_VERSION_KEY == "feedlab.schema_version"
    assert meta.row_group(0).column(0).compression == "ZSTD"
    assert pq.read_schema(path).names == list(METRICS_SCHEMA)


def test_bytes_do_not_depend_on_row_or_column_order(tmp_path: Path) -> None:
    frame = _metrics()
    rng = np.random.default_rng(7)
    first = frame.sample(fraction=1.0, shuffle=True, seed=int(rng.integers(1000)))
    second = frame.sample(fraction=1.0, shuffle=True, seed=int(rng.integers(1000)))
    second = second.select(reversed(second.columns))
    assert not first.equals(second)
    write_metrics(tmp_path / "one.parquet", first)
    write_metrics(tmp_path / "two.parquet", second)
    assert (tmp_path / "one.parquet").read_bytes() == (tmp_path / "two.parquet").read_bytes()


@pytest.mark.parametrize("column", list(METRICS_SCHEMA))
def test_missing_column_is_named(tmp_path: Path, column: str) -> None:
    frame = _metrics().drop(column)
    with pytest.raises(ShapeError, match=f"must have a column '{column}'"):
        write_metrics(tmp_path / "metrics.parquet", frame)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("column", "dtype", "expected"),
    [("seed", pl.Int32, "Int64"), ("value", pl.Float32, "Float64"), ("day", pl.Utf8, "Int64")],
)
def test_wrong_dtype_is_named(
    tmp_path: Path, column: str, dtype: type[pl.DataType], expected: str
) -> None:
    frame = _metrics().with_columns(pl.col(column).cast(dtype))
    message = f"metrics column '{column}' must have type {expected}, got {dtype.__name__}."
    with pytest.raises(ShapeError, match=re.escape(message)):
        write_metrics(tmp_path / "metrics.parquet", frame)


def test_extra_column_is_rejected(tmp_path: Path) -> None:
    frame = _metrics().with_columns(run_id=pl.lit("r1"))
    with pytest.raises(ShapeError, match=re.escape("got extra ['run_id']")):
        write_metrics(tmp_path / "metrics.parquet", frame)


def test_nulls_are_rejected(tmp_path: Path) -> None:
    frame = _metrics().with_columns(
        arm=pl.when(pl.col("day") == 2).then(None).otherwise(pl.col("arm"))
    )
    with pytest.raises(ShapeError, match="column 'arm' must have no nulls, got 8 null"):
        write_metrics(tmp_path / "metrics.parquet", frame)


def test_duplicated_rows_are_rejected(tmp_path: Path) -> None:
    frame = _metrics()
    doubled = pl.concat([frame, frame.head(1)])
    with pytest.raises(ShapeError, match=r"unique by \(arm, seed, day, metric\), got 2 repeated"):
        write_metrics(tmp_path / "metrics.parquet", doubled)


def test_invalid_frame_leaves_the_previous_file_intact(tmp_path: Path) -> None:
    path = tmp_path / "metrics.parquet"
    write_metrics(path, _metrics())
    before = path.read_bytes()
    with pytest.raises(ShapeError):
        write_metrics(path, _metrics().drop("value"))
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.parquet"]


@pytest.mark.parametrize("metadata", [None, {SCHEMA_VERSION_KEY: "999"}])
def test_read_rejects_files_of_another_schema_version(
    tmp_path: Path, metadata: dict[str, str] | None
) -> None:
    path = tmp_path / "metrics.parquet"
    _metrics().write_parquet(path, metadata=metadata)
    got = None if metadata is None else "999"
    message = f"{SCHEMA_VERSION_KEY} must be '{SCHEMA_VERSION}', got {got!r}."
    with pytest.raises(ShapeError, match=re.escape(message)):
        read_metrics(path)


def test_read_checks_the_columns(tmp_path: Path) -> None:
    path = tmp_path / "metrics.parquet"
    _metrics().drop("day").write_parquet(path, metadata={SCHEMA_VERSION_KEY: str(SCHEMA_VERSION)})
    with pytest.raises(ShapeError, match="must have a column 'day'"):
        read_metrics(path)
