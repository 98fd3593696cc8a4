/* mimi_blas.c — blas/mimi for codec.mimi: convolutions as im2col + one SGEMM (1x1 convs
 * straight on the activation), transposed convolutions as one SGEMM into columns then an
 * overlap-add (the depthwise upsample by its taps), the transformer's projections and MLP
 * as SGEMMs over all time steps, attention per head in blocks of `window` queries (one
 * SGEMM for the scores of a block against the keys it can see, one for P V), and each
 * codebook stage's search as one SGEMM (||e||^2 - 2 r.e) over every frame; graph,
 * padding, LayerNorm, RoPE and the RVQ loop from impls/common/mimi_net.c. */
#include <math.h>
#include <stdlib.h>

#include <cblas.h>

#include "blas_impls.h"
#include "mimi_net.h"
#include "nndtype.h"

static void bias_rows(float *y, const float *b, int rows, long long n)
{
    for (int o = 0; o < rows; o++)
        for (long long t = 0; t < n; t++)
            y[(size_t)o * (size_t)n + (size_t)t] = b ? b[o] : 0.0f;
}

/* y [cout][lout] = W [cout][cin k] . col [cin k][lout] + b; grouped convs by their taps. */
static void conv(const mn_conv *c, const float *xp, long long lp, float *y, long long lout,
                 float *col)
{
    if (c->groups != 1) {
        int cig = c->cin / c->groups, cog = c->cout / c->groups;
        for (int o = 0; o < c->cout; o++)
            for (long long t = 0; t < lout; t++) {
                float s = c->b ? c->b[o] : 0.0f;
                for (int i = 0; i < cig; i++)
                    for (int k = 0; k < c->k; k++)
                        s += c->w[((size_t)o * cig + i) * c->k + k] *
                             xp[(size_t)((o / cog) * cig + i) * lp + t * c->stride +
                                (long long)k * c->dil];
                y[(size_t)o * lout + t] = s;
            }
        return;
    }
    int K = c->cin * c->k;
    const float *B = xp;
    if (c->k != 1 || c->stride != 1 || lp != lout) {
        for (int i = 0; i < c->cin; i++)
            for (int k = 0; k < c->k; k++) {
                float *dst = col + ((size_t)i * c->k + k) * (size_t)lout;
                const float *src = xp + (size_t)i * (size_t)lp + (size_t)k * c->dil;
                if (c->stride == 1)
                    memcpy(dst, src, (size_t)lout * sizeof(float));
                else
                    for (long long t = 0; t < lout; t++)
                        dst[t] = src[t * c->stride];
            }
        B = col;
    }
    bias_rows(y, c->b, c->cout, lout);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, c->cout, (int)lout, K, 1.0f, c->w,
                K, B, (int)lout, 1.0f, y, (int)lout);
}

/* Z [cout k][l] = W^T . x, W [cin][cout k]; then y[o][t s + k] += Z[o k + k][t]. Grouped
 * (the depthwise upsample): each input channel's taps added straight. */
static void convtr(const mn_conv *c, const float *x, long long l, float *y, float *z)
{
    long long full = (l - 1) * c->stride + c->k;
    bias_rows(y, c->b, c->cout, full);
    if (c->groups != 1) {
        int cig = c->cin / c->groups, cog = c->cout / c->groups;
        for (int i = 0; i < c->cin; i++)
            for (int j = 0; j < cog; j++) {
                float *yo = y + (size_t)((i / cig) * cog + j) * (size_t)full;
                const float *w = c->w + ((size_t)i * cog + j) * c->k;
                for (long long t = 0; t < l; t++)
                    for (int k = 0; k < c->k; k++)
                        yo[t * c->stride + k] += w[k] * x[(size_t)i * l + t];
            }
        return;
    }
    int ok = c->cout * c->k;
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, ok, (int)l, c->cin, 1.0f, c->w, ok, x,
                (int)l, 0.0f, z, (int)l);
    for (int o = 0; o < c->cout; o++) {
        float *yo = y + (size_t)o * (size_t)full;
        for (int k = 0; k < c->k; k++) {
            const float *zr = z + ((size_t)o * c->k + k) * (size_t)l;
            for (long long t = 0; t < l; t++)
                yo[t * c->stride + k] += zr[t];
        }
    }
}

static void linear(const float *x, long long rows, int in, const float *w, int out, float *y)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, out, in, 1.0f, x, in, w,
                in, 0.0f, y, out);
}

/* Per head, queries in blocks of W = window: the block [q0, q1) sees keys [k0, q1), k0 =
 * max(0, q0 - W + 1); S = Q K^T / sqrt(dh) (one SGEMM), the keys outside a row's window
 * dropped by its softmax, O = P V (one SGEMM). s holds 2 W^2 floats. */
static void attention(const float *q, const float *k, const float *v, long long T, int heads,
                      int dh, int window, float *o, float *s)
{
    int D = heads * dh;
    long long W = window < T ? window : T;
    float scale = 1.0f / sqrtf((float)dh);
    for (int h = 0; h < heads; h++)
        for (long long q0 = 0; q0 < T; q0 += W) {
            long long q1 = q0 + W < T ? q0 + W : T, k0 = q0 + 1 > W ? q0 + 1 - W : 0;
            int nq = (int)(q1 - q0), nk = (int)(q1 - k0);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nq, nk, dh, scale,
                        q + (size_t)q0 * D + (size_t)h * dh, D,
                        k + (size_t)k0 * D + (size_t)h * dh, D, 0.0f, s, nk);
            for (int r = 0; r < nq; r++) {
                long long t = q0 + r, first = t + 1 > window ? t + 1 - window : 0;
                float *row = s + (size_t)r * nk, mx = -INFINITY, sum = 0;
                for (long long j = k0; j < q1; j++)
                    if (j >= first && j <= t)
                        mx = fmaxf(mx, row[j - k0]);
                for (long long j = k0; j < q1; j++) {
                    float p = j >= first && j <= t ? expf(row[j - k0] - mx) : 0.0f;
                    row[j - k0] = p;
                    sum += p;
                }
                for (int j = 0; j < nk; j++)
                    row[j] /= sum;
            }
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nq, dh, nk, 1.0f, s, nk,
                        v + (size_t)k0 * D + (size_t)h * dh, D, 0.0f,
                        o + (size_t)q0 * D + (size_t)h * dh, D);
        }
}

/* S [F][K] = r . cb^T; code = argmin_k ||e_k||^2 - 2 S (||r||^2 is common to a row). */
static void nearest(const float *r, long long F, int Q, const float *cb, const float *norm2,
                    int K, int *idx, float *S)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)F, K, Q, 1.0f, r, Q, cb, Q,
                0.0f, S, K);
    for (long long t = 0; t < F; t++) {
        const float *s = S + (size_t)t * K;
        float best = INFINITY;
        int bi = 0;
        for (int k = 0; k < K; k++) {
            float d = norm2[k] - 2.0f * s[k];
            if (d < best) {
                best = d;
                bi = k;
            }
        }
        idx[t] = bi;
    }
}

static const mn_kernels kernels = {.conv = conv, .convtr = convtr, .linear = linear,
                                   .attention = attention, .nearest = nearest};

int mimi_blas_supports(const void *ctx, const sono_params *p, char *why, size_t n)
{
    (void)ctx;
    long long th = sono_param_int(p, "threads", 1);
    if (th < 1 || th > 1024 || (th > 1 && openblas_get_parallel() == 0)) {
        snprintf(why, n, "threads=%lld needs a threaded OpenBLAS (1..1024)", th);
        return SONO_EUNSUPPORTED;
    }
    mn_model m;
    return mn_dims(p, &m, why, n) ? SONO_EUNSUPPORTED : 0;
}

void mimi_blas_teardown(void *st)
{
    mn_state_free(st);
}

int mimi_blas_setup(const void *ctx, const sono_params *p, void **stp, sono_error *err)
{
    (void)ctx;
    int rc = mn_state_setup(p, &kernels, "blas/mimi", (mn_state **)stp, err);
    if (!rc)
        openblas_set_num_threads((int)sono_param_int(p, "threads", 1));
    return rc;
}

int mimi_blas_load(void *st, const sono_buf *in, sono_error *err)
{
    return mn_state_load(st, in, err);
}

int mimi_blas_run(void *st)
{
    mn_state_run(st);
    return 0;
}

int mimi_blas_store(void *st, sono_buf *out, sono_error *err)
{
    return mn_state_store(st, out, err);
}

size_t mimi_blas_workspace(void *vst)
{
    const mn_state *st = vst;
    return st->m.weight_floats * sizeof(float) + st->r.bytes;
}

int mimi_blas_describe(void *vst, char *buf, size_t n)
{
    const mn_model *m = &((const mn_state *)vst)->m;
    snprintf(buf, n, "%s; core %s; threads=%d; weights: %s; hidden %d, %d layers, %d heads, "
             "window %d, n_q %d of %d, %lld frames of %d samples", openblas_get_config(),
             openblas_get_corename(), openblas_get_num_threads(), m->path, m->c.hidden,
             m->c.layers, m->c.heads, m->c.window, m->nq, m->c.nq_max, m->frames,
             m->c.frame_hop);
    nn_dtype_append(buf, n, m->dtnote); /* issue 26: float32 SGEMM on rounded inputs */
    return 0;
}
