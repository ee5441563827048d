/* tinytx_conv2d_sparse_s8_get_buffer_size of the Cortex-M kernel (tinytx_arm_sparse_layout.h). */
#include "tinytx/kernels.h"
#include "../tinytx_sparse.h"
#include "tinytx_arm_sparse_layout.h"

int32_t tinytx_conv2d_sparse_s8_get_buffer_size(const tinytx_conv2d_dims *dims, int32_t num_cores)
{
	const tinytx_status st = tinytx_check_conv2d_sparse_dims(dims, num_cores);
	if (st != TINYTX_OK) {
		return st;
	}
	return tinytx_scratch_bytes(tt_sparse_layout_of(
		dims->out_c, dims->kernel_h * dims->kernel_w * dims->in_c, 1).total);
}
