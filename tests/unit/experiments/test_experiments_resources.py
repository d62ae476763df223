"""Runs that cannot fit in memory are refused before they start, with the estimate and limit."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from feedlab.core.errors import ConfigError
from feedlab.experiments.config import load_config
from feedlab.experiments.resources import GIB, check_memory, estimate_cell_bytes


def _config(n_people: int, *extra: str):
    return load_config("social-dilemma", [f"world.n_people={n_people}", *extra])


def test_the_estimate_grows_about_linearly_with_people() -> None:
    small, large = estimate_cell_bytes(_config(100_000)), estimate_cell_bytes(_config(1_000_000))
    assert 5 < large / small < 12
    # Measured peaks of one cell on this project's machines: 1.08 GiB at 100k, 6.34 GiB at 1M.
    assert 0.8 * GIB < small < 1.4 * GIB
    assert 5.5 * GIB < large < 9 * GIB


def test_bigger_inboxes_cost_more_memory() -> None:
    base = estimate_cell_bytes(_config(100_000))
    bigger = estimate_cell_bytes(_config(100_000, "platform.candidates.inbox_size=512"))
    assert bigger > base


def test_a_run_that_does_not_fit_is_refused_with_estimate_and_limit() -> None:
    config = _config(1_000_000)
    per_cell = estimate_cell_bytes(config) / GIB
    message = (
        f"the run needs an estimated {2 * per_cell:.1f} GiB ({per_cell:.1f} GiB per cell x 2 at "
        f"once), got 4.0 GiB available. Lower world.n_people or --workers."
    )
    with pytest.raises(ConfigError, match=re.escape(message)):
        check_memory(config, workers=2, available=4 * GIB)
    assert check_memory(config, workers=1, available=100 * GIB) == estimate_cell_bytes(config)


def test_the_cli_refuses_before_writing_anything(tmp_path: Path) -> None:
    out = tmp_path / "huge"
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from feedlab.cli.main import main; main()",
            "run",
            "--people",
            "40000000",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert "must fit in memory" in result.stderr and "GiB available" in result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists() and not any(tmp_path.iterdir())
