/* triad.c — cpu/triad: STREAM's triad a = b + 3c on `threads` threads, each owning one
 * contiguous chunk. The threads are started in setup and kept in a pool for the case, so
 * run() pays one start/finish handshake, not thread creation; threads=1 uses no thread. */
#include "cpu_impls.h"
#include "pool.h"

#define MAX_THREADS 256
#define CHUNK_ALIGN 16 /* floats: chunks start on 64-byte lines, so no line is shared */

enum { JOB_TOUCH, JOB_COPY, JOB_TRIAD };

typedef struct triad {
    size_t n;
    int threads;
    float *a, *b, *c;   /* a: the output; b, c: own copies of the input rows */
    const float *src;   /* the input while JOB_COPY runs */
    cpu_pool *pool;     /* threads - 1 workers; the caller of run() takes chunk 0 */
} triad;

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
static void do_job(void *ctx, int job, int id)
{
    triad *st = ctx;
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

void triad_teardown(void *vst)
{
    triad *st = vst;
    if (!st)
        return;
    cpu_pool_free(st->pool);
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
    if ((rc = cpu_pool_new(st->threads, do_job, st, "triad", &st->pool, err)) < 0) {
        triad_teardown(st);
        return rc;
    }
    cpu_pool_run(st->pool, JOB_TOUCH);
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
    cpu_pool_run(st->pool, JOB_COPY);
    st->src = NULL;
    return 0;
}

int triad_run(void *vst)
{
    triad *st = vst;
    cpu_pool_run(st->pool, JOB_TRIAD);
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
    return 3 * st->n * sizeof(float) + cpu_pool_bytes(st->pool);
}
