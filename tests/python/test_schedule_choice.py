"""The one schedule chooser (tinytx.core.plan.choose) and its cost formulas
(tinytx.core.plan.costs).

- ``tinytx plan A --board <board>`` and ``tinytx convert`` of the EEG sample (whose
  attention block is shape A) choose the same schedule;
- the chooser takes the cheapest candidate that fits, the smallest arena when none fits,
  a forced tile or mode as given, measured tile costs over the formulas;
- the fitted formulas stay within their stated margin of the exact counts of the bench
  shapes A-D (firmware: measured under unicorn).
"""

from __future__ import annotations

import json

import pytest

from tinytx.cli import main
from tinytx.core import ir
from tinytx.core.codegen.project import ConvertOptions, convert
from tinytx.core.plan.choose import block_arena, choose_schedule
from tinytx.core.plan.costs import MARGIN, TERMS, load_tables, table_for, terms
from tinytx.core.plan.scratch import KernelScratch
from tinytx.core.resources import samples_dir
from tinytx.core.workloads import SHAPES
from tinytx.toolchain.bench.fit_costs import FIT_SHAPES, Point, fit, nnls

EEG = samples_dir() / "eeg" / "model" / "model.onnx"


def _eeg_choice(board: str, kernels: str | None = None) -> tuple[str, int | None, bool]:
    conv = convert(EEG, ConvertOptions(board=board, kernels=kernels))
    op = next(op for op in conv.planned.ops if isinstance(op, ir.Mhsa))
    assert conv.plan.choice is not None
    c = conv.plan.choice.chosen
    assert (c.schedule, c.fused) == (op.variant, op.fwsa is not None)
    return op.variant, op.tile if op.variant == "dft" else None, op.fwsa is not None


def _plan_choice(capsys, *argv: str) -> tuple[str, int | None, bool]:
    assert main(["plan", "A", *argv, "--json", "-"]) == 0
    data = json.loads(capsys.readouterr().out)
    tile = data["tile_rows"] if data["schedule"] == "dft" else None
    return data["schedule"], tile, data["fwsa"]["fused"]


@pytest.mark.parametrize("board", ["nucleo_l476rg", "nucleo_h743zi"])
def test_plan_a_and_the_eeg_conversion_choose_the_same_schedule(board: str, capsys) -> None:
    assert SHAPES["A"].seq_len == 81  # the EEG sample's attention block is shape A
    want = _eeg_choice(board)
    # the sample ships calibration inputs, so FWSA is a candidate of both; on the arm kernels
    # the fused block is the faster (layer-wise and DFT x = S run the same code)
    assert want[2] and want[:2] in (("layerwise", None), ("dft", SHAPES["A"].seq_len))
    assert _plan_choice(capsys, "--board", board) == want
    conv = convert(EEG, ConvertOptions(board=board, fwsa="off"))
    op = next(op for op in conv.planned.ops if isinstance(op, ir.Mhsa))
    got = _plan_choice(capsys, "--board", board, "--fwsa", "off")
    assert got == (op.variant, op.tile if op.variant == "dft" else None, False)


def test_the_same_with_the_reference_kernels(capsys) -> None:
    # the reference layer-wise block does not fit the L476: both take DFT tiles; the EEG
    # conversion has FWSA candidates too (the sample ships calibration inputs), as the plan
    want = _eeg_choice("nucleo_l476rg", "ref")
    assert want[0] == "dft"
    assert _plan_choice(capsys, "--board", "nucleo_l476rg", "--kernels", "ref") == want
    # with --fwsa off neither fuses, and they still agree
    conv = convert(EEG, ConvertOptions(board="nucleo_l476rg", kernels="ref", fwsa="off"))
    op = next(op for op in conv.planned.ops if isinstance(op, ir.Mhsa))
    got = _plan_choice(capsys, "--board", "nucleo_l476rg", "--kernels", "ref", "--fwsa", "off")
    assert got == (op.variant, op.tile if op.variant == "dft" else None, False)


def _formulas_price_fwsa_faster(cpu: str) -> bool:
    """Whether the cost formulas of the arm kernels on ``cpu`` price the EEG block (shape
    A) cheaper fused than unfused, as the exact counts measure it (tinytx run eeg: 6.06 M
    fused, 6.64 M unfused on M4)."""
    table, a = table_for(cpu, "arm"), SHAPES["A"]
    fused = min(table.instructions(a, True, x) for x in (None, a.seq_len))
    return fused < table.instructions(a, False, None)


@pytest.mark.parametrize(
    ("board", "cpu"), [("nucleo_l476rg", "cortex-m4"), ("nucleo_h743zi", "cortex-m7")]
)
def test_the_eeg_sample_converts_with_fwsa(board: str, cpu: str) -> None:
    """The sample ships calibration inputs, so its conversion fuses its attention weights
    (layer-wise or DFT x = S): FWSA is faster on the arm kernels, and the formulas say so."""
    assert _formulas_price_fwsa_faster(cpu), f"re-fit the {cpu} arm cost formulas"
    schedule, tile, fused = _eeg_choice(board)
    assert fused and (schedule, tile) in (("layerwise", None), ("dft", SHAPES["A"].seq_len))
    conv = convert(EEG, ConvertOptions(board=board))
    assert "FWSA yes (fused Q/K weights; calibration: samples/eeg/model/calibration.npz)" in (
        "\n".join(conv.plan.describe())
    )


# ----------------------------------------------------------------------------- chooser
def _choose(budget, prices, arenas, **kw):
    return choose_schedule(
        8,
        lambda s, x, f: arenas[(s, x, f)] if (s, x, f) in arenas else 100 + 10 * (x or 0),
        lambda s, x, f: prices[(s, x, f)] if (s, x, f) in prices else 1000 - (x or 0),
        budget,
        **kw,
    )


def test_the_cheapest_fitting_candidate_wins() -> None:
    arenas = {("layerwise", None, False): 500}
    prices = {("layerwise", None, False): 10}
    c = _choose(1000, prices, arenas)
    assert (c.chosen.schedule, c.chosen.tile) == ("layerwise", None) and c.fits
    # layer-wise no longer fits: the cheapest DFT tile that does (x <= 5: 100 + 10x <= 150)
    c = _choose(150, prices, arenas)
    assert (c.chosen.schedule, c.chosen.tile) == ("dft", 5)
    assert "layer-wise, FWSA no would be faster but needs 500 bytes" in c.reason
    # a cheaper small tile beats the largest fitting one
    c = _choose(150, {**prices, ("dft", 2, False): 5}, arenas)
    assert c.chosen.tile == 2
    # nothing fits: the smallest arena, not fitting
    c = _choose(50, prices, arenas)
    assert not c.fits and (c.chosen.schedule, c.chosen.tile, c.chosen.arena_bytes) == (
        "dft", 1, 110,
    )  # fmt: skip


def test_fwsa_options_modes_tiles_and_measured_costs() -> None:
    arenas = {("layerwise", None, False): 500, ("layerwise", None, True): 500}
    prices = {("layerwise", None, False): 10, ("layerwise", None, True): 8}
    c = _choose(1000, prices, arenas, fused_options=(False, True))
    assert c.chosen.fused and c.chosen.schedule == "layerwise"
    assert _choose(1000, prices, arenas, mode="dft").chosen.schedule == "dft"
    c = _choose(1000, prices, arenas, tile=3)
    assert (c.chosen.schedule, c.chosen.tile, c.reason) == ("dft", 3, "the tile size given")
    c = _choose(150, prices, arenas, measured={2: 1.0, 4: 0.5, 7: 0.1})  # 7 does not fit
    assert c.chosen.tile == 4 and c.chosen.measured and c.chosen.instructions == 0.5
    with pytest.raises(ValueError, match="--mhsa"):
        _choose(1000, prices, arenas, mode="fast")


def test_block_arena_is_the_planners() -> None:
    # one block: the chooser's block arena equals what the whole-model planner gives an
    # attention op between its input and output (in place where the kernel allows it)
    a = SHAPES["A"]
    se = a.seq_len * a.embed_dim
    arm, ref = KernelScratch("arm"), KernelScratch("ref")
    assert block_arena(a, "layerwise", None, False, arm) == max(se, 4) + arm.attention(
        a, None, False
    )
    assert block_arena(a, "layerwise", None, False, ref) == 2 * se + ref.attention(a, None, False)
    assert block_arena(a, "dft", 9, False, ref) == se + ref.attention(a, 9, False)


# ------------------------------------------------------------------------ formulas
def test_cost_tables_load_and_price_every_kernel() -> None:
    tables = load_tables()
    assert {"m4/arm", "m7/arm", "m4/ref"} <= set(tables)
    for t in tables.values():
        assert set(t.coefficients) == {"mhsa", "fwsa", "mhsa_dft", "fwsa_dft"}
        assert all(c >= 0 for k in t.coefficients.values() for c in k.values())
        for shape in SHAPES.values():
            for fused in (False, True):
                for tile in (None, 1, shape.seq_len):
                    assert t.instructions(shape, fused, tile) > 0
    assert table_for("cortex-m4", "arm").note == ""
    assert table_for("cortex-m7", "arm").key == "m7/arm"
    assert "priced with the m4/ref formulas" in table_for("rv32imc-xpulpv2", "riscv").note
    assert "priced with" in table_for(None, "arm").note


def test_fit_recovers_known_coefficients() -> None:
    truth = {"proj_blocks": 10.0, "score_macs": 1.5, "softmax": 16.0, "tiles": 400.0, "one": 900.0}
    pts = [
        Point(s, False, x, round(sum(c * terms(s, False, x)[n] for n, c in truth.items())))
        for s in FIT_SHAPES
        for x in (1, 2, 5, s.seq_len)
        if x <= s.seq_len
    ]
    got = fit(pts)["mhsa_dft"]
    for name, c in truth.items():
        assert got.get(name, 0.0) == pytest.approx(c, rel=0.02)
    assert set(got) <= set(TERMS)
    import numpy as np

    a = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    assert nnls(a, np.array([2.0, -1.0, 1.0])).tolist() == pytest.approx([1.5, 0.0])


@pytest.mark.firmware
@pytest.mark.parametrize("target", ["m4", "m7"])
def test_formulas_match_the_bench_shapes(build_root, target: str) -> None:
    """`tinytx bench --check-costs` for the arm kernels: every formula within its margin of
    the exact count of the bench shapes A-D (layer-wise, and DFT at three tile sizes)."""
    from tinytx.toolchain.bench.fit_costs import check, measure_points

    points = measure_points(target, "arm", list(SHAPES.values()), build_root, few_tiles=True)
    rows = check(load_tables()[f"{target}/arm"], points)
    assert len(rows) == 4 * 8
    bad = [(r.point, r.error) for r in rows if abs(r.error) > MARGIN[r.point.kernel]]
    assert not bad
