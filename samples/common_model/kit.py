"""Train, export, quantize and package one sample model (used by samples/*/model/make_model.py).

Steps, all seeded (same bytes on every run on the same machine and package versions):

1. synthetic train / test / calibration sets from the sample's numpy generator;
2. train the PyTorch model on CPU (Adam, cross-entropy, a few epochs);
3. export float ONNX (opset 17, batch 1, fixed shapes, constant folding);
4. quantize with onnxruntime ``quantize_static``: QDQ, int8 activations and weights,
   per-tensor, symmetric (zero point 0), MinMax calibration on synthetic data; the
   GELU's Div/Erf/Add/Mul/Mul nodes stay float between the DQ and Q around them
   (one "GELU island" the frontend maps to the integer GELU);
5. write ``model.onnx`` (QDQ), ``test_inputs.npz``, ``ort_outputs.npz`` and
   ``metrics.json`` next to the script (the float model goes to
   ``build/samples/<name>/model_float.onnx``, not committed).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
from encoder import set_batch
from onnx import numpy_helper, shape_inference
from onnxruntime.quantization import (
    CalibrationDataReader,
    QuantFormat,
    QuantType,
    quantize_static,
)
from torch import nn

OPSET = 17
CALIB_SAMPLES = 200


def as_float32(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(x, dtype=np.float32)


@dataclass(frozen=True)
class SampleSpec:
    name: str
    out_dir: Path
    classes: tuple[str, ...]
    make_model: Callable[[], nn.Module]
    # (count, seed) -> (float32 inputs [count, *sample_shape], int64 labels [count])
    make_data: Callable[[int, int], tuple[np.ndarray, np.ndarray]]
    train_seed: int
    test_seed: int
    calib_seed: int
    train_count: int
    test_count: int = 1000
    epochs: int = 10
    batch: int = 32
    lr: float = 2e-3
    torch_seed: int = 0
    test_inputs: int = 6
    # numpy batch [B, *sample_shape] -> the model's input tensor for that batch
    to_model_input: Callable[[np.ndarray], np.ndarray] = as_float32


def _batches(x: np.ndarray, y: np.ndarray, size: int, rng: np.random.Generator):
    order = rng.permutation(len(x))
    for i in range(0, len(x) - size + 1, size):  # drop the last partial batch
        idx = order[i : i + size]
        yield x[idx], y[idx]


def _logits(model: nn.Module, spec: SampleSpec, x: np.ndarray, batch: int = 50) -> np.ndarray:
    model.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(x), batch):
            chunk = x[i : i + batch]
            set_batch(model, len(chunk))
            out.append(model(torch.from_numpy(spec.to_model_input(chunk))).numpy())
    return np.concatenate(out)


def train(spec: SampleSpec, model: nn.Module, x: np.ndarray, y: np.ndarray) -> list[float]:
    opt = torch.optim.AdamW(model.parameters(), lr=spec.lr, weight_decay=1e-4)
    steps = spec.epochs * (len(x) // spec.batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, spec.lr, total_steps=steps)
    rng = np.random.default_rng(spec.train_seed + 1)
    losses = []
    for epoch in range(spec.epochs):
        model.train()
        set_batch(model, spec.batch)
        total, n = 0.0, 0
        for xb, yb in _batches(x, y, spec.batch, rng):
            logits = model(torch.from_numpy(spec.to_model_input(xb)))
            loss = nn.functional.cross_entropy(logits, torch.from_numpy(yb))
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(xb)
            n += len(xb)
        losses.append(total / n)
        print(f"{spec.name}: epoch {epoch + 1}/{spec.epochs} loss {losses[-1]:.4f}", flush=True)
    return losses


class _Reader(CalibrationDataReader):
    def __init__(self, name: str, inputs: list[np.ndarray]) -> None:
        self._it = iter([{name: a} for a in inputs])

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._it, None)


def gelu_nodes(model: onnx.ModelProto) -> list[str]:
    """Names of the Div -> Erf -> Add -> Mul -> Mul nodes of every erf-form GELU."""
    consumers: dict[str, list[onnx.NodeProto]] = {}
    producer: dict[str, onnx.NodeProto] = {}
    for n in model.graph.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)
        for o in n.output:
            producer[o] = n
    names = []
    for erf in (n for n in model.graph.node if n.op_type == "Erf"):
        chain = [producer[erf.input[0]], erf]
        node = erf
        for op in ("Add", "Mul", "Mul"):
            (node,) = (c for c in consumers[node.output[0]] if c.op_type == op)
            chain.append(node)
        if [c.op_type for c in chain] != ["Div", "Erf", "Add", "Mul", "Mul"]:
            raise RuntimeError(f"unexpected GELU pattern around {erf.name}")
        names += [c.name for c in chain]
    return names


def export_float(model: nn.Module, example: np.ndarray, path: Path) -> None:
    model.eval()
    set_batch(model, 1)
    torch.onnx.export(
        model,
        (torch.from_numpy(example),),
        str(path),
        opset_version=OPSET,
        input_names=["input"],
        output_names=["logits"],
        do_constant_folding=True,
        dynamo=False,
    )
    m = onnx.load(str(path))
    onnx.checker.check_model(m)


def quantize(float_path: Path, q_path: Path, calib: list[np.ndarray]) -> None:
    exclude = gelu_nodes(onnx.load(str(float_path)))
    quantize_static(
        str(float_path),
        str(q_path),
        _Reader("input", calib),
        quant_format=QuantFormat.QDQ,
        activation_type=QuantType.QInt8,
        weight_type=QuantType.QInt8,
        per_channel=False,
        nodes_to_exclude=exclude,
        extra_options={"ActivationSymmetric": True, "WeightSymmetric": True},
    )


def session(path: Path) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def run_all(sess: ort.InferenceSession, inputs: list[np.ndarray]) -> np.ndarray:
    return np.stack([sess.run(None, {"input": a})[0].reshape(-1) for a in inputs])


def io_scales(q_model: onnx.ModelProto) -> tuple[float, float]:
    """Scales of the input QuantizeLinear and of the output's QuantizeLinear."""
    init = {i.name: numpy_helper.to_array(i) for i in q_model.graph.initializer}
    s_in = s_out = None
    out_name = q_model.graph.output[0].name
    for n in q_model.graph.node:
        if n.op_type == "QuantizeLinear" and n.input[0] == "input":
            s_in = float(init[n.input[1]])
        if n.op_type == "DequantizeLinear" and n.output[0] == out_name:
            s_out = float(init[n.input[1]])
    if s_in is None or s_out is None:
        raise RuntimeError("QDQ model: input QuantizeLinear or output DequantizeLinear missing")
    return s_in, s_out


def macs_and_params(float_model: onnx.ModelProto) -> tuple[int, int]:
    m = shape_inference.infer_shapes(float_model)
    shapes = {}
    for vi in list(m.graph.value_info) + list(m.graph.input) + list(m.graph.output):
        shapes[vi.name] = [d.dim_value for d in vi.type.tensor_type.shape.dim]
    for i in m.graph.initializer:
        shapes[i.name] = list(i.dims)
    macs = 0
    for n in m.graph.node:
        if n.op_type == "Conv":
            w = shapes[n.input[1]]
            macs += int(np.prod(shapes[n.output[0]])) * int(np.prod(w[1:]))
        elif n.op_type in ("MatMul", "Gemm"):
            macs += int(np.prod(shapes[n.output[0]])) * shapes[n.input[0]][-1]
    params = sum(
        int(np.prod(i.dims)) for i in m.graph.initializer if i.data_type == onnx.TensorProto.FLOAT
    )
    return macs, params


@dataclass(frozen=True)
class DataSets:
    """The seeded synthetic sets of one sample (train, held-out test, calibration)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    x_cal: np.ndarray


def datasets(spec: SampleSpec) -> DataSets:
    x_train, y_train = spec.make_data(spec.train_count, spec.train_seed)
    x_test, y_test = spec.make_data(spec.test_count, spec.test_seed)
    x_cal, _ = spec.make_data(CALIB_SAMPLES, spec.calib_seed)
    return DataSets(x_train, y_train, x_test, y_test, x_cal)


def deterministic_torch(spec: SampleSpec) -> None:
    torch.manual_seed(spec.torch_seed)
    torch.set_num_threads(1)  # deterministic float reductions -> reproducible weights
    torch.use_deterministic_algorithms(True)


def accuracy(model: nn.Module, spec: SampleSpec, x: np.ndarray, y: np.ndarray) -> float:
    return float((_logits(model, spec, x).argmax(1) == y).mean())


def work_dir(spec: SampleSpec) -> Path:
    """build/samples/<name> of the checkout (float exports; not committed)."""
    work = spec.out_dir.parents[2] / "build" / "samples" / spec.name
    work.mkdir(parents=True, exist_ok=True)
    return work


def package(
    spec: SampleSpec, model: nn.Module, data: DataSets, out: Path, float_path: Path
) -> dict:
    """Export ``model`` to ``float_path``, quantize it to ``out/model.onnx`` and write
    ``test_inputs.npz`` and ``ort_outputs.npz`` there; returns the measured figures."""
    q_path = out / "model.onnx"
    x_test, y_test = data.x_test, data.y_test
    one = [spec.to_model_input(x_test[i : i + 1]) for i in range(len(x_test))]
    export_float(model, one[0], float_path)
    calib = [spec.to_model_input(data.x_cal[i : i + 1]) for i in range(len(data.x_cal))]
    quantize(float_path, q_path, calib)

    f_logits = run_all(session(float_path), one)
    q_logits = run_all(session(q_path), one)
    q_model = onnx.load(str(q_path))
    s_in, s_out = io_scales(q_model)

    # round robin over the classes: class i % C, its (i // C)-th test sample
    n_cls = len(spec.classes)
    picks = [int(np.flatnonzero(y_test == i % n_cls)[i // n_cls]) for i in range(spec.test_inputs)]
    f_in = np.stack([one[i] for i in picks]).astype(np.float32)
    q_in = np.clip(np.rint(f_in / np.float32(s_in)), -128, 127).astype(np.int8)
    np.savez_compressed(
        out / "test_inputs.npz",
        float=f_in,
        int8=q_in,
        input_scale=np.float32(s_in),
        labels=y_test[picks],
        test_index=np.array(picks),
    )
    logits = q_logits[picks].astype(np.float32)
    np.savez_compressed(
        out / "ort_outputs.npz",
        logits=logits,
        int8=np.clip(np.rint(logits / np.float32(s_out)), -128, 127).astype(np.int8),
        output_scale=np.float32(s_out),
        predicted=logits.argmax(1),
    )
    macs, params = macs_and_params(onnx.load(str(float_path)))
    return {
        "accuracy_float_onnxruntime": float((f_logits.argmax(1) == y_test).mean()),
        "accuracy_qdq_onnxruntime": float((q_logits.argmax(1) == y_test).mean()),
        "top1_agreement_float_vs_qdq": float((f_logits.argmax(1) == q_logits.argmax(1)).mean()),
        "params": params,
        "macs": macs,
        "input_shape": list(one[0].shape),
        "input_scale": s_in,
        "output_scale": s_out,
        "model_onnx_bytes": q_path.stat().st_size,
    }


def versions() -> dict[str, str]:
    return {"torch": torch.__version__, "onnx": onnx.__version__, "onnxruntime": ort.__version__}


def train_dense(spec: SampleSpec, data: DataSets) -> tuple[nn.Module, list[float]]:
    """The sample's float model, trained from the seeded initialization."""
    deterministic_torch(spec)
    model = spec.make_model()
    return model, train(spec, model, data.x_train, data.y_train)


def build(spec: SampleSpec) -> dict:
    t0 = time.time()
    data = datasets(spec)
    model, losses = train_dense(spec, data)
    float_acc = accuracy(model, spec, data.x_test, data.y_test)
    t_train = time.time() - t0

    figures = package(spec, model, data, spec.out_dir, work_dir(spec) / "model_float.onnx")
    metrics = {
        "sample": spec.name,
        "classes": list(spec.classes),
        "data": "synthetic (see data.py)",
        "train_count": spec.train_count,
        "test_count": spec.test_count,
        "seeds": {
            "train": spec.train_seed,
            "test": spec.test_seed,
            "calibration": spec.calib_seed,
            "torch": spec.torch_seed,
        },
        "epochs": spec.epochs,
        "final_train_loss": round(losses[-1], 4),
        "accuracy_float_torch": float_acc,
        **figures,
        "versions": versions(),
    }
    (spec.out_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    print(json.dumps({k: metrics[k] for k in list(metrics)[9:17]}, indent=2))
    print(f"{spec.name}: trained in {t_train:.0f} s")
    return metrics
