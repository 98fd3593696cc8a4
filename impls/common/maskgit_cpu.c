/* maskgit_cpu.c — the host's float32 MaskGIT iteration and decode loop (maskgit_cpu.h):
 * draws by impls/common/sample_cpu.c with Philox u (impls/common/philox.h), confidences by
 * expf over the row, the re-masking by a qsort of (confidence, frame). The draws of one
 * iteration are independent per frame, so callers may split them over threads. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "maskgit_cpu.h"
#include "philox.h"

#define HALF_PI 1.57079632679489661923132169163975144

int mg_scratch_alloc(mg_scratch *s, long long F, long long K)
{
    s->pairs = malloc((size_t)K * sizeof *s->pairs);
    s->w = malloc((size_t)K * sizeof *s->w);
    s->conf = malloc((size_t)F * sizeof *s->conf);
    return s->pairs && s->w && s->conf ? 0 : -1;
}

void mg_scratch_free(mg_scratch *s)
{
    free(s->pairs);
    free(s->w);
    free(s->conf);
    s->pairs = NULL;
    s->w = NULL;
    s->conf = NULL;
}

long long mg_nmask(long long F, long long masked, long long t, long long iters)
{
    long long n = (long long)floor((double)F * cos(HALF_PI * (double)(t + 1) / (double)iters));
    if (n > masked - 1)
        n = masked - 1;
    return n < 0 ? 0 : n;
}

static int by_conf(const void *a, const void *b)
{
    const mg_conf *x = a, *y = b;
    if (x->c != y->c)
        return x->c < y->c ? -1 : 1;
    return (x->f > y->f) - (x->f < y->f);
}

void mg_draw(int32_t *tok, long long F, long long K, long long level, long long t, float temp,
             uint64_t seed, const float *logits, long long f0, long long f1, sample_pair *pairs,
             float *w, mg_conf *conf)
{
    int32_t *row = tok + level * F;
    for (long long f = f0; f < f1; f++) {
        if (row[f] != MG_MASK) {
            conf[f] = (mg_conf){0.0f, -1};
            continue;
        }
        const float *l = logits + f * K;
        float u = philox_u24(seed, (uint32_t)f, (uint32_t)level, (uint32_t)t);
        int32_t k = sample_cpu_row(l, K, temp, 0, 1.0f, u, pairs, w);
        float mx = l[0], sum = 0;
        for (long long v = 1; v < K; v++)
            mx = l[v] > mx ? l[v] : mx;
        for (long long v = 0; v < K; v++)
            sum += expf(l[v] - mx);
        row[f] = k;
        conf[f] = (mg_conf){expf(l[k] - mx) / sum, (int32_t)f};
    }
}

void mg_remask(int32_t *tok, long long F, long long level, long long t, long long iters,
               mg_conf *conf)
{
    int32_t *row = tok + level * F;
    long long m = 0;
    for (long long f = 0; f < F; f++) /* the drawn frames in frame order (m <= f) */
        if (conf[f].f >= 0)
            conf[m++] = conf[f];
    long long nm = mg_nmask(F, m, t, iters);
    qsort(conf, (size_t)m, sizeof *conf, by_conf);
    for (long long i = 0; i < nm; i++)
        row[conf[i].f] = MG_MASK;
}

void mg_step(int32_t *tok, long long L, long long F, long long K, long long level,
             long long t, long long iters, float temp, uint64_t seed, const float *logits,
             mg_scratch *s)
{
    (void)L;
    mg_draw(tok, F, K, level, t, temp, seed, logits, 0, F, s->pairs, s->w, s->conf);
    mg_remask(tok, F, level, t, iters, s->conf);
}

int mg_dec_init(const sono_params *p, const char *who, mg_dec *m, sono_error *err)
{
    memset(m, 0, sizeof *m);
    m->who = who;
    m->L = sono_param_int(p, "levels", 8);
    m->F = sono_param_int(p, "frames", 500);
    m->K = sono_param_int(p, "K", 1024);
    m->d = sono_param_int(p, "d", 128);
    m->iters0 = sono_param_int(p, "iters0", 16);
    m->iters_rest = sono_param_int(p, "iters_rest", 1);
    m->n = m->iters0 + (m->L - 1) * m->iters_rest;
    m->temp0 = (float)sono_param_real(p, "temperature", 1);
    m->temp_rest = (float)sono_param_real(p, "temperature_rest", 0);
    m->seed = (uint64_t)sono_param_int(p, "seed", 1);
    m->cur = malloc((size_t)(m->L * m->F) * sizeof *m->cur);
    m->snap = malloc((size_t)(m->n * m->L * m->F) * sizeof *m->snap);
    m->logits = malloc((size_t)(m->F * m->K) * sizeof *m->logits);
    if (!m->cur || !m->snap || !m->logits || mg_scratch_alloc(&m->s, m->F, m->K)) {
        mg_dec_free(m);
        return sono_fail(err, SONO_ENOMEM, "%s: cannot allocate frames=%lld K=%lld", who,
                         (long long)sono_param_int(p, "frames", 500),
                         (long long)sono_param_int(p, "K", 1024));
    }
    return 0;
}

void mg_dec_free(mg_dec *m)
{
    free(m->cur);
    free(m->snap);
    free(m->logits);
    mg_scratch_free(&m->s);
    m->cur = m->snap = NULL;
    m->logits = NULL;
}

int mg_dec_load(mg_dec *m, const sono_buf *in, sono_error *err)
{
    long long L = m->L, K = m->K, d = m->d;
    long long need = L * (K + 1) * d + d * d + d + d * K + L * K;
    if (in->dtype != SONO_F32 || sono_buf_elems(in) != need)
        return sono_fail(err, SONO_EINVAL, "%s: input must be f32 [%lld] (the MLP's weights); "
                         "got dtype %d, %lld elements", m->who, need, (int)in->dtype,
                         sono_buf_elems(in));
    m->E = in->data;
    m->W1 = m->E + L * (K + 1) * d;
    m->b1 = m->W1 + d * d;
    m->W2 = m->b1 + d;
    m->b2 = m->W2 + d * K;
    return 0;
}

int mg_dec_store(const mg_dec *m, sono_buf *out, sono_error *err)
{
    size_t need = (size_t)(m->n * m->L * m->F) * sizeof(int32_t);
    if (out->dtype != SONO_I32 || out->nbytes < need)
        return sono_fail(err, SONO_EINVAL, "%s: output must be i32 [%lld, %lld, %lld]",
                         m->who, m->n, m->L, m->F);
    memcpy(out->data, m->snap, need);
    return 0;
}

size_t mg_dec_bytes(const mg_dec *m)
{
    return (size_t)((m->n + 1) * m->L * m->F) * 4 + (size_t)(m->F * m->K) * 4 +
           (size_t)m->K * (sizeof(sample_pair) + 4) + (size_t)m->F * sizeof(mg_conf);
}

void mg_dec_run(mg_dec *m, mg_iter_fn iter, void *ctx)
{
    long long LF = m->L * m->F, i = 0;
    for (long long k = 0; k < LF; k++)
        m->cur[k] = MG_MASK;
    for (long long lv = 0; lv < m->L; lv++) {
        long long it = lv ? m->iters_rest : m->iters0;
        for (long long t = 0; t < it; t++, i++) {
            iter(ctx, m, lv, t, lv ? m->temp_rest : m->temp0);
            mg_remask(m->cur, m->F, lv, t, it, m->s.conf);
            memcpy(m->snap + i * LF, m->cur, (size_t)LF * sizeof *m->cur);
        }
    }
}

void mg_logits_loops(mg_dec *m, long long level, float *h, float *a)
{
    long long L = m->L, F = m->F, K = m->K, d = m->d;
    for (long long f = 0; f < F; f++) {
        for (long long i = 0; i < d; i++)
            h[i] = 0;
        for (long long l = 0; l < L; l++) {
            int32_t k = m->cur[l * F + f];
            const float *e = m->E + (l * (K + 1) + (k == MG_MASK ? K : k)) * d;
            for (long long i = 0; i < d; i++)
                h[i] += e[i];
        }
        for (long long j = 0; j < d; j++) {
            float z = m->b1[j];
            for (long long i = 0; i < d; i++)
                z += h[i] * m->W1[i * d + j];
            a[j] = z > 0 ? z : 0;
        }
        float *o = m->logits + f * K;
        for (long long k = 0; k < K; k++)
            o[k] = m->b2[level * K + k];
        for (long long j = 0; j < d; j++) {
            const float *w = m->W2 + j * K;
            for (long long k = 0; k < K; k++)
                o[k] += a[j] * w[k];
        }
    }
}
