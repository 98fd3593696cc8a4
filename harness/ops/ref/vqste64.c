/* vqste64.c — vq.ste's float64 reference (vqste64.h): the forward pass, the losses, the
 * straight-through backward pass and the EMA update with Laplace smoothing and dead-code
 * restarts, each written from its definition; the restarts' Philox is sample64.c's. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "sample64.h"
#include "vq64.h"
#include "vqste64.h"

sono_vqste64_at sono_vqste64_layout(const sono_vqste64_cfg *c)
{
    sono_vqste64_at a;
    long long ND = c->N * c->D, KD = c->K * c->D;
    a.codes = 0;
    a.q = c->N;
    a.losses = a.q + ND;
    a.dx = a.losses + 2;
    a.de = a.dx + ND;
    a.e_new = a.de + KD;
    a.total = a.e_new + KD;
    return a;
}

long long sono_vqste64_in_elems(const sono_vqste64_cfg *c)
{
    return 2 * c->K * c->D + c->K + 2 * c->N * c->D;
}

/* Input parts. */
#define IN_E(in, c) (in)
#define IN_CNT(in, c) ((in) + (c)->K * (c)->D)
#define IN_SUM(in, c) ((in) + (c)->K * (c)->D + (c)->K)
#define IN_X(in, c) ((in) + 2 * (c)->K * (c)->D + (c)->K)
#define IN_G(in, c) (IN_X(in, c) + (c)->N * (c)->D)

void sono_vqste64_codes(const float *in, const sono_vqste64_cfg *c, int32_t *codes)
{
    double *r = malloc((size_t)c->D * sizeof *r);
    if (!r)
        return;
    for (long long n = 0; n < c->N; n++) {
        const float *x = IN_X(in, c) + n * c->D;
        for (long long j = 0; j < c->D; j++)
            r[j] = x[j];
        codes[n] = (int32_t)sono_vq64_nearest(r, IN_E(in, c), c->K, c->D, NULL);
    }
    free(r);
}

static long long restart_of(const sono_vqste64_cfg *c, long long k)
{
    return (long long)(sono_philox64_u32(c->seed, (uint32_t)k, 0, 1) % (uint64_t)c->N);
}

long long sono_vqste64_step(const float *in, const sono_vqste64_cfg *c, const int32_t *codes,
                            double *out, double *cnt, double *alt)
{
    long long K = c->K, D = c->D, N = c->N, restarts = 0;
    sono_vqste64_at a = sono_vqste64_layout(c);
    const float *e = IN_E(in, c), *x = IN_X(in, c), *g = IN_G(in, c);
    double ND = (double)(N * D), sq = 0;
    double *de = out + a.de, *en = out + a.e_new;
    double *nk = calloc((size_t)K, sizeof *nk), *sk = calloc((size_t)(K * D), sizeof *sk);
    if (!nk || !sk) {
        free(nk);
        free(sk);
        return -1;
    }
    for (long long n = 0; n < N; n++) {
        long long k = codes[n];
        out[a.codes + n] = (double)k;
        nk[k] += 1;
        for (long long j = 0; j < D; j++) {
            double xv = x[n * D + j], qv = e[k * D + j], d = xv - qv;
            out[a.q + n * D + j] = qv; /* x + (q - x) */
            out[a.dx + n * D + j] = (double)g[n * D + j] + 2 * c->beta * d / ND;
            sq += d * d;
            sk[k * D + j] += xv;
        }
    }
    out[a.losses] = sq / ND;
    out[a.losses + 1] = c->beta * sq / ND;
    /* de_k = sum over the code's vectors of 2 (e_k - x) / ND */
    for (long long k = 0; k < K; k++)
        for (long long j = 0; j < D; j++)
            de[k * D + j] = 2 * (nk[k] * (double)e[k * D + j] - sk[k * D + j]) / ND;
    /* EMA counts and sums, Laplace-smoothed counts, new codewords */
    double tot = 0;
    for (long long k = 0; k < K; k++) {
        nk[k] = c->decay * (double)IN_CNT(in, c)[k] + (1 - c->decay) * nk[k];
        tot += nk[k];
    }
    for (long long k = 0; k < K; k++) {
        double sm = (nk[k] + c->eps) / (tot + (double)K * c->eps) * tot;
        long long r = restart_of(c, k);
        int dead = nk[k] < c->dead;
        restarts += dead;
        for (long long j = 0; j < D; j++) {
            double ema = (c->decay * (double)IN_SUM(in, c)[k * D + j] +
                          (1 - c->decay) * sk[k * D + j]) / sm;
            double re = x[r * D + j];
            en[k * D + j] = dead ? re : ema;
            if (alt)
                alt[k * D + j] = dead ? ema : re;
        }
        if (cnt)
            cnt[k] = nk[k];
    }
    free(nk);
    free(sk);
    return restarts;
}

double sono_vqste64_loss(const double *x, const double *e, const double *xs,
                         const double *es, const float *g, const int32_t *codes,
                         const sono_vqste64_cfg *c)
{
    long long D = c->D;
    double ND = (double)(c->N * D), task = 0, cb = 0, cm = 0;
    for (long long n = 0; n < c->N; n++)
        for (long long j = 0; j < D; j++) {
            long long i = n * D + j, q = codes[n] * D + j;
            task += (double)g[i] * (x[i] + es[q] - xs[i]);
            cb += (xs[i] - e[q]) * (xs[i] - e[q]);
            cm += (x[i] - es[q]) * (x[i] - es[q]);
        }
    return task + cb / ND + c->beta * cm / ND;
}

static double rel(const float *o, const double *r, long long n)
{
    double num = 0, den = 0;
    for (long long i = 0; i < n; i++) {
        double d = (double)o[i] - r[i];
        num += d * d;
        den += r[i] * r[i];
    }
    if (isnan(num))
        return INFINITY;
    return den > 0 ? sqrt(num / den) : sqrt(num);
}

/* Whether impl code k for x is the nearest up to the float32 rounding of two distances
 * (vq64.h's bound for one stage). */
static int code_ok(const float *in, const sono_vqste64_cfg *c, const double *r, long long k,
                   double tol)
{
    const float *e = IN_E(in, c);
    double best, dk = sono_vq64_dist(r, e + k * c->D, c->D), nr = 0, nk = 0, nb = 0;
    long long b = sono_vq64_nearest(r, e, c->K, c->D, &best);
    if (b == k)
        return 1;
    for (long long j = 0; j < c->D; j++) {
        nr += r[j] * r[j];
        nk += (double)e[k * c->D + j] * e[k * c->D + j];
        nb += (double)e[b * c->D + j] * e[b * c->D + j];
    }
    double sk = sqrt(nr) + sqrt(nk), sb = sqrt(nr) + sqrt(nb);
    return dk - best <= tol * (double)(c->D + 2) * (sk * sk + sb * sb);
}

void sono_vqste64_check(const float *in, const sono_vqste64_cfg *c, const float *out,
                        const double *ref, double tol, sono_check *chk)
{
    long long K = c->K, D = c->D, N = c->N;
    sono_vqste64_at a = sono_vqste64_layout(c);
    int32_t *codes = malloc((size_t)N * sizeof *codes);
    double *mine = malloc((size_t)a.total * sizeof *mine);
    double *cnt = malloc((size_t)K * sizeof *cnt), *alt = malloc((size_t)(K * D) * sizeof *alt);
    double *r = malloc((size_t)D * sizeof *r);
    chk->tol = tol;
    chk->pass = 0;
    chk->has_mismatches = 1;
    if (!codes || !mine || !cnt || !alt || !r) {
        snprintf(chk->detail, sizeof chk->detail, "out of memory in the check");
        goto done;
    }
    long long mism = 0, bad = 0;
    for (long long n = 0; n < N; n++) {
        float f = out[a.codes + n];
        if (!(f >= 0 && f < (float)K && f == floorf(f))) {
            snprintf(chk->detail, sizeof chk->detail, "code %lld is %g, not an integer in "
                     "[0, %lld)", n, (double)f, K);
            chk->rel_l2 = INFINITY;
            goto done;
        }
        codes[n] = (int32_t)f;
        if (codes[n] == (int32_t)ref[a.codes + n])
            continue;
        mism++;
        for (long long j = 0; j < D; j++)
            r[j] = IN_X(in, c)[n * D + j];
        bad += !code_ok(in, c, r, codes[n], tol);
    }
    chk->mismatches = mism;
    if (bad) {
        snprintf(chk->detail, sizeof chk->detail, "%lld of %lld codes differ, %lld beyond a "
                 "near-tie of distances", mism, N, bad);
        chk->rel_l2 = INFINITY;
        goto done;
    }
    long long restarts = sono_vqste64_step(in, c, codes, mine, cnt, alt), flex = 0;
    if (restarts < 0) {
        snprintf(chk->detail, sizeof chk->detail, "out of memory in the check");
        goto done;
    }
    /* a near-dead code's row: the candidate nearer the impl's */
    for (long long k = 0; k < K; k++) {
        double m = cnt[k] > c->dead ? cnt[k] : c->dead;
        if (fabs(cnt[k] - c->dead) > tol * 4 * m)
            continue;
        flex++;
        double d0 = 0, d1 = 0;
        for (long long j = 0; j < D; j++) {
            double o = out[a.e_new + k * D + j];
            d0 += (o - mine[a.e_new + k * D + j]) * (o - mine[a.e_new + k * D + j]);
            d1 += (o - alt[k * D + j]) * (o - alt[k * D + j]);
        }
        if (d1 < d0)
            for (long long j = 0; j < D; j++)
                mine[a.e_new + k * D + j] = alt[k * D + j];
    }
    long long nmax = 0, *nk = calloc((size_t)K, sizeof *nk);
    if (!nk) {
        snprintf(chk->detail, sizeof chk->detail, "out of memory in the check");
        goto done;
    }
    for (long long n = 0; n < N; n++)
        if (++nk[codes[n]] > nmax)
            nmax = nk[codes[n]];
    free(nk);
    struct {
        const char *name;
        long long at, n;
        double units;
    } part[5] = {
        {"q", a.q, N * D, 4},
        {"losses", a.losses, 2, (double)(N * D) + 8},
        {"dx", a.dx, N * D, 8},
        {"de", a.de, K * D, (double)nmax + 8},
        {"e_new", a.e_new, K * D, (double)(nmax + K) + 8},
    };
    double worst = 0;
    const char *wname = "q";
    for (int i = 0; i < 5; i++) {
        double q = rel(out + part[i].at, mine + part[i].at, part[i].n) / part[i].units;
        if (!(q <= worst)) {
            worst = q;
            wname = part[i].name;
        }
    }
    chk->rel_l2 = worst;
    chk->max_abs = 0;
    chk->pass = worst <= tol;
    snprintf(chk->detail, sizeof chk->detail, "%lld of %lld codes differ (near-ties); worst "
             "part %s at %.3g of its bound; %lld restarts, %lld near the threshold", mism, N,
             wname, worst / tol, restarts, flex);
done:
    free(codes);
    free(mine);
    free(cnt);
    free(alt);
    free(r);
}
