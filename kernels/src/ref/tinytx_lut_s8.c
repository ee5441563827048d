/* Reference table look-up: any int8 unary function (formula in tinytx/core/golden/lut.py). */
#include "tinytx/kernels.h"
#include "../tinytx_check.h"

tinytx_status tinytx_lut_s8(int32_t size, const int8_t *table, const int8_t *input,
			    int8_t *output)
{
	tinytx_status st = tinytx_check_lut_call(size, table, input, output);
	if (st != TINYTX_OK) {
		return st;
	}
	for (int32_t i = 0; i < size; i++) {
		output[i] = table[(uint8_t)input[i]];
	}
	return TINYTX_OK;
}
