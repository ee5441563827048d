/* tinytx_mhsa_dft_s8_get_buffer_size of the RISC-V kernel (tinytx_riscv_dft_layout.h). */
#include "tinytx/kernels.h"
#include "tinytx_riscv_dft_layout.h"

int32_t tinytx_mhsa_dft_s8_get_buffer_size(const tinytx_mhsa_dims *dims, int32_t tile_rows,
					   int32_t num_cores)
{
	if (dims == NULL) {
		return TINYTX_ERR_NULL;
	}
	tinytx_rv_dft_layout l;
	const tinytx_status st = tinytx_rv_dft_plan(dims, tile_rows, num_cores, &l);
	return st != TINYTX_OK ? st : (int32_t)l.total;
}
