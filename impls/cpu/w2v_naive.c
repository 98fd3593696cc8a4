/* w2v_naive.c — cpu/naive for wav2vec2.features: the definition's loops, activations
 * channel-major [C][T] as torch holds them, one float32 running sum per output value
 * (sum over ci, then j), the norm's statistics in double (the contract asks for it), GELU
 * with erff; clips one after another; single-threaded. Runs up to 10 s of audio a case
 * (~25 G multiply-adds, ~30 s on one core): past that a run takes minutes. */
#include <string.h>

#include "cpu_impls.h"
#include "w2v_net.h"
#include "nndtype.h"

#define NAIVE_MAX_SAMPLES (10 * 16000)

typedef struct w2v_naive {
    w2v_net n;
    const float *x;
    float *a, *b; /* [C][T_1] each: layer outputs, ping-pong */
    float *out;   /* [batch][frames][C] */
} w2v_naive;

int w2v_naive_supports(const void *ctx, const sono_params *p, char *why, size_t n)
{
    w2v_net net;
    (void)ctx;
    int rc = w2v_shape(p, &net, why, n);
    if (!rc && sono_param_int(p, "threads", 1) > 1) {
        snprintf(why, n, "single-threaded (the definition's loops): threads=%lld",
                 sono_param_int(p, "threads", 1));
        return SONO_EUNSUPPORTED;
    }
    if (!rc && net.samples * net.batch > NAIVE_MAX_SAMPLES) {
        snprintf(why, n, "direct loops run ~1 G multiply-adds/s: %zu samples would take "
                 "minutes a run (cpu/naive takes up to 10 s of audio)", net.samples * net.batch);
        return SONO_EUNSUPPORTED;
    }
    return rc;
}

void w2v_naive_teardown(void *vst)
{
    w2v_naive *st = vst;
    if (st) {
        w2v_free(&st->n);
        free(st->a);
        free(st->b);
        free(st->out);
    }
    free(st);
}

int w2v_naive_setup(const void *ctx, const sono_params *p, void **stp, sono_error *err)
{
    char why[512];
    *stp = NULL;
    int rc = w2v_naive_supports(ctx, p, why, sizeof why);
    if (rc)
        return sono_fail(err, rc, "cpu/naive: %s", why);
    w2v_naive *st = calloc(1, sizeof *st);
    if (!st)
        return sono_fail(err, SONO_ENOMEM, "cpu/naive: no memory");
    w2v_shape(p, &st->n, why, sizeof why);
    if ((rc = w2v_load(&st->n, err))) {
        free(st);
        return rc;
    }
    const w2v_net *n = &st->n;
    st->a = amalloc(n->C * n->len[1] * sizeof(float));
    st->b = amalloc(n->C * n->len[2] * sizeof(float));
    st->out = amalloc(n->batch * n->frames * n->C * sizeof(float));
    if (!st->a || !st->b || !st->out) {
        w2v_naive_teardown(st);
        return sono_fail(err, SONO_ENOMEM, "cpu/naive: no memory for [%zu, %zu] activations",
                         n->C, n->len[1]);
    }
    *stp = st;
    return 0;
}

int w2v_naive_load(void *vst, const sono_buf *in, sono_error *err)
{
    w2v_naive *st = vst;
    if (in->dtype != SONO_F32 || (size_t)sono_buf_elems(in) != st->n.batch * st->n.samples)
        return sono_fail(err, SONO_EINVAL, "cpu/naive wav2vec2.features: input must be f32 "
                         "[%zu, %zu]", st->n.batch, st->n.samples);
    st->x = in->data;
    return 0;
}

/* One clip through the seven layers; the last layer's output lands in y [C][frames]. */
static float *clip(w2v_naive *st, const float *x)
{
    const w2v_net *n = &st->n;
    size_t C = n->C;
    const float *in = x;
    float *bufs[2] = {st->a, st->b}, *y = NULL;
    for (int l = 0; l < W2V_LAYERS; l++) {
        size_t cin = l ? C : 1, k = (size_t)w2v_k[l], s = (size_t)w2v_s[l];
        size_t Ti = n->len[l], To = n->len[l + 1];
        y = bufs[l & 1];
        for (size_t co = 0; co < C; co++)
            for (size_t t = 0; t < To; t++) {
                float acc = 0;
                for (size_t ci = 0; ci < cin; ci++)
                    for (size_t j = 0; j < k; j++)
                        acc += n->w[l][(co * cin + ci) * k + j] * in[ci * Ti + t * s + j];
                y[co * To + t] = acc;
            }
        if (n->gamma[l] && !n->layer_norm)
            for (size_t c = 0; c < C; c++) { /* GroupNorm, one channel per group */
                float m, inv;
                w2v_stats(y + c * To, To, 1, &m, &inv);
                for (size_t t = 0; t < To; t++)
                    y[c * To + t] = (y[c * To + t] - m) * inv * n->gamma[l][c] + n->beta[l][c];
            }
        else if (n->gamma[l])
            for (size_t t = 0; t < To; t++) { /* LayerNorm over channels */
                float m, inv;
                w2v_stats(y + t, C, To, &m, &inv);
                for (size_t c = 0; c < C; c++)
                    y[c * To + t] = (y[c * To + t] - m) * inv * n->gamma[l][c] + n->beta[l][c];
            }
        for (size_t i = 0; i < C * To; i++)
            y[i] = w2v_gelu(y[i]);
        in = y;
    }
    return y;
}

int w2v_naive_run(void *vst)
{
    w2v_naive *st = vst;
    const w2v_net *n = &st->n;
    for (size_t b = 0; b < n->batch; b++) {
        const float *y = clip(st, st->x + b * n->samples);
        float *o = st->out + b * n->frames * n->C;
        for (size_t t = 0; t < n->frames; t++)
            for (size_t c = 0; c < n->C; c++)
                o[t * n->C + c] = y[c * n->frames + t];
    }
    return 0;
}

int w2v_naive_store(void *vst, sono_buf *out, sono_error *err)
{
    w2v_naive *st = vst;
    size_t want = st->n.batch * st->n.frames * st->n.C;
    if (out->dtype != SONO_F32 || (size_t)sono_buf_elems(out) != want)
        return sono_fail(err, SONO_EINVAL, "cpu/naive wav2vec2.features: output must be f32 "
                         "of %zu values", want);
    memcpy(out->data, st->out, want * sizeof(float));
    return 0;
}

int w2v_naive_describe(void *vst, char *buf, size_t n)
{
    w2v_describe(&((w2v_naive *)vst)->n, buf, n);
    nn_dtype_append(buf, n, ((w2v_naive *)vst)->n.dtnote); /* issue 26: float32 loops */
    return 0;
}

size_t w2v_naive_workspace(void *vst)
{
    const w2v_net *n = &((w2v_naive *)vst)->n;
    size_t w = n->C * 10 + 4 * n->C * n->C * 3 + 2 * n->C * n->C * 2 + 14 * n->C;
    return (w + n->C * (n->len[1] + n->len[2]) + n->batch * n->frames * n->C) * sizeof(float);
}
