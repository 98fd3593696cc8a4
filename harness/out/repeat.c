/* repeat.c — a case's record from its repetitions (issue 22): each repetition ran in a
 * fresh worker with fresh buffers and plan, interleaved with the other cases, so their
 * spread holds the between-run effects one process never shows; the case's CI is theirs. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "noise.h"
#include "record.h"
#include "stats.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median_of(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Status and message: the first repetition that did not end ok speaks for the case. */
static void status_of(sono_record *reps, int n, sono_record *agg)
{
    for (int i = 0; i < n; i++)
        if (strcmp(reps[i].status, "ok") != 0) {
            char msg[sizeof agg->message];
            snprintf(msg, sizeof msg, "repetition %d of %d: %s", i + 1, n, reps[i].message);
            sono_record_status(agg, reps[i].status, n > 1 ? msg : reps[i].message);
            return;
        }
    sono_record_status(agg, "ok", NULL);
}

/* Every metric of the last repetition, as the median over the repetitions that have it. */
static int metrics_of(sono_record *reps, int n, sono_record *agg, double *tmp)
{
    const sono_record *last = &reps[n - 1];
    for (int k = 0; k < last->nmetrics; k++) {
        const sono_metric *m = &last->metrics[k];
        int got = 0;
        for (int i = 0; i < n; i++) {
            const sono_metric *x = sono_record_get(&reps[i], m->key);
            if (x && isfinite(x->value))
                tmp[got++] = x->value;
        }
        int rc = sono_record_metric(agg, m->key, got ? median_of(tmp, got) : NAN, m->unit,
                                    m->better, m->hint);
        if (rc)
            return rc;
    }
    return 0;
}

/* Disagreement beyond their own spread: the repetitions' medians spread wider than five
 * times the widest within-repetition CI and wider than +-5 % (fresh processes on a quiet
 * machine differ by 3-5 %: that much is what the between-repetition CI is for, not a
 * disturbance); or a repetition ran on a busy machine. */
static void judge_noise(sono_record *reps, int n, sono_record *agg, const double *meds)
{
    char why[128] = "";
    for (int i = 0; i < n && !agg->noisy; i++)
        if (sono_noise_busy(&reps[i], why, sizeof why)) {
            agg->noisy = 1;
            snprintf(agg->noise_why, sizeof agg->noise_why, "repetition %d: %s", i + 1, why);
        }
    if (agg->noisy || n < 2)
        return;
    double lo = meds[0], hi = meds[0], within = 0;
    for (int i = 0; i < n; i++) {
        lo = fmin(lo, meds[i]);
        hi = fmax(hi, meds[i]);
        within = fmax(within, reps[i].m.s.ci_rel);
    }
    double mid = agg->m.s.median, spread = mid > 0 ? (hi - lo) / 2 / mid : 0;
    if (spread > 5 * within && spread > 0.05) {
        agg->noisy = 1;
        snprintf(agg->noise_why, sizeof agg->noise_why, "repetitions' medians spread +-%.1f%% "
                 "against +-%.1f%% within one", 100 * spread, 100 * within);
    }
}

static void rep_of(sono_record *r, int index, sono_rep *out)
{
    out->index = index;
    out->m = r->m; /* the samples move */
    memset(&r->m, 0, sizeof r->m);
    out->load_avg = sono_record_value(r, "system.load_avg_1m", NAN);
    out->other_cpu_pct = sono_record_value(r, "noise.other_cpu_pct", NAN);
    out->steal_pct = sono_record_value(r, "noise.steal_pct", NAN);
    out->ctx_switches_invol = sono_record_value(r, "noise.ctx_switches_invol", NAN);
    out->cpu_mhz = sono_record_value(r, "noise.cpu_mhz", NAN);
}

int sono_record_aggregate(sono_record *reps, int n, sono_record *agg, sono_error *err)
{
    const sono_record *last = &reps[n - 1];
    memset(agg, 0, sizeof *agg);
    agg->c = last->c;
    agg->device = last->device;
    agg->input = last->input;
    memcpy(agg->input_sha256, last->input_sha256, sizeof agg->input_sha256);
    agg->sample_rate = last->sample_rate;
    agg->audio_s = last->audio_s;
    agg->checked = last->checked, agg->check = last->check;
    agg->has_quality = last->has_quality, agg->quality = last->quality;
    memcpy(agg->describe, last->describe, sizeof agg->describe);
    memcpy(agg->pin, last->pin, sizeof agg->pin);
    memcpy(agg->started, reps[0].started, sizeof agg->started);
    agg->counters = last->counters ? json_incref(last->counters) : NULL;
    agg->gpu = last->gpu ? json_incref(last->gpu) : NULL;
    agg->stream = last->stream ? json_incref(last->stream) : NULL;
    agg->device_json_invalid = last->device_json_invalid;
    status_of(reps, n, agg);
    double *tmp = calloc((size_t)n, sizeof *tmp), *meds = calloc((size_t)n, sizeof *meds);
    agg->reps = calloc((size_t)n, sizeof *agg->reps);
    if (!tmp || !meds || !agg->reps) {
        free(tmp), free(meds);
        return sono_fail(err, SONO_ENOMEM, "no memory for %d repetitions", n);
    }
    int rc = metrics_of(reps, n, agg, tmp);
    long total = 0, measured = 0;
    for (int i = 0; i < n; i++)
        if (reps[i].measured)
            meds[measured++] = reps[i].m.s.median, total += reps[i].m.nsamples;
    if (!rc && measured == n && (agg->m.samples = malloc((size_t)(total ? total : 1) *
                                                        sizeof(double)))) {
        agg->measured = 1;
        for (int i = 0; i < n; i++) {
            memcpy(agg->m.samples + agg->m.nsamples, reps[i].m.samples,
                   (size_t)reps[i].m.nsamples * sizeof(double));
            agg->m.nsamples += reps[i].m.nsamples;
            agg->m.converged = i ? agg->m.converged && reps[i].m.converged : reps[i].m.converged;
            agg->m.short_samples |= reps[i].m.short_samples;
            agg->m.warmup_runs += reps[i].m.warmup_runs;
            agg->m.elapsed_s += reps[i].m.elapsed_s;
        }
        agg->m.k = last->m.k;
        agg->m.cold = last->m.cold;
        agg->m.stop = last->m.stop;
        /* spread, quartiles, outliers over all samples; the median and its CI over the
         * repetitions' medians: what a fresh run would give varies by that much */
        sono_summarize(agg->m.samples, (size_t)agg->m.nsamples, &agg->m.s);
        sono_summary between;
        sono_summarize(meds, (size_t)n, &between);
        agg->m.s.median = between.median;
        agg->m.s.ci_lo = between.ci_lo;
        agg->m.s.ci_hi = between.ci_hi;
        agg->m.s.ci_rel = between.median > 0 ? (between.ci_hi - between.ci_lo) / 2 /
                                                   between.median
                                             : 0;
        judge_noise(reps, n, agg, meds);
    } else if (!rc && measured == n)
        rc = sono_fail(err, SONO_ENOMEM, "no memory for %ld samples", total);
    for (int i = 0; !rc && i < n; i++)
        rep_of(&reps[i], i + 1, &agg->reps[agg->nreps++]);
    free(tmp);
    free(meds);
    return rc;
}
