/*
 * The Zephyr runtime port of tinytx (module/ports/zephyr): console, cycle counter,
 * activation-arena placement and the weights partition, as configured by
 * module/Kconfig. The parallel split of tinytx/parallel.h is in
 * src/tinytx_port_parallel.c.
 *
 * An application that also builds without Zephyr (the bare-metal emulated profiles)
 * includes this header under #if defined(__ZEPHYR__); samples/mhsa_bench/src/main.c
 * shows the pattern.
 */
#ifndef TINYTX_PORT_ZEPHYR_H
#define TINYTX_PORT_ZEPHYR_H

#include <stdint.h>

#include <zephyr/devicetree.h>
#include <zephyr/sys/printk.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Console: printk, on the UART the board chooses as zephyr,console. */
#define TINYTX_PORT_PRINTF(...) printk(__VA_ARGS__)

/*
 * Placement of an activation arena (CONFIG_TINYTX_ARENA_PLACEMENT): put it on the
 * arena's definition, e.g. static uint8_t arena[N] TINYTX_PORT_ARENA_ATTR;
 * Both placements are zero-initialised at boot and 4-byte aligned.
 */
#if defined(CONFIG_TINYTX_ARENA_DTCM)
#include <zephyr/linker/section_tags.h>
#define TINYTX_PORT_ARENA_ATTR __dtcm_bss_section __attribute__((aligned(4)))
#define TINYTX_PORT_ARENA_MEMORY "DTCM"
#else
#define TINYTX_PORT_ARENA_ATTR __attribute__((section(".bss.tinytx_arena"), aligned(4)))
#define TINYTX_PORT_ARENA_MEMORY "SRAM"
#endif

#if defined(CONFIG_TINYTX_ARENA_SIZE) && CONFIG_TINYTX_ARENA_SIZE > 0
/* The port's own arena (CONFIG_TINYTX_ARENA_SIZE bytes). */
extern uint8_t tinytx_port_arena[CONFIG_TINYTX_ARENA_SIZE];
#endif

#if defined(CONFIG_TINYTX_PROFILING)
/*
 * Cycle counter (CONFIG_TINYTX_CYCLE_COUNTER): call tinytx_port_cycles_init() once,
 * then the difference of two tinytx_port_cycles() readings (modulo 2^32) is the
 * number of counter ticks between them.
 */
void tinytx_port_cycles_init(void);
uint32_t tinytx_port_cycles(void);
/* Ticks per second of the counter. */
uint32_t tinytx_port_cycles_hz(void);
/* What the counter counts: "DWT" (CPU cycles) or "k_cycle_get_32" (system timer). */
const char *tinytx_port_cycles_source(void);
#endif

/*
 * Weights partition (CONFIG_TINYTX_WEIGHTS_PARTITION): the fixed partition with node
 * label tinytx_weights_partition (boards/zephyr/<board>.overlay, added by the tinytx
 * snippet). Its CPU address is what Zephyr's devicetree API gives for a partition of
 * memory-mapped flash (DT_FIXED_PARTITION_ADDR, <zephyr/devicetree/fixed-partitions.h>),
 * so it follows however Zephyr maps partitions to addresses; the port checks at build
 * time that the partition is on such flash (tinytx_port_zephyr.c). The macros are the
 * ones the bare-metal build passes on the command line, so an application reads its
 * weight image the same way on both.
 */
#if defined(CONFIG_TINYTX_WEIGHTS_PARTITION)
#define TINYTX_PORT_WEIGHTS_NODE DT_NODELABEL(tinytx_weights_partition)
#define TINYTX_WEIGHTS_IMAGE 1
#define TINYTX_WEIGHTS_PARTITION_ADDR DT_FIXED_PARTITION_ADDR(TINYTX_PORT_WEIGHTS_NODE)
#define TINYTX_WEIGHTS_PARTITION_SIZE DT_REG_SIZE(TINYTX_PORT_WEIGHTS_NODE)
#endif

#ifdef __cplusplus
}
#endif

#endif /* TINYTX_PORT_ZEPHYR_H */
