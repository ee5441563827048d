/*
 * Cortex-M DSP linear layer, and the scratch-free 2 x 2 engine it shares with
 * tinytx_av_s8: two rows of a (int8, or uint8 probabilities) against two int8 rows
 * of b, both widened in registers (SXTB16/UXTB16 with and without ROR #8), SMLAD;
 * 22 instructions per 16 MACs. The output layout is fused into the stores: each
 * output goes to o(feature) + token * row_stride.
 *
 * The engine (tt_rows_s8 / tt_rows_u8, declared in tinytx_arm_common.h) runs a
 * column of tiles: a fixed pair of b rows against consecutive pairs of a rows.
 */
#include "tinytx_arm_common.h"
#include "tinytx/kernels.h"
#include "../tinytx_check.h"

/*
 * Assembly: the inner step needs all 14 registers (r0 a, r1 b, r2 steps left,
 * r3 stride, r4-r7 c00/c01/c10/c11, r8-r11 the widened a words, r12/lr one b word
 * widened in turn), so the context lives on the stack: the function copies
 * tt_rows (13 words) below its saved registers and addresses it from sp.
 * GCC 12 makes 30 instructions per step of the C version (spills), against 22 here.
 */
#define TT_ROWS_STEP(XTB, XTBR)                                                                    \
	"	ldr	r10, [r0, r3]\n"                                                           \
	"	ldr	r8, [r0], #4\n" XTBR("r9", "r8") XTB("r8", "r8") XTBR("r11", "r10")             \
		XTB("r10", "r10") "	ldr	lr, [r1, r3]\n"                                     \
	"	sxtb16	r12, lr\n"                                                                 \
	"	smlad	r5, r8, r12, r5\n"                                                         \
	"	smlad	r7, r10, r12, r7\n"                                                        \
	"	sxtb16	lr, lr, ror #8\n"                                                          \
	"	smlad	r5, r9, lr, r5\n"                                                          \
	"	smlad	r7, r11, lr, r7\n"                                                         \
	"	ldr	lr, [r1], #4\n"                                                            \
	"	sxtb16	r12, lr\n"                                                                 \
	"	smlad	r4, r8, r12, r4\n"                                                         \
	"	smlad	r6, r10, r12, r6\n"                                                        \
	"	sxtb16	lr, lr, ror #8\n"                                                          \
	"	smlad	r4, r9, lr, r4\n"                                                          \
	"	smlad	r6, r11, lr, r6\n"

#define TT_SXTB(D, S) "	sxtb16	" D ", " S "\n"
#define TT_SXTBR(D, S) "	sxtb16	" D ", " S ", ror #8\n"
#define TT_UXTB(D, S) "	uxtb16	" D ", " S "\n"
#define TT_UXTBR(D, S) "	uxtb16	" D ", " S ", ror #8\n"

/*
 * One element of the k % 4 tail: LDRSB/LDRB of a0, a1 (offset stride) and b0, b1,
 * then four SMLABB.
 */
#define TT_ROWS_TAIL(LDA)                                                                          \
	"	" LDA "	r9, [r0, r3]\n"                                                            \
	"	" LDA "	r8, [r0], #1\n"                                                            \
	"	ldrsb	r11, [r1, r3]\n"                                                           \
	"	ldrsb	r10, [r1], #1\n"                                                           \
	"	smlabb	r4, r8, r10, r4\n"                                                         \
	"	smlabb	r5, r8, r11, r5\n"                                                         \
	"	smlabb	r6, r9, r10, r6\n"                                                         \
	"	smlabb	r7, r9, r11, r7\n"

/*
 * The requantization of the four sums: one factor (m, round, right at sp + 24) for all
 * of them, or per channel (TT_RQ_PC): b0's factor for c00 (r4) and c10 (r6), b1's (at
 * sp + 52) for c01 (r5) and c11 (r7), two instructions more per tile.
 */
#define TT_RQ_ONE                                                                                  \
	"	add	r8, sp, #24\n"                                                             \
	"	ldm	r8, {r8, r9, r10}\n" /* m, round, right */                                \
	"	smmla	r4, r4, r8, r9\n"                                                          \
	"	smmla	r5, r5, r8, r9\n"                                                          \
	"	smmla	r6, r6, r8, r9\n"                                                          \
	"	smmla	r7, r7, r8, r9\n"                                                          \
	"	asr	r4, r4, r10\n"                                                             \
	"	asr	r5, r5, r10\n"                                                             \
	"	asr	r6, r6, r10\n"                                                             \
	"	asr	r7, r7, r10\n"

#define TT_RQ_PC                                                                                   \
	"	add	r8, sp, #24\n"                                                             \
	"	ldm	r8, {r8, r9, r10}\n" /* b0: m, round, right */                            \
	"	smmla	r4, r4, r8, r9\n"                                                          \
	"	smmla	r6, r6, r8, r9\n"                                                          \
	"	asr	r4, r4, r10\n"                                                             \
	"	asr	r6, r6, r10\n"                                                             \
	"	add	r8, sp, #52\n"                                                             \
	"	ldm	r8, {r8, r9, r10}\n" /* b1: m, round, right */                            \
	"	smmla	r5, r5, r8, r9\n"                                                          \
	"	smmla	r7, r7, r8, r9\n"                                                          \
	"	asr	r5, r5, r10\n"                                                             \
	"	asr	r7, r7, r10\n"

/* The three words of b1's factor (tt_rows offsets 52..63) below the copied context. */
#define TT_COPY_NONE ""
#define TT_COPY_PC                                                                                 \
	"	ldm	r0, {r2, r3, r4}\n"                                                        \
	"	add	r8, sp, #52\n"                                                             \
	"	stm	r8, {r2, r3, r4}\n"

/*
 * tt_rows is copied to sp + 0 .. 51 (field offsets as in the struct), with TT_COPY_PC
 * also its per-channel words to sp + 52 .. 63 (FRAME: 52 or 64 bytes).
 */
#define TT_ROWS_FN(NAME, XTB, XTBR, LDA, FRAME, COPY, RQ)                                          \
	"	.align	2\n"                                                                       \
	"	.global	" NAME "\n"                                                                \
	"	.type	" NAME ", %function\n"                                                     \
	"	.thumb_func\n" NAME ":\n"                                                          \
	"	push	{r4, r5, r6, r7, r8, r9, r10, r11, lr}\n"                                  \
	"	sub	sp, sp, #" FRAME "\n"                                                      \
	"	ldm	r0!, {r2, r3, r4, r5, r6, r7}\n"                                           \
	"	stm	sp, {r2, r3, r4, r5, r6, r7}\n"                                            \
	"	ldm	r0!, {r2, r3, r4, r5, r6, r7}\n"                                           \
	"	add	r8, sp, #24\n"                                                             \
	"	stm	r8, {r2, r3, r4, r5, r6, r7}\n"                                            \
	"	ldr	r2, [r0], #4\n" /* a_end */                                               \
	"	str	r2, [sp, #48]\n" COPY                                                      \
	"	mov	r0, r1\n" /* a */                                                         \
	"1:	ldm	sp, {r1, r3}\n"                                                            \
	"	ldrd	r4, r5, [sp, #16]\n"                                                       \
	"	mov	r6, r4\n"                                                                  \
	"	mov	r7, r5\n"                                                                  \
	"	ldr	r2, [sp, #8]\n"                                                            \
	"	lsrs	r2, r2, #1\n"                                                              \
	"	bcc	2f\n" TT_ROWS_STEP(XTB, XTBR) "2:	cmp	r2, #0\n"                             \
	"	beq	3f\n"                                                                      \
	"4:\n" TT_ROWS_STEP(XTB, XTBR) TT_ROWS_STEP(XTB, XTBR) "	subs	r2, r2, #1\n"           \
	"	bne	4b\n"                                                                      \
	"3:	ldr	r2, [sp, #12]\n"                                                           \
	"	cbz	r2, 6f\n"                                                                  \
	"5:\n" TT_ROWS_TAIL(LDA) "	subs	r2, r2, #1\n"                                         \
	"	bne	5b\n"                                                                      \
	"6:\n" RQ "	ssat	r4, #8, r4\n"                                                       \
	"	ssat	r5, #8, r5\n"                                                              \
	"	ssat	r6, #8, r6\n"                                                              \
	"	ssat	r7, #8, r7\n"                                                              \
	"	add	r8, sp, #36\n"                                                             \
	"	ldm	r8, {r8, r9, r10}\n" /* o0, o1, row stride */                             \
	"	strb	r4, [r8]\n"                                                                \
	"	strb	r6, [r8, r10]\n"                                                           \
	"	strb	r5, [r9]\n"                                                                \
	"	strb	r7, [r9, r10]\n"                                                           \
	"	add	r8, r8, r10, lsl #1\n"                                                     \
	"	add	r9, r9, r10, lsl #1\n"                                                     \
	"	strd	r8, r9, [sp, #36]\n"                                                       \
	"	add	r0, r3\n" /* the next pair of a rows */                                   \
	"	ldr	r2, [sp, #48]\n"                                                           \
	"	cmp	r0, r2\n"                                                                  \
	"	bne	1b\n"                                                                      \
	"	add	sp, sp, #" FRAME "\n"                                                      \
	"	pop	{r4, r5, r6, r7, r8, r9, r10, r11, pc}\n"                                  \
	"	.size	" NAME ", .-" NAME "\n"

__asm__("	.syntax unified\n"
	"	.thumb\n"
	"	.text\n" TT_ROWS_FN("tt_rows_s8", TT_SXTB, TT_SXTBR, "ldrsb", "52", TT_COPY_NONE,
				      TT_RQ_ONE)
		TT_ROWS_FN("tt_rows_u8", TT_UXTB, TT_UXTBR, "ldrb", "52", TT_COPY_NONE, TT_RQ_ONE)
			TT_ROWS_FN("tt_rows_s8_pc", TT_SXTB, TT_SXTBR, "ldrsb", "64", TT_COPY_PC,
				   TT_RQ_PC));

/* Where the output of feature n starts (token 0), and the stride between tokens. */
typedef struct {
	int32_t rows;
	int32_t head_dim;
	tinytx_layout layout;
} store_map;

static inline size_t col_offset(const store_map *m, int32_t n)
{
	switch (m->layout) {
	case TINYTX_LAYOUT_HEAD_MAJOR:
		return (size_t)(n / m->head_dim) * m->rows * m->head_dim + n % m->head_dim;
	case TINYTX_LAYOUT_HEAD_MAJOR_T:
		return (size_t)n * m->rows;
	default:
		return (size_t)n;
	}
}

/* Every output (s, n) with the simple C dot product (narrow clamps, small factors). */
static void linear_c(const tinytx_linear_dims *dims, const tinytx_linear_params *params,
		     const int8_t *input, const int8_t *weights, const int32_t *bias,
		     int8_t *output, const store_map *map, size_t row_stride)
{
	const int32_t k = dims->in_features;
	for (int32_t n = 0; n < dims->out_features; n++) {
		const int8_t *w = weights + (size_t)n * k;
		int8_t *o = output + col_offset(map, n);
		for (int32_t s = 0; s < dims->rows; s++) {
			const int32_t acc = tt_dot_1x1(input + (size_t)s * k, w, k, 0,
						       bias != NULL ? bias[n] : 0);
			o[s * row_stride] =
				tt_requant_s8(acc, params->requant, params->act.min, params->act.max);
		}
	}
}

/*
 * Per-channel factors: pairs of features, each with its own plan. When both plans are
 * fast and the clamp is the int8 range, the assembly engine's per-channel variant
 * (tt_rows_s8_pc, two instructions more per 2 x 2 tile); otherwise pairs of tokens
 * with the in-register 2 x 2 dot product and the C requantization.
 */
static void linear_per_channel(const tinytx_linear_dims *dims, const tinytx_linear_params *params,
			       const int8_t *input, const int8_t *weights, const int32_t *bias,
			       int8_t *output, const store_map *map, size_t row_stride)
{
	const int32_t k = dims->in_features, rows = dims->rows, n_dim = dims->out_features;
	const int32_t lo = params->act.min, hi = params->act.max;
	const int full = lo == -128 && hi == 127 && rows >= 2 && n_dim >= 2;
	for (int32_t n = 0; n < n_dim; n += 2) {
		if (full) { /* the engine reads adjacent rows: odd N overlaps the last pair */
			const int32_t m0 = n + 1 < n_dim ? n : n - 1;
			const tt_rq q0 = tt_rq_plan(tinytx_channel_requant(
				params->requant, params->multipliers, params->shifts, m0));
			const tt_rq q1 = tt_rq_plan(tinytx_channel_requant(
				params->requant, params->multipliers, params->shifts, m0 + 1));
			if (q0.fast && q1.fast) {
				tt_rows_column(tt_rows_s8_pc, input, weights + (size_t)m0 * k, k, rows,
					       bias != NULL ? bias[m0] : 0,
					       bias != NULL ? bias[m0 + 1] : 0, &q0, &q1,
					       output + col_offset(map, m0),
					       output + col_offset(map, m0 + 1), (int32_t)row_stride);
				continue;
			}
		}
		const int32_t n1 = n + 1 < n_dim ? n + 1 : n; /* odd N: the last feature twice */
		const int8_t *w0 = weights + (size_t)n * k, *w1 = weights + (size_t)n1 * k;
		const tt_rq p0 = tt_rq_plan(
			tinytx_channel_requant(params->requant, params->multipliers, params->shifts, n));
		const tt_rq p1 = tt_rq_plan(tinytx_channel_requant(
			params->requant, params->multipliers, params->shifts, n1));
		const int32_t b0 = bias != NULL ? bias[n] : 0, b1 = bias != NULL ? bias[n1] : 0;
		int8_t *o0 = output + col_offset(map, n), *o1 = output + col_offset(map, n1);
		int32_t s = 0;
		for (; s + 2 <= rows; s += 2) {
			int32_t c[4] = {b0, b1, b0, b1};
			const int8_t *x0 = input + (size_t)s * k;
			tt_dot_2x2(x0, x0 + k, w0, w1, k, 0, c);
			const int32_t y00 = tt_rq_apply(c[0], &p0), y01 = tt_rq_apply(c[1], &p1);
			const int32_t y10 = tt_rq_apply(c[2], &p0), y11 = tt_rq_apply(c[3], &p1);
			o0[s * row_stride] = (int8_t)(y00 < lo ? lo : (y00 > hi ? hi : y00));
			o1[s * row_stride] = (int8_t)(y01 < lo ? lo : (y01 > hi ? hi : y01));
			o0[(s + 1) * row_stride] = (int8_t)(y10 < lo ? lo : (y10 > hi ? hi : y10));
			o1[(s + 1) * row_stride] = (int8_t)(y11 < lo ? lo : (y11 > hi ? hi : y11));
		}
		if (s < rows) {
			int32_t c[2] = {b0, b1};
			tt_dot_1x2(input + (size_t)s * k, w0, w1, k, 0, c);
			const int32_t y0 = tt_rq_apply(c[0], &p0), y1 = tt_rq_apply(c[1], &p1);
			o0[s * row_stride] = (int8_t)(y0 < lo ? lo : (y0 > hi ? hi : y0));
			o1[s * row_stride] = (int8_t)(y1 < lo ? lo : (y1 > hi ? hi : y1));
		}
	}
}

tinytx_status tinytx_linear_s8(const tinytx_linear_dims *dims, const tinytx_linear_params *params,
			       const int8_t *input, const int8_t *weights, const int32_t *bias,
			       int8_t *output)
{
	tinytx_status st = tinytx_check_linear_call(dims, params, input, weights, output);
	if (st != TINYTX_OK) {
		return st;
	}
	const int32_t rows = dims->rows, k = dims->in_features, n_dim = dims->out_features;
	const store_map map = {rows, n_dim / dims->heads, dims->layout};
	const size_t row_stride = dims->layout == TINYTX_LAYOUT_TOKEN_MAJOR ? (size_t)n_dim
				  : dims->layout == TINYTX_LAYOUT_HEAD_MAJOR ? (size_t)map.head_dim
									     : 1u;
	if (params->multipliers != NULL) {
		linear_per_channel(dims, params, input, weights, bias, output, &map, row_stride);
		return TINYTX_OK;
	}
	const tt_rq rq = tt_rq_plan(params->requant);
	if (!rq.fast || params->act.min != -128 || params->act.max != 127 || rows < 2 ||
	    n_dim < 2) {
		linear_c(dims, params, input, weights, bias, output, &map, row_stride);
		return TINYTX_OK;
	}
	for (int32_t n = 0; n < n_dim; n += 2) {
		const int32_t n0 = n + 1 < n_dim ? n : n - 1; /* odd N: the last pair overlaps */
		const int32_t b0 = bias != NULL ? bias[n0] : 0, b1 = bias != NULL ? bias[n0 + 1] : 0;
		tt_rows_column(tt_rows_s8, input, weights + (size_t)n0 * k, k, rows, b0, b1, &rq, NULL,
			       output + col_offset(&map, n0), output + col_offset(&map, n0 + 1),
			       (int32_t)row_stride);
	}
	return TINYTX_OK;
}
