/* encodec_naive.c — cpu/naive for codec.encodec: every kernel by its definition in float32
 * loops (direct convolution, transposed convolution by scatter, the LSTM one dot product
 * per gate, codebook search by full distances); the graph, padding and RVQ loop are
 * impls/common/encodec_net.c's, streaming impls/common/encodec_stream.c's (issue 12: the
 * same kernels on each layer's history, so a stream equals the offline run bit for bit).
 * Single-threaded; the op's streams (issue 11) clip after clip, each exactly as alone. */
#include <math.h>

#include "cpu_impls.h"
#include "encodec_net.h"
#include "encodec_stream.h"
#include "nndtype.h"

/* Channel rows hold S clips each: row stride S * len, clip s at s * len. */
static void conv(const en_conv *c, const float *xp, long long lp, int S, float *y,
                 long long lout, float *scratch)
{
    (void)scratch;
    for (int s = 0; s < S; s++)
        for (int o = 0; o < c->cout; o++) {
            float *yo = y + ((size_t)o * (size_t)S + (size_t)s) * (size_t)lout;
            for (long long t = 0; t < lout; t++) {
                float acc = c->b[o];
                for (int i = 0; i < c->cin; i++) {
                    const float *w = c->w + ((size_t)o * c->cin + i) * c->k;
                    const float *x = xp + ((size_t)i * (size_t)S + (size_t)s) * (size_t)lp +
                                     t * c->stride;
                    for (int k = 0; k < c->k; k++)
                        acc += w[k] * x[k * c->dil];
                }
                yo[t] = acc;
            }
        }
}

static void convtr(const en_conv *c, const float *x, long long l, int S, float *y,
                   float *scratch)
{
    (void)scratch;
    long long full = (l - 1) * c->stride + c->k;
    for (size_t r = 0; r < (size_t)c->cout * (size_t)S; r++)
        for (long long t = 0; t < full; t++)
            y[r * (size_t)full + (size_t)t] = c->b[r / (size_t)S];
    for (int s = 0; s < S; s++)
        for (int i = 0; i < c->cin; i++)
            for (int o = 0; o < c->cout; o++) {
                const float *w = c->w + ((size_t)i * c->cout + o) * c->k;
                float *yo = y + ((size_t)o * (size_t)S + (size_t)s) * (size_t)full;
                const float *xi = x + ((size_t)i * (size_t)S + (size_t)s) * (size_t)l;
                for (long long t = 0; t < l; t++) {
                    float v = xi[t];
                    for (int k = 0; k < c->k; k++)
                        yo[t * c->stride + k] += v * w[k];
                }
            }
}

static float sigmoid(float v)
{
    return 1.0f / (1.0f + expf(-v));
}

/* scratch: the 4h gate sums. One clip's state hc [2h] at a time. */
static void lstm1(const en_layer *l, int k, const float *x, long long T, float *y, float *hc,
                  float *scratch)
{
    int H = l->h;
    float *h = hc, *c = hc + H, *g = scratch;
    for (long long t = 0; t < T; t++) {
        const float *xt = x + (size_t)t * H;
        for (int r = 0; r < 4 * H; r++) {
            const float *wi = l->wih[k] + (size_t)r * H, *wh = l->whh[k] + (size_t)r * H;
            float s = l->bias[k][r];
            for (int j = 0; j < H; j++)
                s += wi[j] * xt[j] + wh[j] * h[j];
            g[r] = s;
        }
        for (int j = 0; j < H; j++) {
            c[j] = sigmoid(g[H + j]) * c[j] + sigmoid(g[j]) * tanhf(g[2 * H + j]);
            h[j] = sigmoid(g[3 * H + j]) * tanhf(c[j]);
            y[(size_t)t * H + j] = h[j];
        }
    }
}

void encodec_naive_lstm(const en_layer *l, int k, const float *x, long long T, int S,
                        float *y, float *hc, float *scratch)
{
    size_t n = (size_t)T * (size_t)l->h;
    for (int s = 0; s < S; s++)
        lstm1(l, k, x + (size_t)s * n, T, y + (size_t)s * n, hc + 2 * (size_t)l->h * s,
              scratch);
}

void encodec_naive_vq(const float *cb, const float *norm2, int K, int D, const float *r,
                      long long F, int *codes, float *scratch)
{
    (void)norm2;
    (void)scratch;
    for (long long t = 0; t < F; t++) {
        const float *x = r + (size_t)t * D;
        float best = INFINITY;
        int bi = 0;
        for (int k = 0; k < K; k++) {
            const float *e = cb + (size_t)k * D;
            float s = 0;
            for (int j = 0; j < D; j++)
                s += (x[j] - e[j]) * (x[j] - e[j]);
            if (s < best) {
                best = s;
                bi = k;
            }
        }
        codes[t] = bi;
    }
}

static const en_kernels kernels = {.conv = conv, .convtr = convtr, .lstm = encodec_naive_lstm,
                                   .vq = encodec_naive_vq};

static size_t scratch_for(const en_net *net, const en_layer *l, int which, long long lin)
{
    (void)net;
    (void)which;
    (void)lin;
    return l && l->kind == EN_LSTM ? 6 * (size_t)l->h : 0;
}

int encodec_naive_supports(const void *ctx, const sono_params *p, char *why, size_t n)
{
    (void)ctx;
    if (sono_param_int(p, "threads", 1) != 1) {
        snprintf(why, n, "single-threaded impl (threads=1 only)");
        return SONO_EUNSUPPORTED;
    }
    return en_supports(p, why, n);
}

int encodec_naive_setup(const void *ctx, const sono_params *p, void **st, sono_error *err)
{
    (void)ctx;
    en_net *net = calloc(1, sizeof *net);
    *st = net;
    if (!net)
        return sono_fail(err, SONO_ENOMEM, "cpu/naive: out of memory");
    int rc = en_setup(net, p, &kernels, scratch_for, err);
    net->streams = 1;
    if (rc) { /* the core calls teardown only after a setup that worked */
        encodec_teardown(net);
        *st = NULL;
    }
    return rc;
}

/* issue 26: the size and, at a reduced dtype, that the loops are float32 on its values */
int encodec_naive_describe(void *st, char *buf, size_t n)
{
    const en_net *net = st;
    snprintf(buf, n, "n_q=%d, %lld frames x %d streams", net->nq, net->frames, net->batch);
    nn_dtype_append(buf, n, net->dtnote);
    return 0;
}

int encodec_load(void *st, const sono_buf *in, sono_error *err)
{
    return en_load(st, in, err);
}

int encodec_run(void *st)
{
    return en_run(st);
}

int encodec_store(void *st, sono_buf *out, sono_error *err)
{
    return en_store(st, out, err);
}

void encodec_teardown(void *st)
{
    if (st)
        en_free(st);
    free(st);
}

size_t encodec_workspace(void *st)
{
    return ((en_net *)st)->bytes;
}

/* Issue 12: streaming, the state in encodec_stream.c, this impl's kernels on its windows. */
int encodec_stream_begin(void *st, sono_error *err)
{
    return en_stream_begin(st, err);
}

int encodec_push(void *st, long long t0, long long n, int last, sono_buf *out, long long *done,
                 sono_error *err)
{
    return en_stream_push(st, t0, n, last, out, done, err);
}
