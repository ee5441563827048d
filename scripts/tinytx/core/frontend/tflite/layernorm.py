"""The LayerNorm that the TFLite converter decomposes (``keras.layers.LayerNormalization``),
matched into one IR :class:`~tinytx.core.ir.LayerNorm`.

The form (TF 2.21, center and scale on)::

    m = MEAN(x, -1)            d = SQUARED_DIFFERENCE(x, m)    v = MEAN(d, -1)
    r = RSQRT(ADD(v, eps))     g = MUL(r, gamma)
    y = ADD(MUL(x, g), ADD(MUL(-m, g), beta))     (-m: NEG between DEQUANTIZE/QUANTIZE)

Every step is an exact LayerNorm of the last axis (mean, biased variance, the eps, gamma
and beta constants), which is what the IR op computes in one integer step. TFLite rounds
each of the ten intermediate tensors to int8; the IR does not, so the two agree
statistically (measured in the tests), not bit for bit. Any other form is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from tinytx.core import golden as gold
from tinytx.core import ir
from tinytx.core.frontend.tflite.quantization import activation, op_error
from tinytx.core.frontend.tflite.reader import TflGraph, TflOp, TflTensor

if TYPE_CHECKING:
    from tinytx.core.frontend.tflite.lower import Lowering

ACCEPT_LAYERNORM = (
    "accepted: the decomposed LayerNorm of keras.layers.LayerNormalization over the last "
    "axis (MEAN, SQUARED_DIFFERENCE, MEAN, ADD eps, RSQRT, MUL gamma, MUL, ADD beta, ADD)"
)


@dataclass(frozen=True)
class LayerNormMatch:
    anchor: TflOp  # the SQUARED_DIFFERENCE
    x: int
    output: TflOp
    eps: float
    gamma: np.ndarray  # real [E]
    beta: np.ndarray  # real [E]
    ops: frozenset[int]

    @property
    def last(self) -> int:
        return max(self.ops)


def _real(t: TflTensor) -> np.ndarray:
    return (np.asarray(t.data, np.float64) - t.zero_point) * t.scale


def _const_operand(g: TflGraph, op: TflOp) -> tuple[int, TflTensor] | None:
    """(the activation input, the constant input) of a binary op with one constant."""
    a, b = op.inputs[:2]
    ta, tb = g.tensors[a], g.tensors[b]
    if tb.data is not None and ta.data is None:
        return a, tb
    if ta.data is not None and tb.data is None:
        return b, ta
    return None


class _Uses:
    def __init__(self, g: TflGraph) -> None:
        self.g = g
        self.producer = {o: op for op in g.ops for o in op.outputs}
        self.users: dict[int, list[TflOp]] = {}
        for op in g.ops:
            for i in op.inputs:
                if i >= 0:
                    self.users.setdefault(i, []).append(op)

    def one(self, value: int, name: str) -> TflOp | None:
        users = self.users.get(value, [])
        if len(users) == 1 and users[0].name == name and value not in self.g.outputs:
            return users[0]
        return None


def _last_axis_mean(g: TflGraph, op: TflOp | None, x: int) -> bool:
    if op is None or op.name != "MEAN" or op.inputs[0] != x:
        return False
    axes = g.tensors[op.inputs[1]].data
    rank = len(g.tensors[x].shape)
    return axes is not None and [int(a) % rank for a in np.ravel(axes)] == [rank - 1]


def match_layernorm(g: TflGraph, u: _Uses, sqd: TflOp) -> LayerNormMatch:
    def fail(problem: str) -> Exception:
        return op_error(sqd, problem, ACCEPT_LAYERNORM)

    x, mean_v = sqd.inputs[:2]
    mean = u.producer.get(mean_v)
    if not _last_axis_mean(g, mean, x):
        x, mean_v = mean_v, x
        mean = u.producer.get(mean_v)
        if not _last_axis_mean(g, mean, x):
            raise fail("not the squared difference of a tensor and its mean over the last axis")
    var = u.one(sqd.outputs[0], "MEAN")
    if var is None or not _last_axis_mean(g, var, sqd.outputs[0]):
        raise fail("the squared difference is not averaged over the last axis")
    add_eps = u.one(var.outputs[0], "ADD")
    eps_c = _const_operand(g, add_eps) if add_eps is not None else None
    if add_eps is None or eps_c is None or eps_c[1].data.size != 1:
        raise fail("no scalar eps is added to the variance")
    rsqrt = u.one(add_eps.outputs[0], "RSQRT")
    g_mul = u.one(rsqrt.outputs[0], "MUL") if rsqrt is not None else None
    gamma_c = _const_operand(g, g_mul) if g_mul is not None else None
    if rsqrt is None or g_mul is None or gamma_c is None:
        raise fail("RSQRT of the variance is not multiplied by a constant gamma")
    muls = u.users.get(g_mul.outputs[0], [])
    xg = next((o for o in muls if o.name == "MUL" and x in o.inputs), None)
    mg = next((o for o in muls if o.name == "MUL" and o is not xg), None)
    if len(muls) != 2 or xg is None or mg is None:
        raise fail("gamma / sqrt(var) does not scale both x and the mean")
    neg_v = mg.inputs[0] if mg.inputs[1] == g_mul.outputs[0] else mg.inputs[1]
    negation: list[TflOp] = []
    op = u.producer.get(neg_v)
    while op is not None and op.name in ("QUANTIZE", "NEG", "DEQUANTIZE"):
        negation.append(op)
        op = u.producer.get(op.inputs[0])
    if op is not mean or [o.name for o in negation].count("NEG") != 1:
        raise fail("the mean is not negated once before the beta term")
    b_add = u.one(mg.outputs[0], "ADD")
    beta_c = _const_operand(g, b_add) if b_add is not None else None
    final = u.one(xg.outputs[0], "ADD")
    if b_add is None or beta_c is None or final is None or b_add.outputs[0] not in final.inputs:
        raise fail("the beta term and x * gamma / sqrt(var) are not added")
    e = g.tensors[x].shape[-1]
    gamma, beta = _real(gamma_c[1]).ravel(), _real(beta_c[1]).ravel()
    if gamma.size != e or beta.size != e:
        raise fail(f"gamma/beta do not have {e} elements")
    members = [mean, *negation, sqd, var, add_eps, rsqrt, g_mul, xg, mg, b_add, final]
    ops = frozenset(o.index for o in members)
    for o in members:
        if o is final:
            continue
        for v in o.outputs:
            if v in g.outputs or any(w.index not in ops for w in u.users.get(v, [])):
                raise fail(f"operator {o.index} ({o.name}) is also read outside the LayerNorm")
    eps = float(_real(eps_c[1]).ravel()[0])
    return LayerNormMatch(sqd, x, final, eps, gamma, beta, ops)


def match_layernorms(g: TflGraph) -> list[LayerNormMatch]:
    u = _Uses(g)
    return [match_layernorm(g, u, op) for op in g.ops if op.name == "SQUARED_DIFFERENCE"]


def lower_layernorm(lo: Lowering, m: LayerNormMatch) -> None:
    x = lo.act(m.anchor, m.x)
    xt = lo.tensors[x]
    e = xt.shape[-1]
    rows = xt.size // e
    s_y, z_y = activation(m.output, lo.t(m.output.outputs[0]))
    peak = float(np.abs(m.gamma).max())
    s_g = peak / 127.0 if peak > 0 else 1.0
    gq = np.clip(np.rint(m.gamma / s_g), -127, 127)
    beta = np.rint(m.beta * (1 << 7) / s_g)
    if np.any(np.abs(beta) > (1 << 31) - 1):
        raise op_error(m.anchor, "beta does not fit int32 at gamma's scale / 128")
    try:
        # the input zero point needs nothing: LayerNorm is exactly offset-invariant
        eps_q16, rq = gold.layernorm_params(xt.scale, s_g, s_y, m.eps, z_y)
    except ValueError as exc:
        raise op_error(m.anchor, f"LayerNorm scales: {exc}", ACCEPT_LAYERNORM) from None
    xr = lo.view(x, (rows, e), m.anchor)
    lo.emit(
        m.output,
        lambda y, src: ir.LayerNorm(
            name=lo.op_name("layernorm"),
            inputs=(xr,),
            output=y,
            source=f"LayerNorm of {len(m.ops)} operators around operator {m.anchor.index}",
            gamma=gq.astype(np.int8),
            beta=beta.astype(np.int32),
            eps_q16=int(eps_q16),
            rq=rq,
        ),
        (rows, e),
        xt.shape,
    )
