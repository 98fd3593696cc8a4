/* compare.h — comparing results files (no printing): cases matched by id against the first
 * file, medians, ratio with a confidence interval, a Mann–Whitney U test on the raw
 * samples, a verdict per case and file, geometric means per op. harness/cli/compare.c prints. */
#ifndef SONO_COMPARE_H
#define SONO_COMPARE_H

#include <jansson.h>
#include <stddef.h>

#include "sono.h"

/* Fewer raw samples than this on either side and the U test cannot reach small p-values
 * reliably (the normal approximation is poor), so the verdict is "ambiguous". */
#define SONO_CMP_MIN_SAMPLES 9

typedef enum sono_verdict {
    SONO_V_NONE,          /* the case is in neither the base nor this file (only in a third) */
    SONO_V_SAME,          /* difference inside the noise or below the threshold */
    SONO_V_FASTER,
    SONO_V_SLOWER,        /* regression */
    SONO_V_AMBIGUOUS,     /* fewer than SONO_CMP_MIN_SAMPLES samples on a side */
    SONO_V_NOW_FAILING,   /* regression: passed in the base, fails (or errs) here */
    SONO_V_NOW_PASSING,
    SONO_V_STILL_FAILING, /* failed in both: not new, so not a regression of this change */
    SONO_V_NEW,           /* only here (or skipped in the base) */
    SONO_V_MISSING,       /* only in the base (or skipped here): a regression with strict */
    SONO_V_PLAN_CHANGED   /* slower or faster, but the impl chose another plan (its
                             describe text differs, e.g. FFTW_MEASURE timing noise): reported,
                             a regression only with strict */
} sono_verdict;

typedef struct sono_cmp_opts {
    double threshold; /* relative: 0.05 means slower/faster needs |ratio - 1| > 5 % */
    double alpha;     /* significance level of the U test */
    int any_suite;    /* allow files from different suites */
    int strict;       /* missing cases and changed plans count as regressions */
    /* absolute floor (ns per run): a change smaller than this is "same" whatever its
     * ratio. < 0: 10 x the base run's own overhead per call (env.harness_overhead_ns.cpu,
     * what cpu/nop measured): below that, a few-ns case moves with code alignment and
     * the loop around it, not with the kernel. */
    double floor_ns;
} sono_cmp_opts;

/* One case in one non-base file, against the base. NaN where a figure does not apply. */
typedef struct sono_cmp_cell {
    double median;       /* ns per run */
    double ratio;        /* median / base median: > 1 is slower */
    double ci_lo, ci_hi; /* 95 % CI of the ratio (see compare.c for the method) */
    double p;            /* two-sided Mann–Whitney p-value */
    sono_verdict v;
    int regression;
} sono_cmp_cell;

typedef struct sono_cmp_row {
    const char *id, *op, *impl; /* borrowed from the loaded documents */
    double base_median;         /* NaN when the base has no timing for it */
    sono_cmp_cell *cells;       /* nfiles - 1, one per non-base file */
} sono_cmp_row;

typedef struct sono_cmp {
    int nfiles;
    const char **paths; /* borrowed from the caller */
    json_t **docs;
    size_t nrows;
    sono_cmp_row *rows; /* base order, then cases only in later files */
    size_t nops;
    const char **ops;   /* in order of first appearance */
    double *geo;        /* nops x (nfiles-1): geomean ratio per op and file; NaN if none */
    double *geo_all;    /* nfiles-1: over every case with both medians */
    json_t *env_diff;   /* {"host": ["a", "b"], ...}: only the keys whose values differ */
    int regressions;    /* cells with regression set */
    double floor_ns;    /* the absolute floor used (see sono_cmp_opts) */
} sono_cmp;

/* Load n >= 2 results files (paths[0] is the base) and compare. SONO_EPARSE / SONO_EIO naming
 * the file when one is unusable or (without any_suite) from another suite; SONO_EINVAL for
 * n < 2. *out is freed with sono_compare_free. */
int sono_compare_files(const char *const *paths, int n, const sono_cmp_opts *o, sono_cmp **out,
                       sono_error *err);
void sono_compare_free(sono_cmp *c);

/* Two-sided Mann–Whitney U test of x against y, normal approximation with tie and
 * continuity corrections. *u (may be NULL) receives U of x: the number of pairs with
 * x > y, ties counting 1/2. Returns the p-value; 1 when every value is equal, NaN when a
 * side is empty or memory runs out. */
double sono_mann_whitney(const double *x, size_t nx, const double *y, size_t ny, double *u);

const char *sono_verdict_name(sono_verdict v);

#endif
