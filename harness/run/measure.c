/* measure.c — the adaptive timing loop. Each sample times k back-to-back runs on the
 * device's own clock and divides by k: k is sized from the warm-up so a sample is at
 * least 100 clock ticks and 10 us long, which keeps the clock's granularity and the
 * loop's own cost below 1 % of what is measured. */
#include "measure.h"

#include <math.h>
#include <stdlib.h>
#include <time.h>

static double wall_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

void sono_measurement_free(sono_measurement *m)
{
    free(m->samples);
    m->samples = NULL;
    m->nsamples = 0;
}

/* --profile: one run, untouched by warm-up or batching; its time is recorded all the same
 * (one sample, so no CI: converged stays 0). */
static int measure_once(const sono_device *dev, int (*run)(void *st), void *st,
                        sono_before_sample before, void *before_ctx,
                        volatile sig_atomic_t *stop_flag, double t0, sono_measurement *m,
                        sono_error *err)
{
    double ns;
    int rc;
    if (!(m->samples = malloc(sizeof *m->samples)))
        return sono_fail(err, SONO_ENOMEM, "no memory for one sample");
    m->cold = before != NULL;
    m->k = 1;
    if (before)
        before(before_ctx);
    if ((rc = dev->time_runs(dev, run, st, 1, &ns, err))) {
        sono_measurement_free(m);
        return rc;
    }
    m->samples[m->nsamples++] = ns;
    if (stop_flag && *stop_flag) {
        sono_measurement_free(m);
        return sono_fail(err, SONO_EINTR, "interrupted");
    }
    sono_summarize(m->samples, 1, &m->s);
    m->stop = "profile";
    m->converged = 0;
    m->elapsed_s = wall_s() - t0;
    m->short_samples = ns < 100.0 * dev->resolution_ns;
    return 0;
}

int sono_measure(const sono_device *dev, int (*run)(void *st), void *st,
                 const sono_measure_cfg *cfg, sono_before_sample before, void *before_ctx,
                 volatile sig_atomic_t *stop_flag, sono_measurement *m, sono_error *err)
{
    *m = (sono_measurement){0};
    double t0 = wall_s(), ns;
    int rc;

    if (cfg->profile) /* a profiler wants the one launch, not a calibrated figure */
        return measure_once(dev, run, st, before, before_ctx, stop_flag, t0, m, err);

    /* Warm-up (caches, page faults, lazy plans, clocks ramping) doubles as calibration:
     * k grows until k runs last at least floor_ns, so the per-run estimate is not
     * inflated by the clock's own cost as a single timed run would be. */
    double floor_ns = fmax(100.0 * dev->resolution_ns, 10e3);
    long k = 1;
    for (;;) {
        if ((rc = dev->time_runs(dev, run, st, k, &ns, err)))
            return rc;
        m->warmup_runs += k;
        m->warmup_ns += ns;
        if (stop_flag && *stop_flag)
            return sono_fail(err, SONO_EINTR, "interrupted during warm-up");
        if (ns < floor_ns) {
            double grow = ceil((double)k * 1.2 * floor_ns / fmax(ns, 1.0));
            k = grow > 1e9 ? 1000000000L : (long)grow;
            continue;
        }
        if (wall_s() - t0 >= cfg->warmup_s)
            break;
    }
    /* Cold: one run per sample, right after the eviction; repeating it k times would
     * measure warm caches for all but the first. */
    m->cold = before != NULL;
    m->k = m->cold ? 1 : k;

    long cap = cfg->max_samples > 0 ? cfg->max_samples : 1;
    if (!(m->samples = malloc((size_t)cap * sizeof *m->samples)))
        return sono_fail(err, SONO_ENOMEM, "no memory for %ld samples", cap);
    long next_check = cfg->min_samples;
    double t_samples = wall_s(); /* min_time_s counts sampling only, not the warm-up */
    for (;;) {
        if (before)
            before(before_ctx);
        if ((rc = dev->time_runs(dev, run, st, m->k, &ns, err))) {
            sono_measurement_free(m);
            return rc;
        }
        m->samples[m->nsamples++] = ns / (double)m->k;
        if (stop_flag && *stop_flag) {
            sono_measurement_free(m);
            return sono_fail(err, SONO_EINTR, "interrupted");
        }
        /* Re-summarising sorts the samples: do it at geometric intervals (every 10 %). */
        if (m->nsamples >= next_check) {
            sono_summarize(m->samples, (size_t)m->nsamples, &m->s);
            next_check = m->nsamples + (m->nsamples / 10 > 1 ? m->nsamples / 10 : 1);
            if (m->nsamples >= 6 && m->s.ci_rel <= cfg->target_ci &&
                wall_s() - t_samples >= cfg->min_time_s) {
                m->stop = "converged";
                break;
            }
        }
        if (m->nsamples >= cap) {
            sono_summarize(m->samples, (size_t)m->nsamples, &m->s);
            m->stop = m->s.ci_rel <= cfg->target_ci && wall_s() - t_samples >= cfg->min_time_s
                          ? "converged"
                          : "max-samples";
            break;
        }
        if (wall_s() - t0 >= cfg->budget_s) {
            m->stop = "budget";
            break;
        }
    }
    sono_summarize(m->samples, (size_t)m->nsamples, &m->s);
    m->elapsed_s = wall_s() - t0;
    m->converged = m->nsamples >= 6 && m->s.ci_rel <= cfg->target_ci;
    m->short_samples = m->s.median * (double)m->k < 100.0 * dev->resolution_ns;
    return 0;
}
