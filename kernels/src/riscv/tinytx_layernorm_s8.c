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

#include "tinytx/parallel.h"

typedef struct {
	const tinytx_layernorm_dims *dims;
	const tinytx_layernorm_params *params;
	const int8_t *input, *gamma;
	const int32_t *beta;
	int8_t *output;
	tinytx_status status; /* written by core 0, whose range is never empty */
} layernorm_job;

static void layernorm_body(void *ctx, uint32_t core, uint32_t num_cores)
{
	layernorm_job *j = (layernorm_job *)ctx;
	const int32_t e = j->dims->features;
	uint32_t b, end;
	tinytx_parallel_range((uint32_t)j->dims->rows, core, num_cores, &b, &end);
	if (b < end) {
		const tinytx_layernorm_dims part = {(int32_t)(end - b), e};
		const size_t off = (size_t)b * (size_t)e;
		tinytx_status st = tinytx_rv_ref_layernorm_s8(
			&part, j->params, j->input + off, j->gamma, j->beta, j->output + off);
		if (core == 0) {
			j->status = st;
		}
	}
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
	layernorm_job job = {dims, params, input, gamma, beta, output, TINYTX_OK};
	tinytx_parallel_for(layernorm_body, &job);
	return job.status;
}
