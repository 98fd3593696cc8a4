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

typedef struct sono_run_opts {
    sono_sink **sinks;      /* every record goes to each, in this order */
    int nsinks;
    volatile sig_atomic_t *stop;
    const char *worker_exe; /* the harness executable; NULL runs cases in this process */
    const sono_calibration *cal; /* this host's ceilings, for percent of roofline; or NULL */
} sono_run_opts;

/* Calls the sinks' begin, then for each case its record, then their end (also when
 * stopped). Returns 0 when every case ran to a record (whatever its status), SONO_EINTR
 * when stopped, or the first sink's error (writing the results). */
int sono_run_plan(const sono_plan *plan, const sono_run_opts *o, sono_run_counts *n,
                  sono_error *err);

#endif
