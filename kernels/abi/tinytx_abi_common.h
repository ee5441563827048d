/*
 * The variant-independent part of the host ABI library (kernels/abi/tinytx_abi.h):
 * included last by each tinytx_abi_<variant>.c, after that variant's size sources.
 */
#ifndef TINYTX_ABI_COMMON_H
#define TINYTX_ABI_COMMON_H

#include <string.h>

#include "tinytx/kernels.h"
#include "tinytx/parallel.h"
#include "tinytx/types.h"
#include "tinytx_abi.h"

const char *tinytx_abi_variant(void)
{
	return TINYTX_ABI_VARIANT;
}

#define TINYTX_ABI_CONSTANT(name) {#name, (int64_t)(name)}

static const struct {
	const char *name;
	int64_t value;
} tinytx_abi_constants[] = {
	TINYTX_ABI_CONSTANT(TINYTX_OK),
	TINYTX_ABI_CONSTANT(TINYTX_ERR_NULL),
	TINYTX_ABI_CONSTANT(TINYTX_ERR_DIMS),
	TINYTX_ABI_CONSTANT(TINYTX_ERR_PARAM),
	TINYTX_ABI_CONSTANT(TINYTX_ERR_SCRATCH),
	TINYTX_ABI_CONSTANT(TINYTX_MAX_REDUCTION),
	TINYTX_ABI_CONSTANT(TINYTX_SOFTMAX_MAX_KV),
	TINYTX_ABI_CONSTANT(TINYTX_LAYERNORM_MAX_FEATURES),
	TINYTX_ABI_CONSTANT(TINYTX_BIAS_BOUND),
	TINYTX_ABI_CONSTANT(TINYTX_REQUANT_SHIFT_MAX),
	TINYTX_ABI_CONSTANT(TINYTX_ADD_MULTIPLIER_MAX),
	TINYTX_ABI_CONSTANT(TINYTX_ADD_SHIFT_MAX),
	TINYTX_ABI_CONSTANT(TINYTX_GELU_Q_ONE_LIMIT),
	TINYTX_ABI_CONSTANT(TINYTX_MAX_DIM),
	TINYTX_ABI_CONSTANT(TINYTX_MUL_LEFT_SHIFT_MAX),
	TINYTX_ABI_CONSTANT(TINYTX_ATTENTION_STEPS_MAX_SEQ),
	TINYTX_ABI_CONSTANT(TINYTX_PARALLEL_SERIAL_MAX_CORES),
	TINYTX_ABI_CONSTANT(TINYTX_LAYOUT_TOKEN_MAJOR),
	TINYTX_ABI_CONSTANT(TINYTX_LAYOUT_HEAD_MAJOR),
	TINYTX_ABI_CONSTANT(TINYTX_LAYOUT_HEAD_MAJOR_T),
	TINYTX_ABI_CONSTANT(TINYTX_SPARSE_MAX_ENTRIES),
	TINYTX_ABI_CONSTANT(TINYTX_SPARSE_UNSTRUCTURED),
	TINYTX_ABI_CONSTANT(TINYTX_SPARSE_BLOCK4),
#ifdef TINYTX_ABI_VARIANT_CONSTANTS
	TINYTX_ABI_VARIANT_CONSTANTS
#endif
};

int64_t tinytx_abi_constant(const char *name)
{
	if (name == NULL) {
		return INT64_MIN;
	}
	const size_t n = sizeof(tinytx_abi_constants) / sizeof(tinytx_abi_constants[0]);
	for (size_t i = 0; i < n; i++) {
		if (strcmp(tinytx_abi_constants[i].name, name) == 0) {
			return tinytx_abi_constants[i].value;
		}
	}
	return INT64_MIN;
}

int32_t tinytx_abi_linear_buf_s8_get_buffer_size(int32_t rows, int32_t in_features,
						 int32_t out_features, int32_t heads,
						 int32_t layout, int32_t num_cores)
{
	const tinytx_linear_dims d = {rows, in_features, out_features, heads,
				      (tinytx_layout)layout};
	return tinytx_linear_buf_s8_get_buffer_size(&d, num_cores);
}

int32_t tinytx_abi_qk_softmax_s8_get_buffer_size(int32_t heads, int32_t q_rows, int32_t kv_rows,
						 int32_t head_dim, int32_t k_heads,
						 int32_t num_cores)
{
	const tinytx_attention_dims d = {heads, q_rows, kv_rows, head_dim, k_heads};
	return tinytx_qk_softmax_s8_get_buffer_size(&d, num_cores);
}

int32_t tinytx_abi_mhsa_s8_get_buffer_size(int32_t seq_len, int32_t embed_dim, int32_t heads,
					   int32_t head_dim, int32_t num_cores)
{
	const tinytx_mhsa_dims d = {seq_len, embed_dim, heads, head_dim};
	return tinytx_mhsa_s8_get_buffer_size(&d, num_cores);
}

int32_t tinytx_abi_mhsa_dft_s8_get_buffer_size(int32_t seq_len, int32_t embed_dim,
					       int32_t heads, int32_t head_dim,
					       int32_t tile_rows, int32_t num_cores)
{
	const tinytx_mhsa_dims d = {seq_len, embed_dim, heads, head_dim};
	return tinytx_mhsa_dft_s8_get_buffer_size(&d, tile_rows, num_cores);
}

int32_t tinytx_abi_fwsa_s8_get_buffer_size(int32_t seq_len, int32_t embed_dim, int32_t heads,
					   int32_t head_dim, int32_t num_cores)
{
	const tinytx_mhsa_dims d = {seq_len, embed_dim, heads, head_dim};
	return tinytx_fwsa_s8_get_buffer_size(&d, num_cores);
}

int32_t tinytx_abi_fwsa_dft_s8_get_buffer_size(int32_t seq_len, int32_t embed_dim,
					       int32_t heads, int32_t head_dim,
					       int32_t tile_rows, int32_t num_cores)
{
	const tinytx_mhsa_dims d = {seq_len, embed_dim, heads, head_dim};
	return tinytx_fwsa_dft_s8_get_buffer_size(&d, tile_rows, num_cores);
}

int32_t tinytx_abi_conv2d_s8_get_buffer_size(int32_t in_h, int32_t in_w, int32_t in_c,
					     int32_t out_h, int32_t out_w, int32_t out_c,
					     int32_t kernel_h, int32_t kernel_w,
					     int32_t stride_h, int32_t stride_w, int32_t pad_top,
					     int32_t pad_left, int32_t pad_bottom,
					     int32_t pad_right, int32_t num_cores)
{
	const tinytx_conv2d_dims d = {in_h,	in_w,	  in_c,	    out_h,    out_w,
				      out_c,	kernel_h, kernel_w, stride_h, stride_w,
				      pad_top, pad_left, pad_bottom, pad_right, 0, 0, 0};
	return tinytx_conv2d_s8_get_buffer_size(&d, num_cores);
}

int32_t tinytx_abi_linear_sparse_s8_get_buffer_size(int32_t rows, int32_t in_features,
						    int32_t out_features, int32_t heads,
						    int32_t layout, int32_t num_cores)
{
	const tinytx_linear_dims d = {rows, in_features, out_features, heads,
				      (tinytx_layout)layout};
	return tinytx_linear_sparse_s8_get_buffer_size(&d, num_cores);
}

int32_t tinytx_abi_conv2d_sparse_s8_get_buffer_size(int32_t in_h, int32_t in_w, int32_t in_c,
						    int32_t out_h, int32_t out_w, int32_t out_c,
						    int32_t kernel_h, int32_t kernel_w,
						    int32_t stride_h, int32_t stride_w,
						    int32_t pad_top, int32_t pad_left,
						    int32_t pad_bottom, int32_t pad_right,
						    int32_t num_cores)
{
	const tinytx_conv2d_dims d = {in_h,	in_w,	  in_c,	    out_h,    out_w,
				      out_c,	kernel_h, kernel_w, stride_h, stride_w,
				      pad_top, pad_left, pad_bottom, pad_right, 0, 0, 0};
	return tinytx_conv2d_sparse_s8_get_buffer_size(&d, num_cores);
}

int32_t tinytx_abi_conv2d_general_s8_get_buffer_size(
	int32_t in_h, int32_t in_w, int32_t in_c, int32_t out_h, int32_t out_w, int32_t out_c,
	int32_t kernel_h, int32_t kernel_w, int32_t stride_h, int32_t stride_w, int32_t pad_top,
	int32_t pad_left, int32_t pad_bottom, int32_t pad_right, int32_t dilation_h,
	int32_t dilation_w, int32_t depth_multiplier, int32_t num_cores)
{
	const tinytx_conv2d_dims d = {in_h,	in_w,	  in_c,	    out_h,    out_w,
				      out_c,	kernel_h, kernel_w, stride_h, stride_w,
				      pad_top, pad_left, pad_bottom, pad_right, dilation_h,
				      dilation_w, depth_multiplier};
	return tinytx_conv2d_s8_get_buffer_size(&d, num_cores);
}

/* Copies n int64 layout values into offsets (up to capacity); ERR_DIMS past int32. */
static int32_t tinytx_abi_put(const int64_t *values, int32_t n, int32_t *offsets,
			      int32_t capacity)
{
	if (capacity > 0 && offsets == NULL) {
		return TINYTX_ERR_NULL;
	}
	for (int32_t i = 0; i < n; i++) {
		if (values[i] < INT32_MIN || values[i] > INT32_MAX) {
			return TINYTX_ERR_DIMS;
		}
		if (i < capacity) {
			offsets[i] = (int32_t)values[i];
		}
	}
	return n;
}

#endif /* TINYTX_ABI_COMMON_H */
