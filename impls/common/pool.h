/* pool.h — the CPU impls' persistent pthread pool: threads start in setup and wait; each
 * pool_run hands every lane the same job and returns when all are done, the caller working
 * as lane 0, so one lane needs no thread and no lock. Used by triad, cpu/fast, blas/hifigan. */
#ifndef CPU_POOL_H
#define CPU_POOL_H

#include <stddef.h>

#include "sono.h"

typedef struct cpu_pool cpu_pool;

/* Runs job on lane (0..nlanes-1); ctx is the impl's state. */
typedef void (*cpu_pool_fn)(void *ctx, int job, int lane);

/* nlanes >= 1 lanes, nlanes - 1 threads. On failure no thread is left running, *out is
 * NULL and err names who and what failed. */
int cpu_pool_new(int nlanes, cpu_pool_fn fn, void *ctx, const char *who, cpu_pool **out,
                 sono_error *err);

/* fn(ctx, job, lane) on every lane at once; returns when every lane has returned. job must
 * be >= 0 (negative values are the pool's own). */
void cpu_pool_run(cpu_pool *p, int job);

/* Threads started (nlanes - 1 once running) and the pool's own bytes, for describe and
 * workspace. */
int cpu_pool_threads(const cpu_pool *p);
size_t cpu_pool_bytes(const cpu_pool *p);

/* Stops and joins the threads; NULL is fine. */
void cpu_pool_free(cpu_pool *p);

#endif
