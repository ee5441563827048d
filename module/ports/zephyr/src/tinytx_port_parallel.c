/*
 * Zephyr port of tinytx/parallel.h.
 *
 * CONFIG_TINYTX_NUM_CORES = 1: tinytx_parallel_for runs body(ctx, 0, 1) on the calling
 * thread.
 *
 * CONFIG_TINYTX_NUM_CORES = n > 1 (SMP kernels): n - 1 worker threads, created at the
 * first call and pinned to CPUs 1 .. n-1 when CONFIG_SCHED_CPU_MASK is enabled. A call
 * hands the body to every worker (one semaphore each), runs core 0's share on the
 * calling thread, then takes the shared "done" semaphore n - 1 times: the return is
 * the barrier parallel.h promises (the semaphores order the memory accesses). One
 * parallel region runs at a time (a mutex), so several application threads may call
 * it; bodies never call it themselves.
 */
#include <stdbool.h>
#include <stdint.h>

#include <zephyr/kernel.h>

#include "tinytx/parallel.h"

#define TINYTX_CORES ((uint32_t)CONFIG_TINYTX_NUM_CORES)

uint32_t tinytx_parallel_num_cores(void)
{
	return TINYTX_CORES;
}

#if CONFIG_TINYTX_NUM_CORES == 1

void tinytx_parallel_for(tinytx_parallel_body body, void *ctx)
{
	body(ctx, 0u, 1u);
}

#else /* CONFIG_TINYTX_NUM_CORES > 1 */

#define TINYTX_WORKERS (CONFIG_TINYTX_NUM_CORES - 1)

K_THREAD_STACK_ARRAY_DEFINE(tinytx_worker_stacks, TINYTX_WORKERS, CONFIG_TINYTX_WORKER_STACK_SIZE);
K_MUTEX_DEFINE(tinytx_parallel_lock);

static struct k_thread worker_threads[TINYTX_WORKERS];
static struct k_sem worker_go[TINYTX_WORKERS];
static struct k_sem workers_done;
static bool workers_started;

/* The region being run; written under tinytx_parallel_lock before the workers wake. */
static tinytx_parallel_body region_body;
static void *region_ctx;

static void worker_main(void *p1, void *p2, void *p3)
{
	const uint32_t core = (uint32_t)(uintptr_t)p1;

	ARG_UNUSED(p2);
	ARG_UNUSED(p3);
	for (;;) {
		k_sem_take(&worker_go[core - 1u], K_FOREVER);
		region_body(region_ctx, core, TINYTX_CORES);
		k_sem_give(&workers_done);
	}
}

static void start_workers(void)
{
	k_sem_init(&workers_done, 0, TINYTX_WORKERS);
	for (int i = 0; i < TINYTX_WORKERS; i++) {
		k_sem_init(&worker_go[i], 0, 1);
		k_tid_t tid = k_thread_create(&worker_threads[i], tinytx_worker_stacks[i],
					      K_THREAD_STACK_SIZEOF(tinytx_worker_stacks[i]),
					      worker_main, (void *)(uintptr_t)(i + 1), NULL, NULL,
					      K_PRIO_PREEMPT(CONFIG_TINYTX_WORKER_PRIORITY), 0,
					      K_FOREVER);
#if defined(CONFIG_SCHED_CPU_MASK)
		/* Before the thread starts: worker i serves core i + 1 on CPU i + 1. */
		k_thread_cpu_pin(tid, i + 1);
#endif
		k_thread_start(tid);
	}
	workers_started = true;
}

void tinytx_parallel_for(tinytx_parallel_body body, void *ctx)
{
	k_mutex_lock(&tinytx_parallel_lock, K_FOREVER);
	if (!workers_started) {
		start_workers();
	}
	region_body = body;
	region_ctx = ctx;
	for (int i = 0; i < TINYTX_WORKERS; i++) {
		k_sem_give(&worker_go[i]);
	}
	body(ctx, 0u, TINYTX_CORES);
	for (int i = 0; i < TINYTX_WORKERS; i++) {
		k_sem_take(&workers_done, K_FOREVER);
	}
	k_mutex_unlock(&tinytx_parallel_lock);
}

#endif /* CONFIG_TINYTX_NUM_CORES */
