/* mimi_naive.c — cpu/naive for codec.mimi: the definitions as float32 loops (direct conv
 * and transposed conv sums in tap order, a dot product per linear output, attention one
 * query at a time, the codebook search by squared differences); the rest is the shared
 * body (impls/common/mimi_net.c). */
#include <math.h>
#include <stdlib.h>

#include "cpu_impls.h"
#include "mimi_net.h"
#include "nndtype.h"
#include "mimi_stream.h"

static void conv(const mn_conv *c, const float *xp, long long lp, float *y, long long lo,
                 float *scratch)
{
    (void)scratch;
    int cig = c->cin / c->groups, cog = c->cout / c->groups;
    for (int o = 0; o < c->cout; o++) {
        int g = o / cog;
        for (long long t = 0; t < lo; t++) {
            float s = c->b ? c->b[o] : 0.0f;
            for (int i = 0; i < cig; i++) {
                const float *x = xp + (size_t)(g * cig + i) * (size_t)lp + t * c->stride;
                const float *w = c->w + ((size_t)o * cig + i) * c->k;
                for (int k = 0; k < c->k; k++)
                    s += w[k] * x[(long long)k * c->dil];
            }
            y[(size_t)o * lo + t] = s;
        }
    }
}

static void convtr(const mn_conv *c, const float *x, long long l, float *y, float *scratch)
{
    (void)scratch;
    long long full = (l - 1) * c->stride + c->k;
    int cig = c->cin / c->groups, cog = c->cout / c->groups;
    for (int o = 0; o < c->cout; o++)
        for (long long t = 0; t < full; t++)
            y[(size_t)o * full + t] = c->b ? c->b[o] : 0.0f;
    for (int i = 0; i < c->cin; i++) {
        int g = i / cig;
        for (int j = 0; j < cog; j++) {
            float *yo = y + (size_t)(g * cog + j) * full;
            const float *w = c->w + ((size_t)i * cog + j) * c->k;
            for (long long t = 0; t < l; t++) {
                float v = x[(size_t)i * l + t];
                for (int k = 0; k < c->k; k++)
                    yo[t * c->stride + k] += w[k] * v;
            }
        }
    }
}

static void linear(const float *x, long long rows, int in, const float *w, int out, float *y)
{
    for (long long r = 0; r < rows; r++)
        for (int o = 0; o < out; o++) {
            const float *xr = x + (size_t)r * in, *wr = w + (size_t)o * in;
            float s = 0;
            for (int i = 0; i < in; i++)
                s += xr[i] * wr[i];
            y[(size_t)r * out + o] = s;
        }
}

static void attention(const float *q, const float *k, const float *v, long long T, int heads,
                      int dh, int window, float *o, float *s)
{
    int D = heads * dh;
    float scale = 1.0f / sqrtf((float)dh);
    for (int h = 0; h < heads; h++)
        for (long long t = 0; t < T; t++) {
            long long first = t + 1 > window ? t + 1 - window : 0;
            const float *qt = q + (size_t)t * D + (size_t)h * dh;
            float mx = -INFINITY, sum = 0;
            for (long long u = first; u <= t; u++) {
                const float *ku = k + (size_t)u * D + (size_t)h * dh;
                float a = 0;
                for (int e = 0; e < dh; e++)
                    a += qt[e] * ku[e];
                s[u] = a * scale;
                mx = fmaxf(mx, s[u]);
            }
            float *ot = o + (size_t)t * D + (size_t)h * dh;
            for (int e = 0; e < dh; e++)
                ot[e] = 0;
            for (long long u = first; u <= t; u++) {
                float p = expf(s[u] - mx);
                sum += p;
                const float *vu = v + (size_t)u * D + (size_t)h * dh;
                for (int e = 0; e < dh; e++)
                    ot[e] += p * vu[e];
            }
            for (int e = 0; e < dh; e++)
                ot[e] /= sum;
        }
}

static void nearest(const float *r, long long F, int Q, const float *cb, const float *norm2,
                    int K, int *idx, float *scratch)
{
    (void)norm2;
    (void)scratch;
    for (long long t = 0; t < F; t++) {
        const float *rt = r + (size_t)t * Q;
        float bd = INFINITY;
        int best = 0;
        for (int k = 0; k < K; k++) {
            const float *e = cb + (size_t)k * Q;
            float d = 0;
            for (int j = 0; j < Q; j++)
                d += (rt[j] - e[j]) * (rt[j] - e[j]);
            if (d < bd) {
                bd = d;
                best = k;
            }
        }
        idx[t] = best;
    }
}

static const mn_kernels kernels = {.conv = conv, .convtr = convtr, .linear = linear,
                                   .attention = attention, .nearest = nearest};

int mimi_naive_supports(const void *ctx, const sono_params *p, char *why, size_t n)
{
    (void)ctx;
    if (sono_param_int(p, "threads", 1) != 1) {
        snprintf(why, n, "cpu/naive runs one thread");
        return SONO_EUNSUPPORTED;
    }
    mn_model m;
    return mn_dims(p, &m, why, n) ? SONO_EUNSUPPORTED : 0;
}

void mimi_naive_teardown(void *st)
{
    mn_state_free(st);
}

int mimi_naive_setup(const void *ctx, const sono_params *p, void **stp, sono_error *err)
{
    (void)ctx;
    return mn_state_setup(p, &kernels, "cpu/naive mimi", (mn_state **)stp, err);
}

int mimi_naive_load(void *st, const sono_buf *in, sono_error *err)
{
    return mn_state_load(st, in, err);
}

int mimi_naive_run(void *st)
{
    mn_state_run(st);
    return 0;
}

int mimi_naive_store(void *st, sono_buf *out, sono_error *err)
{
    return mn_state_store(st, out, err);
}

size_t mimi_naive_workspace(void *vst)
{
    const mn_state *st = vst;
    return st->m.weight_floats * sizeof(float) + st->r.bytes + mn_stream_bytes(st->stream);
}

/* Streaming (issue 24): the naive kernels on windows of each layer's history, so the
 * stream equals the offline output bit for bit. */
int mimi_naive_stream_begin(void *vst, sono_error *err)
{
    mn_state *st = vst;
    return mn_stream_begin(st, &st->stream, err);
}

int mimi_naive_push(void *vst, long long t0, long long n, int last, sono_buf *out,
                    long long *done, sono_error *err)
{
    mn_state *st = vst;
    return mn_stream_push(st->stream, t0, n, last, out, done, err);
}

int mimi_naive_describe(void *vst, char *buf, size_t n)
{
    const mn_model *m = &((const mn_state *)vst)->m;
    snprintf(buf, n, "weights: %s; hidden %d, %d layers, %d heads, window %d, n_q %d of %d, "
             "%lld frames of %d samples", m->path, m->c.hidden, m->c.layers, m->c.heads,
             m->c.window, m->nq, m->c.nq_max, m->frames, m->c.frame_hop);
    nn_dtype_append(buf, n, m->dtnote); /* issue 26: float32 loops on rounded inputs */
    return 0;
}
