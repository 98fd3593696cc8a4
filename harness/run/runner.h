/* runner.h — runs a plan: hands each case to a worker process of its device (or runs it
 * here when no worker executable is given), turns a worker that crashed or hung into that
 * case's crash or timeout record, and passes every record to the sinks at once. */
#ifndef SONO_RUNNER_H
#define SONO_RUNNER_H

#include <signal.h>
#include <stdio.h>

#include "buf.h"
#include "calibration.h"
#include "execute.h"
#include "registry.h"
#include "results.h"
#include "sink.h"
#include "suite.h"

/* issue 22, `harness ab`: a second build measured beside the first, case by case. */
typedef struct sono_run_side {
    const char *worker_exe;        /* that build's harness executable (required) */
    const char *const *worker_env; /* VAR=VALUE for its workers only, NULL-ended; or NULL */
    sono_sink **sinks;             /* its records (a results file of its own) */
    int nsinks;
    sono_run_counts *counts;       /* filled like sono_run_plan's n */
} sono_run_side;

typedef struct sono_run_opts {
    sono_sink **sinks;      /* every record goes to each, in this order */
    int nsinks;
    volatile sig_atomic_t *stop;
    const char *worker_exe; /* the harness executable; NULL runs cases in this process */
    const char *const *worker_env; /* VAR=VALUE for the workers only, NULL-ended; or NULL */
    const sono_calibration *cal; /* this host's ceilings, for percent of roofline; or NULL */
    /* NULL, or a second side: each case's every repetition then runs on both sides in
     * turn, which side goes first flipping from case to case and from round to round;
     * needs worker_exe. */
    const sono_run_side *second;
} sono_run_opts;

/* Calls the sinks' begin, then for each case its record, then their end (also when
 * stopped); with o->second, the same for its sinks. Returns 0 when every case ran to a
 * record (whatever its status), SONO_EINTR when stopped, or the first sink's error
 * (writing the results). */
int sono_run_plan(const sono_plan *plan, const sono_run_opts *o, sono_run_counts *n,
                  sono_error *err);

#endif
