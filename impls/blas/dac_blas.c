/* dac_blas.c — blas/dac for codec.dac: the shared body (impls/common/dac_net.c) with
 * OpenBLAS kernels: convs as im2col + SGEMM in tiles of TILE output steps, transposed
 * convs as SGEMM to columns + col2im, the factorised codebook search of all frames of a
 * stage as one SGEMM of scores (tiled), the projections in and out as SGEMMs. The op's
 * streams: S clips side by side in each channel's row ([C][S][T]), so each SGEMM's N
 * spans every clip's columns. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "dac_blas.h"
#include "dac_net.h"
#include "nndtype.h"

#define TILE 2048

static long long mn(long long a, long long b)
{
    return a < b ? a : b;
}

static void fill_bias(const dn_conv *c, float *y, long long N)
{
    for (int o = 0; o < c->cout; o++)
        for (long long t = 0; t < N; t++)
            y[(size_t)o * (size_t)N + (size_t)t] = c->b[o];
}

/* Streams: x [cin][S][L] -> y [cout][S][T] with the output columns n = s T + t of all
 * clips in one index space, tiled TILE at a time, so each SGEMM's N spans clips (short
 * clips fill a tile together) and its C is y's rows at column n0 (ldc = S T). */
static void conv(const dn_conv *c, const float *x, long long L, int S, float *y, long long T,
                 float *col)
{
    long long N = (long long)S * T;
    fill_bias(c, y, N);
    int ck = c->cin * c->k;
    if (c->k == 1 && c->s == 1 && c->p == 0) { /* a 1x1 conv is one GEMM on x itself */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, c->cout, (int)N, c->cin, 1.0f,
                    c->w, c->cin, x, (int)N, 1.0f, y, (int)N);
        return;
    }
    for (long long n0 = 0; n0 < N; n0 += TILE) {
        long long nt = mn(TILE, N - n0);
        for (int i = 0; i < c->cin; i++)
            for (int k = 0; k < c->k; k++) {
                float *row = col + ((size_t)i * c->k + k) * (size_t)nt;
                /* the tile's columns run clip by clip: one division per tile, then plain
                 * strided copies (a division per element cost 30 % of encode) */
                long long s = n0 / T, t = n0 % T;
                for (long long e = 0; e < nt; s++, t = 0) {
                    long long seg = mn(nt - e, T - t);
                    const float *xi = x + ((size_t)i * S + (size_t)s) * (size_t)L;
                    for (long long u = 0; u < seg; u++) {
                        long long j = (t + u) * c->s + (long long)k * c->d - c->p;
                        row[e + u] = j >= 0 && j < L ? xi[j] : 0.0f;
                    }
                    e += seg;
                }
            }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, c->cout, (int)nt, ck, 1.0f,
                    c->w, ck, col, (int)nt, 1.0f, y + n0, (int)N);
    }
}

/* Columns of every clip's input steps (n = s L + t) tiled as above; each column's k taps
 * added into its own clip's row. */
static void convtr(const dn_conv *c, const float *x, long long L, int S, float *y, long long T,
                   float *col)
{
    long long N = (long long)S * L;
    fill_bias(c, y, (long long)S * T);
    int ok = c->cout * c->k;
    for (long long n0 = 0; n0 < N; n0 += TILE) {
        long long nt = mn(TILE, N - n0);
        /* col [cout*k][nt] = W^T (W as [cin][cout*k]) x[:, n0:n0+nt] */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, ok, (int)nt, c->cin, 1.0f, c->w,
                    ok, x + n0, (int)N, 0.0f, col, (int)nt);
        for (int o = 0; o < c->cout; o++)
            for (int k = 0; k < c->k; k++) {
                const float *row = col + ((size_t)o * c->k + k) * (size_t)nt;
                long long s = n0 / L, t = n0 % L; /* clip by clip, as in conv() */
                for (long long e = 0; e < nt; s++, t = 0) {
                    long long seg = mn(nt - e, L - t);
                    float *yo = y + ((size_t)o * S + (size_t)s) * (size_t)T;
                    for (long long u = 0; u < seg; u++) {
                        long long j = (t + u) * c->s + k - c->p;
                        if (j >= 0 && j < T)
                            yo[j] += row[e + u];
                    }
                    e += seg;
                }
            }
    }
}

static void vq(const float *cn, const float *cc, int K, int Dc, const float *zn,
               const float *zz, long long F, int *codes, float *sc)
{
    for (long long t0 = 0; t0 < F; t0 += TILE) {
        long long nt = mn(TILE, F - t0);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nt, K, Dc, 2.0f,
                    zn + (size_t)t0 * Dc, Dc, cn, Dc, 0.0f, sc, K);
        for (long long t = 0; t < nt; t++) {
            const float *s = sc + (size_t)t * K;
            float z2 = zz[t0 + t], best = s[0] - z2 + cc[0];
            int bi = 0;
            for (int k = 1; k < K; k++) {
                float v = s[k] - z2 + cc[k];
                if (v > best) {
                    best = v;
                    bi = k;
                }
            }
            codes[t0 + t] = bi;
        }
    }
}

static void proj_in(const dn_conv *c, const float *r, long long F, float *z)
{
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasTrans, (int)F, c->cout, c->cin, 1.0f, r,
                (int)F, c->w, c->cin, 0.0f, z, c->cout);
    for (long long t = 0; t < F; t++)
        for (int o = 0; o < c->cout; o++)
            z[(size_t)t * c->cout + o] += c->b[o];
}

static void proj_out(const dn_conv *c, const float *e, long long F, float sign, float *r)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, c->cout, (int)F, c->cin, sign,
                c->w, c->cin, e, (int)F, 1.0f, r, (int)F);
    for (int o = 0; o < c->cout; o++)
        for (long long t = 0; t < F; t++)
            r[(size_t)o * (size_t)F + (size_t)t] += sign * c->b[o];
}

static const dn_kernels kernels = {conv, convtr, vq, proj_in, proj_out};

static size_t scratch_for(const dn_conv *c, long long L, long long T, int S)
{
    return c->tr ? (size_t)c->cout * c->k * (size_t)mn(TILE, S * L)
                 : (size_t)c->cin * c->k * (size_t)mn(TILE, S * T);
}

static size_t vq_scratch(int K, long long F)
{
    return (size_t)K * (size_t)mn(TILE, F);
}

typedef struct bstate {
    dn_net net;
    int threads;
} bstate;

int dac_blas_supports(const void *ctx, const sono_params *p, char *why, size_t n)
{
    (void)ctx;
    long long th = sono_param_int(p, "threads", 1);
    if (th < 1 || th > 1024 || (th > 1 && openblas_get_parallel() == 0)) {
        snprintf(why, n, "threads=%lld needs a threaded OpenBLAS (1..1024)", th);
        return SONO_EUNSUPPORTED;
    }
    return dn_supports(p, why, n);
}

void dac_blas_teardown(void *st)
{
    if (st)
        dn_free(&((bstate *)st)->net);
    free(st);
}

int dac_blas_setup(const void *ctx, const sono_params *p, void **stp, sono_error *err)
{
    (void)ctx;
    bstate *st = calloc(1, sizeof *st);
    *stp = st;
    if (!st)
        return sono_fail(err, SONO_ENOMEM, "blas/dac: out of memory");
    st->threads = (int)sono_param_int(p, "threads", 1);
    int rc = dn_setup(&st->net, p, &kernels, scratch_for, vq_scratch, err);
    if (rc) {
        dac_blas_teardown(st);
        *stp = NULL;
        return rc;
    }
    openblas_set_num_threads(st->threads);
    return 0;
}

int dac_blas_load(void *st, const sono_buf *in, sono_error *err)
{
    return dn_load(&((bstate *)st)->net, in, err);
}

int dac_blas_run(void *st)
{
    return dn_run(&((bstate *)st)->net);
}

int dac_blas_store(void *st, sono_buf *out, sono_error *err)
{
    return dn_store(&((bstate *)st)->net, out, err);
}

int dac_blas_describe(void *vst, char *buf, size_t n)
{
    const bstate *st = vst;
    snprintf(buf, n, "%s; core %s; threads=%d (asked %d); n_q=%d, %lld frames x %d "
             "streams; im2col tiles of %d steps over all streams", openblas_get_config(),
             openblas_get_corename(), openblas_get_num_threads(), st->threads, st->net.nq,
             st->net.frames, st->net.S, TILE);
    nn_dtype_append(buf, n, st->net.dtnote); /* issue 26: float32 SGEMM on rounded inputs */
    return 0;
}

size_t dac_blas_workspace(void *st)
{
    return ((bstate *)st)->net.bytes;
}
