/*
 * tinytx_mhsa_s8_get_buffer_size of the RISC-V kernel: the reference layout
 * (tinytx_mhsa_layout.h) with one int32 score row per core.
 */
#include "tinytx/kernels.h"
#include "../tinytx_mhsa_layout.h"

int32_t tinytx_mhsa_s8_get_buffer_size(const tinytx_mhsa_dims *dims, int32_t num_cores)
{
	return tinytx_block_buffer_size(dims, 0, num_cores);
}
