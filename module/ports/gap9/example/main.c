/*
 * GAP9 example: one MHSA block (shape A of docs/benchmarks.md, S=81 E=32 H=8 P=32) on
 * 1 and 8 cluster cores with the riscv kernels, per-core cycles and instructions from
 * the performance counters. NOT BUILT IN CI (needs the GAP9 SDK): `make all run` with
 * the SDK sourced (platform=gvsoc or board), see docs/gap9.md. The data is arbitrary
 * (weights 1, inputs a ramp): the example measures, the bit-exactness is checked in CI
 * on QEMU (tinytx test-kernels --target rv32x8).
 */
#include <stdio.h>

#include "pmsis.h"
#include "tinytx/parallel.h"
#include "tinytx/tinytx.h"
#include "tinytx_port/gap9.h"

#define S 81
#define E 32
#define H 8
#define P 32
#define SCRATCH_BYTES 140000 /* >= tinytx_mhsa_s8_get_buffer_size on 8 cores (printed) */

PI_L2 static int8_t weights[4][H * P * E];
PI_L1 static int8_t x[S * E], y[S * E];
PI_L2 static uint8_t scratch[SCRATCH_BYTES] __attribute__((aligned(4)));

typedef struct {
	int32_t status, need;
} run_result;

static void cluster_main(void *arg)
{
	run_result *r = (run_result *)arg;
	const tinytx_mhsa_dims dims = {S, E, H, P};
	const tinytx_requant rq = {1 << 30, 38, 0};
	const tinytx_mhsa_params params = {rq, rq, rq, {1 << 30, 36, 0}, {1 << 30, 39, 0}, rq};
	const tinytx_mhsa_weights w = {weights[0],   NULL,	   weights[1],	 NULL,
				       weights[2],   NULL,	   weights[3],	 NULL,
				       {NULL, NULL}, {NULL, NULL}, {NULL, NULL}, {NULL, NULL}};
	r->need = tinytx_mhsa_s8_get_buffer_size(
		&dims, (int32_t)tinytx_parallel_num_cores());
	r->status = r->need <= SCRATCH_BYTES
			    ? (int32_t)tinytx_mhsa_s8(&dims, &params, &w, x, y,
						      &(tinytx_context){scratch, SCRATCH_BYTES})
			    : TINYTX_ERR_DIMS;
}

int main(void)
{
	for (int i = 0; i < 4; i++) {
		for (int j = 0; j < H * P * E; j++) {
			weights[i][j] = (int8_t)((j * 7 + i) % 5 - 2);
		}
	}
	for (int i = 0; i < S * E; i++) {
		x[i] = (int8_t)(i % 61 - 30);
	}
	if (tinytx_gap9_cluster_open() != 0) {
		printf("cluster open failed\n");
		return -1;
	}
	const uint32_t cores[2] = {1, 8};
	for (int c = 0; c < 2; c++) {
		run_result r = {0, 0};
		tinytx_gap9_set_cores(cores[c]);
		tinytx_gap9_perf_reset();
		tinytx_gap9_cluster_run(cluster_main, &r);
		const tinytx_gap9_perf *perf = tinytx_gap9_perf_get();
		printf("%lu cores: status %ld, scratch %ld bytes\n", (unsigned long)cores[c],
		       (long)r.status, (long)r.need);
		for (uint32_t k = 0; k < cores[c]; k++) {
			printf("  core %lu: %lu cycles, %lu instructions\n", (unsigned long)k,
			       (unsigned long)perf->cycles[k], (unsigned long)perf->instructions[k]);
		}
	}
	tinytx_gap9_cluster_close();
	return 0;
}
