/* tinytx_mhsa_dft_s8_get_buffer_size of the Cortex-M kernel (tinytx_arm_layout.h). */
#include "tinytx/kernels.h"
#include "tinytx_arm_layout.h"

int32_t tinytx_mhsa_dft_s8_get_buffer_size(const tinytx_mhsa_dims *dims, int32_t tile_rows,
					   int32_t num_cores)
{
	return tt_attn_buffer_size(dims, tile_rows, 0, num_cores);
}
