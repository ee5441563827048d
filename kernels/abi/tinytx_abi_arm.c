/*
 * Host ABI library of the arm kernel variant (tinytx_abi.h): the Cortex-M size sources
 * (plain C: the layouts live in tinytx_arm_layout.h, apart from the assembly), as
 * kernels/sources.cmake lists them for the arm firmware.
 */
#define TINYTX_ABI_VARIANT "arm"

#include "../src/arm/tinytx_conv2d_s8_size.c"
#include "../src/arm/tinytx_conv2d_sparse_s8_size.c"
#include "../src/arm/tinytx_fwsa_dft_s8_size.c"
#include "../src/arm/tinytx_fwsa_s8_size.c"
#include "../src/arm/tinytx_linear_buf_s8_size.c"
#include "../src/arm/tinytx_linear_sparse_s8_size.c"
#include "../src/arm/tinytx_mhsa_dft_s8_size.c"
#include "../src/arm/tinytx_mhsa_s8_size.c"
#include "../src/arm/tinytx_qk_softmax_s8_size.c"

#define TINYTX_ABI_VARIANT_CONSTANTS                                                           \
	TINYTX_ABI_CONSTANT(TT_CONV_BAND_MAX), TINYTX_ABI_CONSTANT(TT_XROWS_MIN),

#include "tinytx_abi_common.h"

/* tt_attn_layout_of (tinytx_arm_layout.h): the depth-first engine of every arm block
 * but the layer-wise MHSA. */
const char *tinytx_abi_attention_layout_names(void)
{
	return "kw,xw,vw,w,qw,pw,o,wo,sc,acc,total,rows,xrows,ymode";
}

int32_t tinytx_abi_attention_layout(int32_t seq_len, int32_t embed_dim, int32_t heads,
				    int32_t head_dim, int32_t tile_rows, int32_t fused,
				    int32_t num_cores, int32_t *offsets, int32_t capacity)
{
	const tinytx_mhsa_dims d = {seq_len, embed_dim, heads, head_dim};
	tt_attn_layout l;
	tinytx_status st = tinytx_check_cores(num_cores);
	if (st == TINYTX_OK) {
		st = tt_attn_layout_of(&d, tile_rows, fused != 0, &l);
	}
	if (st != TINYTX_OK) {
		return st;
	}
	const int64_t v[] = {l.kw,  l.xw,    l.vw,   l.w,	     l.qw,   l.pw,   l.o,
			     l.wo,  l.sc,    l.acc,  l.total, l.rows, l.xrows, l.ymode};
	return tinytx_abi_put(v, (int32_t)(sizeof(v) / sizeof(v[0])), offsets, capacity);
}
