/*
 * Reference fused-weight self-attention: T = X Wt + bt per head ([H][S][E]),
 * scores = T X^T (keys are the input itself, shared by every head), then the
 * same softmax, A*V and output projection as MHSA.
 * Scratch layout (each part 4-byte aligned): row[S] int32 | T | V^T | A | O.
 */
#include "tinytx/kernels.h"
#include "../tinytx_mhsa_layout.h"

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
	st = tinytx_check_scratch(ctx, need);
	if (st != TINYTX_OK) {
		return st;
	}
	const int32_t s = dims->seq_len, e = dims->embed_dim, h = dims->heads, p = dims->head_dim;
	const tinytx_activation full = {-128, 127};
	const tinytx_fwsa_layout l = tinytx_fwsa_scratch_layout(dims, 1);
	uint8_t *base = (uint8_t *)ctx->buf;
	int8_t *t = (int8_t *)(base + l.t), *vt = (int8_t *)(base + l.vt);
	int8_t *o = (int8_t *)(base + l.o);
	uint8_t *a = base + l.a;

	tinytx_linear_dims fused = {s, e, h * e, h, TINYTX_LAYOUT_HEAD_MAJOR};
	tinytx_linear_params lp = {params->t, full, NULL, NULL};
	st = tinytx_linear_s8(&fused, &lp, input, weights->wt, weights->bt, t);
	if (st != TINYTX_OK) {
		return st;
	}
	tinytx_linear_dims vproj = {s, e, h * p, h, TINYTX_LAYOUT_HEAD_MAJOR_T};
	lp.requant = params->v;
	st = tinytx_linear_s8(&vproj, &lp, input, weights->wv, weights->bv, vt);
	if (st != TINYTX_OK) {
		return st;
	}
	tinytx_attention_dims scores = {h, s, s, e, 1};
	const tinytx_context score = {base, (int32_t)l.t}; /* the score row */
	st = tinytx_qk_softmax_s8(&scores, params->softmax, t, input, a, &score);
	if (st != TINYTX_OK) {
		return st;
	}
	tinytx_attention_dims av = {h, s, s, p, h};
	st = tinytx_av_s8(&av, params->av, a, vt, o);
	if (st != TINYTX_OK) {
		return st;
	}
	tinytx_linear_dims out = {s, h * p, e, 1, TINYTX_LAYOUT_TOKEN_MAJOR};
	lp.requant = params->out;
	return tinytx_linear_s8(&out, &lp, o, weights->wo, weights->bo, output);
}
