/*
 * GAP9 (PMSIS) port of tinytx/parallel.h. NOT BUILT IN CI: written against the PMSIS
 * API of the GAP9 SDK (pi_cluster_*, pi_cl_team_fork, pi_cl_team_barrier, pi_core_id,
 * pi_perf_*); build it with that SDK (module/ports/gap9/gap9.mk, docs/gap9.md).
 */
#include <stdint.h>
#include <string.h>

#include "pmsis.h"
#include "tinytx/parallel.h"
#include "tinytx_port/gap9.h"

#ifndef TINYTX_GAP9_PERF
#define TINYTX_GAP9_PERF 0
#endif

static struct pi_device cluster_dev;
static uint32_t team_cores = TINYTX_GAP9_MAX_CORES;
static tinytx_gap9_perf perf; /* in L2, each core writes its own entries */

typedef struct {
	tinytx_parallel_body body;
	void *ctx;
	uint32_t n;
} team_job;

int tinytx_gap9_cluster_open(void)
{
	struct pi_cluster_conf conf;
	pi_cluster_conf_init(&conf);
	pi_open_from_conf(&cluster_dev, &conf);
	return pi_cluster_open(&cluster_dev);
}

int tinytx_gap9_cluster_run(void (*entry)(void *), void *arg)
{
	struct pi_cluster_task task;
	pi_cluster_task(&task, entry, arg);
	pi_cluster_task_stacks(&task, NULL, TINYTX_GAP9_WORKER_STACK);
	task.stack_size = TINYTX_GAP9_STACK;
	return pi_cluster_send_task_to_cl(&cluster_dev, &task);
}

void tinytx_gap9_cluster_close(void)
{
	pi_cluster_close(&cluster_dev);
}

int tinytx_gap9_set_cores(uint32_t n)
{
	if (n < 1u || n > (uint32_t)TINYTX_GAP9_MAX_CORES) {
		return -1;
	}
	team_cores = n;
	return 0;
}

void tinytx_gap9_barrier(void)
{
	pi_cl_team_barrier();
}

void tinytx_gap9_perf_reset(void)
{
	memset(&perf, 0, sizeof(perf));
}

const tinytx_gap9_perf *tinytx_gap9_perf_get(void)
{
	return &perf;
}

/* Runs on every core of the team; the core number is the cluster core id (0..n-1). */
static void team_entry(void *arg)
{
	const team_job *job = (const team_job *)arg;
	const uint32_t core = (uint32_t)pi_core_id();
#if TINYTX_GAP9_PERF
	pi_perf_conf((1 << PI_PERF_CYCLES) | (1 << PI_PERF_INSTR));
	pi_perf_reset();
	pi_perf_start();
#endif
	job->body(job->ctx, core, job->n);
#if TINYTX_GAP9_PERF
	pi_perf_stop();
	if (core < (uint32_t)TINYTX_GAP9_MAX_CORES) {
		perf.cycles[core] += (uint32_t)pi_perf_read(PI_PERF_CYCLES);
		perf.instructions[core] += (uint32_t)pi_perf_read(PI_PERF_INSTR);
	}
#endif
}

uint32_t tinytx_parallel_num_cores(void)
{
	return team_cores;
}

void tinytx_parallel_for(tinytx_parallel_body body, void *ctx)
{
	team_job job = {body, ctx, team_cores}; /* on the master's stack, in L1 */
	/* Dispatches team_entry to the team and returns after the team's barrier. */
	pi_cl_team_fork((int)team_cores, team_entry, &job);
}
