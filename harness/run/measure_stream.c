/* measure_stream.c — a streaming case (issue 12): the impl's own offline output first
 * (one untimed run through the lifecycle), then a fresh state whose load binds a poisoned
 * copy of the input, fed chunk by chunk by stream.c, each push one sample. */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "casedev.h"
#include "stages.h"

typedef struct stream_ctx {
    sono_case_run *r;
    sono_record *rec;
    sono_buf *work; /* the poisoned copy load bound */
} stream_ctx;

/* The chunk latencies become time_ns's samples, one push per sample, so compare and
 * reports read them like any other case's. */
static int samples_from_pushes(sono_case_run *r, sono_record *rec, double w0, sono_error *err)
{
    const sono_stream_run *s = &r->srun;
    if (!(rec->m.samples = malloc((size_t)s->nlat * sizeof(double))))
        return sono_fail(err, SONO_ENOMEM, "no memory for %ld samples", s->nlat);
    memcpy(rec->m.samples, s->lat_ns, (size_t)s->nlat * sizeof(double));
    rec->m.nsamples = s->nlat;
    rec->m.k = 1;
    rec->m.stop = "stream";
    rec->m.elapsed_s = (sono_now_ns() - w0) * 1e-9;
    sono_summarize(rec->m.samples, (size_t)rec->m.nsamples, &rec->m.s);
    rec->m.converged = rec->m.nsamples >= 6 && rec->m.s.ci_rel <= r->c->cfg.target_ci;
    rec->measured = 1;
    return 0;
}

/* The lifecycle's measure callback: the streams, pushed into r->out (no store: push has
 * written every output step by the last chunk). */
static int stream_pass(void *ctx, void *st, sono_error *err)
{
    stream_ctx *s = ctx;
    sono_case_run *r = s->r;
    double w0 = sono_now_ns();
    int rc = sono_stream_measure(r->c->impl->impl, r->c->impl_name, st, &r->ss, &r->scfg,
                                 &r->k->in, s->work, &r->out, r->stop, &r->srun, err);
    return rc ? rc : samples_from_pushes(r, s->rec, w0, err);
}

/* The impl's own offline output into r->off: setup, load, one run, store, untimed. */
static int offline_pass(sono_case_run *r, sono_error *err)
{
    const sono_case *c = r->c;
    sono_lifecycle lc = {.im = c->impl->impl, .p = &c->p, .in = &r->k->in, .out = &r->off,
                         .runs = 1};
    int rc = sono_lifecycle_run(&lc, err);
    if (rc && !err->msg[0])
        return sono_fail(err, rc, "%s: offline pass failed", c->impl_name);
    return rc;
}

int sono_measure_stream(sono_case_run *r, sono_record *rec, sono_error *err)
{
    const sono_case *c = r->c;
    int rc = offline_pass(r, err);
    if (rc)
        return rc;
    sono_buf work = r->k->in;
    work.data = NULL;
    if ((rc = sono_buf_alloc(&work, err)))
        return rc;
    memcpy(work.data, r->k->in.data, r->k->in.nbytes);
    sono_stream_poison(&work, &r->ss.in);
    stream_ctx s = {r, rec, &work};
    sono_lifecycle lc = {.im = c->impl->impl, .p = &c->p, .in = &work, .measure = stream_pass,
                         .measure_ctx = &s, .dev = sono_case_device(c),
                         .describe = rec->describe, .describe_n = sizeof rec->describe,
                         .measured = rec->measured_text, .measured_n = sizeof rec->measured_text};
    rc = sono_lifecycle_run(&lc, err);
    r->fig.lc = lc.fig;
    if (!rc) /* what push wrote, in place of a store */
        r->fig.lc.store_bytes = (double)r->out.nbytes;
    rec->gpu = lc.gpu;
    rec->device_json_invalid = lc.gpu_invalid;
    sono_buf_free(&work);
    if (rc && lc.failed == SONO_STEP_SETUP && !err->msg[0])
        return sono_fail(err, rc, "setup failed");
    return rc;
}
