/* Reference linear layer on sparse weights: tinytx_linear_s8 on the decoded matrix. */
#include "tinytx/kernels.h"
#include "tinytx/requant.h"
#include "../tinytx_sparse.h"

tinytx_status tinytx_linear_sparse_s8(const tinytx_linear_dims *dims,
				      const tinytx_linear_params *params, const int8_t *input,
				      const tinytx_sparse_weights *weights, const int32_t *bias,
				      int8_t *output, const tinytx_context *ctx)
{
	tinytx_status st = tinytx_check_linear_sparse_call(dims, params, input, weights, output, 1);
	if (st == TINYTX_OK) { /* the reference kernel needs none: ctx may be NULL */
		st = tinytx_check_scratch(ctx, tinytx_linear_sparse_s8_get_buffer_size(dims, 1));
	}
	if (st != TINYTX_OK) {
		return st;
	}
	const int32_t k_dim = dims->in_features;
	for (int32_t s = 0; s < dims->rows; s++) {
		const int8_t *x = input + (size_t)s * k_dim;
		for (int32_t n = 0; n < dims->out_features; n++) {
			const int32_t acc = (bias != NULL ? bias[n] : 0) +
					    tinytx_sparse_row_dot(weights, n, x);
			const tinytx_requant rq = tinytx_channel_requant(
				params->requant, params->multipliers, params->shifts, n);
			output[tinytx_linear_out_index(dims, s, n)] =
				tinytx_requantize_s8(acc, rq, params->act.min, params->act.max);
		}
	}
	return TINYTX_OK;
}
