/*
 * Runs module/ports/zephyr on the host over the kernel stand-in (POSIX threads), for
 * tests/python/test_zephyr_port.py: the CONFIG_* values come from the compiler's -D
 * options. Prints "PORT OK cores=<n>" and exits 0 when every check holds.
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <zephyr/kernel.h>

#include "tinytx/parallel.h"
#include "tinytx_port/zephyr.h"

#define ITEMS 1000u
#define MAX_CORES 16u

struct job {
	uint32_t total;
	uint32_t calls[MAX_CORES];	  /* body calls per core id */
	uint32_t bad_num_cores;		  /* calls whose num_cores differed */
	unsigned char covered[ITEMS];	  /* items each call claimed */
};

static void body(void *ctx, uint32_t core, uint32_t num_cores)
{
	struct job *job = ctx;
	uint32_t begin, end;

	if (num_cores != tinytx_parallel_num_cores() || core >= MAX_CORES) {
		job->bad_num_cores++;
		return;
	}
	job->calls[core]++;
	tinytx_parallel_range(job->total, core, num_cores, &begin, &end);
	for (uint32_t i = begin; i < end; i++) {
		job->covered[i]++;
	}
}

/* One region: every core called once, every item covered once, seen after the return. */
static int check_region(uint32_t total)
{
	static struct job job;
	const uint32_t n = tinytx_parallel_num_cores();

	memset(&job, 0, sizeof(job));
	job.total = total;
	tinytx_parallel_for(body, &job);
	if (job.bad_num_cores != 0) {
		printf("FAIL: a body saw num_cores != %u\n", (unsigned)n);
		return 1;
	}
	for (uint32_t c = 0; c < MAX_CORES; c++) {
		if (job.calls[c] != (c < n ? 1u : 0u)) {
			printf("FAIL: core %u ran %u times (total %u)\n", (unsigned)c,
			       (unsigned)job.calls[c], (unsigned)total);
			return 1;
		}
	}
	for (uint32_t i = 0; i < total; i++) {
		if (job.covered[i] != 1) {
			printf("FAIL: item %u covered %u times (total %u)\n", (unsigned)i,
			       (unsigned)job.covered[i], (unsigned)total);
			return 1;
		}
	}
	return 0;
}

/* Two threads calling tinytx_parallel_for at once: each region stays whole. */
struct caller {
	struct job job;
	int failed;
};

static void *caller_main(void *arg)
{
	struct caller *c = arg;

	for (int round = 0; round < 200; round++) {
		memset(&c->job, 0, sizeof(c->job));
		c->job.total = ITEMS;
		tinytx_parallel_for(body, &c->job);
		for (uint32_t i = 0; i < ITEMS; i++) {
			c->failed |= c->job.covered[i] != 1;
		}
	}
	return NULL;
}

int main(void)
{
	const uint32_t n = tinytx_parallel_num_cores();

	if (n != (uint32_t)CONFIG_TINYTX_NUM_CORES) {
		printf("FAIL: tinytx_parallel_num_cores() = %u\n", (unsigned)n);
		return 1;
	}
	for (uint32_t total = 0; total < 300; total++) {
		if (check_region(total)) {
			return 1;
		}
	}
	static struct caller a, b;
	pthread_t ta, tb;

	pthread_create(&ta, NULL, caller_main, &a);
	pthread_create(&tb, NULL, caller_main, &b);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	if (a.failed || b.failed) {
		printf("FAIL: concurrent regions mixed their work\n");
		return 1;
	}
	if (stub_threads_created() != (int)n - 1) {
		printf("FAIL: %d worker threads for %u cores\n", stub_threads_created(), (unsigned)n);
		return 1;
	}
#if defined(CONFIG_SCHED_CPU_MASK)
	for (int i = 0; i < (int)n - 1; i++) {
		if (stub_thread_cpu(i) != i + 1) {
			printf("FAIL: worker %d pinned to CPU %d\n", i, stub_thread_cpu(i));
			return 1;
		}
	}
#endif
	if (stub_pinned_after_start()) {
		printf("FAIL: a worker was pinned after it started\n");
		return 1;
	}
#if defined(CONFIG_TINYTX_PROFILING)
	tinytx_port_cycles_init();
	const uint32_t start = tinytx_port_cycles();
	volatile uint32_t spin = 0;

	while (tinytx_port_cycles() - start < 1000u) {
		spin++;
	}
	printf("cycles: counter %s at %lu Hz\n", tinytx_port_cycles_source(),
	       (unsigned long)tinytx_port_cycles_hz());
#endif
	printf("PORT OK cores=%u\n", (unsigned)n);
	return 0;
}
