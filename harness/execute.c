/* execute.c — runs one case in this process and returns its record: the input (seeded,
 * hashed), the reference (float64, cached per op, params and input), setup, load, the
 * measured loop, store, check, teardown. The timed region is run() alone; setup (plan
 * time), load and store (transfers) are timed once each and recorded apart. A streaming
 * case (chunk_ms or chunk set, issue 12) is measured by stream.c instead: push per chunk,
 * then checked against the reference and against the impl's own offline output. */
#include "execute.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "casedev.h"
#include "counters.h"
#include "evict.h"
#include "params.h"
#include "pin.h"
#include "record.h"
#include "results.h"
#include "stream.h"

static double now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

/* One input and one reference are kept: the plan runs every impl of a (params, input)
 * back to back, so each is made once. */
struct sono_executor {
    int input;
    sono_buf in;
    char in_key[400];
    char sha[65];
    double rate;
    sono_buf ref;
    char ref_key[800];
    sono_evict *evict;    /* made at the first cold case */
    sono_counters *ctr;   /* opened at the first cpu case; NULL with ctr_why if refused */
    int ctr_tried;
    char ctr_why[512];
    char pin[32];       /* the setting applied to this process, "" before any */
    char pin_desc[128]; /* what that did, for the records */
};

sono_executor *sono_executor_new(void)
{
    sono_executor *k = calloc(1, sizeof *k);
    if (k)
        k->input = -1;
    return k;
}

void sono_executor_free(sono_executor *k)
{
    if (!k)
        return;
    sono_buf_free(&k->in);
    sono_buf_free(&k->ref);
    sono_evict_free(k->evict);
    sono_counters_close(k->ctr);
    free(k);
}

static int get_input(const sono_plan *plan, const sono_case *c, sono_executor *k, sono_buf *desc,
                     sono_error *err)
{
    char key[400];
    double rate = c->op->rate ? c->op->rate(&c->p) : 0;
    /* An op that builds its input may use any of its params (vq's seed draws the
     * codebook), so its key holds them all; a signal depends on the shape and rate only. */
    snprintf(key, sizeof key, "%d/%d/%lld/%.17g/%s", c->input, desc->dtype,
             sono_buf_elems(desc), rate, c->op->input ? c->params_text : "");
    if (k->in.data && strcmp(key, k->in_key) == 0 && k->in.ndim == desc->ndim &&
        memcmp(k->in.shape, desc->shape, sizeof desc->shape) == 0)
        return 0;
    sono_buf_free(&k->in);
    sono_buf_free(&k->ref);
    k->in_key[0] = k->ref_key[0] = 0;
    k->in = *desc;
    int rc = sono_buf_alloc(&k->in, err);
    if (!rc && c->op->input) { /* the op builds its input from the signal */
        k->rate = rate > 0 ? rate : plan->sample_rate;
        rc = c->op->input(&c->p, &plan->inputs[c->input], k->rate, &k->in, err);
    } else if (!rc && rate > 0) { /* an audio op fixes its rate: files are resampled to it */
        rc = sono_input_fill_at(&plan->inputs[c->input], rate, &k->in, err);
        k->rate = rate;
    } else if (!rc)
        rc = sono_input_fill(&plan->inputs[c->input], plan->sample_rate, &k->in, &k->rate, err);
    if (rc) {
        sono_buf_free(&k->in);
        return rc;
    }
    sono_buf_sha256(&k->in, k->sha);
    snprintf(k->in_key, sizeof k->in_key, "%s", key);
    return 0;
}

static int get_ref(const sono_case *c, sono_executor *k, const sono_buf *out_desc, sono_error *err)
{
    char key[800];
    snprintf(key, sizeof key, "%s|%s|%s", c->op->name, c->params_text, k->in_key);
    if (k->ref.data && strcmp(key, k->ref_key) == 0)
        return 0;
    sono_buf_free(&k->ref);
    k->ref = *out_desc;
    k->ref.dtype = sono_dtype_wide(out_desc->dtype);
    int rc = sono_buf_alloc(&k->ref, err);
    if (!rc)
        rc = c->op->reference(&c->p, &k->in, &k->ref, err);
    if (rc) {
        sono_buf_free(&k->ref);
        return rc;
    }
    snprintf(k->ref_key, sizeof k->ref_key, "%s", key);
    return 0;
}

static void set_status(sono_record *rec, const char *status, const char *msg)
{
    sono_record_status(rec, status, msg);
}

/* What the lifecycle timed and counted besides the samples; the derive step turns them
 * into the record's metrics. */
typedef struct stage_figures {
    double setup_ns, load_ns, store_ns;
    double load_bytes, store_bytes;
    double workspace_bytes; /* < 0: not reported */
    double peak_rss_bytes;
} stage_figures;

/* Peak RSS per case in a worker that serves many: Linux resets VmHWM to the current RSS
 * when "5" is written to clear_refs (since 4.0), so the peak read after the case is the
 * case's own (plus what the worker already held). */
static void reset_peak_rss(void)
{
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (f) {
        fputs("5", f);
        fclose(f);
    }
}

static double peak_rss_bytes(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    double kb = 0;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "VmHWM:", 6) == 0)
            kb = strtod(line + 6, NULL);
    if (f)
        fclose(f);
    return kb * 1024.0;
}

static void evict(void *ctx)
{
    sono_evict_run(ctx);
}

/* Hardware counters over one more pass of k runs (one run after an eviction when cold):
 * a pass of its own, so reading the counters never disturbs the timed samples. */
static json_t *count_pass(sono_executor *k, const sono_device *dev, const sono_impl *im,
                          void *st, const sono_measurement *m)
{
    sono_counter_values v;
    if (!k->ctr_tried) {
        k->ctr_tried = 1;
        sono_counters_open(&k->ctr, k->ctr_why, sizeof k->ctr_why);
    }
    if (m->stop && strcmp(m->stop, "profile") == 0) /* one launch per case, no more */
        sono_counters_unavailable(&v, "not counted under --profile (one run per case)");
    else if (strcmp(dev->kind, "cpu") != 0)
        sono_counters_unavailable(&v, "counters are read on cpu devices only");
    else if (!k->ctr)
        sono_counters_unavailable(&v, k->ctr_why[0] ? k->ctr_why : "no counter available");
    else {
        double ns;
        sono_error err = {0};
        if (m->cold)
            sono_evict_run(k->evict);
        if (sono_counters_start(k->ctr) != 0)
            sono_counters_unavailable(&v, "PAPI refused to start counting");
        else {
            int rc = dev->time_runs(dev, im->run, st, m->k, &ns, &err);
            if (sono_counters_stop(k->ctr, &v) == 0 && rc != 0)
                sono_counters_unavailable(&v, err.msg);
        }
    }
    return sono_counters_json(&v, (double)m->k);
}

/* The device's own JSON for the case (sono.h's case_end), kept only when it parses to an
 * object: the device's text is not trusted to be well formed. */
static void device_json(const sono_device *dev, sono_record *rec)
{
    enum { CAP = 64 * 1024 };
    char *buf = dev->case_end ? calloc(1, CAP) : NULL;
    if (!buf)
        return;
    if (dev->case_end(dev, buf, CAP) == 0) {
        buf[CAP - 1] = 0;
        json_t *j = json_loads(buf, JSON_REJECT_DUPLICATES, NULL);
        if (json_is_object(j))
            rec->gpu = json_incref(j);
        else
            rec->device_json_invalid = 1;
        json_decref(j);
    }
    free(buf);
}

/* The usual case: setup, load, the measured loop, counters, store, describe, teardown.
 * Returns SONO_EINTR when interrupted, else 0 or the first error (err filled). */
static int offline_case(const sono_case *c, sono_executor *k, int cold,
                        volatile sig_atomic_t *stop, sono_buf *out, sono_record *rec,
                        stage_figures *fig, sono_error *err)
{
    const sono_impl *im = c->impl->impl;
    void *st = NULL;
    double t0 = now_ns();
    int rc = im->setup(im->ctx, &c->p, &st, err);
    fig->setup_ns = now_ns() - t0;
    if (rc)
        return err->msg[0] ? rc : sono_fail(err, rc, "setup failed");
    t0 = now_ns();
    rc = im->load(st, &k->in, err);
    fig->load_ns = now_ns() - t0;
    fig->load_bytes = (double)k->in.nbytes;
    if (!rc)
        rc = sono_measure(sono_case_device(c), im->run, st, &c->cfg, cold ? evict : NULL,
                          k->evict, stop, &rec->m, err);
    if (rc == SONO_EINTR) {
        im->teardown(st);
        return SONO_EINTR;
    }
    if (!rc) {
        rec->measured = 1;
        rec->counters = count_pass(k, sono_case_device(c), im, st, &rec->m);
        t0 = now_ns();
        rc = im->store(st, out, err);
        fig->store_ns = now_ns() - t0;
        fig->store_bytes = (double)out->nbytes;
    }
    if (!rc && im->describe)
        im->describe(st, rec->describe, sizeof rec->describe);
    device_json(sono_case_device(c), rec);
    fig->workspace_bytes = im->workspace ? (double)im->workspace(st) : -1;
    im->teardown(st);
    return rc;
}

/* Issue 12, a streaming case. First the impl's own offline output into off (setup, load,
 * one run, store, untimed), then a fresh state: load binds a poisoned copy of the input,
 * and stream.c feeds it chunk by chunk, each push one sample. out ends with the streaming
 * output; the chunk latencies become time_ns's samples, so compare and reports read them
 * like any other case's. */
static int stream_case(const sono_case *c, sono_executor *k, const sono_stream_shape *ss,
                       const sono_stream_cfg *scfg, volatile sig_atomic_t *stop, sono_buf *out,
                       sono_buf *off, sono_stream_run *srun, sono_record *rec,
                       stage_figures *fig, sono_error *err)
{
    const sono_impl *im = c->impl->impl;
    void *st = NULL;
    int rc = im->setup(im->ctx, &c->p, &st, err);
    if (!rc && !(rc = im->load(st, &k->in, err)) && !(rc = im->run(st)))
        rc = im->store(st, off, err);
    if (st)
        im->teardown(st);
    st = NULL;
    if (rc)
        return err->msg[0] ? rc : sono_fail(err, rc, "%s: offline pass failed", c->impl_name);

    sono_buf work = k->in;
    work.data = NULL;
    if ((rc = sono_buf_alloc(&work, err)))
        return rc;
    memcpy(work.data, k->in.data, k->in.nbytes);
    sono_stream_poison(&work, &ss->in);
    double t0 = now_ns();
    rc = im->setup(im->ctx, &c->p, &st, err);
    fig->setup_ns = now_ns() - t0;
    if (rc) {
        sono_buf_free(&work);
        return err->msg[0] ? rc : sono_fail(err, rc, "setup failed");
    }
    t0 = now_ns();
    rc = im->load(st, &work, err);
    fig->load_ns = now_ns() - t0;
    fig->load_bytes = (double)work.nbytes;
    double w0 = now_ns();
    if (!rc)
        rc = sono_stream_measure(im, c->impl_name, st, ss, scfg, &k->in, &work, out, stop,
                                 srun, err);
    if (!rc && !(rec->m.samples = malloc((size_t)srun->nlat * sizeof(double))))
        rc = sono_fail(err, SONO_ENOMEM, "no memory for %ld samples", srun->nlat);
    if (!rc) { /* the chunk latencies, as time_ns: one push per sample */
        memcpy(rec->m.samples, srun->lat_ns, (size_t)srun->nlat * sizeof(double));
        rec->m.nsamples = srun->nlat;
        rec->m.k = 1;
        rec->m.stop = "stream";
        rec->m.elapsed_s = (now_ns() - w0) * 1e-9;
        sono_summarize(rec->m.samples, (size_t)rec->m.nsamples, &rec->m.s);
        rec->m.converged = rec->m.nsamples >= 6 && rec->m.s.ci_rel <= c->cfg.target_ci;
        rec->measured = 1;
        fig->store_bytes = (double)out->nbytes;
        if (im->describe)
            im->describe(st, rec->describe, sizeof rec->describe);
        fig->workspace_bytes = im->workspace ? (double)im->workspace(st) : -1;
    }
    if (rc != SONO_EINTR)
        device_json(sono_case_device(c), rec);
    im->teardown(st);
    sono_buf_free(&work);
    return rc;
}

/* Issue 12's property: the stream's output is the impl's own offline output, exactly where
 * the arithmetic allows. Within the op's tolerance as rel_l2 for ops checked that way;
 * ops with a check of their own (indices, a codec's sanity) run it with the offline
 * output standing in for the reference, as their tolerance means nothing else. */
static int stream_vs_offline(const sono_case *c, sono_executor *k, const sono_buf *out,
                             const sono_buf *off, const sono_stream_offline *so, int *pass,
                             char *detail, size_t n, sono_error *err)
{
    double tol = c->op->tolerance(&c->p, c->impl->impl->growth);
    *pass = so->exact || so->rel_l2 <= tol;
    if (so->exact || !c->op->check)
        return 0;
    sono_buf ref = *off;
    ref.data = NULL;
    ref.dtype = sono_dtype_wide(off->dtype);
    int rc = sono_buf_alloc(&ref, err);
    if (rc)
        return rc;
    size_t m = (size_t)sono_buf_elems(off) * (off->dtype == SONO_C64 ? 2 : 1);
    if (off->dtype == SONO_F32 || off->dtype == SONO_C64)
        for (size_t i = 0; i < m; i++)
            ((double *)ref.data)[i] = ((const float *)off->data)[i];
    else
        memcpy(ref.data, off->data, off->nbytes);
    sono_check chk = {.tol = tol};
    rc = c->op->check(&c->p, &k->in, out, &ref, tol, &chk, err);
    sono_buf_free(&ref);
    *pass = !rc && chk.pass;
    snprintf(detail, n, "%s", chk.detail);
    return rc;
}

/* The figures the cost model and the lifecycle give, as the record's metrics: plan and
 * transfer times, bytes moved, memory, the op's cost and the rates from the median (a
 * streaming case's from all its pushes, per stream). */
static void derive(const sono_case *c, int streaming, const stage_figures *f, sono_record *rec)
{
    sono_cost cost = {0};
    c->op->cost(&c->p, &cost);
    double med = rec->m.s.median, gflops = 0, gbps = 0, rtf = 0;
    if (streaming && rec->stream) { /* per stream, not per chunk: x real time from all pushes */
        double per_stream = json_number_value(json_object_get(rec->stream, "xrt"));
        double push_ns = per_stream > 0 ? rec->audio_s / per_stream * 1e9 : 0;
        gflops = push_ns > 0 ? cost.flops / push_ns : 0;
        gbps = push_ns > 0 ? cost.bytes / push_ns : 0;
        rtf = per_stream > 0 ? 1.0 / per_stream : 0;
    } else if (med > 0) {
        gflops = cost.flops / med; /* flop per ns = GFLOP/s */
        gbps = cost.bytes / med;
        rtf = rec->audio_s > 0 ? med * 1e-9 / rec->audio_s : 0;
    }
    sono_record_metric(rec, "memory.peak_rss_bytes", f->peak_rss_bytes, "B", SONO_BETTER_LOWER,
                       "the worker's peak resident set over the case");
    sono_record_metric(rec, "memory.workspace_bytes",
                       f->workspace_bytes >= 0 ? f->workspace_bytes : NAN, "B",
                       SONO_BETTER_LOWER, "what the impl allocated beyond in and out");
    sono_record_metric(rec, "setup_ns", f->setup_ns, "ns", SONO_BETTER_LOWER, "plan time");
    sono_record_metric(rec, "load_ns", f->load_ns, "ns", SONO_BETTER_LOWER, "host to device");
    sono_record_metric(rec, "store_ns", f->store_ns, "ns", SONO_BETTER_LOWER, "device to host");
    sono_record_metric(rec, "transfer_bytes.load", f->load_bytes, "B", SONO_BETTER_NONE, NULL);
    sono_record_metric(rec, "transfer_bytes.store", f->store_bytes, "B", SONO_BETTER_NONE, NULL);
    sono_record_metric(rec, "cost.flops", cost.flops, "flop", SONO_BETTER_NONE,
                       "per run, by the op's cost model");
    sono_record_metric(rec, "cost.bytes", cost.bytes, "B", SONO_BETTER_NONE,
                       "input + output, each once");
    sono_record_metric(rec, "derived.gflops", gflops, "GFLOP/s", SONO_BETTER_HIGHER, NULL);
    sono_record_metric(rec, "derived.gbps", gbps, "GB/s", SONO_BETTER_HIGHER, NULL);
    sono_record_metric(rec, "derived.rtf", rtf, "", SONO_BETTER_LOWER,
                       "time / audio duration");
    sono_record_metric(rec, "derived.x_realtime", rtf > 0 ? 1.0 / rtf : 0.0, "x",
                       SONO_BETTER_HIGHER, "audio duration / time");
}

/* Runs one case into rec. Returns SONO_EINTR when interrupted (rec is then abandoned). */
static int run_case(const sono_plan *plan, const sono_case *c, sono_executor *k,
                    volatile sig_atomic_t *stop, sono_record *rec)
{
    const sono_impl *im = c->impl ? c->impl->impl : NULL;
    sono_error err = {0};
    char why[512] = "";
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(rec->started, sizeof rec->started, "%Y-%m-%dT%H:%M:%SZ", &tm);
    rec->c = c;
    rec->input = plan->inputs[c->input].name;
    rec->device = c->impl ? sono_case_device(c)->name : NULL;
    if (c->skip[0]) {
        set_status(rec, "skip", c->skip);
        return 0;
    }
    if (im->supports(im->ctx, &c->p, why, sizeof why) != 0) {
        set_status(rec, "skip", why[0] ? why : "not supported (no reason given)");
        return 0;
    }
    sono_buf in, out;
    c->op->shapes(&c->p, &in, &out);
    int rc = 0, streaming = sono_stream_wanted(&c->p);
    sono_stream_shape ss = {0};
    sono_stream_cfg scfg = {0};
    if (streaming && !c->op->stream_shape) {
        set_status(rec, "skip", "this op has no streaming mode (no stream_shape): chunk_ms "
                   "and chunk apply to streaming ops only");
        return 0;
    }
    if (streaming && (!im->push || !im->stream_begin)) {
        set_status(rec, "skip", "this impl does not stream (no push): chunk_ms and chunk "
                   "need an impl with stream_begin and push");
        return 0;
    }
    if (streaming && ((rc = c->op->stream_shape(&c->p, &ss, &err)) ||
                      (rc = sono_stream_cfg_get(&c->p, &ss, &scfg, &err)) ||
                      (rc = sono_stream_layout_check(&ss.in, &in, "input", &err)) ||
                      (rc = sono_stream_layout_check(&ss.out, &out, "output", &err)))) {
        /* issue 11: an op may refuse to stream some params (codec.encodec's streams > 1) */
        set_status(rec, rc == SONO_EUNSUPPORTED ? "skip" : "error", err.msg);
        return 0;
    }
    rc = get_input(plan, c, k, &in, &err);
    if (rc) {
        set_status(rec, rc == SONO_EUNSUPPORTED ? "skip" : "error", err.msg);
        return 0;
    }
    snprintf(rec->input_sha256, sizeof rec->input_sha256, "%s", k->sha);
    rec->sample_rate = k->rate;
    rec->audio_s = c->op->audio_seconds ? c->op->audio_seconds(&c->p)
                                        : (double)sono_buf_elems(&k->in) / k->rate;
    if ((rc = get_ref(c, k, &out, &err))) {
        set_status(rec, "error", err.msg);
        return 0;
    }
    if ((rc = sono_buf_alloc(&out, &err))) {
        set_status(rec, "error", err.msg);
        return 0;
    }
    /* NaN-fill: an impl that writes nothing fails its check instead of passing on zeros */
    for (size_t i = 0; i < out.nbytes / sizeof(float); i++)
        ((float *)out.data)[i] = NAN;

    if (strcmp(k->pin, c->cfg.pin) != 0) { /* pin once per setting, not per case */
        sono_pin pin;
        if ((rc = sono_pin_parse(c->cfg.pin, &pin, &err)) ||
            (rc = sono_pin_apply(&pin, k->pin_desc, sizeof k->pin_desc, &err))) {
            set_status(rec, "error", err.msg);
            sono_buf_free(&out);
            return 0;
        }
        snprintf(k->pin, sizeof k->pin, "%s", c->cfg.pin);
    }
    snprintf(rec->pin, sizeof rec->pin, "%s", k->pin_desc);
    int cold = strcmp(sono_param_str(&c->p, "cache", "hot"), "cold") == 0;
    if (cold && !k->evict && (rc = sono_evict_init(&k->evict, &err))) {
        set_status(rec, "error", err.msg);
        sono_buf_free(&out);
        return 0;
    }
    reset_peak_rss();
    const sono_device *dev = sono_case_device(c);
    if (dev->case_begin)
        dev->case_begin(dev, c->id);
    sono_buf off = {0};
    sono_stream_run srun = {0};
    stage_figures fig = {.workspace_bytes = -1};
    if (streaming) {
        off = out;
        off.data = NULL;
        rc = sono_buf_alloc(&off, &err);
        for (size_t i = 0; !rc && i < off.nbytes / sizeof(float); i++)
            ((float *)off.data)[i] = NAN; /* as out: a store that writes nothing shows */
        if (!rc)
            rc = stream_case(c, k, &ss, &scfg, stop, &out, &off, &srun, rec, &fig, &err);
    } else
        rc = offline_case(c, k, cold, stop, &out, rec, &fig, &err);
    if (rc == SONO_EINTR) {
        sono_buf_free(&out);
        sono_buf_free(&off);
        return SONO_EINTR;
    }
    fig.peak_rss_bytes = peak_rss_bytes();
    if (!rc) {
        double tol = c->op->tolerance(&c->p, im->growth);
        if (c->op->check) {
            rec->check = (sono_check){.tol = tol};
            rc = c->op->check(&c->p, &k->in, &out, &k->ref, tol, &rec->check, &err);
        } else
            rc = sono_check_output(&out, &k->ref, tol, &rec->check, &err);
        rec->checked = rc == 0;
    }
    if (!rc && c->op->quality) {
        rec->quality = (sono_quality){0};
        rc = c->op->quality(&c->p, &k->in, &out, &rec->quality, &err);
        rec->has_quality = rc == 0;
    }
    sono_stream_offline so = {0};
    int so_pass = 1;
    char so_detail[200] = "";
    if (!rc && streaming && rec->measured) {
        sono_stream_compare(&out, &off, &so);
        rec->stream = sono_stream_json(&scfg, &ss, &srun, &so);
        rc = stream_vs_offline(c, k, &out, &off, &so, &so_pass, so_detail, sizeof so_detail,
                               &err);
    }
    sono_stream_run_free(&srun);
    sono_buf_free(&out);
    sono_buf_free(&off);
    if (rc) {
        set_status(rec, "error", err.msg[0] ? err.msg : "failed");
        return 0;
    }
    if (rec->measured)
        derive(c, streaming, &fig, rec);
    if (rec->check.pass && streaming && !so_pass) {
        char msg[512];
        snprintf(msg, sizeof msg, "streaming output differs from %s's own offline output: "
                 "rel_l2 %.3g, max_abs %.3g (tol %.3g)%s%s", c->impl_name, so.rel_l2,
                 so.max_abs, c->op->tolerance(&c->p, im->growth), so_detail[0] ? ": " : "",
                 so_detail);
        set_status(rec, "fail", msg);
    } else if (rec->check.pass)
        set_status(rec, "ok", NULL);
    else {
        char msg[256];
        snprintf(msg, sizeof msg, "%s: rel_l2 %.3g, max_abs %.3g (tol %.3g, x peak %.3g)",
                 rec->check.nonfinite ? "non-finite output" : "exceeds tolerance",
                 rec->check.rel_l2, rec->check.max_abs, rec->check.tol, rec->check.ref_peak);
        if (c->op->check && rec->check.detail[0]) /* an op's own check says what failed */
            snprintf(msg, sizeof msg, "check failed: %s", rec->check.detail);
        set_status(rec, "fail", msg);
    }
    return 0;
}

/* cpu/nop's run() is an empty call: its time per call is what the loop, the indirect
 * call and the clock add to every other case's figure. */
double sono_measure_overhead(const sono_reg *R)
{
    const sono_op *op = sono_op_find("nop");
    sono_error err = {0};
    const sono_impl_entry *e = op ? sono_reg_find(R, op, "cpu/nop", &err) : NULL;
    if (!e || !sono_reg_backend_of(R, e)->available)
        return 0;
    sono_params p = {0};
    sono_params_defaults(op, &p);
    sono_buf in, out;
    op->shapes(&p, &in, &out);
    void *st = NULL;
    double ns = 0;
    sono_measurement m = {0};
    sono_measure_cfg cfg = {.target_ci = 0.01, .budget_s = 0.2, .warmup_s = 0.02,
                            .min_samples = 10, .max_samples = 200};
    if (sono_buf_alloc(&in, &err) == 0) {
        memset(in.data, 0, in.nbytes);
        if (e->impl->setup(e->impl->ctx, &p, &st, &err) == 0) {
            if (e->impl->load(st, &in, &err) == 0 &&
                sono_measure(e->dev, e->impl->run, st, &cfg, NULL, NULL, NULL, &m, &err) == 0)
                ns = m.s.median;
            e->impl->teardown(st);
        }
        sono_buf_free(&in);
    }
    sono_measurement_free(&m);
    sono_params_free(&p);
    return ns;
}

int sono_execute(sono_executor *x, const sono_plan *plan, const sono_case *c,
                 volatile sig_atomic_t *stop, sono_record *rec)
{
    memset(rec, 0, sizeof *rec);
    if (run_case(plan, c, x, stop, rec) == SONO_EINTR) {
        sono_record_free(rec);
        return SONO_EINTR;
    }
    return 0;
}
