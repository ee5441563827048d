"""Pooling of one int8 image (HWC) and the token mean (ReduceMean / global pooling).

Geometry as in :mod:`tinytx.core.golden.conv`: ``x`` int8 ``[H][W][C]``,
``kernel = (KH, KW)``, ``stride = (stride_h, stride_w)``,
``padding = (top, left, bottom, right)``, output ``[OH][OW][C]`` with
``OH = (H + top + bottom - KH) // stride_h + 1`` (ONNX ``ceil_mode=0``).
Each pad must be smaller than the kernel side it pads (as onnxruntime requires),
so every window holds at least one pixel of the image.

Max pooling (input and output share one scale and zero point, as in a QDQ graph)::

    y[oy, ox, c] = max over the window's pixels inside the image of x[iy, ix, c]

Padding never wins a max (ONNX: padded positions are ignored).

Average pooling. ``rq = Requant.from_scale(s_x / s_y)`` is the ratio of scales
*without* the 1/count, because with ONNX's default ``count_include_pad=0`` the
count differs at the borders. With ``sum`` the int32 window sum (padded positions
add 0), ``c`` the divisor and ``(m, s)`` from ``rq``::

    c = number of window positions inside the image   (count_include_pad=False,
                                                       the ONNX default)
    c = KH * KW                                       (count_include_pad=True)
    t = sum * m                                       (int64, exact)
    v = ((t + (c & 1) * 2**(s-1)) >> s) + (c >> 1)    (int64)
    y = clamp(v // c, act_min, act_max)               (floor division)

which is ``round_half_up(sum * m / (c * 2**s))``: the window mean, rescaled and
rounded once (``floor((t + c*2**(s-1)) / 2**s) = v`` for even and odd ``c``, and
nested floor divisions compose). A C implementation may clamp ``v`` to
``[act_min * c, (act_max + 1) * c - 1]`` first and divide in 32 bits.

Token mean (ONNX ``ReduceMean`` over the tokens of ``[S][E]``, or global average
pooling of an image viewed as ``[H*W][C]``); ``rq`` *includes* the 1/S::

    y[e] = requantize(sum_s x[s, e], rq),   rq = Requant.from_scale(s_x / (S * s_y))

Input zero point ``z_x`` (``input_zero_point``): average pooling and the token mean
sum ``x - z_x`` over the pixels inside the image (``sum - n_inside * z_x``): padded
positions are real zeros in both count modes. The output zero point is
``rq.zero_point``, added after the division (average pooling) or by the
requantization (token mean).

Limits: ``KH * KW`` and ``S`` at most ``TINYTX_MAX_REDUCTION`` (65535) keep every sum below
``2**23``.
"""

from __future__ import annotations

import numpy as np

from tinytx.core.golden.conv import check_window, windows
from tinytx.core.golden.limits import kernel_limits
from tinytx.core.golden.quant import Requant, as_int8, requantize


def _check_pool(
    x: np.ndarray,
    kernel: tuple[int, int],
    stride: tuple[int, int],
    padding: tuple[int, int, int, int],
) -> np.ndarray:
    x = as_int8(x, "x", 3)
    check_window(x.shape, kernel, stride, padding)
    kh, kw = (int(k) for k in kernel)
    top = kernel_limits().max_reduction
    if kh * kw > top:
        raise ValueError(f"kernel: {kh}x{kw} window exceeds {top} elements")
    top, left, bottom, right = (int(p) for p in padding)
    if max(top, bottom) >= kh or max(left, right) >= kw:
        raise ValueError(f"padding: {tuple(padding)} must be smaller than the {kh}x{kw} kernel")
    return x


def maxpool2d_s8(
    x: np.ndarray,
    kernel: tuple[int, int],
    stride: tuple[int, int],
    padding: tuple[int, int, int, int] = (0, 0, 0, 0),
) -> np.ndarray:
    """int8 max pooling ``[H][W][C] -> [OH][OW][C]``; padding is ignored."""
    x = _check_pool(x, kernel, stride, padding)
    win = windows(x, kernel, stride, padding, fill=-(1 << 20))
    return win.max(axis=(3, 4)).astype(np.int8)


def window_counts(
    shape: tuple[int, int],
    kernel: tuple[int, int],
    stride: tuple[int, int],
    padding: tuple[int, int, int, int],
) -> np.ndarray:
    """int64 ``[OH][OW]``: how many positions of each window lie inside the image."""
    ones = np.ones((shape[0], shape[1], 1), np.int8)
    return windows(ones, kernel, stride, padding).sum(axis=(2, 3, 4))


def avgpool2d_s8(
    x: np.ndarray,
    kernel: tuple[int, int],
    stride: tuple[int, int],
    padding: tuple[int, int, int, int],
    rq: Requant,
    count_include_pad: bool = False,
    input_zero_point: int = 0,
    tflite_rounding: bool = False,
) -> np.ndarray:
    """int8 average pooling ``[H][W][C] -> [OH][OW][C]``; ``rq`` is ``s_x / s_y``.

    ``tflite_rounding``: TFLite's int8 AVERAGE_POOL_2D, whose input and output share scale
    and zero point (``rq`` the identity, ``multiplier == 2**shift``, and its zero point the
    input's): the average of the codes themselves, rounded half away from zero,
    ``clamp(sign(S) * ((|S| + c // 2) // c))`` with ``S`` the sum of the codes."""
    x = _check_pool(x, kernel, stride, padding)
    _check_zero_point(input_zero_point)
    total = windows(x, kernel, stride, padding).sum(axis=(3, 4))  # [OH][OW][C]
    inside = window_counts(x.shape, kernel, stride, padding)
    if count_include_pad:
        c = np.full(total.shape[:2], int(kernel[0]) * int(kernel[1]), np.int64)
    else:
        c = inside
    if tflite_rounding:
        if rq.multiplier != 1 << rq.shift or rq.zero_point != input_zero_point:
            raise ValueError("tflite_rounding: rq must be the identity at the input zero point")
        c3 = c[:, :, None]
        avg = np.sign(total) * ((np.abs(total) + c3 // 2) // c3)
        return np.clip(avg, rq.act_min, rq.act_max).astype(np.int8)
    total = total - (inside * np.int64(input_zero_point))[:, :, None]
    c = c[:, :, None]
    t = total * np.int64(rq.multiplier)
    half = (c & 1) * np.int64(1 << (rq.shift - 1))
    v = ((t + half) >> np.int64(rq.shift)) + (c >> 1)
    return np.clip(v // c + rq.zero_point, rq.act_min, rq.act_max).astype(np.int8)


def _check_zero_point(z: int) -> None:
    if not -128 <= int(z) <= 127:
        raise ValueError(f"input_zero_point: {z} outside [-128, 127]")


def mean_rows_s8(x: np.ndarray, rq: Requant, input_zero_point: int = 0) -> np.ndarray:
    """int8 ``[S][E] -> [E]``: requantized column sums (``rq`` includes the 1/S)."""
    x = as_int8(x, "x", 2)
    top = kernel_limits().max_reduction
    if x.shape[0] > top:
        raise ValueError(f"x: {x.shape[0]} rows exceed the limit {top}")
    _check_zero_point(input_zero_point)
    total = x.astype(np.int64).sum(axis=0) - x.shape[0] * int(input_zero_point)
    return requantize(total, rq)


def maxpool2d_float(
    x: np.ndarray,
    kernel: tuple[int, int],
    stride: tuple[int, int],
    padding: tuple[int, int, int, int] = (0, 0, 0, 0),
) -> np.ndarray:
    v = windows(x, kernel, stride, padding, fill=-np.inf, dtype=np.float64)
    return v.max(axis=(3, 4))


def avgpool2d_float(
    x: np.ndarray,
    kernel: tuple[int, int],
    stride: tuple[int, int],
    padding: tuple[int, int, int, int],
    count_include_pad: bool = False,
) -> np.ndarray:
    """ONNX AveragePool (``ceil_mode=0``) on real values."""
    total = windows(x, kernel, stride, padding, dtype=np.float64).sum(axis=(3, 4))
    if count_include_pad:
        return total / (kernel[0] * kernel[1])
    c = window_counts(np.shape(x), kernel, stride, padding)
    return total / c[:, :, None]


def mean_rows_float(x: np.ndarray) -> np.ndarray:
    return np.asarray(x, np.float64).mean(axis=0)
