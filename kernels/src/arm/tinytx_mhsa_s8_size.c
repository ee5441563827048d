/*
 * tinytx_mhsa_s8_get_buffer_size of the Cortex-M kernel (tinytx_arm_layout.h): its
 * layout plus 3 bytes, as the kernel aligns the scratch to 4 itself.
 */
#include "tinytx/kernels.h"
#include "tinytx_arm_layout.h"

int32_t tinytx_mhsa_s8_get_buffer_size(const tinytx_mhsa_dims *dims, int32_t num_cores)
{
	const tinytx_status st = tinytx_check_block_dims(dims, 0);
	if (st != TINYTX_OK) {
		return st;
	}
	return tinytx_size_any_cores(tinytx_scratch_bytes(tt_mhsa_layout_of(dims).total + 3),
				     num_cores);
}
