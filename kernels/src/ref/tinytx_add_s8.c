/* Reference requantized element-wise add (residual connections). */
#include "tinytx/kernels.h"
#include "tinytx/requant.h"

#define ADD_MULTIPLIER_MAX (1L << 22)

tinytx_status tinytx_add_s8(int32_t size, const tinytx_add_params *params, const int8_t *input_a,
			    const int8_t *input_b, int8_t *output)
{
	if (params == NULL || input_a == NULL || input_b == NULL || output == NULL) {
		return TINYTX_ERR_NULL;
	}
	if (size < 1) {
		return TINYTX_ERR_DIMS;
	}
	if (params->m_a < 0 || params->m_a > ADD_MULTIPLIER_MAX || params->m_b < 0 ||
	    params->m_b > ADD_MULTIPLIER_MAX || params->shift < 1 || params->shift > 31 ||
	    !tinytx_activation_valid(params->act)) {
		return TINYTX_ERR_PARAM;
	}
	const int32_t round = (int32_t)(1UL << (params->shift - 1));
	for (int32_t i = 0; i < size; i++) {
		int32_t acc = input_a[i] * params->m_a + input_b[i] * params->m_b + round;
		acc >>= params->shift;
		acc = acc < params->act.min ? params->act.min : acc;
		acc = acc > params->act.max ? params->act.max : acc;
		output[i] = (int8_t)acc;
	}
	return TINYTX_OK;
}
