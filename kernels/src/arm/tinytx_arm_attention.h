/*
 * The Cortex-M depth-first attention engine (internal header): one schedule for the
 * depth-first MHSA (tinytx_mhsa_dft_s8) and the fused-weight blocks (tinytx_fwsa_s8,
 * tinytx_fwsa_dft_s8), defined in tinytx_mhsa_dft_s8.c.
 */
#ifndef TINYTX_ARM_ATTENTION_H
#define TINYTX_ARM_ATTENTION_H

#include <stdint.h>

#include "tinytx/types.h"
#include "tinytx_arm_layout.h"

/* The operands of one block: MHSA, or FWSA (fused: wq/bq are Wt/bt, no K). */
typedef struct {
	int fused;
	const int8_t *wq, *wk, *wv, *wo; /* wq: Wt when fused; wk: NULL when fused */
	const int32_t *bq, *bk, *bv, *bo;
	tinytx_channels q_ch, k_ch, v_ch, out_ch; /* {NULL, NULL} when fused */
	tinytx_requant q, k, v, softmax, av, out; /* q: t when fused; k unused when fused */
} tt_attn_block;

/* Runs the block once its pointers are checked (validates the rest, the scratch too). */
tinytx_status tt_attn_run(const tinytx_mhsa_dims *dims, int32_t tile_rows,
			  const tt_attn_block *blk, const int8_t *input, int8_t *output,
			  const tinytx_context *ctx);

#endif /* TINYTX_ARM_ATTENTION_H */
