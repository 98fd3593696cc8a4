/* vqste_gemm.c — blas/gemm for vq.ste: the nearest codes by one SGEMM per block of 256
 * vectors against the codebook, argmin of ||e||^2 - 2 x.e (first smallest; ||x||^2 is the
 * same for every code of a vector), the codebook norms each step (the codebook is the
 * step's input, so they are timed); then the shared float32 step
 * (impls/common/vqste_step.c). threads: OpenBLAS's. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <cblas.h>

#include "vqste_gemm.h"
#include "vqste_step.h"

#define ROWS 256 /* vectors per SGEMM: a 256 x K score block (1 MiB at K 1024) */

typedef struct vqste_gemm {
    vqste_io io;
    int threads;
    float *cn; /* [K] */
    float *s;  /* [ROWS, K] */
} vqste_gemm;

int vqste_gemm_supports(const void *ctx, const sono_params *p, char *why, size_t n)
{
    (void)ctx;
    long long K = sono_param_int(p, "K", 1024), D = sono_param_int(p, "D", 128),
              threads = sono_param_int(p, "threads", 1);
    if (K > (1 << 24) || D > (1 << 24)) { /* CBLAS dimensions are int */
        snprintf(why, n, "K=%lld, D=%lld over 2^24", K, D);
        return SONO_EUNSUPPORTED;
    }
    if (threads > 1 && openblas_get_parallel() == 0) {
        snprintf(why, n, "this OpenBLAS is the sequential build; threads=%lld needs the "
                 "pthread or OpenMP one", threads);
        return SONO_EUNSUPPORTED;
    }
    return 0;
}

void vqste_gemm_teardown(void *vst)
{
    vqste_gemm *st = vst;
    if (!st)
        return;
    vqste_io_free(&st->io);
    free(st->cn);
    free(st->s);
    free(st);
}

int vqste_gemm_setup(const void *ctx, const sono_params *p, void **stp, sono_error *err)
{
    char why[200];
    *stp = NULL;
    if (vqste_gemm_supports(ctx, p, why, sizeof why))
        return sono_fail(err, SONO_EUNSUPPORTED, "blas/gemm: %s", why);
    vqste_gemm *st = calloc(1, sizeof *st);
    if (!st)
        return sono_fail(err, SONO_ENOMEM, "blas/gemm: cannot allocate its state");
    int rc = vqste_io_init(p, 1, "blas/gemm", &st->io, err);
    if (rc) {
        free(st);
        return rc;
    }
    st->threads = (int)sono_param_int(p, "threads", 1);
    st->cn = malloc((size_t)st->io.K * sizeof *st->cn);
    st->s = malloc((size_t)ROWS * (size_t)st->io.K * sizeof *st->s);
    if (!st->cn || !st->s) {
        vqste_gemm_teardown(st);
        return sono_fail(err, SONO_ENOMEM, "blas/gemm: cannot allocate the score block");
    }
    openblas_set_num_threads(st->threads);
    *stp = st;
    return 0;
}

int vqste_gemm_load(void *vst, const sono_buf *in, sono_error *err)
{
    return vqste_io_load(&((vqste_gemm *)vst)->io, in, err);
}

int vqste_gemm_run(void *vst)
{
    vqste_gemm *st = vst;
    vqste_io *io = &st->io;
    int K = (int)io->K, D = (int)io->D;
    for (int k = 0; k < K; k++) {
        float s = 0;
        for (int j = 0; j < D; j++)
            s += io->e[(long long)k * D + j] * io->e[(long long)k * D + j];
        st->cn[k] = s;
    }
    for (long long n0 = 0; n0 < io->N; n0 += ROWS) {
        int m = (int)(io->N - n0 < ROWS ? io->N - n0 : ROWS);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, K, D, 1.0f, io->x + n0 * D,
                    D, io->e, D, 0.0f, st->s, K);
        for (int i = 0; i < m; i++) {
            const float *g = st->s + (long long)i * K;
            float best = INFINITY;
            int bi = 0;
            for (int k = 0; k < K; k++) {
                float d = st->cn[k] - 2.0f * g[k];
                if (d < best) {
                    best = d;
                    bi = k;
                }
            }
            io->codes[n0 + i] = bi;
        }
    }
    vqste_finish(io);
    return 0;
}

int vqste_gemm_store(void *vst, sono_buf *out, sono_error *err)
{
    return vqste_io_store(&((vqste_gemm *)vst)->io, out, err);
}

int vqste_gemm_describe(void *vst, char *buf, size_t n)
{
    const vqste_gemm *st = vst;
    snprintf(buf, n, "%s; core %s; threads=%d; %d-row SGEMM blocks for the distances",
             openblas_get_config(), openblas_get_corename(), st->threads, ROWS);
    return 0;
}

size_t vqste_gemm_workspace(void *vst)
{
    const vqste_gemm *st = vst;
    return vqste_io_bytes(&st->io) + (size_t)st->io.K * sizeof(float) * (ROWS + 1);
}
