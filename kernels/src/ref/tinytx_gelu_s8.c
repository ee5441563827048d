/* Reference integer GELU (I-BERT i-GELU, formula in tinytx/core/golden/gelu.py). */
#include "tinytx/kernels.h"
#include "tinytx/requant.h"
#include "../tinytx_check.h"

tinytx_status tinytx_gelu_s8(int32_t size, const tinytx_gelu_params *params, const int8_t *input,
			     int8_t *output)
{
	tinytx_status st = tinytx_check_gelu_call(size, params, input, output);
	if (st != TINYTX_OK) {
		return st;
	}
	const int32_t clip = params->q_clip, one = params->q_one;
	for (int32_t i = 0; i < size; i++) {
		const int32_t x = input[i] - params->input_zero_point; /* |x| <= 255 */
		const int32_t ax = x < 0 ? -x : x;
		const int32_t c = (ax < clip ? ax : clip) - clip;
		const int32_t mag = one - c * c;
		const int32_t erf = x > 0 ? mag : (x < 0 ? -mag : 0);
		output[i] = tinytx_requantize_s8(x * (erf + one), params->requant, -128, 127);
	}
	return TINYTX_OK;
}
