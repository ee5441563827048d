"""The committed sample models (samples/<name>/model): consistent, symmetric int8 QDQ, and
their data generators importable without torch and deterministic.

References: golden_outputs.npz (the golden executor's int8 output of every committed
test input) is exact and checked bit for bit; onnxruntime is compared with it as a
statistic within the margins of ort_margins.py (its int8 kernels differ per CPU).
The FWSA calibration inputs a sample ships (calibration.npz, EEG) reproduce from its
generator and every conversion of the sample takes them.
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

from tinytx.core import executor, ir
from tinytx.core.codegen.project import CALIBRATION, ConvertOptions, convert

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
NAMES = ["radar", "eeg", "ecg"]
FWSA_NAMES = ["eeg"]  # the samples that ship FWSA calibration inputs
sys.path.insert(0, str(SAMPLES / "common_model"))
from calibration import FWSA_SAMPLES, calibration_set  # noqa: E402


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


def fused(m: ir.Model) -> bool:
    return any(isinstance(op, ir.Mhsa) and op.fwsa is not None for op in m.ops)


def run_inputs(m: ir.Model, inputs: np.ndarray) -> np.ndarray:
    return np.stack([executor.run(m, m.input_spec.to_memory(x)) for x in inputs])


@pytest.mark.parametrize("name", NAMES)
def test_golden_outputs_reproduce(name: str) -> None:
    """The exact reference: the golden executor gives the committed bytes (any CPU), with
    FWSA (`int8`) and without (`int8_unfused`) for a sample that ships calibration inputs."""
    d = SAMPLES / name / "model"
    golden = np.load(d / "golden_outputs.npz")
    inputs = np.load(d / "test_inputs.npz")["int8"]
    labels = np.load(d / "test_inputs.npz")["labels"]
    ships = (d / CALIBRATION).is_file()
    assert ships == (name in FWSA_NAMES) and ("int8_unfused" in golden.files) == ships
    modes = {"on": "int8", "off": "int8_unfused"} if ships else {"off": "int8"}
    for fwsa, key in modes.items():
        m = convert(d / "model.onnx", ConvertOptions(fwsa=fwsa)).planned
        assert fused(m) == (fwsa == "on")
        assert len(inputs) >= 4 and golden[key].shape == (len(inputs), m.tensors[m.output].size)
        np.testing.assert_array_equal(
            run_inputs(m, inputs),
            golden[key],
            err_msg="the golden executor changed its outputs; if on purpose, rewrite them "
            "with samples/common_model/golden_outputs.py",
        )
        # the committed inputs are labelled examples the model classifies correctly
        assert golden[key].argmax(1).tolist() == labels.tolist()
    assert golden["predicted"].tolist() == golden["int8"].argmax(1).tolist()
    # the test data `tinytx convert` writes for the firmware carries the same bytes: the
    # fused reference when the schedule chooser takes FWSA (the sample's calibration
    # inputs make it a candidate), else the unfused one
    conv = convert(d / "model.onnx", ConvertOptions())
    assert conv.test is not None
    key = "int8" if fused(conv.planned) or not ships else "int8_unfused"
    np.testing.assert_array_equal(conv.test.expected, golden[key])


@pytest.mark.parametrize("name", FWSA_NAMES)
def test_calibration_inputs_reproduce_and_every_conversion_takes_them(
    name: str, tmp_path: Path
) -> None:
    d = SAMPLES / name / "model"
    assert list(FWSA_SAMPLES) == FWSA_NAMES
    want = calibration_set(name)
    with np.load(d / CALIBRATION) as got:
        assert sorted(got.files) == sorted(want)
        for k, v in want.items():
            np.testing.assert_array_equal(got[k], v, err_msg=f"{CALIBRATION} {k}: rewrite it "
                                          "with samples/common_model/calibration.py")  # fmt: skip
        q = got["int8"]
    metrics = json.loads((d / "metrics.json").read_text())
    assert int(want["seed"]) == metrics["seeds"]["calibration"] != metrics["seeds"]["test"]
    assert 16 <= len(q) <= 64 and sorted(set(want["labels"].tolist())) == [0, 1]
    test = np.load(d / "test_inputs.npz")["int8"]
    assert q.shape[1:] == test.shape[1:]
    assert not any(np.array_equal(a, b) for a in q for b in test)  # not the test inputs
    # every conversion of the sample (convert, run, build, the Zephyr CMake conversion all
    # call convert) takes them from next to the model; --fwsa off takes none
    conv = convert(d / "model.onnx", ConvertOptions(board="nucleo_l476rg"))
    assert conv.plan.calibration == f"samples/{name}/model/{CALIBRATION}"
    assert conv.plan.choice is not None
    assert any(c.fused for c in conv.plan.choice.candidates)
    assert f"samples/{name}/model/{CALIBRATION}" in "\n".join(conv.summary())
    # the sample build's conversion (`tinytx build`, the Zephyr CMake function) as well
    from tinytx.toolchain.appbuild.samples import GenerateOptions, find_sample, generate

    generate(find_sample(name), tmp_path, GenerateOptions(board="nucleo_l476rg", kernels="arm"))
    assert f"samples/{name}/model/{CALIBRATION}" in (tmp_path / "plan.txt").read_text()
    off = convert(d / "model.onnx", ConvertOptions(board="nucleo_l476rg", fwsa="off"))
    assert off.plan.calibration is None and not fused(off.planned)
    assert off.plan.choice is not None
    assert not any(c.fused for c in off.plan.choice.candidates)


@pytest.mark.parametrize("name", FWSA_NAMES)
def test_fwsa_keeps_the_golden_model_accuracy(name: str) -> None:
    """metrics.json: the golden model's accuracy on the 1,000 held-out windows with FWSA
    (samples/common_model/golden_accuracy.py) is within 0.5 points of the unfused one;
    the fused and unfused models agree on a fresh batch."""
    d = SAMPLES / name / "model"
    metrics = json.loads((d / "metrics.json").read_text())
    assert metrics["accuracy_int8_tinytx_fwsa"] >= metrics["accuracy_int8_tinytx"] - 0.005
    assert metrics["accuracy_int8_tinytx"] >= metrics["accuracy_qdq_onnxruntime"] - 0.01
    x, labels = load_data(name).make_dataset(60, metrics["seeds"]["test"] + 11)
    preds = {}
    for fwsa in ("on", "off"):
        m = convert(d / "model.onnx", ConvertOptions(fwsa=fwsa)).planned
        shape = m.input_spec.onnx_shape
        preds[fwsa] = np.array(
            [executor.run(m, executor.quantize_input(m, a.reshape(shape))).argmax() for a in x]
        )
    assert np.mean(preds["on"] == preds["off"]) >= 0.95
    assert np.mean(preds["on"] == labels) >= 0.85


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
