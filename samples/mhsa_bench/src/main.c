/*
 * mhsa_bench: one int8 multi-head self-attention block on the target.
 * The model data (weights, input, the golden model's expected output) comes from
 * the generated mhsa_bench_data.c (`tinytx demo` writes it). The program runs the
 * block, compares every output byte with the golden model, and exits 0 on MATCH.
 */
#include <stdio.h>

#include "mhsa_bench_data.h"
#include "tinytx/tinytx.h"

/* Activations live in one static arena sized at generation time. */
static uint8_t arena[MHSA_BENCH_SCRATCH_BYTES] __attribute__((aligned(4)));
static int8_t output[MHSA_BENCH_S * MHSA_BENCH_E];

int main(void)
{
	const tinytx_mhsa_dims dims = {MHSA_BENCH_S, MHSA_BENCH_E, MHSA_BENCH_H, MHSA_BENCH_P};
	const int32_t need = tinytx_mhsa_s8_get_buffer_size(&dims);

	printf("mhsa_bench: S=%d E=%d H=%d P=%d, arena %ld bytes\n", MHSA_BENCH_S, MHSA_BENCH_E,
	       MHSA_BENCH_H, MHSA_BENCH_P, (long)sizeof(arena));
	if (need != (int32_t)sizeof(arena)) {
		printf("ERROR: kernel needs %ld scratch bytes, the arena has %ld\n", (long)need,
		       (long)sizeof(arena));
		return 2;
	}
	tinytx_status st = tinytx_mhsa_s8(&dims, &mhsa_bench_params, &mhsa_bench_weights,
					  mhsa_bench_input, output, arena);
	if (st != TINYTX_OK) {
		printf("ERROR: tinytx_mhsa_s8 returned %d\n", (int)st);
		return 2;
	}
	for (int i = 0; i < MHSA_BENCH_S * MHSA_BENCH_E; i++) {
		if (output[i] != mhsa_bench_expected[i]) {
			printf("MISMATCH at output %d: got %d, golden model %d\n", i, output[i],
			       mhsa_bench_expected[i]);
			return 1;
		}
	}
	printf("MATCH: %d outputs equal the golden model\n", MHSA_BENCH_S * MHSA_BENCH_E);
	return 0;
}
