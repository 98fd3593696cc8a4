/* hifigan64.c — the float64 HiFi-GAN generator (hifigan.h's definitions, transformers'
 * SpeechT5HifiGan.forward): whole-signal arrays [channel][time], every sum in double,
 * each conv's output channels split over threads. Written from the definitions, sharing
 * no code with the impls. */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>

#include "hifigan.h"
#include "st64.h"

typedef struct layer64 {
    const double *x, *w, *b, *res; /* res: added after the conv (NULL: none) */
    double *y;
    long long cin, cout, Tin, Tout;
    int k, dil, pad, stride, transposed;
    double slope; /* leaky ReLU on the input; 1: none */
    long long next;
    pthread_mutex_t mu;
} layer64;

static double lrelu(double v, double s)
{
    return v >= 0 ? v : v * s;
}

static void one_channel(layer64 *L, long long o)
{
    double *y = L->y + o * L->Tout;
    for (long long u = 0; u < L->Tout; u++)
        y[u] = L->b[o];
    if (!L->transposed) {
        for (long long c = 0; c < L->cin; c++)
            for (int k = 0; k < L->k; k++) {
                double w = L->w[(o * L->cin + c) * L->k + k];
                const double *x = L->x + c * L->Tin;
                for (long long u = 0; u < L->Tout; u++) {
                    long long t = u + (long long)k * L->dil - L->pad;
                    if (t >= 0 && t < L->Tin)
                        y[u] += w * lrelu(x[t], L->slope);
                }
            }
    } else {
        /* full output index v = t stride + k; kept when 0 <= v - pad < Tout */
        for (long long c = 0; c < L->cin; c++)
            for (int k = 0; k < L->k; k++) {
                double w = L->w[(c * L->cout + o) * L->k + k];
                const double *x = L->x + c * L->Tin;
                for (long long t = 0; t < L->Tin; t++) {
                    long long u = t * L->stride + k - L->pad;
                    if (u >= 0 && u < L->Tout)
                        y[u] += w * lrelu(x[t], L->slope);
                }
            }
    }
    if (L->res)
        for (long long u = 0; u < L->Tout; u++)
            y[u] += L->res[o * L->Tout + u];
}

static void *worker(void *arg)
{
    layer64 *L = arg;
    for (;;) {
        pthread_mutex_lock(&L->mu);
        long long o = L->next++;
        pthread_mutex_unlock(&L->mu);
        if (o >= L->cout)
            return NULL;
        one_channel(L, o);
    }
}

static void run_layer(layer64 *L, int threads)
{
    L->next = 0;
    pthread_mutex_init(&L->mu, NULL);
    pthread_t th[64];
    int started = 0;
    for (int i = 0; threads > 1 && i < threads && i < 64; i++)
        started += pthread_create(&th[started], NULL, worker, L) == 0;
    if (!started)
        worker(L);
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    pthread_mutex_destroy(&L->mu);
}

static int get(sono_st *st, const char *name, int nd, long long a, long long b, long long c,
               double **out, sono_error *err)
{
    long long sh[3] = {a, b, c};
    return sono_st_read(st, name, nd, sh, out, err);
}

/* conv (or transposed conv) named `pre` on x [cin][Tin] into a fresh y. */
static int layer(sono_st *st, const char *pre, const double *x, long long cin, long long Tin,
                 long long cout, int k, int dil, int stride, int transposed, double slope,
                 const double *res, double **y, long long *Tout, int threads, sono_error *err)
{
    char wn[128], bn[128];
    snprintf(wn, sizeof wn, "%s.weight", pre);
    snprintf(bn, sizeof bn, "%s.bias", pre);
    double *w = NULL, *b = NULL;
    int rc = transposed ? get(st, wn, 3, cin, cout, k, &w, err) : get(st, wn, 3, cout, cin, k,
                                                                      &w, err);
    if (!rc)
        rc = get(st, bn, 1, cout, 0, 0, &b, err);
    layer64 L = {.x = x, .w = w, .b = b, .res = res, .cin = cin, .cout = cout, .Tin = Tin,
                 .k = k, .dil = dil, .stride = stride, .transposed = transposed,
                 .slope = slope};
    L.pad = transposed ? (k - stride) / 2 : dil * (k - 1) / 2;
    L.Tout = transposed ? Tin * stride : Tin;
    if (!rc && !(L.y = malloc((size_t)(cout * L.Tout) * sizeof(double))))
        rc = sono_fail(err, SONO_ENOMEM, "vocoder.hifigan reference: out of memory");
    if (!rc)
        run_layer(&L, threads);
    free(w);
    free(b);
    *y = L.y;
    *Tout = L.Tout;
    return rc;
}

int sono_hg64_forward(const char *path, const sono_hg_dims *d, const float *mel, double *out,
                      int threads, sono_error *err)
{
    sono_st *st = NULL;
    int rc = sono_st_open(path, &st, err);
    if (rc)
        return rc;
    long long F = d->frames, T = F, C = d->ch;
    double *mean = NULL, *scale = NULL, *x = NULL, *h = NULL;
    rc = get(st, "mean", 1, SONO_HG_MELS, 0, 0, &mean, err);
    if (!rc)
        rc = get(st, "scale", 1, SONO_HG_MELS, 0, 0, &scale, err);
    double *xn = rc ? NULL : malloc((size_t)(SONO_HG_MELS * F) * sizeof *xn);
    if (!rc && !xn)
        rc = sono_fail(err, SONO_ENOMEM, "vocoder.hifigan reference: out of memory");
    for (long long c = 0; !rc && c < SONO_HG_MELS; c++)
        for (long long t = 0; t < F; t++)
            xn[c * F + t] = ((double)mel[c * F + t] - mean[c]) / scale[c];
    if (!rc)
        rc = layer(st, "conv_pre", xn, SONO_HG_MELS, F, C, 7, 1, 1, 0, 1.0, NULL, &x, &T,
                   threads, err);
    free(xn);
    for (int i = 0; !rc && i < SONO_HG_STAGES; i++) {
        char pre[64];
        long long Co = C / 2, Tu; /* C: this stage's input width */
        snprintf(pre, sizeof pre, "upsampler.%d", i);
        rc = layer(st, pre, x, C, T, Co, sono_hg_ukernels[i], 1, sono_hg_rates[i], 1,
                   0.1, NULL, &h, &Tu, threads, err);
        free(x);
        x = NULL;
        T = Tu;
        double *sum = rc ? NULL : calloc((size_t)(Co * T), sizeof *sum);
        if (!rc && !sum)
            rc = sono_fail(err, SONO_ENOMEM, "vocoder.hifigan reference: out of memory");
        for (int j = 0; !rc && j < SONO_HG_KERNELS; j++) {
            int k = sono_hg_rkernels[j];
            double *r = h, *a = NULL, *r2 = NULL;
            for (int m = 0; !rc && m < 3; m++) {
                long long Tt;
                snprintf(pre, sizeof pre, "resblocks.%d.convs1.%d", 3 * i + j, m);
                rc = layer(st, pre, r, Co, T, Co, k, sono_hg_dilations[m], 1, 0, 0.1, NULL, &a,
                           &Tt, threads, err);
                snprintf(pre, sizeof pre, "resblocks.%d.convs2.%d", 3 * i + j, m);
                if (!rc)
                    rc = layer(st, pre, a, Co, T, Co, k, 1, 1, 0, 0.1, r, &r2, &Tt, threads,
                               err);
                free(a);
                a = NULL;
                if (r != h)
                    free(r);
                r = r2;
                r2 = NULL;
            }
            for (long long e = 0; !rc && e < Co * T; e++)
                sum[e] += r[e];
            if (r != h)
                free(r);
        }
        for (long long e = 0; !rc && e < Co * T; e++)
            sum[e] /= SONO_HG_KERNELS;
        free(h);
        h = NULL;
        x = sum;
        C = Co;
    }
    double *y = NULL;
    long long Ty;
    if (!rc)
        rc = layer(st, "conv_post", x, C, T, 1, 7, 1, 1, 0, 0.01, NULL, &y, &Ty, threads, err);
    for (long long u = 0; !rc && u < Ty; u++)
        out[u] = tanh(y[u]);
    free(y);
    free(x);
    free(mean);
    free(scale);
    sono_st_close(st);
    return rc;
}
