/*
 * Self-attention's scores, scalar MUL, softmax and A*V in TFLite's int8 arithmetic
 * (formulas in tinytx/core/golden/attention_steps.py; the softmax's exponential of a
 * score difference is the caller's table). No scratch: each head and query row takes
 * three passes over the keys (row maximum, sum of the exponentials, then the A*V
 * accumulation, CHUNK output values at a time); a row of up to ROW_CACHE tokens keeps
 * its scores on the stack from the first pass, a longer one computes them again.
 */
#include "tinytx/kernels.h"
#include "../tinytx_tfl_math.h"

#define srdhm tinytx_tfl_srdhm
#define rdbpot tinytx_tfl_rdbpot
#define requant tinytx_tfl_requant

#define CHUNK 16	  /* A*V accumulators per pass (on the stack) */
#define ROW_CACHE 128 /* a row's scores kept on the stack up to this many tokens */
#define ACCUMULATION_BITS 12

/* TFLite's GetReciprocal of a positive Q12.19 sum: 1 / total as Q0.31. */
static int32_t reciprocal(int32_t total, int32_t *bits_over_unit)
{
	const uint32_t t = (uint32_t)total;
	int32_t headroom_plus_one = 0;
	while (((t << headroom_plus_one) & 0x80000000u) == 0) {
		headroom_plus_one++;
	}
	*bits_over_unit = ACCUMULATION_BITS - headroom_plus_one;
	const int32_t a = (int32_t)((t << headroom_plus_one) - 0x80000000u);
	const int32_t half_denominator = (int32_t)(((int64_t)a + INT32_MAX + 1) / 2);
	int32_t x = 1515870810 + srdhm(half_denominator, -1010580540); /* 48/17 - 32/17 d */
	for (int32_t n = 0; n < 3; n++) {
		const int32_t one_minus = (1 << 29) - srdhm(half_denominator, x);
		x = x + tinytx_tfl_saturating_shl(srdhm(x, one_minus), 2);
	}
	return tinytx_tfl_saturating_shl(x, 1);
}

/* t = MUL(BATCH_MATMUL(q_i, k_j)) for one head. */
static int32_t score(const int8_t *qi, const int8_t *kj, int32_t hd,
		     const tinytx_attention_steps_params *p)
{
	int32_t acc = 0;
	for (int32_t c = 0; c < hd; c++) {
		acc += (qi[c] - p->scores.zero_point_a) * (kj[c] - p->scores.zero_point_b);
	}
	const int32_t s = requant(acc, &p->scores);
	return requant((s - p->scale.zero_point_a) * (p->scale_code - p->scale.zero_point_b),
		       &p->scale);
}

/* Score j of the row: from the row's cache, or computed again (row NULL). */
static int32_t score_at(const int8_t *row, int32_t j, const int8_t *qi, const int8_t *kh,
			int32_t n, int32_t hd, const tinytx_attention_steps_params *p)
{
	return row != NULL ? row[j] : score(qi, kh + (size_t)j * n, hd, p);
}

static int mul_ok(const tinytx_tfl_mul_params *p, int32_t top)
{
	return tinytx_tfl_factor_ok(p->multiplier, p->shift, top) &&
	       tinytx_tfl_zp_ok(p->zero_point_a) && tinytx_tfl_zp_ok(p->zero_point_b) &&
	       tinytx_tfl_zp_ok(p->zero_point);
}

static int params_ok(const tinytx_attention_steps_params *p, int32_t s, int32_t hd)
{
	const int32_t radius = (int32_t)((31u << 26) >> (p->softmax.left_shift & 31));
	return mul_ok(&p->scores, tinytx_tfl_shift_max(65025u * (uint32_t)hd)) &&
	       mul_ok(&p->scale, tinytx_tfl_shift_max(65025u)) &&
	       mul_ok(&p->av, tinytx_tfl_shift_max(65025u * (uint32_t)s)) &&
	       tinytx_tfl_zp_ok(p->scale_code) && p->scale.zero_point_a == p->scores.zero_point &&
	       p->av.zero_point_a == -128 && p->softmax.multiplier >= 0 &&
	       p->softmax.left_shift >= 0 && p->softmax.left_shift <= 30 &&
	       p->softmax.diff_min <= 0 && p->softmax.diff_min >= -radius;
}

tinytx_status tinytx_attention_steps_s8(const tinytx_attention_steps_dims *dims,
					const tinytx_attention_steps_params *params, const int8_t *q,
					const int8_t *k, const int8_t *v, const int32_t *exp_table,
					int8_t *output)
{
	if (dims == NULL || params == NULL || q == NULL || k == NULL || v == NULL ||
	    exp_table == NULL || output == NULL) {
		return TINYTX_ERR_NULL;
	}
	const int32_t s = dims->seq_len, h = dims->heads, hd = dims->head_dim;
	if (s < 1 || s > TINYTX_ATTENTION_STEPS_MAX_SEQ || h < 1 || hd < 1 ||
	    hd > TINYTX_MAX_REDUCTION / 2 || (int64_t)h * hd * s > INT32_MAX) {
		return TINYTX_ERR_DIMS;
	}
	const tinytx_attention_steps_params *p = params;
	if (!params_ok(p, s, hd) || exp_table[0] <= 0) {
		return TINYTX_ERR_PARAM;
	}
	for (int32_t i = 1; i < 256; i++) {
		if (exp_table[i] < 0) { /* a row's sum stays positive, below 2^28 */
			return TINYTX_ERR_PARAM;
		}
	}
	const int32_t n = h * hd;
	int8_t cache[ROW_CACHE];
	int8_t *row = s <= ROW_CACHE ? cache : NULL;
	for (int32_t head = 0; head < h; head++) {
		const int8_t *kh = k + (size_t)head * hd;
		for (int32_t i = 0; i < s; i++) {
			const int8_t *qi = q + (size_t)i * n + (size_t)head * hd;
			int32_t top = -128;
			for (int32_t j = 0; j < s; j++) {
				const int32_t t = score(qi, kh + (size_t)j * n, hd, p);
				if (row != NULL) {
					row[j] = (int8_t)t;
				}
				top = t > top ? t : top;
			}
			int32_t total = 0;
			for (int32_t j = 0; j < s; j++) {
				const int32_t d = top - score_at(row, j, qi, kh, n, hd, p);
				total += rdbpot(exp_table[d], ACCUMULATION_BITS);
			}
			int32_t bits = 0;
			const int32_t r = reciprocal(total, &bits);
			const int32_t e = bits + 31 - 8;
			for (int32_t p0 = 0; p0 < hd; p0 += CHUNK) {
				const int32_t count = hd - p0 < CHUNK ? hd - p0 : CHUNK;
				int32_t acc[CHUNK] = {0};
				for (int32_t j = 0; j < s; j++) {
					const int32_t d = top - score_at(row, j, qi, kh, n, hd, p);
					const int32_t w = tinytx_tfl_clamp8(
								  rdbpot(srdhm(r, exp_table[d]), e) - 128) +
							  128;
					if (w == 0) {
						continue;
					}
					const int8_t *vj = v + (size_t)j * n + (size_t)head * hd + p0;
					for (int32_t c = 0; c < count; c++) {
						acc[c] += w * (vj[c] - p->av.zero_point_b);
					}
				}
				int8_t *o = output + (size_t)i * n + (size_t)head * hd + p0;
				for (int32_t c = 0; c < count; c++) {
					o[c] = (int8_t)requant(acc[c], &p->av);
				}
			}
		}
	}
	return TINYTX_OK;
}
