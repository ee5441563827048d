/*
 * TFLite's decomposed LayerNorm in TFLite's int8 arithmetic (formula in
 * tinytx/core/golden/layernorm_steps.py). Three passes over each row: the mean, the
 * variance of the squared differences, then every element through MUL, ADD steps.
 */
#include "tinytx/kernels.h"
#include "../tinytx_tfl_math.h"

#define mbqm tinytx_tfl_mbqm
#define clamp8 tinytx_tfl_clamp8
#define zp_ok tinytx_tfl_zp_ok
#define factor_ok tinytx_tfl_factor_ok

static int32_t tfl_mul(int32_t a, int32_t b, const tinytx_tfl_mul_params *p)
{
	return tinytx_tfl_requant((a - p->zero_point_a) * (b - p->zero_point_b), p);
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
	return tinytx_tfl_shift_max(255u * (uint32_t)e);
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
