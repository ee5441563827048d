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

#include "tinytx/parallel.h"

typedef struct {
	int32_t size;
	const tinytx_gelu_params *params;
	const int8_t *input;
	int8_t *output;
	tinytx_status status; /* written by core 0, whose range is never empty */
} gelu_job;

static void gelu_body(void *ctx, uint32_t core, uint32_t num_cores)
{
	gelu_job *j = (gelu_job *)ctx;
	uint32_t b, e;
	tinytx_parallel_range((uint32_t)j->size, core, num_cores, &b, &e);
	if (b < e) {
		tinytx_status st = tinytx_rv_ref_gelu_s8((int32_t)(e - b), j->params, j->input + b,
							 j->output + b);
		if (core == 0) {
			j->status = st;
		}
	}
}

tinytx_status tinytx_gelu_s8(int32_t size, const tinytx_gelu_params *params, const int8_t *input,
			     int8_t *output)
{
	if (size < 1 || input == NULL || output == NULL) {
		return tinytx_rv_ref_gelu_s8(size, params, input, output); /* the error */
	}
	gelu_job job = {size, params, input, output, TINYTX_OK};
	tinytx_parallel_for(gelu_body, &job);
	return job.status;
}
