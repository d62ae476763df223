"""Rankers that remember (a log window, survey answers, feed settings) stay reproducible."""

from pathlib import Path

import pytest
from polars.testing import assert_frame_equal

from feedlab.engine.run import run_cell
from feedlab.experiments.config import load_config
from feedlab.experiments.runner import plan, rows_to_frame

ARMS = {
    "bridging": "{refit_ticks=5}",
    "stated-preference": "{min_answers=20}",
    "user-controlled": "{}",
}


class Stop(Exception):
    """Stands in for a crash at a chosen moment."""


@pytest.mark.parametrize("ranker", sorted(ARMS))
def test_same_cell_twice_and_resumed_from_a_checkpoint_give_identical_rows(
    ranker: str, tmp_path: Path, seed: int
) -> None:
    config = load_config(
        "social-dilemma",
        [
            "world.n_people=300",
            "days=3",
            "seeds=1",
            "warmup_days=0",
            f"root_seed={seed}",
            f"arms.0.ranker={ranker}",
            f"arms.0.ranker_params={ARMS[ranker]}",
        ],
    )
    cell = plan(config)[0]
    whole = rows_to_frame(run_cell(cell))
    assert_frame_equal(rows_to_frame(run_cell(cell)), whole)

    def crash_on_day_2(day: int) -> None:
        if day == 2:
            raise Stop

    checkpoint = tmp_path / "cell.pkl"
    with pytest.raises(Stop):
        run_cell(cell, on_day=crash_on_day_2, checkpoint=checkpoint, checkpoint_days=1)
    resumed = run_cell(cell, checkpoint=checkpoint, checkpoint_days=1)
    assert_frame_equal(rows_to_frame(resumed), whole)
