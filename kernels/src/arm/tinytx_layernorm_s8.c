/*
 * Cortex-M DSP integer LayerNorm (formula in tinytx/core/golden/layernorm.py).
 * Row statistics with SMLAD on SXTB16-widened words (sum against [1, 1], squares
 * against themselves); per element one MLA, one SMMLA and one shift give the
 * normalized value exactly, QADD the int32 clamp of n * gamma + beta, and the
 * requantization runs as in the other kernels (tt_rq).
 *
 * n = (v * m + 2^(s-1)) >> s for v = E * x - sum, |v| < 2^20 (E <= 4096):
 *   s >= 33: (SMMLA(v, m, 2^(s-33))) >> (s - 32);
 *   23 <= s < 33: v * 2^(33-s) stays below 2^31, so (SMMLA(v', m, 1)) >> 1;
 *   s < 23 (rows with E * std < 128): the 64-bit formula.
 */
#include "tinytx_arm_common.h"
#include "tinytx/kernels.h"
#include "../tinytx_check.h"

static void row_stats(const int8_t *x, int32_t e, int32_t *sum_out, int32_t *sq_out)
{
	int32_t sum = 0, sq = 0, i = 0;
	for (; i + 4 <= e; i += 4) {
		const uint32_t w = tt_read_u32(x + i);
		const int32_t lo = (int32_t)__sxtb16(w), hi = tt_sxtb16_hi(w);
		sum = __smlad(lo, 0x00010001, sum);
		sum = __smlad(hi, 0x00010001, sum);
		sq = __smlad(lo, lo, sq);
		sq = __smlad(hi, hi, sq);
	}
	for (; i < e; i++) {
		sum += x[i];
		sq += x[i] * x[i];
	}
	*sum_out = sum;
	*sq_out = sq;
}

/* One row with the 32-bit normalizer (s >= 23); `fast`: output shift >= 33. */
static inline __attribute__((always_inline)) void
row_fast(const int8_t *x, int8_t *y, int32_t e, int32_t sum, tinytx_requant norm,
	 const int8_t *gamma, const int32_t *beta, const tt_rq *out, int fast)
{
	const int32_t up = norm.shift < 33 ? 33 - norm.shift : 0;
	const int32_t e_up = e * (1 << up), nsum_up = -sum * (1 << up);
	int32_t m = norm.multiplier;
	__asm__("" : "+r"(m)); /* in a register for the loop (GCC 12 reloaded it per element) */
	const int32_t round = norm.shift >= 33 ? (int32_t)1 << (norm.shift - 33) : 1;
	const int32_t right = norm.shift >= 33 ? norm.shift - 32 : 1;
	const int32_t mo = out->rq.multiplier, ro = out->round, so = out->right;
	for (int32_t i = 0; i < e; i++) {
		const int32_t n = tt_smmla(x[i] * e_up + nsum_up, m, round) >> right;
		const int32_t acc = __qadd(n * gamma[i], beta[i]);
		y[i] = (int8_t)(fast ? __ssat(tt_smmla(acc, mo, ro) >> so, 8) : tt_rq_apply(acc, out));
	}
}

/*
 * tinytx_layernorm_row_norm (tinytx_check.h) with three shortcuts, same result:
 * - the variance's division by E^2 is a shift when E is a power of two (e_log2 >= 0),
 *   one 64-bit division (a libgcc call) less per row;
 * - the multiplier's 64-bit division by tt_norm_multiplier;
 * - floor(sqrt) by Newton's iteration from above with UDIV (about five steps from a
 *   power of two >= the root) instead of one bit per step: from x >= floor(sqrt(v)),
 *   y = (x + v / x) / 2 stays >= floor(sqrt(v)) and decreases until y >= x, where
 *   x = floor(sqrt(v)); x + v / x < 2^17 throughout (checked against the bit-by-bit
 *   tinytx_isqrt_u32 for every v below 2^32).
 * Measured on ECG's rows of 16 (M4): 380 -> 167 instructions per row besides the
 * elements.
 */
static uint32_t tt_isqrt(uint32_t v)
{
	if (v == 0) {
		return 0;
	}
	const uint32_t bits = 32u - (uint32_t)__builtin_clz(v);
	uint32_t x = 1u << ((bits + 1u) >> 1); /* > sqrt(v) */
	for (;;) {
		const uint32_t y = (x + v / x) >> 1;
		if (y >= x) {
			return x;
		}
		x = y;
	}
}

/*
 * floor((2^(31+b) - 1) / den) for den in [2^b, 2^(b+1)) (the row multiplier, in
 * [2^30, 2^31)) without a 64-bit division: 2^31 - 1 for a power of two; otherwise
 * floor(2^62 / dn) with dn = den << (31 - b) in (2^31, 2^32), as two digits of 16
 * bits, each estimated with one UDIV by dn's top 16 bits (never below the digit, at
 * most 2 above for the first, 5 for the second) and corrected by UMULL products.
 * Checked against the 64-bit division for every den from 1 to 2^32 - 1.
 */
static uint32_t tt_norm_multiplier(uint32_t den, int32_t b)
{
	if ((den & (den - 1u)) == 0) {
		return 0x7fffffffu;
	}
	const uint32_t dn = den << (31 - b);
	const uint32_t d1 = dn >> 16;
	uint32_t q1 = (1u << 30) / d1; /* floor(2^46 / dn) + 0..2 */
	uint64_t p = (uint64_t)q1 * dn;
	while (p > ((uint64_t)1 << 46)) {
		q1--;
		p -= dn;
	}
	const uint32_t r = (uint32_t)(((uint64_t)1 << 46) - p); /* < dn */
	uint32_t q0 = r / d1; /* floor(r * 2^16 / dn) + 0..5, clamped below 2^16 */
	if (q0 > 0xffffu) {
		q0 = 0xffffu;
	}
	p = (uint64_t)q0 * dn;
	const uint64_t n2 = (uint64_t)r << 16;
	while (p > n2) {
		q0--;
		p -= dn;
	}
	return (q1 << 16) + q0;
}

static tinytx_requant tt_row_norm(int32_t e, int32_t e_log2, int32_t sum, int32_t sq,
				  int32_t eps_q16)
{
	const int64_t v = (int64_t)e * sq - (int64_t)sum * sum;
	uint64_t var = e_log2 >= 0 ? ((uint64_t)v << 16) >> (2 * e_log2)
				   : ((uint64_t)v << 16) / (uint64_t)((int64_t)e * e);
	var += (uint32_t)eps_q16;
	uint32_t std = tt_isqrt(var > UINT32_MAX ? UINT32_MAX : (uint32_t)var);
	if (std == 0) {
		std = 1;
	}
	const uint32_t den = (uint32_t)e * std;
	const int32_t b = 31 - __builtin_clz(den);
	tinytx_requant rq;
	rq.multiplier = (int32_t)tt_norm_multiplier(den, b);
	rq.shift = 16 + b;
	rq.zero_point = 0;
	return rq;
}

/* What the fast rows share, and the row normalizer (set per row). */
typedef struct {
	const int8_t *gamma;
	const int32_t *beta;
	const tt_rq *out;
	int32_t e;
	tinytx_requant norm;
} ln_rows;

/*
 * The fast row out of line, its arguments in registers: the loop needs 15 live values,
 * and inlined into the caller GCC 12 (-mcpu=cortex-m7) spilled three of them per
 * element instead of one.
 */
static __attribute__((noinline)) void row_fast_rq(const int8_t *x, int8_t *y, int32_t sum,
						  const ln_rows *c)
{
	row_fast(x, y, c->e, sum, c->norm, c->gamma, c->beta, c->out, 1);
}

tinytx_status tinytx_layernorm_s8(const tinytx_layernorm_dims *dims,
				  const tinytx_layernorm_params *params, const int8_t *input,
				  const int8_t *gamma, const int32_t *beta, int8_t *output)
{
	tinytx_status st = tinytx_check_layernorm_call(dims, params, input, gamma, beta, output);
	if (st != TINYTX_OK) {
		return st;
	}
	const int32_t e = dims->features;
	const tt_rq out = tt_rq_plan(params->requant);
	ln_rows rows = {gamma, beta, &out, e, {0, 0, 0}};
	const int32_t e_log2 = (e & (e - 1)) == 0 ? 31 - __builtin_clz((uint32_t)e) : -1;
	for (int32_t r = 0; r < dims->rows; r++) {
		const int8_t *x = input + (size_t)r * e;
		int8_t *y = output + (size_t)r * e;
		int32_t sum, sq;
		row_stats(x, e, &sum, &sq);
		const tinytx_requant norm = tt_row_norm(e, e_log2, sum, sq, params->eps_q16);
		if (norm.shift >= 23 && out.fast) {
			rows.norm = norm;
			row_fast_rq(x, y, sum, &rows);
		} else if (norm.shift >= 23) {
			row_fast(x, y, e, sum, norm, gamma, beta, &out, 0);
		} else {
			for (int32_t i = 0; i < e; i++) {
				const int32_t v = e * x[i] - sum;
				y[i] = (int8_t)tt_rq_apply(tinytx_layernorm_acc(v, norm, gamma[i], beta[i]),
							   &out);
			}
		}
	}
	return TINYTX_OK;
}
