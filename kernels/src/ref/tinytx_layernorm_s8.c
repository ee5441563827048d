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

/* floor(a / b) for b > 0. */
static int32_t floor_div(int32_t a, int32_t b)
{
	int32_t q = a / b;
	return (a % b != 0 && a < 0) ? q - 1 : q;
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
		int32_t sum = 0;
		for (int32_t i = 0; i < e; i++) {
			sum += x[i];
		}
		const int32_t mean = floor_div(sum + e / 2, e);
		int32_t ss = 0;
		for (int32_t i = 0; i < e; i++) {
			int32_t d = x[i] - mean;
			ss += d * d;
		}
		/* floor(ss * 2^16 / E) without a 64-bit division */
		uint64_t var = (uint64_t)(uint32_t)(ss / e) * 65536u +
			       ((uint32_t)(ss % e) * 65536u) / (uint32_t)e;
		var += (uint32_t)params->eps_q16;
		uint32_t std = isqrt_u32(var > UINT32_MAX ? UINT32_MAX : (uint32_t)var);
		if (std == 0) {
			std = 1;
		}
		const int64_t inv = INT32_MAX / (int32_t)std;
		for (int32_t i = 0; i < e; i++) {
			int64_t n = ((int64_t)(x[i] - mean) * inv + (1 << 15)) >> 16;
			int64_t acc = n * gamma[i] + beta[i];
			acc = acc < INT32_MIN ? INT32_MIN : (acc > INT32_MAX ? INT32_MAX : acc);
			y[i] = tinytx_requantize_s8((int32_t)acc, params->requant, -128, 127);
		}
	}
	return TINYTX_OK;
}
