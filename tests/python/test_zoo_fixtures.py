"""The model zoo (tests/zoo/models): every indexed fixture is a valid QDQ model with a
consistent npz, and zoo_data (numpy only) regenerates the committed inputs exactly.

The converter's behaviour on these models is tested elsewhere; this file only checks
that the committed artifacts agree with each other and with their index.
"""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import numpy_helper
from zoo_index import FIXTURES, MODELS, ZOO_DATA, npz

QDQ = ("QuantizeLinear", "DequantizeLinear")


def test_index_lists_every_committed_model() -> None:
    on_disk = {p.stem for p in MODELS.glob("*.onnx")}
    assert on_disk == set(FIXTURES)
    assert {p.stem for p in MODELS.glob("*.npz")} == set(FIXTURES)
    assert len(FIXTURES) >= 20


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_fixture_is_a_valid_qdq_model(name: str) -> None:
    entry = FIXTURES[name]
    model = onnx.load(MODELS / f"{name}.onnx")
    onnx.checker.check_model(model)
    ops = [n.op_type for n in model.graph.node]
    assert all(op in ops for op in QDQ)
    counts = {op: ops.count(op) for op in sorted(set(ops))}
    assert counts == entry["op_counts"]
    (inp,) = model.graph.input
    assert inp.name == entry["input_name"]
    assert [d.dim_value for d in inp.type.tensor_type.shape.dim] == entry["input_shape"]
    # the float input is quantized right away (after float data movement, e.g. the
    # Reshape quant_pre_process puts in front of a Gemm)
    tensor = inp.name
    for _ in range(4):
        (node,) = [n for n in model.graph.node if tensor in n.input]
        if node.op_type == "QuantizeLinear":
            break
        assert node.op_type in ("Reshape", "Transpose", "Flatten")
        tensor = node.output[0]
    assert node.op_type == "QuantizeLinear"


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_fixture_npz_matches_index_and_zoo_data(name: str) -> None:
    entry = FIXTURES[name]
    z = npz(name)
    n, classes = entry["stored_inputs"], entry["classes"]
    count = entry["logits_count"]
    assert z["inputs"].dtype == np.float32
    assert z["inputs"].shape == (n, *entry["input_shape"])
    assert z["float_logits"].shape == z["ort_logits"].shape == (count, classes)
    assert z["labels"].shape == (count,)
    x, y = ZOO_DATA.make(entry["task"], count, entry["test_seed"], **entry["task_shape"])
    np.testing.assert_array_equal(z["inputs"][:, 0], x[:n])
    np.testing.assert_array_equal(z["labels"], y)
    acc = float((z["ort_logits"][:n].argmax(1) == z["labels"][:n]).mean())
    assert acc == pytest.approx(entry["qdq_accuracy_stored"], abs=1e-4)
    # trained, not random: better than chance in float and after quantization
    assert entry["float_accuracy"] > 1.5 / classes
    assert entry["qdq_accuracy"] > 1.5 / classes


def _output_step(model: onnx.ModelProto) -> float:
    """Scale of the DequantizeLinear producing the graph output (one int8 step)."""
    init = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    out = model.graph.output[0].name
    (dq,) = [n for n in model.graph.node if out in n.output]
    assert dq.op_type == "DequantizeLinear"
    return float(init[dq.input[1]])


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_ort_reproduces_committed_logits(name: str) -> None:
    z = npz(name)
    path = MODELS / f"{name}.onnx"
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    sess = ort.InferenceSession(str(path), opts, ["CPUExecutionProvider"])
    feed = FIXTURES[name]["input_name"]
    got = np.stack([sess.run(None, {feed: a})[0][0] for a in z["inputs"][:16]])
    # the logits are dequantized int8: another onnxruntime may round a value one step off
    step = _output_step(onnx.load(path))
    np.testing.assert_allclose(got, z["ort_logits"][:16], rtol=0, atol=1.01 * step)
    assert (got.argmax(1) == z["ort_logits"][:16].argmax(1)).mean() >= 0.9


def test_zoo_data_is_prefix_stable() -> None:
    a, la = ZOO_DATA.make("sequence", 5, 11, tokens=8, features=4)
    b, lb = ZOO_DATA.make("sequence", 9, 11, tokens=8, features=4)
    np.testing.assert_array_equal(a, b[:5])
    np.testing.assert_array_equal(la, lb[:5])
    assert np.all(a * ZOO_DATA.GRID == np.rint(a * ZOO_DATA.GRID))
