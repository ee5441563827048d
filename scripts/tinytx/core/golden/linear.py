"""Linear layer with bias, writing the layouts the attention kernels read.

``acc[s, n] = sum_k x[s, k] * w[n, k] + bias[n]`` then :func:`requantize`.
Output layouts (``N = H * P``, column ``n = h * P + p``):

- ``TOKEN_MAJOR``      ``[S][N]``  (activations, the head concat)
- ``HEAD_MAJOR``       ``[H][S][P]`` (Q and K)
- ``HEAD_MAJOR_T``     ``[H][P][S]`` (V transposed, so A*V reads both operands row-wise)

The kernels fuse the layout into their stores; nothing is transposed afterwards.

``rq`` is a :class:`Requant` or, for per-output-channel weight scales, a
:class:`ChannelRequant` with one factor per output feature ``n``.

Input zero point ``z_x`` (asymmetric activations): the real accumulator is
``sum_k (x - z_x) w + b = sum_k x w + (b - z_x * sum_k w)``, so :func:`fold_bias`
moves ``z_x`` into the int32 bias offline and the kernel is unchanged.
"""

from __future__ import annotations

import enum

import numpy as np

from tinytx.core.golden.limits import kernel_limits
from tinytx.core.golden.quant import AnyRequant, as_int8, as_int32, requantize


class Layout(enum.IntEnum):
    TOKEN_MAJOR = 0
    HEAD_MAJOR = 1
    HEAD_MAJOR_T = 2


def linear_acc(x: np.ndarray, w: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
    """int64 accumulators ``[S][N]`` after argument checks."""
    x = as_int8(x, "x", 2)
    w = as_int8(w, "w", 2)
    if w.shape[1] != x.shape[1]:
        raise ValueError(f"w: has {w.shape[1]} input features, x has {x.shape[1]}")
    top = kernel_limits().max_reduction  # keeps |acc| < 2**31 with the largest bias
    if x.shape[1] > top:
        raise ValueError(f"x: {x.shape[1]} input features exceed the limit {top}")
    acc = x.astype(np.int64) @ w.astype(np.int64).T
    if bias is not None:
        acc += as_int32(bias, "bias", (w.shape[0],), kernel_limits().bias_bound).astype(np.int64)
    return acc


def to_layout(y: np.ndarray, layout: Layout, heads: int) -> np.ndarray:
    """Rearrange token-major ``[S][N]`` into ``layout``."""
    s, n = y.shape
    if heads < 1 or n % heads:
        raise ValueError(f"heads: {heads} does not divide the {n} output features")
    p = n // heads
    if layout == Layout.TOKEN_MAJOR:
        return y
    if layout == Layout.HEAD_MAJOR:
        return np.ascontiguousarray(y.reshape(s, heads, p).transpose(1, 0, 2))
    if layout == Layout.HEAD_MAJOR_T:
        return np.ascontiguousarray(y.reshape(s, heads, p).transpose(1, 2, 0))
    raise ValueError(f"layout: unknown layout {layout!r}")


def linear_s8(
    x: np.ndarray,
    w: np.ndarray,
    bias: np.ndarray | None,
    rq: AnyRequant,
    layout: Layout = Layout.TOKEN_MAJOR,
    heads: int = 1,
) -> np.ndarray:
    """int8 linear layer; see the module docstring for the layouts."""
    return to_layout(requantize(linear_acc(x, w, bias), rq), Layout(layout), heads)


def fold_bias(
    bias: np.ndarray | None, w: np.ndarray, z_x: int, name: str = "bias"
) -> np.ndarray | None:
    """``bias - z_x * (sum of each output channel's weights)`` (int32): the input zero
    point folded into the bias (linear ``w [N][K]``, conv ``[C_out][KH][KW][C_in]``: the
    first axis is the output channel). ``None`` stays ``None`` when ``z_x == 0``; the
    result must keep ``|b| <= 2**30``."""
    w = np.asarray(w)
    if z_x == 0:
        return bias
    sums = w.astype(np.int64).reshape(w.shape[0], -1).sum(axis=1)
    return _folded(bias, sums, z_x, name)


def fold_bias_depthwise(
    bias: np.ndarray | None, w: np.ndarray, z_x: int, name: str = "bias"
) -> np.ndarray | None:
    """:func:`fold_bias` for depthwise weights ``[KH][KW][C]``."""
    w = np.asarray(w)
    if z_x == 0:
        return bias
    return _folded(bias, w.astype(np.int64).reshape(-1, w.shape[-1]).sum(axis=0), z_x, name)


def _folded(bias: np.ndarray | None, sums: np.ndarray, z_x: int, name: str) -> np.ndarray:
    b = np.zeros(sums.shape, np.int64) if bias is None else np.asarray(bias, np.int64)
    folded = b - np.int64(z_x) * sums
    if folded.size and int(np.abs(folded).max()) > kernel_limits().bias_bound:
        raise ValueError(
            f"{name}: folding the input zero point {z_x} gives a bias beyond "
            f"+/-{kernel_limits().bias_bound} (TINYTX_BIAS_BOUND)"
        )
    return folded.astype(np.int32)


def linear_float(x: np.ndarray, w: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
    y = np.asarray(x, np.float64) @ np.asarray(w, np.float64).T
    return y if bias is None else y + np.asarray(bias, np.float64)
