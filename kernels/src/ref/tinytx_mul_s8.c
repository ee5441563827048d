/* Reference requantized element-wise product: TFLite's integer MUL (tinytx/core/golden/mul.py). */
#include "tinytx/kernels.h"
#include "tinytx/requant.h"
#include "../tinytx_check.h"

/* gemmlowp SaturatingRoundingDoublingHighMul (no saturation case: x != INT32_MIN here). */
static inline int32_t tinytx_mul_high(int32_t x, int32_t m)
{
	const int64_t ab = (int64_t)x * m;
	const int64_t nudge = ab >= 0 ? (1LL << 30) : (1 - (1LL << 30));
	return (int32_t)((ab + nudge) / (1LL << 31)); /* C division truncates toward zero */
}

/* gemmlowp RoundingDivideByPOT: x / 2^e rounded half away from zero. */
static inline int32_t tinytx_mul_div_pot(int32_t x, int32_t e)
{
	const int32_t mask = (int32_t)((1LL << e) - 1);
	const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
	return (x >> e) + ((x & mask) > threshold ? 1 : 0);
}

tinytx_status tinytx_mul_s8(int32_t size, const tinytx_mul_params *params, const int8_t *input_a,
			    const int8_t *input_b, int8_t *output)
{
	if (params == NULL || input_a == NULL || input_b == NULL || output == NULL) {
		return TINYTX_ERR_NULL;
	}
	if (size < 1) {
		return TINYTX_ERR_DIMS;
	}
	if (params->multiplier < (1L << 30) || params->shift < -31 ||
	    params->shift > TINYTX_MUL_LEFT_SHIFT_MAX || !tinytx_activation_valid(params->act) ||
	    params->zero_point < -128 || params->zero_point > 127 || params->a_zero_point < -128 ||
	    params->a_zero_point > 127 || params->b_zero_point < -128 || params->b_zero_point > 127) {
		return TINYTX_ERR_PARAM;
	}
	const int32_t za = params->a_zero_point, zb = params->b_zero_point;
	const int32_t left = params->shift > 0 ? params->shift : 0;
	const int32_t right = params->shift < 0 ? -params->shift : 0;
	for (int32_t i = 0; i < size; i++) {
		/* |product| <= 2^16, shifted left by at most 14: inside int32 */
		const int32_t acc = ((input_a[i] - za) * (input_b[i] - zb)) * (1 << left);
		int32_t y = tinytx_mul_high(acc, params->multiplier);
		y = right > 0 ? tinytx_mul_div_pot(y, right) : y;
		y += params->zero_point;
		y = y < params->act.min ? params->act.min : y;
		y = y > params->act.max ? params->act.max : y;
		output[i] = (int8_t)y;
	}
	return TINYTX_OK;
}
