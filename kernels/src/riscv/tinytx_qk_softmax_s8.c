/*
 * RISC-V QK^T fused with the integer softmax: the H x q_rows query rows are split
 * over the cores in balanced contiguous ranges (heads across cores when they divide
 * evenly, rows otherwise); four keys per pass of the query row. Each core keeps its
 * own int32 score row, so the scratch holds one row per core (kv_rows * 4 *
 * tinytx_parallel_num_cores() bytes; the reference kernel's size on one core).
 */
#include "tinytx/kernels.h"
#include "tinytx/parallel.h"
#include "tinytx/requant.h"
#include "../tinytx_check.h"
#include "tinytx_riscv.h"

void tinytx_rv_qk_softmax_row(const int8_t *q_row, const int8_t *k, int32_t kv_rows,
			      int32_t head_dim, tinytx_requant softmax, uint8_t *probs_row,
			      int32_t *row_scratch)
{
	int32_t *row = row_scratch;
	int32_t max = INT32_MIN;
	int32_t j = 0;
	for (; j + 4 <= kv_rows; j += 4) {
		int32_t acc[4] = {0, 0, 0, 0};
		tinytx_rv_dot4_s8(q_row, k + (size_t)j * head_dim, (size_t)head_dim, head_dim, acc);
		for (int32_t r = 0; r < 4; r++) {
			row[j + r] = acc[r];
			max = acc[r] > max ? acc[r] : max;
		}
	}
	for (; j < kv_rows; j++) {
		const int32_t acc = tinytx_rv_dot_s8(q_row, k + (size_t)j * head_dim, head_dim, 0);
		row[j] = acc;
		max = acc > max ? acc : max;
	}
	uint32_t sum = 0;
	for (j = 0; j < kv_rows; j++) {
		const uint32_t e = tinytx_i_exp(tinytx_softmax_logit(row[j] - max, softmax));
		row[j] = (int32_t)e;
		sum += e;
	}
	for (j = 0; j < kv_rows; j++) {
		probs_row[j] = tinytx_softmax_prob((uint32_t)row[j], sum);
	}
}

typedef struct {
	const tinytx_attention_dims *dims;
	tinytx_requant softmax;
	const int8_t *q, *k;
	uint8_t *probs;
	int32_t *rows; /* one score row per core */
} qk_job;

static void qk_body(void *ctx, uint32_t core, uint32_t num_cores)
{
	const qk_job *j = (const qk_job *)ctx;
	const int32_t sq = j->dims->q_rows, skv = j->dims->kv_rows, p = j->dims->head_dim;
	int32_t *row = j->rows + (size_t)core * skv;
	uint32_t r, end;
	tinytx_parallel_range((uint32_t)(j->dims->heads * sq), core, num_cores, &r, &end);
	for (; r < end; r++) {
		const int32_t h = (int32_t)r / sq;
		const int8_t *kh = j->k + (j->dims->k_heads == 1 ? 0 : (size_t)h * skv * p);
		tinytx_rv_qk_softmax_row(j->q + (size_t)r * p, kh, skv, p, j->softmax,
					 j->probs + (size_t)r * skv, row);
	}
}

tinytx_status tinytx_qk_softmax_s8(const tinytx_attention_dims *dims, tinytx_requant softmax,
				   const int8_t *q, const int8_t *k, uint8_t *probs,
				   const tinytx_context *ctx)
{
	const tinytx_status st = tinytx_check_qk_softmax_ctx(dims, softmax, q, k, probs, ctx);
	if (st != TINYTX_OK) {
		return st;
	}
	void *scratch = ctx->buf;
	qk_job job = {dims, softmax, q, k, probs, (int32_t *)scratch};
	tinytx_parallel_for(qk_body, &job);
	return TINYTX_OK;
}
