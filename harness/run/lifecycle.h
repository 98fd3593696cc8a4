/* lifecycle.h — an impl's whole life, written once: setup, load, run k times or a measure
 * callback on the live state, store into a NaN-filled output, describe, case_end, teardown.
 * Offline and streaming cases, the overhead figure and `harness exec` all go through it. */
#ifndef SONO_LIFECYCLE_H
#define SONO_LIFECYCLE_H

#include <jansson.h>

#include "sono.h"

/* What setup, load and store cost, and what the impl held; all 0 until reached. */
typedef struct sono_lifecycle_figures {
    double setup_ns, load_ns, store_ns; /* CLOCK_MONOTONIC around each call */
    double load_bytes, store_bytes;     /* in->nbytes once load ran, out->nbytes once store ran */
    double workspace_bytes;             /* the impl's workspace(); < 0: not reported */
} sono_lifecycle_figures;

/* The step that failed, so a caller can word a message the impl left empty. */
typedef enum sono_lifecycle_step {
    SONO_STEP_NONE = 0,
    SONO_STEP_SETUP,
    SONO_STEP_LOAD,
    SONO_STEP_RUN,     /* one of the `runs` run() calls */
    SONO_STEP_MEASURE, /* the measure callback */
    SONO_STEP_STORE
} sono_lifecycle_step;

/* Called between load and store with the impl's live state; returns 0 or a SONO_E* code
 * (SONO_EINTR: interrupted, which skips store, describe and case_end). */
typedef int (*sono_lifecycle_measure_fn)(void *ctx, void *st, sono_error *err);

typedef struct sono_lifecycle {
    /* what to run */
    const sono_impl *im;
    const sono_params *p;
    const sono_buf *in;       /* bound by load; must live until sono_lifecycle_run returns */
    sono_buf *out;            /* NaN-filled, then store's; NULL: store is not called */
    long runs;                /* run() calls between load and store when measure is NULL */
    sono_lifecycle_measure_fn measure; /* NULL: run() `runs` times instead */
    void *measure_ctx;
    const sono_device *dev;   /* case_end's device; NULL: case_end is not called */
    char *describe;           /* describe()'s text goes here when all succeeded; may be NULL */
    size_t describe_n;
    char *measured;           /* measured()'s text (ABI 6), likewise; may be NULL */
    size_t measured_n;
    /* what happened */
    sono_lifecycle_figures fig;
    json_t *gpu;              /* case_end's object, owned by the caller from here; NULL: none */
    int gpu_invalid;          /* case_end gave text that is not a JSON object */
    sono_lifecycle_step failed;
} sono_lifecycle;

/* Runs lc's impl once through its lifecycle. Returns 0, SONO_EINTR when the measure
 * callback was interrupted (teardown done, nothing else), or the first error; err holds
 * the impl's own message, possibly empty (lc->failed says which step: callers word their
 * fallbacks, as `run` and `exec` always have). teardown is called after every successful
 * setup, never after a failed one. */
int sono_lifecycle_run(sono_lifecycle *lc, sono_error *err);

/* Poison b before an impl writes it: every float and complex element NaN, every integer
 * -1 (an index or code out of every range, as stream.c poisons: no integer is "not a
 * value", but -1 fails the index checks of vq and rvq, the ops with integer outputs). */
void sono_lifecycle_poison(sono_buf *b);

/* CLOCK_MONOTONIC in ns. */
double sono_now_ns(void);

#endif
