"""The run catalog: one DuckDB file listing every run in a runs folder, and SQL over its metrics.

A runs folder looks like this::

    runs/
      catalog.duckdb          # table ``runs``: one row per run (see RunRecord)
      <run_id>/metrics.parquet
      <run_id>/...

:func:`open_catalog` returns a DuckDB connection with the table ``runs`` and a view ``metrics``
over every run's ``metrics.parquet``, so questions across runs are one SQL query::

    with open_catalog(Path("runs")) as con:
        con.sql("SELECT run_id, metric, avg(value) FROM metrics GROUP BY ALL").pl()

DuckDB lets one process write a database file, or any number read it. Writers and readers
that find the file locked retry until ``lock_timeout`` seconds have passed.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path, PurePath
from typing import Final

import duckdb
import polars as pl

from feedlab.core.errors import ConfigError
from feedlab.io.atomic import atomic_write_text
from feedlab.io.schema import METRICS_SCHEMA

CATALOG_FILE: Final[str] = "catalog.duckdb"
"""Name of the catalog database inside a runs folder."""

METRICS_FILE: Final[str] = "metrics.parquet"
"""Name of the daily metrics table inside a run folder."""

# A visible folder name: no separators or control characters, no leading "." (hidden folders
# are staging areas of runs still being written and are left out of the metrics view).
_RUN_ID = re.compile(r"[^./\\\x00-\x1f][^/\\\x00-\x1f]*")
_RUN_GLOB = f"[!.]*/{METRICS_FILE}"
_SHA256 = re.compile(r"[0-9a-f]{64}")
_LOCK_RETRY_SECONDS = 0.05


@dataclass(frozen=True)
class RunRecord:
    """One row of the catalog: what was run, where its results are, and how long it took.

    Attributes:
        run_id: unique name of the run; also the name of its folder inside the runs folder
            (so no path separators and no leading ``.``).
        created_at: when the run started, ISO-8601 with a UTC offset of zero
            (``2025-01-31T12:00:00Z`` or ``...+00:00``).
        scenario: name of the scenario the run's config was built from.
        path: the run folder, relative to the runs folder; equal to ``run_id``.
        n_people: number of simulated people.
        days: number of simulated days.
        seeds: number of seeds (replicates) per arm.
        arms: names of the arms (platform policies), in config order.
        config_sha256: SHA-256 hex digest of the resolved config.
        feedlab_version: the feedlab version that produced the run.
        wall_seconds: wall-clock duration of the run, in seconds.
    """

    run_id: str
    created_at: str
    scenario: str
    path: str
    n_people: int
    days: int
    seeds: int
    arms: list[str]
    config_sha256: str
    feedlab_version: str
    wall_seconds: float

    def __post_init__(self) -> None:
        run_id = self.run_id
        if not isinstance(run_id, str) or not _RUN_ID.fullmatch(run_id):
            allowed = "a folder name without '/', '\\' or a leading '.'"
            raise ConfigError(f"RunRecord.run_id must be {allowed}, got {run_id!r}.")
        _check_utc_timestamp("RunRecord.created_at", self.created_at)
        for name in ("scenario", "feedlab_version"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value:
                raise ConfigError(f"RunRecord.{name} must be a non-empty string, got {value!r}.")
        if not isinstance(self.path, str) or PurePath(self.path).parts != (run_id,):
            raise ConfigError(f"RunRecord.path must be the folder {run_id!r}, got {self.path!r}.")
        for name in ("n_people", "days", "seeds"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"RunRecord.{name} must be an int >= 1, got {value!r}.")
        arms = self.arms
        valid_arms = all(isinstance(arm, str) and arm for arm in arms)
        if not isinstance(arms, list) or not arms or not valid_arms or len(set(arms)) < len(arms):
            constraint = "a non-empty list of distinct non-empty strings"
            raise ConfigError(f"RunRecord.arms must be {constraint}, got {arms!r}.")
        digest = self.config_sha256
        if not isinstance(digest, str) or not _SHA256.fullmatch(digest):
            constraint = "64 lowercase hex digits"
            raise ConfigError(f"RunRecord.config_sha256 must be {constraint}, got {digest!r}.")
        seconds = self.wall_seconds
        is_number = isinstance(seconds, int | float) and not isinstance(seconds, bool)
        if not is_number or not math.isfinite(seconds) or seconds < 0:
            raise ConfigError(f"RunRecord.wall_seconds must be a float >= 0, got {seconds!r}.")


_SQL_TYPES: Final[dict[str, str]] = {
    "run_id": "VARCHAR PRIMARY KEY",
    "created_at": "VARCHAR NOT NULL",
    "scenario": "VARCHAR NOT NULL",
    "path": "VARCHAR NOT NULL",
    "n_people": "BIGINT NOT NULL",
    "days": "BIGINT NOT NULL",
    "seeds": "BIGINT NOT NULL",
    "arms": "VARCHAR[] NOT NULL",
    "config_sha256": "VARCHAR NOT NULL",
    "feedlab_version": "VARCHAR NOT NULL",
    "wall_seconds": "DOUBLE NOT NULL",
}
_COLUMNS: Final[tuple[str, ...]] = tuple(field.name for field in dataclasses.fields(RunRecord))

_CREATE_RUNS: Final[str] = (
    "CREATE TABLE IF NOT EXISTS runs ("
    + ", ".join(f"{name} {_SQL_TYPES[name]}" for name in _COLUMNS)
    + ")"
)
_UPSERT_RUN: Final[str] = (
    f"INSERT INTO runs ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' for _ in _COLUMNS)}) "
    "ON CONFLICT (run_id) DO UPDATE SET "
    + ", ".join(f"{name} = excluded.{name}" for name in _COLUMNS if name != "run_id")
)
_METRICS_SQL_TYPES: Final[dict[type[pl.DataType], str]] = {
    pl.Utf8: "VARCHAR",
    pl.Int64: "BIGINT",
    pl.Float64: "DOUBLE",
}


def register_run(runs_dir: Path, record: RunRecord, *, lock_timeout: float = 30.0) -> None:
    """Add ``record`` to the catalog of ``runs_dir``, or replace the row with its ``run_id``.

    The catalog (and ``runs_dir``) are created if missing. The upsert runs in one transaction,
    so a concurrent reader sees the old row or the new one.

    Args:
        runs_dir: the runs folder holding ``catalog.duckdb`` and one folder per run.
        record: the run to register.
        lock_timeout: seconds to keep retrying while another process holds the catalog.
    """
    Path(runs_dir).mkdir(parents=True, exist_ok=True)
    values = [getattr(record, name) for name in _COLUMNS]
    with _connect(Path(runs_dir) / CATALOG_FILE, read_only=False, timeout=lock_timeout) as con:
        con.begin()
        try:
            con.execute(_CREATE_RUNS)
            con.execute(_UPSERT_RUN, values)
        except BaseException:
            con.rollback()
            raise
        con.commit()


RECORD_FILE = "catalog-entry.json"
"""Each run folder carries its own catalog row, so a run whose entry was lost can be re-entered."""


def write_record(folder: Path, record: RunRecord) -> None:
    """Write ``record`` into the run folder (atomically), before the folder is renamed into place."""
    atomic_write_text(folder / RECORD_FILE, json.dumps(dataclasses.asdict(record), indent=2))


def recover_runs(runs_dir: Path) -> list[str]:
    """Enter into the catalog every finished run folder of ``runs_dir`` that it lacks.

    A run killed after its folder was renamed into place but before its catalog entry was
    written is complete on disk; its folder holds its row (:data:`RECORD_FILE`). Returns the ids
    of the runs entered. Folders without a readable row are left alone.
    """
    if not runs_dir.is_dir():
        return []
    candidates = sorted(
        p for p in runs_dir.iterdir()
        if p.is_dir() and not p.name.startswith(".") and (p / RECORD_FILE).is_file()
    )  # fmt: skip
    if not candidates:
        return []
    known: set[str] = set()
    if (runs_dir / CATALOG_FILE).exists():
        known = set(list_runs(runs_dir)["run_id"].to_list())
    recovered = []
    for folder in candidates:
        if folder.name in known:
            continue
        try:
            record = RunRecord(**json.loads((folder / RECORD_FILE).read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError, ConfigError):
            continue
        if record.run_id != folder.name:
            continue
        register_run(runs_dir, record)
        recovered.append(record.run_id)
    return recovered


def open_catalog(
    runs_dir: Path, read_only: bool = True, *, lock_timeout: float = 30.0
) -> duckdb.DuckDBPyConnection:
    """Connect to the catalog of ``runs_dir`` with a ``metrics`` view over all runs.

    The connection has the table ``runs`` (one row per :class:`RunRecord`) and a temporary
    view ``metrics`` with the columns of :data:`~feedlab.io.schema.METRICS_SCHEMA` plus
    ``run_id``, over every ``<runs_dir>/<run_id>/metrics.parquet``; ``run_id`` is the name of
    the folder holding the file. Hidden folders (a leading ``.``: runs still being staged) are
    left out. The folder list is read at each query, but a connection opened while no run had
    metrics keeps an empty view: open a new one to see later runs.

    A read-only connection to a runs folder without a catalog yet is an in-memory database
    with an empty ``runs`` table, so nothing is written. Close the connection when done
    (it is a context manager); DuckDB refuses a writer while a reader holds the file.

    Args:
        runs_dir: the runs folder.
        read_only: open the catalog for reading only; several processes may read at once.
        lock_timeout: seconds to keep retrying while another process holds the catalog.

    Returns:
        An open DuckDB connection; the caller closes it.
    """
    runs_dir = Path(runs_dir)
    catalog = runs_dir / CATALOG_FILE
    if read_only and not catalog.exists():
        con = duckdb.connect(":memory:")
        con.execute(_CREATE_RUNS)
    else:
        if not read_only:
            runs_dir.mkdir(parents=True, exist_ok=True)
        con = _connect(catalog, read_only=read_only, timeout=lock_timeout)
        if not read_only:
            con.execute(_CREATE_RUNS)
    try:
        con.execute(_metrics_view_sql(runs_dir))
    except BaseException:
        con.close()
        raise
    return con


def list_runs(runs_dir: Path) -> pl.DataFrame:
    """Return the catalog of ``runs_dir`` as a table, newest run first.

    Args:
        runs_dir: the runs folder.

    Returns:
        One row per run, with one column per :class:`RunRecord` field (``arms`` is a list
        column), sorted by ``created_at`` descending then ``run_id``. Empty if no run is
        registered.
    """
    query = f"SELECT {', '.join(_COLUMNS)} FROM runs ORDER BY created_at::TIMESTAMPTZ DESC, run_id"
    with open_catalog(Path(runs_dir), read_only=True) as con:
        return con.sql(query).pl()


def _metrics_view_sql(runs_dir: Path) -> str:
    """SQL creating the temporary ``metrics`` view over every run's metrics file."""
    casts = [
        f"CAST({name} AS {_METRICS_SQL_TYPES[t]}) AS {name}" for name, t in METRICS_SCHEMA.items()
    ]
    if any(runs_dir.glob(_RUN_GLOB)):
        pattern = _sql_string(str(runs_dir.resolve() / _RUN_GLOB))
        run_id = "parse_filename(parse_dirpath(filename, 'system'), false, 'system') AS run_id"
        source = f"read_parquet({pattern}, union_by_name = true, filename = true)"
        body = f"SELECT {', '.join(casts)}, {run_id} FROM {source}"
    else:
        # read_parquet fails when the pattern matches nothing; keep the view's columns anyway.
        empty = [
            f"CAST(NULL AS {_METRICS_SQL_TYPES[t]}) AS {name}" for name, t in METRICS_SCHEMA.items()
        ]
        body = f"SELECT {', '.join(empty)}, CAST(NULL AS VARCHAR) AS run_id WHERE false"
    return f"CREATE OR REPLACE TEMP VIEW metrics AS {body}"


def _sql_string(text: str) -> str:
    """Quote ``text`` as an SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def _connect(catalog: Path, *, read_only: bool, timeout: float) -> duckdb.DuckDBPyConnection:
    """Connect to ``catalog``, retrying while another process holds a conflicting lock."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return duckdb.connect(str(catalog), read_only=read_only)
        except duckdb.IOException as error:
            if "lock" not in str(error).lower() or time.monotonic() >= deadline:
                raise
        time.sleep(_LOCK_RETRY_SECONDS)


def _check_utc_timestamp(name: str, value: object) -> None:
    """Raise :class:`ConfigError` unless ``value`` is an ISO-8601 string in UTC."""
    try:
        parsed = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    if parsed is None or parsed.utcoffset() != timedelta(0):
        constraint = "an ISO-8601 timestamp in UTC such as '2025-01-31T12:00:00Z'"
        raise ConfigError(f"{name} must be {constraint}, got {value!r}.")
