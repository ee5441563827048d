"""``tinytx plan``: table, JSON, exit codes (0 fits, 1 does not fit, 2 bad input), plot."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tinytx.cli import main
from tinytx.core.plan.budget import ram_budget
from tinytx.core.plan.mhsa import dft_arenas
from tinytx.core.workloads import SHAPES

pytestmark = pytest.mark.firmware


def _json(capsys, *argv: str) -> tuple[int, dict]:
    code = main(["plan", *argv, "--json", "-"])
    return code, json.loads(capsys.readouterr().out)


def test_a_on_the_l476_takes_the_fastest_schedule_that_fits(capsys) -> None:
    code, data = _json(capsys, "A", "--board", "nucleo_l476rg")
    assert code == 0
    for key in ("layerwise_peak_bytes", "dft_peak_bytes", "tile_rows", "arena_bytes", "fits"):
        assert key in data
    budget = ram_budget("nucleo_l476rg").budget
    # the primitive layer-wise schedule (the paper's accounting) does not fit; the arm
    # layer-wise block (one call, in place) does, and it is the fastest candidate
    assert data["fits"] is True and data["layerwise_fits"] is False
    assert data["layerwise_arena_bytes"] > budget >= data["arena_bytes"]
    assert data["ram_budget_bytes"] == budget and data["kernels"] == "arm"
    fitting = [c for c in data["candidates"] if c["fits"]]
    chosen = min(fitting, key=lambda c: c["instructions"])
    assert (data["schedule"], data["fwsa"]["fused"]) == (chosen["schedule"], chosen["fused"])
    # the fused-weight block is the faster (5.16 M instructions against 5.75 M unfused):
    # layer-wise, or its engine with one tile of all 81 rows (the same code on arm)
    assert data["fwsa"]["fused"] is True
    assert data["schedule"] == "layerwise" or chosen["tile_rows"] == 81
    assert chosen["arena_bytes"] == data["arena_bytes"]
    assert 1 <= data["tile_rows"] <= 81 and len(data["tiles"]) == 81
    assert data["dft_peak_bytes"] < data["layerwise_peak_bytes"]
    # with the reference kernels the layer-wise block does not fit: DFT, fused weights
    code, ref = _json(capsys, "A", "--board", "nucleo_l476rg", "--kernels", "ref")
    assert code == 0 and ref["schedule"] == "dft" and ref["arena_bytes"] <= budget
    assert ref["fwsa"]["fused"] is True and ref["fwsa"]["accuracy"]["outputs"] > 0


def test_shape_forms_agree(capsys) -> None:
    _, by_name = _json(capsys, "--shape", "a", "--board", "nucleo_h743zi", "--fwsa", "off")
    _, by_dims = _json(capsys, "--shape", "81,32,32,8", "--board", "nucleo_h743zi", "--fwsa", "off")
    assert by_name == by_dims and by_name["shape"]["name"] == "A"
    assert by_name["fwsa"]["fused"] is False and by_name["fwsa"]["accuracy"] is None


def test_b_stays_unfused_and_says_why(capsys) -> None:
    code, data = _json(capsys, "B", "--board", "nucleo_l476rg")
    assert code == 0 and data["fwsa"]["fused"] is False
    assert "P=2 < E=16" in data["fwsa"]["reason"]


def test_table_output(capsys) -> None:
    assert main(["plan", "D", "--board", "nucleo_l476rg"]) == 0
    out = capsys.readouterr().out
    assert "layer-wise" in out and "<- chosen" in out and "result: FITS" in out
    assert "layer-wise schedule alone: arena 312,320 bytes: does not fit" in out


def test_nothing_fits_gives_the_smallest_arena(capsys) -> None:
    code = main(["plan", "--shape", "1024,128,64,8", "--board", "nucleo_l476rg"])
    out = capsys.readouterr().out
    assert code == 1
    assert "does not fit even with x=1: the smallest DFT arena is" in out
    assert "result: DOES NOT FIT" in out


def test_the_dft_scratch_is_the_planned_kernels(capsys) -> None:
    """A Cortex-M4 board's firmware runs the arm kernels: their DFT scratch is planned,
    unless --kernels says otherwise."""
    from tinytx.core.kernel_abi import kernel_abi
    from tinytx.core.plan.scratch import KernelScratch

    s, e, h, p = 81, 32, 8, 32  # shape A
    for kernels in ("arm", "ref"):
        extra = ("--kernels", kernels) if kernels == "ref" else ()
        code, data = _json(capsys, "A", "--board", "nucleo_l476rg", "--fwsa", "off", *extra)
        assert code == 0 and data["kernels"] == kernels and data["cores"] == 1
        want = kernel_abi(kernels).mhsa_dft_buffer_size(s, e, h, p, data["tile_rows"], 1)
        assert data["dft_peak_bytes"] == want
        assert [t["arena_bytes"] for t in data["tiles"]] == list(
            dft_arenas(SHAPES["A"], scratch=KernelScratch(kernels)).values()
        )


def test_forced_tile(capsys) -> None:
    from tinytx.core.plan.scratch import KernelScratch

    # the L476's firmware: the arm kernels
    arenas = dft_arenas(SHAPES["D"], scratch=KernelScratch("arm"))
    code, data = _json(capsys, "D", "--board", "nucleo_l476rg", "--tile", "256")
    assert code == 1 and data["tile_rows"] == 256 and data["arena_bytes"] == arenas[256]
    code, data = _json(capsys, "D", "--board", "nucleo_l476rg", "--tile", "8")
    assert code == 0 and data["tile_rows"] == 8


def test_costs_pick_the_fastest_fitting_tile(tmp_path: Path, capsys) -> None:
    costs = tmp_path / "costs.json"
    costs.write_text(json.dumps({"tile_costs": {"16": 900, "32": 800, "64": 850, "250": 1}}))
    code, data = _json(capsys, "D", "--board", "nucleo_l476rg", "--costs", str(costs))
    assert code == 0 and data["tile_rows"] == 32  # 250 would be cheaper but does not fit
    assert "measured costs" in data["tile_choice"]


def test_reserve_and_keep_input(capsys) -> None:
    _, plain = _json(capsys, "C", "--board", "nucleo_l476rg", "--reserve", "0")
    _, kept = _json(capsys, "C", "--board", "nucleo_l476rg", "--reserve", "0", "--keep-input")
    assert plain["ram_budget_bytes"] == 96 * 1024
    assert kept["arena_bytes"] > plain["arena_bytes"]


def test_plot(tmp_path: Path, capsys) -> None:
    png = tmp_path / "timeline.png"
    assert main(["plan", "A", "--board", "gap9", "--plot", str(png)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["E", "--board", "nucleo_l476rg"], "is not a shape"),
        (["A", "--board", "nope"], "unknown board"),
        (["A", "--shape", "B", "--board", "gap9"], "not both"),
        (["--board", "gap9"], "nothing to plan"),
        (["A", "--board", "gap9", "--tile", "0"], "tile_rows: 0 outside 1..S"),
        (["A", "--board", "gap9", "--reserve", "-1"], "reserve"),
        (["model.onnx", "--board", "gap9"], "no such model file"),
    ],
)
def test_bad_input_exits_2(argv: list[str], message: str, capsys) -> None:
    assert main(["plan", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


ECG_MODEL = Path(__file__).resolve().parents[2] / "samples" / "ecg" / "model" / "model.onnx"


def test_whole_onnx_model(capsys) -> None:
    code, data = _json(capsys, str(ECG_MODEL), "--board", "nucleo_l476rg", "--kernels", "ref")
    assert code == 0 and data["fits"] is True
    for key in ("layerwise_peak_bytes", "dft_peak_bytes", "tile_rows", "arena_bytes", "fits"):
        assert key in data
    assert data["arena_bytes"] == min(data["layerwise_peak_bytes"], data["arena_bytes"])
    assert data["dft_peak_bytes"] <= data["layerwise_peak_bytes"]
    assert [b["shape"] for b in data["attention"]] == [{"S": 66, "E": 16, "H": 8, "P": 2}]
    # a budget below any arena: exit 1, with the numbers
    reserve = ram_budget("nucleo_l476rg").region_bytes - 64
    code = main(
        [
            "plan",
            str(ECG_MODEL),
            "--board",
            "nucleo_l476rg",
            "--kernels",
            "ref",
            "--reserve",
            str(reserve),
        ]
    )
    out = capsys.readouterr().out
    assert code == 1 and "does NOT fit" in out and "= 64 bytes for the arena" in out


def test_broken_onnx_model_is_one_line(tmp_path: Path, capsys) -> None:
    model = tmp_path / "m.onnx"
    model.write_bytes(b"not a protobuf")
    assert main(["plan", str(model), "--board", "gap9"]) == 2
    err = capsys.readouterr().err
    assert "m.onnx" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_bad_costs_file(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "c.json"
    bad.write_text("[1, 2]")
    assert main(["plan", "A", "--board", "gap9", "--costs", str(bad)]) == 2
    assert "--costs" in capsys.readouterr().err


def test_measure_and_verify_on_the_emulator(build_root: Path, capsys) -> None:
    """--measure prices the fitting tiles under unicorn; --verify runs the canary proof."""
    argv = [
        "plan",
        "--shape",
        "12,8,8,2",
        "--board",
        "nucleo_l476rg",
        "--measure",
        "m4",
        "--verify",
        "--build-dir",
        str(build_root),
        "--json",
        "-",
    ]
    assert main(argv) == 0
    data = json.loads(capsys.readouterr().out)
    costs = {int(k): v for k, v in data["tile_costs"].items()}
    assert data["tile_rows"] in costs
    assert costs[data["tile_rows"]] == min(costs.values())
    m = data["measured"]["instructions"]
    assert data["measured"]["score_part_fused"] == m["t_proj"] + m["qk_softmax_fused"]
    assert [v["ok"] for v in data["verify"]] == [True, True]
    assert data["verify"][1]["highwater"] == data["dft_arena_bytes"]
