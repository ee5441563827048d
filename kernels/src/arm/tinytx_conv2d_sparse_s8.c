/*
 * Cortex-M DSP 2-D convolution on sparse weights, bit-exact with tinytx_conv2d_s8 on the
 * decoded weights (padded taps hold pad_value, as the dense kernel's folded sums).
 * The direct path (tinytx_arm_sparse_layout.h, tt_spc_layout_of): the input under 4
 * output pixels a fixed distance apart widened once into an int16 image, every weight
 * entry turned once per call into its offset in that image, then per pass of 4 pixels
 * every row's entries walked in assembly (BLOCK4 17 instructions an entry, UNSTRUCTURED
 * 9) without an im2col. Otherwise (BLOCK4 over an odd in_c, an image past
 * TT_SPC_IMAGE_MAX) the im2col path: the im2col rows of 4 output pixels (int8, in the
 * scratch), widened to int16 once, then walked as the linear kernel's passes
 * (tinytx_arm_sparse.h).
 */
#include "tinytx_arm_sparse.h"
#include "tinytx/kernels.h"

/* n bytes from src to dst, a word at a time (unaligned LDR/STR), then bytes. */
static inline void copy_bytes(int8_t *dst, const int8_t *src, int32_t n)
{
	int32_t c = 0;
	for (; c + 4 <= n; c += 4) {
		const uint32_t v = tt_read_u32(src + c);
		memcpy(dst + c, &v, sizeof(v));
	}
	for (; c < n; c++) {
		dst[c] = src[c];
	}
}

static inline void fill_bytes(int8_t *dst, uint32_t pad4, int32_t n)
{
	int32_t c = 0;
	for (; c + 4 <= n; c += 4) {
		memcpy(dst + c, &pad4, sizeof(pad4));
	}
	for (; c < n; c++) {
		dst[c] = (int8_t)pad4;
	}
}

/*
 * The im2col row of output pixel (oy, ox): per kernel row, the taps inside the image are
 * one contiguous run of the input (copied a word at a time), the padded ones pad_value.
 */
static void im2col(const tinytx_conv2d_dims *d, const tinytx_window_geom *g, const int8_t *input,
		   uint32_t pad4, int32_t oy, int32_t ox, int8_t *col)
{
	const tinytx_window win = tinytx_window_at(g, oy, ox);
	const int32_t in_c = d->in_c, row = d->kernel_w * in_c;
	if (!tinytx_window_clipped(g, &win)) { /* inside the image: one run per kernel row */
		const size_t in_row = (size_t)d->in_w * in_c;
		const int8_t *src = input + ((size_t)win.iy0 * d->in_w + win.ix0) * in_c;
		if ((row & 3) == 0) {
			for (int32_t ky = 0; ky < d->kernel_h; ky++, col += row, src += in_row) {
				for (int32_t c = 0; c < row; c += 4) {
					const uint32_t v = tt_read_u32(src + c);
					memcpy(col + c, &v, sizeof(v));
				}
			}
		} else {
			for (int32_t ky = 0; ky < d->kernel_h; ky++, col += row, src += in_row) {
				copy_bytes(col, src, row);
			}
		}
		return;
	}
	const int32_t left = win.kx0 * in_c, inside = (win.kx1 - win.kx0) * in_c;
	for (int32_t ky = 0; ky < d->kernel_h; ky++, col += row) {
		if (ky < win.ky0 || ky >= win.ky1 || inside <= 0) {
			fill_bytes(col, pad4, row);
			continue;
		}
		const int8_t *src =
			input + ((size_t)(win.iy0 + ky) * d->in_w + win.ix0 + win.kx0) * in_c;
		fill_bytes(col, pad4, left);
		copy_bytes(col + left, src, inside);
		fill_bytes(col + left + inside, pad4, row - left - inside);
	}
}

/* ------------------------------------------------------------------ the direct path */

enum { TT_SPC_U1, TT_SPC_GROUPS, TT_SPC_PAIRS }; /* the image's layouts */

/* A row of the program: its head, then its entries, then its tail. */
typedef struct {
	int32_t bias[4]; /* the 4 sums' start (one LDM) */
	uint32_t next;   /* unrolled pass: where its entries start in the code; else their end */
	int32_t n;       /* its entries */
} tt_spc_head;

typedef struct {
	int32_t m, round, right; /* the fast plan (tt_rq); right 0: the exact 64-bit path */
	int32_t out;             /* the row's output offset */
} tt_spc_tail;

#define TT_SPC_HEAD_WORDS 6

typedef char tt_spc_row_words[sizeof(tt_spc_head) + sizeof(tt_spc_tail) ==
					      TT_SPC_ROW_WORDS * 4
				      ? 1
				      : -1];

/* The image's geometry as the program sees it. */
typedef struct {
	uint32_t positions; /* of a row */
	uint32_t per_row;   /* positions of a kernel row (BLOCK4 groups, UNSTRUCTURED) */
	int32_t kwc;        /* values of a kernel row */
	int32_t cols;
	int32_t row_bytes;  /* an image row */
} tt_spc_geo;

/*
 * Entries lo..hi of a row into the program at o, each checked as tinytx_check_sparse_row
 * (a repeated position or one past the row: NULL returned). UNSTRUCTURED and BLOCK4
 * groups: a kernel row holds per_row whole positions, offset ky * row_bytes + (position
 * in the kernel row) * unit; BLOCK4 pairs: a block may end in the next kernel row, or in
 * the padding of the last. Everything in locals: the stores to o may alias the structs.
 */
static inline __attribute__((always_inline)) int32_t *tt_spc_entries(const uint8_t *gaps, const int8_t *values, tt_spc_geo g,
				      int kind, uint32_t lo, uint32_t hi, int32_t *o)
{
	uint32_t pos = 0, p0 = 0; /* the position, its kernel row's first */
	int32_t row_off = 0;
	const uint8_t *gp = gaps + lo, *const ge = gaps + hi;
	if (gp == ge) {
		return o;
	}
	pos = *gp; /* the first gap may be 0 */
	if (kind == TT_SPC_U1) {
		const int8_t *v = values + lo;
		for (;;) {
			if (pos >= g.positions) {
				return NULL;
			}
			while (pos - p0 >= g.per_row) {
				p0 += g.per_row;
				row_off += g.row_bytes;
			}
			const uint32_t off = (uint32_t)row_off + (pos - p0) * 8;
			*o++ = (int32_t)((off << 16) | (uint16_t)*v++);
			if (++gp == ge) {
				return o;
			}
			if (*gp == 0) {
				return NULL;
			}
			pos += *gp;
		}
	}
	const int8_t *v = values + (size_t)lo * 4;
	if (kind == TT_SPC_GROUPS) { /* [w0, w2] against [x0, x2] at off, [w1, w3] at off + 16 */
		for (;;) {
			if (pos >= g.positions) {
				return NULL;
			}
			while (pos - p0 >= g.per_row) {
				p0 += g.per_row;
				row_off += g.row_bytes;
			}
			const uint32_t wv = tt_read_u32(v);
			o[0] = row_off + (int32_t)(pos - p0) * 32;
			o[1] = __sxtb16(wv);
			o[2] = tt_sxtb16_hi(wv);
			o += 3;
			v += 4;
			if (++gp == ge) {
				return o;
			}
			if (*gp == 0) {
				return NULL;
			}
			pos += *gp;
		}
	}
	/* pairs: [w0, w1] against [x0, x1] at off, [w2, w3] at off2 */
	int32_t k0 = 0; /* the kernel row's first column */
	for (;;) {
		if (pos >= g.positions) {
			return NULL;
		}
		const int32_t k = (int32_t)pos * 4;
		while (k - k0 >= g.kwc) {
			k0 += g.kwc;
			row_off += g.row_bytes;
		}
		const uint32_t off = (uint32_t)(row_off + (k - k0) * 8);
		const uint32_t wv = tt_read_u32(v);
		const int32_t lo16 = __sxtb16(wv), hi16 = tt_sxtb16_hi(wv);
		uint32_t off2 = off + 16;
		int32_t w2 = (int32_t)(((uint32_t)lo16 >> 16) | ((uint32_t)hi16 & 0xffff0000u));
		if (k + 2 >= g.cols) { /* the block's padding: no second pair */
			off2 = off;
			w2 = 0;
		} else if (k + 2 - k0 >= g.kwc) { /* it starts the next kernel row */
			off2 = (uint32_t)(row_off + g.row_bytes);
		}
		o[0] = (int32_t)(off | (off2 << 16));
		o[1] = tt_pack16(lo16, hi16);
		o[2] = w2;
		o += 3;
		v += 4;
		if (++gp == ge) {
			return o;
		}
		if (*gp == 0) {
			return NULL;
		}
		pos += *gp;
	}
}

/*
 * The program (tinytx_arm_sparse_layout.h) of the weights for an image of `pitch` cells
 * a row, every row checked on the way (tinytx_check_sparse_row); *end: its end.
 * code_end: the unrolled pass's end of entries (0: the loop).
 */
static inline __attribute__((always_inline)) tinytx_status
tt_spc_program(const tinytx_sparse_weights *w, const tinytx_conv2d_dims *d, const tt_sp_quant *q,
	       const int32_t *bias, int32_t pitch, int kind, uint32_t code_end, uint32_t pass_end,
	       int32_t *o, const int32_t **end, int32_t *most)
{
	const uint32_t entry_bytes = kind == TT_SPC_U1 ? 28 : kind == TT_SPC_GROUPS ? 56 : 60;
	tt_spc_geo g;
	g.cols = w->cols;
	g.kwc = d->kernel_w * d->in_c;
	g.positions = (uint32_t)tinytx_sparse_positions(w->format, w->cols);
	g.per_row = (uint32_t)(kind == TT_SPC_GROUPS ? g.kwc / 4 : g.kwc);
	g.row_bytes = pitch * d->in_c * 8;
	const uint16_t *rp = w->row_ptr;
	const uint8_t *const gaps = w->gaps;
	const int8_t *const values = w->values;
	const int have = gaps != NULL && values != NULL;
	const int32_t rows = w->rows;
	const int32_t *const multipliers = q->multipliers;
	const tt_rq p0 = tt_rq_plan(q->rq);
	const int32_t m0 = p0.rq.multiplier, round0 = p0.round, right0 = p0.fast ? p0.right : 0;
	uint32_t lo = rp[0], longest = 0;
	for (int32_t r = 0; r < rows; r++) {
		const uint32_t hi = rp[r + 1];
		if (hi < lo) {
			return TINYTX_ERR_PARAM;
		}
		if (hi != lo && !have) {
			return TINYTX_ERR_NULL;
		}
		int32_t *const h = o;
		const int32_t b = bias != NULL ? bias[r] : 0;
		h[0] = b;
		h[1] = b;
		h[2] = b;
		h[3] = b;
		o = tt_spc_entries(gaps, values, g, kind, lo, hi, o + TT_SPC_HEAD_WORDS);
		if (o == NULL) {
			return TINYTX_ERR_PARAM;
		}
		const uint32_t n = hi - lo;
		h[4] = (int32_t)(code_end != 0 ? code_end - n * entry_bytes : (uint32_t)(uintptr_t)o);
		h[5] = (int32_t)n;
		longest = n > longest ? n : longest;
		if (multipliers == NULL) {
			o[0] = m0;
			o[1] = round0;
			o[2] = right0;
		} else {
			const tt_rq p =
				tt_rq_plan(tinytx_channel_requant(q->rq, multipliers, q->shifts, r));
			o[0] = p.rq.multiplier;
			o[1] = p.round;
			o[2] = p.fast ? p.right : 0;
		}
		o[3] = r;
		o += TT_SPC_ROW_WORDS - TT_SPC_HEAD_WORDS;
		lo = hi;
	}
	*end = o;
	*most = (int32_t)longest;
	if (code_end != 0) { /* the unrolled pass: a last head that ends the pass */
		o[0] = 0;
		o[1] = 0;
		o[2] = 0;
		o[3] = 0;
		o[4] = (int32_t)pass_end;
		o[5] = 0;
	}
	return TINYTX_OK;
}

/* tt_spc_program of each layout (the layout a constant: no spills in the rows' loop). */
#define TT_SPC_PROGRAM_OF(NAME, KIND)                                                              \
	static __attribute__((noinline)) tinytx_status NAME(                                     \
		const tinytx_sparse_weights *w, const tinytx_conv2d_dims *d, const tt_sp_quant *q, \
		const int32_t *bias, int32_t pitch, uint32_t code_end, uint32_t pass_end,          \
		int32_t *o, const int32_t **end, int32_t *most)                                    \
	{                                                                                          \
		return tt_spc_program(w, d, q, bias, pitch, KIND, code_end, pass_end, o, end,      \
				      most);                                                       \
	}

TT_SPC_PROGRAM_OF(tt_spc_program_u1, TT_SPC_U1)
TT_SPC_PROGRAM_OF(tt_spc_program_g, TT_SPC_GROUPS)
TT_SPC_PROGRAM_OF(tt_spc_program_p, TT_SPC_PAIRS)

/*
 * Token t's part of the values [0, e_n) of an image row at dst, UNSTRUCTURED layout
 * (value e of cell c, e = c * in_c + channel, at halfword 4 e + t): [e_lo, e_hi) the input
 * values at src (contiguous), the others pad.
 */
static void tt_spc_row_u1(int32_t *dst, int32_t t, const int8_t *src, int32_t e_lo,
			  int32_t e_hi, int32_t e_n, int32_t pad)
{
	int16_t *const h0 = (int16_t *)(void *)dst + t;
	int16_t *h = h0, *const hin = h0 + 4 * e_lo, *const hend = h0 + 4 * e_n;
	for (; h < hin; h += 4) {
		*h = (int16_t)pad;
	}
	int32_t n = e_hi - e_lo;
	for (; n >= 4; n -= 4, h += 16, src += 4) {
		const uint32_t v = tt_read_u32(src);
		const int32_t lo16 = __sxtb16(v), hi16 = tt_sxtb16_hi(v);
		h[0] = (int16_t)lo16;
		h[4] = (int16_t)hi16;
		h[8] = (int16_t)(lo16 >> 16);
		h[12] = (int16_t)(hi16 >> 16);
	}
	for (; n > 0; n--, h += 4) {
		*h = *src++;
	}
	for (; h < hend; h += 4) {
		*h = (int16_t)pad;
	}
}

/*
 * tt_spc_widen4_g / tt_spc_widen4_p: n groups of 4 (pairs of 2) values of the 4 tokens'
 * rows src[0..3] into the image at dst, all tokens at once (BLOCK4 layouts).
 */
void tt_spc_widen4_g(const int8_t *const src[4], int32_t *dst, int32_t n);
void tt_spc_widen4_p(const int8_t *const src[4], int32_t *dst, int32_t n);

__asm__("	.syntax unified\n"
	"	.thumb\n"
	"	.text\n"
	"	.align	2\n"
	"	.global	tt_spc_widen4_g\n"
	"	.type	tt_spc_widen4_g, %function\n"
	"	.thumb_func\n"
	"tt_spc_widen4_g:\n"
	"	push	{r4, r5, r6, r7, r8, r9, r10, r11, lr}\n"
	"	mov	r12, r1\n"
	"	mov	lr, r2\n"
	"	ldmia	r0, {r0, r1, r2, r3}\n"
	"1:	ldr	r8, [r0], #4\n"
	"	ldr	r9, [r1], #4\n"
	"	ldr	r10, [r2], #4\n"
	"	ldr	r11, [r3], #4\n"
	"	sxtb16	r4, r8\n"
	"	sxtb16	r5, r9\n"
	"	sxtb16	r6, r10\n"
	"	sxtb16	r7, r11\n"
	"	sxtb16	r8, r8, ror #8\n"
	"	sxtb16	r9, r9, ror #8\n"
	"	sxtb16	r10, r10, ror #8\n"
	"	sxtb16	r11, r11, ror #8\n"
	"	stmia	r12!, {r4, r5, r6, r7, r8, r9, r10, r11}\n"
	"	subs	lr, lr, #1\n"
	"	bne	1b\n"
	"	pop	{r4, r5, r6, r7, r8, r9, r10, r11, pc}\n"
	"	.size	tt_spc_widen4_g, . - tt_spc_widen4_g\n"
	"	.align	2\n"
	"	.global	tt_spc_widen4_p\n"
	"	.type	tt_spc_widen4_p, %function\n"
	"	.thumb_func\n"
	"tt_spc_widen4_p:\n"
	"	push	{r4, r5, r6, r7, r8, r9, r10, r11, lr}\n"
	"	mov	r12, r1\n"
	"	mov	lr, r2\n"
	"	ldmia	r0, {r0, r1, r2, r3}\n"
	"1:	ldrsb	r4, [r0], #1\n"
	"	ldrsb	r8, [r0], #1\n"
	"	ldrsb	r5, [r1], #1\n"
	"	ldrsb	r9, [r1], #1\n"
	"	ldrsb	r6, [r2], #1\n"
	"	ldrsb	r10, [r2], #1\n"
	"	ldrsb	r7, [r3], #1\n"
	"	ldrsb	r11, [r3], #1\n"
	"	pkhbt	r4, r4, r8, lsl #16\n"
	"	pkhbt	r5, r5, r9, lsl #16\n"
	"	pkhbt	r6, r6, r10, lsl #16\n"
	"	pkhbt	r7, r7, r11, lsl #16\n"
	"	stmia	r12!, {r4, r5, r6, r7}\n"
	"	subs	lr, lr, #1\n"
	"	bne	1b\n"
	"	pop	{r4, r5, r6, r7, r8, r9, r10, r11, pc}\n"
	"	.size	tt_spc_widen4_p, . - tt_spc_widen4_p\n");

/*
 * The image's first `rows` rows of `cols` cells (rows `pitch` cells apart): token t's part
 * of cell (r, c) is input pixel (row0[t] + r, col0[t] + c), pad_value outside the input.
 * BLOCK4: a row in runs of cells where each token is inside the input or not, each run
 * widened for the 4 tokens at once (the tokens outside read `pads`, a row of pad_value).
 */
static void tt_spc_image(const tinytx_conv2d_dims *d, const int8_t *input, int32_t pad,
			 const int8_t *pads, int kind, int32_t rows, int32_t cols, int32_t pitch,
			 const int32_t row0[4], const int32_t col0[4], int32_t *img)
{
	const int32_t in_c = d->in_c;
	for (int32_t r = 0; r < rows; r++) {
		int32_t *dst = img + (size_t)r * pitch * 2 * in_c;
		int32_t lo[TT_SPARSE_TOKENS], hi[TT_SPARSE_TOKENS];
		ptrdiff_t src[TT_SPARSE_TOKENS]; /* the input's offset at cell 0 of the token's row */
		for (int32_t t = 0; t < TT_SPARSE_TOKENS; t++) {
			const int32_t iy = row0[t] + r;
			lo[t] = col0[t] < 0 ? -col0[t] : 0;
			hi[t] = d->in_w - col0[t] < cols ? d->in_w - col0[t] : cols;
			src[t] = 0;
			if (iy < 0 || iy >= d->in_h || hi[t] <= lo[t]) {
				lo[t] = 0;
				hi[t] = 0;
			} else {
				src[t] = ((ptrdiff_t)iy * d->in_w + col0[t]) * in_c;
			}
		}
		if (kind == TT_SPC_U1) {
			for (int32_t t = 0; t < TT_SPARSE_TOKENS; t++) {
				tt_spc_row_u1(dst, t, input + src[t] + (ptrdiff_t)lo[t] * in_c,
					      lo[t] * in_c, hi[t] * in_c, cols * in_c, pad);
			}
			continue;
		}
		for (int32_t c = 0; c < cols;) {
			int32_t end = cols; /* the run: no token enters or leaves the input in it */
			const int8_t *run[TT_SPARSE_TOKENS];
			for (int32_t t = 0; t < TT_SPARSE_TOKENS; t++) {
				const int in = c >= lo[t] && c < hi[t];
				const int32_t edge = in ? hi[t] : (c < lo[t] ? lo[t] : cols);
				end = edge < end ? edge : end;
				run[t] = in ? input + src[t] + (ptrdiff_t)c * in_c : pads;
			}
			const int32_t n = (end - c) * in_c;
			if (kind == TT_SPC_GROUPS) {
				tt_spc_widen4_g(run, dst + 2 * c * in_c, n / 4);
			} else {
				tt_spc_widen4_p(run, dst + 2 * c * in_c, n / 2);
			}
			c = end;
		}
	}
}

/*
 * The assembly passes: `passes` passes of 4 tokens (the cells of each x_step bytes after
 * the one before, its outputs out_step bytes after), every row of the program (r3) per
 * pass, its 4 sums requantized with the row's fast plan and stored at token i's output +
 * the row's offset. tt_spc_un_{b4g,b4p,u1}: every row's entries unrolled (the row's head
 * says where in the code to enter, TT_SPC_UNROLL entries at most); tt_spc_lp_*: a loop
 * over them. Registers: r8 the pass's cells, r4-r7 the sums; BLOCK4 groups: r10 the
 * block's 4 tokens' [x0, x2] then [x1, x3], r12/lr its [w0, w2] / [w1, w3]; BLOCK4 pairs:
 * r10 and r9 (loop: r11) its two pairs of values, r12/lr their weights; UNSTRUCTURED: r12
 * offset << 16 | value, r10 its 4 tokens.
 */
typedef struct {
	const int32_t *prog; /* 0 */
	const int32_t *end;  /* 4 */
	const int32_t *x;    /* 8: the pass's cells */
	int8_t *out[4];      /* 12: token i's output */
	int32_t passes;      /* 28 */
	int32_t x_step;      /* 32 */
	int32_t out_step;    /* 36 */
} tt_spc_asm;

#define TT_SPC_UNROLL 16

#define TT_SPC_GLOBAL(NAME)                                                                        \
	"	.align	2\n"                                                                       \
	"	.global	" NAME "\n"                                                                \
	"	.type	" NAME ", %function\n"                                                     \
	"	.thumb_func\n" NAME ":\n"                                                          \
	"	push	{r4, r5, r6, r7, r8, r9, r10, r11, lr}\n"                                  \
	"	ldr	r8, [r0, #8]\n"                                                            \
	"0:	ldr	r3, [r0, #0]\n"

/* The requantization and stores of a row (its plan and output offset from r3). */
#define TT_SPC_REQUANT                                                                             \
	"	ldmia	r3!, {r1, r2, r12, lr}\n" /* m, round, right, output offset */           \
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
	"	ldrd	r1, r2, [r0, #12]\n" /* the tokens' outputs */                            \
	"	ldrd	r9, r10, [r0, #20]\n"                                                      \
	"	strb	r4, [r1, lr]\n"                                                            \
	"	strb	r5, [r2, lr]\n"                                                            \
	"	strb	r6, [r9, lr]\n"                                                            \
	"	strb	r7, [r10, lr]\n"

/* The next pass: the cells x_step bytes on, the outputs out_step. */
#define TT_SPC_NEXT_PASS                                                                           \
	"	ldr	r1, [r0, #28]\n"                                                           \
	"	subs	r1, r1, #1\n"                                                              \
	"	str	r1, [r0, #28]\n"                                                           \
	"	beq	9f\n"                                                                      \
	"	ldrd	r1, r2, [r0, #32]\n"                                                       \
	"	add	r8, r8, r1\n"                                                              \
	"	ldrd	r9, r10, [r0, #12]\n"                                                      \
	"	add	r9, r9, r2\n"                                                              \
	"	add	r10, r10, r2\n"                                                            \
	"	strd	r9, r10, [r0, #12]\n"                                                      \
	"	ldrd	r9, r10, [r0, #20]\n"                                                      \
	"	add	r9, r9, r2\n"                                                              \
	"	add	r10, r10, r2\n"                                                            \
	"	strd	r9, r10, [r0, #20]\n"                                                      \
	"	b	0b\n"                                                                      \
	"9:	pop	{r4, r5, r6, r7, r8, r9, r10, r11, pc}\n"

#define TT_SPC_SMLAD4(X, OFF, W)                                                                   \
	"	ldrd	r1, r2, [" X ", #" OFF "]\n"                                               \
	"	smlad	r4, r1, " W ", r4\n"                                                       \
	"	smlad	r5, r2, " W ", r5\n"                                                       \
	"	ldrd	r1, r2, [" X ", #" OFF " + 8]\n"                                           \
	"	smlad	r6, r1, " W ", r6\n"                                                       \
	"	smlad	r7, r2, " W ", r7\n"

/* One entry (32-bit encodings only: the unrolled entries have a fixed size). */
#define TT_SPC_B4G(XB)                                                                             \
	"	ldmia.w	r3!, {r1, r12, lr}\n"                                                     \
	"	add.w	r10, r8, r1\n" TT_SPC_SMLAD4("r10", "0", "r12") TT_SPC_SMLAD4("r10", "16", "lr")

#define TT_SPC_B4P(XB)                                                                             \
	"	ldmia.w	r3!, {r1, r12, lr}\n"                                                     \
	"	uxtah	r10, r8, r1\n"                                                            \
	"	add.w	" XB ", r8, r1, lsr #16\n" TT_SPC_SMLAD4("r10", "0", "r12")                 \
		TT_SPC_SMLAD4(XB, "0", "lr")

#define TT_SPC_U1(XB)                                                                              \
	"	ldr.w	r12, [r3], #4\n"                                                          \
	"	add.w	r10, r8, r12, lsr #16\n"                                                  \
	"	ldrd	r1, r2, [r10]\n"                                                          \
	"	smlabb	r4, r1, r12, r4\n"                                                        \
	"	smlatb	r5, r1, r12, r5\n"                                                        \
	"	smlabb	r6, r2, r12, r6\n"                                                        \
	"	smlatb	r7, r2, r12, r7\n"

#define TT_SPC_X4(E) E E E E
#define TT_SPC_X16(E) TT_SPC_X4(TT_SPC_X4(E))

/*
 * NAME: entries unrolled (BYTES each; the row's head holds the entry address | 1); a row's
 * tail falls into the next row's head, the program's last head (a sentinel) enters
 * NAME_pass_end.
 */
#define TT_SPC_UNROLLED(NAME, ENTRY, BYTES)                                                        \
	TT_SPC_GLOBAL(NAME)                                                                        \
	"	b	1f\n"                                                                      \
	"	.align	2\n" NAME "_entries:\n" TT_SPC_X16(ENTRY("r9")) NAME "_code_end:\n"       \
	"	.if	(" NAME "_code_end - " NAME "_entries) != 16 * " #BYTES "\n"               \
	"	.error	\"" NAME ": unexpected entry size\"\n"                                   \
	"	.endif\n" TT_SPC_REQUANT                                                            \
	"1:	ldmia	r3!, {r4, r5, r6, r7, r9, r10}\n" /* bias x 4, entry address, count */   \
	"	bx	r9\n"                                                                      \
	"	.global	" NAME "_pass_end\n"                                                       \
	"	.thumb_func\n" NAME "_pass_end:\n" TT_SPC_NEXT_PASS "	.size	" NAME ", . - " NAME \
	"\n"

/* NAME: a loop over the entries (the row's head holds their end). */
#define TT_SPC_LOOP(NAME, ENTRY)                                                                   \
	TT_SPC_GLOBAL(NAME)                                                                        \
	"1:	ldmia	r3!, {r4, r5, r6, r7, r9, r10}\n" /* bias x 4, end of entries, count */  \
	"	cmp	r3, r9\n"                                                                  \
	"	beq	3f\n"                                                                      \
	"2:\n" ENTRY("r11") "	cmp	r3, r9\n"                                                 \
	"	bne	2b\n"                                                                     \
	"3:\n" TT_SPC_REQUANT "	ldr	r1, [r0, #4]\n"                                       \
	"	cmp	r3, r1\n"                                                                  \
	"	bne	1b\n" TT_SPC_NEXT_PASS "	.size	" NAME ", . - " NAME "\n"

typedef void (*tt_spc_fn)(const tt_spc_asm *c);
void tt_spc_un_b4g(const tt_spc_asm *c);
void tt_spc_un_b4p(const tt_spc_asm *c);
void tt_spc_un_u1(const tt_spc_asm *c);
void tt_spc_lp_b4g(const tt_spc_asm *c);
void tt_spc_lp_b4p(const tt_spc_asm *c);
void tt_spc_lp_u1(const tt_spc_asm *c);
extern const char tt_spc_un_b4g_code_end[], tt_spc_un_b4p_code_end[], tt_spc_un_u1_code_end[];
void tt_spc_un_b4g_pass_end(void);
void tt_spc_un_b4p_pass_end(void);
void tt_spc_un_u1_pass_end(void);

__asm__("	.syntax unified\n"
	"	.thumb\n"
	"	.text\n" TT_SPC_UNROLLED("tt_spc_un_b4g", TT_SPC_B4G, 56)
		TT_SPC_UNROLLED("tt_spc_un_b4p", TT_SPC_B4P, 60)
			TT_SPC_UNROLLED("tt_spc_un_u1", TT_SPC_U1, 28) TT_SPC_LOOP("tt_spc_lp_b4g", TT_SPC_B4G)
				TT_SPC_LOOP("tt_spc_lp_b4p", TT_SPC_B4P) TT_SPC_LOOP("tt_spc_lp_u1", TT_SPC_U1));

/* The fused activation after the assembly passes (as tt_sp_clamp): 4 bytes at a time. */
static void tt_spc_clamp(const tt_sp_quant *q, int8_t *o, int32_t n)
{
	const int32_t lo = q->lo, hi = q->hi;
	const uint32_t lo4 = (uint8_t)lo * 0x01010101u, hi4 = (uint8_t)hi * 0x01010101u;
	int32_t r = 0;
	if (hi == 127) { /* a ReLU: only raised to lo */
		for (; r + 4 <= n; r += 4) {
			uint32_t v = tt_read_u32(o + r);
			(void)__ssub8(v, lo4);
			v = __sel(v, lo4);
			memcpy(o + r, &v, sizeof(v));
		}
	}
	for (; r + 4 <= n; r += 4) {
		uint32_t v = tt_read_u32(o + r);
		(void)__ssub8(v, lo4);
		v = __sel(v, lo4);
		(void)__ssub8(hi4, v);
		v = __sel(v, hi4);
		memcpy(o + r, &v, sizeof(v));
	}
	for (; r < n; r++) {
		const int32_t v = o[r];
		o[r] = (int8_t)(v < lo ? lo : (v > hi ? hi : v));
	}
}

/* The call: its program, requantization and assembly passes (NULL: the C passes). */
typedef struct {
	const int32_t *prog, *end;
	const tt_sp_quant *q;
	int kind;
	tt_spc_fn fn;
} tt_spc_call;

/* `passes` passes of 4 tokens from cells x (x_step words apart); row r of token i at
 * out[i] + r (out_step bytes further each pass). */
static void tt_spc_passes(const tt_spc_call *k, const int32_t *x, int8_t *const out[4],
			  int32_t passes, int32_t x_step, int32_t out_step)
{
	if (k->fn != NULL) {
		tt_spc_asm c = {k->prog, k->end, x, {out[0], out[1], out[2], out[3]},
				passes, x_step * 4, out_step};
		k->fn(&c);
		return;
	}
	const tt_sp_quant *q = k->q;
	for (int32_t j = 0; j < passes; j++, x += x_step) {
		const int32_t *s = k->prog;
		const uint8_t *base = (const uint8_t *)(const void *)x;
		for (int32_t r = 0; s < k->end; r++) {
			const tt_spc_head *h = (const tt_spc_head *)(const void *)s;
			int32_t a[TT_SPARSE_TOKENS] = {h->bias[0], h->bias[1], h->bias[2],
						       h->bias[3]};
			s += sizeof(tt_spc_head) / 4;
			const int32_t *e_end = s + (k->kind == TT_SPC_U1 ? 1 : 3) * h->n;
			if (k->kind != TT_SPC_U1) {
				for (; s < e_end; s += 3) {
					const uint32_t off = (uint32_t)s[0];
					const int32_t *xa =
						(const int32_t *)(const void *)(base + (off & 0xffffu));
					const int32_t *xb =
						k->kind == TT_SPC_GROUPS
							? xa + 4
							: (const int32_t *)(const void *)(base + (off >> 16));
					for (int32_t i = 0; i < TT_SPARSE_TOKENS; i++) {
						a[i] = __smlad(xa[i], s[1], a[i]);
						a[i] = __smlad(xb[i], s[2], a[i]);
					}
				}
			} else {
				for (; s < e_end; s++) {
					const uint32_t e = (uint32_t)s[0];
					const int16_t *xv =
						(const int16_t *)(const void *)(base + (e >> 16));
					const int32_t v = (int16_t)(e & 0xffffu);
					for (int32_t i = 0; i < TT_SPARSE_TOKENS; i++) {
						a[i] += xv[i] * v;
					}
				}
			}
			const tt_spc_tail *tl = (const tt_spc_tail *)(const void *)s;
			s += sizeof(tt_spc_tail) / 4;
			tt_sp_row p;
			p.m = tl->m;
			p.round = tl->round;
			p.right = tl->right;
			for (int32_t i = 0; i < TT_SPARSE_TOKENS; i++) {
				out[i][(size_t)j * out_step + tl->out] = tt_sp_out(a[i], &p, q, r);
			}
		}
	}
}

/*
 * The first of the 4 tokens' q units (rows or pixels) among n: t * q, the last ones
 * pulled back to end at n (they overlap the one before, which computes a few outputs
 * twice but keeps every pass full).
 */
static inline void tt_spc_starts(int32_t n, int32_t q, int32_t st[4])
{
	for (int32_t t = 0; t < TT_SPARSE_TOKENS; t++) {
		st[t] = t * q <= n - q ? t * q : n - q;
	}
}

/* The direct path (the scratch word-aligned and large enough). */
static tinytx_status tt_spc_run(const tinytx_conv2d_dims *dims, const tinytx_conv2d_params *params,
				const int8_t *input, const tinytx_sparse_weights *weights,
				const int32_t *bias, int8_t *output, uint8_t *buf,
				const tt_spc_layout *l)
{
	tt_sp_quant q;
	q.rq = params->requant;
	q.multipliers = params->multipliers;
	q.shifts = params->shifts;
	q.lo = params->act.min;
	q.hi = params->act.max;
	q.rows = NULL;
	q.contiguous = 1;
	q.no_empty = 0;
	q.all_fast = tt_rq_plan(q.rq).fast;
	for (int32_t r = 0; q.multipliers != NULL && r < dims->out_c; r++) {
		q.all_fast &=
			tt_rq_plan(tinytx_channel_requant(q.rq, q.multipliers, q.shifts, r)).fast;
	}
	const int32_t in_c = dims->in_c;
	tt_spc_call k;
	k.kind = weights->format != TINYTX_SPARSE_BLOCK4 ? TT_SPC_U1
		 : (in_c & 3) == 0			? TT_SPC_GROUPS
							: TT_SPC_PAIRS;
	k.q = &q;
	int32_t *const buf32 = (int32_t *)(void *)buf;
	k.prog = buf32;
	static const tt_spc_fn unrolled[3] = {tt_spc_un_u1, tt_spc_un_b4g, tt_spc_un_b4p};
	static const tt_spc_fn looped[3] = {tt_spc_lp_u1, tt_spc_lp_b4g, tt_spc_lp_b4p};
	static const char *const code_end[3] = {tt_spc_un_u1_code_end, tt_spc_un_b4g_code_end,
						tt_spc_un_b4p_code_end};
	int32_t most = 0; /* the most entries of a row */
	static void (*const pass_end[3])(void) = {tt_spc_un_u1_pass_end, tt_spc_un_b4g_pass_end,
						  tt_spc_un_b4p_pass_end};
	const int unroll = q.all_fast;
	k.fn = q.all_fast ? unrolled[k.kind] : NULL;
	typedef tinytx_status (*program_fn)(const tinytx_sparse_weights *,
					    const tinytx_conv2d_dims *, const tt_sp_quant *,
					    const int32_t *, int32_t, uint32_t, uint32_t,
					    int32_t *, const int32_t **, int32_t *);
	static const program_fn programs[3] = {tt_spc_program_u1, tt_spc_program_g,
					       tt_spc_program_p};
	const tinytx_status st =
		programs[k.kind](weights, dims, &q, bias, l->pitch,
				 unroll ? (uint32_t)(uintptr_t)code_end[k.kind] | 1u : 0u,
				 (uint32_t)(uintptr_t)pass_end[k.kind], buf32, &k.end, &most);
	if (st != TINYTX_OK) {
		return st;
	}
	if (most > TT_SPC_UNROLL && unroll) { /* a row too long to unroll: the loop */
		const int32_t words = k.kind == TT_SPC_U1 ? 1 : 3;
		for (int32_t *h = buf32; h < k.end;) {
			const int32_t *e = h + TT_SPC_HEAD_WORDS + words * h[5];
			h[4] = (int32_t)(uintptr_t)e;
			h = (int32_t *)(uintptr_t)e + (TT_SPC_ROW_WORDS - TT_SPC_HEAD_WORDS);
		}
		k.fn = looped[k.kind];
	}
	int32_t *img = (int32_t *)(void *)(buf + l->prog);
	const int32_t pad = params->pad_value;
	int8_t *pads = (int8_t *)(buf + l->prog + l->image);
	tt_fill_words((int32_t *)(void *)pads, (int32_t)(l->pad / 4),
		      (int32_t)((uint8_t)pad * 0x01010101u));
	const int32_t out_h = dims->out_h, out_w = dims->out_w, out_c = dims->out_c;
	const int32_t sh = dims->stride_h, sw = dims->stride_w, kh = dims->kernel_h;
	const int32_t kw = dims->kernel_w, cell = 2 * in_c; /* words */
	int32_t row0[TT_SPARSE_TOKENS], col0[TT_SPARSE_TOKENS], s0[TT_SPARSE_TOKENS];
	int8_t *out[TT_SPARSE_TOKENS];
	if (l->ymode) { /* bands of qq output rows: pass (jr, jc) is pixel (y + s0[t] + jr, jc) */
		for (int32_t y = 0; y < out_h;) {
			const int32_t n = out_h - y < 4 * l->q ? out_h - y : 4 * l->q;
			const int32_t qq = (n + 3) / 4;
			tt_spc_starts(n, qq, s0);
			for (int32_t t = 0; t < TT_SPARSE_TOKENS; t++) {
				row0[t] = (y + s0[t]) * sh - dims->pad_top;
				col0[t] = -dims->pad_left;
			}
			tt_spc_image(dims, input, pad, pads, k.kind, (qq - 1) * sh + kh, l->pitch, l->pitch,
				     row0, col0, img);
			for (int32_t jr = 0; jr < qq; jr++) {
				for (int32_t t = 0; t < TT_SPARSE_TOKENS; t++) {
					out[t] = output + (size_t)(y + s0[t] + jr) * out_w * out_c;
				}
				tt_spc_passes(&k, img + (size_t)jr * sh * l->pitch * cell, out, out_w,
					      sw * cell, out_c);
			}
			y += n;
		}
	}
	/* runs of qq pixels of a row: pass jc is pixel (y, x + s0[t] + jc) */
	for (int32_t y = 0; !l->ymode && y < out_h; y++) {
		for (int32_t t = 0; t < TT_SPARSE_TOKENS; t++) {
			row0[t] = y * sh - dims->pad_top;
		}
		for (int32_t x = 0; x < out_w;) {
			const int32_t n = out_w - x < 4 * l->q ? out_w - x : 4 * l->q;
			const int32_t qq = (n + 3) / 4;
			tt_spc_starts(n, qq, s0);
			for (int32_t t = 0; t < TT_SPARSE_TOKENS; t++) {
				col0[t] = (x + s0[t]) * sw - dims->pad_left;
				out[t] = output + ((size_t)y * out_w + x + s0[t]) * out_c;
			}
			tt_spc_image(dims, input, pad, pads, k.kind, kh, (qq - 1) * sw + kw, l->pitch, row0,
				     col0, img);
			tt_spc_passes(&k, img, out, qq, sw * cell, out_c);
			x += n;
		}
	}
	if (k.fn != NULL && (q.lo != -128 || q.hi != 127)) { /* the assembly only saturates */
		tt_spc_clamp(&q, output, out_h * out_w * out_c);
	}
	return TINYTX_OK;
}

tinytx_status tinytx_conv2d_sparse_s8(const tinytx_conv2d_dims *dims,
				      const tinytx_conv2d_params *params, const int8_t *input,
				      const tinytx_sparse_weights *weights, const int32_t *bias,
				      int8_t *output, const tinytx_context *ctx)
{
	tinytx_status st = tinytx_check_conv2d_sparse_call(dims, params, input, weights, output, 0);
	if (st == TINYTX_OK) {
		st = tinytx_check_cores(tinytx_run_cores());
	}
	if (st != TINYTX_OK) {
		return st;
	}
	/* the scratch of tinytx_conv2d_sparse_s8_get_buffer_size, its layout kept */
	const tt_spc_layout dl = tt_spc_layout_of(dims->in_c, dims->out_h, dims->out_w, dims->out_c,
						  dims->kernel_h, dims->kernel_w, dims->stride_h,
						  dims->stride_w);
	st = tinytx_check_scratch(ctx, tinytx_scratch_bytes(tt_spc_scratch(
					       &dl, dims->in_c, dims->out_c,
					       dims->kernel_h * dims->kernel_w * dims->in_c)));
	if (st == TINYTX_OK && ((uintptr_t)ctx->buf & 3u) != 0) {
		st = TINYTX_ERR_PARAM; /* the program and LDRD/LDM/STM need a word-aligned scratch */
	}
	if (st != TINYTX_OK) {
		return st;
	}
	if (dl.fits && (weights->format != TINYTX_SPARSE_BLOCK4 || (dims->in_c & 1) == 0)) {
		return tt_spc_run(dims, params, input, weights, bias, output, ctx->buf, &dl);
	}
	const int32_t out_c = dims->out_c;
	const int32_t cols = dims->kernel_h * dims->kernel_w * dims->in_c;
	const int32_t kpad = (cols + 3) & ~3;
	const tt_sparse_layout l = tt_sparse_layout_of(out_c, cols, 1);
	uint8_t *buf = ctx->buf;
	int32_t *x16 = (int32_t *)(void *)(buf + l.x16);
	int8_t *col = (int8_t *)(buf + l.cols);
	for (int32_t i = 0; i < TT_SPARSE_TOKENS; i++) { /* the columns past the filter */
		for (int32_t c = cols; c < kpad; c++) {
			col[i * kpad + c] = 0;
		}
	}
	tt_sp_quant q;
	st = tt_sp_quant_init(&q, weights, params->requant, params->act, params->multipliers,
			 params->shifts, bias, x16, (tt_sp_row *)(void *)(buf + l.plans), out_c, 0,
			 1);
	if (st != TINYTX_OK) {
		return st;
	}
	const tinytx_window_geom g = TINYTX_WINDOW_GEOM(dims);
	const uint32_t pad4 = (uint8_t)params->pad_value * 0x01010101u;
	const int32_t pixels = dims->out_h * dims->out_w;
	int32_t oy = 0, ox = 0;
	for (int32_t p = 0; p < pixels; p += TT_SPARSE_TOKENS) {
		const int32_t t = pixels - p < TT_SPARSE_TOKENS ? pixels - p : TT_SPARSE_TOKENS;
		for (int32_t i = 0; i < t; i++) {
			im2col(dims, &g, input, pad4, oy, ox, col + (size_t)i * kpad);
			if (++ox == dims->out_w) {
				ox = 0;
				oy++;
			}
		}
		tt_sp_widen(weights->format, col, kpad, t, kpad, 1, x16);
		tt_sp_pass(weights, &q, x16, t, out_c, output + (size_t)p * out_c);
	}
	return TINYTX_OK;
}
