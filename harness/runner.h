/* runner.h — runs a plan: for each case the input (seeded, hashed), the reference
 * (float64, cached per op, params and input), setup, load, the measured loop, store,
 * check and teardown; each finished record goes to the sinks at once. */
#ifndef SONO_RUNNER_H
#define SONO_RUNNER_H

#include <signal.h>
#include <stdio.h>

#include "record.h"
#include "registry.h"
#include "results.h"
#include "suite.h"
#include "table.h"

typedef struct sono_run_opts {
    sono_results *results;  /* may be NULL */
    sono_table *table;      /* may be NULL */
    FILE *progress;         /* one line per case; NULL for none */
    volatile sig_atomic_t *stop;
} sono_run_opts;

typedef struct sono_run_counts {
    int ok, fail, skip, error;
    int interrupted;
} sono_run_counts;

/* Returns 0 when every case ran to a record (whatever its status), SONO_EINTR when
 * stopped, or an error writing the results. */
int sono_run_plan(const sono_plan *plan, const sono_run_opts *o, sono_run_counts *n,
                  sono_error *err);

/* The harness's overhead per run() call on the cpu, measured with cpu/nop (0 when the
 * cpu backend is unavailable). */
double sono_measure_overhead(const sono_reg *R);

/* 64-byte aligned buffer for desc (dtype and shape set): data and nbytes filled. */
int sono_buf_alloc(sono_buf *b, sono_error *err);
void sono_buf_free(sono_buf *b);

/* The sha256 of a buffer's bytes as hex. */
void sono_buf_sha256(const sono_buf *b, char hex[65]);

#endif
