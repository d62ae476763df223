"""The wheel carries the dashboard's templates and vendored scripts (it must work offline)."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


def test_the_wheel_includes_templates_and_static_files(tmp_path: Path) -> None:
    pytest.importorskip("hatchling", reason="building the wheel needs hatchling")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            str(ROOT),
            "-w",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    wheel = next(tmp_path.glob("feedlab-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    web = ROOT / "src" / "feedlab" / "web"
    expected = {
        "feedlab/web/" + str(p.relative_to(web))
        for folder in ("templates", "static")
        for p in (web / folder).rglob("*")
        if p.is_file()
    }
    assert "feedlab/web/static/vendor/uplot/uPlot.iife.min.js" in expected
    assert "feedlab/web/static/vendor/uplot/LICENSE" in expected
    assert expected <= names, sorted(expected - names)
