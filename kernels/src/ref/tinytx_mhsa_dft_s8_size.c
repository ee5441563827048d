/* tinytx_mhsa_dft_s8_get_buffer_size of the reference kernel (layout: tinytx_dft.h). */
#include "tinytx/kernels.h"
#include "../tinytx_dft.h"

int32_t tinytx_mhsa_dft_s8_get_buffer_size(const tinytx_mhsa_dims *dims, int32_t tile_rows,
					   int32_t num_cores)
{
	return tinytx_dft_buffer_size(dims, tile_rows, 0, num_cores);
}
