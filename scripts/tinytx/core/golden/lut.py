"""Element-wise unary functions on int8 through one 256-entry lookup table.

The kernel is a table look-up, bit for bit::

    y[i] = table[x[i] & 0xFF]            (the int8 code read as uint8: -128 -> 128, -1 -> 255)

so any function of one int8 value is exact, whatever the input and output scales and
zero points. The table is built offline from the float function the ONNX model computes
(:func:`build_unary_table`), in float32 as onnxruntime evaluates the float island
``DequantizeLinear -> f -> QuantizeLinear``::

    x_real = float32(q - in_zero) * float32(in_scale)
    y_real = float32(f(x_real))                    (each ONNX op's result rounded to float32)
    out    = clamp(round_half_to_even(float32(y_real / float32(out_scale))) + out_zero,
                   qmin, qmax)

``round_half_to_even`` is the rounding of ONNX ``QuantizeLinear``. The functions of the
supported ONNX ops are :data:`UNARY_FUNCTIONS` (``make_unary(name, **attrs)``); their
float32 results may differ from onnxruntime's own approximations (MLAS logistic/tanh) by
an ulp, which moves an output by one code only when ``y_real / out_scale`` is within an
ulp of a rounding boundary.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from tinytx.core.golden.quant import INT8_MAX, INT8_MIN

TABLE_SIZE = 256
UnaryFn = Callable[[np.ndarray], np.ndarray]


def table_index(x: np.ndarray) -> np.ndarray:
    """The table index of each int8 code: ``x & 0xFF`` (two's complement byte)."""
    return np.asarray(x, np.int8).view(np.uint8)


def check_table(table: np.ndarray, name: str = "table") -> np.ndarray:
    t = np.asarray(table)
    if t.dtype != np.int8:
        raise ValueError(f"{name}: expected dtype int8, got {t.dtype}")
    if t.shape != (TABLE_SIZE,):
        raise ValueError(f"{name}: expected shape ({TABLE_SIZE},), got {t.shape}")
    return t


def lut_s8(x: np.ndarray, table: np.ndarray) -> np.ndarray:
    """``table[x & 0xFF]`` element-wise; keeps the shape of ``x``."""
    x = np.asarray(x)
    if x.dtype != np.int8:
        raise ValueError(f"x: expected dtype int8, got {x.dtype}")
    if x.size == 0:
        raise ValueError("x: empty input")
    t = check_table(table)
    return t[table_index(x)]


def table_inputs() -> np.ndarray:
    """The int8 code of every table entry, in table order (0..127, then -128..-1)."""
    return np.arange(TABLE_SIZE, dtype=np.uint8).view(np.int8)


def _scale32(value: float, name: str) -> np.float32:
    v = float(value)
    if not (math.isfinite(v) and v > 0):
        raise ValueError(f"{name}: must be a positive finite scale, got {value!r}")
    s = np.float32(v)
    if not (np.isfinite(s) and s > 0):
        raise ValueError(f"{name}: {value!r} is not a positive float32")
    return s


def dequantize_f32(q: np.ndarray, scale: float, zero: int) -> np.ndarray:
    """``float32(q - zero) * float32(scale)``, as ONNX DequantizeLinear in float32."""
    s = _scale32(scale, "in_scale")
    return (np.asarray(q, np.int32) - np.int32(zero)).astype(np.float32) * s


def quantize_f32(y: np.ndarray, scale: float, zero: int, qmin: int, qmax: int) -> np.ndarray:
    """ONNX QuantizeLinear: ``clamp(rint(float32(y / scale)) + zero)``, ties to even."""
    s = _scale32(scale, "out_scale")
    y32 = np.asarray(y, np.float32)
    if not np.all(np.isfinite(y32)):
        raise ValueError("unary function: non-finite result on the input range")
    with np.errstate(over="ignore"):
        r = np.rint(y32 / s).astype(np.float64)
    return np.clip(r + zero, qmin, qmax).astype(np.int64)


def build_unary_table(
    fn: UnaryFn,
    in_scale: float,
    in_zero: int,
    out_scale: float,
    out_zero: int,
    qmin: int = INT8_MIN,
    qmax: int = INT8_MAX,
) -> np.ndarray:
    """The int8[256] table of ``fn`` between two int8 quantizations (module docstring).

    ``fn`` takes and returns float32 arrays; ``qmin``/``qmax`` narrow the output range
    (a fused clamp)."""
    for name, z in (("in_zero", in_zero), ("out_zero", out_zero)):
        if not INT8_MIN <= int(z) <= INT8_MAX:
            raise ValueError(f"{name}: {z} outside the int8 range")
    if not INT8_MIN <= qmin <= qmax <= INT8_MAX:
        raise ValueError(f"qmin={qmin}, qmax={qmax} must satisfy -128 <= qmin <= qmax <= 127")
    x = dequantize_f32(table_inputs(), in_scale, int(in_zero))
    y = np.asarray(fn(x), np.float32)
    if y.shape != x.shape:
        raise ValueError(f"unary function: returned shape {y.shape} for {x.shape} inputs")
    return quantize_f32(y, out_scale, int(out_zero), qmin, qmax).astype(np.int8)


# ---------------------------------------------------------------- the ONNX functions
# Each step is rounded to float32, as one ONNX op of a float32 graph would be.


def _f32(a: np.ndarray) -> np.ndarray:
    return np.asarray(a, np.float32)


def sigmoid(x: np.ndarray) -> np.ndarray:
    x64 = np.asarray(x, np.float64)
    return _f32(0.5 * (1.0 + np.tanh(0.5 * x64)))  # 1 / (1 + e^-x) without overflow


def tanh(x: np.ndarray) -> np.ndarray:
    return _f32(np.tanh(np.asarray(x, np.float64)))


def relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(_f32(x), np.float32(0))


def leaky_relu(alpha: float = 0.01) -> UnaryFn:
    a = np.float32(alpha)
    return lambda x: np.where(_f32(x) >= 0, _f32(x), _f32(x) * a)


def clip(lo: float | None = None, hi: float | None = None) -> UnaryFn:
    low = np.float32(-np.inf if lo is None else lo)
    high = np.float32(np.inf if hi is None else hi)
    return lambda x: np.minimum(np.maximum(_f32(x), low), high)


def hard_sigmoid(alpha: float = 0.2, beta: float = 0.5) -> UnaryFn:
    a, b = np.float32(alpha), np.float32(beta)
    return lambda x: np.clip(_f32(x) * a + b, np.float32(0), np.float32(1))


def hard_swish(x: np.ndarray) -> np.ndarray:
    """ONNX HardSwish: ``x * max(0, min(1, x / 6 + 0.5))``."""
    return _f32(x) * hard_sigmoid(1.0 / 6.0, 0.5)(x)


def silu(inner: UnaryFn | None = None) -> UnaryFn:
    """``Mul(x, Sigmoid(x))``; ``inner`` (optional) re-quantizes the Sigmoid's output when
    the model rounds it to int8 before the Mul."""

    def f(x: np.ndarray) -> np.ndarray:
        s = sigmoid(x)
        return _f32(x) * (s if inner is None else _f32(inner(s)))

    return f


def gelu_erf(x: np.ndarray) -> np.ndarray:
    """``0.5 * x * (1 + erf(x / sqrt 2))`` (the erf form of the exported graph)."""
    x32 = _f32(x)
    erf = np.vectorize(math.erf, otypes=[np.float64])
    t = _f32(erf(_f32(x32 / np.float32(math.sqrt(2.0)))))
    return _f32(x32 * (t + np.float32(1.0))) * np.float32(0.5)


def gelu_tanh(x: np.ndarray) -> np.ndarray:
    """``0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3)))``."""
    x32 = _f32(x)
    inner = x32 + _f32(x32 * x32 * x32) * np.float32(0.044715)
    t = tanh(inner * np.float32(math.sqrt(2.0 / math.pi)))
    return _f32(x32 * (t + np.float32(1.0))) * np.float32(0.5)


def requantized(scale: float, zero: int = 0) -> UnaryFn:
    """A float32 value rounded to int8 and back (an intermediate QuantizeLinear/
    DequantizeLinear pair inside a fused pattern)."""
    return lambda y: dequantize_f32(quantize_f32(y, scale, zero, INT8_MIN, INT8_MAX), scale, zero)


@dataclass(frozen=True)
class UnarySpec:
    """A named unary function with its ONNX attributes (for messages and generated code)."""

    name: str
    fn: UnaryFn
    attrs: tuple[tuple[str, float], ...] = ()

    @property
    def description(self) -> str:
        if not self.attrs:
            return self.name
        return self.name + "(" + ", ".join(f"{k}={v:g}" for k, v in self.attrs) + ")"


def make_unary(name: str, **attrs: float | None) -> UnarySpec:
    """The :class:`UnarySpec` of an ONNX-style function name (see :data:`UNARY_FUNCTIONS`)."""
    if name not in UNARY_FUNCTIONS:
        raise ValueError(f"unary function {name!r}; known: {', '.join(UNARY_FUNCTIONS)}")
    factory = UNARY_FUNCTIONS[name]
    fn = factory(**attrs)
    kept = sorted((k, float(v)) for k, v in attrs.items() if v is not None)
    return UnarySpec(name, fn, tuple(kept))


def _plain(fn: UnaryFn) -> Callable[..., UnaryFn]:
    def factory() -> UnaryFn:
        return fn

    return factory


UNARY_FUNCTIONS: dict[str, Callable[..., UnaryFn]] = {
    "Sigmoid": _plain(sigmoid),
    "Tanh": _plain(tanh),
    "Relu": _plain(relu),
    "LeakyRelu": leaky_relu,
    "Clip": clip,
    "HardSigmoid": hard_sigmoid,
    "HardSwish": _plain(hard_swish),
    "SiLU": lambda: silu(),
    "GeluErf": _plain(gelu_erf),
    "GeluTanh": _plain(gelu_tanh),
}
