/* Stand-in for <zephyr/timing/timing.h> in tinytx's CI (Zephyr v4.2.0 signatures). */
#ifndef TINYTX_STUB_ZEPHYR_TIMING_H
#define TINYTX_STUB_ZEPHYR_TIMING_H

#include <stdint.h>

typedef uint64_t timing_t;
void timing_init(void);
void timing_start(void);
timing_t timing_counter_get(void);
uint64_t timing_freq_get(void);

#endif
