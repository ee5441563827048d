/*
 * The samples' port layer: console output, the arena's placement and an optional cycle
 * counter. Bare metal (the emulated profiles, picolibc + semihosting): printf, a
 * .bss.tinytx_arena section, no counter (QEMU models no cycles; `tinytx run` counts
 * instructions with unicorn instead). Zephyr: the tinytx Zephyr port
 * (tinytx_port/zephyr.h): printk, CONFIG_TINYTX_ARENA_PLACEMENT and, with
 * CONFIG_TINYTX_PROFILING, its cycle counter.
 */
#ifndef TINYTX_SAMPLE_PORT_H
#define TINYTX_SAMPLE_PORT_H

#include <stdint.h>

#if defined(__ZEPHYR__)
#include "tinytx_port/zephyr.h"
#define TINYTX_SAMPLE_PRINTF TINYTX_PORT_PRINTF
#define TINYTX_SAMPLE_ARENA_ATTR TINYTX_PORT_ARENA_ATTR
#if defined(CONFIG_TINYTX_PROFILING)
#define TINYTX_SAMPLE_HAS_CYCLES 1
#define TINYTX_SAMPLE_CYCLES_INIT() tinytx_port_cycles_init()
#define TINYTX_SAMPLE_CYCLES() tinytx_port_cycles()
#define TINYTX_SAMPLE_CYCLES_SOURCE() tinytx_port_cycles_source()
#endif
#else
#include <stdio.h>
#define TINYTX_SAMPLE_PRINTF printf
#define TINYTX_SAMPLE_ARENA_ATTR __attribute__((aligned(4), section(".bss.tinytx_arena")))
#endif

#ifndef TINYTX_SAMPLE_HAS_CYCLES
#define TINYTX_SAMPLE_HAS_CYCLES 0
#define TINYTX_SAMPLE_CYCLES_INIT() ((void)0)
#define TINYTX_SAMPLE_CYCLES() 0u
#define TINYTX_SAMPLE_CYCLES_SOURCE() "none"
#endif

#endif /* TINYTX_SAMPLE_PORT_H */
