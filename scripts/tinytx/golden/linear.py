"""Linear layer with bias, writing the layouts the attention kernels read.

``acc[s, n] = sum_k x[s, k] * w[n, k] + bias[n]`` then :func:`requantize`.
Output layouts (``N = H * P``, column ``n = h * P + p``):

- ``TOKEN_MAJOR``      ``[S][N]``  (activations, the head concat)
- ``HEAD_MAJOR``       ``[H][S][P]`` (Q and K)
- ``HEAD_MAJOR_T``     ``[H][P][S]`` (V transposed, so A*V reads both operands row-wise)

The kernels fuse the layout into their stores; nothing is transposed afterwards.
"""

from __future__ import annotations

import enum

import numpy as np

from tinytx.golden.quant import Requant, as_int8, as_int32, requantize

MAX_K = 65535  # keeps |acc| < 2**31 with |bias| <= 2**30
BIAS_BOUND = 1 << 30


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
    if x.shape[1] > MAX_K:
        raise ValueError(f"x: {x.shape[1]} input features exceed the limit {MAX_K}")
    acc = x.astype(np.int64) @ w.astype(np.int64).T
    if bias is not None:
        acc += as_int32(bias, "bias", (w.shape[0],), BIAS_BOUND).astype(np.int64)
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
    rq: Requant,
    layout: Layout = Layout.TOKEN_MAJOR,
    heads: int = 1,
) -> np.ndarray:
    """int8 linear layer; see the module docstring for the layouts."""
    return to_layout(requantize(linear_acc(x, w, bias), rq), Layout(layout), heads)


def linear_float(x: np.ndarray, w: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
    y = np.asarray(x, np.float64) @ np.asarray(w, np.float64).T
    return y if bias is None else y + np.asarray(bias, np.float64)
