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

#include "tinytx/parallel.h"

typedef struct {
	int32_t size;
	const tinytx_add_params *params;
	const int8_t *a, *b;
	int8_t *output;
	tinytx_status status; /* written by core 0, whose range is never empty */
} add_job;

static void add_body(void *ctx, uint32_t core, uint32_t num_cores)
{
	add_job *j = (add_job *)ctx;
	uint32_t b, e;
	tinytx_parallel_range((uint32_t)j->size, core, num_cores, &b, &e);
	if (b < e) {
		tinytx_status st = tinytx_rv_ref_add_s8((int32_t)(e - b), j->params, j->a + b,
							j->b + b, j->output + b);
		if (core == 0) {
			j->status = st;
		}
	}
}

tinytx_status tinytx_add_s8(int32_t size, const tinytx_add_params *params, const int8_t *input_a,
			    const int8_t *input_b, int8_t *output)
{
	if (size < 1 || input_a == NULL || input_b == NULL || output == NULL) {
		return tinytx_rv_ref_add_s8(size, params, input_a, input_b, output); /* the error */
	}
	add_job job = {size, params, input_a, input_b, output, TINYTX_OK};
	tinytx_parallel_for(add_body, &job);
	return job.status;
}
