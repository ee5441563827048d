/*
 * RISC-V requantized element-wise add: the elements are split over the cores in
 * balanced contiguous ranges and each core runs the reference kernel on its range
 * (compiled here under a private name: one definition of the arithmetic). Every range
 * repeats the reference's parameter checks, so a bad parameter is reported before
 * anything is written; the output may alias either input.
 */
#define tinytx_add_s8 tinytx_rv_ref_add_s8
#include "../ref/tinytx_add_s8.c"
#undef tinytx_add_s8

#include "tinytx_riscv.h"

typedef struct {
	const tinytx_add_params *params;
	const int8_t *a, *b;
	int8_t *output;
} add_args;

static tinytx_status add_range(const void *ctx, uint32_t first, uint32_t n)
{
	const add_args *x = (const add_args *)ctx;
	return tinytx_rv_ref_add_s8((int32_t)n, x->params, x->a + first, x->b + first,
				    x->output + first);
}

tinytx_status tinytx_add_s8(int32_t size, const tinytx_add_params *params, const int8_t *input_a,
			    const int8_t *input_b, int8_t *output)
{
	if (size < 1 || input_a == NULL || input_b == NULL || output == NULL) {
		return tinytx_rv_ref_add_s8(size, params, input_a, input_b, output); /* the error */
	}
	const add_args args = {params, input_a, input_b, output};
	return tinytx_rv_split_ranges((uint32_t)size, add_range, &args);
}
