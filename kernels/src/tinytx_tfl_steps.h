/*
 * TFLite's int8 reference steps (on the primitives of tinytx_tfl_math.h) and the argument
 * checks of tinytx_layernorm_steps_s8, shared by its variants (internal header; formula in
 * tinytx/core/golden/layernorm_steps.py).
 */
#ifndef TINYTX_TFL_STEPS_H
#define TINYTX_TFL_STEPS_H

#include <stdint.h>

#include "tinytx/kernels.h"
#include "tinytx/types.h"
#include "tinytx_tfl_math.h"

static inline int32_t tinytx_tfl_mul(int32_t a, int32_t b, const tinytx_tfl_mul_params *p)
{
	return tinytx_tfl_requant((a - p->zero_point_a) * (b - p->zero_point_b), p);
}

static inline int32_t tinytx_tfl_add(int32_t a, int32_t b, const tinytx_tfl_add_params *p)
{
	const int32_t sa =
		tinytx_tfl_mbqm((a - p->zero_point_a) * (1 << 20), p->multiplier_a, p->shift_a);
	const int32_t sb =
		tinytx_tfl_mbqm((b - p->zero_point_b) * (1 << 20), p->multiplier_b, p->shift_b);
	return tinytx_tfl_clamp8(p->zero_point + tinytx_tfl_mbqm(sa + sb, p->multiplier, p->shift));
}

static inline int32_t tinytx_tfl_squared_difference(int32_t a, int32_t b,
						    const tinytx_tfl_add_params *p)
{
	const int32_t sa =
		tinytx_tfl_mbqm((a - p->zero_point_a) * (1 << 7), p->multiplier_a, p->shift_a);
	const int32_t sb =
		tinytx_tfl_mbqm((b - p->zero_point_b) * (1 << 7), p->multiplier_b, p->shift_b);
	const int32_t d = sa - sb;
	return tinytx_tfl_clamp8(p->zero_point + tinytx_tfl_mbqm(d * d, p->multiplier, p->shift));
}

static inline int32_t tinytx_tfl_mean(int32_t total, const tinytx_tfl_mean_params *p)
{
	return tinytx_tfl_clamp8(p->zero_point + tinytx_tfl_mbqm(total, p->multiplier, p->shift));
}

static inline int tinytx_tfl_mean_ok(const tinytx_tfl_mean_params *p, int32_t top)
{
	return tinytx_tfl_factor_ok(p->multiplier, p->shift, top) &&
	       tinytx_tfl_zp_ok(p->zero_point_in) && tinytx_tfl_zp_ok(p->zero_point);
}

static inline int tinytx_tfl_mul_ok(const tinytx_tfl_mul_params *p)
{
	return tinytx_tfl_factor_ok(p->multiplier, p->shift, 14) &&
	       tinytx_tfl_zp_ok(p->zero_point_a) && tinytx_tfl_zp_ok(p->zero_point_b) &&
	       tinytx_tfl_zp_ok(p->zero_point);
}

static inline int tinytx_tfl_add_ok(const tinytx_tfl_add_params *p)
{
	return tinytx_tfl_factor_ok(p->multiplier_a, p->shift_a, 0) &&
	       tinytx_tfl_factor_ok(p->multiplier_b, p->shift_b, 0) &&
	       tinytx_tfl_factor_ok(p->multiplier, p->shift, 0) &&
	       tinytx_tfl_zp_ok(p->zero_point_a) && tinytx_tfl_zp_ok(p->zero_point_b) &&
	       tinytx_tfl_zp_ok(p->zero_point);
}

/* The largest left shift of a row sum (up to 255 * e). */
static inline int32_t tinytx_tfl_mean_shift_max(int32_t e)
{
	return tinytx_tfl_shift_max(255u * (uint32_t)e);
}

/* The steps after a row's statistics (rs: the table's output, nm: the negated mean):
 * every element through the three MULs and two ADDs. */
static inline void tinytx_tfl_layernorm_row_out(const int8_t *x, const int8_t *gamma,
						const int8_t *beta, int32_t e, int32_t rs,
						int32_t nm,
						const tinytx_layernorm_steps_params *p, int8_t *y)
{
	for (int32_t i = 0; i < e; i++) {
		const int32_t g = tinytx_tfl_mul(rs, gamma[i], &p->gamma);
		const int32_t xg = tinytx_tfl_mul(x[i], g, &p->x_gamma);
		const int32_t mg = tinytx_tfl_mul(nm, g, &p->mean_gamma);
		const int32_t bm = tinytx_tfl_add(mg, beta[i], &p->beta);
		y[i] = (int8_t)tinytx_tfl_add(xg, bm, &p->out);
	}
}

/* The argument checks of tinytx_layernorm_steps_s8 (every variant). */
static inline tinytx_status tinytx_layernorm_steps_check(const tinytx_layernorm_dims *dims,
							 const tinytx_layernorm_steps_params *p,
							 const int8_t *input, const int8_t *gamma,
							 const int8_t *beta, const int8_t *table,
							 const int8_t *output)
{
	if (dims == NULL || p == NULL || input == NULL || gamma == NULL || beta == NULL ||
	    table == NULL || output == NULL) {
		return TINYTX_ERR_NULL;
	}
	const int32_t e = dims->features;
	if (dims->rows < 1 || e < 1 || e > TINYTX_LAYERNORM_MAX_FEATURES ||
	    (int64_t)dims->rows * e > INT32_MAX) {
		return TINYTX_ERR_DIMS;
	}
	const int32_t top = tinytx_tfl_mean_shift_max(e);
	if (!tinytx_tfl_mean_ok(&p->mean, top) || !tinytx_tfl_mean_ok(&p->var, top) ||
	    !tinytx_tfl_zp_ok(p->neg_zero_point) || !tinytx_tfl_add_ok(&p->squared_difference) ||
	    !tinytx_tfl_mul_ok(&p->gamma) || !tinytx_tfl_mul_ok(&p->x_gamma) ||
	    !tinytx_tfl_mul_ok(&p->mean_gamma) || !tinytx_tfl_add_ok(&p->beta) ||
	    !tinytx_tfl_add_ok(&p->out)) {
		return TINYTX_ERR_PARAM;
	}
	return TINYTX_OK;
}

#endif /* TINYTX_TFL_STEPS_H */
