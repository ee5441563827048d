/* Reference mean over the rows of [S][E] (ReduceMean over tokens, global average pool). */
#include "tinytx/kernels.h"
#include "tinytx/requant.h"
#include "../tinytx_check.h"

tinytx_status tinytx_mean_rows_s8(const tinytx_mean_rows_dims *dims,
				  const tinytx_mean_rows_params *params, const int8_t *input,
				  int8_t *output)
{
	const tinytx_status st = tinytx_check_mean_rows_call(dims, params, input, output);
	if (st != TINYTX_OK) {
		return st;
	}
	const int32_t rows = dims->rows, e = dims->features;
	for (int32_t j = 0; j < e; j++) {
		int32_t sum = -rows * params->input_zero_point; /* |sum| <= 255 * 65535 */
		for (int32_t s = 0; s < rows; s++) {
			sum += input[(size_t)s * e + j];
		}
		output[j] = tinytx_requantize_s8(sum, params->requant, params->act.min,
						 params->act.max);
	}
	return TINYTX_OK;
}
