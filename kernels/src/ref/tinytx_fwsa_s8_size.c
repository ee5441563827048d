/* tinytx_fwsa_s8_get_buffer_size of the reference kernel (layout: tinytx_mhsa_layout.h). */
#include "tinytx/kernels.h"
#include "../tinytx_mhsa_layout.h"

int32_t tinytx_fwsa_s8_get_buffer_size(const tinytx_mhsa_dims *dims, int32_t num_cores)
{
	return tinytx_size_any_cores(tinytx_block_buffer_size(dims, 1, 1), num_cores);
}
