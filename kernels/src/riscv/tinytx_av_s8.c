/*
 * RISC-V A*V writing the head concatenation [S][H*P]: the H x q_rows probability rows
 * are split over the cores in balanced contiguous ranges; four outputs per pass of
 * the probability row.
 */
#include "tinytx/kernels.h"
#include "tinytx/parallel.h"
#include "tinytx/requant.h"
#include "../tinytx_check.h"
#include "tinytx_riscv.h"

void tinytx_rv_av_row(const uint8_t *probs_row, const int8_t *vt, int32_t kv_rows,
		      int32_t head_dim, tinytx_requant requant, int8_t *out)
{
	int32_t p = 0;
	for (; p + 4 <= head_dim; p += 4) {
		int32_t acc[4] = {0, 0, 0, 0};
		tinytx_rv_dot4_u8s8(probs_row, vt + (size_t)p * kv_rows, (size_t)kv_rows, kv_rows,
				    acc);
		for (int32_t r = 0; r < 4; r++) {
			out[p + r] = tinytx_requantize_s8(acc[r], requant, -128, 127);
		}
	}
	for (; p < head_dim; p++) {
		const int32_t acc = tinytx_rv_dot_u8s8(probs_row, vt + (size_t)p * kv_rows, kv_rows, 0);
		out[p] = tinytx_requantize_s8(acc, requant, -128, 127);
	}
}

typedef struct {
	const tinytx_attention_dims *dims;
	tinytx_requant requant;
	const uint8_t *probs;
	const int8_t *vt;
	int8_t *output;
} av_job;

static void av_body(void *ctx, uint32_t core, uint32_t num_cores)
{
	const av_job *j = (const av_job *)ctx;
	const int32_t sq = j->dims->q_rows, skv = j->dims->kv_rows, p = j->dims->head_dim;
	const size_t stride = (size_t)j->dims->heads * p;
	uint32_t r, end;
	tinytx_parallel_range((uint32_t)(j->dims->heads * sq), core, num_cores, &r, &end);
	for (; r < end; r++) {
		const int32_t h = (int32_t)r / sq, i = (int32_t)r % sq;
		tinytx_rv_av_row(j->probs + (size_t)r * skv, j->vt + (size_t)h * p * skv, skv, p,
				 j->requant, j->output + (size_t)i * stride + (size_t)h * p);
	}
}

tinytx_status tinytx_av_s8(const tinytx_attention_dims *dims, tinytx_requant requant,
			   const uint8_t *probs, const int8_t *vt, int8_t *output)
{
	tinytx_status st = tinytx_check_av_call(dims, requant, probs, vt, output);
	if (st != TINYTX_OK) {
		return st;
	}
	av_job job = {dims, requant, probs, vt, output};
	tinytx_parallel_for(av_body, &job);
	return TINYTX_OK;
}
