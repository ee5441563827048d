"""An int8 QDQ ONNX model read as a float graph with quantization annotations.

QDQ models carry every quantized tensor as ``x -> QuantizeLinear -> DequantizeLinear``
and every quantized constant as ``int8 initializer -> DequantizeLinear``. This module
removes those nodes and keeps what they say:

- a ``QuantizeLinear``/``DequantizeLinear`` pair on an activation becomes a scale and a
  zero point on the float value (``Graph.qscale``, ``Graph.qzero``); consumers read the
  float value directly. Activations may be int8 or uint8 with any zero point; the
  zero point is kept in the int8 domain (uint8 zero point - 128, see ``int8_zero_point``);
- a ``DequantizeLinear`` of an integer constant (or a ``QuantizeLinear`` of a float
  constant, as PyTorch exports weights) becomes a :class:`Const` holding both the
  integers and the per-tensor scale (or the per-channel scales and their axis);
- shape arithmetic on constants (``Shape`` of a static tensor, ``Gather``, ``Concat``,
  ``Unsqueeze``, ``Cast``, element-wise math, ...) is folded.

Weight zero points must be 0 (symmetric weights, onnxruntime's default); other
quantized types than int8/uint8 are refused here with a message naming the node.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tinytx.core.errors import TinytxError

MIN_OPSET = 13
MAX_OPSET = 23
MAX_ELEMENTS = 1 << 22  # largest tensor accepted (elements); MCU models are far smaller
MAX_MODEL_BYTES = 64 << 20
QDQ_OPS = ("QuantizeLinear", "DequantizeLinear")
LAYOUT_OPS = ("Identity", "Transpose", "Reshape", "Squeeze", "Unsqueeze", "Flatten")


class FrontendError(TinytxError):
    """The ONNX model cannot be converted; the message names the node, the op and what
    would be accepted."""


def node_error(node: Node, problem: str, accepted: str = "") -> FrontendError:
    tail = f"; {accepted}" if accepted else ""
    return FrontendError(f"node '{node.name}' ({node.op}): {problem}{tail}")


@dataclass
class Const:
    """A constant tensor. ``raw`` is the array as stored (integers stay integers, for
    shape arithmetic), ``value`` its real value (float64). A quantized constant (the
    input of a ``DequantizeLinear``) also has its integers ``q`` and its scale: ``scale``
    for one scale per tensor, ``scales`` and ``axis`` for one per channel."""

    raw: np.ndarray
    value: np.ndarray
    q: np.ndarray | None = None
    scale: float | None = None
    scales: np.ndarray | None = None
    axis: int | None = None
    zero_point: int = 0
    q_dtype: str = ""

    @classmethod
    def plain(cls, raw: np.ndarray, name: str = "") -> Const:
        raw = np.asarray(raw)
        if raw.dtype.kind == "f" and raw.size and not np.all(np.isfinite(raw)):
            raise FrontendError(
                f"constant '{name}' holds NaN or infinite values; accepted: finite constants"
            )
        value = raw.astype(np.float64) if raw.dtype.kind in "fiub" else raw
        return cls(raw, value)

    @property
    def per_channel(self) -> bool:
        return self.scales is not None and self.scales.size > 1

    @property
    def quantized(self) -> bool:
        return self.q is not None or self.scales is not None or self.zero_point != 0


@dataclass
class Node:
    name: str
    op: str
    inputs: list[str]
    outputs: list[str]
    attrs: dict[str, Any]
    domain: str = ""
    members: tuple[Node, ...] = ()  # fused nodes (pattern matches)
    data: Any = None  # pattern match payload

    def attr(self, key: str, default: Any = None) -> Any:
        return self.attrs.get(key, default)


@dataclass
class Graph:
    nodes: list[Node]
    consts: dict[str, Const]
    shapes: dict[str, tuple[int, ...]]
    qscale: dict[str, float]
    input: str
    input_shape: tuple[int, ...]
    output: str
    output_onnx: str
    opset: int
    sha256: str = ""
    graph_name: str = ""
    qzero: dict[str, int] = field(default_factory=dict)  # int8-domain zero points
    _consumers: dict[str, list[Node]] = field(default_factory=dict)

    def reindex(self) -> None:
        self._consumers = {}
        for n in self.nodes:
            for i in n.inputs:
                if i:
                    self._consumers.setdefault(i, []).append(n)

    def consumers(self, value: str) -> list[Node]:
        return self._consumers.get(value, [])

    def producer(self, value: str) -> Node | None:
        for n in self.nodes:
            if value in n.outputs:
                return n
        return None

    def shape(self, value: str, node: Node | None = None) -> tuple[int, ...]:
        if value in self.consts:
            return tuple(self.consts[value].value.shape)
        if value not in self.shapes:
            where = f"node '{node.name}' ({node.op}): " if node else ""
            raise FrontendError(
                f"{where}tensor '{value}' has no static shape; export the model with fixed "
                "input shapes (batch 1, no dynamic axes)"
            )
        return self.shapes[value]

    def is_const(self, value: str) -> bool:
        return value in self.consts

    def is_output(self, value: str) -> bool:
        return value == self.output


# ----------------------------------------------------------------------------- reading


def read_model_bytes(source: str | Path | bytes) -> tuple[bytes, str]:
    if isinstance(source, bytes):
        return source, "<bytes>"
    path = Path(source)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise FrontendError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if size > MAX_MODEL_BYTES:
        raise FrontendError(f"{path}: {size} bytes is larger than {MAX_MODEL_BYTES} (MCU models)")
    return path.read_bytes(), str(path)


def parse(data: bytes, where: str):
    """Parse and check the ModelProto; every failure is a FrontendError."""
    import onnx
    from google.protobuf.message import DecodeError

    if len(data) > MAX_MODEL_BYTES:
        raise FrontendError(f"{where}: {len(data)} bytes is larger than {MAX_MODEL_BYTES}")
    try:
        model = onnx.load_model_from_string(data)
    except (DecodeError, ValueError, RuntimeError, TypeError) as exc:
        raise FrontendError(f"{where}: not an ONNX model ({type(exc).__name__}: {exc})") from None
    if not model.HasField("graph"):
        raise FrontendError(f"{where}: not an ONNX model (no graph)")
    for init in model.graph.initializer:
        if init.data_location == onnx.TensorProto.EXTERNAL:
            raise FrontendError(
                f"{where}: initializer '{init.name}' uses external data; save the model as one file"
            )
    try:
        onnx.checker.check_model(model)
    except Exception as exc:  # onnx raises ValidationError and, for odd protos, others
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise FrontendError(f"{where}: invalid ONNX model: {msg[:300]}") from None
    return model


def _opset(model, where: str) -> int:
    version = None
    for imp in model.opset_import:
        if imp.domain in ("", "ai.onnx"):
            version = int(imp.version)
    if version is None or not MIN_OPSET <= version <= MAX_OPSET:
        raise FrontendError(
            f"{where}: ONNX opset {version} not supported; accepted: opset {MIN_OPSET} to "
            f"{MAX_OPSET} (export with opset_version=17)"
        )
    return version


def _static_shape(vi, where: str, what: str) -> tuple[int, ...]:
    t = vi.type
    if not t.HasField("tensor_type") or not t.tensor_type.HasField("shape"):
        raise FrontendError(f"{where}: {what} '{vi.name}' has no shape")
    dims = []
    for d in t.tensor_type.shape.dim:
        if d.HasField("dim_value") and d.dim_value > 0:
            dims.append(int(d.dim_value))
        else:
            label = d.dim_param or "?"
            raise FrontendError(
                f"{where}: {what} '{vi.name}' has a dynamic dimension '{label}'; accepted: "
                "static shapes only (export with a fixed batch of 1, no dynamic_axes)"
            )
    return tuple(dims)


def _tensor_array(tensor, where: str) -> np.ndarray:
    from onnx import numpy_helper

    n = math.prod(int(d) for d in tensor.dims) if len(tensor.dims) else 1
    if any(int(d) < 0 for d in tensor.dims) or n > MAX_ELEMENTS:
        raise FrontendError(f"{where}: constant '{tensor.name}' has an invalid or huge shape")
    try:
        arr = numpy_helper.to_array(tensor)
    except Exception as exc:
        raise FrontendError(f"{where}: constant '{tensor.name}' cannot be read: {exc}") from None
    if arr.size != n:
        raise FrontendError(f"{where}: constant '{tensor.name}' has {arr.size} values, not {n}")
    return np.array(arr)


def _attrs(node) -> dict[str, Any]:
    from onnx import helper

    out = {}
    for a in node.attribute:
        try:
            out[a.name] = helper.get_attribute_value(a)
        except Exception:
            out[a.name] = None
    return out


# ------------------------------------------------------------------- constant folding

_FOLD_ELEMENTWISE = {
    "Add": np.add,
    "Sub": np.subtract,
    "Mul": np.multiply,
    "Div": None,  # integer vs float division handled below
    "Sqrt": np.sqrt,
    "Neg": np.negative,
    "Reciprocal": lambda a: 1.0 / a,
    "Pow": np.power,
}


def _fold(node: Node, vals: list[np.ndarray | None], shapes: dict[str, tuple[int, ...]]):
    """numpy value of ``node`` when it only computes on constants, else None."""
    op = node.op
    if op == "Shape":
        src = node.inputs[0]
        if src not in shapes:
            return None
        shp = np.array(shapes[src], np.int64)
        start, end = node.attr("start", 0), node.attr("end", None)
        return shp[start:end]
    if any(v is None for v in vals):
        return None
    if op in ("Identity", "Cast"):
        if op == "Cast":
            from onnx import helper

            try:
                return vals[0].astype(helper.tensor_dtype_to_np_dtype(node.attr("to")))
            except Exception:
                return None
        return vals[0]
    if op == "Gather":
        return np.take(vals[0], vals[1].astype(np.int64), axis=node.attr("axis", 0))
    if op == "Unsqueeze":
        axes = node.attr("axes")
        axes = list(vals[1]) if axes is None and len(vals) > 1 else list(axes or [])
        out = vals[0]
        rank = out.ndim + len(axes)
        for a in sorted(int(a) % rank for a in axes):
            out = np.expand_dims(out, a)
        return out
    if op == "Squeeze":
        axes = node.attr("axes")
        axes = list(vals[1]) if axes is None and len(vals) > 1 else axes
        return np.squeeze(vals[0], axis=None if axes is None else tuple(int(a) for a in axes))
    if op == "Transpose":
        perm = node.attr("perm") or list(range(vals[0].ndim))[::-1]
        return np.transpose(vals[0], [int(p) for p in perm])
    if op == "Flatten":
        a = vals[0]
        axis = int(node.attr("axis", 1)) % max(a.ndim, 1) if a.ndim else 0
        return a.reshape(math.prod(a.shape[:axis]), -1)
    if op == "Concat":
        return np.concatenate(vals, axis=node.attr("axis", 0))
    if op == "Reshape":
        return vals[0].reshape(_reshape_target(vals[0].shape, vals[1], node))
    if op == "Div":
        a, b = vals
        if np.issubdtype(a.dtype, np.integer) and np.issubdtype(b.dtype, np.integer):
            return np.trunc(a / b).astype(a.dtype)
        return np.divide(a, b)
    if op in _FOLD_ELEMENTWISE:
        with np.errstate(all="ignore"):
            return _FOLD_ELEMENTWISE[op](*vals)
    if op == "Slice" and len(vals) >= 3:
        data, starts, ends = vals[0], vals[1], vals[2]
        axes = vals[3] if len(vals) > 3 else np.arange(len(starts))
        steps = vals[4] if len(vals) > 4 else np.ones(len(starts), np.int64)
        index = [slice(None)] * data.ndim
        for s, e, a, st in zip(starts, ends, axes, steps, strict=False):
            index[int(a)] = slice(int(s), int(e), int(st))
        return data[tuple(index)]
    return None


def _reshape_target(in_shape: tuple[int, ...], target: np.ndarray, node: Node) -> tuple[int, ...]:
    target = [int(t) for t in np.asarray(target).ravel()]
    allowzero = node.attr("allowzero", 0)
    dims = []
    for i, t in enumerate(target):
        if t == 0 and not allowzero:
            if i >= len(in_shape):
                raise node_error(node, f"shape {target} copies a dimension the input lacks")
            dims.append(in_shape[i])
        else:
            dims.append(t)
    total = math.prod(in_shape)
    if dims.count(-1) > 1 or any(d < -1 for d in dims):
        raise node_error(node, f"invalid target shape {target}")
    if -1 in dims:
        known = math.prod(d for d in dims if d != -1)
        if known <= 0 or total % known:
            raise node_error(node, f"cannot reshape {list(in_shape)} to {target}")
        dims[dims.index(-1)] = total // known
    if math.prod(dims) != total:
        raise node_error(node, f"cannot reshape {list(in_shape)} to {target}")
    return tuple(dims)


# --------------------------------------------------------------------------- QDQ folding


def _scalar_param(node: Node, consts: dict[str, Const], index: int, what: str) -> np.ndarray:
    if index >= len(node.inputs) or not node.inputs[index]:
        return np.zeros(1)
    name = node.inputs[index]
    if name not in consts:
        raise node_error(node, f"{what} '{name}' is not a constant", "accepted: constant scales")
    return np.asarray(consts[name].value).ravel()


def _layout_apply(node: Node, a: np.ndarray, vals: list[np.ndarray | None]) -> np.ndarray:
    """A layout op (``LAYOUT_OPS``) applied to a constant array."""
    op = node.op
    if op == "Identity":
        return a
    if op == "Transpose":
        perm = node.attr("perm") or list(range(a.ndim))[::-1]
        return np.transpose(a, [int(p) for p in perm])
    if op == "Flatten":
        axis = int(node.attr("axis", 1)) % max(a.ndim, 1) if a.ndim else 0
        return a.reshape(math.prod(a.shape[:axis]), -1)
    folded = _fold(node, [a, *vals[1:]], {})
    if folded is None:
        raise node_error(node, "cannot fold this layout change of a constant")
    return folded


def build_graph(model, where: str, sha256: str) -> Graph:
    """The float view of a parsed QDQ ModelProto (see the module docstring)."""
    import onnx

    opset = _opset(model, where)
    g = model.graph
    init_names = {i.name for i in g.initializer}
    consts: dict[str, Const] = {}
    for init in g.initializer:
        consts[init.name] = Const.plain(_tensor_array(init, where), init.name)
    inputs = [vi for vi in g.input if vi.name not in init_names]
    if len(inputs) != 1:
        raise FrontendError(
            f"{where}: the model has {len(inputs)} inputs; accepted: exactly one input tensor"
        )
    if len(g.output) != 1:
        raise FrontendError(
            f"{where}: the model has {len(g.output)} outputs; accepted: exactly one output"
        )
    in_vi = inputs[0]
    in_shape = _static_shape(in_vi, where, "input")
    if math.prod(in_shape) > MAX_ELEMENTS:
        raise FrontendError(f"{where}: input '{in_vi.name}' is too large ({list(in_shape)})")
    in_type = in_vi.type.tensor_type.elem_type
    if in_type not in (onnx.TensorProto.FLOAT, onnx.TensorProto.INT8):
        raise FrontendError(f"{where}: input '{in_vi.name}' must be float32 or int8")

    try:
        inferred = onnx.shape_inference.infer_shapes(model, strict_mode=False, data_prop=True)
    except Exception as exc:
        raise FrontendError(f"{where}: shape inference failed: {str(exc)[:200]}") from None
    shapes: dict[str, tuple[int, ...]] = {in_vi.name: in_shape}
    for vi in [*inferred.graph.value_info, *inferred.graph.output]:
        t = vi.type.tensor_type if vi.type.HasField("tensor_type") else None
        if t is None or not t.HasField("shape"):
            continue
        dims = [d.dim_value if d.HasField("dim_value") else -1 for d in t.shape.dim]
        if all(d > 0 for d in dims) and math.prod(dims) <= MAX_ELEMENTS:
            shapes[vi.name] = tuple(int(d) for d in dims)

    qscale: dict[str, float] = {}
    qzero: dict[str, int] = {}
    alias: dict[str, str] = {}
    q_of: dict[str, tuple[str, np.ndarray, np.ndarray, Node]] = {}
    nodes: list[Node] = []
    names_seen: dict[str, int] = {}
    input_value = in_vi.name

    def resolve(v: str) -> str:
        return alias.get(v, v)

    for index, proto in enumerate(g.node):
        base = proto.name or f"{proto.op_type}_{index}"
        if base in names_seen:
            names_seen[base] += 1
            base = f"{base}#{names_seen[base]}"
        else:
            names_seen[base] = 0
        node = Node(
            name=base,
            op=proto.op_type,
            inputs=[resolve(i) if i else "" for i in proto.input],
            outputs=list(proto.output),
            attrs=_attrs(proto),
            domain=proto.domain,
        )
        if node.domain not in ("", "ai.onnx"):
            raise node_error(
                node,
                f"operator of domain '{node.domain}' is not supported",
                "accepted: standard ONNX operators (export without contrib/custom ops)",
            )
        if not node.outputs:
            raise node_error(node, "has no output")
        if node.op == "Constant":
            consts[node.outputs[0]] = Const.plain(_constant_value(node, where), node.outputs[0])
            continue
        if node.op == "QuantizeLinear":
            _fold_quantize(node, consts, q_of, shapes)
            continue
        if node.op == "DequantizeLinear":
            target = _fold_dequantize(node, consts, q_of, qscale, qzero, input_value)
            if target is not None:
                alias[node.outputs[0]] = target
            elif node.inputs[0] == input_value:  # int8 model input
                input_value = node.outputs[0]
                shapes[input_value] = in_shape
            continue
        if _fold_node(node, consts, shapes):
            continue
        nodes.append(node)

    out_name = g.output[0].name
    out_value = resolve(out_name)
    if out_value in q_of:  # the graph ends in QuantizeLinear: int8 output
        x, scale, zp, qnode = q_of[out_value]
        z8 = _check_activation_qparams(qnode, scale, zp, consts)
        qscale.setdefault(x, float(scale[0]))
        qzero.setdefault(x, z8)
        out_value = x
    if out_value in consts:
        raise FrontendError(f"{where}: output '{out_name}' is a constant")
    if out_value not in qscale:
        raise FrontendError(
            f"{where}: output '{out_name}' is not quantized (no QuantizeLinear/DequantizeLinear "
            "on it); accepted: QDQ models whose every activation, output included, is int8"
        )
    for n in nodes:
        for i in n.inputs:
            if i in q_of:
                raise node_error(
                    n,
                    f"reads the int8 output of QuantizeLinear '{q_of[i][3].name}' directly",
                    "accepted: QuantizeLinear followed by DequantizeLinear",
                )
    if input_value not in qscale:
        raise FrontendError(
            f"{where}: input '{in_vi.name}' is not quantized (no QuantizeLinear on it); accepted: "
            "QDQ models from onnxruntime quantize_static or PyTorch quantized export"
        )
    graph = Graph(
        nodes=nodes,
        consts=consts,
        shapes=shapes,
        qscale=qscale,
        input=input_value,
        input_shape=in_shape,
        output=out_value,
        output_onnx=out_name,
        opset=opset,
        sha256=sha256,
        graph_name=g.name,
        qzero=qzero,
    )
    graph.reindex()
    return graph


def _fold_node(node: Node, consts: dict[str, Const], shapes) -> bool:
    """Fold ``node`` into a constant when it computes on constants only."""
    if len(node.outputs) != 1:
        return False
    first = consts.get(node.inputs[0]) if node.inputs and node.inputs[0] else None
    if node.op in LAYOUT_OPS and first is not None and first.quantized:
        vals = [consts[i].raw if i in consts else None for i in node.inputs]
        if any(v is None for v in vals[1:]):
            return False
        try:
            value = _layout_apply(node, first.value, vals)
            q = None if first.q is None else _layout_apply(node, first.q, vals)
        except FrontendError:
            raise
        except Exception as exc:
            raise node_error(node, f"cannot fold constant expression: {exc}") from None
        axis = first.axis
        if first.per_channel:
            axis = _layout_axis(node, first.value.shape, value.shape, first.axis)
        consts[node.outputs[0]] = Const(
            value, value, q, first.scale, first.scales, axis, first.zero_point, first.q_dtype
        )
        return True
    if node.op != "Shape" and not (node.inputs and all(i in consts for i in node.inputs if i)):
        return False
    if any(i in consts and consts[i].quantized for i in node.inputs if i):
        return False  # arithmetic on quantized constants stays a node (e.g. bias Add)
    vals = [consts[i].raw if i in consts else None for i in node.inputs]
    try:
        folded = _fold(node, vals, shapes)
    except FrontendError:
        raise
    except Exception as exc:
        raise node_error(node, f"cannot fold constant expression: {exc}") from None
    if folded is None:
        return False
    folded = np.asarray(folded)
    if folded.size > MAX_ELEMENTS:
        raise node_error(node, "constant expression is too large")
    try:
        consts[node.outputs[0]] = Const.plain(folded, node.outputs[0])
    except FrontendError as exc:
        raise node_error(node, str(exc)) from None
    return True


def _constant_value(node: Node, where: str) -> np.ndarray:
    from onnx import numpy_helper

    a = node.attrs
    if "value" in a and a["value"] is not None:
        try:
            arr = np.array(numpy_helper.to_array(a["value"]))
        except Exception as exc:
            raise node_error(node, f"unreadable constant: {exc}") from None
        if arr.size > MAX_ELEMENTS:
            raise node_error(node, "constant is too large")
        return arr
    for key, dtype in (
        ("value_float", np.float32),
        ("value_floats", np.float32),
        ("value_int", np.int64),
        ("value_ints", np.int64),
    ):
        if key in a and a[key] is not None:
            return np.array(a[key], dtype)
    raise node_error(
        node, "constant without a numeric value", "accepted: value/value_float(s)/int(s)"
    )


def _qdtype(node: Node, consts: dict[str, Const]) -> np.dtype:
    if len(node.inputs) >= 3 and node.inputs[2] in consts:
        return consts[node.inputs[2]].raw.dtype
    to = node.attr("output_dtype", 0)
    if to:
        from onnx import helper

        return np.dtype(helper.tensor_dtype_to_np_dtype(to))
    return np.dtype(np.uint8)


def _layout_axis(node: Node, before: tuple[int, ...], after: tuple[int, ...], axis) -> int:
    """Where the channel axis of a per-channel constant goes through a layout op: a
    Transpose permutes it; other layout ops must keep the shape."""
    if node.op == "Transpose":
        perm = [int(p) for p in node.attr("perm", list(range(len(before)))[::-1])]
        return perm.index(int(axis))
    if tuple(before) == tuple(after):
        return int(axis)
    raise node_error(
        node,
        "reshapes a per-channel quantized constant",
        "accepted: per-channel weights used as stored or transposed",
    )


def int8_zero_point(zp: int, dtype: np.dtype) -> int:
    """The zero point of a tensor's int8 codes: uint8 codes are handled as ``u8 - 128``."""
    return int(zp) - 128 if dtype == np.uint8 else int(zp)


def _check_activation_qparams(node: Node, scale: np.ndarray, zp: np.ndarray, consts) -> int:
    """Checks an activation's quantization; returns its int8-domain zero point."""
    if scale.size != 1:
        raise node_error(
            node,
            f"per-channel quantization of an activation ({scale.size} scales)",
            "accepted: one scale per activation tensor",
        )
    dtype = _qdtype(node, consts)
    if dtype not in (np.int8, np.uint8):
        raise node_error(
            node,
            f"activation quantized to {dtype}",
            "accepted: int8 or uint8 activations (onnxruntime: QuantType.QInt8/QUInt8)",
        )
    info = np.iinfo(dtype)
    z = int(zp.ravel()[0]) if zp.size else 0
    if not info.min <= z <= info.max:
        raise node_error(node, f"zero point {z} outside the {dtype} range")
    return int8_zero_point(z, dtype)


def _qparams(node: Node, consts: dict[str, Const]) -> tuple[np.ndarray, np.ndarray]:
    if len(node.inputs) < 2 or not node.inputs[0] or not node.inputs[1]:
        raise node_error(node, "needs an input and a scale")
    scale = _scalar_param(node, consts, 1, "scale")
    if scale.size == 0 or not np.all(np.isfinite(scale)) or np.any(scale <= 0):
        raise node_error(node, "scale must be positive and finite", "accepted: a positive scale")
    zp = _scalar_param(node, consts, 2, "zero point")
    if zp.size not in (1, scale.size) or not np.all(np.isfinite(zp)):
        raise node_error(node, "zero point and scale sizes differ")
    return scale, np.rint(zp).astype(np.int64)


def _fold_quantize(node: Node, consts, q_of, shapes) -> None:
    scale, zp = _qparams(node, consts)
    x = node.inputs[0]
    if x in consts:  # a float constant quantized offline (PyTorch exports weights this way)
        dtype = _qdtype(node, consts)
        if dtype.kind not in "iu" or dtype.itemsize > 4:
            raise node_error(node, f"unsupported quantized type {dtype}")
        value = np.asarray(consts[x].value, np.float64)
        axis = int(node.attr("axis", 1))
        if scale.size > 1:
            if not (-value.ndim <= axis < value.ndim) or value.shape[axis] != scale.size:
                raise node_error(node, f"{scale.size} scales do not match axis {axis}")
            axis %= value.ndim
        info = np.iinfo(dtype)
        s = (
            scale
            if scale.size == 1
            else scale.reshape([-1 if a == axis else 1 for a in range(value.ndim)])
        )
        z = zp if zp.size == 1 else zp.reshape(s.shape)
        q = np.clip(np.rint(value / s) + z, info.min, info.max).astype(dtype)
        consts[node.outputs[0]] = Const.plain(q)
        return
    q_of[node.outputs[0]] = (x, scale, zp, node)
    if x in shapes:
        shapes[node.outputs[0]] = shapes[x]


def _fold_dequantize(node: Node, consts, q_of, qscale, qzero, input_value: str) -> str | None:
    """Fold one DequantizeLinear; returns the float value its output stands for (QDQ pair
    on an activation), or None when the output became a constant or is the int8 input."""
    scale, zp = _qparams(node, consts)
    src = node.inputs[0]
    out = node.outputs[0]
    if src in consts:  # quantized constant
        raw = consts[src].raw
        if raw.dtype.kind not in "iu":
            raise node_error(node, f"dequantizes a {raw.dtype} constant", "accepted: integers")
        qi = raw.astype(np.int64)
        if scale.size > 1:
            axis = int(node.attr("axis", 1))
            if not (-qi.ndim <= axis < qi.ndim) or qi.shape[axis] != scale.size:
                raise node_error(node, f"{scale.size} scales do not match axis {axis}")
            axis %= qi.ndim
            shape = [-1 if a == axis else 1 for a in range(qi.ndim)]
            z = zp.reshape(shape) if zp.size > 1 else zp[0]
            value = (qi - z) * scale.reshape(shape)
            consts[out] = Const(
                value,
                value,
                qi if not np.any(zp) else None,
                None,
                scale.astype(np.float64),
                axis,
                int(np.max(np.abs(zp))),
                str(raw.dtype),
            )
            return None
        z = int(zp[0])
        value = (qi - z) * float(scale[0])
        consts[out] = Const(
            value, value, qi if z == 0 else None, float(scale[0]), None, None, z, str(raw.dtype)
        )
        return None
    if src in q_of:
        x, qs, qz, qnode = q_of[src]
        z_q = _check_activation_qparams(qnode, qs, qz, consts)
        z8 = _check_activation_qparams(node, scale, zp, consts)
        if not math.isclose(float(qs[0]), float(scale[0]), rel_tol=1e-6) or z_q != z8:
            raise node_error(
                node,
                f"scale {float(scale[0]):g} / zero point differ from its QuantizeLinear's "
                f"{float(qs[0]):g}",
                "accepted: QuantizeLinear/DequantizeLinear pairs with one scale and zero point",
            )
        old_z = qzero.get(x)
        if old_z is not None and old_z != z8:
            raise node_error(
                node,
                f"tensor '{x}' is quantized twice with different zero points ({old_z}, {z8})",
                "accepted: one zero point per activation tensor",
            )
        qzero[x] = z8
        old = qscale.get(x)
        if old is not None and not math.isclose(old, float(scale[0]), rel_tol=1e-6):
            raise node_error(
                node,
                f"tensor '{x}' is quantized twice with different scales ({old:g}, "
                f"{float(scale[0]):g})",
                "accepted: one scale per activation tensor",
            )
        qscale[x] = float(scale[0])
        return x
    if src == input_value:  # the model takes int8 input
        if scale.size != 1:
            raise node_error(node, "the int8 input needs one scale")
        qscale[out] = float(scale[0])
        qzero[out] = int(zp.ravel()[0]) if zp.size else 0
        return None
    raise node_error(
        node,
        f"dequantizes '{src}', which is neither a constant nor the output of QuantizeLinear",
        "accepted: QDQ pairs on activations and DequantizeLinear on integer constants",
    )
