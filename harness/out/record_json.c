/* record_json.c — the record <-> JSON pair, used wherever a record crosses a boundary: the
 * worker pipe, the results journal and file, the jsonl stream. Fixed fields have fixed
 * keys; each metric sits at its dotted path, described in the record's "metrics". */
#include "record.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "casedev.h"
#include "results.h"

/* A figure the op did not compute, or one that is not finite (SI-SDR of a silent
 * input), is null: JSON has no NaN, and a reader must not mistake it for a value. */
static json_t *finite_or_null(int has, double v)
{
    return has && isfinite(v) ? json_real(v) : json_null();
}

static json_t *quality_json(const sono_quality *q)
{
    json_t *o = json_object();
    json_object_set_new(o, "bitrate_bps", finite_or_null(q->has & SONO_Q_BITRATE, q->bitrate_bps));
    json_object_set_new(o, "si_sdr_db", finite_or_null(q->has & SONO_Q_SISDR, q->si_sdr_db));
    json_object_set_new(o, "mel_l1", finite_or_null(q->has & SONO_Q_MEL, q->mel_l1));
    json_object_set_new(o, "mstft", finite_or_null(q->has & SONO_Q_MSTFT, q->mstft));
    json_object_set_new(o, "distortion", finite_or_null(q->has & SONO_Q_DIST, q->distortion));
    /* issue 14: resamplers' sweep figures, only where measured (older records stay as
     * they were) */
    if (q->has & (SONO_Q_STOPBAND | SONO_Q_RIPPLE)) {
        json_object_set_new(o, "stopband_db", finite_or_null(q->has & SONO_Q_STOPBAND,
                                                             q->stopband_db));
        json_object_set_new(o, "ripple_db", finite_or_null(q->has & SONO_Q_RIPPLE, q->ripple_db));
    }
    if (q->note[0])
        json_object_set_new(o, "note", json_string(q->note));
    /* issue 24: speech figures, only where asked for (pesq_mode set) */
    if (q->pesq_mode[0]) {
        json_object_set_new(o, "stoi", finite_or_null(q->has & SONO_Q_STOI, q->stoi));
        json_object_set_new(o, "estoi", finite_or_null(q->has & SONO_Q_ESTOI, q->estoi));
        json_object_set_new(o, "pesq", finite_or_null(q->has & SONO_Q_PESQ, q->pesq));
        json_object_set_new(o, "pesq_mode", json_string(q->pesq_mode));
    }
    if (q->speech_note[0])
        json_object_set_new(o, "speech_note", json_string(q->speech_note));
    return o;
}

static void quality_from_json(const json_t *o, sono_quality *q)
{
    static const struct {
        const char *key;
        int bit;
        size_t off;
    } f[] = {{"bitrate_bps", SONO_Q_BITRATE, offsetof(sono_quality, bitrate_bps)},
             {"si_sdr_db", SONO_Q_SISDR, offsetof(sono_quality, si_sdr_db)},
             {"mel_l1", SONO_Q_MEL, offsetof(sono_quality, mel_l1)},
             {"mstft", SONO_Q_MSTFT, offsetof(sono_quality, mstft)},
             {"distortion", SONO_Q_DIST, offsetof(sono_quality, distortion)},
             {"stopband_db", SONO_Q_STOPBAND, offsetof(sono_quality, stopband_db)},
             {"ripple_db", SONO_Q_RIPPLE, offsetof(sono_quality, ripple_db)},
             {"stoi", SONO_Q_STOI, offsetof(sono_quality, stoi)},
             {"estoi", SONO_Q_ESTOI, offsetof(sono_quality, estoi)},
             {"pesq", SONO_Q_PESQ, offsetof(sono_quality, pesq)}};
    memset(q, 0, sizeof *q);
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        const json_t *v = json_object_get(o, f[i].key);
        double *slot = (double *)((char *)q + f[i].off);
        if (json_is_number(v)) {
            *slot = json_number_value(v);
            q->has |= f[i].bit;
        } else if (v) { /* null: computed but not finite; the bit says it was asked for */
            *slot = NAN;
            q->has |= f[i].bit;
        }
    }
    const char *note = json_string_value(json_object_get(o, "note"));
    snprintf(q->note, sizeof q->note, "%s", note ? note : "");
    const char *mode = json_string_value(json_object_get(o, "pesq_mode"));
    snprintf(q->pesq_mode, sizeof q->pesq_mode, "%s", mode ? mode : "");
    const char *sn = json_string_value(json_object_get(o, "speech_note"));
    snprintf(q->speech_note, sizeof q->speech_note, "%s", sn ? sn : "");
}

static json_t *time_json(const sono_record *rec)
{
    const sono_summary *s = &rec->m.s;
    const sono_measure_cfg *cfg = &rec->c->cfg;
    json_t *samples = json_array();
    for (long i = 0; i < rec->m.nsamples; i++)
        json_array_append_new(samples, json_real(rec->m.samples[i]));
    json_t *t = json_pack(
        "{s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:I, s:I, s:I, s:s, s:f, s:f, s:f, s:o}",
        "min", s->min, "median", s->median, "mean", s->mean, "stddev", s->stddev, "max",
        s->max, "p95", s->p95, "p99", s->p99, "ci_lo", s->ci_lo, "ci_hi", s->ci_hi, "ci_rel",
        s->ci_rel, "n", (json_int_t)s->n, "runs_per_sample", (json_int_t)rec->m.k,
        "warmup_runs", (json_int_t)rec->m.warmup_runs, "stop", rec->m.stop ? rec->m.stop : "",
        "target_ci", cfg->target_ci, "budget_s", cfg->budget_s, "min_time_s", cfg->min_time_s,
        "samples", samples);
    if (!t)
        return NULL;
    json_object_set_new(t, "converged", json_boolean(rec->m.converged));
    /* issue 22: which spread the CI describes; within one process it misses every
     * between-run effect (load, frequency, layout, plan), so readers must know */
    json_object_set_new(t, "ci_scope", json_string(rec->nreps > 1 ? "repetitions"
                                                                    : "within-process"));
    json_object_set_new(t, "cache", json_string(rec->m.cold ? "cold" : "hot"));
    json_object_set_new(t, "short_samples", json_boolean(rec->m.short_samples));
    json_object_set_new(t, "q1", json_real(s->q1));
    json_object_set_new(t, "q3", json_real(s->q3));
    json_object_set_new(t, "outliers", json_pack("{s:I, s:I, s:I, s:I}", "low_mild",
                        (json_int_t)s->low_mild, "low_severe", (json_int_t)s->low_severe,
                        "high_mild", (json_int_t)s->high_mild, "high_severe",
                        (json_int_t)s->high_severe));
    return t;
}

/* The measurement's stop reasons are static strings; a record read back gets the same. */
static const char *stop_intern(const char *s)
{
    static const char *const known[] = {"converged", "budget", "max-samples", "profile",
                                        "stream", "instructions", NULL};
    for (int i = 0; s && known[i]; i++)
        if (strcmp(s, known[i]) == 0)
            return known[i];
    return s && s[0] ? "other" : NULL;
}

static json_t *null_or(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

/* issue 22: each repetition's own figures, so a reader can redo the statistics. */
static json_t *reps_json(const sono_record *rec)
{
    json_t *a = json_array();
    for (int i = 0; a && i < rec->nreps; i++) {
        const sono_rep *r = &rec->reps[i];
        json_t *samples = json_array();
        for (long j = 0; j < r->m.nsamples; j++)
            json_array_append_new(samples, json_real(r->m.samples[j]));
        json_array_append_new(a, json_pack(
            "{s:i, s:o, s:o, s:I, s:I, s:b, s:o, s:{s:o, s:o, s:o, s:o, s:o}}", "index",
            r->index, "median", null_or(r->m.nsamples ? r->m.s.median : NAN), "ci_rel",
            null_or(r->m.nsamples ? r->m.s.ci_rel : NAN), "n", (json_int_t)r->m.nsamples,
            "runs_per_sample", (json_int_t)r->m.k, "converged", r->m.converged, "samples",
            samples, "noise", "load_avg_1m", null_or(r->load_avg), "other_cpu_pct",
            null_or(r->other_cpu_pct), "steal_pct", null_or(r->steal_pct),
            "ctx_switches_invol", null_or(r->ctx_switches_invol), "cpu_mhz",
            null_or(r->cpu_mhz)));
    }
    return a;
}

static double num(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    return json_is_number(v) ? json_number_value(v) : 0.0;
}

static int time_from_json(const json_t *t, sono_measurement *m, sono_error *err)
{
    const json_t *samples = json_object_get(t, "samples"), *o = json_object_get(t, "outliers");
    sono_summary *s = &m->s;
    memset(m, 0, sizeof *m);
    m->nsamples = (long)json_array_size(samples);
    if (m->nsamples && !(m->samples = malloc((size_t)m->nsamples * sizeof(double))))
        return sono_fail(err, SONO_ENOMEM, "no memory for %ld samples", m->nsamples);
    for (long i = 0; i < m->nsamples; i++)
        m->samples[i] = json_number_value(json_array_get(samples, (size_t)i));
    s->min = num(t, "min"), s->median = num(t, "median"), s->mean = num(t, "mean");
    s->stddev = num(t, "stddev"), s->max = num(t, "max"), s->p95 = num(t, "p95");
    s->p99 = num(t, "p99"), s->ci_lo = num(t, "ci_lo"), s->ci_hi = num(t, "ci_hi");
    s->ci_rel = num(t, "ci_rel"), s->n = (size_t)num(t, "n");
    s->q1 = num(t, "q1"), s->q3 = num(t, "q3");
    s->low_mild = (size_t)num(o, "low_mild"), s->low_severe = (size_t)num(o, "low_severe");
    s->high_mild = (size_t)num(o, "high_mild"), s->high_severe = (size_t)num(o, "high_severe");
    m->k = (long)num(t, "runs_per_sample");
    m->warmup_runs = (long)num(t, "warmup_runs");
    m->stop = stop_intern(json_string_value(json_object_get(t, "stop")));
    m->converged = json_is_true(json_object_get(t, "converged"));
    const char *cache = json_string_value(json_object_get(t, "cache"));
    m->cold = cache && strcmp(cache, "cold") == 0;
    m->short_samples = json_is_true(json_object_get(t, "short_samples"));
    return 0;
}

/* Place v at a dotted path in o, making the objects on the way. */
static void set_path(json_t *o, const char *key, json_t *v)
{
    char part[64];
    const char *dot;
    while ((dot = strchr(key, '.'))) {
        snprintf(part, sizeof part, "%.*s", (int)(dot - key), key);
        json_t *next = json_object_get(o, part);
        if (!json_is_object(next)) {
            next = json_object();
            json_object_set_new(o, part, next);
        }
        o = next;
        key = dot + 1;
    }
    json_object_set_new(o, key, v);
}

static const json_t *get_path(const json_t *o, const char *key)
{
    char part[64];
    const char *dot;
    while (o && (dot = strchr(key, '.'))) {
        snprintf(part, sizeof part, "%.*s", (int)(dot - key), key);
        o = json_object_get(o, part);
        key = dot + 1;
    }
    return o ? json_object_get(o, key) : NULL;
}

json_t *sono_record_to_json(const sono_record *rec)
{
    const sono_case *c = rec->c;
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:o, s:{s:s, s:s, s:f, s:f}, s:s, s:s}",
                          "id", c->id, "op", c->op->name, "impl", c->impl_name, "device",
                          rec->device ? rec->device : "", "params", sono_params_json(&c->p),
                          "input", "name", rec->input ? rec->input : "", "sha256",
                          rec->input_sha256, "sample_rate", rec->sample_rate, "audio_s",
                          rec->audio_s, "status", rec->status ? rec->status : "error",
                          "started", rec->started);
    if (!o)
        return NULL;
    if (rec->message[0])
        json_object_set_new(o, "message", json_string(rec->message));
    if (rec->xfail_was) /* issue 27: the suite's known failure, and how the case ended */
        json_object_set_new(o, "expect_fail", json_pack("{s:s, s:s}", "reason", c->xfail,
                                                        "status", rec->xfail_was));
    if (c->seconds_all) /* issue 27: params.seconds is what `all` became for this input */
        json_object_set_new(o, "params_asked", json_pack("{s:s}", "seconds", "all"));
    if (c->input_note[0]) /* issue 27: a file cut to the case's length, padded, or all */
        json_object_set_new(o, "input_note", json_string(c->input_note));
    if (rec->describe[0])
        json_object_set_new(o, "describe", json_string(rec->describe));
    if (rec->measured_text[0])
        json_object_set_new(o, "measured", json_string(rec->measured_text));
    if (rec->checked) {
        json_t *chk = json_pack("{s:f, s:f, s:f, s:f, s:I, s:b}", "rel_l2", rec->check.rel_l2,
                                "max_abs", rec->check.max_abs, "ref_peak", rec->check.ref_peak,
                                "tol", rec->check.tol, "nonfinite",
                                (json_int_t)rec->check.nonfinite, "pass", rec->check.pass);
        if (chk && rec->check.has_mismatches)
            json_object_set_new(chk, "mismatches",
                                json_integer((json_int_t)rec->check.mismatches));
        if (chk && rec->check.detail[0])
            json_object_set_new(chk, "detail", json_string(rec->check.detail));
        json_object_set_new(o, "check", chk);
    }
    if (rec->has_quality)
        json_object_set_new(o, "quality", quality_json(&rec->quality));
    if (rec->counters)
        json_object_set(o, "counters", rec->counters);
    if (rec->gpu)
        json_object_set(o, "gpu", rec->gpu);
    if (rec->stream)
        json_object_set(o, "stream", rec->stream);
    if (rec->device_json_invalid)
        json_object_set_new(o, "device_json_invalid", json_true());
    if (rec->pin[0])
        json_object_set_new(o, "pin", json_string(rec->pin));
    if (rec->measured)
        json_object_set_new(o, "time_ns", time_json(rec));
    if (rec->repetition)
        json_object_set_new(o, "repetition", json_integer(rec->repetition));
    if (rec->nreps) {
        json_object_set_new(o, "repetitions", reps_json(rec));
        json_object_set_new(o, "noisy", json_boolean(rec->noisy));
        if (rec->noisy)
            json_object_set_new(o, "noisy_why", json_string(rec->noise_why));
    }
    if (rec->nmetrics) {
        json_t *desc = json_object();
        for (int i = 0; i < rec->nmetrics; i++) {
            const sono_metric *m = &rec->metrics[i];
            set_path(o, m->key, isfinite(m->value) ? json_real(m->value) : json_null());
            json_t *d = json_pack("{s:s, s:s}", "unit", m->unit, "better",
                                  sono_better_name(m->better));
            if (d && m->hint[0])
                json_object_set_new(d, "hint", json_string(m->hint));
            json_object_set_new(desc, m->key, d);
        }
        json_object_set_new(o, "metrics", desc);
    }
    return o;
}

static sono_better better_from(const char *s)
{
    return s && strcmp(s, "lower") == 0    ? SONO_BETTER_LOWER
           : s && strcmp(s, "higher") == 0 ? SONO_BETTER_HIGHER
                                           : SONO_BETTER_NONE;
}

static json_t *owned(const json_t *v)
{
    return v ? json_incref((json_t *)v) : NULL;
}

int sono_record_from_json(const json_t *o, const sono_case *c, const char *input,
                          sono_record *rec, sono_error *err)
{
    memset(rec, 0, sizeof *rec);
    const char *id = json_string_value(json_object_get(o, "id"));
    const char *st = sono_status_intern(json_string_value(json_object_get(o, "status")));
    if (!json_is_object(o) || !id || strcmp(id, c->id) != 0 || !st)
        return sono_fail(err, SONO_EPARSE, "not the record of %s (id %s, status %s)", c->id,
                         id ? id : "missing",
                         st ? st : "missing or unknown");
    rec->c = c;
    rec->status = st;
    rec->device = c->impl ? sono_case_device(c)->name : NULL;
    rec->input = input;
    const char *s;
    if ((s = json_string_value(json_object_get(o, "message"))))
        snprintf(rec->message, sizeof rec->message, "%s", s);
    if ((s = json_string_value(json_object_get(o, "describe"))))
        snprintf(rec->describe, sizeof rec->describe, "%s", s);
    if ((s = json_string_value(json_object_get(o, "measured"))))
        snprintf(rec->measured_text, sizeof rec->measured_text, "%s", s);
    if ((s = json_string_value(json_object_get(o, "started"))))
        snprintf(rec->started, sizeof rec->started, "%s", s);
    if ((s = json_string_value(json_object_get(o, "pin"))))
        snprintf(rec->pin, sizeof rec->pin, "%s", s);
    const json_t *in = json_object_get(o, "input");
    if ((s = json_string_value(json_object_get(in, "sha256"))))
        snprintf(rec->input_sha256, sizeof rec->input_sha256, "%s", s);
    rec->sample_rate = num(in, "sample_rate");
    rec->audio_s = num(in, "audio_s");
    const json_t *chk = json_object_get(o, "check");
    if (json_is_object(chk)) {
        rec->checked = 1;
        rec->check.rel_l2 = num(chk, "rel_l2");
        rec->check.max_abs = num(chk, "max_abs");
        rec->check.ref_peak = num(chk, "ref_peak");
        rec->check.tol = num(chk, "tol");
        rec->check.nonfinite = (long long)num(chk, "nonfinite");
        rec->check.pass = json_is_true(json_object_get(chk, "pass"));
        if (json_object_get(chk, "mismatches")) {
            rec->check.has_mismatches = 1;
            rec->check.mismatches = (long long)num(chk, "mismatches");
        }
        if ((s = json_string_value(json_object_get(chk, "detail"))))
            snprintf(rec->check.detail, sizeof rec->check.detail, "%s", s);
    }
    const json_t *q = json_object_get(o, "quality");
    if (json_is_object(q)) {
        rec->has_quality = 1;
        quality_from_json(q, &rec->quality);
    }
    rec->counters = owned(json_object_get(o, "counters"));
    rec->gpu = owned(json_object_get(o, "gpu"));
    rec->stream = owned(json_object_get(o, "stream"));
    rec->device_json_invalid = json_is_true(json_object_get(o, "device_json_invalid"));
    rec->repetition = (int)json_integer_value(json_object_get(o, "repetition"));
    rec->noisy = json_is_true(json_object_get(o, "noisy"));
    if ((s = json_string_value(json_object_get(o, "noisy_why"))))
        snprintf(rec->noise_why, sizeof rec->noise_why, "%s", s);
    const json_t *t = json_object_get(o, "time_ns");
    int rc = 0;
    if (json_is_object(t)) {
        rec->measured = 1;
        rc = time_from_json(t, &rec->m, err);
    }
    const char *key;
    json_t *d;
    json_object_foreach((json_t *)json_object_get(o, "metrics"), key, d) {
        const json_t *v = get_path(o, key);
        const char *unit = json_string_value(json_object_get(d, "unit"));
        if (!rc && sono_record_metric(rec, key, json_is_number(v) ? json_number_value(v) : NAN,
                                      unit ? unit : "",
                                      better_from(json_string_value(json_object_get(d, "better"))),
                                      json_string_value(json_object_get(d, "hint"))))
            rc = sono_fail(err, SONO_EPARSE, "record of %s: metric %.60s does not fit", c->id,
                           key);
    }
    if (rc)
        sono_record_free(rec);
    return rc;
}
