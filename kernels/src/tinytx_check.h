/* Argument checks and row helpers shared by the kernel variants (internal header). */
#ifndef TINYTX_CHECK_H
#define TINYTX_CHECK_H

#include <stdint.h>

#include "tinytx/kernels.h"
#include "tinytx/parallel.h"
#include "tinytx/requant.h"
#include "tinytx/types.h"

/* 1 when a * b (both >= 1) fits in int32. */
static inline int tinytx_fits_i32(int64_t a, int64_t b)
{
	return a >= 1 && b >= 1 && a * b <= INT32_MAX;
}

/* Bytes for n elements of size elem rounded up to 4 (callers bound the total). */
static inline int64_t tinytx_bytes_aligned(int64_t n, int64_t elem)
{
	return ((n * elem) + 3) & ~(int64_t)3;
}

static inline tinytx_status tinytx_check_linear_dims(const tinytx_linear_dims *d)
{
	if (d->rows < 1 || d->in_features < 1 || d->out_features < 1 || d->heads < 1) {
		return TINYTX_ERR_DIMS;
	}
	if (d->in_features > TINYTX_MAX_REDUCTION || d->out_features % d->heads != 0) {
		return TINYTX_ERR_DIMS;
	}
	if (!tinytx_fits_i32(d->rows, d->in_features) || !tinytx_fits_i32(d->rows, d->out_features) ||
	    !tinytx_fits_i32(d->out_features, d->in_features)) {
		return TINYTX_ERR_DIMS;
	}
	if (d->layout != TINYTX_LAYOUT_TOKEN_MAJOR && d->layout != TINYTX_LAYOUT_HEAD_MAJOR &&
	    d->layout != TINYTX_LAYOUT_HEAD_MAJOR_T) {
		return TINYTX_ERR_DIMS;
	}
	return TINYTX_OK;
}

static inline tinytx_status tinytx_check_attention_dims(const tinytx_attention_dims *d)
{
	if (d->heads < 1 || d->q_rows < 1 || d->kv_rows < 1 || d->head_dim < 1) {
		return TINYTX_ERR_DIMS;
	}
	if (d->k_heads != 1 && d->k_heads != d->heads) {
		return TINYTX_ERR_DIMS;
	}
	if (d->head_dim > TINYTX_MAX_REDUCTION || d->kv_rows > TINYTX_MAX_REDUCTION) {
		return TINYTX_ERR_DIMS;
	}
	/* The largest tensors: probabilities H*Sq*Skv, q H*Sq*P, vt H*P*Skv. */
	int64_t hq = (int64_t)d->heads * d->q_rows;
	if (!tinytx_fits_i32(hq, d->kv_rows) || !tinytx_fits_i32(hq, d->head_dim) ||
	    !tinytx_fits_i32((int64_t)d->heads * d->head_dim, d->kv_rows)) {
		return TINYTX_ERR_DIMS;
	}
	return TINYTX_OK;
}

static inline tinytx_status tinytx_check_mhsa_dims(const tinytx_mhsa_dims *d)
{
	if (d->seq_len < 1 || d->embed_dim < 1 || d->heads < 1 || d->head_dim < 1) {
		return TINYTX_ERR_DIMS;
	}
	if (d->seq_len > TINYTX_SOFTMAX_MAX_KV || d->embed_dim > TINYTX_MAX_REDUCTION ||
	    (int64_t)d->heads * d->head_dim > TINYTX_MAX_REDUCTION) {
		return TINYTX_ERR_DIMS;
	}
	return TINYTX_OK;
}

/*
 * The checks of tinytx_mhsa_s8_get_buffer_size and, with fused, of
 * tinytx_fwsa_s8_get_buffer_size: dims not NULL (ERR_NULL), valid, and for FWSA
 * H * E within the reduction limit (ERR_DIMS).
 */
static inline tinytx_status tinytx_check_block_dims(const tinytx_mhsa_dims *d, int fused)
{
	if (d == NULL) {
		return TINYTX_ERR_NULL;
	}
	const tinytx_status st = tinytx_check_mhsa_dims(d);
	if (st != TINYTX_OK) {
		return st;
	}
	if (fused && (int64_t)d->heads * d->embed_dim > TINYTX_MAX_REDUCTION) {
		return TINYTX_ERR_DIMS;
	}
	return TINYTX_OK;
}

/* The num_cores of a *_get_buffer_size: at least one core. */
static inline tinytx_status tinytx_check_cores(int32_t num_cores)
{
	return num_cores >= 1 ? TINYTX_OK : TINYTX_ERR_DIMS;
}

/* The num_cores the kernels pass to the *_get_buffer_size of their own scratch. */
static inline int32_t tinytx_run_cores(void)
{
	return (int32_t)tinytx_parallel_num_cores();
}

/* A size that does not depend on the cores (ref, arm): size, or ERR_DIMS for num_cores < 1. */
static inline int32_t tinytx_size_any_cores(int32_t size, int32_t num_cores)
{
	return size >= 0 && tinytx_check_cores(num_cores) != TINYTX_OK ? TINYTX_ERR_DIMS : size;
}

/*
 * The scratch of a kernel call against need (its *_get_buffer_size, >= 0): TINYTX_OK when
 * ctx holds at least need bytes (need 0: ctx may be NULL), else TINYTX_ERR_SCRATCH.
 */
static inline tinytx_status tinytx_check_scratch(const tinytx_context *ctx, int32_t need)
{
	if (need <= 0) {
		return need == 0 ? TINYTX_OK : (tinytx_status)need; /* need < 0: the size's status */
	}
	return ctx == NULL || ctx->buf == NULL || ctx->size < need ? TINYTX_ERR_SCRATCH
								   : TINYTX_OK;
}

/* A scratch size for a *_get_buffer_size: total bytes, or ERR_DIMS past int32. */
static inline int32_t tinytx_scratch_bytes(int64_t total)
{
	return total > INT32_MAX ? TINYTX_ERR_DIMS : (int32_t)total;
}

/*
 * Attention blocks keep their internal tensors symmetric: only the output projection
 * may have a zero point (the block's input zero point is folded into the q/k/v biases).
 */
static inline int tinytx_block_internal_symmetric(const tinytx_requant *internal, int n)
{
	for (int i = 0; i < n; i++) {
		if (internal[i].zero_point != 0) {
			return 0;
		}
	}
	return 1;
}

/* The pointers of a tinytx_mhsa_s8 call (biases may be NULL; the scratch is checked
 * against its size apart), and ERR_PARAM for an internal zero point. */
static inline tinytx_status tinytx_check_mhsa_pointers(const tinytx_mhsa_dims *dims,
						       const tinytx_mhsa_params *params,
						       const tinytx_mhsa_weights *weights,
						       const void *input, const void *output)
{
	if (dims == NULL || params == NULL || weights == NULL || input == NULL || output == NULL ||
	    weights->wq == NULL || weights->wk == NULL || weights->wv == NULL ||
	    weights->wo == NULL) {
		return TINYTX_ERR_NULL;
	}
	const tinytx_requant internal[5] = {params->q, params->k, params->v, params->softmax,
					    params->av};
	return tinytx_block_internal_symmetric(internal, 5) ? TINYTX_OK : TINYTX_ERR_PARAM;
}

/* Offset of head h's rows in a per-channel table (NULL stays NULL). */
static inline tinytx_channels tinytx_channel_rows(tinytx_channels ch, int32_t first)
{
	if (ch.multipliers != NULL && ch.shifts != NULL) {
		ch.multipliers += first;
		ch.shifts += first;
	}
	return ch;
}

/* The per-channel tables of an MHSA block (after its dims are checked). */
static inline tinytx_status tinytx_check_mhsa_channels(const tinytx_mhsa_dims *d,
							const tinytx_mhsa_weights *w)
{
	const int32_t hp = d->heads * d->head_dim;
	if (!tinytx_channels_valid(w->q_ch.multipliers, w->q_ch.shifts, hp) ||
	    !tinytx_channels_valid(w->k_ch.multipliers, w->k_ch.shifts, hp) ||
	    !tinytx_channels_valid(w->v_ch.multipliers, w->v_ch.shifts, hp) ||
	    !tinytx_channels_valid(w->out_ch.multipliers, w->out_ch.shifts, d->embed_dim)) {
		return TINYTX_ERR_PARAM;
	}
	return TINYTX_OK;
}

/* The pointers of a tinytx_fwsa_s8 call (biases may be NULL), and ERR_PARAM for an
 * internal zero point. */
static inline tinytx_status tinytx_check_fwsa_pointers(const tinytx_mhsa_dims *dims,
						       const tinytx_fwsa_params *params,
						       const tinytx_fwsa_weights *weights,
						       const void *input, const void *output)
{
	if (dims == NULL || params == NULL || weights == NULL || input == NULL || output == NULL ||
	    weights->wt == NULL || weights->wv == NULL || weights->wo == NULL) {
		return TINYTX_ERR_NULL;
	}
	const tinytx_requant internal[4] = {params->t, params->v, params->softmax, params->av};
	return tinytx_block_internal_symmetric(internal, 4) ? TINYTX_OK : TINYTX_ERR_PARAM;
}

/* Every check of a tinytx_linear_s8 call (shared by the kernel variants). */
static inline tinytx_status tinytx_check_linear_call(const tinytx_linear_dims *dims,
						    const tinytx_linear_params *params,
						    const void *input, const void *weights,
						    const void *output)
{
	if (dims == NULL || params == NULL || input == NULL || weights == NULL || output == NULL) {
		return TINYTX_ERR_NULL;
	}
	tinytx_status st = tinytx_check_linear_dims(dims);
	if (st != TINYTX_OK) {
		return st;
	}
	if (!tinytx_requant_valid(params->requant) || !tinytx_activation_valid(params->act) ||
	    !tinytx_channels_valid(params->multipliers, params->shifts, dims->out_features)) {
		return TINYTX_ERR_PARAM;
	}
	return TINYTX_OK;
}

/* Scratch bytes of QK^T + softmax (one int32 score row), or a negative status. */
static inline int32_t tinytx_qk_softmax_scratch(const tinytx_attention_dims *dims)
{
	if (dims == NULL) {
		return TINYTX_ERR_NULL;
	}
	tinytx_status st = tinytx_check_attention_dims(dims);
	if (st != TINYTX_OK) {
		return st;
	}
	if (dims->kv_rows > TINYTX_SOFTMAX_MAX_KV) {
		return TINYTX_ERR_DIMS;
	}
	return dims->kv_rows * (int32_t)sizeof(int32_t);
}

static inline tinytx_status tinytx_check_qk_softmax_call(const tinytx_attention_dims *dims,
							tinytx_requant softmax, const void *q,
							const void *k, const void *probs)
{
	if (dims == NULL || q == NULL || k == NULL || probs == NULL) {
		return TINYTX_ERR_NULL;
	}
	int32_t need = tinytx_qk_softmax_scratch(dims);
	if (need < 0) {
		return (tinytx_status)need;
	}
	return tinytx_requant_valid(softmax) ? TINYTX_OK : TINYTX_ERR_PARAM;
}

/* Every variant's tinytx_qk_softmax_s8: its arguments, then its scratch for the cores the
 * kernels run on (its own *_get_buffer_size, kernels/src/<variant>/..._size.c). */
static inline tinytx_status tinytx_check_qk_softmax_ctx(const tinytx_attention_dims *dims,
						       tinytx_requant softmax, const void *q,
						       const void *k, const void *probs,
						       const tinytx_context *ctx)
{
	const tinytx_status st = tinytx_check_qk_softmax_call(dims, softmax, q, k, probs);
	if (st != TINYTX_OK) {
		return st;
	}
	return tinytx_check_scratch(ctx,
				    tinytx_qk_softmax_s8_get_buffer_size(dims, tinytx_run_cores()));
}

static inline tinytx_status tinytx_check_av_call(const tinytx_attention_dims *dims,
						tinytx_requant requant, const void *probs,
						const void *vt, const void *output)
{
	if (dims == NULL || probs == NULL || vt == NULL || output == NULL) {
		return TINYTX_ERR_NULL;
	}
	tinytx_status st = tinytx_check_attention_dims(dims);
	if (st != TINYTX_OK) {
		return st;
	}
	return tinytx_requant_valid(requant) ? TINYTX_OK : TINYTX_ERR_PARAM;
}

/* Every check of a tinytx_layernorm_s8 call. */
static inline tinytx_status tinytx_check_layernorm_call(const tinytx_layernorm_dims *dims,
							const tinytx_layernorm_params *params,
							const void *input, const void *gamma,
							const void *beta, const void *output)
{
	if (dims == NULL || params == NULL || input == NULL || gamma == NULL || beta == NULL ||
	    output == NULL) {
		return TINYTX_ERR_NULL;
	}
	const int32_t e = dims->features;
	if (dims->rows < 1 || e < 1 || e > TINYTX_LAYERNORM_MAX_FEATURES ||
	    (int64_t)dims->rows * e > INT32_MAX) {
		return TINYTX_ERR_DIMS;
	}
	if (!tinytx_requant_valid(params->requant) || params->eps_q16 < 0) {
		return TINYTX_ERR_PARAM;
	}
	return TINYTX_OK;
}

/* floor(sqrt(v)), bit by bit. */
static inline uint32_t tinytx_isqrt_u32(uint32_t v)
{
	uint32_t res = 0;
	uint32_t bit = 1u << 30;
	while (bit > v) {
		bit >>= 2;
	}
	while (bit != 0) {
		if (v >= res + bit) {
			v -= res + bit;
			res = (res >> 1) + bit;
		} else {
			res >>= 1;
		}
		bit >>= 2;
	}
	return res;
}

/*
 * LayerNorm row normalizer (tinytx/core/golden/layernorm.py) of a row of e features with
 * sum and sum of squares sq: (m, s) with m / 2^s ~ 2^15 / (e * std), m in
 * [2^30, 2^31), s = 16 + floor(log2(e * std)).
 */
static inline tinytx_requant tinytx_layernorm_row_norm(int32_t e, int32_t sum, int32_t sq,
							int32_t eps_q16)
{
	/* E^2 * variance, exact; then the variance in Q16 (one 64-bit division per row) */
	const int64_t v = (int64_t)e * sq - (int64_t)sum * sum;
	uint64_t var = ((uint64_t)v << 16) / (uint64_t)((int64_t)e * e);
	var += (uint32_t)eps_q16;
	uint32_t std = tinytx_isqrt_u32(var > UINT32_MAX ? UINT32_MAX : (uint32_t)var);
	if (std == 0) {
		std = 1;
	}
	const uint32_t den = (uint32_t)e * std;
	int32_t b = 31;
	while ((den >> b) == 0) {
		b--;
	}
	tinytx_requant rq;
	rq.multiplier = (int32_t)((((uint64_t)1 << (31 + b)) - 1) / den);
	rq.shift = 16 + b;
	rq.zero_point = 0;
	return rq;
}

/*
 * One LayerNorm element before its requantization: the int32 clamp of n * gamma + beta,
 * n = v scaled by the row normalizer, v = E * x - sum (64-bit path, any normalizer).
 */
static inline int32_t tinytx_layernorm_acc(int32_t v, tinytx_requant norm, int32_t gamma,
					   int32_t beta)
{
	const int64_t acc = tinytx_scale_round(v, norm) * gamma + beta;
	return (int32_t)(acc < INT32_MIN ? INT32_MIN : (acc > INT32_MAX ? INT32_MAX : acc));
}

/* Every check of a tinytx_gelu_s8 call. */
static inline tinytx_status tinytx_check_gelu_call(int32_t size, const tinytx_gelu_params *params,
						   const void *input, const void *output)
{
	if (params == NULL || input == NULL || output == NULL) {
		return TINYTX_ERR_NULL;
	}
	if (size < 1) {
		return TINYTX_ERR_DIMS;
	}
	const int32_t clip = params->q_clip, one = params->q_one;
	if (!tinytx_requant_valid(params->requant) || one < 1 || one >= TINYTX_GELU_Q_ONE_LIMIT ||
	    clip < 1 || (int64_t)clip * clip > one || params->input_zero_point < -128 ||
	    params->input_zero_point > 127) {
		return TINYTX_ERR_PARAM;
	}
	return TINYTX_OK;
}

/* Every check of a tinytx_lut_s8 call (the table has no invalid contents). */
static inline tinytx_status tinytx_check_lut_call(int32_t size, const void *table,
						  const void *input, const void *output)
{
	if (table == NULL || input == NULL || output == NULL) {
		return TINYTX_ERR_NULL;
	}
	if (size < 1) {
		return TINYTX_ERR_DIMS;
	}
	return TINYTX_OK;
}

/* The arguments of tinytx_mean_rows_s8 (every variant). */
static inline tinytx_status tinytx_check_mean_rows_call(const tinytx_mean_rows_dims *dims,
							const tinytx_mean_rows_params *params,
							const int8_t *input, const int8_t *output)
{
	if (dims == NULL || params == NULL || input == NULL || output == NULL) {
		return TINYTX_ERR_NULL;
	}
	const int32_t rows = dims->rows, e = dims->features;
	if (rows < 1 || e < 1 || rows > TINYTX_MAX_REDUCTION || (int64_t)rows * e > INT32_MAX) {
		return TINYTX_ERR_DIMS;
	}
	if (!tinytx_requant_valid(params->requant) || !tinytx_activation_valid(params->act) ||
	    params->input_zero_point < -128 || params->input_zero_point > 127) {
		return TINYTX_ERR_PARAM;
	}
	return TINYTX_OK;
}

/* Every check of a tinytx_add_s8 call. */
static inline tinytx_status tinytx_check_add_call(int32_t size, const tinytx_add_params *params,
						  const void *input_a, const void *input_b,
						  const void *output)
{
	if (params == NULL || input_a == NULL || input_b == NULL || output == NULL) {
		return TINYTX_ERR_NULL;
	}
	if (size < 1) {
		return TINYTX_ERR_DIMS;
	}
	if (params->m_a < 0 || params->m_a > TINYTX_ADD_MULTIPLIER_MAX || params->m_b < 0 ||
	    params->m_b > TINYTX_ADD_MULTIPLIER_MAX || params->shift < 1 ||
	    params->shift > TINYTX_ADD_SHIFT_MAX ||
	    !tinytx_activation_valid(params->act) || params->zero_point < -128 ||
	    params->zero_point > 127) {
		return TINYTX_ERR_PARAM;
	}
	if (params->offset != 0) {
		const int64_t off = params->offset < 0 ? -(int64_t)params->offset : params->offset;
		if (128 * ((int64_t)params->m_a + params->m_b) + off +
			    ((int64_t)1 << (params->shift - 1)) >
		    INT32_MAX) {
			return TINYTX_ERR_PARAM;
		}
	}
	return TINYTX_OK;
}

#endif /* TINYTX_CHECK_H */
