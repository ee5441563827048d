/*
 * Scratch layouts of the layer-wise attention blocks (internal header), shared by the
 * ref and riscv tinytx_mhsa_s8 / tinytx_fwsa_s8. Each part starts 4-byte aligned:
 *   MHSA: score rows | Q | K | V^T | A | O
 *   FWSA: score rows | T | V^T | A | O
 * score rows: one int32 row of S scores per core (cores = 1: the reference layout).
 */
#ifndef TINYTX_MHSA_LAYOUT_H
#define TINYTX_MHSA_LAYOUT_H

#include <stdint.h>

#include "tinytx/types.h"
#include "tinytx_check.h"

typedef struct {
	int64_t q, k, vt, a, o, total;
} tinytx_mhsa_layout;

typedef struct {
	int64_t t, vt, a, o, total;
} tinytx_fwsa_layout;

static inline tinytx_mhsa_layout tinytx_mhsa_scratch_layout(const tinytx_mhsa_dims *d,
							    uint32_t cores)
{
	const int64_t s = d->seq_len, hp = (int64_t)d->heads * d->head_dim;
	tinytx_mhsa_layout l;
	l.q = tinytx_bytes_aligned(s * (int64_t)sizeof(int32_t) * cores, 1);
	l.k = l.q + tinytx_bytes_aligned(s * hp, 1);
	l.vt = l.k + tinytx_bytes_aligned(s * hp, 1);
	l.a = l.vt + tinytx_bytes_aligned(s * hp, 1);
	l.o = l.a + tinytx_bytes_aligned(d->heads * s * s, 1);
	l.total = l.o + tinytx_bytes_aligned(s * hp, 1);
	return l;
}

static inline tinytx_fwsa_layout tinytx_fwsa_scratch_layout(const tinytx_mhsa_dims *d,
							    uint32_t cores)
{
	const int64_t s = d->seq_len, hp = (int64_t)d->heads * d->head_dim;
	tinytx_fwsa_layout l;
	l.t = tinytx_bytes_aligned(s * (int64_t)sizeof(int32_t) * cores, 1);
	l.vt = l.t + tinytx_bytes_aligned((int64_t)d->heads * s * d->embed_dim, 1);
	l.a = l.vt + tinytx_bytes_aligned(s * hp, 1);
	l.o = l.a + tinytx_bytes_aligned(d->heads * s * s, 1);
	l.total = l.o + tinytx_bytes_aligned(s * hp, 1);
	return l;
}

/* tinytx_mhsa_s8_get_buffer_size, or with fused tinytx_fwsa_s8_get_buffer_size. */
static inline int32_t tinytx_block_buffer_size(const tinytx_mhsa_dims *d, int fused,
					       int32_t cores)
{
	tinytx_status st = tinytx_check_block_dims(d, fused);
	if (st == TINYTX_OK) {
		st = tinytx_check_cores(cores);
	}
	if (st != TINYTX_OK) {
		return st;
	}
	return tinytx_scratch_bytes(fused ? tinytx_fwsa_scratch_layout(d, (uint32_t)cores).total
					  : tinytx_mhsa_scratch_layout(d, (uint32_t)cores).total);
}

#endif /* TINYTX_MHSA_LAYOUT_H */
