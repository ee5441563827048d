"""The tinytx IR: int8 tensors, integer operators and their schedule order.

A :class:`Model` is what the frontend produces from an ONNX file and what the planner,
the golden executor (:mod:`tinytx.core.executor`) and the code generator consume. Everything
in it is integer: weights are int8/int32 numpy arrays, quantization is the golden
model's parameter objects (:class:`tinytx.core.golden.Requant`, ``GeluParams``, ...). Float
scales are kept on tensors only to quantize the model input and dequantize its output.

Conventions:

- tensor shapes are physical (the order of the bytes in memory): token-major
  ``[S][E]`` for transformer activations, ``[H][W][C]`` for feature maps, ``[N]`` for
  vectors.
- every activation is int8 with a zero point in ``[-128, 127]`` (``Tensor.zero_point``,
  real value ``scale * (q - zero_point)``). A uint8 tensor of the ONNX model is the
  int8 tensor with zero point ``z_u8 - 128`` (codes ``u8 - 128``); only the model's
  input and output bytes relate to uint8, and ``uint8 code = int8 code + 128``.
  Input zero points are folded offline (biases, the add offset, the conv pad value);
  the producing op's factor carries the output zero point (``Requant.zero_point``,
  ``AddParams.zero_point``), and :func:`validate` checks the two agree.
- ``Model.ops`` is the schedule: a topological order, run one op after the other.
- a :class:`View` gives a tensor a new shape without touching memory (its output
  shares the input's bytes); it costs nothing at run time.
- fused ReLU/clip is the output clamp of the op that produces the tensor
  (``Requant.act_min``/``act_max``, ``AddParams.act_min``, ...).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from tinytx.core.errors import TinytxError
from tinytx.core.golden import (
    AddParams,
    ChannelRequant,
    GeluParams,
    MhsaQuant,
    MhsaWeights,
    Requant,
)
from tinytx.core.golden.attention import FwsaQuant, FwsaWeights
from tinytx.core.golden.attention_steps import AttentionStepsParams, exp_table
from tinytx.core.golden.layernorm_steps import LayerNormStepsParams
from tinytx.core.golden.mul import MulParams

DTYPES = {"int8": np.int8, "uint8": np.uint8, "int32": np.int32}


class IRError(TinytxError):
    """An IR model is inconsistent (shapes, names, order)."""


@dataclass(frozen=True)
class Tensor:
    """An activation tensor: physical shape, element type, real scale and zero point."""

    name: str
    shape: tuple[int, ...]
    dtype: str = "int8"
    scale: float = 1.0
    zero_point: int = 0

    def __post_init__(self) -> None:
        if self.dtype not in DTYPES:
            raise IRError(f"tensor {self.name}: dtype {self.dtype!r} not one of {list(DTYPES)}")
        if not self.shape or any(int(d) < 1 for d in self.shape):
            raise IRError(f"tensor {self.name}: invalid shape {self.shape}")
        if not (self.scale > 0 and math.isfinite(self.scale)):
            raise IRError(f"tensor {self.name}: scale {self.scale!r} must be positive")
        if not -128 <= self.zero_point <= 127:
            raise IRError(f"tensor {self.name}: zero point {self.zero_point} outside [-128, 127]")

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @property
    def nbytes(self) -> int:
        return self.size * np.dtype(DTYPES[self.dtype]).itemsize


@dataclass(frozen=True, eq=False, kw_only=True)
class Op:
    """Base of every operator: a name (a C identifier), input and output tensor names,
    and ``source``, the ONNX node(s) it came from (for messages and generated comments)."""

    kind: ClassVar[str] = "op"
    name: str
    inputs: tuple[str, ...]
    output: str
    source: str = ""

    @property
    def weight_arrays(self) -> dict[str, np.ndarray]:
        """Constant arrays of the op, by a short field name (for codegen and sizes)."""
        return {}


def _weight_and_bias(
    weight: np.ndarray, bias: np.ndarray | None, rq: Requant | ChannelRequant
) -> dict[str, np.ndarray]:
    arrays = {"w": weight} if bias is None else {"w": weight, "b": bias}
    if isinstance(rq, ChannelRequant):
        arrays["mult"], arrays["shift"] = rq.arrays()
    return arrays


@dataclass(frozen=True, eq=False, kw_only=True)
class Linear(Op):
    """``y = requant(x W^T + b)``; ``x`` ``[S][K]`` (or ``[K]``), ``W`` int8 ``[N][K]``;
    ``rq`` per-tensor or per output feature (``ChannelRequant``)."""

    kind: ClassVar[str] = "linear"
    weight: np.ndarray
    bias: np.ndarray | None
    rq: Requant | ChannelRequant

    @property
    def weight_arrays(self) -> dict[str, np.ndarray]:
        return _weight_and_bias(self.weight, self.bias, self.rq)


@dataclass(frozen=True)
class FwsaForm:
    """The fused-weight form of an MHSA block (same input and output scales)."""

    weights: FwsaWeights
    quant: FwsaQuant


@dataclass(frozen=True)
class MhsaScales:
    """The real scales the integer MHSA parameters were derived from (kept so that a
    later pass, e.g. the FWSA fusion, can derive other integer parameters)."""

    x: float
    wq: float
    wk: float
    wv: float
    wo: float
    q: float
    k: float
    v: float
    o: float
    y: float
    score_factor: float  # real factor on q.k before the softmax (1/sqrt(P) and any other)


@dataclass(frozen=True, eq=False, kw_only=True)
class Mhsa(Op):
    """The whole multi-head self-attention subgraph ``[S][E] -> [S][E]`` as one op.

    The planner's choices: ``variant`` ``layerwise`` (``tinytx_mhsa_s8``) or ``dft``
    (depth-first tiling, ``tile`` query rows per step, ``tinytx_mhsa_dft_s8``), and
    ``fwsa``, the fused-weight form when the block is fused (``tinytx_fwsa_s8`` /
    ``tinytx_fwsa_dft_s8``). Layer-wise and DFT give the same bytes (golden-model.md).
    """

    kind: ClassVar[str] = "mhsa"
    heads: int
    weights: MhsaWeights
    quant: MhsaQuant
    scales: MhsaScales
    variant: str = "layerwise"
    tile: int = 0
    fwsa: FwsaForm | None = None

    @property
    def head_dim(self) -> int:
        return self.weights.wq.shape[0] // self.heads

    @property
    def per_channel(self) -> bool:
        """True when a projection has per-channel factors (then there is no FWSA form)."""
        q = self.quant
        return any(isinstance(r, ChannelRequant) for r in (q.q, q.k, q.v, q.out))

    def channel_tables(self) -> dict[str, np.ndarray]:
        """The per-channel multiplier/shift tables of the projections that have them."""
        tables: dict[str, np.ndarray] = {}
        for name in ("q", "k", "v", "out"):
            rq = getattr(self.quant, name)
            if isinstance(rq, ChannelRequant):
                tables[f"{name}_mult"], tables[f"{name}_shift"] = rq.arrays()
        return tables

    @property
    def weight_arrays(self) -> dict[str, np.ndarray]:
        if self.fwsa is not None:
            w = self.fwsa.weights
            arrays = {"wt": w.wt, "bt": w.bt, "wv": w.wv, "bv": w.bv, "wo": w.wo, "bo": w.bo}
            return {k: v for k, v in arrays.items() if v is not None}
        w = self.weights
        names = ("wq", "bq", "wk", "bk", "wv", "bv", "wo", "bo")
        arrays = {n: getattr(w, n) for n in names if getattr(w, n) is not None}
        return {**arrays, **self.channel_tables()}


@dataclass(frozen=True, eq=False, kw_only=True)
class LayerNorm(Op):
    kind: ClassVar[str] = "layernorm"
    gamma: np.ndarray  # int8 [E]
    beta: np.ndarray  # int32 [E]
    eps_q16: int
    rq: Requant

    @property
    def weight_arrays(self) -> dict[str, np.ndarray]:
        return {"gamma": self.gamma, "beta": self.beta}


@dataclass(frozen=True, eq=False, kw_only=True)
class Gelu(Op):
    kind: ClassVar[str] = "gelu"
    params: GeluParams


@dataclass(frozen=True, eq=False, kw_only=True)
class Lut(Op):
    """Any unary function of one int8 value through a 256-entry table (``tinytx_lut_s8``,
    :func:`tinytx.core.golden.lut_s8`): ``y = table[x & 0xFF]``. The table holds the input's
    and output's scales and zero points; ``function`` says what it computes (comments)."""

    kind: ClassVar[str] = "lut"
    table: np.ndarray  # int8 [256], indexed by the input byte
    function: str = ""
    zero_point: int = 0  # the output zero point the table was built for

    @property
    def weight_arrays(self) -> dict[str, np.ndarray]:
        return {"table": self.table}


@dataclass(frozen=True, eq=False, kw_only=True)
class Add(Op):
    """Requantized element-wise add of two tensors of the same size (residual), or of a
    tensor and a constant int8 tensor ``b_const`` (e.g. a positional embedding) stored
    in the order of the input's memory (then ``inputs`` has one name)."""

    kind: ClassVar[str] = "add"
    params: AddParams
    b_const: np.ndarray | None = None

    @property
    def weight_arrays(self) -> dict[str, np.ndarray]:
        return {} if self.b_const is None else {"b": self.b_const}


@dataclass(frozen=True, eq=False, kw_only=True)
class Conv2d(Op):
    """2-D convolution of ``N`` images ``[N][H][W][C_in]`` -> ``[N][H_out][W_out][C_out]``
    (one kernel call per image). ``weight`` int8 ``[C_out][K_h][K_w][C_in]``; ``pad`` is
    (top, left, bottom, right); the fused ReLU/clip is ``rq``'s clamp; ``pad_value`` the
    input zero point (padding holds it, the bias has it folded in)."""

    kind: ClassVar[str] = "conv2d"
    weight: np.ndarray
    bias: np.ndarray | None
    stride: tuple[int, int]
    pad: tuple[int, int, int, int]
    rq: Requant | ChannelRequant
    pad_value: int = 0
    dilation: tuple[int, int] = (1, 1)  # taps (d_h, d_w) apart

    @property
    def weight_arrays(self) -> dict[str, np.ndarray]:
        return _weight_and_bias(self.weight, self.bias, self.rq)


@dataclass(frozen=True, eq=False, kw_only=True)
class DepthwiseConv2d(Conv2d):
    """Depthwise convolution (M filters per input channel, M = C_out / C_in, output
    channel c filters input channel c // M); ``weight`` int8 ``[K_h][K_w][C_out]``."""

    kind: ClassVar[str] = "depthwise_conv2d"


@dataclass(frozen=True, eq=False, kw_only=True)
class MaxPool(Op):
    """Max pooling on ``[N][H][W][C]``; the output keeps the input scale and zero point."""

    kind: ClassVar[str] = "maxpool"
    kernel: tuple[int, int]
    stride: tuple[int, int]
    pad: tuple[int, int, int, int]


@dataclass(frozen=True, eq=False, kw_only=True)
class AvgPool(Op):
    """Average pooling on ``[N][H][W][C]``; ``rq`` is ``s_x / s_y`` (without 1/count)."""

    kind: ClassVar[str] = "avgpool"
    kernel: tuple[int, int]
    stride: tuple[int, int]
    pad: tuple[int, int, int, int]
    rq: Requant
    count_include_pad: bool = False
    input_zero_point: int = 0
    tflite_rounding: bool = False  # TFLite's average of the codes (golden avgpool2d_s8)


@dataclass(frozen=True, eq=False, kw_only=True)
class MeanRows(Op):
    """Mean over the rows of ``[S][E]`` -> ``[E]`` (token pooling, global average pool);
    ``rq`` includes the 1/S."""

    kind: ClassVar[str] = "mean_rows"
    rq: Requant
    input_zero_point: int = 0


@dataclass(frozen=True, eq=False, kw_only=True)
class View(Op):
    """New shape, same bytes: the output tensor aliases the input."""

    kind: ClassVar[str] = "view"


@dataclass(frozen=True, eq=False, kw_only=True)
class Gather(Op):
    """``numpy.take(x, indices, axis)`` on int8 bytes (GATHER with constant indices, a
    slice, a channel repeat, a broadcast); the output keeps the input's quantization."""

    kind: ClassVar[str] = "gather"
    axis: int
    indices: np.ndarray  # int32 [count], each in [0, x.shape[axis])

    @property
    def weight_arrays(self) -> dict[str, np.ndarray]:
        return {"idx": self.indices}


@dataclass(frozen=True, eq=False, kw_only=True)
class Concat(Op):
    """Concatenation of the inputs along ``axis``; every input has the output's scale
    and zero point (the frontend requantizes the others with a table first).
    ``constants``: int8 parts in the output's quantization, each inserted before the
    ``position``-th input (``len(inputs)``: at the end), e.g. a class token."""

    kind: ClassVar[str] = "concat"
    axis: int
    constants: tuple[tuple[int, np.ndarray], ...] = ()

    def parts(self, inputs: list) -> list:
        """``inputs`` (names or arrays) with the constant parts in their places."""
        out: list = []
        for k in range(len(inputs) + 1):
            out += [c for pos, c in self.constants if pos == k]
            if k < len(inputs):
                out.append(inputs[k])
        return out

    @property
    def weight_arrays(self) -> dict[str, np.ndarray]:
        return {f"c{k}": c for k, (_, c) in enumerate(self.constants)}


@dataclass(frozen=True, eq=False, kw_only=True)
class Mul(Op):
    """Requantized element-wise product of two tensors of the same shape, or of a tensor
    and a constant int8 tensor ``b_const`` in the input's memory order."""

    kind: ClassVar[str] = "mul"
    params: MulParams
    b_const: np.ndarray | None = None

    @property
    def weight_arrays(self) -> dict[str, np.ndarray]:
        return {} if self.b_const is None else {"b": self.b_const}


@dataclass(frozen=True, eq=False, kw_only=True)
class LayerNormSteps(Op):
    """LayerNorm over the last axis as the TFLite converter decomposes it (MEAN,
    SQUARED_DIFFERENCE, MEAN, ADD eps, RSQRT, MUL, MUL, MUL, NEG, ADD, ADD), each step in
    TFLite's int8 arithmetic (``tinytx_layernorm_steps_s8``,
    :func:`tinytx.core.golden.layernorm_steps_s8`): equal to the TFLite interpreter bit for
    bit. ``gamma``/``beta`` are TFLite's int8 constants, ``table`` the ADD eps + RSQRT of
    the variance code."""

    kind: ClassVar[str] = "layernorm_steps"
    gamma: np.ndarray  # int8 [E]
    beta: np.ndarray  # int8 [E]
    table: np.ndarray  # int8 [256], indexed by the variance byte
    params: LayerNormStepsParams

    @property
    def weight_arrays(self) -> dict[str, np.ndarray]:
        return {"gamma": self.gamma, "beta": self.beta, "table": self.table}


@dataclass(frozen=True, eq=False, kw_only=True)
class AttentionSteps(Op):
    """Self-attention's scores, scalar MUL, softmax and A*V as the TFLite converter emits
    them, each step in TFLite's int8 arithmetic (``tinytx_attention_steps_s8``,
    :func:`tinytx.core.golden.attention_steps_s8`): equal to the TFLite interpreter bit for
    bit. Inputs q, k, v ``[S][H*P]`` (the projections' outputs, column ``h*P + p``),
    output ``[S][H*P]`` (the heads merged). The projections are the model's Linear ops:
    a block in this form is never a fused (DFT, FWSA) attention block."""

    kind: ClassVar[str] = "attention_steps"
    heads: int
    params: AttentionStepsParams

    @property
    def weight_arrays(self) -> dict[str, np.ndarray]:
        return {"exp": exp_table(self.params.softmax)}  # the kernel's table, from the factors


OP_TYPES: tuple[type[Op], ...] = (
    Linear,
    Mhsa,
    LayerNorm,
    Gelu,
    Lut,
    Add,
    Conv2d,
    DepthwiseConv2d,
    MaxPool,
    AvgPool,
    MeanRows,
    View,
    Gather,
    Concat,
    Mul,
    LayerNormSteps,
    AttentionSteps,
)


@dataclass(frozen=True)
class IOSpec:
    """How the firmware's input/output bytes relate to the ONNX tensor.

    ``onnx_shape`` is the ONNX tensor's shape; ``perm`` the axes of the ONNX tensor
    (batch included) in memory order: ``np.transpose(x, perm).ravel()`` gives the bytes.
    """

    onnx_name: str
    onnx_shape: tuple[int, ...]
    perm: tuple[int, ...]

    def to_memory(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        if tuple(x.shape) != self.onnx_shape:
            raise ValueError(
                f"{self.onnx_name}: expected shape {list(self.onnx_shape)}, got {list(x.shape)}"
            )
        return np.ascontiguousarray(np.transpose(x, self.perm)).ravel()

    def from_memory(self, flat: np.ndarray) -> np.ndarray:
        shape = tuple(self.onnx_shape[a] for a in self.perm)
        inverse = np.argsort(self.perm)
        return np.transpose(np.asarray(flat).reshape(shape), inverse)


@dataclass(frozen=True, eq=False)
class Model:
    """A whole model: tensors, ops in schedule order, one input and one output."""

    name: str
    tensors: Mapping[str, Tensor]
    ops: tuple[Op, ...]
    input: str
    output: str
    input_spec: IOSpec
    output_spec: IOSpec
    source_sha256: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        validate(self)

    def tensor(self, name: str) -> Tensor:
        return self.tensors[name]

    def producer(self, name: str) -> Op | None:
        for op in self.ops:
            if op.output == name:
                return op
        return None

    def alias_root(self, name: str) -> str:
        """The tensor whose memory ``name`` uses (follows views)."""
        views = {op.output: op.inputs[0] for op in self.ops if isinstance(op, View)}
        while name in views:
            name = views[name]
        return name

    @property
    def weight_bytes(self) -> int:
        return sum(a.nbytes for op in self.ops for a in op.weight_arrays.values() if a is not None)

    @property
    def macs(self) -> int:
        return sum(op_macs(self, op) for op in self.ops)


def op_macs(model: Model, op: Op) -> int:
    """Multiply-accumulates of one op (0 for element-wise ops and views)."""
    out = model.tensors[op.output]
    if isinstance(op, Linear):
        n, k = op.weight.shape
        return out.size // n * n * k
    if isinstance(op, Mhsa):
        s, e = out.shape
        hp = op.weights.wq.shape[0]
        return 4 * s * e * hp + 2 * s * s * hp
    if isinstance(op, AttentionSteps):
        s, hp = out.shape
        return 2 * s * s * hp
    if isinstance(op, DepthwiseConv2d):
        return out.size * op.weight.shape[0] * op.weight.shape[1]
    if isinstance(op, Conv2d):
        return out.size * int(np.prod(op.weight.shape[1:]))
    return 0


def _need(cond: bool, op: Op, message: str) -> None:
    if not cond:
        raise IRError(f"op {op.name} ({op.kind}, from {op.source or '?'}): {message}")


def output_zero_point(model: Model, op: Op) -> int:
    """The zero point an op writes (its factor's, or its input's for pass-through ops)."""
    if isinstance(op, (Linear, Conv2d, LayerNorm, AvgPool, MeanRows)):
        return op.rq.zero_point
    if isinstance(op, Gelu):
        return op.params.rq.zero_point
    if isinstance(op, Add):
        return op.params.zero_point
    if isinstance(op, Lut):
        return op.zero_point
    if isinstance(op, Mul):
        return op.params.zero_point
    if isinstance(op, LayerNormSteps):
        return op.params.out.zero_point
    if isinstance(op, AttentionSteps):
        return op.params.av.zero_point
    if isinstance(op, Mhsa):
        return (op.fwsa.quant if op.fwsa is not None else op.quant).out.zero_point
    return model.tensors[op.inputs[0]].zero_point  # MaxPool, View


def _check_op(model: Model, op: Op) -> None:
    t = model.tensors
    ins = [t[n] for n in op.inputs]
    out = t[op.output]
    arity = 2 if isinstance(op, (Add, Mul)) and op.b_const is None else 1
    if isinstance(op, Concat):
        arity = max(len(ins), 1)
    if isinstance(op, AttentionSteps):
        arity = 3
    _need(len(ins) == arity, op, f"expects {arity} input(s), has {len(ins)}")
    x = ins[0]
    _need(all(i.dtype == "int8" for i in ins) and out.dtype == "int8", op, "tensors must be int8")
    z_out = output_zero_point(model, op)
    _need(
        out.zero_point == z_out,
        op,
        f"output tensor zero point {out.zero_point} != the op's output zero point {z_out}",
    )
    z_in = {Conv2d: "pad_value", DepthwiseConv2d: "pad_value", AvgPool: "input_zero_point"}
    z_in_field = z_in.get(type(op), "input_zero_point" if isinstance(op, MeanRows) else None)
    if isinstance(op, Gelu):
        _need(op.params.input_zero_point == x.zero_point, op, "GELU input zero point differs")
    elif z_in_field is not None:
        got = getattr(op, z_in_field)
        _need(got == x.zero_point, op, f"{z_in_field} {got} != input zero point {x.zero_point}")
    if isinstance(op, Linear):
        n, k = op.weight.shape
        _need(op.weight.dtype == np.int8, op, "weight must be int8")
        _need(x.shape[-1] == k, op, f"input {x.shape} does not end in K={k}")
        _need(out.shape == (*x.shape[:-1], n), op, f"output {out.shape} != {(*x.shape[:-1], n)}")
        _need(op.bias is None or op.bias.shape == (n,), op, "bias must have N elements")
    elif isinstance(op, Mhsa):
        _need(len(x.shape) == 2 and out.shape == x.shape, op, f"needs [S][E] in/out, {x.shape}")
        e = x.shape[1]
        hp = op.weights.wq.shape[0]
        _need(op.weights.wq.shape == (hp, e), op, "wq must be [H*P][E]")
        _need(op.weights.wo.shape == (e, hp), op, "wo must be [E][H*P]")
        _need(op.heads >= 1 and hp % op.heads == 0, op, f"H={op.heads} must divide {hp}")
        _need(op.variant in ("layerwise", "dft"), op, f"unknown variant {op.variant}")
        _need(op.variant != "dft" or 1 <= op.tile <= x.shape[0], op, f"bad tile {op.tile}")
    elif isinstance(op, LayerNorm):
        e = x.shape[-1]
        _need(op.gamma.shape == (e,) and op.beta.shape == (e,), op, "gamma/beta must be [E]")
        _need(out.shape == x.shape, op, "output shape must equal input shape")
    elif isinstance(op, LayerNormSteps):
        e = x.shape[-1]
        _need(op.gamma.shape == (e,) and op.beta.shape == (e,), op, "gamma/beta must be [E]")
        _need(op.table.dtype == np.int8 and op.table.shape == (256,), op, "table: int8 [256]")
        _need(len(x.shape) == 2 and out.shape == x.shape, op, "needs [rows][E] in and out")
        _need(op.params.mean.zero_point_in == x.zero_point, op, "mean input zero point differs")
    elif isinstance(op, AttentionSteps):
        _need(len(x.shape) == 2, op, f"needs [S][H*P] inputs, q is {list(x.shape)}")
        _need(all(i.shape == x.shape for i in ins) and out.shape == x.shape, op, "shapes differ")
        _need(op.heads >= 1 and x.shape[1] % op.heads == 0, op, f"H={op.heads} must divide")
        zq, zk, zv = (i.zero_point for i in ins)
        p = op.params
        _need((zq, zk) == (p.scores.zero_point_a, p.scores.zero_point_b), op, "q/k zero points")
        _need(zv == p.av.zero_point_b, op, "v zero point differs")
    elif isinstance(op, Lut):
        _need(out.shape == x.shape, op, "shape must be kept")
        _need(
            op.table.dtype == np.int8 and op.table.shape == (256,), op, "table must be int8 [256]"
        )
    elif isinstance(op, (Gelu, View)):
        _need(out.size == x.size, op, "output size must equal input size")
        _need(isinstance(op, View) or out.shape == x.shape, op, "shape must be kept")
    elif isinstance(op, Add):
        _need(all(i.shape == out.shape for i in ins), op, "inputs/output shapes differ")
        if op.b_const is not None:
            _need(op.b_const.dtype == np.int8, op, "constant operand must be int8")
            _need(op.b_const.shape == out.shape, op, "constant operand shape differs")
    elif isinstance(op, Conv2d):
        _need(len(x.shape) == 4 and len(out.shape) == 4, op, "needs [N][H][W][C] in/out")
        _need(x.shape[0] == out.shape[0], op, "image count differs")
        _need(min(op.dilation) >= 1, op, f"dilation {op.dilation}")
        if isinstance(op, DepthwiseConv2d):
            _need(op.weight.shape[2] == out.shape[3], op, "weight channels != output channels")
            _need(out.shape[3] % x.shape[3] == 0, op, "output channels not a multiple of input")
        else:
            _need(op.weight.shape[3] == x.shape[3], op, "weight C_in != input channels")
            _need(op.weight.shape[0] == out.shape[3], op, "weight C_out != output channels")
    elif isinstance(op, (MaxPool, AvgPool)):
        _need(len(x.shape) == 4 and len(out.shape) == 4, op, "needs [N][H][W][C] in/out")
        _need(x.shape[0] == out.shape[0] and x.shape[3] == out.shape[3], op, "N, C must be kept")
    elif isinstance(op, MeanRows):
        _need(len(x.shape) == 2 and out.shape == (x.shape[1],), op, "needs [S][E] -> [E]")
    elif isinstance(op, Gather):
        n = x.shape[op.axis] if 0 <= op.axis < len(x.shape) else 0
        idx = op.indices
        _need(n > 0, op, f"axis {op.axis} outside {list(x.shape)}")
        _need(idx.dtype == np.int32 and idx.ndim == 1 and idx.size > 0, op, "indices: int32 [n]")
        _need(int(idx.min()) >= 0 and int(idx.max()) < n, op, f"indices outside [0, {n})")
        want = (*x.shape[: op.axis], idx.size, *x.shape[op.axis + 1 :])
        _need(out.shape == want, op, f"output {out.shape} != {want}")
        _need((out.scale, out.zero_point) == (x.scale, x.zero_point), op, "quantization differs")
    elif isinstance(op, Concat):
        a = op.axis
        shapes = [tuple(p.shape) for p in op.parts(ins)]
        _need(all(c.dtype == np.int8 for _, c in op.constants), op, "constants must be int8")
        _need(all(0 <= k <= len(ins) for k, _ in op.constants), op, "constant position")
        _need(all(len(s) == len(out.shape) for s in shapes), op, "ranks differ")
        _need(0 <= a < len(out.shape), op, f"axis {a} outside {list(out.shape)}")
        rest = [(*s[:a], *s[a + 1 :]) for s in (*shapes, out.shape)]
        _need(len(set(rest)) == 1, op, "shapes differ outside the axis")
        _need(sum(s[a] for s in shapes) == out.shape[a], op, "axis lengths do not add up")
        _need(
            all((i.scale, i.zero_point) == (out.scale, out.zero_point) for i in ins),
            op,
            "an input's quantization differs from the output's",
        )
    elif isinstance(op, Mul):
        _need(all(i.shape == out.shape for i in ins), op, "inputs/output shapes differ")
        _need(op.params.a_zero_point == x.zero_point, op, "a_zero_point != input zero point")
        if op.b_const is not None:
            _need(op.b_const.dtype == np.int8, op, "constant operand must be int8")
            _need(op.b_const.shape == out.shape, op, "constant operand shape differs")
        else:
            _need(op.params.b_zero_point == ins[1].zero_point, op, "b_zero_point differs")


def validate(model: Model) -> None:
    """Names, schedule order and per-op shapes; raises :class:`IRError`."""
    t = model.tensors
    for name, tensor in t.items():
        if name != tensor.name:
            raise IRError(f"tensor key {name!r} != tensor name {tensor.name!r}")
    if model.input not in t or model.output not in t:
        raise IRError("model input/output must be tensors of the model")
    defined = {model.input}
    names: set[str] = set()
    for op in model.ops:
        if op.name in names or not op.name.isidentifier():
            raise IRError(f"op name {op.name!r} is duplicated or not an identifier")
        names.add(op.name)
        for n in op.inputs:
            if n not in defined:
                raise IRError(f"op {op.name} reads {n!r} before it is written (schedule order)")
        if op.output in defined or op.output not in t:
            raise IRError(f"op {op.name} writes {op.output!r}: unknown or already written")
        _check_op(model, op)
        defined.add(op.output)
    if model.output not in defined:
        raise IRError(f"no op writes the model output {model.output!r}")
    if model.output == model.input:
        raise IRError("the model output is its input (no op)")
