/*
 * TFLite's integer primitives (gemmlowp fixed point), shared by the kernels that equal
 * the TFLite interpreter's reference kernels bit for bit (internal header; formulas in
 * tinytx/core/golden/layernorm_steps.py and attention_steps.py).
 */
#ifndef TINYTX_TFL_MATH_H
#define TINYTX_TFL_MATH_H

#include <stdint.h>

#include "tinytx/types.h"

/* gemmlowp's SaturatingRoundingDoublingHighMul. */
static inline int32_t tinytx_tfl_srdhm(int32_t a, int32_t b)
{
	if (a == INT32_MIN && b == INT32_MIN) {
		return INT32_MAX;
	}
	/* (ab + nudge) / 2^31 towards zero, nudge 2^30 (ab >= 0) or 1 - 2^30 (ab < 0), is
	 * floor((ab + 2^30) / 2^31) in both cases: one multiply-add and a shift */
	const int64_t ab = (int64_t)a * b;
	return (int32_t)((ab + ((int64_t)1 << 30)) >> 31);
}

/* gemmlowp's RoundingDivideByPOT: x / 2^e rounded half away from zero, e 0..31. */
static inline int32_t tinytx_tfl_rdbpot(int32_t x, int32_t e)
{
	const int32_t mask = (int32_t)(((uint32_t)1 << e) - 1u);
	const int32_t remainder = x & mask;
	const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
	return (x >> e) + (remainder > threshold ? 1 : 0);
}

/* gemmlowp's SaturatingRoundingMultiplyByPOT with a left shift e, 1..30. */
static inline int32_t tinytx_tfl_saturating_shl(int32_t x, int32_t e)
{
	const int32_t bound = (int32_t)(((uint32_t)1 << (31 - e)) - 1u);
	if (x > bound) {
		return INT32_MAX;
	}
	if (x < -bound) {
		return INT32_MIN;
	}
	return (int32_t)((uint32_t)x << e);
}

/* TFLite's MultiplyByQuantizedMultiplier; the caller keeps x * 2^shift within int32. */
static inline int32_t tinytx_tfl_mbqm(int32_t x, int32_t multiplier, int32_t shift)
{
	const int32_t left = shift > 0 ? shift : 0;
	const int32_t right = shift > 0 ? 0 : -shift;
	return tinytx_tfl_rdbpot(tinytx_tfl_srdhm((int32_t)((uint32_t)x << left), multiplier),
				 right);
}

static inline int32_t tinytx_tfl_clamp8(int32_t v)
{
	return v < -128 ? -128 : (v > 127 ? 127 : v);
}

static inline int tinytx_tfl_zp_ok(int32_t z)
{
	return z >= -128 && z <= 127;
}

static inline int tinytx_tfl_factor_ok(int32_t m, int32_t s, int32_t top)
{
	return m >= 0 && s >= -31 && s <= top;
}

/* 31 - bit length of v: the largest left shift of a value up to v within int32. */
static inline int32_t tinytx_tfl_shift_max(uint32_t v)
{
	int32_t bits = 0;
	while (v != 0) {
		bits++;
		v >>= 1;
	}
	return 31 - bits;
}

/* MUL (and a BATCH_MATMUL's sum of products): clamp(z + mbqm(acc, m, s)). */
static inline int32_t tinytx_tfl_requant(int32_t acc, const tinytx_tfl_mul_params *p)
{
	return tinytx_tfl_clamp8(p->zero_point + tinytx_tfl_mbqm(acc, p->multiplier, p->shift));
}

#endif /* TINYTX_TFL_MATH_H */
