"""Sparse int8 weight matrices: the flash format of ``tinytx_sparse_weights``.

A dense matrix ``W [rows][cols]`` (linear ``[out][in]``, conv ``[out_c][kh * kw * in_c]``)
is stored by its entries: single values (``UNSTRUCTURED``) or 1 x 4 blocks along the
columns (``BLOCK4``, the columns padded with zeros to a multiple of 4). Row ``r`` holds
entries ``row_ptr[r] .. row_ptr[r + 1] - 1``; an entry's position (a column for
``UNSTRUCTURED``, a block column for ``BLOCK4``) is the running sum of the row's gaps
from 0, so the first gap is the first position (0..255) and later gaps are 1..255.
Longer distances are bridged by all-zero entries. The format changes storage only: the
kernels compute exactly what the dense kernels compute on :func:`decode`'s matrix (the
golden model is unchanged). The entry limit is the C header's ``TINYTX_SPARSE_MAX_ENTRIES``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np

MAX_GAP = 255


class SparseFormat(IntEnum):
    """Values per entry (the C enum ``tinytx_sparse_format``)."""

    UNSTRUCTURED = 1
    BLOCK4 = 4


@dataclass(frozen=True)
class SparseWeights:
    format: SparseFormat
    rows: int
    cols: int
    row_ptr: np.ndarray  # uint16 [rows + 1]
    gaps: np.ndarray  # uint8 [entries]
    values: np.ndarray  # int8 [entries * format]

    @property
    def entries(self) -> int:
        return int(self.gaps.size)

    @property
    def nbytes(self) -> int:
        """Flash bytes of the three arrays (before alignment padding)."""
        return int(self.row_ptr.nbytes + self.gaps.nbytes + self.values.nbytes)

    @property
    def dense_nbytes(self) -> int:
        return self.rows * self.cols


def _blocks(w: np.ndarray, fmt: SparseFormat) -> np.ndarray:
    """[rows][positions][format]: the matrix cut into entries (zero-padded columns)."""
    rows, cols = w.shape
    per = int(fmt)
    padded = -(-cols // per) * per
    out = np.zeros((rows, padded), np.int8)
    out[:, :cols] = w
    return out.reshape(rows, padded // per, per)


def encode(w: np.ndarray, fmt: SparseFormat, max_entries: int | None = None) -> SparseWeights:
    """``w`` (int8 [rows][cols]) in ``fmt``; ValueError above ``max_entries`` entries."""
    w = np.asarray(w)
    if w.ndim != 2 or w.dtype != np.int8:
        raise ValueError(f"sparse weights: expected an int8 matrix, got {w.dtype} {w.shape}")
    blocks = _blocks(w, fmt)
    zero = np.zeros(int(fmt), np.int8)
    row_ptr = [0]
    gaps: list[int] = []
    values: list[np.ndarray] = []
    for row in blocks:
        base = 0  # the first gap of a row is an absolute position
        for pos in np.flatnonzero(np.any(row != 0, axis=1)).tolist():
            while pos - base > MAX_GAP:
                base += MAX_GAP
                gaps.append(MAX_GAP)
                values.append(zero)
            gaps.append(pos - base)
            values.append(row[pos])
            base = pos
        row_ptr.append(len(gaps))
    if max_entries is not None and len(gaps) > max_entries:
        raise ValueError(
            f"sparse weights: {len(gaps)} entries exceed the kernels' limit of {max_entries}"
        )
    vals = np.concatenate(values).astype(np.int8) if values else np.zeros(0, np.int8)
    return SparseWeights(
        fmt,
        int(w.shape[0]),
        int(w.shape[1]),
        np.asarray(row_ptr, np.uint16),
        np.asarray(gaps, np.uint8),
        vals,
    )


def decode(s: SparseWeights) -> np.ndarray:
    """The dense int8 matrix the entries stand for."""
    per = int(s.format)
    positions = -(-s.cols // per)
    out = np.zeros((s.rows, positions * per), np.int8)
    vals = s.values.reshape(-1, per) if per > 1 else s.values.reshape(-1, 1)
    for r in range(s.rows):
        pos = 0
        for j in range(int(s.row_ptr[r]), int(s.row_ptr[r + 1])):
            pos += int(s.gaps[j])
            out[r, pos * per : pos * per + per] = vals[j]
    if np.any(out[:, s.cols :]):
        raise ValueError("sparse weights: a block reaches into the column padding")
    return out[:, : s.cols]
