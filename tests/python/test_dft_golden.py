"""The golden depth-first tiled MHSA (and FWSA) equals the golden layer-wise block bit for
bit, for every tile size."""

from __future__ import annotations

import numpy as np
import pytest

from tinytx.core import golden as g
from tinytx.core.golden.dft import fwsa_dft_s8, mhsa_dft_s8, tiles
from tinytx.core.plan.fwsa import fuse_mhsa
from tinytx.core.vectors.generators import gen_fwsa, gen_mhsa
from tinytx.core.workloads import SHAPES, MhsaShape, make_mhsa


def _random_block(seed: int):
    """A random block from the kernel-vector generator (awkward shapes, extreme data)."""
    case = gen_mhsa(np.random.default_rng([seed, 4]), seed)
    h = case.params[2]
    rq = [g.Requant(*case.params[4 + 2 * i : 6 + 2 * i]) for i in range(6)]
    rq[5] = g.Requant(rq[5].multiplier, rq[5].shift, zero_point=case.params[16])  # out
    table = case.buffers[9]  # per-channel multipliers and shifts of q, k, v, out
    if table is not None:
        hp, e = case.params[2] * case.params[3], case.params[1]
        parts = np.split(table, np.cumsum([hp] * 6 + [e]))
        for i, k in enumerate((0, 1, 2, 5)):
            m, s = parts[2 * i], parts[2 * i + 1]
            z = rq[k].zero_point
            rq[k] = g.ChannelRequant(tuple(m.tolist()), tuple(s.tolist()), zero_point=z)
    w = g.MhsaWeights(*case.buffers[1:9])
    return case.buffers[0], h, w, g.MhsaQuant(*rq), case.buffers[10]


@pytest.mark.parametrize("seed", range(12))
def test_every_tile_size_on_random_blocks(seed: int) -> None:
    x, heads, w, qp, expected = _random_block(seed)
    assert np.array_equal(g.mhsa_s8(x, heads, w, qp), expected)
    for tile in range(1, x.shape[0] + 1):
        assert np.array_equal(mhsa_dft_s8(x, heads, w, qp, tile), expected), tile


@pytest.mark.parametrize("name", list(SHAPES))
def test_shapes_a_to_d(name: str) -> None:
    shape = SHAPES[name]
    work = make_mhsa(shape, 11)
    expected = g.mhsa_s8(work.x, shape.heads, work.weights, work.quant)
    s = shape.seq_len
    rng = np.random.default_rng(3)
    for tile in sorted({1, 2, 3, s // 2, s - 1, s, *rng.integers(1, s + 1, 3).tolist()}):
        got = mhsa_dft_s8(work.x, shape.heads, work.weights, work.quant, int(tile))
        assert np.array_equal(got, expected), tile


def test_one_token_and_one_head_one_dim() -> None:
    work = make_mhsa(MhsaShape(1, 3, 1, 1), 2)
    expected = g.mhsa_s8(work.x, 1, work.weights, work.quant)
    assert np.array_equal(mhsa_dft_s8(work.x, 1, work.weights, work.quant, 1), expected)


def test_tiles_cover_the_rows_once() -> None:
    assert tiles(7, 3) == [(0, 3), (3, 3), (6, 1)]
    assert tiles(5, 5) == [(0, 5)]
    for s in range(1, 20):
        for x in range(1, s + 1):
            rows = [r for r0, n in tiles(s, x) for r in range(r0, r0 + n)]
            assert rows == list(range(s))


@pytest.mark.parametrize("tile", [0, 5, -1, 2.5, True])
def test_bad_tile_sizes_are_rejected(tile) -> None:
    work = make_mhsa(MhsaShape(4, 4, 2, 2), 1)
    with pytest.raises(ValueError, match="tile_rows"):
        mhsa_dft_s8(work.x, 2, work.weights, work.quant, tile)


@pytest.mark.parametrize("seed", range(8))
def test_fused_every_tile_size_on_random_blocks(seed: int) -> None:
    case = gen_fwsa(np.random.default_rng([seed, 5]), seed)
    s, h = case.params[0], case.params[2]
    rq = [g.Requant(*case.params[4 + 2 * i : 6 + 2 * i]) for i in range(5)]
    rq[4] = g.Requant(rq[4].multiplier, rq[4].shift, zero_point=case.params[14])  # out
    qp = g.FwsaQuant(*rq)
    w = g.FwsaWeights(*case.buffers[1:7])
    x, expected = case.buffers[0], case.buffers[7]
    for tile in range(1, s + 1):
        assert np.array_equal(fwsa_dft_s8(x, h, w, qp, tile), expected), tile


@pytest.mark.parametrize("name", ["A", "C"])
def test_fused_shapes(name: str) -> None:
    shape = SHAPES[name]
    work = make_mhsa(shape, 4)
    fw, fq = fuse_mhsa(work.weights, work.quant, shape.heads, work.x)
    expected = g.fwsa_s8(work.x, shape.heads, fw, fq)
    for tile in (1, 5, shape.seq_len):
        assert np.array_equal(fwsa_dft_s8(work.x, shape.heads, fw, fq, tile), expected)
