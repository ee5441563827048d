/* Reference integer LayerNorm (formula in tinytx/core/golden/layernorm.py). */
#include "tinytx/kernels.h"
#include "tinytx/requant.h"
#include "../tinytx_check.h"

tinytx_status tinytx_layernorm_s8(const tinytx_layernorm_dims *dims,
				  const tinytx_layernorm_params *params, const int8_t *input,
				  const int8_t *gamma, const int32_t *beta, int8_t *output)
{
	tinytx_status st = tinytx_check_layernorm_call(dims, params, input, gamma, beta, output);
	if (st != TINYTX_OK) {
		return st;
	}
	const int32_t e = dims->features;
	for (int32_t r = 0; r < dims->rows; r++) {
		const int8_t *x = input + (size_t)r * e;
		int8_t *y = output + (size_t)r * e;
		int32_t sum = 0, sq = 0;
		for (int32_t i = 0; i < e; i++) {
			sum += x[i];
			sq += x[i] * x[i];
		}
		const tinytx_requant norm = tinytx_layernorm_row_norm(e, sum, sq, params->eps_q16);
		for (int32_t i = 0; i < e; i++) {
			const int32_t acc = tinytx_layernorm_acc(e * x[i] - sum, norm, gamma[i], beta[i]);
			y[i] = tinytx_requantize_s8(acc, params->requant, -128, 127);
		}
	}
	return TINYTX_OK;
}
