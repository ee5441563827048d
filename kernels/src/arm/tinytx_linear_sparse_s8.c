/*
 * Cortex-M DSP linear layer on sparse weights: 4 tokens per pass over the weight rows
 * (tinytx_arm_sparse.h), bit-exact with tinytx_linear_s8 on the decoded weights.
 */
#include "tinytx_arm_sparse.h"
#include "tinytx/kernels.h"

tinytx_status tinytx_linear_sparse_s8(const tinytx_linear_dims *dims,
				      const tinytx_linear_params *params, const int8_t *input,
				      const tinytx_sparse_weights *weights, const int32_t *bias,
				      int8_t *output, const tinytx_context *ctx)
{
	tinytx_status st = tinytx_check_linear_sparse_call(dims, params, input, weights, output);
	if (st == TINYTX_OK) {
		st = tinytx_check_scratch(
			ctx, tinytx_linear_sparse_s8_get_buffer_size(dims, tinytx_run_cores()));
	}
	if (st != TINYTX_OK) {
		return st;
	}
	const int32_t rows = dims->rows, k = dims->in_features, n = dims->out_features;
	const int32_t hd = n / dims->heads;
	const tt_sparse_layout l = tt_sparse_layout_of(n, k, 0);
	uint8_t *buf = ctx->buf;
	int32_t *x16 = (int32_t *)(void *)(buf + l.x16);
	tt_sp_quant q;
	tt_sp_quant_init(&q, params->requant, params->act, params->multipliers, params->shifts,
			 (tt_sp_plan *)(void *)(buf + l.plans), n);
	/* rows of a group: a head (HEAD_MAJOR), every row (TOKEN_MAJOR); HEAD_MAJOR_T: [N][S] */
	tt_sp_job job = {weights, x16, bias, &q, n, 1};
	int32_t group = n, group_stride = 0;
	if (dims->layout == TINYTX_LAYOUT_HEAD_MAJOR) {
		job.token_stride = hd;
		group = hd;
		group_stride = rows * hd;
	} else if (dims->layout == TINYTX_LAYOUT_HEAD_MAJOR_T) {
		job.token_stride = 1;
		job.row_step = rows;
	}
	const tt_sp_passes passes = tt_sp_passes_for(weights, &q);
	for (int32_t s = 0; s < rows; s += TT_SPARSE_TOKENS) {
		const int32_t t = rows - s < TT_SPARSE_TOKENS ? rows - s : TT_SPARSE_TOKENS;
		tt_sp_widen(weights->format, input + (size_t)s * k, k, t, k, 0, x16);
		tt_sp_run(&passes, &job, t, group, group_stride,
			  output + (size_t)s * job.token_stride);
	}
	return TINYTX_OK;
}
