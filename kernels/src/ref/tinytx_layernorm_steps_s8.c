/*
 * TFLite's decomposed LayerNorm in TFLite's int8 arithmetic (formula in
 * tinytx/core/golden/layernorm_steps.py). Three passes over each row: the mean, the
 * variance of the squared differences, then every element through MUL, ADD steps.
 */
#include "tinytx/kernels.h"
#include "../tinytx_tfl_steps.h"

tinytx_status tinytx_layernorm_steps_s8(const tinytx_layernorm_dims *dims,
					const tinytx_layernorm_steps_params *params,
					const int8_t *input, const int8_t *gamma, const int8_t *beta,
					const int8_t *table, int8_t *output)
{
	const tinytx_status status =
		tinytx_layernorm_steps_check(dims, params, input, gamma, beta, table, output);
	if (status != TINYTX_OK) {
		return status;
	}
	const tinytx_layernorm_steps_params *p = params;
	const int32_t e = dims->features;
	for (int32_t r = 0; r < dims->rows; r++) {
		const int8_t *x = input + (size_t)r * e;
		int8_t *y = output + (size_t)r * e;
		int32_t total = 0;
		for (int32_t i = 0; i < e; i++) {
			total += x[i] - p->mean.zero_point_in;
		}
		const int32_t m = tinytx_tfl_mean(total, &p->mean);
		const int32_t nm = tinytx_tfl_clamp8(p->neg_zero_point - (m - p->mean.zero_point));
		int32_t var_total = 0;
		for (int32_t i = 0; i < e; i++) {
			const int32_t d =
				tinytx_tfl_squared_difference(x[i], m, &p->squared_difference);
			var_total += d - p->var.zero_point_in;
		}
		const int32_t v = tinytx_tfl_mean(var_total, &p->var);
		const int32_t rs = table[(uint8_t)(int8_t)v];
		tinytx_tfl_layernorm_row_out(x, gamma, beta, e, rs, nm, p, y);
	}
	return TINYTX_OK;
}
