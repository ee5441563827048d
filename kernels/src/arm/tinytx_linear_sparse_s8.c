/*
 * Cortex-M DSP linear layer on sparse weights: 4 tokens per pass over the weight rows
 * (tinytx_arm_sparse.h), bit-exact with tinytx_linear_s8 on the decoded weights.
 */
#include "tinytx_arm_sparse.h"
#include "tinytx/kernels.h"

/* The first part of a row: its end of gaps (r9) and bias into the 4 sums, x at position 0. */
#define TT_SP_ROW_HEAD                                                                             \
	"1:	ldmia	r3!, {r4, r9}\n" /* bias, end of gaps */                                \
	"	mov	r5, r4\n"                                                                  \
	"	mov	r6, r4\n"                                                                  \
	"	mov	r7, r4\n"                                                                  \
	"	ldr	r11, [r0, #8]\n"                                                           \
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
 * (tt_sp_row, 6 words a row), r4-r7 the 4 sums, r8 the gaps (running on over the rows),
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

__asm__("	.syntax unified\n"
	"	.thumb\n"
	"	.text\n" TT_SP_FN_HEAD("tt_sp_rows_b4") TT_SP_ROW_HEAD
	"2:	ldrb	r1, [r8], #1\n"
	"	add	r11, r11, r1, lsl #5\n"
	"	ldr	r12, [r10], #4\n"
	"	sxtb16	lr, r12, ror #8\n"
	"	sxtb16	r12, r12\n" TT_SP_SMLAD4("0", "r4") TT_SP_SMLAD4("8", "r5")
		TT_SP_SMLAD4("16", "r6") TT_SP_SMLAD4("24", "r7")
	"	cmp	r8, r9\n"
	"	bne	2b\n" TT_SP_ROW_TAIL
	"	.size	tt_sp_rows_b4, . - tt_sp_rows_b4\n"
	TT_SP_FN_HEAD("tt_sp_rows_u1") TT_SP_ROW_HEAD
	"2:	ldrb	r1, [r8], #1\n"
	"	add	r11, r11, r1, lsl #3\n"
	"	ldrsb	r12, [r10], #1\n"
	"	ldrd	r1, r2, [r11]\n"
	"	smlabb	r4, r1, r12, r4\n"
	"	smlatb	r5, r1, r12, r5\n"
	"	smlabb	r6, r2, r12, r6\n"
	"	smlatb	r7, r2, r12, r7\n"
	"	cmp	r8, r9\n"
	"	bne	2b\n" TT_SP_ROW_TAIL
	"	.size	tt_sp_rows_u1, . - tt_sp_rows_u1\n");

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
			 params->shifts, bias, (tt_sp_row *)(void *)(buf + l.plans), group,
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
