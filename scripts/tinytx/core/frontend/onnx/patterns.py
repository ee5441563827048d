"""Subgraphs that become one IR operator: linear layers, GELU, decomposed LayerNorm (the
attention block is matched in :mod:`tinytx.core.frontend.onnx.attention`).

Each matcher starts from an anchor node (MatMul/Gemm, Erf/Tanh/Gelu, ReduceMean) and
returns a match object listing the ONNX nodes it covers, or raises a
:class:`FrontendError` naming the anchor when the structure is close but not one tinytx
can run. The matchers check values, not only op types: the head split/merge are checked
element by element with index arrays (:mod:`tinytx.core.frontend.onnx.layout`), the GELU
constants by value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from tinytx.core import golden as gold
from tinytx.core.frontend.onnx.graph import Graph, Node, node_error
from tinytx.core.golden.limits import kernel_limits

ACCEPT_LINEAR = (
    "accepted: MatMul/Gemm of an activation by an int8 weight quantized per tensor or per "
    "output channel (DequantizeLinear of an int8 initializer, zero point 0), optionally + a "
    "constant bias"
)
ACCEPT_MHSA = (
    "accepted: Softmax over the last axis of (Q K^T) times constants, where Q, K, V are linear "
    "projections (MatMul/Gemm + bias) of one input split into heads by Reshape/Transpose, "
    "then A*V, the head merge (Transpose/Reshape) and an output projection"
)
ACCEPT_GELU = (
    "accepted: GELU as x * 0.5 * (1 + Erf(x / sqrt(2))), as the tanh approximation "
    "0.5 * x * (1 + Tanh(sqrt(2/pi) * (x + 0.044715 x^3))), or the Gelu operator"
)
ACCEPT_LN = (
    "accepted: LayerNormalization over the last axis, or its decomposed form "
    "ReduceMean, Sub, Pow 2 (or Mul), ReduceMean, Add eps, Sqrt, Div, [Mul gamma], [Add beta]"
)


def _close(a: float, b: float, tol: float = 2e-3) -> bool:
    return math.isclose(a, b, rel_tol=tol)


def quantized_weight(
    g: Graph, node: Node, name: str, what: str = "weight", channel_axis: int | None = None
) -> tuple[np.ndarray, float | np.ndarray]:
    """(int64 values in the int8 range, scale) of an int8 constant: the scale is a float,
    or with ``channel_axis`` (the weight's output-channel axis) one scale per output
    channel when the constant is quantized per channel along that axis."""
    c = g.consts.get(name)
    if c is None:
        raise node_error(node, f"{what} '{name}' is not a constant", ACCEPT_LINEAR)
    if c.per_channel:
        ndim = np.asarray(c.value).ndim
        if channel_axis is None or c.axis != channel_axis % max(ndim, 1):
            raise node_error(
                node,
                f"{what} '{name}' is quantized per channel ({c.scales.size} scales, axis {c.axis})",
                "accepted: one scale per weight tensor, or one per output channel of a "
                "MatMul/Gemm/Conv weight",
            )
        if c.q is None or c.zero_point != 0:
            raise node_error(
                node,
                f"{what} '{name}' has nonzero zero points",
                "accepted: symmetric weights (zero point 0; onnxruntime: WeightSymmetric=True)",
            )
        q = np.asarray(c.q, np.int64)
        if q.size and (q.min() < -128 or q.max() > 127):
            raise node_error(node, f"{what} '{name}' does not fit int8", "accepted: int8 weights")
        return q, np.asarray(c.scales, np.float64).ravel()
    if c.zero_point != 0:
        raise node_error(
            node,
            f"{what} '{name}' has nonzero zero point {c.zero_point}",
            "accepted: symmetric weights (zero point 0; onnxruntime: WeightSymmetric=True)",
        )
    if c.q is None or c.scale is None:
        raise node_error(
            node,
            f"{what} '{name}' is a float constant, not quantized",
            "accepted: int8 weights (DequantizeLinear of an int8 initializer)",
        )
    q = np.asarray(c.q, np.int64)
    if q.size and (q.min() < -128 or q.max() > 127):
        raise node_error(node, f"{what} '{name}' does not fit int8", "accepted: int8 weights")
    return q, float(c.scale)


def real_const(g: Graph, node: Node, name: str, what: str) -> np.ndarray:
    c = g.consts.get(name)
    if c is None:
        raise node_error(node, f"{what} '{name}' is not a constant")
    return np.asarray(c.value, np.float64)


def single_consumer(g: Graph, value: str) -> Node | None:
    users = g.consumers(value)
    if len(users) == 1 and not g.is_output(value):
        return users[0]
    return None


# ------------------------------------------------------------------------------ linear


@dataclass
class LinearMatch:
    nodes: list[Node]
    input: str
    output: str
    w: np.ndarray  # int64 [N][K] in the int8 range
    w_scale: float | np.ndarray  # per tensor, or [N] per output feature
    bias: np.ndarray | None  # real [N]

    @property
    def per_channel(self) -> bool:
        return np.ndim(self.w_scale) > 0

    @property
    def n(self) -> int:
        return int(self.w.shape[0])


def is_linear_node(g: Graph, node: Node) -> bool:
    if node.op == "MatMul":
        return (
            len(node.inputs) == 2 and node.inputs[1] in g.consts and node.inputs[0] not in g.consts
        )
    if node.op == "Gemm":
        return (
            len(node.inputs) >= 2 and node.inputs[1] in g.consts and node.inputs[0] not in g.consts
        )
    return False


def _bias_vector(g: Graph, node: Node, name: str, n: int) -> np.ndarray | None:
    c = g.consts.get(name)
    if c is None:
        return None
    v = np.asarray(c.value, np.float64)
    if v.size != n or (v.ndim and v.shape[-1] != n):
        return None
    return v.reshape(n)


def match_linear(g: Graph, node: Node, fold_bias: bool = True) -> LinearMatch:
    """The linear layer starting at MatMul/Gemm ``node`` (plus a following bias Add)."""
    x = node.inputs[0]
    if node.op == "MatMul":
        q, s = quantized_weight(g, node, node.inputs[1], channel_axis=-1)
        if q.ndim != 2:
            raise node_error(node, f"weight has shape {list(q.shape)}", "accepted: a 2-D weight")
        w, bias = q.T, None
    else:
        if node.attr("transA", 0):
            raise node_error(node, "transA=1", "accepted: Gemm with transA=0")
        trans_b = bool(node.attr("transB", 0))
        q, s = quantized_weight(g, node, node.inputs[1], channel_axis=0 if trans_b else -1)
        if q.ndim != 2:
            raise node_error(node, f"weight has shape {list(q.shape)}", "accepted: a 2-D weight")
        w = q if trans_b else q.T
        alpha, beta = float(node.attr("alpha", 1.0)), float(node.attr("beta", 1.0))
        if not alpha > 0:
            raise node_error(node, f"alpha={alpha}", "accepted: alpha > 0")
        s *= alpha
        bias = None
        if len(node.inputs) > 2 and node.inputs[2]:
            bias = _bias_vector(g, node, node.inputs[2], w.shape[0])
            if bias is None:
                raise node_error(node, "C is not a constant vector of N values", ACCEPT_LINEAR)
            bias = bias * beta
    xshape = g.shape(x, node)
    if xshape[-1] != w.shape[1]:
        raise node_error(node, f"input {list(xshape)} does not end in K={w.shape[1]}")
    nodes = [node]
    out = node.outputs[0]
    if fold_bias and bias is None:
        nxt = single_consumer(g, out)
        if nxt is not None and nxt.op == "Add" and len(nxt.inputs) == 2:
            other = nxt.inputs[1] if nxt.inputs[0] == out else nxt.inputs[0]
            b = _bias_vector(g, nxt, other, w.shape[0]) if other in g.consts else None
            if b is not None:
                bias = b
                nodes.append(nxt)
                out = nxt.outputs[0]
    return LinearMatch(nodes, x, out, w, s, bias)


def linear_producing(g: Graph, value: str) -> LinearMatch | None:
    """The linear layer whose output is ``value``, if any."""
    p = g.producer(value)
    if p is None:
        return None
    if is_linear_node(g, p):
        m = match_linear(g, p, fold_bias=False)
        return m
    if p.op == "Add" and len(p.inputs) == 2:
        for k in (0, 1):
            pp = g.producer(p.inputs[k])
            if pp is not None and is_linear_node(g, pp) and p.inputs[1 - k] in g.consts:
                m = match_linear(g, pp)
                if m.output == value:
                    return m
    return None


def int_bias(
    bias: np.ndarray | None,
    n: int,
    scale: float | np.ndarray,
    node: Node,
    w: np.ndarray | None = None,
    z_x: int = 0,
) -> np.ndarray | None:
    """The int32 bias at ``scale`` (input scale x weight scale, per tensor or per output
    channel); None without a bias. With the weights ``w`` (first axis: output channel,
    e.g. linear ``[N][K]``, ONNX conv ``[O][I][KH][KW]``) the input zero point ``z_x`` is
    folded in: ``b - z_x * sum(w)`` (``tinytx.core.golden.fold_bias``)."""
    b = None
    if bias is not None:
        b = np.rint(bias / scale)
        if not np.all(np.isfinite(b)):
            raise node_error(node, "bias is not finite", "accepted: finite biases")
        bound = kernel_limits().bias_bound
        if np.any(np.abs(b) > bound):
            raise node_error(
                node,
                f"bias needs {int(np.abs(b).max())} > {bound} at scale {float(np.max(scale)):g}",
                f"accepted: biases within +-{bound} of input scale x weight scale",
            )
        b = b.astype(np.int32)
    if z_x == 0 or w is None:
        return b
    try:
        return gold.fold_bias(b, np.asarray(w), z_x, "bias")
    except ValueError as exc:
        raise node_error(
            node,
            f"input zero point {z_x}: {exc}",
            "accepted: input zero points whose fold into the bias stays within "
            f"+-{kernel_limits().bias_bound}",
        ) from None


def requant(
    real: float | np.ndarray,
    node: Node,
    what: str,
    act: tuple[int, int] = (-128, 127),
    zero_point: int = 0,
) -> gold.Requant | gold.ChannelRequant:
    """The requantization of ``real`` (a float, or one factor per output channel), with
    the output zero point and clamp."""
    clamp = {"act_min": act[0], "act_max": act[1], "zero_point": zero_point}
    try:
        if np.ndim(real) > 0:
            return gold.ChannelRequant.from_scales(np.asarray(real).ravel(), what, **clamp)
        return gold.Requant.from_scale(float(real), what, **clamp)
    except ValueError as exc:
        top = kernel_limits().requant_shift_max
        raise node_error(
            node, f"{what}: {exc}", f"accepted: scales within 2**-{top}..2**30"
        ) from None


def symmetric_scale(g: Graph, value: str) -> float:
    """The scale of ``value`` as a symmetric int8 tensor covering the whole range of its
    (possibly asymmetric) quantization: internal attention tensors stay symmetric."""
    s, z = g.qscale[value], g.qzero.get(value, 0)
    if z == 0:
        return s
    return max(s * (128 + z) / 128.0, s * (127 - z) / 127.0)


# -------------------------------------------------------------------------------- MHSA


@dataclass
class MhsaMatch:
    nodes: list[Node]
    input: str
    output: str
    heads: int
    weights: gold.MhsaWeights
    quant: gold.MhsaQuant
    scales: dict[str, float] = field(default_factory=dict)


def check_closed(g: Graph, nodes: list[Node], output: str, anchor: Node, accepted: str) -> None:
    """Every value made inside ``nodes`` except ``output`` is read only inside them."""
    ids = {id(n) for n in nodes}
    if len(ids) != len(nodes):
        raise node_error(anchor, "a node is used twice in one pattern", accepted)
    for n in nodes:
        for v in n.outputs:
            if v == output or not v:
                continue
            if g.is_output(v):
                raise node_error(anchor, f"intermediate '{v}' is the model output", accepted)
            for user in g.consumers(v):
                if id(user) not in ids:
                    raise node_error(
                        anchor,
                        f"intermediate '{v}' is also read by node '{user.name}' ({user.op})",
                        accepted,
                    )


# -------------------------------------------------------------------------------- GELU


@dataclass
class GeluMatch:
    nodes: list[Node]
    input: str
    output: str


def _producer_op(g: Graph, value: str, op: str) -> Node | None:
    p = g.producer(value)
    return p if p is not None and p.op == op else None


def _scalar_in(g: Graph, node: Node, target: float, tol: float = 2e-3) -> str | None:
    """The non-constant input of ``node`` when its other input is the scalar ``target``."""
    for k in (0, 1):
        other = node.inputs[1 - k]
        c = g.consts.get(node.inputs[k])
        if c is not None and other not in g.consts and np.asarray(c.value).size == 1:
            if _close(float(np.asarray(c.value).ravel()[0]), target, tol):
                return other
    return None


def _gelu_tail(g: Graph, anchor: Node, one_plus: str, x: str) -> tuple[list[Node], str]:
    """From ``1 + erf`` (or ``1 + tanh``) to ``0.5 * x * (1 + ...)``: the Mul nodes."""
    nodes: list[Node] = []
    value, have_x, factor = one_plus, False, 1.0
    for _ in range(3):
        m = single_consumer(g, value)
        if m is None or m.op != "Mul" or len(m.inputs) != 2:
            break
        other = m.inputs[1] if m.inputs[0] == value else m.inputs[0]
        if other == x and not have_x:
            have_x = True
        elif other in g.consts and np.asarray(g.consts[other].value).size == 1:
            factor *= float(np.asarray(g.consts[other].value).ravel()[0])
        else:
            half = g.producer(other)
            if half is None or half.op != "Mul" or x not in half.inputs or have_x:
                break
            c = _scalar_in(g, half, 0.5)
            if c != x or len(g.consumers(other)) != 1:
                break
            nodes.append(half)
            have_x = True
            factor *= 0.5
        nodes.append(m)
        value = m.outputs[0]
        if have_x and _close(factor, 0.5):
            return nodes, value
    raise node_error(anchor, "the result is not 0.5 * x * (1 + ...)", ACCEPT_GELU)


def match_gelu(g: Graph, anchor: Node) -> GeluMatch:
    if anchor.op == "Gelu":
        return GeluMatch([anchor], anchor.inputs[0], anchor.outputs[0])
    nodes: list[Node] = [anchor]
    if anchor.op == "Erf":
        pre = g.producer(anchor.inputs[0])
        x = None
        if pre is not None and pre.op == "Div":
            x = _scalar_in(g, pre, math.sqrt(2.0)) if pre.inputs[1] in g.consts else None
        elif pre is not None and pre.op == "Mul":
            x = _scalar_in(g, pre, 1.0 / math.sqrt(2.0))
        if x is None:
            raise node_error(anchor, "its input is not x / sqrt(2)", ACCEPT_GELU)
        nodes.insert(0, pre)
    else:  # Tanh
        pre = g.producer(anchor.inputs[0])
        inner = _scalar_in(g, pre, math.sqrt(2.0 / math.pi)) if pre and pre.op == "Mul" else None
        add = g.producer(inner) if inner else None
        if add is None or add.op != "Add":
            raise node_error(
                anchor,
                "Tanh outside a GELU (its input is not sqrt(2/pi) * (x + 0.044715 x^3), "
                "e.g. a BERT pooler's Dense + Tanh) is not supported",
                ACCEPT_GELU,
            )
        cube_mul = x = None
        for k in (0, 1):
            m = _producer_op(g, add.inputs[k], "Mul")
            if m is not None and _scalar_in(g, m, 0.044715) is not None:
                cube_mul, x = m, add.inputs[1 - k]
        if cube_mul is None:
            raise node_error(anchor, "no 0.044715 * x^3 term", ACCEPT_GELU)
        cube = g.producer(_scalar_in(g, cube_mul, 0.044715) or "")
        cube_nodes = _match_cube(g, cube, x)
        if cube_nodes is None:
            raise node_error(anchor, "the cubic term is not x^3 of the same x", ACCEPT_GELU)
        nodes = [*cube_nodes, cube_mul, add, pre, anchor]
    plus = single_consumer(g, anchor.outputs[0])
    if plus is None or plus.op != "Add" or _scalar_in(g, plus, 1.0) != anchor.outputs[0]:
        raise node_error(anchor, "its output is not followed by + 1", ACCEPT_GELU)
    nodes.append(plus)
    tail, y = _gelu_tail(g, anchor, plus.outputs[0], x)
    nodes += tail
    check_closed(g, nodes, y, anchor, ACCEPT_GELU)
    return GeluMatch(nodes, x, y)


def _match_cube(g: Graph, node: Node | None, x: str) -> list[Node] | None:
    if node is None:
        return None
    if node.op == "Pow" and node.inputs[0] == x and node.inputs[1] in g.consts:
        if _close(float(np.asarray(g.consts[node.inputs[1]].value).ravel()[0]), 3.0, 1e-6):
            return [node]
    if node.op == "Mul" and x in node.inputs:
        other = node.inputs[1] if node.inputs[0] == x else node.inputs[0]
        sq = g.producer(other)
        if sq is not None and sq.op == "Mul" and sq.inputs == [x, x]:
            return [sq, node]
        if sq is not None and sq.op == "Pow" and sq.inputs[0] == x and sq.inputs[1] in g.consts:
            if _close(float(np.asarray(g.consts[sq.inputs[1]].value).ravel()[0]), 2.0, 1e-6):
                return [sq, node]
    return None


# --------------------------------------------------------------------------- LayerNorm


@dataclass
class LayerNormMatch:
    nodes: list[Node]
    input: str
    output: str
    gamma: np.ndarray  # real [E]
    beta: np.ndarray  # real [E]
    eps: float
    gamma_q: tuple[np.ndarray, float] | None  # the model's own int8 gamma, when it has one


def _reduce_axes(g: Graph, node: Node) -> list[int] | None:
    rank = len(g.shape(node.inputs[0], node))
    axes = node.attr("axes")
    if axes is None and len(node.inputs) > 1 and node.inputs[1] in g.consts:
        axes = [int(a) for a in np.asarray(g.consts[node.inputs[1]].raw).ravel()]
    if axes is None:
        return None
    return sorted(int(a) % rank for a in axes)


def _last_axis_mean(g: Graph, node: Node | None, x: str) -> bool:
    if node is None or node.op != "ReduceMean" or node.inputs[0] != x:
        return False
    rank = len(g.shape(x, node))
    return _reduce_axes(g, node) == [rank - 1] and bool(node.attr("keepdims", 1))


def _gamma_q(g: Graph, name: str) -> tuple[np.ndarray, float] | None:
    c = g.consts.get(name)
    if c is None or c.q is None or c.scale is None or c.per_channel or c.zero_point:
        return None
    q = np.asarray(c.q, np.int64)
    if q.min() < -128 or q.max() > 127:
        return None
    return q, float(c.scale)


def match_layernorm_node(g: Graph, node: Node) -> LayerNormMatch:
    x = node.inputs[0]
    rank = len(g.shape(x, node))
    axis = int(node.attr("axis", -1))
    if axis % max(rank, 1) != rank - 1:
        raise node_error(node, f"axis={axis} is not the last axis", ACCEPT_LN)
    for extra in node.outputs[1:]:
        if extra and g.consumers(extra):
            raise node_error(node, "its mean/inv-std outputs are used", ACCEPT_LN)
    e = g.shape(x, node)[-1]
    gamma = real_const(g, node, node.inputs[1], "scale").ravel()
    beta = np.zeros(e)
    if len(node.inputs) > 2 and node.inputs[2]:
        beta = real_const(g, node, node.inputs[2], "bias").ravel()
    if gamma.size != e or beta.size != e:
        raise node_error(node, "scale/bias are not vectors of the last dimension", ACCEPT_LN)
    eps = float(node.attr("epsilon", 1e-5))
    return LayerNormMatch([node], x, node.outputs[0], gamma, beta, eps, _gamma_q(g, node.inputs[1]))


def match_layernorm_decomposed(g: Graph, mean: Node) -> LayerNormMatch | None:
    """The decomposed LayerNorm starting at ReduceMean ``mean`` (None: not this pattern)."""
    x = mean.inputs[0]
    if not _last_axis_mean(g, mean, x):
        return None
    sub = single_consumer(g, mean.outputs[0])
    if sub is None or sub.op != "Sub" or sub.inputs != [x, mean.outputs[0]]:
        return None
    d = sub.outputs[0]
    users = g.consumers(d)
    sq = next((u for u in users if u.op in ("Pow", "Mul")), None)
    div = next((u for u in users if u.op == "Div" and u.inputs[0] == d), None)
    if sq is None or div is None or len(users) != 2:
        raise node_error(mean, "x - mean is not squared and divided", ACCEPT_LN)
    if sq.op == "Pow":
        ok = sq.inputs[1] in g.consts and _close(
            float(np.asarray(g.consts[sq.inputs[1]].value).ravel()[0]), 2.0, 1e-6
        )
    else:
        ok = sq.inputs == [d, d]
    var = single_consumer(g, sq.outputs[0])
    if not ok or not _last_axis_mean(g, var, sq.outputs[0]):
        raise node_error(mean, "the variance is not ReduceMean((x - mean)^2)", ACCEPT_LN)
    add = single_consumer(g, var.outputs[0])
    eps = None
    if add is not None and add.op == "Add":
        other = add.inputs[1] if add.inputs[0] == var.outputs[0] else add.inputs[0]
        if other in g.consts and np.asarray(g.consts[other].value).size == 1:
            eps = float(np.asarray(g.consts[other].value).ravel()[0])
    sqrt = single_consumer(g, add.outputs[0]) if eps is not None else None
    if sqrt is None or sqrt.op != "Sqrt" or div.inputs[1] != sqrt.outputs[0]:
        raise node_error(mean, "no (x - mean) / Sqrt(var + eps)", ACCEPT_LN)
    nodes = [mean, sub, sq, var, add, sqrt, div]
    e = g.shape(x, mean)[-1]
    y = div.outputs[0]
    gamma, beta, gq = np.ones(e), np.zeros(e), None
    nxt = single_consumer(g, y)
    if nxt is not None and nxt.op == "Mul":
        other = nxt.inputs[1] if nxt.inputs[0] == y else nxt.inputs[0]
        if other in g.consts and np.asarray(g.consts[other].value).size == e:
            gamma = np.asarray(g.consts[other].value, np.float64).ravel()
            gq = _gamma_q(g, other)
            nodes.append(nxt)
            y = nxt.outputs[0]
            nxt = single_consumer(g, y)
    if nxt is not None and nxt.op == "Add":
        other = nxt.inputs[1] if nxt.inputs[0] == y else nxt.inputs[0]
        if other in g.consts and np.asarray(g.consts[other].value).size == e:
            beta = np.asarray(g.consts[other].value, np.float64).ravel()
            nodes.append(nxt)
            y = nxt.outputs[0]
    check_closed(g, nodes, y, mean, ACCEPT_LN)
    return LayerNormMatch(nodes, x, y, gamma, beta, eps, gq)
