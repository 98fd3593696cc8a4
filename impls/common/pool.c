/* pool.c — the start/finish barrier behind pool.h: a generation counter wakes the workers
 * (so a spurious wake-up or a late worker never runs a job twice or misses one), a pending
 * count tells the caller when all finished. Both sides spin a while before they sleep on
 * a mutex and two condition variables. */
#include "pool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define RELAX() _mm_pause()
#else
#define RELAX() ((void)0)
#endif

/* Why spin: a job of 100 us (rvq.decode's gather-add, a short STFT) handed over through
 * the condition variables alone came out slower on 2 lanes than on 1 (139 vs 114 us on
 * the 2-core VM): waking a sleeping thread, and through it a halted vCPU, cost tens of
 * microseconds twice per job. So a worker polls the counter for this many pauses (some
 * 0.2 ms at a pause of ~65 cycles, as on this AMD EPYC; twice that where a pause costs
 * ~140, as on recent Intel) after each job before it sleeps, and the caller polls the pending
 * count as long before it does, as OpenMP runtimes do. Only where every lane has a CPU of
 * its own: oversubscribed, a spinner would take the time of the thread it waits for. */
#define SPINS 8192

enum { JOB_QUIT = -1 };

typedef struct lane {
    cpu_pool *p;
    int id;
    pthread_t tid;
} lane;

struct cpu_pool {
    cpu_pool_fn fn;
    void *ctx;
    pthread_mutex_t mu;
    pthread_cond_t go, done;
    int job;                  /* written before gen is bumped, read after it is seen */
    atomic_ulong gen;         /* bumped per job (under mu); a worker runs on a new value */
    atomic_int pending;       /* workers still busy with the current job */
    int nthreads;             /* started: lanes 1..nthreads */
    int spins;                /* SPINS, or 0 when the lanes outnumber the CPUs */
    int sync;                 /* mu, go and done initialised */
    lane *lanes;              /* nlanes; lane 0 is the caller's and has no thread */
};

static unsigned long wait_gen(cpu_pool *p, unsigned long seen)
{
    unsigned long g = atomic_load_explicit(&p->gen, memory_order_acquire);
    for (int i = 0; g == seen && i < p->spins; i++) {
        RELAX();
        g = atomic_load_explicit(&p->gen, memory_order_acquire);
    }
    if (g != seen)
        return g;
    pthread_mutex_lock(&p->mu);
    while ((g = atomic_load_explicit(&p->gen, memory_order_acquire)) == seen)
        pthread_cond_wait(&p->go, &p->mu);
    pthread_mutex_unlock(&p->mu);
    return g;
}

static void *worker_main(void *arg)
{
    lane *ln = arg;
    cpu_pool *p = ln->p;
    unsigned long seen = 0;
    for (;;) {
        seen = wait_gen(p, seen);
        int job = p->job;
        if (job == JOB_QUIT)
            return NULL;
        p->fn(p->ctx, job, ln->id);
        /* the last one out signals under mu: the caller checks pending under mu before it
         * sleeps, so the signal cannot fall between its check and its wait */
        if (atomic_fetch_sub_explicit(&p->pending, 1, memory_order_acq_rel) == 1) {
            pthread_mutex_lock(&p->mu);
            pthread_cond_signal(&p->done);
            pthread_mutex_unlock(&p->mu);
        }
    }
}

static void post(cpu_pool *p, int job)
{
    p->job = job;
    atomic_store_explicit(&p->pending, job == JOB_QUIT ? 0 : p->nthreads, memory_order_relaxed);
    pthread_mutex_lock(&p->mu);
    atomic_fetch_add_explicit(&p->gen, 1, memory_order_release);
    pthread_cond_broadcast(&p->go);
    pthread_mutex_unlock(&p->mu);
}

void cpu_pool_run(cpu_pool *p, int job)
{
    if (p->nthreads == 0) {
        p->fn(p->ctx, job, 0);
        return;
    }
    post(p, job);
    p->fn(p->ctx, job, 0);
    for (int i = 0; i < p->spins; i++) {
        if (atomic_load_explicit(&p->pending, memory_order_acquire) == 0)
            return;
        RELAX();
    }
    pthread_mutex_lock(&p->mu);
    while (atomic_load_explicit(&p->pending, memory_order_acquire) > 0)
        pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
}

void cpu_pool_free(cpu_pool *p)
{
    if (!p)
        return;
    if (p->nthreads > 0) {
        post(p, JOB_QUIT);
        for (int i = 1; i <= p->nthreads; i++)
            pthread_join(p->lanes[i].tid, NULL);
    }
    if (p->sync) {
        pthread_mutex_destroy(&p->mu);
        pthread_cond_destroy(&p->go);
        pthread_cond_destroy(&p->done);
    }
    free(p->lanes);
    free(p);
}

/* Each primitive is destroyed here if a later one fails: free() only knows them once all
 * three exist. */
static int init_sync(cpu_pool *p)
{
    if (pthread_mutex_init(&p->mu, NULL))
        return -1;
    if (pthread_cond_init(&p->go, NULL)) {
        pthread_mutex_destroy(&p->mu);
        return -1;
    }
    if (pthread_cond_init(&p->done, NULL)) {
        pthread_cond_destroy(&p->go);
        pthread_mutex_destroy(&p->mu);
        return -1;
    }
    p->sync = 1;
    return 0;
}

int cpu_pool_new(int nlanes, cpu_pool_fn fn, void *ctx, const char *who, cpu_pool **out,
                 sono_error *err)
{
    *out = NULL;
    if (nlanes < 1)
        return sono_fail(err, SONO_EINVAL, "%s: a pool needs at least one lane, got %d", who,
                         nlanes);
    cpu_pool *p = calloc(1, sizeof *p);
    if (!p || !(p->lanes = calloc((size_t)nlanes, sizeof *p->lanes))) {
        free(p);
        return sono_fail(err, SONO_ENOMEM, "%s: no memory for a pool of %d lanes", who, nlanes);
    }
    p->fn = fn;
    p->ctx = ctx;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    p->spins = cpus > 0 && nlanes <= cpus ? SPINS : 0;
    if (nlanes > 1 && init_sync(p)) {
        cpu_pool_free(p);
        return sono_fail(err, SONO_ENOMEM, "%s: cannot set up a pool of %d threads", who,
                         nlanes);
    }
    for (int i = 1; i < nlanes; i++) {
        p->lanes[i] = (lane){.p = p, .id = i};
        int rc = pthread_create(&p->lanes[i].tid, NULL, worker_main, &p->lanes[i]);
        if (rc != 0) {
            cpu_pool_free(p); /* joins the i - 1 started */
            return sono_fail(err, SONO_EDEVICE, "%s: pthread_create failed for thread %d of "
                             "%d: %s", who, i + 1, nlanes, strerror(rc));
        }
        p->nthreads = i;
    }
    *out = p;
    return 0;
}

int cpu_pool_threads(const cpu_pool *p)
{
    return p ? p->nthreads : 0;
}

size_t cpu_pool_bytes(const cpu_pool *p)
{
    return p ? sizeof *p + (size_t)(p->nthreads + 1) * sizeof(lane) : 0;
}
