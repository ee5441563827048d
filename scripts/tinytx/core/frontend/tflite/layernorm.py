"""The LayerNorm that the TFLite converter decomposes (``keras.layers.LayerNormalization``),
matched into one IR op.

The form (TF 2.21, center and scale on)::

    m = MEAN(x, -1)            d = SQUARED_DIFFERENCE(x, m)    v = MEAN(d, -1)
    r = RSQRT(ADD(v, eps))     g = MUL(r, gamma)
    y = ADD(MUL(x, g), ADD(MUL(-m, g), beta))     (-m: NEG between DEQUANTIZE/QUANTIZE)

TFLite rounds each of the ten intermediate tensors to int8. By default the chain becomes
an :class:`~tinytx.core.ir.LayerNormSteps`, which repeats every step in TFLite's int8
arithmetic (:mod:`tinytx.core.golden.layernorm_steps`) and so equals the interpreter
bit for bit. When a step falls outside what that op takes (a fused activation, another
form of the negation, a factor out of range) the chain becomes the exact IR
:class:`~tinytx.core.ir.LayerNorm` (mean, biased variance, the eps, gamma and beta in
one integer step), which agrees with TFLite statistically, not bit for bit; the op's
``source`` says which and why. Any other form is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from tinytx.core import golden as gold
from tinytx.core import ir
from tinytx.core.frontend.tflite.quantization import activation, op_error
from tinytx.core.frontend.tflite.reader import TflGraph, TflOp, TflTensor
from tinytx.core.golden import tflite_factors as ref
from tinytx.core.golden.layernorm_steps import check_params

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
    steps: dict[str, TflOp]  # mean, sqd, var, add_eps, rsqrt, g_mul, xg, mg, b_add, final
    negation: tuple[TflOp, ...]  # from the mean's output to -mean

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
    steps = {
        "mean": mean,
        "sqd": sqd,
        "var": var,
        "add_eps": add_eps,
        "rsqrt": rsqrt,
        "g_mul": g_mul,
        "xg": xg,
        "mg": mg,
        "b_add": b_add,
        "final": final,
    }
    return LayerNormMatch(sqd, x, final, eps, gamma, beta, ops, steps, tuple(reversed(negation)))


def match_layernorms(g: TflGraph) -> list[LayerNormMatch]:
    u = _Uses(g)
    return [match_layernorm(g, u, op) for op in g.ops if op.name == "SQUARED_DIFFERENCE"]


def _const_index(op: TflOp, g: TflGraph) -> int:
    return next(i for i in op.inputs[:2] if g.tensors[i].data is not None)


def steps_params(
    g: TflGraph, m: LayerNormMatch
) -> tuple[np.ndarray, np.ndarray, np.ndarray, gold.LayerNormStepsParams]:
    """(gamma, beta, table, params) of the :class:`~tinytx.core.ir.LayerNormSteps` of a
    match; ``ValueError`` names what the op cannot take."""
    st = m.steps
    for name in ("add_eps", "g_mul", "xg", "mg", "b_add", "final"):
        if int(st[name].opt("FusedActivationFunction", 0) or 0):
            raise ValueError(f"operator {st[name].index} has a fused activation")
    if [o.name for o in m.negation] != ["DEQUANTIZE", "NEG", "QUANTIZE"]:
        raise ValueError("the negation is not DEQUANTIZE, NEG, QUANTIZE")

    def q(index: int) -> tuple[float, int]:
        t = g.tensors[index]
        if t.dtype != "int8" or t.scales.size != 1:
            raise ValueError(f"tensor '{t.name}' is not per-tensor int8")
        return t.scale, t.zero_point

    x = q(m.x)
    mean = q(st["mean"].outputs[0])
    neg = q(m.negation[-1].outputs[0])
    if neg[0] != mean[0]:
        raise ValueError("the negated mean has another scale than the mean")
    e = g.tensors[m.x].shape[-1]
    sqd, var = q(st["sqd"].outputs[0]), q(st["var"].outputs[0])
    eps_i = _const_index(st["add_eps"], g)
    eps_sum, r = q(st["add_eps"].outputs[0]), q(st["rsqrt"].outputs[0])
    gamma_i, beta_i = _const_index(st["g_mul"], g), _const_index(st["b_add"], g)
    gm, xg, mg = q(st["g_mul"].outputs[0]), q(st["xg"].outputs[0]), q(st["mg"].outputs[0])
    bm, y = q(st["b_add"].outputs[0]), q(st["final"].outputs[0])
    gamma_c, beta_c, eps_c = q(gamma_i), q(beta_i), q(eps_i)
    eps_add = ref.add_params(*var, *eps_c, *eps_sum)
    eps_code = int(np.ravel(g.tensors[eps_i].data)[0])
    table = ref.add_eps_rsqrt_table(eps_add, eps_code, *eps_sum, *r)
    params = gold.LayerNormStepsParams(
        mean=ref.mean_params(*x, *mean, e),
        neg_zero_point=neg[1],
        squared_difference=ref.squared_difference_params(*x, *mean, *sqd),
        var=ref.mean_params(*sqd, *var, e),
        gamma=ref.mul_params(*r, *gamma_c, *gm),
        x_gamma=ref.mul_params(*x, *gm, *xg),
        mean_gamma=ref.mul_params(*neg, *gm, *mg),
        beta=ref.add_params(*mg, *beta_c, *bm),
        out=ref.add_params(*xg, *bm, *y),
    )
    check_params(params, e)
    gamma = np.ravel(g.tensors[gamma_i].data).astype(np.int8)
    beta = np.ravel(g.tensors[beta_i].data).astype(np.int8)
    if gamma.size != e or beta.size != e:
        raise ValueError(f"gamma/beta do not have {e} elements")
    return gamma, beta, table, params


def lower_layernorm(lo: Lowering, m: LayerNormMatch) -> None:
    """The TFLite-exact :class:`~tinytx.core.ir.LayerNormSteps`, or the exact IR LayerNorm
    when the chain does not fit it or the conversion asks for tinytx's own arithmetic
    (``--tflite-arith fast``; module docstring)."""
    if lo.arith != "match":
        lower_exact_layernorm(lo, m)
        return
    try:
        gamma, beta, table, params = steps_params(lo.g, m)
    except ValueError as exc:
        lower_exact_layernorm(lo, m, f"not TFLite's steps: {exc}")
        return
    x = lo.act(m.anchor, m.x)
    xt = lo.tensors[x]
    e = xt.shape[-1]
    rows = xt.size // e
    xr = lo.view(x, (rows, e), m.anchor)
    lo.emit(
        m.output,
        lambda y, src: ir.LayerNormSteps(
            name=lo.op_name("layernorm_steps"),
            inputs=(xr,),
            output=y,
            source=f"LayerNorm of {len(m.ops)} operators around operator {m.anchor.index}, "
            "TFLite's int8 steps",
            gamma=gamma,
            beta=beta,
            table=table,
            params=params,
        ),
        (rows, e),
        xt.shape,
    )


def lower_exact_layernorm(lo: Lowering, m: LayerNormMatch, why: str = "") -> None:
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
            source=f"LayerNorm of {len(m.ops)} operators around operator {m.anchor.index}"
            + (f", exact ({why})" if why else ""),
            gamma=gq.astype(np.int8),
            beta=beta.astype(np.int32),
            eps_q16=int(eps_q16),
            rq=rq,
        ),
        (rows, e),
        xt.shape,
    )
