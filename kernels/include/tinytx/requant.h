/*
 * Integer helpers shared by every kernel variant; their arithmetic is the
 * specification in tinytx.golden (quant.py, softmax.py). Signed right shifts are
 * arithmetic, as with every compiler tinytx supports (GCC, Clang).
 */
#ifndef TINYTX_REQUANT_H
#define TINYTX_REQUANT_H

#include <stdint.h>

#include "tinytx/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* I-BERT i-exp constants for Q10 logits (see tinytx/golden/softmax.py). */
#define TINYTX_LN2_Q 710
#define TINYTX_EXP_B_Q 1385
#define TINYTX_EXP_C_Q 1006164
#define TINYTX_EXP_Z_MAX 30
#define TINYTX_LOGIT_MIN (-(TINYTX_EXP_Z_MAX + 1) * TINYTX_LN2_Q)

/* (value * m + 2^(s-1)) >> s with the full 64-bit result (round half up). */
static inline int64_t tinytx_scale_round(int32_t value, tinytx_requant rq)
{
	int64_t p = (int64_t)value * rq.multiplier + ((int64_t)1 << (rq.shift - 1));
	return p >> rq.shift;
}

/* clamp(scaled + zero point) to [lo, hi] (tinytx/golden/quant.py). */
static inline int8_t tinytx_requantize_s8(int32_t acc, tinytx_requant rq, int32_t lo, int32_t hi)
{
	int64_t y = tinytx_scale_round(acc, rq) + rq.zero_point;
	if (y < lo) {
		y = lo;
	} else if (y > hi) {
		y = hi;
	}
	return (int8_t)y;
}

/* Integer exp of a Q10 logit x in [TINYTX_LOGIT_MIN, 0]; scale 0.3585 * 2^-20. */
static inline uint32_t tinytx_i_exp(int32_t x)
{
	uint32_t z = (uint32_t)(-x) / TINYTX_LN2_Q;
	if (z > TINYTX_EXP_Z_MAX) {
		return 0;
	}
	int32_t t = x + (int32_t)(z * TINYTX_LN2_Q) + TINYTX_EXP_B_Q;
	return ((uint32_t)(t * t) + TINYTX_EXP_C_Q) >> z;
}

/* Q10 logit of a score difference diff <= 0, clamped to the i-exp domain. */
static inline int32_t tinytx_softmax_logit(int32_t diff, tinytx_requant rq)
{
	int64_t x = tinytx_scale_round(diff, rq);
	return x < TINYTX_LOGIT_MIN ? TINYTX_LOGIT_MIN : (int32_t)x;
}

/* uint8 probability (scale 1/256) of one i-exp value given the row sum. */
static inline uint8_t tinytx_softmax_prob(uint32_t e, uint32_t sum)
{
	uint32_t p = (e * 256u + sum / 2u) / sum;
	return (uint8_t)(p > 255u ? 255u : p);
}

static inline int tinytx_requant_valid(tinytx_requant rq)
{
	return rq.multiplier >= 0 && rq.shift >= 1 && rq.shift <= TINYTX_REQUANT_SHIFT_MAX &&
	       rq.zero_point >= -128 && rq.zero_point <= 127;
}

/* 1 when a per-channel table (multipliers/shifts, both NULL or both set) is valid. */
static inline int tinytx_channels_valid(const int32_t *multipliers, const int32_t *shifts,
					int32_t n)
{
	if (multipliers == NULL || shifts == NULL) {
		return multipliers == shifts;
	}
	for (int32_t i = 0; i < n; i++) {
		if (multipliers[i] < 0 || shifts[i] < 1 || shifts[i] > TINYTX_REQUANT_SHIFT_MAX) {
			return 0;
		}
	}
	return 1;
}

/* The factor of output channel c: per-channel when multipliers is set. */
static inline tinytx_requant tinytx_channel_requant(tinytx_requant rq, const int32_t *multipliers,
						   const int32_t *shifts, int32_t c)
{
	if (multipliers != NULL) {
		rq.multiplier = multipliers[c];
		rq.shift = shifts[c];
	}
	return rq;
}

static inline int tinytx_activation_valid(tinytx_activation act)
{
	return act.min >= -128 && act.min <= act.max && act.max <= 127;
}

#ifdef __cplusplus
}
#endif

#endif /* TINYTX_REQUANT_H */
