/*
 * RISC-V table look-up: the elements are split over the cores in balanced contiguous
 * ranges and each core runs the reference kernel on its range (one LBU of the input,
 * one LBU of the table, one SB per element; there is no gather in XpulpV2). The
 * reference file is compiled here under a private name, so both variants share one
 * definition. In place works (each range reads and writes only its own elements).
 */
#define tinytx_lut_s8 tinytx_rv_ref_lut_s8
#include "../ref/tinytx_lut_s8.c"
#undef tinytx_lut_s8

#include "tinytx_riscv.h"

typedef struct {
	const int8_t *table;
	const int8_t *input;
	int8_t *output;
} lut_args;

static tinytx_status lut_range(const void *ctx, uint32_t first, uint32_t n)
{
	const lut_args *a = (const lut_args *)ctx;
	return tinytx_rv_ref_lut_s8((int32_t)n, a->table, a->input + first, a->output + first);
}

tinytx_status tinytx_lut_s8(int32_t size, const int8_t *table, const int8_t *input,
			    int8_t *output)
{
	if (size < 1 || table == NULL || input == NULL || output == NULL) {
		return tinytx_rv_ref_lut_s8(size, table, input, output); /* the error */
	}
	const lut_args args = {table, input, output};
	return tinytx_rv_split_ranges((uint32_t)size, lut_range, &args);
}
