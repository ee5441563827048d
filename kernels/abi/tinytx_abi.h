/*
 * tinytx host ABI: the kernels' scratch sizes, attention scratch layouts and limits as
 * flat functions of plain int32 fields, so the host tools (scripts/tinytx, through
 * ctypes) read them from the C headers instead of re-deriving them. One shared library
 * per kernel variant (tinytx_abi_<variant>.c) compiles that variant's very size
 * sources, the ones its firmware links (kernels/sources.cmake). Not for targets.
 */
#ifndef TINYTX_ABI_H
#define TINYTX_ABI_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* "ref", "arm" or "riscv". */
const char *tinytx_abi_variant(void);

/* A public constant (limits, status codes, layouts) by its C name; INT64_MIN if unknown. */
int64_t tinytx_abi_constant(const char *name);

/* The *_get_buffer_size of each kernel, the dims struct's fields in declaration order. */
int32_t tinytx_abi_linear_buf_s8_get_buffer_size(int32_t rows, int32_t in_features,
						 int32_t out_features, int32_t heads,
						 int32_t layout, int32_t num_cores);
int32_t tinytx_abi_qk_softmax_s8_get_buffer_size(int32_t heads, int32_t q_rows, int32_t kv_rows,
						 int32_t head_dim, int32_t k_heads,
						 int32_t num_cores);
int32_t tinytx_abi_mhsa_s8_get_buffer_size(int32_t seq_len, int32_t embed_dim, int32_t heads,
					   int32_t head_dim, int32_t num_cores);
int32_t tinytx_abi_mhsa_dft_s8_get_buffer_size(int32_t seq_len, int32_t embed_dim,
					       int32_t heads, int32_t head_dim,
					       int32_t tile_rows, int32_t num_cores);
int32_t tinytx_abi_fwsa_s8_get_buffer_size(int32_t seq_len, int32_t embed_dim, int32_t heads,
					   int32_t head_dim, int32_t num_cores);
int32_t tinytx_abi_fwsa_dft_s8_get_buffer_size(int32_t seq_len, int32_t embed_dim,
					       int32_t heads, int32_t head_dim,
					       int32_t tile_rows, int32_t num_cores);
int32_t tinytx_abi_conv2d_s8_get_buffer_size(int32_t in_h, int32_t in_w, int32_t in_c,
					     int32_t out_h, int32_t out_w, int32_t out_c,
					     int32_t kernel_h, int32_t kernel_w,
					     int32_t stride_h, int32_t stride_w, int32_t pad_top,
					     int32_t pad_left, int32_t pad_bottom,
					     int32_t pad_right, int32_t num_cores);
/* The same with the appended dims fields dilation_h, dilation_w, depth_multiplier. */
int32_t tinytx_abi_conv2d_general_s8_get_buffer_size(
	int32_t in_h, int32_t in_w, int32_t in_c, int32_t out_h, int32_t out_w, int32_t out_c,
	int32_t kernel_h, int32_t kernel_w, int32_t stride_h, int32_t stride_w, int32_t pad_top,
	int32_t pad_left, int32_t pad_bottom, int32_t pad_right, int32_t dilation_h,
	int32_t dilation_w, int32_t depth_multiplier, int32_t num_cores);

int32_t tinytx_abi_linear_sparse_s8_get_buffer_size(int32_t rows, int32_t in_features,
						    int32_t out_features, int32_t heads,
						    int32_t layout, int32_t num_cores);
int32_t tinytx_abi_conv2d_sparse_s8_get_buffer_size(int32_t in_h, int32_t in_w, int32_t in_c,
						    int32_t out_h, int32_t out_w, int32_t out_c,
						    int32_t kernel_h, int32_t kernel_w,
						    int32_t stride_h, int32_t stride_w,
						    int32_t pad_top, int32_t pad_left,
						    int32_t pad_bottom, int32_t pad_right,
						    int32_t num_cores);
/*
 * The named parts of the depth-first (fused: FWSA) attention scratch of this variant for
 * S, E, H, P, tile_rows and num_cores: writes up to capacity values into offsets, in the
 * order of tinytx_abi_attention_layout_names(), and returns how many names there are,
 * or a negative tinytx_status for invalid arguments.
 */
int32_t tinytx_abi_attention_layout(int32_t seq_len, int32_t embed_dim, int32_t heads,
				    int32_t head_dim, int32_t tile_rows, int32_t fused,
				    int32_t num_cores, int32_t *offsets, int32_t capacity);

/* Comma-separated names of the values tinytx_abi_attention_layout writes. */
const char *tinytx_abi_attention_layout_names(void);

#ifdef __cplusplus
}
#endif

#endif /* TINYTX_ABI_H */
