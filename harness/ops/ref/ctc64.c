/* ctc64.c — float64 CTC: the forward algorithm over the blank-extended labelling, greedy
 * decoding, exhaustive search and the checks of ctc.greedy and ctc.beam (ctc64.h). */
#include "ctc64.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double lse2(double a, double b)
{
    if (a == -INFINITY)
        return b;
    if (b == -INFINITY)
        return a;
    double m = a > b ? a : b;
    return m + log1p(exp(-fabs(a - b)));
}

double sono_ctc64_logprob(const float *lp, long long T, long long V, const int32_t *l,
                          long long L)
{
    long long need = L;
    for (long long i = 0; i < L; i++) {
        if (l[i] < 1 || l[i] >= V)
            return NAN;
        need += i > 0 && l[i] == l[i - 1];
    }
    if (need > T)
        return -INFINITY;
    long long S = 2 * L + 1;
    double *a = malloc((size_t)(2 * S) * sizeof *a), *b = a + S;
    if (!a)
        return NAN;
    for (long long s = 0; s < S; s++)
        a[s] = -INFINITY;
    a[0] = lp[0];
    if (L > 0)
        a[1] = lp[l[0]];
    for (long long t = 1; t < T; t++) {
        const float *row = lp + t * V;
        for (long long s = 0; s < S; s++) {
            double v = a[s];
            if (s >= 1)
                v = lse2(v, a[s - 1]);
            if (s % 2 == 1 && s >= 3 && l[s / 2] != l[s / 2 - 1])
                v = lse2(v, a[s - 2]);
            b[s] = v == -INFINITY ? v : v + row[s % 2 ? l[s / 2] : 0];
        }
        double *x = a;
        a = b;
        b = x;
    }
    double r = L > 0 ? lse2(a[S - 1], a[S - 2]) : a[0];
    free(a < b ? a : b);
    return r;
}

double sono_ctc64_greedy(const float *lp, long long T, long long V, int32_t *l, long long *L)
{
    double s = 0;
    long long n = 0;
    int32_t prev = 0;
    for (long long t = 0; t < T; t++) {
        const float *row = lp + t * V;
        int32_t k = 0;
        for (long long v = 1; v < V; v++)
            if (row[v] > row[k])
                k = (int32_t)v;
        s += row[k];
        if (k != 0 && k != prev)
            l[n++] = k;
        prev = k;
    }
    *L = n;
    return s;
}

double sono_ctc64_nseq(long long T, long long V)
{
    double n = 0, p = 1;
    for (long long L = 0; L <= T && n < 0x1p62; L++, p *= (double)(V - 1))
        n += p;
    return n < 0x1p62 ? n : 0x1p62;
}

typedef struct search {
    const float *lp;
    long long T, V;
    int32_t *cur, *best;
    long long bestL;
    double bestS;
    int oom;
} search;

/* Every sequence extending cur[0..n) that fits in T frames (n labels plus one blank per
 * adjacent repeat). */
static void dfs(search *s, long long n, long long need)
{
    double v = sono_ctc64_logprob(s->lp, s->T, s->V, s->cur, n);
    if (isnan(v))
        s->oom = 1;
    else if (v > s->bestS) {
        s->bestS = v;
        s->bestL = n;
        memcpy(s->best, s->cur, (size_t)n * sizeof *s->cur);
    }
    for (int32_t c = 1; c < s->V && n < s->T; c++) {
        long long nd = need + 1 + (n > 0 && s->cur[n - 1] == c);
        if (nd > s->T)
            continue;
        s->cur[n] = c;
        dfs(s, n + 1, nd);
    }
}

double sono_ctc64_exhaustive(const float *lp, long long T, long long V, int32_t *l,
                             long long *L)
{
    search s = {.lp = lp, .T = T, .V = V, .best = l, .bestS = -INFINITY};
    s.cur = malloc((size_t)T * sizeof *s.cur);
    if (!s.cur)
        return NAN;
    dfs(&s, 0, 0);
    free(s.cur);
    *L = s.bestL;
    return s.oom ? NAN : s.bestS;
}

void sono_ctc64_row_put(int32_t *row, long long T, const int32_t *l, long long L, double s)
{
    float f = (float)s;
    for (long long i = 0; i < T; i++)
        row[i] = i < L ? l[i] : -1;
    memcpy(&row[T], &f, sizeof f);
}

long long sono_ctc64_row_get(const int32_t *row, long long T, long long V, float *s,
                             char *why, size_t n)
{
    long long L = 0;
    memcpy(s, &row[T], sizeof *s);
    while (L < T && row[L] != -1) {
        if (row[L] < 1 || row[L] >= V) {
            snprintf(why, n, "label %lld is %d, not in [1, %lld) or the -1 padding", L,
                     (int)row[L], V);
            return -1;
        }
        L++;
    }
    for (long long i = L; i < T; i++)
        if (row[i] != -1) {
            snprintf(why, n, "entry %lld is %d after the -1 padding began at %lld", i,
                     (int)row[i], L);
            return -1;
        }
    return L;
}

double sono_ctc64_scale(long long T, double S)
{
    return (double)T * (fabs(S) + 4.0);
}

/* What both checks record: the worst gap in units of its scale (rel_l2), the worst gap in
 * nats (max_abs), rows whose labels differ from ref's (mismatches). */
typedef struct tally {
    double worst, worst_abs;
    long long bad, diff, malformed;
    char first[160];
} tally;

static void gap(tally *t, double g, double scale, double tol)
{
    double r = isnan(g) ? INFINITY : g / scale;
    if (r > t->worst)
        t->worst = r;
    if (g > t->worst_abs || isnan(g))
        t->worst_abs = isnan(g) ? INFINITY : g;
    t->bad += !(r <= tol);
}

static void finish(const tally *t, double tol, sono_check *c)
{
    c->rel_l2 = t->malformed ? INFINITY : t->worst;
    c->max_abs = t->worst_abs;
    c->tol = tol;
    c->mismatches = t->diff;
    c->has_mismatches = 1;
    c->pass = !t->malformed && !t->bad;
}

static int same_labels(const int32_t *a, const int32_t *b, long long T)
{
    return memcmp(a, b, (size_t)T * sizeof *a) == 0;
}

void sono_ctc64_check_greedy(const float *lp, long long B, long long T, long long V,
                             const int32_t *out, const int32_t *ref, double tol,
                             sono_check *c)
{
    tally t = {0};
    int32_t *l = malloc((size_t)T * sizeof *l);
    for (long long b = 0; b < B && l; b++) {
        const int32_t *row = out + b * (T + 1), *rr = ref + b * (T + 1);
        float s;
        char why[120] = "";
        long long L = sono_ctc64_row_get(row, T, V, &s, why, sizeof why), Lr;
        if (L < 0) {
            if (!t.malformed++)
                snprintf(t.first, sizeof t.first, "row %lld: %s", b, why);
            continue;
        }
        double S = sono_ctc64_greedy(lp + b * T * V, T, V, l, &Lr);
        if (!same_labels(row, rr, T)) {
            t.diff++;
            gap(&t, INFINITY, 1, tol);
            continue;
        }
        gap(&t, fabs((double)s - S), sono_ctc64_scale(T, S), tol);
    }
    finish(&t, tol, c);
    if (!l) {
        c->pass = 0;
        snprintf(c->detail, sizeof c->detail, "out of memory checking T=%lld", T);
    } else if (t.malformed)
        snprintf(c->detail, sizeof c->detail, "%lld of %lld rows malformed; %s", t.malformed,
                 B, t.first);
    else
        snprintf(c->detail, sizeof c->detail, "%lld of %lld rows' labels differ from the "
                 "float64 argmax path's; worst score gap %.3g nats", t.diff, B, t.worst_abs);
    free(l);
}

void sono_ctc64_check_beam(const float *lp, long long B, long long T, long long V, int exact,
                           const int32_t *out, const int32_t *ref, double tol,
                           sono_check *c)
{
    tally t = {0};
    double lost = 0, better = 0;
    for (long long b = 0; b < B; b++) {
        const float *x = lp + b * T * V;
        const int32_t *row = out + b * (T + 1), *rr = ref + b * (T + 1);
        float s, sr;
        char why[120] = "";
        long long L = sono_ctc64_row_get(row, T, V, &s, why, sizeof why);
        long long Lr = sono_ctc64_row_get(rr, T, V, &sr, why, sizeof why);
        if (L < 0 || Lr < 0) {
            if (!t.malformed++)
                snprintf(t.first, sizeof t.first, "row %lld: %s", b, why);
            continue;
        }
        t.diff += !same_labels(row, rr, T);
        double S = sono_ctc64_logprob(x, T, V, row, L);
        double R = sono_ctc64_logprob(x, T, V, rr, Lr);
        double scale = sono_ctc64_scale(T, R);
        if (S == -INFINITY) { /* more labels than the frames can align */
            if (!t.malformed++)
                snprintf(t.first, sizeof t.first, "row %lld: %lld labels need more than %lld "
                         "frames", b, L, T);
            continue;
        }
        gap(&t, (double)s - S, scale, tol); /* no more mass than all alignments hold */
        if (exact)
            gap(&t, S - (double)s, scale, tol);
        gap(&t, R - S, scale, tol); /* as good a labelling as the reference's */
        if (S - (double)s > lost)
            lost = S - (double)s;
        if (S - R > better)
            better = S - R;
    }
    finish(&t, tol, c);
    if (t.malformed)
        snprintf(c->detail, sizeof c->detail, "%lld of %lld rows malformed; %s", t.malformed,
                 B, t.first);
    else
        snprintf(c->detail, sizeof c->detail, "%lld of %lld rows' labels differ from the "
                 "reference's; best gain over its forward score %.3g nats; beam score below "
                 "its own labelling's forward score by up to %.3g nats%s", t.diff, B, better,
                 lost,
                 exact ? " (exact beam: checked)" : " (pruned mass: not checked)");
}
