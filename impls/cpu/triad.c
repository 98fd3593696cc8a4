/* triad.c — cpu/triad: STREAM's triad a = b + 3c on `threads` threads, each owning one
 * contiguous chunk. The threads are started in setup and kept in a pool for the case, so
 * run() pays one start/finish handshake, not thread creation; threads=1 uses no thread. */
#include <pthread.h>

#include "cpu_impls.h"

#define MAX_THREADS 256
#define CHUNK_ALIGN 16 /* floats: chunks start on 64-byte lines, so no line is shared */

enum { JOB_TOUCH, JOB_COPY, JOB_TRIAD, JOB_QUIT };

typedef struct triad triad;
typedef struct worker {
    triad *st;
    int id;
    pthread_t tid;
} worker;

struct triad {
    size_t n;
    int threads;
    float *a, *b, *c;   /* a: the output; b, c: own copies of the input rows */
    const float *src;   /* the input while JOB_COPY runs */
    /* The pool: a start/finish barrier built on a mutex and two condition variables
     * rather than pthread_barrier_t, so a failed pthread_create in setup can still
     * release the workers already started (a barrier would wait for the missing one). */
    pthread_mutex_t mu;
    pthread_cond_t go, done;
    int job;
    unsigned long gen; /* bumped per job; a worker runs when it sees a new value */
    int pending;       /* workers still busy with the current job */
    int nworkers;      /* started: ids 1..nworkers; the caller of run() is id 0 */
    int pool;          /* mu, go, done initialised */
    worker *w;
};

int triad_supports(const void *ctx, const sono_params *p, char *why, size_t n)
{
    long long len = sono_param_int(p, "n", 0);
    long long threads = sono_param_int(p, "threads", 1);

    (void)ctx;
    if (len < 1 || len > (1LL << 36)) {
        snprintf(why, n, "n=%lld must be in [1, 2^36]", len);
        return SONO_EUNSUPPORTED;
    }
    if (threads < 1 || threads > MAX_THREADS) {
        snprintf(why, n, "threads=%lld must be in [1, %d]", threads, MAX_THREADS);
        return SONO_EUNSUPPORTED;
    }
    return 0;
}

/* Thread id's chunk [lo, hi): equal shares, inner bounds rounded down to CHUNK_ALIGN. */
static void chunk(const triad *st, int id, size_t *lo, size_t *hi)
{
    size_t t = (size_t)st->threads;
    *lo = id == 0 ? 0 : st->n * (size_t)id / t / CHUNK_ALIGN * CHUNK_ALIGN;
    *hi = (size_t)id + 1 == t ? st->n : st->n * ((size_t)id + 1) / t / CHUNK_ALIGN * CHUNK_ALIGN;
}

/* Plain scalar code at -O2 would run one element per instruction; GCC's vector extension
 * gives four per instruction without per-file flags. Chunks start 64-byte aligned. */
typedef float v4 __attribute__((vector_size(16)));

static void kernel(float *restrict a, const float *restrict b, const float *restrict c,
                   size_t lo, size_t hi)
{
    const v4 s = {3.0f, 3.0f, 3.0f, 3.0f};
    size_t i = lo;
    for (; i + 4 <= hi; i += 4) {
        v4 vb, vc, va;
        memcpy(&vb, b + i, sizeof vb);
        memcpy(&vc, c + i, sizeof vc);
        va = vb + s * vc;
        memcpy(a + i, &va, sizeof va);
    }
    for (; i < hi; i++)
        a[i] = b[i] + 3.0f * c[i];
}

/* Every job works on the calling thread's own chunk, so the pages of a chunk are first
 * touched (TOUCH, COPY) by the thread that streams them in run(): on a NUMA machine they
 * sit in that thread's node. */
static void do_job(triad *st, int job, int id)
{
    size_t lo, hi;
    chunk(st, id, &lo, &hi);
    if (lo >= hi)
        return;
    size_t bytes = (hi - lo) * sizeof(float);
    switch (job) {
    case JOB_TOUCH:
        memset(st->a + lo, 0, bytes);
        memset(st->b + lo, 0, bytes);
        memset(st->c + lo, 0, bytes);
        break;
    case JOB_COPY:
        memcpy(st->b + lo, st->src + lo, bytes);
        memcpy(st->c + lo, st->src + st->n + lo, bytes);
        break;
    case JOB_TRIAD:
        kernel(st->a, st->b, st->c, lo, hi);
        break;
    }
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    triad *st = w->st;
    unsigned long seen = 0;
    for (;;) {
        pthread_mutex_lock(&st->mu);
        while (st->gen == seen)
            pthread_cond_wait(&st->go, &st->mu);
        seen = st->gen;
        int job = st->job;
        pthread_mutex_unlock(&st->mu);
        if (job == JOB_QUIT)
            return NULL;
        do_job(st, job, w->id);
        pthread_mutex_lock(&st->mu);
        if (--st->pending == 0)
            pthread_cond_signal(&st->done);
        pthread_mutex_unlock(&st->mu);
    }
}

/* Runs job on every thread, the caller taking chunk 0, and returns when all are done. */
static void pool_run(triad *st, int job)
{
    if (st->nworkers == 0) {
        if (job != JOB_QUIT)
            do_job(st, job, 0);
        return;
    }
    pthread_mutex_lock(&st->mu);
    st->job = job;
    st->pending = job == JOB_QUIT ? 0 : st->nworkers;
    st->gen++;
    pthread_cond_broadcast(&st->go);
    pthread_mutex_unlock(&st->mu);
    if (job == JOB_QUIT)
        return;
    do_job(st, job, 0);
    pthread_mutex_lock(&st->mu);
    while (st->pending > 0)
        pthread_cond_wait(&st->done, &st->mu);
    pthread_mutex_unlock(&st->mu);
}

void triad_teardown(void *vst)
{
    triad *st = vst;
    if (!st)
        return;
    if (st->nworkers > 0) {
        pool_run(st, JOB_QUIT);
        for (int i = 0; i < st->nworkers; i++)
            pthread_join(st->w[i].tid, NULL);
    }
    if (st->pool) {
        pthread_mutex_destroy(&st->mu);
        pthread_cond_destroy(&st->go);
        pthread_cond_destroy(&st->done);
    }
    free(st->w);
    free(st->a);
    free(st->b);
    free(st->c);
    free(st);
}

int triad_setup(const void *ctx, const sono_params *p, void **stp, sono_error *err)
{
    char why[256];
    int rc;

    *stp = NULL;
    if ((rc = triad_supports(ctx, p, why, sizeof why)) < 0)
        return sono_fail(err, rc, "triad: %s", why);
    triad *st = calloc(1, sizeof *st);
    if (!st)
        return sono_fail(err, SONO_ENOMEM, "triad: cannot allocate its state");
    st->n = (size_t)sono_param_int(p, "n", 0);
    st->threads = (int)sono_param_int(p, "threads", 1);
    st->a = amalloc(st->n * sizeof(float));
    st->b = amalloc(st->n * sizeof(float));
    st->c = amalloc(st->n * sizeof(float));
    if (!st->a || !st->b || !st->c) {
        size_t n = st->n;
        triad_teardown(st);
        return sono_fail(err, SONO_ENOMEM, "triad: cannot allocate 3 arrays of n=%zu floats",
                         n);
    }
    if (st->threads > 1) {
        st->w = calloc((size_t)st->threads - 1, sizeof *st->w);
        if (!st->w || pthread_mutex_init(&st->mu, NULL) ||
            pthread_cond_init(&st->go, NULL) || pthread_cond_init(&st->done, NULL)) {
            triad_teardown(st);
            return sono_fail(err, SONO_ENOMEM, "triad: cannot set up a pool of %d threads",
                             st->threads);
        }
        st->pool = 1;
        for (int i = 0; i < st->threads - 1; i++) {
            st->w[i] = (worker){.st = st, .id = i + 1};
            if ((rc = pthread_create(&st->w[i].tid, NULL, worker_main, &st->w[i])) != 0) {
                int want = st->threads;
                triad_teardown(st);
                return sono_fail(err, SONO_EDEVICE, "triad: pthread_create failed for "
                                 "thread %d of %d: %s", i + 2, want, strerror(rc));
            }
            st->nworkers = i + 1;
        }
    }
    pool_run(st, JOB_TOUCH);
    *stp = st;
    return 0;
}

int triad_load(void *vst, const sono_buf *in, sono_error *err)
{
    triad *st = vst;
    if (in->dtype != SONO_F32 || in->ndim != 2 || in->shape[0] != 2 ||
        in->shape[1] != (long long)st->n || in->nbytes < 2 * st->n * sizeof(float))
        return sono_fail(err, SONO_EINVAL,
                         "triad: input must be f32 [2, n=%zu] (b, c); got dtype %d, %lld "
                         "elements, %zu bytes", st->n, (int)in->dtype, sono_buf_elems(in),
                         in->nbytes);
    st->src = in->data;
    pool_run(st, JOB_COPY);
    st->src = NULL;
    return 0;
}

int triad_run(void *vst)
{
    pool_run(vst, JOB_TRIAD);
    return 0;
}

int triad_store(void *vst, sono_buf *out, sono_error *err)
{
    triad *st = vst;
    if (out->dtype != SONO_F32 || out->nbytes < st->n * sizeof(float))
        return sono_fail(err, SONO_EINVAL,
                         "triad: output must be f32 [n=%zu] (%zu bytes); got dtype %d, %zu "
                         "bytes", st->n, st->n * sizeof(float), (int)out->dtype, out->nbytes);
    memcpy(out->data, st->a, st->n * sizeof(float));
    return 0;
}

int triad_describe(void *vst, char *buf, size_t n)
{
    const triad *st = vst;
    size_t lo, hi;
    chunk(st, 0, &lo, &hi);
    snprintf(buf, n, "threads=%d (%s), contiguous chunks of ~%zu floats, float32x4 "
             "vector-extension kernel", st->threads,
             st->threads > 1 ? "persistent pthread pool, caller takes chunk 0" : "no pool",
             hi - lo);
    return 0;
}

size_t triad_workspace(void *vst)
{
    const triad *st = vst;
    return 3 * st->n * sizeof(float) + (size_t)st->nworkers * sizeof(worker);
}
