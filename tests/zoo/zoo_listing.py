"""Op counts and full node listings of an ONNX model (onnx + numpy only)."""

from __future__ import annotations

from collections import Counter

import numpy as np
import onnx
from onnx import helper, numpy_helper, shape_inference

_DTYPES = {
    onnx.TensorProto.FLOAT: "f32",
    onnx.TensorProto.INT8: "i8",
    onnx.TensorProto.UINT8: "u8",
    onnx.TensorProto.INT32: "i32",
    onnx.TensorProto.INT64: "i64",
    onnx.TensorProto.BOOL: "bool",
}


def op_counts(model: onnx.ModelProto) -> dict[str, int]:
    counts = Counter(n.op_type for n in model.graph.node)
    return dict(sorted(counts.items()))


def _short(a: np.ndarray) -> str:
    dt = _DTYPES.get(helper.np_dtype_to_tensor_dtype(a.dtype), str(a.dtype))
    if a.size <= 4:
        return f"{dt}:{np.round(a, 8).tolist()}"
    return f"{dt}{list(a.shape)}"


def elem_types(model: onnx.ModelProto) -> dict[str, int]:
    """Element type of every value onnx shape inference can type."""
    g = shape_inference.infer_shapes(model).graph
    return {vi.name: vi.type.tensor_type.elem_type for vi in [*g.input, *g.value_info, *g.output]}


def with_all_outputs(model: onnx.ModelProto) -> onnx.ModelProto:
    """A copy whose graph outputs are every typed node output (to read real shapes)."""
    m = onnx.ModelProto()
    m.CopyFrom(model)
    types = elem_types(model)
    have = {o.name for o in m.graph.output}
    for n in m.graph.node:
        for o in n.output:
            if o and o not in have and types.get(o):
                m.graph.output.append(helper.make_tensor_value_info(o, types[o], None))
                have.add(o)
    return m


def node_listing(
    model: onnx.ModelProto, observed: dict[str, np.ndarray] | None = None
) -> list[str]:
    """One line per node: op, name, attributes, inputs and outputs with dtype[shape].

    Shapes come from ``observed`` (values from one real run, see ``with_all_outputs``)
    where given, else from onnx shape inference."""
    m = shape_inference.infer_shapes(model)
    g = m.graph
    types: dict[str, str] = {}
    for vi in [*g.input, *g.value_info, *g.output]:
        t = vi.type.tensor_type
        dims = [d.dim_value if d.HasField("dim_value") else d.dim_param for d in t.shape.dim]
        types[vi.name] = f"{_DTYPES.get(t.elem_type, t.elem_type)}{dims}"
    for name, a in (observed or {}).items():
        dt = _DTYPES.get(helper.np_dtype_to_tensor_dtype(a.dtype), str(a.dtype))
        types[name] = f"{dt}{list(a.shape)}"
    init = {i.name: numpy_helper.to_array(i) for i in g.initializer}

    def operand(name: str) -> str:
        if not name:
            return "<none>"
        if name in init:
            return f"{name}=init:{_short(init[name])}"
        return f"{name}:{types.get(name, '?')}"

    lines = []
    for n in g.node:
        attrs = []
        for a in n.attribute:
            v = helper.get_attribute_value(a)
            if isinstance(v, onnx.TensorProto):
                v = _short(numpy_helper.to_array(v))
            elif isinstance(v, bytes):
                v = v.decode()
            attrs.append(f"{a.name}={v}")
        ins = ", ".join(operand(i) for i in n.input)
        outs = ", ".join(operand(o) for o in n.output)
        attr = f" {{{', '.join(attrs)}}}" if attrs else ""
        lines.append(f"{n.op_type} [{n.name}]{attr} ({ins}) -> ({outs})")
    return lines
