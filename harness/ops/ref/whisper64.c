/* whisper64.c — the float64 Whisper encoder (whisper.h's definitions, transformers'
 * modeling_whisper.py WhisperEncoder): the conv stem, positions, pre-LayerNorm blocks and
 * the final LayerNorm, every sum in double, activations [time][channel]. Written from the
 * definitions, sharing no code with the impls. */
#include <math.h>
#include <stdlib.h>

#include "st64.h"
#include "whisper.h"

typedef struct block64 {
    double *ln1g, *ln1b, *wq, *bq, *wk, *wv, *bv, *wo, *bo, *ln2g, *ln2b, *w1, *b1, *w2, *b2;
} block64;

struct sono_wh64 {
    sono_wh_dims d;
    double *c1w, *c1b, *c2w, *c2b, *pos, *lng, *lnb;
    block64 *b;
};

void sono_wh64_free(sono_wh64 *m)
{
    if (!m)
        return;
    double **own[] = {&m->c1w, &m->c1b, &m->c2w, &m->c2b, &m->pos, &m->lng, &m->lnb};
    for (size_t i = 0; i < sizeof own / sizeof own[0]; i++)
        free(*own[i]);
    for (int l = 0; m->b && l < m->d.layers; l++) {
        block64 *b = &m->b[l];
        double *w[] = {b->ln1g, b->ln1b, b->wq, b->bq, b->wk, b->wv, b->bv, b->wo,
                       b->bo,   b->ln2g, b->ln2b, b->w1, b->b1, b->w2, b->b2};
        for (size_t i = 0; i < sizeof w / sizeof w[0]; i++)
            free(w[i]);
    }
    free(m->b);
    free(m);
}

static int rd(const sono_st *st, const char *pre, const char *name, int nd, long long a,
              long long b, long long c, double **out, sono_error *err)
{
    char full[160];
    long long shape[3] = {a, b, c};
    snprintf(full, sizeof full, "%s%s", pre, name);
    return sono_st_read(st, full, nd, shape, out, err);
}

/* embed_positions may hold more rows than T (1500 against a shorter input): its first T
 * (the header check has made sure there are at least T). */
static int read_pos(const sono_st *st, const char *pre, const sono_wh_dims *d, double **pos,
                    sono_error *err)
{
    char full[160];
    long long rows = 0;
    snprintf(full, sizeof full, "%sembed_positions.weight", pre);
    if (sono_st_dim(st, full, 0, &rows) || rows < d->T)
        return sono_fail(err, SONO_EINVAL, "%s: tensor '%s' is missing or has fewer than "
                         "%lld rows", sono_st_path(st), full, d->T);
    return rd(st, pre, "embed_positions.weight", 2, rows, d->d, 0, pos, err);
}

int sono_wh64_load(const char *path, const sono_wh_dims *d, sono_wh64 **mp, sono_error *err)
{
    char pre[32];
    int rc = sono_wh_prefix(path, pre, sizeof pre, err);
    if (rc)
        return rc;
    sono_st *st = NULL;
    if ((rc = sono_st_open(path, &st, err)))
        return rc;
    sono_wh64 *m = calloc(1, sizeof *m);
    if (!m || !(m->b = calloc((size_t)d->layers, sizeof *m->b))) {
        sono_st_close(st);
        free(m);
        return sono_fail(err, SONO_ENOMEM, "whisper.encoder reference: out of memory");
    }
    m->d = *d;
    long long D = d->d, F = d->ffn;
    rc = rd(st, pre, "conv1.weight", 3, D, d->n_mels, 3, &m->c1w, err);
    if (!rc)
        rc = rd(st, pre, "conv1.bias", 1, D, 0, 0, &m->c1b, err);
    if (!rc)
        rc = rd(st, pre, "conv2.weight", 3, D, D, 3, &m->c2w, err);
    if (!rc)
        rc = rd(st, pre, "conv2.bias", 1, D, 0, 0, &m->c2b, err);
    if (!rc)
        rc = read_pos(st, pre, d, &m->pos, err);
    for (int l = 0; !rc && l < d->layers; l++) {
        block64 *b = &m->b[l];
        char lp[64];
        snprintf(lp, sizeof lp, "%slayers.%d.", pre, l);
        struct { const char *n; int nd; long long a, b; double **p; } t[] = {
            {"self_attn_layer_norm.weight", 1, D, 0, &b->ln1g},
            {"self_attn_layer_norm.bias", 1, D, 0, &b->ln1b},
            {"self_attn.q_proj.weight", 2, D, D, &b->wq}, {"self_attn.q_proj.bias", 1, D, 0, &b->bq},
            {"self_attn.k_proj.weight", 2, D, D, &b->wk},
            {"self_attn.v_proj.weight", 2, D, D, &b->wv}, {"self_attn.v_proj.bias", 1, D, 0, &b->bv},
            {"self_attn.out_proj.weight", 2, D, D, &b->wo},
            {"self_attn.out_proj.bias", 1, D, 0, &b->bo},
            {"final_layer_norm.weight", 1, D, 0, &b->ln2g},
            {"final_layer_norm.bias", 1, D, 0, &b->ln2b},
            {"fc1.weight", 2, F, D, &b->w1}, {"fc1.bias", 1, F, 0, &b->b1},
            {"fc2.weight", 2, D, F, &b->w2}, {"fc2.bias", 1, D, 0, &b->b2}};
        for (size_t i = 0; !rc && i < sizeof t / sizeof t[0]; i++)
            rc = rd(st, lp, t[i].n, t[i].nd, t[i].a, t[i].b, 0, t[i].p, err);
    }
    if (!rc)
        rc = rd(st, pre, "layer_norm.weight", 1, D, 0, 0, &m->lng, err);
    if (!rc)
        rc = rd(st, pre, "layer_norm.bias", 1, D, 0, 0, &m->lnb, err);
    sono_st_close(st);
    if (rc) {
        sono_wh64_free(m);
        return rc;
    }
    *mp = m;
    return 0;
}

static double gelu(double x)
{
    return 0.5 * x * (1.0 + erf(x / sqrt(2.0)));
}

/* y[t][o] (+)= b[o] + sum_i x[t][i] w[o][i]: four rows at a time share each weight row. */
static void linear(const double *x, long long T, int in, const double *w, const double *b,
                   int out, double *y, int add)
{
    long long t = 0;
    for (; t + 4 <= T; t += 4)
        for (int o = 0; o < out; o++) {
            const double *wr = w + (size_t)o * in, *x0 = x + (size_t)t * in;
            double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
            for (int i = 0; i < in; i++) {
                s0 += x0[i] * wr[i];
                s1 += x0[in + i] * wr[i];
                s2 += x0[2 * in + i] * wr[i];
                s3 += x0[3 * in + i] * wr[i];
            }
            double bb = b ? b[o] : 0, s[4] = {s0, s1, s2, s3};
            for (int k = 0; k < 4; k++) {
                double *yo = y + (size_t)(t + k) * out + o;
                *yo = (add ? *yo : 0) + bb + s[k];
            }
        }
    for (; t < T; t++)
        for (int o = 0; o < out; o++) {
            const double *wr = w + (size_t)o * in, *xr = x + (size_t)t * in;
            double s = 0;
            for (int i = 0; i < in; i++)
                s += xr[i] * wr[i];
            double *yo = y + (size_t)t * out + o;
            *yo = (add ? *yo : 0) + (b ? b[o] : 0) + s;
        }
}

static void layernorm(const double *x, long long T, int D, const double *g, const double *b,
                      double *y)
{
    for (long long t = 0; t < T; t++) {
        const double *r = x + (size_t)t * D;
        double mu = 0, var = 0;
        for (int c = 0; c < D; c++)
            mu += r[c];
        mu /= D;
        for (int c = 0; c < D; c++)
            var += (r[c] - mu) * (r[c] - mu);
        var /= D;
        double inv = 1.0 / sqrt(var + 1e-5);
        for (int c = 0; c < D; c++)
            y[(size_t)t * D + c] = (r[c] - mu) * inv * g[c] + b[c];
    }
}

/* o[t][j*dh + c] for every head j: softmax over keys of q.k / sqrt(dh), max subtracted. */
static void attention(const sono_wh_dims *d, const double *q, const double *k,
                      const double *v, double *o, double *s)
{
    long long T = d->T;
    int D = d->d, dh = d->dh;
    double scale = 1.0 / sqrt((double)dh);
    for (int j = 0; j < d->heads; j++)
        for (long long t = 0; t < T; t++) {
            const double *qt = q + (size_t)t * D + (size_t)j * dh;
            double mx = -INFINITY, sum = 0;
            for (long long u = 0; u < T; u++) {
                const double *ku = k + (size_t)u * D + (size_t)j * dh;
                double a = 0;
                for (int c = 0; c < dh; c++)
                    a += qt[c] * ku[c];
                s[u] = a * scale;
                mx = s[u] > mx ? s[u] : mx;
            }
            double *ot = o + (size_t)t * D + (size_t)j * dh;
            for (int c = 0; c < dh; c++)
                ot[c] = 0;
            for (long long u = 0; u < T; u++) {
                double e = exp(s[u] - mx);
                const double *vu = v + (size_t)u * D + (size_t)j * dh;
                sum += e;
                for (int c = 0; c < dh; c++)
                    ot[c] += e * vu[c];
            }
            for (int c = 0; c < dh; c++)
                ot[c] /= sum;
        }
}

/* Conv stem: x [n_mels][frames] -> h [T][d], positions added. */
static void stem(const sono_wh64 *m, const float *mel, double *a1, double *h)
{
    const sono_wh_dims *d = &m->d;
    long long F = d->frames;
    int D = d->d, M = d->n_mels;
    for (long long t = 0; t < F; t++)
        for (int o = 0; o < D; o++) {
            double s = m->c1b[o];
            for (int i = 0; i < M; i++)
                for (int k = 0; k < 3; k++) {
                    long long u = t + k - 1;
                    if (u >= 0 && u < F)
                        s += m->c1w[((size_t)o * M + i) * 3 + k] * mel[(size_t)i * F + u];
                }
            a1[(size_t)t * D + o] = gelu(s);
        }
    for (long long t = 0; t < d->T; t++)
        for (int o = 0; o < D; o++) {
            double s = m->c2b[o];
            for (int k = 0; k < 3; k++) {
                long long u = 2 * t + k - 1;
                if (u < 0 || u >= F)
                    continue;
                const double *ar = a1 + (size_t)u * D;
                for (int i = 0; i < D; i++)
                    s += m->c2w[((size_t)o * D + i) * 3 + k] * ar[i];
            }
            h[(size_t)t * D + o] = gelu(s) + m->pos[(size_t)t * D + o];
        }
}

int sono_wh64_forward(const sono_wh64 *m, const float *mel, double *out, sono_error *err)
{
    const sono_wh_dims *d = &m->d;
    size_t T = (size_t)d->T, D = (size_t)d->d;
    double *a1 = malloc((size_t)d->frames * D * sizeof *a1), *h = malloc(T * D * sizeof *h),
           *u = malloc(T * D * sizeof *u), *q = malloc(T * D * sizeof *q),
           *k = malloc(T * D * sizeof *k), *v = malloc(T * D * sizeof *v),
           *o = malloc(T * D * sizeof *o), *f = malloc(T * (size_t)d->ffn * sizeof *f),
           *s = malloc(T * sizeof *s);
    int rc = 0;
    if (!a1 || !h || !u || !q || !k || !v || !o || !f || !s)
        rc = sono_fail(err, SONO_ENOMEM, "whisper.encoder reference: out of memory (T=%zu, "
                       "d=%zu)", T, D);
    if (!rc) {
        stem(m, mel, a1, h);
        for (int l = 0; l < d->layers; l++) {
            const block64 *b = &m->b[l];
            layernorm(h, d->T, d->d, b->ln1g, b->ln1b, u);
            linear(u, d->T, d->d, b->wq, b->bq, d->d, q, 0);
            linear(u, d->T, d->d, b->wk, NULL, d->d, k, 0);
            linear(u, d->T, d->d, b->wv, b->bv, d->d, v, 0);
            attention(d, q, k, v, o, s);
            linear(o, d->T, d->d, b->wo, b->bo, d->d, h, 1);
            layernorm(h, d->T, d->d, b->ln2g, b->ln2b, u);
            linear(u, d->T, d->d, b->w1, b->b1, d->ffn, f, 0);
            for (size_t i = 0; i < T * (size_t)d->ffn; i++)
                f[i] = gelu(f[i]);
            linear(f, d->T, d->ffn, b->w2, b->b2, d->d, h, 1);
        }
        layernorm(h, d->T, d->d, m->lng, m->lnb, out);
    }
    free(a1);
    free(h);
    free(u);
    free(q);
    free(k);
    free(v);
    free(o);
    free(f);
    free(s);
    return rc;
}
