/*
 * The linear layer with a scratch buffer (kernels/include/tinytx/kernels.h): the
 * reference needs none, so it is tinytx_linear_s8 (variants without a file of their
 * own, e.g. riscv, get their own tinytx_linear_s8 through this one).
 */
#include "tinytx/kernels.h"
#include "../tinytx_check.h"

tinytx_status tinytx_linear_buf_s8(const tinytx_linear_dims *dims,
				   const tinytx_linear_params *params, const int8_t *input,
				   const int8_t *weights, const int32_t *bias, int8_t *output,
				   const tinytx_context *ctx)
{
	(void)ctx; /* the reference needs none: any ctx gives the scratch-free kernel */
	return tinytx_linear_s8(dims, params, input, weights, bias, output);
}
