/*
 * Host ABI library of the ref kernel variant (tinytx_abi.h): the reference size
 * sources, as kernels/sources.cmake lists them for the ref firmware.
 */
#define TINYTX_ABI_VARIANT "ref"

#include "../src/ref/tinytx_conv2d_s8_size.c"
#include "../src/ref/tinytx_conv2d_sparse_s8_size.c"
#include "../src/ref/tinytx_fwsa_dft_s8_size.c"
#include "../src/ref/tinytx_fwsa_s8_size.c"
#include "../src/ref/tinytx_linear_buf_s8_size.c"
#include "../src/ref/tinytx_linear_sparse_s8_size.c"
#include "../src/ref/tinytx_mhsa_dft_s8_size.c"
#include "../src/ref/tinytx_mhsa_s8_size.c"
#include "../src/ref/tinytx_qk_softmax_s8_size.c"

#include "tinytx_abi_common.h"

/* tinytx_dft.h's layout; fused: no K_h (k == vt). */
const char *tinytx_abi_attention_layout_names(void)
{
	return "row,k,vt,tile,probs,o,total";
}

int32_t tinytx_abi_attention_layout(int32_t seq_len, int32_t embed_dim, int32_t heads,
				    int32_t head_dim, int32_t tile_rows, int32_t fused,
				    int32_t num_cores, int32_t *offsets, int32_t capacity)
{
	const tinytx_mhsa_dims d = {seq_len, embed_dim, heads, head_dim};
	tinytx_dft_layout l;
	const tinytx_status st =
		tinytx_dft_scratch_layout(&d, tile_rows, fused != 0, num_cores, &l);
	if (st != TINYTX_OK) {
		return st;
	}
	const int64_t v[] = {0, l.k, l.vt, l.tile, l.a, l.o, l.total};
	return tinytx_abi_put(v, (int32_t)(sizeof(v) / sizeof(v[0])), offsets, capacity);
}
