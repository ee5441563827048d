/*
 * RISC-V fused-weight self-attention in three parallel sections, as the RISC-V MHSA:
 * T = X Wt + bt ([H][S][E]) and V^T split over the cores; the H x S query rows of the
 * attention (scores T X^T, keys shared by every head) split over the cores, each row's
 * A*V right after its softmax; then the output projection.
 * Scratch layout (each part 4-byte aligned): rows[cores][S] int32 | T | V^T | A | O,
 * the reference layout when there is one core.
 */
#include "tinytx/kernels.h"
#include "tinytx/parallel.h"
#include "../tinytx_mhsa_layout.h"
#include "tinytx_riscv.h"

typedef struct {
	tinytx_rv_linear_job t, v, out;
	tinytx_rv_attention_job attention;
} fwsa_job;

static void fwsa_projections(void *ctx, uint32_t core, uint32_t num_cores)
{
	const fwsa_job *j = (const fwsa_job *)ctx;
	tinytx_rv_linear_part(&j->t, core, num_cores);
	tinytx_rv_linear_part(&j->v, core, num_cores);
}

/* The checks the reference kernel's calls of the primitive kernels make. */
static tinytx_status fwsa_check(const tinytx_mhsa_dims *d, const tinytx_fwsa_params *p)
{
	const int32_t s = d->seq_len, e = d->embed_dim, h = d->heads, hp = h * d->head_dim;
	const tinytx_linear_dims linear[3] = {
		{s, e, h * e, h, TINYTX_LAYOUT_HEAD_MAJOR}, /* T */
		{s, e, hp, h, TINYTX_LAYOUT_HEAD_MAJOR_T},  /* V^T */
		{s, hp, e, 1, TINYTX_LAYOUT_TOKEN_MAJOR},   /* output projection */
	};
	const tinytx_attention_dims attention[2] = {
		{h, s, s, e, 1},           /* scores T X^T */
		{h, s, s, d->head_dim, h}, /* A*V */
	};
	const tinytx_requant all[5] = {p->t, p->v, p->softmax, p->av, p->out};
	return tinytx_rv_check_calls(linear, 3, attention, 2, all, 5);
}

tinytx_status tinytx_fwsa_s8(const tinytx_mhsa_dims *dims, const tinytx_fwsa_params *params,
			     const tinytx_fwsa_weights *weights, const int8_t *input,
			     int8_t *output, const tinytx_context *ctx)
{
	tinytx_status st = tinytx_check_fwsa_pointers(dims, params, weights, input, output);
	if (st != TINYTX_OK) {
		return st;
	}
	const int32_t need = tinytx_fwsa_s8_get_buffer_size(dims, tinytx_run_cores());
	if (need < 0) {
		return (tinytx_status)need;
	}
	st = fwsa_check(dims, params);
	if (st == TINYTX_OK) {
		st = tinytx_check_scratch(ctx, need);
	}
	if (st != TINYTX_OK) {
		return st;
	}
	const int32_t s = dims->seq_len, e = dims->embed_dim, h = dims->heads, p = dims->head_dim;
	const tinytx_activation full = {-128, 127};
	const tinytx_fwsa_layout l = tinytx_fwsa_scratch_layout(dims, tinytx_parallel_num_cores());
	void *scratch = ctx->buf;
	uint8_t *base = (uint8_t *)scratch;
	int8_t *t = (int8_t *)(base + l.t), *vt = (int8_t *)(base + l.vt);
	int8_t *o = (int8_t *)(base + l.o);

	fwsa_job job = {
		{s, e, h * e, h, TINYTX_LAYOUT_HEAD_MAJOR, params->t, full, input, weights->wt,
		 weights->bt, t, NULL, NULL},
		{s, e, h * p, h, TINYTX_LAYOUT_HEAD_MAJOR_T, params->v, full, input, weights->wv,
		 weights->bv, vt, NULL, NULL},
		{s, h * p, e, 1, TINYTX_LAYOUT_TOKEN_MAJOR, params->out, full, o, weights->wo,
		 weights->bo, output, NULL, NULL},
		{h, s, s, e, 1, p, params->softmax, params->av, t, input, vt, base + l.a, o,
		 (int32_t *)scratch},
	};
	tinytx_parallel_for(fwsa_projections, &job);
	tinytx_parallel_for(tinytx_rv_attention_body, &job.attention);
	tinytx_parallel_for(tinytx_rv_linear_body, &job.out);
	return TINYTX_OK;
}
