"""The committed sample models (samples/<name>/model): consistent, symmetric int8 QDQ, and
their data generators importable without torch and deterministic.

References: golden_outputs.npz (the golden executor's int8 output of every committed
test input) is exact and checked bit for bit; onnxruntime is compared with it as a
statistic within the margins of ort_margins.py (its int8 kernels differ per CPU).
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import onnx
import pytest
from onnx import numpy_helper
from ort_margins import LEVELS, SAMPLE_MARGINS, deviation, ort_session

from tinytx import executor
from tinytx.codegen.project import ConvertOptions, convert

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
NAMES = ["radar", "eeg", "ecg"]


def load_data(name: str) -> ModuleType:
    path = SAMPLES / name / "model" / "data.py"
    spec = importlib.util.spec_from_file_location(f"sample_data_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def session(name: str, level: str = "ORT_DISABLE_ALL"):
    return ort_session(str(SAMPLES / name / "model" / "model.onnx"), level)


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
def test_committed_inputs_are_quantizelinear_of_the_float_inputs(name: str) -> None:
    inputs = np.load(SAMPLES / name / "model" / "test_inputs.npz")
    q = np.clip(np.rint(inputs["float"] / inputs["input_scale"]), -128, 127).astype(np.int8)
    np.testing.assert_array_equal(q, inputs["int8"])


@pytest.mark.parametrize("name", NAMES)
def test_golden_outputs_reproduce(name: str) -> None:
    """The exact reference: the golden executor gives the committed bytes (any CPU)."""
    d = SAMPLES / name / "model"
    conv = convert(d / "model.onnx", ConvertOptions())
    m = conv.model
    golden = np.load(d / "golden_outputs.npz")
    inputs = np.load(d / "test_inputs.npz")["int8"]
    assert len(inputs) >= 4 and golden["int8"].shape == (len(inputs), m.tensors[m.output].size)
    for i, x in enumerate(inputs):
        np.testing.assert_array_equal(
            executor.run(m, m.input_spec.to_memory(x)),
            golden["int8"][i],
            err_msg="the golden executor changed its outputs; if on purpose, rewrite them "
            "with samples/common_model/golden_outputs.py",
        )
    assert golden["predicted"].tolist() == golden["int8"].argmax(1).tolist()
    # the test data `tinytx convert` writes for the firmware carries the same bytes
    assert conv.test is not None
    np.testing.assert_array_equal(conv.test.expected, golden["int8"])
    # the committed inputs are labelled examples the model classifies correctly
    labels = np.load(d / "test_inputs.npz")["labels"]
    assert golden["predicted"].tolist() == labels.tolist()


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("name", NAMES)
def test_onnxruntime_agrees_with_the_golden_executor(name: str, level: str) -> None:
    """Top-1 agreement and output deviation on 200 generated inputs and on the committed
    ones, within the measured margins (ort_margins.SAMPLE_MARGINS)."""
    margin = SAMPLE_MARGINS[name]
    d = SAMPLES / name / "model"
    m = convert(d / "model.onnx", ConvertOptions()).model
    sess = session(name, level)
    key = sess.get_inputs()[0].name
    committed = np.load(d / "test_inputs.npz")["float"]
    for inputs in (load_data(name).agreement_inputs(), committed):
        refs = [sess.run(None, {key: x})[0] for x in inputs]
        gots = [executor.logits(m, x) for x in inputs]
        dev = deviation(refs, gots, m.tensors[m.output].scale)
        print(f"{name} {level} on {len(inputs)} inputs: {dev} (margin {margin})")
        assert dev.within(margin), f"{dev} outside {margin}"


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
