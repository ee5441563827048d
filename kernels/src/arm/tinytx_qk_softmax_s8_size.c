/* tinytx_qk_softmax_s8_get_buffer_size of the Cortex-M kernel: one int32 score row. */
#include "tinytx/kernels.h"
#include "../tinytx_check.h"

int32_t tinytx_qk_softmax_s8_get_buffer_size(const tinytx_attention_dims *dims,
					     int32_t num_cores)
{
	return tinytx_size_any_cores(tinytx_qk_softmax_scratch(dims), num_cores);
}
