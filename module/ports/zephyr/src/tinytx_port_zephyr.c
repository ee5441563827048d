/*
 * Zephyr port: the port's activation arena and the cycle counter
 * (include/tinytx_port/zephyr.h).
 */
#include <stdbool.h>
#include <stdint.h>

#include <zephyr/kernel.h>

#include "tinytx_port/zephyr.h"

#if defined(CONFIG_TINYTX_WEIGHTS_PARTITION)
/*
 * The weights are read in place through the CPU's address map: the partition must be
 * on memory-mapped internal flash (a soc-nv-flash node), the only kind whose partitions
 * DT_FIXED_PARTITION_ADDR gives a CPU address for.
 */
BUILD_ASSERT(DT_NODE_EXISTS(DT_MEM_FROM_FIXED_PARTITION(TINYTX_PORT_WEIGHTS_NODE)),
	     "tinytx_weights_partition is not a partition of memory-mapped (soc-nv-flash) flash");
#endif

#if CONFIG_TINYTX_ARENA_SIZE > 0
uint8_t tinytx_port_arena[CONFIG_TINYTX_ARENA_SIZE] TINYTX_PORT_ARENA_ATTR;
#endif

#if defined(CONFIG_TINYTX_CYCLES_DWT)
#include <zephyr/timing/timing.h>

/*
 * The timing API reads the DWT cycle counter on Cortex-M (CONFIG_CORTEX_M_DWT):
 * CYCCNT is 32 bits wide, so the low word of the counter is the whole counter.
 */
static bool cycles_started;

void tinytx_port_cycles_init(void)
{
	if (!cycles_started) {
		timing_init();
		timing_start();
		cycles_started = true;
	}
}

uint32_t tinytx_port_cycles(void)
{
	return (uint32_t)timing_counter_get();
}

uint32_t tinytx_port_cycles_hz(void)
{
	return (uint32_t)timing_freq_get();
}

const char *tinytx_port_cycles_source(void)
{
	return "DWT";
}

#elif defined(CONFIG_TINYTX_CYCLES_KERNEL)

void tinytx_port_cycles_init(void)
{
}

uint32_t tinytx_port_cycles(void)
{
	return k_cycle_get_32();
}

uint32_t tinytx_port_cycles_hz(void)
{
	return (uint32_t)sys_clock_hw_cycles_per_sec();
}

const char *tinytx_port_cycles_source(void)
{
	return "k_cycle_get_32";
}

#endif /* CONFIG_TINYTX_CYCLES_* */
