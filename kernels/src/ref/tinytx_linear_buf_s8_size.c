/* tinytx_linear_buf_s8_get_buffer_size of the reference kernel: it needs no scratch. */
#include "tinytx/kernels.h"
#include "../tinytx_check.h"

int32_t tinytx_linear_buf_s8_get_buffer_size(const tinytx_linear_dims *dims, int32_t num_cores)
{
	if (dims == NULL) {
		return TINYTX_ERR_NULL;
	}
	const tinytx_status st = tinytx_check_linear_dims(dims);
	return tinytx_size_any_cores(st != TINYTX_OK ? st : 0, num_cores);
}
