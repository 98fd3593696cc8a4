/* execute.c — runs one case in this process into its record: the executor (input,
 * reference, evictor, counters and pin kept across cases) and run_case, which takes the
 * case through stages.h's stages in order: prepare, measure, judge, derive. */
#include "execute.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "casedev.h"
#include "stages.h"

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

/* What every record says before anything runs: when, which case, input and device. */
static void record_start(const sono_plan *plan, const sono_case *c, sono_record *rec)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(rec->started, sizeof rec->started, "%Y-%m-%dT%H:%M:%SZ", &tm);
    rec->c = c;
    rec->input = plan->inputs[c->input].name;
    rec->device = c->impl ? sono_case_device(c)->name : NULL;
}

/* Runs one case into rec. Returns SONO_EINTR when interrupted (rec is then abandoned); a
 * stage's failure only becomes the case's status: "error", or prepare's "skip". */
static int run_case(const sono_plan *plan, const sono_case *c, sono_executor *k,
                    volatile sig_atomic_t *stop, sono_record *rec)
{
    sono_error err = {0};
    sono_case_run r = {.plan = plan, .c = c, .k = k, .stop = stop,
                       .fig = {.lc = {.workspace_bytes = -1}}};
    record_start(plan, c, rec);
    int rc = sono_stage_prepare(&r, rec, &err);
    if (rc) {
        sono_record_status(rec, r.verdict ? r.verdict : "error", err.msg);
        sono_case_run_free(&r);
        return 0;
    }
    rc = sono_stage_measure(&r, rec, &err);
    if (rc == SONO_EINTR) {
        sono_case_run_free(&r);
        return SONO_EINTR;
    }
    if (!rc)
        rc = sono_stage_judge(&r, rec, &err);
    if (!rc && rec->measured)
        rc = sono_stage_derive(c, r.streaming, &r.fig, rec, &err);
    sono_case_run_free(&r);
    if (rc)
        sono_record_status(rec, "error", err.msg[0] ? err.msg : "failed");
    return 0;
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
