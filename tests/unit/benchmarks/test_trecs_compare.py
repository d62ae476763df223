"""The T-RECS comparison's table and JSON logic, with T-RECS and feedlab cells mocked."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[3] / "benchmarks" / "trecs_compare.py"


@pytest.fixture(scope="module")
def tc():
    spec = importlib.util.spec_from_file_location("trecs_compare", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _cell(engine: str, people: int, seconds: float) -> dict:
    return {
        "engine": engine,
        "people": people,
        "seconds_per_step": seconds,
        "peak_mib": people / 10,
        "homogeneity_jaccard": [0.1, 0.2],
    }


def test_parse_sizes(tc) -> None:
    assert tc.parse_sizes("1000x1000, 10000x500") == [(1000, 1000), (10000, 500)]
    with pytest.raises(ValueError, match="PEOPLExITEMS"):
        tc.parse_sizes("1000by1000")
    with pytest.raises(ValueError, match="'0x10'"):
        tc.parse_sizes("0x10")


@pytest.mark.parametrize("value", ["1000by1000", "10x0", "x"])
def test_malformed_sizes_exit_2_naming_the_flag(value: str) -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--sizes", value], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert f"--sizes: expected PEOPLExITEMS entries >= 1, got {value!r}" in done.stderr
    assert "Traceback" not in done.stderr


def test_compare_never_runs_trecs_above_10k_and_adds_feedlab_only_sizes(tc) -> None:
    trecs_calls, feedlab_calls = [], []

    def trecs(people, items, steps):
        trecs_calls.append((people, items, steps))
        return _cell("trecs", people, 8.0)

    def feedlab(people, steps):
        feedlab_calls.append((people, steps))
        return _cell("feedlab", people, 0.04)

    sizes = [(1000, 1000), (10_000, 1000), (1000, 10_000), (20_000, 1000)]
    rows = tc.compare(sizes, 3, 1, trecs, feedlab)
    assert trecs_calls == [(1000, 1000, 3), (10_000, 1000, 3), (1000, 10_000, 3)]
    # one feedlab run per people count; the large sizes with their own step count
    assert feedlab_calls == [(1000, 3), (10_000, 3), (20_000, 3), (100_000, 1), (1_000_000, 1)]
    assert [r["people"] for r in rows] == [1000, 10_000, 1000, 20_000, 100_000, 1_000_000]
    assert rows[1]["ratio"] == pytest.approx(200.0)
    assert rows[3]["trecs"] == {"not_run": tc.NOT_RUN} and rows[3]["ratio"] is None
    table = tc.format_table(rows)
    assert "10,000 x 1,000" in table and "200x" in table
    assert table.count(tc.NOT_RUN) == 3  # 20k, 100k and 1M people


def test_main_saves_the_rows_as_json(tc, tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setattr(tc, "run_trecs", lambda py, p, i, s: _cell("trecs", p, 1.0))
    monkeypatch.setattr(tc, "run_feedlab", lambda p, s: _cell("feedlab", p, 0.5))
    monkeypatch.setattr(tc, "FEEDLAB_ONLY", (5000,))
    out = tmp_path / "compare.json"
    argv = ["trecs_compare.py", "--sizes", "1000x100", "--trecs-python", "py", "--out", str(out)]
    monkeypatch.setattr(sys, "argv", argv)
    tc.main()
    saved = json.loads(out.read_text())
    assert saved["steps"] == 3
    assert [r["people"] for r in saved["rows"]] == [1000, 5000]
    assert saved["rows"][0]["ratio"] == pytest.approx(2.0)
    assert "1,000 x 100" in capsys.readouterr().out


def test_a_tiny_trecs_cell_runs_when_its_venv_exists(tc) -> None:
    python = tc.VENV / "bin" / "python"
    if not tc.has_trecs(str(python)):
        pytest.skip("T-RECS venv absent (benchmarks/.venv-trecs is created by trecs_compare.py)")
    cell = tc.run_trecs(str(python), 50, 40, 2)
    assert cell["engine"] == "trecs" and cell["people"] == 50
    assert cell["seconds_per_step"] > 0 and len(cell["homogeneity_jaccard"]) >= 1
