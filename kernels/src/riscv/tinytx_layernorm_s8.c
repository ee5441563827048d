/*
 * RISC-V integer LayerNorm: the rows are split over the cores in balanced contiguous
 * ranges and each core runs the reference kernel on its rows (compiled here under a
 * private name: one definition of the arithmetic). Every range repeats the
 * reference's checks of the features and parameters, so those errors are reported
 * before anything is written; the checks on the row count are done once here.
 */
#define tinytx_layernorm_s8 tinytx_rv_ref_layernorm_s8
#include "../ref/tinytx_layernorm_s8.c"
#undef tinytx_layernorm_s8

#include "tinytx_riscv.h"

typedef struct {
	const tinytx_layernorm_dims *dims;
	const tinytx_layernorm_params *params;
	const int8_t *input, *gamma;
	const int32_t *beta;
	int8_t *output;
} layernorm_args;

static tinytx_status layernorm_range(const void *ctx, uint32_t first, uint32_t n)
{
	const layernorm_args *a = (const layernorm_args *)ctx;
	const tinytx_layernorm_dims part = {(int32_t)n, a->dims->features};
	const size_t off = (size_t)first * (size_t)part.features;
	return tinytx_rv_ref_layernorm_s8(&part, a->params, a->input + off, a->gamma, a->beta,
					  a->output + off);
}

tinytx_status tinytx_layernorm_s8(const tinytx_layernorm_dims *dims,
				  const tinytx_layernorm_params *params, const int8_t *input,
				  const int8_t *gamma, const int32_t *beta, int8_t *output)
{
	if (dims == NULL || input == NULL || output == NULL || dims->rows < 1 ||
	    dims->features < 1 || (int64_t)dims->rows * dims->features > INT32_MAX) {
		/* the reference reports the error */
		return tinytx_rv_ref_layernorm_s8(dims, params, input, gamma, beta, output);
	}
	const layernorm_args args = {dims, params, input, gamma, beta, output};
	return tinytx_rv_split_ranges((uint32_t)dims->rows, layernorm_range, &args);
}
