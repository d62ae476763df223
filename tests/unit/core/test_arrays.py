"""Array helpers of the core layer."""

import numpy as np
import pytest

from feedlab.core.arrays import cells
from feedlab.core.errors import ShapeError


@pytest.mark.parametrize("shape", [(0, 5), (5, 0), (1, 1), (300, 30), (7, 129)])
def test_cells_equal_numpy_nonzero(shape: tuple[int, int]) -> None:
    mask = np.random.default_rng(sum(shape)).random(shape) < 0.1
    rows, cols = cells(mask)
    want_rows, want_cols = np.nonzero(mask)
    np.testing.assert_array_equal(rows, want_rows)
    np.testing.assert_array_equal(cols, want_cols)
    assert rows.dtype == cols.dtype == np.int64


def test_cells_needs_a_two_dimensional_mask() -> None:
    with pytest.raises(ShapeError, match="2-D"):
        cells(np.zeros(4, bool))
