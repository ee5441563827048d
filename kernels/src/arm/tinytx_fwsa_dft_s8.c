/*
 * Cortex-M DSP depth-first tiled fused-weight self-attention: the engine of
 * tinytx_mhsa_dft_s8.c with the keys X itself (widened whole once) and T = X Wt_h + bt_h
 * in place of Q; bit-exact with the golden FWSA block for every tile size. Scratch and
 * aliasing as for tinytx_mhsa_dft_s8 (tinytx_arm_attention.h).
 */
#include "tinytx_arm_attention.h"
#include "tinytx/kernels.h"
#include "../tinytx_check.h"

tinytx_status tinytx_fwsa_dft_s8(const tinytx_mhsa_dims *dims, int32_t tile_rows,
				 const tinytx_fwsa_params *params,
				 const tinytx_fwsa_weights *weights, const int8_t *input,
				 int8_t *output, const tinytx_context *ctx)
{
	const tinytx_status st =
		tinytx_check_fwsa_pointers(dims, params, weights, input, output);
	if (st != TINYTX_OK) {
		return st;
	}
	/* no K (the keys are X), per-tensor factors only */
	const tt_attn_block blk = {
		.fused = 1,
		.wq = weights->wt, .wk = NULL, .wv = weights->wv, .wo = weights->wo,
		.bq = weights->bt, .bk = NULL, .bv = weights->bv, .bo = weights->bo,
		.q_ch = {NULL, NULL}, .k_ch = {NULL, NULL}, .v_ch = {NULL, NULL},
		.out_ch = {NULL, NULL},
		.q = params->t, .k = {0, 1, 0}, .v = params->v, .softmax = params->softmax,
		.av = params->av, .out = params->out,
	};
	return tt_attn_run(dims, tile_rows, &blk, input, output, ctx);
}
