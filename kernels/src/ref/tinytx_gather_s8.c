/* Reference gather of constant indices along one axis (tinytx/core/golden/gather.py). */
#include <string.h>

#include "tinytx/kernels.h"
#include "../tinytx_check.h"

tinytx_status tinytx_gather_s8(const tinytx_gather_dims *dims, const int32_t *indices,
			       const int8_t *input, int8_t *output)
{
	if (dims == NULL || input == NULL || output == NULL) {
		return TINYTX_ERR_NULL;
	}
	const int32_t outer = dims->outer, n = dims->axis_len, block = dims->block;
	const int32_t count = dims->count, stride = dims->out_stride;
	if (outer < 1 || n < 1 || block < 1 || count < 1 || !tinytx_fits_i32(n, block) ||
	    !tinytx_fits_i32(count, block) || stride < count * block ||
	    !tinytx_fits_i32(outer, (int64_t)n * block) || !tinytx_fits_i32(outer, stride)) {
		return TINYTX_ERR_DIMS;
	}
	if (indices == NULL && count > n) {
		return TINYTX_ERR_DIMS;
	}
	for (int32_t j = 0; indices != NULL && j < count; j++) {
		if (indices[j] < 0 || indices[j] >= n) {
			return TINYTX_ERR_PARAM;
		}
	}
	for (int32_t o = 0; o < outer; o++) {
		const int8_t *x = input + (size_t)o * n * block;
		int8_t *y = output + (size_t)o * stride;
		if (indices == NULL) {
			memcpy(y, x, (size_t)count * block);
			continue;
		}
		if (block == 1) { /* single bytes (a channel repeat, a transpose): no memcpy call */
			for (int32_t j = 0; j < count; j++) {
				y[j] = x[indices[j]];
			}
			continue;
		}
		for (int32_t j = 0; j < count; j++) {
			memcpy(y + (size_t)j * block, x + (size_t)indices[j] * block, (size_t)block);
		}
	}
	return TINYTX_OK;
}
