/*
 * Depth-first tiled MHSA (DFT): the layer-wise MHSA without its H x S x S map.
 *
 * Per head h: K_h [S][P] and V_h^T [P][S] once, then the query rows in tiles of
 * x = tile_rows rows: Q tile [x][P] -> probabilities [x][S] (QK^T + integer softmax)
 * -> A*V [x][P] (into the Q tile, which is dead by then) -> copied into the head
 * concatenation O [S][H*P] at column h*P. Last, Y = O Wo^T + bo.
 *
 * The work is done by the public primitive kernels on sub-blocks (one head, x rows),
 * so a kernel variant's optimized tinytx_linear_s8 / tinytx_qk_softmax_s8 /
 * tinytx_av_s8 serve the tiled block too. Bit-exact with tinytx_mhsa_s8 for every x.
 *
 * Scratch layout (each part starts 4-byte aligned; the last one is not padded):
 *   row (tinytx_qk_softmax_s8 scratch for one head, x rows) | K_h | V_h^T | Q tile |
 *   probabilities tile | O
 * The output may alias the input (X is not read after the last head); neither may
 * overlap the scratch.
 */
#include "tinytx/kernels.h"
#include "../tinytx_dft.h"

tinytx_status tinytx_mhsa_dft_s8(const tinytx_mhsa_dims *dims, int32_t tile_rows,
				 const tinytx_mhsa_params *params,
				 const tinytx_mhsa_weights *weights, const int8_t *input,
				 int8_t *output, const tinytx_context *ctx)
{
	tinytx_dft_layout l;
	tinytx_status st = tinytx_check_mhsa_pointers(dims, params, weights, input, output);
	if (st == TINYTX_OK) {
		st = tinytx_dft_scratch_layout(dims, tile_rows, 0, tinytx_run_cores(), &l);
	}
	if (st == TINYTX_OK) {
		st = tinytx_check_scratch(ctx, (int32_t)l.total);
	}
	if (st == TINYTX_OK) {
		st = tinytx_check_mhsa_channels(dims, weights);
	}
	if (st != TINYTX_OK) {
		return st;
	}
	const int32_t s = dims->seq_len, e = dims->embed_dim, h_dim = dims->heads;
	const int32_t p = dims->head_dim, hp = h_dim * p;
	const tinytx_activation full = {-128, 127};
	uint8_t *base = (uint8_t *)ctx->buf;
	/* the score row (one per core on riscv) */
	const tinytx_context score = {base, (int32_t)l.k};
	int8_t *k = (int8_t *)(base + l.k), *vt = (int8_t *)(base + l.vt);
	int8_t *q = (int8_t *)(base + l.tile), *o = (int8_t *)(base + l.o);
	uint8_t *a = base + l.a;
	tinytx_linear_params lp = {params->q, full, NULL, NULL};

	for (int32_t h = 0; h < h_dim; h++) {
		const size_t w_off = (size_t)h * p * e;
		tinytx_linear_dims head = {s, e, p, 1, TINYTX_LAYOUT_TOKEN_MAJOR};
		const tinytx_channels q_ch = tinytx_channel_rows(weights->q_ch, h * p);
		const tinytx_channels k_ch = tinytx_channel_rows(weights->k_ch, h * p);
		const tinytx_channels v_ch = tinytx_channel_rows(weights->v_ch, h * p);
		lp.requant = params->k;
		lp.multipliers = k_ch.multipliers;
		lp.shifts = k_ch.shifts;
		st = tinytx_linear_s8(&head, &lp, input, weights->wk + w_off,
				      tinytx_bias_rows(weights->bk, h * p), k);
		if (st != TINYTX_OK) {
			return st;
		}
		head.layout = TINYTX_LAYOUT_HEAD_MAJOR_T;
		lp.requant = params->v;
		lp.multipliers = v_ch.multipliers;
		lp.shifts = v_ch.shifts;
		st = tinytx_linear_s8(&head, &lp, input, weights->wv + w_off,
				      tinytx_bias_rows(weights->bv, h * p), vt);
		if (st != TINYTX_OK) {
			return st;
		}
		for (int32_t r0 = 0; r0 < s; r0 += tile_rows) {
			const int32_t rows = s - r0 < tile_rows ? s - r0 : tile_rows;
			tinytx_linear_dims qd = {rows, e, p, 1, TINYTX_LAYOUT_TOKEN_MAJOR};
			lp.requant = params->q;
			lp.multipliers = q_ch.multipliers;
			lp.shifts = q_ch.shifts;
			st = tinytx_linear_s8(&qd, &lp, input + (size_t)r0 * e, weights->wq + w_off,
					      tinytx_bias_rows(weights->bq, h * p), q);
			if (st != TINYTX_OK) {
				return st;
			}
			tinytx_attention_dims ad = {1, rows, s, p, 1};
			st = tinytx_qk_softmax_s8(&ad, params->softmax, q, k, a, &score);
			if (st != TINYTX_OK) {
				return st;
			}
			st = tinytx_av_s8(&ad, params->av, a, vt, q); /* [rows][P] */
			if (st != TINYTX_OK) {
				return st;
			}
			tinytx_dft_store_tile(o, q, r0, rows, h, p, hp);
		}
	}
	tinytx_linear_dims out = {s, hp, e, 1, TINYTX_LAYOUT_TOKEN_MAJOR};
	lp.requant = params->out;
	lp.multipliers = weights->out_ch.multipliers;
	lp.shifts = weights->out_ch.shifts;
	return tinytx_linear_s8(&out, &lp, o, weights->wo, weights->bo, output);
}
