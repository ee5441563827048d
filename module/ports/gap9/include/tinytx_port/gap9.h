/*
 * GAP9 port of tinytx/parallel.h through GreenWaves' PMSIS cluster runtime.
 * NOT BUILT IN CI: it needs the GAP9 SDK (pmsis.h and its PULP GCC); see docs/gap9.md.
 *
 * The fabric controller (FC) opens the cluster and sends it a task
 * (tinytx_gap9_cluster_run); inside that task the kernels' tinytx_parallel_for forks
 * the team of cluster cores (pi_cl_team_fork), each core runs body(ctx, pi_core_id(), n),
 * and the fork returns after the team barrier. With TINYTX_GAP9_PERF=1 every core
 * counts its own cycles and instructions around its bodies (pi_perf_*).
 */
#ifndef TINYTX_PORT_GAP9_H
#define TINYTX_PORT_GAP9_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TINYTX_GAP9_MAX_CORES 8
#ifndef TINYTX_GAP9_STACK
#define TINYTX_GAP9_STACK 2048 /* bytes of stack of the master core (L1) */
#endif
#ifndef TINYTX_GAP9_WORKER_STACK
#define TINYTX_GAP9_WORKER_STACK 1024 /* bytes of stack of each worker core (L1) */
#endif

/* FC side: switch the cluster on (0, or the PMSIS error). */
int tinytx_gap9_cluster_open(void);
/* FC side: run entry(arg) on the cluster's master core and wait for it. */
int tinytx_gap9_cluster_run(void (*entry)(void *), void *arg);
/* FC side: switch the cluster off. */
void tinytx_gap9_cluster_close(void);

/* Cores tinytx_parallel_for forks (1..8, default 8); -1 when out of range. */
int tinytx_gap9_set_cores(uint32_t n);

/* A barrier of the cores of the current team (for bodies that need one). */
void tinytx_gap9_barrier(void);

/* Per-core counters summed over the bodies run since the last reset (TINYTX_GAP9_PERF=1). */
typedef struct {
	uint32_t cycles[TINYTX_GAP9_MAX_CORES];
	uint32_t instructions[TINYTX_GAP9_MAX_CORES];
} tinytx_gap9_perf;

void tinytx_gap9_perf_reset(void);
const tinytx_gap9_perf *tinytx_gap9_perf_get(void);

#ifdef __cplusplus
}
#endif

#endif /* TINYTX_PORT_GAP9_H */
