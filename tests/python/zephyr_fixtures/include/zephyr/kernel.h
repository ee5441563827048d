/*
 * Stand-in for <zephyr/kernel.h> in tinytx's CI: the kernel API the Zephyr port uses,
 * with the signatures of Zephyr v4.2.0 (include/zephyr/kernel.h), implemented on POSIX
 * threads by ../../src/kernel_shim.c so that the port runs on the host. Pinning and
 * start order are recorded for the test (stub_* functions at the end).
 */
#ifndef TINYTX_STUB_ZEPHYR_KERNEL_H
#define TINYTX_STUB_ZEPHYR_KERNEL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <zephyr/sys/printk.h>

#define ARG_UNUSED(x) (void)(x)

typedef struct {
	int64_t ticks;
} k_timeout_t;
#define K_FOREVER ((k_timeout_t){-1})
#define K_NO_WAIT ((k_timeout_t){0})

typedef void (*k_thread_entry_t)(void *p1, void *p2, void *p3);

struct k_thread {
	pthread_t pthread;
	k_thread_entry_t entry;
	void *p1, *p2, *p3;
	int cpu;
	int started;
};
typedef struct k_thread *k_tid_t;

typedef struct {
	unsigned char data;
} k_thread_stack_t;
#define K_THREAD_STACK_ARRAY_DEFINE(sym, nmemb, size) k_thread_stack_t sym[nmemb][size]
#define K_THREAD_STACK_SIZEOF(sym) sizeof(sym)
#define K_PRIO_PREEMPT(x) (x)

k_tid_t k_thread_create(struct k_thread *new_thread, k_thread_stack_t *stack, size_t stack_size,
			k_thread_entry_t entry, void *p1, void *p2, void *p3, int prio,
			uint32_t options, k_timeout_t delay);
void k_thread_start(k_tid_t thread);
int k_thread_cpu_pin(k_tid_t thread, int cpu);

struct k_sem {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned int count, limit;
};
int k_sem_init(struct k_sem *sem, unsigned int initial_count, unsigned int limit);
int k_sem_take(struct k_sem *sem, k_timeout_t timeout);
void k_sem_give(struct k_sem *sem);

struct k_mutex {
	pthread_mutex_t lock;
};
#define K_MUTEX_DEFINE(name) struct k_mutex name = {PTHREAD_MUTEX_INITIALIZER}
int k_mutex_lock(struct k_mutex *mutex, k_timeout_t timeout);
int k_mutex_unlock(struct k_mutex *mutex);

uint32_t k_cycle_get_32(void);
int sys_clock_hw_cycles_per_sec(void);

/* Test access to what the stand-in recorded. */
int stub_threads_created(void);
int stub_thread_cpu(int index); /* CPU of the index-th created thread, -1 if not pinned */
int stub_pinned_after_start(void); /* 1 if k_thread_cpu_pin came after k_thread_start */

#endif /* TINYTX_STUB_ZEPHYR_KERNEL_H */
