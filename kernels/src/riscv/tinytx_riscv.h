/*
 * Internal header of the RISC-V kernel variant (kernels/src/riscv): the inner
 * dot-product loops and the work split shared by its kernels.
 *
 * Two inner paths, chosen at compile time:
 *  - plain RV32IMC C (what CI compiles, with Debian's riscv64-unknown-elf-gcc, and
 *    what any other compiler gets): byte loads, one multiply-add per MAC, four output
 *    accumulators per pass so every input byte is loaded once per four outputs;
 *  - XpulpV2 (GAP9's cluster cores): the 4-way int8 dot products
 *    __builtin_pulp_sdotsp4 (int8 x int8) and __builtin_pulp_sdotusp4 (uint8 x int8)
 *    of the PULP GCC, four bytes per load, hardware loops left to the compiler.
 *    It is compiled only where the compiler advertises PULP extensions (__pulp__,
 *    defined by the PULP/GAP GCC for -march=rv32imcxpulpv2 or rv32imcxgap9), or when
 *    TINYTX_RISCV_XPULPV2=1 is forced. NOT COMPILED IN CI: no PULP compiler is
 *    available there. With TINYTX_RISCV_XPULPV2_MODEL=1 the builtins are C models
 *    (any GCC/Clang), so the XpulpV2 loops themselves run bit-exact tests on the host.
 */
#ifndef TINYTX_RISCV_H
#define TINYTX_RISCV_H

#include <stddef.h>
#include <stdint.h>

#include "tinytx/parallel.h"
#include "tinytx/requant.h"
#include "tinytx/types.h"
#include "../tinytx_check.h"

#ifndef TINYTX_RISCV_XPULPV2
#if defined(__pulp__) || (defined(TINYTX_RISCV_XPULPV2_MODEL) && TINYTX_RISCV_XPULPV2_MODEL)
#define TINYTX_RISCV_XPULPV2 1
#else
#define TINYTX_RISCV_XPULPV2 0
#endif
#endif

#if TINYTX_RISCV_XPULPV2
typedef int8_t tinytx_v4s __attribute__((vector_size(4)));
typedef uint8_t tinytx_v4u __attribute__((vector_size(4)));

#if defined(TINYTX_RISCV_XPULPV2_MODEL) && TINYTX_RISCV_XPULPV2_MODEL
/* C models of the PULP builtins (host tests of the XpulpV2 loops). */
static inline int32_t tinytx_rv_model_sdotsp4(tinytx_v4s a, tinytx_v4s b, int32_t acc)
{
	return acc + a[0] * b[0] + a[1] * b[1] + a[2] * b[2] + a[3] * b[3];
}
static inline int32_t tinytx_rv_model_sdotusp4(tinytx_v4u a, tinytx_v4s b, int32_t acc)
{
	return acc + a[0] * b[0] + a[1] * b[1] + a[2] * b[2] + a[3] * b[3];
}
#define TINYTX_SDOTSP4(a, b, acc) tinytx_rv_model_sdotsp4((a), (b), (acc))
#define TINYTX_SDOTUSP4(a, b, acc) tinytx_rv_model_sdotusp4((a), (b), (acc))
#else
/* PULP GCC builtins: acc + sum of a[i] * b[i] over the 4 bytes (pv.sdotsp.b, pv.sdotusp.b). */
#define TINYTX_SDOTSP4(a, b, acc) __builtin_pulp_sdotsp4((a), (b), (acc))
#define TINYTX_SDOTUSP4(a, b, acc) __builtin_pulp_sdotusp4((a), (b), (acc))
#endif

/* Four bytes at any address (GAP9's cores load misaligned words in hardware). */
static inline tinytx_v4s tinytx_rv_load_v4s(const int8_t *p)
{
	tinytx_v4s v;
	__builtin_memcpy(&v, p, sizeof(v));
	return v;
}
static inline tinytx_v4u tinytx_rv_load_v4u(const uint8_t *p)
{
	tinytx_v4u v;
	__builtin_memcpy(&v, p, sizeof(v));
	return v;
}
#endif /* TINYTX_RISCV_XPULPV2 */

/*
 * The dot products, for int8 x int8 (suffix s8: linear, QK^T) and uint8 x int8 (suffix
 * u8s8: probabilities x values in A*V), with `a` the shared row and `w` int8 rows:
 *   tinytx_rv_dot4_<suffix>(a, w, w_stride, len, acc): acc[r] += sum_k a[k] w[r*w_stride+k],
 *       r = 0..3 (four outputs per pass of the shared row: each of its bytes loaded once);
 *   tinytx_rv_dot_<suffix>(a, w, len, acc): acc + sum_k a[k] w[k].
 * The fast loop: four bytes and one 4-way dot product per row (XpulpV2), or two elements
 * per pass (plain RV32IMC: half the loop overhead); then the remaining elements.
 */
#if TINYTX_RISCV_XPULPV2
#define TINYTX_RV_DOT4_FAST(VEC, LOAD, SDOT)                                                   \
	for (; k + 4 <= len; k += 4) {                                                         \
		const VEC av = LOAD(a + k);                                                    \
		a0 = SDOT(av, tinytx_rv_load_v4s(w0 + k), a0);                                 \
		a1 = SDOT(av, tinytx_rv_load_v4s(w1 + k), a1);                                 \
		a2 = SDOT(av, tinytx_rv_load_v4s(w2 + k), a2);                                 \
		a3 = SDOT(av, tinytx_rv_load_v4s(w3 + k), a3);                                 \
	}
#define TINYTX_RV_DOT1_FAST(LOAD, SDOT)                                                        \
	for (; k + 4 <= len; k += 4) {                                                         \
		acc = SDOT(LOAD(a + k), tinytx_rv_load_v4s(w + k), acc);                        \
	}
#else
#define TINYTX_RV_DOT4_FAST(VEC, LOAD, SDOT)                                                   \
	for (; k + 2 <= len; k += 2) {                                                         \
		const int32_t x0 = a[k], x1 = a[k + 1];                                        \
		a0 += x0 * w0[k] + x1 * w0[k + 1];                                             \
		a1 += x0 * w1[k] + x1 * w1[k + 1];                                             \
		a2 += x0 * w2[k] + x1 * w2[k + 1];                                             \
		a3 += x0 * w3[k] + x1 * w3[k + 1];                                             \
	}
#define TINYTX_RV_DOT1_FAST(LOAD, SDOT)
#endif

#define TINYTX_RV_DEFINE_DOTS(SUFFIX, ELEM, VEC, LOAD, SDOT)                                   \
	static inline void tinytx_rv_dot4_##SUFFIX(const ELEM *a, const int8_t *w,             \
						   size_t w_stride, int32_t len,               \
						   int32_t acc[4])                             \
	{                                                                                      \
		const int8_t *w0 = w, *w1 = w + w_stride, *w2 = w1 + w_stride;                 \
		const int8_t *w3 = w2 + w_stride;                                              \
		int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];                    \
		int32_t k = 0;                                                                 \
		TINYTX_RV_DOT4_FAST(VEC, LOAD, SDOT)                                           \
		for (; k < len; k++) {                                                         \
			const int32_t xv = a[k];                                               \
			a0 += xv * w0[k];                                                      \
			a1 += xv * w1[k];                                                      \
			a2 += xv * w2[k];                                                      \
			a3 += xv * w3[k];                                                      \
		}                                                                              \
		acc[0] = a0;                                                                   \
		acc[1] = a1;                                                                   \
		acc[2] = a2;                                                                   \
		acc[3] = a3;                                                                   \
	}                                                                                      \
	static inline int32_t tinytx_rv_dot_##SUFFIX(const ELEM *a, const int8_t *w,           \
						     int32_t len, int32_t acc)                 \
	{                                                                                      \
		int32_t k = 0;                                                                 \
		TINYTX_RV_DOT1_FAST(LOAD, SDOT)                                                \
		for (; k < len; k++) {                                                         \
			acc += a[k] * w[k];                                                    \
		}                                                                              \
		return acc;                                                                    \
	}

TINYTX_RV_DEFINE_DOTS(s8, int8_t, tinytx_v4s, tinytx_rv_load_v4s, TINYTX_SDOTSP4)
TINYTX_RV_DEFINE_DOTS(u8s8, uint8_t, tinytx_v4u, tinytx_rv_load_v4u, TINYTX_SDOTUSP4)

/*
 * One linear layer (tinytx_linear_s8 semantics, arguments already checked) as work
 * split over cores. The outputs are groups of `width` values that share one input
 * row and one output run: (head, token) pairs of P outputs for the head-major layouts
 * (heads first, so a core that gets whole heads reuses their weight rows), tokens of
 * N outputs for the token-major one. The groups x width outputs are cut into
 * num_cores balanced contiguous ranges: heads across cores when H >= cores, rows (and
 * parts of rows) across cores otherwise, remainders spread one output at a time.
 */
typedef struct {
	int32_t rows, in_features, out_features, heads;
	tinytx_layout layout;
	tinytx_requant requant;
	tinytx_activation act;
	const int8_t *input;
	const int8_t *weights;
	const int32_t *bias;
	int8_t *output;
	const int32_t *multipliers, *shifts; /* per-channel factors, or NULL (per-tensor) */
} tinytx_rv_linear_job;

void tinytx_rv_linear_part(const tinytx_rv_linear_job *job, uint32_t core, uint32_t num_cores);

/* A parallel section of one linear layer: tinytx_parallel_for(tinytx_rv_linear_body, &job). */
static inline void tinytx_rv_linear_body(void *job, uint32_t core, uint32_t num_cores)
{
	tinytx_rv_linear_part((const tinytx_rv_linear_job *)job, core, num_cores);
}

/*
 * One row of QK^T + integer softmax: scores of q_row against the kv_rows keys of k
 * (row stride head_dim), probabilities into probs_row; row_scratch holds kv_rows int32.
 */
void tinytx_rv_qk_softmax_row(const int8_t *q_row, const int8_t *k, int32_t kv_rows,
			      int32_t head_dim, tinytx_requant softmax, uint8_t *probs_row,
			      int32_t *row_scratch);

/* One row of A*V: out[p] = requant(probs_row . vt[p]) for p < head_dim (vt row stride kv_rows). */
void tinytx_rv_av_row(const uint8_t *probs_row, const int8_t *vt, int32_t kv_rows,
		      int32_t head_dim, tinytx_requant requant, int8_t *out);

/*
 * The attention of a block (tinytx_mhsa_s8, tinytx_fwsa_s8) as work split over cores:
 * the heads x q_rows query rows in balanced contiguous ranges; per row, QK^T + softmax
 * into the probability map, then A*V of that row into the head concatenation.
 */
typedef struct {
	int32_t heads, q_rows, kv_rows;
	int32_t qk_dim;  /* P (FWSA: E) */
	int32_t k_heads; /* H, or 1 when every head shares K */
	int32_t v_dim;   /* P */
	tinytx_requant softmax, av;
	const int8_t *q;  /* [H][q_rows][qk_dim] */
	const int8_t *k;  /* [k_heads][kv_rows][qk_dim] */
	const int8_t *vt; /* [H][P][kv_rows] */
	uint8_t *probs;   /* [H][q_rows][kv_rows] */
	int8_t *output;   /* [q_rows][H*P] */
	int32_t *rows;    /* one int32 score row per core */
} tinytx_rv_attention_job;

void tinytx_rv_attention_part(const tinytx_rv_attention_job *job, uint32_t core,
			      uint32_t num_cores);

/* A parallel section of the attention: tinytx_parallel_for(tinytx_rv_attention_body, &job). */
static inline void tinytx_rv_attention_body(void *job, uint32_t core, uint32_t num_cores)
{
	tinytx_rv_attention_part((const tinytx_rv_attention_job *)job, core, num_cores);
}

/*
 * The checks a reference block makes through its calls of the primitive kernels, for a
 * block that runs the work itself: every linear layer's dims, then every attention's
 * dims (ERR_DIMS), then every requantization (ERR_PARAM).
 */
static inline tinytx_status tinytx_rv_check_calls(const tinytx_linear_dims *linear,
						  int n_linear,
						  const tinytx_attention_dims *attention,
						  int n_attention, const tinytx_requant *rq, int n_rq)
{
	for (int i = 0; i < n_linear; i++) {
		const tinytx_status st = tinytx_check_linear_dims(&linear[i]);
		if (st != TINYTX_OK) {
			return st;
		}
	}
	for (int i = 0; i < n_attention; i++) {
		const tinytx_status st = tinytx_check_attention_dims(&attention[i]);
		if (st != TINYTX_OK) {
			return st;
		}
	}
	for (int i = 0; i < n_rq; i++) {
		if (!tinytx_requant_valid(rq[i])) {
			return TINYTX_ERR_PARAM;
		}
	}
	return TINYTX_OK;
}

/*
 * Those checks for tinytx_mhsa_s8 and tinytx_mhsa_dft_s8: the projections' and the
 * attention's dims (per_head: one head at a time, as the depth-first block runs them),
 * then every requantization.
 */
tinytx_status tinytx_rv_check_mhsa_calls(const tinytx_mhsa_dims *d, const tinytx_mhsa_params *p,
					 int per_head);

/*
 * An element-wise kernel (add, GELU, LayerNorm) split over the cores: `count` items
 * (elements or rows) in balanced contiguous ranges, run(args, first, n) on each non-empty
 * one. The ranges run the reference kernel, which checks the parameters on every range,
 * so the call's status is core 0's (whose range is never empty).
 */
typedef tinytx_status (*tinytx_rv_range_fn)(const void *args, uint32_t first, uint32_t n);

typedef struct {
	tinytx_rv_range_fn run;
	const void *args;
	uint32_t count;
	tinytx_status status; /* written by core 0 */
} tinytx_rv_ranges_job;

static inline void tinytx_rv_ranges_body(void *ctx, uint32_t core, uint32_t num_cores)
{
	tinytx_rv_ranges_job *j = (tinytx_rv_ranges_job *)ctx;
	uint32_t b, e;
	tinytx_parallel_range(j->count, core, num_cores, &b, &e);
	if (b < e) {
		const tinytx_status st = j->run(j->args, b, e - b);
		if (core == 0) {
			j->status = st;
		}
	}
}

static inline tinytx_status tinytx_rv_split_ranges(uint32_t count, tinytx_rv_range_fn run,
						   const void *args)
{
	tinytx_rv_ranges_job job = {run, args, count, TINYTX_OK};
	tinytx_parallel_for(tinytx_rv_ranges_body, &job);
	return job.status;
}

/* The first non-OK status of n per-core statuses, or TINYTX_OK. */
static inline tinytx_status tinytx_rv_first_error(const tinytx_status *st, uint32_t n)
{
	for (uint32_t c = 0; c < n; c++) {
		if (st[c] != TINYTX_OK) {
			return st[c];
		}
	}
	return TINYTX_OK;
}

/* Most cores a riscv kernel keeps per-core state for (statuses): GAP9 has 8, QEMU up to 64. */
#define TINYTX_RV_MAX_CORES 64u

#endif /* TINYTX_RISCV_H */
