/*
 * tinytx_conv2d_s8_get_buffer_size of the Cortex-M kernel (tinytx_arm_layout.h): the
 * widened weights, the pair of windows, then the band.
 */
#include "tinytx/kernels.h"
#include "tinytx_arm_layout.h"
#include "../tinytx_window.h"
#include "../tinytx_conv_general.h"

int32_t tinytx_conv2d_s8_get_buffer_size(const tinytx_conv2d_dims *dims, int32_t num_cores)
{
	if (dims == NULL) {
		return TINYTX_ERR_NULL;
	}
	if (tinytx_conv2d_general(dims)) { /* the general path needs no scratch */
		return tinytx_size_any_cores(tinytx_conv2d_general_size(dims, 0), num_cores);
	}
	const tinytx_status st = tinytx_check_conv2d_dims(dims, 0);
	if (st != TINYTX_OK) {
		return st;
	}
	const int32_t kb = tt_conv_blocks(dims->kernel_h, dims->kernel_w * dims->in_c);
	return tinytx_size_any_cores(16 * kb * ((dims->out_c + 1) / 2 + 1) +
					     tt_conv_band_bytes(dims),
				     num_cores);
}
