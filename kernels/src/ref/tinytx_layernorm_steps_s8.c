/*
 * TFLite's decomposed LayerNorm in TFLite's int8 arithmetic (formula in
 * tinytx/core/golden/layernorm_steps.py). Three passes over each row: the mean, the
 * variance of the squared differences, then every element through MUL, ADD steps.
 */
#include "tinytx/kernels.h"

/* gemmlowp's SaturatingRoundingDoublingHighMul. */
static int32_t srdhm(int32_t a, int32_t b)
{
	if (a == INT32_MIN && b == INT32_MIN) {
		return INT32_MAX;
	}
	const int64_t ab = (int64_t)a * b;
	const int64_t nudge = ab >= 0 ? (int64_t)1 << 30 : 1 - ((int64_t)1 << 30);
	return (int32_t)((ab + nudge) / ((int64_t)1 << 31)); /* C division: towards zero */
}

/* gemmlowp's RoundingDivideByPOT: x / 2^e rounded half away from zero, e 0..31. */
static int32_t rdbpot(int32_t x, int32_t e)
{
	const int32_t mask = (int32_t)(((uint32_t)1 << e) - 1u);
	const int32_t remainder = x & mask;
	const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
	return (x >> e) + (remainder > threshold ? 1 : 0);
}

/* TFLite's MultiplyByQuantizedMultiplier; the caller keeps x * 2^shift within int32. */
static int32_t mbqm(int32_t x, int32_t multiplier, int32_t shift)
{
	const int32_t left = shift > 0 ? shift : 0;
	const int32_t right = shift > 0 ? 0 : -shift;
	return rdbpot(srdhm((int32_t)((uint32_t)x << left), multiplier), right);
}

static int32_t clamp8(int32_t v)
{
	return v < -128 ? -128 : (v > 127 ? 127 : v);
}

static int32_t tfl_mul(int32_t a, int32_t b, const tinytx_tfl_mul_params *p)
{
	const int32_t prod = (a - p->zero_point_a) * (b - p->zero_point_b);
	return clamp8(p->zero_point + mbqm(prod, p->multiplier, p->shift));
}

static int32_t tfl_add(int32_t a, int32_t b, const tinytx_tfl_add_params *p)
{
	const int32_t sa = mbqm((a - p->zero_point_a) * (1 << 20), p->multiplier_a, p->shift_a);
	const int32_t sb = mbqm((b - p->zero_point_b) * (1 << 20), p->multiplier_b, p->shift_b);
	return clamp8(p->zero_point + mbqm(sa + sb, p->multiplier, p->shift));
}

static int32_t tfl_squared_difference(int32_t a, int32_t b, const tinytx_tfl_add_params *p)
{
	const int32_t sa = mbqm((a - p->zero_point_a) * (1 << 7), p->multiplier_a, p->shift_a);
	const int32_t sb = mbqm((b - p->zero_point_b) * (1 << 7), p->multiplier_b, p->shift_b);
	const int32_t d = sa - sb;
	return clamp8(p->zero_point + mbqm(d * d, p->multiplier, p->shift));
}

static int32_t tfl_mean(int32_t total, const tinytx_tfl_mean_params *p)
{
	return clamp8(p->zero_point + mbqm(total, p->multiplier, p->shift));
}

static int zp_ok(int32_t z)
{
	return z >= -128 && z <= 127;
}

static int factor_ok(int32_t m, int32_t s, int32_t top)
{
	return m >= 0 && s >= -31 && s <= top;
}

static int mean_ok(const tinytx_tfl_mean_params *p, int32_t top)
{
	return factor_ok(p->multiplier, p->shift, top) && zp_ok(p->zero_point_in) &&
	       zp_ok(p->zero_point);
}

static int mul_ok(const tinytx_tfl_mul_params *p)
{
	return factor_ok(p->multiplier, p->shift, 14) && zp_ok(p->zero_point_a) &&
	       zp_ok(p->zero_point_b) && zp_ok(p->zero_point);
}

static int add_ok(const tinytx_tfl_add_params *p)
{
	return factor_ok(p->multiplier_a, p->shift_a, 0) &&
	       factor_ok(p->multiplier_b, p->shift_b, 0) && factor_ok(p->multiplier, p->shift, 0) &&
	       zp_ok(p->zero_point_a) && zp_ok(p->zero_point_b) && zp_ok(p->zero_point);
}

/* 31 - bit length of 255 * e: the largest left shift of a row sum. */
static int32_t mean_shift_max(int32_t e)
{
	uint32_t v = 255u * (uint32_t)e;
	int32_t bits = 0;
	while (v != 0) {
		bits++;
		v >>= 1;
	}
	return 31 - bits;
}

tinytx_status tinytx_layernorm_steps_s8(const tinytx_layernorm_dims *dims,
					const tinytx_layernorm_steps_params *params,
					const int8_t *input, const int8_t *gamma, const int8_t *beta,
					const int8_t *table, int8_t *output)
{
	if (dims == NULL || params == NULL || input == NULL || gamma == NULL || beta == NULL ||
	    table == NULL || output == NULL) {
		return TINYTX_ERR_NULL;
	}
	const int32_t e = dims->features;
	if (dims->rows < 1 || e < 1 || e > TINYTX_LAYERNORM_MAX_FEATURES ||
	    (int64_t)dims->rows * e > INT32_MAX) {
		return TINYTX_ERR_DIMS;
	}
	const tinytx_layernorm_steps_params *p = params;
	const int32_t top = mean_shift_max(e);
	if (!mean_ok(&p->mean, top) || !mean_ok(&p->var, top) || !zp_ok(p->neg_zero_point) ||
	    !add_ok(&p->squared_difference) || !mul_ok(&p->gamma) || !mul_ok(&p->x_gamma) ||
	    !mul_ok(&p->mean_gamma) || !add_ok(&p->beta) || !add_ok(&p->out)) {
		return TINYTX_ERR_PARAM;
	}
	for (int32_t r = 0; r < dims->rows; r++) {
		const int8_t *x = input + (size_t)r * e;
		int8_t *y = output + (size_t)r * e;
		int32_t total = 0;
		for (int32_t i = 0; i < e; i++) {
			total += x[i] - p->mean.zero_point_in;
		}
		const int32_t m = tfl_mean(total, &p->mean);
		const int32_t nm = clamp8(p->neg_zero_point - (m - p->mean.zero_point));
		int32_t var_total = 0;
		for (int32_t i = 0; i < e; i++) {
			const int32_t d = tfl_squared_difference(x[i], m, &p->squared_difference);
			var_total += d - p->var.zero_point_in;
		}
		const int32_t v = tfl_mean(var_total, &p->var);
		const int32_t rs = table[(uint8_t)(int8_t)v];
		for (int32_t i = 0; i < e; i++) {
			const int32_t g = tfl_mul(rs, gamma[i], &p->gamma);
			const int32_t xg = tfl_mul(x[i], g, &p->x_gamma);
			const int32_t mg = tfl_mul(nm, g, &p->mean_gamma);
			const int32_t bm = tfl_add(mg, beta[i], &p->beta);
			y[i] = (int8_t)tfl_add(xg, bm, &p->out);
		}
	}
	return TINYTX_OK;
}
