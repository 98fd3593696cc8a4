/* nop.c — cpu/nop: an impl whose run() does nothing, so its timed loop measures only the
 * harness's own cost per call (clock reads, the indirect call), reported in the
 * environment and comparable with every other impl's per-call time. */
#include "cpu_impls.h"

typedef struct nop {
    size_t n;
    float *in; /* own copy: sono.h lets no impl keep the core's buffer past load */
    const float *src; /* streaming: the core's input, which fills as the stream goes */
} nop;

int nop_supports(const void *ctx, const sono_params *p, char *why, size_t n)
{
    long long len = sono_param_int(p, "n", 0);
    long long threads = sono_param_int(p, "threads", 1);

    (void)ctx;
    if (threads != 1) {
        snprintf(why, n, "single-threaded impl (threads=1 only), got threads=%lld", threads);
        return SONO_EUNSUPPORTED;
    }
    if (len < 1 || len > (1LL << 40)) {
        snprintf(why, n, "n=%lld must be in [1, 2^40]", len);
        return SONO_EUNSUPPORTED;
    }
    return 0;
}

void nop_teardown(void *vst)
{
    nop *st = vst;
    if (!st)
        return;
    free(st->in);
    free(st);
}

int nop_setup(const void *ctx, const sono_params *p, void **stp, sono_error *err)
{
    char why[256];
    int rc;

    *stp = NULL;
    if ((rc = nop_supports(ctx, p, why, sizeof why)) < 0)
        return sono_fail(err, rc, "nop: %s", why);
    nop *st = calloc(1, sizeof *st);
    if (!st)
        return sono_fail(err, SONO_ENOMEM, "nop: cannot allocate its state");
    st->n = (size_t)sono_param_int(p, "n", 0);
    st->in = amalloc(st->n * sizeof *st->in);
    if (!st->in) {
        rc = sono_fail(err, SONO_ENOMEM, "nop: cannot allocate n=%zu floats", st->n);
        nop_teardown(st);
        return rc;
    }
    *stp = st;
    return 0;
}

int nop_load(void *vst, const sono_buf *in, sono_error *err)
{
    nop *st = vst;
    if (in->dtype != SONO_F32 || sono_buf_elems(in) != (long long)st->n ||
        in->nbytes < st->n * sizeof(float))
        return sono_fail(err, SONO_EINVAL,
                         "nop: input must be f32 [n=%zu]; got dtype %d, %lld elements",
                         st->n, (int)in->dtype, sono_buf_elems(in));
    memcpy(st->in, in->data, st->n * sizeof(float));
    st->src = in->data;
    return 0;
}

/* The state and its copy of the input: nothing else is allocated. */
size_t nop_workspace(void *vst)
{
    const nop *st = vst;
    return sizeof *st + st->n * sizeof *st->in;
}

/* Empty on purpose; it stays a real call because the core reaches it by pointer. */
int nop_run(void *vst)
{
    (void)vst;
    return 0;
}

int nop_store(void *vst, sono_buf *out, sono_error *err)
{
    nop *st = vst;
    if (out->dtype != SONO_F32 || out->nbytes < st->n * sizeof(float))
        return sono_fail(err, SONO_EINVAL,
                         "nop: output must be f32 [n=%zu] (%zu bytes); got dtype %d, %zu bytes",
                         st->n, st->n * sizeof(float), (int)out->dtype, out->nbytes);
    memcpy(out->data, st->in, st->n * sizeof(float));
    return 0;
}

/* Streaming: each chunk copied through, so a stream's per-chunk figure is the harness's
 * own cost per push plus a copy of the chunk. */
int nop_stream_begin(void *vst, sono_error *err)
{
    (void)vst;
    (void)err;
    return 0;
}

int nop_push(void *vst, long long t0, long long n, int last, sono_buf *out, long long *done,
             sono_error *err)
{
    nop *st = vst;
    (void)last;
    if (out->dtype != SONO_F32 || out->nbytes < st->n * sizeof(float) || t0 < 0 ||
        t0 + n > (long long)st->n)
        return sono_fail(err, SONO_EINVAL, "nop: push of [%lld, %lld) into f32 [n=%zu]", t0,
                         t0 + n, st->n);
    memcpy((float *)out->data + t0, st->src + t0, (size_t)n * sizeof(float));
    *done = t0 + n;
    return 0;
}
