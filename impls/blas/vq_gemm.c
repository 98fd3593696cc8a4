/* vq_gemm.c — blas/gemm for the quantisers. Encode: per stage, one SGEMM of the residuals
 * against the codebook (a block of rows at a time, so the scores stay in cache) gives
 * x.c for every pair; the nearest code minimises ||c||^2 - 2 x.c (||x||^2 is the same for
 * every code of a row, so it is left out), the first smallest on ties. The codebook norms
 * are computed in load (not timed): they depend only on the codebooks. Decode: a
 * gather-add of the codewords (a one-hot GEMM would multiply by K zeros for each one),
 * the frames shared by the lanes of a pool (OpenBLAS's threads have nothing to do there). */
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include <cblas.h>

#include "nndtype.h"
#include "pool.h"
#include "vq_gemm.h"

#define ROWS 256 /* residual rows per SGEMM: a 256 x K score block (1 MiB at K 1024) */

const int vq_gemm_kinds[3] = {0, 1, 2};

typedef struct vq_state {
    int kind, threads;
    long long K, D, T, n_q;
    const float *cb, *x; /* bound to the input, which outlives the case */
    float *cn;           /* [n_q, K] squared norms of the codewords */
    float *r;            /* [T, D] residuals (encode) or the output (decode) */
    float *g;            /* [ROWS, K] scores */
    int32_t *codes;      /* [n_q, T] */
    cpu_pool *pool;      /* decode with threads > 1: lanes share the frames */
    char dtnote[80]; /* issue 26: "dtype: bf16 via fp32 ...", "" at f32 */
} vq_state;

static void decode_job(void *ctx, int job, int lane);

static void *amalloc(size_t bytes)
{
    if (bytes == 0)
        bytes = 1;
    if (bytes > SIZE_MAX - 63)
        return NULL;
    return aligned_alloc(64, (bytes + 63) & ~(size_t)63);
}

int vq_gemm_supports(const void *ctx, const sono_params *p, char *why, size_t n)
{
    int kind = *(const int *)ctx;
    long long K = sono_param_int(p, "K", 1024), D = sono_param_int(p, "D", 128),
              T = sono_param_int(p, "T", 750), q = kind ? sono_param_int(p, "n_q", 8) : 1,
              threads = sono_param_int(p, "threads", 1);
    /* CBLAS takes dimensions and leading dimensions as int */
    if (K < 1 || D < 1 || T < 1 || q < 1 || q > 64 || K > (1 << 24) || D > INT_MAX ||
        T > INT_MAX) {
        snprintf(why, n, "K=%lld D=%lld T=%lld n_q=%lld out of range", K, D, T, q);
        return SONO_EUNSUPPORTED;
    }
    if (threads < 1 || threads > 1024) {
        snprintf(why, n, "threads=%lld must be in [1, 1024]", threads);
        return SONO_EUNSUPPORTED;
    }
    if (threads > 1 && openblas_get_parallel() == 0) {
        snprintf(why, n, "this OpenBLAS is the sequential build; threads=%lld needs the "
                 "pthread or OpenMP one", threads);
        return SONO_EUNSUPPORTED;
    }
    return 0;
}

void vq_gemm_teardown(void *vst)
{
    vq_state *st = vst;
    if (!st)
        return;
    cpu_pool_free(st->pool);
    free(st->cn);
    free(st->r);
    free(st->g);
    free(st->codes);
    free(st);
}

int vq_gemm_setup(const void *ctx, const sono_params *p, void **stp, sono_error *err)
{
    char why[256];
    int rc;
    *stp = NULL;
    if ((rc = vq_gemm_supports(ctx, p, why, sizeof why)) < 0)
        return sono_fail(err, rc, "blas/gemm: %s", why);
    vq_state *st = calloc(1, sizeof *st);
    if (!st)
        return sono_fail(err, SONO_ENOMEM, "blas/gemm: cannot allocate its state");
    nn_dtype_via_f32(p, st->dtnote, sizeof st->dtnote);
    st->kind = *(const int *)ctx;
    st->K = sono_param_int(p, "K", 1024);
    st->D = sono_param_int(p, "D", 128);
    st->T = sono_param_int(p, "T", 750);
    st->n_q = st->kind ? sono_param_int(p, "n_q", 8) : 1;
    st->threads = (int)sono_param_int(p, "threads", 1);
    int dec = st->kind == 2;
    st->r = amalloc((size_t)(st->T * st->D) * sizeof *st->r);
    st->codes = amalloc((size_t)(st->n_q * st->T) * sizeof *st->codes);
    if (!dec) {
        st->cn = amalloc((size_t)(st->n_q * st->K) * sizeof *st->cn);
        st->g = amalloc((size_t)ROWS * (size_t)st->K * sizeof *st->g);
    }
    if (!st->r || !st->codes || (!dec && (!st->cn || !st->g))) {
        vq_gemm_teardown(st);
        return sono_fail(err, SONO_ENOMEM, "blas/gemm: cannot allocate K=%lld D=%lld T=%lld",
                         (long long)sono_param_int(p, "K", 1024),
                         (long long)sono_param_int(p, "D", 128),
                         (long long)sono_param_int(p, "T", 750));
    }
    if (dec && st->threads > 1 &&
        (rc = cpu_pool_new(st->threads, decode_job, st, "blas/gemm", &st->pool, err)) < 0) {
        vq_gemm_teardown(st);
        return rc;
    }
    openblas_set_num_threads(st->threads);
    *stp = st;
    return 0;
}

int vq_gemm_load(void *vst, const sono_buf *in, sono_error *err)
{
    vq_state *st = vst;
    long long K = st->K, D = st->D, ncb = st->n_q * K * D;
    long long ncodes = st->kind == 2 ? st->n_q * st->T : 0, need = ncb + ncodes + st->T * D;
    if (in->dtype != SONO_F32 || sono_buf_elems(in) != need ||
        in->nbytes < (size_t)need * sizeof(float))
        return sono_fail(err, SONO_EINVAL, "blas/gemm: input must be f32 [%lld] (codebooks%s "
                         "then vectors); got dtype %d, %lld elements", need,
                         ncodes ? ", codes" : "", (int)in->dtype, sono_buf_elems(in));
    st->cb = in->data;
    st->x = st->cb + ncb;
    if (st->kind == 2) {
        for (long long i = 0; i < ncodes; i++) {
            float f = st->x[i];
            if (!(f >= 0 && f < (float)K && f == floorf(f)))
                return sono_fail(err, SONO_EINVAL, "blas/gemm: code %lld is %g, not an "
                                 "integer in [0, %lld)", i, (double)f, K);
            st->codes[i] = (int32_t)f;
        }
        return 0;
    }
    for (long long k = 0; k < st->n_q * K; k++)
        st->cn[k] = cblas_sdot((int)D, st->cb + k * D, 1, st->cb + k * D, 1);
    return 0;
}

static void encode(vq_state *st)
{
    int K = (int)st->K, D = (int)st->D;
    long long T = st->T;
    memcpy(st->r, st->x, (size_t)(T * D) * sizeof *st->r);
    for (long long s = 0; s < st->n_q; s++) {
        const float *book = st->cb + s * K * D, *cn = st->cn + s * K;
        for (long long t0 = 0; t0 < T; t0 += ROWS) {
            int m = (int)(T - t0 < ROWS ? T - t0 : ROWS);
            float *r = st->r + t0 * D;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, K, D, 1.0f, r, D, book, D,
                        0.0f, st->g, K);
            for (int i = 0; i < m; i++) {
                const float *g = st->g + (long long)i * K;
                float best = INFINITY;
                int bi = 0;
                for (int k = 0; k < K; k++) {
                    float d = cn[k] - 2.0f * g[k];
                    if (d < best) {
                        best = d;
                        bi = k;
                    }
                }
                st->codes[s * T + t0 + i] = bi;
                const float *c = book + (long long)bi * D;
                for (int j = 0; j < D; j++)
                    r[(long long)i * D + j] -= c[j];
            }
        }
    }
}

/* Four floats at a time through GCC's vector extension (one SSE register; -O2 does not
 * vectorise a loop of unknown length): element-wise, so the sums keep the scalar order. */
typedef float vq_v4 __attribute__((vector_size(16)));

static void add_row(float *y, const float *c, long long D)
{
    long long j = 0;
    for (; j + 4 <= D; j += 4) {
        vq_v4 a, b;
        memcpy(&a, y + j, sizeof a);
        memcpy(&b, c + j, sizeof b);
        a += b;
        memcpy(y + j, &a, sizeof a);
    }
    for (; j < D; j++)
        y[j] += c[j];
}

/* Frames [t0, t1): y = 0 + c_0 + c_1 + ..., the stages in order. */
static void decode_rows(vq_state *st, long long t0, long long t1)
{
    long long K = st->K, D = st->D, T = st->T;
    memset(st->r + t0 * D, 0, (size_t)((t1 - t0) * D) * sizeof *st->r);
    for (long long t = t0; t < t1; t++)
        for (long long s = 0; s < st->n_q; s++)
            add_row(st->r + t * D, st->cb + (s * K + st->codes[s * T + t]) * D, D);
}

static void decode_job(void *ctx, int job, int lane)
{
    (void)job;
    vq_state *st = ctx;
    long long per = (st->T + st->threads - 1) / st->threads, t0 = per * lane;
    if (t0 < st->T)
        decode_rows(st, t0, t0 + per < st->T ? t0 + per : st->T);
}

static void decode(vq_state *st)
{
    if (st->pool)
        cpu_pool_run(st->pool, 0);
    else
        decode_rows(st, 0, st->T);
}

int vq_gemm_run(void *vst)
{
    vq_state *st = vst;
    if (st->kind == 2)
        decode(st);
    else
        encode(st);
    return 0;
}

int vq_gemm_store(void *vst, sono_buf *out, sono_error *err)
{
    vq_state *st = vst;
    int dec = st->kind == 2;
    size_t need = dec ? (size_t)(st->T * st->D) * sizeof(float)
                      : (size_t)(st->n_q * st->T) * sizeof(int32_t);
    if (out->dtype != (dec ? SONO_F32 : SONO_I32) || out->nbytes < need)
        return sono_fail(err, SONO_EINVAL, "blas/gemm: output must be %s (%zu bytes); got "
                         "dtype %d, %zu bytes", dec ? "f32 [T, D]" : "i32 codes", need,
                         (int)out->dtype, out->nbytes);
    memcpy(out->data, dec ? (void *)st->r : (void *)st->codes, need);
    return 0;
}

int vq_gemm_describe(void *vst, char *buf, size_t n)
{
    const vq_state *st = vst;
    if (st->kind == 2)
        snprintf(buf, n, "gather-add over %d lane(s) (threads=%d), no BLAS call",
                 cpu_pool_threads(st->pool) + 1, st->threads);
    else
        snprintf(buf, n, "%s; core %s; threads=%d (asked %d); %d-row SGEMM blocks",
                 openblas_get_config(), openblas_get_corename(), openblas_get_num_threads(),
                 st->threads, ROWS);
    nn_dtype_append(buf, n, st->dtnote);
    return 0;
}

size_t vq_gemm_workspace(void *vst)
{
    const vq_state *st = vst;
    size_t b = (size_t)(st->T * st->D) * sizeof(float) +
               (size_t)(st->n_q * st->T) * sizeof(int32_t);
    if (st->kind != 2)
        b += (size_t)(st->n_q * st->K) * sizeof(float) + (size_t)ROWS * (size_t)st->K * sizeof(float);
    return b + cpu_pool_bytes(st->pool);
}
