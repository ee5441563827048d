"""Accuracy of the integer nonlinear operators against their float references.

Each ``measure_*`` function runs an integer operator of :mod:`tinytx.core.golden` on a
fixed, seeded set of inputs, dequantizes its output and compares it with the float
reference evaluated on the *dequantized* inputs, so input quantization is not
counted as error. Two output errors are reported:

- against the float reference itself (``max_abs``/``mean_abs`` in real units and
  ``max_lsb``/``mean_lsb`` in output LSBs): this includes the unavoidable rounding
  of the result to the output grid (at least 0.5 LSB in the worst case);
- against the *ideal quantized output* (``max_lsb_ideal``/``mean_lsb_ideal``): the
  float reference rounded half up to the output grid and clamped to the output
  range, i.e. the best answer any int8 kernel could give. This isolates the error
  of the integer approximation (integer 0 means bit-equal to the ideal output).

The i-exp rows measure the I-BERT exponential alone against ``math.exp``.
All inputs are generated from fixed seeds; the whole run takes well under a second.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from tinytx.core.golden.gelu import gelu_float, gelu_params, gelu_s8
from tinytx.core.golden.layernorm import layernorm_float, layernorm_params, layernorm_s8
from tinytx.core.golden.softmax import (
    EXP_SCALE,
    LOGIT_FRAC_BITS,
    PROB_ONE,
    i_exp,
    softmax_float,
    softmax_requant,
    softmax_rows,
)

SEED = 20240403

SOFTMAX_SCORE_SCALE = 1.0 / 64
SOFTMAX_LOGIT_RANGE = 8.0
SOFTMAX_ROWS: tuple[tuple[int, int], ...] = ((8, 4000), (64, 1000), (256, 250))  # (length, rows)

I_EXP_REL_MIN = -10.0  # relative error is reported down to this logit
I_EXP_ABS_MIN = -16.0

LAYERNORM_S_X = 0.05
LAYERNORM_S_GAMMA = 1.0 / 64
LAYERNORM_GAMMA_Q = 64  # gamma = 1.0
LAYERNORM_S_Y = 1.0 / 32
LAYERNORM_EPS = 1e-5
LAYERNORM_ROWS = 400
# (label, std of the int8 inputs in LSB)
LAYERNORM_SPREADS: tuple[tuple[str, float], ...] = (
    ("std 2 LSB", 2.0),
    ("std 8 LSB", 8.0),
    ("std 40 LSB", 40.0),
)
LAYERNORM_WIDTHS: tuple[int, ...] = (64, 256)

GELU_SCALES: tuple[tuple[str, float], ...] = (
    ("4/127", 4.0 / 127),
    ("8/127", 8.0 / 127),
    ("1/16", 1.0 / 16),
)


@dataclass(frozen=True)
class AccuracyResult:
    """Error statistics of one integer operator configuration against float.

    ``unit`` names what ``max_abs``/``mean_abs`` measure ("probability", "real" or
    "relative"). ``lsb`` is the real value of one output LSB; the ``*_lsb`` fields are
    ``None`` where output LSBs are not meaningful (the i-exp rows).
    """

    name: str
    inputs: str
    samples: int
    unit: str
    max_abs: float
    mean_abs: float
    lsb: float | None = None
    max_lsb: float | None = None
    mean_lsb: float | None = None
    max_lsb_ideal: float | None = None
    mean_lsb_ideal: float | None = None

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def round_half_up(values: np.ndarray) -> np.ndarray:
    """Round to the nearest integer, ties towards +inf (the golden model's rule)."""
    return np.floor(np.asarray(values, np.float64) + 0.5)


def _result(
    name: str,
    inputs: str,
    got: np.ndarray,
    ref: np.ndarray,
    lsb: float,
    q_min: int,
    q_max: int,
    unit: str = "real",
) -> AccuracyResult:
    """Statistics of ``got`` (dequantized integer output) against float ``ref``.

    ``q_min``/``q_max`` is the integer output range used for the ideal output.
    """
    got = np.asarray(got, np.float64).ravel()
    ref = np.asarray(ref, np.float64).ravel()
    err = np.abs(got - ref)
    ideal = np.clip(round_half_up(ref / lsb), q_min, q_max)
    err_ideal = np.abs(np.rint(got / lsb) - ideal)
    return AccuracyResult(
        name=name,
        inputs=inputs,
        samples=int(ref.size),
        unit=unit,
        max_abs=float(err.max()),
        mean_abs=float(err.mean()),
        lsb=lsb,
        max_lsb=float(err.max() / lsb),
        mean_lsb=float(err.mean() / lsb),
        max_lsb_ideal=float(err_ideal.max()),
        mean_lsb_ideal=float(err_ideal.mean()),
    )


def measure_softmax(
    lengths: Sequence[tuple[int, int]] = SOFTMAX_ROWS,
    score_scale: float = SOFTMAX_SCORE_SCALE,
    seed: int = SEED,
) -> list[AccuracyResult]:
    """Integer softmax rows against float softmax of the same quantized logits.

    Real logits are uniform in [-8, 8]; the int32 scores are ``round(logit /
    score_scale)`` and the float reference is ``softmax(scores * score_scale)``.
    Errors are in probability units; one output LSB is 1/256.
    """
    rng = np.random.default_rng(seed)
    rq = softmax_requant(score_scale)
    out = []
    for length, rows in lengths:
        logits = rng.uniform(-SOFTMAX_LOGIT_RANGE, SOFTMAX_LOGIT_RANGE, size=(rows, length))
        scores = round_half_up(logits / score_scale).astype(np.int32)
        p = softmax_rows(scores, rq).astype(np.float64) / PROB_ONE
        ref = softmax_float(scores.astype(np.float64) * score_scale)
        out.append(
            _result(
                f"softmax N={length}",
                f"{rows} rows, logits U[-8, 8], score scale {_frac(score_scale)}",
                p,
                ref,
                1.0 / PROB_ONE,
                0,
                255,
                unit="probability",
            )
        )
    return out


def measure_i_exp(
    rel_min: float = I_EXP_REL_MIN, abs_min: float = I_EXP_ABS_MIN
) -> list[AccuracyResult]:
    """The I-BERT integer exponential alone against ``math.exp`` on every Q10 logit.

    Two rows: the relative error over ``[rel_min, 0]`` (it grows towards the
    underflow, where the result has few significant bits left), and the absolute
    error over ``[abs_min, 0]`` in units of exp(0) = 1, which includes the
    underflow to 0 below about -14.9.
    """
    one = 1 << LOGIT_FRAC_BITS
    out = []
    x = np.arange(round(rel_min * one), 1, dtype=np.int64)
    approx = i_exp(x).astype(np.float64) * EXP_SCALE
    exact = np.exp(x / one)
    rel = np.abs(approx - exact) / exact
    out.append(
        AccuracyResult(
            name="i_exp relative",
            inputs=f"all Q10 logits in [{rel_min:g}, 0]",
            samples=int(x.size),
            unit="relative",
            max_abs=float(rel.max()),
            mean_abs=float(rel.mean()),
        )
    )
    x = np.arange(round(abs_min * one), 1, dtype=np.int64)
    approx = i_exp(x).astype(np.float64) * EXP_SCALE
    err = np.abs(approx - np.exp(x / one))
    out.append(
        AccuracyResult(
            name="i_exp absolute",
            inputs=f"all Q10 logits in [{abs_min:g}, 0]",
            samples=int(x.size),
            unit="real",
            max_abs=float(err.max()),
            mean_abs=float(err.mean()),
        )
    )
    return out


def _layernorm_inputs(rng: np.random.Generator, rows: int, width: int, std: float) -> np.ndarray:
    """int8 rows with the given spread (in LSB) around random non-integer means."""
    headroom = max(0.0, 127.0 - 3.0 * std)
    mean = rng.uniform(-headroom, headroom, size=(rows, 1))
    x = round_half_up(mean + rng.normal(0.0, std, size=(rows, width)))
    return np.clip(x, -128, 127).astype(np.int8)


def measure_layernorm(
    widths: Iterable[int] = LAYERNORM_WIDTHS,
    spreads: Iterable[tuple[str, float]] = LAYERNORM_SPREADS,
    rows: int = LAYERNORM_ROWS,
    seed: int = SEED,
) -> list[AccuracyResult]:
    """Integer LayerNorm (gamma = 1, beta = 0) against float LayerNorm.

    Input scale 0.05, gamma = 64 with scale 1/64, output scale 1/32 (range about
    +-4), eps = 1e-5. The reference is the float LayerNorm of the dequantized input,
    clipped to the representable output range [-128/32, 127/32] so that saturation
    (rare: beyond 4 standard deviations) is not counted as error.
    """
    rng = np.random.default_rng(seed + 1)
    eps_q16, rq = layernorm_params(LAYERNORM_S_X, LAYERNORM_S_GAMMA, LAYERNORM_S_Y, LAYERNORM_EPS)
    lsb = LAYERNORM_S_Y
    out = []
    spreads = tuple(spreads)
    for width in widths:
        gamma = np.full(width, LAYERNORM_GAMMA_Q, dtype=np.int8)
        beta = np.zeros(width, dtype=np.int32)
        for label, std in spreads:
            x = _layernorm_inputs(rng, rows, width, std)
            y = layernorm_s8(x, gamma, beta, eps_q16, rq).astype(np.float64) * lsb
            ref = layernorm_float(x.astype(np.float64) * LAYERNORM_S_X, 1.0, 0.0, LAYERNORM_EPS)
            ref = np.clip(ref, -128 * lsb, 127 * lsb)
            out.append(
                _result(
                    f"layernorm E={width} {label}",
                    f"{rows} rows, s_x 0.05, s_y 1/32, gamma 1, beta 0",
                    y,
                    ref,
                    lsb,
                    -128,
                    127,
                )
            )
    return out


def measure_gelu(scales: Iterable[tuple[str, float]] = GELU_SCALES) -> list[AccuracyResult]:
    """Integer GELU on all 256 int8 inputs, output scale = input scale."""
    x = np.arange(-128, 128, dtype=np.int64).astype(np.int8)
    out = []
    for label, s_x in scales:
        p = gelu_params(s_x, s_x)
        y = gelu_s8(x, p).astype(np.float64) * s_x
        ref = gelu_float(x.astype(np.float64) * s_x)
        out.append(
            _result(
                f"gelu s_x={label}",
                f"all 256 int8 inputs, real [{-128 * s_x:.2f}, {127 * s_x:.2f}], s_y = s_x",
                y,
                ref,
                s_x,
                -128,
                127,
            )
        )
    return out


def measure_all() -> list[AccuracyResult]:
    """Every measurement, in table order."""
    return [*measure_softmax(), *measure_i_exp(), *measure_layernorm(), *measure_gelu()]


def _frac(v: float) -> str:
    inv = 1.0 / v
    return f"1/{inv:g}" if float(inv).is_integer() else f"{v:g}"


def _num(v: float | None) -> str:
    return "-" if v is None else f"{v:.3g}"


def format_table(results: Iterable[AccuracyResult]) -> str:
    """Markdown table of ``results`` (one row each)."""
    header = (
        "| operator | inputs | n | unit | max err | mean err | max err (LSB) "
        "| mean err (LSB) | max vs ideal (LSB) | mean vs ideal (LSB) |"
    )
    lines = [header, "|" + " --- |" * 4 + " ---: |" * 6]
    for r in results:
        cells = [
            r.name,
            r.inputs,
            str(r.samples),
            r.unit,
            _num(r.max_abs),
            _num(r.mean_abs),
            _num(r.max_lsb),
            _num(r.mean_lsb),
            _num(r.max_lsb_ideal),
            _num(r.mean_lsb_ideal),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
