/* Reference requantized element-wise add (residual connections). */
#include "tinytx/kernels.h"
#include "tinytx/requant.h"
#include "../tinytx_check.h"

tinytx_status tinytx_add_s8(int32_t size, const tinytx_add_params *params, const int8_t *input_a,
			    const int8_t *input_b, int8_t *output)
{
	tinytx_status st = tinytx_check_add_call(size, params, input_a, input_b, output);
	if (st != TINYTX_OK) {
		return st;
	}
	/* the offset check (tinytx_check_add_call) keeps round + offset + the sum in int32 */
	const int32_t round = (int32_t)(1UL << (params->shift - 1)) + params->offset;
	for (int32_t i = 0; i < size; i++) {
		int32_t acc = input_a[i] * params->m_a + input_b[i] * params->m_b + round;
		acc = (acc >> params->shift) + params->zero_point;
		acc = acc < params->act.min ? params->act.min : acc;
		acc = acc > params->act.max ? params->act.max : acc;
		output[i] = (int8_t)acc;
	}
	return TINYTX_OK;
}
