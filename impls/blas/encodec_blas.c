/* encodec_blas.c — blas/encodec for codec.encodec: convolutions as im2col + SGEMM on
 * L2-sized column tiles (1x1 convs straight on the activation, one-output convs as SAXPYs;
 * en_tile.c), transposed convolutions as SGEMM + overlap-add on the same tiles, each LSTM
 * layer's input projection as one SGEMM over all time steps and the recurrence as one
 * SGEMV per step, the codebook search as one SGEMM (||e||^2 - 2 r.e) per stage, the ELU
 * vectorised (en_elu.c) and fused into the residual units' convs; graph, padding and RVQ
 * loop from impls/common. The op's streams (issue 11) sit side by side in each channel's
 * row, so every GEMM's N dimension spans all clips, and the LSTM's recurrence is one SGEMM
 * per step over all clips. */
#include <math.h>
#include <stdlib.h>

#include <cblas.h>

#include "en_elu.h"
#include "en_tile.h"
#include "encodec_blas.h"
#include "encodec_net.h"
#include "encodec_stream.h"
#include "nndtype.h"

/* Columns per tile with T OpenBLAS threads: T tiles' worth, so each thread's share of a
 * call still fills its own core's L2 and the per-call thread handoff stays rare. */
static long long tile_cols(long long rows, int T)
{
    return en_tile_cols(rows) * (T > 1 ? T : 1);
}

static void conv(const en_conv *c, const float *xp, long long lp, int S, float *y,
                 long long lout, float *col)
{
    en_tile_conv(c, xp, lp, S, y, lout, col, c->tile, 0);
}

static void conv_fused_simd(const en_conv *c, const float *xp, long long lp, int S, float *y,
                            long long lout, float *col, int elu, int acc)
{
    en_tile_conv(c, xp, lp, S, y, lout, col, c->tile,
                 (elu ? EN_TILE_ELU | EN_TILE_SIMD : 0) | (acc ? EN_TILE_ACC : 0));
}

static void conv_fused_scalar(const en_conv *c, const float *xp, long long lp, int S,
                              float *y, long long lout, float *col, int elu, int acc)
{
    en_tile_conv(c, xp, lp, S, y, lout, col, c->tile,
                 (elu ? EN_TILE_ELU : 0) | (acc ? EN_TILE_ACC : 0));
}

static void convtr(const en_conv *c, const float *x, long long l, int S, float *y, float *z)
{
    en_tile_convtr(c, x, l, S, y, z, c->tile);
}

static float sigmoid(float v)
{
    return 1.0f / (1.0f + expf(-v));
}

/* scratch: G [S][T][4h] (all input projections, one SGEMM over every clip's steps); per
 * step the recurrence of all S clips: G[s][t] += h_s W_hh^T, an SGEMV for one clip, else
 * one SGEMM with h [S][2h] (lda 2h: h then c per clip) and rows of G T * 4h apart. */
static void lstm(const en_layer *l, int k, const float *x, long long T, int S, float *y,
                 float *hc, float *scratch)
{
    int H = l->h;
    long long ST = T * S, ld = T * 4 * H;
    float *G = scratch;
    for (long long t = 0; t < ST; t++)
        memcpy(G + (size_t)t * 4 * H, l->bias[k], 4 * (size_t)H * sizeof(float));
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)ST, 4 * H, H, 1.0f, x, H,
                l->wih[k], H, 1.0f, G, 4 * H);
    for (long long t = 0; t < T; t++) {
        if (S == 1)
            cblas_sgemv(CblasRowMajor, CblasNoTrans, 4 * H, H, 1.0f, l->whh[k], H, hc, 1, 1.0f,
                        G + (size_t)t * 4 * H, 1);
        else
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, S, 4 * H, H, 1.0f, hc, 2 * H,
                        l->whh[k], H, 1.0f, G + (size_t)t * 4 * H, (int)ld);
        for (int s = 0; s < S; s++) {
            float *g = G + (size_t)s * (size_t)ld + (size_t)t * 4 * H;
            float *h = hc + 2 * (size_t)H * s, *c = h + H;
            float *ys = y + ((size_t)s * (size_t)T + (size_t)t) * H;
            for (int j = 0; j < H; j++) {
                c[j] = sigmoid(g[H + j]) * c[j] + sigmoid(g[j]) * tanhf(g[2 * H + j]);
                h[j] = sigmoid(g[3 * H + j]) * tanhf(c[j]);
                ys[j] = h[j];
            }
        }
    }
}

/* S [F][K] = r . cb^T; code = argmin_k ||e_k||^2 - 2 S (||r||^2 is common to a row). */
static void vq(const float *cb, const float *norm2, int K, int D, const float *r,
               long long F, int *codes, float *S)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)F, K, D, 1.0f, r, D, cb, D,
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
        codes[t] = bi;
    }
}

static void elu_avx2(const float *x, float *y, size_t n)
{
    en_elu(x, y, n, 1);
}

static void elu_scalar(const float *x, float *y, size_t n)
{
    en_elu(x, y, n, 0);
}

/* The ELU path is fixed at setup (en_elu_simd: the CPU, SONO_FASTFFT_SCALAR). */
static const en_kernels kernels_simd = {.conv = conv, .convtr = convtr, .lstm = lstm,
                                        .vq = vq, .elu = elu_avx2,
                                        .conv_fused = conv_fused_simd};
static const en_kernels kernels_scalar = {.conv = conv, .convtr = convtr, .lstm = lstm,
                                          .vq = vq, .elu = elu_scalar,
                                          .conv_fused = conv_fused_scalar};

/* Floats of scratch per layer on all clips: im2col columns, transposed-conv columns, the
 * LSTM's projections, the codebook scores. */
static size_t scratch_for(const en_net *net, const en_layer *l, int which, long long lin)
{
    size_t S = (size_t)net->batch;
    if (!l)
        return S * (size_t)lin * (size_t)net->cfg.codebook;
    const en_conv *c = &l->c[which];
    long long s = c->stride, lout = (lin + s - 1) / s;
    switch (l->kind) {
    case EN_CONV:
    case EN_RES: {
        long long rows = (long long)c->cin * c->k, n = (long long)S * lout,
                  tw = tile_cols(rows, net->threads);
        return (size_t)rows * (size_t)(tw < n ? tw : n);
    }
    case EN_CONVTR: {
        long long rows = (long long)c->cout * c->k, n = (long long)S * lin,
                  tw = tile_cols(rows, net->threads);
        return (size_t)rows * (size_t)(tw < n ? tw : n);
    }
    case EN_LSTM:
        return S * (size_t)lin * 4 * (size_t)l->h + 2 * (size_t)l->h;
    }
    return 0;
}

typedef struct bstate {
    en_net net;
    int threads;
} bstate;

int encodec_blas_supports(const void *ctx, const sono_params *p, char *why, size_t n)
{
    (void)ctx;
    long long th = sono_param_int(p, "threads", 1);
    if (th < 1 || th > 1024 || (th > 1 && openblas_get_parallel() == 0)) {
        snprintf(why, n, "threads=%lld needs a threaded OpenBLAS (1..1024)", th);
        return SONO_EUNSUPPORTED;
    }
    return en_supports(p, why, n);
}

void encodec_blas_teardown(void *st)
{
    if (st)
        en_free(&((bstate *)st)->net);
    free(st);
}

int encodec_blas_setup(const void *ctx, const sono_params *p, void **stp, sono_error *err)
{
    (void)ctx;
    bstate *st = calloc(1, sizeof *st);
    *stp = st;
    if (!st)
        return sono_fail(err, SONO_ENOMEM, "blas/encodec: out of memory");
    st->threads = (int)sono_param_int(p, "threads", 1);
    int rc = en_setup(&st->net, p, en_elu_simd() ? &kernels_simd : &kernels_scalar,
                      scratch_for, err);
    st->net.streams = 1;
    if (rc) { /* the core calls teardown only after a setup that worked */
        encodec_blas_teardown(st);
        *stp = NULL;
        return rc;
    }
    for (int d = 0; d < 2; d++) /* the tiles scratch_for sized the scratch for */
        for (int i = 0; i < st->net.n[d]; i++)
            for (int j = 0; j < 3; j++) {
                en_conv *c = &st->net.l[d][i].c[j];
                c->tile = tile_cols((long long)(c->tr ? c->cout : c->cin) * c->k, st->threads);
            }
    openblas_set_num_threads(st->threads);
    return 0;
}

int encodec_blas_load(void *st, const sono_buf *in, sono_error *err)
{
    return en_load(&((bstate *)st)->net, in, err);
}

int encodec_blas_run(void *st)
{
    return en_run(&((bstate *)st)->net);
}

int encodec_blas_store(void *st, sono_buf *out, sono_error *err)
{
    return en_store(&((bstate *)st)->net, out, err);
}

size_t encodec_blas_workspace(void *st)
{
    return ((bstate *)st)->net.bytes;
}

int encodec_blas_describe(void *vst, char *buf, size_t n)
{
    const bstate *st = vst;
    snprintf(buf, n, "%s; core %s; threads=%d (asked %d); n_q=%d, %lld frames x %d streams; "
             "ELU %s", openblas_get_config(), openblas_get_corename(),
             openblas_get_num_threads(), st->threads, st->net.nq, st->net.frames,
             st->net.batch, st->net.k == &kernels_simd ? "AVX2 polynomial" : "libm expm1f");
    nn_dtype_append(buf, n, st->net.dtnote); /* issue 26: float32 SGEMM on rounded inputs */
    return 0;
}

/* Issue 12: streaming, the state in encodec_stream.c, the SGEMMs on its windows. */
int encodec_blas_stream_begin(void *st, sono_error *err)
{
    return en_stream_begin(&((bstate *)st)->net, err);
}

int encodec_blas_push(void *st, long long t0, long long n, int last, sono_buf *out,
                      long long *done, sono_error *err)
{
    return en_stream_push(&((bstate *)st)->net, t0, n, last, out, done, err);
}
