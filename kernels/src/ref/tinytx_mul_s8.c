/* Reference requantized element-wise product (tinytx/core/golden/mul.py). */
#include "tinytx/kernels.h"
#include "tinytx/requant.h"
#include "../tinytx_check.h"

tinytx_status tinytx_mul_s8(int32_t size, const tinytx_mul_params *params, const int8_t *input_a,
			    const int8_t *input_b, int8_t *output)
{
	if (params == NULL || input_a == NULL || input_b == NULL || output == NULL) {
		return TINYTX_ERR_NULL;
	}
	if (size < 1) {
		return TINYTX_ERR_DIMS;
	}
	if (!tinytx_requant_valid(params->requant) || !tinytx_activation_valid(params->act) ||
	    params->a_zero_point < -128 || params->a_zero_point > 127 ||
	    params->b_zero_point < -128 || params->b_zero_point > 127) {
		return TINYTX_ERR_PARAM;
	}
	const int32_t za = params->a_zero_point, zb = params->b_zero_point;
	for (int32_t i = 0; i < size; i++) {
		const int32_t acc = (input_a[i] - za) * (input_b[i] - zb); /* |acc| <= 2^16 */
		output[i] = tinytx_requantize_s8(acc, params->requant, params->act.min,
						 params->act.max);
	}
	return TINYTX_OK;
}
