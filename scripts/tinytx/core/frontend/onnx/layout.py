"""Where the elements of an ONNX tensor are in memory: index arrays.

Every activation the frontend tracks is a :class:`Placement`: the IR tensor holding its
bytes and an integer array ``idx`` with the ONNX tensor's (logical) shape, where
``idx[pos]`` is the element offset of ``pos`` in that tensor. Reshape, Transpose,
Flatten, Squeeze and Unsqueeze only transform ``idx`` (no IR op, no copy); an operator
that needs its input in a given order checks ``idx`` against that order, so a layout the
kernels cannot read is refused instead of silently misread.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from tinytx.core.frontend.onnx.graph import Graph, Node, _reshape_target, node_error

LAYOUT_OPS = ("Reshape", "Transpose", "Flatten", "Squeeze", "Unsqueeze", "Identity", "Dropout")


@dataclass
class Placement:
    tensor: str
    idx: np.ndarray

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.idx.shape)


def row_major(shape: tuple[int, ...]) -> np.ndarray:
    return np.arange(math.prod(shape), dtype=np.int64).reshape(shape)


def is_row_major(idx: np.ndarray) -> bool:
    return bool(np.array_equal(idx.ravel(), np.arange(idx.size)))


def channels_last(shape: tuple[int, ...]) -> np.ndarray:
    """``idx`` of an ONNX ``[N][C][H][W]`` (or ``[N][C][T]``) tensor stored ``[N][H][W][C]``."""
    n, c, spatial = shape[0], shape[1], shape[2:]
    phys = row_major((n, *spatial, c))
    k = len(spatial)
    return np.transpose(phys, (0, k + 1, *range(1, k + 1)))


def spatial_shape(shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    """The IR shape ``[N][H][W][C]`` of an ONNX ``[N][C][H][W]`` (``[N][C][T]``: H = 1)."""
    n, c, spatial = shape[0], shape[1], tuple(shape[2:])
    hw = (1, *spatial) if len(spatial) == 1 else spatial
    return (n, hw[0], hw[1], c)


def memory_perm(idx: np.ndarray) -> tuple[int, ...] | None:
    """The axis order ``perm`` with ``np.transpose(x, perm).ravel()`` = the memory bytes."""
    if idx.ndim > 6:
        return None
    for perm in itertools.permutations(range(idx.ndim)):
        if is_row_major(np.transpose(idx, perm)):
            return tuple(perm)
    return None


def _axes(node: Node, g: Graph, rank: int, default: list[int] | None) -> list[int]:
    axes = node.attr("axes")
    if axes is None and len(node.inputs) > 1 and node.inputs[1]:
        if node.inputs[1] not in g.consts:
            raise node_error(node, "axes must be a constant")
        axes = [int(a) for a in np.asarray(g.consts[node.inputs[1]].raw).ravel()]
    if axes is None:
        return list(default or [])
    out = []
    for a in axes:
        if not -rank <= int(a) < rank:
            raise node_error(node, f"axis {a} out of range for rank {rank}")
        out.append(int(a) % rank)
    return out


def apply_layout(node: Node, idx: np.ndarray, g: Graph) -> np.ndarray:
    """``idx`` after the layout op ``node`` (one of ``LAYOUT_OPS``)."""
    op = node.op
    if op in ("Identity", "Dropout"):
        return idx
    if op == "Transpose":
        perm = node.attr("perm")
        perm = list(range(idx.ndim))[::-1] if perm is None else [int(p) for p in perm]
        if sorted(perm) != list(range(idx.ndim)):
            raise node_error(node, f"perm {perm} does not match rank {idx.ndim}")
        return np.transpose(idx, perm)
    if op == "Reshape":
        if len(node.inputs) < 2 or node.inputs[1] not in g.consts:
            raise node_error(
                node, "target shape is computed at run time", "accepted: a constant shape"
            )
        target = _reshape_target(idx.shape, g.consts[node.inputs[1]].raw, node)
        return idx.reshape(target)
    if op == "Flatten":
        axis = int(node.attr("axis", 1))
        if not -idx.ndim <= axis <= idx.ndim:
            raise node_error(node, f"axis {axis} out of range")
        if axis < 0:
            axis += idx.ndim
        return idx.reshape(math.prod(idx.shape[:axis]), -1)
    if op == "Squeeze":
        axes = _axes(node, g, idx.ndim, [a for a, d in enumerate(idx.shape) if d == 1])
        if any(idx.shape[a] != 1 for a in axes):
            raise node_error(node, f"squeezes an axis of size > 1 in {list(idx.shape)}")
        return np.squeeze(idx, axis=tuple(axes))
    if op == "Unsqueeze":
        rank = idx.ndim + len(_axes(node, g, 64, []))
        axes = _axes(node, g, rank, [])
        out = idx
        for a in sorted(axes):
            out = np.expand_dims(out, a)
        return out
    raise node_error(node, "not a layout operator")


def scalar_const(g: Graph, node: Node) -> tuple[float, int] | None:
    """For Mul/Div with one scalar constant input: (its value, index of the other input)."""
    if node.op not in ("Mul", "Div") or len(node.inputs) != 2:
        return None
    for k in (1, 0) if node.op == "Mul" else (1,):
        name = node.inputs[k]
        other = node.inputs[1 - k]
        if name in g.consts and other not in g.consts:
            v = np.asarray(g.consts[name].value, np.float64)
            if v.size == 1:
                return float(v.ravel()[0]), 1 - k
    return None


def scale_factor(g: Graph, node: Node) -> float | None:
    """The factor a scalar Mul/Div applies to its activation input (None: not one)."""
    sc = scalar_const(g, node)
    if sc is None:
        return None
    value, _ = sc
    if node.op == "Div":
        return None if value == 0 else 1.0 / value
    return value


SELECT_OPS = ("Gather", "Slice", "Split")
VIEW_OPS = (*LAYOUT_OPS, *SELECT_OPS)


def _const_ints(g: Graph, node: Node, k: int, what: str) -> list[int] | None:
    if len(node.inputs) <= k or not node.inputs[k]:
        return None
    name = node.inputs[k]
    if name not in g.consts:
        raise node_error(node, f"{what} is computed at run time", f"accepted: constant {what}")
    return [int(v) for v in np.asarray(g.consts[name].raw).ravel()]


def apply_view(node: Node, idx: np.ndarray, g: Graph, output: str) -> np.ndarray:
    """``idx`` of ``output`` of ``node``: a layout op, or a selection by constants
    (Gather, Slice, Split), which keeps the selected elements' offsets."""
    if node.op in LAYOUT_OPS:
        return apply_layout(node, idx, g)
    rank = idx.ndim
    if node.op == "Gather":
        if len(node.inputs) < 2 or node.inputs[1] not in g.consts:
            raise node_error(node, "indices are computed at run time", "accepted: constant indices")
        axis = int(node.attr("axis", 0))
        if not -rank <= axis < rank:
            raise node_error(node, f"axis {axis} out of range for rank {rank}")
        ind = np.asarray(g.consts[node.inputs[1]].raw).astype(np.int64)
        size = idx.shape[axis]
        if ind.size and (ind.min() < -size or ind.max() >= size):
            raise node_error(node, f"index out of range for size {size}")
        return np.take(idx, ind % size, axis=axis)
    if node.op == "Slice":
        starts = _const_ints(g, node, 1, "starts") or []
        ends = _const_ints(g, node, 2, "ends") or []
        axes = _const_ints(g, node, 3, "axes") or list(range(len(starts)))
        steps = _const_ints(g, node, 4, "steps") or [1] * len(starts)
        if not len(starts) == len(ends) == len(axes) == len(steps):
            raise node_error(node, "starts/ends/axes/steps differ in length")
        index = [slice(None)] * rank
        for s, e, a, st in zip(starts, ends, axes, steps, strict=True):
            if not -rank <= a < rank or st == 0:
                raise node_error(node, f"axis {a} / step {st} invalid for rank {rank}")
            index[a % rank] = slice(s, e, st)
        return idx[tuple(index)]
    if node.op == "Split":
        axis = int(node.attr("axis", 0))
        if not -rank <= axis < rank:
            raise node_error(node, f"axis {axis} out of range for rank {rank}")
        axis %= rank
        size = idx.shape[axis]
        parts = _const_ints(g, node, 1, "split") or node.attr("split")
        count = len(node.outputs)
        if parts is None:
            n = int(node.attr("num_outputs", count))
            chunk = -(-size // n)
            parts = [min(chunk, size - i * chunk) for i in range(n)]
        parts = [int(p) for p in parts]
        if sum(parts) != size or len(parts) != count:
            raise node_error(node, f"split {parts} does not cover {size} in {count} outputs")
        k = node.outputs.index(output)
        start = sum(parts[:k])
        index = [slice(None)] * rank
        index[axis] = slice(start, start + parts[k])
        return idx[tuple(index)]
    raise node_error(node, "not a layout or selection operator")
