/* wavenet_naive.c — cpu/naive for wavenet.stack: the definitions as loops in float32, one
 * time step of one layer at a time (layer_step). Offline walks each layer over the whole
 * signal; the stream walks each sample through every layer with the fast-WaveNet queues.
 * Both call the same layer_step on the same vectors, so the stream equals the offline
 * output bit for bit. */
#include <stdlib.h>
#include <string.h>

#include "cpu_impls.h"
#include "nndtype.h"
#include "wavenet_net.h"

typedef struct wvn_state {
    wv_net n;
    float *h, *h2, *skip; /* offline, time-major: [T][R], [T][R], [T][S] */
    float *a, *zero, *hs, *hs2; /* one sample: a [R], zeros [R], h and its next [R] */
} wvn_state;

/* One layer at one time step: past = h[t - d] (zeros before 0), now = h[t], cond the
 * conditioning at t ([Cc] with stride ldc); adds the layer's skip into skip [S] and writes
 * the next h into hn [R]. */
static void layer_step(const wv_net *n, const wv_layer *y, const float *past, const float *now,
                       const float *cond, long long ldc, float *a, float *skip, float *hn)
{
    int R = n->R, S = n->S, Cc = n->Cc;
    for (int c = 0; c < R; c++) {
        float zf = y->bf[c], zg = y->bg[c];
        for (int i = 0; i < R; i++) {
            const float *wf = y->Wf + ((size_t)c * R + i) * 2, *wg = y->Wg + ((size_t)c * R + i) * 2;
            zf += wf[0] * past[i];
            zf += wf[1] * now[i];
            zg += wg[0] * past[i];
            zg += wg[1] * now[i];
        }
        for (int j = 0; j < Cc; j++) {
            zf += y->Vf[(size_t)c * Cc + j] * cond[j * ldc];
            zg += y->Vg[(size_t)c * Cc + j] * cond[j * ldc];
        }
        a[c] = tanhf(zf) * wv_sigmoid(zg);
    }
    for (int s = 0; s < S; s++) {
        float v = y->bs[s];
        for (int c = 0; c < R; c++)
            v += y->Ws[(size_t)s * R + c] * a[c];
        skip[s] += v;
    }
    for (int c = 0; c < R; c++) {
        float v = y->br[c];
        for (int i = 0; i < R; i++)
            v += y->Wr[(size_t)c * R + i] * a[i];
        hn[c] = now[c] + v;
    }
}

int wavenet_naive_supports(const void *ctx, const sono_params *p, char *why, size_t n)
{
    (void)ctx;
    if (sono_param_int(p, "threads", 1) != 1) {
        snprintf(why, n, "single-threaded: threads must be 1");
        return SONO_EUNSUPPORTED;
    }
    wv_net w;
    return wv_dims(p, &w, why, n) ? SONO_EUNSUPPORTED : 0;
}

int wavenet_naive_setup(const void *ctx, const sono_params *p, void **st, sono_error *err)
{
    (void)ctx;
    char why[160];
    wvn_state *s = calloc(1, sizeof *s);
    if (!s)
        return sono_fail(err, SONO_ENOMEM, "wavenet.stack: out of memory");
    *st = s;
    if (wv_dims(p, &s->n, why, sizeof why))
        return sono_fail(err, SONO_EUNSUPPORTED, "%s", why);
    int rc = wv_alloc(&s->n, err);
    if (rc)
        return rc;
    size_t T = (size_t)s->n.T, R = (size_t)s->n.R, S = (size_t)s->n.S;
    s->h = malloc(T * R * sizeof(float));
    s->h2 = malloc(T * R * sizeof(float));
    s->skip = malloc(T * S * sizeof(float));
    s->a = malloc(R * sizeof(float));
    s->zero = calloc(R, sizeof(float));
    s->hs = malloc(R * sizeof(float));
    s->hs2 = malloc(R * sizeof(float));
    if (!s->h || !s->h2 || !s->skip || !s->a || !s->zero || !s->hs || !s->hs2)
        return sono_fail(err, SONO_ENOMEM, "wavenet.stack: out of memory");
    return 0;
}

int wavenet_naive_load(void *st, const sono_buf *in, sono_error *err)
{
    wvn_state *s = st;
    return wv_bind(&s->n, in, err);
}

int wavenet_naive_run(void *st)
{
    wvn_state *s = st;
    const wv_net *n = &s->n;
    size_t T = (size_t)n->T, R = (size_t)n->R, S = (size_t)n->S;
    for (size_t t = 0; t < T; t++)
        for (size_t c = 0; c < R; c++)
            s->h[t * R + c] = n->w_in[c] * n->x[t] + n->b_in[c];
    memset(s->skip, 0, T * S * sizeof(float));
    for (int l = 0; l < n->L; l++) {
        const wv_layer *y = &n->layer[l];
        size_t d = (size_t)y->dil;
        for (size_t t = 0; t < T; t++)
            layer_step(n, y, t >= d ? s->h + (t - d) * R : s->zero, s->h + t * R,
                       n->x + T + t, (long long)T, s->a, s->skip + t * S, s->h2 + t * R);
        float *tmp = s->h;
        s->h = s->h2;
        s->h2 = tmp;
    }
    return 0;
}

int wavenet_naive_store(void *st, sono_buf *out, sono_error *err)
{
    wvn_state *s = st;
    size_t T = (size_t)s->n.T, S = (size_t)s->n.S;
    if (out->dtype != SONO_F32 || (size_t)sono_buf_elems(out) != T * S)
        return sono_fail(err, SONO_EINVAL, "wavenet.stack: output buffer is not [%zu, %zu]", S,
                         T);
    float *o = out->data;
    for (size_t t = 0; t < T; t++)
        for (size_t k = 0; k < S; k++)
            o[k * T + t] = s->skip[t * S + k];
    return 0;
}

void wavenet_naive_teardown(void *st)
{
    wvn_state *s = st;
    if (!s)
        return;
    wv_free(&s->n);
    free(s->h);
    free(s->h2);
    free(s->skip);
    free(s->a);
    free(s->zero);
    free(s->hs);
    free(s->hs2);
    free(s);
}

size_t wavenet_naive_workspace(void *st)
{
    wvn_state *s = st;
    size_t T = (size_t)s->n.T, R = (size_t)s->n.R, S = (size_t)s->n.S;
    return (2 * T * R + T * S + 4 * R) * sizeof(float) + wv_queue_bytes(&s->n);
}

int wavenet_naive_describe(void *st, char *buf, size_t n)
{
    wvn_state *s = st;
    snprintf(buf, n, "layers: %d; R: %d; S: %d; cond: %d; offline: layer by layer; stream: "
             "per sample, queues %zu B", s->n.L, s->n.R, s->n.S, s->n.Cc,
             wv_queue_bytes(&s->n));
    nn_dtype_append(buf, n, s->n.dtnote); /* issue 26: float32 loops on rounded inputs */
    return 0;
}

int wavenet_naive_stream_begin(void *st, sono_error *err)
{
    (void)err;
    wv_stream_reset(&((wvn_state *)st)->n);
    return 0;
}

/* Each sample through every layer: layer l's past input h_l[t - d] is queue slot t mod d,
 * replaced by h_l[t] once read. */
int wavenet_naive_push(void *st, long long t0, long long n, int last, sono_buf *out,
                       long long *done, sono_error *err)
{
    (void)last;
    wvn_state *s = st;
    wv_net *w = &s->n;
    if (t0 != w->fed || n < 1 || t0 + n > w->T)
        return sono_fail(err, SONO_EINVAL, "wavenet.stack stream: push [%lld, %lld) after %lld "
                         "of %lld", t0, t0 + n, w->fed, w->T);
    size_t R = (size_t)w->R, S = (size_t)w->S, T = (size_t)w->T;
    float *o = out->data, *sk = s->skip; /* skip's first S floats: this sample's sums */
    for (long long t = t0; t < t0 + n; t++) {
        for (size_t c = 0; c < R; c++)
            s->hs[c] = w->w_in[c] * w->x[t] + w->b_in[c];
        memset(sk, 0, S * sizeof(float));
        for (int l = 0; l < w->L; l++) {
            const wv_layer *y = &w->layer[l];
            float *q = w->queue + w->qoff[l] + (size_t)(t % y->dil) * R;
            layer_step(w, y, q, s->hs, w->x + T + t, (long long)T, s->a, sk, s->hs2);
            memcpy(q, s->hs, R * sizeof(float));
            float *tmp = s->hs;
            s->hs = s->hs2;
            s->hs2 = tmp;
        }
        for (size_t k = 0; k < S; k++)
            o[k * T + (size_t)t] = sk[k];
    }
    w->fed = t0 + n;
    *done = w->fed;
    return 0;
}
