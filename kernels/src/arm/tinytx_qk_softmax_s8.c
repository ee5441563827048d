/*
 * Cortex-M DSP QK^T fused with the integer softmax, one query row at a time (the
 * scratch is one int32 score row, the contract every variant shares):
 * - scores: the query row widened in registers once per block of four, four keys
 *   per step (SMLAD), the row maximum kept on the way;
 * - i-exp without division: the reciprocal of LN2_Q and a table of the
 *   polynomial over the remainder (tt_exp_q10, tinytx_arm_common.h);
 * - probabilities: one UDIV each, four packed per store.
 * Bit-exact with the reference (tinytx/core/golden/softmax.py).
 */
#include "tinytx_arm_common.h"
#include "tinytx/kernels.h"
#include "../tinytx_check.h"

/* TT_EXP_TABLE[r + 709] = (r + EXP_B_Q)^2 + EXP_C_Q for r = -709 .. 0 */
#define TT_E1(r) ((uint32_t)(((r) + TINYTX_EXP_B_Q) * ((r) + TINYTX_EXP_B_Q) + TINYTX_EXP_C_Q))
#define TT_E10(r)                                                                                  \
	TT_E1(r), TT_E1((r) + 1), TT_E1((r) + 2), TT_E1((r) + 3), TT_E1((r) + 4), TT_E1((r) + 5),  \
		TT_E1((r) + 6), TT_E1((r) + 7), TT_E1((r) + 8), TT_E1((r) + 9)
#define TT_E100(r)                                                                                 \
	TT_E10(r), TT_E10((r) + 10), TT_E10((r) + 20), TT_E10((r) + 30), TT_E10((r) + 40),          \
		TT_E10((r) + 50), TT_E10((r) + 60), TT_E10((r) + 70), TT_E10((r) + 80),             \
		TT_E10((r) + 90)

#if TINYTX_LN2_Q != 710
#error "tt_exp_table lists 710 remainders: regenerate it for the new LN2_Q"
#endif

const uint32_t tt_exp_table[TINYTX_LN2_Q] = {
	TT_E100(-709), TT_E100(-609), TT_E100(-509), TT_E100(-409),
	TT_E100(-309), TT_E100(-209), TT_E100(-109), TT_E10(-9),
};

#if TINYTX_ARM_EXP_TABLE /* build option (tinytx_arm_common.h) */
/*
 * tt_exp_x_table[x + 16384] = i-exp of x for every clamped logit x = -16384 .. 0:
 * TT_E1(r) >> z with z = -x / LN2_Q, r = x + z LN2_Q (0 from z = 22 on, as
 * tt_exp_q10). 64 KiB of flash for one load per element instead of four steps.
 */
#define TT_Z(x) ((-(x)) / TINYTX_LN2_Q)
#define TT_X1(x) (TT_E1((x) + TT_Z(x) * TINYTX_LN2_Q) >> TT_Z(x))
#define TT_X5(x) TT_X1(x), TT_X1((x) + 1), TT_X1((x) + 2), TT_X1((x) + 3), TT_X1((x) + 4)
#define TT_X20(x) TT_X5(x), TT_X5((x) + 5), TT_X5((x) + 10), TT_X5((x) + 15)
#define TT_X100(x) TT_X20(x), TT_X20((x) + 20), TT_X20((x) + 40), TT_X20((x) + 60), TT_X20((x) + 80)
#define TT_X500(x)                                                                                 \
	TT_X100(x), TT_X100((x) + 100), TT_X100((x) + 200), TT_X100((x) + 300), TT_X100((x) + 400)
#define TT_X2000(x) TT_X500(x), TT_X500((x) + 500), TT_X500((x) + 1000), TT_X500((x) + 1500)

const uint32_t tt_exp_x_table[TT_EXP_X_ENTRIES] = {
	/* x = -16384 .. -385 */
	TT_X2000(-16384), TT_X2000(-14384), TT_X2000(-12384), TT_X2000(-10384),
	TT_X2000(-8384), TT_X2000(-6384), TT_X2000(-4384), TT_X2000(-2384),
	/* -384 .. -5, -4 .. 0 */
	TT_X100(-384), TT_X100(-284), TT_X100(-184), TT_X20(-84), TT_X20(-64), TT_X20(-44),
	TT_X20(-24), TT_X5(-4),
};
_Static_assert(TT_EXP_X_ENTRIES == 8 * 2000 + 3 * 100 + 4 * 20 + 5, "tt_exp_x_table: entries");

/*
 * The exp passes on the direct table (tinytx_arm_common.h): per element SUB, the
 * logit (SMMLA or SMMULR), SSAT, LDR, ADD; eight per step (four first when the count
 * is an odd number of fours).
 */
#define TT_ASM_EXPX_ELEM(D, LOGIT)                                                                 \
	"	sub	" D ", " D ", r2\n" LOGIT(D) "	ldr	" D ", [r5, " D ", lsl #2]\n"                  \
	"	add	r8, " D "\n"
#define TT_ASM_EXPX4(LOGIT, A, B, C, D)                                                            \
	"	ldm	r0, {" A ", " B ", " C ", " D "}\n" TT_ASM_EXPX_ELEM(A, LOGIT)                    \
		TT_ASM_EXPX_ELEM(B, LOGIT) TT_ASM_EXPX_ELEM(C, LOGIT) TT_ASM_EXPX_ELEM(D, LOGIT)    \
	"	stmia	r0!, {" A ", " B ", " C ", " D "}\n"
#define TT_ASM_EXPX_FN(NAME, LOGIT)                                                                \
	"	.align	2\n"                                                                       \
	"	.global	" NAME "\n"                                                                \
	"	.type	" NAME ", %function\n"                                                     \
	"	.thumb_func\n" NAME ":\n"                                                          \
	"	push	{r4, r5, r6, r7, r8, r9, r10, r11, lr}\n"                                  \
	"	ldm	r2, {r2, r3, r4}\n" /* max, m, round */                                   \
	"	ldr	r5, =tt_exp_x_table + 4 * 16384\n"                                         \
	"	movs	r8, #0\n"                                                                  \
	"	sub	r6, r1, r0\n"                                                              \
	"	tst	r6, #16\n"                                                                 \
	"	beq	2f\n" TT_ASM_EXPX4(LOGIT, "r6", "r7", "r9", "r10") "2:	cmp	r0, r1\n"          \
	"	beq	3f\n"                                                                      \
	"1:\n" TT_ASM_EXPX4(LOGIT, "r6", "r7", "r9", "r10")                                        \
		TT_ASM_EXPX4(LOGIT, "r6", "r7", "r9", "r10") "	cmp	r0, r1\n"                     \
	"	bne	1b\n"                                                                      \
	"3:	mov	r0, r8\n"                                                                  \
	"	pop	{r4, r5, r6, r7, r8, r9, r10, r11, pc}\n"                                  \
	"	.ltorg\n"                                                                          \
	"	.size	" NAME ", .-" NAME "\n"
#define TT_ASM_LOGITX_H1(D)                                                                        \
	"	smmla	" D ", " D ", r3, r4\n"                                                      \
	"	ssat	" D ", #15, " D ", asr #1\n"
#define TT_ASM_LOGITX_SC(D)                                                                        \
	"	smmulr	" D ", " D ", r3\n"                                                          \
	"	ssat	" D ", #15, " D "\n"

__asm__("	.syntax unified\n"
	"	.thumb\n"
	"	.text\n" TT_ASM_EXPX_FN("tt_exp4x_h1", TT_ASM_LOGITX_H1)
		TT_ASM_EXPX_FN("tt_exp4x_scaled", TT_ASM_LOGITX_SC));
#endif /* TINYTX_ARM_EXP_TABLE */

/*
 * The two element-wise softmax passes, four elements per step (LDM/STM; all 14
 * registers, hence assembly: GCC 12 makes 12 instructions per element of the C exp
 * loop and 4.25 of the probability loop, these take 9 and 3.5). Declared and
 * described in tinytx_arm_common.h.
 */
#define TT_ASM_EXP_ELEM(D, LOGIT)                                                                  \
	"	sub	" D ", " D ", r2\n" LOGIT(D) "	smmul	lr, " D ", r7\n"                              \
	"	mla	" D ", lr, r6, " D "\n"                                                     \
	"	ldr	" D ", [r5, " D ", lsl #2]\n"                                               \
	"	lsr	" D ", " D ", lr\n"                                                         \
	"	add	r8, " D "\n"
#define TT_ASM_LOGIT_H1(D)                                                                         \
	"	smmla	" D ", " D ", r3, r4\n"                                                      \
	"	ssat	" D ", #15, " D ", asr #1\n"
#define TT_ASM_LOGIT_SC(D)                                                                         \
	"	smmulr	" D ", " D ", r3\n"                                                          \
	"	ssat	" D ", #15, " D "\n"
#define TT_ASM_LOGIT_SCN(D) "	smmulr	" D ", " D ", r3\n"
#define TT_ASM_EXP_FN(NAME, LOGIT)                                                                 \
	"	.align	2\n"                                                                       \
	"	.global	" NAME "\n"                                                                \
	"	.type	" NAME ", %function\n"                                                     \
	"	.thumb_func\n" NAME ":\n"                                                          \
	"	push	{r4, r5, r6, r7, r8, r9, r10, r11, lr}\n"                                  \
	"	ldm	r2, {r2, r3, r4}\n" /* max, m, round */                                   \
	"	ldr	r5, =tt_exp_table + 4 * 709\n"                                             \
	"	movw	r6, #710\n"                                                                \
	"	ldr	r7, =-6049250\n"                                                           \
	"	movs	r8, #0\n"                                                                  \
	"1:	ldm	r0, {r9, r10, r11, r12}\n" TT_ASM_EXP_ELEM("r9", LOGIT)                    \
		TT_ASM_EXP_ELEM("r10", LOGIT) TT_ASM_EXP_ELEM("r11", LOGIT)                        \
			TT_ASM_EXP_ELEM("r12", LOGIT) "	stmia	r0!, {r9, r10, r11, r12}\n"          \
	"	cmp	r0, r1\n"                                                                  \
	"	bne	1b\n"                                                                      \
	"	mov	r0, r8\n"                                                                  \
	"	pop	{r4, r5, r6, r7, r8, r9, r10, r11, pc}\n"                                  \
	"	.ltorg\n"                                                                          \
	"	.size	" NAME ", .-" NAME "\n"

/*
 * Head dimension <= 2 (tinytx_mhsa_s8.c): the exp loop computing each score itself,
 * d = q . k - max with one SMLAD on keys packed one word each (k = {-max, m, q});
 * the end of the keys on the stack (every register is taken), so eight per step (four
 * first when the count is an odd number of fours).
 */
#define TT_ASM_EXP_P2_ELEM(D, LOGIT)                                                               \
	"	smlad	" D ", r4, " D ", r2\n" LOGIT(D) "	smmul	lr, " D ", r7\n"                     \
	"	mla	" D ", lr, r6, " D "\n"                                                     \
	"	ldr	" D ", [r5, " D ", lsl #2]\n"                                               \
	"	lsr	" D ", " D ", lr\n"                                                         \
	"	add	r8, " D "\n"
#define TT_ASM_EXP_P2_4(LOGIT)                                                                     \
	"	ldm	r0!, {r9, r10, r11, r12}\n" TT_ASM_EXP_P2_ELEM("r9", LOGIT)                  \
		TT_ASM_EXP_P2_ELEM("r10", LOGIT) TT_ASM_EXP_P2_ELEM("r11", LOGIT)                  \
			TT_ASM_EXP_P2_ELEM("r12", LOGIT) "	stmia	r1!, {r9, r10, r11, r12}\n"
#define TT_ASM_EXP_P2_FN(NAME, LOGIT)                                                              \
	"	.align	2\n"                                                                       \
	"	.global	" NAME "\n"                                                                \
	"	.type	" NAME ", %function\n"                                                     \
	"	.thumb_func\n" NAME ":\n"                                                          \
	"	push	{r1, r4, r5, r6, r7, r8, r9, r10, r11, lr}\n" /* sp: k_end */              \
	"	mov	r1, r2\n"                                                                  \
	"	ldm	r3, {r2, r3, r4}\n" /* -max, m, q */                                     \
	"	ldr	r5, =tt_exp_table + 4 * 709\n"                                             \
	"	movw	r6, #710\n"                                                                \
	"	ldr	r7, =-6049250\n"                                                           \
	"	movs	r8, #0\n"                                                                  \
	"	ldr	lr, [sp]\n"                                                                \
	"	sub	lr, lr, r0\n"                                                              \
	"	tst	lr, #16\n"                                                                 \
	"	beq	2f\n" TT_ASM_EXP_P2_4(LOGIT) "2:	ldr	lr, [sp]\n"                           \
	"	cmp	r0, lr\n"                                                                  \
	"	beq	3f\n"                                                                      \
	"1:\n" TT_ASM_EXP_P2_4(LOGIT) TT_ASM_EXP_P2_4(LOGIT) "	ldr	lr, [sp]\n"                 \
	"	cmp	r0, lr\n"                                                                  \
	"	bne	1b\n"                                                                      \
	"3:	mov	r0, r8\n"                                                                  \
	"	add	sp, sp, #4\n"                                                              \
	"	pop	{r4, r5, r6, r7, r8, r9, r10, r11, pc}\n"                                  \
	"	.ltorg\n"                                                                          \
	"	.size	" NAME ", .-" NAME "\n"

/*
 * The two row maxima and minima of queries q0, q1 (packed, unscaled) over the keys,
 * in the two int16 lanes of the result (maxima) and of *min2: both scores of a key
 * packed (PKHBT), then SSUB16 and SEL keep the larger and the smaller per lane; 3.9
 * instructions per score. The caller makes sure every score fits int16 (no query
 * (-128, -128)).
 */
#define TT_ASM_MAX2_KEY(K)                                                                         \
	"	smuad	r8, r0, " K "\n"                                                            \
	"	smuad	r9, r1, " K "\n"                                                            \
	"	pkhbt	r8, r8, r9, lsl #16\n"                                                     \
	"	ssub16	r9, r8, r12\n"                                                             \
	"	sel	r12, r8, r12\n"                                                            \
	"	ssub16	r9, r10, r8\n"                                                             \
	"	sel	r10, r8, r10\n"

/*
 * Probabilities, eight per step (one LDM; four when the count is an odd number of
 * fours): 3.1 instructions per value against 3.5 in fours.
 */
#define TT_ASM_PROB_DIV(R) "	add	" R ", r4, " R ", lsl #8\n"
#define TT_ASM_PROB_UDIV(R) "	udiv	" R ", " R ", r3\n"
#define TT_ASM_PROB_USAT(R) "	usat	" R ", #8, " R "\n"
/* The quotients of four (r5-r8) and eight (r5-r12) probabilities, each add before its udiv. */
#define TT_ASM_PROB_QUOT4                                                                          \
	TT_ASM_PROB_DIV("r5") TT_ASM_PROB_DIV("r6") TT_ASM_PROB_DIV("r7") TT_ASM_PROB_DIV("r8")    \
	TT_ASM_PROB_UDIV("r5") TT_ASM_PROB_UDIV("r6") TT_ASM_PROB_UDIV("r7") TT_ASM_PROB_UDIV("r8")
#define TT_ASM_PROB_QUOT8                                                                          \
	TT_ASM_PROB_DIV("r5") TT_ASM_PROB_DIV("r6") TT_ASM_PROB_DIV("r7") TT_ASM_PROB_DIV("r8")    \
	TT_ASM_PROB_DIV("r9") TT_ASM_PROB_DIV("r10") TT_ASM_PROB_DIV("r11")                        \
	TT_ASM_PROB_DIV("r12") TT_ASM_PROB_UDIV("r5") TT_ASM_PROB_UDIV("r6")                       \
	TT_ASM_PROB_UDIV("r7") TT_ASM_PROB_UDIV("r8") TT_ASM_PROB_UDIV("r9")                       \
	TT_ASM_PROB_UDIV("r10") TT_ASM_PROB_UDIV("r11") TT_ASM_PROB_UDIV("r12")
#define TT_ASM_PROB4(CLAMP, STORE)                                                                 \
	"	push	{r4, r5, r6, r7, r8, r9, r10, r11, lr}\n"                                  \
	"	lsr	r4, r3, #1\n"                                                              \
	"	sub	r5, r1, r0\n"                                                              \
	"	tst	r5, #16\n"                                                                 \
	"	beq	2f\n"                                                                      \
	"	ldm	r0!, {r5, r6, r7, r8}\n" TT_ASM_PROB_QUOT4                                   \
	CLAMP("r5", "r6", "r7", "r8") STORE("r5", "r6", "r7", "r8")         \
	"2:	cmp	r0, r1\n"                                                                  \
	"	beq	3f\n"                                                                      \
	"1:	ldm	r0!, {r5, r6, r7, r8, r9, r10, r11, r12}\n" TT_ASM_PROB_QUOT8               \
	CLAMP("r5", "r6", "r7", "r8") CLAMP("r9", "r10", "r11", "r12") STORE("r5", "r6", "r7", "r8") \
		STORE("r9", "r10", "r11", "r12") "	cmp	r0, r1\n"                                 \
	"	bne	1b\n"                                                                      \
	"3:	pop	{r4, r5, r6, r7, r8, r9, r10, r11, pc}\n"
#define TT_ASM_CLAMP4(A, B, C, D)                                                                  \
	TT_ASM_PROB_USAT(A) TT_ASM_PROB_USAT(B) TT_ASM_PROB_USAT(C) TT_ASM_PROB_USAT(D)
#define TT_ASM_NOCLAMP4(A, B, C, D) ""
#define TT_ASM_STORE_W2(A, B, C, D)                                                                \
	"	orr	" A ", " A ", " C ", lsl #16\n"                                              \
	"	orr	" B ", " B ", " D ", lsl #16\n"                                              \
	"	strd	" A ", " B ", [r2], #16\n"
#define TT_ASM_STORE_U8(A, B, C, D)                                                                \
	"	orr	" A ", " A ", " B ", lsl #8\n"                                               \
	"	orr	" A ", " A ", " C ", lsl #16\n"                                              \
	"	orr	" A ", " A ", " D ", lsl #24\n"                                              \
	"	str	" A ", [r2], #4\n"
/*
 * Head dimension <= 2: the probabilities of a row go straight into A*V, never stored:
 * each four packed into two words as in the W2 layout, against the block of the
 * feature pair of V^T (one LDM, four SMLAD); acc[0], acc[1] = the row's two sums.
 * Eight per step (four first when the count is an odd number of fours), the end on
 * the stack: 4.25 instructions per value.
 */
#define TT_ASM_PAV4(P0, P1, V0, V1, V2, V3)                                                        \
	"	ldm	r1!, {" V0 ", " V1 ", " V2 ", " V3 "}\n"                                        \
	"	smlad	r2, " P0 ", " V0 ", r2\n"                                                     \
	"	smlad	r2, " P1 ", " V1 ", r2\n"                                                     \
	"	smlad	lr, " P0 ", " V2 ", lr\n"                                                     \
	"	smlad	lr, " P1 ", " V3 ", lr\n"
#define TT_ASM_PROB_AV_P2(CLAMP)                                                                   \
	"	push	{r1, r4, r5, r6, r7, r8, r9, r10, r11, lr}\n" /* sp: end */                \
	"	mov	r1, r2\n"                                                                  \
	"	lsr	r4, r3, #1\n"                                                              \
	"	movs	r2, #0\n"                                                                  \
	"	mov	lr, #0\n"                                                                  \
	"	ldr	r5, [sp]\n"                                                                \
	"	sub	r5, r5, r0\n"                                                              \
	"	tst	r5, #16\n"                                                                 \
	"	beq	2f\n"                                                                      \
	"	ldm	r0!, {r5, r6, r7, r8}\n" TT_ASM_PROB_QUOT4                                   \
	CLAMP("r5", "r6", "r7", "r8") "	orr	r5, r5, r7, lsl #16\n"             \
	"	orr	r6, r6, r8, lsl #16\n" TT_ASM_PAV4("r5", "r6", "r7", "r8", "r9", "r10")        \
	"2:	ldr	r5, [sp]\n"                                                                \
	"	cmp	r0, r5\n"                                                                  \
	"	beq	3f\n"                                                                      \
	"1:	ldm	r0!, {r5, r6, r7, r8, r9, r10, r11, r12}\n" TT_ASM_PROB_QUOT8               \
	CLAMP("r5", "r6", "r7", "r8") CLAMP("r9", "r10", "r11", "r12")                             \
	"	orr	r5, r5, r7, lsl #16\n"                                                     \
	"	orr	r6, r6, r8, lsl #16\n"                                                     \
	"	orr	r9, r9, r11, lsl #16\n"                                                    \
	"	orr	r10, r10, r12, lsl #16\n" TT_ASM_PAV4("r5", "r6", "r7", "r8", "r11", "r12")   \
		TT_ASM_PAV4("r9", "r10", "r5", "r6", "r7", "r8") "	ldr	r5, [sp]\n"                \
	"	cmp	r0, r5\n"                                                                  \
	"	bne	1b\n"                                                                      \
	"3:	ldr	r0, [sp, #40]\n"                                                           \
	"	strd	r2, lr, [r0]\n"                                                            \
	"	add	sp, sp, #4\n"                                                              \
	"	pop	{r4, r5, r6, r7, r8, r9, r10, r11, pc}\n"

#define TT_ASM_FN(NAME, BODY)                                                                      \
	"	.align	2\n"                                                                       \
	"	.global	" NAME "\n"                                                                \
	"	.type	" NAME ", %function\n"                                                     \
	"	.thumb_func\n" NAME ":\n" BODY "	.size	" NAME ", .-" NAME "\n"

__asm__("	.syntax unified\n"
	"	.thumb\n"
	"	.text\n" TT_ASM_EXP_FN("tt_exp4_h1", TT_ASM_LOGIT_H1)
		TT_ASM_EXP_FN("tt_exp4_scaled", TT_ASM_LOGIT_SC)
			TT_ASM_EXP_FN("tt_exp4_scaled_nc", TT_ASM_LOGIT_SCN)
				TT_ASM_EXP_P2_FN("tt_exp4_p2_scaled", TT_ASM_LOGIT_SC)
					TT_ASM_EXP_P2_FN("tt_exp4_p2_scaled_nc", TT_ASM_LOGIT_SCN)
	"	.align	2\n"
	"	.global	tt_qk_max2_p2\n"
	"	.type	tt_qk_max2_p2, %function\n"
	"	.thumb_func\n"
	"tt_qk_max2_p2:\n"
	"	push	{r4, r5, r6, r7, r8, r9, r10}\n" /* min2 at sp + 28 */
	"	mov	r12, #0x80008000\n"
	"	mvn	r10, #0x80008000\n"
	"1:	ldm	r2!, {r4, r5, r6, r7}\n" TT_ASM_MAX2_KEY("r4") TT_ASM_MAX2_KEY("r5")
		TT_ASM_MAX2_KEY("r6") TT_ASM_MAX2_KEY("r7") "	cmp	r2, r3\n"
	"	bne	1b\n"
	"	ldr	r9, [sp, #28]\n"
	"	str	r10, [r9]\n"
	"	mov	r0, r12\n"
	"	pop	{r4, r5, r6, r7, r8, r9, r10}\n"
	"	bx	lr\n"
	"	.size	tt_qk_max2_p2, .-tt_qk_max2_p2\n"
			TT_ASM_FN("tt_prob4_w2", TT_ASM_PROB4(TT_ASM_NOCLAMP4, TT_ASM_STORE_W2))
				TT_ASM_FN("tt_prob4_w2_clamp", TT_ASM_PROB4(TT_ASM_CLAMP4, TT_ASM_STORE_W2))
					TT_ASM_FN("tt_prob4_u8", TT_ASM_PROB4(TT_ASM_NOCLAMP4, TT_ASM_STORE_U8))
	TT_ASM_FN("tt_prob4_av_p2", TT_ASM_PROB_AV_P2(TT_ASM_NOCLAMP4))
	TT_ASM_FN("tt_prob4_av_p2_clamp", TT_ASM_PROB_AV_P2(TT_ASM_CLAMP4))
						TT_ASM_FN("tt_prob4_u8_clamp",
							  TT_ASM_PROB4(TT_ASM_CLAMP4, TT_ASM_STORE_U8)));

/*
 * Scores of one query row against keys in fours (assembly, 13 registers plus the
 * context on the stack): the query word widened once per block of four, each key
 * word loaded and widened (LDR, two SXTB16, two SMLAD); 23 instructions per 16 MACs
 * against 30 for GCC 12's C. The k % 4 tail element by element (LDRSB, SMLABB).
 * Context (copied to the stack, field order used by the assembly):
 */
typedef struct {
	const int8_t *q;   /* 0: the query row */
	const int8_t *k;   /* 4: key 0 of the first four */
	int32_t p;         /* 8: head dimension = key stride */
	int32_t steps;     /* 12: p / 4 */
	int32_t tail;      /* 16: p % 4 */
	int32_t *out;      /* 20: scores, four per step */
	int32_t *out_end;  /* 24 */
	int32_t max;       /* 28: in and out */
} tt_qk_row;

/* tt_qk_row_s8 copies the eight words with one LDM and reads them at sp + offset. */
_Static_assert(offsetof(tt_qk_row, q) == 0 && offsetof(tt_qk_row, k) == 4 &&
		       offsetof(tt_qk_row, p) == 8 && offsetof(tt_qk_row, steps) == 12,
	       "tt_qk_row: q, k, p, steps");
_Static_assert(offsetof(tt_qk_row, tail) == 16 && offsetof(tt_qk_row, out) == 20 &&
		       offsetof(tt_qk_row, out_end) == 24 && offsetof(tt_qk_row, max) == 28 &&
		       sizeof(tt_qk_row) == 32,
	       "tt_qk_row: tail, out, out_end, max");

/* Returns the maximum of the scores and of t->max. */
int32_t tt_qk_row_s8(const tt_qk_row *t);

#define TT_QK_KEY(OFF, C)                                                                          \
	"	ldr	lr, " OFF "\n"                                                                \
	"	sxtb16	r12, lr\n"                                                                 \
	"	smlad	" C ", r8, r12, " C "\n"                                                    \
	"	sxtb16	lr, lr, ror #8\n"                                                          \
	"	smlad	" C ", r9, lr, " C "\n"
#define TT_QK_STEP                                                                                 \
	"	ldr	r8, [r0], #4\n"                                                            \
	"	sxtb16	r9, r8, ror #8\n"                                                          \
	"	sxtb16	r8, r8\n" TT_QK_KEY("[r1, r3]", "r5") TT_QK_KEY("[r1], #4", "r4")                 \
		TT_QK_KEY("[r2, r3]", "r7") TT_QK_KEY("[r2], #4", "r6")
#define TT_QK_TAIL_KEY(OFF, C)                                                                     \
	"	ldrsb	lr, " OFF "\n"                                                             \
	"	smlabb	" C ", r8, lr, " C "\n"

__asm__("	.syntax unified\n"
	"	.thumb\n"
	"	.text\n"
	"	.align	2\n"
	"	.global	tt_qk_row_s8\n"
	"	.type	tt_qk_row_s8, %function\n"
	"	.thumb_func\n"
	"tt_qk_row_s8:\n"
	"	push	{r4, r5, r6, r7, r8, r9, r10, r11, lr}\n"
	"	sub	sp, sp, #32\n"
	"	ldm	r0, {r1, r2, r3, r4, r5, r6, r7, r8}\n"
	"	stm	sp, {r1, r2, r3, r4, r5, r6, r7, r8}\n"
	"	ldr	r11, [sp, #20]\n" /* out */
	"	ldr	r10, [sp, #28]\n" /* max */
	"1:	ldm	sp, {r0, r1, r3}\n" /* q, k, p */
	"	add	r2, r1, r3, lsl #1\n" /* key 2 */
	"	movs	r4, #0\n"
	"	movs	r5, #0\n"
	"	movs	r6, #0\n"
	"	movs	r7, #0\n"
	"	ldr	r12, [sp, #12]\n"
	"	lsrs	r12, r12, #1\n"
	"	bcc	2f\n"
	"	str	r12, [sp, #28]\n" TT_QK_STEP "	ldr	r12, [sp, #28]\n"
	"2:	cmp	r12, #0\n"
	"	beq	3f\n"
	"	str	r12, [sp, #28]\n"
	"4:\n" TT_QK_STEP TT_QK_STEP "	ldr	r12, [sp, #28]\n"
	"	subs	r12, r12, #1\n"
	"	str	r12, [sp, #28]\n"
	"	bne	4b\n"
	"3:	ldr	r12, [sp, #16]\n"
	"	cmp	r12, #0\n"
	"	beq	6f\n"
	"	str	r12, [sp, #28]\n"
	"5:	ldrsb	r8, [r0], #1\n" TT_QK_TAIL_KEY("[r1, r3]", "r5") TT_QK_TAIL_KEY("[r1], #1", "r4")
		TT_QK_TAIL_KEY("[r2, r3]", "r7") TT_QK_TAIL_KEY("[r2], #1", "r6")
	"	ldr	r12, [sp, #28]\n"
	"	subs	r12, r12, #1\n"
	"	str	r12, [sp, #28]\n"
	"	bne	5b\n"
	"6:	stmia	r11!, {r4, r5, r6, r7}\n"
	"	cmp	r4, r10\n"
	"	it	gt\n"
	"	movgt	r10, r4\n"
	"	cmp	r5, r10\n"
	"	it	gt\n"
	"	movgt	r10, r5\n"
	"	cmp	r6, r10\n"
	"	it	gt\n"
	"	movgt	r10, r6\n"
	"	cmp	r7, r10\n"
	"	it	gt\n"
	"	movgt	r10, r7\n"
	"	ldr	r1, [sp, #4]\n"
	"	add	r1, r1, r3, lsl #2\n" /* the next four keys */
	"	str	r1, [sp, #4]\n"
	"	ldr	r12, [sp, #24]\n"
	"	cmp	r11, r12\n"
	"	bne	1b\n"
	"	mov	r0, r10\n"
	"	add	sp, sp, #32\n"
	"	pop	{r4, r5, r6, r7, r8, r9, r10, r11, pc}\n"
	"	.size	tt_qk_row_s8, .-tt_qk_row_s8\n");

/* Head dimensions below 4: four keys per step, element by element. */
static int32_t score_quads_small(const int8_t *qi, const int8_t *kh, int32_t quads, int32_t p_dim,
				 int32_t up, int32_t *row)
{
	int32_t max = INT32_MIN;
	for (int32_t j = 0; j < quads; j += 4) {
		const int8_t *k0 = kh + (size_t)j * p_dim;
		int32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
		for (int32_t i = 0; i < p_dim; i++) {
			const int32_t x = qi[i];
			s0 += x * k0[i];
			s1 += x * k0[p_dim + i];
			s2 += x * k0[2 * p_dim + i];
			s3 += x * k0[3 * p_dim + i];
		}
		s0 *= 1 << up;
		s1 *= 1 << up;
		s2 *= 1 << up;
		s3 *= 1 << up;
		row[j] = s0;
		row[j + 1] = s1;
		row[j + 2] = s2;
		row[j + 3] = s3;
		max = tt_max(max, tt_max(tt_max(s0, s1), tt_max(s2, s3)));
	}
	return max;
}

/*
 * Scores of query row qi against keys [0, skv) of kh into row (shifted left by up);
 * returns their maximum.
 */
static int32_t score_row(const int8_t *qi, const int8_t *kh, int32_t skv, int32_t p_dim,
			 int32_t up, int32_t *row)
{
	const int32_t quads = skv & ~3;
	int32_t max = INT32_MIN;
	if (quads > 0 && p_dim < 4) {
		max = score_quads_small(qi, kh, quads, p_dim, up, row);
	} else if (quads > 0) {
		tt_qk_row t = {qi, kh, p_dim, p_dim >> 2, p_dim & 3, row, row + quads, INT32_MIN};
		max = tt_qk_row_s8(&t);
		if (up > 0) { /* exact: |scores| << up stays in int32 (tt_softmax_plan_for) */
			for (int32_t j = 0; j < quads; j++) {
				row[j] *= 1 << up;
			}
			max *= 1 << up;
		}
	}
	for (int32_t j = quads; j < skv; j++) {
		row[j] = tt_dot_1x1(qi, kh + (size_t)j * p_dim, p_dim, 0, 0) * (1 << up);
		max = tt_max(max, row[j]);
	}
	return max;
}

/* uint8 probabilities of the i-exp values in row, four per store. */
static void prob_row(const int32_t *row, int32_t n, uint32_t sum, uint8_t *out)
{
	const uint32_t *e = (const uint32_t *)row;
	const int32_t n4 = n & ~3;
	if (n4 > 0) {
		if (tt_prob_unclamped(sum)) {
			tt_prob4_u8(e, e + n4, out, sum);
		} else {
			tt_prob4_u8_clamp(e, e + n4, out, sum);
		}
	}
	const uint32_t half = sum / 2u;
	for (int32_t j = n4; j < n; j++) {
		out[j] = (uint8_t)tt_prob(e[j], half, sum);
	}
}

tinytx_status tinytx_qk_softmax_s8(const tinytx_attention_dims *dims, tinytx_requant softmax,
				   const int8_t *q, const int8_t *k, uint8_t *probs,
				   const tinytx_context *ctx)
{
	const tinytx_status st = tinytx_check_qk_softmax_ctx(dims, softmax, q, k, probs, ctx);
	if (st != TINYTX_OK) {
		return st;
	}
	void *scratch = ctx->buf;
	const int32_t sq = dims->q_rows, skv = dims->kv_rows, p_dim = dims->head_dim;
	int32_t *row = (int32_t *)scratch;
	/* |q . k| <= P * 128 * 128; scores are shifted as int32, so no extra limit on up */
	const tt_softmax_plan plan = tt_softmax_plan_for(softmax, (int64_t)p_dim << 14, 31);

	for (int32_t h = 0; h < dims->heads; h++) {
		const int8_t *kh = k + (dims->k_heads == 1 ? 0 : (size_t)h * skv * p_dim);
		for (int32_t i = 0; i < sq; i++) {
			const size_t qrow = (size_t)h * sq + i;
			const int32_t max = score_row(q + qrow * p_dim, kh, skv, p_dim, plan.up, row);
			const uint32_t sum = tt_softmax_exp_row(row, skv, max, &plan);
			prob_row(row, skv, sum, probs + qrow * skv);
		}
	}
	return TINYTX_OK;
}
