/* w2v64.c — the float64 reference of wav2vec2.features (definitions in w2v.h): every
 * product, sum and statistic in double. Activations are kept time-major [T][C], so the
 * receptive field of an output step is one contiguous run of k*cin values and a conv is a
 * dot product with the weights reordered [co][j][ci]; the 60 s case is ~150 G
 * multiply-adds, so the dot products run 2 steps x 4 channels at a time (independent sums
 * the CPU overlaps) on one thread per core. */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "st64.h"
#include "w2v.h"

struct sono_w2v64 {
    sono_w2v_dims d;
    double *w[SONO_W2V_LAYERS];     /* [C][k][cin] */
    double *gamma[SONO_W2V_LAYERS]; /* NULL where the layer has no norm */
    double *beta[SONO_W2V_LAYERS];
};

void sono_w2v64_free(sono_w2v64 *m)
{
    if (!m)
        return;
    for (int l = 0; l < SONO_W2V_LAYERS; l++) {
        free(m->w[l]);
        free(m->gamma[l]);
        free(m->beta[l]);
    }
    free(m);
}

/* The prefix under which the file holds the feature encoder: "", "wav2vec2.", ... */
static const char *find_prefix(const sono_st *st)
{
    static const char *const pre[] = {"", "wav2vec2.", "hubert.", "wavlm.", NULL};
    for (int i = 0; pre[i]; i++) {
        char name[160];
        snprintf(name, sizeof name, "%sfeature_extractor.conv_layers.0.conv.weight", pre[i]);
        if (sono_st_has(st, name))
            return pre[i];
    }
    return "";
}

int sono_w2v64_load(const char *path, const sono_w2v_dims *d, sono_w2v64 **out,
                    sono_error *err)
{
    *out = NULL;
    sono_st *st;
    int rc = sono_st_open(path, &st, err);
    if (rc)
        return rc;
    sono_w2v64 *m = calloc(1, sizeof *m);
    if (!m) {
        sono_st_close(st);
        return sono_fail(err, SONO_ENOMEM, "%s: out of memory", path);
    }
    m->d = *d;
    const char *pre = find_prefix(st);
    char bias[160];
    snprintf(bias, sizeof bias, "%sfeature_extractor.conv_layers.0.conv.bias", pre);
    if (sono_st_has(st, bias)) { /* conv_bias = true (wav2vec2-large-lv60): not the op */
        sono_st_close(st);
        free(m);
        return sono_fail(err, SONO_EUNSUPPORTED, "%s: tensor '%s' is there: a conv_bias = "
                         "true model, which wav2vec2.features does not define (its convs "
                         "have no bias)", path, bias);
    }
    long long C = d->channels;
    for (int l = 0; l < SONO_W2V_LAYERS && !rc; l++) {
        long long cin = l ? C : 1, k = sono_w2v_kernel[l];
        char name[160];
        snprintf(name, sizeof name, "%sfeature_extractor.conv_layers.%d.conv.weight", pre, l);
        double *w;
        rc = sono_st_read(st, name, 3, (long long[]){C, cin, k}, &w, err);
        if (rc)
            break;
        if (!(m->w[l] = malloc((size_t)(C * cin * k) * sizeof(double)))) {
            free(w);
            rc = sono_fail(err, SONO_ENOMEM, "%s: out of memory", path);
            break;
        }
        for (long long co = 0; co < C; co++) /* [co][ci][j] -> [co][j][ci] */
            for (long long ci = 0; ci < cin; ci++)
                for (long long j = 0; j < k; j++)
                    m->w[l][(co * k + j) * cin + ci] = w[(co * cin + ci) * k + j];
        free(w);
        if (l > 0 && !d->layer_norm)
            continue;
        snprintf(name, sizeof name, "%sfeature_extractor.conv_layers.%d.layer_norm.weight",
                 pre, l);
        rc = sono_st_read(st, name, 1, &C, &m->gamma[l], err);
        snprintf(name, sizeof name, "%sfeature_extractor.conv_layers.%d.layer_norm.bias",
                 pre, l);
        if (!rc)
            rc = sono_st_read(st, name, 1, &C, &m->beta[l], err);
    }
    sono_st_close(st);
    if (rc) {
        sono_w2v64_free(m);
        return rc;
    }
    *out = m;
    return 0;
}

typedef struct conv_job {
    const double *x, *w;
    double *z;
    long long cin, C, k, s, t0, t1;
} conv_job;

/* z[t][co] = sum_i w[co][i] x[t s cin + i], i < k cin, for t in [t0, t1). */
static void *conv_part(void *arg)
{
    const conv_job *c = arg;
    long long n = c->k * c->cin, t = c->t0;
    for (; t < c->t1; t += 2) {
        int two = t + 1 < c->t1;
        const double *xa = c->x + t * c->s * c->cin, *xb = two ? xa + c->s * c->cin : xa;
        long long co = 0;
        for (; co + 4 <= c->C; co += 4) {
            const double *w0 = c->w + co * n, *w1 = w0 + n, *w2 = w1 + n, *w3 = w2 + n;
            double a0 = 0, a1 = 0, a2 = 0, a3 = 0, b0 = 0, b1 = 0, b2 = 0, b3 = 0;
            for (long long i = 0; i < n; i++) {
                double xv = xa[i], yv = xb[i];
                a0 += w0[i] * xv;
                a1 += w1[i] * xv;
                a2 += w2[i] * xv;
                a3 += w3[i] * xv;
                b0 += w0[i] * yv;
                b1 += w1[i] * yv;
                b2 += w2[i] * yv;
                b3 += w3[i] * yv;
            }
            double *za = c->z + t * c->C + co;
            za[0] = a0, za[1] = a1, za[2] = a2, za[3] = a3;
            if (two)
                za[c->C] = b0, za[c->C + 1] = b1, za[c->C + 2] = b2, za[c->C + 3] = b3;
        }
        for (; co < c->C; co++)
            for (int u = 0; u < 1 + two; u++) {
                const double *xv = u ? xb : xa, *wv = c->w + co * n;
                double a = 0;
                for (long long i = 0; i < n; i++)
                    a += wv[i] * xv[i];
                c->z[(t + u) * c->C + co] = a;
            }
    }
    return NULL;
}

static void conv(const double *x, const double *w, double *z, long long cin, long long C,
                 long long k, long long s, long long T)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int nt = cores < 1 ? 1 : cores > 64 ? 64 : (int)cores;
    if (T * C * k * cin < (1LL << 22))
        nt = 1;
    pthread_t th[64];
    conv_job jobs[64];
    int started[64] = {0};
    long long per = (T + nt - 1) / nt;
    per += per & 1;
    for (int i = 0; i < nt; i++) {
        long long t0 = i * per, t1 = t0 + per < T ? t0 + per : T;
        jobs[i] = (conv_job){x, w, z, cin, C, k, s, t0 < T ? t0 : T, t1 > t0 ? t1 : t0};
        started[i] = i > 0 && pthread_create(&th[i], NULL, conv_part, &jobs[i]) == 0;
        if (i > 0 && !started[i])
            conv_part(&jobs[i]);
    }
    conv_part(&jobs[0]);
    for (int i = 1; i < nt; i++)
        if (started[i])
            pthread_join(th[i], NULL);
}

/* y = (z - mean) / sqrt(var + 1e-5) * g + b over n values at stride `step`. */
static void normalize(double *z, long long n, long long step, double g, double b)
{
    double mean = 0, var = 0;
    for (long long i = 0; i < n; i++)
        mean += z[i * step];
    mean /= (double)n;
    for (long long i = 0; i < n; i++)
        var += (z[i * step] - mean) * (z[i * step] - mean);
    double inv = 1.0 / sqrt(var / (double)n + 1e-5);
    for (long long i = 0; i < n; i++)
        z[i * step] = (z[i * step] - mean) * inv * g + b;
}

/* LayerNorm of one time step's C channels. */
static void layer_norm(double *row, long long C, const double *g, const double *b)
{
    double mean = 0, var = 0;
    for (long long i = 0; i < C; i++)
        mean += row[i];
    mean /= (double)C;
    for (long long i = 0; i < C; i++)
        var += (row[i] - mean) * (row[i] - mean);
    double inv = 1.0 / sqrt(var / (double)C + 1e-5);
    for (long long i = 0; i < C; i++)
        row[i] = (row[i] - mean) * inv * g[i] + b[i];
}

int sono_w2v64_run(const sono_w2v64 *m, const float *x, double *out, sono_error *err)
{
    const sono_w2v_dims *d = &m->d;
    long long C = d->channels;
    double *a = malloc((size_t)d->samples * sizeof *a);
    double *z = malloc((size_t)(d->len[1] * C) * sizeof *z);
    double *z2 = malloc((size_t)(d->len[2] > 0 ? d->len[2] * C : 1) * sizeof *z2);
    if (!a || !z || !z2) {
        free(a);
        free(z);
        free(z2);
        return sono_fail(err, SONO_ENOMEM, "wav2vec2.features reference: no memory for "
                         "[%lld, %lld] doubles", d->len[1], C);
    }
    for (long long i = 0; i < d->samples; i++)
        a[i] = x[i];
    const double *in = a;
    double *bufs[2] = {z, z2};
    for (int l = 0; l < SONO_W2V_LAYERS; l++) {
        long long cin = l ? C : 1, T = d->len[l + 1];
        double *y = l == SONO_W2V_LAYERS - 1 ? out : bufs[l & 1];
        conv(in, m->w[l], y, cin, C, sono_w2v_kernel[l], sono_w2v_stride[l], T);
        if (m->gamma[l] && d->layer_norm)
            for (long long t = 0; t < T; t++)
                layer_norm(y + t * C, C, m->gamma[l], m->beta[l]);
        else if (m->gamma[l])
            for (long long c = 0; c < C; c++)
                normalize(y + c, T, C, m->gamma[l][c], m->beta[l][c]);
        for (long long i = 0; i < T * C; i++)
            y[i] = 0.5 * y[i] * (1.0 + erf(y[i] / sqrt(2.0)));
        in = y;
    }
    free(a);
    free(z);
    free(z2);
    return 0;
}
