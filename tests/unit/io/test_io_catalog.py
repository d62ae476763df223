import dataclasses
import re
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest

from feedlab.core.errors import ConfigError
from feedlab.io.catalog import CATALOG_FILE, RunRecord, list_runs, open_catalog, register_run
from feedlab.io.parquet import write_metrics
from feedlab.io.schema import METRICS_SCHEMA


def _record(run_id: str, **changes: Any) -> RunRecord:
    fields: dict[str, Any] = {
        "run_id": run_id,
        "created_at": "2025-03-01T12:00:00Z",
        "scenario": "tiny",
        "path": run_id,
        "n_people": 100,
        "days": 3,
        "seeds": 2,
        "arms": ["chrono", "ranked"],
        "config_sha256": "ab" * 32,
        "feedlab_version": "0.1.0",
        "wall_seconds": 1.25,
    }
    fields.update(changes)
    return RunRecord(**fields)


def _write_run(runs_dir: Path, run_id: str, values: list[float]) -> None:
    folder = runs_dir / run_id
    folder.mkdir(parents=True)
    n = len(values)
    frame = pl.DataFrame(
        {
            "arm": ["chrono"] * n,
            "seed": [0] * n,
            "day": list(range(n)),
            "metric": ["engagement"] * n,
            "value": values,
        },
        schema=METRICS_SCHEMA,
    )
    write_metrics(folder / "metrics.parquet", frame)


def test_metrics_view_spans_runs_with_run_id_from_the_folder(tmp_path: Path) -> None:
    _write_run(tmp_path, "run-a", [1.0, 2.0, 3.0])
    _write_run(tmp_path, "run-b", [10.0, 30.0])
    register_run(tmp_path, _record("run-a"))
    register_run(tmp_path, _record("run-b", days=2))
    with open_catalog(tmp_path) as con:
        rows = con.sql("SELECT run_id, avg(value) FROM metrics GROUP BY 1 ORDER BY 1").fetchall()
        joined = con.sql(
            "SELECT r.days, count(*) FROM metrics JOIN runs r USING (run_id) GROUP BY 1 ORDER BY 1"
        ).fetchall()
    assert rows == [("run-a", 2.0), ("run-b", 20.0)]
    assert joined == [(2, 2), (3, 3)]


def test_metrics_view_has_the_schema_columns_plus_run_id(tmp_path: Path) -> None:
    _write_run(tmp_path, "run-a", [1.0])
    with open_catalog(tmp_path) as con:
        described = con.sql("DESCRIBE metrics").fetchall()
    columns = [(name, sql_type) for name, sql_type, *_ in described]
    assert columns == [
        ("arm", "VARCHAR"),
        ("seed", "BIGINT"),
        ("day", "BIGINT"),
        ("metric", "VARCHAR"),
        ("value", "DOUBLE"),
        ("run_id", "VARCHAR"),
    ]


def test_empty_runs_folder_has_an_empty_metrics_view_and_stays_untouched(
    tmp_path: Path,
) -> None:
    with open_catalog(tmp_path) as con:
        frame = con.sql("SELECT * FROM metrics").pl()
        n_runs = con.sql("SELECT count(*) FROM runs").fetchall()
    assert frame.height == 0
    assert frame.columns == [*METRICS_SCHEMA, "run_id"]
    assert n_runs == [(0,)]
    assert list(tmp_path.iterdir()) == []  # a read-only open writes nothing


def test_registered_catalog_without_metrics_still_has_the_view(tmp_path: Path) -> None:
    register_run(tmp_path, _record("run-a"))
    with open_catalog(tmp_path) as con:
        assert con.sql("SELECT count(*) FROM metrics").fetchall() == [(0,)]
        assert con.sql("SELECT run_id FROM runs").fetchall() == [("run-a",)]


def test_reregistering_updates_instead_of_duplicating(tmp_path: Path) -> None:
    register_run(tmp_path, _record("run-a"))
    register_run(tmp_path, _record("run-b"))
    register_run(tmp_path, _record("run-a", wall_seconds=9.5, arms=["x"], scenario="big"))
    runs = list_runs(tmp_path)
    assert sorted(runs["run_id"].to_list()) == ["run-a", "run-b"]
    updated = runs.filter(pl.col("run_id") == "run-a").row(0, named=True)
    assert updated["wall_seconds"] == 9.5
    assert updated["arms"] == ["x"]
    assert updated["scenario"] == "big"


def test_list_runs_is_newest_first_with_one_column_per_field(tmp_path: Path) -> None:
    register_run(tmp_path, _record("old", created_at="2025-01-01T00:00:00Z"))
    register_run(tmp_path, _record("newest", created_at="2025-01-02T09:30:00.5+00:00"))
    register_run(tmp_path, _record("middle", created_at="2025-01-02T09:30:00Z"))
    runs = list_runs(tmp_path)
    assert runs["run_id"].to_list() == ["newest", "middle", "old"]
    assert runs.columns == [field.name for field in dataclasses.fields(RunRecord)]
    assert runs.schema["arms"] == pl.List(pl.Utf8)
    assert runs.row(2, named=True) == dataclasses.asdict(
        _record("old", created_at="2025-01-01T00:00:00Z")
    )


def test_list_runs_of_a_folder_without_catalog_is_empty(tmp_path: Path) -> None:
    runs = list_runs(tmp_path)
    assert runs.height == 0
    assert runs.columns == [field.name for field in dataclasses.fields(RunRecord)]


def test_catalog_lives_in_the_runs_folder_and_is_read_only_by_default(tmp_path: Path) -> None:
    runs_dir = tmp_path / "nested" / "runs"
    register_run(runs_dir, _record("run-a"))
    assert (runs_dir / CATALOG_FILE).is_file()
    with open_catalog(runs_dir) as con, pytest.raises(duckdb.Error):
        con.execute("DELETE FROM runs")
    with open_catalog(runs_dir, read_only=False) as con:
        con.execute("DELETE FROM runs")
    assert list_runs(runs_dir).height == 0


def test_quote_in_the_runs_folder_name_is_escaped(tmp_path: Path) -> None:
    runs_dir = tmp_path / "it's runs"
    _write_run(runs_dir, "run-a", [4.0, 6.0])
    with open_catalog(runs_dir) as con:
        assert con.sql("SELECT run_id, sum(value) FROM metrics GROUP BY 1").fetchall() == [
            ("run-a", 10.0)
        ]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"run_id": "a/b", "path": "a/b"}, "RunRecord.run_id must be a folder name"),
        ({"run_id": ""}, "RunRecord.run_id must be a folder name"),
        ({"run_id": ".staging"}, "without '/', '\\' or a leading '.', got '.staging'."),
        ({"run_id": "run\n"}, "RunRecord.run_id must be a folder name"),
        ({"created_at": "2025-03-01T12:00:00"}, "RunRecord.created_at must be an ISO-8601"),
        ({"created_at": "2025-03-01T12:00:00+01:00"}, "RunRecord.created_at must be an ISO"),
        ({"created_at": "yesterday"}, "RunRecord.created_at must be an ISO-8601"),
        ({"path": "elsewhere"}, "RunRecord.path must be the folder 'run-a', got 'elsewhere'."),
        ({"path": "sub/run-a"}, "RunRecord.path must be the folder 'run-a'"),
        ({"n_people": 0}, "RunRecord.n_people must be an int >= 1, got 0."),
        ({"days": True}, "RunRecord.days must be an int >= 1, got True."),
        ({"seeds": 2.0}, "RunRecord.seeds must be an int >= 1, got 2.0."),
        ({"arms": []}, "RunRecord.arms must be a non-empty list"),
        ({"arms": ["a", "a"]}, "RunRecord.arms must be a non-empty list of distinct"),
        ({"config_sha256": "AB" * 32}, "RunRecord.config_sha256 must be 64 lowercase hex"),
        ({"scenario": ""}, "RunRecord.scenario must be a non-empty string, got ''."),
        ({"wall_seconds": float("nan")}, "RunRecord.wall_seconds must be a float >= 0, got nan."),
        ({"wall_seconds": -1.0}, "RunRecord.wall_seconds must be a float >= 0, got -1.0."),
    ],
)
def test_invalid_records_are_rejected(changes: dict[str, Any], message: str) -> None:
    fields = dict(changes)
    run_id = fields.pop("run_id", "run-a")
    with pytest.raises(ConfigError, match=re.escape(message)):
        _record(run_id, **fields)


def test_hidden_staging_folders_are_left_out_of_the_metrics_view(tmp_path: Path) -> None:
    _write_run(tmp_path, "done run", [1.0])
    _write_run(tmp_path, ".done run.partial-123", [50.0])
    with open_catalog(tmp_path) as con:
        assert con.sql("SELECT run_id, value FROM metrics").fetchall() == [("done run", 1.0)]


def test_only_hidden_folders_give_an_empty_view(tmp_path: Path) -> None:
    _write_run(tmp_path, ".staging", [50.0])
    with open_catalog(tmp_path) as con:
        assert con.sql("SELECT count(*) FROM metrics").fetchall() == [(0,)]


def test_valid_record_accepts_both_utc_spellings() -> None:
    assert _record("r", created_at="2025-03-01T12:00:00+00:00").created_at.endswith("+00:00")
    assert _record("r", wall_seconds=0).wall_seconds == 0
