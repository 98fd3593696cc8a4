/* maskgit64.c — the float64 MaskGIT iteration, its check and decode's MLP (maskgit64.h).
 * Sampling is sample64.c's rule; the confidence ranking is a qsort of (confidence, frame). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "maskgit64.h"
#include "sample64.h"

#define HALF_PI 1.57079632679489661923132169163975144

long long sono_maskgit64_nmask(long long F, long long masked, long long t, long long iters)
{
    long long n = (long long)floor((double)F * cos(HALF_PI * (double)(t + 1) / (double)iters));
    if (n > masked - 1)
        n = masked - 1;
    return n < 0 ? 0 : n;
}

long long sono_maskgit64_iters(long long level, long long iters0, long long iters_rest)
{
    return level == 0 ? iters0 : iters_rest;
}

/* softmax probability of tok at temperature 1 */
static double conf_of(const float *l, long long V, long long tok, double *A)
{
    double mx = l[0], s = 0;
    for (long long v = 1; v < V; v++)
        mx = l[v] > mx ? l[v] : mx;
    double mn = mx;
    for (long long v = 0; v < V; v++) {
        s += exp((double)l[v] - mx);
        mn = l[v] < mn ? l[v] : mn;
    }
    if (A)
        *A = mx - mn;
    return exp((double)l[tok] - mx) / s;
}

typedef struct cf {
    double c;
    long long f;
} cf;

static int by_conf(const void *a, const void *b)
{
    const cf *x = a, *y = b;
    if (x->c != y->c)
        return x->c < y->c ? -1 : 1;
    return (x->f > y->f) - (x->f < y->f);
}

int sono_maskgit64_step(const int32_t *prev, long long L, long long F, long long V,
                        long long level, long long t, long long iters, double temp,
                        uint64_t seed, const float *logits, int32_t *next)
{
    sono_sample64_ws *w = sono_sample64_ws_new(V);
    cf *c = malloc((size_t)F * sizeof *c);
    if (!w || !c) {
        sono_sample64_ws_free(w);
        free(c);
        return -1;
    }
    sono_sample64_cfg cfg = {.temperature = temp, .top_p = 1, .top_k = 0};
    for (long long i = 0; i < L * F; i++)
        next[i] = prev[i];
    long long m = 0;
    const int32_t *row = prev + level * F;
    for (long long f = 0; f < F; f++) {
        if (row[f] != SONO_MASK)
            continue;
        const float *l = logits + f * V;
        double u = sono_philox64_u24(seed, (uint32_t)f, (uint32_t)level, (uint32_t)t);
        long long tok = sono_sample64_row(w, l, V, &cfg, u);
        next[level * F + f] = (int32_t)tok;
        c[m++] = (cf){conf_of(l, V, tok, NULL), f};
    }
    long long nm = sono_maskgit64_nmask(F, m, t, iters);
    qsort(c, (size_t)m, sizeof *c, by_conf);
    for (long long i = 0; i < nm; i++)
        next[level * F + c[i].f] = SONO_MASK;
    sono_sample64_ws_free(w);
    free(c);
    return 0;
}

long long sono_maskgit64_check_step(const int32_t *prev, long long L, long long F,
                                    long long V, long long level, long long t,
                                    long long iters, double temp, uint64_t seed,
                                    const float *logits, const double *dl,
                                    const int32_t *next, double tol, long long *differ,
                                    double *worst, char *why, size_t nwhy)
{
    int32_t *mine = malloc((size_t)(L * F) * sizeof *mine);
    sono_sample64_ws *w = sono_sample64_ws_new(V);
    long long bad = 0, masked = 0, remasked = 0;
    if (!mine || !w || sono_maskgit64_step(prev, L, F, V, level, t, iters, temp, seed, logits,
                                           mine)) {
        free(mine);
        sono_sample64_ws_free(w);
        return -1;
    }
#define BAD(...)                                                                             \
    do {                                                                                     \
        if (!bad++)                                                                          \
            snprintf(why, nwhy, __VA_ARGS__);                                                \
    } while (0)
    for (long long i = 0; i < L * F; i++) {
        *differ += mine[i] != next[i];
        long long lv = i / F;
        if ((lv != level || prev[i] != SONO_MASK) && next[i] != prev[i])
            BAD("level %lld frame %lld changed (%d -> %d) though not being decoded", lv,
                i % F, prev[i], next[i]);
    }
    sono_sample64_cfg cfg = {.temperature = temp, .top_p = 1, .top_k = 0};
    double minK = INFINITY, maxR = 0, dmax = 0, Amax = 0;
    long long maxR_f = -1;
    for (long long f = 0; f < F; f++) {
        if (prev[level * F + f] != SONO_MASK)
            continue;
        masked++;
        const float *l = logits + f * V;
        double u = sono_philox64_u24(seed, (uint32_t)f, (uint32_t)level, (uint32_t)t), A, g;
        double d = dl ? dl[f] : 0;
        dmax = d > dmax ? d : dmax;
        int32_t tok = next[level * F + f];
        if (tok == SONO_MASK) {
            remasked++;
            long long rt = sono_sample64_row(w, l, V, &cfg, u);
            double cr = conf_of(l, V, rt, &A);
            Amax = A > Amax ? A : Amax;
            if (cr > maxR) {
                maxR = cr;
                maxR_f = f;
            }
            continue;
        }
        if (tok < 0 || tok >= V) {
            BAD("level %lld frame %lld: token %d out of [0, %lld)", level, f, tok, V);
            continue;
        }
        if (!sono_sample64_accept_margin(w, l, V, &cfg, u, tok, tol, d, &g))
            BAD("level %lld frame %lld: token %d is not a draw of u %.9g (gap %.3g)", level,
                f, tok, u, g);
        else if (g > *worst && isfinite(g))
            *worst = g;
        double ck = conf_of(l, V, tok, &A);
        Amax = A > Amax ? A : Amax;
        minK = ck < minK ? ck : minK;
    }
    long long nm = sono_maskgit64_nmask(F, masked, t, iters);
    if (remasked != nm)
        BAD("level %lld iteration %lld: %lld frames masked again, the schedule says %lld",
            level, t, remasked, nm);
    double dc = tol * ((double)V + 4 + 2 * Amax) + 2 * expm1(2 * dmax);
    if (maxR_f >= 0 && maxR * (1 - dc) > minK * (1 + dc)) {
        /* the reference's own draw may be a near-tie away from the impl's: the least
         * confident token any acceptable draw gives that frame */
        const float *l = logits + maxR_f * V;
        double u = sono_philox64_u24(seed, (uint32_t)maxR_f, (uint32_t)level, (uint32_t)t);
        double low = maxR, g;
        for (long long v = 0; v < V; v++)
            if (sono_sample64_accept_margin(w, l, V, &cfg, u, v, tol, dl ? dl[maxR_f] : 0, &g)) {
                double cv = conf_of(l, V, v, NULL);
                low = cv < low ? cv : low;
            }
        if (low * (1 - dc) > minK * (1 + dc))
            BAD("level %lld frame %lld masked again with confidence %.9g above a kept "
                "frame's %.9g", level, maxR_f, low, minK);
    }
#undef BAD
    free(mine);
    sono_sample64_ws_free(w);
    return bad;
}

long long sono_maskgit64_weights(long long L, long long V, long long d)
{
    return L * (V + 1) * d + d * d + d + d * V + L * V;
}

sono_maskgit64_net sono_maskgit64_bind(const float *w, long long L, long long V, long long d)
{
    sono_maskgit64_net n = {.L = L, .V = V, .d = d};
    n.E = w;
    n.W1 = n.E + L * (V + 1) * d;
    n.b1 = n.W1 + d * d;
    n.W2 = n.b1 + d;
    n.b2 = n.W2 + d * V;
    return n;
}

int sono_maskgit64_logits(const sono_maskgit64_net *n, const int32_t *tok, long long F,
                          long long level, double tol, float *out, double *dl)
{
    long long L = n->L, V = n->V, d = n->d;
    double *h = malloc((size_t)d * sizeof *h), *eh = malloc((size_t)d * sizeof *eh);
    double *a = malloc((size_t)d * sizeof *a), *ea = malloc((size_t)d * sizeof *ea);
    double *habs = malloc((size_t)d * sizeof *habs);
    int rc = h && eh && a && ea && habs ? 0 : -1;
    for (long long f = 0; f < F && !rc; f++) {
        for (long long i = 0; i < d; i++)
            h[i] = habs[i] = 0;
        for (long long l = 0; l < L; l++) {
            int32_t k = tok[l * F + f];
            const float *e = n->E + (l * (V + 1) + (k == SONO_MASK ? V : k)) * d;
            for (long long i = 0; i < d; i++) {
                h[i] += e[i];
                habs[i] += fabs((double)e[i]);
            }
        }
        for (long long i = 0; i < d; i++)
            eh[i] = tol * (double)L * habs[i];
        for (long long j = 0; j < d; j++) {
            double z = n->b1[j], za = fabs((double)n->b1[j]), ez = 0;
            for (long long i = 0; i < d; i++) {
                double wv = n->W1[i * d + j];
                z += h[i] * wv;
                za += fabs(h[i] * wv);
                ez += fabs(wv) * eh[i];
            }
            a[j] = z > 0 ? z : 0;
            ea[j] = tol * (double)(d + 1) * za + ez;
        }
        double worst = 0;
        for (long long k = 0; k < V; k++) {
            double z = n->b2[level * V + k], za = fabs((double)n->b2[level * V + k]), ez = 0;
            for (long long j = 0; j < d; j++) {
                double wv = n->W2[j * V + k];
                z += a[j] * wv;
                za += fabs(a[j] * wv);
                ez += fabs(wv) * ea[j];
            }
            out[f * V + k] = (float)z;
            double e = tol * (double)(d + 1) * za + ez + tol * fabs(z);
            worst = e > worst ? e : worst;
        }
        if (dl)
            dl[f] = worst;
    }
    free(h);
    free(eh);
    free(a);
    free(ea);
    free(habs);
    return rc;
}
