/*
 * Cortex-M DSP 2-D convolution of one HWC image (semantics: tinytx/core/golden/conv.py).
 *
 * im2col of two output pixels at a time, then 2 x 2 tiles (two pixels x two output
 * channels) of SMLAD over the whole kernel volume, so the inner loop is as long as the
 * kernel volume whatever C_in is (the former kernel ran one SMLAD loop per window row:
 * 2 * KW bytes for a 2-channel input).
 *
 * Scratch (tinytx_conv2d_s8_get_buffer_size): int16 in the W2 layout of
 * tinytx_arm_common.h (rows in pairs, K in blocks of 4 in SXTB16 order), each kernel row
 * (KW * C_in values) padded to whole blocks unless its length is 2 mod 4 (cv_blocks):
 * - the weights, widened once per call: ceil(C_out / 2) pairs of kb blocks (16 bytes
 *   each), the padding zero;
 * - one pair holding the windows of the two current pixels (kb blocks), padded taps
 *   filled with pad_value, so padding needs no correction term;
 * - 2-D convs with padding: the band (cv_band_bytes), int8.
 * The size lives in tinytx_arm_layout.h (the host tools compile it: kernels/abi).
 *
 * The windows are widened straight from the image (or the band): each window row
 * (KW * C_in contiguous bytes in HWC, the whole window for KH == 1: Conv1d, 1x1) four
 * bytes per word, both windows of the pair together, the tail of a row one by one.
 * Integer sums are exact, so the result is bit-exact with the reference in any order.
 *
 * Exact Cortex-M4 instructions per image (unicorn), the former kernel -> this one:
 * radar conv 16x16x2->8 3x3: 281,699 -> 65,879 (0.56 MAC/instruction); radar conv
 * 8x8x8->16 3x3: 207,398 -> 72,925 (1.01); EEG conv 1x648x4->16 1x9/2: 696,881 ->
 * 216,373 (0.86); EEG 1x81x16->32 1x3: 403,920 -> 124,174 (1.00).
 */
#include "tinytx_arm_common.h"
#include "tinytx/kernels.h"
#include "../tinytx_window.h"
#include "../tinytx_conv_general.h"

/* The call's constants. */
typedef struct {
	tinytx_window_geom g;
	const int8_t *input;
	int32_t in_c, row_len; /* row_len = KW * C_in */
	int32_t row_len4;      /* row_len rounded up to 4 */
	int32_t row_k;         /* K from one kernel row to the next: row_len4, or row_len
				* when row_len % 4 == 2 (cv_blocks) */
	int32_t pad;           /* pad_value */
	size_t stride;         /* bytes of one image row */
	size_t band_stride;    /* bytes of one band row: (in_w + pad_left + pad_right) * C_in */
} cv_ctx;

/* (end - src) / 4 words of int8 from src, widened: two SXTB16 and one STRD per word into
 * d, d + 16 bytes, ... (the C loop compiles to 11 instructions per word, this to 6). */
static inline __attribute__((always_inline)) int32_t *cv_words(int32_t *d, const int8_t *src,
							      const int8_t *end)
{
	uint32_t v;
	int32_t a, b;
	__asm__ volatile("1:	ldr	%[v], [%[s]], #4\n"
			 "	sxtb16	%[a], %[v]\n"
			 "	sxtb16	%[b], %[v], ror #8\n"
			 "	strd	%[a], %[b], [%[d]], #16\n"
			 "	cmp	%[s], %[e]\n"
			 "	bne	1b\n"
			 : [s] "+r"(src), [d] "+r"(d), [v] "=&r"(v), [a] "=&r"(a), [b] "=&r"(b)
			 : [e] "r"(end)
			 : "cc", "memory");
	return d;
}

/*
 * n values into one row of the pair, h pointing at that row's half of the block holding
 * kernel-volume index k, from src (int8). Values one by one up to
 * a multiple of 4 (SXTB16 order: k % 4 = 1, 2, 3 at halfwords 2, 1, 3), then four per
 * word (LDR, two SXTB16, STRD), then the tail (halfwords 0, 2, 1).
 */
static inline __attribute__((always_inline)) void cv_put(int16_t *h, int32_t k, const int8_t *src,
							 int32_t n)
{
	switch (k & 3) {
	case 1:
		h[2] = src[0];
		if (n == 1) {
			return;
		}
		h[1] = src[1];
		if (n == 2) {
			return;
		}
		h[3] = src[2];
		h += 8;
		src += 3;
		n -= 3;
		break;
	case 2:
		h[1] = src[0];
		if (n == 1) {
			return;
		}
		h[3] = src[1];
		h += 8;
		src += 2;
		n -= 2;
		break;
	case 3:
		h[3] = src[0];
		h += 8;
		src += 1;
		n -= 1;
		break;
	default:
		break;
	}
	int32_t *d = (int32_t *)h;
	if (n >= 4) {
		d = cv_words(d, src, src + (n & ~3));
		src += n & ~3;
	}
	h = (int16_t *)d;
	switch (n & 3) {
	case 3:
		h[1] = src[2];
		/* fall through */
	case 2:
		h[2] = src[1];
		/* fall through */
	case 1:
		h[0] = src[0];
		break;
	default:
		break;
	}
}

/* Row `row` of the pair at kernel-volume index k. */
static inline int16_t *cv_at(int16_t *pair, int32_t row, int32_t k)
{
	return pair + (size_t)(k >> 2) * 8u + (size_t)row * 4u;
}

/* The last n (0..3) values of a row into one block row d (two words), the rest of the
 * block (the row padding) as zeros. SXTB16 order: k0, k2 | k1, k3. */
static inline __attribute__((always_inline)) void cv_tail(int32_t *d, const int8_t *src, int32_t n)
{
	switch (n) {
	case 1:
		d[0] = (int32_t)(uint16_t)src[0];
		d[1] = 0;
		break;
	case 2:
		d[0] = (int32_t)(uint16_t)src[0];
		d[1] = (int32_t)(uint16_t)src[1];
		break;
	case 3:
		d[0] = (int32_t)((uint32_t)(uint16_t)src[0] | ((uint32_t)src[2] << 16));
		d[1] = (int32_t)(uint16_t)src[1];
		break;
	default:
		break;
	}
}

/*
 * One window row of n values (k a multiple of 4) from src: four per word, then the tail,
 * which writes the rest of its block (the row padding) as zeros: the weights' padding
 * must be zero, and this writes every weight position.
 */
static inline __attribute__((always_inline)) void cv_row(int16_t *h, const int8_t *src, int32_t n)
{
	int32_t *d = (int32_t *)h;
	if (n >= 4) {
		d = cv_words(d, src, src + (n & ~3));
		src += n & ~3;
	}
	cv_tail(d, src, n & 3);
}

/* The window of output pixel (oy, ox), which crosses the border, into row `row`. */
static __attribute__((noinline)) void cv_im2col(const cv_ctx *c, int16_t *pair, int32_t row, int32_t oy, int32_t ox)
{
	const tinytx_window win = tinytx_window_at(&c->g, oy, ox);
	const int32_t in_c = c->in_c, kh = c->g.kernel_h, len4 = c->row_len4;
	const int32_t left = win.kx0 * in_c, run = (win.kx1 - win.kx0) * in_c;
	const int inside = run > 0 && win.ky1 > win.ky0; /* else: all padding */
	const int8_t *src = inside ? c->input + ((size_t)(win.iy0 + win.ky0) * c->g.in_w +
						 (size_t)(win.ix0 + win.kx0)) * (size_t)in_c
				   : c->input;
	if (c->row_k != len4) { /* rows half-way through blocks: value by value (no band) */
		int16_t *const h = pair + (size_t)row * 4u;
		for (int32_t ky = 0, k = 0; ky < kh; ky++, k += c->row_k) {
			const int in_row = ky >= win.ky0 && ky < win.ky1 && run > 0;
			for (int32_t i = 0; i < c->row_len; i++) {
				const int32_t j = k + i;
				const int in = in_row && i >= left && i < left + run;
				h[(size_t)(j >> 2) * 8u + (size_t)tt_w2_kpos(j & 3)] =
					(int16_t)(in ? src[i - left] : c->pad);
			}
			if (in_row) {
				src += c->stride;
			}
		}
		return;
	}
	const int32_t pad2 = (int32_t)(((uint32_t)c->pad & 0xffffu) | ((uint32_t)c->pad << 16));
	/* blocks of a row holding padded taps: those before the run's first full block and
	 * from the block of its end on (the run then overwrites its own values) */
	const int32_t lead = run > 0 ? (left + 3) >> 2 : len4 >> 2;
	const int32_t trail = run > 0 ? (left + run) >> 2 : len4 >> 2;
	for (int32_t ky = 0, k = 0; ky < kh; ky++, k += len4) {
		int32_t *const d = (int32_t *)cv_at(pair, row, k);
		const int in_row = ky >= win.ky0 && ky < win.ky1 && run > 0;
		const int32_t b0 = in_row ? lead : len4 >> 2;
		for (int32_t b = 0; b < b0; b++) { /* a word pair per block */
			d[4 * b] = pad2;
			d[4 * b + 1] = pad2;
		}
		if (!in_row) {
			continue;
		}
		for (int32_t b = trail; b < len4 >> 2; b++) {
			d[4 * b] = pad2;
			d[4 * b + 1] = pad2;
		}
		cv_put(cv_at(pair, row, k + left), k + left, src, run);
		src += c->stride;
	}
}

/* The window of output pixel (oy, ox) into row `row` of the pair. */
static void cv_pixel(const cv_ctx *c, int16_t *pair, int32_t row, int32_t oy, int32_t ox)
{
	const int32_t iy0 = oy * c->g.stride_h - c->g.pad_top;
	const int32_t ix0 = ox * c->g.stride_w - c->g.pad_left;
	const int32_t len = c->row_len, kh = c->g.kernel_h;
	if (iy0 < 0 || ix0 < 0 || iy0 > c->g.in_h - kh || ix0 > c->g.in_w - c->g.kernel_w) {
		cv_im2col(c, pair, row, oy, ox);
		return;
	}
	const int8_t *src = c->input + (size_t)iy0 * c->stride + (size_t)ix0 * (size_t)c->in_c;
	int16_t *h = pair + (size_t)row * 4u;
	if (kh == 1) { /* Conv1d, 1x1: one run */
		cv_row(h, src, len);
		return;
	}
	if (c->row_k != c->row_len4) { /* every second row starts half-way through a block */
		for (int32_t ky = 0, k = 0; ky < kh; ky++, k += len, src += c->stride) {
			cv_put(cv_at(pair, row, k), k, src, len);
		}
		return;
	}
	const size_t step = (size_t)c->row_len4 * 2u; /* halfwords: len4 / 4 blocks of 8 */
	for (int32_t ky = 0; ky < kh; ky++, h += step, src += c->stride) {
		cv_row(h, src, len);
	}
}

/* Tap (0, 0) of the window of output pixel (oy, ox) when the window lies inside the
 * image, else NULL. */
static inline const int8_t *cv_inside(const cv_ctx *c, int32_t oy, int32_t ox)
{
	const int32_t iy0 = oy * c->g.stride_h - c->g.pad_top;
	const int32_t ix0 = ox * c->g.stride_w - c->g.pad_left;
	if (iy0 < 0 || ix0 < 0 || iy0 > c->g.in_h - c->g.kernel_h ||
	    ix0 > c->g.in_w - c->g.kernel_w) {
		return NULL;
	}
	return c->input + (size_t)iy0 * c->stride + (size_t)ix0 * (size_t)c->in_c;
}

/* run bytes (a multiple of 4) of two int8 rows a, b into consecutive blocks of one W2
 * pair at d (two LDR, four SXTB16, two STRD per word of each); returns the next block. */
static inline __attribute__((always_inline)) int32_t *cv_rows2(int32_t *d, const int8_t *a,
							       const int8_t *b, int32_t run)
{
	if ((run & 7) == 0 && run > 0) { /* two words of each per step */
		const int8_t *p = a, *q = b;
		uint32_t v0, v1;
		int32_t t0, t1, t2;
		__asm__ volatile("1:	ldr	%[v0], [%[a]], #4\n"
				 "	ldr	%[v1], [%[b]], #4\n"
				 "	sxtb16	%[t0], %[v0]\n"
				 "	sxtb16	%[t1], %[v0], ror #8\n"
				 "	sxtb16	%[t2], %[v1]\n"
				 "	sxtb16	%[v1], %[v1], ror #8\n"
				 "	strd	%[t0], %[t1], [%[d]], #8\n"
				 "	strd	%[t2], %[v1], [%[d]], #8\n"
				 "	ldr	%[v0], [%[a]], #4\n"
				 "	ldr	%[v1], [%[b]], #4\n"
				 "	sxtb16	%[t0], %[v0]\n"
				 "	sxtb16	%[t1], %[v0], ror #8\n"
				 "	sxtb16	%[t2], %[v1]\n"
				 "	sxtb16	%[v1], %[v1], ror #8\n"
				 "	strd	%[t0], %[t1], [%[d]], #8\n"
				 "	strd	%[t2], %[v1], [%[d]], #8\n"
				 "	cmp	%[a], %[e]\n"
				 "	bne	1b\n"
				 : [a] "+r"(p), [b] "+r"(q), [d] "+r"(d), [v0] "=&r"(v0),
				   [v1] "=&r"(v1), [t0] "=&r"(t0), [t1] "=&r"(t1),
				   [t2] "=&r"(t2)
				 : [e] "r"(a + run)
				 : "cc", "memory");
	} else if (run > 0) {
		const int8_t *p = a, *q = b;
		uint32_t v0, v1;
		int32_t t0, t1, t2;
		__asm__ volatile("1:	ldr	%[v0], [%[a]], #4\n"
				 "	ldr	%[v1], [%[b]], #4\n"
				 "	sxtb16	%[t0], %[v0]\n"
				 "	sxtb16	%[t1], %[v0], ror #8\n"
				 "	sxtb16	%[t2], %[v1]\n"
				 "	sxtb16	%[v1], %[v1], ror #8\n"
				 "	strd	%[t0], %[t1], [%[d]], #8\n"
				 "	strd	%[t2], %[v1], [%[d]], #8\n"
				 "	cmp	%[a], %[e]\n"
				 "	bne	1b\n"
				 : [a] "+r"(p), [b] "+r"(q), [d] "+r"(d), [v0] "=&r"(v0),
				   [v1] "=&r"(v1), [t0] "=&r"(t0), [t1] "=&r"(t1),
				   [t2] "=&r"(t2)
				 : [e] "r"(a + run)
				 : "cc", "memory");
	}
	return d;
}

/* cv_pair_inside for kernel rows of len % 4 == 2 (cv_blocks): rows in pairs, the last
 * two values of the first and the first two of the second sharing a block. */
static void cv_pair_half(const cv_ctx *c, int16_t *pair, const int8_t *s0, const int8_t *s1,
			 size_t stride)
{
	const int32_t run = c->row_len & ~3, kh = c->g.kernel_h;
	int32_t *d = (int32_t *)pair;
	int32_t ky = 0;
	for (; ky + 1 < kh; ky += 2, s0 += 2 * stride, s1 += 2 * stride) {
		d = cv_rows2(d, s0, s1, run);
		uint16_t a0, a1, b0, b1;
		memcpy(&a0, s0 + run, 2); /* LDRH: unaligned is fine */
		memcpy(&a1, s1 + run, 2);
		memcpy(&b0, s0 + stride, 2);
		memcpy(&b1, s1 + stride, 2);
		const uint32_t v0 = a0 | ((uint32_t)b0 << 16), v1 = a1 | ((uint32_t)b1 << 16);
		d[0] = (int32_t)__sxtb16(v0);
		d[1] = tt_sxtb16_hi(v0);
		d[2] = (int32_t)__sxtb16(v1);
		d[3] = tt_sxtb16_hi(v1);
		d = cv_rows2(d + 4, s0 + stride + 2, s1 + stride + 2, run);
	}
	if (ky < kh) { /* an odd last row */
		d = cv_rows2(d, s0, s1, run);
		cv_tail(d, s0 + run, 2);
		cv_tail(d + 2, s1 + run, 2);
	}
}

/* [x0, x1] of a halfword: SXTB16 of it gives [x0, 0] and [x1, 0] (a tail of 2). */
static inline uint32_t cv_ld16(const int8_t *p)
{
	uint16_t v;
	memcpy(&v, p, sizeof(v)); /* LDRH: unaligned is fine */
	return v;
}

/* The two words of one window's block from four int8 values v (SXTB16 order). */
static inline __attribute__((always_inline)) void cv_blk(int32_t *d, uint32_t v)
{
	d[0] = (int32_t)__sxtb16(v);
	d[1] = tt_sxtb16_hi(v);
}

/*
 * cv_pair_half for rows of 6 values (radar's 3x3 over 2 channels): a row pair is three
 * blocks, [a0..a3], [a4 a5 b0 b1], [b2..b5]; straight-line code (54 instructions for
 * both windows of a 3-row kernel, against 137 for the general loop).
 */
static void cv_pair_half6(const cv_ctx *c, int16_t *pair, const int8_t *s0, const int8_t *s1,
			  size_t stride)
{
	int32_t *d = (int32_t *)pair;
	int32_t ky = 0;
	for (; ky + 1 < c->g.kernel_h; ky += 2, s0 += 2 * stride, s1 += 2 * stride, d += 12) {
		const int8_t *const t0 = s0 + stride, *const t1 = s1 + stride;
		cv_blk(d, tt_read_u32(s0));
		cv_blk(d + 2, tt_read_u32(s1));
		cv_blk(d + 4, cv_ld16(s0 + 4) | (cv_ld16(t0) << 16));
		cv_blk(d + 6, cv_ld16(s1 + 4) | (cv_ld16(t1) << 16));
		cv_blk(d + 8, tt_read_u32(t0 + 2));
		cv_blk(d + 10, tt_read_u32(t1 + 2));
	}
	if (ky < c->g.kernel_h) { /* an odd last row: a block and a tail of 2 */
		cv_blk(d, tt_read_u32(s0));
		cv_blk(d + 2, tt_read_u32(s1));
		cv_blk(d + 4, cv_ld16(s0 + 4));
		cv_blk(d + 6, cv_ld16(s1 + 4));
	}
}

/*
 * Both windows of the pair inside the image or the band (s0, s1 their taps (0, 0), rows
 * `stride` bytes apart): each word of both, one block at a time (cv_rows2).
 */
static void cv_pair_inside(const cv_ctx *c, int16_t *pair, const int8_t *s0, const int8_t *s1,
			   size_t stride)
{
	const int32_t len = c->row_len, tail = len & 3, kh = c->g.kernel_h;
	const int32_t run = len & ~3;
	int32_t *d = (int32_t *)pair;
	for (int32_t ky = 0; ky < kh; ky++, s0 += stride, s1 += stride) {
		if (run > 0) {
			d = cv_rows2(d, s0, s1, run);
		}
		if (tail != 0) {
			cv_tail(d, s0 + run, tail);
			cv_tail(d + 2, s1 + run, tail);
			d += 4;
		}
	}
}

/* n bytes of v at d (any alignment): words where aligned, not the C library's memset. */
static void cv_fill(int8_t *d, int32_t n, int32_t v)
{
	const uint32_t v4 = ((uint32_t)v & 0xffu) * 0x01010101u;
	for (; n > 0 && ((uintptr_t)d & 3u) != 0; n--) {
		*d++ = (int8_t)v;
	}
	uint32_t *w = (uint32_t *)(void *)d;
	for (; n >= 4; n -= 4) {
		__asm__("" : "+r"(w));
		*w++ = v4;
	}
	d = (int8_t *)w;
	for (; n > 0; n--) {
		*d++ = (int8_t)v;
	}
}

/* n bytes from s to d: four words per step when both are aligned (LDM/STM), else
 * unaligned words (LDR/STR handle them), then bytes. */
static void cv_copy(int8_t *d, const int8_t *s, int32_t n)
{
	if ((((uintptr_t)d | (uintptr_t)s) & 3u) == 0 && n >= 16) {
		const int8_t *const end = s + (n & ~15);
		/* fixed registers: LDM/STM lists must be in ascending order */
		__asm__ volatile("1:	ldm	%[s]!, {r4, r5, r6, r7}\n"
				 "	stm	%[d]!, {r4, r5, r6, r7}\n"
				 "	cmp	%[s], %[end]\n"
				 "	bne	1b\n"
				 : [s] "+r"(s), [d] "+r"(d)
				 : [end] "r"(end)
				 : "r4", "r5", "r6", "r7", "cc", "memory");
		n &= 15;
	}
	for (; n >= 4; n -= 4, d += 4, s += 4) {
		const uint32_t v = tt_read_u32(s);
		memcpy(d, &v, sizeof(v));
	}
	for (; n > 0; n--) {
		*d++ = *s++;
	}
}

/* The band of output row oy: its KH input rows with the padding rows filled with
 * pad_value; the padding columns were filled once by the caller (cv_fill of the band). */
static void cv_band(const cv_ctx *c, int8_t *band, int32_t oy)
{
	const int32_t row = (int32_t)c->stride, width = (int32_t)c->band_stride;
	const int32_t iy0 = oy * c->g.stride_h - c->g.pad_top;
	band += c->g.pad_left * c->in_c;
	for (int32_t ky = 0; ky < c->g.kernel_h; ky++, band += width) {
		const int32_t iy = iy0 + ky;
		if (iy < 0 || iy >= c->g.in_h) {
			cv_fill(band, row, c->pad);
		} else {
			cv_copy(band, c->input + (size_t)iy * c->stride, row);
		}
	}
}

/*
 * The tile engine, in assembly: the block step needs 13 registers (x and w pointers,
 * the end, four sums, the x pair's four words, one w row's two words), which GCC 12
 * does not keep in registers around a C loop (measured 20 instructions per block,
 * 13 here). The context (cv_run) is addressed from lr.
 *
 * cv_pairs_ssat / cv_pairs_usat7: every pair of output channels of the current pixel
 * pair, w from the first pair to w_end, with the per-tensor SMMLA requantization and
 * the clamp of one SSAT #8 (act [-128, 127]) or USAT #7 (act [0, 127]).
 * cv_tile_raw: one tile, the four sums (initial values in, results out) in c.
 */
typedef struct {
	const int32_t *x;    /* 0: the pixel pair */
	int32_t kb16;        /* 4: bytes of one channel pair's weights */
	const int32_t *bias; /* 8: advances by bias_step per pair */
	int8_t *y0;          /* 12: the first pixel's output at the current channel */
	int8_t *y1;          /* 16: the second's (y0 again when the pair holds one pixel) */
	const int32_t *w_end; /* 20 */
	int32_t m;           /* 24 */
	int32_t round;       /* 28 */
	int32_t right;       /* 32 */
	int32_t bias_step;   /* 36: 8, or 0 with a zero pair when there is no bias */
	uintptr_t entry;     /* 40: set by the assembly: where the first block step starts */
} cv_run;

_Static_assert(offsetof(cv_run, x) == 0, "cv_run layout is read by assembly");
_Static_assert(offsetof(cv_run, kb16) == 4, "cv_run layout is read by assembly");
_Static_assert(offsetof(cv_run, bias) == 8, "cv_run layout is read by assembly");
_Static_assert(offsetof(cv_run, y0) == 12, "cv_run layout is read by assembly");
_Static_assert(offsetof(cv_run, y1) == 16, "cv_run layout is read by assembly");
_Static_assert(offsetof(cv_run, w_end) == 20, "cv_run layout is read by assembly");
_Static_assert(offsetof(cv_run, m) == 24, "cv_run layout is read by assembly");
_Static_assert(offsetof(cv_run, round) == 28, "cv_run layout is read by assembly");
_Static_assert(offsetof(cv_run, right) == 32, "cv_run layout is read by assembly");
_Static_assert(offsetof(cv_run, bias_step) == 36, "cv_run layout is read by assembly");
_Static_assert(offsetof(cv_run, entry) == 40, "cv_run layout is read by assembly");

void cv_pairs_ssat(cv_run *run, const int32_t *w);
void cv_pairs_usat7(cv_run *run, const int32_t *w);
void cv_tile_raw(const int32_t *x, const int32_t *w, const int32_t *w_end, int32_t *c);

/* r0 x, r1 w, r2 end, r4/r5/r6/r7 c00/c01/c10/c11, r8-r11 x pair, r3/r12 one w row.
 * 11 instructions, all 32-bit encodings (44 bytes: the entry arithmetic below). */
#define CV_ASM_BLOCK                                                                               \
	"	ldm	r0!, {r8, r9, r10, r11}\n"                                                 \
	"	ldrd	r3, r12, [r1], #8\n"                                                       \
	"	smlad	r4, r8, r3, r4\n"                                                          \
	"	smlad	r4, r9, r12, r4\n"                                                         \
	"	smlad	r6, r10, r3, r6\n"                                                         \
	"	smlad	r6, r11, r12, r6\n"                                                        \
	"	ldrd	r3, r12, [r1], #8\n"                                                       \
	"	smlad	r5, r8, r3, r5\n"                                                          \
	"	smlad	r5, r9, r12, r5\n"                                                         \
	"	smlad	r7, r10, r3, r7\n"                                                         \
	"	smlad	r7, r11, r12, r7\n"

/*
 * kb blocks, eight per step, entered Duff's-device style at block (8 - kb % 8) % 8 of
 * the step: the prologue computes that address once (entry, with the Thumb bit), each
 * tile branches there with one LDR PC. 11.33 instructions per block for kb = 18
 * (radar's second conv) against 13 for a loop of single blocks.
 */
#define CV_ASM_PROLOGUE                                                                            \
	"	ldr	r2, [lr, #4]\n"                                                            \
	"	lsrs	r2, r2, #4\n"                                                              \
	"	rsbs	r2, r2, #0\n"                                                              \
	"	and	r2, r2, #7\n"                                                              \
	"	movs	r3, #44\n"                                                                 \
	"	adr	r4, 2f\n"                                                                  \
	"	mla	r2, r2, r3, r4\n"                                                          \
	"	orr	r2, r2, #1\n"                                                              \
	"	str	r2, [lr, #40]\n"
#define CV_ASM_DOT                                                                                 \
	"	ldr	pc, [lr, #40]\n"                                                           \
	"	.align	2\n"                                                                       \
	"2:\n" CV_ASM_BLOCK CV_ASM_BLOCK CV_ASM_BLOCK CV_ASM_BLOCK CV_ASM_BLOCK CV_ASM_BLOCK        \
		CV_ASM_BLOCK CV_ASM_BLOCK "	cmp	r1, r2\n"                                     \
	"	bne	2b\n"

#define CV_ASM_PAIRS(NAME, SAT, BITS)                                                                    \
	"	.align	2\n"                                                                       \
	"	.global	" NAME "\n"                                                                \
	"	.type	" NAME ", %function\n"                                                     \
	"	.thumb_func\n" NAME ":\n"                                                          \
	"	push	{r4, r5, r6, r7, r8, r9, r10, r11, lr}\n"                                  \
	"	mov	lr, r0\n" CV_ASM_PROLOGUE "1:	ldr	r3, [lr, #8]\n"                                                            \
	"	ldr	r2, [lr, #36]\n"                                                           \
	"	ldrd	r4, r5, [r3]\n"                                                            \
	"	add	r3, r2\n"                                                                  \
	"	str	r3, [lr, #8]\n"                                                            \
	"	mov	r6, r4\n"                                                                  \
	"	mov	r7, r5\n"                                                                  \
	"	ldrd	r0, r2, [lr]\n"                                                            \
	"	add	r2, r1\n" CV_ASM_DOT "	ldrd	r8, r9, [lr, #24]\n"                         \
	"	ldr	r10, [lr, #32]\n"                                                          \
	"	smmla	r4, r4, r8, r9\n"                                                          \
	"	smmla	r5, r5, r8, r9\n"                                                          \
	"	smmla	r6, r6, r8, r9\n"                                                          \
	"	smmla	r7, r7, r8, r9\n"                                                          \
	"	asr	r4, r4, r10\n"                                                             \
	"	asr	r5, r5, r10\n"                                                             \
	"	asr	r6, r6, r10\n"                                                             \
	"	asr	r7, r7, r10\n"                                                             \
	"	" SAT "	r4, " BITS ", r4\n"                                             \
	"	" SAT "	r5, " BITS ", r5\n"                                             \
	"	" SAT "	r6, " BITS ", r6\n"                                             \
	"	" SAT "	r7, " BITS ", r7\n"                                             \
	"	ldrd	r2, r3, [lr, #12]\n"                                                       \
	"	strb	r4, [r2], #1\n"                                                            \
	"	strb	r5, [r2], #1\n"                                                            \
	"	strb	r6, [r3], #1\n"                                                            \
	"	strb	r7, [r3], #1\n"                                                            \
	"	strd	r2, r3, [lr, #12]\n"                                                       \
	"	ldr	r2, [lr, #20]\n"                                                           \
	"	cmp	r1, r2\n"                                                                  \
	"	bne	1b\n"                                                                      \
	"	pop	{r4, r5, r6, r7, r8, r9, r10, r11, pc}\n"                                  \
	"	.size	" NAME ", .-" NAME "\n"

__asm__("	.syntax unified\n"
	"	.thumb\n"
	"	.text\n" CV_ASM_PAIRS("cv_pairs_ssat", "ssat", "#8")
		CV_ASM_PAIRS("cv_pairs_usat7", "usat", "#7")
	"	.align	2\n"
	"	.global	cv_tile_raw\n"
	"	.type	cv_tile_raw, %function\n"
	"	.thumb_func\n"
	"cv_tile_raw:\n"
	"	push	{r3, r4, r5, r6, r7, r8, r9, r10, r11, lr}\n"
	"	ldm	r3, {r4, r5, r6, r7}\n"
	"3:\n" CV_ASM_BLOCK "	cmp	r1, r2\n"
	"	bne	3b\n"
	"	pop	{r3}\n"
	"	stm	r3, {r4, r5, r6, r7}\n"
	"	pop	{r4, r5, r6, r7, r8, r9, r10, r11, pc}\n"
	"	.size	cv_tile_raw, .-cv_tile_raw\n");

static inline int8_t cv_out(int32_t acc, const tt_rq *p, int32_t lo, int32_t hi)
{
	int32_t y = tt_rq_apply(acc, p);
	y = y < lo ? lo : y;
	return (int8_t)(y > hi ? hi : y);
}

/* What the outputs of a pixel pair need. */
typedef struct {
	cv_run run;
	void (*pairs)(cv_run *, const int32_t *); /* NULL: requantize in C */
	tinytx_requant rq;
	tt_rq plan;
	const int32_t *mults, *shifts, *bias;
	const int32_t *bias0; /* bias, or a zero pair (bias_step 0) */
	const int32_t *wbuf, *pair;
	int32_t lo, hi, out_c, even, kb;
} cv_tiles;

/* Output channels co.. of the pixel pair with the requantization in C (per-channel
 * factors, other clamps, an odd last channel): kept out of the pixel loops. */
static __attribute__((noinline)) void cv_outputs_c(const cv_tiles *t, int8_t *y0, int8_t *y1,
						   int32_t co, const int32_t *w)
{
	const int32_t out_c = t->out_c, kb = t->kb, lo = t->lo, hi = t->hi;
	const int32_t *const bias = t->bias;
	for (; co < out_c; co += 2, w += 4 * kb) {
		const int32_t co1 = co + 1 < out_c ? co + 1 : co;
		const int32_t b0 = bias != NULL ? bias[co] : 0;
		const int32_t b1 = bias != NULL ? bias[co1] : 0;
		int32_t acc[4] = {b0, b1, b0, b1};
		cv_tile_raw(t->pair, w, w + 4 * kb, acc);
		tt_rq p0 = t->plan, q1 = t->plan;
		if (t->mults != NULL) {
			p0 = tt_rq_plan(tinytx_channel_requant(t->rq, t->mults, t->shifts, co));
			q1 = tt_rq_plan(tinytx_channel_requant(t->rq, t->mults, t->shifts, co1));
		}
		y0[co] = cv_out(acc[0], &p0, lo, hi);
		y1[co] = cv_out(acc[2], &p0, lo, hi);
		if (co + 1 < out_c) {
			y0[co + 1] = cv_out(acc[1], &q1, lo, hi);
			y1[co + 1] = cv_out(acc[3], &q1, lo, hi);
		}
	}
}

/* Every output channel of the pixel pair in the pair buffer: y0, y1 its two pixels'
 * outputs (the same pixel twice when y1 == y0). */
static inline __attribute__((always_inline)) void cv_outputs(cv_tiles *t, int8_t *y0, int8_t *y1)
{
	int32_t co = 0;
	const int32_t *w = t->wbuf;
	if (t->pairs != NULL) { /* the assembly for the pairs of channels */
		t->run.bias = t->bias0;
		t->run.y0 = y0;
		t->run.y1 = y1;
		t->pairs(&t->run, w);
		co = t->even;
		w = t->run.w_end;
	}
	if (co < t->out_c) {
		cv_outputs_c(t, y0, y1, co, w);
	}
}

tinytx_status tinytx_conv2d_s8(const tinytx_conv2d_dims *dims, const tinytx_conv2d_params *params,
			       const int8_t *input, const int8_t *weights, const int32_t *bias,
			       int8_t *output, const tinytx_context *ctx)
{
	if (dims != NULL && tinytx_conv2d_general(dims)) { /* dilation, depth multiplier */
		return tinytx_conv2d_general_s8(dims, params, input, weights, bias, output, 0);
	}
	tinytx_status st = tinytx_check_conv2d_call(dims, params, input, weights, output, 0);
	if (st != TINYTX_OK) {
		return st;
	}
	st = tinytx_check_scratch(ctx, tinytx_conv2d_s8_get_buffer_size(dims, tinytx_run_cores()));
	if (st != TINYTX_OK) {
		return st;
	}
	void *scratch = ctx->buf;
	const int32_t out_c = dims->out_c;
	cv_ctx c;
	c.g = (tinytx_window_geom)TINYTX_WINDOW_GEOM(dims);
	c.input = input;
	c.in_c = dims->in_c;
	c.row_len = dims->kernel_w * dims->in_c;
	c.row_len4 = (c.row_len + 3) & ~3;
	c.row_k = (c.row_len & 3) == 2 ? c.row_len : c.row_len4;
	c.pad = params->pad_value;
	c.stride = (size_t)dims->in_w * (size_t)dims->in_c;
	c.band_stride = (size_t)(dims->in_w + dims->pad_left + dims->pad_right) * (size_t)dims->in_c;

	const int32_t kh = dims->kernel_h, len = c.row_len, len4 = c.row_len4;
	const int32_t kb = tt_conv_blocks(kh, len), wpairs = (out_c + 1) / 2;
	int16_t *wbuf = scratch;
	int16_t *pair = wbuf + (size_t)wpairs * (size_t)kb * 8u;
	/* the weights, each row of each channel from a block on (its padding zero) */
	const int32_t k = kh * len;
	if (c.row_k == len && (k & 3) == 0) { /* whole channels, two at a time (the odd one
						  * twice) */
		int32_t *d = (int32_t *)wbuf;
		for (int32_t co = 0; co < out_c; co += 2) {
			const int8_t *const w0 = weights + (size_t)co * (size_t)k;
			d = cv_rows2(d, w0, co + 1 < out_c ? w0 + k : w0, k);
		}
	} else if (c.row_k == len) { /* whole channels */
		for (int32_t co = 0; co < out_c; co++) {
			cv_row(wbuf + tt_w2_index(kb, co, 0), weights + (size_t)co * (size_t)k, k);
		}
	} else {
		const int8_t *wsrc = weights;
		for (int32_t co = 0; co < out_c; co++) {
			for (int32_t ky = 0; ky < kh; ky++, wsrc += len) {
				cv_row(wbuf + tt_w2_index(kb, co, ky * len4), wsrc, len);
			}
		}
	}
	if (out_c & 1) { /* the odd channel's partner row: zeros */
		for (int32_t b = 0; b < kb; b++) {
			memset(wbuf + tt_w2_index(kb, out_c, 4 * b), 0, 8);
		}
	}
	tt_zero_words(pair, (size_t)kb * 16u); /* the row padding of the pixels' windows */

	cv_tiles t;
	t.rq = params->requant;
	t.lo = params->act.min;
	t.hi = params->act.max;
	t.mults = params->multipliers;
	t.shifts = params->shifts;
	t.plan = tt_rq_plan(t.rq);
	t.pairs = t.mults != NULL || !t.plan.fast || out_c < 2 ? NULL
		  : t.lo == -128 && t.hi == 127                ? cv_pairs_ssat
		  : t.lo == 0 && t.hi == 127                   ? cv_pairs_usat7
							       : NULL;
	static const int32_t no_bias[2] = {0, 0};
	t.bias0 = bias != NULL ? bias : no_bias;
	t.out_c = out_c;
	t.even = out_c & ~1;
	t.kb = kb;
	t.bias = bias;
	t.wbuf = (const int32_t *)wbuf;
	t.pair = (const int32_t *)pair;
	t.run.x = (const int32_t *)pair;
	t.run.kb16 = 16 * kb;
	t.run.w_end = (const int32_t *)wbuf + (size_t)(t.even / 2) * (size_t)kb * 4u;
	t.run.m = t.rq.multiplier;
	t.run.round = t.plan.round;
	t.run.right = t.plan.right;
	t.run.bias_step = bias != NULL ? 8 : 0;

	const int32_t ow = dims->out_w, npix = dims->out_h * dims->out_w;
	void (*const inside)(const cv_ctx *, int16_t *, const int8_t *, const int8_t *, size_t) =
		c.row_k == len4 ? cv_pair_inside
		: len == 6	? cv_pair_half6
				: cv_pair_half;
	if (tt_conv_band_bytes(dims) > 0) { /* every window inside the band of its output row */
		int8_t *const band = (int8_t *)(pair + (size_t)kb * 8u);
		const size_t step = (size_t)dims->stride_w * (size_t)dims->in_c;
		cv_fill(band, (int32_t)c.band_stride * kh, c.pad); /* the padding columns */
		for (int32_t oy = 0; oy < dims->out_h; oy++) {
			cv_band(&c, band, oy);
			int8_t *y = output + (size_t)oy * (size_t)ow * (size_t)out_c;
			for (int32_t ox = 0; ox < ow; ox += 2, y += 2 * out_c) {
				const int two = ox + 1 < ow; /* else the last pixel twice */
				const int8_t *const s0 = band + (size_t)ox * step;
				inside(&c, pair, s0, two ? s0 + step : s0, c.band_stride);
				cv_outputs(&t, y, two ? y + out_c : y);
			}
		}
		return TINYTX_OK;
	}
	for (int32_t p = 0, oy = 0, ox = 0; p < npix; p += 2) {
		const int32_t p1 = p + 1 < npix ? p + 1 : p; /* one pixel left: it twice */
		const int32_t oy1 = ox + 1 < ow ? oy : oy + 1, ox1 = ox + 1 < ow ? ox + 1 : 0;
		const int8_t *const s0 = cv_inside(&c, oy, ox);
		const int8_t *const s1 = p1 != p ? cv_inside(&c, oy1, ox1) : NULL;
		if (s0 != NULL && s1 != NULL) {
			inside(&c, pair, s0, s1, c.stride);
		} else {
			cv_pixel(&c, pair, 0, oy, ox);
			cv_pixel(&c, pair, 1, p1 != p ? oy1 : oy, p1 != p ? ox1 : ox);
		}
		ox = ox1 + 1; /* the pixel after p1 */
		oy = oy1;
		if (ox == ow) {
			ox = 0;
			oy++;
		}
		cv_outputs(&t, output + (size_t)p * (size_t)out_c, output + (size_t)p1 * (size_t)out_c);
	}
	return TINYTX_OK;
}
