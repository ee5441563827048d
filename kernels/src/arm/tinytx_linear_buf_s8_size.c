/* tinytx_linear_buf_s8_get_buffer_size of the Cortex-M kernel (tinytx_arm_layout.h). */
#include "tinytx/kernels.h"
#include "tinytx_arm_layout.h"

int32_t tinytx_linear_buf_s8_get_buffer_size(const tinytx_linear_dims *dims, int32_t num_cores)
{
	if (dims == NULL) {
		return TINYTX_ERR_NULL;
	}
	const tinytx_status st = tinytx_check_linear_dims(dims);
	return tinytx_size_any_cores(st != TINYTX_OK ? st : tt_linear_buf_bytes(dims), num_cores);
}
