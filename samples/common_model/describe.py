"""Print the compute nodes of a QDQ ONNX model in order, one line each (no torch needed).

    .venv/bin/python samples/common_model/describe.py samples/radar/model/model.onnx

Each line: op, its inputs as ``q8[shape]`` (an int8 activation through a
DequantizeLinear), ``w8[shape]`` / ``b32[shape]`` (an int8 / int32 initializer
through a DequantizeLinear), ``f[shape]`` (a float tensor: no DQ in front),
``c=value`` (a constant), the attributes that matter, and ``-> q8[shape]`` when a
QuantizeLinear follows or ``-> f[shape]`` when the output stays float.
QuantizeLinear / DequantizeLinear / Constant nodes themselves are not listed.
"""

from __future__ import annotations

import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper, shape_inference

ATTRS = ("perm", "kernel_shape", "strides", "pads", "group", "axes", "keepdims", "axis",
         "epsilon", "transB", "count_include_pad", "ceil_mode", "dilations")  # fmt: skip


def describe(path: str) -> list[str]:
    model = shape_inference.infer_shapes(onnx.load(path))
    g = model.graph
    shapes = {
        vi.name: [d.dim_value for d in vi.type.tensor_type.shape.dim]
        for vi in [*g.value_info, *g.input, *g.output]
    }
    init = {i.name: numpy_helper.to_array(i) for i in g.initializer}
    producer: dict[str, onnx.NodeProto] = {o: n for n in g.node for o in n.output}
    consumers: dict[str, list[onnx.NodeProto]] = {}
    for n in g.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)

    def const(name: str) -> np.ndarray | None:
        if name in init:
            return init[name]
        p = producer.get(name)
        if p is not None and p.op_type == "Constant":
            return numpy_helper.to_array(p.attribute[0].t)
        return None

    def operand(name: str) -> str:
        p = producer.get(name)
        if p is not None and p.op_type == "DequantizeLinear":
            src = p.input[0]
            if src in init:
                a = init[src]
                kind = "b32" if a.dtype == np.int32 else "w8"
                return f"{kind}{list(a.shape)}"
            q = producer.get(src)
            if q is not None and q.op_type == "QuantizeLinear" and const(q.input[0]) is not None:
                c = const(q.input[0])
                return f"w8(c={np.round(c, 4).tolist() if c.size == 1 else list(c.shape)})"
            return f"q8{shapes.get(name, '?')}"
        c = const(name)
        if c is not None:
            return f"c={c.tolist() if c.size <= 4 else list(c.shape)}"
        return f"f{shapes.get(name, '?')}"

    lines = []
    for n in g.node:
        if n.op_type in ("QuantizeLinear", "DequantizeLinear", "Constant"):
            continue
        ins = ", ".join(operand(i) for i in n.input if i)
        attrs = [
            f"{a.name}={helper.get_attribute_value(a)}" for a in n.attribute if a.name in ATTRS
        ]
        out = n.output[0]
        quantized = any(c.op_type == "QuantizeLinear" for c in consumers.get(out, []))
        res = f"{'q8' if quantized else 'f'}{shapes.get(out, '?')}"
        lines.append(" ".join([f"{n.op_type:<18}", f"({ins})", *attrs, "->", res]))
    return lines


if __name__ == "__main__":
    for p in sys.argv[1:]:
        print(f"# {p}")
        print("\n".join(describe(p)))
