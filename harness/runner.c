/* runner.c — the run loop on the runner's side. Cases go to one worker per device, in
 * plan order; a worker that dies or overruns its case's timeout is reaped and replaced
 * for the next case, and the case gets a crash or timeout record built here. */
#include "runner.h"

#include <string.h>
#include <time.h>
#include <unistd.h>

#include "casedev.h"
#include "casejson.h"
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
static json_t *lost_record(const sono_plan *plan, const sono_case *c, const char *status,
                           const char *why)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:o, s:{s:s}, s:s, s:s}", "id", c->id, "op",
                     c->op->name, "impl", c->impl_name, "device",
                     c->impl ? sono_case_device(c)->name : "", "params", sono_params_json(&c->p),
                     "input", "name", plan->inputs[c->input].name, "status", status,
                     "message", why);
}

static json_t *run_in_worker(pool *P, const sono_plan *plan, const sono_case *c,
                             volatile sig_atomic_t *stop, int *interrupted, sono_error *err)
{
    const char *dev = c->impl ? sono_case_device(c)->name : "cpu";
    sono_worker *w = worker_for(P, dev, err);
    if (!w)
        return lost_record(plan, c, "error", err->msg);
    json_t *cj = sono_case_json(plan, c);
    char *line = cj ? json_dumps(cj, JSON_COMPACT | JSON_REAL_PRECISION(17)) : NULL;
    json_decref(cj);
    if (!line)
        return lost_record(plan, c, "error", "out of memory");
    size_t len = strlen(line);
    char *nl = realloc(line, len + 2);
    if (!nl) {
        free(line);
        return lost_record(plan, c, "error", "out of memory");
    }
    line = nl;
    memcpy(line + len, "\n", 2);
    json_t *rec = NULL;
    char why[512] = "";
    int rc = sono_worker_call(w, line, c->cfg.timeout_s, stop, &rec, why, sizeof why);
    if (rc == SONO_WORKER_DEAD && (w = worker_for(P, dev, err))) /* died idle: once more */
        rc = sono_worker_call(w, line, c->cfg.timeout_s, stop, &rec, why, sizeof why);
    free(line);
    if (rc == SONO_EINTR || (rc != SONO_WORKER_OK && stop && *stop)) {
        /* a SIGTERM to the process group may reach the worker before we look at stop:
         * its death is then the user's stop, not the case's crash */
        *interrupted = 1;
        return NULL;
    }
    if (rc == SONO_WORKER_DEAD)
        return lost_record(plan, c, "error", why[0] ? why : err->msg);
    if (rc == SONO_WORKER_CRASH)
        return lost_record(plan, c, "crash", why);
    if (rc == SONO_WORKER_TIMEOUT)
        return lost_record(plan, c, "timeout", why);
    if (rc)
        return lost_record(plan, c, "error", "worker protocol error");
    /* the answer must be this case's record: anything an impl wrote to the pipe is not */
    const char *id = json_string_value(json_object_get(rec, "id"));
    const char *st = json_string_value(json_object_get(rec, "status"));
    if (!id || strcmp(id, c->id) != 0 || !st) {
        json_decref(rec);
        sono_worker_stop(w);
        return lost_record(plan, c, "error", "worker answered with another case's record or "
                           "garbage (did the impl write to fd 4?); worker replaced");
    }
    return rec;
}

/* Percent of the roofline: the attained rate against min(peak, AI x bandwidth) for the
 * thread count the case used, from this host's calibration; a case on a non-cpu device
 * against that device's own entry (issue 10). */
static void add_roofline(json_t *rec, const sono_case *c, const sono_calibration *cal);

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
    int rc = 0;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    memset(n, 0, sizeof *n);
    if (!o->worker_exe && !x)
        return sono_fail(err, SONO_ENOMEM, "out of memory");
    for (int i = 0; i < plan->ncases && !rc; i++) {
        const sono_case *c = &plan->cases[i];
        if (o->stop && *o->stop) {
            rc = SONO_EINTR;
            break;
        }
        if (o->progress)
            sono_progress_live(o->progress, i, plan->ncases, &t0, c->id);
        int interrupted = 0;
        sono_error werr = {0};
        json_t *rec = o->worker_exe ? run_in_worker(&P, plan, c, o->stop, &interrupted, &werr)
                                    : sono_execute(x, plan, c, o->stop);
        if (!rec) {
            /* no record: stopped, or one could not even be built (out of memory) */
            rc = o->stop && *o->stop ? SONO_EINTR
                                     : sono_fail(err, SONO_ENOMEM, "cannot build the record "
                                                 "of %s", c->id);
            break;
        }
        if (o->cal)
            add_roofline(rec, c, o->cal);
        const char *status = json_string_value(json_object_get(rec, "status"));
        count(n, status ? status : "error");
        if (o->progress)
            sono_progress_done(o->progress, i + 1, plan->ncases, &t0, c, rec);
        if (o->results) /* the file first: a completed case must never be lost */
            rc = sono_results_add(o->results, rec, err);
        if (!rc && o->table && sono_table_add(o->table, c, rec))
            rc = sono_fail(err, SONO_ENOMEM, "out of memory");
        json_decref(rec);
    }
    for (int i = 0; i < P.n; i++)
        sono_worker_stop(&P.w[i]);
    sono_executor_free(x);
    n->interrupted = rc == SONO_EINTR;
    return rc;
}

static void add_roofline(json_t *rec, const sono_case *c, const sono_calibration *cal)
{
    json_t *derived = json_object_get(rec, "derived"), *cost = json_object_get(rec, "cost");
    double gflops = json_number_value(json_object_get(derived, "gflops"));
    double flops = json_number_value(json_object_get(cost, "flops"));
    double bytes = json_number_value(json_object_get(cost, "bytes"));
    int threads = (int)sono_param_int(&c->p, "threads", 1);
    const sono_device *dev = c->impl ? sono_case_device(c) : NULL;
    double bound = dev && !sono_device_on_cpu(dev)
                       ? sono_roofline_bound_device(cal, dev->name, flops, bytes)
                       : sono_roofline_bound_gflops(cal, threads, flops, bytes);
    if (!derived || bound <= 0 || gflops <= 0)
        return;
    json_object_set_new(derived, "roofline_bound_gflops", json_real(bound));
    json_object_set_new(derived, "roofline_pct", json_real(100.0 * gflops / bound));
}
