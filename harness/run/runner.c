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
#include "refcache.h"
#include "roofline.h"
#include "worker.h"

#define MAX_WORKERS 8

typedef struct pool {
    const char *exe;
    const char *const *env; /* VAR=VALUE for these workers only, or NULL */
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
    if (P->w[i].pid <= 0 && sono_worker_spawn(&P->w[i], P->exe, P->env, err))
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
                : strcmp(s, "xfail") == 0   ? &n->xfail
                : strcmp(s, "xpass") == 0   ? &n->xpass
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
    int rc = P->exe ? run_in_worker(P, plan, &cc, r, o->stop, rec, err)
                    : sono_execute(x, plan, &cc, o->stop, rec);
    if (!rc) {
        rec->c = c; /* the plan's case, not the copy on this stack */
        rec->repetition = r;
    }
    return rc;
}

/* One side of the run: its workers, its sinks and counts, and the repetitions waiting
 * for their case's last. A run has one; `harness ab` (issue 22) two, one per build, so
 * that both see the same machine, case by case, instead of one whole run each. */
typedef struct side {
    pool P;
    sono_sink **sinks;
    int nsinks;
    sono_run_counts *n;
    sono_record *reps;  /* [case][round] */
    int *done;          /* case i is finished: its record is in final[i] or went out */
    sono_record *final; /* [case]: finished records waiting for the cases before them */
    int next;           /* the first case whose record has not gone out */
} side;

/* A finished case: the roofline, the counts, then every sink in order (the results file
 * first: a completed case must never be lost). */
static int emit(const side *S, const sono_run_opts *o, const sono_run_info *run,
                sono_record *rec, sono_error *err)
{
    int rc = 0;
    if (o->cal)
        sono_derive_roofline(rec, rec->c, o->cal);
    sono_record_expect_fail(rec);
    count(S->n, rec->status);
    for (int s = 0; s < S->nsinks && !rc; s++)
        if (S->sinks[s]->record)
            rc = S->sinks[s]->record(S->sinks[s], run, rec, err);
    return rc;
}

/* Round r (0-based) of case i on side S: a case's record goes out after its last
 * repetition, or after the first that did not end ok (a crash is not retried R times);
 * each repetition goes to the sinks' repetition hook as it ends. 0, SONO_EINTR when
 * stopped (the case is abandoned, no record), or a sink's error. */
/* Records go out in plan order, so a results file reads the same whatever the rounds
 * (a case that skipped in the first round is finished long before the others; fleet
 * shards merge by it): every finished case from S->next on, up to the first unfinished. */
static int flush(side *S, const sono_run_opts *o, const sono_run_info *run, int ncases,
                 sono_error *err)
{
    int rc = 0;
    while (!rc && S->next < ncases && S->done[S->next]) {
        rc = emit(S, o, run, &S->final[S->next], err);
        sono_record_free(&S->final[S->next++]);
    }
    return rc;
}

static int step(side *S, sono_executor *x, const sono_plan *plan, const sono_run_opts *o,
                const sono_run_info *run, int i, int r, int rounds, sono_error *err)
{
    const sono_case *c = &plan->cases[i];
    int want = c->cfg.repetitions > 1 ? c->cfg.repetitions : 1, rc;
    if (S->done[i] || r >= want)
        return 0;
    if (o->stop && *o->stop)
        return SONO_EINTR;
    for (int s = 0; s < S->nsinks; s++)
        if (S->sinks[s]->case_start)
            S->sinks[s]->case_start(S->sinks[s], run, i);
    sono_record *rec = &S->reps[(size_t)i * (size_t)rounds + (size_t)r];
    if ((rc = run_one(&S->P, x, plan, c, want > 1 ? r + 1 : 0, o, rec, err)))
        return rc;
    for (int s = 0; s < S->nsinks && !rc && want > 1; s++)
        if (S->sinks[s]->repetition)
            rc = S->sinks[s]->repetition(S->sinks[s], run, rec, err);
    if (rc || (r + 1 < want && strcmp(rec->status, "ok") == 0))
        return rc;
    S->done[i] = 1;
    if (want == 1) { /* a case not repeated keeps its one record as it is */
        S->final[i] = *rec;
        memset(rec, 0, sizeof *rec);
    } else
        rc = sono_record_aggregate(rec - r, r + 1, &S->final[i], err);
    for (int k = 0; k <= r; k++)
        sono_record_free(rec - k);
    return rc ? rc : flush(S, o, run, plan->ncases, err);
}

/* issue 22: R rounds over the plan (RMIT: round-robin, so slow drift spreads over every
 * case instead of landing on one), each round in fresh workers; one round is the plain
 * run. With two sides each case runs on both back to back, and which goes first flips
 * from case to case and round to round: neither side always runs in the other's wake
 * (its caches, its clock ramp), and a burst of noise lands on both. */
static int run_rounds(side *S, int nsides, sono_executor **x, const sono_plan *plan,
                      const sono_run_opts *o, const sono_run_info *run, int rounds,
                      sono_error *err)
{
    int rc = 0;
    for (int r = 0; r < rounds && !rc; r++) {
        for (int i = 0; i < plan->ncases && !rc; i++)
            for (int k = 0; k < nsides && !rc; k++)
                rc = step(&S[(k + i + r) % nsides], *x, plan, o, run, i, r, rounds, err);
        /* fresh processes (and in-process, fresh caches) for the next round */
        for (int k = 0; k < nsides; k++)
            for (int w = 0; w < S[k].P.n; w++)
                sono_worker_stop(&S[k].P.w[w]);
        if (*x && r + 1 < rounds) {
            sono_executor_free(*x);
            if (!(*x = sono_executor_new()) && !rc)
                rc = sono_fail(err, SONO_ENOMEM, "out of memory");
        }
    }
    /* stopped part-way: a finished case waiting behind an unfinished one is still a
     * completed case, and is never lost (a sink's own error stops this too) */
    for (int k = 0; k < nsides && rc == SONO_EINTR; k++)
        for (int i = S[k].next; i < plan->ncases; i++)
            if (S[k].done[i] && S[k].next <= i) {
                sono_error e = {0};
                if (emit(&S[k], o, run, &S[k].final[i], &e))
                    break;
                sono_record_free(&S[k].final[i]);
            }
    return rc;
}

int sono_run_plan(const sono_plan *plan, const sono_run_opts *o, sono_run_counts *n,
                  sono_error *err)
{
    side S[2] = {{.P = {.exe = o->worker_exe, .env = o->worker_env}, .sinks = o->sinks,
                  .nsinks = o->nsinks, .n = n}};
    int nsides = 1, rc = 0, rounds = 1;
    if (o->second) {
        if (!o->worker_exe || !o->second->worker_exe)
            return sono_fail(err, SONO_EINVAL, "two sides need a worker executable each");
        S[1] = (side){.P = {.exe = o->second->worker_exe, .env = o->second->worker_env},
                      .sinks = o->second->sinks, .nsinks = o->second->nsinks,
                      .n = o->second->counts};
        nsides = 2;
    }
    sono_executor *x = o->worker_exe ? NULL : sono_executor_new();
    sono_run_info run = {.plan = plan, .quick_cal = sono_calibration_quick(o->cal)};
    clock_gettime(CLOCK_MONOTONIC, &run.t0);
    if (!o->worker_exe && !x)
        return sono_fail(err, SONO_ENOMEM, "out of memory");
    for (int i = 0; i < plan->ncases; i++)
        rounds = plan->cases[i].cfg.repetitions > rounds ? plan->cases[i].cfg.repetitions
                                                         : rounds;
    size_t slots = (size_t)(plan->ncases ? plan->ncases : 1);
    for (int k = 0; k < nsides; k++) {
        memset(S[k].n, 0, sizeof *S[k].n);
        S[k].reps = calloc(slots * (size_t)rounds, sizeof *S[k].reps);
        S[k].done = calloc(slots, sizeof *S[k].done);
        S[k].final = calloc(slots, sizeof *S[k].final);
        if ((!S[k].reps || !S[k].done || !S[k].final) && !rc)
            rc = sono_fail(err, SONO_ENOMEM, "no memory for %d x %d repetitions",
                           plan->ncases, rounds);
    }
    for (int k = 0; k < nsides; k++)
        for (int s = 0; s < S[k].nsinks && !rc; s++)
            if (S[k].sinks[s]->begin)
                rc = S[k].sinks[s]->begin(S[k].sinks[s], &run, err);
    /* later rounds read the references the first one computed (refcache.h) */
    char refdir[512] = "";
    if (!rc && rounds > 1)
        rc = sono_refcache_open(refdir, sizeof refdir, err);
    if (!rc)
        rc = run_rounds(S, nsides, &x, plan, o, &run, rounds, err);
    sono_executor_free(x);
    for (int k = 0; k < nsides; k++) {
        for (int i = 0; i < S[k].P.n; i++)
            sono_worker_stop(&S[k].P.w[i]);
        if (k == nsides - 1) /* every worker is gone */
            sono_refcache_close(refdir);
        for (size_t j = 0; S[k].reps && j < slots * (size_t)rounds; j++)
            sono_record_free(&S[k].reps[j]);
        free(S[k].reps);
        for (size_t j = 0; S[k].final && j < slots; j++)
            sono_record_free(&S[k].final[j]);
        free(S[k].final);
        free(S[k].done);
        S[k].n->interrupted = rc == SONO_EINTR;
        for (int s = 0; s < S[k].nsinks; s++) {
            sono_error e = {0};
            if (S[k].sinks[s]->end &&
                S[k].sinks[s]->end(S[k].sinks[s], &run, S[k].n, rc != 0, &e) && !rc)
                rc = sono_fail(err, e.code ? e.code : SONO_EIO, "%s", e.msg);
        }
    }
    return rc;
}
