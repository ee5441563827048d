"""Unary activations as one 256-entry table look-up (``tinytx_lut_s8``, IR
:class:`~tinytx.core.ir.Lut`).

A unary op between a DequantizeLinear and a QuantizeLinear is a function of one int8
code, so the converter evaluates the float function on all 256 codes offline
(:func:`tinytx.core.golden.build_unary_table`, float32 like onnxruntime) and the firmware
only looks the results up. Accepted:

- ``Sigmoid``, ``Tanh``, ``HardSigmoid`` (alpha, beta), ``HardSwish``, ``LeakyRelu``
  (alpha), and ``Relu``/``Clip`` that could not be fused into the op before them
  (a LayerNorm, a pooling, the model input, another table);
- ``Mul(x, f(x))`` with ``f`` one of those (SiLU is ``Mul(x, Sigmoid(x))``): one table
  of ``x * f(x)``; when the model rounds ``f(x)`` to int8 in between (a QDQ pair on it),
  the table rounds it the same way;
- a ``Tanh`` that is not the heart of a tanh-form GELU (e.g. the BERT pooler, Gemm ->
  Tanh): :func:`plain_tanh` tells the GELU matcher to leave it.

The input's scale (and zero point) come from the tensor the op reads, the output's
from the QuantizeLinear after it; a unary op whose result stays float is refused.
GELU keeps its own integer kernel (``tinytx_gelu_s8``, :mod:`.patterns`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from tinytx.core import golden as gold
from tinytx.core import ir
from tinytx.core.frontend.onnx.graph import Graph, Node, node_error
from tinytx.core.golden.lut import UnaryFn, UnarySpec, make_unary, requantized

if TYPE_CHECKING:
    from tinytx.core.frontend.onnx.lower import Lowering

UNARY_OPS: tuple[str, ...] = (
    "Sigmoid",
    "Tanh",
    "HardSigmoid",
    "HardSwish",
    "LeakyRelu",
    "Relu",
    "Clip",
)
ACCEPT_UNARY = (
    "accepted: Sigmoid, Tanh, HardSigmoid, HardSwish, LeakyRelu, Relu, Clip and "
    "Mul(x, Sigmoid(x)) (SiLU) between DequantizeLinear and QuantizeLinear (int8 in and out)"
)
GELU_TANH_FACTOR = math.sqrt(2.0 / math.pi)


def plain_tanh(g: Graph, node: Node) -> bool:
    """A Tanh whose input is not ``sqrt(2/pi) * (...)``: not part of a tanh-form GELU."""
    if node.op != "Tanh":
        return False
    pre = g.producer(node.inputs[0])
    if pre is None or pre.op != "Mul":
        return True
    for name in pre.inputs:
        c = g.consts.get(name)
        if c is not None and np.asarray(c.value).size == 1:
            value = float(np.asarray(c.value).ravel()[0])
            if math.isclose(value, GELU_TANH_FACTOR, rel_tol=2e-3):
                return False
    return True


@dataclass(frozen=True)
class UnaryMatch:
    nodes: tuple[Node, ...]
    input: str
    output: str
    spec: UnarySpec


def _scalar(g: Graph, node: Node, index: int, what: str) -> float | None:
    name = node.inputs[index] if len(node.inputs) > index else ""
    if not name:
        return None
    c = g.consts.get(name)
    if c is None or np.asarray(c.value).size != 1:
        raise node_error(node, f"{what} '{name}' is not a scalar constant", ACCEPT_UNARY)
    return float(np.asarray(c.value).ravel()[0])


def unary_spec(g: Graph, node: Node) -> UnarySpec:
    """The float function of one ONNX unary node, with its attributes."""
    op = node.op
    if op == "HardSigmoid":
        return make_unary(
            op, alpha=float(node.attr("alpha", 0.2)), beta=float(node.attr("beta", 0.5))
        )
    if op == "LeakyRelu":
        return make_unary(op, alpha=float(node.attr("alpha", 0.01)))
    if op == "Clip":
        lo, hi = _scalar(g, node, 1, "min"), _scalar(g, node, 2, "max")
        if lo is None and hi is None and ("min" in node.attrs or "max" in node.attrs):
            lo, hi = node.attr("min"), node.attr("max")  # opset 6 attributes
        if lo is not None and hi is not None and lo > hi:
            raise node_error(node, f"empty range [{lo}, {hi}]")
        return make_unary(op, lo=lo, hi=hi)
    return make_unary(op)


def _times_x(g: Graph, node: Node) -> Node | None:
    """The ``Mul(x, f(x))`` reading ``node``'s output and its input ``x``, if any."""
    users = g.consumers(node.outputs[0])
    if len(users) != 1 or g.is_output(node.outputs[0]) or users[0].op != "Mul":
        return None
    mul = users[0]
    x = node.inputs[0]
    if sorted(mul.inputs) != sorted([x, node.outputs[0]]) or x == node.outputs[0]:
        return None
    return mul


def _then(first: UnaryFn, second: UnaryFn) -> UnaryFn:
    return lambda v: second(first(v))


def match_unary(g: Graph, node: Node) -> UnaryMatch:
    spec = unary_spec(g, node)
    mul = _times_x(g, node) if node.op not in ("Relu", "Clip") else None
    if mul is None:
        return UnaryMatch((node,), node.inputs[0], node.outputs[0], spec)
    s_mid = g.qscale.get(node.outputs[0])  # the model rounds f(x) to int8 before the Mul
    z_mid = g.qzero.get(node.outputs[0], 0)
    inner = spec.fn if s_mid is None else _then(spec.fn, requantized(s_mid, z_mid))

    def times_x(v: np.ndarray) -> np.ndarray:
        return np.asarray(v, np.float32) * np.asarray(inner(v), np.float32)

    name = "SiLU" if node.op == "Sigmoid" else f"x*{spec.description}"
    return UnaryMatch((node, mul), node.inputs[0], mul.outputs[0], UnarySpec(name, times_x))


def zero_points(lowering: Lowering, tensor: ir.Tensor, out_value: str) -> tuple[int, int]:
    """The input's and output's zero points (int8 domain; a uint8 tensor's minus 128)."""
    return tensor.zero_point, lowering.zero(out_value)


def lower_unary(lowering: Lowering, node: Node) -> None:
    """One :class:`~tinytx.core.ir.Lut` op for ``node`` (and the ``Mul`` of ``x * f(x)``)."""
    g = lowering.g
    m = match_unary(g, node)
    last = m.nodes[-1]
    s_y = g.qscale.get(m.output)
    if s_y is None:
        raise node_error(
            last,
            f"its output '{m.output}' has no QuantizeLinear after it (the result stays float)",
            ACCEPT_UNARY,
        )
    p = lowering.place(m.input, node)
    t = lowering.tensors[p.tensor]
    z_x, z_y = zero_points(lowering, t, m.output)
    try:
        table = gold.build_unary_table(m.spec.fn, t.scale, z_x, s_y, z_y)
    except ValueError as exc:
        raise node_error(last, f"table: {exc}", ACCEPT_UNARY) from None
    y = lowering.new_tensor(m.output, t.shape, s_y, z_y)
    function = (
        f"{m.spec.description}: x scale {t.scale:.6g} zero {z_x} -> y scale {s_y:.6g} zero {z_y}"
    )
    lowering.ops.append(
        ir.Lut(
            name=lowering.op_name("lut"),
            inputs=(p.tensor,),
            output=y,
            source=", ".join(n.name for n in m.nodes),
            table=table,
            function=function,
            zero_point=z_y,
        )
    )
    lowering.declared(m.output, p.shape, node)
    lowering._finish(m.nodes, m.output, y, p.idx)
