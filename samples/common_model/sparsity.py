"""Pruning masks and the sparsity of quantized weights, in tinytx's weight order
(numpy and onnx only: the pruned-model tests use it without torch).

tinytx reduces a linear layer's weight ``[out][in]`` along ``in`` and a convolution's
weight in its own layout ``[out][kh][kw][in]`` along ``kh * kw * in`` (the ONNX weight
``[out][in][kh][kw]`` permuted). :func:`block4_keep` groups each output row's reduction
axis, in that order, into blocks of 4 consecutive values (the row padded with zeros to
a multiple of 4, block ``c / 4`` as in ``TINYTX_SPARSE_BLOCK4``) and keeps the blocks of
largest L1 norm. :func:`block4_stats` counts the all-zero blocks of an int8 weight in the
same order; :func:`layer_sparsity` reports every int8 weight of a QDQ model.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper, numpy_helper

WEIGHT_OPS = ("MatMul", "Gemm", "Conv")


def reduction_rows(w: np.ndarray) -> np.ndarray:
    """``[out][reduction]`` view of a PyTorch/ONNX-ordered weight: a Linear ``[out][in]``
    as it is, a convolution ``[out][in][k...]`` permuted to ``[out][k...][in]``."""
    if w.ndim == 2:
        return w
    return np.moveaxis(w, 1, -1).reshape(w.shape[0], -1)


def from_reduction_rows(rows: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Inverse of :func:`reduction_rows` for a weight of ``shape``."""
    if len(shape) == 2:
        return rows.reshape(shape)
    permuted = (shape[0], *shape[2:], shape[1])
    return np.moveaxis(rows.reshape(permuted), -1, 1)


def _blocks(rows: np.ndarray) -> np.ndarray:
    """``[out][blocks][4]``, each row padded with zeros to a multiple of 4."""
    out, cols = rows.shape
    padded = np.zeros((out, -(-cols // 4) * 4), dtype=rows.dtype)
    padded[:, :cols] = rows
    return padded.reshape(out, -1, 4)


def block4_keep(w: np.ndarray, amount: float) -> np.ndarray:
    """Mask (1 = keep) of ``w``'s shape zeroing ``round(amount * blocks)`` 1x4 blocks of
    the smallest L1 norm over the whole layer (ties: the earlier block goes first)."""
    blocks = _blocks(reduction_rows(np.abs(w.astype(np.float64))))
    norms = blocks.sum(axis=2).reshape(-1)
    drop = np.argsort(norms, kind="stable")[: round(amount * norms.size)]
    keep = np.ones(norms.size, dtype=np.float32)
    keep[drop] = 0.0
    cols = reduction_rows(w).shape[1]
    rows = np.repeat(keep.reshape(blocks.shape[:2]), 4, axis=1)[:, :cols]
    return from_reduction_rows(rows, w.shape).astype(np.float32)


def block4_stats(rows: np.ndarray) -> tuple[int, int]:
    """(blocks, all-zero blocks) of an ``[out][reduction]`` weight in 1x4 blocks."""
    blocks = _blocks(rows)
    zero = int(np.all(blocks == 0, axis=2).sum())
    return int(blocks.shape[0] * blocks.shape[1]), zero


def _int8_weight(
    node: onnx.NodeProto, producer: dict[str, onnx.NodeProto], init: dict[str, np.ndarray]
) -> tuple[str, np.ndarray] | None:
    """The int8 initializer behind the node's weight input (through a DequantizeLinear)."""
    if len(node.input) < 2:
        return None
    dq = producer.get(node.input[1])
    if dq is None or dq.op_type != "DequantizeLinear" or dq.input[0] not in init:
        return None
    w = init[dq.input[0]]
    if w.dtype != np.int8:
        return None
    scale = init.get(dq.input[1])
    if scale is not None and scale.size != 1:
        raise ValueError(f"{node.name}: per-channel weights (not produced here)")
    zp = init.get(dq.input[2]) if len(dq.input) > 2 and dq.input[2] else None
    if zp is not None and np.any(zp != 0):
        raise ValueError(f"{node.name}: weight zero point is not 0")
    return dq.input[0], w


def weight_rows(node: onnx.NodeProto, w: np.ndarray) -> np.ndarray:
    """The node's weight as ``[out][reduction]`` in tinytx's order."""
    if node.op_type == "MatMul":
        return w.T  # x @ W, W [in][out]
    if node.op_type == "Gemm":
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        return w if attrs.get("transB", 0) else w.T
    return reduction_rows(w)


def layer_sparsity(q_model: onnx.ModelProto, float_model: onnx.ModelProto | None) -> list[dict]:
    """One entry per MatMul/Gemm/Conv with an int8 weight, in graph order: its element
    and 1x4-block counts and zeros in tinytx's order; with the float model (same node
    names), ``float_zeros`` and ``zeros_stay_zero`` (every float zero is an int8 zero)."""
    g = q_model.graph
    init = {i.name: numpy_helper.to_array(i) for i in g.initializer}
    producer = {o: n for n in g.node for o in n.output}
    floats: dict[str, np.ndarray] = {}
    if float_model is not None:
        f_init = {i.name: numpy_helper.to_array(i) for i in float_model.graph.initializer}
        for n in float_model.graph.node:
            if n.op_type in WEIGHT_OPS and len(n.input) > 1 and n.input[1] in f_init:
                floats[n.name] = f_init[n.input[1]]
    layers = []
    for node in g.node:
        if node.op_type not in WEIGHT_OPS:
            continue
        found = _int8_weight(node, producer, init)
        if found is None:
            continue
        name, w = found
        rows = weight_rows(node, w)
        blocks, zero_blocks = block4_stats(rows)
        entry = {
            "node": node.name,
            "op": node.op_type,
            "weight": name,
            "shape": list(w.shape),
            "elements": int(w.size),
            "zeros": int((w == 0).sum()),
            "sparsity": round(float((w == 0).mean()), 4),
            "blocks4": blocks,
            "zero_blocks4": zero_blocks,
            "block4_sparsity": round(zero_blocks / blocks, 4),
        }
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        if attrs.get("group", 1) != 1:
            entry["group"] = int(attrs["group"])
        f = floats.get(node.name)
        if f is not None:
            entry["float_zeros"] = int((f == 0).sum())
            entry["zeros_stay_zero"] = bool(np.all(w[f == 0] == 0))
        layers.append(entry)
    return layers


def total_sparsity(layers: list[dict]) -> dict:
    elements = sum(e["elements"] for e in layers)
    zeros = sum(e["zeros"] for e in layers)
    return {"elements": elements, "zeros": zeros, "sparsity": round(zeros / elements, 4)}
