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
#include "../tinytx_check.h"
#include "tinytx_riscv.h"

typedef struct {
	int64_t t, vt, a, o, total;
} fwsa_layout;

static fwsa_layout fwsa_scratch_layout(const tinytx_mhsa_dims *d, uint32_t num_cores)
{
	const int64_t s = d->seq_len, hp = (int64_t)d->heads * d->head_dim;
	fwsa_layout l;
	l.t = tinytx_bytes_aligned(tinytx_rv_score_rows_bytes(s, num_cores), 1);
	l.vt = l.t + tinytx_bytes_aligned((int64_t)d->heads * s * d->embed_dim, 1);
	l.a = l.vt + tinytx_bytes_aligned(s * hp, 1);
	l.o = l.a + tinytx_bytes_aligned(d->heads * s * s, 1);
	l.total = l.o + tinytx_bytes_aligned(s * hp, 1);
	return l;
}

int32_t tinytx_fwsa_s8_get_buffer_size(const tinytx_mhsa_dims *dims)
{
	if (dims == NULL) {
		return TINYTX_ERR_NULL;
	}
	tinytx_status st = tinytx_check_mhsa_dims(dims);
	if (st != TINYTX_OK) {
		return st;
	}
	if ((int64_t)dims->heads * dims->embed_dim > TINYTX_MAX_REDUCTION) {
		return TINYTX_ERR_DIMS;
	}
	fwsa_layout l = fwsa_scratch_layout(dims, tinytx_parallel_num_cores());
	return l.total > INT32_MAX ? TINYTX_ERR_DIMS : (int32_t)l.total;
}

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

static void fwsa_attention(void *ctx, uint32_t core, uint32_t num_cores)
{
	tinytx_rv_attention_part(&((const fwsa_job *)ctx)->attention, core, num_cores);
}

static void fwsa_output(void *ctx, uint32_t core, uint32_t num_cores)
{
	tinytx_rv_linear_part(&((const fwsa_job *)ctx)->out, core, num_cores);
}

/* The checks the reference kernel's calls of the primitive kernels make. */
static tinytx_status fwsa_check(const tinytx_mhsa_dims *d, const tinytx_fwsa_params *p)
{
	const int32_t s = d->seq_len, e = d->embed_dim, h = d->heads, hp = h * d->head_dim;
	const tinytx_linear_dims fused = {s, e, h * e, h, TINYTX_LAYOUT_HEAD_MAJOR};
	const tinytx_linear_dims vproj = {s, e, hp, h, TINYTX_LAYOUT_HEAD_MAJOR_T};
	const tinytx_linear_dims out = {s, hp, e, 1, TINYTX_LAYOUT_TOKEN_MAJOR};
	const tinytx_attention_dims scores = {h, s, s, e, 1};
	const tinytx_attention_dims av = {h, s, s, d->head_dim, h};
	tinytx_status st = tinytx_check_linear_dims(&fused);
	if (st == TINYTX_OK) {
		st = tinytx_check_linear_dims(&vproj);
	}
	if (st == TINYTX_OK) {
		st = tinytx_check_linear_dims(&out);
	}
	if (st == TINYTX_OK) {
		st = tinytx_check_attention_dims(&scores);
	}
	if (st == TINYTX_OK) {
		st = tinytx_check_attention_dims(&av);
	}
	if (st != TINYTX_OK) {
		return st;
	}
	const tinytx_requant all[5] = {p->t, p->v, p->softmax, p->av, p->out};
	for (int i = 0; i < 5; i++) {
		if (!tinytx_requant_valid(all[i])) {
			return TINYTX_ERR_PARAM;
		}
	}
	return TINYTX_OK;
}

tinytx_status tinytx_fwsa_s8(const tinytx_mhsa_dims *dims, const tinytx_fwsa_params *params,
			     const tinytx_fwsa_weights *weights, const int8_t *input,
			     int8_t *output, void *scratch)
{
	if (dims == NULL || params == NULL || weights == NULL || input == NULL || output == NULL ||
	    scratch == NULL || weights->wt == NULL || weights->wv == NULL || weights->wo == NULL) {
		return TINYTX_ERR_NULL;
	}
	int32_t need = tinytx_fwsa_s8_get_buffer_size(dims);
	if (need < 0) {
		return (tinytx_status)need;
	}
	tinytx_status st = fwsa_check(dims, params);
	if (st != TINYTX_OK) {
		return st;
	}
	const int32_t s = dims->seq_len, e = dims->embed_dim, h = dims->heads, p = dims->head_dim;
	const tinytx_activation full = {-128, 127};
	fwsa_layout l = fwsa_scratch_layout(dims, tinytx_parallel_num_cores());
	uint8_t *base = (uint8_t *)scratch;
	int8_t *t = (int8_t *)(base + l.t), *vt = (int8_t *)(base + l.vt);
	int8_t *o = (int8_t *)(base + l.o);

	fwsa_job job = {
		{s, e, h * e, h, TINYTX_LAYOUT_HEAD_MAJOR, params->t, full, input, weights->wt,
		 weights->bt, t},
		{s, e, h * p, h, TINYTX_LAYOUT_HEAD_MAJOR_T, params->v, full, input, weights->wv,
		 weights->bv, vt},
		{s, h * p, e, 1, TINYTX_LAYOUT_TOKEN_MAJOR, params->out, full, o, weights->wo,
		 weights->bo, output},
		{h, s, s, e, 1, p, params->softmax, params->av, t, input, vt, base + l.a, o,
		 (int32_t *)scratch},
	};
	tinytx_parallel_for(fwsa_projections, &job);
	tinytx_parallel_for(fwsa_attention, &job);
	tinytx_parallel_for(fwsa_output, &job);
	return TINYTX_OK;
}
