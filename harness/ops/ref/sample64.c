/* sample64.c — float64 sampling (sample64.h): Philox4x32-10 written from the paper's
 * description (the key bumped before each round after the first, as Random123 spells it),
 * a stable sort of each row, weights and cumulative sums in double. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "sample64.h"

void sono_philox64(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4])
{
    static const uint32_t M[2] = {0xD2511F53u, 0xCD9E8D57u}, W[2] = {0x9E3779B9u, 0xBB67AE85u};
    uint32_t x[4] = {ctr[0], ctr[1], ctr[2], ctr[3]}, k[2] = {key[0], key[1]};
    for (int round = 0; round < 10; round++) {
        if (round > 0) {
            k[0] = (uint32_t)(k[0] + W[0]);
            k[1] = (uint32_t)(k[1] + W[1]);
        }
        unsigned long long a = (unsigned long long)M[0] * x[0];
        unsigned long long b = (unsigned long long)M[1] * x[2];
        uint32_t y[4];
        y[0] = (uint32_t)(b >> 32) ^ x[1] ^ k[0];
        y[1] = (uint32_t)(b & 0xffffffffu);
        y[2] = (uint32_t)(a >> 32) ^ x[3] ^ k[1];
        y[3] = (uint32_t)(a & 0xffffffffu);
        for (int i = 0; i < 4; i++)
            x[i] = y[i];
    }
    for (int i = 0; i < 4; i++)
        out[i] = x[i];
}

uint32_t sono_philox64_u32(uint64_t seed, uint32_t a, uint32_t b, uint32_t c)
{
    uint32_t ctr[4] = {a, b, c, 0}, key[2] = {(uint32_t)(seed & 0xffffffffu),
                                              (uint32_t)(seed >> 32)}, o[4];
    sono_philox64(ctr, key, o);
    return o[0];
}

double sono_philox64_u24(uint64_t seed, uint32_t a, uint32_t b, uint32_t c)
{
    return ldexp((double)(sono_philox64_u32(seed, a, b, c) >> 8), -24);
}

typedef struct item {
    float l;
    long long i;
} item;

struct sono_sample64_ws {
    long long V;
    item *it;
    double *cum; /* [V + 1]: cum[r] = weights of the first r classes in order, normalised */
};

sono_sample64_ws *sono_sample64_ws_new(long long V)
{
    sono_sample64_ws *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->V = V;
    w->it = malloc((size_t)V * sizeof *w->it);
    w->cum = malloc((size_t)(V + 1) * sizeof *w->cum);
    if (!w->it || !w->cum) {
        sono_sample64_ws_free(w);
        return NULL;
    }
    return w;
}

void sono_sample64_ws_free(sono_sample64_ws *w)
{
    if (!w)
        return;
    free(w->it);
    free(w->cum);
    free(w);
}

static int by_logit(const void *a, const void *b)
{
    const item *x = a, *y = b;
    if (x->l != y->l)
        return x->l > y->l ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

static long long argmax(const float *l, long long V)
{
    long long b = 0;
    for (long long v = 1; v < V; v++)
        if (l[v] > l[b])
            b = v;
    return b;
}

static int is_argmax(const sono_sample64_cfg *cfg)
{
    return cfg->temperature == 0 || cfg->top_k == 1;
}

/* Sorts the row, fills cum over the m weighed classes; returns m, *A the largest argument
 * magnitude, *cut the top-p prefix length. */
static long long prepare(sono_sample64_ws *w, const float *l, long long V,
                         const sono_sample64_cfg *cfg, double *A, long long *cut)
{
    for (long long v = 0; v < V; v++)
        w->it[v] = (item){l[v], v};
    qsort(w->it, (size_t)V, sizeof *w->it, by_logit);
    long long m = cfg->top_k > 0 && cfg->top_k < V ? cfg->top_k : V;
    double mx = w->it[0].l, s = 0;
    w->cum[0] = 0;
    for (long long r = 0; r < m; r++) {
        s += exp(((double)w->it[r].l - mx) / cfg->temperature);
        w->cum[r + 1] = s;
    }
    for (long long r = 1; r <= m; r++)
        w->cum[r] /= s;
    *A = (mx - (double)w->it[m - 1].l) / cfg->temperature;
    *cut = m;
    if (cfg->top_p < 1)
        for (long long r = 1; r <= m; r++)
            if (w->cum[r] >= cfg->top_p) {
                *cut = r;
                break;
            }
    return m;
}

long long sono_sample64_row(sono_sample64_ws *w, const float *l, long long V,
                            const sono_sample64_cfg *cfg, double u)
{
    if (is_argmax(cfg))
        return argmax(l, V);
    double A;
    long long cut;
    prepare(w, l, V, cfg, &A, &cut);
    double target = u * w->cum[cut];
    for (long long r = 0; r < cut; r++)
        if (w->cum[r + 1] > target)
            return w->it[r].i;
    return w->it[cut - 1].i;
}

int sono_sample64_accept_margin(sono_sample64_ws *w, const float *l, long long V,
                                const sono_sample64_cfg *cfg, double u, long long tok,
                                double tol, double dl, double *gap)
{
    *gap = INFINITY;
    if (tok < 0 || tok >= V)
        return 0;
    if (is_argmax(cfg)) {
        long long b = argmax(l, V);
        /* each logit within dl of its exact value: tok can look largest when within 2 dl */
        int ok = tok == b || (dl > 0 && (double)l[tok] >= (double)l[b] - 2 * dl);
        *gap = ok ? 0 : INFINITY;
        return ok;
    }
    double A;
    long long cut;
    long long m = prepare(w, l, V, cfg, &A, &cut);
    /* logits off by dl move each weight by a factor within exp(+-2 dl / T), so each
     * normalised cumulative fraction by at most 2 eps / (1 - eps), eps = expm1(2 dl / T) */
    double eps = dl > 0 ? expm1(2 * dl / cfg->temperature) : 0;
    double extra = eps <= 0 ? 0 : eps < 1 ? 2 * eps / (1 - eps) : INFINITY;
    double delta = tol * ((double)m + 2 + 2 * A) + extra;
    long long r = 0;
    while (r < m && w->it[r].i != tok)
        r++;
    if (r == m) /* outside the top-k: the order is exact, so no rounding puts it in */
        return dl > 0 && cfg->top_k > 0 && cfg->top_k < V;
    double best = INFINITY;
    for (long long c = r + 1; c <= m; c++) {
        /* the cuts rounding can move the top-p prefix to; all m when top_p is 1 */
        int plausible = cfg->top_p >= 1 ? c == m
                                        : w->cum[c] >= cfg->top_p - delta &&
                                              w->cum[c - 1] < cfg->top_p + delta;
        if (!plausible)
            continue;
        double t = u * w->cum[c], d = 0;
        if (t < w->cum[r])
            d = w->cum[r] - t;
        else if (t >= w->cum[r + 1])
            d = t - w->cum[r + 1];
        best = d < best ? d : best;
    }
    *gap = best / delta * tol;
    return best <= delta;
}

int sono_sample64_accept(sono_sample64_ws *w, const float *l, long long V,
                         const sono_sample64_cfg *cfg, double u, long long tok, double tol,
                         double *gap)
{
    return sono_sample64_accept_margin(w, l, V, cfg, u, tok, tol, 0, gap);
}

void sono_sample64_check(const float *logits, long long rows, long long V,
                         const sono_sample64_cfg *cfg, const double *u, const int32_t *out,
                         const int32_t *ref, double tol, sono_check *c)
{
    sono_sample64_ws *w = sono_sample64_ws_new(V);
    long long mism = 0, bad = 0, first_bad = -1;
    double worst = 0;
    c->tol = tol;
    c->pass = 0;
    if (!w) {
        snprintf(c->detail, sizeof c->detail, "out of memory in the check");
        return;
    }
    for (long long i = 0; i < rows; i++) {
        if (out[i] == ref[i])
            continue;
        mism++;
        double g;
        if (!sono_sample64_accept(w, logits + i * V, V, cfg, u[i], out[i], tol, &g)) {
            if (first_bad < 0)
                first_bad = i;
            bad++;
        }
        worst = g > worst ? g : worst;
    }
    sono_sample64_ws_free(w);
    c->mismatches = mism;
    c->has_mismatches = 1;
    c->rel_l2 = worst;
    c->max_abs = (double)mism;
    c->pass = bad == 0;
    if (bad)
        snprintf(c->detail, sizeof c->detail, "%lld of %lld tokens differ, %lld beyond a "
                 "near-tie (first: row %lld, token %d, reference %d)", mism, rows, bad,
                 first_bad, out[first_bad], ref[first_bad]);
    else
        snprintf(c->detail, sizeof c->detail, "%lld of %lld tokens differ, all near-ties of "
                 "the cumulative weights", mism, rows);
}
