/* compare.h — comparing results files (no printing): cases matched by id against the first
 * file; a verdict per case from the repetitions' medians (bootstrap CI of the ratio), from
 * instruction counts, or within one process (U test); geomeans per op. cli/compare.c prints. */
#ifndef SONO_COMPARE_H
#define SONO_COMPARE_H

#include <jansson.h>
#include <stddef.h>

#include "sono.h"

/* Fewer raw samples than this on either side and the U test cannot reach small p-values
 * reliably (the normal approximation is poor), so the verdict is "ambiguous". */
#define SONO_CMP_MIN_SAMPLES 9

/* Bootstrap resamples of the repetition medians: 10,000 puts the percentile bounds of a
 * 99 % CI within about +-0.1 % of coverage of their infinite-resample values. */
#define SONO_CMP_BOOT 10000

/* Instruction counts do not move between runs of the same code (callgrind's are exact;
 * perf's move by a few interrupts' worth), so a small change in them is real: the counts'
 * threshold unless --threshold is given. 0.5 %, not 1 %: a change that adds 1 % to a
 * kernel's work shows as a little under 1 % of the count (the fixed cost of the counted
 * call dilutes it: 1.00999 for delay/work), and the noise study's planted 1 % went
 * undetected at a 1 % threshold. */
#define SONO_CMP_COUNT_THRESHOLD 0.005

/* The metric key of instructions per run (run --metric instructions). */
#define SONO_CMP_COUNT_METRIC "counts.instructions"

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
    SONO_V_PLAN_CHANGED,  /* slower or faster, but the impl chose another plan (its
                             describe text differs, e.g. FFTW_MEASURE timing noise): reported,
                             a regression only with strict */
    SONO_V_NOISY,         /* "ambiguous: noisy": a side was measured on a disturbed machine
                             (the run flagged it noisy), so its time says nothing; never a
                             regression */
    SONO_V_COUNT
} sono_verdict;

/* What a timing verdict rests on. */
typedef enum sono_basis {
    SONO_B_NONE,        /* no timing compared (failing, missing, new ...) */
    SONO_B_REPETITIONS, /* >= 2 repetitions on both sides: between-run statistics */
    SONO_B_WITHIN,      /* a side has no repetitions: samples of one process each */
    SONO_B_COUNTS,      /* both sides counted instructions: exact, no statistics */
    SONO_B_PAIRED       /* the two sides of one `harness ab` run: repetition i of each ran
                           back to back, so their ratio cancels what the machine did */
} sono_basis;

typedef struct sono_cmp_opts {
    double threshold; /* relative: 0.05 means slower/faster needs |ratio - 1| > 5 % */
    double alpha;     /* significance level of the U test; 1 - alpha is the level of the
                         repetitions' bootstrap CI */
    int threshold_set; /* threshold was given: counts use it too, else 1 % */
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
    double ci_lo, ci_hi; /* CI of the ratio (see compare.c for the method per basis) */
    double p;            /* two-sided Mann–Whitney p-value (within-process only) */
    sono_verdict v;
    int regression;
    sono_basis basis;
    int reps_base, reps_new; /* repetitions with a median on each side */
    double min_effect;       /* repetitions: the smallest |ratio - 1| called a change */
    double count;            /* counts: instructions per run here (base: row->base_count) */
} sono_cmp_cell;

typedef struct sono_cmp_row {
    const char *id, *op, *impl; /* borrowed from the loaded documents */
    double base_median;         /* NaN when the base has no timing for it */
    double base_count;          /* instructions per run in the base; NaN without */
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
    json_t *warnings;   /* array of strings: interrupted or empty files, partial
                           repetitions, within-process verdicts */
} sono_cmp;

/* The repetition-level comparison of one case: base and new repetition medians (>= 2
 * each, positive). ratio = median(x) / median(b); [ci_lo, ci_hi] the (1 - alpha)
 * percentile bootstrap CI of that ratio (SONO_CMP_BOOT resamples of each side with
 * replacement, fixed seed: the same files give the same verdict); spread_* each side's
 * between-repetition relative CI half-width by the run's rule (sono_summarize's ci_rel
 * over the medians); min_effect = max(threshold, spread_b, spread_x); v slower when
 * ci_lo > 1 and ratio > 1 + min_effect, faster when ci_hi < 1 and ratio < 1 - min_effect,
 * else same. */
typedef struct sono_rep_cmp {
    double ratio, ci_lo, ci_hi, spread_b, spread_x, min_effect;
    sono_verdict v;
} sono_rep_cmp;

/* The duet's comparison (Bulej et al., ICPE 2020): b[i] and x[i] are repetition i of each
 * side of one `harness ab` run, measured back to back. ratio = exp(median of log(x[i] /
 * b[i])); [ci_lo, ci_hi] the (1 - alpha) percentile bootstrap CI of that median ratio;
 * min_effect = threshold. v slower when ratio > 1 + threshold and ci_lo > 1 + threshold / 2
 * (the CI must exclude a change of half the threshold, not merely 1: with a handful of
 * pairs, one burst of noise on one side can lift every resampled median just above 1),
 * faster likewise, else same. The machine's noise is shared by both sides of a pair, so
 * the sides' noisy flags do not veto this verdict. 0, SONO_EINVAL (n < 3 or a value not
 * positive) or SONO_ENOMEM. */
int sono_paired_compare(const double *b, const double *x, size_t n, double threshold,
                        double alpha, sono_rep_cmp *out);

/* 0, SONO_EINVAL (fewer than 2 values on a side, or a median not positive) or
 * SONO_ENOMEM. b and x are not modified. */
int sono_rep_compare(const double *b, size_t nb, const double *x, size_t nx, double threshold,
                     double alpha, sono_rep_cmp *out);

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
const char *sono_basis_name(sono_basis b); /* "-", "repetitions", "within-process", "counts" */

#endif
