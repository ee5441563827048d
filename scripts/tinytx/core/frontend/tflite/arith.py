"""ADD, SUB and MUL of int8 tensors with numpy broadcasting, between two activations or
an activation and a constant.

A constant operand is broadcast offline to the output's shape (stored in full); an
activation of a smaller shape is repeated along its size-1 axes by IR Gather ops
(index 0 repeated) before the element-wise kernel. The arithmetic is the golden model's:
ADD is :func:`tinytx.core.golden.add_s8` (one rounding of ``a m_a + b m_b``), SUB is
that ADD of ``-b`` written as ``-q - 1`` with zero point ``-z - 1`` (exact, a table op
for an activation, offline for a constant), MUL is TFLite's integer reference
(:func:`tinytx.core.golden.mul_s8`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from tinytx.core import golden as gold
from tinytx.core import ir
from tinytx.core.frontend.onnx.lower import c_name
from tinytx.core.frontend.tflite import quantization as q
from tinytx.core.frontend.tflite.movement import gather
from tinytx.core.frontend.tflite.quantization import op_error
from tinytx.core.frontend.tflite.reader import TflOp

if TYPE_CHECKING:
    from tinytx.core.frontend.tflite.lower import Lowering

#: ``-q - 1`` for every int8 code q, indexed by the code's byte.
NOT_TABLE = (-np.arange(256, dtype=np.int64).astype(np.uint8).view(np.int8) - 1).astype(np.int8)


def _broadcast(lw: Lowering, op: TflOp, x: str, out: tuple[int, ...]) -> str:
    """Activation ``x`` repeated to the shape ``out``."""
    shape = lw.tensors[x].shape
    aligned = (1,) * (len(out) - len(shape)) + tuple(shape)
    x = lw.view(x, aligned, op)
    for axis, (d, n) in enumerate(zip(aligned, out, strict=True)):
        if d != n:
            x = gather(lw, op, x, axis, np.zeros(n, np.int64), f"{x}_bcast")
    return x


def _negated(lw: Lowering, op: TflOp, x: str) -> str:
    """``-x`` as ``-q - 1`` with zero point ``-z - 1`` (a table op)."""
    t = lw.tensors[x]
    out = c_name(f"{x}_neg", lw.used)
    z = -t.zero_point - 1
    lw.tensors[out] = ir.Tensor(out, t.shape, "int8", t.scale, z)
    lw.ops.append(
        ir.Lut(
            name=lw.op_name("lut"),
            inputs=(x,),
            output=out,
            source=f"operator {op.index} ({op.name})",
            table=NOT_TABLE,
            function="negation: q -> -q - 1, zero point z -> -z - 1",
            zero_point=z,
        )
    )
    return out


@dataclass
class _Operand:
    scale: float
    zero_point: int
    shape: tuple[int, ...]
    name: str = ""  # an activation's IR tensor
    data: np.ndarray | None = None  # a constant's int8 codes


def _operand(lw: Lowering, op: TflOp, index: int) -> _Operand:
    t = lw.t(index)
    s, z = q.activation(op, t)
    if t.data is not None:
        return _Operand(s, z, tuple(t.shape), data=np.asarray(t.data).astype(np.int8))
    name = lw.act(op, index)
    return _Operand(s, z, lw.tensors[name].shape, name=name)


def binary(lw: Lowering, op: TflOp) -> None:
    if len(op.inputs) != 2 or min(op.inputs) < 0 or len(op.outputs) != 1:
        raise op_error(op, f"{len(op.inputs)} inputs, {len(op.outputs)} outputs")
    out_i = op.outputs[0]
    s_y, z_y = q.activation(op, lw.t(out_i))
    lo, hi = q.clamp(op, s_y, z_y)
    a, b = _operand(lw, op, op.inputs[0]), _operand(lw, op, op.inputs[1])
    if a.data is not None and b.data is not None:
        raise op_error(op, "both operands are constants", "accepted: at least one activation")
    for c, other in ((a, b), (b, a)):  # a constant of the other's size, laid out flat
        if c.data is not None and c.data.size == int(np.prod(other.shape)):
            c.shape = other.shape
    try:
        out = tuple(int(d) for d in np.broadcast_shapes(a.shape, b.shape))
    except ValueError:
        raise op_error(op, f"shapes {list(a.shape)} and {list(b.shape)} do not broadcast") from None
    if op.name == "SUB":  # a - b = a + (-b), -b exactly as codes -q - 1, zero point -z - 1
        if b.data is not None:
            b.data = (-b.data.astype(np.int16) - 1).astype(np.int8)
        else:
            b.name = _negated(lw, op, b.name)
        b.zero_point = -b.zero_point - 1
    if a.data is not None:  # ADD, MUL (and SUB, now an ADD) commute: the constant second
        a, b = b, a
    x = _broadcast(lw, op, a.name, out)
    const = None
    if b.data is not None:
        const = np.ascontiguousarray(np.broadcast_to(b.data.reshape(b.shape), out))
        inputs: tuple[str, ...] = (x,)
    else:
        inputs = (x, _broadcast(lw, op, b.name, out))
    try:
        if op.name == "MUL":
            mp = gold.mul_params(a.scale, b.scale, s_y, a.zero_point, b.zero_point, z_y, lo, hi)
        else:
            p = gold.add_params(a.scale, b.scale, s_y, a.zero_point, b.zero_point, z_y)
            ap = gold.AddParams(p.m_a, p.m_b, p.shift, lo, hi, p.offset, z_y)
    except ValueError as exc:
        raise op_error(op, f"scales: {exc}") from None

    def factory(y: str, src: str) -> ir.Op:
        if op.name == "MUL":
            return ir.Mul(
                name=lw.op_name("mul"), inputs=inputs, output=y, source=src, params=mp,
                b_const=const,
            )  # fmt: skip
        return ir.Add(
            name=lw.op_name("add"), inputs=inputs, output=y, source=src, params=ap,
            b_const=const,
        )  # fmt: skip

    lw.emit(op, factory, out, lw.declared_shape(op, out))


def extremum(lw: Lowering, op: TflOp) -> None:
    """MAXIMUM / MINIMUM of an activation and one constant value: TFLite's int8 kernel
    compares the codes as they are (its converter gives all three tensors one
    quantization), so the op is the table ``q -> max(q, c)`` (or min), exact."""
    if len(op.inputs) != 2 or min(op.inputs) < 0 or len(op.outputs) != 1:
        raise op_error(op, f"{len(op.inputs)} inputs, {len(op.outputs)} outputs")
    a, b = _operand(lw, op, op.inputs[0]), _operand(lw, op, op.inputs[1])
    if a.data is not None:
        a, b = b, a
    if b.data is None or np.unique(b.data).size != 1:
        raise op_error(op, "not an activation and one constant value",
                       "accepted: MAXIMUM/MINIMUM with a scalar constant")  # fmt: skip
    c = int(b.data.ravel()[0])
    codes = np.arange(256, dtype=np.int64).astype(np.uint8).view(np.int8).astype(np.int64)
    table = np.maximum(codes, c) if op.name == "MAXIMUM" else np.minimum(codes, c)
    _, z_y = q.activation(op, lw.t(op.outputs[0]))
    fn = "max" if op.name == "MAXIMUM" else "min"
    lw.emit(
        op,
        lambda y, src: ir.Lut(
            name=lw.op_name("lut"),
            inputs=(a.name,),
            output=y,
            source=src,
            table=table.astype(np.int8),
            function=f"{fn}(code, {c}) (TFLite compares the int8 codes)",
            zero_point=z_y,
        ),
        lw.tensors[a.name].shape,
        lw.declared_shape(op, lw.tensors[a.name].shape),
    )
