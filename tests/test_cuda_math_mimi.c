/* test_cuda_math_mimi.c — cuda/mimi's kernel arithmetic without a GPU: mi_math.h and
 * mi_mem.h compiled by cc. ELU and GELU against double; the padded im2col's indices
 * against a padded copy made by the definition (zeros, and the downsample's replicated
 * edges); the causal transposed conv's taps against a brute-force search; RoPE's angle at
 * closed-form points and its rotation; the window mask against its definition; the online
 * softmax over chunks against a two-pass softmax in double; LayerNorm rows with a large
 * offset; the nearest-codeword tie rule under every reduction width against the
 * sequential scan. Then the whole codec assembled on the host the way mimi.c drives its
 * kernels (same graph walk, same fused epilogues, the attention in chunks of 3 keys so the
 * rescale runs) over weights read by impls/common/mimi_net.c, two streams side by side,
 * judged by codec.mimi's own check against its float64 reference in every mode; the buffer
 * plan (mi_mem.h) must bound every size the walk uses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../impls/cuda/mi_math.h"
#include "../impls/cuda/mi_mem.h"
#include "buf.h"
#include "check.h"
#include "op.h"

static void mm_elu_gelu(void **state)
{
    (void)state;
    double worst = 0, worstg = 0;
    for (int i = -8000; i <= 8000; i++) {
        double x = i / 1000.0, want = x > 0 ? x : exp(x) - 1;
        /* relative near 0 (expm1: no cancellation), absolute against max(|x|, 1) */
        worst = fmax(worst, fabs(mi_elu((float)x) - want) / fmax(fabs(want), 1e-30));
        double g = 0.5 * x * (1 + erf(x / sqrt(2.0)));
        worstg = fmax(worstg, fabs(mi_gelu((float)x) - g) / fmax(fabs(x), 1.0));
    }
    print_message("ELU worst relative error %.3g, GELU %.3g\n", worst, worstg);
    assert_true(worst < 4 * 1.2e-7);  /* a few ulps of float: the input's own rounding */
    assert_true(worstg < 8 * 1.2e-7); /* 1 + erf cancels for x << 0, as in every GELU */
    assert_true(mi_elu(0.0f) == 0.0f && mi_elu(2.5f) == 2.5f);
}

/* Each clip padded by the definition: left zeros (or copies of the first sample), the
 * clip, then zeros (or the last sample) to the stride's multiple; col reads tap j of
 * output t at t*stride + j*dil. */
static void mm_im2col(void **state)
{
    (void)state;
    for (int rep = 0; rep < 2; rep++) {
        const long long cin = 3, S = 2, L = 11, k = 4, dil = rep ? 1 : 2, stride = rep ? 2 : 3;
        long long keff = (k - 1) * dil + 1, left = keff - stride, lout = (L + stride - 1) / stride;
        long long lp = left + lout * stride + keff; /* room for every tap */
        double x[3 * 2 * 11], pad[3][2][64];
        for (long long e = 0; e < cin * S * L; e++)
            x[e] = 1 + e;
        for (long long i = 0; i < cin; i++)
            for (long long s = 0; s < S; s++)
                for (long long u = 0; u < lp; u++) {
                    long long v = u - left;
                    const double *c = x + (i * S + s) * L;
                    pad[i][s][u] = v >= 0 && v < L ? c[v] : !rep ? 0 : v < 0 ? c[0] : c[L - 1];
                }
        for (long long e = 0; e < cin * k * S * lout; e++) {
            long long t = e % lout, s = (e / lout) % S, row = e / (lout * S);
            long long j = mi_col_src(e, k, stride, dil, L, left, lout, S, rep);
            double got = j >= 0 ? x[j] : 0, want = pad[row / k][s][t * stride + (row % k) * dil];
            assert_true(got == want);
        }
    }
}

static void mm_transposed_taps(void **state)
{
    (void)state;
    for (long long s = 1; s <= 5; s++)
        for (long long k = 1; k <= 2 * s + 1; k++)
            for (long long L = 1; L <= 6; L++)
                for (long long u = 0; u < L * s; u++) {
                    long long lo = L, hi = -1; /* brute force: t with 0 <= u - t s < k */
                    for (long long t = 0; t < L; t++)
                        if (u - t * s >= 0 && u - t * s < k) {
                            lo = t < lo ? t : lo;
                            hi = t;
                        }
                    long long f = mi_tr_first(u, k, s), l = mi_tr_last(u, s, L);
                    if (hi < 0)
                        assert_true(f > l);
                    else {
                        assert_int_equal(f, lo);
                        assert_int_equal(l, hi);
                    }
                }
}

static void mm_rope_mask_epilogue(void **state)
{
    (void)state;
    /* theta^(-2i/dh) = 10000^(-1/2) = 0.01 at i = 16, dh = 64; 1 at i = 0 */
    assert_true(fabs(mi_rope_angle(7, 16, 64, 10000.0) - 0.07) < 1e-15);
    assert_true(mi_rope_angle(5, 0, 64, 10000.0) == 5.0);
    float y1, y2; /* a quarter turn: (x1, x2) -> (-x2, x1) */
    mi_rope(3.0f, 4.0f, 0.0f, 1.0f, &y1, &y2);
    assert_true(y1 == -4.0f && y2 == 3.0f);
    double a = 0.3;
    mi_rope(1.5f, -2.0f, (float)cos(a), (float)sin(a), &y1, &y2);
    assert_true(fabs(y1 - (1.5 * cos(a) + 2.0 * sin(a))) < 1e-6);
    assert_true(fabs(y2 - (-2.0 * cos(a) + 1.5 * sin(a))) < 1e-6);
    /* query t sees exactly the keys t - window < j <= t */
    for (long long w = 1; w <= 6; w++)
        for (long long t = 0; t < 15; t++)
            for (long long j = 0; j < 15; j++) {
                int want = j > t - w && j <= t, got = j >= mi_attn_first(t, w) && j <= t;
                assert_int_equal(got, want);
            }
    assert_true(mi_epilogue(1.0f, 0.5f, 2.0f, 0) == 3.5f);
    assert_true(fabs(mi_epilogue(-1.0f, 0.25f, -0.25f, 1) - expm1(-1.0)) < 1e-7);
    assert_true(mi_ls_add(1.0f, 0.5f, 4.0f) == 3.0f);
    /* codes [S][n_q][F]: row r = s F + f */
    assert_int_equal(mi_code_at(2 * 25 + 7, 3, 8, 25), (2 * 8 + 3) * 25 + 7);
}

static void mm_online_softmax(void **state)
{
    (void)state;
    enum { N = 300, DV = 3 };
    float s[N], v[N][DV];
    for (int j = 0; j < N; j++) {
        s[j] = (float)(20 * sin(j * 0.07) + (j == 200 ? 60 : 0)); /* the max in a late chunk */
        for (int d = 0; d < DV; d++)
            v[j][d] = (float)cos(j * 0.1 + d);
    }
    for (int ch = 1; ch <= N; ch *= 7) {
        float m = -INFINITY, l = 0, o[DV] = {0};
        for (int c0 = 0; c0 < N; c0 += ch) {
            int n = N - c0 < ch ? N - c0 : ch;
            float mx = -INFINITY, p[N];
            for (int j = 0; j < n; j++)
                mx = fmaxf(mx, s[c0 + j]);
            float mn = fmaxf(m, mx), a = mi_rescale(m, mn), ls = 0;
            for (int j = 0; j < n; j++)
                ls += p[j] = expf(s[c0 + j] - mn);
            l = l * a + ls;
            for (int d = 0; d < DV; d++) {
                float acc = o[d] * a;
                for (int j = 0; j < n; j++)
                    acc += p[j] * v[c0 + j][d];
                o[d] = acc;
            }
            m = mn;
        }
        double dm = -INFINITY, dl = 0, want[DV] = {0};
        for (int j = 0; j < N; j++)
            dm = fmax(dm, s[j]);
        for (int j = 0; j < N; j++) {
            double w = exp(s[j] - dm);
            dl += w;
            for (int d = 0; d < DV; d++)
                want[d] += w * v[j][d];
        }
        for (int d = 0; d < DV; d++) /* a float sum of N terms each within 1 */
            assert_true(fabs(o[d] / l - want[d] / dl) < N * 1.2e-7);
    }
    assert_true(mi_rescale(-INFINITY, 3.0f) == 0.0f);
}

static void mm_layernorm(void **state)
{
    (void)state;
    enum { D = 512 };
    float x[D];
    double mu = 0, var = 0;
    for (int c = 0; c < D; c++)
        mu += x[c] = 3000.0f + (float)sin(c * 0.37);
    mu /= D;
    for (int c = 0; c < D; c++)
        var += (x[c] - mu) * (x[c] - mu);
    var /= D;
    float rstd = mi_ln_rstd(var, 1e-5);
    for (int c = 0; c < D; c++) {
        double want = (x[c] - mu) / sqrt(var + 1e-5) * 1.5 + 0.25;
        /* x - mean in float: exact to x's ulp at 3000 (2.4e-4), times rstd ~1.4 */
        assert_true(fabs(mi_ln(x[c], (float)mu, rstd, 1.5f, 0.25f) - want) < 1e-3);
    }
}

/* A block's search as mi_nearest does it: W threads each scan a stride, then a tree. */
static int tree_nearest(const float *d, int K, int W)
{
    float bd[64];
    int bk[64];
    for (int t = 0; t < W; t++) {
        bd[t] = INFINITY;
        bk[t] = K;
        for (int c = t; c < K; c += W)
            if (mi_nn_better(d[c], c, bd[t], bk[t])) {
                bd[t] = d[c];
                bk[t] = c;
            }
    }
    for (int st = W / 2; st > 0; st /= 2)
        for (int t = 0; t < st; t++)
            if (mi_nn_better(bd[t + st], bk[t + st], bd[t], bk[t])) {
                bd[t] = bd[t + st];
                bk[t] = bk[t + st];
            }
    return bk[0] < K ? bk[0] : 0;
}

static void mm_nearest_ties(void **state)
{
    (void)state;
    unsigned r = 12345;
    for (int trial = 0; trial < 2000; trial++) {
        int K = 1 + trial % 97;
        float d[97];
        for (int c = 0; c < K; c++) {
            r = r * 1103515245u + 12345u;
            d[c] = (float)((r >> 16) % 4); /* few values: ties everywhere */
        }
        int want = 0; /* the sequential scan with strict < */
        for (int c = 1; c < K; c++)
            want = d[c] < d[want] ? c : want;
        for (int W = 1; W <= 64; W *= 2)
            assert_int_equal(tree_nearest(d, K, W), want);
    }
    float inf[3] = {INFINITY, INFINITY, INFINITY};
    assert_int_equal(tree_nearest(inf, 3, 2), 0);
    /* ||e||^2 - 2 r.e is ||r - e||^2 less ||r||^2: r = (1, 0), e0 = (0, 1) at distance
     * 2, e1 = (2, 0.5) at 1.25 */
    assert_true(1.0f + mi_nn_dist(1.0f, 0.0f) == 2.0f);
    assert_true(1.0f + mi_nn_dist(4.25f, 2.0f) == 1.25f);
}

/* ---- the codec assembled from the kernels' arithmetic, mimi.c's walk on the host ------ */
typedef struct hx {
    const mn_model *m;
    mi_plan plan;
    float *buf[3], *col, *th, *tu, *tq, *tk, *tv, *ta, *tf, *e, *res, *sc, *cs, *sn;
    int *codes;
    size_t act_n, col_n;
} hx;

#define HX_CHUNK 3 /* keys per online-softmax pass: small, so the rescale runs */

static void *zalloc(size_t n)
{
    void *p = calloc(n ? n : 1, 1);
    assert_non_null(p);
    return p;
}

/* y [O][N] = W [O][I] B [I][N] (row-major, float sums) */
static void h_gemm(const float *W, int O, int I, const float *B, long long N, float *y)
{
    for (int o = 0; o < O; o++)
        for (long long n = 0; n < N; n++) {
            float s = 0;
            for (int i = 0; i < I; i++)
                s += W[(size_t)o * I + i] * B[(size_t)i * N + n];
            y[(size_t)o * N + n] = s;
        }
}

/* y [R][O] = x [R][I] w [O][I]^T (+ beta y) */
static void h_linear(const float *x, long long R, int I, const float *w, int O, float *y,
                     float beta)
{
    for (long long r = 0; r < R; r++)
        for (int o = 0; o < O; o++) {
            float s = 0;
            for (int i = 0; i < I; i++)
                s += x[(size_t)r * I + i] * w[(size_t)o * I + i];
            y[(size_t)r * O + o] = s + beta * y[(size_t)r * O + o];
        }
}

static void h_conv(hx *h, const mn_conv *c, const float *x, long long L, int elu, float *y,
                   const float *res, int act, float *out, long long *lo)
{
    int S = h->m->S;
    long long keff = (long long)(c->k - 1) * c->dil + 1, left = keff - c->stride;
    long long n = (L + c->stride - 1) / c->stride, N = n * S;
    int kk = c->cin * c->k;
    *lo = n;
    assert_true((size_t)c->cout * (size_t)N <= h->act_n); /* the plan bounds the output */
    const float *B = x;
    if (elu || c->k != 1 || c->stride != 1 || left != 0) {
        assert_true((size_t)kk * (size_t)N <= h->col_n);
        for (long long e = 0; e < (long long)kk * N; e++) {
            long long j = mi_col_src(e, c->k, c->stride, c->dil, L, left, n, S, c->replicate);
            float v = j >= 0 ? x[j] : 0.0f;
            h->col[e] = elu ? mi_elu(v) : v;
        }
        B = h->col;
    }
    h_gemm(c->w, c->cout, kk, B, N, y);
    for (long long e = 0; e < (long long)c->cout * N; e++)
        out[e] = mi_epilogue(y[e], c->b ? c->b[e / N] : 0.0f, res ? res[e] : 0.0f, act);
}

static void h_convtr(hx *h, const mn_conv *c, const float *x, long long L, int act, float *y)
{
    int S = h->m->S, ok = c->cout * c->k;
    long long N = L * S, lo = L * c->stride;
    assert_true((size_t)ok * (size_t)N <= h->col_n);
    assert_true((size_t)c->cout * (size_t)(N * c->stride) <= h->act_n);
    for (int r = 0; r < ok; r++) /* Z [cout k][N] = W^T x, W [cin][cout k] */
        for (long long n = 0; n < N; n++) {
            float s = 0;
            for (int i = 0; i < c->cin; i++)
                s += c->w[(size_t)i * ok + r] * x[(size_t)i * N + n];
            h->col[(size_t)r * N + n] = s;
        }
    for (long long e = 0; e < (long long)c->cout * S * lo; e++) {
        long long u = e % lo, s = (e / lo) % S, o = e / (lo * S);
        float acc = 0;
        for (long long t = mi_tr_first(u, c->k, c->stride); t <= mi_tr_last(u, c->stride, L);
             t++)
            acc += h->col[((o * c->k + (u - t * c->stride)) * S + s) * L + t];
        y[e] = mi_epilogue(acc, c->b ? c->b[o] : 0.0f, 0.0f, act);
    }
}

static void h_layers(hx *h, int side, int *C, long long *L)
{
    const mn_model *m = h->m;
    float **B = h->buf;
    long long t;
    int fused = 0;
    for (int i = 0; i < m->n[side]; i++) {
        const mn_layer *y = &m->l[side][i];
        int post = i + 1 < m->n[side] && m->l[side][i + 1].kind == MN_ELU, swap = 1;
        switch (y->kind) {
        case MN_ELU:
            if (!fused)
                for (long long e = 0; e < (long long)*C * m->S * *L; e++)
                    B[0][e] = mi_elu(B[0][e]);
            swap = 0;
            break;
        case MN_CONV:
            h_conv(h, &y->c[0], B[0], *L, 0, B[1], NULL, post, B[1], L);
            *C = y->c[0].cout;
            break;
        case MN_CONVTR:
            h_convtr(h, &y->c[0], B[0], *L, post, B[1]);
            *L *= y->c[0].stride;
            *C = y->c[0].cout;
            break;
        case MN_RES:
            h_conv(h, &y->c[0], B[0], *L, 1, B[2], NULL, 1, B[2], &t);
            h_conv(h, &y->c[1], B[2], *L, 0, B[1], B[0], post, B[0], &t);
            swap = 0;
            break;
        }
        fused = y->kind != MN_ELU && post;
        if (swap) {
            float *sw = B[0];
            B[0] = B[1];
            B[1] = sw;
        }
    }
}

static void h_transpose(const float *in, long long rows, long long cols, float *out)
{
    for (long long e = 0; e < rows * cols; e++)
        out[(e % cols) * rows + e / cols] = in[e];
}

static void h_layernorm(const float *x, long long R, int D, const float *g, const float *b,
                        double eps, float *y)
{
    for (long long r = 0; r < R; r++) {
        const float *xr = x + (size_t)r * D;
        double mu = 0, q = 0;
        for (int c = 0; c < D; c++)
            mu += xr[c];
        mu /= D;
        for (int c = 0; c < D; c++)
            q += ((double)xr[c] - mu) * ((double)xr[c] - mu);
        float rstd = mi_ln_rstd(q / D, eps);
        for (int c = 0; c < D; c++)
            y[(size_t)r * D + c] = mi_ln(xr[c], (float)mu, rstd, g[c], b[c]);
    }
}

static void h_rope(hx *h, float *x, long long R, long long T)
{
    const mn_cfg *c = &h->m->c;
    int half = c->dh / 2;
    for (long long r = 0; r < R; r++)
        for (int hd = 0; hd < c->heads; hd++)
            for (int i = 0; i < half; i++) {
                float *v = x + (size_t)r * c->hidden + (size_t)hd * c->dh, y1, y2;
                long long t = r % T;
                mi_rope(v[i], v[i + half], h->cs[t * half + i], h->sn[t * half + i], &y1, &y2);
                v[i] = y1;
                v[i + half] = y2;
            }
}

/* mi_attention's loop for one (row, head), HX_CHUNK keys a pass */
static void h_attention(hx *h, long long T)
{
    const mn_cfg *c = &h->m->c;
    long long R = T * h->m->S, D = c->hidden;
    int dh = c->dh;
    float scale = 1.0f / sqrtf((float)dh);
    for (long long r = 0; r < R; r++)
        for (int hd = 0; hd < c->heads; hd++) {
            long long t = r % T, base = r - t, off = (long long)hd * dh;
            const float *q = h->tq + r * D + off;
            float m = -INFINITY, l = 0, p[HX_CHUNK], *o = h->ta + r * D + off;
            for (int d = 0; d < dh; d++)
                o[d] = 0;
            for (long long c0 = mi_attn_first(t, c->window); c0 <= t; c0 += HX_CHUNK) {
                int n = (int)(t + 1 - c0 < HX_CHUNK ? t + 1 - c0 : HX_CHUNK);
                float mx = -INFINITY, ls = 0;
                for (int j = 0; j < n; j++) {
                    const float *k = h->tk + (base + c0 + j) * D + off;
                    float s = 0;
                    for (int d = 0; d < dh; d++)
                        s += q[d] * k[d];
                    p[j] = s * scale;
                    mx = fmaxf(mx, p[j]);
                }
                float mn = fmaxf(m, mx), a = mi_rescale(m, mn);
                for (int j = 0; j < n; j++)
                    ls += p[j] = expf(p[j] - mn);
                l = l * a + ls;
                for (int d = 0; d < dh; d++) {
                    float acc = o[d] * a;
                    for (int j = 0; j < n; j++)
                        acc += p[j] * h->tv[(base + c0 + j) * D + off + d];
                    o[d] = acc;
                }
                m = mn;
            }
            for (int d = 0; d < dh; d++)
                o[d] /= l;
        }
}

static void h_transformer(hx *h, int side, long long T)
{
    const mn_model *m = h->m;
    const mn_cfg *c = &m->c;
    int D = c->hidden;
    long long R = T * m->S;
    h_transpose(h->buf[0], D, R, h->th);
    for (int l = 0; l < c->layers; l++) {
        const mn_tlayer *w = &m->t[side][l];
        h_layernorm(h->th, R, D, w->ln1g, w->ln1b, c->eps, h->tu);
        h_linear(h->tu, R, D, w->wq, D, h->tq, 0);
        h_linear(h->tu, R, D, w->wk, D, h->tk, 0);
        h_linear(h->tu, R, D, w->wv, D, h->tv, 0);
        h_rope(h, h->tq, R, T);
        h_rope(h, h->tk, R, T);
        h_attention(h, T);
        h_linear(h->ta, R, D, w->wo, D, h->tu, 0);
        for (long long e = 0; e < R * D; e++)
            h->th[e] = mi_ls_add(h->th[e], w->ls1[e % D], h->tu[e]);
        h_layernorm(h->th, R, D, w->ln2g, w->ln2b, c->eps, h->tu);
        h_linear(h->tu, R, D, w->w1, c->ffn, h->tf, 0);
        for (long long e = 0; e < R * c->ffn; e++)
            h->tf[e] = mi_gelu(h->tf[e]);
        h_linear(h->tf, R, c->ffn, w->w2, D, h->tu, 0);
        for (long long e = 0; e < R * D; e++)
            h->th[e] = mi_ls_add(h->th[e], w->ls2[e % D], h->tu[e]);
    }
    h_transpose(h->th, R, D, h->buf[0]);
}

static void h_encode(hx *h, const float *x)
{
    const mn_model *m = h->m;
    const mn_cfg *c = &m->c;
    int C = 1, D = c->hidden, Q = c->cdim, K = c->codebook;
    long long L = m->samples, F, R = m->frames * m->S;
    memcpy(h->buf[0], x, (size_t)(L * m->S) * sizeof *x);
    h_layers(h, 0, &C, &L);
    assert_int_equal(L, h->plan.Te);
    h_transformer(h, 0, L);
    h_conv(h, &m->down, h->buf[0], L, 0, h->buf[1], NULL, 0, h->buf[1], &F);
    assert_int_equal(F, m->frames);
    h_transpose(h->buf[1], D, R, h->e);
    for (int v = 0; v < 2; v++) {
        int q0 = v ? c->nsem : 0, q1 = v ? m->nq : c->nsem;
        if (q0 >= q1)
            continue;
        h_linear(h->e, R, D, m->q[v].in, Q, h->res, 0);
        for (int q = q0; q < q1; q++) {
            const float *cb = m->q[v].cb + (size_t)(q - q0) * K * Q;
            const float *n2 = m->q[v].norm2 + (size_t)(q - q0) * K;
            h_linear(h->res, R, Q, cb, K, h->sc, 0);
            for (long long r = 0; r < R; r++) {
                float *d = h->tf; /* K distances of the row */
                for (int k = 0; k < K; k++)
                    d[k] = mi_nn_dist(n2[k], h->sc[(size_t)r * K + k]);
                int code = tree_nearest(d, K, 32);
                h->codes[mi_code_at(r, q, m->nq, m->frames)] = code;
                for (int j = 0; j < Q; j++)
                    h->res[(size_t)r * Q + j] -= cb[(size_t)code * Q + j];
            }
        }
    }
}

static void h_decode(hx *h)
{
    const mn_model *m = h->m;
    const mn_cfg *c = &m->c;
    int D = c->hidden, Q = c->cdim, K = c->codebook, C = D;
    long long F = m->frames, R = F * m->S, L = 2 * F;
    for (int v = 0; v < 2; v++) {
        int q0 = v ? c->nsem : 0, q1 = v ? m->nq : c->nsem;
        if (q0 >= q1)
            continue;
        for (long long e = 0; e < R * Q; e++) {
            long long r = e / Q;
            float acc = 0;
            for (int q = q0; q < q1; q++) {
                int k = h->codes[mi_code_at(r, q, m->nq, F)];
                k = k < 0 ? 0 : k >= K ? K - 1 : k;
                acc += m->q[v].cb[((size_t)(q - q0) * K + k) * Q + e % Q];
            }
            h->res[e] = acc;
        }
        h_linear(h->res, R, Q, m->q[v].out, D, h->e, v ? 1.0f : 0.0f);
    }
    h_transpose(h->e, R, D, h->buf[1]);
    const mn_conv *u = &m->up; /* the grouped upsample by its taps */
    long long lo = F * u->stride, cig = u->cin / u->groups, cog = u->cout / u->groups;
    for (long long e = 0; e < (long long)u->cout * m->S * lo; e++) {
        long long t0 = e % lo, s = (e / lo) % m->S, o = e / (lo * m->S), g = o / cog;
        float acc = 0;
        for (long long i = g * cig; i < (g + 1) * cig; i++)
            for (long long t = mi_tr_first(t0, u->k, u->stride);
                 t <= mi_tr_last(t0, u->stride, F); t++)
                acc += h->buf[1][(i * m->S + s) * F + t] *
                       u->w[(i * cog + o % cog) * u->k + (t0 - t * u->stride)];
        h->buf[0][e] = mi_epilogue(acc, u->b ? u->b[o] : 0.0f, 0.0f, 0);
    }
    assert_int_equal(L, h->plan.Td);
    h_transformer(h, 1, L);
    h_layers(h, 1, &C, &L);
    assert_int_equal(C, 1);
    assert_int_equal(L, F * c->frame_hop);
}

static void hx_alloc(hx *h, const mn_model *m)
{
    const mn_cfg *c = &m->c;
    memset(h, 0, sizeof *h);
    h->m = m;
    mi_plan_walk(c, m->samples, m->frames, &h->plan);
    size_t S = (size_t)m->S, R = S * (size_t)m->frames, TR = S * (size_t)mi_tmax(&h->plan);
    size_t D = (size_t)c->hidden, f = sizeof(float);
    h->act_n = (size_t)(S * h->plan.act);
    h->col_n = (size_t)(S * h->plan.col);
    for (int i = 0; i < 3; i++)
        h->buf[i] = zalloc(h->act_n * f);
    h->col = zalloc(h->col_n * f);
    float **t[] = {&h->th, &h->tu, &h->tq, &h->tk, &h->tv, &h->ta};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        *t[i] = zalloc(TR * D * f);
    /* tf doubles as a row's K distances in h_encode */
    size_t nf = TR * (size_t)c->ffn > (size_t)c->codebook ? TR * (size_t)c->ffn
                                                           : (size_t)c->codebook;
    h->tf = zalloc(nf * f);
    h->e = zalloc(R * D * f);
    h->res = zalloc(R * (size_t)c->cdim * f);
    h->sc = zalloc(R * (size_t)c->codebook * f);
    h->codes = zalloc(R * (size_t)m->nq * sizeof(int));
    long long T = mi_tmax(&h->plan);
    int half = c->dh / 2;
    h->cs = zalloc((size_t)(T * half) * f);
    h->sn = zalloc((size_t)(T * half) * f);
    for (long long p = 0; p < T; p++)
        for (int i = 0; i < half; i++) {
            double a = mi_rope_angle(p, i, c->dh, c->theta);
            h->cs[p * half + i] = (float)cos(a);
            h->sn[p * half + i] = (float)sin(a);
        }
}

static void hx_free(hx *h)
{
    void *p[] = {h->buf[0], h->buf[1], h->buf[2], h->col, h->th, h->tu, h->tq, h->tk,
                 h->tv, h->ta, h->tf, h->e, h->res, h->sc, h->codes, h->cs, h->sn};
    for (size_t i = 0; i < sizeof p / sizeof p[0]; i++)
        free(p[i]);
}

static char mm_cache[256];

static sono_params small_params(const char *mode, int nq)
{
    sono_params p = {.count = 16,
                     .v = {{.name = "mode", .type = SONO_PSTR, .s = mode},
                           {.name = "n_q", .type = SONO_PINT, .i = nq},
                           {.name = "seconds", .type = SONO_PREAL, .r = 0.05},
                           {.name = "filters", .type = SONO_PINT, .i = 4},
                           {.name = "hidden", .type = SONO_PINT, .i = 32},
                           {.name = "layers", .type = SONO_PINT, .i = 2},
                           {.name = "heads", .type = SONO_PINT, .i = 4},
                           {.name = "ffn", .type = SONO_PINT, .i = 64},
                           {.name = "codebooks", .type = SONO_PINT, .i = 8},
                           {.name = "codebook_size", .type = SONO_PINT, .i = 64},
                           {.name = "codebook_dim", .type = SONO_PINT, .i = 16},
                           {.name = "window", .type = SONO_PINT, .i = 8},
                           {.name = "ratios", .type = SONO_PSTR, .s = "4.3.2"},
                           {.name = "streams", .type = SONO_PINT, .i = 2},
                           {.name = "seed", .type = SONO_PINT, .i = 3},
                           {.name = "threads", .type = SONO_PINT, .i = 1}}};
    return p;
}

/* Two clips of a chirp plus a little seeded noise (different in each clip). */
static void make_signal(float *x, long long n)
{
    unsigned r = 99;
    for (long long i = 0; i < n; i++) {
        r = r * 1664525u + 1013904223u;
        x[i] = (float)(0.4 * sin(0.002 * (double)i * (double)i / 24.0 + 0.3 * (double)(i / 1200)) +
                       0.05 * ((double)(r >> 8) / 16777216.0 - 0.5));
    }
}

/* One mode: the host walk's output judged by the op's check against its reference. */
static void run_mode(const char *mode, int nq, const int *codes_in, int *codes_out)
{
    const sono_op *op = sono_op_find("codec.mimi");
    assert_non_null(op);
    sono_params p = small_params(mode, nq);
    sono_error err = {0};
    if (op->validate(&p, &err)) /* writes weights=random's file into this test's cache */
        fail_msg("validate: %s", err.msg);
    sono_buf in, out, ref;
    op->shapes(&p, &in, &out);
    ref = out;
    if (ref.dtype == SONO_F32)
        ref.dtype = SONO_F64;
    assert_int_equal(sono_buf_alloc(&in, NULL), 0);
    assert_int_equal(sono_buf_alloc(&out, NULL), 0);
    assert_int_equal(sono_buf_alloc(&ref, NULL), 0);
    mn_model *m = zalloc(sizeof *m);
    if (mn_load(&p, m, &err))
        fail_msg("mn_load: %s", err.msg);
    assert_int_equal(m->S, 2);
    long long na = m->frames * m->c.frame_hop;
    if (codes_in)
        memcpy(in.data, codes_in, in.nbytes);
    else
        make_signal(in.data, sono_buf_elems(&in));
    if (op->reference(&p, &in, &ref, &err))
        fail_msg("reference: %s", err.msg);
    hx h;
    hx_alloc(&h, m);
    if (!codes_in)
        h_encode(&h, in.data);
    else
        memcpy(h.codes, codes_in, in.nbytes);
    if (!strcmp(mode, "encode"))
        memcpy(out.data, h.codes, out.nbytes);
    else {
        h_decode(&h);
        long long len = !strcmp(mode, "roundtrip") ? m->samples : na;
        for (int s = 0; s < m->S; s++)
            memcpy((float *)out.data + s * len, h.buf[0] + s * na, (size_t)len * sizeof(float));
    }
    double tol = op->tolerance(&p, SONO_ERR_LINEAR);
    sono_check c = {0};
    if (op->check(&p, &in, &out, &ref, tol, &c, &err))
        fail_msg("check: %s", err.msg);
    print_message("host-assembled cuda/mimi %s n_q %d: %s, rel L2 %.3g (tol %.3g)\n", mode, nq,
                  c.detail, c.rel_l2, tol);
    assert_true(c.pass);
    if (!strcmp(mode, "encode")) {
        assert_int_equal(c.mismatches, 0);
        if (codes_out)
            memcpy(codes_out, ref.data, ref.nbytes); /* the reference's codes for decode */
    } else /* a float32 walk is not the float64 network: zero would mean no check */
        assert_true(c.rel_l2 > 0 && c.nonfinite == 0);
    hx_free(&h);
    mn_free(m);
    free(m);
    sono_buf_free(&in);
    sono_buf_free(&out);
    sono_buf_free(&ref);
}

static void mm_codec_host(void **state)
{
    (void)state;
    int codes[2 * 8 * 25];
    run_mode("encode", 1, NULL, NULL);
    run_mode("encode", 3, NULL, codes);
    run_mode("decode", 3, codes, NULL);
    run_mode("roundtrip", 8, NULL, NULL);
}

/* The plan at kyutai/mimi's defaults: the buffers of 10 s and the weights' count. */
static void mm_plan_default(void **state)
{
    (void)state;
    mn_cfg c = {.rate = 24000, .hidden = 512, .filters = 64, .nratio = 4,
                .ratio = {8, 6, 5, 4}, .kernel = 7, .last_kernel = 3, .res_kernel = 3,
                .dil_growth = 2, .nres = 1, .compress = 2, .codebook = 2048, .cdim = 256,
                .nq_max = 32, .nsem = 1, .groups = 512, .layers = 8, .ffn = 2048,
                .heads = 8, .dh = 64, .window = 250, .down_k = 4};
    mi_plan p;
    mi_plan_walk(&c, 240000, 125, &p);
    assert_int_equal(p.Te, 250); /* 240000 / 960 */
    assert_int_equal(p.Td, 250);
    /* by hand: the widest activation is the input conv's 64 x 240000 (the decoder's last
     * transposed conv gives the same); the widest columns are the residual blocks' k 3
     * convs at 64 channels (the first in the encoder, the last in the decoder) and the
     * output conv's 64 x 3 taps, all over 240000 samples */
    assert_true(p.act == 64.0 * 240000);
    assert_true(p.col == 64.0 * 3 * 240000);
}

static int mm_setup(void **state)
{
    (void)state;
    snprintf(mm_cache, sizeof mm_cache, "/tmp/sono-mimi-cuda-XXXXXX");
    if (!mkdtemp(mm_cache))
        return -1;
    setenv("XDG_CACHE_HOME", mm_cache, 1);
    return 0;
}

static int mm_teardown(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", mm_cache);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(mm_elu_gelu),      cmocka_unit_test(mm_im2col),
        cmocka_unit_test(mm_transposed_taps), cmocka_unit_test(mm_rope_mask_epilogue),
        cmocka_unit_test(mm_online_softmax), cmocka_unit_test(mm_layernorm),
        cmocka_unit_test(mm_nearest_ties),  cmocka_unit_test(mm_codec_host),
        cmocka_unit_test(mm_plan_default),
    };
    return cmocka_run_group_tests(tests, mm_setup, mm_teardown);
}
