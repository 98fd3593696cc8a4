/* hifigan_naive.c — cpu/naive for vocoder.hifigan: each conv and transposed conv output a
 * float32 sum over its window in a fixed order (bias first, then input channel by input
 * channel, tap by tap, the leaky ReLU applied to each input value as it is read); the
 * layer graph, rings and rounds are the shared body (impls/common/hifigan_net.c). A
 * streamed output is the same sums over the same values, so it equals offline bit for
 * bit. Offline walks the mel in rounds of 32 frames. */
#include <stdlib.h>

#include "cpu_impls.h"
#include "hifigan_net.h"
#include "nndtype.h"

#define BLOCK 32

typedef struct hgn_state {
    hg_net m;
    long long done;
} hgn_state;

static void conv(void *ctx, const hg_node *n, long long u0, long long u1, float *y)
{
    (void)ctx;
    size_t len = (size_t)(u1 - u0);
    for (int o = 0; o < n->C; o++)
        for (long long u = u0; u < u1; u++) {
            float acc = n->b[o];
            for (int c = 0; c < n->cin; c++) {
                const float *w = n->w + ((size_t)o * n->cin + c) * n->K;
                for (int k = 0; k < n->K; k++)
                    acc += w[k] * hg_lrelu(hg_at(n->in, c, u + (long long)k * n->dil - n->pad),
                                           n->slope);
            }
            y[(size_t)o * len + (size_t)(u - u0)] = acc;
        }
}

/* Output u (full index v = u + pad) sums the inputs t with v - t stride in [0, K). */
static void tconv(void *ctx, const hg_node *n, long long u0, long long u1, float *y)
{
    (void)ctx;
    size_t len = (size_t)(u1 - u0);
    long long s = n->stride;
    for (int o = 0; o < n->C; o++)
        for (long long u = u0; u < u1; u++) {
            long long v = u + n->pad, hi = v / s, lo = v - n->K + 1 <= 0 ? 0
                                                       : (v - n->K + 1 + s - 1) / s;
            if (hi > n->in->T - 1)
                hi = n->in->T - 1;
            float acc = n->b[o];
            for (int c = 0; c < n->cin; c++) {
                const float *w = n->w + ((size_t)c * n->C + o) * n->K;
                for (long long t = lo; t <= hi; t++)
                    acc += w[v - t * s] * hg_lrelu(hg_at(n->in, c, t), n->slope);
            }
            y[(size_t)o * len + (size_t)(u - u0)] = acc;
        }
}

int hifigan_naive_supports(const void *ctx, const sono_params *p, char *why, size_t n)
{
    (void)ctx;
    if (sono_param_int(p, "threads", 1) != 1) {
        snprintf(why, n, "single-threaded: threads must be 1");
        return SONO_EUNSUPPORTED;
    }
    hg_net m;
    return hg_dims(p, &m, why, n) ? SONO_EUNSUPPORTED : 0;
}

int hifigan_naive_setup(const void *ctx, const sono_params *p, void **st, sono_error *err)
{
    (void)ctx;
    hgn_state *s = calloc(1, sizeof *s);
    if (!s)
        return sono_fail(err, SONO_ENOMEM, "vocoder.hifigan: out of memory");
    *st = s;
    return hg_load(p, &s->m, BLOCK, err);
}

int hifigan_naive_load(void *st, const sono_buf *in, sono_error *err)
{
    hgn_state *s = st;
    if (in->dtype != SONO_F32 || sono_buf_elems(in) != 80 * s->m.frames)
        return sono_fail(err, SONO_EINVAL, "vocoder.hifigan: input is not [80, %lld] float32",
                         s->m.frames);
    s->m.x = in->data;
    return 0;
}

int hifigan_naive_run(void *st)
{
    hgn_state *s = st;
    hg_begin(&s->m);
    return hg_push(&s->m, 0, s->m.frames, conv, tconv, NULL, &s->done, NULL);
}

int hifigan_naive_store(void *st, sono_buf *out, sono_error *err)
{
    hgn_state *s = st;
    if (out->dtype != SONO_F32 || sono_buf_elems(out) != s->m.samples)
        return sono_fail(err, SONO_EINVAL, "vocoder.hifigan: output is not [%lld] float32",
                         s->m.samples);
    memcpy(out->data, hg_wave(&s->m), (size_t)s->m.samples * sizeof(float));
    return 0;
}

void hifigan_naive_teardown(void *st)
{
    hgn_state *s = st;
    if (!s)
        return;
    hg_free(&s->m);
    free(s);
}

size_t hifigan_naive_workspace(void *st)
{
    return hg_bytes(&((hgn_state *)st)->m);
}

int hifigan_naive_describe(void *st, char *buf, size_t n)
{
    hgn_state *s = st;
    const char *base = strrchr(s->m.path, '/');
    snprintf(buf, n, "channels: %d; rounds of %d frames; weights: %s", s->m.ch, BLOCK,
             base ? base + 1 : s->m.path);
    nn_dtype_append(buf, n, s->m.dtnote); /* issue 26: float32 loops on rounded inputs */
    return 0;
}

int hifigan_naive_stream_begin(void *st, sono_error *err)
{
    (void)err;
    hg_begin(&((hgn_state *)st)->m);
    return 0;
}

int hifigan_naive_push(void *st, long long t0, long long n, int last, sono_buf *out,
                       long long *done, sono_error *err)
{
    (void)last;
    hgn_state *s = st;
    long long before = s->m.node[s->m.nn - 1].done;
    int rc = hg_push(&s->m, t0, n, conv, tconv, NULL, done, err);
    if (!rc && *done > before)
        memcpy((float *)out->data + before, hg_wave(&s->m) + before,
               (size_t)(*done - before) * sizeof(float));
    return rc;
}
