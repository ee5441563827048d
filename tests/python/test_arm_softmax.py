"""The Cortex-M softmax arithmetic (kernels/src/arm) equals the golden model's, checked
in Python on the constants read from the C headers:

- the division-free i-exp (reciprocal of LN2_Q, remainder table, SSAT clamp),
  exhaustively over every logit the kernels can see;
- the one-multiply forms of the Q10 logit (SMMLA for shift >= 33, SMMULR on pre-scaled
  differences for shift <= 32) against the golden 64-bit rounding;
- the condition under which the probability clamp at 255 is skipped.

The kernels themselves are checked bit for bit on QEMU by test_kernels_bitexact.py; this
file proves the shortcuts for every input rather than for random cases.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from tinytx.core.golden import softmax as sm
from tinytx.core.golden.quant import round_shift
from tinytx.core.resources import kernels_dir

ARM_COMMON = kernels_dir() / "src" / "arm" / "tinytx_arm_common.h"
REQUANT_H = kernels_dir() / "include" / "tinytx" / "requant.h"


def c_define(path, name: str) -> int:
    m = re.search(rf"^#define {name} \(?(-?\d+)\)?", path.read_text(), re.MULTILINE)
    assert m, f"{name} not defined in {path}"
    return int(m.group(1))


RECIP = c_define(ARM_COMMON, "TT_LN2_RECIP")
SAT_BITS = c_define(ARM_COMMON, "TT_LOGIT_SAT_BITS")
LN2_Q = c_define(REQUANT_H, "TINYTX_LN2_Q")
EXP_B_Q = c_define(REQUANT_H, "TINYTX_EXP_B_Q")
EXP_C_Q = c_define(REQUANT_H, "TINYTX_EXP_C_Q")
EXP_ONE = EXP_B_Q * EXP_B_Q + EXP_C_Q


def test_the_c_constants_are_the_golden_ones() -> None:
    assert (LN2_Q, EXP_B_Q, EXP_C_Q) == (sm.LN2_Q, sm.EXP_B_Q, sm.EXP_C_Q)
    assert RECIP == -(-(1 << 32) // LN2_Q)  # ceil(2^32 / LN2_Q)


def arm_i_exp(x: np.ndarray) -> np.ndarray:
    """tt_exp_q10 after the SSAT: z by the reciprocal, the table entry of r, >> z."""
    x = np.clip(x.astype(np.int64), -(1 << (SAT_BITS - 1)), (1 << (SAT_BITS - 1)) - 1)
    z = (x * -RECIP) >> 32  # SMULL high word of x * -RECIP
    r = x + z * LN2_Q
    index = r + LN2_Q - 1  # tt_exp_table[r + 709]
    assert index.min() >= 0 and index.max() < LN2_Q  # inside the 710-entry table
    assert z.max() <= 31  # the C shift is defined
    r_all = np.arange(-(LN2_Q - 1), 1, dtype=np.int64)
    table = (r_all + EXP_B_Q) ** 2 + EXP_C_Q  # TT_E1(r), in r order
    return table[index] >> z


def test_i_exp_is_exact_for_every_logit() -> None:
    # every value a kernel can see: scores give any int32 logit; SSAT maps the rest
    # onto the ends of [-16384, 16383], and only logits <= 0 occur (diff <= 0)
    x = np.arange(-(1 << 17), 1, dtype=np.int64)
    got = arm_i_exp(x)
    want = sm.i_exp(np.maximum(x, sm.LOGIT_MIN))
    assert np.array_equal(got, want)
    assert got[-1] == EXP_ONE  # x = 0, the row maximum
    assert got.max() < 1 << 22  # the table values, and so every e, below 2^22


def test_the_direct_table_is_the_i_exp_of_every_clamped_logit() -> None:
    """tt_exp_x_table (the fused blocks' exp passes): entry x + 16384 is TT_E1(r) >> z
    with z = -x // LN2_Q for x = -16384 .. 0, the range SSAT leaves of every logit <= 0."""
    entries = c_define(ARM_COMMON, "TT_EXP_X_ENTRIES")
    lo = -(1 << (SAT_BITS - 1))
    assert entries == 1 - lo
    x = np.arange(lo, 1, dtype=np.int64)
    z = -x // LN2_Q
    r = x + z * LN2_Q
    table = ((r + EXP_B_Q) ** 2 + EXP_C_Q) >> z  # TT_X1(x)
    assert np.array_equal(table, sm.i_exp(np.maximum(x, sm.LOGIT_MIN)))
    assert np.array_equal(table, arm_i_exp(x))
    # every logit below the table maps onto its first entry (0) through the SSAT
    below = np.arange(-(1 << 17), lo, dtype=np.int64)
    assert table[0] == 0 and np.all(sm.i_exp(np.maximum(below, sm.LOGIT_MIN)) == 0)


def arm_i_exp_unclamped(x: np.ndarray) -> np.ndarray:
    """tt_exp4_scaled_nc: tt_exp_q10 without the SSAT; LSR by register takes the low
    byte of z and gives 0 for 32 <= z <= 255."""
    z = (x * -RECIP) >> 32
    r = x + z * LN2_Q
    index = r + LN2_Q - 1
    assert index.min() >= 0 and index.max() < LN2_Q
    assert z.min() >= 0 and z.max() <= 255
    r_all = np.arange(-(LN2_Q - 1), 1, dtype=np.int64)
    table = (r_all + EXP_B_Q) ** 2 + EXP_C_Q
    return np.where(z >= 32, 0, table[index] >> np.minimum(z, 31))


def test_i_exp_needs_no_clamp_above_the_clamp_free_bound() -> None:
    """TT_LOGIT_NOCLAMP: every logit above -TT_LOGIT_NOCLAMP gives the golden i-exp
    without the SSAT (the plan's clamp_free)."""
    bound = 256 * LN2_Q
    assert re.search(r"#define TT_LOGIT_NOCLAMP \(256 \* TINYTX_LN2_Q\)", ARM_COMMON.read_text())
    x = np.arange(-bound + 1, 1, dtype=np.int64)
    assert np.array_equal(arm_i_exp_unclamped(x), sm.i_exp(np.maximum(x, sm.LOGIT_MIN)))


def test_the_reciprocal_division_is_exact_beyond_the_clamp() -> None:
    u = np.arange(0, 1 << 21, dtype=np.int64)
    assert np.array_equal((u * RECIP) >> 32, u // LN2_Q)


def golden_logits(diff: np.ndarray, m: int, s: int) -> np.ndarray:
    return round_shift(diff.astype(np.int64) * np.int64(m), s)


def sample_diffs(rng: np.random.Generator, lo: int) -> np.ndarray:
    """Differences score - max <= 0 down to lo: random, small, and the ends."""
    rand = rng.integers(lo, 1, 200_000, dtype=np.int64)
    return np.concatenate([rand, np.arange(-5000, 1), [lo, lo + 1, -1, 0]])


@pytest.mark.parametrize("shift", [33, 34, 38, 45, 62])
def test_high_shift_logit_is_one_smmla(shift: int) -> None:
    """shift >= 33: (SMMLA(d, m, 2^(s-33))) >> (s-32) == round_shift(d * m, s)."""
    rng = np.random.default_rng(shift)
    for m in (1 << 30, (1 << 31) - 1, int(rng.integers(1, 1 << 31)), 0):
        d = sample_diffs(rng, -(1 << 31) + 1)
        hi = (d * m) >> 32  # SMMLA's high word (floor)
        got = (hi + (1 << (shift - 33))) >> (shift - 32)
        assert np.array_equal(got, golden_logits(d, m, shift))


@pytest.mark.parametrize("shift", [32, 31, 30, 24])
def test_low_shift_logit_is_one_smmulr_on_scaled_differences(shift: int) -> None:
    """shift <= 32, d' = d * 2^(32 - s) within int32: SMMULR(d', m) == round_shift."""
    rng = np.random.default_rng(shift)
    up = 32 - shift
    for m in (1 << 30, (1 << 31) - 1, int(rng.integers(1, 1 << 31))):
        d = sample_diffs(rng, -(1 << (31 - up)))
        scaled = d << up
        assert scaled.min() >= -(1 << 31)
        got = (scaled * m + (1 << 31)) >> 32  # SMMULR
        assert np.array_equal(got, golden_logits(d, m, shift))


def test_probabilities_need_no_clamp_when_the_sum_allows() -> None:
    """tt_prob_unclamped(sum): then no e <= EXP_ONE gives a probability above 255."""
    sums = np.arange(EXP_ONE, EXP_ONE + 20_000, dtype=np.int64)
    unclamped = 256 * EXP_ONE + sums // 2 < 256 * sums
    worst = (EXP_ONE * 256 + sums // 2) // sums  # the largest probability of such a row
    assert np.all(worst[unclamped] <= 255)
    assert np.any(~unclamped) and np.any(unclamped)  # both paths occur near EXP_ONE
