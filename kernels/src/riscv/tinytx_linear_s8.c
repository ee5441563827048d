/*
 * RISC-V linear layer: the work split of tinytx_rv_linear_part (tinytx_riscv.h) over
 * the cores of tinytx_parallel_for, four outputs per pass of the input row, the
 * output layout fused into the store as in the reference kernel.
 */
#include "tinytx/kernels.h"
#include "tinytx/parallel.h"
#include "tinytx/requant.h"
#include "../tinytx_check.h"
#include "tinytx_riscv.h"

/* Which inner path this build compiled, findable in the binary (tests, docs/gap9.md). */
#if TINYTX_RISCV_XPULPV2 && defined(TINYTX_RISCV_XPULPV2_MODEL) && TINYTX_RISCV_XPULPV2_MODEL
#define TINYTX_RV_INNER "xpulpv2-model"
#elif TINYTX_RISCV_XPULPV2
#define TINYTX_RV_INNER "xpulpv2"
#else
#define TINYTX_RV_INNER "rv32imc"
#endif
const char tinytx_riscv_inner_path[] __attribute__((used)) = "tinytx-riscv-inner=" TINYTX_RV_INNER;

/* Index of output n of token s in the job's layout (head_dim = N / H). */
static size_t linear_index(const tinytx_rv_linear_job *j, int32_t head_dim, int32_t s, int32_t n)
{
	switch (j->layout) {
	case TINYTX_LAYOUT_HEAD_MAJOR:
		return ((size_t)(n / head_dim) * j->rows + s) * head_dim + n % head_dim;
	case TINYTX_LAYOUT_HEAD_MAJOR_T:
		return (size_t)n * j->rows + s; /* [H][P][S] == [N][S] */
	default:
		return (size_t)s * j->out_features + n;
	}
}

/* Outputs n0 .. n0+count-1 (one weight row each) of token s. */
static void linear_run(const tinytx_rv_linear_job *j, int32_t head_dim, int32_t s, int32_t n0,
		       int32_t count)
{
	const int32_t k_dim = j->in_features;
	const int8_t *x = j->input + (size_t)s * k_dim;
	int32_t n = n0;
	const int32_t end = n0 + count;
	for (; n + 4 <= end; n += 4) {
		int32_t acc[4] = {0, 0, 0, 0};
		if (j->bias != NULL) {
			for (int32_t r = 0; r < 4; r++) {
				acc[r] = j->bias[n + r];
			}
		}
		tinytx_rv_dot4_s8(x, j->weights + (size_t)n * k_dim, (size_t)k_dim, k_dim, acc);
		for (int32_t r = 0; r < 4; r++) {
			const tinytx_requant rq =
				tinytx_channel_requant(j->requant, j->multipliers, j->shifts, n + r);
			j->output[linear_index(j, head_dim, s, n + r)] =
				tinytx_requantize_s8(acc[r], rq, j->act.min, j->act.max);
		}
	}
	for (; n < end; n++) {
		int32_t acc = tinytx_rv_dot_s8(x, j->weights + (size_t)n * k_dim, k_dim,
					       j->bias != NULL ? j->bias[n] : 0);
		const tinytx_requant rq =
			tinytx_channel_requant(j->requant, j->multipliers, j->shifts, n);
		j->output[linear_index(j, head_dim, s, n)] =
			tinytx_requantize_s8(acc, rq, j->act.min, j->act.max);
	}
}

void tinytx_rv_linear_part(const tinytx_rv_linear_job *job, uint32_t core, uint32_t num_cores)
{
	const int32_t head_dim = job->out_features / job->heads;
	const int head_major = job->layout != TINYTX_LAYOUT_TOKEN_MAJOR;
	/* groups of `width` outputs: (head, token) pairs, or tokens */
	const uint32_t width = (uint32_t)(head_major ? head_dim : job->out_features);
	const uint32_t groups = (uint32_t)(head_major ? job->heads * job->rows : job->rows);
	uint32_t t, end;
	tinytx_parallel_range(groups * width, core, num_cores, &t, &end);
	while (t < end) {
		const uint32_t g = t / width, o = t % width;
		const uint32_t count = end - t < width - o ? end - t : width - o;
		if (head_major) {
			const int32_t h = (int32_t)(g / (uint32_t)job->rows);
			const int32_t s = (int32_t)(g % (uint32_t)job->rows);
			linear_run(job, head_dim, s, h * head_dim + (int32_t)o, (int32_t)count);
		} else {
			linear_run(job, head_dim, (int32_t)g, (int32_t)o, (int32_t)count);
		}
		t += count;
	}
}

tinytx_status tinytx_linear_s8(const tinytx_linear_dims *dims, const tinytx_linear_params *params,
			       const int8_t *input, const int8_t *weights, const int32_t *bias,
			       int8_t *output)
{
	tinytx_status st = tinytx_check_linear_call(dims, params, input, weights, output);
	if (st != TINYTX_OK) {
		return st;
	}
	tinytx_rv_linear_job job = {dims->rows,	     dims->in_features, dims->out_features,
				    dims->heads,     dims->layout,	params->requant,
				    params->act,     input,		weights,
				    bias,	     output,		params->multipliers,
				    params->shifts};
	tinytx_parallel_for(tinytx_rv_linear_body, &job);
	return TINYTX_OK;
}
