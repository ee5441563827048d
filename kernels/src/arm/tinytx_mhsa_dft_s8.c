/*
 * Cortex-M DSP depth-first tiled (DFT) multi-head self-attention, bit-exact with the
 * layer-wise golden block for every tile size, and the engine of the fused-weight
 * blocks (tinytx_fwsa_s8.c, tinytx_fwsa_dft_s8.c: tinytx_arm_attention.h).
 *
 * The schedule of the fused layer-wise block (tinytx_mhsa_s8.c) with query rows in
 * tiles, so that Q exists for one tile only and X is widened a chunk at a time:
 *
 *   per head h:
 *     K_h [S][P], V_h^T [P][S] as int16 W2, X widened in chunks of `xrows` rows
 *     (FWSA: no K; the keys are X itself, widened whole once)
 *     per tile of `rows` query rows (tile_rows rounded up to even: the tiles run on
 *     pairs of rows):
 *       Q tile [rows][P] (FWSA: T tile [rows][E]) from the tile's X rows
 *       per pair of query rows: scores [2][S] -> integer softmax -> probabilities
 *       [2][S] -> A*V -> O [2][P] -> the output (below)
 *
 * Every product runs in the 2 x 2 int16 tile engine of tinytx_arm_tiles.h. The output
 * projection is, whichever needs less memory (`ymode`):
 *   - Yacc [S][E] int32 += O [2][P] . Wo_h^T per pair of rows (Wo_h widened per head),
 *     Y = requant(Yacc) at the end: the layer-wise block's way;
 *   - O kept as int8 [S][H*P] (the head concatenation), Y = tinytx_linear_s8(O) at the
 *     end (smaller when E is large against H*P, or S large).
 *
 * Scratch (S2, E2, P2 = rounded up to even; sb, eb, pb, qb = blocks of 4 of S, E, P and
 * of the score reduction, P or E; every part a multiple of 4 bytes but the last):
 *   Kw 2*S2*4*pb (MHSA only) | Xw 2*xrows*4*eb | Vw 2*P2*4*sb |
 *   W 2*max(P2, E2 if FWSA)*4*eb | Q tile 2*rows*4*qb | probabilities 16*sb |
 *   O pair 16*pb | Wo_h 2*E2*4*pb (ymode) | scores 32*sb |
 *   Yacc 4*S2*E2 (ymode) or O int8 S*H*P
 * with rows = tile_rows rounded up to even and xrows = min(S2, max(rows, 16)) (FWSA:
 * S2): tt_attn_layout_of in tinytx_arm_layout.h (kernels/abi exports it to the host
 * tools). Everything below the scores is zeroed once: the padding of every W2 operand
 * reads as zero on at least one side of each product (odd rows of a matrix get a zero
 * padding row when widened). The last byte of
 * the scratch is always written (the planner's canary proof measures it). The scratch
 * must be 4-byte aligned; the output may alias the input (X is not read after the last
 * tile).
 */
#include "tinytx_arm_common.h"
#include "tinytx_arm_attention.h"
#include "tinytx_arm_tiles.h"
#include "tinytx/kernels.h"
#include "../tinytx_check.h"

/* Stages stay functions of their own, so a profile attributes instructions to them. */
#define TT_NOINLINE __attribute__((noinline))

/* ------------------------------------------------------------ the block */


typedef struct {
	int32_t s, e, h, p, hp;
	int32_t eb, pb, sb, qb; /* qb: blocks of the score reduction (P, or E for FWSA) */
	int32_t rows, xrows;
	int fused, ymode;
	const tt_attn_block *blk;
	tt_rq q, k, v, av, out;
	tt_softmax_plan sm;
	tt_exp4_fn exp4; /* NULL: the C loop of tt_softmax_exp_row */
	const int8_t *x;
	int16_t *kw, *xw, *vw, *ww, *qw, *pw, *o, *wo;
	int32_t *sc, *yacc;
	int8_t *o8;
	int32_t x_first, x_count; /* the X rows held (widened) in xw */
} attn_ctx;

/*
 * Widens n rows (length k, row i at src + i * stride) into the W2 matrix dst; an odd
 * n's padding row is zeroed (the buffer may hold rows of another matrix there).
 */
static void dft_widen_rows(int16_t *dst, const int8_t *src, int32_t n, int32_t k, size_t stride)
{
	tt_w2_widen(dst, src, n, k, stride);
	if (n & 1) {
		const int32_t kb = tt_w2_blocks(k);
		int32_t *pad = (int32_t *)(dst + (size_t)(n >> 1) * (size_t)kb * 8u + 4u);
		for (int32_t b = 0; b < kb; b++) {
			pad[4 * b] = 0;
			pad[4 * b + 1] = 0;
		}
	}
}

/*
 * The W2 pairs of X from row r0 (even) on, n rows of them held: if they are not, rows
 * r0 .. r0 + span - 1 are widened (n <= span <= xrows).
 */
static const int16_t *dft_x_pairs(attn_ctx *c, int32_t r0, int32_t n, int32_t span)
{
	if (c->x_count == 0 || r0 < c->x_first || r0 + n > c->x_first + c->x_count) {
		const int32_t count = c->s - r0 < span ? c->s - r0 : span;
		dft_widen_rows(c->xw, c->x + (size_t)r0 * c->e, count, c->e, (size_t)c->e);
		c->x_first = r0;
		c->x_count = count;
	}
	return c->xw + (size_t)((r0 - c->x_first) >> 1) * c->eb * 8u;
}

/*
 * A projection of n features (the rows in W2 at c->ww, bias and per-channel tables
 * from the head's first feature on) against nt token pairs b of X. transposed: the
 * output's rows are tokens (Q, K, T: a W2 matrix of kb_out blocks, token pair j0 its
 * first); else its rows are the features (V^T: kb_out blocks of tokens, from token
 * pair j0 on).
 */
static TT_NOINLINE void dft_project(const attn_ctx *c, const int32_t *bias, const tt_rq *rq,
				    tinytx_channels ch, int32_t n, const int16_t *b, int32_t nt,
				    int transposed, int16_t *out, int32_t kb_out, int32_t j0)
{
	tt_tiles t;
	t.kb = c->eb;
	if (ch.multipliers == NULL && rq->fast) {
		/* per-tensor: tt_tiles_rq's fast case called straight, fields set once */
		t.m = rq->rq.multiplier;
		t.round = rq->round;
		t.right = rq->right;
		t.b_end = b + (size_t)nt * (size_t)c->eb * 8u;
		const size_t row_pair = (size_t)kb_out * 8u;
		for (int32_t i = 0; 2 * i < n; i++) {
			const int32_t f0 = 2 * i, f1 = 2 * i + 1 < n ? 2 * i + 1 : 2 * i;
			t.a = c->ww + (size_t)i * c->eb * 8u;
			t.c[0] = t.c[1] = bias != NULL ? bias[f0] : 0;
			t.c[2] = t.c[3] = bias != NULL && f1 != f0 ? bias[f1] : 0;
			if (transposed) {
				t.out = out + (size_t)j0 * row_pair + (size_t)(i >> 1) * 8u + (size_t)(i & 1);
				t.delta = (int32_t)(2 * row_pair);
				tt_tiles_rqt_c(&t.a, b);
			} else {
				t.out = out + (size_t)i * row_pair + (size_t)(j0 >> 1) * 8u + (size_t)(j0 & 1);
				t.delta = (j0 & 1) ? 14 : 2;
				tt_tiles_rq_c(&t.a, b);
			}
		}
		return;
	}
	for (int32_t i = 0; 2 * i < n; i++) {
		const int32_t f0 = 2 * i, f1 = 2 * i + 1 < n ? 2 * i + 1 : 2 * i;
		t.a = c->ww + (size_t)i * c->eb * 8u;
		t.c[0] = t.c[1] = bias != NULL ? bias[f0] : 0;
		t.c[2] = t.c[3] = bias != NULL && f1 != f0 ? bias[f1] : 0;
		const tt_rq *r0 = rq, *r1 = rq;
		tt_rq pc[2];
		if (ch.multipliers != NULL) { /* per-channel: features f0, f1 (padding: any) */
			const int32_t *m = ch.multipliers, *sh = ch.shifts;
			pc[0] = tt_rq_plan(tinytx_channel_requant(rq->rq, m, sh, f0));
			pc[1] = tt_rq_plan(tinytx_channel_requant(rq->rq, m, sh, f1));
			r0 = &pc[0];
			r1 = &pc[1];
		}
		if (transposed) {
			const size_t row_pair = (size_t)kb_out * 8u;
			int16_t *o = out + (size_t)j0 * row_pair + (size_t)(i >> 1) * 8u + (size_t)(i & 1);
			tt_tiles_rq(&t, 1, b, nt, r0, r1, o, 0, row_pair);
		} else {
			int16_t *o = out + (size_t)i * (size_t)kb_out * 8u + (size_t)(j0 >> 1) * 8u;
			o += j0 & 1;
			tt_tiles_rq(&t, 0, b, nt, r0, r1, o, j0 & 1, 0);
		}
	}
}

/*
 * Softmax of one score row (max its maximum; capacity s4 = 4 * sb) into row r of the
 * probability pair; the row's padding (tt_exp_row) leaves the padding of the
 * probabilities 0.
 */
static TT_NOINLINE void dft_softmax_row(const attn_ctx *c, int32_t *sc, int32_t max, int32_t r)
{
	const int32_t s4 = 4 * c->sb;
	const uint32_t sum = tt_exp_row(sc, c->s, s4, max, c->exp4, &c->sm);
	const uint32_t *e = (const uint32_t *)sc;
	int32_t *dst = (int32_t *)(c->pw + 4 * r);
	if (tt_prob_unclamped(sum)) {
		tt_prob4_w2(e, e + s4, dst, sum);
	} else {
		tt_prob4_w2_clamp(e, e + s4, dst, sum);
	}
}

/* Scores of a pair of query rows (rows: 1 or 2 of them) into sc0, sc1 and maxima. */
static TT_NOINLINE void dft_scores_pair(const attn_ctx *c, const int16_t *qpair, int32_t rows,
				    int32_t *sc0, int32_t *sc1, int32_t max[2])
{
	const int32_t s = c->s;
	const int16_t *keys = c->fused ? c->xw : c->kw;
	const size_t pair = (size_t)c->qb * 8u;
	const int32_t *a = (const int32_t *)qpair;
	max[0] = max[1] = INT32_MIN;
	if (!c->fused && c->p <= 2) { /* keys packed one word each (dft_head_keys_values) */
		const int32_t *k = (const int32_t *)keys;
		for (int32_t r = 0; r < rows; r++) {
			int32_t *sc = r == 0 ? sc0 : sc1;
			const int32_t q = tt_pack16(a[2 * r], a[2 * r + 1]);
			const int32_t s4 = s & ~3;
			if (s4 > 0) {
				tt_qk_row_p2(q, k, k + s4, sc, &max[r]);
			}
			for (int32_t j = s4; j < s; j++) {
				sc[j] = __smuad(q, k[j]);
				max[r] = tt_max(max[r], sc[j]);
			}
		}
		return;
	}
	if (c->qb == 1) {
		const int32_t *k = (const int32_t *)keys;
		for (int32_t r = 0; r < rows; r++) {
			int32_t *sc = r == 0 ? sc0 : sc1;
			if (s >= 2) {
				tt_qk_row_kb1(a + 2 * r, k, k + 4 * (s >> 1), sc, &max[r]);
			}
			if (s & 1) {
				const int32_t *kl = k + 2 * (s - 1);
				sc[s - 1] = __smlad(a[2 * r + 1], kl[1], __smuad(a[2 * r], kl[0]));
				max[r] = tt_max(max[r], sc[s - 1]);
			}
		}
		return;
	}
	tt_tiles t;
	t.a = qpair;
	t.kb = c->qb;
	t.c[0] = t.c[1] = t.c[2] = t.c[3] = 0;
	t.o0 = sc0;
	t.o1 = sc1;
	t.max0 = INT32_MIN;
	t.max1 = INT32_MIN;
	if (s >= 2) {
		t.b_end = keys + (size_t)(s >> 1) * pair;
		tt_tiles_max_c(&t.a, keys);
	}
	if (s & 1) { /* the last key pair holds one key: its padding must not count */
		t.b_end = keys + (size_t)((s + 1) >> 1) * pair;
		tt_tiles_raw_c(&t.a, keys + (size_t)(s >> 1) * pair);
		t.max0 = tt_max(t.max0, sc0[s - 1]);
		t.max1 = tt_max(t.max1, sc1[s - 1]);
	}
	max[0] = t.max0;
	max[1] = t.max1;
}

/* A*V of the probability pair into the O pair ([2][P] W2). */
static TT_NOINLINE void dft_av_pair(const attn_ctx *c)
{
	tt_tiles t;
	t.a = c->pw;
	t.kb = c->sb;
	t.c[0] = t.c[1] = t.c[2] = t.c[3] = 0;
	tt_tiles_rq(&t, 0, c->vw, (c->p + 1) >> 1, &c->av, &c->av, c->o, 0, 0);
}

/* Scores, softmax and A*V of a pair of query rows (rows: 1 or 2), into the O pair. */
static TT_NOINLINE void dft_attention_pair(const attn_ctx *c, const int16_t *qpair, int32_t rows)
{
	int32_t *sc0 = c->sc, *sc1 = c->sc + 4 * c->sb;
	int32_t max[2];
	dft_scores_pair(c, qpair, rows, sc0, sc1, max);
	dft_softmax_row(c, sc0, max[0], 0);
	if (rows == 2) {
		dft_softmax_row(c, sc1, max[1], 1);
	}
	dft_av_pair(c);
}

/* ymode: Yacc rows 2g, 2g + 1 += O pair . Wo_h^T. */
static TT_NOINLINE void dft_out_pair(const attn_ctx *c, int32_t g)
{
	const size_t e2 = (size_t)tt_even64(c->e);
	tt_tiles t;
	t.a = c->o;
	t.kb = c->pb;
	t.i0 = t.o0 = c->yacc + (size_t)(2 * g) * e2;
	t.i1 = t.o1 = c->yacc + (size_t)(2 * g + 1) * e2;
	t.b_end = c->wo + (size_t)((c->e + 1) >> 1) * c->pb * 8u;
	tt_tiles_raw_s(&t.a, c->wo);
}

/* Otherwise: the O pair's rows into O [S][H*P] at row `row`, head hd's columns. */
static TT_NOINLINE void dft_store_o8(const attn_ctx *c, int32_t hd, int32_t row, int32_t rows)
{
	for (int32_t r = 0; r < rows; r++) {
		int8_t *dst = c->o8 + (size_t)(row + r) * c->hp + (size_t)hd * c->p;
		for (int32_t k = 0; k < c->p; k++) {
			dst[k] = (int8_t)c->o[tt_w2_index(c->pb, r, k)];
		}
	}
}

/* ymode: Y = requant(Yacc). */
static TT_NOINLINE void dft_yacc_to_output(const attn_ctx *c, int8_t *y)
{
	tt_yacc_to_output(c->yacc, c->s, c->e, &c->out, c->blk->out_ch, y);
}

/* Q (or T) of a tile's query rows, carrying the softmax pre-scale 2^up. */
static TT_NOINLINE void dft_query_tile(attn_ctx *c, int32_t hd, int32_t r0, int32_t n)
{
	const tt_attn_block *blk = c->blk;
	const int32_t qd = c->fused ? c->e : c->p;
	const int32_t first = hd * qd;
	const int32_t *bias = blk->bq != NULL ? blk->bq + first : NULL;
	/* whole tiles per widening, so that a tile never straddles two */
	const int16_t *x = dft_x_pairs(c, r0, n, (c->xrows / c->rows) * c->rows);
	dft_project(c, bias, &c->q, tinytx_channel_rows(blk->q_ch, first), qd, x, (n + 1) >> 1, 1,
		    c->qw, c->qb, 0);
	if (c->sm.up > 0) {
		const size_t count = tt_w2_halfwords(n, c->qb);
		for (size_t i = 0; i < count; i++) {
			c->qw[i] = (int16_t)(c->qw[i] * (1 << c->sm.up));
		}
	}
}

/* K_h and V_h^T of head hd (FWSA: V_h^T only; its keys are X), then W_q or W_t widened. */
static TT_NOINLINE void dft_head_keys_values(attn_ctx *c, int32_t hd)
{
	const tt_attn_block *blk = c->blk;
	const int32_t s = c->s, e = c->e, p = c->p, first = hd * p;
	const size_t wrows = (size_t)first * (size_t)e;
	const int32_t *bk = blk->bk != NULL ? blk->bk + first : NULL;
	const int32_t *bv = blk->bv != NULL ? blk->bv + first : NULL;
	const tinytx_channels vch = tinytx_channel_rows(blk->v_ch, first);
	if (c->fused) {
		dft_widen_rows(c->ww, blk->wv + wrows, p, e, (size_t)e);
		dft_project(c, bv, &c->v, vch, p, c->xw, (s + 1) >> 1, 0, c->vw, c->sb, 0);
		dft_widen_rows(c->ww, blk->wq + (size_t)hd * e * e, e, e, (size_t)e);
		return;
	}
	const tinytx_channels kch = tinytx_channel_rows(blk->k_ch, first);
	const int32_t xr = c->xrows;
	dft_widen_rows(c->ww, blk->wk + wrows, p, e, (size_t)e);
	for (int32_t r0 = 0; r0 < s; r0 += xr) {
		const int32_t n = s - r0 < xr ? s - r0 : xr;
		const int16_t *x = dft_x_pairs(c, r0, n, xr);
		dft_project(c, bk, &c->k, kch, p, x, (n + 1) >> 1, 1, c->kw, c->pb, r0 >> 1);
	}
	if (p <= 2) { /* keys packed one word each, [k0, k1], in place (SMUAD scores) */
		int32_t *k = (int32_t *)c->kw;
		for (int32_t j = 0; j < s; j++) {
			k[j] = tt_pack16(k[2 * j], k[2 * j + 1]);
		}
	}
	/* backwards: the chunk in xw is reused, and the first one is left for the Q tiles */
	dft_widen_rows(c->ww, blk->wv + wrows, p, e, (size_t)e);
	for (int32_t r0 = ((s - 1) / xr) * xr; r0 >= 0; r0 -= xr) {
		const int32_t n = s - r0 < xr ? s - r0 : xr;
		const int16_t *x = dft_x_pairs(c, r0, n, xr);
		dft_project(c, bv, &c->v, vch, p, x, (n + 1) >> 1, 0, c->vw, c->sb, r0 >> 1);
	}
	dft_widen_rows(c->ww, blk->wq + wrows, p, e, (size_t)e);
}

tinytx_status tt_attn_run(const tinytx_mhsa_dims *dims, int32_t tile_rows,
			  const tt_attn_block *blk, const int8_t *input, int8_t *output,
			  const tinytx_context *ctx)
{
	tt_attn_layout l;
	tinytx_status st = tt_attn_layout_of(dims, tile_rows, blk->fused, &l);
	if (st != TINYTX_OK) {
		return st;
	}
	const tinytx_requant rqs[6] = {blk->q, blk->k, blk->v, blk->softmax, blk->av, blk->out};
	for (int i = 0; i < 6; i++) {
		if ((i != 1 || !blk->fused) && !tinytx_requant_valid(rqs[i])) { /* FWSA: no k */
			return TINYTX_ERR_PARAM;
		}
	}
	st = tinytx_check_scratch(ctx, (int32_t)l.total);
	if (st != TINYTX_OK) {
		return st;
	}
	if (((uintptr_t)ctx->buf & 3u) != 0u) {
		return TINYTX_ERR_PARAM;
	}
	uint8_t *base = (uint8_t *)ctx->buf;
	attn_ctx c;
	c.s = dims->seq_len;
	c.e = dims->embed_dim;
	c.h = dims->heads;
	c.p = dims->head_dim;
	c.hp = c.h * c.p;
	c.eb = tt_w2_blocks(c.e);
	c.pb = tt_w2_blocks(c.p);
	c.sb = tt_w2_blocks(c.s);
	c.qb = blk->fused ? c.eb : c.pb;
	c.rows = l.rows;
	c.xrows = l.xrows;
	c.fused = blk->fused;
	c.ymode = l.ymode;
	c.blk = blk;
	c.q = tt_rq_plan(blk->q);
	c.k = tt_rq_plan(blk->k);
	c.v = tt_rq_plan(blk->v);
	c.av = tt_rq_plan(blk->av);
	c.out = tt_rq_plan(blk->out);
	/* |q . k| <= D * 128 * 128 (D = P, or E for FWSA); Q is int16, so up <= 8 */
	c.sm = tt_softmax_plan_for(blk->softmax, (int64_t)(blk->fused ? c.e : c.p) << 14, 8);
#if TINYTX_ARM_EXP_TABLE /* one table load per element (tinytx_arm_common.h) */
	c.exp4 = c.sm.mode == TT_LOGIT_SCALED                         ? tt_exp4x_scaled
		 : c.sm.mode == TT_LOGIT_HIGH && c.sm.right == 1 ? tt_exp4x_h1
								: NULL;
#else
	c.exp4 = c.sm.mode == TT_LOGIT_SCALED                         ? tt_exp4_scaled
		 : c.sm.mode == TT_LOGIT_HIGH && c.sm.right == 1 ? tt_exp4_h1
								: NULL;
#endif
	c.x = input;
	c.kw = (int16_t *)(base + l.kw);
	c.xw = (int16_t *)(base + l.xw);
	c.vw = (int16_t *)(base + l.vw);
	c.ww = (int16_t *)(base + l.w);
	c.qw = (int16_t *)(base + l.qw);
	c.pw = (int16_t *)(base + l.pw);
	c.o = (int16_t *)(base + l.o);
	c.wo = (int16_t *)(base + l.wo);
	c.sc = (int32_t *)(base + l.sc);
	c.yacc = (int32_t *)(base + l.acc);
	c.o8 = (int8_t *)(base + l.acc);
	c.x_first = 0;
	c.x_count = 0;

	/* every W2 padding must read as zero */
	tt_zero_words(base, (size_t)l.sc);
	if (c.fused) { /* the keys: X whole */
		(void)dft_x_pairs(&c, 0, c.s, c.s);
	}
	const size_t e2 = (size_t)tt_even64(c.e);
	if (c.ymode) { /* Yacc rows start as the output bias (padding 0) */
		tt_zero_words(c.yacc, e2 * sizeof(int32_t));
		if (blk->bo != NULL) {
			tt_copy_words(c.yacc, blk->bo, (size_t)c.e);
		}
		for (int32_t t = 1; t < (int32_t)tt_even64(c.s); t++) {
			tt_copy_words(c.yacc + (size_t)t * e2, c.yacc, e2);
		}
	}
	for (int32_t hd = 0; hd < c.h; hd++) {
		dft_head_keys_values(&c, hd);
		if (c.ymode) { /* Wo's columns of head hd ([E][P]) */
			tt_w2_widen(c.wo, blk->wo + (size_t)hd * c.p, c.e, c.p, (size_t)c.hp);
		}
		for (int32_t r0 = 0; r0 < c.s; r0 += c.rows) {
			const int32_t n = c.s - r0 < c.rows ? c.s - r0 : c.rows;
			dft_query_tile(&c, hd, r0, n);
			for (int32_t i = 0; 2 * i < n; i++) {
				const int32_t rows = n - 2 * i < 2 ? 1 : 2;
				dft_attention_pair(&c, c.qw + (size_t)i * c.qb * 8u, rows);
				if (c.ymode) {
					dft_out_pair(&c, (r0 >> 1) + i);
				} else {
					dft_store_o8(&c, hd, r0 + 2 * i, rows);
				}
			}
		}
	}
	if (c.ymode) {
		dft_yacc_to_output(&c, output);
		return TINYTX_OK;
	}
	const tinytx_linear_dims od = {c.s, c.hp, c.e, 1, TINYTX_LAYOUT_TOKEN_MAJOR};
	const tinytx_linear_params op = {blk->out, {-128, 127}, blk->out_ch.multipliers,
					 blk->out_ch.shifts};
	return tinytx_linear_s8(&od, &op, c.o8, blk->wo, blk->bo, output);
}

/* ------------------------------------------------------------ tinytx_mhsa_dft_s8 */

tinytx_status tinytx_mhsa_dft_s8(const tinytx_mhsa_dims *dims, int32_t tile_rows,
				 const tinytx_mhsa_params *params,
				 const tinytx_mhsa_weights *weights, const int8_t *input,
				 int8_t *output, const tinytx_context *ctx)
{
	tinytx_status st = tinytx_check_mhsa_pointers(dims, params, weights, input, output);
	if (st == TINYTX_OK) {
		tt_attn_layout l;
		st = tt_attn_layout_of(dims, tile_rows, 0, &l);
	}
	if (st == TINYTX_OK) {
		st = tinytx_check_mhsa_channels(dims, weights);
	}
	if (st != TINYTX_OK) {
		return st;
	}
	const tt_attn_block blk = {
		.fused = 0,
		.wq = weights->wq, .wk = weights->wk, .wv = weights->wv, .wo = weights->wo,
		.bq = weights->bq, .bk = weights->bk, .bv = weights->bv, .bo = weights->bo,
		.q_ch = weights->q_ch, .k_ch = weights->k_ch, .v_ch = weights->v_ch,
		.out_ch = weights->out_ch,
		.q = params->q, .k = params->k, .v = params->v, .softmax = params->softmax,
		.av = params->av, .out = params->out,
	};
	return tt_attn_run(dims, tile_rows, &blk, input, output, ctx);
}
