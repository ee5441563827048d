/* Helpers shared by the depth-first tiled blocks (internal header). */
#ifndef TINYTX_DFT_H
#define TINYTX_DFT_H

#include <string.h>

#include "tinytx/kernels.h"
#include "tinytx_check.h"

/*
 * Checks dims and tile_rows (1..S) of a DFT block whose scores have length score_dim
 * (P for MHSA, E for FWSA) and sets *row to the bytes of tinytx_qk_softmax_s8's scratch
 * for one head and tile_rows query rows on num_cores cores.
 */
static inline tinytx_status tinytx_dft_check(const tinytx_mhsa_dims *d, int32_t tile_rows,
					     int32_t score_dim, int32_t num_cores, int32_t *row)
{
	tinytx_status st = tinytx_check_mhsa_dims(d);
	if (st != TINYTX_OK) {
		return st;
	}
	if (tile_rows < 1 || tile_rows > d->seq_len) {
		return TINYTX_ERR_DIMS;
	}
	tinytx_attention_dims ad = {1, tile_rows, d->seq_len, score_dim, 1};
	*row = tinytx_qk_softmax_s8_get_buffer_size(&ad, num_cores);
	return *row < 0 ? (tinytx_status)*row : TINYTX_OK;
}

/*
 * Scratch layout of the reference DFT blocks (each part starts 4-byte aligned; O is
 * last and not padded), with row the bytes of tinytx_qk_softmax_s8's scratch for one
 * head and x = tile_rows query rows:
 *   MHSA: row | K_h [S][P] | V_h^T [P][S] | tile [x][P] | probabilities [x][S] | O [S][H*P]
 *   FWSA (fused): the same without K_h (k == vt), tile [x][max(E, P)].
 */
typedef struct {
	int64_t k, vt, tile, a, o, total;
} tinytx_dft_layout;

/*
 * Fills *l for num_cores cores (the score row is the variant's tinytx_qk_softmax_s8
 * scratch); returns TINYTX_OK or a negative status for invalid dims or tile_rows.
 */
static inline tinytx_status tinytx_dft_scratch_layout(const tinytx_mhsa_dims *d, int32_t tile_rows,
						      int fused, int32_t num_cores,
						      tinytx_dft_layout *l)
{
	int32_t row;
	tinytx_status st = tinytx_dft_check(d, tile_rows, fused ? d->embed_dim : d->head_dim,
					    num_cores, &row);
	if (st != TINYTX_OK) {
		return st;
	}
	if (fused && (int64_t)d->heads * d->embed_dim > TINYTX_MAX_REDUCTION) {
		return TINYTX_ERR_DIMS;
	}
	const int64_t s = d->seq_len, p = d->head_dim, x = tile_rows;
	const int64_t width = fused && d->embed_dim > d->head_dim ? d->embed_dim : d->head_dim;
	l->k = tinytx_bytes_aligned(row, 1);
	l->vt = l->k + (fused ? 0 : tinytx_bytes_aligned(s * p, 1));
	l->tile = l->vt + tinytx_bytes_aligned(p * s, 1);
	l->a = l->tile + tinytx_bytes_aligned(x * width, 1);
	l->o = l->a + tinytx_bytes_aligned(x * s, 1);
	l->total = l->o + s * d->heads * p;
	return l->total > INT32_MAX ? TINYTX_ERR_DIMS : TINYTX_OK;
}

/* tinytx_mhsa_dft_s8_get_buffer_size, or with fused tinytx_fwsa_dft_s8_get_buffer_size. */
static inline int32_t tinytx_dft_buffer_size(const tinytx_mhsa_dims *dims, int32_t tile_rows,
					     int fused, int32_t num_cores)
{
	if (dims == NULL) {
		return TINYTX_ERR_NULL;
	}
	tinytx_dft_layout l;
	const tinytx_status st = tinytx_dft_scratch_layout(dims, tile_rows, fused, num_cores, &l);
	return st != TINYTX_OK ? st : (int32_t)l.total;
}

/* Rows of a per-row bias from `first` on, or NULL for no bias. */
static inline const int32_t *tinytx_bias_rows(const int32_t *bias, int32_t first)
{
	return bias != NULL ? bias + first : NULL;
}

/* Copies rows x P of head h's A*V tile into the head concatenation o [S][H*P] at row r0. */
static inline void tinytx_dft_store_tile(int8_t *o, const int8_t *tile, int32_t r0,
					 int32_t rows, int32_t h, int32_t p, int32_t hp)
{
	for (int32_t i = 0; i < rows; i++) {
		memcpy(o + (size_t)(r0 + i) * hp + (size_t)h * p, tile + (size_t)i * p, (size_t)p);
	}
}

#endif /* TINYTX_DFT_H */
