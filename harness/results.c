/* results.c — the results document: building case records as JSON, keeping the file
 * valid after every case, and reading a file back with its structure checked. */
#include "results.h"
#include "results_copy.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct sono_results {
    char path[4096];
    char tmp[4200];
    json_t *doc;
    json_t *cases;
};

static void utc_now(char *buf, size_t n)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Temp file in the same folder, fsync, rename: readers see the old or the new file,
 * never half of one, even after kill -9 or a power cut. */
static int write_doc(sono_results *r, sono_error *err)
{
    int fd = open(r->tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        if (fd >= 0)
            close(fd);
        return sono_fail(err, SONO_EIO, "%s: cannot write: %s", r->tmp, strerror(errno));
    }
    int bad = json_dumpf(r->doc, f, JSON_INDENT(1) | JSON_REAL_PRECISION(10)) != 0;
    bad |= fputc('\n', f) == EOF;
    bad |= fflush(f) != 0;
    bad |= fsync(fileno(f)) != 0;
    bad |= fclose(f) != 0;
    if (bad || rename(r->tmp, r->path) != 0) {
        int e = errno;
        unlink(r->tmp);
        return sono_fail(err, SONO_EIO, "%s: cannot write results: %s", r->path, strerror(e));
    }
    return 0;
}

int sono_results_open(const char *path, json_t *suite, json_t *env, sono_results **out,
                      sono_error *err)
{
    sono_results *r = calloc(1, sizeof *r);
    if (!r) {
        json_decref(suite);
        json_decref(env);
        return sono_fail(err, SONO_ENOMEM, "out of memory");
    }
    snprintf(r->path, sizeof r->path, "%s", path);
    snprintf(r->tmp, sizeof r->tmp, "%s.tmp", path);
    char now[32];
    utc_now(now, sizeof now);
    r->cases = json_array();
    r->doc = json_pack("{s:s, s:o, s:o, s:{s:s, s:b, s:b}, s:O}", "schema", SONO_RESULTS_SCHEMA,
                       "suite", suite, "env", env, "run", "started", now, "complete", 0,
                       "interrupted", 0, "cases", r->cases);
    int rc = r->doc ? write_doc(r, err) : sono_fail(err, SONO_ENOMEM, "out of memory");
    if (rc) {
        sono_results_abandon(r);
        return rc;
    }
    *out = r;
    return 0;
}

json_t *sono_params_json(const sono_params *p)
{
    json_t *o = json_object();
    for (int i = 0; i < p->count; i++) {
        const sono_param *v = &p->v[i];
        json_object_set_new(o, v->name, v->type == SONO_PINT    ? json_integer(v->i)
                                        : v->type == SONO_PREAL ? json_real(v->r)
                                                                : json_string(v->s));
    }
    return o;
}

json_t *sono_suite_json(const sono_plan *plan)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:i}", "name", plan->name, "file", plan->file,
                     "sha256", plan->sha256, "description", plan->description, "cases",
                     plan->ncases);
}

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
    return o;
}

json_t *sono_record_json(const sono_record *rec)
{
    const sono_case *c = rec->c;
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:o, s:{s:s, s:s, s:f, s:f}, s:s, s:s}",
                          "id", c->id, "op", c->op->name, "impl", c->impl_name, "device",
                          rec->device ? rec->device : "", "params", sono_params_json(&c->p),
                          "input", "name", rec->input ? rec->input : "", "sha256",
                          rec->input_sha256, "sample_rate", rec->sample_rate, "audio_s",
                          rec->audio_s, "status", rec->status, "started", rec->started);
    if (!o)
        return NULL;
    if (rec->message[0])
        json_object_set_new(o, "message", json_string(rec->message));
    if (rec->describe[0])
        json_object_set_new(o, "describe", json_string(rec->describe));
    if (rec->checked)
        json_object_set_new(o, "check", json_pack("{s:f, s:f, s:f, s:f, s:I, s:b}",
                            "rel_l2", rec->check.rel_l2, "max_abs", rec->check.max_abs,
                            "ref_peak", rec->check.ref_peak, "tol", rec->check.tol,
                            "nonfinite", (json_int_t)rec->check.nonfinite,
                            "pass", rec->check.pass));
    json_t *chk = json_object_get(o, "check");
    if (chk && rec->check.has_mismatches)
        json_object_set_new(chk, "mismatches", json_integer((json_int_t)rec->check.mismatches));
    if (chk && rec->check.detail[0])
        json_object_set_new(chk, "detail", json_string(rec->check.detail));
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
        json_object_set_new(o, "memory", json_pack("{s:f, s:o}", "peak_rss_bytes",
                            rec->peak_rss_bytes, "workspace_bytes",
                            rec->workspace_bytes >= 0 ? json_real(rec->workspace_bytes)
                                                      : json_null()));
    if (rec->measured) {
        const sono_summary *s = &rec->m.s;
        json_t *samples = json_array();
        for (long i = 0; i < rec->m.nsamples; i++)
            json_array_append_new(samples, json_real(rec->m.samples[i]));
        json_object_set_new(o, "time_ns", json_pack(
            "{s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:I, s:I, s:I, s:s, s:f, s:f, s:f, s:o}",
            "min", s->min, "median", s->median, "mean", s->mean, "stddev", s->stddev,
            "max", s->max, "p95", s->p95, "p99", s->p99, "ci_lo", s->ci_lo, "ci_hi", s->ci_hi,
            "ci_rel", s->ci_rel, "n", (json_int_t)s->n, "runs_per_sample",
            (json_int_t)rec->m.k, "warmup_runs", (json_int_t)rec->m.warmup_runs, "stop",
            rec->m.stop, "target_ci", c->cfg.target_ci, "budget_s", c->cfg.budget_s, "min_time_s",
            c->cfg.min_time_s,
            "samples", samples));
        json_t *t = json_object_get(o, "time_ns");
        json_object_set_new(t, "converged", json_boolean(rec->m.converged));
        json_object_set_new(t, "cache", json_string(rec->m.cold ? "cold" : "hot"));
        json_object_set_new(t, "short_samples", json_boolean(rec->m.short_samples));
        json_object_set_new(t, "q1", json_real(s->q1));
        json_object_set_new(t, "q3", json_real(s->q3));
        json_object_set_new(t, "outliers", json_pack("{s:I, s:I, s:I, s:I}", "low_mild",
                            (json_int_t)s->low_mild, "low_severe", (json_int_t)s->low_severe,
                            "high_mild", (json_int_t)s->high_mild, "high_severe",
                            (json_int_t)s->high_severe));
        json_object_set_new(o, "setup_ns", json_real(rec->setup_ns));
        json_object_set_new(o, "load_ns", json_real(rec->load_ns));
        json_object_set_new(o, "store_ns", json_real(rec->store_ns));
        json_object_set_new(o, "transfer_bytes", json_pack("{s:f, s:f}", "load",
                            rec->load_bytes, "store", rec->store_bytes));
        json_object_set_new(o, "cost", json_pack("{s:f, s:f}", "flops", rec->cost.flops,
                            "bytes", rec->cost.bytes));
        json_object_set_new(o, "derived", json_pack("{s:f, s:f, s:f, s:f}", "gflops",
                            rec->gflops, "gbps", rec->gbps, "rtf", rec->rtf, "x_realtime",
                            rec->rtf > 0 ? 1.0 / rec->rtf : 0.0));
    }
    return o;
}

int sono_results_add(sono_results *r, json_t *rec, sono_error *err)
{
    if (json_array_append(r->cases, rec))
        return sono_fail(err, SONO_ENOMEM, "out of memory adding a record");
    return write_doc(r, err);
}

int sono_results_close(sono_results *r, int interrupted, sono_error *err)
{
    char now[32];
    utc_now(now, sizeof now);
    json_t *run = json_object_get(r->doc, "run");
    json_t *counts = json_object();
    size_t i;
    json_t *c;
    json_array_foreach(r->cases, i, c) {
        const char *st = json_string_value(json_object_get(c, "status"));
        json_t *n = json_object_get(counts, st);
        json_object_set_new(counts, st, json_integer(n ? json_integer_value(n) + 1 : 1));
    }
    json_object_set_new(run, "finished", json_string(now));
    json_object_set_new(run, "complete", json_boolean(!interrupted));
    json_object_set_new(run, "interrupted", json_boolean(interrupted));
    json_object_set_new(run, "counts", counts);
    int rc = write_doc(r, err);
    if (rc == 0)
        sono_results_copy(r->path); /* tests: each finished file gets validated */
    sono_results_abandon(r);
    return rc;
}

void sono_results_abandon(sono_results *r)
{
    if (!r)
        return;
    json_decref(r->doc);
    json_decref(r->cases);
    free(r);
}

/* ---- reading ----------------------------------------------------------------------- */

static const char *const statuses[] = {"ok", "fail", "skip", "error", "crash", "timeout", NULL};

static int bad_case(sono_error *err, const char *path, size_t i, json_t *c, const char *what)
{
    const char *id = json_string_value(json_object_get(c, "id"));
    return sono_fail(err, SONO_EPARSE, "%s: case %zu (%s): %s", path, i, id ? id : "no id",
                     what);
}

int sono_results_load(const char *path, json_t **doc, sono_error *err)
{
    json_error_t je;
    *doc = NULL;
    json_t *d = json_load_file(path, 0, &je);
    if (!d)
        return sono_fail(err, je.line < 0 ? SONO_EIO : SONO_EPARSE, "%s:%d:%d: %s", path,
                         je.line, je.column, je.text);
    const char *schema = json_string_value(json_object_get(d, "schema"));
    json_t *cases = json_object_get(d, "cases");
    int rc = 0;
    if (!json_is_object(d) || !schema || strcmp(schema, SONO_RESULTS_SCHEMA) != 0)
        rc = sono_fail(err, SONO_EPARSE, "%s: not a sonobench results file: expected "
                       "\"schema\": \"%s\"", path, SONO_RESULTS_SCHEMA);
    else if (!json_is_array(cases) || !json_is_object(json_object_get(d, "env")) ||
             !json_is_object(json_object_get(d, "run")))
        rc = sono_fail(err, SONO_EPARSE, "%s: expected objects \"env\", \"run\" and an array "
                       "\"cases\"", path);
    size_t i;
    json_t *c;
    json_array_foreach(cases, i, c) {
        if (rc)
            break;
        const char *st = json_string_value(json_object_get(c, "status"));
        int known = 0;
        for (int k = 0; st && statuses[k]; k++)
            known |= strcmp(st, statuses[k]) == 0;
        json_t *t = json_object_get(c, "time_ns");
        if (!json_is_object(c))
            rc = bad_case(err, path, i, c, "expected an object");
        else if (!json_is_string(json_object_get(c, "id")) ||
                 !json_is_string(json_object_get(c, "op")) ||
                 !json_is_string(json_object_get(c, "impl")))
            rc = bad_case(err, path, i, c, "expected strings \"id\", \"op\", \"impl\"");
        else if (!known)
            rc = bad_case(err, path, i, c, "\"status\" must be ok, fail, skip, error, crash "
                          "or timeout");
        else if (!json_is_object(json_object_get(c, "params")))
            rc = bad_case(err, path, i, c, "expected an object \"params\"");
        else if (t && (!json_is_number(json_object_get(t, "median")) ||
                       !json_is_array(json_object_get(t, "samples"))))
            rc = bad_case(err, path, i, c, "\"time_ns\" needs a number \"median\" and an "
                          "array \"samples\"");
        else if ((strcmp(st, "ok") == 0) && !t)
            rc = bad_case(err, path, i, c, "status ok without \"time_ns\"");
    }
    if (rc)
        json_decref(d);
    else
        *doc = d;
    return rc;
}
