/* compare.c — the statistics and verdicts of `harness compare`: loads results files, matches
 * cases by id against the first file, judges each case on its repetitions (bootstrap CI of
 * the ratio of medians), its instruction counts, or else one process's samples (U test). */
#include "compare.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "results.h"
#include "stats.h"


/* Whether two describes name the same computation. FFTW's "wisdom: new" on the run that
 * made the plan and "wisdom: hit" on the runs that reused it are the same plan (the
 * fftw impls' describe, impls/fftw/wisdom.c): that clause is left out of the comparison. */
static void strip_wisdom(const char *in, char *out, size_t n)
{
    size_t k = 0;
    while (*in && k + 1 < n) {
        if (strncmp(in, "wisdom: ", 8) == 0) {
            in += 8;
            while (*in && *in != ';' && *in != ',' && *in != ' ')
                in++;
            continue;
        }
        out[k++] = *in++;
    }
    out[k] = 0;
}

static int same_plan(const char *a, const char *b)
{
    static char x[4096], y[4096];
    strip_wisdom(a, x, sizeof x);
    strip_wisdom(b, y, sizeof y);
    return strcmp(x, y) == 0;
}

const char *sono_verdict_name(sono_verdict v)
{
    static const char *const names[] = {"-", "same", "faster", "slower", "ambiguous",
                                        "now-failing", "now-passing", "still-failing",
                                        "new", "missing", "plan-changed",
                                        "ambiguous: noisy"};
    return (unsigned)v < sizeof names / sizeof *names ? names[v] : "?";
}

const char *sono_basis_name(sono_basis b)
{
    static const char *const names[] = {"-", "repetitions", "within-process", "counts",
                                        "paired"};
    return (unsigned)b < sizeof names / sizeof *names ? names[b] : "?";
}

typedef struct tagged {
    double v;
    int from_x;
} tagged;

static int cmp_tagged(const void *a, const void *b)
{
    double x = ((const tagged *)a)->v, y = ((const tagged *)b)->v;
    return (x > y) - (x < y);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double sono_mann_whitney(const double *x, size_t nx, const double *y, size_t ny, double *u)
{
    if (u)
        *u = NAN;
    if (nx == 0 || ny == 0)
        return NAN;
    size_t n = nx + ny;
    tagged *all = malloc(n * sizeof *all);
    if (!all)
        return NAN;
    for (size_t i = 0; i < nx; i++)
        all[i] = (tagged){x[i], 1};
    for (size_t i = 0; i < ny; i++)
        all[nx + i] = (tagged){y[i], 0};
    qsort(all, n, sizeof *all, cmp_tagged);
    /* Average ranks over runs of ties; the runs also give the variance correction. */
    double rx = 0, ties = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j + 1 < n && all[j + 1].v == all[i].v)
            j++;
        double rank = (double)(i + j) / 2 + 1, t = (double)(j - i + 1);
        for (size_t k = i; k <= j; k++)
            rx += all[k].from_x ? rank : 0;
        ties += t * t * t - t;
        i = j + 1;
    }
    free(all);
    double n1 = (double)nx, n2 = (double)ny, N = (double)n;
    double ux = rx - n1 * (n1 + 1) / 2, mu = n1 * n2 / 2;
    double var = n1 * n2 / 12 * ((N + 1) - ties / (N * (N - 1)));
    if (u)
        *u = ux;
    if (!(var > 0))
        return 1.0; /* every value equal: no evidence of any difference */
    double z = (fabs(ux - mu) - 0.5) / sqrt(var);
    return z <= 0 ? 1.0 : erfc(z / sqrt(2.0));
}

/* ---- repetitions ------------------------------------------------------------------------ */

/* xorshift64*: the bootstrap's only randomness, reseeded per case, so a verdict depends on
 * the two files alone, not on which cases came before it. */
static double boot_unif(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return (double)((*s * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

/* Median of n values drawn with replacement from v; tmp holds n. Insertion sort: n is a
 * handful of repetitions. */
static double resample_median(const double *v, size_t n, double *tmp, uint64_t *s)
{
    for (size_t i = 0; i < n; i++) {
        size_t k = (size_t)(boot_unif(s) * (double)n);
        double e = v[k < n ? k : n - 1];
        size_t j = i;
        for (; j > 0 && tmp[j - 1] > e; j--)
            tmp[j] = tmp[j - 1];
        tmp[j] = e;
    }
    return n % 2 ? tmp[n / 2] : 0.5 * (tmp[n / 2 - 1] + tmp[n / 2]);
}

int sono_rep_compare(const double *b, size_t nb, const double *x, size_t nx, double threshold,
                     double alpha, sono_rep_cmp *out)
{
    *out = (sono_rep_cmp){NAN, NAN, NAN, NAN, NAN, NAN, SONO_V_AMBIGUOUS};
    if (nb < 2 || nx < 2)
        return SONO_EINVAL;
    sono_summary sb, sx;
    sono_summarize(b, nb, &sb);
    sono_summarize(x, nx, &sx);
    if (!(sb.median > 0) || !(sx.median > 0))
        return SONO_EINVAL;
    double *tmp = malloc((nb > nx ? nb : nx) * sizeof *tmp);
    double *r = malloc(SONO_CMP_BOOT * sizeof *r);
    if (!tmp || !r) {
        free(tmp);
        free(r);
        return SONO_ENOMEM;
    }
    uint64_t seed = 0x9E3779B97F4A7C15ULL;
    size_t nr = 0;
    for (int i = 0; i < SONO_CMP_BOOT; i++) {
        double mb = resample_median(b, nb, tmp, &seed);
        double mx = resample_median(x, nx, tmp, &seed);
        if (mb > 0)
            r[nr++] = mx / mb;
    }
    qsort(r, nr, sizeof *r, cmp_double);
    /* percentile interval at 1 - alpha: with a handful of repetitions the resampled medians
     * take only a few distinct values, so the bounds are order statistics of the ratio's
     * distribution, which is what makes them honest for a skewed, discrete sampling law */
    double a = alpha / 2;
    size_t lo = (size_t)floor(a * (double)nr), hi = (size_t)ceil((1 - a) * (double)nr);
    out->ci_lo = r[lo < nr ? lo : nr - 1];
    out->ci_hi = r[hi > 0 ? (hi <= nr ? hi - 1 : nr - 1) : 0];
    free(tmp);
    free(r);
    out->ratio = sx.median / sb.median;
    /* the run's between-repetition CI half-width of each side: a change inside what one
     * side's own repetitions already disagree by is not one this machine resolves */
    out->spread_b = sb.ci_rel;
    out->spread_x = sx.ci_rel;
    out->min_effect = fmax(threshold, fmax(sb.ci_rel, sx.ci_rel));
    if (out->ci_lo > 1 && out->ratio > 1 + out->min_effect)
        out->v = SONO_V_SLOWER;
    else if (out->ci_hi < 1 && out->ratio < 1 - out->min_effect)
        out->v = SONO_V_FASTER;
    else
        out->v = SONO_V_SAME;
    return 0;
}

int sono_paired_compare(const double *b, const double *x, size_t n, double threshold,
                        double alpha, sono_rep_cmp *out)
{
    *out = (sono_rep_cmp){NAN, NAN, NAN, NAN, NAN, threshold, SONO_V_AMBIGUOUS};
    if (n < 3)
        return SONO_EINVAL;
    double *l = malloc(n * sizeof *l), *tmp = malloc(n * sizeof *tmp);
    double *r = malloc(SONO_CMP_BOOT * sizeof *r);
    int rc = !l || !tmp || !r ? SONO_ENOMEM : 0;
    for (size_t i = 0; i < n && !rc; i++) {
        if (!(b[i] > 0) || !(x[i] > 0))
            rc = SONO_EINVAL;
        else
            l[i] = log(x[i] / b[i]);
    }
    if (!rc) {
        uint64_t seed = 0x9E3779B97F4A7C15ULL;
        for (int i = 0; i < SONO_CMP_BOOT; i++)
            r[i] = resample_median(l, n, tmp, &seed);
        qsort(r, SONO_CMP_BOOT, sizeof *r, cmp_double);
        double a = alpha / 2;
        size_t lo = (size_t)floor(a * SONO_CMP_BOOT), hi = (size_t)ceil((1 - a) * SONO_CMP_BOOT);
        out->ci_lo = exp(r[lo < SONO_CMP_BOOT ? lo : SONO_CMP_BOOT - 1]);
        out->ci_hi = exp(r[hi > 0 ? hi - 1 : 0]);
        qsort(l, n, sizeof *l, cmp_double);
        out->ratio = exp(n % 2 ? l[n / 2] : 0.5 * (l[n / 2 - 1] + l[n / 2]));
        if (out->ratio > 1 + threshold && out->ci_lo > 1 + threshold / 2)
            out->v = SONO_V_SLOWER;
        else if (out->ratio < 1 - threshold && out->ci_hi < 1 - threshold / 2)
            out->v = SONO_V_FASTER;
        else
            out->v = SONO_V_SAME;
    }
    free(l);
    free(tmp);
    free(r);
    return rc;
}

/* ---- one case -------------------------------------------------------------------------- */

enum { ABSENT, PASSING, FAILING };

/* Skipped counts as absent: the impl did not run, so there is nothing to compare. A check
 * whose error exceeds its tolerance fails even if the status says ok (a file from an older
 * harness, or edited by hand). */
static int state_of(json_t *c)
{
    const char *st = c ? json_string_value(json_object_get(c, "status")) : NULL;
    if (!st || strcmp(st, "skip") == 0)
        return ABSENT;
    if (strcmp(st, "ok") != 0 && strcmp(st, "xpass") != 0) /* xpass: ok, expected not to be */
        return FAILING;
    json_t *ck = json_object_get(c, "check");
    json_t *e = json_object_get(ck, "rel_l2"), *tol = json_object_get(ck, "tol");
    if (json_is_number(e) && json_is_number(tol) && json_number_value(e) > json_number_value(tol))
        return FAILING;
    if (json_is_false(json_object_get(ck, "pass")))
        return FAILING;
    return PASSING;
}

static double median_of(json_t *c)
{
    json_t *m = json_object_get(json_object_get(c, "time_ns"), "median");
    return json_is_number(m) ? json_number_value(m) : NAN;
}

/* The raw samples, sorted, in a new array (*n = 0 and NULL when there are none). */
static double *samples_of(json_t *c, size_t *n)
{
    json_t *s = json_object_get(json_object_get(c, "time_ns"), "samples");
    *n = 0;
    size_t len = json_array_size(s);
    double *v = len ? malloc(len * sizeof *v) : NULL;
    if (!v)
        return NULL;
    size_t i;
    json_t *e;
    json_array_foreach(s, i, e)
        if (json_is_number(e))
            v[(*n)++] = json_number_value(e);
    qsort(v, *n, sizeof *v, cmp_double);
    return v;
}

/* The 95 % CI of the ratio: each median's distribution-free order-statistic CI (the one
 * `run` reports), divided crosswise, [lo_new / hi_base, hi_new / lo_base]. Conservative:
 * if both intervals hold (probability >= 0.95^2 for independent runs, and the union bound
 * keeps it >= 0.90 always) the ratio of medians lies inside; it is wider than a bootstrap
 * interval but deterministic, needs no resampling and cannot be fooled by a seed. */
static void ratio_ci(const double *b, size_t nb, const double *x, size_t nx, double *lo,
                     double *hi)
{
    size_t bl, bh, xl, xh;
    sono_median_ci_ranks(nb, &bl, &bh);
    sono_median_ci_ranks(nx, &xl, &xh);
    if (bh >= nb)
        bh = nb - 1;
    if (xh >= nx)
        xh = nx - 1;
    *lo = b[bh] > 0 ? x[xl] / b[bh] : NAN;
    *hi = b[bl] > 0 ? x[xh] / b[bl] : NAN;
}

/* The medians of the repetitions (*n = 0 and NULL when the record has none). */
static double *rep_medians(json_t *c, size_t *n)
{
    json_t *reps = json_object_get(c, "repetitions");
    *n = 0;
    size_t len = json_array_size(reps);
    double *v = len ? malloc(len * sizeof *v) : NULL;
    if (!v)
        return NULL;
    size_t i;
    json_t *e;
    json_array_foreach(reps, i, e) {
        json_t *m = json_object_get(e, "median");
        if (json_is_number(m) && json_number_value(m) > 0)
            v[(*n)++] = json_number_value(m);
    }
    return v;
}

/* A metric's value: the record's "metrics" must describe the key, and the value sits at
 * its dotted path (as record_json.c writes it). NaN when either is missing. */
/* The repetitions both records have, matched by "index": b[k] and x[k] are repetition
 * idx of each side (*n = 0 when fewer than 3 match). Freed by the caller. */
static void rep_pairs(json_t *base, json_t *c, double **b, double **x, size_t *n)
{
    json_t *rb = json_object_get(base, "repetitions"), *rx = json_object_get(c, "repetitions");
    size_t nb = json_array_size(rb), nx = json_array_size(rx), k = 0;
    *b = malloc((nb ? nb : 1) * sizeof **b);
    *x = malloc((nb ? nb : 1) * sizeof **x);
    for (size_t i = 0; *b && *x && i < nb; i++) {
        json_t *e = json_array_get(rb, i);
        json_int_t idx = json_integer_value(json_object_get(e, "index"));
        double mb = json_number_value(json_object_get(e, "median"));
        for (size_t j = 0; j < nx; j++) {
            json_t *f = json_array_get(rx, j);
            if (json_integer_value(json_object_get(f, "index")) != idx)
                continue;
            double mx = json_number_value(json_object_get(f, "median"));
            if (mb > 0 && mx > 0) {
                (*b)[k] = mb;
                (*x)[k++] = mx;
            }
            break;
        }
    }
    *n = *b && *x && k >= 3 ? k : 0;
}

/* The two files are the sides of one `harness ab` run: env.ab names a base and a new side
 * (each repetition of a case alternated between them, back to back). */
static int duet(json_t *a, json_t *b)
{
    json_t *ea = json_object_get(json_object_get(a, "env"), "ab");
    json_t *eb = json_object_get(json_object_get(b, "env"), "ab");
    const char *sa = json_string_value(json_object_get(ea, "side"));
    const char *sb = json_string_value(json_object_get(eb, "side"));
    return sa && sb && strcmp(sa, sb) != 0;
}

static double metric_of(json_t *c, const char *key)
{
    if (!c || !json_object_get(json_object_get(c, "metrics"), key))
        return NAN;
    char k[128];
    snprintf(k, sizeof k, "%s", key);
    json_t *v = c;
    for (char *save = NULL, *p = strtok_r(k, ".", &save); v && p; p = strtok_r(NULL, ".", &save))
        v = json_object_get(v, p);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

/* Instruction counts on both sides: the count of the same code is the same to a fraction
 * of a percent whatever the machine's load, so any change past the threshold is real and
 * equal counts are the same, without samples or tests. */
static void judge_counts(double kb, double kx, const sono_cmp_opts *o, sono_cmp_cell *cell)
{
    cell->basis = SONO_B_COUNTS;
    cell->count = kx;
    cell->ratio = kb > 0 ? kx / kb : NAN;
    double thr = o->threshold_set ? o->threshold : SONO_CMP_COUNT_THRESHOLD;
    if (kx == kb || !isfinite(cell->ratio) || !(fabs(cell->ratio - 1) > thr))
        cell->v = SONO_V_SAME;
    else
        cell->v = cell->ratio > 1 ? SONO_V_SLOWER : SONO_V_FASTER;
}

static void judge(json_t *base, json_t *c, const sono_cmp_opts *o, int paired,
                  sono_cmp_cell *cell)
{
    *cell = (sono_cmp_cell){NAN, NAN, NAN, NAN, NAN, SONO_V_SAME, 0, SONO_B_NONE, 0, 0, NAN,
                            NAN};
    int sb = state_of(base), sc = state_of(c);
    cell->median = sc == PASSING ? median_of(c) : NAN;
    if (sb == ABSENT) {
        cell->v = sc == ABSENT ? SONO_V_NONE : SONO_V_NEW;
        return;
    }
    if (sc == ABSENT) {
        cell->v = SONO_V_MISSING;
        cell->regression = o->strict;
        return;
    }
    if (sb != sc) {
        cell->v = sc == FAILING ? SONO_V_NOW_FAILING : SONO_V_NOW_PASSING;
        cell->regression = sc == FAILING;
        return;
    }
    if (sb == FAILING) {
        cell->v = SONO_V_STILL_FAILING;
        return;
    }
    double mb = median_of(base);
    if (mb > 0 && cell->median >= 0)
        cell->ratio = cell->median / mb;
    double kb = metric_of(base, SONO_CMP_COUNT_METRIC), kx = metric_of(c, SONO_CMP_COUNT_METRIC);
    size_t nrb, nrx;
    double *rb = rep_medians(base, &nrb), *rx = rep_medians(c, &nrx);
    cell->reps_base = (int)nrb;
    cell->reps_new = (int)nrx;
    double *pb = NULL, *px = NULL;
    size_t np = 0;
    if (paired && !(isfinite(kb) && isfinite(kx)))
        rep_pairs(base, c, &pb, &px, &np);
    if (isfinite(kb) && isfinite(kx)) {
        judge_counts(kb, kx, o, cell);
    } else if (np >= 3) {
        cell->basis = SONO_B_PAIRED;
        sono_rep_cmp rc;
        if (sono_paired_compare(pb, px, np, o->threshold, o->alpha, &rc) == 0) {
            cell->ratio = rc.ratio;
            cell->ci_lo = rc.ci_lo;
            cell->ci_hi = rc.ci_hi;
            cell->min_effect = rc.min_effect;
            cell->v = rc.v;
            if (fabs(cell->median - mb) <= (o->floor_ns > 0 ? o->floor_ns : 0))
                cell->v = SONO_V_SAME;
        } else {
            cell->v = SONO_V_AMBIGUOUS;
        }
    } else if (nrb >= 2 && nrx >= 2) {
        cell->basis = SONO_B_REPETITIONS;
        sono_rep_cmp rc;
        if (sono_rep_compare(rb, nrb, rx, nrx, o->threshold, o->alpha, &rc) == 0) {
            cell->ratio = rc.ratio;
            cell->ci_lo = rc.ci_lo;
            cell->ci_hi = rc.ci_hi;
            cell->min_effect = rc.min_effect;
            cell->v = rc.v;
            if (fabs(cell->median - mb) <= (o->floor_ns > 0 ? o->floor_ns : 0))
                cell->v = SONO_V_SAME;
        } else {
            cell->v = SONO_V_AMBIGUOUS;
        }
    } else {
        cell->basis = SONO_B_WITHIN;
        size_t nb, nx;
        double *b = samples_of(base, &nb), *x = samples_of(c, &nx);
        if (nb >= SONO_CMP_MIN_SAMPLES && nx >= SONO_CMP_MIN_SAMPLES && isfinite(cell->ratio)) {
            ratio_ci(b, nb, x, nx, &cell->ci_lo, &cell->ci_hi);
            cell->p = sono_mann_whitney(x, nx, b, nb, NULL);
            int big = fabs(cell->ratio - 1) > o->threshold &&
                      fabs(cell->median - mb) > (o->floor_ns > 0 ? o->floor_ns : 0);
            int sig = cell->p < o->alpha;
            cell->v = !(big && sig) ? SONO_V_SAME
                      : cell->ratio > 1 ? SONO_V_SLOWER : SONO_V_FASTER;
        } else {
            cell->v = SONO_V_AMBIGUOUS;
        }
        free(b);
        free(x);
    }
    free(rb);
    free(rx);
    free(pb);
    free(px);
    /* A disturbed measurement on either side says nothing about the code; counts are
     * immune (the kernel's instructions do not change with the neighbours), and so are
     * the duet's pairs (both sides saw the same machine at the same moments). */
    if (cell->basis != SONO_B_COUNTS && cell->basis != SONO_B_PAIRED &&
        (json_is_true(json_object_get(base, "noisy")) || json_is_true(json_object_get(c, "noisy")))) {
        cell->v = SONO_V_NOISY;
        return;
    }
    cell->regression = cell->v == SONO_V_SLOWER;
    const char *db = json_string_value(json_object_get(base, "describe"));
    const char *dc = json_string_value(json_object_get(c, "describe"));
    if ((cell->v == SONO_V_SLOWER || cell->v == SONO_V_FASTER) && db && dc &&
        !same_plan(db, dc)) {
        /* not the same computation: the plan, not the change under test, moved it */
        cell->v = SONO_V_PLAN_CHANGED;
        cell->regression = o->strict;
    }
}

/* ---- files ---------------------------------------------------------------------------- */

static json_t *find_case(json_t *doc, const char *id)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(doc, "cases"), i, c)
        if (strcmp(json_string_value(json_object_get(c, "id")), id) == 0)
            return c;
    return NULL;
}

static const char *suite_name(json_t *doc)
{
    const char *s = json_string_value(json_object_get(json_object_get(doc, "suite"), "name"));
    return s ? s : "(none)";
}

/* The environment as "key" -> text, for the fields a reader of a comparison needs to know
 * differ: the machine, its OS and compiler, library versions and the commit. */
static void env_value(json_t *env, const char *key, char *buf, size_t n)
{
    json_t *v = env;
    char k[128];
    snprintf(k, sizeof k, "%s", key);
    for (char *save = NULL, *p = strtok_r(k, ".", &save); v && p; p = strtok_r(NULL, ".", &save))
        v = json_object_get(v, p);
    if (!v) {
        snprintf(buf, n, "(none)");
    } else if (json_is_string(v)) {
        snprintf(buf, n, "%s", json_string_value(v));
    } else {
        char *d = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        snprintf(buf, n, "%s", d ? d : "?");
        free(d);
    }
}

static void diff_key(sono_cmp *c, const char *key)
{
    json_t *vals = json_array();
    int differ = 0;
    char first[512], buf[512];
    for (int f = 0; f < c->nfiles; f++) {
        env_value(json_object_get(c->docs[f], "env"), key, buf, sizeof buf);
        if (f == 0)
            snprintf(first, sizeof first, "%s", buf);
        differ |= strcmp(first, buf) != 0;
        json_array_append_new(vals, json_string(buf));
    }
    if (differ && !json_object_get(c->env_diff, key))
        json_object_set_new(c->env_diff, key, vals);
    else
        json_decref(vals);
}

static void env_diffs(sono_cmp *c)
{
    static const char *const keys[] = {"host", "cpu.model", "gpus", "os", "kernel",
                                       "compiler.version", "harness", "git", NULL};
    c->env_diff = json_object();
    for (int i = 0; keys[i]; i++)
        diff_key(c, keys[i]);
    for (int f = 0; f < c->nfiles; f++) { /* the union of libraries over all files */
        const char *lib;
        json_t *v;
        json_object_foreach(json_object_get(json_object_get(c->docs[f], "env"), "libs"), lib, v) {
            char key[160];
            snprintf(key, sizeof key, "libs.%s", lib);
            diff_key(c, key);
        }
    }
}

static void warn(sono_cmp *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warn(sono_cmp *c, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_array_append_new(c->warnings, json_string(msg));
}

/* What a file cannot tell: a run cut short lacks the cases it never reached (they would
 * read as missing, not as regressions of the change), an empty one compares nothing, and
 * repetitions of unfinished cases are measured but not judged. */
static void file_warnings(sono_cmp *c)
{
    for (int f = 0; f < c->nfiles; f++) {
        json_t *doc = c->docs[f];
        if (json_is_false(json_object_get(json_object_get(doc, "run"), "complete")))
            warn(c, "%s: the run did not complete (interrupted); the cases it did not reach "
                 "are missing from it", c->paths[f]);
        if (json_array_size(json_object_get(doc, "cases")) == 0)
            warn(c, "%s: no cases", c->paths[f]);
        size_t np = json_array_size(json_object_get(doc, "partial_repetitions"));
        if (np)
            warn(c, "%s: %zu repetition record%s of cases that never finished "
                 "(partial_repetitions) not compared", c->paths[f], np, np == 1 ? "" : "s");
    }
}

static int add_row(sono_cmp *c, json_t *cs)
{
    const char *id = json_string_value(json_object_get(cs, "id"));
    for (size_t r = 0; r < c->nrows; r++)
        if (strcmp(c->rows[r].id, id) == 0)
            return 0; /* a duplicate id: the first record stands */
    sono_cmp_row *rows = realloc(c->rows, (c->nrows + 1) * sizeof *rows);
    if (!rows)
        return SONO_ENOMEM;
    c->rows = rows;
    sono_cmp_row *row = &c->rows[c->nrows++];
    *row = (sono_cmp_row){id, json_string_value(json_object_get(cs, "op")),
                          json_string_value(json_object_get(cs, "impl")), NAN, NAN, NULL};
    row->cells = calloc((size_t)c->nfiles - 1, sizeof *row->cells);
    if (!row->cells)
        return SONO_ENOMEM;
    for (size_t k = 0; k < c->nops; k++)
        if (strcmp(c->ops[k], row->op) == 0)
            return 0;
    const char **ops = realloc(c->ops, (c->nops + 1) * sizeof *ops);
    if (!ops)
        return SONO_ENOMEM;
    c->ops = ops;
    c->ops[c->nops++] = row->op;
    return 0;
}

static int geomeans(sono_cmp *c)
{
    int m = c->nfiles - 1;
    c->geo = malloc(c->nops * (size_t)m * sizeof *c->geo);
    c->geo_all = malloc((size_t)m * sizeof *c->geo_all);
    if (!c->geo || !c->geo_all)
        return SONO_ENOMEM;
    for (int f = 0; f < m; f++) {
        double all = 0;
        size_t nall = 0;
        for (size_t k = 0; k < c->nops; k++) {
            double s = 0;
            size_t n = 0;
            for (size_t r = 0; r < c->nrows; r++) {
                double q = c->rows[r].cells[f].ratio;
                if (strcmp(c->rows[r].op, c->ops[k]) == 0 && q > 0 && isfinite(q)) {
                    s += log(q);
                    n++;
                }
            }
            c->geo[k * (size_t)m + (size_t)f] = n ? exp(s / (double)n) : NAN;
            all += s;
            nall += n;
        }
        c->geo_all[f] = nall ? exp(all / (double)nall) : NAN;
    }
    return 0;
}

int sono_compare_files(const char *const *paths, int n, const sono_cmp_opts *o, sono_cmp **out,
                       sono_error *err)
{
    *out = NULL;
    if (n < 2)
        return sono_fail(err, SONO_EINVAL, "compare needs at least two results files");
    sono_cmp *c = calloc(1, sizeof *c);
    if (!c || !(c->docs = calloc((size_t)n, sizeof *c->docs))) {
        free(c);
        return sono_fail(err, SONO_ENOMEM, "out of memory");
    }
    c->nfiles = n;
    c->paths = (const char **)paths;
    int rc = (c->warnings = json_array()) ? 0 : SONO_ENOMEM;
    for (int f = 0; f < n && !rc; f++) {
        rc = sono_results_load(paths[f], &c->docs[f], err);
        if (!rc && !o->any_suite && strcmp(suite_name(c->docs[f]), suite_name(c->docs[0])) != 0)
            rc = sono_fail(err, SONO_EPARSE, "%s: suite \"%s\" differs from \"%s\" of %s; "
                           "pass --any-suite to compare them anyway", paths[f],
                           suite_name(c->docs[f]), suite_name(c->docs[0]), paths[0]);
    }
    for (int f = 0; f < n && !rc; f++) {
        size_t i;
        json_t *cs;
        json_array_foreach(json_object_get(c->docs[f], "cases"), i, cs)
            if ((rc = add_row(c, cs)))
                break;
    }
    sono_cmp_opts eff = *o;
    if (!rc && eff.floor_ns < 0) {
        json_t *env = json_object_get(c->docs[0], "env");
        double ovh = json_number_value(json_object_get(json_object_get(env,
                                                                       "harness_overhead_ns"),
                                                       "cpu"));
        eff.floor_ns = 10.0 * ovh;
    }
    c->floor_ns = eff.floor_ns;
    o = &eff;
    size_t within = 0;
    for (size_t r = 0; r < c->nrows && !rc; r++) {
        sono_cmp_row *row = &c->rows[r];
        json_t *base = find_case(c->docs[0], row->id);
        row->base_median = state_of(base) == PASSING ? median_of(base) : NAN;
        row->base_count = state_of(base) == PASSING ? metric_of(base, SONO_CMP_COUNT_METRIC)
                                                    : NAN;
        for (int f = 1; f < n; f++) {
            judge(base, find_case(c->docs[f], row->id), o, duet(c->docs[0], c->docs[f]),
                  &row->cells[f - 1]);
            c->regressions += row->cells[f - 1].regression;
            within += row->cells[f - 1].basis == SONO_B_WITHIN;
        }
    }
    if (!rc)
        file_warnings(c);
    if (!rc && within)
        warn(c, "%zu comparison%s within-process (a side has no repetitions): such verdicts "
             "ignore between-run variance, so an A/A pair can come out slower or faster; run "
             "both sides with --repetitions 5 for verdicts that reproduce", within,
             within == 1 ? " is" : "s are");
    if (!rc)
        rc = geomeans(c);
    if (!rc)
        env_diffs(c);
    if (rc == SONO_ENOMEM)
        sono_fail(err, rc, "out of memory comparing results");
    if (rc) {
        sono_compare_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

void sono_compare_free(sono_cmp *c)
{
    if (!c)
        return;
    for (size_t r = 0; r < c->nrows; r++)
        free(c->rows[r].cells);
    free(c->rows);
    free(c->ops);
    free(c->geo);
    free(c->geo_all);
    json_decref(c->env_diff);
    json_decref(c->warnings);
    for (int f = 0; f < c->nfiles; f++)
        json_decref(c->docs[f]);
    free(c->docs);
    free(c);
}
