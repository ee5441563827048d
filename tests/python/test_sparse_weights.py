"""The sparse weight format (tinytx.core.sparse_weights) round-trips every pattern."""

from __future__ import annotations

import numpy as np
import pytest

from tinytx.core.kernel_abi import kernel_abi
from tinytx.core.sparse_weights import MAX_GAP, SparseFormat, decode, encode


def _pattern(rng: np.random.Generator, rows: int, cols: int, density: float) -> np.ndarray:
    w = rng.integers(-128, 128, (rows, cols), dtype=np.int16).astype(np.int8)
    w[rng.random((rows, cols)) >= density] = 0
    return w


@pytest.mark.parametrize("fmt", list(SparseFormat))
@pytest.mark.parametrize(
    ("rows", "cols", "density"),
    [(1, 1, 1.0), (3, 5, 0.5), (7, 13, 0.0), (16, 32, 1.0), (11, 1000, 0.004), (4, 2100, 0.01)],
)
def test_round_trip(fmt: SparseFormat, rows: int, cols: int, density: float) -> None:
    rng = np.random.default_rng(rows * 7919 + cols)
    w = _pattern(rng, rows, cols, density)
    w[0] = 0  # an all-zero row
    s = encode(w, fmt)
    assert np.array_equal(decode(s), w)
    assert s.row_ptr.dtype == np.uint16 and s.row_ptr[0] == 0 and s.row_ptr[-1] == s.entries
    assert s.values.size == s.entries * int(fmt)
    assert np.all(np.diff(s.row_ptr.astype(np.int64)) >= 0)


def test_long_gaps_are_bridged_with_zero_entries() -> None:
    w = np.zeros((2, 1200), np.int8)
    w[0, 1100] = 5  # first position above 255: four bridges, then 1100 - 4 * 255 = 80
    w[1, 3] = -1
    w[1, 300] = 2  # a later gap of 297: one bridge
    s = encode(w, SparseFormat.UNSTRUCTURED)
    assert s.gaps.tolist() == [MAX_GAP] * 4 + [80, 3, MAX_GAP, 42]
    assert s.values.tolist() == [0, 0, 0, 0, 5, -1, 0, 2]
    assert np.array_equal(decode(s), w)


def test_block_positions_count_blocks_and_pad_the_row_end() -> None:
    w = np.zeros((1, 10), np.int8)
    w[0, 9] = 7  # block 2 holds columns 8, 9 and two padding zeros
    s = encode(w, SparseFormat.BLOCK4)
    assert s.gaps.tolist() == [2] and s.values.tolist() == [0, 7, 0, 0]
    assert s.nbytes == 2 * 2 + 1 + 4 and s.dense_nbytes == 10


def test_the_entry_limit_is_the_c_headers() -> None:
    limit = kernel_abi("ref").constant("TINYTX_SPARSE_MAX_ENTRIES")
    assert limit == 65535
    w = np.ones((1, limit + 1), np.int8)
    with pytest.raises(ValueError, match="65536 entries exceed the kernels' limit of 65535"):
        encode(w, SparseFormat.UNSTRUCTURED, limit)
    assert encode(w[:, :limit], SparseFormat.UNSTRUCTURED, limit).entries == limit
