"""Data movement of int8 tensors: a gather of constant indices along one axis.

The tensor is seen as ``[outer][axis_len][block]`` (``outer`` the product of the axes
before the gathered one, ``block`` of those after it)::

    y[o][j][:] = x[o][indices[j]][:]        for j < count

which is ``numpy.take(x, indices, axis)``: GATHER with constant indices, a slice
(``indices`` a range, also with a step), a repeat of channels (a depth multiplier),
a broadcast (repeated index 0). A concatenation is one gather per input with the
identity indices writing its columns of the output (``concat_s8``). The bytes move
unchanged: requantization, when an input's scale differs, is a separate table op.
"""

from __future__ import annotations

import numpy as np


def gather_s8(x: np.ndarray, indices: np.ndarray, axis: int) -> np.ndarray:
    x = np.asarray(x)
    if x.dtype != np.int8 or x.size == 0:
        raise ValueError(f"x: expected a non-empty int8 array, got {x.dtype} {x.shape}")
    if not -x.ndim <= axis < x.ndim:
        raise ValueError(f"axis: {axis} outside a {x.ndim}-D tensor")
    idx = np.asarray(indices)
    n = x.shape[axis]
    if idx.ndim != 1 or idx.size == 0 or idx.min() < 0 or idx.max() >= n:
        raise ValueError(f"indices: expected a non-empty list in [0, {n}), got {idx.tolist()}")
    return np.take(x, idx.astype(np.int64), axis=axis)


def concat_s8(xs: list[np.ndarray], axis: int) -> np.ndarray:
    if not xs or any(np.asarray(x).dtype != np.int8 for x in xs):
        raise ValueError("xs: expected one or more int8 arrays")
    return np.concatenate([np.asarray(x) for x in xs], axis=axis)


def gather_dims(shape: tuple[int, ...], axis: int) -> tuple[int, int, int]:
    """``(outer, axis_len, block)`` of a tensor of ``shape`` gathered along ``axis``."""
    axis %= len(shape)
    outer = int(np.prod(shape[:axis], dtype=np.int64))
    block = int(np.prod(shape[axis + 1 :], dtype=np.int64))
    return outer, int(shape[axis]), block
