/* tinytx_conv2d_sparse_s8_get_buffer_size of the RISC-V kernel: one im2col row per core. */
#include "tinytx/kernels.h"
#include "../tinytx_sparse.h"

int32_t tinytx_conv2d_sparse_s8_get_buffer_size(const tinytx_conv2d_dims *dims, int32_t num_cores)
{
	const tinytx_status st = tinytx_check_conv2d_sparse_dims(dims, num_cores);
	if (st != TINYTX_OK) {
		return st;
	}
	return tinytx_scratch_bytes(
		tinytx_bytes_aligned((int64_t)dims->kernel_h * dims->kernel_w * dims->in_c, 1) *
		num_cores);
}
