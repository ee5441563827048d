"""The committed sample models (samples/<name>/model): consistent, symmetric int8 QDQ, and
their data generators importable without torch and deterministic.

The firmware-vs-onnxruntime agreement lives with the frontend's tests; this file checks
that the committed artifacts agree with each other and with the documented scheme.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import numpy_helper

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
NAMES = ["radar", "eeg", "ecg"]


def load_data(name: str) -> ModuleType:
    path = SAMPLES / name / "model" / "data.py"
    spec = importlib.util.spec_from_file_location(f"sample_data_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def session(name: str) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    path = str(SAMPLES / name / "model" / "model.onnx")
    return ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])


def test_data_generators_need_no_torch() -> None:
    before = set(sys.modules)
    for name in NAMES:
        load_data(name)
    assert not any(m == "torch" or m.startswith("torch.") for m in set(sys.modules) - before)


@pytest.mark.parametrize("name", NAMES)
def test_generator_deterministic_and_shaped(name: str) -> None:
    data = load_data(name)
    a, la = data.make_dataset(12, 123)
    b, lb = data.make_dataset(12, 123)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(la, lb)
    assert a.dtype == np.float32 and a.shape == (12, *data.SAMPLE_SHAPE)
    assert np.isfinite(a).all()
    assert sorted(set(la.tolist())) == list(range(min(12, len(data.CLASSES))))
    c, _ = data.make_dataset(12, 124)
    assert not np.array_equal(a, c)
    agree = data.agreement_inputs(3)
    model_input = session(name).get_inputs()[0].shape
    assert list(agree.shape[1:]) == model_input


@pytest.mark.parametrize("name", NAMES)
def test_qdq_scheme_is_symmetric_per_tensor_int8(name: str) -> None:
    model = onnx.load(str(SAMPLES / name / "model" / "model.onnx"))
    onnx.checker.check_model(model)
    assert model.opset_import[0].version == 17
    init = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    qdq = [n for n in model.graph.node if n.op_type in ("QuantizeLinear", "DequantizeLinear")]
    assert qdq
    for n in qdq:
        scale, zero = (init[i] for i in n.input[1:3])
        assert scale.size == 1, f"{n.name}: per-channel scale"
        assert zero.size == 1 and int(zero) == 0, f"{n.name}: zero point {zero}"
        assert zero.dtype in (np.int8, np.int32), f"{n.name}: {zero.dtype}"
    ops = {n.op_type for n in model.graph.node}
    assert "LayerNormalization" in ops and "Softmax" in ops and "Erf" in ops


@pytest.mark.parametrize("name", NAMES)
def test_committed_outputs_reproduce(name: str) -> None:
    d = SAMPLES / name / "model"
    inputs, outputs = np.load(d / "test_inputs.npz"), np.load(d / "ort_outputs.npz")
    sess = session(name)
    for i, x in enumerate(inputs["float"]):
        q = np.clip(np.rint(x / inputs["input_scale"]), -128, 127).astype(np.int8)
        np.testing.assert_array_equal(q, inputs["int8"][i])
        logits = sess.run(None, {"input": x})[0].reshape(-1)
        np.testing.assert_array_equal(logits, outputs["logits"][i])
        np.testing.assert_array_equal(
            np.rint(logits / outputs["output_scale"]).astype(np.int8), outputs["int8"][i]
        )
    assert outputs["predicted"].tolist() == outputs["logits"].argmax(1).tolist()


@pytest.mark.parametrize("name", NAMES)
def test_qdq_model_accuracy_on_fresh_synthetic_data(name: str) -> None:
    """The QDQ model classifies a fresh held-out batch about as well as metrics.json says."""
    data = load_data(name)
    metrics = json.loads((SAMPLES / name / "model" / "metrics.json").read_text())
    x, labels = data.make_dataset(150, metrics["seeds"]["test"] + 7)
    sess = session(name)
    shape = sess.get_inputs()[0].shape
    pred = [int(sess.run(None, {"input": a.reshape(shape)})[0].argmax()) for a in x]
    accuracy = float(np.mean(np.array(pred) == labels))
    assert accuracy >= metrics["accuracy_qdq_onnxruntime"] - 0.08
    assert accuracy >= 0.85  # chance is 1/2 (EEG) to 1/11 (radar)
