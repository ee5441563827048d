/*
 * Cortex-M DSP linear layer with an int16 scratch (the FFN layers), bit-exact with
 * tinytx_linear_s8. The scratch-free tinytx_linear_s8 widens both operands of every
 * 2 x 2 tile in registers (22 instructions per 16 MACs); here each operand is widened
 * once per call into the W2 layout of tinytx_arm_common.h:
 *   X [S][K] -> Xw (pairs of tokens), once;
 *   per pair of features: W rows n, n + 1 -> Wp (one W2 pair), then a column of 2 x 2
 *   tiles (tt_lin_col): every pair of tokens of Xw against Wp, one LDM and two LDRD
 *   per block of 4 (11 instructions per 16 MACs), the requantization (SMMLA, shift,
 *   SSAT) and the int8 stores fused.
 * Fast path: token-major output, per-tensor factor with shift >= 33 (tt_rq_plan), the
 * full int8 clamp, S >= 2, N >= 2; an odd last token by C on the same operands, an odd
 * N as an overlapping last pair. Anything else (and a NULL scratch) is
 * tinytx_linear_s8.
 *
 * Scratch (S2 = S rounded up to even, K4 = K rounded up to a multiple of 4):
 *   Xw 2 * S2 * K4 | Wp 4 * K4 bytes, 4-byte aligned.
 */
#include "tinytx_arm_common.h"
#include "tinytx/kernels.h"
#include "../tinytx_check.h"

/*
 * A column of tiles (tt_lin_col(&t->b, a)): the W2 pair `b` (kb blocks) against the
 * pairs of token rows a, a + 8 * kb halfwords, ... until a_end. Per tile
 *   c00 = c[0] + a0.b0, c01 = c[1] + a0.b1, c10 = c[2] + a1.b0, c11 = c[3] + a1.b1,
 * requantized ((SMMLA(c, m, round) >> right), SSAT 8) and stored as int8: c00 at o0,
 * c01 at o0 + 1, c10 at o0 + rs, c11 at o0 + rs + 1; o0 advances 2 * rs per tile.
 * The assembly reads the fields below &t->b with one LDMDB after each tile and those
 * from b on with one LDM before it: the offsets are part of the code.
 */
typedef struct {
	int32_t m;          /* -24 */
	int32_t round;      /* -20 */
	int32_t right;      /* -16 */
	int8_t *o0;         /* -12: advanced by the assembly */
	int32_t rs;         /* -8: bytes between token rows of the output (N) */
	const int16_t *a_end; /* -4 */
	const int16_t *b;   /* 0 */
	int32_t steps;      /* 4: set by the assembly: ceil(kb / 4) */
	int32_t c[4];       /* 8: the biases b0, b1, b0, b1 */
	uintptr_t entry;    /* 24: set by the assembly */
	int32_t kb;         /* 28: blocks, >= 1 */
} tt_lin;

_Static_assert(offsetof(tt_lin, b) - offsetof(tt_lin, m) == 24, "tt_lin: LDMDB of 6 words");
_Static_assert(offsetof(tt_lin, o0) - offsetof(tt_lin, m) == 12, "tt_lin: o0 at -12");
_Static_assert(offsetof(tt_lin, a_end) - offsetof(tt_lin, m) == 20, "tt_lin: a_end at -4");
_Static_assert(offsetof(tt_lin, steps) - offsetof(tt_lin, b) == 4, "tt_lin: steps at 4");
_Static_assert(offsetof(tt_lin, c) - offsetof(tt_lin, b) == 8, "tt_lin: c at 8");
_Static_assert(offsetof(tt_lin, entry) - offsetof(tt_lin, b) == 24, "tt_lin: entry at 24");
_Static_assert(offsetof(tt_lin, kb) - offsetof(tt_lin, b) == 28, "tt_lin: kb at 28");

void tt_lin_col(void *bt, const int16_t *a);

/*
 * Registers: r0 a (advancing through Xw, never reset), r1 b, r2 steps left,
 * r3/r7/r9/r10 c00/c01/c10/c11, r4-r6/r8 a pair's block, r11/r12 one b row of a
 * block, lr the context. The block is the one of the fused MHSA engine
 * (tinytx_mhsa_s8.c); four per step, entered Duff's-device style (44 bytes each,
 * all 32-bit encodings). Per tile 24 instructions besides the blocks, against
 * 40 to 50 in tt_rows_s8.
 */
#define TT_LIN_BLOCK                                                                               \
	"	ldm	r0!, {r4, r5, r6, r8}\n"                                                   \
	"	ldrd	r11, r12, [r1], #8\n"                                                      \
	"	smlad	r3, r4, r11, r3\n"                                                         \
	"	smlad	r3, r5, r12, r3\n"                                                         \
	"	smlad	r9, r6, r11, r9\n"                                                         \
	"	smlad	r9, r8, r12, r9\n"                                                         \
	"	ldrd	r11, r12, [r1], #8\n"                                                      \
	"	smlad	r7, r4, r11, r7\n"                                                         \
	"	smlad	r7, r5, r12, r7\n"                                                         \
	"	smlad	r10, r6, r11, r10\n"                                                       \
	"	smlad	r10, r8, r12, r10\n"

__asm__("	.syntax unified\n"
	"	.thumb\n"
	"	.text\n"
	"	.align	2\n"
	"	.global	tt_lin_col\n"
	"	.type	tt_lin_col, %function\n"
	"	.thumb_func\n"
	"tt_lin_col:\n"
	"	push	{r4, r5, r6, r7, r8, r9, r10, r11, lr}\n"
	"	mov	lr, r0\n"
	"	mov	r0, r1\n"
	"	ldr	r2, [lr, #28]\n" /* kb */
	"	adds	r3, r2, #3\n"
	"	lsrs	r3, r3, #2\n"
	"	str	r3, [lr, #4]\n" /* steps */
	"	rsbs	r2, r2, #0\n"
	"	and	r2, r2, #3\n"
	"	movs	r3, #44\n"
	"	adr	r4, 2f\n"
	"	mla	r2, r2, r3, r4\n"
	"	orr	r2, r2, #1\n"
	"	str	r2, [lr, #24]\n" /* entry */
	"1:	ldm	lr, {r1, r2, r3, r7, r9, r10}\n"
	"	ldr	pc, [lr, #24]\n"
	"	.align	2\n"
	"2:\n" TT_LIN_BLOCK TT_LIN_BLOCK TT_LIN_BLOCK TT_LIN_BLOCK
	"	subs	r2, r2, #1\n"
	"	bne	2b\n"
	"	ldmdb	lr, {r4, r5, r6, r8, r11, r12}\n" /* m round right o0 rs a_end */
	"	smmla	r3, r3, r4, r5\n"
	"	smmla	r7, r7, r4, r5\n"
	"	smmla	r9, r9, r4, r5\n"
	"	smmla	r10, r10, r4, r5\n"
	"	asr	r3, r3, r6\n"
	"	asr	r7, r7, r6\n"
	"	asr	r9, r9, r6\n"
	"	asr	r10, r10, r6\n"
	"	ssat	r3, #8, r3\n"
	"	ssat	r7, #8, r7\n"
	"	ssat	r9, #8, r9\n"
	"	ssat	r10, #8, r10\n"
	"	strb	r3, [r8]\n"
	"	strb	r7, [r8, #1]\n"
	"	add	r8, r8, r11\n"
	"	strb	r9, [r8]\n"
	"	strb	r10, [r8, #1]\n"
	"	add	r8, r8, r11\n"
	"	str	r8, [lr, #-12]\n"
	"	cmp	r0, r12\n"
	"	bne	1b\n"
	"	pop	{r4, r5, r6, r7, r8, r9, r10, r11, pc}\n"
	"	.size	tt_lin_col, .-tt_lin_col\n");

static size_t xw_bytes(const tinytx_linear_dims *d)
{
	return (size_t)((d->rows + 1) & ~1) * (size_t)tt_w2_blocks(d->in_features) * 8u;
}

/*
 * `blocks` >= 1 full blocks of rows r0 and r1 into a W2 pair at d: per block one LDR
 * of each row, four SXTB16 and one STM (7.5 instructions per block, two per step;
 * GCC 12 makes 12-15 of the C).
 */
void tt_lin_widen(int32_t *d, const int8_t *r0, const int8_t *r1, int32_t blocks);

__asm__("	.syntax unified\n"
	"	.thumb\n"
	"	.text\n"
	"	.align	2\n"
	"	.global	tt_lin_widen\n"
	"	.type	tt_lin_widen, %function\n"
	"	.thumb_func\n"
	"tt_lin_widen:\n"
	"	push	{r4, r5, r6, r7, r8, r9, r10, r11}\n"
	"	lsrs	r3, r3, #1\n"
	"	bcc	2f\n"
	"	ldr	r4, [r1], #4\n"
	"	ldr	r6, [r2], #4\n"
	"	sxtb16	r5, r4, ror #8\n"
	"	sxtb16	r4, r4\n"
	"	sxtb16	r7, r6, ror #8\n"
	"	sxtb16	r6, r6\n"
	"	stmia	r0!, {r4, r5, r6, r7}\n"
	"2:	cbz	r3, 3f\n"
	"1:	ldr	r4, [r1], #4\n" /* LDR: the rows may be unaligned, LDRD faults */
	"	ldr	r8, [r1], #4\n"
	"	ldr	r6, [r2], #4\n"
	"	ldr	r10, [r2], #4\n"
	"	sxtb16	r5, r4, ror #8\n"
	"	sxtb16	r4, r4\n"
	"	sxtb16	r7, r6, ror #8\n"
	"	sxtb16	r6, r6\n"
	"	sxtb16	r9, r8, ror #8\n"
	"	sxtb16	r8, r8\n"
	"	sxtb16	r11, r10, ror #8\n"
	"	sxtb16	r10, r10\n"
	"	stmia	r0!, {r4, r5, r6, r7, r8, r9, r10, r11}\n"
	"	subs	r3, r3, #1\n"
	"	bne	1b\n"
	"3:	pop	{r4, r5, r6, r7, r8, r9, r10, r11}\n"
	"	bx	lr\n"
	"	.size	tt_lin_widen, .-tt_lin_widen\n");

/*
 * Rows r0 and r1 (r1 may be NULL: zeros) of length k into one W2 pair at d: per block
 * the SXTB16 halves of r0's word, then r1's; the last block zero-padded.
 */
static void widen_pair(int32_t *d, const int8_t *r0, const int8_t *r1, int32_t k)
{
	const int32_t full = k >> 2;
	if (r1 != NULL && full > 0) {
		tt_lin_widen(d, r0, r1, full);
	} else {
		for (int32_t b = 0; b < full; b++) {
			const uint32_t w0 = tt_read_u32(r0 + 4 * b);
			d[4 * b] = (int32_t)__sxtb16(w0);
			d[4 * b + 1] = tt_sxtb16_hi(w0);
			d[4 * b + 2] = 0;
			d[4 * b + 3] = 0;
		}
	}
	if (k & 3) { /* the last block: the rest of the row, zeros after it */
		int16_t *h = (int16_t *)(d + 4 * full);
		for (int32_t i = 0; i < 8; i++) {
			h[i] = 0;
		}
		for (int32_t i = full * 4; i < k; i++) {
			const int32_t pos = tt_w2_kpos(i);
			h[pos] = r0[i];
			if (r1 != NULL) {
				h[4 + pos] = r1[i];
			}
		}
	}
}

/* The last token of an odd S: row 0 of Xw's last pair against the W2 pair wp. */
static void last_token(const int32_t *a, const int32_t *wp, int32_t blocks, int32_t b0,
		       int32_t b1, const tt_rq *rq, int8_t *o)
{
	int32_t c0 = b0, c1 = b1;
	for (int32_t b = 0; b < blocks; b++) {
		c0 = __smlad(a[0], wp[0], c0);
		c0 = __smlad(a[1], wp[1], c0);
		c1 = __smlad(a[0], wp[2], c1);
		c1 = __smlad(a[1], wp[3], c1);
		a += 4;
		wp += 4;
	}
	o[0] = (int8_t)tt_rq_apply(c0, rq);
	o[1] = (int8_t)tt_rq_apply(c1, rq);
}

tinytx_status tinytx_linear_buf_s8(const tinytx_linear_dims *dims,
				   const tinytx_linear_params *params, const int8_t *input,
				   const int8_t *weights, const int32_t *bias, int8_t *output,
				   const tinytx_context *ctx)
{
	tinytx_status st = tinytx_check_linear_call(dims, params, input, weights, output);
	if (st != TINYTX_OK) {
		return st;
	}
	if (ctx == NULL || ctx->size == 0) { /* no scratch: the scratch-free kernel */
		return tinytx_linear_s8(dims, params, input, weights, bias, output);
	}
	st = tinytx_check_scratch(ctx,
				  tinytx_linear_buf_s8_get_buffer_size(dims, tinytx_run_cores()));
	if (st != TINYTX_OK) {
		return st;
	}
	void *scratch = ctx->buf;
	const tt_rq rq = tt_rq_plan(params->requant);
	/* LDM/LDRD fault on a misaligned scratch: take the scratch-free path then */
	if (scratch == NULL || ((uintptr_t)scratch & 3u) != 0 || tt_linear_buf_bytes(dims) == 0 ||
	    params->multipliers != NULL || !rq.fast || params->act.min != -128 ||
	    params->act.max != 127) {
		return tinytx_linear_s8(dims, params, input, weights, bias, output);
	}
	const int32_t rows = dims->rows, k = dims->in_features, n_dim = dims->out_features;
	const int32_t blocks = tt_w2_blocks(k), pairs = rows >> 1;
	int32_t *xw = scratch;
	int32_t *wp = (int32_t *)((uint8_t *)scratch + xw_bytes(dims));
	for (int32_t p = 0; p < (rows + 1) >> 1; p++) {
		const int8_t *r0 = input + (size_t)(2 * p) * (size_t)k;
		widen_pair(xw + (size_t)p * (size_t)blocks * 4u, r0, 2 * p + 1 < rows ? r0 + k : NULL,
			   k);
	}
	tt_lin t;
	t.m = rq.rq.multiplier;
	t.round = rq.round;
	t.right = rq.right;
	t.rs = n_dim;
	t.a_end = (const int16_t *)(xw + (size_t)pairs * (size_t)blocks * 4u);
	t.b = (const int16_t *)wp;
	t.kb = blocks;
	for (int32_t n = 0; n < n_dim; n += 2) {
		const int32_t n0 = n + 1 < n_dim ? n : n - 1; /* odd N: the last pair overlaps */
		const int32_t b0 = bias != NULL ? bias[n0] : 0, b1 = bias != NULL ? bias[n0 + 1] : 0;
		widen_pair(wp, weights + (size_t)n0 * (size_t)k, weights + (size_t)(n0 + 1) * (size_t)k,
			   k);
		t.c[0] = b0;
		t.c[1] = b1;
		t.c[2] = b0;
		t.c[3] = b1;
		t.o0 = output + n0;
		tt_lin_col(&t.b, (const int16_t *)xw);
		if (rows & 1) {
			last_token(xw + (size_t)pairs * (size_t)blocks * 4u, wp, blocks, b0, b1, &rq,
				   output + (size_t)(rows - 1) * (size_t)n_dim + n0);
		}
	}
	return TINYTX_OK;
}
