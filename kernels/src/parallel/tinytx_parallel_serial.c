/*
 * The serial port of tinytx/parallel.h: the default of every plain CMake build that
 * does not pick another one (TINYTX_PARALLEL_PORT=serial). tinytx_parallel_for runs
 * body(ctx, c, n) for c = 0 .. n-1 in that order on the calling core. n is 1 unless
 * tinytx_parallel_serial_set_cores() chose more: the kernel tests use that to check
 * the multi-core split on the host (under the sanitizers) and on one emulated hart,
 * and the RV32 benchmark to count each core's instructions separately under unicorn
 * (scripts/tinytx/bench/rv32x8.py finds body and core by their addresses).
 */
#include "tinytx/parallel.h"

/* Written by the unicorn benchmark through the symbol, so not static. */
volatile uint32_t tinytx_parallel_serial_cores = 1u;

int tinytx_parallel_serial_set_cores(uint32_t num_cores)
{
	if (num_cores < 1u || num_cores > TINYTX_PARALLEL_SERIAL_MAX_CORES) {
		return -1;
	}
	tinytx_parallel_serial_cores = num_cores;
	return 0;
}

uint32_t tinytx_parallel_num_cores(void)
{
	return tinytx_parallel_serial_cores;
}

void tinytx_parallel_for(tinytx_parallel_body body, void *ctx)
{
	const uint32_t n = tinytx_parallel_serial_cores;
	for (uint32_t c = 0; c < n; c++) {
		body(ctx, c, n);
	}
}
