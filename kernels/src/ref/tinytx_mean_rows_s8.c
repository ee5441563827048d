/* Reference mean over the rows of [S][E] (ReduceMean over tokens, global average pool). */
#include "tinytx/kernels.h"
#include "tinytx/requant.h"

tinytx_status tinytx_mean_rows_s8(const tinytx_mean_rows_dims *dims,
				  const tinytx_mean_rows_params *params, const int8_t *input,
				  int8_t *output)
{
	if (dims == NULL || params == NULL || input == NULL || output == NULL) {
		return TINYTX_ERR_NULL;
	}
	const int32_t rows = dims->rows, e = dims->features;
	if (rows < 1 || e < 1 || rows > TINYTX_MAX_REDUCTION || (int64_t)rows * e > INT32_MAX) {
		return TINYTX_ERR_DIMS;
	}
	if (!tinytx_requant_valid(params->requant) || !tinytx_activation_valid(params->act) ||
	    params->input_zero_point < -128 || params->input_zero_point > 127) {
		return TINYTX_ERR_PARAM;
	}
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
