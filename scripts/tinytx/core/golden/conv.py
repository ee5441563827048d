"""2-D convolution and depthwise convolution of one int8 image (HWC layout).

Padding holds ``pad_value``, the input zero point (0 for symmetric inputs): the
real value 0. With the input zero point ``z_x`` folded into the bias
(``linear.fold_bias``: ``bias - z_x * sum w``) every tap, padded or not, then
contributes ``(x - z_x) * w`` exactly::

    acc[oy, ox, co] = bias[co] + sum_{ky, kx, ci} x[iy, ix, ci] * w[co, ky, kx, ci]
        iy = oy * stride_h - pad_top + ky,  ix = ox * stride_w - pad_left + kx
        (x[iy, ix, ci] = pad_value outside the image)
    y[oy, ox, co] = clamp(requantize(acc, rq), act_min, act_max)

Depthwise (channel multiplier ``M = C_out / C_in``, 1 by default)::

    acc[oy, ox, c] = bias[c] + sum_{ky, kx} x[iy, ix, c // M] * w[ky, kx, c]

Dilation ``(d_h, d_w)`` (1 by default) spreads the taps: ``iy = oy * stride_h - pad_top
+ ky * d_h`` (likewise ``ix``); the window then spans ``(KH - 1) d_h + 1`` rows, which
replaces ``KH`` in the output size below.

Shapes and conventions:

- ``x`` int8 ``[H][W][C_in]`` (one image, channels last, as CMSIS-NN);
- conv weights int8 ``[C_out][KH][KW][C_in]`` (the converter reorders ONNX's
  ``[C_out][C_in][KH][KW]`` offline); depthwise weights int8 ``[KH][KW][C]``
  (ONNX ``[C][1][KH][KW]``);
- ``bias`` int32 ``[C_out]`` with scale ``s_x * s_w``, or ``None``;
- ``rq = Requant.from_scale(s_x * s_w / s_y)``, or a ``ChannelRequant`` with one
  factor per output channel (per-channel weight scales);
- ``stride = (stride_h, stride_w)``, both >= 1;
  ``padding = (top, left, bottom, right)`` (ONNX ``pads`` order), all >= 0;
- output ``[OH][OW][C_out]`` with ``OH = (H + top + bottom - KH) // stride_h + 1``
  and ``OW = (W + left + right - KW) // stride_w + 1`` (ONNX ``ceil_mode=0``,
  ``auto_pad=NOTSET``); both must be >= 1. Groups other than 1 (conv) or ``C``
  (depthwise) are not supported.
- Clamp: the output is clamped to ``[act_min, act_max]`` *and* to the clamp of
  ``rq`` (both apply; pass the fused ReLU as ``act_min=0`` and leave ``rq``'s clamp
  at its default). An empty intersection is an error.
- A 1-D convolution over a sequence of length L is this operator with ``H = 1``
  (``x [1][L][C]``, kernel ``1 x K``).

Limits (as the linear layer, :func:`tinytx.core.golden.limits.kernel_limits`):
``KH * KW * C_in <= TINYTX_MAX_REDUCTION`` and ``|bias| <= TINYTX_BIAS_BOUND``, so
``|acc| < 2**31`` (exact int32 accumulation); each dimension of ``x``, the kernel, stride
and padding <= ``TINYTX_MAX_DIM``.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from tinytx.core.golden.limits import kernel_limits
from tinytx.core.golden.quant import INT8_MAX, INT8_MIN, AnyRequant, as_int8, as_int32, requantize


def _pair(value: tuple[int, int], name: str, lo: int) -> tuple[int, int]:
    v = tuple(int(a) for a in value)
    top = kernel_limits().max_dim
    if len(v) != 2 or any(not lo <= a <= top for a in v):
        raise ValueError(f"{name}: expected two integers in [{lo}, {top}], got {value!r}")
    return v[0], v[1]


def check_window(
    x_shape: tuple[int, ...],
    kernel: tuple[int, int],
    stride: tuple[int, int],
    padding: tuple[int, int, int, int],
) -> tuple[int, int]:
    """Check a sliding-window geometry; return the output size ``(OH, OW)``."""
    kh, kw = _pair(kernel, "kernel", 1)
    sh, sw = _pair(stride, "stride", 1)
    pads = tuple(int(p) for p in padding)
    top = kernel_limits().max_dim
    if len(pads) != 4 or any(not 0 <= p <= top for p in pads):
        raise ValueError(
            f"padding: expected (top, left, bottom, right) in [0, {top}], got {padding!r}"
        )
    h, w = x_shape[0], x_shape[1]
    top = kernel_limits().max_dim
    if h > top or w > top:
        raise ValueError(f"x: image {h}x{w} exceeds {top} on a side")
    top, left, bottom, right = pads
    if h + top + bottom < kh or w + left + right < kw:
        raise ValueError(
            f"kernel: {kh}x{kw} window is larger than the padded {h + top + bottom}x"
            f"{w + left + right} image"
        )
    return (h + top + bottom - kh) // sh + 1, (w + left + right - kw) // sw + 1


def windows(
    x: np.ndarray,
    kernel: tuple[int, int],
    stride: tuple[int, int],
    padding: tuple[int, int, int, int],
    fill: float = 0,
    dtype: type = np.int64,
    dilation: tuple[int, int] = (1, 1),
) -> np.ndarray:
    """View ``[OH][OW][C][KH][KW]`` (``dtype``) of the windows of ``x`` padded with ``fill``
    (``kernel`` taps ``dilation`` apart)."""
    top, left, bottom, right = (int(p) for p in padding)
    xp = np.pad(
        np.asarray(x).astype(dtype), ((top, bottom), (left, right), (0, 0)), constant_values=fill
    )
    extent = tuple((k - 1) * d + 1 for k, d in zip(kernel, dilation, strict=True))
    v = np.lib.stride_tricks.sliding_window_view(xp, extent, axis=(0, 1))
    return v[:: stride[0], :: stride[1], :, :: dilation[0], :: dilation[1]]


def _clamp(rq: AnyRequant, act_min: int, act_max: int) -> AnyRequant:
    lo, hi = max(rq.act_min, int(act_min)), min(rq.act_max, int(act_max))
    if not INT8_MIN <= lo <= hi <= INT8_MAX:
        raise ValueError(
            f"act_min: clamp [{act_min}, {act_max}] and rq's [{rq.act_min}, {rq.act_max}] "
            "leave no int8 value"
        )
    return dataclasses.replace(rq, act_min=lo, act_max=hi)


# einsum of the windows [OH][OW][C][KH][KW] with the weights, per operator
_CONV = "abcyx,oyxc->abo"  # w [C_out][KH][KW][C_in]
_DEPTHWISE = "abcyx,yxc->abc"  # w [KH][KW][C]


def _correlate(
    x: np.ndarray,
    w: np.ndarray,
    stride: tuple[int, int],
    padding: tuple[int, int, int, int],
    depthwise: bool,
    dtype: type,
    pad_value: float = 0,
    dilation: tuple[int, int] = (1, 1),
) -> np.ndarray:
    """The windows of ``x`` against the weights, in ``dtype``: ``[OH][OW][C_out]``
    (depthwise with multiplier M: output channel c reads input channel c // M)."""
    kernel = w.shape[:2] if depthwise else w.shape[1:3]
    win = windows(x, kernel, stride, padding, fill=pad_value, dtype=dtype, dilation=dilation)
    if depthwise and w.shape[-1] != x.shape[2]:
        win = np.repeat(win, w.shape[-1] // x.shape[2], axis=2)
    return np.einsum(_DEPTHWISE if depthwise else _CONV, win, w.astype(dtype))


def conv2d_acc(
    x: np.ndarray,
    w: np.ndarray,
    bias: np.ndarray | None,
    stride: tuple[int, int] = (1, 1),
    padding: tuple[int, int, int, int] = (0, 0, 0, 0),
    depthwise: bool = False,
    pad_value: int = 0,
    dilation: tuple[int, int] = (1, 1),
) -> np.ndarray:
    """int64 accumulators ``[OH][OW][C_out]`` of a conv (or depthwise conv), after checks."""
    x = as_int8(x, "x", 3)
    w = as_int8(w, "w", 3 if depthwise else 4)
    kh, kw = (w.shape[0], w.shape[1]) if depthwise else (w.shape[1], w.shape[2])
    cout = w.shape[-1 if depthwise else 0]
    if depthwise and cout % x.shape[2]:
        raise ValueError(f"w: {cout} channels are no multiple of x's {x.shape[2]}")
    if not depthwise and w.shape[-1] != x.shape[2]:
        raise ValueError(f"w: has {w.shape[-1]} input channels, x has {x.shape[2]}")
    dh, dw = _pair(dilation, "dilation", 1)
    taps = kh * kw * (1 if depthwise else x.shape[2])
    if taps > kernel_limits().max_reduction:
        raise ValueError(
            f"w: reduction of {taps} taps exceeds the limit {kernel_limits().max_reduction}"
        )
    check_window(x.shape, ((kh - 1) * dh + 1, (kw - 1) * dw + 1), stride, padding)
    if not INT8_MIN <= int(pad_value) <= INT8_MAX:
        raise ValueError(f"pad_value: {pad_value} outside [-128, 127]")
    acc = _correlate(x, w, stride, padding, depthwise, np.int64, int(pad_value), (dh, dw))
    if bias is not None:
        acc += as_int32(bias, "bias", (cout,), kernel_limits().bias_bound).astype(np.int64)
    return acc


def conv2d_s8(
    x: np.ndarray,
    w: np.ndarray,
    bias: np.ndarray | None,
    rq: AnyRequant,
    stride: tuple[int, int] = (1, 1),
    padding: tuple[int, int, int, int] = (0, 0, 0, 0),
    act_min: int = INT8_MIN,
    act_max: int = INT8_MAX,
    pad_value: int = 0,
    dilation: tuple[int, int] = (1, 1),
) -> np.ndarray:
    """int8 convolution ``[H][W][C_in] -> [OH][OW][C_out]``; see the module docstring."""
    acc = conv2d_acc(x, w, bias, stride, padding, pad_value=pad_value, dilation=dilation)
    return requantize(acc, _clamp(rq, act_min, act_max))


def depthwise_conv2d_s8(
    x: np.ndarray,
    w: np.ndarray,
    bias: np.ndarray | None,
    rq: AnyRequant,
    stride: tuple[int, int] = (1, 1),
    padding: tuple[int, int, int, int] = (0, 0, 0, 0),
    act_min: int = INT8_MIN,
    act_max: int = INT8_MAX,
    pad_value: int = 0,
    dilation: tuple[int, int] = (1, 1),
) -> np.ndarray:
    """int8 depthwise convolution ``[H][W][C] -> [OH][OW][C M]``, weights ``[KH][KW][C M]``
    (multiplier ``M``: output channel c filters input channel c // M)."""
    acc = conv2d_acc(
        x, w, bias, stride, padding, depthwise=True, pad_value=pad_value, dilation=dilation
    )
    return requantize(acc, _clamp(rq, act_min, act_max))


def _float_conv(
    x: np.ndarray,
    w: np.ndarray,
    bias: np.ndarray | None,
    stride: tuple[int, int],
    padding: tuple[int, int, int, int],
    depthwise: bool,
) -> np.ndarray:
    y = _correlate(x, np.asarray(w, np.float64), stride, padding, depthwise, np.float64)
    return y if bias is None else y + np.asarray(bias, np.float64)


def conv2d_float(
    x: np.ndarray,
    w: np.ndarray,
    bias: np.ndarray | None,
    stride: tuple[int, int] = (1, 1),
    padding: tuple[int, int, int, int] = (0, 0, 0, 0),
) -> np.ndarray:
    """Float reference: same layouts, real values, no rounding."""
    return _float_conv(x, w, bias, stride, padding, depthwise=False)


def depthwise_conv2d_float(
    x: np.ndarray,
    w: np.ndarray,
    bias: np.ndarray | None,
    stride: tuple[int, int] = (1, 1),
    padding: tuple[int, int, int, int] = (0, 0, 0, 0),
) -> np.ndarray:
    """Float reference of :func:`depthwise_conv2d_s8` (weights ``[KH][KW][C]``)."""
    return _float_conv(x, w, bias, stride, padding, depthwise=True)
