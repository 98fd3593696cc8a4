/* stage_judge.c — a case's verdict on its output: the op's own check or the generic one
 * against the float64 reference, the op's quality figures, and for a stream, the stream
 * against the impl's own offline output (issue 12). Sets the record's ok or fail. */
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "check.h"
#include "stages.h"

/* What the stream-vs-offline comparison found, for the verdict's message. */
typedef struct stream_judgement {
    sono_stream_offline so;
    int pass;
    char detail[200];
} stream_judgement;

/* Issue 12's property: the stream's output is the impl's own offline output, exactly where
 * the arithmetic allows. Within the op's tolerance as rel_l2 for ops checked that way;
 * ops with a check of their own (indices, a codec's sanity) run it with the offline
 * output standing in for the reference, as their tolerance means nothing else. */
static int stream_vs_offline(const sono_case *c, sono_executor *k, const sono_buf *out,
                             const sono_buf *off, stream_judgement *j, sono_error *err)
{
    double tol = c->op->tolerance(&c->p, c->impl->impl->growth);
    j->pass = j->so.exact || j->so.rel_l2 <= tol;
    if (j->so.exact || !c->op->check)
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
    j->pass = !rc && chk.pass;
    snprintf(j->detail, sizeof j->detail, "%s", chk.detail);
    return rc;
}

/* ok, or fail with what failed: the check first, then a stream that left its offline
 * output. */
static void verdict(const sono_case *c, int streaming, const stream_judgement *j,
                    sono_record *rec)
{
    if (rec->check.pass && streaming && !j->pass) {
        char msg[512];
        snprintf(msg, sizeof msg, "streaming output differs from %s's own offline output: "
                 "rel_l2 %.3g, max_abs %.3g (tol %.3g)%s%s", c->impl_name, j->so.rel_l2,
                 j->so.max_abs, c->op->tolerance(&c->p, c->impl->impl->growth),
                 j->detail[0] ? ": " : "", j->detail);
        sono_record_status(rec, "fail", msg);
    } else if (rec->check.pass)
        sono_record_status(rec, "ok", NULL);
    else {
        char msg[256];
        snprintf(msg, sizeof msg, "%s: rel_l2 %.3g, max_abs %.3g (tol %.3g, x peak %.3g)",
                 rec->check.nonfinite ? "non-finite output" : "exceeds tolerance",
                 rec->check.rel_l2, rec->check.max_abs, rec->check.tol, rec->check.ref_peak);
        if (c->op->check && rec->check.detail[0]) /* an op's own check says what failed */
            snprintf(msg, sizeof msg, "check failed: %s", rec->check.detail);
        sono_record_status(rec, "fail", msg);
    }
}

int sono_stage_judge(sono_case_run *r, sono_record *rec, sono_error *err)
{
    const sono_case *c = r->c;
    sono_executor *k = r->k;
    double tol = c->op->tolerance(&c->p, c->impl->impl->growth);
    int rc;
    if (c->op->check) {
        rec->check = (sono_check){.tol = tol};
        rc = c->op->check(&c->p, &k->in, &r->out, &k->ref, tol, &rec->check, err);
    } else
        rc = sono_check_output(&r->out, &k->ref, tol, &rec->check, err);
    rec->checked = rc == 0;
    if (!rc && c->op->quality) {
        rec->quality = (sono_quality){0};
        rc = c->op->quality(&c->p, &k->in, &r->out, &rec->quality, err);
        rec->has_quality = rc == 0;
    }
    stream_judgement j = {.pass = 1};
    if (!rc && r->streaming && rec->measured) {
        sono_stream_compare(&r->out, &r->off, &j.so);
        rec->stream = sono_stream_json(&r->scfg, &r->ss, &r->srun, &j.so);
        rc = stream_vs_offline(c, k, &r->out, &r->off, &j, err);
    }
    if (!rc)
        verdict(c, r->streaming, &j, rec);
    return rc;
}
