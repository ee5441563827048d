/*
 * TFLite's decomposed LayerNorm in TFLite's int8 arithmetic (formula in
 * tinytx/core/golden/layernorm_steps.py), Cortex-M DSP variant; same results as the
 * reference kernel for every argument (same checks: tinytx_tfl_steps.h).
 *
 * One MultiplyByQuantizedMultiplier, mbqm(a, M, -n) = rdbpot(srdhm(a, M), n), takes
 * one SMMLAR and one shift: for 0 <= M < 2^31 and |a| < 2^30,
 *   mbqm(a, M, -n) == SMMLAR(2a, M, c) >> n,  c = 0 (n = 0), 2^(n-1) - [a < 0] (n >= 1).
 * Why: gemmlowp's srdhm with its sign-dependent nudge and C's truncating division
 * equals floor((aM + 2^30) / 2^31) for either sign (the nudge 1 - 2^30 under
 * truncation is the ceiling's complement); it never saturates, its only saturating
 * input INT32_MIN * INT32_MIN needing M = INT32_MIN < 0. rdbpot(q, n) equals
 * floor((q + 2^(n-1) - [q < 0]) / 2^n) for n >= 1; nesting the floors,
 *   mbqm = floor((aM + 2^30 + 2^(30+n) - [q < 0] 2^31) / 2^(31+n)),
 * and [q < 0] (aM < -2^30) may be replaced by [a < 0]: for -2^30 <= aM < 0 both
 * forms give 0. SMMLAR(2a, M, c) = floor((2aM + 2^31 + c 2^32) / 2^32) is that
 * numerator over 2^32, exact while 2a is int32 and the high word with c stays
 * within int32 (|2aM / 2^32| < |a| <= 2^29 below, c <= 2^30).
 * Every step keeps |a| < 2^30: MUL (a - z_a)(b - z_b) 2^shift < 2^16 2^14, ADD's
 * inputs (v - z) 2^20 < 2^28 and their scaled sum < 2^29, SQUARED_DIFFERENCE's
 * inputs (x - z) 2^7 < 2^15 and the square d^2 < 2^30 when |d| < 2^15, which the
 * plan checks from the factors (otherwise that pass runs the reference steps).
 * The row's mean and variance (one mbqm per row) use the reference helpers.
 *
 * Per row: the sum with SMLAD; the squared differences; then per block of up to
 * TT_LNS_BLOCK features g = MUL(r, gamma) (kept on the stack) and
 * bm = ADD(MUL(-mean, g), beta) (stored in the output), and a second loop
 * y = ADD(MUL(x, g), bm): each loop with fewer live factors than one fused loop.
 */
#include "tinytx_arm_common.h"
#include "tinytx/kernels.h"
#include "../tinytx_tfl_steps.h"

#define TT_LNS_BLOCK 64

/* acc + ((a * b + 2^31) >> 32) (ACLE has no intrinsic for SMMLAR). */
static inline int32_t tt_smmlar(int32_t a, int32_t b, int32_t acc)
{
	int32_t r;
	__asm__("smmlar %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
	return r;
}

/* One factor multiplier * 2^-n (n >= 0): mbqm(a) = SMMLAR(2a, m, base + (2a < 0 ? mask :
 * 0)) >> n. */
typedef struct {
	int32_t m, base, mask, n;
} tt_fq;

static tt_fq fq_plan(int32_t multiplier, int32_t shift)
{
	tt_fq q;
	q.m = multiplier;
	q.n = shift < 0 ? -shift : 0;
	q.base = q.n > 0 ? (int32_t)1 << (q.n - 1) : 0;
	q.mask = q.n > 0 ? -1 : 0;
	return q;
}

/* mbqm(a) for a2 = 2a. */
static inline int32_t fq_apply(int32_t a2, const tt_fq *q)
{
	return tt_smmlar(a2, q->m, q->base + ((a2 >> 31) & q->mask)) >> q->n;
}

/* MUL: 2 (a - z_a)(b - z_b) 2^max(shift, 0) = ((a - z_a) << up) (b - z_b). */
typedef struct {
	tt_fq q;
	int32_t up, za, zb, z;
} tt_mul_plan;

static tt_mul_plan mul_plan(const tinytx_tfl_mul_params *p)
{
	tt_mul_plan m;
	m.q = fq_plan(p->multiplier, p->shift);
	m.up = (p->shift > 0 ? p->shift : 0) + 1;
	m.za = p->zero_point_a;
	m.zb = p->zero_point_b;
	m.z = p->zero_point;
	return m;
}

/* ADD: each input 2 (v - z) 2^20 = v 2^21 - z 2^21, the sum doubled. */
typedef struct {
	tt_fq a, b, o;
	int32_t za21, zb21, z;
} tt_add_plan;

static tt_add_plan add_plan(const tinytx_tfl_add_params *p)
{
	tt_add_plan a;
	a.a = fq_plan(p->multiplier_a, p->shift_a);
	a.b = fq_plan(p->multiplier_b, p->shift_b);
	a.o = fq_plan(p->multiplier, p->shift);
	a.za21 = p->zero_point_a * (1 << 21);
	a.zb21 = p->zero_point_b * (1 << 21);
	a.z = p->zero_point;
	return a;
}

static inline int32_t add_apply(int32_t a, int32_t b, const tt_add_plan *p)
{
	const int32_t sa = fq_apply(a * (1 << 21) - p->za21, &p->a);
	const int32_t sb = fq_apply(b * (1 << 21) - p->zb21, &p->b);
	return __ssat(fq_apply((sa + sb) * 2, &p->o) + p->z, 8);
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

/* sum_i (SQUARED_DIFFERENCE(x[i], m) - z_in) */
static int32_t row_var_total(const int8_t *x, int32_t e, int32_t m, const tinytx_tfl_add_params *p,
			     int32_t zin, int fast)
{
	int32_t total = 0;
	if (!fast) {
		for (int32_t i = 0; i < e; i++) {
			total += tinytx_tfl_squared_difference(x[i], m, p) - zin;
		}
		return total;
	}
	const tt_fq qa = fq_plan(p->multiplier_a, p->shift_a);
	const tt_fq qo = fq_plan(p->multiplier, p->shift);
	const int32_t sb =
		tinytx_tfl_mbqm((m - p->zero_point_b) * (1 << 7), p->multiplier_b, p->shift_b);
	const int32_t za8 = p->zero_point_a * (1 << 8), z = p->zero_point;
	const int32_t mo = qo.m, bo = qo.base, no = qo.n; /* d^2 >= 0: no sign term */
	for (int32_t i = 0; i < e; i++) {
		const int32_t d = fq_apply(x[i] * (1 << 8) - za8, &qa) - sb;
		total += __ssat((tt_smmlar((d + d) * d, mo, bo) >> no) + z, 8);
	}
	return total - e * zin;
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
	const tt_mul_plan pg = mul_plan(&p->gamma), px = mul_plan(&p->x_gamma),
			  pm = mul_plan(&p->mean_gamma);
	const tt_add_plan pb = add_plan(&p->beta), po = add_plan(&p->out);
	int8_t gbuf[TT_LNS_BLOCK];
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
		/* g = MUL(r, gamma): 2a = gamma kg + kg0; mg = MUL(nm, g): g km + km0 */
		const int32_t kg = (rs - pg.za) * (1 << pg.up), kg0 = -pg.zb * kg;
		const int32_t km = (nm - pm.za) * (1 << pm.up), km0 = -pm.zb * km;
		for (int32_t c0 = 0; c0 < e; c0 += TT_LNS_BLOCK) {
			const int32_t n = e - c0 < TT_LNS_BLOCK ? e - c0 : TT_LNS_BLOCK;
			const int8_t *gm = gamma + c0, *bt = beta + c0, *xc = x + c0;
			int8_t *yc = y + c0;
			for (int32_t i = 0; i < n; i++) {
				const int32_t g = __ssat(fq_apply(gm[i] * kg + kg0, &pg.q) + pg.z, 8);
				const int32_t mg = __ssat(fq_apply(g * km + km0, &pm.q) + pm.z, 8);
				gbuf[i] = (int8_t)g;
				yc[i] = (int8_t)add_apply(mg, bt[i], &pb);
			}
			for (int32_t i = 0; i < n; i++) {
				const int32_t a2 = ((xc[i] - px.za) * (1 << px.up)) * (gbuf[i] - px.zb);
				const int32_t xg = __ssat(fq_apply(a2, &px.q) + px.z, 8);
				yc[i] = (int8_t)add_apply(xg, yc[i], &po);
			}
		}
	}
	return TINYTX_OK;
}
