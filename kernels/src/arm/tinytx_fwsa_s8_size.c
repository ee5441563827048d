/*
 * tinytx_fwsa_s8_get_buffer_size of the Cortex-M kernel: the depth-first engine with one
 * tile of all S rows (tinytx_arm_layout.h).
 */
#include "tinytx/kernels.h"
#include "tinytx_arm_layout.h"

int32_t tinytx_fwsa_s8_get_buffer_size(const tinytx_mhsa_dims *dims, int32_t num_cores)
{
	const tinytx_status st = tinytx_check_block_dims(dims, 1);
	return st != TINYTX_OK ? st : tt_attn_buffer_size(dims, dims->seq_len, 1, num_cores);
}
