"""The scaling benchmark refuses malformed sizes and thread counts before running anything."""

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[3] / "benchmarks" / "scale.py"


@pytest.mark.parametrize(
    ("flag", "value"), [("--threads", "1,x"), ("--threads", "0"), ("--sizes", "10k")]
)
def test_bad_sizes_and_threads_exit_2_naming_the_flag(flag: str, value: str) -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), flag, value], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert f"{flag}: expected comma-separated whole numbers >= 1, got {value!r}" in done.stderr
    assert "Traceback" not in done.stderr
