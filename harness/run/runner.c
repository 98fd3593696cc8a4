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
static int run_in_worker(pool *P, const sono_plan *plan, const sono_case *c, int repetition,
                         volatile sig_atomic_t *stop, sono_record *rec, sono_error *err)
{
    const char *dev = c->impl ? sono_case_device(c)->name : "cpu";
    sono_worker *w = worker_for(P, dev, err);
    if (!w)
        return lost_record(plan, c, "error", err->msg, rec), 0;
    json_t *cj = sono_case_json(plan, c);
    if (cj && repetition) /* the worker lays its buffers out afresh for each */
        json_object_set_new(cj, "repetition", json_integer(repetition));
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

/* Case c's repetition r (1-based; 0: the case is not repeated) into rec, with its share
 * of the case's time budget. 0, or SONO_EINTR when stopped, or an error. */
static int run_one(pool *P, sono_executor *x, const sono_plan *plan, const sono_case *c,
                   int r, const sono_run_opts *o, sono_record *rec, sono_error *err)
{
    sono_case cc = *c;
    int reps = c->cfg.repetitions > 1 ? c->cfg.repetitions : 1;
    cc.cfg.budget_s /= reps; /* R repetitions cost what one measurement did */
    cc.cfg.min_time_s /= reps;
    int rc = o->worker_exe ? run_in_worker(P, plan, &cc, r, o->stop, rec, err)
                           : sono_execute(x, plan, &cc, o->stop, rec);
    if (!rc) {
        rec->c = c; /* the plan's case, not the copy on this stack */
        rec->repetition = r;
    }
    return rc;
}

/* A finished case: the roofline, the counts, then every sink in order (the results file
 * first: a completed case must never be lost). */
static int emit(const sono_run_opts *o, const sono_run_info *run, sono_record *rec,
                sono_run_counts *n, sono_error *err)
{
    int rc = 0;
    if (o->cal)
        sono_derive_roofline(rec, rec->c, o->cal);
    count(n, rec->status);
    for (int s = 0; s < o->nsinks && !rc; s++)
        if (o->sinks[s]->record)
            rc = o->sinks[s]->record(o->sinks[s], run, rec, err);
    return rc;
}

static void start(const sono_run_opts *o, const sono_run_info *run, int i)
{
    for (int s = 0; s < o->nsinks; s++)
        if (o->sinks[s]->case_start)
            o->sinks[s]->case_start(o->sinks[s], run, i);
}

/* One pass over the plan in order, each case once: the plain run. */
static int run_once(pool *P, sono_executor *x, const sono_plan *plan, const sono_run_opts *o,
                    const sono_run_info *run, sono_run_counts *n, sono_error *err)
{
    int rc = 0;
    for (int i = 0; i < plan->ncases && !rc; i++) {
        if (o->stop && *o->stop)
            return SONO_EINTR;
        start(o, run, i);
        sono_record rec;
        if ((rc = run_one(P, x, plan, &plan->cases[i], 0, o, &rec, err)))
            break; /* stopped: the case is abandoned, no record */
        rc = emit(o, run, &rec, n, err);
        sono_record_free(&rec);
    }
    return rc;
}

/* issue 22: R rounds over the plan (RMIT: round-robin, so slow drift spreads over every
 * case instead of landing on one), each round in fresh workers; a case's record comes
 * after its last repetition, or after the first that did not end ok (a crash is not
 * retried R times). Each repetition goes to the sinks' repetition hook as it ends. */
static int run_rounds(pool *P, sono_executor **x, const sono_plan *plan,
                      const sono_run_opts *o, const sono_run_info *run, int rounds,
                      sono_run_counts *n, sono_error *err)
{
    sono_record *reps = calloc((size_t)plan->ncases * (size_t)rounds, sizeof *reps);
    int *done = calloc((size_t)plan->ncases, sizeof *done), rc = 0;
    if (!reps || !done)
        rc = sono_fail(err, SONO_ENOMEM, "no memory for %d x %d repetitions", plan->ncases,
                       rounds);
    for (int r = 0; r < rounds && !rc; r++) {
        for (int i = 0; i < plan->ncases && !rc; i++) {
            const sono_case *c = &plan->cases[i];
            int want = c->cfg.repetitions > 1 ? c->cfg.repetitions : 1;
            if (done[i] || r >= want)
                continue;
            if (o->stop && *o->stop) {
                rc = SONO_EINTR;
                break;
            }
            start(o, run, i);
            sono_record *rec = &reps[(size_t)i * (size_t)rounds + (size_t)r];
            if ((rc = run_one(P, *x, plan, c, want > 1 ? r + 1 : 0, o, rec, err)))
                break;
            for (int s = 0; s < o->nsinks && !rc && want > 1; s++)
                if (o->sinks[s]->repetition)
                    rc = o->sinks[s]->repetition(o->sinks[s], run, rec, err);
            int last = r + 1 == want || strcmp(rec->status, "ok") != 0;
            if (rc || !last)
                continue;
            done[i] = 1;
            sono_record agg;
            if (want == 1) /* a case not repeated keeps its one record as it is */
                rc = emit(o, run, rec, n, err);
            else if (!(rc = sono_record_aggregate(rec - r, r + 1, &agg, err))) {
                rc = emit(o, run, &agg, n, err);
                sono_record_free(&agg);
            }
            for (int k = 0; k <= r; k++)
                sono_record_free(rec - k);
        }
        /* fresh processes (and in-process, fresh caches) for the next round */
        for (int w = 0; w < P->n; w++)
            sono_worker_stop(&P->w[w]);
        if (*x && r + 1 < rounds) {
            sono_executor_free(*x);
            if (!(*x = sono_executor_new()) && !rc)
                rc = sono_fail(err, SONO_ENOMEM, "out of memory");
        }
    }
    for (size_t k = 0; reps && k < (size_t)plan->ncases * (size_t)rounds; k++)
        sono_record_free(&reps[k]);
    free(reps);
    free(done);
    return rc;
}

int sono_run_plan(const sono_plan *plan, const sono_run_opts *o, sono_run_counts *n,
                  sono_error *err)
{
    pool P = {.exe = o->worker_exe};
    sono_executor *x = o->worker_exe ? NULL : sono_executor_new();
    sono_run_info run = {.plan = plan};
    int rc = 0, rounds = 1;
    clock_gettime(CLOCK_MONOTONIC, &run.t0);
    memset(n, 0, sizeof *n);
    if (!o->worker_exe && !x)
        return sono_fail(err, SONO_ENOMEM, "out of memory");
    for (int i = 0; i < plan->ncases; i++)
        rounds = plan->cases[i].cfg.repetitions > rounds ? plan->cases[i].cfg.repetitions
                                                         : rounds;
    for (int s = 0; s < o->nsinks && !rc; s++)
        if (o->sinks[s]->begin)
            rc = o->sinks[s]->begin(o->sinks[s], &run, err);
    if (!rc)
        rc = rounds > 1 ? run_rounds(&P, &x, plan, o, &run, rounds, n, err)
                        : run_once(&P, x, plan, o, &run, n, err);
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
