/* tinytx_conv2d_s8_get_buffer_size of the reference kernel: it needs no scratch. */
#include "tinytx/kernels.h"
#include "../tinytx_check.h"
#include "../tinytx_window.h"
#include "../tinytx_conv_general.h"

int32_t tinytx_conv2d_s8_get_buffer_size(const tinytx_conv2d_dims *dims, int32_t num_cores)
{
	if (dims != NULL && tinytx_conv2d_general(dims)) {
		return tinytx_size_any_cores(tinytx_conv2d_general_size(dims, 0), num_cores);
	}
	return tinytx_size_any_cores(tinytx_conv2d_no_scratch(dims), num_cores);
}
