/* tinytx_qk_softmax_s8_get_buffer_size of the RISC-V kernel: one int32 score row per core. */
#include "tinytx/kernels.h"
#include "../tinytx_check.h"

int32_t tinytx_qk_softmax_s8_get_buffer_size(const tinytx_attention_dims *dims,
					     int32_t num_cores)
{
	const int32_t row = tinytx_qk_softmax_scratch(dims);
	if (row < 0) {
		return row;
	}
	if (tinytx_check_cores(num_cores) != TINYTX_OK) {
		return TINYTX_ERR_DIMS;
	}
	return tinytx_scratch_bytes((int64_t)row * num_cores);
}
