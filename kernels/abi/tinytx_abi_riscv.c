/*
 * Host ABI library of the riscv kernel variant (tinytx_abi.h): the riscv size sources,
 * and the reference ones for the kernels riscv has no file of its own for, as
 * kernels/sources.cmake lists them for the riscv firmware.
 */
#define TINYTX_ABI_VARIANT "riscv"

#include "../src/ref/tinytx_conv2d_s8_size.c"
#include "../src/riscv/tinytx_conv2d_sparse_s8_size.c"
#include "../src/ref/tinytx_fwsa_dft_s8_size.c"
#include "../src/riscv/tinytx_fwsa_s8_size.c"
#include "../src/ref/tinytx_linear_buf_s8_size.c"
#include "../src/ref/tinytx_linear_sparse_s8_size.c"
#include "../src/riscv/tinytx_mhsa_dft_s8_size.c"
#include "../src/riscv/tinytx_mhsa_s8_size.c"
#include "../src/riscv/tinytx_qk_softmax_s8_size.c"

#include "tinytx_abi_common.h"

/*
 * MHSA: tinytx_riscv_dft_layout.h (k, vt, row, tile, probs are offsets in a core's
 * working set, of `slot` bytes, slot c at shared + c * slot; heads_mode 0: K_h and V_h^T
 * shared at 0). fused: the reference block (tinytx_dft.h) with a score row per core: one
 * working set at 0 (slots 1), k == vt.
 */
const char *tinytx_abi_attention_layout_names(void)
{
	return "row,k,vt,tile,probs,o,total,shared,slot,slots,tile_rows,heads_mode";
}

int32_t tinytx_abi_attention_layout(int32_t seq_len, int32_t embed_dim, int32_t heads,
				    int32_t head_dim, int32_t tile_rows, int32_t fused,
				    int32_t num_cores, int32_t *offsets, int32_t capacity)
{
	const tinytx_mhsa_dims d = {seq_len, embed_dim, heads, head_dim};
	if (fused) {
		tinytx_dft_layout l;
		const tinytx_status st = tinytx_dft_scratch_layout(&d, tile_rows, 1, num_cores, &l);
		if (st != TINYTX_OK) {
			return st;
		}
		const int64_t v[] = {0,	      l.k, l.vt, l.tile,    l.a, l.o,
				     l.total, 0,   l.o,	 1,	    tile_rows, 0};
		return tinytx_abi_put(v, (int32_t)(sizeof(v) / sizeof(v[0])), offsets, capacity);
	}
	tinytx_rv_dft_layout l;
	const tinytx_status st = tinytx_rv_dft_plan(&d, tile_rows, num_cores, &l);
	if (st != TINYTX_OK) {
		return st;
	}
	const int64_t v[] = {l.row,   l.k,	l.vt,	 l.q,	    l.a,    l.o,
			     l.total, l.shared, l.slot, num_cores, l.tile, l.heads_mode};
	return tinytx_abi_put(v, (int32_t)(sizeof(v) / sizeof(v[0])), offsets, capacity);
}
