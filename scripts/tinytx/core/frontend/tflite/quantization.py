"""TFLite's int8 quantization spec checked and turned into the golden model's factors.

Activations: int8, one scale and zero point per tensor (asymmetric). Weights: int8,
symmetric (zero point 0), per tensor or per output channel (axis 0 for FULLY_CONNECTED
and CONV_2D, axis 3 for DEPTHWISE_CONV_2D). Biases: int32 at ``s_in * s_w``; the input
zero point is folded into them offline (:func:`tinytx.core.golden.fold_bias`), as the
ONNX frontend does.
"""

from __future__ import annotations

import numpy as np

from tinytx.core import golden as gold
from tinytx.core.frontend.onnx.graph import FrontendError
from tinytx.core.frontend.tflite.reader import TflOp, TflTensor
from tinytx.core.golden.limits import kernel_limits

ACCEPT_QUANT = (
    "accepted: full-integer int8 models (TFLiteConverter with optimizations=[DEFAULT], a "
    "representative dataset and TFLITE_BUILTINS_INT8)"
)


def op_error(op: TflOp, problem: str, accepted: str = "") -> FrontendError:
    tail = f"; {accepted}" if accepted else ""
    return FrontendError(f"operator {op.index} ({op.name}): {problem}{tail}")


def activation(op: TflOp, t: TflTensor) -> tuple[float, int]:
    """(scale, zero point) of an int8 activation tensor."""
    if t.dtype == "int16":
        raise op_error(op, f"tensor '{t.name}' is int16 (16x8 quantization)", ACCEPT_QUANT)
    if t.dtype != "int8" or not t.quantized:
        raise op_error(op, f"tensor '{t.name}' is {t.dtype}, not quantized int8", ACCEPT_QUANT)
    if t.scales.size != 1:
        raise op_error(op, f"activation '{t.name}' has {t.scales.size} scales", "accepted: one")
    return t.scale, t.zero_point


def weight(op: TflOp, t: TflTensor, axis: int) -> tuple[np.ndarray, float | np.ndarray]:
    """(int8 array, scale or per-channel scales along ``axis``) of a constant weight."""
    if t.data is None:
        raise op_error(op, f"weight '{t.name}' is not a constant", "accepted: constant weights")
    if t.dtype != "int8" or not t.quantized:
        raise op_error(op, f"weight '{t.name}' is {t.dtype}, not int8", ACCEPT_QUANT)
    if np.any(t.zero_points != 0):
        raise op_error(op, f"weight '{t.name}' has nonzero zero points", "accepted: symmetric")
    if t.scales.size == 1:
        return t.data, t.scale
    if t.quantized_dimension != axis or t.scales.size != t.shape[axis]:
        raise op_error(
            op,
            f"weight '{t.name}': {t.scales.size} scales on axis {t.quantized_dimension}",
            f"accepted: per tensor or per channel on axis {axis}",
        )
    return t.data, t.scales.copy()


def bias(op: TflOp, t: TflTensor | None, n: int) -> np.ndarray | None:
    if t is None:
        return None
    if t.data is None or t.dtype != "int32" or t.data.shape != (n,):
        raise op_error(op, f"bias '{t.name}' is not a constant int32 [{n}]", ACCEPT_QUANT)
    bound = kernel_limits().bias_bound
    if np.any(np.abs(t.data.astype(np.int64)) > bound):
        raise op_error(op, f"bias '{t.name}' exceeds +-{bound}", "accepted: the kernels' bound")
    return t.data.astype(np.int32)


def folded(op: TflOp, fold, b: np.ndarray | None, w: np.ndarray, z_x: int) -> np.ndarray | None:
    """``fold(b, w, z_x)`` (:func:`tinytx.core.golden.fold_bias` or its depthwise form),
    its range error as one line."""
    try:
        return fold(b, w, z_x)
    except ValueError as exc:
        raise op_error(op, f"bias with the input zero point folded in: {exc}") from None


def clamp(op: TflOp, s_y: float, z_y: int) -> tuple[int, int]:
    """The int8 clamp of the op's fused activation."""
    fused = int(op.opt("FusedActivationFunction", 0) or 0)
    lo, hi = -128, 127
    if fused == 1:  # RELU
        lo = max(lo, z_y)
    elif fused == 2:  # RELU_N1_TO_1
        lo, hi = max(lo, z_y + round(-1 / s_y)), min(hi, z_y + round(1 / s_y))
    elif fused == 3:  # RELU6
        lo, hi = max(lo, z_y), min(hi, z_y + round(6 / s_y))
    elif fused != 0:
        raise op_error(op, f"fused activation {fused}", "accepted: NONE, RELU, RELU_N1_TO_1, RELU6")
    return lo, hi


def requant(
    op: TflOp, real: float | np.ndarray, z_y: int, act: tuple[int, int] = (-128, 127)
) -> gold.Requant | gold.ChannelRequant:
    kw = {"act_min": act[0], "act_max": act[1], "zero_point": z_y}
    try:
        if np.ndim(real) > 0:
            return gold.ChannelRequant.from_scales(np.asarray(real).ravel(), "requant", **kw)
        return gold.Requant.from_scale(float(real), "requant", **kw)
    except ValueError as exc:
        raise op_error(op, f"requantization: {exc}") from None
