/*
 * Cortex-M DSP multi-head self-attention block, bit-exact with the layer-wise
 * reference (tinytx.golden.mhsa_s8), scheduled for speed and memory:
 *
 *   X -> Xw (int16, once)
 *   per head h:
 *     Wq_h, Wk_h, Wv_h widened in turn -> Qw_h, Kw_h [S][P] and Vw_h = V_h^T [P][S]
 *     Wo[:, hP:(h+1)P] widened -> Wow_h [E][P]
 *     per pair of query rows:
 *       scores [2][S] -> integer softmax -> probabilities [2][S] (int16)
 *       -> A*V -> O [2][P] -> Yacc[2][E] += O . Wow_h^T (output projection by head)
 *   Y = requant(Yacc)
 *
 * Every operand is widened to int16 once, in the W2 layout of tinytx_arm_common.h,
 * so that every product runs in one 2 x 2 SMLAD tile: a pair of rows of one W2
 * matrix against a pair of rows of another, 10 instructions per 16 MACs. Only the
 * rows in flight of the attention map exist (two score rows, two probability
 * rows), and Q, K, V^T of one head.
 *
 * Padding: every W2 buffer is zeroed once, so K-padding reads as zero on at least
 * one side of every product (padded weight rows are zero and so is their bias, so
 * the projections write zeros there too); results of padded rows are never read.
 *
 * Scratch (S2 = S rounded up to even, E4/P4/S4 = rounded up to a multiple of 4):
 *   Xw 2*S2*E4 | W 2*P2*E4 | Qw 2*S2*P4 | Kw 2*S2*P4 | Vw 2*P2*S4 | Wow 2*E2*P4 |
 *   probabilities 4*S4 | O 4*P4 | bias 4*(P2 + 4) | scores 8*S4 | Yacc 4*S2*E2
 * plus 3 bytes to align it to 4. The output may alias the input.
 */
#include "tinytx_arm_common.h"
#include "tinytx_arm_tiles.h"
#include "tinytx/kernels.h"
#include "../tinytx_check.h"

/* Stages stay functions of their own, so a profile attributes instructions to them. */
#define TT_NOINLINE __attribute__((noinline))

/* ------------------------------------------------------------ the 2 x 2 tile engine */

/*
 * A row of 2 x 2 tiles: one pair of rows `a` of a W2 matrix against consecutive
 * pairs of rows of another, from b up to b_end (kb blocks each). For tile j:
 *   c = init, then c00 += a0.b0, c01 += a0.b1, c10 += a1.b0, c11 += a1.b1, where
 *   init is the constant c[] (tt_tiles_*_c) or, in place (tt_tiles_*_s), the words
 *   the tile then overwrites, (o0[0], o0[1], o1[0], o1[1]) (i0, i1 are not read);
 * then
 *   raw: (c00, c01) stored to o0 and (c10, c11) to o1, both advancing 8 bytes;
 *   max: as raw, and max0 = max(max0, c00, c01), max1 = max(max1, c10, c11);
 *   rq:  requant(c) (shift >= 33) stored as int16 to out + 0, 4, 8, 12 bytes (c00,
 *        c01, c10, c11), out advancing by `delta` bytes, delta alternating 2 and
 *        14 (tile j of a W2 row pair starts at halfword (j / 2) * 8 + j % 2: delta
 *        starts at 2 when out is an even tile, at 14 when odd);
 *   rqt: the transpose: c00, c10, c01, c11 to out + 0, 4, 8, 12, out advancing by a
 *        constant delta (b's pairs are the rows of out, a's rows its positions);
 *   rq_pc, rqt_pc: as rq, rqt with a factor per a row (per-channel projections):
 *        (m, round, right) for c00, c01 and (m1, round1, right1) for c10, c11.
 * The routines get &t->a (the offsets below are from there) and copy what they read
 * into their stack frame; they write back what they advance (o0, o1, i0, i1, out,
 * delta) and max0, max1.
 */
/* The context, tt_tiles, and its field offsets: tinytx_arm_tiles.h. */

/*
 * Assembly: all 14 registers hold data in the inner block (r0 a, r1 b, r2-r5
 * c00/c01/c10/c11, r6-r9 the a pair of a block, r10-r12/lr the b pair: two LDM
 * and eight SMLAD, 10 instructions per 16 MACs), so the context lives in the stack
 * frame, laid out for one-instruction loads (sp offsets):
 *   0 a, 4..16 c[4] | 20 entry | 24 a_end | 28 b_end | 32 o0, 36 o1 |
 *   40 max0, 44 max1 | 48 m, 52 round, 56 right (b_end again once the requantization
 *   entry is set, TT_CP_RQJ), 60 out, 64 delta |
 *   68 m1, 72 round1, 76 right1 | 80, 84 unused | 88 &t->a |
 *   92 requantization entry, 96 its return (TT_ASM_REQUANT)
 * (measured: 166 instructions per 2 x 2 tile of 8 blocks with an inline-assembly
 * block in a C loop; 117 with a context register and three loads per block; 101 to
 * 109 with this one.)
 */
#define TT_ASM_BLOCK                                                                               \
	"	ldm.w	r0!, {r6, r7, r8, r9}\n"                                                   \
	"	ldm.w	r1!, {r10, r11, r12, lr}\n"                                                \
	"	smlad	r2, r6, r10, r2\n"                                                         \
	"	smlad	r2, r7, r11, r2\n"                                                         \
	"	smlad	r3, r6, r12, r3\n"                                                         \
	"	smlad	r3, r7, lr, r3\n"                                                          \
	"	smlad	r4, r8, r10, r4\n"                                                         \
	"	smlad	r4, r9, r11, r4\n"                                                         \
	"	smlad	r5, r8, r12, r5\n"                                                         \
	"	smlad	r5, r9, lr, r5\n"

/* Frame copies of the fields a variant reads (r0 = &t->a). */
#define TT_CP_C                                                                                    \
	"	ldr	r2, [r0]\n"                                                                \
	"	add	r3, r0, #8\n"                                                              \
	"	ldm	r3, {r3, r4, r5, r6}\n"                                                    \
	"	stm	sp, {r2, r3, r4, r5, r6}\n"
#define TT_CP_S                                                                                    \
	"	ldr	r2, [r0]\n"                                                                \
	"	str	r2, [sp]\n"
#define TT_CP_O                                                                                    \
	"	ldrd	r2, r3, [r0, #32]\n"                                                       \
	"	strd	r2, r3, [sp, #32]\n"
#define TT_CP_MAX                                                                                  \
	TT_CP_O "	ldrd	r2, r3, [r0, #44]\n"                                                  \
	"	strd	r2, r3, [sp, #40]\n"
#define TT_CP_RQ                                                                                   \
	"	sub	r2, r0, #20\n"                                                             \
	"	ldm	r2, {r2, r3, r4, r5, r6}\n"                                                \
	"	add	r7, sp, #48\n"                                                             \
	"	stm	r7, {r2, r3, r4, r5, r6}\n"
#define TT_CP_RQ_PC                                                                                \
	TT_CP_RQ "	ldrd	r2, r3, [r0, #60]\n"                                                 \
	"	strd	r2, r3, [sp, #68]\n"                                                       \
	"	ldr	r2, [r0, #68]\n"                                                           \
	"	str	r2, [sp, #76]\n"

/*
 * kb blocks, 32 per step, entered Duff's-device style: the first step starts at
 * block (32 - kb % 32) % 32 (40 bytes each, all 32-bit encodings); the prologue
 * computes that address once per call (entry, with the Thumb bit) and a_end = a +
 * 16 kb, the end of every tile's dot product. When kb <= 16 the tiles run a copy of
 * sixteen blocks without the step's end test (TT_ASM_DOT1: one step, entered at block
 * 16 - kb). The init loads the entry into pc (TT_ASM_INIT_C: one LDM for a, c and the
 * jump).
 */
#define TT_ASM_PROLOGUE                                                                            \
	"	ldr	r2, [r0, #40]\n"                                                           \
	"	str	r2, [sp, #28]\n" /* b_end */                                              \
	"	ldr	r2, [r0, #52]\n" /* kb */                                                 \
	"	ldr	r3, [sp]\n"                                                                \
	"	add	r3, r3, r2, lsl #4\n"                                                      \
	"	str	r3, [sp, #24]\n"                                                           \
	"	movs	r3, #40\n"                                                                 \
	"	cmp	r2, #16\n"                                                                 \
	"	bgt	5f\n"                                                                      \
	"	rsb	r2, r2, #16\n"                                                              \
	"	adr	r4, 3f\n"                                                                  \
	"	mla	r2, r2, r3, r4\n"                                                          \
	"	orr	r2, r2, #1\n"                                                              \
	"	str	r2, [sp, #20]\n"
#define TT_ASM_PROLOGUE_LONG                                                                       \
	"5:	rsbs	r2, r2, #0\n"                                                              \
	"	and	r2, r2, #31\n"                                                              \
	"	adr	r4, 2f\n"                                                                  \
	"	mla	r2, r2, r3, r4\n"                                                          \
	"	orr	r2, r2, #1\n"                                                              \
	"	str	r2, [sp, #20]\n"
#define TT_ASM_BLOCKS8                                                                             \
	TT_ASM_BLOCK TT_ASM_BLOCK TT_ASM_BLOCK TT_ASM_BLOCK TT_ASM_BLOCK TT_ASM_BLOCK TT_ASM_BLOCK  \
		TT_ASM_BLOCK
#define TT_ASM_DOT1                                                                                \
	"	.align	2\n"                                                                       \
	"3:\n" TT_ASM_BLOCKS8 TT_ASM_BLOCKS8
#define TT_ASM_DOT                                                                                 \
	"	.align	2\n"                                                                       \
	"2:\n" TT_ASM_BLOCKS8 TT_ASM_BLOCKS8 TT_ASM_BLOCKS8 TT_ASM_BLOCKS8 "	ldr	r6, [sp, #24]\n"                                         \
	"	cmp	r0, r6\n"                                                                  \
	"	bne	2b\n"

#define TT_ASM_INIT_C "	ldm	sp, {r0, r2, r3, r4, r5, pc}\n"
#define TT_ASM_BEND "	ldr	r6, [sp, #28]\n"
#define TT_ASM_INIT_S                                                                              \
	"	ldrd	r6, r7, [sp, #32]\n"                                                       \
	"	ldrd	r2, r3, [r6]\n"                                                            \
	"	ldrd	r4, r5, [r7]\n"                                                            \
	"	ldr	r0, [sp]\n"                                                                \
	"	ldr	pc, [sp, #20]\n"

#define TT_ASM_STORE_RAW                                                                           \
	"	ldrd	r6, r7, [sp, #32]\n"                                                       \
	"	strd	r2, r3, [r6], #8\n"                                                        \
	"	strd	r4, r5, [r7], #8\n"                                                        \
	"	strd	r6, r7, [sp, #32]\n"

/*
 * The maxima: a compare and a branch not taken per score (a new maximum is rare
 * along a row); the taken branches (TT_ASM_MAX_TAIL, after the return) store it.
 */
#define TT_ASM_STORE_MAX(P)                                                                        \
	"	add	r12, sp, #28\n"                                                            \
	"	ldm	r12, {r8, r9, r10, r11, r12}\n" /* b_end, o0, o1, max0, max1 */           \
	"	strd	r2, r3, [r9], #8\n"                                                        \
	"	strd	r4, r5, [r10], #8\n"                                                       \
	"	strd	r9, r10, [sp, #32]\n"                                                      \
	"	cmp	r2, r11\n"                                                                 \
	"	bgt	" P "0f\n" P "1:	cmp	r3, r11\n"                                              \
	"	bgt	" P "2f\n" P "3:	cmp	r4, r12\n"                                              \
	"	bgt	" P "4f\n" P "5:	cmp	r5, r12\n"                                              \
	"	bgt	" P "6f\n" P "7:\n"
#define TT_ASM_MAX_TAIL(P)                                                                         \
	P "0:	mov	r11, r2\n"                                                                 \
	"	str	r11, [sp, #40]\n"                                                          \
	"	b	" P "1b\n" P "2:	mov	r11, r3\n"                                                 \
	"	str	r11, [sp, #40]\n"                                                          \
	"	b	" P "3b\n" P "4:	mov	r12, r4\n"                                                 \
	"	str	r12, [sp, #44]\n"                                                          \
	"	b	" P "5b\n" P "6:	mov	r12, r5\n"                                                 \
	"	str	r12, [sp, #44]\n"                                                          \
	"	b	" P "7b\n"
#define TT_ASM_MAX_TAILS TT_ASM_MAX_TAIL("1") TT_ASM_MAX_TAIL("2")
#define TT_ASM_STORE_MAX1 TT_ASM_STORE_MAX("1")
#define TT_ASM_STORE_MAX2 TT_ASM_STORE_MAX("2")

/* Write-backs (r0 = &t->a): the advanced pointers, as a caller may go on from them. */
#define TT_OUT_O                                                                                   \
	"	ldrd	r2, r3, [sp, #32]\n"                                                       \
	"	strd	r2, r3, [r0, #32]\n"
#define TT_OUT_S TT_OUT_O
#define TT_OUT_MAX                                                                                 \
	TT_OUT_O "	ldrd	r2, r3, [sp, #40]\n"                                                 \
	"	strd	r2, r3, [r0, #44]\n"
#define TT_OUT_RQ                                                                                  \
	"	ldrd	r2, r3, [sp, #60]\n"                                                       \
	"	strd	r2, r3, [r0, #-8]\n"

/*
 * One factor: SMMLA, then the shift and the saturation in one SSAT ... ASR #right,
 * whose shift is an immediate: the tile jumps into a table of 30 such quadruples
 * (valid factors have shift <= 62, so right = shift - 32 <= 30),
 * entry right - 1 (computed per call), which jumps back to the tile's label P8
 * (saved per loop copy by TT_RQ_SET). 6 instructions against 8 with ASR by register.
 */
#define TT_ASM_REQUANT(P)                                                                          \
	"	add	r6, sp, #48\n"                                                             \
	"	ldm	r6, {r6, r7, r8, r9, r10}\n" /* m, round, b_end, out, delta */            \
	"	smmla	r2, r2, r6, r7\n"                                                          \
	"	smmla	r3, r3, r6, r7\n"                                                          \
	"	smmla	r4, r4, r6, r7\n"                                                          \
	"	smmla	r5, r5, r6, r7\n"                                                          \
	"	ldr	pc, [sp, #92]\n" P "8:\n"
#define TT_RQ_SET(P)                                                                               \
	"	adr	r6, " P "8f\n"                                                              \
	"	orr	r6, r6, #1\n"                                                              \
	"	str	r6, [sp, #96]\n"
#define TT_RQ_SET1 TT_RQ_SET("1")
#define TT_RQ_SET2 TT_RQ_SET("2")
#define TT_SAT_ENTRY(K)                                                                            \
	"	ssat	r2, #8, r2, asr #" K "\n"                                                   \
	"	ssat	r3, #8, r3, asr #" K "\n"                                                   \
	"	ssat	r4, #8, r4, asr #" K "\n"                                                   \
	"	ssat	r5, #8, r5, asr #" K "\n"                                                   \
	"	ldr	pc, [sp, #96]\n"
#define TT_SAT_ENTRIES8(A, B, C, D, E, F, G, H)                                                    \
	TT_SAT_ENTRY(A) TT_SAT_ENTRY(B) TT_SAT_ENTRY(C) TT_SAT_ENTRY(D) TT_SAT_ENTRY(E)             \
		TT_SAT_ENTRY(F) TT_SAT_ENTRY(G) TT_SAT_ENTRY(H)
#define TT_SAT_TABLE                                                                               \
	"	.align	2\n"                                                                       \
	".Ltt_rq_sat:\n" TT_SAT_ENTRIES8("1", "2", "3", "4", "5", "6", "7", "8")                 \
		TT_SAT_ENTRIES8("9", "10", "11", "12", "13", "14", "15", "16")                      \
			TT_SAT_ENTRIES8("17", "18", "19", "20", "21", "22", "23", "24")             \
				TT_SAT_ENTRY("25") TT_SAT_ENTRY("26") TT_SAT_ENTRY("27")    \
					TT_SAT_ENTRY("28") TT_SAT_ENTRY("29") TT_SAT_ENTRY("30")
/* The entry of right (1 .. 30: shift 33 .. 62) in the frame, after TT_CP_RQ. */
#define TT_CP_RQJ                                                                                  \
	TT_CP_RQ "	ldr	r2, [sp, #56]\n"                                                      \
	"	movw	r3, #:lower16:.Ltt_rq_sat\n"                                               \
	"	movt	r3, #:upper16:.Ltt_rq_sat\n"                                               \
	"	sub	r2, r2, #1\n"                                                              \
	"	movs	r4, #20\n"                                                                 \
	"	mla	r2, r2, r4, r3\n"                                                          \
	"	orr	r2, r2, #1\n"                                                              \
	"	str	r2, [sp, #92]\n"                                                           \
	"	ldr	r2, [r0, #40]\n"                                                           \
	"	str	r2, [sp, #56]\n" /* b_end where right was: TT_ASM_REQUANT loads it in r8 */

/* TT_ASM_REQUANT with a's second row (c10, c11) on its own factor. */
#define TT_ASM_REQUANT_PC                                                                          \
	"	add	r6, sp, #48\n"                                                             \
	"	ldm	r6, {r6, r7, r8, r9, r10}\n" /* m, round, right, out, delta */            \
	"	smmla	r2, r2, r6, r7\n"                                                          \
	"	smmla	r3, r3, r6, r7\n"                                                          \
	"	asr	r2, r2, r8\n"                                                              \
	"	asr	r3, r3, r8\n"                                                              \
	"	add	r6, sp, #68\n"                                                             \
	"	ldm	r6, {r6, r7, r8}\n" /* m1, round1, right1 */                              \
	"	smmla	r4, r4, r6, r7\n"                                                          \
	"	smmla	r5, r5, r6, r7\n"                                                          \
	"	asr	r4, r4, r8\n"                                                              \
	"	asr	r5, r5, r8\n"                                                              \
	"	ssat	r2, #8, r2\n"                                                              \
	"	ssat	r3, #8, r3\n"                                                              \
	"	ssat	r4, #8, r4\n"                                                              \
	"	ssat	r5, #8, r5\n"

#define TT_ASM_STORE_RQ_WITH(REQUANT)                                                              \
	REQUANT "	strh	r2, [r9]\n"                                                            \
	"	strh	r3, [r9, #4]\n"                                                            \
	"	strh	r4, [r9, #8]\n"                                                            \
	"	strh	r5, [r9, #12]\n"                                                           \
	"	add	r9, r10\n"                                                                 \
	"	eor	r10, r10, #12\n"                                                           \
	"	strd	r9, r10, [sp, #60]\n"

#define TT_ASM_STORE_RQT_WITH(REQUANT)                                                             \
	REQUANT "	strh	r2, [r9]\n"                                                            \
	"	strh	r4, [r9, #4]\n"                                                            \
	"	strh	r3, [r9, #8]\n"                                                            \
	"	strh	r5, [r9, #12]\n"                                                           \
	"	add	r9, r10\n"                                                                 \
	"	str	r9, [sp, #60]\n"

/*
 * STORE1, STORE2: the same store in the two copies of the loop (each with its own
 * local labels), SET1, SET2 what it needs set before each copy; the stores leave
 * b_end in register END for the loop's test (loaded with other fields where they
 * can: TT_ASM_BEND otherwise).
 */
#define TT_ASM_TILES(NAME, COPY, INIT, STORE1, STORE2, SET1, SET2, OUT, TAIL, END)                             \
	"	.align	2\n"                                                                       \
	"	.global	" NAME "\n"                                                                \
	"	.type	" NAME ", %function\n"                                                     \
	"	.thumb_func\n" NAME ":\n"                                                          \
	"	push	{r4, r5, r6, r7, r8, r9, r10, r11, lr}\n"                                  \
	"	sub	sp, sp, #100\n"                                                           \
	"	str	r0, [sp, #88]\n" COPY TT_ASM_PROLOGUE SET1 "1:\n" INIT TT_ASM_DOT1 STORE1   \
	"	cmp	r1, " END "\n"                                                               \
	"	bne	1b\n"                                                                      \
	"	b	9f\n" TT_ASM_PROLOGUE_LONG SET2 "4:\n" INIT TT_ASM_DOT STORE2                  \
	"	cmp	r1, " END "\n"                                                               \
	"	bne	4b\n"                                                                      \
	"9:	ldr	r0, [sp, #88]\n" OUT "	add	sp, sp, #100\n"                               \
	"	pop	{r4, r5, r6, r7, r8, r9, r10, r11, pc}\n" TAIL "	.size	" NAME ", .-" NAME  \
	"\n"

__asm__("	.syntax unified\n"
	"	.thumb\n"
	"	.text\n" TT_SAT_TABLE
	TT_ASM_TILES("tt_tiles_raw_c", TT_CP_C TT_CP_O, TT_ASM_INIT_C, TT_ASM_STORE_RAW TT_ASM_BEND,
		     TT_ASM_STORE_RAW TT_ASM_BEND, "", "", TT_OUT_O, "", "r6")
	TT_ASM_TILES("tt_tiles_raw_s", TT_CP_S TT_CP_O, TT_ASM_INIT_S, TT_ASM_STORE_RAW TT_ASM_BEND,
		     TT_ASM_STORE_RAW TT_ASM_BEND, "", "", TT_OUT_S, "", "r6")
	TT_ASM_TILES("tt_tiles_max_c", TT_CP_C TT_CP_MAX, TT_ASM_INIT_C, TT_ASM_STORE_MAX1,
		     TT_ASM_STORE_MAX2, "", "", TT_OUT_MAX, TT_ASM_MAX_TAILS, "r8")
	TT_ASM_TILES("tt_tiles_rq_c", TT_CP_C TT_CP_RQJ, TT_ASM_INIT_C,
		     TT_ASM_STORE_RQ_WITH(TT_ASM_REQUANT("1")),
		     TT_ASM_STORE_RQ_WITH(TT_ASM_REQUANT("2")), TT_RQ_SET1, TT_RQ_SET2, TT_OUT_RQ,
		     "", "r8")
	TT_ASM_TILES("tt_tiles_rqt_c", TT_CP_C TT_CP_RQJ, TT_ASM_INIT_C,
		     TT_ASM_STORE_RQT_WITH(TT_ASM_REQUANT("1")),
		     TT_ASM_STORE_RQT_WITH(TT_ASM_REQUANT("2")), TT_RQ_SET1, TT_RQ_SET2, TT_OUT_RQ,
		     "", "r8")
	TT_ASM_TILES("tt_tiles_rq_c_pc", TT_CP_C TT_CP_RQ_PC, TT_ASM_INIT_C,
		     TT_ASM_STORE_RQ_WITH(TT_ASM_REQUANT_PC) TT_ASM_BEND,
		     TT_ASM_STORE_RQ_WITH(TT_ASM_REQUANT_PC) TT_ASM_BEND, "", "", TT_OUT_RQ, "", "r6")
	TT_ASM_TILES("tt_tiles_rqt_c_pc", TT_CP_C TT_CP_RQ_PC, TT_ASM_INIT_C,
		     TT_ASM_STORE_RQT_WITH(TT_ASM_REQUANT_PC) TT_ASM_BEND,
		     TT_ASM_STORE_RQT_WITH(TT_ASM_REQUANT_PC) TT_ASM_BEND, "", "", TT_OUT_RQ, "", "r6"));

/*
 * Scores of one query row against keys of one block each (head dimension <= 4):
 * a = the row's two words in a W2 pair, k..k_end two keys (four words) per step,
 * out[j] = score, *max = max(*max, scores). 6.5 instructions per score against 10
 * for 2 x 2 tiles of one block (the maxima as in the tiles: compare, branch not taken).
 */
void tt_qk_row_kb1(const int32_t *a, const int32_t *k, const int32_t *k_end, int32_t *out,
		   int32_t *max);

/*
 * The same for a head dimension <= 2 with queries and keys packed one word each,
 * [x0, x1] (SMUAD): four keys per step, 4 instructions per score.
 */
void tt_qk_row_p2(int32_t a, const int32_t *k, const int32_t *k_end, int32_t *out, int32_t *max);

__asm__("	.syntax unified\n"
	"	.thumb\n"
	"	.text\n"
	"	.align	2\n"
	"	.global	tt_qk_row_kb1\n"
	"	.type	tt_qk_row_kb1, %function\n"
	"	.thumb_func\n"
	"tt_qk_row_kb1:\n"
	"	push	{r4, r5, r6, r7, r8, r9, lr}\n"
	"	ldr	r12, [sp, #28]\n"
	"	ldrd	r4, r5, [r0]\n"
	"	ldr	lr, [r12]\n"
	"1:	ldm	r1!, {r6, r7, r8, r9}\n"
	"	smuad	r6, r4, r6\n"
	"	smlad	r6, r5, r7, r6\n"
	"	smuad	r8, r4, r8\n"
	"	smlad	r8, r5, r9, r8\n"
	"	strd	r6, r8, [r3], #8\n"
	"	cmp	r6, lr\n"
	"	bgt	10f\n"
	"11:	cmp	r8, lr\n"
	"	bgt	12f\n"
	"13:	cmp	r1, r2\n"
	"	bne	1b\n"
	"	str	lr, [r12]\n"
	"	pop	{r4, r5, r6, r7, r8, r9, pc}\n"
	"10:	mov	lr, r6\n"
	"	b	11b\n"
	"12:	mov	lr, r8\n"
	"	b	13b\n"
	"	.size	tt_qk_row_kb1, .-tt_qk_row_kb1\n"
	"	.align	2\n"
	"	.global	tt_qk_row_p2\n"
	"	.type	tt_qk_row_p2, %function\n"
	"	.thumb_func\n"
	"tt_qk_row_p2:\n"
	"	push	{r4, r5, r6, r7, lr}\n"
	"	ldr	r12, [sp, #20]\n"
	"	ldr	lr, [r12]\n"
	"1:	ldm	r1!, {r4, r5, r6, r7}\n"
	"	smuad	r4, r0, r4\n"
	"	smuad	r5, r0, r5\n"
	"	smuad	r6, r0, r6\n"
	"	smuad	r7, r0, r7\n"
	"	stmia	r3!, {r4, r5, r6, r7}\n"
	"	cmp	r4, lr\n"
	"	bgt	10f\n"
	"11:	cmp	r5, lr\n"
	"	bgt	12f\n"
	"13:	cmp	r6, lr\n"
	"	bgt	14f\n"
	"15:	cmp	r7, lr\n"
	"	bgt	16f\n"
	"17:	cmp	r1, r2\n"
	"	bne	1b\n"
	"	str	lr, [r12]\n"
	"	pop	{r4, r5, r6, r7, pc}\n"
	"10:	mov	lr, r4\n"
	"	b	11b\n"
	"12:	mov	lr, r5\n"
	"	b	13b\n"
	"14:	mov	lr, r6\n"
	"	b	15b\n"
	"16:	mov	lr, r7\n"
	"	b	17b\n"
	"	.size	tt_qk_row_p2, .-tt_qk_row_p2\n");

/* ------------------------------------------------------------ scratch layout */

/* ------------------------------------------------------------ the block */


typedef struct {
	int32_t s, e, h, p;
	int32_t eb, pb, sb, hpb;
	int whole;
	const tinytx_mhsa_weights *w;
	tt_rq q, k, v, av, out;
	tt_softmax_plan sm;
	tt_exp4_fn exp4; /* NULL: the C loop of tt_softmax_exp_row */
	uint32_t unclamped; /* the least row sum for which tt_prob_unclamped holds */
	int16_t *xw, *ww, *qw, *kw, *vw, *wo, *pw, *o;
	int32_t *bias, *sc, *yacc;
	int8_t *y;
} mhsa_ctx;

/*
 * nt tiles (constant init) stored as requantized int16: through the W2 pattern of
 * tt_tiles_rq_c, the first at `out`, which is tile `first` (0 or 1) of its block, or
 * transposed (tt_tiles_rqt_c, out advancing `step` halfwords per tile). Factors not
 * below 2^-2 go through the raw engine and the formula of tinytx_requantize_s8.
 */
void tt_tiles_rq(tt_tiles *t, int transposed, const int16_t *b, int32_t nt, const tt_rq *rq,
		 const tt_rq *rq1, int16_t *out, int32_t first, size_t step)
{
	t->b_end = b + (size_t)nt * t->kb * 8u;
	if (rq->fast && rq1->fast) {
		const int pc = rq1 != rq; /* per-channel: a's second row has its own factor */
		t->m = rq->rq.multiplier;
		t->round = rq->round;
		t->right = rq->right;
		if (pc) {
			t->m1 = rq1->rq.multiplier;
			t->round1 = rq1->round;
			t->right1 = rq1->right;
		}
		t->out = out;
		if (transposed) {
			t->delta = (int32_t)(2 * step);
			(pc ? tt_tiles_rqt_c_pc : tt_tiles_rqt_c)(&t->a, b);
		} else {
			t->delta = first ? 14 : 2;
			(pc ? tt_tiles_rq_c_pc : tt_tiles_rq_c)(&t->a, b);
		}
		return;
	}
	for (int32_t j = first; j < first + nt; j++) {
		int32_t c0[2], c1[2];
		tt_tiles one = *t;
		one.o0 = c0;
		one.o1 = c1;
		one.b_end = b + (size_t)t->kb * 8u;
		tt_tiles_raw_c(&one.a, b);
		b = one.b_end;
		out[0] = (int16_t)tt_rq_apply(c0[0], rq);
		out[transposed ? 4 : 2] = (int16_t)tt_rq_apply(c0[1], rq);
		out[transposed ? 2 : 4] = (int16_t)tt_rq_apply(c1[0], rq1);
		out[6] = (int16_t)tt_rq_apply(c1[1], rq1);
		out += transposed ? step : ((j & 1) ? 7 : 1);
	}
}

/*
 * Q_h, K_h ([S][P], row = token) and V_h^T ([P][S], row = feature) of head hd: a
 * pair of W_h rows (features, bias as the constant init) against every pair of Xw
 * rows (tokens); Q and K stored transposed.
 */
static TT_NOINLINE void head_projections(const mhsa_ctx *c, int32_t hd)
{
	const size_t first = (size_t)hd * c->p;
	const int32_t *const biases[3] = {c->w->bq, c->w->bk, c->w->bv};
	const int8_t *const weights[3] = {c->w->wq, c->w->wk, c->w->wv};
	const tt_rq *const rqs[3] = {&c->q, &c->k, &c->v};
	const tinytx_channels chs[3] = {c->w->q_ch, c->w->k_ch, c->w->v_ch};
	const int32_t pairs_s = (c->s + 1) >> 1, pairs_p = (c->p + 1) >> 1;
	const size_t wpair = (size_t)c->eb * 8u;
	for (int m = 0; m < 3; m++) {
		tt_w2_widen(c->ww, weights[m] + first * c->e, c->p, c->e, (size_t)c->e);
		if (biases[m] != NULL) {
			tt_copy_words(c->bias, biases[m] + first, (size_t)c->p);
		} else {
			tt_zero_words(c->bias, (size_t)c->p * sizeof(int32_t));
		}
		tt_tiles t;
		t.kb = c->eb;
		if (chs[m].multipliers == NULL && rqs[m]->fast) {
			/* per-tensor: the engine called straight, its constant fields set once */
			t.m = rqs[m]->rq.multiplier;
			t.round = rqs[m]->round;
			t.right = rqs[m]->right;
			t.b_end = c->xw + (size_t)pairs_s * (size_t)c->eb * 8u;
			int16_t *const o = m == 0 ? c->qw : m == 1 ? c->kw : c->vw;
			for (int32_t i = 0; i < pairs_p; i++) {
				t.a = c->ww + (size_t)i * wpair;
				t.c[0] = t.c[1] = c->bias[2 * i];
				t.c[2] = t.c[3] = c->bias[2 * i + 1];
				if (m < 2) { /* as tt_tiles_rq, transposed, step pb * 8 halfwords */
					t.out = o + (size_t)(i >> 1) * 8u + (size_t)(i & 1);
					t.delta = 16 * c->pb;
					tt_tiles_rqt_c(&t.a, c->xw);
				} else {
					t.out = o + (size_t)i * c->sb * 8u;
					t.delta = 2;
					tt_tiles_rq_c(&t.a, c->xw);
				}
			}
			continue;
		}
		for (int32_t i = 0; i < pairs_p; i++) {
			t.a = c->ww + (size_t)i * wpair;
			t.c[0] = t.c[1] = c->bias[2 * i];
			t.c[2] = t.c[3] = c->bias[2 * i + 1];
			const tt_rq *r0 = rqs[m], *r1 = rqs[m];
			tt_rq pc[2];
			if (chs[m].multipliers != NULL) { /* per-channel: features 2i, 2i + 1 */
				const int32_t f0 = (int32_t)first + 2 * i;
				const int32_t f1 = 2 * i + 1 < c->p ? f0 + 1 : f0; /* padding: any */
				pc[0] = tt_rq_plan(tinytx_channel_requant(
					rqs[m]->rq, chs[m].multipliers, chs[m].shifts, f0));
				pc[1] = tt_rq_plan(tinytx_channel_requant(
					rqs[m]->rq, chs[m].multipliers, chs[m].shifts, f1));
				r0 = &pc[0];
				r1 = &pc[1];
			}
			if (m < 2) { /* Qw, Kw: row = token; features 2i, 2i + 1 in block i / 2 */
				int16_t *o = (m == 0 ? c->qw : c->kw) + (size_t)(i >> 1) * 8u + (size_t)(i & 1);
				tt_tiles_rq(&t, 1, c->xw, pairs_s, r0, r1, o, 0, (size_t)c->pb * 8u);
			} else { /* Vw: row = feature (pair i), position = token */
				tt_tiles_rq(&t, 0, c->xw, pairs_s, r0, r1, c->vw + (size_t)i * c->sb * 8u, 0,
					 0);
			}
		}
	}
	/* Q carries the softmax pre-scale 2^up (head dimensions <= 4: scores_pair scales
	 * each query row instead) */
	if (c->sm.up > 0 && c->pb > 1) {
		const size_t n = tt_w2_halfwords(c->s, c->pb);
		for (size_t i = 0; i < n; i++) {
			c->qw[i] = (int16_t)(c->qw[i] * (1 << c->sm.up));
		}
	}
	const int32_t s4 = 4 * c->sb;
	if (c->p <= 2) {
		/* keys packed one word each, [k0, k1], in place; padded to s4 with key 0,
		 * whose score cannot exceed the row maximum (softmax_row overwrites them) */
		int32_t *k = (int32_t *)c->kw;
		for (int32_t j = 0; j < c->s; j++) {
			k[j] = tt_pack16(k[2 * j], k[2 * j + 1]);
		}
		tt_fill_words(k + c->s, s4 - c->s, k[0]);
	} else if (c->s & 1) {
		/* odd S: the padding key of the last pair is a copy of key S - 1, for the
		 * same reason (its score, one of the row's, is overwritten by softmax_row) */
		int32_t *k = (int32_t *)c->kw + 4 * (size_t)(c->s >> 1) * (size_t)c->pb;
		for (int32_t b = 0; b < c->pb; b++, k += 4) {
			k[2] = k[0];
			k[3] = k[1];
		}
	}
}

/* Wo's columns of head hd ([E][P]), or of every head ([E][HP]) when hd < 0. */
static TT_NOINLINE void widen_wo(const mhsa_ctx *c, int32_t hd)
{
	const int32_t hp = c->h * c->p;
	if (hd < 0) {
		tt_w2_widen(c->wo, c->w->wo, c->e, hp, (size_t)hp);
	} else {
		tt_w2_widen(c->wo, c->w->wo + (size_t)hd * c->p, c->e, c->p, (size_t)hp);
	}
}

/* The C exp loops (modes without an assembly loop): tinytx_arm_tiles.h. */
uint32_t tt_exp_row_c(int32_t *sc, int32_t s, int32_t s4, int32_t max, const tt_softmax_plan *sm)
{
	const uint32_t sum = tt_softmax_exp_row(sc, s, max, sm);
	tt_fill_words(sc + s, s4 - s, 0);
	return sum;
}

/* Probabilities of the i-exp values e (padded with zeros to s4) into row r of the pair. */
static inline void prob_row(const mhsa_ctx *c, const int32_t *e, uint32_t sum, int32_t r)
{
	const uint32_t *u = (const uint32_t *)e;
	const int32_t s4 = 4 * c->sb;
	int32_t *dst = (int32_t *)(c->pw + 4 * r);
	if (sum >= c->unclamped) {
		tt_prob4_w2(u, u + s4, dst, sum);
	} else {
		tt_prob4_w2_clamp(u, u + s4, dst, sum);
	}
}

/*
 * Softmax of one score row (max its maximum; capacity s4 = 4 * sb) into row r of
 * the probability pair; the row's padding (tt_exp_row) leaves the padding of the
 * probabilities 0.
 */
static TT_NOINLINE void softmax_row(const mhsa_ctx *c, int32_t *sc, int32_t max, int32_t r)
{
	prob_row(c, sc, tt_exp_row(sc, c->s, 4 * c->sb, max, c->exp4, &c->sm), r);
}

/*
 * Head dimension <= 2, TT_LOGIT_SCALED (attention_p2): scores, softmax and A*V of
 * query rows 2i, 2i + 1 in two passes over the keys and one over the i-exp values,
 * neither scores nor probabilities stored, 2 instructions per score less than
 * scores_pair, softmax_row and av_pair. Three stages for the profile: scores_max_p2
 * (qk), attention_p2 with exp_row_p2 (softmax), prob_av_p2 (av).
 *
 * scores_max_p2: the two row maxima and minima at once (int16 lanes, unscaled), over
 * the keys that can hold them (key_hull_p2, built at the head's first pair); a query
 * (-128, -128), the only one whose unscaled scores may exceed int16, in 32 bits. A
 * row whose logits all lie above -TT_LOGIT_NOCLAMP skips the exp's clamp.
 */

/* The larger (max) or smaller (min) halfword of a and m in each lane: SSUB16 and SEL. */
static inline uint32_t tt_max16(uint32_t a, uint32_t m)
{
	uint32_t t, r;
	__asm__("ssub16 %0, %2, %3\n\tsel %1, %2, %3" : "=&r"(t), "=r"(r) : "r"(a), "r"(m));
	return r;
}

static inline uint32_t tt_min16(uint32_t a, uint32_t m)
{
	uint32_t t, r;
	__asm__("ssub16 %0, %3, %2\n\tsel %1, %2, %3" : "=&r"(t), "=r"(r) : "r"(a), "r"(m));
	return r;
}

/*
 * The maximum and the minimum of q . k over the keys are reached at vertices of
 * their convex hull. Keys strictly inside a polygon whose vertices are keys hold
 * neither alone (they lie inside the hull) and are left out: the polygon of the keys
 * extreme in eight
 * directions (0, 45, ..., 315 degrees, in that order; "strictly left of every edge"
 * implies inside the hull of the vertices, so ties may pick any key). One pass finds
 * the extremes in int16 lanes, value << 7 | key index (S <= 128): x and y, x - y and
 * x + y (SASX), each lane's maximum and minimum (SSUB16, SEL); one pass tests every
 * key against the 8 edges with one SMLAD each, the signs ORed (a key equal to the
 * last one kept is not listed again: neighbouring tokens repeat). Into the probability
 * scratch, not used on this path: list[0] = n, the kept keys rounded up to a multiple
 * of 4 with copies of the first, at list[1..n]; n = 0: all keys (S > 128, or the list
 * would not fit).
 */
static void key_hull_p2(const mhsa_ctx *c)
{
	const int32_t *const k = (const int32_t *)c->kw;
	int32_t *const list = (int32_t *)c->pw;
	const int32_t s = c->s, s4 = 4 * c->sb;
	list[0] = 0;
	if (s > 128 || s < 8) {
		return;
	}
	uint32_t amax = 0x80008000u, amin = 0x7fff7fffu, bmax = 0x80008000u, bmin = 0x7fff7fffu;
	uint32_t jj = 0;
	for (const int32_t *p = k; p != k + s; p++, jj += 0x00010001u) {
		const uint32_t w = (uint32_t)*p;
		const uint32_t a = ((w << 7) & 0xff80ff80u) | jj;
		const uint32_t b = ((__sasx(w, w) << 7) & 0xff80ff80u) | jj;
		amax = tt_max16(a, amax);
		amin = tt_min16(a, amin);
		bmax = tt_max16(b, bmax);
		bmin = tt_min16(b, bmin);
	}
	/* a: (x, y), b: (x - y, x + y); lane index: value << 7 | j */
	const uint32_t lanes[8] = {amax, bmax >> 16, amax >> 16, bmin, amin, bmin >> 16, amin >> 16, bmax};
	int32_t ext[8];
	for (int32_t d = 0; d < 8; d++) {
		ext[d] = k[lanes[d] & 0x7fu];
	}
	/* edge i from ext[i] to ext[i + 1]: x strictly inside when nrm[i] . x > off[i] for
	 * every edge, nrm[i] = (-ey, ex) (|ex|, |ey| <= 255), that is when
	 * nrm[i] . x - off[i] - 1 >= 0 (an edge of a repeated vertex: 0) */
	int32_t nrm[8], cst[8];
	for (int32_t i = 0; i < 8; i++) {
		const int32_t p = ext[i], n = ext[(i + 1) & 7];
		const int32_t ex = (int16_t)n - (int16_t)p, ey = (n >> 16) - (p >> 16);
		nrm[i] = tt_pack16(-ey, ex);
		cst[i] = nrm[i] != 0 ? -(int32_t)__smuad((uint32_t)p, (uint32_t)nrm[i]) - 1 : 0;
	}
	int32_t *out = list + 1;
	list[0] = (int32_t)0x80008000u; /* out[-1] before the first key: no key's value */
	int32_t *const full = list + s4 - 4; /* more keys: 1 + n rounded up would not fit */
	for (const int32_t *p = k; p != k + s; p++) {
		const uint32_t w = (uint32_t)*p;
		const int32_t t = __smlad(w, (uint32_t)nrm[0], cst[0]) |
				  __smlad(w, (uint32_t)nrm[1], cst[1]) |
				  __smlad(w, (uint32_t)nrm[2], cst[2]) |
				  __smlad(w, (uint32_t)nrm[3], cst[3]) |
				  __smlad(w, (uint32_t)nrm[4], cst[4]) |
				  __smlad(w, (uint32_t)nrm[5], cst[5]) |
				  __smlad(w, (uint32_t)nrm[6], cst[6]) |
				  __smlad(w, (uint32_t)nrm[7], cst[7]);
		if (t < 0 && (int32_t)w != out[-1]) { /* a repeat of the last kept key: no */
			if (out == full + 1) {
				list[0] = 0;
				return;
			}
			*out++ = (int32_t)w;
		}
	}
	int32_t n = (int32_t)(out - (list + 1));
	while (n & 3) {
		list[1 + n++] = list[1];
	}
	list[0] = n;
}

static TT_NOINLINE int scores_max_p2(const mhsa_ctx *c, const int32_t *a, int32_t i,
				     int32_t rows, int32_t max[2], int32_t min[2])
{
	if (i == 0) {
		key_hull_p2(c);
	}
	const int32_t q0 = tt_pack16(a[0], a[1]);
	const int32_t q1 = rows == 2 ? tt_pack16(a[2], a[3]) : q0;
	const int32_t *const list = (const int32_t *)c->pw;
	const int32_t n = list[0];
	const int32_t *k = n != 0 ? list + 1 : (const int32_t *)c->kw;
	const int32_t *const k_end = k + (n != 0 ? n : 4 * c->sb);
	const int32_t up = c->sm.up;
	if (q0 == (int32_t)0xff80ff80 || q1 == (int32_t)0xff80ff80) {
		max[0] = max[1] = INT32_MIN;
		min[0] = min[1] = INT32_MAX;
		for (; k != k_end; k++) {
			const int32_t s0 = (int32_t)__smuad((uint32_t)q0, (uint32_t)*k);
			const int32_t s1 = (int32_t)__smuad((uint32_t)q1, (uint32_t)*k);
			max[0] = tt_max(max[0], s0);
			max[1] = tt_max(max[1], s1);
			min[0] = s0 < min[0] ? s0 : min[0];
			min[1] = s1 < min[1] ? s1 : min[1];
		}
		for (int32_t r = 0; r < 2; r++) {
			max[r] *= 1 << up;
			min[r] *= 1 << up;
		}
		return 1;
	}
	int32_t lo2;
	const int32_t m2 = tt_qk_max2_p2(q0, q1, k, k_end, &lo2);
	max[0] = (int32_t)(int16_t)m2 * (1 << up);
	max[1] = (m2 >> 16) * (1 << up);
	min[0] = (int32_t)(int16_t)lo2 * (1 << up);
	min[1] = (lo2 >> 16) * (1 << up);
	return 1;
}

/*
 * The probabilities of a row of i-exp values e (sum: their sum) straight into its
 * A*V sums, requantized into O at o (where av_pair's tile puts the row's features).
 */
static TT_NOINLINE void prob_av_p2(const mhsa_ctx *c, const uint32_t *e, uint32_t sum,
				   int16_t *o)
{
	const uint32_t *const end = e + 4 * c->sb;
	int32_t acc[2];
	if (tt_prob_unclamped(sum)) {
		tt_prob4_av_p2(e, end, (const int32_t *)c->vw, sum, acc);
	} else {
		tt_prob4_av_p2_clamp(e, end, (const int32_t *)c->vw, sum, acc);
	}
	if (c->av.fast) {
		const int32_t m = c->av.rq.multiplier, round = c->av.round, right = c->av.right;
		o[0] = (int16_t)__ssat(tt_smmla(acc[0], m, round) >> right, 8);
		if (c->p == 2) {
			o[2] = (int16_t)__ssat(tt_smmla(acc[1], m, round) >> right, 8);
		}
		return;
	}
	for (int32_t f = 0; f < c->p; f++) {
		o[2 * f] = (int16_t)tt_rq_apply(acc[f], &c->av);
	}
}

typedef uint32_t (*tt_exp4_p2_fn)(const int32_t *k, const int32_t *k_end, int32_t *e,
				  const int32_t *kx);

/*
 * Per row: the i-exp values into e (each score computed on the way; the keys'
 * padding, copies of key 0, taken out of the sum and zeroed as in softmax_row),
 * then prob_av_p2. The loop's constants are kept in locals: the calls would make
 * GCC reload them from the context.
 */
static TT_NOINLINE int attention_p2(const mhsa_ctx *c, int32_t hd, int32_t i, int32_t rows)
{
	const int32_t *a = (const int32_t *)(c->qw + (size_t)i * c->pb * 8u);
	int32_t max[2], min[2];
	if (!scores_max_p2(c, a, i, rows, max, min)) {
		return 0;
	}
	int16_t *o = c->o;
	if (c->whole) {
		const int32_t k0 = hd * c->p;
		o += ((size_t)i * c->hpb + (size_t)(k0 >> 2)) * 8u + (size_t)((k0 & 3) >> 1);
	}
	const int32_t s4 = 4 * c->sb, pad = s4 - c->s;
	const uint32_t up = (uint32_t)c->sm.up;
	const int32_t *const k = (const int32_t *)c->kw, *const k_end = k + s4;
	const int32_t m = c->sm.rq.multiplier;
	int32_t kx[3];
	kx[1] = m;
	int32_t *e = c->sc;
	for (int32_t r = 0; r < rows; r++, a += 2, e += s4, o += 4) {
		/* the row's lowest logit (its minimum score's) above -TT_LOGIT_NOCLAMP: every
		 * logit is, as with clamp_free (the diff fits int32 as in that mode's bound) */
		const int nc = c->sm.clamp_free ||
			       (m > 0 && tt_smmulr(min[r] - max[r], m) > -TT_LOGIT_NOCLAMP);
		const tt_exp4_p2_fn exp4 = nc ? tt_exp4_p2_scaled_nc : tt_exp4_p2_scaled;
		kx[0] = -max[r];
		kx[2] = tt_pack16((int32_t)((uint32_t)a[0] << up), (int32_t)((uint32_t)a[1] << up));
		uint32_t sum = exp4(k, k_end, e, kx);
		if (pad != 0) { /* 1 to 3 (not a memset call) */
			int32_t *const z = e + s4 - 1;
			sum -= (uint32_t)pad * (uint32_t)z[0];
			z[0] = 0;
			if (pad > 1) {
				z[-1] = 0;
				if (pad > 2) {
					z[-2] = 0;
				}
			}
		}
		prob_av_p2(c, (const uint32_t *)e, sum, o);
	}
	return 1;
}

/* Scores of query rows 2i, 2i + 1 (rows: 1 or 2 of them) into sc0, sc1 and maxima. */
static TT_NOINLINE void scores_pair(const mhsa_ctx *c, int32_t i, int32_t rows, int32_t *sc0, int32_t *sc1,
			int32_t max[2])
{
	const int32_t s = c->s;
	const size_t pair = (size_t)c->pb * 8u;
	const int32_t *a = (const int32_t *)(c->qw + (size_t)i * pair);
	max[0] = max[1] = INT32_MIN;
	const uint32_t up = (uint32_t)c->sm.up;
	if (c->p <= 2) { /* keys padded to s4 (head_projections): rows in fours only */
		const int32_t *k = (const int32_t *)c->kw;
		for (int32_t r = 0; r < rows; r++) {
			const int32_t q = tt_pack16((int32_t)((uint32_t)a[2 * r] << up),
						    (int32_t)((uint32_t)a[2 * r + 1] << up));
			tt_qk_row_p2(q, k, k + 4 * c->sb, r == 0 ? sc0 : sc1, &max[r]);
		}
	} else if (c->pb == 1) { /* odd S: the padding key repeats key S - 1 */
		const int32_t *k = (const int32_t *)c->kw;
		for (int32_t r = 0; r < rows; r++) {
			int32_t q[2];
			for (int32_t w = 0; w < 2; w++) { /* both halves times 2^up */
				const uint32_t x = (uint32_t)a[2 * r + w];
				q[w] = (int32_t)(((x << up) & 0xffffu) | ((x & 0xffff0000u) << up));
			}
			tt_qk_row_kb1(q, k, k + 4 * ((s + 1) >> 1), r == 0 ? sc0 : sc1, &max[r]);
		}
	} else { /* odd S: the padding key repeats key S - 1 (head_projections) */
		tt_tiles t;
		t.a = (const int16_t *)a;
		t.kb = c->pb;
		t.c[0] = t.c[1] = t.c[2] = t.c[3] = 0;
		t.o0 = sc0;
		t.o1 = sc1;
		t.max0 = INT32_MIN;
		t.max1 = INT32_MIN;
		t.b_end = c->kw + (size_t)((s + 1) >> 1) * pair;
		tt_tiles_max_c(&t.a, c->kw);
		max[0] = t.max0;
		max[1] = t.max1;
	}
}

/* A*V of the probability pair into O: the pair's two rows, head hd's P features. */
static TT_NOINLINE void av_pair(const mhsa_ctx *c, int32_t hd, int32_t i)
{
	tt_tiles t;
	t.a = c->pw;
	t.kb = c->sb;
	t.c[0] = t.c[1] = t.c[2] = t.c[3] = 0;
	if (!c->whole && c->av.fast) { /* tiles_rq's fast case, called straight */
		t.b_end = c->vw + (size_t)((c->p + 1) >> 1) * (size_t)c->sb * 8u;
		t.m = c->av.rq.multiplier;
		t.round = c->av.round;
		t.right = c->av.right;
		t.out = c->o;
		t.delta = 2;
		tt_tiles_rq_c(&t.a, c->vw);
		return;
	}
	if (c->whole) { /* O [S][HP]: this head's features from position hd * P */
		const int32_t k0 = hd * c->p;
		int16_t *o = c->o + ((size_t)i * c->hpb + (size_t)(k0 >> 2)) * 8u + (size_t)((k0 & 3) >> 1);
		tt_tiles_rq(&t, 0, c->vw, (c->p + 1) >> 1, &c->av, &c->av, o, (k0 & 3) >> 1, 0);
	} else {
		tt_tiles_rq(&t, 0, c->vw, (c->p + 1) >> 1, &c->av, &c->av, c->o, 0, 0);
	}
}

/* Scores, softmax and A*V of query rows 2i, 2i + 1 of head hd, into O. */
static TT_NOINLINE void attention_pair(const mhsa_ctx *c, int32_t hd, int32_t i)
{
	const int32_t rows = 2 * i + 1 < c->s ? 2 : 1;
	if (c->p <= 2 && c->sm.mode == TT_LOGIT_SCALED && attention_p2(c, hd, i, rows)) {
		return;
	}
	int32_t *sc0 = c->sc, *sc1 = c->sc + 4 * c->sb;
	int32_t max[2];
	scores_pair(c, i, rows, sc0, sc1, max);
	softmax_row(c, sc0, max[0], 0);
	if (rows == 2) {
		softmax_row(c, sc1, max[1], 1);
	}
	av_pair(c, hd, i);
}

/* Yacc rows 2i, 2i + 1 += O rows . Wo^T (kb blocks: one head's or all heads'). */
static TT_NOINLINE void out_pair(const mhsa_ctx *c, const int16_t *o, int32_t kb, int32_t i)
{
	const size_t e2 = (size_t)tt_even64(c->e);
	tt_tiles t;
	t.a = o;
	t.kb = kb;
	t.i0 = t.o0 = c->yacc + (size_t)(2 * i) * e2;
	t.i1 = t.o1 = c->yacc + (size_t)(2 * i + 1) * e2;
	t.b_end = c->wo + (size_t)((c->e + 1) >> 1) * kb * 8u;
	tt_tiles_raw_s(&t.a, c->wo);
}

/* Y = requant(Yacc) */
/* Shared with the depth-first blocks (tinytx_arm_tiles.h). */
void tt_yacc_to_output(const int32_t *yacc, int32_t s, int32_t e, const tt_rq *out,
		       tinytx_channels ch, int8_t *y_out)
{
	const size_t e2 = (size_t)tt_even64(e);
	const int32_t m = out->rq.multiplier, round = out->round, right = out->right;
	if (ch.multipliers != NULL) { /* per-channel: one plan per output feature */
		for (int32_t n = 0; n < e; n++) {
			const tt_rq pn =
				tt_rq_plan(tinytx_channel_requant(out->rq, ch.multipliers, ch.shifts, n));
			const int32_t *acc = yacc + n;
			int8_t *y = y_out + n;
			if (pn.fast) {
				const int32_t mn = pn.rq.multiplier, rn = pn.round, sn = pn.right;
				for (int32_t t = 0; t < s; t++) {
					y[(size_t)t * e] = (int8_t)__ssat(
						tt_smmla(acc[(size_t)t * e2], mn, rn) >> sn, 8);
				}
			} else {
				for (int32_t t = 0; t < s; t++) {
					y[(size_t)t * e] = (int8_t)tt_rq_apply(acc[(size_t)t * e2], &pn);
				}
			}
		}
		return;
	}
	if (out->fast && e2 == (size_t)e) { /* rows contiguous: one loop, two per step */
		const int32_t *acc = yacc;
		const int32_t *const end = acc + (size_t)s * e2;
		int8_t *y = y_out;
		while (acc != end) {
			const int32_t a0 = acc[0], a1 = acc[1];
			acc += 2;
			y[0] = (int8_t)__ssat(tt_smmla(a0, m, round) >> right, 8);
			y[1] = (int8_t)__ssat(tt_smmla(a1, m, round) >> right, 8);
			y += 2;
		}
		return;
	}
	for (int32_t t = 0; t < s; t++) {
		const int32_t *acc = yacc + (size_t)t * e2;
		int8_t *y = y_out + (size_t)t * e;
		if (out->fast) {
			for (int32_t n = 0; n < e; n++) {
				y[n] = (int8_t)__ssat(tt_smmla(acc[n], m, round) >> right, 8);
			}
		} else {
			for (int32_t n = 0; n < e; n++) {
				y[n] = (int8_t)tt_rq_apply(acc[n], out);
			}
		}
	}
}

static TT_NOINLINE void yacc_to_output(const mhsa_ctx *c)
{
	tt_yacc_to_output(c->yacc, c->s, c->e, &c->out, c->w->out_ch, c->y);
}

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
	const tinytx_requant rqs[6] = {params->q,       params->k,  params->v,
				       params->softmax, params->av, params->out};
	for (int i = 0; i < 6; i++) {
		if (!tinytx_requant_valid(rqs[i])) {
			return TINYTX_ERR_PARAM;
		}
	}
	st = tinytx_check_mhsa_channels(dims, weights);
	if (st == TINYTX_OK) {
		st = tinytx_check_scratch(ctx, need);
	}
	if (st != TINYTX_OK) {
		return st;
	}
	const tt_mhsa_layout l = tt_mhsa_layout_of(dims);
	uint8_t *base = (uint8_t *)(((uintptr_t)ctx->buf + 3u) & ~(uintptr_t)3u);
	mhsa_ctx c;
	c.s = dims->seq_len;
	c.e = dims->embed_dim;
	c.h = dims->heads;
	c.p = dims->head_dim;
	c.eb = tt_w2_blocks(c.e);
	c.pb = tt_w2_blocks(c.p);
	c.sb = tt_w2_blocks(c.s);
	c.hpb = tt_w2_blocks(c.h * c.p);
	c.whole = tt_mhsa_out_whole(dims);
	c.w = weights;
	c.q = tt_rq_plan(params->q);
	c.k = tt_rq_plan(params->k);
	c.v = tt_rq_plan(params->v);
	c.av = tt_rq_plan(params->av);
	c.out = tt_rq_plan(params->out);
	/* |q . k| <= P * 128 * 128; Q is stored as int16, so it can carry 2^up for up <= 8 */
	c.sm = tt_softmax_plan_for(params->softmax, (int64_t)c.p << 14, 8);
#if TINYTX_ARM_EXP_TABLE /* one table load per element (tinytx_arm_common.h) */
	c.exp4 = c.sm.mode == TT_LOGIT_SCALED                         ? tt_exp4x_scaled
		 : c.sm.mode == TT_LOGIT_HIGH && c.sm.right == 1 ? tt_exp4x_h1
								: NULL;
#else
	c.exp4 = c.sm.mode == TT_LOGIT_SCALED && c.sm.clamp_free      ? tt_exp4_scaled_nc
		 : c.sm.mode == TT_LOGIT_SCALED                         ? tt_exp4_scaled
		 : c.sm.mode == TT_LOGIT_HIGH && c.sm.right == 1 ? tt_exp4_h1
								: NULL;
#endif
	/* 256 sum - sum / 2 grows with the sum: the least sum with tt_prob_unclamped */
	c.unclamped = (uint32_t)(((uint64_t)TT_EXP_ONE * 512u) / 511u);
	while (c.unclamped > 0u && tt_prob_unclamped(c.unclamped - 1u)) {
		c.unclamped--;
	}
	while (!tt_prob_unclamped(c.unclamped)) {
		c.unclamped++;
	}
	c.xw = (int16_t *)(base + l.xw);
	c.ww = (int16_t *)(base + l.w);
	c.qw = (int16_t *)(base + l.qw);
	c.kw = (int16_t *)(base + l.kw);
	c.vw = (int16_t *)(base + l.vw);
	c.wo = (int16_t *)(base + l.wo);
	c.pw = (int16_t *)(base + l.pw);
	c.o = (int16_t *)(base + l.o);
	c.bias = (int32_t *)(base + l.bias);
	c.sc = (int32_t *)(base + l.sc);
	c.yacc = (int32_t *)(base + l.yacc);
	c.y = output;

	/* every W2 padding must read as zero, and so must the padded biases */
	tt_zero_words(base, (size_t)l.sc);
	tt_w2_widen(c.xw, input, c.s, c.e, (size_t)c.e);
	if (c.whole) {
		widen_wo(&c, -1);
	}
	const size_t e2 = (size_t)tt_even64(c.e);
	tt_zero_words(c.yacc, e2 * sizeof(int32_t));
	if (weights->bo != NULL) { /* Yacc rows start as the output bias (padding 0) */
		tt_copy_words(c.yacc, weights->bo, (size_t)c.e);
	}
	for (int32_t t = 1; t < (int32_t)tt_even64(c.s); t++) {
		tt_copy_words(c.yacc + (size_t)t * e2, c.yacc, e2);
	}
	for (int32_t hd = 0; hd < c.h; hd++) {
		head_projections(&c, hd);
		if (!c.whole) {
			widen_wo(&c, hd);
		}
		for (int32_t i = 0; 2 * i < c.s; i++) {
			attention_pair(&c, hd, i);
			if (!c.whole) {
				out_pair(&c, c.o, c.pb, i);
			}
		}
	}
	if (c.whole) {
		for (int32_t i = 0; 2 * i < c.s; i++) {
			out_pair(&c, c.o + (size_t)i * c.hpb * 8u, c.hpb, i);
		}
	}
	yacc_to_output(&c);
	return TINYTX_OK;
}
