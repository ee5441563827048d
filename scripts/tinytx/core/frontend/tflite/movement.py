"""Data movement on int8 activations: CONCATENATION, PACK, UNPACK, SPLIT, SPLIT_V,
STRIDED_SLICE, SLICE, GATHER (constant indices), TRANSPOSE, TILE and BROADCAST_TO as
IR :class:`~tinytx.core.ir.Gather` and :class:`~tinytx.core.ir.Concat` ops (the bytes
move unchanged) plus a :class:`~tinytx.core.ir.View` where only the shape changes. An
input whose scale or zero point differs from the output's is requantized first by a
256-entry table (:func:`tinytx.core.golden.build_unary_table` of the identity), exactly
as the golden model defines it; the converter usually gives them all one quantization.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from tinytx.core import golden as gold
from tinytx.core import ir
from tinytx.core.frontend.onnx.lower import c_name
from tinytx.core.frontend.tflite import quantization as q
from tinytx.core.frontend.tflite.quantization import op_error
from tinytx.core.frontend.tflite.reader import TflOp

if TYPE_CHECKING:
    from tinytx.core.frontend.tflite.lower import Lowering

#: The operators of this module (for the frontend's list of what it accepts).
MOVEMENT = (
    "CONCATENATION, PACK, UNPACK, SPLIT, SPLIT_V, STRIDED_SLICE, SLICE, GATHER (constant "
    "indices), TRANSPOSE, TILE, BROADCAST_TO, SPACE_TO_DEPTH, DEPTH_TO_SPACE, "
    "RESIZE_NEAREST_NEIGHBOR, REVERSE_V2 on int8 activations"
)


def _src(op: TflOp) -> str:
    return f"operator {op.index} ({op.name})"


def _tensor(lw: Lowering, like: str, shape: tuple[int, ...], name: str) -> str:
    t = lw.tensors[like]
    out = c_name(name, lw.used)
    lw.tensors[out] = ir.Tensor(out, tuple(shape), "int8", t.scale, t.zero_point)
    return out


def _identity(v: np.ndarray) -> np.ndarray:
    return np.asarray(v, np.float32)


def requantized(lw: Lowering, op: TflOp, x: str, s: float, z: int) -> str:
    """``x`` with scale ``s`` and zero point ``z`` (a table op when they differ)."""
    t = lw.tensors[x]
    if (t.scale, t.zero_point) == (s, z):
        return x
    try:
        table = gold.build_unary_table(_identity, t.scale, t.zero_point, s, z)
    except ValueError as exc:
        raise op_error(op, f"requantization table: {exc}") from None
    out = c_name(f"{x}_rq", lw.used)
    lw.tensors[out] = ir.Tensor(out, t.shape, "int8", s, z)
    lw.ops.append(
        ir.Lut(
            name=lw.op_name("lut"),
            inputs=(x,),
            output=out,
            source=_src(op),
            table=table,
            function=f"requantize: x scale {t.scale:.6g} zero {t.zero_point} -> y scale {s:.6g}",
            zero_point=z,
        )
    )
    return out


def gather(lw: Lowering, op: TflOp, x: str, axis: int, indices: np.ndarray, name: str) -> str:
    """``numpy.take(x, indices, axis)`` as an IR Gather (``x`` itself for the identity)."""
    shape = lw.tensors[x].shape
    idx = np.asarray(indices, np.int64).ravel()
    if np.array_equal(idx, np.arange(shape[axis])):
        return x
    if idx.size == 0:
        raise op_error(op, f"an empty result along axis {axis}", "accepted: non-empty outputs")
    out_shape = (*shape[:axis], idx.size, *shape[axis + 1 :])
    out = _tensor(lw, x, out_shape, name)
    lw.ops.append(
        ir.Gather(
            name=lw.op_name("gather"),
            inputs=(x,),
            output=out,
            source=_src(op),
            axis=axis,
            indices=idx.astype(np.int32),
        )
    )
    return out


def _finish(lw: Lowering, op: TflOp, index: int, x: str) -> None:
    """``x`` as the TFLite output ``index``: its quantization, then its shape."""
    s, z = q.activation(op, lw.t(index))
    lo, hi = q.clamp(op, s, z)
    if (lo, hi) != (-128, 127):
        raise op_error(op, "a fused activation", "accepted: NONE")
    x = requantized(lw, op, x, s, z)
    lw.values[index] = lw.view(x, _static(lw, op, index, lw.tensors[x].size), op)


def _static(lw: Lowering, op: TflOp, index: int, size: int) -> tuple[int, ...]:
    t = lw.t(index)
    shape = tuple(t.shape)
    if int(np.prod(shape, dtype=np.int64)) != size or any(d < 0 for d in t.signature[1:]):
        raise op_error(op, f"output '{t.name}' shape {list(t.signature)}", "accepted: static")
    return shape


def _inputs(op: TflOp, n: int) -> None:
    if len(op.inputs) < n or any(i < 0 for i in op.inputs[:n]) or not op.outputs:
        raise op_error(op, f"{len(op.inputs)} inputs, {len(op.outputs)} outputs")


def _axis(op: TflOp, axis: int, rank: int) -> int:
    if not -rank <= axis < rank:
        raise op_error(op, f"axis {axis} of a {rank}-D tensor")
    return axis % rank


def _out_name(lw: Lowering, index: int) -> str:
    return lw.t(index).name or f"t{index}"


def _int_const(lw: Lowering, op: TflOp, index: int, what: str) -> np.ndarray:
    v = lw.const(index)
    if v is None:
        raise op_error(op, f"{what} is not a constant", f"accepted: constant {what}")
    return np.asarray(v).astype(np.int64)


Part = str | np.ndarray  # an activation's IR tensor, or a constant's int8 codes


def _parts(lw: Lowering, op: TflOp, s_y: float, z_y: int) -> list[Part]:
    """The inputs in the output's quantization: activations (requantized by a table op
    when needed) and constants (requantized offline by the same table)."""
    parts: list[Part] = []
    for i in op.inputs:
        t = lw.t(i)
        if t.data is None:
            parts.append(requantized(lw, op, lw.act(op, i), s_y, z_y))
            continue
        s, z = q.activation(op, t)
        codes = np.asarray(t.data).astype(np.int8).reshape(t.shape)
        if (s, z) != (s_y, z_y):
            codes = gold.lut_s8(codes, gold.build_unary_table(_identity, s, z, s_y, z_y))
        parts.append(codes)
    if all(not isinstance(p, str) for p in parts):
        raise op_error(op, "every input is a constant", "accepted: at least one activation")
    return parts


def _shape(lw: Lowering, p: Part) -> tuple[int, ...]:
    return tuple(lw.tensors[p].shape) if isinstance(p, str) else tuple(p.shape)


def concatenation(lw: Lowering, op: TflOp) -> None:
    _inputs(op, 1)
    out_i = op.outputs[0]
    s_y, z_y = q.activation(op, lw.t(out_i))
    parts = _parts(lw, op, s_y, z_y)
    rank = max(len(_shape(lw, p)) for p in parts)
    axis = _axis(op, int(op.opt("Axis", 0)), rank)
    _concat(lw, op, parts, axis, out_i)


def _concat(lw: Lowering, op: TflOp, parts: list[Part], axis: int, out_i: int) -> None:
    shapes = [_shape(lw, p) for p in parts]
    rest = {(*s[:axis], *s[axis + 1 :]) for s in shapes}
    if len(rest) != 1 or any(len(s) != len(shapes[0]) for s in shapes):
        raise op_error(op, f"shapes {[list(s) for s in shapes]} differ outside axis {axis}")
    out_shape = (*shapes[0][:axis], sum(s[axis] for s in shapes), *shapes[0][axis + 1 :])
    xs = [p for p in parts if isinstance(p, str)]
    if len(parts) == 1:
        _finish(lw, op, out_i, xs[0])
        return
    constants, k = [], 0
    for p in parts:
        if isinstance(p, str):
            k += 1
        else:
            constants.append((k, np.ascontiguousarray(p, np.int8)))
    out = _tensor(lw, xs[0], out_shape, _out_name(lw, out_i))
    lw.ops.append(
        ir.Concat(
            name=lw.op_name("concat"),
            inputs=tuple(xs),
            output=out,
            source=_src(op),
            axis=axis,
            constants=tuple(constants),
        )
    )
    _finish(lw, op, out_i, out)


def pack(lw: Lowering, op: TflOp) -> None:
    _inputs(op, 1)
    out_i = op.outputs[0]
    s_y, z_y = q.activation(op, lw.t(out_i))
    parts = _parts(lw, op, s_y, z_y)
    shape = next(_shape(lw, p) for p in parts if isinstance(p, str))
    axis = _axis(op, int(op.opt("Axis", 0)), len(shape) + 1)
    expanded = (*shape[:axis], 1, *shape[axis:])
    views = [lw.view(p, expanded, op) if isinstance(p, str) else p.reshape(expanded)
             for p in parts]  # fmt: skip
    _concat(lw, op, views, axis, out_i)


def _pieces(lw: Lowering, op: TflOp, x: str, axis: int, sizes: list[int]) -> None:
    shape = lw.tensors[x].shape
    if sum(sizes) != shape[axis] or len(sizes) != len(op.outputs):
        raise op_error(op, f"splits {sizes} of axis {axis} of {list(shape)}")
    start = 0
    for out_i, n in zip(op.outputs, sizes, strict=True):
        piece = gather(lw, op, x, axis, np.arange(start, start + n), _out_name(lw, out_i))
        _finish(lw, op, out_i, piece)
        start += n


def unpack(lw: Lowering, op: TflOp) -> None:
    _inputs(op, 1)
    x = lw.act(op, op.inputs[0])
    shape = lw.tensors[x].shape
    axis = _axis(op, int(op.opt("Axis", 0)), len(shape))
    _pieces(lw, op, x, axis, [1] * shape[axis])


def split(lw: Lowering, op: TflOp) -> None:
    _inputs(op, 2)
    x = lw.act(op, op.inputs[1])
    shape = lw.tensors[x].shape
    axis = _axis(op, int(_int_const(lw, op, op.inputs[0], "axis").ravel()[0]), len(shape))
    n = len(op.outputs)
    if shape[axis] % n:
        raise op_error(op, f"{n} splits of axis {axis} ({shape[axis]})")
    _pieces(lw, op, x, axis, [shape[axis] // n] * n)


def split_v(lw: Lowering, op: TflOp) -> None:
    _inputs(op, 3)
    x = lw.act(op, op.inputs[0])
    shape = lw.tensors[x].shape
    axis = _axis(op, int(_int_const(lw, op, op.inputs[2], "axis").ravel()[0]), len(shape))
    sizes = [int(v) for v in _int_const(lw, op, op.inputs[1], "size_splits").ravel()]
    if sizes.count(-1) == 1:
        sizes[sizes.index(-1)] = shape[axis] - (sum(sizes) + 1)
    _pieces(lw, op, x, axis, sizes)


def _slices(lw: Lowering, op: TflOp, x: str, ranges: list[range]) -> str:
    for axis, r in enumerate(ranges):
        x = gather(lw, op, x, axis, np.asarray(r, np.int64), f"{x}_slice")
    return x


def strided_slice(lw: Lowering, op: TflOp) -> None:
    _inputs(op, 4)
    x = lw.act(op, op.inputs[0])
    shape = lw.tensors[x].shape
    begin = _int_const(lw, op, op.inputs[1], "begin")
    end = _int_const(lw, op, op.inputs[2], "end")
    strides = _int_const(lw, op, op.inputs[3], "strides")
    if any(int(op.opt(k, 0) or 0) for k in ("EllipsisMask", "NewAxisMask")):
        raise op_error(op, "an ellipsis or new-axis mask", "accepted: begin/end/shrink masks")
    if begin.size != len(shape):
        raise op_error(op, f"{begin.size} begin values for a {len(shape)}-D tensor")
    bm, em = int(op.opt("BeginMask", 0) or 0), int(op.opt("EndMask", 0) or 0)
    shrink = int(op.opt("ShrinkAxisMask", 0) or 0)
    offset = bool(op.opt("Offset", False))
    ranges = []
    for a, n in enumerate(shape):
        st = int(strides[a])
        if st == 0:
            raise op_error(op, "stride 0")
        b = None if bm >> a & 1 else int(begin[a])
        e = None if em >> a & 1 else int(end[a]) + (int(begin[a]) if offset else 0)
        if shrink >> a & 1:
            b = int(begin[a]) % n if n else 0
            e, st = b + 1, 1
        ranges.append(range(*slice(b, e, st).indices(n)))
    _finish(lw, op, op.outputs[0], _slices(lw, op, x, ranges))


def slice_op(lw: Lowering, op: TflOp) -> None:
    _inputs(op, 3)
    x = lw.act(op, op.inputs[0])
    shape = lw.tensors[x].shape
    begin = _int_const(lw, op, op.inputs[1], "begin")
    size = _int_const(lw, op, op.inputs[2], "size")
    ranges = []
    for a, n in enumerate(shape):
        b = int(begin[a])
        e = n if int(size[a]) == -1 else b + int(size[a])
        ranges.append(range(b, e))
    _finish(lw, op, op.outputs[0], _slices(lw, op, x, ranges))


def gather_op(lw: Lowering, op: TflOp) -> None:
    _inputs(op, 2)
    x = lw.act(op, op.inputs[0])
    shape = lw.tensors[x].shape
    if int(op.opt("BatchDims", 0) or 0):
        raise op_error(op, "batch_dims", "accepted: 0")
    axis = _axis(op, int(op.opt("Axis", 0)), len(shape))
    idx = _int_const(lw, op, op.inputs[1], "indices")
    if idx.size == 0 or idx.min() < 0 or idx.max() >= shape[axis]:
        raise op_error(op, f"indices outside [0, {shape[axis]})")
    y = gather(lw, op, x, axis, idx.ravel(), _out_name(lw, op.outputs[0]))
    full = (*shape[:axis], *idx.shape, *shape[axis + 1 :])
    _finish(lw, op, op.outputs[0], lw.view(y, full, op))


def transpose(lw: Lowering, op: TflOp) -> None:
    """A constant permutation as one gather: the axes that keep their place at the end
    stay a block of bytes, the others are listed element by element (int32 indices)."""
    _inputs(op, 2)
    x = lw.act(op, op.inputs[0])
    shape = lw.tensors[x].shape
    perm = [int(p) % len(shape) for p in _int_const(lw, op, op.inputs[1], "perm").ravel()]
    if sorted(perm) != list(range(len(shape))):
        raise op_error(op, f"perm {perm} of a {len(shape)}-D tensor")
    keep = len(shape)
    while keep > 0 and perm[keep - 1] == keep - 1:
        keep -= 1
    outer, block = shape[:keep], int(np.prod(shape[keep:], dtype=np.int64))
    y = x
    if keep:
        idx = np.arange(int(np.prod(outer))).reshape(outer).transpose(perm[:keep]).ravel()
        flat = lw.view(x, (1, idx.size, block), op)
        y = gather(lw, op, flat, 1, idx, _out_name(lw, op.outputs[0]))
    _finish(lw, op, op.outputs[0], y)


def tile(lw: Lowering, op: TflOp) -> None:
    _inputs(op, 2)
    x = lw.act(op, op.inputs[0])
    shape = lw.tensors[x].shape
    reps = [int(r) for r in _int_const(lw, op, op.inputs[1], "multiples").ravel()]
    if len(reps) != len(shape) or min(reps) < 1:
        raise op_error(op, f"multiples {reps} of a {len(shape)}-D tensor")
    for axis, r in enumerate(reps):
        if r > 1:
            idx = np.tile(np.arange(shape[axis]), r)
            x = gather(lw, op, x, axis, idx, f"{x}_tile")
    _finish(lw, op, op.outputs[0], x)


def broadcast_to(lw: Lowering, op: TflOp) -> None:
    _inputs(op, 2)
    x = lw.act(op, op.inputs[0])
    shape = lw.tensors[x].shape
    target = tuple(int(d) for d in _int_const(lw, op, op.inputs[1], "shape").ravel())
    if len(target) < len(shape):
        raise op_error(op, f"shape {list(shape)} to {list(target)}")
    aligned = (1,) * (len(target) - len(shape)) + tuple(shape)
    if any(d not in (1, t) for d, t in zip(aligned, target, strict=True)):
        raise op_error(op, f"shape {list(shape)} does not broadcast to {list(target)}")
    x = lw.view(x, aligned, op)
    for axis, (d, t) in enumerate(zip(aligned, target, strict=True)):
        if d != t:
            x = gather(lw, op, x, axis, np.zeros(t, np.int64), f"{x}_bcast")
    _finish(lw, op, op.outputs[0], x)


def by_index(lw: Lowering, op: TflOp, x: str, index: np.ndarray) -> str:
    """Any static data movement given as the input element each output element reads
    (``index``, shaped as the output, into ``x`` flattened): one gather of whole rows of
    the last axis when the movement keeps them, else of single elements."""
    shape = lw.tensors[x].shape
    flat = np.asarray(index, np.int64).ravel()
    c = int(shape[-1])
    rows = flat.reshape(-1, c) if flat.size % c == 0 else None
    if (
        rows is not None
        and np.array_equal(rows, rows[:, :1] + np.arange(c))
        and not (rows[:, 0] % c).any()
    ):
        y = gather(lw, op, lw.view(x, (1, lw.tensors[x].size // c, c), op), 1, rows[:, 0] // c,
                   _out_name(lw, op.outputs[0]))  # fmt: skip
    else:
        y = gather(lw, op, lw.view(x, (1, lw.tensors[x].size, 1), op), 1, flat,
                   _out_name(lw, op.outputs[0]))  # fmt: skip
    return lw.view(y, tuple(int(d) for d in np.shape(index)), op)


def _positions(lw: Lowering, x: str) -> np.ndarray:
    shape = lw.tensors[x].shape
    return np.arange(int(np.prod(shape, dtype=np.int64))).reshape(shape)


def space_to_depth(lw: Lowering, op: TflOp) -> None:
    _inputs(op, 1)
    x = lw.act(op, op.inputs[0])
    n, h, w, c = _nhwc(lw, op, x)
    b = int(op.opt("BlockSize", 1))
    if b < 1 or h % b or w % b:
        raise op_error(op, f"block {b} of {h}x{w}")
    p = _positions(lw, x).reshape(n, h // b, b, w // b, b, c).transpose(0, 1, 3, 2, 4, 5)
    _finish(lw, op, op.outputs[0], by_index(lw, op, x, p.reshape(n, h // b, w // b, b * b * c)))


def depth_to_space(lw: Lowering, op: TflOp) -> None:
    _inputs(op, 1)
    x = lw.act(op, op.inputs[0])
    n, h, w, c = _nhwc(lw, op, x)
    b = int(op.opt("BlockSize", 1))
    if b < 1 or c % (b * b):
        raise op_error(op, f"block {b} of {c} channels")
    p = _positions(lw, x).reshape(n, h, w, b, b, c // (b * b)).transpose(0, 1, 3, 2, 4, 5)
    _finish(lw, op, op.outputs[0], by_index(lw, op, x, p.reshape(n, h * b, w * b, c // (b * b))))


def _nhwc(lw: Lowering, op: TflOp, x: str) -> tuple[int, int, int, int]:
    shape = lw.tensors[x].shape
    if len(shape) != 4:
        raise op_error(op, f"input {list(shape)} is not [N][H][W][C]")
    return tuple(int(d) for d in shape)  # type: ignore[return-value]


def _nearest(n_in: int, n_out: int, align: bool, half: bool) -> np.ndarray:
    """TFLite's reference nearest-neighbour source index (float32 scale, as the kernel)."""
    if align and n_out > 1:
        scale = np.float32(n_in - 1) / np.float32(n_out - 1)
    else:
        scale = np.float32(n_in) / np.float32(n_out)
    pos = (np.arange(n_out, dtype=np.float32) + np.float32(0.5 if half else 0.0)) * scale
    idx = np.round(pos) if align else np.floor(pos)
    idx = np.minimum(idx.astype(np.int64), n_in - 1)
    return np.maximum(idx, 0) if half else idx


def resize_nearest(lw: Lowering, op: TflOp) -> None:
    _inputs(op, 2)
    x = lw.act(op, op.inputs[0])
    _, h, w, _ = _nhwc(lw, op, x)
    size = [int(v) for v in _int_const(lw, op, op.inputs[1], "size").ravel()]
    if len(size) != 2 or min(size) < 1:
        raise op_error(op, f"size {size}")
    align, half = bool(op.opt("AlignCorners", False)), bool(op.opt("HalfPixelCenters", False))
    rows, cols = _nearest(h, size[0], align, half), _nearest(w, size[1], align, half)
    y = gather(lw, op, x, 1, rows, f"{x}_rows")
    y = gather(lw, op, y, 2, cols, _out_name(lw, op.outputs[0]))
    _finish(lw, op, op.outputs[0], y)


def reverse(lw: Lowering, op: TflOp) -> None:
    _inputs(op, 2)
    x = lw.act(op, op.inputs[0])
    shape = lw.tensors[x].shape
    for a in {int(v) % len(shape) for v in _int_const(lw, op, op.inputs[1], "axis").ravel()}:
        x = gather(lw, op, x, a, np.arange(shape[a])[::-1], f"{x}_rev")
    _finish(lw, op, op.outputs[0], x)
