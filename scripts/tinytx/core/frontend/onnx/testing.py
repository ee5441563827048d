"""Small float ONNX graphs made with ``onnx.helper`` and their int8 QDQ versions.

For tests and examples: :class:`GraphBuilder` writes the op sequences the frontend
accepts (and variants of them), :func:`quantize_qdq` quantizes a float model with
onnxruntime's ``quantize_static`` the way tinytx expects (QDQ, int8, symmetric,
per-tensor). Weights are seeded random values; no torch is involved.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

import numpy as np


class GraphBuilder:
    """Builds a float graph node by node; every method returns the new value's name."""

    def __init__(self, seed: int = 0, opset: int = 17) -> None:
        self.rng = np.random.default_rng(seed)
        self.opset = opset
        self.nodes: list = []
        self.inits: list = []
        self.shapes: dict[str, tuple[int, ...]] = {}
        self.input_name = ""
        self.input_shape: tuple[int, ...] = ()
        self._n = 0

    # -- plumbing
    def _name(self, base: str) -> str:
        self._n += 1
        return f"{base}{self._n}"

    def const(self, value: np.ndarray, base: str = "c") -> str:
        from onnx import numpy_helper

        name = self._name(base)
        self.inits.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def node(
        self, op: str, inputs: list[str], shape: tuple[int, ...] | None = None, **attrs
    ) -> str:
        from onnx import helper

        out = self._name(op.lower() + "_")
        self.nodes.append(helper.make_node(op, inputs, [out], name=self._name(op), **attrs))
        if shape is not None:
            self.shapes[out] = tuple(shape)
        return out

    def weight(self, shape: tuple[int, ...], std: float | None = None) -> np.ndarray:
        fan_in = math.prod(shape[:-1]) if len(shape) > 1 else shape[0]
        std = std if std is not None else 1.0 / math.sqrt(max(fan_in, 1))
        return (self.rng.standard_normal(shape) * std).astype(np.float32)

    def input(self, shape: tuple[int, ...], name: str = "input") -> str:
        self.input_name, self.input_shape = name, tuple(shape)
        self.shapes[name] = tuple(shape)
        return name

    def shape(self, value: str) -> tuple[int, ...]:
        return self.shapes[value]

    # -- layers
    def linear(self, x: str, n: int, bias: bool = True, gemm: bool = False) -> str:
        xs = self.shape(x)
        k = xs[-1]
        if gemm:
            w = self.const(self.weight((n, k)), "w")
            ins = [x, w] + ([self.const(self.weight((n,), 0.1), "b")] if bias else [])
            return self.node("Gemm", ins, (*xs[:-1], n), transB=1)
        w = self.const(self.weight((k, n)).reshape(k, n), "w")
        y = self.node("MatMul", [x, w], (*xs[:-1], n))
        if bias:
            y = self.node("Add", [y, self.const(self.weight((n,), 0.1), "b")], (*xs[:-1], n))
        return y

    def reshape(self, x: str, shape: tuple[int, ...]) -> str:
        return self.node("Reshape", [x, self.const(np.array(shape, np.int64), "shape")], shape)

    def transpose(self, x: str, perm: tuple[int, ...]) -> str:
        xs = self.shape(x)
        return self.node("Transpose", [x], tuple(xs[p] for p in perm), perm=list(perm))

    def mhsa(
        self,
        x: str,
        heads: int,
        head_dim: int | None = None,
        bias: bool = True,
        scale: str = "div",
        k_transpose: str = "one",
    ) -> str:
        """Explicit attention: projections, head split, (QK^T) scaled, Softmax, A*V, merge,
        output projection. ``scale``: ``div`` (scores / sqrt(P)), ``mul`` (scores * 1/sqrt(P)),
        ``qk`` (q and k each * P**-0.25). ``k_transpose``: ``one`` (perm 0,2,3,1) or ``two``
        (0,2,1,3 then 0,1,3,2)."""
        b, s, e = self.shape(x)
        p = head_dim or e // heads
        q = self.reshape(self.linear(x, heads * p, bias), (b, s, heads, p))
        k = self.reshape(self.linear(x, heads * p, bias), (b, s, heads, p))
        v = self.reshape(self.linear(x, heads * p, bias), (b, s, heads, p))
        q = self.transpose(q, (0, 2, 1, 3))
        if k_transpose == "one":
            k = self.transpose(k, (0, 2, 3, 1))
        else:
            k = self.transpose(self.transpose(k, (0, 2, 1, 3)), (0, 1, 3, 2))
        v = self.transpose(v, (0, 2, 1, 3))
        if scale == "qk":
            f = self.const(np.array(p**-0.25, np.float32), "f")
            q = self.node("Mul", [q, f], self.shape(q))
            k = self.node("Mul", [k, f], self.shape(k))
        sc = self.node("MatMul", [q, k], (b, heads, s, s))
        if scale == "div":
            sc = self.node(
                "Div", [sc, self.const(np.array(math.sqrt(p), np.float32))], (b, heads, s, s)
            )
        elif scale == "mul":
            sc = self.node(
                "Mul", [sc, self.const(np.array(1 / math.sqrt(p), np.float32))], (b, heads, s, s)
            )
        a = self.node("Softmax", [sc], (b, heads, s, s), axis=-1)
        o = self.node("MatMul", [a, v], (b, heads, s, p))
        o = self.reshape(self.transpose(o, (0, 2, 1, 3)), (b, s, heads * p))
        return self.linear(o, e, bias)

    def layernorm(self, x: str, decomposed: bool = False, affine: bool = True) -> str:
        xs = self.shape(x)
        e = xs[-1]
        gamma = (1.0 + 0.2 * self.rng.standard_normal(e)).astype(np.float32)
        beta = (0.1 * self.rng.standard_normal(e)).astype(np.float32)
        if not decomposed:
            return self.node(
                "LayerNormalization",
                [x, self.const(gamma, "g"), self.const(beta, "be")],
                xs,
                axis=-1,
                epsilon=1e-5,
            )
        axes = {"axes": [-1]} if self.opset < 18 else {}
        ins = [] if self.opset < 18 else [self.const(np.array([-1], np.int64), "ax")]
        red = (*xs[:-1], 1)
        mean = self.node("ReduceMean", [x, *ins], red, **axes)
        d = self.node("Sub", [x, mean], xs)
        sq = self.node("Pow", [d, self.const(np.array(2.0, np.float32))], xs)
        var = self.node("ReduceMean", [sq, *ins], red, **axes)
        var = self.node("Add", [var, self.const(np.array(1e-5, np.float32))], red)
        y = self.node("Div", [d, self.node("Sqrt", [var], red)], xs)
        if affine:
            y = self.node("Mul", [y, self.const(gamma, "g")], xs)
            y = self.node("Add", [y, self.const(beta, "be")], xs)
        return y

    def gelu(self, x: str, form: str = "erf") -> str:
        xs = self.shape(x)

        def c(v: float) -> str:
            return self.const(np.array(v, np.float32))

        if form == "op":
            return self.node("Gelu", [x], xs)
        if form == "erf":
            t = self.node("Div", [x, c(math.sqrt(2.0))], xs)
            t = self.node("Erf", [t], xs)
        else:
            cube = self.node("Pow", [x, c(3.0)], xs)
            inner = self.node("Add", [x, self.node("Mul", [cube, c(0.044715)], xs)], xs)
            t = self.node("Tanh", [self.node("Mul", [inner, c(math.sqrt(2 / math.pi))], xs)], xs)
        t = self.node("Add", [t, c(1.0)], xs)
        t = self.node("Mul", [x, t], xs)
        return self.node("Mul", [t, c(0.5)], xs)

    def relu(self, x: str) -> str:
        return self.node("Relu", [x], self.shape(x))

    def add(self, a: str, b: str) -> str:
        return self.node("Add", [a, b], self.shape(a))

    def conv(
        self,
        x: str,
        c_out: int,
        k: int = 3,
        stride: int = 1,
        pad: int = 1,
        group: int = 1,
        bias: bool = True,
        bn: bool = False,
        dilation: int = 1,
    ) -> str:
        xs = self.shape(x)
        c_in, spatial = xs[1], xs[2:]
        nd = len(spatial)
        w = self.const(self.weight((c_out, c_in // group, *([k] * nd))), "w")
        ins = [x, w] + ([self.const(self.weight((c_out,), 0.1), "b")] if bias else [])
        ext = (k - 1) * dilation + 1
        out_sp = tuple((d + 2 * pad - ext) // stride + 1 for d in spatial)
        y = self.node(
            "Conv",
            ins,
            (xs[0], c_out, *out_sp),
            kernel_shape=[k] * nd,
            strides=[stride] * nd,
            pads=[pad] * (2 * nd),
            group=group,
            **({"dilations": [dilation] * nd} if dilation != 1 else {}),
        )
        if bn:
            g = (1 + 0.1 * self.rng.standard_normal(c_out)).astype(np.float32)
            b = (0.1 * self.rng.standard_normal(c_out)).astype(np.float32)
            m = (0.1 * self.rng.standard_normal(c_out)).astype(np.float32)
            v = (1 + 0.1 * self.rng.random(c_out)).astype(np.float32)
            ins = [y, *(self.const(a, "bn") for a in (g, b, m, v))]
            y = self.node("BatchNormalization", ins, self.shape(y), epsilon=1e-5)
        return y

    def pool(self, x: str, op: str = "MaxPool", k: int = 2, stride: int = 2, pad: int = 0) -> str:
        xs = self.shape(x)
        nd = len(xs) - 2
        out_sp = tuple((d + 2 * pad - k) // stride + 1 for d in xs[2:])
        return self.node(
            op,
            [x],
            (*xs[:2], *out_sp),
            kernel_shape=[k] * nd,
            strides=[stride] * nd,
            pads=[pad] * (2 * nd),
        )

    def global_avg_pool(self, x: str) -> str:
        xs = self.shape(x)
        return self.node("GlobalAveragePool", [x], (*xs[:2], *([1] * (len(xs) - 2))))

    def mean(self, x: str, axes: tuple[int, ...], keepdims: int = 0) -> str:
        xs = self.shape(x)
        rank = len(xs)
        ax = [a % rank for a in axes]
        shape = tuple(1 if a in ax else d for a, d in enumerate(xs) if keepdims or a not in ax)
        if self.opset < 18:
            return self.node("ReduceMean", [x], shape, axes=list(axes), keepdims=keepdims)
        ins = [x, self.const(np.array(axes, np.int64), "ax")]
        return self.node("ReduceMean", ins, shape, keepdims=keepdims)

    def flatten(self, x: str, axis: int = 1) -> str:
        xs = self.shape(x)
        return self.node("Flatten", [x], (math.prod(xs[:axis]), math.prod(xs[axis:])), axis=axis)

    # -- result
    def model(self, output: str, name: str = "test"):
        from onnx import TensorProto, helper

        graph = helper.make_graph(
            self.nodes,
            name,
            [helper.make_tensor_value_info(self.input_name, TensorProto.FLOAT, self.input_shape)],
            [helper.make_tensor_value_info(output, TensorProto.FLOAT, self.shape(output))],
            self.inits,
        )
        m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", self.opset)])
        m.ir_version = 8
        return m


def random_inputs(shape: tuple[int, ...], count: int, seed: int = 1) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape).astype(np.float32) for _ in range(count)]


def quantize_qdq(
    model,
    calibration: list[np.ndarray],
    input_name: str = "input",
    per_channel: bool = False,
    symmetric: bool = True,
    nodes_to_exclude: list[str] | None = None,
    activation_type: str = "QInt8",
    weight_symmetric: bool | None = None,
    op_types: list[str] | None = None,
) -> bytes:
    """The int8 QDQ model (bytes) from onnxruntime's ``quantize_static`` with MinMax
    calibration on ``calibration`` (needs onnxruntime, a dev dependency). ``symmetric``
    applies to activations and, unless ``weight_symmetric`` says otherwise, to weights;
    ``op_types`` replaces onnxruntime's list of op types to quantize."""
    import onnx
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self._it = iter([{input_name: a} for a in calibration])

        def get_next(self):
            return next(self._it, None)

    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "float.onnx", Path(tmp) / "qdq.onnx"
        onnx.save(model, str(src))
        quantize_static(
            str(src),
            str(dst),
            Reader(),
            quant_format=QuantFormat.QDQ,
            activation_type=getattr(QuantType, activation_type),
            weight_type=QuantType.QInt8,
            per_channel=per_channel,
            nodes_to_exclude=nodes_to_exclude or [],
            op_types_to_quantize=op_types,
            extra_options={
                "ActivationSymmetric": symmetric,
                "WeightSymmetric": symmetric if weight_symmetric is None else weight_symmetric,
            },
        )
        return dst.read_bytes()


def gelu_island(model) -> list[str]:
    """Names of the float nodes of every GELU this module writes (to keep them
    unquantized, as the sample models do: one DQ before, one Q after)."""
    producers = {o: n for n in model.graph.node for o in n.output}
    consumers: dict[str, list] = {}
    for n in model.graph.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)

    def back(node, ops):
        chain = []
        for op in ops:
            node = next(
                producers[i] for i in node.input if i in producers and producers[i].op_type == op
            )
            chain.append(node)
        return chain

    def fwd(node, ops):
        chain = []
        for op in ops:
            node = next(c for c in consumers[node.output[0]] if c.op_type == op)
            chain.append(node)
        return chain

    names: list[str] = []
    for n in model.graph.node:
        if n.op_type == "Erf":
            chain = [*back(n, ["Div"]), n, *fwd(n, ["Add", "Mul", "Mul"])]
        elif n.op_type == "Tanh":
            chain = [*back(n, ["Mul", "Add", "Mul", "Pow"]), n, *fwd(n, ["Add", "Mul", "Mul"])]
        else:
            continue
        names += [c.name for c in chain]
    return names
