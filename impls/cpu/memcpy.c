/* memcpy.c — cpu/memcpy for op "copy" (issue 10): libc's memcpy between two buffers of the
 * impl's own, the host's side of the copy-bandwidth row beside cuda/memcpy. One thread:
 * memcpy is what a program would call. */
#include "cpu_impls.h"

typedef struct copy_st {
    size_t n;
    float *src, *dst; /* own buffers: load fills src, run copies it to dst */
} copy_st;

int memcpy_supports(const void *ctx, const sono_params *p, char *why, size_t n)
{
    long long len = sono_param_int(p, "n", 0);
    long long threads = sono_param_int(p, "threads", 1);

    (void)ctx;
    if (threads != 1) {
        snprintf(why, n, "single-threaded impl (threads=1 only), got threads=%lld", threads);
        return SONO_EUNSUPPORTED;
    }
    if (len < 1 || len > (1LL << 36)) {
        snprintf(why, n, "n=%lld must be in [1, 2^36]", len);
        return SONO_EUNSUPPORTED;
    }
    return 0;
}

void memcpy_teardown(void *vst)
{
    copy_st *st = vst;
    if (!st)
        return;
    free(st->src);
    free(st->dst);
    free(st);
}

int memcpy_setup(const void *ctx, const sono_params *p, void **stp, sono_error *err)
{
    char why[256];
    int rc;

    *stp = NULL;
    if ((rc = memcpy_supports(ctx, p, why, sizeof why)) < 0)
        return sono_fail(err, rc, "cpu/memcpy: %s", why);
    copy_st *st = calloc(1, sizeof *st);
    if (!st)
        return sono_fail(err, SONO_ENOMEM, "cpu/memcpy: cannot allocate its state");
    st->n = (size_t)sono_param_int(p, "n", 0);
    st->src = amalloc(st->n * sizeof(float));
    st->dst = amalloc(st->n * sizeof(float));
    if (!st->src || !st->dst) {
        memcpy_teardown(st);
        return sono_fail(err, SONO_ENOMEM, "cpu/memcpy: cannot allocate 2 x n=%lld floats",
                         sono_param_int(p, "n", 0));
    }
    /* touched now, so the first timed copy does not pay the page faults of dst */
    memset(st->dst, 0, st->n * sizeof(float));
    *stp = st;
    return 0;
}

int memcpy_load(void *vst, const sono_buf *in, sono_error *err)
{
    copy_st *st = vst;
    if (in->dtype != SONO_F32 || sono_buf_elems(in) != (long long)st->n ||
        in->nbytes < st->n * sizeof(float))
        return sono_fail(err, SONO_EINVAL, "cpu/memcpy: input must be f32 [n=%zu]; got dtype "
                         "%d, %lld elements", st->n, (int)in->dtype, sono_buf_elems(in));
    memcpy(st->src, in->data, st->n * sizeof(float));
    return 0;
}

int memcpy_run(void *vst)
{
    copy_st *st = vst;
    memcpy(st->dst, st->src, st->n * sizeof(float));
    return 0;
}

int memcpy_store(void *vst, sono_buf *out, sono_error *err)
{
    copy_st *st = vst;
    if (out->dtype != SONO_F32 || out->nbytes < st->n * sizeof(float))
        return sono_fail(err, SONO_EINVAL, "cpu/memcpy: output must be f32 [n=%zu]", st->n);
    memcpy(out->data, st->dst, st->n * sizeof(float));
    return 0;
}

size_t memcpy_workspace(void *vst)
{
    const copy_st *st = vst;
    return sizeof *st + 2 * st->n * sizeof(float);
}
