/*
 * tinytx_parallel_for on the harts of QEMU virt (tinytx_port/rv32_smp.h).
 *
 * Fork: hart 0 writes the job (body, ctx, n), a fence, then a new generation number,
 * a fence, and sets the CLINT msip of harts 1..n-1, which sleep in wfi. Each of them
 * clears its own msip, sees the new generation, runs body(ctx, hart, n), writes the
 * generation into its own done flag (fence before and after) and sets hart 0's msip.
 * Join (the barrier): hart 0 runs core 0's share, then clears its msip, checks the
 * done flags of harts 1..n-1 and sleeps in wfi until the next msip while one is
 * behind. Every shared word has a single writer and every hand-over is ordered by
 * fences, so no atomic instruction is needed (rv32imc has none). Sleeping harts cost
 * the emulator nothing, which keeps -smp 8 runs as fast as one hart's work allows.
 */
#include <stddef.h>
#include <stdint.h>

#include "tinytx/parallel.h"
#include "tinytx_port/rv32_smp.h"

#define CLINT_MSIP 0x02000000u
#define CLINT_MTIME 0x0200BFF8u
#define GO_MAGIC 0x54585356u /* "VSXT": read by the start code */
#define CHECK_IN_TICKS 100000000u /* 10 s of the 10 MHz mtime: a hart that never answers */
#define FDT_MAGIC 0xd00dfeedu
#define FDT_BEGIN_NODE 1u
#define FDT_END_NODE 2u
#define FDT_PROP 3u
#define FDT_NOP 4u
#define FDT_END 9u
#define FDT_MAX_BYTES 0x100000u

#if TINYTX_RV32_SMP_STACK % 16 != 0
#error "TINYTX_RV32_SMP_STACK must be a multiple of 16"
#endif

volatile uint32_t tinytx_rv32_smp_go;
const void *tinytx_rv32_smp_fdt;
uint8_t tinytx_rv32_smp_stacks[(TINYTX_RV32_SMP_MAX_HARTS - 1) * TINYTX_RV32_SMP_STACK]
	__attribute__((aligned(16)));

void tinytx_rv32_smp_worker(uint32_t hart) __attribute__((noreturn, used));

static struct {
	tinytx_parallel_body body;
	void *ctx;
	uint32_t n;
} job;
static volatile uint32_t generation;
static volatile uint32_t present[TINYTX_RV32_SMP_MAX_HARTS];
static volatile uint32_t done[TINYTX_RV32_SMP_MAX_HARTS];
static uint32_t available, active; /* hart 0 only; 0 until started */

static inline void fence(void)
{
	__asm__ volatile("fence rw, rw" ::: "memory");
}

static inline void wait_for_interrupt(void)
{
	__asm__ volatile("wfi" ::: "memory");
}

static inline void msip(uint32_t hart, uint32_t value)
{
	((volatile uint32_t *)CLINT_MSIP)[hart] = value;
}

static uint32_t mtime_low(void)
{
	return *(volatile uint32_t *)CLINT_MTIME;
}

void tinytx_rv32_smp_worker(uint32_t hart)
{
	present[hart] = 1u;
	fence();
	msip(0, 1u);
	uint32_t seen = 0;
	for (;;) {
		for (;;) {
			msip(hart, 0);
			fence();
			if (generation != seen) {
				break;
			}
			wait_for_interrupt();
		}
		seen = generation;
		fence();
		const uint32_t n = job.n;
		if (hart < n) {
			job.body(job.ctx, hart, n);
			fence();
			done[hart] = seen;
			fence();
			msip(0, 1u);
		}
	}
}

static uint32_t be32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/*
 * Harts of the machine: the nodes named cpu@<n> under /cpus of the flattened device
 * tree QEMU passes at reset (format: devicetree.org specification, "Flattened
 * Devicetree (DTB) Format"). 0 when there is no valid tree.
 */
static uint32_t fdt_count_cpus(const uint8_t *fdt)
{
	if (fdt == NULL || be32(fdt) != FDT_MAGIC || be32(fdt + 4) > FDT_MAX_BYTES) {
		return 0;
	}
	const uint8_t *p = fdt + be32(fdt + 8), *end = fdt + be32(fdt + 4);
	uint32_t depth = 0, cpus = 0, in_cpus = 0;
	while (p + 4 <= end) {
		const uint32_t token = be32(p);
		p += 4;
		if (token == FDT_BEGIN_NODE) {
			const char *name = (const char *)p;
			uint32_t len = 0;
			while (p + len < end && name[len] != '\0') {
				len++;
			}
			depth++;
			if (depth == 2 && len == 4 && name[0] == 'c' && name[1] == 'p' &&
			    name[2] == 'u' && name[3] == 's') {
				in_cpus = 1;
			} else if (depth == 3 && in_cpus && len > 4 && name[0] == 'c' &&
				   name[1] == 'p' && name[2] == 'u' && name[3] == '@') {
				cpus++;
			}
			p += (len + 4u) & ~3u; /* the name, its NUL, padding to 4 */
		} else if (token == FDT_END_NODE) {
			if (depth == 2) {
				in_cpus = 0;
			}
			depth = depth > 0 ? depth - 1 : 0;
		} else if (token == FDT_PROP) {
			if (p + 8 > end) {
				return 0;
			}
			p += 8 + ((be32(p) + 3u) & ~3u); /* len, nameoff, value padded to 4 */
		} else if (token == FDT_END) {
			return cpus;
		} else if (token != FDT_NOP) {
			return 0;
		}
	}
	return 0;
}

/*
 * Once, on first use: wakes the secondary harts and waits until each hart the device
 * tree lists (at most TINYTX_RV32_SMP_MAX_HARTS) has checked in. Without a device tree
 * it waits for all TINYTX_RV32_SMP_MAX_HARTS; a hart silent for 10 s is left out.
 */
static void start(void)
{
	if (available != 0) {
		return;
	}
	uint32_t want = fdt_count_cpus((const uint8_t *)tinytx_rv32_smp_fdt);
	if (want == 0 || want > TINYTX_RV32_SMP_MAX_HARTS) {
		want = TINYTX_RV32_SMP_MAX_HARTS;
	}
	fence();
	tinytx_rv32_smp_go = GO_MAGIC;
	fence();
	for (uint32_t h = 1; h < want; h++) {
		msip(h, 1u);
	}
	const uint32_t t0 = mtime_low();
	uint32_t count = 1;
	while (count < want && mtime_low() - t0 < CHECK_IN_TICKS) {
		fence();
		count = 1;
		while (count < want && present[count] != 0u) {
			count++;
		}
	}
	msip(0, 0);
	available = count;
	active = count;
}

uint32_t tinytx_rv32_smp_available_harts(void)
{
	start();
	return available;
}

int tinytx_rv32_smp_set_harts(uint32_t n)
{
	start();
	if (n < 1u || n > available) {
		return -1;
	}
	active = n;
	return 0;
}

uint32_t tinytx_parallel_num_cores(void)
{
	start();
	return active;
}

void tinytx_parallel_for(tinytx_parallel_body body, void *ctx)
{
	const uint32_t n = tinytx_parallel_num_cores();
	if (n == 1u) {
		body(ctx, 0, 1u);
		return;
	}
	job.body = body;
	job.ctx = ctx;
	job.n = n;
	fence();
	const uint32_t gen = generation + 1u;
	generation = gen;
	fence();
	for (uint32_t h = 1; h < n; h++) {
		msip(h, 1u);
	}
	body(ctx, 0, n);
	for (;;) {
		msip(0, 0);
		fence();
		uint32_t h = 1;
		while (h < n && done[h] == gen) {
			h++;
		}
		if (h == n) {
			break;
		}
		wait_for_interrupt();
	}
	fence();
}
