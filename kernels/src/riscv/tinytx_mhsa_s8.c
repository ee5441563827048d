/*
 * RISC-V layer-wise MHSA in three parallel sections (tinytx_parallel_for calls):
 *   1. the Q, K and V^T projections, each split over the cores (heads across cores
 *      when H >= cores, rows otherwise: tinytx_rv_linear_part);
 *   2. the attention: the H x S query rows split over the cores; per row QK^T +
 *      softmax into the probability map, then its A*V into the head concatenation;
 *   3. the output projection, rows (and parts of rows) split over the cores.
 * The end of each section is the only synchronisation (tinytx_parallel_for returns
 * when every core is done). Same result as the reference kernel bit for bit.
 * Scratch layout (each part 4-byte aligned): rows[cores][S] int32 | Q | K | V^T | A | O,
 * the reference layout when there is one core.
 */
#include "tinytx/kernels.h"
#include "tinytx/parallel.h"
#include "../tinytx_mhsa_layout.h"
#include "tinytx_riscv.h"

void tinytx_rv_attention_part(const tinytx_rv_attention_job *job, uint32_t core,
			      uint32_t num_cores)
{
	const int32_t sq = job->q_rows, skv = job->kv_rows, qk = job->qk_dim, p = job->v_dim;
	const size_t stride = (size_t)job->heads * p;
	int32_t *row = job->rows + (size_t)core * skv;
	uint32_t r, end;
	tinytx_parallel_range((uint32_t)(job->heads * sq), core, num_cores, &r, &end);
	for (; r < end; r++) {
		const int32_t h = (int32_t)r / sq, i = (int32_t)r % sq;
		const int8_t *kh = job->k + (job->k_heads == 1 ? 0 : (size_t)h * skv * qk);
		uint8_t *a = job->probs + (size_t)r * skv;
		tinytx_rv_qk_softmax_row(job->q + (size_t)r * qk, kh, skv, qk, job->softmax, a, row);
		tinytx_rv_av_row(a, job->vt + (size_t)h * p * skv, skv, p, job->av,
				 job->output + (size_t)i * stride + (size_t)h * p);
	}
}

typedef struct {
	tinytx_rv_linear_job q, k, v, out;
	tinytx_rv_attention_job attention;
} mhsa_job;

static void mhsa_projections(void *ctx, uint32_t core, uint32_t num_cores)
{
	const mhsa_job *j = (const mhsa_job *)ctx;
	tinytx_rv_linear_part(&j->q, core, num_cores);
	tinytx_rv_linear_part(&j->k, core, num_cores);
	tinytx_rv_linear_part(&j->v, core, num_cores);
}

tinytx_status tinytx_rv_check_mhsa_calls(const tinytx_mhsa_dims *d, const tinytx_mhsa_params *p,
					 int per_head)
{
	const int32_t s = d->seq_len, e = d->embed_dim, hp = d->heads * d->head_dim;
	const tinytx_linear_dims linear[2] = {
		{s, e, per_head ? d->head_dim : hp, per_head ? 1 : d->heads,
		 per_head ? TINYTX_LAYOUT_TOKEN_MAJOR : TINYTX_LAYOUT_HEAD_MAJOR}, /* Q, K, V */
		{s, hp, e, 1, TINYTX_LAYOUT_TOKEN_MAJOR}, /* output */
	};
	const tinytx_attention_dims ad = {d->heads, s, s, d->head_dim, d->heads};
	const tinytx_requant all[6] = {p->q, p->k, p->v, p->softmax, p->av, p->out};
	return tinytx_rv_check_calls(linear, 2, &ad, per_head ? 0 : 1, all, 6);
}

tinytx_status tinytx_mhsa_s8(const tinytx_mhsa_dims *dims, const tinytx_mhsa_params *params,
			     const tinytx_mhsa_weights *weights, const int8_t *input,
			     int8_t *output, const tinytx_context *ctx)
{
	tinytx_status st = tinytx_check_mhsa_pointers(dims, params, weights, input, output);
	if (st != TINYTX_OK) {
		return st;
	}
	int32_t need = tinytx_mhsa_s8_get_buffer_size(dims, tinytx_run_cores());
	if (need < 0) {
		return (tinytx_status)need;
	}
	st = tinytx_rv_check_mhsa_calls(dims, params, 0);
	if (st == TINYTX_OK) {
		st = tinytx_check_mhsa_channels(dims, weights);
	}
	if (st == TINYTX_OK) {
		st = tinytx_check_scratch(ctx, need);
	}
	if (st != TINYTX_OK) {
		return st;
	}
	const int32_t s = dims->seq_len, e = dims->embed_dim, h = dims->heads, p = dims->head_dim;
	const tinytx_activation full = {-128, 127};
	const tinytx_mhsa_layout l = tinytx_mhsa_scratch_layout(dims, tinytx_parallel_num_cores());
	void *scratch = ctx->buf;
	uint8_t *base = (uint8_t *)scratch;
	int8_t *q = (int8_t *)(base + l.q), *k = (int8_t *)(base + l.k);
	int8_t *vt = (int8_t *)(base + l.vt), *o = (int8_t *)(base + l.o);

	mhsa_job job = {
		{s, e, h * p, h, TINYTX_LAYOUT_HEAD_MAJOR, params->q, full, input, weights->wq,
		 weights->bq, q, weights->q_ch.multipliers, weights->q_ch.shifts},
		{s, e, h * p, h, TINYTX_LAYOUT_HEAD_MAJOR, params->k, full, input, weights->wk,
		 weights->bk, k, weights->k_ch.multipliers, weights->k_ch.shifts},
		{s, e, h * p, h, TINYTX_LAYOUT_HEAD_MAJOR_T, params->v, full, input, weights->wv,
		 weights->bv, vt, weights->v_ch.multipliers, weights->v_ch.shifts},
		{s, h * p, e, 1, TINYTX_LAYOUT_TOKEN_MAJOR, params->out, full, o, weights->wo,
		 weights->bo, output, weights->out_ch.multipliers,
		 weights->out_ch.shifts},
		{h, s, s, p, h, p, params->softmax, params->av, q, k, vt, base + l.a, o,
		 (int32_t *)scratch},
	};
	tinytx_parallel_for(mhsa_projections, &job);
	tinytx_parallel_for(tinytx_rv_attention_body, &job.attention);
	tinytx_parallel_for(tinytx_rv_linear_body, &job.out);
	return TINYTX_OK;
}
