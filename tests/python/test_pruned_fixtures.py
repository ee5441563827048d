"""The committed pruned fixtures (samples/<name>/model/pruned/<variant>/ and
tests/zoo/models/pruned/): they convert with today's dense path, their int8 weights have
the sparsity their metrics say, counted in the converter's IR (tinytx's weight layouts:
zeros per weight and all-zero 1x4 blocks along the reduction axis), and the golden
executor reproduces their committed outputs. No torch (the generators are
samples/common_model/prune.py and tests/zoo/make_pruned_zoo.py); no firmware.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from zoo_index import ZOO, ZOO_DATA

from tinytx.core import executor, ir
from tinytx.core.codegen.project import ConvertOptions, convert
from tinytx.core.frontend.onnx import load_onnx

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
SAMPLE_VARIANTS = sorted(
    f"{p.parents[2].name}/{p.name}" for p in SAMPLES.glob("*/model/pruned/*") if p.is_dir()
)
ZOO_PRUNED = ZOO / "models" / "pruned"
ZOO_INDEX = json.loads((ZOO_PRUNED / "index.json").read_text())
ZOO_FIXTURES = {f["name"]: f for f in ZOO_INDEX["fixtures"]}


def variant_dir(key: str) -> Path:
    name, variant = key.split("/")
    return SAMPLES / name / "model" / "pruned" / variant


def ir_weights(m: ir.Model) -> list[np.ndarray]:
    """Every int8 weight of a linear layer or a convolution, as ``[out][reduction]`` in
    the converter's layout (Linear ``[N][K]``, Conv2d ``[C_out][K_h][K_w][C_in]``; the
    attention's four projections ``[out][in]``); depthwise convolutions left out."""
    found = []
    for op in m.ops:
        if isinstance(op, ir.DepthwiseConv2d):
            continue
        if isinstance(op, (ir.Linear, ir.Conv2d)):
            found.append(op.weight.reshape(op.weight.shape[0], -1))
        elif isinstance(op, ir.Mhsa):
            assert op.fwsa is None, f"{op.name}: fused attention hides the sparse weights"
            w = op.weights
            found += [w.wq, w.wk, w.wv, w.wo]
    assert all(w.dtype == np.int8 for w in found)
    return found


def counts(w: np.ndarray) -> tuple[int, int, int, int]:
    """(elements, zeros, 1x4 blocks, all-zero 1x4 blocks) of ``[out][reduction]``."""
    rows, cols = w.shape
    padded = np.zeros((rows, -(-cols // 4) * 4), dtype=np.int8)
    padded[:, :cols] = w
    blocks = padded.reshape(rows, -1, 4)
    return (
        w.size,
        int((w == 0).sum()),
        blocks.shape[0] * blocks.shape[1],
        int(np.all(blocks == 0, axis=2).sum()),
    )


def check_sparsity(
    m: ir.Model, layers: list[dict], structure: str, amount: float, per_layer: bool = True
) -> None:
    """The IR's weights are the indexed ones (same element, zero and zero-block counts:
    the 1x4 blocks of the generator's order are the converter's; per layer, or in total
    where the frontend splits a packed q/k/v projection), every pruned layer is at least
    ``amount`` sparse (in blocks for block pruning), and no float zero was quantized to a
    non-zero."""
    dense_ops = [e for e in layers if e.get("group", 1) == 1]
    want = sorted((e["elements"], e["zeros"], e["blocks4"], e["zero_blocks4"]) for e in dense_ops)
    got = sorted(counts(w) for w in ir_weights(m))
    assert np.sum(got, axis=0).tolist() == np.sum(want, axis=0).tolist()
    if per_layer:
        assert got == want
    pruned = [e for e in layers if e["pruned"]]
    assert pruned and all(e["zeros_stay_zero"] for e in layers)
    for e in pruned:
        if structure == "block4":
            assert e["zero_blocks4"] >= round(amount * e["blocks4"]), e["node"]
        else:
            assert e["zeros"] >= round(amount * e["elements"]), e["node"]


@pytest.mark.parametrize("key", SAMPLE_VARIANTS)
def test_pruned_sample_converts_is_sparse_and_reproduces(key: str) -> None:
    d = variant_dir(key)
    metrics = json.loads((d / "metrics.json").read_text())
    assert metrics["variant"] == d.name
    conv = convert(d / "model.onnx", ConvertOptions(board="nucleo_l476rg"))
    m = conv.planned
    p = metrics["pruning"]
    check_sparsity(m, metrics["layers"], p["structure"], p["amount"])
    total = metrics["int8_weight_sparsity"]["pruned_layers"]
    pruned = [e for e in metrics["layers"] if e["pruned"]]
    assert total["zeros"] == sum(e["zeros"] for e in pruned)
    assert total["elements"] == sum(e["elements"] for e in pruned)
    # the dense model's test inputs (same windows, same input scale)
    dense_inputs = np.load(d.parents[1] / "test_inputs.npz")
    inputs = np.load(d / "test_inputs.npz")
    for k in ("float", "int8", "input_scale", "labels"):
        np.testing.assert_array_equal(inputs[k], dense_inputs[k])
    golden = np.load(d / "golden_outputs.npz")
    got = np.stack([executor.run(m, m.input_spec.to_memory(x)) for x in inputs["int8"]])
    np.testing.assert_array_equal(got, golden["int8"], err_msg="rewrite with make_pruned.py")
    assert conv.test is not None
    np.testing.assert_array_equal(conv.test.expected, golden["int8"])
    # onnxruntime's QDQ model ranks the classes as the golden executor does on most inputs
    ort = np.load(d / "ort_outputs.npz")
    assert np.mean(ort["predicted"] == golden["predicted"]) >= 0.75


def test_every_sample_has_the_four_variants() -> None:
    for name in ("radar", "eeg", "ecg"):
        assert [k for k in SAMPLE_VARIANTS if k.startswith(f"{name}/")] == [
            f"{name}/{v}" for v in ("b75", "u50", "u75", "u90")
        ]


@pytest.mark.parametrize("name", sorted(ZOO_FIXTURES))
def test_pruned_zoo_fixture_converts_is_sparse_and_reproduces(name: str) -> None:
    entry = ZOO_FIXTURES[name]
    path = ZOO_PRUNED / f"{name}.onnx"
    convert(path, ConvertOptions(board="nucleo_l476rg"))
    m = load_onnx(path)
    p = entry["pruning"]
    check_sparsity(m, entry["layers"], p["structure"], p["amount"], per_layer=False)
    with np.load(ZOO_PRUNED / f"{name}.npz") as z:
        stored = {k: z[k] for k in z.files}
    n, count = entry["stored_inputs"], entry["logits_count"]
    x, y = ZOO_DATA.make(entry["task"], count, entry["test_seed"], **entry["task_shape"])
    np.testing.assert_array_equal(stored["inputs"][:, 0], x[:n])
    np.testing.assert_array_equal(stored["labels"], y)
    with np.load(ZOO / "golden" / "pruned" / f"{name}.npz") as golden:
        want = golden["outputs"]
    got = np.stack([executor.run(m, executor.quantize_input(m, a)) for a in stored["inputs"]])
    np.testing.assert_array_equal(got, want, err_msg="rewrite with tests/zoo/make_pruned_zoo.py")
    # close to onnxruntime's QDQ model (its committed logits) on the stored inputs
    assert np.mean(got.argmax(1) == stored["ort_logits"][:n].argmax(1)) >= 0.95
