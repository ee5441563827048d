/*
 * Cortex-M DSP linear layer on sparse weights: 4 tokens per pass over the weight rows
 * (tinytx_arm_sparse.h), bit-exact with tinytx_linear_s8 on the decoded weights.
 */
#include "tinytx_arm_sparse.h"
#include "tinytx/kernels.h"

/* The first part of a row: bias into the 4 sums, its end of gaps (r9), x (r11) at position 0. */
#define TT_SP_ROW_HEAD                                                                             \
	"1:	ldmia	r3!, {r4, r5, r6, r7, r9, r11}\n" /* bias x 4, end of gaps, x16 */

/* Rows that may be empty: skip the walk when the row has no entry. */
#define TT_SP_EMPTY_CHECK                                                                          \
	"	cmp	r8, r9\n"                                                                  \
	"	beq	3f\n"

/* The requantization of the 4 sums with the row's plan, the stores, the next row. */
#define TT_SP_ROW_TAIL                                                                             \
	"3:	ldmia	r3!, {r1, r2, r12, lr}\n" /* m, round, right, output offset */           \
	"	smmla	r4, r4, r1, r2\n"                                                          \
	"	smmla	r5, r5, r1, r2\n"                                                          \
	"	smmla	r6, r6, r1, r2\n"                                                          \
	"	smmla	r7, r7, r1, r2\n"                                                          \
	"	asr	r4, r4, r12\n"                                                             \
	"	asr	r5, r5, r12\n"                                                             \
	"	asr	r6, r6, r12\n"                                                             \
	"	asr	r7, r7, r12\n"                                                             \
	"	ssat	r4, #8, r4\n"                                                              \
	"	ssat	r5, #8, r5\n"                                                              \
	"	ssat	r6, #8, r6\n"                                                              \
	"	ssat	r7, #8, r7\n"                                                              \
	"	ldrd	r1, r2, [r0, #12]\n" /* out, token stride */                              \
	"	add	lr, lr, r1\n"                                                              \
	"	strb	r4, [lr]\n"                                                                \
	"	strb	r5, [lr, r2]\n"                                                            \
	"	add	lr, lr, r2, lsl #1\n"                                                      \
	"	strb	r6, [lr]\n"                                                                \
	"	strb	r7, [lr, r2]\n"                                                            \
	"	ldr	r1, [r0, #4]\n"                                                            \
	"	cmp	r3, r1\n"                                                                  \
	"	bne	1b\n"                                                                      \
	"	pop	{r4, r5, r6, r7, r8, r9, r10, r11, pc}\n"

/*
 * tt_sp_rows_b4 / tt_sp_rows_u1 (tinytx_arm_sparse.h): r0 the context, r3 the row table
 * (tt_sp_row, 10 words a row), r4-r7 the 4 sums, r8 the gaps (running on over the rows),
 * r9 the row's end of gaps, r10 the values (running on), r11 x16 at the current position,
 * r1/r2 an LDRD of x16, r12/lr the widened block (BLOCK4) or the value (UNSTRUCTURED).
 */
#define TT_SP_FN_HEAD(NAME)                                                                        \
	"	.align	2\n"                                                                       \
	"	.global	" NAME "\n"                                                                \
	"	.type	" NAME ", %function\n"                                                     \
	"	.thumb_func\n" NAME ":\n"                                                          \
	"	push	{r4, r5, r6, r7, r8, r9, r10, r11, lr}\n"                                  \
	"	ldr	r3, [r0, #0]\n"                                                            \
	"	ldr	r8, [r0, #20]\n"                                                           \
	"	ldr	r10, [r0, #24]\n"

#define TT_SP_SMLAD4(OFF, ACC)                                                                     \
	"	ldrd	r1, r2, [r11, #" OFF "]\n"                                                 \
	"	smlad	" ACC ", r1, r12, " ACC "\n"                                               \
	"	smlad	" ACC ", r2, lr, " ACC "\n"

#define TT_SP_WALK_B4                                                                              \
	"2:	ldrb	r1, [r8], #1\n"                                                           \
	"	add	r11, r11, r1, lsl #5\n"                                                   \
	"	ldr	r12, [r10], #4\n"                                                         \
	"	sxtb16	lr, r12, ror #8\n"                                                        \
	"	sxtb16	r12, r12\n" TT_SP_SMLAD4("0", "r4") TT_SP_SMLAD4("8", "r5")                \
		TT_SP_SMLAD4("16", "r6") TT_SP_SMLAD4("24", "r7")                                   \
	"	cmp	r8, r9\n"                                                                 \
	"	bne	2b\n"

#define TT_SP_WALK_U1                                                                              \
	"2:	ldrb	r1, [r8], #1\n"                                                           \
	"	add	r11, r11, r1, lsl #3\n"                                                   \
	"	ldrsb	r12, [r10], #1\n"                                                         \
	"	ldrd	r1, r2, [r11]\n"                                                          \
	"	smlabb	r4, r1, r12, r4\n"                                                        \
	"	smlatb	r5, r1, r12, r5\n"                                                        \
	"	smlabb	r6, r2, r12, r6\n"                                                        \
	"	smlatb	r7, r2, r12, r7\n"                                                        \
	"	cmp	r8, r9\n"                                                                 \
	"	bne	2b\n"

/* NAME: any rows; NAME_ne: every row has an entry (the walk needs no entry check). */
#define TT_SP_FN(NAME, WALK)                                                                       \
	TT_SP_FN_HEAD(NAME) TT_SP_ROW_HEAD TT_SP_EMPTY_CHECK WALK TT_SP_ROW_TAIL                    \
	"	.size	" NAME ", . - " NAME "\n" TT_SP_FN_HEAD(NAME "_ne") TT_SP_ROW_HEAD WALK        \
		TT_SP_ROW_TAIL "	.size	" NAME "_ne, . - " NAME "_ne\n"

/*
 * tt_sp_widen4_b4 (tinytx_arm_sparse.h): r0 the 4 rows' next word (rows r1 bytes apart),
 * r2 x16, r3 the words left; per block column 4 LDR, 8 SXTB16, one STM of the 8 words.
 */
#define TT_SP_WIDEN4                                                                               \
	"	.align	2\n"                                                                       \
	"	.global	tt_sp_widen4_b4\n"                                                         \
	"	.type	tt_sp_widen4_b4, %function\n"                                              \
	"	.thumb_func\ntt_sp_widen4_b4:\n"                                                  \
	"	cbz	r3, 2f\n"                                                                 \
	"	push	{r4, r5, r6, r7, r8, r9, r10, r11, lr}\n"                                  \
	"	add	r12, r1, r1, lsl #1\n"                                                    \
	"1:	ldr	lr, [r0]\n"                                                               \
	"	ldr	r6, [r0, r1]\n"                                                           \
	"	ldr	r8, [r0, r1, lsl #1]\n"                                                   \
	"	ldr	r10, [r0, r12]\n"                                                         \
	"	sxtb16	r4, lr\n"                                                                 \
	"	sxtb16	r5, lr, ror #8\n"                                                         \
	"	sxtb16	r7, r6, ror #8\n"                                                         \
	"	sxtb16	r6, r6\n"                                                                 \
	"	sxtb16	r9, r8, ror #8\n"                                                         \
	"	sxtb16	r8, r8\n"                                                                 \
	"	sxtb16	r11, r10, ror #8\n"                                                       \
	"	sxtb16	r10, r10\n"                                                               \
	"	stmia	r2!, {r4, r5, r6, r7, r8, r9, r10, r11}\n"                                \
	"	adds	r0, r0, #4\n"                                                             \
	"	subs	r3, r3, #1\n"                                                             \
	"	bne	1b\n"                                                                     \
	"	pop	{r4, r5, r6, r7, r8, r9, r10, r11, lr}\n"                                  \
	"2:	bx	lr\n"                                                                     \
	"	.size	tt_sp_widen4_b4, . - tt_sp_widen4_b4\n"

__asm__("	.syntax unified\n"
	"	.thumb\n"
	"	.text\n" TT_SP_FN("tt_sp_rows_b4", TT_SP_WALK_B4) TT_SP_FN("tt_sp_rows_u1", TT_SP_WALK_U1)
		TT_SP_WIDEN4);

tinytx_status tinytx_linear_sparse_s8(const tinytx_linear_dims *dims,
				      const tinytx_linear_params *params, const int8_t *input,
				      const tinytx_sparse_weights *weights, const int32_t *bias,
				      int8_t *output, const tinytx_context *ctx)
{
	tinytx_status st = tinytx_check_linear_sparse_call(dims, params, input, weights, output, 0);
	if (st == TINYTX_OK) {
		st = tinytx_check_scratch(
			ctx, tinytx_linear_sparse_s8_get_buffer_size(dims, tinytx_run_cores()));
	}
	if (st == TINYTX_OK && ((uintptr_t)ctx->buf & 3u) != 0) {
		st = TINYTX_ERR_PARAM; /* the row table and LDRD/LDM/STM need a word-aligned scratch */
	}
	if (st != TINYTX_OK) {
		return st;
	}
	const int32_t rows = dims->rows, k = dims->in_features, n = dims->out_features;
	const int32_t hd = n / dims->heads;
	const tt_sparse_layout l = tt_sparse_layout_of(n, k, 0);
	uint8_t *buf = ctx->buf;
	int32_t *x16 = (int32_t *)(void *)(buf + l.x16);
	/* output n of token s: o(n) + s * ts */
	int32_t ts = n, group = n, group_stride = 0, row_step = 1;
	if (dims->layout == TINYTX_LAYOUT_HEAD_MAJOR) {
		ts = hd;
		group = hd;
		group_stride = rows * hd;
	} else if (dims->layout == TINYTX_LAYOUT_HEAD_MAJOR_T) {
		ts = 1;
		row_step = rows;
	}
	tt_sp_quant q;
	st = tt_sp_quant_init(&q, weights, params->requant, params->act, params->multipliers,
			 params->shifts, bias, x16, (tt_sp_row *)(void *)(buf + l.plans), group,
			 group_stride, row_step);
	if (st != TINYTX_OK) {
		return st;
	}
	for (int32_t s = 0; s < rows; s += TT_SPARSE_TOKENS) {
		const int32_t t = rows - s < TT_SPARSE_TOKENS ? rows - s : TT_SPARSE_TOKENS;
		tt_sp_widen(weights->format, input + (size_t)s * k, k, t, k, 0, x16);
		tt_sp_pass(weights, &q, x16, t, ts, output + (size_t)s * ts);
	}
	return TINYTX_OK;
}
