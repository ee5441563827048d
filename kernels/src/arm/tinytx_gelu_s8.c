/*
 * Cortex-M integer GELU (formula in tinytx/core/golden/gelu.py). The output depends on
 * the int8 input value only, so for 256 elements or more the kernel first
 * evaluates all 256 inputs into a table (256 bytes on the stack) and then maps
 * four elements per word: UXTB with rotation as the index, one LDRB each.
 * Shorter inputs are computed element by element. Input and output may alias.
 */
#include "tinytx_arm_common.h"
#include "tinytx/kernels.h"
#include "../tinytx_check.h"

#define GELU_TABLE_MIN 256 /* elements from which the table pays off */

static inline int32_t gelu_one(int32_t x, int32_t clip, int32_t one, const tt_rq *rq)
{
	const int32_t ax = x < 0 ? -x : x;
	const int32_t c = (ax < clip ? ax : clip) - clip;
	const int32_t mag = one - c * c;
	const int32_t erf = x < 0 ? -mag : mag; /* x = 0: the product is 0 either way */
	return tt_rq_apply(x * (erf + one), rq);
}

tinytx_status tinytx_gelu_s8(int32_t size, const tinytx_gelu_params *params, const int8_t *input,
			     int8_t *output)
{
	tinytx_status st = tinytx_check_gelu_call(size, params, input, output);
	if (st != TINYTX_OK) {
		return st;
	}
	const int32_t clip = params->q_clip, one = params->q_one, zin = params->input_zero_point;
	const tt_rq rq = tt_rq_plan(params->requant);
	if (size < GELU_TABLE_MIN) {
		for (int32_t i = 0; i < size; i++) {
			output[i] = (int8_t)gelu_one(input[i] - zin, clip, one, &rq);
		}
		return TINYTX_OK;
	}
	uint8_t table[256]; /* indexed by the input byte */
	if (zin == 0) { /* the symmetric table: x known to be int8 */
		for (int32_t x = -128; x < 128; x++) {
			table[(uint8_t)x] = (uint8_t)gelu_one(x, clip, one, &rq);
		}
	} else {
		for (int32_t x = -128; x < 128; x++) {
			table[(uint8_t)x] = (uint8_t)gelu_one(x - zin, clip, one, &rq);
		}
	}
	int32_t i = 0;
	for (; i + 4 <= size; i += 4) {
		const uint32_t w = tt_read_u32(input + i);
		const uint32_t r = (uint32_t)table[w & 0xffu] | ((uint32_t)table[(w >> 8) & 0xffu] << 8) |
				   ((uint32_t)table[(w >> 16) & 0xffu] << 16) |
				   ((uint32_t)table[w >> 24] << 24);
		memcpy(output + i, &r, sizeof(r));
	}
	for (; i < size; i++) {
		output[i] = (int8_t)table[(uint8_t)input[i]];
	}
	return TINYTX_OK;
}
