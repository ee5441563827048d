"""``keras.layers.TimeDistributed`` as the TFLite converter unrolls it, folded back into
one batched op.

The form: a tensor ``X`` ``[T, 1, ...]`` is cut into its ``T`` frames by STRIDED_SLICE
(frame ``i``: begin ``i``, end ``i + 1`` on axis 0, that axis shrunk, every other axis
whole), the same operator (same constant inputs, same options) runs on each frame, and
PACK (axis 0) stacks the results into ``[T, 1, ...]``. The IR's convolutions and poolings
take ``N`` images, so the block is that operator on ``X`` seen as ``[T, ...]``: the same
arithmetic, frame by frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from tinytx.core.frontend.tflite.reader import TflGraph, TflOp

if TYPE_CHECKING:
    from tinytx.core.frontend.tflite.lower import Lowering

BATCHED = ("CONV_2D", "DEPTHWISE_CONV_2D", "MAX_POOL_2D", "AVERAGE_POOL_2D")


@dataclass(frozen=True)
class FramesMatch:
    x: int  # the [T, 1, ...] tensor that is sliced
    first: TflOp  # the per-frame operator of frame 0 (lowered on all frames at once)
    slice0: int  # the output of frame 0's slice
    pack: TflOp
    ops: frozenset[int]

    @property
    def last(self) -> int:
        return self.pack.index


def _same_const(g: TflGraph, a: int, b: int) -> bool:
    """The same tensor, or two constants of equal data and quantization (the converter
    gives every frame its own copy of a bias)."""
    if a == b:
        return True
    if a < 0 or b < 0:
        return False
    ta, tb = g.tensors[a], g.tensors[b]
    return (
        ta.data is not None
        and tb.data is not None
        and ta.dtype == tb.dtype
        and np.array_equal(ta.data, tb.data)
        and np.array_equal(ta.scales, tb.scales)
        and np.array_equal(ta.zero_points, tb.zero_points)
    )


def _frame(g: TflGraph, op: TflOp | None, x_shape: tuple[int, ...]) -> tuple[int, int] | None:
    """(sliced tensor, frame index) of a STRIDED_SLICE that takes one whole frame."""
    if op is None or op.name != "STRIDED_SLICE" or len(op.inputs) != 4:
        return None
    begin, end, strides = (g.tensors[i].data for i in op.inputs[1:])
    if begin is None or end is None or strides is None or len(x_shape) != begin.size:
        return None
    rank = begin.size
    whole = (1 << rank) - 2  # every axis but the first: masked begin and end
    o = op.options
    if (
        int(o.get("ShrinkAxisMask", 0)) != 1
        or int(o.get("EllipsisMask", 0))
        or int(o.get("NewAxisMask", 0))
        or not np.all(strides == 1)
    ):
        return None
    masked = (
        int(o.get("BeginMask", 0)) & whole == whole and int(o.get("EndMask", 0)) & whole == whole
    )
    explicit = np.all(begin[1:] == 0) and np.array_equal(end[1:], x_shape[1:])
    if not (masked or explicit) or int(end[0]) != int(begin[0]) + 1:
        return None
    return op.inputs[0], int(begin[0])


def match_frames(g: TflGraph) -> list[FramesMatch]:
    producer = {o: op for op in g.ops for o in op.outputs}
    users: dict[int, list[TflOp]] = {}
    for op in g.ops:
        for i in op.inputs:
            if i >= 0:
                users.setdefault(i, []).append(op)
    found = []
    for pack in g.ops:
        if pack.name != "PACK" or int(pack.opt("Axis", 0)) != 0:
            continue
        per = [producer.get(v) for v in pack.inputs]
        if any(p is None or p.name not in BATCHED for p in per):
            continue
        first = per[0]
        same = all(
            p.name == first.name
            and p.options == first.options
            and len(p.inputs) == len(first.inputs)
            and all(
                _same_const(g, a, b) for a, b in zip(p.inputs[1:], first.inputs[1:], strict=True)
            )
            for p in per
        )
        if not same:
            continue
        x = producer.get(first.inputs[0]).inputs[0] if producer.get(first.inputs[0]) else -1
        x_shape = g.tensors[x].shape if x >= 0 else ()
        frames = [_frame(g, producer.get(p.inputs[0]), x_shape) for p in per]
        if (
            x < 0
            or len(x_shape) < 2
            or x_shape[0] != len(per)
            or x_shape[1] != 1
            or frames != [(x, i) for i in range(len(per))]
        ):
            continue
        slices = [producer[p.inputs[0]] for p in per]
        inner = [s.outputs[0] for s in slices] + [p.outputs[0] for p in per]
        members = {pack.index, *(s.index for s in slices), *(p.index for p in per)}
        if any(v in g.outputs or any(u.index not in members for u in users[v]) for v in inner):
            continue
        found.append(FramesMatch(x, first, slices[0].outputs[0], pack, frozenset(members)))
    return found


def lower_frames(lo: Lowering, m: FramesMatch, handler) -> None:
    x = lo.act(m.first, m.x)
    shape = lo.tensors[x].shape
    lo.values[m.slice0] = lo.view(x, (shape[0], *shape[2:]), m.first)
    handler(m.first)
    y = lo.values[m.first.outputs[0]]
    ys = lo.tensors[y].shape
    lo.values[m.pack.outputs[0]] = lo.view(y, (ys[0], 1, *ys[1:]), m.pack)
