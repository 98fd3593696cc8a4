/* maskgit_gemm.c — blas/gemm for maskgit.decode: each iteration's logits for all frames at
 * once, H [F, d] (the embedding sums) times W1 by one SGEMM, bias and ReLU, times W2 by a
 * second SGEMM onto rows preset to the level's bias; the iteration itself is the host's
 * float32 one (impls/common/maskgit_cpu.c). threads: OpenBLAS's. */
#include <stdio.h>
#include <stdlib.h>

#include <cblas.h>

#include "maskgit_cpu.h"
#include "maskgit_gemm.h"

typedef struct mg_gemm {
    mg_dec dec;
    int threads;
    float *H, *A; /* [F, d] each */
} mg_gemm;

int maskgit_gemm_supports(const void *ctx, const sono_params *p, char *why, size_t n)
{
    (void)ctx;
    long long threads = sono_param_int(p, "threads", 1);
    if (threads > 1 && openblas_get_parallel() == 0) {
        snprintf(why, n, "this OpenBLAS is the sequential build; threads=%lld needs the "
                 "pthread or OpenMP one", threads);
        return SONO_EUNSUPPORTED;
    }
    return 0;
}

void maskgit_gemm_teardown(void *vst)
{
    mg_gemm *st = vst;
    if (!st)
        return;
    mg_dec_free(&st->dec);
    free(st->H);
    free(st->A);
    free(st);
}

int maskgit_gemm_setup(const void *ctx, const sono_params *p, void **stp, sono_error *err)
{
    char why[200];
    *stp = NULL;
    if (maskgit_gemm_supports(ctx, p, why, sizeof why))
        return sono_fail(err, SONO_EUNSUPPORTED, "blas/gemm: %s", why);
    mg_gemm *st = calloc(1, sizeof *st);
    if (!st)
        return sono_fail(err, SONO_ENOMEM, "blas/gemm: cannot allocate its state");
    int rc = mg_dec_init(p, "blas/gemm", &st->dec, err);
    if (rc) {
        free(st);
        return rc;
    }
    st->threads = (int)sono_param_int(p, "threads", 1);
    st->H = malloc((size_t)(st->dec.F * st->dec.d) * sizeof *st->H);
    st->A = malloc((size_t)(st->dec.F * st->dec.d) * sizeof *st->A);
    if (!st->H || !st->A) {
        maskgit_gemm_teardown(st);
        return sono_fail(err, SONO_ENOMEM, "blas/gemm: cannot allocate [frames, d]");
    }
    openblas_set_num_threads(st->threads);
    *stp = st;
    return 0;
}

int maskgit_gemm_load(void *vst, const sono_buf *in, sono_error *err)
{
    return mg_dec_load(&((mg_gemm *)vst)->dec, in, err);
}

static void logits(void *ctx, mg_dec *m, long long level)
{
    mg_gemm *st = ctx;
    int F = (int)m->F, K = (int)m->K, d = (int)m->d;
    for (long long f = 0; f < F; f++) {
        float *h = st->H + f * d;
        for (int i = 0; i < d; i++)
            h[i] = 0;
        for (long long l = 0; l < m->L; l++) {
            int32_t k = m->cur[l * F + f];
            const float *e = m->E + (l * (K + 1) + (k == MG_MASK ? K : k)) * d;
            for (int i = 0; i < d; i++)
                h[i] += e[i];
        }
        for (int j = 0; j < d; j++)
            st->A[f * d + j] = m->b1[j];
        for (int k = 0; k < K; k++)
            m->logits[f * K + k] = m->b2[level * K + k];
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, F, d, d, 1.0f, st->H, d, m->W1, d,
                1.0f, st->A, d);
    for (long long i = 0; i < (long long)F * d; i++)
        st->A[i] = st->A[i] > 0 ? st->A[i] : 0;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, F, K, d, 1.0f, st->A, d, m->W2, K,
                1.0f, m->logits, K);
}

int maskgit_gemm_run(void *vst)
{
    mg_gemm *st = vst;
    mg_dec_run(&st->dec, logits, st);
    return 0;
}

int maskgit_gemm_store(void *vst, sono_buf *out, sono_error *err)
{
    return mg_dec_store(&((mg_gemm *)vst)->dec, out, err);
}

int maskgit_gemm_describe(void *vst, char *buf, size_t n)
{
    const mg_gemm *st = vst;
    snprintf(buf, n, "%s; core %s; threads=%d; two SGEMMs per iteration for the logits",
             openblas_get_config(), openblas_get_corename(), st->threads);
    return 0;
}

size_t maskgit_gemm_workspace(void *vst)
{
    const mg_gemm *st = vst;
    return mg_dec_bytes(&st->dec) + 2 * (size_t)(st->dec.F * st->dec.d) * sizeof(float);
}
