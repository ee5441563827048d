/* Reference linear layer with the output layout fused into the store. */
#include "tinytx/kernels.h"
#include "tinytx/requant.h"
#include "../tinytx_check.h"

tinytx_status tinytx_linear_s8(const tinytx_linear_dims *dims, const tinytx_linear_params *params,
			       const int8_t *input, const int8_t *weights, const int32_t *bias,
			       int8_t *output)
{
	tinytx_status st = tinytx_check_linear_call(dims, params, input, weights, output);
	if (st != TINYTX_OK) {
		return st;
	}
	const int32_t rows = dims->rows;
	const int32_t k_dim = dims->in_features;
	const int32_t n_dim = dims->out_features;
	const int32_t head_dim = n_dim / dims->heads;

	for (int32_t s = 0; s < rows; s++) {
		const int8_t *x = input + (size_t)s * k_dim;
		for (int32_t n = 0; n < n_dim; n++) {
			const int8_t *w = weights + (size_t)n * k_dim;
			int32_t acc = bias != NULL ? bias[n] : 0;
			for (int32_t k = 0; k < k_dim; k++) {
				acc += (int32_t)x[k] * w[k];
			}
			size_t idx;
			switch (dims->layout) {
			case TINYTX_LAYOUT_HEAD_MAJOR:
				idx = ((size_t)(n / head_dim) * rows + s) * head_dim + n % head_dim;
				break;
			case TINYTX_LAYOUT_HEAD_MAJOR_T:
				idx = (size_t)n * rows + s; /* [H][P][S] == [N][S] */
				break;
			default:
				idx = (size_t)s * n_dim + n;
				break;
			}
			const tinytx_requant rq = tinytx_channel_requant(
				params->requant, params->multipliers, params->shifts, n);
			output[idx] = tinytx_requantize_s8(acc, rq, params->act.min, params->act.max);
		}
	}
	return TINYTX_OK;
}
