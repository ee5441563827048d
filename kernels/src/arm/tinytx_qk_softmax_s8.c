/*
 * Cortex-M DSP QK^T fused with the integer softmax, one query row at a time:
 * scores with SMLAD over two keys per step, then i-exp and the uint8
 * probabilities. Bit-exact with the reference (tinytx/golden/softmax.py).
 *
 * Two per-call precomputations keep the per-element work in 32 bits:
 * - "live" threshold: logit(diff) is non-decreasing in diff, so one binary search
 *   finds the smallest diff whose i-exp can be non-zero; below it e = 0.
 * - above the threshold the logit fits int32, and scaling diff by 2^(33-s)
 *   (when that cannot overflow) turns the 64-bit round-shift into the high word
 *   of one SMULL: x = (hi(diff' * m) + 1) >> 1.
 */
#include "tinytx_arm_common.h"
#include "tinytx/kernels.h"
#include "../tinytx_check.h"

/* Smallest diff in [INT32_MIN, 0] with a logit above TINYTX_LOGIT_MIN. */
static int32_t live_threshold(tinytx_requant rq)
{
	if (tinytx_softmax_logit(INT32_MIN, rq) > TINYTX_LOGIT_MIN) {
		return INT32_MIN;
	}
	int64_t dead = INT32_MIN, live = 0; /* logit(0) = 0 is always live */
	while (live - dead > 1) {
		int64_t mid = dead + (live - dead) / 2;
		if (tinytx_softmax_logit((int32_t)mid, rq) > TINYTX_LOGIT_MIN) {
			live = mid;
		} else {
			dead = mid;
		}
	}
	return (int32_t)live;
}

/* i-exp of a live logit x in (TINYTX_LOGIT_MIN, 0]: z <= 30, no clamp needed. */
static inline uint32_t live_i_exp(int32_t x)
{
	const uint32_t z = (uint32_t)(-x) / TINYTX_LN2_Q;
	const int32_t t = x + (int32_t)(z * TINYTX_LN2_Q) + TINYTX_EXP_B_Q;
	return ((uint32_t)(t * t) + TINYTX_EXP_C_Q) >> z;
}

/* Replaces scores by their i-exp values; returns the row sum. Logit via one SMULL. */
static uint32_t exp_row_shifted(int32_t *row, int32_t n, int32_t max, int32_t threshold,
				int32_t up, int32_t multiplier)
{
	uint32_t sum = 0;
	for (int32_t j = 0; j < n; j++) {
		const int32_t diff = row[j] - max;
		uint32_t e = 0;
		if (diff >= threshold) {
			const int64_t p = (int64_t)(diff * (1 << up)) * multiplier;
			e = live_i_exp(((int32_t)(p >> 32) + 1) >> 1);
		}
		row[j] = (int32_t)e;
		sum += e;
	}
	return sum;
}

/* Same with the full 64-bit logit (multipliers too small for the shifted form). */
static uint32_t exp_row_generic(int32_t *row, int32_t n, int32_t max, int32_t threshold,
				tinytx_requant rq)
{
	uint32_t sum = 0;
	for (int32_t j = 0; j < n; j++) {
		const int32_t diff = row[j] - max;
		uint32_t e = 0;
		if (diff >= threshold) {
			e = live_i_exp((int32_t)tinytx_scale_round(diff, rq));
		}
		row[j] = (int32_t)e;
		sum += e;
	}
	return sum;
}

int32_t tinytx_qk_softmax_s8_get_buffer_size(const tinytx_attention_dims *dims)
{
	return tinytx_qk_softmax_scratch(dims);
}

tinytx_status tinytx_qk_softmax_s8(const tinytx_attention_dims *dims, tinytx_requant softmax,
				   const int8_t *q, const int8_t *k, uint8_t *probs, void *scratch)
{
	tinytx_status st = tinytx_check_qk_softmax_call(dims, softmax, q, k, probs, scratch);
	if (st != TINYTX_OK) {
		return st;
	}
	const int32_t sq = dims->q_rows, skv = dims->kv_rows, p_dim = dims->head_dim;
	int32_t *row = (int32_t *)scratch;

	const int32_t threshold = live_threshold(softmax);
	/* diff * 2^up stays in int32 over the live range: use the one-SMULL logit */
	int32_t up = -1;
	if (softmax.shift <= 33 && ((int64_t)-(int64_t)threshold << (33 - softmax.shift)) <= INT32_MAX) {
		up = 33 - softmax.shift;
	}

	for (int32_t h = 0; h < dims->heads; h++) {
		const int8_t *kh = k + (dims->k_heads == 1 ? 0 : (size_t)h * skv * p_dim);
		for (int32_t i = 0; i < sq; i++) {
			const int8_t *qi = q + ((size_t)h * sq + i) * p_dim;
			int32_t j = 0;
			for (; j + 2 <= skv; j += 2) {
				const int8_t *k0 = kh + (size_t)j * p_dim;
				int32_t c[2] = {0, 0};
				tt_dot_1x2(qi, k0, k0 + p_dim, p_dim, 0, c);
				row[j] = c[0];
				row[j + 1] = c[1];
			}
			if (j < skv) {
				row[j] = tt_dot_1x1(qi, kh + (size_t)j * p_dim, p_dim, 0, 0);
			}
			int32_t max = row[0];
			for (j = 1; j < skv; j++) {
				max = row[j] > max ? row[j] : max;
			}
			const uint32_t sum = up >= 0 ? exp_row_shifted(row, skv, max, threshold, up,
								       softmax.multiplier)
						     : exp_row_generic(row, skv, max, threshold, softmax);
			uint8_t *out = probs + ((size_t)h * sq + i) * skv;
			const uint32_t half = sum / 2u;
			for (j = 0; j < skv; j++) {
				const uint32_t p = ((uint32_t)row[j] * 256u + half) / sum;
				out[j] = (uint8_t)__usat((int32_t)p, 8);
			}
		}
	}
	return TINYTX_OK;
}
