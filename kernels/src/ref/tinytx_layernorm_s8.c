/* Reference integer LayerNorm (formula in tinytx/golden/layernorm.py). */
#include "tinytx/kernels.h"
#include "tinytx/requant.h"

/* floor(sqrt(v)), bit by bit. */
static uint32_t isqrt_u32(uint32_t v)
{
	uint32_t res = 0;
	uint32_t bit = 1u << 30;
	while (bit > v) {
		bit >>= 2;
	}
	while (bit != 0) {
		if (v >= res + bit) {
			v -= res + bit;
			res = (res >> 1) + bit;
		} else {
			res >>= 1;
		}
		bit >>= 2;
	}
	return res;
}

/* (m, s) with m / 2^s ~ 2^15 / den and m in [2^30, 2^31); den >= 1. */
static tinytx_requant row_normalizer(uint32_t den)
{
	int32_t b = 31;
	while ((den >> b) == 0) {
		b--;
	}
	tinytx_requant rq;
	rq.multiplier = (int32_t)((((uint64_t)1 << (31 + b)) - 1) / den);
	rq.shift = 16 + b;
	return rq;
}

tinytx_status tinytx_layernorm_s8(const tinytx_layernorm_dims *dims,
				  const tinytx_layernorm_params *params, const int8_t *input,
				  const int8_t *gamma, const int32_t *beta, int8_t *output)
{
	if (dims == NULL || params == NULL || input == NULL || gamma == NULL || beta == NULL ||
	    output == NULL) {
		return TINYTX_ERR_NULL;
	}
	const int32_t e = dims->features;
	if (dims->rows < 1 || e < 1 || e > TINYTX_LAYERNORM_MAX_FEATURES ||
	    (int64_t)dims->rows * e > INT32_MAX) {
		return TINYTX_ERR_DIMS;
	}
	if (!tinytx_requant_valid(params->requant) || params->eps_q16 < 0) {
		return TINYTX_ERR_PARAM;
	}
	for (int32_t r = 0; r < dims->rows; r++) {
		const int8_t *x = input + (size_t)r * e;
		int8_t *y = output + (size_t)r * e;
		int32_t sum = 0, sq = 0;
		for (int32_t i = 0; i < e; i++) {
			sum += x[i];
			sq += x[i] * x[i];
		}
		/* E^2 * variance, exact; then the variance in Q16 (one 64-bit division per row) */
		const int64_t v = (int64_t)e * sq - (int64_t)sum * sum;
		uint64_t var = ((uint64_t)v << 16) / (uint64_t)((int64_t)e * e);
		var += (uint32_t)params->eps_q16;
		uint32_t std = isqrt_u32(var > UINT32_MAX ? UINT32_MAX : (uint32_t)var);
		if (std == 0) {
			std = 1;
		}
		const tinytx_requant norm = row_normalizer((uint32_t)e * std);
		for (int32_t i = 0; i < e; i++) {
			int64_t n = tinytx_scale_round(e * x[i] - sum, norm);
			int64_t acc = n * gamma[i] + beta[i];
			acc = acc < INT32_MIN ? INT32_MIN : (acc > INT32_MAX ? INT32_MAX : acc);
			y[i] = tinytx_requantize_s8((int32_t)acc, params->requant, -128, 127);
		}
	}
	return TINYTX_OK;
}
