/* runner.c — the run loop on the runner's side. Cases go to one worker per device, in
 * plan order; a worker that dies or overruns its case's timeout is reaped and replaced
 * for the next case, and the case gets a crash or timeout record built here. Each record
 * comes back typed (record_from_json), gains the roofline, and goes to every sink. */
#include "runner.h"

#include <string.h>
#include <time.h>
#include <unistd.h>

#include "casedev.h"
#include "casejson.h"
#include "roofline.h"
#include "worker.h"

#define MAX_WORKERS 8

typedef struct pool {
    const char *exe;
    char dev[MAX_WORKERS][64];
    sono_worker w[MAX_WORKERS];
    int n;
} pool;

static sono_worker *worker_for(pool *P, const char *dev, sono_error *err)
{
    int i = 0;
    while (i < P->n && strcmp(P->dev[i], dev) != 0)
        i++;
    if (i == P->n) {
        if (P->n == MAX_WORKERS) {
            sono_fail(err, SONO_EINTERNAL, "more than %d devices", MAX_WORKERS);
            return NULL;
        }
        snprintf(P->dev[P->n++], sizeof P->dev[0], "%s", dev);
    }
    if (P->w[i].pid <= 0 && sono_worker_spawn(&P->w[i], P->exe, err))
        return NULL;
    return &P->w[i];
}

/* A record for a case whose worker never answered: what the runner knows of it. */
static void lost_record(const sono_plan *plan, const sono_case *c, const char *status,
                        const char *why, sono_record *rec)
{
    memset(rec, 0, sizeof *rec);
    rec->c = c;
    rec->device = c->impl ? sono_case_device(c)->name : "";
    rec->input = plan->inputs[c->input].name;
    sono_record_status(rec, status, why);
}

/* Runs c in its device's worker into rec; 0, or SONO_EINTR when the user stopped it. */
static int run_in_worker(pool *P, const sono_plan *plan, const sono_case *c,
                         volatile sig_atomic_t *stop, sono_record *rec, sono_error *err)
{
    const char *dev = c->impl ? sono_case_device(c)->name : "cpu";
    sono_worker *w = worker_for(P, dev, err);
    if (!w)
        return lost_record(plan, c, "error", err->msg, rec), 0;
    json_t *cj = sono_case_json(plan, c);
    char *line = cj ? json_dumps(cj, JSON_COMPACT | JSON_REAL_PRECISION(17)) : NULL;
    json_decref(cj);
    if (!line)
        return lost_record(plan, c, "error", "out of memory", rec), 0;
    size_t len = strlen(line);
    char *nl = realloc(line, len + 2);
    if (!nl) {
        free(line);
        return lost_record(plan, c, "error", "out of memory", rec), 0;
    }
    line = nl;
    memcpy(line + len, "\n", 2);
    json_t *j = NULL;
    char why[512] = "";
    int rc = sono_worker_call(w, line, c->cfg.timeout_s, stop, &j, why, sizeof why);
    if (rc == SONO_WORKER_DEAD && (w = worker_for(P, dev, err))) /* died idle: once more */
        rc = sono_worker_call(w, line, c->cfg.timeout_s, stop, &j, why, sizeof why);
    free(line);
    if (rc == SONO_EINTR || (rc != SONO_WORKER_OK && stop && *stop))
        /* a SIGTERM to the process group may reach the worker before we look at stop:
         * its death is then the user's stop, not the case's crash */
        return SONO_EINTR;
    if (rc == SONO_WORKER_DEAD)
        return lost_record(plan, c, "error", why[0] ? why : err->msg, rec), 0;
    if (rc == SONO_WORKER_CRASH)
        return lost_record(plan, c, "crash", why, rec), 0;
    if (rc == SONO_WORKER_TIMEOUT)
        return lost_record(plan, c, "timeout", why, rec), 0;
    if (rc)
        return lost_record(plan, c, "error", "worker protocol error", rec), 0;
    /* the answer must be this case's record: anything an impl wrote to the pipe is not */
    sono_error perr = {0};
    rc = sono_record_from_json(j, c, plan->inputs[c->input].name, rec, &perr);
    json_decref(j);
    if (rc) {
        sono_worker_stop(w);
        lost_record(plan, c, "error", "worker answered with another case's record or "
                    "garbage (did the impl write to fd 4?); worker replaced", rec);
    }
    return 0;
}

static void count(sono_run_counts *n, const char *s)
{
    int *slot = strcmp(s, "ok") == 0        ? &n->ok
                : strcmp(s, "fail") == 0    ? &n->fail
                : strcmp(s, "skip") == 0    ? &n->skip
                : strcmp(s, "crash") == 0   ? &n->crash
                : strcmp(s, "timeout") == 0 ? &n->timeout
                                            : &n->error;
    (*slot)++;
}

int sono_run_plan(const sono_plan *plan, const sono_run_opts *o, sono_run_counts *n,
                  sono_error *err)
{
    pool P = {.exe = o->worker_exe};
    sono_executor *x = o->worker_exe ? NULL : sono_executor_new();
    sono_run_info run = {.plan = plan};
    int rc = 0;
    clock_gettime(CLOCK_MONOTONIC, &run.t0);
    memset(n, 0, sizeof *n);
    if (!o->worker_exe && !x)
        return sono_fail(err, SONO_ENOMEM, "out of memory");
    for (int s = 0; s < o->nsinks && !rc; s++)
        if (o->sinks[s]->begin)
            rc = o->sinks[s]->begin(o->sinks[s], &run, err);
    for (int i = 0; i < plan->ncases && !rc; i++) {
        const sono_case *c = &plan->cases[i];
        if (o->stop && *o->stop) {
            rc = SONO_EINTR;
            break;
        }
        for (int s = 0; s < o->nsinks; s++)
            if (o->sinks[s]->case_start)
                o->sinks[s]->case_start(o->sinks[s], &run, i);
        sono_record rec;
        rc = o->worker_exe ? run_in_worker(&P, plan, c, o->stop, &rec, err)
                           : sono_execute(x, plan, c, o->stop, &rec);
        if (rc) /* stopped: the case is abandoned, no record */
            break;
        if (o->cal)
            sono_derive_roofline(&rec, c, o->cal);
        count(n, rec.status);
        /* in order: the results file first, a completed case must never be lost */
        for (int s = 0; s < o->nsinks && !rc; s++)
            if (o->sinks[s]->record)
                rc = o->sinks[s]->record(o->sinks[s], &run, &rec, err);
        sono_record_free(&rec);
    }
    for (int i = 0; i < P.n; i++)
        sono_worker_stop(&P.w[i]);
    sono_executor_free(x);
    n->interrupted = rc == SONO_EINTR;
    for (int s = 0; s < o->nsinks; s++) {
        sono_error e = {0};
        if (o->sinks[s]->end && o->sinks[s]->end(o->sinks[s], &run, n, rc != 0, &e) && !rc)
            rc = sono_fail(err, e.code ? e.code : SONO_EIO, "%s", e.msg);
    }
    return rc;
}
