"""MHSA memory analysis: closed forms equal the planner, the reference figures, tile choice,
the FWSA decision and fusion."""

from __future__ import annotations

import numpy as np
import pytest

from tinytx.core import golden as g
from tinytx.core.plan import mhsa as m
from tinytx.core.plan.budget import ram_budget
from tinytx.core.plan.fwsa import (
    decide_fwsa,
    fuse_mhsa,
    fwsa_accuracy,
    fwsa_parameters,
    mhsa_float_units,
    mhsa_parameters,
)
from tinytx.core.workloads import SHAPES, MhsaShape, make_mhsa


def _random_shapes(n: int, seed: int = 0) -> list[MhsaShape]:
    rng = np.random.default_rng(seed)
    return [
        MhsaShape(
            int(rng.integers(1, 90)),
            int(rng.integers(1, 70)),
            int(rng.integers(1, 9)),
            int(rng.integers(1, 40)),
        )
        for _ in range(n)
    ]


@pytest.mark.parametrize("fused", [False, True])
def test_closed_forms_equal_the_planner(fused: bool) -> None:
    shapes = list(SHAPES.values()) + _random_shapes(25)
    for shape in shapes:
        lw = m.plan_layerwise(shape, fused)
        # the planner reaches the bound of the bytes live at one step, up to alignment
        slack = lw.arena.arena_bytes - lw.arena.lower_bound
        assert 0 <= slack < 4 * len(lw.schedule.buffers)
        if shape in SHAPES.values():
            assert slack == 0
        assert lw.peak_bytes <= lw.arena_bytes + 3  # the peak rounds every part up to 4
        for keep in (False, True):
            for x in {1, 2, shape.seq_len // 2 + 1, shape.seq_len} - {0}:
                if x > shape.seq_len:
                    continue
                d = m.plan_dft(shape, x, fused, keep)
                assert d.arena_bytes == m.dft_arena_closed_form(shape, x, fused, keep), (shape, x)
                assert d.peak_bytes == m.dft_peak(shape, x, fused)


def test_dft_scratch_is_the_kernel_layout() -> None:
    # tests/kernels/src/test_validation.c checks the same numbers against the C kernels
    shape = MhsaShape(3, 4, 2, 2)
    assert m.dft_peak(shape, 1) == 48 and m.dft_peak(shape, 3) == 60
    assert m.dft_peak(shape, 1, fused=True) == 40 and m.dft_peak(shape, 3, fused=True) == 56
    # every part starts 4-byte aligned, O is last and unpadded
    lay = m.REFERENCE.attention_layout(SHAPES["A"], 5, False)
    assert all(v % 4 == 0 for k, v in lay.items() if k != "total")
    assert lay["total"] - lay["o"] == 81 * 8 * 32


def test_per_head_formula() -> None:
    # per head: score row 4S, K_h and V_h^T (2PS), one tile for Q and A*V (Px), the
    # probabilities (Sx); the paper's (2P + S)x + 2PS has a separate A*V tile
    for shape in SHAPES.values():
        s, p = shape.seq_len, shape.head_dim
        for x in range(1, s + 1):
            exact = 4 * s + 2 * p * s + p * x + s * x
            assert 0 <= m.dft_head_peak(shape, x) - exact < 4 * 4
            assert m.dft_head_peak(shape, x) <= (2 * p + s) * x + 2 * p * s + 4 * s + 12


def test_declared_memory_figures() -> None:
    a, d = SHAPES["A"], SHAPES["D"]
    # D: the DFT intermediate peak is more than 10x below the layer-wise one
    assert m.layerwise_peak(d) >= 10 * m.dft_peak(d, 1)
    assert m.layerwise_peak(d) == 3 * 256 * 64 + 4 * 256 * 256 + 4 * 256
    # A on the L476: the layer-wise arena does not fit, a DFT one does
    budget = ram_budget("nucleo_l476rg").budget
    assert m.plan_layerwise(a).arena_bytes > budget
    choice = m.choose_tile(a, budget)
    assert choice.fits and choice.arena_bytes <= budget


def test_choose_tile() -> None:
    d = SHAPES["D"]
    arenas = m.dft_arenas(d)
    assert all(arenas[x] <= arenas[x + 1] for x in range(1, d.seq_len))
    budget = arenas[100]
    c = m.choose_tile(d, budget)
    assert c.fits and c.tile_rows == max(x for x, b in arenas.items() if b <= budget)
    # with costs: the cheapest fitting tile, not the largest
    costs = {x: 1000.0 - (x % 8 == 0) * 500 - x for x in range(1, d.seq_len + 1)}
    c = m.choose_tile(d, budget, costs)
    fitting = [x for x in arenas if arenas[x] <= budget]
    assert c.tile_rows == min(fitting, key=lambda x: costs[x])
    # nothing fits: the smallest possible arena, x = 1
    c = m.choose_tile(d, arenas[1] - 1)
    assert not c.fits and c.tile_rows == 1 and c.arena_bytes == arenas[1]


def test_bad_tiles() -> None:
    with pytest.raises(ValueError, match="tile_rows"):
        m.dft_peak(SHAPES["A"], 0)
    with pytest.raises(ValueError, match="tile_rows"):
        m.dft_peak(SHAPES["A"], 82)


def test_fwsa_decision() -> None:
    a, b = decide_fwsa(SHAPES["A"]), decide_fwsa(SHAPES["B"])
    assert a.fuse and 0.25 <= a.parameter_saving < 0.26
    assert not b.fuse and "P=2 < E=16" in b.reason
    assert decide_fwsa(SHAPES["B"], "on").fuse and not decide_fwsa(SHAPES["A"], "off").fuse
    with pytest.raises(ValueError, match="--fwsa"):
        decide_fwsa(SHAPES["A"], "maybe")
    # P == E: exactly 25 % of the weights (biases aside)
    s = SHAPES["C"]
    w_unfused = mhsa_parameters(s) - (3 * s.heads * s.head_dim + s.embed_dim)
    w_fused = fwsa_parameters(s) - (s.heads * s.embed_dim + s.heads * s.head_dim + s.embed_dim)
    assert w_fused == 0.75 * w_unfused


def test_fused_block_matches_the_unfused_one_closely() -> None:
    acc = fwsa_accuracy(SHAPES["A"], seeds=(1, 2))
    assert acc.rms_fused < 1.3 * acc.rms_unfused + 0.5
    assert acc.mean_abs_diff < 4 and acc.equal_fraction > 0.1


def test_fusion_is_exact_without_rounding() -> None:
    # weights whose fused matrix is exactly representable: Wq_h^T Wk_h has entries
    # multiple of c, so the only differences come from rounding T and the softmax factor
    shape = MhsaShape(12, 4, 2, 4)
    work = make_mhsa(shape, 5)
    fw, fq = fuse_mhsa(work.weights, work.quant, 2, work.x)
    assert fw.wt.shape == (2 * 4, 4) and fw.bt.shape == (8,)
    # Wt[h*E + f, e] is M_h[e, f] up to the single scale c
    wq = work.weights.wq.astype(np.int64).reshape(2, 4, 4)
    wk = work.weights.wk.astype(np.int64).reshape(2, 4, 4)
    mh = np.einsum("hpe,hpf->hef", wq, wk)
    c = np.abs(mh).max() / 127
    np.testing.assert_allclose(fw.wt.reshape(2, 4, 4), np.rint(mh.transpose(0, 2, 1) / c))
    y = g.fwsa_s8(work.x, 2, fw, fq)
    ref = mhsa_float_units(work.x, 2, work.weights, work.quant)
    assert np.sqrt(np.mean((y - np.clip(ref, -128, 127)) ** 2)) < 6


def test_ram_budget(tmp_path) -> None:
    l476 = ram_budget("nucleo_l476rg")
    assert (l476.region, l476.region_bytes, l476.budget) == ("SRAM1", 96 * 1024, 80 * 1024)
    assert ram_budget("nucleo_l476rg", reserve=0).budget == 96 * 1024
    assert ram_budget("nucleo_h743zi").region == "AXI_SRAM" and l476.align == 4
    bad = tmp_path / "boards.yaml"
    bad.write_text("boards:\n  nucleo_l476rg:\n    arena: {region: NOPE}\n")
    with pytest.raises(ValueError, match="arena region 'NOPE' is not one of SRAM1, SRAM2"):
        ram_budget("nucleo_l476rg", path=bad)
    bad.write_text("boards:\n  nucleo_l476rg:\n    arena: {region: SRAM2, align: 6}\n")
    with pytest.raises(ValueError, match="align"):
        ram_budget("nucleo_l476rg", path=bad)
    bad.write_text("boards:\n  nucleo_l476rg:\n    arena: {align: 16}\n")
    big = ram_budget("nucleo_l476rg", path=bad)  # no region: the largest RAM, no reserve
    assert (big.region, big.reserve, big.align) == ("SRAM1", 0, 16)
