/*
 * Cortex-M DSP fused-weight self-attention block: the depth-first engine of
 * tinytx_mhsa_dft_s8.c with one tile of all S query rows (without an S x S map, the
 * layer-wise and the depth-first schedules differ only in the tile size). Bit-exact with
 * the golden FWSA block; scratch: tinytx_fwsa_dft_s8_get_buffer_size(dims, S).
 */
#include "tinytx_arm_attention.h"
#include "tinytx/kernels.h"
#include "../tinytx_check.h"

tinytx_status tinytx_fwsa_s8(const tinytx_mhsa_dims *dims, const tinytx_fwsa_params *params,
			     const tinytx_fwsa_weights *weights, const int8_t *input,
			     int8_t *output, const tinytx_context *ctx)
{
	const tinytx_status st =
		tinytx_check_fwsa_pointers(dims, params, weights, input, output);
	if (st != TINYTX_OK) {
		return st;
	}
	const int32_t need = tinytx_fwsa_s8_get_buffer_size(dims, tinytx_run_cores());
	if (need < 0) {
		return (tinytx_status)need;
	}
	/* the same bytes as tinytx_fwsa_dft_s8's at tile_rows = S, which checks ctx */
	return tinytx_fwsa_dft_s8(dims, dims->seq_len, params, weights, input, output, ctx);
}
