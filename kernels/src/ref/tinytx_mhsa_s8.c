/*
 * Reference layer-wise MHSA: Q, K (head-major), V^T, the whole H x S x S
 * probability map, then A*V into the head concat and the output projection.
 * Scratch layout (each part 4-byte aligned): row[S] int32 | Q | K | V^T | A | O.
 */
#include "tinytx/kernels.h"
#include "../tinytx_mhsa_layout.h"

tinytx_status tinytx_mhsa_s8(const tinytx_mhsa_dims *dims, const tinytx_mhsa_params *params,
			     const tinytx_mhsa_weights *weights, const int8_t *input,
			     int8_t *output, const tinytx_context *ctx)
{
	tinytx_status st = tinytx_check_mhsa_pointers(dims, params, weights, input, output);
	if (st != TINYTX_OK) {
		return st;
	}
	const int32_t need = tinytx_mhsa_s8_get_buffer_size(dims, tinytx_run_cores());
	if (need < 0) {
		return (tinytx_status)need;
	}
	st = tinytx_check_scratch(ctx, need);
	if (st != TINYTX_OK) {
		return st;
	}
	st = tinytx_check_mhsa_channels(dims, weights);
	if (st != TINYTX_OK) {
		return st;
	}
	const int32_t s = dims->seq_len, e = dims->embed_dim, h = dims->heads, p = dims->head_dim;
	const tinytx_activation full = {-128, 127};
	const tinytx_mhsa_layout l = tinytx_mhsa_scratch_layout(dims, 1);
	uint8_t *base = (uint8_t *)ctx->buf;
	int8_t *q = (int8_t *)(base + l.q), *k = (int8_t *)(base + l.k);
	int8_t *vt = (int8_t *)(base + l.vt), *o = (int8_t *)(base + l.o);
	uint8_t *a = base + l.a;

	tinytx_linear_dims proj = {s, e, h * p, h, TINYTX_LAYOUT_HEAD_MAJOR};
	tinytx_linear_params lp = {params->q, full, weights->q_ch.multipliers,
				   weights->q_ch.shifts};
	st = tinytx_linear_s8(&proj, &lp, input, weights->wq, weights->bq, q);
	if (st != TINYTX_OK) {
		return st;
	}
	lp.requant = params->k;
	lp.multipliers = weights->k_ch.multipliers;
	lp.shifts = weights->k_ch.shifts;
	st = tinytx_linear_s8(&proj, &lp, input, weights->wk, weights->bk, k);
	if (st != TINYTX_OK) {
		return st;
	}
	proj.layout = TINYTX_LAYOUT_HEAD_MAJOR_T;
	lp.requant = params->v;
	lp.multipliers = weights->v_ch.multipliers;
	lp.shifts = weights->v_ch.shifts;
	st = tinytx_linear_s8(&proj, &lp, input, weights->wv, weights->bv, vt);
	if (st != TINYTX_OK) {
		return st;
	}
	tinytx_attention_dims ad = {h, s, s, p, h};
	const tinytx_context score = {base, (int32_t)l.q}; /* the score row */
	st = tinytx_qk_softmax_s8(&ad, params->softmax, q, k, a, &score);
	if (st != TINYTX_OK) {
		return st;
	}
	st = tinytx_av_s8(&ad, params->av, a, vt, o);
	if (st != TINYTX_OK) {
		return st;
	}
	tinytx_linear_dims out = {s, h * p, e, 1, TINYTX_LAYOUT_TOKEN_MAJOR};
	lp.requant = params->out;
	lp.multipliers = weights->out_ch.multipliers;
	lp.shifts = weights->out_ch.shifts;
	return tinytx_linear_s8(&out, &lp, o, weights->wo, weights->bo, output);
}
