"""From a read TFLite graph (:mod:`.reader`) to the tinytx IR, operator by operator.

TFLite tensors are already in the IR's physical order (NHWC feature maps, token-major
rows), so an IR tensor keeps the TFLite shape and a RESHAPE is a :class:`~tinytx.core.ir.View`.
The model's float edges (QUANTIZE after a float input, DEQUANTIZE before a float output)
become the IR input's and output's scale and zero point; an int8 edge is taken as is.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial

import numpy as np

from tinytx.core import golden as gold
from tinytx.core import ir
from tinytx.core.frontend import dilation as dil
from tinytx.core.frontend.onnx.graph import FrontendError
from tinytx.core.frontend.onnx.lower import c_name
from tinytx.core.frontend.tflite import movement as mv
from tinytx.core.frontend.tflite import quantization as q
from tinytx.core.frontend.tflite.arith import binary, extremum
from tinytx.core.frontend.tflite.attention import lower_attention, match_attentions
from tinytx.core.frontend.tflite.frames import lower_frames, match_frames
from tinytx.core.frontend.tflite.layernorm import lower_layernorm, match_layernorms
from tinytx.core.frontend.tflite.movement import gather
from tinytx.core.frontend.tflite.quantization import op_error
from tinytx.core.frontend.tflite.reader import TflGraph, TflOp, TflTensor
from tinytx.core.golden.lut import make_unary

UNARY = {
    "LOGISTIC": "Sigmoid",
    "TANH": "Tanh",
    "HARD_SWISH": "HardSwish",
    "RELU": "Relu",
    "GELU": "GeluErf",
    "LEAKY_RELU": "LeakyRelu",
    "RELU6": "Clip",
}
VIEWS = ("RESHAPE", "SQUEEZE", "EXPAND_DIMS")
SUPPORTED = (
    "FULLY_CONNECTED, CONV_2D, DEPTHWISE_CONV_2D (any dilation and depth multiplier), "
    "MAX_POOL_2D, AVERAGE_POOL_2D, ADD, SUB, MUL (broadcasting), MAXIMUM/MINIMUM with a "
    "scalar constant, MEAN "
    "(over tokens or H,W), RESHAPE, SQUEEZE, EXPAND_DIMS, LOGISTIC, TANH, HARD_SWISH, GELU, "
    "RELU, RELU6, LEAKY_RELU, self-attention (keras MultiHeadAttention: BATCH_MATMUL, "
    "SOFTMAX, TRANSPOSE inside it), LayerNorm (keras LayerNormalization: SQUARED_DIFFERENCE, "
    "RSQRT, MUL, NEG inside it), TimeDistributed convolutions and poolings (STRIDED_SLICE "
    "per frame, PACK), PAD before a convolution or pooling, QUANTIZE, "
    "DEQUANTIZE at the float edges, " + mv.MOVEMENT
)


def _gather(op: TflOp, v: list[np.ndarray]) -> np.ndarray:
    return np.take(v[0], v[1], axis=int(op.opt("Axis", 0)))


def _concat(op: TflOp, v: list[np.ndarray]) -> np.ndarray:
    return np.concatenate([np.atleast_1d(a) for a in v], axis=int(op.opt("Axis", 0)))


def _pack(op: TflOp, v: list[np.ndarray]) -> np.ndarray:
    return np.stack(v, axis=int(op.opt("Axis", 0)))


def _reduce(fn: Callable[..., np.ndarray]) -> Callable[[TflOp, list[np.ndarray]], np.ndarray]:
    def run(op: TflOp, v: list[np.ndarray]) -> np.ndarray:
        axes = tuple(int(a) for a in np.atleast_1d(v[1]))
        return fn(v[0], axis=axes, keepdims=bool(op.opt("KeepDims", False)))

    return run


def _strided_slice(op: TflOp, v: list[np.ndarray]) -> np.ndarray:
    x, begin, end, strides = v
    if x.ndim != 1 or any(int(op.opt(k, 0) or 0) for k in ("EllipsisMask", "NewAxisMask")):
        raise ValueError("only 1-D slices of shape vectors")
    b = None if int(op.opt("BeginMask", 0)) & 1 else int(begin[0])
    e = None if int(op.opt("EndMask", 0)) & 1 else int(end[0])
    out = x[slice(b, e, int(strides[0]))]
    return out[0] if int(op.opt("ShrinkAxisMask", 0)) & 1 else out


FOLDABLE: dict[str, Callable[[TflOp, list[np.ndarray]], np.ndarray]] = {
    "SHAPE": _gather,  # handled before (it reads an activation's shape)
    "GATHER": _gather,
    "CONCATENATION": _concat,
    "PACK": _pack,
    "REDUCE_PROD": _reduce(np.prod),
    "SUM": _reduce(np.sum),
    "STRIDED_SLICE": _strided_slice,
    "MUL": lambda op, v: v[0] * v[1],
    "ADD": lambda op, v: v[0] + v[1],
    "SUB": lambda op, v: v[0] - v[1],
    "CAST": lambda op, v: v[0],
}


def dilation(op: TflOp) -> tuple[int, int]:
    """The (h, w) dilation of a convolution (the kernels take it in their dims)."""
    d = (int(op.opt("DilationHFactor", 1) or 1), int(op.opt("DilationWFactor", 1) or 1))
    if min(d) < 1:
        raise op_error(op, f"dilation {list(d)}")
    return d


def _identity(v: np.ndarray) -> np.ndarray:
    return np.asarray(v, np.float32)


def _same_pads(
    size: tuple[int, int], kernel: tuple[int, int], stride: tuple[int, int], out: tuple[int, int]
) -> tuple[int, int, int, int]:
    """TensorFlow's SAME padding (the odd pixel goes to the bottom/right)."""
    pads = []
    for i in range(2):
        pads.append(max((out[i] - 1) * stride[i] + kernel[i] - size[i], 0))
    return (pads[0] // 2, pads[1] // 2, pads[0] - pads[0] // 2, pads[1] - pads[1] // 2)


class Lowering:
    def __init__(
        self, g: TflGraph, name: str, arith: str = "match", exact_attention: bool = True
    ) -> None:
        self.g = g
        self.name = name
        self.arith = arith  # "match": TFLite's int8 steps where the IR has them; "fast"
        # TFLite's attention steps where they fit
        self.exact_attention = exact_attention and arith == "match"
        self.values: dict[int, str] = {}  # TFLite tensor index -> IR tensor name
        self.tensors: dict[str, ir.Tensor] = {}
        self.ops: list[ir.Op] = []
        self.used: set[str] = set()
        self.counts: dict[str, int] = {}
        self.consts: dict[int, np.ndarray] = {}
        self.pads: dict[int, tuple[int, TflOp, tuple[int, int, int, int]]] = {}
        self.input = ""
        self.output = ""

    # -- helpers
    def t(self, index: int) -> TflTensor:
        return self.g.tensors[index]

    def op_name(self, kind: str) -> str:
        k = self.counts.get(kind, 0)
        self.counts[kind] = k + 1
        return f"{kind}{k}"

    def new(self, index: int, shape: tuple[int, ...] | None = None, name: str = "") -> str:
        t = self.t(index)
        s, z = t.scale, t.zero_point
        ir_name = c_name(name or t.name or f"t{index}", self.used)
        self.tensors[ir_name] = ir.Tensor(ir_name, tuple(shape or t.shape), "int8", s, z)
        return ir_name

    def act(self, op: TflOp, index: int) -> str:
        """The IR tensor of an activation input (checked int8)."""
        q.activation(op, self.t(index))
        name = self.values.get(index)
        if name is None:
            t = self.t(index)
            what = "a constant" if t.data is not None else "not produced by a supported operator"
            raise op_error(op, f"input '{t.name}' is {what}", f"supported: {SUPPORTED}")
        return name

    def view(self, tensor: str, shape: tuple[int, ...], op: TflOp) -> str:
        t = self.tensors[tensor]
        if t.shape == shape:
            return tensor
        name = c_name(f"{tensor}_view", self.used)
        self.tensors[name] = ir.Tensor(name, shape, "int8", t.scale, t.zero_point)
        src = f"operator {op.index} ({op.name})"
        self.ops.append(
            ir.View(name=self.op_name("view"), inputs=(tensor,), output=name, source=src)
        )
        return name

    def emit(
        self,
        op: TflOp,
        ir_op_factory: Callable[[str, str], ir.Op],
        out_shape: tuple[int, ...],
        tfl_shape: tuple[int, ...] | None = None,
    ) -> None:
        """Append the op writing an IR tensor of ``out_shape``, seen by the next operators
        with ``tfl_shape`` (the TFLite output's static shape, batch 1)."""
        out = op.outputs[0]
        q.activation(op, self.t(out))
        tfl_shape = tuple(tfl_shape or out_shape)
        suffix = "_rows" if out_shape != tfl_shape else ""
        name = self.new(out, out_shape, name=(self.t(out).name or f"t{out}") + suffix)
        self.ops.append(ir_op_factory(name, f"operator {op.index} ({op.name})"))
        self.values[out] = self.view(name, tfl_shape, op)

    def declared_shape(self, op: TflOp, computed: tuple[int, ...]) -> tuple[int, ...]:
        """The output's shape as the model declares it when static and of the same size
        (e.g. a broadcast ADD that adds a leading 1), else ``computed``."""
        t = self.t(op.outputs[0])
        if all(d >= 0 for d in t.signature) and math.prod(t.shape) == math.prod(computed):
            return t.shape
        return computed

    def shape(self, index: int) -> tuple[int, ...]:
        """The static shape of an activation already lowered (batch 1)."""
        return self.tensors[self.values[index]].shape

    def static_out(self, op: TflOp, batch: int) -> tuple[int, ...]:
        t = self.t(op.outputs[0])
        if any(d < 0 for d in t.signature[1:]):
            raise op_error(op, f"output shape {list(t.signature)} is dynamic", "accepted: static")
        return (batch, *t.shape[1:])

    def const(self, index: int) -> np.ndarray | None:
        if index < 0:
            return None
        if index in self.consts:
            return self.consts[index]
        return self.t(index).data

    def fold(self, op: TflOp) -> bool:
        """Evaluate an int32 shape computation (SHAPE of an activation and arithmetic on
        constants) offline; False when the op is not one."""
        outs = [self.t(i) for i in op.outputs]
        if op.name not in FOLDABLE or any(t.dtype not in ("int32", "int64") for t in outs):
            return False
        if op.name == "SHAPE":
            if op.inputs[0] not in self.values:
                return False
            self.consts[op.outputs[0]] = np.asarray(self.shape(op.inputs[0]), np.int32)
            return True
        args = [self.const(i) for i in op.inputs]
        if any(a is None for a in args):
            return False
        vals = [np.asarray(a) for a in args]
        try:
            value = FOLDABLE[op.name](op, vals)
        except (ValueError, IndexError, TypeError) as exc:
            raise op_error(op, f"cannot evaluate the shape computation: {exc}") from None
        self.consts[op.outputs[0]] = np.asarray(value, np.int32)
        return True

    # -- edges
    def quantize(self, op: TflOp) -> None:
        src, dst = self.t(op.inputs[0]), self.t(op.outputs[0])
        if src.dtype == "float32" and op.inputs[0] in self.g.inputs:
            q.activation(op, dst)
            name = self.new(op.outputs[0])
            self.values[op.outputs[0]] = name
            if self.input:
                raise op_error(op, "a second model input", "accepted: one input")
            self.input = name
            return
        x = self.act(op, op.inputs[0])
        s_x, z_x = q.activation(op, src)
        s_y, z_y = q.activation(op, dst)
        table = gold.build_unary_table(_identity, s_x, z_x, s_y, z_y)
        self._lut(
            op, x, table, f"requantize: x scale {s_x:.6g} zero {z_x} -> y scale {s_y:.6g}", z_y
        )

    def dequantize(self, op: TflOp) -> None:
        if op.outputs[0] not in self.g.outputs:
            raise op_error(op, "dequantizes inside the model", "accepted: DEQUANTIZE of the output")
        self.values[op.outputs[0]] = self.act(op, op.inputs[0])

    # -- ops
    def _lut(self, op: TflOp, x: str, table: np.ndarray, function: str, z_y: int) -> None:
        shape = self.tensors[x].shape
        self.emit(
            op,
            lambda y, src: ir.Lut(
                name=self.op_name("lut"),
                inputs=(x,),
                output=y,
                source=src,
                table=table,
                function=function,
                zero_point=z_y,
            ),
            shape,
        )

    def unary(self, op: TflOp) -> None:
        x = self.act(op, op.inputs[0])
        s_x, z_x = q.activation(op, self.t(op.inputs[0]))
        s_y, z_y = q.activation(op, self.t(op.outputs[0]))
        fn_name = UNARY[op.name]
        if op.name == "GELU" and op.opt("Approximate", False):
            fn_name = "GeluTanh"
        attrs: dict[str, float | None] = {}
        if op.name == "LEAKY_RELU":
            attrs["alpha"] = float(op.opt("Alpha", 0.2))
        if op.name == "RELU6":
            attrs = {"lo": 0.0, "hi": 6.0}
        spec = make_unary(fn_name, **attrs)
        try:
            table = gold.build_unary_table(spec.fn, s_x, z_x, s_y, z_y)
        except ValueError as exc:
            raise op_error(op, f"table: {exc}") from None
        desc = f"{spec.description}: x scale {s_x:.6g} zero {z_x} -> y scale {s_y:.6g} zero {z_y}"
        self._lut(op, x, table, desc, z_y)

    def fully_connected(self, op: TflOp) -> None:
        x = self.act(op, op.inputs[0])
        s_x, z_x = q.activation(op, self.t(op.inputs[0]))
        w, s_w = q.weight(op, self.t(op.inputs[1]), 0)
        n, k = w.shape
        b_idx = op.inputs[2] if len(op.inputs) > 2 else -1
        b = q.bias(op, self.t(b_idx) if b_idx >= 0 else None, n)
        s_y, z_y = q.activation(op, self.t(op.outputs[0]))
        shape = self.tensors[x].shape
        if math.prod(shape) % k:
            raise op_error(op, f"input {list(shape)} is not rows of {k}")
        rows = math.prod(shape) // k
        xr = self.view(x, (rows, k), op)
        keep = bool(op.opt("KeepNumDims", False))
        tfl = (*shape[:-1], n) if keep else (rows, n)
        try:
            bias = gold.fold_bias(b, w, z_x)
        except ValueError as exc:
            raise op_error(op, f"bias: {exc}") from None
        rq = q.requant(
            op,
            s_x * np.asarray(s_w) / s_y if np.ndim(s_w) else s_x * s_w / s_y,
            z_y,
            q.clamp(op, s_y, z_y),
        )
        self.emit(
            op,
            lambda y, src: ir.Linear(
                name=self.op_name("linear"),
                inputs=(xr,),
                output=y,
                source=src,
                weight=w.astype(np.int8),
                bias=bias,
                rq=rq,
            ),
            (rows, n),
            tfl,
        )

    def _conv_geometry(
        self, op: TflOp, x_index: int, kernel: tuple[int, int]
    ) -> tuple[str, tuple[int, int], tuple[int, int, int, int]]:
        """The (possibly PAD-ed) input, the stride and the pads of a conv or pooling
        (``kernel``: its extent, dilation included)."""
        stride = (int(op.opt("StrideH", 1)), int(op.opt("StrideW", 1)))
        pre0 = self.pads.get(x_index)
        batch = self.shape(pre0[0] if pre0 else x_index)[0]
        outs = self.static_out(op, batch)
        pre = self.pads.get(x_index)
        x_t = self.t(pre[0] if pre else x_index)
        size = tuple(self.shape(x_t.index)[1:3])
        pads = (0, 0, 0, 0)
        if int(op.opt("Padding", 1)) == 0:  # SAME
            pads = _same_pads(size, kernel, stride, (outs[1], outs[2]))
        if pre is not None:
            if pads != (0, 0, 0, 0):
                raise op_error(op, "PAD before a SAME-padded operator", "accepted: PAD + VALID")
            pads = pre[2]
            return self.act(pre[1], pre[0]), stride, pads
        return self.act(op, x_index), stride, pads

    def conv(self, op: TflOp) -> None:
        depthwise = op.name == "DEPTHWISE_CONV_2D"
        w_t = self.t(op.inputs[1])
        w, s_w = q.weight(op, w_t, 3 if depthwise else 0)
        d = dilation(op)
        if dil.as_zero_taps((int(w.shape[1]), int(w.shape[2])), d, depthwise):
            w, d = dil.zero_taps(w, d, (1, 2)), (1, 1)
        extent = dil.extent((int(w.shape[1]), int(w.shape[2])), d)
        x, stride, pads = self._conv_geometry(op, op.inputs[0], extent)
        xt = self.tensors[x]
        s_x, z_x = xt.scale, xt.zero_point
        s_y, z_y = q.activation(op, self.t(op.outputs[0]))
        n_out = int(w.shape[3] if depthwise else w.shape[0])
        b_idx = op.inputs[2] if len(op.inputs) > 2 else -1
        b = q.bias(op, self.t(b_idx) if b_idx >= 0 else None, n_out)
        if depthwise and n_out != xt.shape[3] and d == (1, 1):  # else the kernels' own
            x, w, depthwise = self.depth_multiplier(op, x, w, n_out)
            xt = self.tensors[x]
        if depthwise:
            if w.shape[0] != 1 or n_out % xt.shape[3]:
                raise op_error(op, f"{n_out} output channels of {xt.shape[3]}")
            w = w[0]
            bias = q.folded(op, gold.fold_bias_depthwise, b, w, z_x)
            cls: type[ir.Conv2d] = ir.DepthwiseConv2d
        else:
            bias = q.folded(op, gold.fold_bias, b, w, z_x)
            cls = ir.Conv2d
        real = s_x * np.asarray(s_w, np.float64) / s_y
        rq = q.requant(op, real if np.ndim(s_w) else float(real), z_y, q.clamp(op, s_y, z_y))
        self.emit(
            op,
            lambda y, src: cls(
                name=self.op_name(cls.kind),
                inputs=(x,),
                output=y,
                source=src,
                weight=w.astype(np.int8),
                bias=bias,
                stride=stride,
                pad=pads,
                rq=rq,
                pad_value=z_x,
                dilation=d,
            ),
            self.static_out(op, xt.shape[0]),
        )

    def depth_multiplier(
        self, op: TflOp, x: str, w: np.ndarray, n_out: int
    ) -> tuple[str, np.ndarray, bool]:
        """A depthwise convolution with multiplier M = n_out / C (output channel c*M + m
        filters input channel c) as an exact equivalent: a CONV_2D when C is 1, else the
        input's channels repeated M times (a Gather) and a depthwise convolution."""
        c = self.tensors[x].shape[3]
        if w.shape[0] != 1 or n_out % c:
            raise op_error(op, f"{n_out} output channels of {c} input channels")
        if c == 1:  # [1][KH][KW][M] -> [M][KH][KW][1]
            return x, np.ascontiguousarray(np.transpose(w, (3, 1, 2, 0))), False
        idx = np.repeat(np.arange(c), n_out // c)
        return gather(self, op, x, 3, idx, f"{x}_repeat"), w, True

    def pool(self, op: TflOp) -> None:
        kernel = (int(op.opt("FilterHeight", 1)), int(op.opt("FilterWidth", 1)))
        x, stride, pads = self._conv_geometry(op, op.inputs[0], kernel)
        xt = self.tensors[x]
        s_y, z_y = q.activation(op, self.t(op.outputs[0]))
        lo, hi = q.clamp(op, s_y, z_y)
        if op.name == "MAX_POOL_2D":
            if (s_y, z_y) != (xt.scale, xt.zero_point) or (lo, hi) != (-128, 127):
                raise op_error(op, "output quantization differs from the input's", "accepted: same")
            factory = lambda y, src: ir.MaxPool(  # noqa: E731
                name=self.op_name("maxpool"),
                inputs=(x,),
                output=y,
                source=src,
                kernel=kernel,
                stride=stride,
                pad=pads,
            )
        else:
            rq = q.requant(op, xt.scale / s_y, z_y, (lo, hi))
            # TFLite's int8 kernel averages the codes (the input's scale and zero point
            # are the output's) and rounds half away from zero: the pool's TFLite rounding
            exact = (s_y, z_y) == (xt.scale, xt.zero_point)
            if exact:
                rq = gold.Requant.from_scale(1.0, "requant", act_min=lo, act_max=hi, zero_point=z_y)
            factory = lambda y, src: ir.AvgPool(  # noqa: E731
                name=self.op_name("avgpool"),
                inputs=(x,),
                output=y,
                source=src,
                kernel=kernel,
                stride=stride,
                pad=pads,
                rq=rq,
                input_zero_point=xt.zero_point,
                tflite_rounding=exact,
            )
        self.emit(op, factory, self.static_out(op, xt.shape[0]))

    def pad(self, op: TflOp) -> None:
        users = [o for o in self.g.ops if op.outputs[0] in o.inputs]
        p_t = self.t(op.inputs[1])
        x_t = self.t(op.inputs[0])
        ok = (
            len(users) == 1
            and users[0].name in ("CONV_2D", "DEPTHWISE_CONV_2D", "AVERAGE_POOL_2D", "MAX_POOL_2D")
            and users[0].inputs[0] == op.outputs[0]
            and p_t.data is not None
            and p_t.data.shape == (4, 2)
            and not p_t.data[0].any()
            and not p_t.data[3].any()
            and (self.t(op.outputs[0]).scale, self.t(op.outputs[0]).zero_point)
            == (x_t.scale, x_t.zero_point)
        )
        if not ok or (len(op.inputs) > 2 and op.inputs[2] >= 0):
            raise op_error(
                op, "not followed by one convolution or pooling", f"supported: {SUPPORTED}"
            )
        if users[0].name == "MAX_POOL_2D":
            raise op_error(op, "PAD before MAX_POOL_2D pads with the zero point", "not supported")
        d = p_t.data
        self.pads[op.outputs[0]] = (
            op.inputs[0],
            op,
            (int(d[1, 0]), int(d[2, 0]), int(d[1, 1]), int(d[2, 1])),
        )

    def add(self, op: TflOp) -> None:
        a_i, b_i = op.inputs[0], op.inputs[1]
        s_y, z_y = q.activation(op, self.t(op.outputs[0]))
        ta, tb = self.t(a_i), self.t(b_i)
        if ta.data is not None:
            a_i, b_i, ta, tb = b_i, a_i, tb, ta
        a = self.act(op, a_i)
        s_a, z_a = q.activation(op, ta)
        s_b, z_b = q.activation(op, tb)
        out_shape = self.shape(a_i)
        b_const = None
        if tb.data is not None:
            if math.prod(tb.shape) != math.prod(out_shape):
                raise op_error(
                    op, "broadcast constant", "accepted: a constant of the output's size"
                )
            b_const = tb.data.reshape(self.tensors[a].shape).astype(np.int8)
            inputs: tuple[str, ...] = (a,)
        else:
            b = self.act(op, b_i)
            if self.tensors[a].shape != self.tensors[b].shape:
                raise op_error(
                    op, f"broadcast {list(ta.shape)} + {list(tb.shape)}", "accepted: equal shapes"
                )
            inputs = (a, b)
        lo, hi = q.clamp(op, s_y, z_y)
        try:
            params = gold.add_params(s_a, s_b, s_y, z_a, z_b, z_y)
        except ValueError as exc:
            raise op_error(op, f"scales: {exc}") from None
        params = gold.AddParams(params.m_a, params.m_b, params.shift, lo, hi, params.offset, z_y)
        self.emit(
            op,
            lambda y, src: ir.Add(
                name=self.op_name("add"),
                inputs=inputs,
                output=y,
                source=src,
                params=params,
                b_const=b_const,
            ),
            self.tensors[a].shape,
            self.declared_shape(op, self.tensors[a].shape),
        )

    def mean(self, op: TflOp) -> None:
        x = self.act(op, op.inputs[0])
        s_x, z_x = q.activation(op, self.t(op.inputs[0]))
        s_y, z_y = q.activation(op, self.t(op.outputs[0]))
        shape = self.shape(op.inputs[0])
        axes_v = self.const(op.inputs[1])
        axes = (
            sorted({int(a) % len(shape) for a in np.asarray(axes_v).ravel()})
            if axes_v is not None
            else []
        )
        lead = [a for a in range(len(shape)) if a not in axes]
        if (
            not axes
            or axes != list(range(axes[0], axes[-1] + 1))
            or axes[-1] != len(shape) - 2
            or any(shape[a] != 1 for a in lead[:-1])
        ):
            raise op_error(
                op, f"mean over axes {axes} of {list(shape)}", "accepted: over tokens or H,W"
            )
        rows = math.prod(shape[a] for a in axes)
        e = shape[-1]
        xr = self.view(x, (rows, e), op)
        rq = q.requant(op, s_x / (rows * s_y), z_y)
        keep = bool(op.opt("KeepDims", False))
        tfl = tuple(1 if a in axes else d for a, d in enumerate(shape) if keep or a not in axes)
        self.emit(
            op,
            lambda y, src: ir.MeanRows(
                name=self.op_name("mean"),
                inputs=(xr,),
                output=y,
                source=src,
                rq=rq,
                input_zero_point=z_x,
            ),
            (e,),
            tfl,
        )

    def reshape(self, op: TflOp) -> None:
        x = self.act(op, op.inputs[0])
        a, b = self.t(op.inputs[0]), self.t(op.outputs[0])
        if (a.scale, a.zero_point) != (b.scale, b.zero_point):
            raise op_error(
                op, "changes the quantization", "accepted: the same scale and zero point"
            )
        self.values[op.outputs[0]] = self.view(x, self.reshape_target(op, x), op)

    def reshape_target(self, op: TflOp, x: str) -> tuple[int, ...]:
        size = self.tensors[x].size
        target = self.const(op.inputs[1]) if len(op.inputs) > 1 else None
        if target is None and op.name == "RESHAPE" and op.opt("NewShape") is not None:
            target = np.asarray(op.opt("NewShape"))
        if target is None:
            t = self.t(op.outputs[0])
            if any(d < 0 for d in t.signature[1:]):
                raise op_error(op, "the new shape is not a constant", "accepted: static shapes")
            target = np.asarray((-1, *t.shape[1:]) if t.signature[:1] == (-1,) else t.shape)
        dims = [int(d) for d in np.asarray(target).ravel()]
        known = math.prod(d for d in dims if d >= 0)
        if dims.count(-1) > 1 or (dims.count(-1) == 1 and (known == 0 or size % known)):
            raise op_error(op, f"new shape {dims} does not fit {size} elements")
        dims = [size // known if d == -1 else d for d in dims]
        if math.prod(dims) != size:
            raise op_error(op, f"new shape {dims} does not fit {size} elements")
        return tuple(dims)

    def lower(self) -> ir.Model:
        g = self.g
        if len(g.inputs) != 1 or len(g.outputs) != 1:
            raise FrontendError(
                f"{len(g.inputs)} inputs, {len(g.outputs)} outputs; accepted: one each"
            )
        for idx in (*g.inputs, *g.outputs):
            t = self.t(idx)
            if any(d < 0 for d in t.signature[1:]) or not t.shape:
                raise FrontendError(
                    f"tensor '{t.name}': dynamic shape {list(t.signature)}; "
                    "accepted: static shapes (batch 1)"
                )
        if not any(o.name not in ("QUANTIZE", "DEQUANTIZE") for o in g.ops) or all(
            self.t(i).dtype == "float32" for o in g.ops for i in o.inputs[:1] if i >= 0
        ):
            raise FrontendError("a float model (not quantized); " + q.ACCEPT_QUANT)
        t_in = self.t(g.inputs[0])
        if t_in.dtype == "int8":
            if t_in.scales.size != 1:
                raise FrontendError(
                    f"input '{t_in.name}' has {t_in.scales.size} scales; accepted: one"
                )
            self.input = self.new(g.inputs[0])
            self.values[g.inputs[0]] = self.input
        elif t_in.dtype == "int16":
            raise FrontendError(
                f"input '{t_in.name}' is int16 (16x8 quantization); " + q.ACCEPT_QUANT
            )
        handlers = {
            "QUANTIZE": self.quantize,
            "DEQUANTIZE": self.dequantize,
            "FULLY_CONNECTED": self.fully_connected,
            "CONV_2D": self.conv,
            "DEPTHWISE_CONV_2D": self.conv,
            "MAX_POOL_2D": self.pool,
            "AVERAGE_POOL_2D": self.pool,
            "PAD": self.pad,
            "ADD": self.add,
            "MEAN": self.mean,
            **dict.fromkeys(VIEWS, self.reshape),
            **dict.fromkeys(UNARY, self.unary),
            "SUB": partial(binary, self),
            "MUL": partial(binary, self),
            "CONCATENATION": partial(mv.concatenation, self),
            "PACK": partial(mv.pack, self),
            "UNPACK": partial(mv.unpack, self),
            "SPLIT": partial(mv.split, self),
            "SPLIT_V": partial(mv.split_v, self),
            "STRIDED_SLICE": partial(mv.strided_slice, self),
            "SLICE": partial(mv.slice_op, self),
            "GATHER": partial(mv.gather_op, self),
            "TRANSPOSE": partial(mv.transpose, self),
            "TILE": partial(mv.tile, self),
            "BROADCAST_TO": partial(mv.broadcast_to, self),
            "SPACE_TO_DEPTH": partial(mv.space_to_depth, self),
            "DEPTH_TO_SPACE": partial(mv.depth_to_space, self),
            "RESIZE_NEAREST_NEIGHBOR": partial(mv.resize_nearest, self),
            "REVERSE_V2": partial(mv.reverse, self),
            "MAXIMUM": partial(extremum, self),
            "MINIMUM": partial(extremum, self),
        }
        handlers["ADD"] = partial(binary, self)
        at: dict[int, Callable[[], None]] = {}
        attentions = match_attentions(g)
        for m in attentions:
            at[m.last] = partial(lower_attention, self, m, self.exact_attention)
        norms = match_layernorms(g)
        for n in norms:
            at[n.last] = partial(lower_layernorm, self, n)
        frames = match_frames(g)
        for f in frames:
            at[f.last] = partial(lower_frames, self, f, handlers[f.first.name])
        inside = {i for m in (*attentions, *norms, *frames) for i in m.ops}
        for op in g.ops:
            if op.index in at:
                at[op.index]()
                continue
            if op.index in inside or self.fold(op):
                continue
            handler = handlers.get(op.name)
            if handler is None:
                raise op_error(op, "not supported", f"supported: {SUPPORTED}")
            handler(op)
        out = g.outputs[0]
        if out not in self.values or not self.input:
            raise FrontendError(f"output '{self.t(out).name}' is not computed by a supported chain")
        self.output = self.values[out]
        if self.output == self.input:
            raise FrontendError("the model has no operator between its input and output")
        return ir.Model(
            name=self.name,
            tensors=dict(self.tensors),
            ops=tuple(self.ops),
            input=self.input,
            output=self.output,
            input_spec=ir.IOSpec(
                t_in.name, self.t(g.inputs[0]).shape, tuple(range(len(t_in.shape)))
            ),
            output_spec=ir.IOSpec(
                self.t(out).name, self.t(out).shape, tuple(range(len(self.t(out).shape)))
            ),
        )
