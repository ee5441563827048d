/*
 * POSIX-thread implementation of the kernel stand-in (include/zephyr/kernel.h), for
 * running module/ports/zephyr on the host in tinytx's CI.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include <zephyr/kernel.h>
#include <zephyr/timing/timing.h>

#define STUB_MAX_THREADS 64

static struct k_thread *created[STUB_MAX_THREADS];
static int n_created;
static int pinned_after_start;

void printk(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
}

static void *thread_main(void *arg)
{
	struct k_thread *t = arg;

	t->entry(t->p1, t->p2, t->p3);
	return NULL;
}

k_tid_t k_thread_create(struct k_thread *new_thread, k_thread_stack_t *stack, size_t stack_size,
			k_thread_entry_t entry, void *p1, void *p2, void *p3, int prio,
			uint32_t options, k_timeout_t delay)
{
	(void)stack;
	(void)stack_size;
	(void)prio;
	(void)options;
	new_thread->entry = entry;
	new_thread->p1 = p1;
	new_thread->p2 = p2;
	new_thread->p3 = p3;
	new_thread->cpu = -1;
	new_thread->started = 0;
	if (n_created < STUB_MAX_THREADS) {
		created[n_created++] = new_thread;
	}
	if (delay.ticks != K_FOREVER.ticks) {
		k_thread_start(new_thread);
	}
	return new_thread;
}

void k_thread_start(k_tid_t thread)
{
	thread->started = 1;
	pthread_create(&thread->pthread, NULL, thread_main, thread);
	pthread_detach(thread->pthread);
}

int k_thread_cpu_pin(k_tid_t thread, int cpu)
{
	if (thread->started) {
		pinned_after_start = 1;
		return -22;
	}
	thread->cpu = cpu;
	return 0;
}

int k_sem_init(struct k_sem *sem, unsigned int initial_count, unsigned int limit)
{
	pthread_mutex_init(&sem->lock, NULL);
	pthread_cond_init(&sem->cond, NULL);
	sem->count = initial_count;
	sem->limit = limit;
	return 0;
}

int k_sem_take(struct k_sem *sem, k_timeout_t timeout)
{
	(void)timeout;
	pthread_mutex_lock(&sem->lock);
	while (sem->count == 0) {
		pthread_cond_wait(&sem->cond, &sem->lock);
	}
	sem->count--;
	pthread_mutex_unlock(&sem->lock);
	return 0;
}

void k_sem_give(struct k_sem *sem)
{
	pthread_mutex_lock(&sem->lock);
	if (sem->count < sem->limit) {
		sem->count++;
	}
	pthread_cond_signal(&sem->cond);
	pthread_mutex_unlock(&sem->lock);
}

int k_mutex_lock(struct k_mutex *mutex, k_timeout_t timeout)
{
	(void)timeout;
	return pthread_mutex_lock(&mutex->lock);
}

int k_mutex_unlock(struct k_mutex *mutex)
{
	return pthread_mutex_unlock(&mutex->lock);
}

/* Both counters tick in nanoseconds of the host's monotonic clock. */
static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint32_t k_cycle_get_32(void)
{
	return (uint32_t)now_ns();
}

int sys_clock_hw_cycles_per_sec(void)
{
	return 1000000000;
}

void timing_init(void)
{
}

void timing_start(void)
{
}

timing_t timing_counter_get(void)
{
	return now_ns();
}

uint64_t timing_freq_get(void)
{
	return 1000000000u;
}

int stub_threads_created(void)
{
	return n_created;
}

int stub_thread_cpu(int index)
{
	return index < n_created ? created[index]->cpu : -1;
}

int stub_pinned_after_start(void)
{
	return pinned_after_start;
}
