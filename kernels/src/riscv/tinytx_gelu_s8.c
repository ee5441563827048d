/*
 * RISC-V integer GELU: the elements are split over the cores in balanced contiguous
 * ranges and each core runs the reference kernel on its range. The reference file is
 * compiled here under a private name, so both variants share one definition of the
 * arithmetic. Every range repeats the reference's checks of the parameters, so a bad
 * parameter is reported before anything is written; input and output may alias.
 */
#define tinytx_gelu_s8 tinytx_rv_ref_gelu_s8
#include "../ref/tinytx_gelu_s8.c"
#undef tinytx_gelu_s8

#include "tinytx_riscv.h"

typedef struct {
	const tinytx_gelu_params *params;
	const int8_t *input;
	int8_t *output;
} gelu_args;

static tinytx_status gelu_range(const void *ctx, uint32_t first, uint32_t n)
{
	const gelu_args *a = (const gelu_args *)ctx;
	return tinytx_rv_ref_gelu_s8((int32_t)n, a->params, a->input + first, a->output + first);
}

tinytx_status tinytx_gelu_s8(int32_t size, const tinytx_gelu_params *params, const int8_t *input,
			     int8_t *output)
{
	if (size < 1 || input == NULL || output == NULL) {
		return tinytx_rv_ref_gelu_s8(size, params, input, output); /* the error */
	}
	const gelu_args args = {params, input, output};
	return tinytx_rv_split_ranges((uint32_t)size, gelu_range, &args);
}
