/*
 * Scratch layout of the RISC-V depth-first tiled MHSA (internal header, plain C: the
 * kernel, its tinytx_mhsa_dft_s8_get_buffer_size and the host ABI library share it).
 * Two ways to split the block over n cores (tinytx_mhsa_dft_s8.c):
 *   heads (H a multiple of n, and always with one core): n x [row | K_h | V_h^T | Q tile |
 *         A tile] | O;
 *   rows  (otherwise): [K_h | V_h^T] | n x [row | Q tile | A tile] | O,
 *         with tiles of min(tile_rows, ceil(S / n)) rows.
 * Each part starts 4-byte aligned, O is last and unpadded; with one core this is the
 * reference layout (tinytx_dft.h).
 */
#ifndef TINYTX_RISCV_DFT_LAYOUT_H
#define TINYTX_RISCV_DFT_LAYOUT_H

#include <stdint.h>

#include "tinytx/types.h"
#include "../tinytx_check.h"
#include "../tinytx_dft.h"

typedef struct {
	int heads_mode;
	int32_t tile;	    /* rows of a core's Q and probability tiles */
	int64_t shared;	    /* bytes of the shared K_h | V_h^T (rows mode), else 0 */
	int64_t slot;	    /* bytes of one core's working set */
	int64_t k, vt;	    /* offsets of K_h, V_h^T: in the slot (heads) or shared (rows) */
	int64_t row, q, a;  /* offsets in the slot */
	int64_t o, total;
} tinytx_rv_dft_layout;

static inline tinytx_status tinytx_rv_dft_plan(const tinytx_mhsa_dims *d, int32_t tile_rows,
					       int32_t num_cores, tinytx_rv_dft_layout *pl)
{
	int32_t qk_scratch; /* the checks only: each slot has its own one-core score row */
	tinytx_status st = tinytx_check_cores(num_cores);
	if (st == TINYTX_OK) {
		st = tinytx_dft_check(d, tile_rows, d->head_dim, 1, &qk_scratch);
	}
	if (st != TINYTX_OK) {
		return st;
	}
	const int64_t n = num_cores;
	const int64_t s = d->seq_len, p = d->head_dim;
	const int64_t kv = tinytx_bytes_aligned(s * p, 1);
	pl->heads_mode = d->heads % num_cores == 0;
	pl->tile = tile_rows;
	if (!pl->heads_mode) {
		const int32_t per_core = (int32_t)((s + n - 1) / n);
		pl->tile = tile_rows < per_core ? tile_rows : per_core;
	}
	const int64_t x = pl->tile;
	const int64_t row = tinytx_bytes_aligned(s * (int64_t)sizeof(int32_t), 1);
	const int64_t tiles = tinytx_bytes_aligned(x * p, 1) + tinytx_bytes_aligned(x * s, 1);
	pl->row = 0;
	if (pl->heads_mode) {
		pl->shared = 0;
		pl->k = row;
		pl->vt = row + kv;
		pl->q = row + 2 * kv;
		pl->slot = row + 2 * kv + tiles;
	} else {
		pl->shared = 2 * kv;
		pl->k = 0;
		pl->vt = kv;
		pl->q = row;
		pl->slot = row + tiles;
	}
	pl->a = pl->q + tinytx_bytes_aligned(x * p, 1);
	pl->o = pl->shared + n * pl->slot;
	pl->total = pl->o + s * d->heads * p;
	return pl->total > INT32_MAX ? TINYTX_ERR_DIMS : TINYTX_OK;
}

#endif /* TINYTX_RISCV_DFT_LAYOUT_H */
