/*
 * Depth-first tiled fused-weight self-attention: tinytx_fwsa_s8 without its H x S x S map.
 *
 * The keys are the input X itself (shared by every head), so per head h only V_h^T [P][S]
 * is computed once; then the query rows in tiles of x = tile_rows rows: T tile
 * [x][E] = X_tile Wt_h + bt_h -> probabilities [x][S] (T X^T + integer softmax) -> A*V
 * [x][P] (into the T tile, dead by then) -> copied into the head concatenation O [S][H*P].
 * Last, Y = O Wo^T + bo. Composed of the public primitive kernels (one head, x rows), so a
 * variant's optimized primitives serve it. Bit-exact with tinytx_fwsa_s8 for every x.
 *
 * Scratch layout (each part starts 4-byte aligned; the last one is not padded):
 *   row (tinytx_qk_softmax_s8 scratch for one head, x rows) | V_h^T | tile [x][max(E, P)] |
 *   probabilities tile | O
 * The output may alias the input (X is not read after the last head); neither may
 * overlap the scratch.
 */
#include "tinytx/kernels.h"
#include "../tinytx_dft.h"

tinytx_status tinytx_fwsa_dft_s8(const tinytx_mhsa_dims *dims, int32_t tile_rows,
				 const tinytx_fwsa_params *params,
				 const tinytx_fwsa_weights *weights, const int8_t *input,
				 int8_t *output, const tinytx_context *ctx)
{
	tinytx_dft_layout l;
	tinytx_status st = tinytx_check_fwsa_pointers(dims, params, weights, input, output);
	if (st == TINYTX_OK) {
		st = tinytx_dft_scratch_layout(dims, tile_rows, 1, tinytx_run_cores(), &l);
	}
	if (st == TINYTX_OK) {
		st = tinytx_check_scratch(ctx, (int32_t)l.total);
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
	int8_t *vt = (int8_t *)(base + l.vt), *tile = (int8_t *)(base + l.tile);
	int8_t *o = (int8_t *)(base + l.o);
	uint8_t *a = base + l.a;
	tinytx_linear_params lp = {params->v, full, NULL, NULL};

	for (int32_t h = 0; h < h_dim; h++) {
		tinytx_linear_dims vd = {s, e, p, 1, TINYTX_LAYOUT_HEAD_MAJOR_T};
		lp.requant = params->v;
		st = tinytx_linear_s8(&vd, &lp, input, weights->wv + (size_t)h * p * e,
				      tinytx_bias_rows(weights->bv, h * p), vt);
		if (st != TINYTX_OK) {
			return st;
		}
		for (int32_t r0 = 0; r0 < s; r0 += tile_rows) {
			const int32_t rows = s - r0 < tile_rows ? s - r0 : tile_rows;
			tinytx_linear_dims td = {rows, e, e, 1, TINYTX_LAYOUT_TOKEN_MAJOR};
			lp.requant = params->t;
			st = tinytx_linear_s8(&td, &lp, input + (size_t)r0 * e,
					      weights->wt + (size_t)h * e * e,
					      tinytx_bias_rows(weights->bt, h * e), tile);
			if (st != TINYTX_OK) {
				return st;
			}
			tinytx_attention_dims sd = {1, rows, s, e, 1};
			st = tinytx_qk_softmax_s8(&sd, params->softmax, tile, input, a, &score);
			if (st != TINYTX_OK) {
				return st;
			}
			tinytx_attention_dims avd = {1, rows, s, p, 1};
			st = tinytx_av_s8(&avd, params->av, a, vt, tile); /* [rows][P] */
			if (st != TINYTX_OK) {
				return st;
			}
			tinytx_dft_store_tile(o, tile, r0, rows, h, p, hp);
		}
	}
	tinytx_linear_dims out = {s, hp, e, 1, TINYTX_LAYOUT_TOKEN_MAJOR};
	lp.requant = params->out;
	return tinytx_linear_s8(&out, &lp, o, weights->wo, weights->bo, output);
}
