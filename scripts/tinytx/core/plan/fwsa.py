"""Fused-weight self-attention (FWSA) in the converter: when to fuse, how, and at what cost.

Decision (:func:`decide_fwsa`): fuse when ``P >= E`` (``auto``), or as forced (``on`` /
``off``). With ``P >= E`` the fused ``E x E`` matrix per head has no more weights than the
two ``E x P`` projections it replaces (``E*E <= 2*E*P`` already holds for ``P >= E/2``,
but below ``P = E`` the score dot products get longer: length ``E`` instead of ``P``,
so the score part is slower).

Fusion of an int8 MHSA (:func:`fuse_mhsa`), per head ``h`` with the linear-layer rows
``Wq_h``, ``Wk_h`` (``[P][E]``) and ``bq_h``::

    M_h  = Wq_h^T Wk_h                (exact int64, [E][E], scale s_x s_wq s_wk / ...)
    Wt[h*E + f, e] = round(M_h[e, f] / c)      c = max |M| / 127 (one scale, all heads)
    bt[h*E + f]    = round((Wk_h^T bq_h)[f] / c)     (bk drops out: softmax ignores it)

so that ``x_i Wt_h + bt_h ~ (q_i . k_j - row constants) / c`` in accumulator units
(docs/golden-model.md, "FWSA"). ``rq_t`` is calibrated on the calibration input, the
softmax factor carries over exactly: ``f_sm' = f_q f_k f_sm c / f_t``; V, A*V and the
output projection are unchanged. The only new error is the rounding of ``Wt`` and ``bt``
to int8/int32 and of ``T`` to int8, which :func:`fwsa_accuracy` measures against the
unfused int8 block and the float block on calibrated random workloads.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tinytx.core import golden as g
from tinytx.core.errors import UserInputError
from tinytx.core.golden.limits import kernel_limits
from tinytx.core.golden.linear import linear_acc
from tinytx.core.golden.softmax import LOGIT_FRAC_BITS, softmax_float
from tinytx.core.workloads import MhsaShape, calibrated, make_mhsa

MODES = ("auto", "on", "off")


def mhsa_parameters(shape: MhsaShape) -> int:
    """Weights and biases of the unfused block (Q, K, V, output projections)."""
    e, hp = shape.embed_dim, shape.heads * shape.head_dim
    return 4 * hp * e + 3 * hp + e


def fwsa_parameters(shape: MhsaShape) -> int:
    """Weights and biases of the fused block (Wt, V, output projection)."""
    e, h, hp = shape.embed_dim, shape.heads, shape.heads * shape.head_dim
    return h * e * e + 2 * hp * e + h * e + hp + e


def weight_bytes(shape: MhsaShape, fused: bool) -> int:
    """Flash bytes of the block's weights (int8) and biases (int32)."""
    e, h, hp = shape.embed_dim, shape.heads, shape.heads * shape.head_dim
    if fused:
        return h * e * e + 2 * hp * e + 4 * (h * e + hp + e)
    return 4 * hp * e + 4 * (3 * hp + e)


@dataclass(frozen=True)
class FwsaDecision:
    fuse: bool
    mode: str
    reason: str
    parameters_unfused: int
    parameters_fused: int

    @property
    def parameter_saving(self) -> float:
        """Fraction of the MHSA parameters the fusion removes (negative: it adds)."""
        return 1.0 - self.parameters_fused / self.parameters_unfused


def decide_fwsa(shape: MhsaShape, mode: str = "auto") -> FwsaDecision:
    """Fuse when ``P >= E`` (``auto``), or as ``mode`` forces; the reason says why."""
    if mode not in MODES:
        raise UserInputError(f"--fwsa: expected one of {', '.join(MODES)}, got {mode!r}")
    e, p = shape.embed_dim, shape.head_dim
    unfused, fused = mhsa_parameters(shape), fwsa_parameters(shape)
    saving = 1.0 - fused / unfused
    if mode == "on":
        fuse, reason = True, f"forced on (--fwsa on); P={p}, E={e}"
    elif mode == "off":
        fuse, reason = False, "forced off (--fwsa off)"
    elif p >= e:
        fuse = True
        reason = (
            f"P={p} >= E={e}: one E x E matrix per head replaces Q and K "
            f"({saving:.1%} fewer parameters)"
        )
    else:
        fuse = False
        reason = (
            f"P={p} < E={e}: the fused E x E matrix per head would make the score dot "
            f"products {e / p:.3g}x longer (parameters {-saving:+.1%})"
            if saving < 0
            else f"P={p} < E={e}: the score dot products would get {e / p:.3g}x longer"
        )
    return FwsaDecision(fuse, mode, reason, unfused, fused)


def fuse_mhsa(
    w: g.MhsaWeights, qp: g.MhsaQuant, heads: int, x_calib: np.ndarray
) -> tuple[g.FwsaWeights, g.FwsaQuant]:
    """The int8 FWSA block equivalent to an int8 MHSA (see the module docstring)."""
    n, e = w.wq.shape
    if heads < 1 or n % heads:
        raise ValueError(f"heads: {heads} does not divide the {n} projection rows")
    p = n // heads
    wq = w.wq.astype(np.int64).reshape(heads, p, e)
    wk = w.wk.astype(np.int64).reshape(heads, p, e)
    m = np.einsum("hpe,hpf->hef", wq, wk)  # M_h[e, f] = sum_p Wq[h,p,e] Wk[h,p,f]
    c = max(float(np.abs(m).max()), 1.0) / 127.0
    wt = np.clip(np.rint(m.transpose(0, 2, 1) / c), -127, 127).astype(np.int8).reshape(heads * e, e)
    if w.bq is None:
        bt = None
    else:
        bq = w.bq.astype(np.int64).reshape(heads, p)
        b = np.einsum("hpf,hp->hf", wk, bq).reshape(heads * e)
        bt_f = np.rint(b / c)
        if np.abs(bt_f).max() > kernel_limits().bias_bound:
            raise ValueError(f"fused bias: {np.abs(bt_f).max():.3g} exceeds +/-2**30")
        bt = bt_f.astype(np.int32)
    rq_t = calibrated(linear_acc(x_calib, wt, bt))
    f_sm = qp.softmax.real * qp.q.real * qp.k.real * c / rq_t.real
    rq_sm = g.Requant.from_scale(f_sm, "fused softmax factor")
    weights = g.FwsaWeights(wt, bt, w.wv, w.bv, w.wo, w.bo)
    return weights, g.FwsaQuant(rq_t, qp.v, rq_sm, qp.av, qp.out)


def mhsa_float_units(x: np.ndarray, heads: int, w: g.MhsaWeights, qp: g.MhsaQuant) -> np.ndarray:
    """The float MHSA in the int8 block's units: the same scales, no intermediate
    rounding or clamping, exact softmax. The reference both integer blocks approximate."""

    def acc(wm: np.ndarray, b: np.ndarray | None) -> np.ndarray:
        return linear_acc(x, wm, b).astype(np.float64)

    s = x.shape[0]
    q = (acc(w.wq, w.bq) * qp.q.real).reshape(s, heads, -1).transpose(1, 0, 2)
    k = (acc(w.wk, w.bk) * qp.k.real).reshape(s, heads, -1).transpose(1, 0, 2)
    v = (acc(w.wv, w.bv) * qp.v.real).reshape(s, heads, -1).transpose(1, 0, 2)
    logits = (q @ k.transpose(0, 2, 1)) * qp.softmax.real / (1 << LOGIT_FRAC_BITS)
    o = (softmax_float(logits) @ v) * 256.0 * qp.av.real
    o = o.transpose(1, 0, 2).reshape(s, -1)
    y = o @ w.wo.astype(np.float64).T
    if w.bo is not None:
        y = y + w.bo
    return y * qp.out.real


@dataclass(frozen=True)
class FwsaAccuracy:
    """Output errors in int8 LSB (output units), over ``outputs`` values of ``workloads``
    calibrated random blocks."""

    workloads: int
    outputs: int
    rms_unfused: float  # int8 MHSA vs float
    rms_fused: float  # int8 FWSA vs float
    mean_abs_diff: float  # int8 FWSA vs int8 MHSA
    max_abs_diff: int
    equal_fraction: float  # share of outputs where FWSA == MHSA

    def as_dict(self) -> dict[str, float | int]:
        return dict(self.__dict__)


def fwsa_accuracy(shape: MhsaShape, seeds: Sequence[int] = (1, 2, 3)) -> FwsaAccuracy:
    """The accuracy cost of requantizing the fused weights, on calibrated random blocks
    (:func:`tinytx.core.workloads.make_mhsa`, the calibration input is the block's input)."""
    err_u, err_f, diff = [], [], []
    for seed in seeds:
        work = make_mhsa(shape, seed)
        h = shape.heads
        y_u = g.mhsa_s8(work.x, h, work.weights, work.quant).astype(np.float64)
        fw, fq = fuse_mhsa(work.weights, work.quant, h, work.x)
        y_f = g.fwsa_s8(work.x, h, fw, fq).astype(np.float64)
        ref = np.clip(mhsa_float_units(work.x, h, work.weights, work.quant), -128, 127)
        err_u.append(y_u - ref)
        err_f.append(y_f - ref)
        diff.append(y_f - y_u)
    eu, ef, d = (np.concatenate([a.ravel() for a in arrs]) for arrs in (err_u, err_f, diff))
    return FwsaAccuracy(
        workloads=len(seeds),
        outputs=int(d.size),
        rms_unfused=float(np.sqrt(np.mean(eu**2))),
        rms_fused=float(np.sqrt(np.mean(ef**2))),
        mean_abs_diff=float(np.mean(np.abs(d))),
        max_abs_diff=int(np.abs(d).max()),
        equal_fraction=float(np.mean(d == 0)),
    )
