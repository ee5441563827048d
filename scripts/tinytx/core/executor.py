"""The golden executor: runs an IR model (as planned) in numpy with :mod:`tinytx.core.golden`.

It is the reference for the firmware: the generated code must produce exactly
:func:`run`'s bytes for every input. Inputs and outputs are in the firmware's memory
order (``Model.input_spec`` / ``output_spec`` relate them to the ONNX tensors);
:func:`quantize_input` and :func:`dequantize_output` do the float conversions the QDQ
model does at its input and output.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from tinytx.core import golden as g
from tinytx.core import ir
from tinytx.core.golden import dft
from tinytx.core.sparse_weights import SparseWeights, decode


def quantize_input(model: ir.Model, x: np.ndarray) -> np.ndarray:
    """A float ONNX input -> the int8 bytes the firmware takes (QuantizeLinear: float32
    division, round half to even, add the zero point, saturate). For a uint8 input of
    the ONNX model these are its uint8 codes minus 128."""
    t = model.tensors[model.input]
    q = np.rint(np.asarray(x, np.float32) / np.float32(t.scale)) + t.zero_point
    return model.input_spec.to_memory(np.clip(q, -128, 127).astype(np.int8))


def dequantize_output(model: ir.Model, y: np.ndarray) -> np.ndarray:
    """The firmware's int8 output bytes -> the float ONNX output tensor."""
    t = model.tensors[model.output]
    q = model.output_spec.from_memory(np.asarray(y, np.int8)).astype(np.float64)
    return (q - t.zero_point) * t.scale


def check_sparse(model: ir.Model, stored: Mapping[str, SparseWeights]) -> None:
    """The executor computes with the dense weights the IR keeps; the firmware reads the
    sparse arrays the plan stores (``stored``: layer -> its arrays). Check that every
    stored layer decodes to its dense weights, W as ``[rows][everything else]``
    (AssertionError otherwise: a converter bug, never a user error)."""
    dense: dict[str, np.ndarray] = {}
    for op in model.ops:
        if isinstance(op, (ir.Linear, ir.Conv2d)):
            dense[op.name] = op.weight.reshape(op.weight.shape[0], -1)
        elif isinstance(op, ir.Mhsa):  # the projections of a split block: <block>_q ...
            for p, f in (("q", "wq"), ("k", "wk"), ("v", "wv"), ("o", "wo")):
                dense[f"{op.name}_{p}"] = getattr(op.weights, f)
    for name, sw in stored.items():
        if not np.array_equal(decode(sw), dense[name]):
            raise AssertionError(f"{name}: the sparse weights do not decode to its W")


def _images(x: np.ndarray, f) -> np.ndarray:
    return np.stack([f(img) for img in x])


def run_op(op: ir.Op, args: list[np.ndarray], out_shape: tuple[int, ...]) -> np.ndarray:
    """One op on its input arrays (IR shapes); returns the output in ``out_shape``."""
    x = args[0]
    if isinstance(op, ir.Linear):
        y = g.linear_s8(x.reshape(-1, x.shape[-1]), op.weight, op.bias, op.rq)
    elif isinstance(op, ir.Mhsa):
        fw = op.fwsa
        if op.variant == "dft" and fw is not None:
            y = dft.fwsa_dft_s8(x, op.heads, fw.weights, fw.quant, op.tile)
        elif op.variant == "dft":
            y = dft.mhsa_dft_s8(x, op.heads, op.weights, op.quant, op.tile)
        elif fw is not None:
            y = g.fwsa_s8(x, op.heads, fw.weights, fw.quant)
        else:
            y = g.mhsa_s8(x, op.heads, op.weights, op.quant)
    elif isinstance(op, ir.LayerNorm):
        y = g.layernorm_s8(x, op.gamma, op.beta, op.eps_q16, op.rq)
    elif isinstance(op, ir.LayerNormSteps):
        y = g.layernorm_steps_s8(x, op.gamma, op.beta, op.table, op.params)
    elif isinstance(op, ir.AttentionSteps):
        y = g.attention_steps_s8(x, args[1], args[2], op.heads, op.params)
    elif isinstance(op, ir.Gelu):
        y = g.gelu_s8(x, op.params)
    elif isinstance(op, ir.Lut):
        y = g.lut_s8(x, op.table)
    elif isinstance(op, ir.Add):
        b = op.b_const if op.b_const is not None else args[1]
        y = g.add_s8(x, b, op.params)
    elif isinstance(op, ir.Conv2d):
        conv = g.depthwise_conv2d_s8 if isinstance(op, ir.DepthwiseConv2d) else g.conv2d_s8
        y = _images(
            x,
            lambda i: conv(
                i,
                op.weight,
                op.bias,
                op.rq,
                op.stride,
                op.pad,
                pad_value=op.pad_value,
                dilation=op.dilation,
            ),
        )
    elif isinstance(op, ir.MaxPool):
        y = _images(x, lambda i: g.maxpool2d_s8(i, op.kernel, op.stride, op.pad))
    elif isinstance(op, ir.AvgPool):
        y = _images(
            x,
            lambda i: g.avgpool2d_s8(
                i,
                op.kernel,
                op.stride,
                op.pad,
                op.rq,
                op.count_include_pad,
                op.input_zero_point,
                op.tflite_rounding,
            ),
        )
    elif isinstance(op, ir.MeanRows):
        y = g.mean_rows_s8(x, op.rq, op.input_zero_point)
    elif isinstance(op, ir.View):
        y = x
    elif isinstance(op, ir.Gather):
        y = g.gather_s8(x, op.indices, op.axis)
    elif isinstance(op, ir.Concat):
        y = g.concat_s8(op.parts(list(args)), op.axis)
    elif isinstance(op, ir.Mul):
        y = g.mul_s8(x, op.b_const if op.b_const is not None else args[1], op.params)
    else:  # pragma: no cover - every IR op is handled above
        raise TypeError(f"no golden implementation for {type(op).__name__}")
    return np.ascontiguousarray(y).reshape(out_shape)


def trace(model: ir.Model, x: np.ndarray) -> dict[str, np.ndarray]:
    """Every tensor of ``model`` for the int8 input bytes ``x`` (IR shapes)."""
    t_in = model.tensors[model.input]
    x = np.asarray(x)
    if x.dtype != np.int8 or x.size != t_in.size:
        raise ValueError(f"x: expected {t_in.size} int8 values, got {x.size} {x.dtype}")
    values = {model.input: x.reshape(t_in.shape)}
    for op in model.ops:
        out = model.tensors[op.output]
        values[op.output] = run_op(op, [values[n] for n in op.inputs], out.shape)
    return values


def run(model: ir.Model, x: np.ndarray) -> np.ndarray:
    """The int8 output bytes (memory order) for the int8 input bytes ``x``."""
    return trace(model, x)[model.output].ravel()


def run_batch(model: ir.Model, xs: np.ndarray) -> np.ndarray:
    """``run`` over a batch of input byte vectors ``[B][input bytes]``."""
    return np.stack([run(model, x) for x in np.asarray(xs)])


def logits(model: ir.Model, x_float: np.ndarray) -> np.ndarray:
    """Float ONNX input -> float ONNX output through the integer model."""
    return dequantize_output(model, run(model, quantize_input(model, x_float)))
