/*
 * Cortex-M DSP depthwise convolution, channel multiplier 1 (tinytx/core/golden/conv.py).
 *
 * Channels are contiguous in HWC, in the input and in the weights [KH][KW][C], so one
 * 32-bit load brings four channels of a tap. Both words are widened with SXTB16
 * (lo = channels 0 and 2, hi with ROR #8 = channels 1 and 3) and SMLABB/SMLATT add
 * the four products to four accumulators: the sums never cross channels. A padded tap
 * reads a word of four pad_value bytes instead of the image, so padding needs no
 * correction. Channels left over (C % 4) are done one by one. No scratch.
 *
 * Windows inside the image (no padded tap) of kernels of up to DW_MAX_TAPS taps go
 * channel group by channel group along an output row: the group's bias, widened
 * weights (one LDRD per tap, on the stack) and requantization stay out of the pixel
 * loop, which is then one LDR, two SXTB16 and four multiplies per tap.
 */
#include "tinytx_arm_common.h"
#include "tinytx/kernels.h"
#include "../tinytx_window.h"
#include "../tinytx_conv_general.h"

enum { DW_GENERIC, DW_SSAT, DW_USAT7 };

static inline int8_t dw_out(int32_t acc, const tt_rq *p, int32_t lo, int32_t hi)
{
	int32_t y = tt_rq_apply(acc, p);
	y = y < lo ? lo : y;
	return (int8_t)(y > hi ? hi : y);
}

/* a[0..3] += the four channels of x . w (one word each). */
static inline __attribute__((always_inline)) void dw_tap4(uint32_t xv, uint32_t wv, int32_t *a0,
							  int32_t *a1, int32_t *a2, int32_t *a3)
{
	const int32_t xl = (int32_t)__sxtb16(xv), xh = tt_sxtb16_hi(xv);
	const int32_t wl = (int32_t)__sxtb16(wv), wh = tt_sxtb16_hi(wv);
	*a0 = __smlabb(xl, wl, *a0);
	*a2 = __smlatt(xl, wl, *a2);
	*a1 = __smlabb(xh, wh, *a1);
	*a3 = __smlatt(xh, wh, *a3);
}

/* Channels [c_from, C) of output pixel (oy, ox) (any window, clipped or not). */
static void dw_pixel(const tinytx_window_geom *g, const tinytx_conv2d_params *params,
		     const int8_t *input, const int8_t *weights, const int32_t *bias,
		     int8_t *y, int32_t ch, int32_t oy, int32_t ox, int32_t c_from)
{
	const tinytx_window win = tinytx_window_at(g, oy, ox);
	const int32_t kh = g->kernel_h, kw = g->kernel_w;
	const int32_t c4 = ch & ~3;
	const int32_t pad = params->pad_value;
	const uint32_t pad4 = ((uint32_t)pad & 0xffu) * 0x01010101u;
	const tinytx_requant rq = params->requant;
	const int32_t *const mults = params->multipliers, *const shifts = params->shifts;
	const int32_t lo = params->act.min, hi = params->act.max;
	const tt_rq plan = tt_rq_plan(rq);
	for (int32_t c = c_from; c < c4; c += 4) {
		int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
		if (bias != NULL) {
			a0 = bias[c];
			a1 = bias[c + 1];
			a2 = bias[c + 2];
			a3 = bias[c + 3];
		}
		const int8_t *w = weights + c;
		for (int32_t ky = 0; ky < kh; ky++) {
			const int row_in = ky >= win.ky0 && ky < win.ky1;
			for (int32_t kx = 0; kx < kw; kx++, w += ch) {
				uint32_t xv = pad4;
				if (row_in && kx >= win.kx0 && kx < win.kx1) {
					xv = tt_read_u32(input +
							 ((size_t)(win.iy0 + ky) * g->in_w +
							  (size_t)(win.ix0 + kx)) * ch +
							 c);
				}
				dw_tap4(xv, tt_read_u32(w), &a0, &a1, &a2, &a3);
			}
		}
		const int32_t a[4] = {a0, a1, a2, a3};
		for (int32_t i = 0; i < 4; i++) {
			const tt_rq p = mults == NULL ? plan
						      : tt_rq_plan(tinytx_channel_requant(
								rq, mults, shifts, c + i));
			y[c + i] = dw_out(a[i], &p, lo, hi);
		}
	}
	for (int32_t c = c4 > c_from ? c4 : c_from; c < ch; c++) { /* C % 4, one by one */
		int32_t acc = bias != NULL ? bias[c] : 0;
		for (int32_t ky = 0; ky < kh; ky++) {
			const int row_in = ky >= win.ky0 && ky < win.ky1;
			for (int32_t kx = 0; kx < kw; kx++) {
				int32_t xv = pad;
				if (row_in && kx >= win.kx0 && kx < win.kx1) {
					xv = input[((size_t)(win.iy0 + ky) * g->in_w +
						    (size_t)(win.ix0 + kx)) * ch + c];
				}
				acc += xv * weights[((size_t)ky * kw + kx) * ch + c];
			}
		}
		const tt_rq p = mults == NULL
					? plan
					: tt_rq_plan(tinytx_channel_requant(rq, mults, shifts, c));
		y[c] = dw_out(acc, &p, lo, hi);
	}
}

/* Taps of the group path (its widened weights live on the stack: 8 bytes a tap). */
#define DW_MAX_TAPS 16

/* One run of output pixels of a channel group (all windows inside the image). */
typedef struct {
	const int8_t *x;   /* tap (0, 0) of the first pixel, channel c */
	int8_t *y;         /* its output, channel c */
	int32_t n;         /* pixels */
	int32_t x_step;    /* input bytes from one pixel's window to the next */
	int32_t y_step;    /* C */
	int32_t ch;        /* C: bytes from one tap to the next along a row */
	int32_t skip;      /* from the end of a window row to the next */
	int32_t kh, kw;
	const int32_t *w;  /* KH * KW pairs: SXTB16 of the tap's weights, and with ROR #8 */
	int32_t b[4];      /* bias */
	tt_rq rq[4];       /* DW_GENERIC's factors */
	int32_t m, round, right, lo, hi;
} dw_run;

/* The pixel loop of a run (C: two-row kernels, other widths, other requantizations). */
static inline __attribute__((always_inline)) void dw_run_mode(const dw_run *r, int mode)
{
	const int8_t *x0 = r->x;
	int8_t *y = r->y;
	const int32_t ch = r->ch, skip = r->skip, kh = r->kh, kw = r->kw;
	const int32_t m = r->m, round = r->round, right = r->right;
	const int32_t x_step = r->x_step, y_step = r->y_step;
	int8_t *const y_end = y + (size_t)r->n * (size_t)y_step;
	for (; y != y_end; x0 += x_step, y += y_step) {
		int32_t a0 = r->b[0], a1 = r->b[1], a2 = r->b[2], a3 = r->b[3];
		const int8_t *x = x0;
		const int32_t *w = r->w;
		for (int32_t ky = 0; ky < kh; ky++, x += skip, w += 2 * kw) {
			for (int32_t k = 0; k < kw; k++) {
				const uint32_t xv = tt_read_u32(x);
				const int32_t xl = (int32_t)__sxtb16(xv), xh = tt_sxtb16_hi(xv);
				a0 = __smlabb(xl, w[2 * k], a0);
				a2 = __smlatt(xl, w[2 * k], a2);
				a1 = __smlabb(xh, w[2 * k + 1], a1);
				a3 = __smlatt(xh, w[2 * k + 1], a3);
				x += ch;
			}
		}
		if (mode == DW_SSAT) {
			y[0] = (int8_t)__ssat(tt_smmla(a0, m, round) >> right, 8);
			y[1] = (int8_t)__ssat(tt_smmla(a1, m, round) >> right, 8);
			y[2] = (int8_t)__ssat(tt_smmla(a2, m, round) >> right, 8);
			y[3] = (int8_t)__ssat(tt_smmla(a3, m, round) >> right, 8);
		} else if (mode == DW_USAT7) {
			y[0] = (int8_t)__usat(tt_smmla(a0, m, round) >> right, 7);
			y[1] = (int8_t)__usat(tt_smmla(a1, m, round) >> right, 7);
			y[2] = (int8_t)__usat(tt_smmla(a2, m, round) >> right, 7);
			y[3] = (int8_t)__usat(tt_smmla(a3, m, round) >> right, 7);
		} else {
			y[0] = dw_out(a0, &r->rq[0], r->lo, r->hi);
			y[1] = dw_out(a1, &r->rq[1], r->lo, r->hi);
			y[2] = dw_out(a2, &r->rq[2], r->lo, r->hi);
			y[3] = dw_out(a3, &r->rq[3], r->lo, r->hi);
		}
	}
}

#define DW_RUN_FN(NAME, MODE)                                                                      \
	static void NAME(const dw_run *r)                                                          \
	{                                                                                          \
		dw_run_mode(r, MODE);                                                              \
	}
DW_RUN_FN(dw_run_ssat, DW_SSAT)
DW_RUN_FN(dw_run_usat7, DW_USAT7)
DW_RUN_FN(dw_run_generic, DW_GENERIC)

typedef void (*dw_run_fn)(const dw_run *r);

/*
 * One-row kernels of 3, 5 or 7 taps with the fast requantizations (assembly: GCC 12
 * spills the pixel loop's pointers, about 104 instructions a pixel and channel group
 * for 5 taps; this takes 74): the taps unrolled (.rept), accumulators r0-r3, x in r4,
 * the weights in r5, y in r6, C in r7, the pixel's x in r12, the context in lr.
 */
typedef struct {
	int32_t b[4];     /* 0: bias */
	const int32_t *w; /* 16: widened weights, two words a tap */
	int32_t m, round; /* 20, 24 */
	int32_t right;    /* 28 */
	int32_t x_step;   /* 32: input bytes from one window to the next */
	int8_t *y_end;    /* 36: the run's end (y advances C bytes a pixel) */
} dw_row;

_Static_assert(offsetof(dw_row, b) == 0 && offsetof(dw_row, w) == 16, "dw_row: b, w");
_Static_assert(offsetof(dw_row, m) == 20 && offsetof(dw_row, round) == 24 &&
		       offsetof(dw_row, right) == 28,
	       "dw_row: requantization");
_Static_assert(offsetof(dw_row, x_step) == 32 && offsetof(dw_row, y_end) == 36,
	       "dw_row: steps");

typedef void (*dw_row_fn)(const dw_row *ctx, const int8_t *x, int8_t *y, int32_t ch);

#define DW_ASM_SSAT(R) "	ssat	" R ", #8, " R "\n"
#define DW_ASM_USAT7(R) "	usat	" R ", #7, " R "\n"
#define DW_ASM_ROW(NAME, KW, SAT)                                                                  \
	"	.align	2\n"                                                                       \
	"	.global	" NAME "\n"                                                                \
	"	.type	" NAME ", %function\n"                                                     \
	"	.thumb_func\n" NAME ":\n"                                                          \
	"	push	{r4, r5, r6, r7, r8, r9, r10, r11, lr}\n"                                  \
	"	mov	lr, r0\n"                                                                  \
	"	mov	r12, r1\n"                                                                 \
	"	mov	r6, r2\n"                                                                  \
	"	mov	r7, r3\n"                                                                  \
	"1:	ldrd	r0, r1, [lr]\n"                                                            \
	"	ldrd	r2, r3, [lr, #8]\n"                                                        \
	"	ldr	r5, [lr, #16]\n"                                                           \
	"	mov	r4, r12\n"                                                                 \
	"	.rept	" KW "\n"                                                                  \
	"	ldr	r8, [r4]\n"                                                                \
	"	add	r4, r7\n"                                                                  \
	"	ldrd	r10, r11, [r5], #8\n"                                                      \
	"	sxtb16	r9, r8, ror #8\n"                                                           \
	"	sxtb16	r8, r8\n"                                                                  \
	"	smlabb	r0, r8, r10, r0\n"                                                         \
	"	smlatt	r2, r8, r10, r2\n"                                                         \
	"	smlabb	r1, r9, r11, r1\n"                                                         \
	"	smlatt	r3, r9, r11, r3\n"                                                         \
	"	.endr\n"                                                                           \
	"	ldrd	r8, r9, [lr, #20]\n"                                                       \
	"	ldr	r10, [lr, #28]\n"                                                          \
	"	smmla	r0, r0, r8, r9\n"                                                          \
	"	smmla	r1, r1, r8, r9\n"                                                          \
	"	smmla	r2, r2, r8, r9\n"                                                          \
	"	smmla	r3, r3, r8, r9\n"                                                          \
	"	asr	r0, r0, r10\n"                                                             \
	"	asr	r1, r1, r10\n"                                                             \
	"	asr	r2, r2, r10\n"                                                             \
	"	asr	r3, r3, r10\n" SAT("r0") SAT("r1") SAT("r2") SAT("r3")                     \
	"	strb	r0, [r6]\n"                                                                \
	"	strb	r1, [r6, #1]\n"                                                            \
	"	strb	r2, [r6, #2]\n"                                                            \
	"	strb	r3, [r6, #3]\n"                                                            \
	"	ldrd	r8, r9, [lr, #32]\n"                                                       \
	"	add	r12, r8\n"                                                                 \
	"	add	r6, r7\n"                                                                  \
	"	cmp	r6, r9\n"                                                                  \
	"	bne	1b\n"                                                                      \
	"	pop	{r4, r5, r6, r7, r8, r9, r10, r11, pc}\n"                                  \
	"	.size	" NAME ", .-" NAME "\n"

__asm__("	.syntax	unified\n"
	"	.thumb\n"
	"	.text\n" DW_ASM_ROW("tt_dw_row_ssat_k3", "3", DW_ASM_SSAT)
		DW_ASM_ROW("tt_dw_row_ssat_k5", "5", DW_ASM_SSAT)
			DW_ASM_ROW("tt_dw_row_ssat_k7", "7", DW_ASM_SSAT)
				DW_ASM_ROW("tt_dw_row_usat7_k3", "3", DW_ASM_USAT7)
					DW_ASM_ROW("tt_dw_row_usat7_k5", "5", DW_ASM_USAT7)
						DW_ASM_ROW("tt_dw_row_usat7_k7", "7", DW_ASM_USAT7));

void tt_dw_row_ssat_k3(const dw_row *ctx, const int8_t *x, int8_t *y, int32_t ch);
void tt_dw_row_ssat_k5(const dw_row *ctx, const int8_t *x, int8_t *y, int32_t ch);
void tt_dw_row_ssat_k7(const dw_row *ctx, const int8_t *x, int8_t *y, int32_t ch);
void tt_dw_row_usat7_k3(const dw_row *ctx, const int8_t *x, int8_t *y, int32_t ch);
void tt_dw_row_usat7_k5(const dw_row *ctx, const int8_t *x, int8_t *y, int32_t ch);
void tt_dw_row_usat7_k7(const dw_row *ctx, const int8_t *x, int8_t *y, int32_t ch);

/* The assembly run of a one-row kernel, or NULL (the C runs). */
static dw_row_fn dw_pick_row(int mode, int32_t kh, int32_t kw)
{
	static const dw_row_fn fns[2][3] = {
		{tt_dw_row_ssat_k3, tt_dw_row_ssat_k5, tt_dw_row_ssat_k7},
		{tt_dw_row_usat7_k3, tt_dw_row_usat7_k5, tt_dw_row_usat7_k7},
	};
	if (mode == DW_GENERIC || kh != 1 || (kw != 3 && kw != 5 && kw != 7)) {
		return NULL;
	}
	return fns[mode == DW_USAT7][(kw - 3) / 2];
}

tinytx_status tinytx_depthwise_conv2d_s8(const tinytx_conv2d_dims *dims,
					 const tinytx_conv2d_params *params, const int8_t *input,
					 const int8_t *weights, const int32_t *bias, int8_t *output)
{
	if (dims != NULL && tinytx_conv2d_general(dims)) { /* dilation, depth multiplier */
		return tinytx_conv2d_general_s8(dims, params, input, weights, bias, output, 1);
	}
	tinytx_status st = tinytx_check_conv2d_call(dims, params, input, weights, output, 1);
	if (st != TINYTX_OK) {
		return st;
	}
	const tinytx_window_geom g = TINYTX_WINDOW_GEOM(dims);
	const int32_t ch = dims->in_c, kh = g.kernel_h, kw = g.kernel_w;
	const int32_t c4 = ch & ~3;
	const tinytx_requant rq = params->requant;
	const int32_t *const mults = params->multipliers, *const shifts = params->shifts;
	const tt_rq plan = tt_rq_plan(rq);
	const int32_t lo = params->act.min, hi = params->act.max;
	/* per-tensor factors of 2^-2 and less with the clamp [-128, 127] or [0, 127]: the
	 * requantization is SMMLA, ASR and one SSAT or USAT (as the conv2d tile engine) */
	const int mode = mults != NULL || !plan.fast ? DW_GENERIC
			 : lo == -128 && hi == 127    ? DW_SSAT
			 : lo == 0 && hi == 127       ? DW_USAT7
						      : DW_GENERIC;
	const dw_run_fn run_fn = mode == DW_SSAT    ? dw_run_ssat
				 : mode == DW_USAT7 ? dw_run_usat7
						    : dw_run_generic;
	const dw_row_fn row_fn = dw_pick_row(mode, kh, kw);
	/* output columns whose windows lie inside the image: [ox_lo, ox_hi) */
	const int32_t sw = g.stride_w;
	int32_t ox_lo = (g.pad_left + sw - 1) / sw;
	const int32_t last = g.in_w - kw + g.pad_left; /* largest ox * sw inside */
	int32_t ox_hi = last < 0 ? 0 : last / sw + 1;
	ox_hi = ox_hi > dims->out_w ? dims->out_w : ox_hi;
	if (c4 == 0 || kh * kw > DW_MAX_TAPS || ox_hi <= ox_lo) {
		ox_lo = ox_hi = 0;
	}
	int32_t wv[2 * DW_MAX_TAPS];
	dw_run run;
	run.n = ox_hi - ox_lo;
	run.x_step = sw * ch;
	run.y_step = ch;
	run.ch = ch;
	run.skip = (g.in_w - kw) * ch;
	run.kh = kh;
	run.kw = kw;
	run.w = wv;
	run.m = rq.multiplier;
	run.round = plan.round;
	run.right = plan.right;
	run.lo = lo;
	run.hi = hi;

	for (int32_t oy = 0; oy < dims->out_h; oy++) {
		int8_t *const yrow = output + (size_t)oy * dims->out_w * (size_t)ch;
		const int32_t iy0 = oy * g.stride_h - g.pad_top;
		const int row_inside = iy0 >= 0 && iy0 + kh <= g.in_h;
		const int32_t a = row_inside ? ox_lo : 0, b = row_inside ? ox_hi : 0;
		for (int32_t ox = 0; ox < a; ox++) {
			dw_pixel(&g, params, input, weights, bias, yrow + (size_t)ox * ch, ch, oy,
				 ox, 0);
		}
		for (int32_t c = 0; c < c4 && b > a; c += 4) {
			for (int32_t t = 0; t < kh * kw; t++) {
				const uint32_t w4 = tt_read_u32(weights + (size_t)t * ch + c);
				wv[2 * t] = (int32_t)__sxtb16(w4);
				wv[2 * t + 1] = tt_sxtb16_hi(w4);
			}
			for (int32_t i = 0; i < 4; i++) {
				run.b[i] = bias != NULL ? bias[c + i] : 0;
				run.rq[i] = mults == NULL ? plan
							  : tt_rq_plan(tinytx_channel_requant(
								    rq, mults, shifts, c + i));
			}
			run.x = input + ((size_t)iy0 * g.in_w + (size_t)(a * sw - g.pad_left)) * ch + c;
			run.y = yrow + (size_t)a * ch + c;
			if (row_fn != NULL) {
				dw_row row;
				for (int32_t i = 0; i < 4; i++) {
					row.b[i] = run.b[i];
				}
				row.w = wv;
				row.m = run.m;
				row.round = run.round;
				row.right = run.right;
				row.x_step = run.x_step;
				row.y_end = run.y + (size_t)run.n * (size_t)ch;
				row_fn(&row, run.x, run.y, ch);
			} else {
				run_fn(&run);
			}
		}
		for (int32_t ox = a; ox < b && c4 < ch; ox++) { /* their C % 4 channels */
			dw_pixel(&g, params, input, weights, bias, yrow + (size_t)ox * ch, ch, oy,
				 ox, c4);
		}
		for (int32_t ox = b; ox < dims->out_w; ox++) {
			dw_pixel(&g, params, input, weights, bias, yrow + (size_t)ox * ch, ch, oy,
				 ox, 0);
		}
	}
	return TINYTX_OK;
}
