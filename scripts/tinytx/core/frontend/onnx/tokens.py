"""Token selection and class tokens: Gather/Slice of tokens, Concat of constant tokens.

Both are done with the existing integer kernels, exactly:

- picking tokens ``r0, r0 + st, ...`` of ``[T][E]`` (e.g. token 0 for a class-token
  classifier) is a depthwise convolution over the ``1 x T`` map of ``E`` channels with
  a ``1 x (r0 + 1)`` kernel whose last tap is 1 and stride ``st``;
- prepending (appending) ``c`` constant tokens (a class token) is a depthwise ``1 x 1``
  convolution of weight 1 with ``c`` zero tokens of padding on the left (right), then
  an Add of a constant that holds the tokens, rounded to the Concat output's scale as
  the QDQ model rounds them, in those rows (zero elsewhere, so the Add is exact).

The convolutions compute ``x * 1`` requantized by ``s_in / s_out`` (1 when the exporter
kept the scale, as onnxruntime does for Gather, Slice and Concat).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from tinytx.core import ir
from tinytx.core.frontend.onnx.graph import Node, node_error
from tinytx.core.frontend.onnx.layout import Placement, apply_view, is_row_major, row_major
from tinytx.core.frontend.onnx.patterns import requant

if TYPE_CHECKING:
    from tinytx.core.frontend.onnx.lower import Lowering

ACCEPT_SELECT = (
    "accepted: Gather/Slice by constants that keep whole tokens (rows of [S][E]): one "
    "token, or every st-th token from r0 to the end"
)
ACCEPT_CONCAT = (
    "accepted: Concat along the token axis of one activation [1][S][E] and constant "
    "tokens (a class token) before or after it"
)


def _dwconv_tokens(
    low: Lowering,
    node: Node,
    x: str,
    tokens: int,
    e: int,
    kw: int,
    stride: int,
    pad: tuple[int, int],
    out_value: str,
    s_y: float,
    z_y: int,
) -> str:
    """A depthwise conv over ``[1][1][tokens][e]`` with a ``1 x kw`` kernel whose last tap
    is 1: output token ``i`` is input token ``i * stride + kw - 1 - pad_left``. Padding
    holds the input zero point, so padded tokens come out as the output zero point."""
    src = low.view(low.place(x, node), (1, 1, tokens, e), node)
    out_w = (tokens + pad[0] + pad[1] - kw) // stride + 1
    weight = np.zeros((1, kw, e), np.int8)
    weight[0, kw - 1, :] = 1
    s_x, z_x = low.tensors[src].scale, low.tensors[src].zero_point
    y = low.new_tensor(out_value, (1, 1, out_w, e), s_y, z_y)
    low.ops.append(
        ir.DepthwiseConv2d(
            name=low.op_name("dwconv"),
            inputs=(src,),
            output=y,
            source=node.name,
            weight=weight,
            bias=np.full(e, -z_x, np.int32) if z_x else None,  # the folded input zero point
            stride=(1, stride),
            pad=(0, pad[0], 0, pad[1]),
            rq=requant(s_x / s_y, node, "requantization", zero_point=z_y),
            pad_value=z_x,
        )
    )
    return y


def _rows(low: Lowering, value: str, node: Node, accepted: str) -> tuple[Placement, int, int]:
    p = low.place(value, node)
    t = low.tensors[p.tensor]
    e = p.shape[-1] if p.shape else 1
    if not is_row_major(p.idx) or p.idx.size != t.size:
        raise node_error(node, f"input '{value}' {list(p.shape)} is not stored row-major", accepted)
    return p, t.size // e, e


def lower_select(low: Lowering, node: Node) -> None:
    """Gather/Slice of an activation (and Split with one used output)."""
    g = low.g
    used = [o for o in node.outputs if o and (g.consumers(o) or g.is_output(o))]
    if len(used) != 1:
        raise node_error(node, f"{len(used)} of its outputs are used", ACCEPT_SELECT)
    out = used[0]
    p = low.place(node.inputs[0], node)
    idx = apply_view(node, p.idx, g, out)
    t = low.tensors[p.tensor]
    if idx.size == t.size:
        low.places[out] = Placement(p.tensor, idx)
        low.done.add(id(node))
        return
    if not is_row_major(p.idx):
        raise node_error(
            node, f"selects from '{node.inputs[0]}', not stored row-major", ACCEPT_SELECT
        )
    e = p.shape[-1]
    tokens = t.size // e
    flat = np.sort(idx.ravel())
    if idx.size % e or flat.size == 0:
        raise node_error(node, "does not select whole tokens", ACCEPT_SELECT)
    picked = flat.reshape(-1, e)
    rows = picked[:, 0] // e
    if not np.array_equal(picked, rows[:, None] * e + np.arange(e)):
        raise node_error(node, "does not select whole tokens", ACCEPT_SELECT)
    r0, m = int(rows[0]), rows.size
    stride = int(rows[1] - rows[0]) if m > 1 else tokens
    if m > 1 and not np.array_equal(rows, r0 + stride * np.arange(m)):
        raise node_error(node, f"selects tokens {rows.tolist()}", ACCEPT_SELECT)
    if (tokens - r0 - 1) // stride + 1 != m:
        raise node_error(node, f"selects tokens {rows.tolist()} of {tokens}", ACCEPT_SELECT)
    s_y, z_y = low.scale(out, node), low.zero(out)
    y = _dwconv_tokens(low, node, node.inputs[0], tokens, e, r0 + 1, stride, (0, 0), out, s_y, z_y)
    # where each element of the ONNX output lives in the new [m][E] tensor
    pos = {int(v): i for i, v in enumerate(picked.ravel())}
    new_idx = np.vectorize(pos.__getitem__, otypes=[np.int64])(idx) if idx.size else idx
    low._finish((node,), out, y, new_idx)


def lower_concat(low: Lowering, node: Node) -> None:
    """Concat of one activation with constant tokens along the token axis."""
    g = low.g
    acts = [i for i in node.inputs if i not in g.consts]
    if len(acts) != 1:
        raise node_error(node, f"joins {len(acts)} activations", ACCEPT_CONCAT)
    x = acts[0]
    p, tokens, e = _rows(low, x, node, ACCEPT_CONCAT)
    rank = len(p.shape)
    axis = int(node.attr("axis", 0)) % max(rank, 1)
    if rank < 2 or axis != rank - 2 or math.prod(p.shape[:axis]) != 1:
        raise node_error(node, f"joins along axis {axis} of {list(p.shape)}", ACCEPT_CONCAT)
    k = node.inputs.index(x)
    before = [np.asarray(g.consts[i].value, np.float64) for i in node.inputs[:k]]
    after = [np.asarray(g.consts[i].value, np.float64) for i in node.inputs[k + 1 :]]
    for c in (*before, *after):
        if c.ndim != rank or c.shape[-1] != e or math.prod(c.shape[:axis]) != 1:
            raise node_error(node, f"constant {list(c.shape)} is not tokens of {e}", ACCEPT_CONCAT)
    rows_b = [c.reshape(-1, e) for c in before]
    rows_a = [c.reshape(-1, e) for c in after]
    nb, na = sum(r.shape[0] for r in rows_b), sum(r.shape[0] for r in rows_a)
    out = node.outputs[0]
    total = tokens + nb + na
    s_c, z_c = low.scale(out, node), low.zero(out)
    const = np.zeros((total, e))
    if nb:
        const[:nb] = np.concatenate(rows_b)
    if na:
        const[nb + tokens :] = np.concatenate(rows_a)
    shifted = _dwconv_tokens(low, node, x, tokens, e, 1, 1, (nb, na), out + "_shifted", s_c, z_c)
    out_shape = (*p.shape[:axis], total, e)
    # the constant tokens at the Concat output's scale and zero point, as the QDQ model
    # rounds them; the other rows hold the zero point (the real 0), so the Add is exact
    q = np.clip(np.rint(const / s_c) + z_c, -128, 127).astype(np.int8)
    place = Placement(shifted, row_major(out_shape))
    low._emit_add(node, place, (shifted,), s_c, q.reshape(low.tensors[shifted].shape), z_c)
