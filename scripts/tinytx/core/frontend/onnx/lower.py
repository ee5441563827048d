"""From the float view of a QDQ graph (:mod:`.graph`) to the tinytx IR.

1. Pattern fusion: every Softmax must be the heart of an MHSA block, every Erf/Tanh
   of a GELU, every LayerNormalization (or decomposed LayerNorm) becomes one op; the
   matched nodes are replaced by one node placed where the last of them was.
2. Lowering in graph order. Layout ops (Reshape, Transpose, Flatten, ...) only move the
   index arrays of :mod:`.layout`; every other node becomes one IR op, with its bias
   Add, BatchNormalization and ReLU/Clip folded in when they follow it.

Requantization factors come from the scales of the op's input and output tensors; the
QDQ pairs in between (e.g. on a MatMul output before its bias Add) are rounding steps of
the float model that the integer kernels do not take.
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass

import numpy as np

from tinytx.core import golden as gold
from tinytx.core import ir
from tinytx.core.frontend import dilation
from tinytx.core.frontend.onnx.attention import match_attention
from tinytx.core.frontend.onnx.graph import FrontendError, Graph, Node, node_error
from tinytx.core.frontend.onnx.layout import (
    LAYOUT_OPS,
    Placement,
    apply_layout,
    channels_last,
    is_row_major,
    memory_perm,
    row_major,
    spatial_shape,
)
from tinytx.core.frontend.onnx.patterns import (
    ACCEPT_LINEAR,
    GeluMatch,
    LayerNormMatch,
    MhsaMatch,
    int_bias,
    is_linear_node,
    match_gelu,
    match_layernorm_decomposed,
    match_layernorm_node,
    match_linear,
    quantized_weight,
    requant,
    single_consumer,
)
from tinytx.core.frontend.onnx.rewrite import casts_to_identity, hoist_activations
from tinytx.core.frontend.onnx.tokens import lower_concat, lower_select
from tinytx.core.frontend.onnx.unary import UNARY_OPS, lower_unary, plain_tanh

SUPPORTED = (
    "MatMul/Gemm (+ bias Add), self-attention (separate or packed q/k/v projections, "
    "MatMul, Softmax, MatMul with Reshape/Transpose/Split/Slice/Gather), "
    "Concat of a class token, Gather/Slice of tokens, "
    "LayerNormalization, GELU (Erf or Tanh form, Gelu), Add, Relu/Clip after a linear, "
    "convolution or add, Sigmoid, Tanh, HardSigmoid, HardSwish, LeakyRelu, Relu, Clip and "
    "SiLU (Mul(x, Sigmoid(x))) as a table, Conv (+ BatchNormalization), MaxPool, AveragePool, "
    "GlobalAveragePool, ReduceMean, ReduceMax over tokens, Reshape, Transpose, Flatten, "
    "Squeeze, Unsqueeze, Identity"
)
SPATIAL_OPS = ("Conv", "MaxPool", "AveragePool", "GlobalAveragePool")
FUSED = "tinytx"


def c_name(text: str, used: set[str]) -> str:
    name = re.sub(r"\W", "_", text).strip("_") or "t"
    if name[0].isdigit():
        name = "t_" + name
    name = name[:48]
    base, k = name, 1
    while name in used:
        name = f"{base}_{k}"
        k += 1
    used.add(name)
    return name


# ------------------------------------------------------------------------------ fusion


def fuse_patterns(g: Graph) -> list[Node]:
    """Graph nodes with each matched pattern replaced by one fused node."""
    matches: list[tuple[Node, list[Node]]] = []
    for node in g.nodes:
        m: MhsaMatch | GeluMatch | LayerNormMatch | None = None
        kind = ""
        if node.op == "Softmax":
            m, kind = match_attention(g, node), "Mhsa"
        elif node.op in ("Erf", "Tanh", "Gelu") and not plain_tanh(g, node):
            m, kind = match_gelu(g, node), "Gelu"
        elif node.op == "LayerNormalization":
            m, kind = match_layernorm_node(g, node), "LayerNorm"
        elif node.op == "ReduceMean":
            m, kind = match_layernorm_decomposed(g, node), "LayerNorm"
        if m is None:
            continue
        fused = Node(
            name=node.name,
            op=kind,
            inputs=[m.input],
            outputs=[m.output],
            attrs={},
            domain=FUSED,
            members=tuple(m.nodes),
            data=m,
        )
        matches.append((fused, m.nodes))
    owner: dict[int, Node] = {}
    for fused, members in matches:
        for n in members:
            if id(n) in owner:
                raise node_error(
                    fused, f"overlaps the {owner[id(n)].op} pattern at '{owner[id(n)].name}'"
                )
            owner[id(n)] = fused
    position = {id(n): i for i, n in enumerate(g.nodes)}
    last = {id(f): max(position[id(n)] for n in ms) for f, ms in matches}
    out: list[Node] = []
    for i, n in enumerate(g.nodes):
        f = owner.get(id(n))
        if f is None:
            out.append(n)
        elif last[id(f)] == i:
            out.append(f)
    return out


# ---------------------------------------------------------------------------- lowering


def conv_dilation(node: Node, nd: int) -> tuple[int, int]:
    """A Conv's dilations in 2-D (1-D seen as H=1); the kernels take them in their dims."""
    dil = [int(d) for d in node.attr("dilations", [1] * nd)]
    if len(dil) != nd or any(d < 1 for d in dil):
        raise node_error(node, f"dilations {dil}")
    return (1, dil[0]) if nd == 1 else (dil[0], dil[1])


@dataclass
class Act:
    """A fused activation after an op: the value it writes, its clamp, the nodes."""

    value: str
    lo: int
    hi: int
    nodes: tuple[Node, ...]


class Lowering:
    def __init__(self, g: Graph, name: str) -> None:
        self.g = g
        self.name = name
        self.places: dict[str, Placement] = {}
        self.tensors: dict[str, ir.Tensor] = {}
        self.ops: list[ir.Op] = []
        self.done: set[int] = set()
        self.used_names: set[str] = set()
        self.counts: dict[str, int] = {}

    # -- helpers
    def scale(self, value: str, node: Node) -> float:
        s = self.g.qscale.get(value)
        if s is None:
            raise node_error(
                node,
                f"its output '{value}' is not quantized (no QuantizeLinear/DequantizeLinear)",
                "accepted: QDQ models whose every activation tensor is int8",
            )
        return s

    def zero(self, value: str) -> int:
        """The int8-domain zero point of a quantized value (0: symmetric)."""
        return self.g.qzero.get(value, 0)

    def new_tensor(
        self, value: str, shape: tuple[int, ...], scale: float, zero_point: int | None = None
    ) -> str:
        name = c_name(value, self.used_names)
        z = self.zero(value) if zero_point is None else zero_point
        self.tensors[name] = ir.Tensor(name, tuple(int(d) for d in shape), "int8", scale, z)
        return name

    def op_name(self, kind: str) -> str:
        k = self.counts.get(kind, 0)
        self.counts[kind] = k + 1
        return f"{kind}{k}"

    def place(self, value: str, node: Node) -> Placement:
        p = self.places.get(value)
        if p is None:
            if value in self.g.consts:
                raise node_error(
                    node,
                    f"input '{value}' is a constant where an activation is expected",
                    f"accepted: {SUPPORTED}",
                )
            raise node_error(node, f"input '{value}' is not produced by a supported op")
        return p

    def view(self, p: Placement, shape: tuple[int, ...], node: Node) -> str:
        """The IR tensor of ``p`` seen with ``shape`` (a View op when the shape differs)."""
        t = self.tensors[p.tensor]
        if t.shape == shape:
            return p.tensor
        if t.size != math.prod(shape):
            raise node_error(node, f"cannot view {list(t.shape)} as {list(shape)}")
        for op in self.ops:  # reuse an existing view
            if isinstance(op, ir.View) and op.inputs[0] == p.tensor:
                if self.tensors[op.output].shape == shape:
                    return op.output
        out = self.new_tensor(f"{p.tensor}_view", shape, t.scale, t.zero_point)
        self.ops.append(
            ir.View(name=self.op_name("view"), inputs=(p.tensor,), output=out, source=node.name)
        )
        return out

    def rows(self, value: str, node: Node, what: str = "input") -> tuple[str, int, int]:
        """The tensor of ``value`` as ``[rows][last dim]``; its memory must be row-major."""
        p = self.place(value, node)
        if not is_row_major(p.idx):
            raise node_error(
                node,
                f"its {what} '{value}' {list(p.shape)} is not stored row-major "
                "(a transpose would be needed)",
                "accepted: token-major [S][E] activations",
            )
        last = p.shape[-1] if p.shape else 1
        rows = p.idx.size // last
        return self.view(p, (rows, last), node), rows, last

    def activation_after(self, value: str) -> Act:
        """A Relu/Clip right after ``value`` (fused into the op that writes ``value``)."""
        nxt = single_consumer(self.g, value)
        if nxt is None or nxt.op not in ("Relu", "Clip"):
            return Act(value, -128, 127, ())
        out = nxt.outputs[0]
        s, z = self.scale(out, nxt), self.zero(out)
        lo, hi = -128, 127
        if nxt.op == "Relu":
            lo = max(-128, min(127, z))  # real 0
        else:
            bounds = []
            for k in (1, 2):
                name = nxt.inputs[k] if len(nxt.inputs) > k else ""
                if name and name not in self.g.consts:
                    raise node_error(nxt, "bounds are not constants", "accepted: constant bounds")
                bounds.append(
                    float(np.asarray(self.g.consts[name].value).ravel()[0]) if name else None
                )
            if bounds[0] is None and "min" in nxt.attrs:
                bounds = [nxt.attrs.get("min"), nxt.attrs.get("max")]
            if bounds[0] is not None:
                lo = max(-128, min(127, math.ceil(bounds[0] / s - 1e-9) + z))
            if bounds[1] is not None:
                hi = min(127, max(-128, math.floor(bounds[1] / s + 1e-9) + z))
            if lo > hi:
                raise node_error(nxt, f"empty range [{bounds[0]}, {bounds[1]}]")
        return Act(out, lo, hi, (nxt,))

    # -- driver
    def run(self) -> ir.Model:
        g = self.g
        nodes = fuse_patterns(g)
        in_shape = g.input_shape
        spatial = any(n.op in SPATIAL_OPS for n in g.consumers(g.input))
        if spatial and len(in_shape) in (3, 4):
            idx = channels_last(in_shape)
            phys = spatial_shape(in_shape)
        else:
            idx = row_major(in_shape)
            phys = in_shape[1:] if len(in_shape) > 1 and in_shape[0] == 1 else in_shape
        in_tensor = self.new_tensor(g.input, phys, g.qscale[g.input], self.zero(g.input))
        self.places[g.input] = Placement(in_tensor, idx)
        input_idx = idx
        for node in nodes:
            if id(node) in self.done:
                continue
            self.lower(node)
        out = self.places.get(g.output)
        if out is None:
            raise FrontendError(f"output '{g.output_onnx}' is not produced by a supported op")
        if out.tensor == in_tensor:
            raise FrontendError(f"output '{g.output_onnx}' is the input itself (no op)")
        t = self.tensors[out.tensor]
        perm = memory_perm(out.idx)
        if perm is None or out.idx.size != t.size:
            raise FrontendError(
                f"output '{g.output_onnx}' {list(out.shape)} is not one whole tensor in memory "
                "(it would need a transpose)"
            )
        in_perm = memory_perm(input_idx)
        assert in_perm is not None
        used = self._live_tensors(out.tensor, in_tensor)
        return ir.Model(
            name=self.name,
            tensors={k: v for k, v in self.tensors.items() if k in used},
            ops=tuple(self.ops),
            input=in_tensor,
            output=out.tensor,
            input_spec=ir.IOSpec(g.input, tuple(in_shape), in_perm),
            output_spec=ir.IOSpec(g.output_onnx, tuple(out.idx.shape), perm),
            source_sha256=g.sha256,
        )

    def _live_tensors(self, output: str, input_: str) -> set[str]:
        used = {output, input_}
        for op in self.ops:
            used.update(op.inputs)
            used.add(op.output)
        return used

    def lower(self, node: Node) -> None:
        op = node.op
        if node.domain == FUSED:
            {"Mhsa": self.mhsa, "Gelu": self.gelu, "LayerNorm": self.layernorm}[op](node)
        elif op in LAYOUT_OPS:
            p = self.place(node.inputs[0], node)
            for extra in node.outputs[1:]:
                if extra and self.g.consumers(extra):
                    raise node_error(node, "its second output is used")
            self.places[node.outputs[0]] = Placement(p.tensor, apply_layout(node, p.idx, self.g))
        elif is_linear_node(self.g, node):
            self.linear(node)
        elif op == "Add":
            self.add(node)
        elif op == "Conv":
            self.conv(node)
        elif op in ("MaxPool", "AveragePool"):
            self.pool(node)
        elif op == "ReduceMax":
            self.reduce_max(node)
        elif op in ("Gather", "Slice", "Split"):
            lower_select(self, node)
        elif op == "Concat":
            lower_concat(self, node)
        elif op in ("ReduceMean", "GlobalAveragePool"):
            self.mean(node)
        elif op in UNARY_OPS:  # Relu/Clip here are the ones no op before could fuse
            lower_unary(self, node)
        elif op == "MatMul":
            raise node_error(
                node,
                "multiplies two activations outside an attention block",
                ACCEPT_LINEAR,
            )
        else:
            raise node_error(node, "operator not supported", f"accepted: {SUPPORTED}")

    # -- ops
    def linear(self, node: Node) -> None:
        m = match_linear(self.g, node)
        act = self.activation_after(m.output)
        p = self.place(m.input, node)
        k = m.w.shape[1]
        rows = p.idx.size // k
        w = m.w
        if not is_row_major(p.idx):
            # a row-wise permutation (e.g. Flatten of a channels-last map): reorder the
            # weight columns offline instead of moving the activations
            r = p.idx.reshape(rows, k) - (np.arange(rows) * k)[:, None]
            if not (np.all(r == r[0]) and np.array_equal(np.sort(r[0]), np.arange(k))):
                raise node_error(
                    node,
                    f"its input '{m.input}' {list(p.shape)} is not stored row-major",
                    "accepted: inputs whose rows are contiguous in memory",
                )
            w = np.empty_like(m.w)
            w[:, r[0]] = m.w
        x = self.view(p, (rows, k), node)
        s_x, z_x = self.tensors[x].scale, self.tensors[x].zero_point
        s_y = self.scale(act.value, node)
        out_shape = self.declared(act.value, (*p.shape[:-1], m.n), node)
        y = self.new_tensor(act.value, (rows, m.n), s_y)
        z_y = self.tensors[y].zero_point
        self.ops.append(
            ir.Linear(
                name=self.op_name("linear"),
                inputs=(x,),
                output=y,
                source=", ".join(n.name for n in (*m.nodes, *act.nodes)),
                weight=w.astype(np.int8),
                bias=int_bias(m.bias, m.n, s_x * m.w_scale, node, m.w, z_x),
                rq=requant(s_x * m.w_scale / s_y, node, "requantization", (act.lo, act.hi), z_y),
            )
        )
        self._finish((*m.nodes, *act.nodes), act.value, y, row_major(out_shape))

    def declared(self, value: str, shape: tuple[int, ...], node: Node) -> tuple[int, ...]:
        """``shape`` (computed from the op), checked against the model's own shape of
        ``value`` when it declares one."""
        have = self.g.shapes.get(value)
        if have is not None and tuple(have) != tuple(shape):
            raise node_error(
                node,
                f"output '{value}' is declared {list(have)}, the op computes {list(shape)}",
            )
        return tuple(shape)

    def _finish(self, nodes, value: str, tensor: str, idx: np.ndarray) -> None:
        for n in nodes:
            self.done.add(id(n))
        if idx.size != self.tensors[tensor].size:
            raise FrontendError(f"internal: {value} has {idx.size} elements, tensor differs")
        self.places[value] = Placement(tensor, idx)

    def mhsa(self, node: Node) -> None:
        m: MhsaMatch = node.data
        x, s, e = self.rows(m.input, node)
        y = self.new_tensor(m.output, (s, e), self.scale(m.output, node))
        sc = m.scales
        self.ops.append(
            ir.Mhsa(
                name=self.op_name("mhsa"),
                inputs=(x,),
                output=y,
                source=f"attention around Softmax '{node.name}' ({len(m.nodes)} nodes)",
                heads=m.heads,
                weights=m.weights,
                quant=m.quant,
                scales=ir.MhsaScales(**sc),
            )
        )
        shape = self.g.shapes.get(m.output, self.place(m.input, node).shape)
        if math.prod(shape) != s * e or shape[-1] != e:
            raise node_error(node, f"output '{m.output}' {list(shape)} is not {s} x {e}")
        self._finish((), m.output, y, row_major(tuple(shape)))

    def gelu(self, node: Node) -> None:
        m: GeluMatch = node.data
        p = self.place(m.input, node)
        s_x, z_x = self.tensors[p.tensor].scale, self.tensors[p.tensor].zero_point
        s_y = self.scale(m.output, node)
        try:
            params = gold.gelu_params(s_x, s_y, z_x, self.zero(m.output))
        except ValueError as exc:
            raise node_error(
                node, f"GELU scales: {exc}", "accepted: input scales 0.0013..2.6"
            ) from None
        t = self.tensors[p.tensor]
        y = self.new_tensor(m.output, t.shape, s_y)
        self.ops.append(
            ir.Gelu(
                name=self.op_name("gelu"),
                inputs=(p.tensor,),
                output=y,
                source=", ".join(n.name for n in m.nodes),
                params=params,
            )
        )
        self._finish((), m.output, y, p.idx)

    def layernorm(self, node: Node) -> None:
        m: LayerNormMatch = node.data
        x, rows, e = self.rows(m.input, node)
        s_x = self.tensors[x].scale
        s_y = self.scale(m.output, node)
        if m.gamma_q is not None:
            gq, s_g = m.gamma_q
        else:
            peak = float(np.abs(m.gamma).max()) if m.gamma.size else 0.0
            s_g = peak / 127.0 if peak > 0 else 1.0
            gq = np.clip(np.rint(m.gamma / s_g), -127, 127).astype(np.int64)
        beta = np.rint(m.beta * (1 << 7) / s_g)
        if np.any(np.abs(beta) > (1 << 31) - 1):
            raise node_error(node, "beta does not fit int32 at gamma's scale / 128")
        try:
            # the input zero point needs nothing: LayerNorm is exactly offset-invariant
            eps_q16, rq = gold.layernorm_params(s_x, s_g, s_y, m.eps, self.zero(m.output))
        except ValueError as exc:
            raise node_error(node, f"LayerNorm scales: {exc}") from None
        y = self.new_tensor(m.output, (rows, e), s_y)
        self.ops.append(
            ir.LayerNorm(
                name=self.op_name("layernorm"),
                inputs=(x,),
                output=y,
                source=", ".join(n.name for n in m.nodes),
                gamma=gq.astype(np.int8),
                beta=beta.astype(np.int32),
                eps_q16=int(eps_q16),
                rq=rq,
            )
        )
        shape = self.declared(m.output, self.place(m.input, node).shape, node)
        self._finish((), m.output, y, row_major(shape))

    def add(self, node: Node) -> None:
        if len(node.inputs) != 2 or all(i in self.g.consts for i in node.inputs):
            raise node_error(node, "needs two inputs, at least one an activation")
        if any(i in self.g.consts for i in node.inputs):
            self.add_const(node)
            return
        pa, pb = (self.place(i, node) for i in node.inputs)
        if pa.shape != pb.shape:
            raise node_error(
                node,
                f"broadcasts {list(pa.shape)} + {list(pb.shape)}",
                "accepted: Add of two tensors of the same shape",
            )
        if not np.array_equal(pa.idx, pb.idx):
            raise node_error(
                node,
                "its inputs are stored in different orders",
                "accepted: Add of two tensors with the same layout",
            )
        tb = self.view(pb, self.tensors[pa.tensor].shape, node)
        tt = self.tensors[tb]
        self._emit_add(node, pa, (pa.tensor, tb), tt.scale, None, tt.zero_point)

    def _emit_add(
        self, node: Node, pa: Placement, inputs, s_b: float, b_const, z_b: int = 0
    ) -> None:
        """The Add op (with a fused Relu/Clip after it) reading ``inputs``; the input zero
        points fold into the add's offset."""
        act = self.activation_after(node.outputs[0])
        t = self.tensors[pa.tensor]
        s_y = self.scale(act.value, node)
        try:
            p = gold.add_params(t.scale, s_b, s_y, t.zero_point, z_b, self.zero(act.value))
        except ValueError as exc:
            raise node_error(node, f"add scales: {exc}") from None
        y = self.new_tensor(act.value, t.shape, s_y)
        self.ops.append(
            ir.Add(
                name=self.op_name("add"),
                inputs=tuple(inputs),
                output=y,
                source=", ".join(n.name for n in (node, *act.nodes)),
                params=dataclasses.replace(p, act_min=act.lo, act_max=act.hi),
                b_const=b_const,
            )
        )
        self._finish((node, *act.nodes), act.value, y, pa.idx)

    def add_const(self, node: Node) -> None:
        """Activation + constant (e.g. a learned positional embedding): the constant is
        broadcast to the activation's shape, quantized to int8 (its own scale when the
        model quantized it per tensor) and stored in the order of the activation's memory."""
        k = 0 if node.inputs[0] in self.g.consts else 1
        c = self.g.consts[node.inputs[k]]
        pa = self.place(node.inputs[1 - k], node)
        value = np.asarray(c.value, np.float64)
        try:
            full = np.broadcast_to(value, pa.shape)
        except ValueError:
            raise node_error(
                node,
                f"constant {list(value.shape)} does not broadcast to {list(pa.shape)}",
                "accepted: a constant of the activation's shape, or broadcastable to it",
            ) from None
        if c.q is not None and c.scale is not None and not c.per_channel and not c.zero_point:
            q_full, s_b = np.broadcast_to(np.asarray(c.q, np.int64), pa.shape), float(c.scale)
            if q_full.size and (q_full.min() < -128 or q_full.max() > 127):
                raise node_error(node, "constant operand does not fit int8")
        else:
            peak = float(np.abs(full).max()) if full.size else 0.0
            s_b = peak / 127.0 if peak > 0 else 1.0
            q_full = np.clip(np.rint(full / s_b), -127, 127).astype(np.int64)
        b_mem = np.zeros(pa.idx.size, np.int8)
        b_mem[pa.idx.ravel()] = q_full.ravel()
        shape = self.tensors[pa.tensor].shape
        self._emit_add(node, pa, (pa.tensor,), s_b, b_mem.reshape(shape))

    # -- convolutional front ends
    def _spatial_in(self, value: str, node: Node) -> tuple[str, tuple[int, ...]]:
        """The channels-last IR tensor ``[N][H][W][C]`` of an ONNX ``[N][C][H][W]`` (or
        ``[N][C][T]``, seen as H = 1) activation, and the ONNX shape."""
        p = self.place(value, node)
        shape = p.shape
        if len(shape) not in (3, 4):
            raise node_error(
                node, f"input {list(shape)} is not [N][C][H][W]", "accepted: 1-D or 2-D maps"
            )
        if not np.array_equal(p.idx, channels_last(shape)):
            raise node_error(
                node,
                f"input '{value}' is not stored channels-last",
                "accepted: feature maps produced by convolutions/pooling or the model input",
            )
        return self.view(p, spatial_shape(shape), node), shape

    @staticmethod
    def _window(node: Node, kernel: tuple[int, ...], in_hw: tuple[int, int], dilated: bool = False):
        """(kernel, stride, pad top/left/bottom/right) in 2-D, 1-D seen as H=1 (``dilated``:
        ``kernel`` is the extent with the dilation, already written into the weights)."""
        nd = len(kernel)
        strides = [int(s) for s in node.attr("strides", [1] * nd)]
        dil = [int(d) for d in node.attr("dilations", [1] * nd)]
        pads = [int(q) for q in node.attr("pads", [0] * (2 * nd))]
        if any(d != 1 for d in dil) and not dilated:
            raise node_error(node, f"dilations {dil}", "accepted: dilation 1")
        if node.attr("ceil_mode", 0):
            raise node_error(node, "ceil_mode=1", "accepted: ceil_mode=0")
        if len(strides) != nd or len(pads) != 2 * nd or any(s < 1 for s in strides):
            raise node_error(node, "strides/pads do not match the kernel rank")
        if any(q < 0 for q in pads):
            raise node_error(node, f"negative pads {pads}")
        auto = node.attr("auto_pad", "NOTSET")
        auto = auto.decode() if isinstance(auto, bytes) else auto
        size = in_hw[2 - nd :]
        if auto in ("SAME_UPPER", "SAME_LOWER"):
            pads = [0] * (2 * nd)
            for i in range(nd):
                out = -(-size[i] // strides[i])
                total = max(0, (out - 1) * strides[i] + kernel[i] - size[i])
                small, big = total // 2, total - total // 2
                pads[i], pads[i + nd] = (small, big) if auto == "SAME_UPPER" else (big, small)
        elif auto == "VALID":
            pads = [0] * (2 * nd)
        elif auto != "NOTSET":
            raise node_error(node, f"auto_pad={auto}")
        if nd == 1:
            return (1, kernel[0]), (1, strides[0]), (0, pads[0], 0, pads[1])
        return tuple(kernel), tuple(strides), (pads[0], pads[1], pads[2], pads[3])

    @staticmethod
    def _window_out(node: Node, xshape, channels: int, k2, stride, pad) -> tuple[int, ...]:
        """The ONNX output shape of a sliding window over ``xshape`` (``[N][C][...]``)."""
        h, w = spatial_shape(xshape)[1:3]
        oh = (h + pad[0] + pad[2] - k2[0]) // stride[0] + 1
        ow = (w + pad[1] + pad[3] - k2[1]) // stride[1] + 1
        if oh < 1 or ow < 1 or h + pad[0] + pad[2] < k2[0] or w + pad[1] + pad[3] < k2[1]:
            raise node_error(node, f"window {list(k2)} larger than the padded input")
        spatial = (ow,) if len(xshape) == 3 else (oh, ow)
        return (xshape[0], channels, *spatial)

    def conv(self, node: Node) -> None:
        g = self.g
        x, xshape = self._spatial_in(node.inputs[0], node)
        q, s_w = self._conv_weight(node)
        group = int(node.attr("group", 1))
        c_in, c_out = xshape[1], q.shape[0]
        if q.ndim != len(xshape):
            raise node_error(node, f"weight {list(q.shape)} does not match input {list(xshape)}")
        kernel = tuple(int(k) for k in q.shape[2:])
        dil = conv_dilation(node, len(kernel))
        if dilation.as_zero_taps(kernel, dil[2 - len(kernel) :], group > 1):
            q = dilation.zero_taps(q, dil[2 - len(kernel) :], tuple(range(2, q.ndim)))
            kernel, dil = tuple(int(k) for k in q.shape[2:]), (1, 1)
        extent = dilation.extent(kernel, dil[2 - len(kernel) :])
        depthwise = group > 1
        if depthwise and group == c_in and q.shape[1] == 1 and c_out % c_in == 0:
            if c_out != c_in and dil == (1, 1):  # multiplier M: output o filters input o // M
                x = self._repeat_channels(node, x, c_out // c_in)
        elif depthwise:
            raise node_error(
                node,
                f"group={group} with {c_in} -> {c_out} channels",
                "accepted: group=1, or depthwise (group = input channels, a multiple of them out)",
            )
        if not depthwise and q.shape[1] != c_in:
            raise node_error(node, f"weight has {q.shape[1]} input channels, input {c_in}")
        real_w = q * (np.reshape(s_w, (-1,) + (1,) * (q.ndim - 1)) if np.ndim(s_w) else s_w)
        bias = None
        if len(node.inputs) > 2 and node.inputs[2]:
            if node.inputs[2] not in g.consts:
                raise node_error(node, "bias is not a constant")
            bias = np.asarray(g.consts[node.inputs[2]].value, np.float64).ravel()
            if bias.size != c_out:
                raise node_error(node, "bias size differs from the output channels")
        nodes: list[Node] = [node]
        out = node.outputs[0]
        bn = single_consumer(g, out)
        if bn is not None and bn.op == "BatchNormalization":
            gamma, beta, mean, var = (
                np.asarray(g.consts[i].value, np.float64).ravel() if i in g.consts else None
                for i in bn.inputs[1:5]
            )
            if any(v is None or v.size != c_out for v in (gamma, beta, mean, var)):
                raise node_error(bn, "parameters are not constant vectors of C values")
            with np.errstate(all="ignore"):
                f = gamma / np.sqrt(var + float(bn.attr("epsilon", 1e-5)))
            if not np.all(np.isfinite(f)):
                raise node_error(bn, "variance + epsilon is not positive", "accepted: var > 0")
            real_w = real_w * f.reshape(-1, *([1] * (real_w.ndim - 1)))
            bias = ((0.0 if bias is None else bias) - mean) * f + beta
            if np.ndim(s_w):  # per-channel weights stay per channel
                peak_c = np.abs(real_w).reshape(c_out, -1).max(axis=1)
                s_w = np.where(peak_c > 0, peak_c, 1.0) / 127.0
                s_b = np.reshape(s_w, (-1,) + (1,) * (real_w.ndim - 1))
            else:
                s_w = s_b = (float(np.abs(real_w).max()) or 1.0) / 127.0
            q = np.clip(np.rint(real_w / s_b), -127, 127).astype(np.int64)
            nodes.append(bn)
            out = bn.outputs[0]
        act = self.activation_after(out)
        s_x, z_x = self.tensors[x].scale, self.tensors[x].zero_point
        s_y = self.scale(act.value, node)
        in_hw = self.tensors[x].shape[1:3]
        span, stride, pad = self._window(node, extent, in_hw, dilated=True)
        oshape = self.declared(
            act.value, self._window_out(node, xshape, c_out, span, stride, pad), node
        )
        y = self.new_tensor(act.value, spatial_shape(oshape), s_y)
        k2 = (1, kernel[0]) if len(kernel) == 1 else kernel
        w4 = q.reshape(c_out, q.shape[1], *k2)  # [O][I][Kh][Kw]
        z_y = self.tensors[y].zero_point
        common = dict(
            name=self.op_name("dwconv" if depthwise else "conv"),
            inputs=(x,),
            output=y,
            source=", ".join(n.name for n in (*nodes, *act.nodes)),
            bias=int_bias(bias, c_out, s_x * s_w, node, w4, z_x),
            stride=stride,
            pad=pad,
            rq=requant(s_x * s_w / s_y, node, "requantization", (act.lo, act.hi), z_y),
            pad_value=z_x,  # padding holds the input zero point: the real 0
            dilation=dil,
        )
        if depthwise:
            weight = np.transpose(w4[:, 0], (1, 2, 0))  # [Kh][Kw][C]
            self.ops.append(ir.DepthwiseConv2d(weight=weight.astype(np.int8), **common))
        else:
            weight = np.transpose(w4, (0, 2, 3, 1))  # [O][Kh][Kw][I]
            self.ops.append(ir.Conv2d(weight=weight.astype(np.int8), **common))
        self._finish((*nodes, *act.nodes), act.value, y, channels_last(oshape))

    def _repeat_channels(self, node: Node, x: str, m: int) -> str:
        """``x`` ``[N][H][W][C]`` with each channel repeated ``m`` times (an IR Gather)."""
        t = self.tensors[x]
        c = t.shape[3]
        name = c_name(f"{x}_repeat", self.used_names)
        self.tensors[name] = ir.Tensor(name, (*t.shape[:3], c * m), "int8", t.scale,
                                       t.zero_point)  # fmt: skip
        idx = np.repeat(np.arange(c, dtype=np.int32), m)
        self.ops.append(
            ir.Gather(
                name=self.op_name("gather"),
                inputs=(x,),
                output=name,
                source=node.name,
                axis=3,
                indices=idx,
            )
        )
        return name

    def _conv_weight(self, node: Node) -> tuple[np.ndarray, float]:
        if len(node.inputs) < 2 or node.inputs[1] not in self.g.consts:
            raise node_error(node, "weight is not a constant", ACCEPT_LINEAR)
        return quantized_weight(self.g, node, node.inputs[1], channel_axis=0)

    def pool(self, node: Node) -> None:
        x, xshape = self._spatial_in(node.inputs[0], node)
        kernel = tuple(int(k) for k in node.attr("kernel_shape", []))
        if len(kernel) != len(xshape) - 2:
            raise node_error(node, f"kernel_shape {list(kernel)} does not match the input")
        for extra in node.outputs[1:]:
            if extra and self.g.consumers(extra):
                raise node_error(node, "its indices output is used", "accepted: values only")
        in_hw = self.tensors[x].shape[1:3]
        k2, stride, pad = self._window(node, kernel, in_hw)
        if max(pad[0], pad[2]) >= k2[0] or max(pad[1], pad[3]) >= k2[1]:
            raise node_error(node, f"pads {pad} not smaller than the kernel {k2}")
        source = node.name
        if node.op == "MaxPool":
            s_x = self.tensors[x].scale
            s_y = self.scale(node.outputs[0], node)
            z_x, z_y = self.tensors[x].zero_point, self.zero(node.outputs[0])
            if not math.isclose(s_x, s_y, rel_tol=1e-5) or z_x != z_y:
                raise node_error(
                    node,
                    f"output scale {s_y:g} / zero point {z_y} differ from the input's "
                    f"{s_x:g} / {z_x}",
                    "accepted: MaxPool keeping its input's scale and zero point (as "
                    "onnxruntime quantizes it)",
                )
            if node.attr("storage_order", 0):
                raise node_error(node, "storage_order=1", "accepted: storage_order=0")
            oshape = self.declared(
                node.outputs[0], self._window_out(node, xshape, xshape[1], k2, stride, pad), node
            )
            y = self.new_tensor(node.outputs[0], spatial_shape(oshape), s_x, z_x)
            self.ops.append(
                ir.MaxPool(
                    name=self.op_name("maxpool"),
                    inputs=(x,),
                    output=y,
                    source=source,
                    kernel=k2,
                    stride=stride,
                    pad=pad,
                )
            )
            self._finish((node,), node.outputs[0], y, channels_last(oshape))
            return
        act = self.activation_after(node.outputs[0])
        s_x = self.tensors[x].scale
        s_y = self.scale(act.value, node)
        oshape = self.declared(
            act.value, self._window_out(node, xshape, xshape[1], k2, stride, pad), node
        )
        y = self.new_tensor(act.value, spatial_shape(oshape), s_y)
        self.ops.append(
            ir.AvgPool(
                name=self.op_name("avgpool"),
                inputs=(x,),
                output=y,
                source=", ".join(n.name for n in (node, *act.nodes)),
                kernel=k2,
                stride=stride,
                pad=pad,
                rq=requant(
                    s_x / s_y, node, "requantization", (act.lo, act.hi), self.zero(act.value)
                ),
                count_include_pad=bool(node.attr("count_include_pad", 0)),
                input_zero_point=self.tensors[x].zero_point,
            )
        )
        self._finish((node, *act.nodes), act.value, y, channels_last(oshape))

    def _reduced_rows(self, node: Node) -> tuple[Placement, int, int, tuple[int, ...]]:
        """(input, rows r, columns c, ONNX output shape) of a reduction whose reduced axes
        are the outer index of the memory and whose kept axes are the inner one."""
        p = self.place(node.inputs[0], node)
        rank = p.idx.ndim
        if node.op == "GlobalAveragePool":
            axes, keep = list(range(2, rank)), True
        else:
            axes_attr = node.attr("axes")
            if axes_attr is None and len(node.inputs) > 1 and node.inputs[1] in self.g.consts:
                axes_attr = [int(a) for a in np.asarray(self.g.consts[node.inputs[1]].raw).ravel()]
            if axes_attr is None or not axes_attr:
                raise node_error(node, "reduces every axis", f"accepted: {node.op} over tokens")
            axes = sorted({int(a) % rank for a in axes_attr})
            keep = bool(node.attr("keepdims", 1))
        kept = [a for a in range(rank) if a not in axes]
        r = math.prod(p.idx.shape[a] for a in axes)
        c = math.prod(p.idx.shape[a] for a in kept)
        ordered = np.transpose(p.idx, axes + kept).reshape(r, c)
        if not np.array_equal(ordered, row_major((r, c))):
            raise node_error(
                node,
                f"the reduced axes {axes} of {list(p.shape)} are not the rows of its memory",
                "accepted: a reduction over tokens of [S][E], or over H, W of a channels-last map",
            )
        out_shape = [p.idx.shape[a] if a in kept else 1 for a in range(rank)]
        if not keep:
            out_shape = [p.idx.shape[a] for a in kept]
        return p, r, c, tuple(out_shape)

    def mean(self, node: Node) -> None:
        """ReduceMean / GlobalAveragePool as a mean over rows."""
        p, r, c, out_shape = self._reduced_rows(node)
        act = self.activation_after(node.outputs[0])
        s_x = self.tensors[p.tensor].scale
        s_y = self.scale(act.value, node)
        x = self.view(p, (r, c), node)
        y = self.new_tensor(act.value, (c,), s_y)
        self.ops.append(
            ir.MeanRows(
                name=self.op_name("mean"),
                inputs=(x,),
                output=y,
                source=", ".join(n.name for n in (node, *act.nodes)),
                rq=requant(
                    s_x / (r * s_y),
                    node,
                    "requantization",
                    (act.lo, act.hi),
                    self.zero(act.value),
                ),
                input_zero_point=self.tensors[x].zero_point,
            )
        )
        shape = self.declared(act.value, out_shape, node)
        self._finish((node, *act.nodes), act.value, y, row_major(shape))

    def reduce_max(self, node: Node) -> None:
        """ReduceMax over rows (max pooling over tokens): a max pool whose window is every
        row. When the model quantizes the result with another scale or zero point, a
        table requantizes it as its QuantizeLinear does (the maximum commutes with that
        monotonic rounding, so the order of the two does not matter)."""
        p, r, c, out_shape = self._reduced_rows(node)
        out = node.outputs[0]
        x = self.view(p, (1, r, 1, c), node)
        t = self.tensors[x]
        s_y, z_y = self.scale(out, node), self.zero(out)
        same = math.isclose(t.scale, s_y, rel_tol=1e-6) and t.zero_point == z_y
        pooled = self.new_tensor(out if same else f"{out}_max", (1, 1, 1, c), t.scale, t.zero_point)
        self.ops.append(
            ir.MaxPool(
                name=self.op_name("maxpool"),
                inputs=(x,),
                output=pooled,
                source=node.name,
                kernel=(r, 1),
                stride=(1, 1),
                pad=(0, 0, 0, 0),
            )
        )
        y = pooled
        if not same:
            y = self.new_tensor(out, (1, 1, 1, c), s_y, z_y)
            self.ops.append(
                ir.Lut(
                    name=self.op_name("lut"),
                    inputs=(pooled,),
                    output=y,
                    source=node.name,
                    table=gold.build_unary_table(lambda v: v, t.scale, t.zero_point, s_y, z_y),
                    function=(
                        f"requantization: x scale {t.scale:.6g} zero {t.zero_point} -> "
                        f"y scale {s_y:.6g} zero {z_y}"
                    ),
                    zero_point=z_y,
                )
            )
        shape = self.declared(out, out_shape, node)
        self._finish((node,), out, y, row_major(shape))


def lower_graph(g: Graph, name: str) -> ir.Model:
    casts_to_identity(g)
    hoist_activations(g)
    return Lowering(g, name).run()
