/*
 * TFLite's decomposed LayerNorm in TFLite's int8 arithmetic (formula in
 * tinytx/core/golden/layernorm_steps.py), Cortex-M DSP variant; the same results as the
 * reference kernel for every argument (and the same checks: tinytx_tfl_steps.h).
 *
 * One MultiplyByQuantizedMultiplier, mbqm(a, M, -n) = rdbpot(srdhm(a, M), n), is one
 * SMMLAR and one shift: for 0 <= M < 2^31 and |a| < 2^30,
 *   mbqm(a, M, -n) == SMMLAR(2a, M, c) >> n,  c = 0 (n = 0), 2^(n-1) - [a < 0] (n >= 1).
 * Why: gemmlowp's srdhm, its sign-dependent nudge under C's truncating division,
 * equals floor((aM + 2^30) / 2^31) for either sign, and never saturates here (its one
 * saturating input, INT32_MIN * INT32_MIN, needs M = INT32_MIN < 0). rdbpot(q, n)
 * equals floor((q + 2^(n-1) - [q < 0]) / 2^n) for n >= 1; nesting the floors,
 *   mbqm = floor((aM + 2^30 + 2^(30+n) - [q < 0] 2^31) / 2^(31+n)),
 * where [q < 0] (aM < -2^30) may become [a < 0]: for -2^30 <= aM < 0 both forms give 0.
 * SMMLAR(2a, M, c) = floor((2aM + 2^31 + c 2^32) / 2^32) is that numerator over 2^32,
 * exact while 2a is int32 and the high word plus c stays within int32. An output zero
 * point z rides in c as z 2^n where that bound still holds (fq_fold_ok).
 * Every step keeps |a| < 2^30: MUL (a - z_a)(b - z_b) 2^shift < 2^16 2^14, ADD's inputs
 * (v - z) 2^20 < 2^28 and their scaled sum < 2^29, SQUARED_DIFFERENCE's inputs
 * (x - z) 2^7 < 2^15 and the square d^2 < 2^30 when |d| < 2^15, which the plan checks
 * from the factors. Factors outside the plans (a squared-difference bound above 2^15,
 * an ADD output shift of 0, a zero point that cannot be folded; the TFLite converter
 * makes none of them) take the reference steps, from the same header. The row's mean
 * and variance (one mbqm per row) use the reference helpers.
 *
 * Per row: the sum with SMLAD; the squared differences; then per block of up to
 * TT_LNS_BLOCK features five short loops, each a function of its own so that its
 * factors stay in registers: g = MUL(r, gamma), mg = MUL(-mean, g) (int8 on the stack),
 * bm = ADD(mg, beta) into the output (beta's scaled values once per call when a row is
 * one block), xg = MUL(x, g), y = ADD(xg, bm). An ADD or SQUARED_DIFFERENCE input
 * factor with n = 0 (TFLite gives the input of the larger scale the factor 1/2 as
 * 2^30 * 2^0) is one SMMULR, c = 0: the loops come in variants for it.
 *
 * Cortex-M4, exact instructions (unicorn) of the first LayerNorm call of the TFLite
 * fixtures (tests/data/tflite; docs/benchmarks.md has the command), reference -> this
 * file: encoder_block (16 rows of 32) 277,185 -> 48,586, eeg (81 rows of 32)
 * 1,399,049 -> 241,737, ecg (66 rows of 16) 578,687 -> 110,597: 5.2-5.8x fewer.
 */
#include "tinytx_arm_common.h"
#include "tinytx/kernels.h"
#include "../tinytx_tfl_steps.h"

#define TT_LNS_BLOCK 32

/* acc + ((a * b + 2^31) >> 32) (ACLE has no intrinsic for SMMLAR). */
static inline int32_t tt_smmlar(int32_t a, int32_t b, int32_t acc)
{
	int32_t r;
	__asm__("smmlar %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
	return r;
}

/*
 * One factor multiplier * 2^-n (n >= 0) with a zero point z folded in:
 * z + mbqm(a) = SMMLAR(2a, m, base + (a < 0 ? mask : 0)) >> n, base = c + z 2^n, mask
 * -1 (n >= 1) or 0 (n = 0). Folding z adds z 2^n to the high word, which must stay in
 * int32 (fq_fold_ok).
 */
typedef struct {
	int32_t m, base, mask, n;
} tt_fq;

static tt_fq fq_plan(int32_t multiplier, int32_t shift, int32_t z)
{
	tt_fq q;
	q.m = multiplier;
	q.n = shift < 0 ? -shift : 0;
	q.base = (q.n > 0 ? (int32_t)1 << (q.n - 1) : 0) + z * ((int32_t)1 << q.n);
	q.mask = q.n > 0 ? -1 : 0;
	return q;
}

/* 1 when z 2^n can be folded: every step here keeps |2a M / 2^32| + 1 <= 2^30. */
static int fq_fold_ok(int32_t shift, int32_t z)
{
	const int32_t n = shift < 0 ? -shift : 0;
	const int64_t az = z < 0 ? -(int64_t)z : z;
	return ((int64_t)1 << 30) + ((int64_t)1 << n) + (az << n) + 2 < ((int64_t)1 << 31);
}

/* z + mbqm(a) for a2 = 2a (fq_apply1: n >= 1, mask -1). */
static inline int32_t fq_apply_m(int32_t a2, int32_t m, int32_t base, int32_t mask, int32_t n)
{
	return tt_smmlar(a2, m, base + ((a2 >> 31) & mask)) >> n;
}

static inline int32_t fq_apply1(int32_t a2, int32_t m, int32_t base, int32_t n)
{
	return tt_smmlar(a2, m, base + (a2 >> 31)) >> n;
}

/* MUL with the left shift and the doubling in the first factor:
 * 2 (a - z_a)(b - z_b) 2^max(shift, 0) = (a k1 + k0)(b - z_b), k1 = 2^up, k0 = -z_a k1. */
typedef struct {
	tt_fq q;
	int32_t up, za, zb;
} tt_mul_plan;

static tt_mul_plan mul_plan(const tinytx_tfl_mul_params *p)
{
	tt_mul_plan m;
	m.q = fq_plan(p->multiplier, p->shift, p->zero_point);
	m.up = (p->shift > 0 ? p->shift : 0) + 1;
	m.za = p->zero_point_a;
	m.zb = p->zero_point_b;
	return m;
}

/* ADD with an output shift <= -1: each input 2 (v - z) 2^20 = v 2^21 - z 2^21, the
 * scaled sum doubled, the output zero point folded. */
typedef struct {
	int32_t ma, ba, maska, na, za21;
	int32_t mb, bb, maskb, nb, zb21;
	int32_t m, base, n;
} tt_add_plan;

static tt_add_plan add_plan(const tinytx_tfl_add_params *p)
{
	const tt_fq a = fq_plan(p->multiplier_a, p->shift_a, 0);
	const tt_fq b = fq_plan(p->multiplier_b, p->shift_b, 0);
	const tt_fq o = fq_plan(p->multiplier, p->shift, p->zero_point);
	tt_add_plan r;
	r.ma = a.m;
	r.ba = a.base;
	r.maska = a.mask;
	r.na = a.n;
	r.za21 = p->zero_point_a * (1 << 21);
	r.mb = b.m;
	r.bb = b.base;
	r.maskb = b.mask;
	r.nb = b.n;
	r.zb21 = p->zero_point_b * (1 << 21);
	r.m = o.m;
	r.base = o.base;
	r.n = o.n;
	return r;
}

static int add_fast(const tinytx_tfl_add_params *p)
{
	return p->shift <= -1 && fq_fold_ok(p->shift, p->zero_point);
}

static int mul_fast(const tinytx_tfl_mul_params *p)
{
	return fq_fold_ok(p->shift, p->zero_point);
}

static int32_t row_sum(const int8_t *x, int32_t e)
{
	int32_t sum = 0, i = 0;
	for (; i + 4 <= e; i += 4) {
		const uint32_t w = tt_read_u32(x + i);
		sum = __smlad((int32_t)__sxtb16(w), 0x00010001, sum);
		sum = __smlad(tt_sxtb16_hi(w), 0x00010001, sum);
	}
	for (; i < e; i++) {
		sum += x[i];
	}
	return sum;
}

/* 1 when every |d| = |mbqm((x - z_a) 2^7) - mbqm((m - z_b) 2^7)| stays below 2^15. */
static int sqdiff_fast(const tinytx_tfl_add_params *p)
{
	const int32_t top = 255 * 128; /* |x - z| 2^7; |mbqm(-a)| <= |mbqm(a)| + 1 */
	const int64_t da = tinytx_tfl_mbqm(top, p->multiplier_a, p->shift_a) + 1;
	const int64_t db = tinytx_tfl_mbqm(top, p->multiplier_b, p->shift_b) + 1;
	return da + db < 32768;
}

/* mbqm(a) + c for a2 = 2a, the factor's n known to be 0 (zero: one SMMULR, c = 0) or
 * >= 1 (mask -1); `zero` is a constant at every call. */
static inline __attribute__((always_inline)) int32_t fq_in(int32_t a2, int32_t m, int32_t base,
							  int32_t n, int zero)
{
	return zero ? tt_smmulr(a2, m) : fq_apply1(a2, m, base, n);
}

static inline __attribute__((always_inline)) int32_t
row_var_fast(const int8_t *x, const int8_t *end, const tt_fq *qa, const tt_fq *qo, int32_t sb,
	     int32_t za8, int32_t z, int a0)
{
	const int32_t ma = qa->m, ba = qa->base, na = qa->n;
	const int32_t mo = qo->m, bo = qo->base, no = qo->n; /* d^2 >= 0: no sign term */
	int32_t total = 0;
	for (; x != end; x++) {
		const int32_t d = fq_in(*x * (1 << 8) - za8, ma, ba, na, a0) - sb;
		total += __ssat((tt_smmlar((d + d) * d, mo, bo) >> no) + z, 8);
	}
	return total;
}

/* sum_i (SQUARED_DIFFERENCE(x[i], m) - z_in) */
static __attribute__((noinline)) int32_t row_var_total(const int8_t *x, int32_t e, int32_t m,
						       const tinytx_tfl_add_params *p, int32_t zin,
						       int fast)
{
	int32_t total = 0;
	const int8_t *const end = x + e;
	if (!fast) {
		for (; x != end; x++) {
			total += tinytx_tfl_squared_difference(*x, m, p) - zin;
		}
		return total;
	}
	const tt_fq qa = fq_plan(p->multiplier_a, p->shift_a, 0);
	const tt_fq qo = fq_plan(p->multiplier, p->shift, 0);
	const int32_t sb =
		tinytx_tfl_mbqm((m - p->zero_point_b) * (1 << 7), p->multiplier_b, p->shift_b);
	const int32_t za8 = p->zero_point_a * (1 << 8), z = p->zero_point;
	total = qa.n == 0 ? row_var_fast(x, end, &qa, &qo, sb, za8, z, 1)
			  : row_var_fast(x, end, &qa, &qo, sb, za8, z, 0);
	return total - e * zin;
}

/* mbqm of ADD's input b (2^20 (b - z_b)) for n values. */
static void add_scale_b(const int8_t *b, int32_t n, const tt_add_plan *p, int32_t *out)
{
	const int32_t m = p->mb, base = p->bb, mask = p->maskb, sh = p->nb, z21 = p->zb21;
	for (int32_t i = 0; i < n; i++) {
		out[i] = fq_apply_m(b[i] * (1 << 21) - z21, m, base, mask, sh);
	}
}

/* ADD(a[i], b[i]) with b's scaled values given (sb) into y; a0: input a's n is 0. */
static inline __attribute__((always_inline)) void
add_sb_t(const int8_t *a, const int32_t *sb, int32_t n, const tt_add_plan *p, int8_t *y, int a0)
{
	const int32_t ma = p->ma, ba = p->ba, na = p->na, z21 = p->za21;
	const int32_t m = p->m, base = p->base, sh = p->n;
	for (int32_t i = 0; i < n; i++) {
		const int32_t sa = fq_in(a[i] * (1 << 21) - z21, ma, ba, na, a0);
		y[i] = (int8_t)__ssat(fq_apply1((sa + sb[i]) * 2, m, base, sh), 8);
	}
}

static __attribute__((noinline)) void add_sb(const int8_t *a, const int32_t *sb, int32_t n,
					     const tt_add_plan *p, int8_t *y)
{
	if (p->na == 0) {
		add_sb_t(a, sb, n, p, y, 1);
	} else {
		add_sb_t(a, sb, n, p, y, 0);
	}
}

/* y[i] = ADD(a[i], y[i]); a0, b0: the inputs' n are 0. */
static inline __attribute__((always_inline)) void
add_inplace_t(const int8_t *a, int32_t n, const tt_add_plan *p, int8_t *y, int a0, int b0)
{
	const int32_t ma = p->ma, ba = p->ba, na = p->na, za21 = p->za21;
	const int32_t mb = p->mb, bb = p->bb, nb = p->nb, zb21 = p->zb21;
	const int32_t m = p->m, base = p->base, sh = p->n;
	for (int32_t i = 0; i < n; i++) {
		const int32_t sa = fq_in(a[i] * (1 << 21) - za21, ma, ba, na, a0);
		const int32_t sb = fq_in(y[i] * (1 << 21) - zb21, mb, bb, nb, b0);
		y[i] = (int8_t)__ssat(fq_apply1((sa + sb) * 2, m, base, sh), 8);
	}
}

static __attribute__((noinline)) void add_inplace(const int8_t *a, int32_t n,
						  const tt_add_plan *p, int8_t *y)
{
	if (p->na == 0 && p->nb == 0) {
		add_inplace_t(a, n, p, y, 1, 1);
	} else if (p->na == 0) {
		add_inplace_t(a, n, p, y, 1, 0);
	} else if (p->nb == 0) {
		add_inplace_t(a, n, p, y, 0, 1);
	} else {
		add_inplace_t(a, n, p, y, 0, 0);
	}
}

/* out[i] = MUL with 2a = a[i] k + k0 (the other input a row constant in k, k0). */
static __attribute__((noinline)) void mul_row_const(const int8_t *a, int32_t n, int32_t k,
						    int32_t k0, const tt_fq *q, int8_t *out)
{
	const int32_t m = q->m, base = q->base, mask = q->mask, sh = q->n;
	for (int32_t i = 0; i < n; i++) {
		out[i] = (int8_t)__ssat(fq_apply_m(a[i] * k + k0, m, base, mask, sh), 8);
	}
}

/* out[i] = MUL(x[i], g[i]): 2a = (x k1 + k0)(g - z_b). */
static __attribute__((noinline)) void mul_x_g(const int8_t *x, const int8_t *g, int32_t n,
					      const tt_mul_plan *p, int8_t *out)
{
	const int32_t k1 = (int32_t)1 << p->up, k0 = -p->za * k1, zb = p->zb;
	const int32_t m = p->q.m, base = p->q.base, mask = p->q.mask, sh = p->q.n;
	for (int32_t i = 0; i < n; i++) {
		const int32_t a2 = (x[i] * k1 + k0) * (g[i] - zb);
		out[i] = (int8_t)__ssat(fq_apply_m(a2, m, base, mask, sh), 8);
	}
}

tinytx_status tinytx_layernorm_steps_s8(const tinytx_layernorm_dims *dims,
					const tinytx_layernorm_steps_params *params,
					const int8_t *input, const int8_t *gamma, const int8_t *beta,
					const int8_t *table, int8_t *output)
{
	const tinytx_status status =
		tinytx_layernorm_steps_check(dims, params, input, gamma, beta, table, output);
	if (status != TINYTX_OK) {
		return status;
	}
	const tinytx_layernorm_steps_params *p = params;
	const int32_t e = dims->features;
	const int fast_sd = sqdiff_fast(&p->squared_difference);
	const int fast = mul_fast(&p->gamma) && mul_fast(&p->x_gamma) && mul_fast(&p->mean_gamma) &&
			 add_fast(&p->beta) && add_fast(&p->out);
	const tt_mul_plan pg = mul_plan(&p->gamma), px = mul_plan(&p->x_gamma),
			  pm = mul_plan(&p->mean_gamma);
	const tt_add_plan pb = add_plan(&p->beta), po = add_plan(&p->out);
	int8_t gbuf[TT_LNS_BLOCK], tbuf[TT_LNS_BLOCK];
	int32_t sbeta[TT_LNS_BLOCK];
	const int hoisted = e <= TT_LNS_BLOCK; /* beta's scaled values once per call */
	if (fast && hoisted) {
		add_scale_b(beta, e, &pb, sbeta);
	}
	for (int32_t r = 0; r < dims->rows; r++) {
		const int8_t *x = input + (size_t)r * e;
		int8_t *y = output + (size_t)r * e;
		const int32_t total = row_sum(x, e) - e * p->mean.zero_point_in;
		const int32_t m = tinytx_tfl_mean(total, &p->mean);
		const int32_t nm = tinytx_tfl_clamp8(p->neg_zero_point - (m - p->mean.zero_point));
		const int32_t var_total = row_var_total(x, e, m, &p->squared_difference,
							p->var.zero_point_in, fast_sd);
		const int32_t v = tinytx_tfl_mean(var_total, &p->var);
		const int32_t rs = table[(uint8_t)(int8_t)v];
		if (!fast) {
			tinytx_tfl_layernorm_row_out(x, gamma, beta, e, rs, nm, p, y);
			continue;
		}
		/* g = MUL(r, gamma): 2a = gamma kg + kg0; mg = MUL(nm, g): g km + km0 */
		const int32_t kg = (rs - pg.za) * (1 << pg.up), kg0 = -pg.zb * kg;
		const int32_t km = (nm - pm.za) * (1 << pm.up), km0 = -pm.zb * km;
		for (int32_t c0 = 0; c0 < e; c0 += TT_LNS_BLOCK) {
			const int32_t n = e - c0 < TT_LNS_BLOCK ? e - c0 : TT_LNS_BLOCK;
			const int8_t *gm = gamma + c0, *xc = x + c0;
			int8_t *yc = y + c0;
			mul_row_const(gm, n, kg, kg0, &pg.q, gbuf); /* g = MUL(r, gamma) */
			mul_row_const(gbuf, n, km, km0, &pm.q, tbuf); /* mg = MUL(nm, g) */
			if (!hoisted) {
				add_scale_b(beta + c0, n, &pb, sbeta);
			}
			add_sb(tbuf, sbeta, n, &pb, yc); /* bm = ADD(mg, beta) */
			mul_x_g(xc, gbuf, n, &px, tbuf); /* xg = MUL(x, g) */
			add_inplace(tbuf, n, &po, yc); /* y = ADD(xg, bm) */
		}
	}
	return TINYTX_OK;
}
