/*
 * tinytx_conv2d_sparse_s8_get_buffer_size of the Cortex-M kernel (tinytx_arm_sparse_layout.h):
 * the direct path's program, image and pad, or the im2col path's plans and rows.
 */
#include "tinytx/kernels.h"
#include "../tinytx_sparse.h"
#include "tinytx_arm_sparse_layout.h"

int32_t tinytx_conv2d_sparse_s8_get_buffer_size(const tinytx_conv2d_dims *dims, int32_t num_cores)
{
	const tinytx_status st = tinytx_check_conv2d_sparse_dims(dims, num_cores);
	if (st != TINYTX_OK) {
		return st;
	}
	const tt_spc_layout l = tt_spc_layout_of(dims->in_c, dims->out_h, dims->out_w, dims->out_c,
						 dims->kernel_h, dims->kernel_w, dims->stride_h,
						 dims->stride_w);
	return tinytx_scratch_bytes(tt_spc_scratch(
		&l, dims->in_c, dims->out_c, dims->kernel_h * dims->kernel_w * dims->in_c));
}
