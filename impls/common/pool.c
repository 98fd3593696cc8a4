/* pool.c — the start/finish barrier behind pool.h: one mutex and two condition variables.
 * A generation counter wakes the workers (so a spurious wake-up or a late worker never
 * runs a job twice or misses one), a pending count tells the caller when all finished. */
#include "pool.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

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
    int job;
    unsigned long gen; /* bumped per job; a worker runs when it sees a new value */
    int pending;       /* workers still busy with the current job */
    int nthreads;      /* started: lanes 1..nthreads */
    int sync;          /* mu, go and done initialised */
    lane *lanes;       /* nlanes; lane 0 is the caller's and has no thread */
};

static void *worker_main(void *arg)
{
    lane *ln = arg;
    cpu_pool *p = ln->p;
    unsigned long seen = 0;
    for (;;) {
        pthread_mutex_lock(&p->mu);
        while (p->gen == seen)
            pthread_cond_wait(&p->go, &p->mu);
        seen = p->gen;
        int job = p->job;
        pthread_mutex_unlock(&p->mu);
        if (job == JOB_QUIT)
            return NULL;
        p->fn(p->ctx, job, ln->id);
        pthread_mutex_lock(&p->mu);
        if (--p->pending == 0)
            pthread_cond_signal(&p->done);
        pthread_mutex_unlock(&p->mu);
    }
}

static void post(cpu_pool *p, int job)
{
    pthread_mutex_lock(&p->mu);
    p->job = job;
    p->pending = job == JOB_QUIT ? 0 : p->nthreads;
    p->gen++;
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
    pthread_mutex_lock(&p->mu);
    while (p->pending > 0)
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
