"""A pruned model converts with no extra flag and runs sparse where it pays.

The pruned models are the committed radar and ECG fixtures (torch magnitude pruning, 90 %
unstructured or 75 % in 1x4 blocks along the reduction axis, fine-tuned, quantized with
onnxruntime's defaults: samples/<sample>/model/make_pruned.py). Checked: the plan's and plan.txt's
per-layer lines, the generated C (sparse arrays, the struct, the sparse kernel calls;
compiles with -Werror), the stored weight bytes, that a dense sample's plan and C are
the same as with ``--sparse off``, and (firmware) that the pruned model's firmware
MATCHes the golden executor on QEMU Cortex-M4 with its profile and memory report
showing the sparse layers.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tinytx.core.codegen.project import ConvertOptions, convert
from tinytx.core.kernel_abi import kernels_dir

ROOT = Path(__file__).resolve().parents[2]
RADAR = ROOT / "samples" / "radar" / "model"
FLAGS = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-O1"]


@pytest.fixture(scope="module")
def pruned() -> dict[str, Path]:
    """The committed pruned radar models (torch magnitude pruning, fine-tuned, quantized
    by onnxruntime: samples/radar/model/make_pruned.py)."""
    return {
        "unstructured90": RADAR / "pruned" / "u90" / "model.onnx",
        "block75": RADAR / "pruned" / "b75" / "model.onnx",
    }


def test_pruned_model_plans_sparse_layers(pruned: dict[str, Path]) -> None:
    conv = convert(pruned["unstructured90"], ConvertOptions(kernels="ref"))
    plan = conv.plan
    assert plan.sparse is not None
    sparse = {x.layer: x for x in plan.sparse.sparse_layers}
    assert "linear0" in sparse, plan.describe()  # W [32][256], 10 % nonzero
    assert sparse["linear0"].format == "unstructured"
    for x in plan.sparse.layers:  # every layer's storage is one the rule allows
        if x.sparse:
            assert x.chosen.bytes < x.dense_bytes
            assert x.chosen.instructions <= x.dense.instructions
    lines = plan.describe()
    head = next(ln for ln in lines if ln.startswith("weights storage (--sparse auto): "))
    assert f"{len(sparse)} of {len(plan.sparse.layers)} layers sparse" in head
    x = sparse["linear0"]
    assert (
        f"  linear0: sparse unstructured: {x.chosen.bytes:,} of 8,192 bytes, est. "
        f"{x.chosen.instructions:,.0f} instr vs {x.dense.instructions:,.0f}"
    ) in "\n".join(lines)
    assert plan.weight_bytes == conv.model.weight_bytes - plan.sparse.saved_bytes
    files = conv.files()
    assert head in files["plan.txt"]
    c, h = files["model.c"], files["model.h"]
    assert f"#define TINYTX_{conv.model.name.upper()}_WEIGHT_BYTES {plan.weight_bytes}" in h
    for name, layer in sparse.items():
        kernel = "conv2d" if layer.kind == "conv2d" else "linear"
        assert f"static const tinytx_sparse_weights {name}_w_sparse = " in c
        assert f"tinytx_{kernel}_sparse_s8(&{name}_dims, &{name}_params, " in c
        assert f"&{name}_w_sparse, " in c
        assert f"const int8_t {name}_w[" not in c  # no dense copy in flash
        assert f"const uint16_t {name}_w_row_ptr[{layer.rows + 1}]" in c
    rows = {k.layer for k in conv.generated.calls if k.weights}
    assert rows == {x.block or x.layer for x in sparse.values()}


def test_arm_plan_keeps_slower_layers_dense(pruned: dict[str, Path]) -> None:
    """On arm every sparse layer the plan picks is priced not slower than dense."""
    conv = convert(pruned["unstructured90"], ConvertOptions(kernels="arm"))
    assert conv.plan.sparse is not None and conv.plan.sparse.layers
    for x in conv.plan.sparse.layers:
        assert x.chosen.instructions <= x.dense.instructions
        assert x.sparse or x.reason.startswith(
            ("sparse would be slower", "sparse may be slower", "sparse saves no")
        )


def test_split_attention_blocks(pruned: dict[str, Path]) -> None:
    """ref: the pruned blocks' projections go sparse and the blocks run as separate
    calls; arm (auto): the fused blocks stay; a forced format splits them on arm too."""
    ref = convert(pruned["unstructured90"], ConvertOptions(kernels="ref"))
    assert ref.plan.sparse is not None
    assert ref.plan.sparse.split_blocks == {"mhsa0", "mhsa1"}
    names = {x.layer for x in ref.plan.sparse.sparse_layers}
    assert {"mhsa0_q", "mhsa0_k", "mhsa0_v", "mhsa0_o"} <= names
    assert any("mhsa0 (S=16 E=32 H=4 P=8): split into layer-wise calls" in ln
               for ln in ref.plan.describe())  # fmt: skip
    c = ref.generated.source
    assert "tinytx_mhsa_s8(" not in c
    for call in ("tinytx_qk_softmax_s8(&mhsa0_attention_dims", "tinytx_av_s8(&mhsa0_attention_dims",
                 "tinytx_linear_sparse_s8(&mhsa0_v_dims"):  # fmt: skip
        assert call in c
    assert ".layout = TINYTX_LAYOUT_HEAD_MAJOR_T" in c
    split = next(k for k in ref.generated.calls if k.layer == "mhsa0")
    assert split.calls[3:5] == ("tinytx_qk_softmax_s8", "tinytx_av_s8") and len(split.calls) == 6
    arm = convert(pruned["unstructured90"], ConvertOptions(kernels="arm"))
    assert arm.plan.sparse is not None and arm.plan.sparse.split_blocks == frozenset()
    assert "tinytx_mhsa_s8(" in arm.generated.source
    forced = convert(pruned["unstructured90"], ConvertOptions(kernels="arm", sparse="block4"))
    assert forced.plan.sparse is not None
    assert forced.plan.sparse.split_blocks == {"mhsa0", "mhsa1"}


def test_block_pruned_model_picks_block4(pruned: dict[str, Path]) -> None:
    conv = convert(pruned["block75"], ConvertOptions(kernels="ref"))
    assert conv.plan.sparse is not None
    formats = {x.layer: x.format for x in conv.plan.sparse.layers}
    assert formats["linear0"] == "block4", conv.plan.describe()


def test_generated_sparse_c_compiles(pruned: dict[str, Path], tmp_path: Path) -> None:
    if shutil.which("gcc") is None:
        pytest.skip("no host gcc")
    conv = convert(pruned["unstructured90"], ConvertOptions(kernels="ref"))
    conv.write(tmp_path / "gen")
    inc = ["-I", str(kernels_dir() / "include"), "-I", str(tmp_path / "gen")]
    for src in ("model.c", "test_data.c"):
        cmd = ["gcc", *FLAGS, *inc, "-c", str(tmp_path / "gen" / src), "-o", str(tmp_path / "x.o")]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr


def test_dense_sample_is_unchanged(tmp_path: Path) -> None:
    """No layer of a dense sample goes sparse: the same plan and C as --sparse off."""
    auto = convert(RADAR / "model.onnx", ConvertOptions(kernels="arm"))
    off = convert(RADAR / "model.onnx", ConvertOptions(kernels="arm", sparse="off"))
    assert auto.plan.sparse is not None and auto.plan.sparse.sparse_layers == ()
    assert auto.plan.describe() == off.plan.describe()
    assert auto.generated.source == off.generated.source
    assert auto.generated.header == off.generated.header
    assert "sparse" not in auto.generated.source


def test_forced_format_and_off(pruned: dict[str, Path]) -> None:
    forced = convert(pruned["unstructured90"], ConvertOptions(kernels="ref", sparse="block4"))
    assert forced.plan.sparse is not None
    assert {x.format for x in forced.plan.sparse.layers} == {"block4"}
    off = convert(pruned["unstructured90"], ConvertOptions(kernels="ref", sparse="off"))
    assert "tinytx_linear_sparse_s8" not in off.generated.source
    assert off.plan.weight_bytes == off.model.weight_bytes


@pytest.mark.firmware
@pytest.mark.parametrize(
    ("variant", "kernels", "mode"),
    [
        ("unstructured90", "ref", "auto"),  # attention blocks split
        ("block75", "ref", "auto"),
        ("unstructured90", "arm", "auto"),
        ("block75", "arm", "auto"),
        ("unstructured90", "arm", "unstructured"),  # split blocks with the arm kernels' scratch
    ],
)
def test_pruned_firmware_matches_golden_on_qemu_m4(
    pruned: dict[str, Path], build_root: Path, variant: str, kernels: str, mode: str
) -> None:
    from tinytx.core.targets import get_target
    from tinytx.toolchain.firmware import Source, emulate
    from tinytx.toolchain.report import analyze

    target = get_target("m4")
    source = Source(pruned[variant], ConvertOptions(sparse=mode), None, None)
    res = emulate(source, target, kernels, build_root, count=True, echo=lambda *a: None,
                  profile=True)  # fmt: skip
    assert res.problems == ()
    plan = res.conversion.plan
    assert plan.sparse is not None and plan.sparse.sparse_layers
    prof = res.count.profile  # type: ignore[union-attr]
    assert prof is not None
    rows = {p.layer: p for p in prof.layers}
    for x in plan.sparse.sparse_layers:
        if x.block:  # a split attention block: one row, its projections' storage
            assert f"{x.layer[-1]} sparse {x.format}" in rows[x.block].weights
            assert rows[x.block].function.startswith("split: ")
            continue
        assert rows[x.layer].weights.startswith(f"sparse {x.format} (")
        assert rows[x.layer].function.endswith("_sparse_s8")
    table = "\n".join(prof.table())
    assert all(f"sparse {x.format}" in table for x in plan.sparse.sparse_layers)
    report = analyze(res.elf)
    assert report.sparse is not None
    assert {y.layer for y in report.sparse.layers} == {x.layer for x in plan.sparse.sparse_layers}
    # the ELF's symbol sizes: the arrays' bytes without the plan's 4-byte alignment padding
    unpadded = sum(x.dense_bytes - x.weights.nbytes for x in plan.sparse.sparse_layers)  # type: ignore[union-attr]
    assert report.sparse.saved_bytes == unpadded
    assert 0 <= unpadded - plan.sparse.saved_bytes < 12 * len(plan.sparse.sparse_layers)


def test_split_block_over_budget_falls_back_to_the_fused_block(tmp_path: Path) -> None:
    """ECG (S=66, H=8): the split block holds the whole H x S x S map; under a RAM budget
    the fused depth-first block fits where the split one does not, and the plan says so."""
    from tinytx.core.codegen.project import load_model
    from tinytx.core.plan.planning import plan_model

    model = load_model(ROOT / "samples" / "ecg" / "model" / "pruned" / "u90" / "model.onnx")
    free = plan_model(model, kernels="ref")
    assert free.sparse is not None and free.sparse.split_blocks == {"mhsa0"}
    tight = plan_model(model, budget=free.arena_bytes - 1, kernels="ref")
    assert tight.fits and tight.arena_bytes < free.arena_bytes
    assert tight.sparse is not None and tight.sparse.split_blocks == frozenset()
    assert any(
        n.startswith("attention blocks mhsa0: fused (dense projections): split into separate "
                     f"calls they need {free.arena_bytes} bytes")
        for n in tight.notes
    )  # fmt: skip
    assert {x.layer for x in tight.sparse.sparse_layers} >= {"linear0"}  # the rest stays sparse


def test_plan_and_convert_cli(pruned: dict[str, Path], tmp_path: Path, capsys) -> None:
    """``tinytx plan`` prints the stored weights and the layers (JSON: ``sparse``);
    ``tinytx convert --sparse off`` writes no sparse layer and records the option."""
    import json

    from tinytx.cli import main

    model = str(pruned["unstructured90"])
    assert main(["plan", model, "--board", "nucleo_l476rg", "--kernels", "ref"]) == 0
    text = capsys.readouterr().out
    assert "bytes stored (27,516 dense, sparse storage saves " in text
    assert "    linear0: sparse unstructured: 1,708 of 8,192 bytes, est. " in text
    code = main(["plan", model, "--board", "nucleo_l476rg", "--kernels", "ref", "--json", "-"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0 and data["sparse"]["mode"] == "auto"
    layers = {x["layer"]: x for x in data["sparse"]["layers"]}
    assert layers["linear0"]["format"] == "unstructured"
    assert layers["linear0"]["dense_bytes"] == 8192
    assert data["stored_weight_bytes"] == data["weight_bytes"] - data["sparse"]["saved_bytes"]
    assert all(b["split"] for b in data["attention"])
    out = tmp_path / "gen"
    assert main(["convert", model, "-o", str(out), "--kernels", "ref", "--sparse", "off"]) == 0
    capsys.readouterr()
    assert "sparse" not in (out / "model.c").read_text()
    record = json.loads((out / "tinytx-model.json").read_text())
    assert record["options"]["sparse"] == "off"
    with pytest.raises(SystemExit) as exc:  # argparse: not one of the choices
        main(["plan", model, "--board", "nucleo_l476rg", "--sparse", "dense"])
    assert exc.value.code == 2
