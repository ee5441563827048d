/*
 * RISC-V depth-first tiled MHSA (same result as tinytx_mhsa_s8 for every tile size).
 * Per head: K_h and V_h^T, then the query rows in tiles of at most tile_rows rows
 * (Q tile -> per row QK^T + softmax -> A*V straight into the head concatenation O);
 * last the output projection. Two ways to split it over the n cores:
 *
 *  - heads across cores (H a multiple of n, and always with one core): one parallel
 *    section in which each core runs whole heads with a working set of its own
 *    (score row, K_h, V_h^T, Q tile, probability tile);
 *  - rows across cores (otherwise, e.g. H = 4 on 8 cores): per head, one section
 *    computes K_h and V_h^T split over the cores into one shared pair, a second one
 *    gives each core a balanced range of the S query rows, which it runs in tiles of
 *    min(tile_rows, ceil(S / n)) rows in a working set of its own.
 *
 * Scratch (each part 4-byte aligned, O last and unpadded):
 *   heads: n x [row | K_h | V_h^T | Q tile | A tile] | O
 *   rows:  [K_h | V_h^T] | n x [row | Q tile | A tile] | O
 * With one core this is the reference layout, so the sizes agree there. The output
 * may alias the input (X is not read after the last head); neither may overlap the
 * scratch.
 */
#include "tinytx/kernels.h"
#include "tinytx/parallel.h"
#include "../tinytx_dft.h"
#include "tinytx_riscv.h"
#include "tinytx_riscv_dft_layout.h"

typedef struct {
	const tinytx_mhsa_dims *dims;
	const tinytx_mhsa_params *params;
	const tinytx_mhsa_weights *w;
	const int8_t *input;
	uint8_t *base;
	tinytx_rv_dft_layout plan;
	int32_t head; /* rows mode: the head of the current sections */
	tinytx_rv_linear_job out;
} dft_job;

/* K_h [S][P] or V_h^T [P][S] of head h (one weight block of P rows). */
static tinytx_rv_linear_job dft_head_proj(const dft_job *j, int32_t h, int is_v, int8_t *out)
{
	const int32_t e = j->dims->embed_dim, p = j->dims->head_dim;
	const tinytx_activation full = {-128, 127};
	const size_t w_off = (size_t)h * p * e;
	const tinytx_channels ch = tinytx_channel_rows(is_v ? j->w->v_ch : j->w->k_ch, h * p);
	tinytx_rv_linear_job lj = {
		j->dims->seq_len, e, p, 1,
		is_v ? TINYTX_LAYOUT_HEAD_MAJOR_T : TINYTX_LAYOUT_TOKEN_MAJOR,
		is_v ? j->params->v : j->params->k, full, j->input,
		(is_v ? j->w->wv : j->w->wk) + w_off,
		tinytx_bias_rows(is_v ? j->w->bv : j->w->bk, h * p), out, ch.multipliers, ch.shifts};
	return lj;
}

/* Query rows [r0, r1) of head h in tiles, with one core's working set at slot. */
static void dft_rows(const dft_job *j, int32_t h, int32_t r0, int32_t r1, uint8_t *slot,
		     const int8_t *k, const int8_t *vt)
{
	const int32_t s = j->dims->seq_len, e = j->dims->embed_dim, p = j->dims->head_dim;
	const size_t hp = (size_t)j->dims->heads * p;
	const tinytx_activation full = {-128, 127};
	int32_t *row = (int32_t *)(slot + j->plan.row);
	int8_t *q = (int8_t *)(slot + j->plan.q);
	uint8_t *a = slot + j->plan.a;
	int8_t *o = (int8_t *)(j->base + j->plan.o);
	for (int32_t t0 = r0; t0 < r1; t0 += j->plan.tile) {
		const int32_t rows = r1 - t0 < j->plan.tile ? r1 - t0 : j->plan.tile;
		const tinytx_channels q_ch = tinytx_channel_rows(j->w->q_ch, h * p);
		const tinytx_rv_linear_job qj = {rows, e, p, 1, TINYTX_LAYOUT_TOKEN_MAJOR,
						 j->params->q, full, j->input + (size_t)t0 * e,
						 j->w->wq + (size_t)h * p * e,
						 tinytx_bias_rows(j->w->bq, h * p), q, q_ch.multipliers,
						 q_ch.shifts};
		tinytx_rv_linear_part(&qj, 0, 1);
		for (int32_t i = 0; i < rows; i++) {
			uint8_t *ai = a + (size_t)i * s;
			tinytx_rv_qk_softmax_row(q + (size_t)i * p, k, s, p, j->params->softmax, ai, row);
			tinytx_rv_av_row(ai, vt, s, p, j->params->av,
					 o + (size_t)(t0 + i) * hp + (size_t)h * p);
		}
	}
}

/* Heads mode: whole heads per core, each core in its own working set. */
static void dft_heads_body(void *ctx, uint32_t core, uint32_t num_cores)
{
	const dft_job *j = (const dft_job *)ctx;
	uint8_t *slot = j->base + j->plan.shared + (int64_t)core * j->plan.slot;
	int8_t *k = (int8_t *)(slot + j->plan.k), *vt = (int8_t *)(slot + j->plan.vt);
	uint32_t h, end;
	tinytx_parallel_range((uint32_t)j->dims->heads, core, num_cores, &h, &end);
	for (; h < end; h++) {
		tinytx_rv_linear_job kj = dft_head_proj(j, (int32_t)h, 0, k);
		tinytx_rv_linear_job vj = dft_head_proj(j, (int32_t)h, 1, vt);
		tinytx_rv_linear_part(&kj, 0, 1);
		tinytx_rv_linear_part(&vj, 0, 1);
		dft_rows(j, (int32_t)h, 0, j->dims->seq_len, slot, k, vt);
	}
}

/* Rows mode, first section of a head: K_h and V_h^T split over the cores. */
static void dft_kv_body(void *ctx, uint32_t core, uint32_t num_cores)
{
	const dft_job *j = (const dft_job *)ctx;
	tinytx_rv_linear_job kj = dft_head_proj(j, j->head, 0, (int8_t *)(j->base + j->plan.k));
	tinytx_rv_linear_job vj = dft_head_proj(j, j->head, 1, (int8_t *)(j->base + j->plan.vt));
	tinytx_rv_linear_part(&kj, core, num_cores);
	tinytx_rv_linear_part(&vj, core, num_cores);
}

/* Rows mode, second section of a head: a balanced range of query rows per core. */
static void dft_query_body(void *ctx, uint32_t core, uint32_t num_cores)
{
	const dft_job *j = (const dft_job *)ctx;
	uint32_t r0, r1;
	tinytx_parallel_range((uint32_t)j->dims->seq_len, core, num_cores, &r0, &r1);
	if (r0 < r1) {
		dft_rows(j, j->head, (int32_t)r0, (int32_t)r1,
			 j->base + j->plan.shared + (int64_t)core * j->plan.slot,
			 (const int8_t *)(j->base + j->plan.k), (const int8_t *)(j->base + j->plan.vt));
	}
}

tinytx_status tinytx_mhsa_dft_s8(const tinytx_mhsa_dims *dims, int32_t tile_rows,
				 const tinytx_mhsa_params *params,
				 const tinytx_mhsa_weights *weights, const int8_t *input,
				 int8_t *output, const tinytx_context *ctx)
{
	dft_job job;
	tinytx_status st = tinytx_check_mhsa_pointers(dims, params, weights, input, output);
	if (st == TINYTX_OK) {
		st = tinytx_rv_dft_plan(dims, tile_rows, tinytx_run_cores(), &job.plan);
	}
	if (st == TINYTX_OK) {
		st = tinytx_rv_check_mhsa_calls(dims, params, 1);
	}
	if (st == TINYTX_OK) {
		st = tinytx_check_mhsa_channels(dims, weights);
	}
	if (st == TINYTX_OK) {
		st = tinytx_check_scratch(ctx, (int32_t)job.plan.total);
	}
	if (st != TINYTX_OK) {
		return st;
	}
	const int32_t s = dims->seq_len, e = dims->embed_dim, hp = dims->heads * dims->head_dim;
	const tinytx_activation full = {-128, 127};
	job.dims = dims;
	job.params = params;
	job.w = weights;
	job.input = input;
	job.base = (uint8_t *)ctx->buf;
	job.head = 0;
	const tinytx_rv_linear_job out = {s,	       hp,	    e,
					  1,	       TINYTX_LAYOUT_TOKEN_MAJOR,
					  params->out, full,	    (int8_t *)(job.base + job.plan.o),
					  weights->wo, weights->bo, output, weights->out_ch.multipliers,
					  weights->out_ch.shifts};
	job.out = out;
	if (job.plan.heads_mode) {
		tinytx_parallel_for(dft_heads_body, &job);
	} else {
		for (job.head = 0; job.head < dims->heads; job.head++) {
			tinytx_parallel_for(dft_kv_body, &job);
			tinytx_parallel_for(dft_query_body, &job);
		}
	}
	tinytx_parallel_for(tinytx_rv_linear_body, &job.out);
	return TINYTX_OK;
}
