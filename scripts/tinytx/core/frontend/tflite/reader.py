"""Read a ``.tflite`` flatbuffer (schema of the ``tflite`` package) into plain dataclasses.

Only the first subgraph is read (a model with control flow has more and is refused).
Constant tensors carry their data as numpy arrays; every tensor carries its
quantization (scales, zero points, quantized dimension). Nothing here interprets an op:
see :mod:`.lower`.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tflite

from tinytx.core.frontend.onnx.graph import FrontendError

TYPES: dict[int, tuple[str, type[np.generic] | None]] = {
    tflite.TensorType.FLOAT32: ("float32", np.float32),
    tflite.TensorType.FLOAT16: ("float16", np.float16),
    tflite.TensorType.INT32: ("int32", np.int32),
    tflite.TensorType.UINT8: ("uint8", np.uint8),
    tflite.TensorType.INT64: ("int64", np.int64),
    tflite.TensorType.BOOL: ("bool", np.bool_),
    tflite.TensorType.INT16: ("int16", np.int16),
    tflite.TensorType.INT8: ("int8", np.int8),
    tflite.TensorType.FLOAT64: ("float64", np.float64),
}

_BUILTIN_NAMES = {
    v: k
    for k, v in vars(tflite.BuiltinOperator).items()
    if not k.startswith("_") and isinstance(v, int)
}
_OPTION_NAMES = {
    v: k
    for k, v in vars(tflite.BuiltinOptions).items()
    if not k.startswith("_") and isinstance(v, int)
}
_SKIP = ("Init", "GetRootAs")


@dataclass(frozen=True)
class TflTensor:
    index: int
    name: str
    shape: tuple[int, ...]
    signature: tuple[int, ...]  # -1 marks a dynamic dimension
    dtype: str
    scales: np.ndarray  # float64, empty when not quantized
    zero_points: np.ndarray  # int64
    quantized_dimension: int
    data: np.ndarray | None  # constant tensors only

    @property
    def quantized(self) -> bool:
        return self.scales.size > 0

    @property
    def scale(self) -> float:
        return float(self.scales[0])

    @property
    def zero_point(self) -> int:
        return int(self.zero_points[0]) if self.zero_points.size else 0


@dataclass(frozen=True)
class TflOp:
    index: int
    name: str  # builtin name, e.g. FULLY_CONNECTED
    inputs: tuple[int, ...]  # -1: optional input left out
    outputs: tuple[int, ...]
    options: dict[str, object]

    def opt(self, key: str, default: object = None) -> object:
        return self.options.get(key, default)


@dataclass(frozen=True)
class TflGraph:
    where: str
    tensors: tuple[TflTensor, ...]
    ops: tuple[TflOp, ...]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]


def read_bytes(source: str | Path | bytes) -> tuple[bytes, str]:
    if isinstance(source, bytes):
        return source, "<bytes>"
    path = Path(source)
    try:
        return path.read_bytes(), str(source)
    except OSError as exc:
        raise FrontendError(f"{source}: cannot read: {exc.strerror or exc}") from None


def _options(op: tflite.Operator) -> dict[str, object]:
    kind = op.BuiltinOptionsType()
    table = op.BuiltinOptions()
    name = _OPTION_NAMES.get(kind, "NONE")
    cls = getattr(tflite, name, None)
    if table is None or cls is None or not inspect.isclass(cls):
        return {}
    obj = cls()
    obj.Init(table.Bytes, table.Pos)
    out: dict[str, object] = {}
    for attr, fn in inspect.getmembers(obj, inspect.ismethod):
        if attr.startswith(_SKIP) or attr.endswith(("AsNumpy", "IsNone", "Length")):
            continue
        if len(inspect.signature(fn).parameters) == 0:
            out[attr] = fn()
    return out


def _array(
    model: tflite.Model, t: tflite.Tensor, dtype, shape: tuple[int, ...]
) -> np.ndarray | None:
    buf = model.Buffers(t.Buffer())
    if buf is None:
        return None
    if buf.Offset() > 1:  # large models keep data outside the flatbuffer
        raise FrontendError("buffers stored outside the flatbuffer (> 2 GB models)")
    if buf.DataLength() == 0:
        return None
    raw = buf.DataAsNumpy().tobytes()
    if dtype is None:
        return None
    arr = np.frombuffer(raw, dtype=dtype)
    if arr.size != int(np.prod(shape, dtype=np.int64)):
        raise FrontendError(f"tensor '{t.Name().decode(errors='replace')}': data size differs")
    return arr.reshape(shape)


def _tensor(model: tflite.Model, t: tflite.Tensor, index: int) -> TflTensor:
    name = (t.Name() or b"").decode(errors="replace")
    shape = tuple(int(d) for d in t.ShapeAsNumpy()) if t.ShapeLength() else ()
    sig = tuple(int(d) for d in t.ShapeSignatureAsNumpy()) if t.ShapeSignatureLength() else shape
    dtype, np_type = TYPES.get(t.Type(), (f"type {t.Type()}", None))
    q = t.Quantization()
    scales = np.zeros(0, np.float64)
    zeros = np.zeros(0, np.int64)
    qdim = 0
    if q is not None and q.ScaleLength():
        scales = np.asarray(q.ScaleAsNumpy(), np.float64)
        zeros = np.asarray(q.ZeroPointAsNumpy(), np.int64) if q.ZeroPointLength() else zeros
        qdim = int(q.QuantizedDimension())
    data = _array(model, t, np_type, shape)
    return TflTensor(index, name, shape, sig, dtype, scales, zeros, qdim, data)


def read_tflite(data: bytes, where: str) -> TflGraph:
    """The first subgraph of a TFLite model; one line (FrontendError) when malformed."""
    if len(data) < 8 or data[4:8] != b"TFL3":
        raise FrontendError(f"{where}: not a TFLite flatbuffer (no 'TFL3' identifier)")
    try:
        model = tflite.Model.GetRootAsModel(data, 0)
        if model.SubgraphsLength() != 1:
            raise FrontendError(
                f"{where}: {model.SubgraphsLength()} subgraphs; accepted: one (no control flow)"
            )
        sg = model.Subgraphs(0)
        codes = []
        for i in range(model.OperatorCodesLength()):
            c = model.OperatorCodes(i)
            code = max(int(c.BuiltinCode()), int(c.DeprecatedBuiltinCode()))
            name = _BUILTIN_NAMES.get(code, f"BUILTIN_{code}")
            if code == tflite.BuiltinOperator.CUSTOM:
                name = f"CUSTOM {(c.CustomCode() or b'').decode(errors='replace')}"
            codes.append(name)
        tensors = tuple(_tensor(model, sg.Tensors(i), i) for i in range(sg.TensorsLength()))
        ops = []
        for i in range(sg.OperatorsLength()):
            op = sg.Operators(i)
            ins = tuple(int(v) for v in op.InputsAsNumpy()) if op.InputsLength() else ()
            outs = tuple(int(v) for v in op.OutputsAsNumpy()) if op.OutputsLength() else ()
            if any(v >= len(tensors) for v in (*ins, *outs)):
                raise FrontendError(f"{where}: operator {i}: tensor index out of range")
            ops.append(TflOp(i, codes[op.OpcodeIndex()], ins, outs, _options(op)))
        inputs = tuple(int(v) for v in sg.InputsAsNumpy())
        outputs = tuple(int(v) for v in sg.OutputsAsNumpy())
    except FrontendError as exc:
        msg = str(exc)
        raise FrontendError(msg if msg.startswith(f"{where}: ") else f"{where}: {msg}") from None
    except Exception as exc:  # a corrupt flatbuffer fails anywhere in the generated code
        raise FrontendError(
            f"{where}: malformed TFLite flatbuffer ({type(exc).__name__})"
        ) from None
    return TflGraph(where, tensors, tuple(ops), inputs, outputs)
