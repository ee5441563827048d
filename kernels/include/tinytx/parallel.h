/*
 * tinytx parallel split: the one abstraction through which the multi-core kernels
 * (kernels/src/riscv) spread their work over a cluster of cores.
 *
 * A kernel packs its arguments into a context and calls tinytx_parallel_for(body, ctx);
 * the port runs body(ctx, core, n) once on each of the n cores (core = 0 .. n-1, the
 * calling core is core 0) and returns when every core is done, so the return is
 * also a barrier: data written by any core before it is visible to all afterwards.
 * Bodies split their work with tinytx_parallel_range() and write disjoint outputs;
 * they never call tinytx_parallel_for themselves.
 *
 * Ports (one is linked into each build; see docs/gap9.md):
 *   serial    kernels/src/parallel/tinytx_parallel_serial.c, the default of the plain
 *             CMake builds (host, Cortex-M, one-hart RV32): runs the n bodies one after
 *             the other on the calling core; n = 1 unless
 *             tinytx_parallel_serial_set_cores() chose more (tests and the unicorn
 *             benchmark emulate a cluster that way);
 *   rv32_smp  module/ports/baremetal/rv32_smp: the harts of QEMU virt -smp N;
 *   pmsis     module/ports/gap9: GAP9's cluster through PMSIS (not built in CI);
 *   zephyr    module/ports/zephyr.
 */
#ifndef TINYTX_PARALLEL_H
#define TINYTX_PARALLEL_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef void (*tinytx_parallel_body)(void *ctx, uint32_t core, uint32_t num_cores);

/* Runs body(ctx, core, n) on each of the n cores, returns when all are done. */
void tinytx_parallel_for(tinytx_parallel_body body, void *ctx);

/* n: the number of cores tinytx_parallel_for runs bodies on (>= 1). */
uint32_t tinytx_parallel_num_cores(void);

/*
 * Balanced split of `total` work items over `num_cores` cores: core gets [*begin, *end);
 * the first total % num_cores cores get one item more than the others.
 */
static inline void tinytx_parallel_range(uint32_t total, uint32_t core, uint32_t num_cores,
					 uint32_t *begin, uint32_t *end)
{
	const uint32_t base = total / num_cores, extra = total % num_cores;
	*begin = core * base + (core < extra ? core : extra);
	*end = *begin + base + (core < extra ? 1u : 0u);
}

/* The serial port only: emulate n cores (1..TINYTX_PARALLEL_SERIAL_MAX_CORES) in turn. */
#define TINYTX_PARALLEL_SERIAL_MAX_CORES 64u
int tinytx_parallel_serial_set_cores(uint32_t num_cores);

#ifdef __cplusplus
}
#endif

#endif /* TINYTX_PARALLEL_H */
