/* measure.h — the timed loop: warm-up, then samples of k runs each (k chosen so a
 * sample lasts well above the clock's resolution), until the 95 % CI of the median is
 * within the target or the time budget is spent. Settings come from the suite. */
#ifndef SONO_MEASURE_H
#define SONO_MEASURE_H

#include <signal.h>

#include "sono.h"
#include "stats.h"

typedef struct sono_measure_cfg {
    double target_ci;  /* relative half-width of the median's 95 % CI to stop at */
    double budget_s;   /* wall-clock seconds for warm-up + samples of one case */
    double warmup_s;   /* warm-up length (at least one run) */
    double min_time_s; /* never stop before this much wall time: 10 quick samples can
                          agree by luck and still miss a slower phase */
    long min_samples;  /* never judge convergence on fewer */
    long max_samples;  /* stop (and say so) past this many */
    double timeout_s;  /* the runner kills a case's worker past this (setup included) */
    char pin[32];      /* where the worker runs: none, auto, core:N (harness/run/pin.h) */
    int profile;       /* `run --profile`: no warm-up, one sample of one run, so a
                          profiler sees one clean launch per case; nothing converges */
    int repetitions;   /* issue 22: measure the case this many times, each in a fresh
                          worker, interleaved with the other cases; budget_s and
                          min_time_s are split between them */
    int instructions;  /* issue 22, `run --metric instructions`: counted, not timed; the
                          counter (instr.h: SONO_INSTR_PERF or _VALGRIND); 0: timed */
} sono_measure_cfg;

#define SONO_MEASURE_DEFAULTS \
    ((sono_measure_cfg){.target_ci = 0.02, .budget_s = 2.0, .warmup_s = 0.1, \
                        .min_time_s = 0.1, \
                        .min_samples = 10, .max_samples = 2000, .timeout_s = 120, \
                        .pin = "none", .repetitions = 1})

typedef struct sono_measurement {
    double *samples;    /* ns per run, one per sample; malloc'ed, caller frees */
    long nsamples;
    long k;             /* runs per sample */
    long warmup_runs;
    double warmup_ns;
    double elapsed_s;   /* wall time of warm-up + samples */
    const char *stop;   /* "converged", "budget", "max-samples", "profile" */
    int converged;      /* the CI reached target_ci: when 0, the record says so */
    int cold;           /* each sample was one run after evicting the caches */
    int short_samples;  /* a sample (k runs) lasted under 100 clock ticks: the clock's
                           granularity is a visible part of the figure */
    sono_summary s;
} sono_measurement;

/* Called before every sample in cold-cache mode, untimed (harness/run/evict.h). */
typedef void (*sono_before_sample)(void *ctx);

/* Measure run(st) on dev. With before (cold mode) each sample is a single run preceded
 * by before(before_ctx); else samples are k runs back to back (hot caches). stop_flag
 * (may be NULL) is polled between samples: when set, returns SONO_EINTR. On error the
 * measurement is freed. */
int sono_measure(const sono_device *dev, int (*run)(void *st), void *st,
                 const sono_measure_cfg *cfg, sono_before_sample before, void *before_ctx,
                 volatile sig_atomic_t *stop_flag, sono_measurement *m, sono_error *err);
void sono_measurement_free(sono_measurement *m);

#endif
