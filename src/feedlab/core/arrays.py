"""Array type aliases and shape checks used at state boundaries."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from feedlab.core.errors import ShapeError

FloatArray = npt.NDArray[np.floating[Any]]
"""Float arrays; state is stored as float32 (half the memory at 10^6 people)."""
F64Array = npt.NDArray[np.floating[Any]]
IntArray = npt.NDArray[np.integer[Any]]
I32Array = npt.NDArray[np.integer[Any]]
U32Array = npt.NDArray[np.unsignedinteger[Any]]
BoolArray = npt.NDArray[np.bool_]
AnyArray = npt.NDArray[Any]


def check_shape(name: str, array: AnyArray, shape: tuple[int, ...]) -> None:
    """Raise :class:`ShapeError` unless ``array`` has exactly ``shape``.

    Args:
        name: dotted name of the field, used in the message.
        array: the array to check.
        shape: the required shape.
    """
    if array.shape != shape:
        raise ShapeError(f"{name} must have shape {shape}, got {array.shape}.")


def segment_sum(values: AnyArray, index: IntArray | I32Array, n: int) -> F64Array:
    """Sum ``values`` into ``n`` bins by ``index`` (a vectorized group-by sum).

    Args:
        values: one value per event, shape ``(m,)``.
        index: the bin of each event, shape ``(m,)``, in ``[0, n)``.
        n: number of bins.

    Returns:
        float64 array of shape ``(n,)``.
    """
    return np.bincount(index, weights=values, minlength=n).astype(np.float64, copy=False)


def cells(mask: BoolArray) -> tuple[IntArray, IntArray]:
    """Rows and columns of the True cells of a 2-D ``mask``, in row-major order.

    ``np.nonzero(mask)`` exactly (int64), from the flat indices: NumPy's one-dimensional scan
    is several times faster than its two-dimensional one (0.35 against 2.6 ms on a tick's
    (21,000, 30) feed mask).
    """
    if mask.ndim != 2:
        raise ShapeError(f"cells needs a 2-D mask, got {mask.ndim} dimensions.")
    flat = np.flatnonzero(mask)
    width = max(mask.shape[1], 1)
    return flat // width, flat % width
