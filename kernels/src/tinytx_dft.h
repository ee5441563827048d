/* Helpers shared by the depth-first tiled blocks (internal header). */
#ifndef TINYTX_DFT_H
#define TINYTX_DFT_H

#include <string.h>

#include "tinytx/kernels.h"
#include "tinytx_check.h"

/*
 * Checks dims and tile_rows (1..S) of a DFT block whose scores have length score_dim
 * (P for MHSA, E for FWSA) and sets *row to the bytes of tinytx_qk_softmax_s8's scratch
 * for one head and tile_rows query rows.
 */
static inline tinytx_status tinytx_dft_check(const tinytx_mhsa_dims *d, int32_t tile_rows,
					     int32_t score_dim, int32_t *row)
{
	tinytx_status st = tinytx_check_mhsa_dims(d);
	if (st != TINYTX_OK) {
		return st;
	}
	if (tile_rows < 1 || tile_rows > d->seq_len) {
		return TINYTX_ERR_DIMS;
	}
	tinytx_attention_dims ad = {1, tile_rows, d->seq_len, score_dim, 1};
	*row = tinytx_qk_softmax_s8_get_buffer_size(&ad);
	return *row < 0 ? (tinytx_status)*row : TINYTX_OK;
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
