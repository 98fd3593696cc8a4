/* maskgit_gemm.c — blas/gemm for maskgit.decode: each iteration's logits for all frames at
 * once, H [F, d] (the embedding sums) times W1 by one SGEMM, bias and ReLU, times W2 by a
 * second SGEMM onto rows preset to the level's bias; the draws are the host's float32 ones
 * (impls/common/maskgit_cpu.c). threads: the lanes of a pool share the frames, each lane
 * its rows of both SGEMMs (OpenBLAS single-threaded inside) and then its frames' draws,
 * which were nine tenths of the time and stayed on one thread under OpenBLAS's threads. */
#include <stdio.h>
#include <stdlib.h>

#include <cblas.h>

#include "maskgit_cpu.h"
#include "maskgit_gemm.h"
#include "pool.h"

typedef struct mg_lane {
    sample_pair *pairs; /* [K] */
    float *w;           /* [K] */
} mg_lane;

typedef struct mg_gemm {
    mg_dec dec;
    int threads;
    float *H, *A;       /* [F, d] each */
    mg_lane *lane;      /* [threads]; lane 0 uses dec.s's scratch */
    cpu_pool *pool;     /* NULL for one thread */
    long long level, t; /* the iteration the lanes are on */
    float temp;
} mg_gemm;

static void lane_job(void *ctx, int job, int lane);

int maskgit_gemm_supports(const void *ctx, const sono_params *p, char *why, size_t n)
{
    (void)ctx;
    long long threads = sono_param_int(p, "threads", 1);
    if (threads < 1 || threads > 1024) {
        snprintf(why, n, "threads=%lld is not in 1..1024", threads);
        return SONO_EUNSUPPORTED;
    }
    return 0;
}

void maskgit_gemm_teardown(void *vst)
{
    mg_gemm *st = vst;
    if (!st)
        return;
    cpu_pool_free(st->pool);
    for (int l = 1; st->lane && l < st->threads; l++) {
        free(st->lane[l].pairs);
        free(st->lane[l].w);
    }
    free(st->lane);
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
    st->lane = calloc((size_t)st->threads, sizeof *st->lane);
    int ok = st->H && st->A && st->lane;
    if (ok) {
        st->lane[0] = (mg_lane){st->dec.s.pairs, st->dec.s.w};
        for (int l = 1; ok && l < st->threads; l++) {
            st->lane[l].pairs = malloc((size_t)st->dec.K * sizeof(sample_pair));
            st->lane[l].w = malloc((size_t)st->dec.K * sizeof(float));
            ok = st->lane[l].pairs && st->lane[l].w;
        }
    }
    if (!ok) {
        maskgit_gemm_teardown(st);
        return sono_fail(err, SONO_ENOMEM, "blas/gemm: cannot allocate [frames, d]");
    }
    if (st->threads > 1 &&
        (rc = cpu_pool_new(st->threads, lane_job, st, "blas/gemm", &st->pool, err)) < 0) {
        maskgit_gemm_teardown(st);
        return rc;
    }
    openblas_set_num_threads(1); /* the lanes are the threads */
    *stp = st;
    return 0;
}

int maskgit_gemm_load(void *vst, const sono_buf *in, sono_error *err)
{
    return mg_dec_load(&((mg_gemm *)vst)->dec, in, err);
}

/* Frames [f0, f1): their logits by two SGEMMs of f1 - f0 rows, then their draws. */
static void frames(mg_gemm *st, long long f0, long long f1, int lane)
{
    mg_dec *m = &st->dec;
    int F = (int)m->F, K = (int)m->K, d = (int)m->d, rows = (int)(f1 - f0);
    for (long long f = f0; f < f1; f++) {
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
            m->logits[f * K + k] = m->b2[st->level * K + k];
    }
    if (rows < 1)
        return;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, d, d, 1.0f, st->H + f0 * d, d,
                m->W1, d, 1.0f, st->A + f0 * d, d);
    for (long long i = f0 * d; i < f1 * d; i++)
        st->A[i] = st->A[i] > 0 ? st->A[i] : 0;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, K, d, 1.0f, st->A + f0 * d, d,
                m->W2, K, 1.0f, m->logits + f0 * K, K);
    mg_draw(m->cur, m->F, m->K, st->level, st->t, st->temp, m->seed, m->logits, f0, f1,
            st->lane[lane].pairs, st->lane[lane].w, m->s.conf);
}

static void lane_job(void *ctx, int job, int lane)
{
    (void)job;
    mg_gemm *st = ctx;
    long long F = st->dec.F, per = (F + st->threads - 1) / st->threads, f0 = per * lane;
    f0 = f0 < F ? f0 : F;
    frames(st, f0, f0 + per < F ? f0 + per : F, lane);
}

static void iter(void *ctx, mg_dec *m, long long level, long long t, float temp)
{
    (void)m;
    mg_gemm *st = ctx;
    st->level = level;
    st->t = t;
    st->temp = temp;
    if (st->pool)
        cpu_pool_run(st->pool, 0);
    else
        frames(st, 0, st->dec.F, 0);
}

int maskgit_gemm_run(void *vst)
{
    mg_gemm *st = vst;
    mg_dec_run(&st->dec, iter, st);
    return 0;
}

int maskgit_gemm_store(void *vst, sono_buf *out, sono_error *err)
{
    return mg_dec_store(&((mg_gemm *)vst)->dec, out, err);
}

int maskgit_gemm_describe(void *vst, char *buf, size_t n)
{
    const mg_gemm *st = vst;
    snprintf(buf, n, "%s; core %s; threads=%d (a pool of %d lanes sharing the frames, "
             "OpenBLAS at %d); two SGEMMs per iteration for the logits", openblas_get_config(),
             openblas_get_corename(), st->threads, cpu_pool_threads(st->pool) + 1,
             openblas_get_num_threads());
    return 0;
}

size_t maskgit_gemm_workspace(void *vst)
{
    const mg_gemm *st = vst;
    return mg_dec_bytes(&st->dec) + 2 * (size_t)(st->dec.F * st->dec.d) * sizeof(float) +
           (size_t)(st->threads - 1) * (size_t)st->dec.K * (sizeof(sample_pair) + sizeof(float)) +
           cpu_pool_bytes(st->pool);
}
