/* lifecycle.c — the one place an impl is set up, loaded, run, stored and torn down (see
 * lifecycle.h). Only setup, load and store are timed here; the measured loop belongs to
 * the measure callback, so this adds nothing to any sample. */
#include "lifecycle.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

double sono_now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

void sono_lifecycle_poison(sono_buf *b)
{
    size_t n = (size_t)sono_buf_elems(b);
    for (size_t i = 0; i < n; i++)
        switch (b->dtype) {
        case SONO_F32: ((float *)b->data)[i] = NAN; break;
        case SONO_C64: ((float *)b->data)[2 * i] = ((float *)b->data)[2 * i + 1] = NAN; break;
        case SONO_F64: ((double *)b->data)[i] = NAN; break;
        case SONO_C128:
            ((double *)b->data)[2 * i] = ((double *)b->data)[2 * i + 1] = NAN;
            break;
        case SONO_I16: ((int16_t *)b->data)[i] = -1; break;
        case SONO_I32: ((int32_t *)b->data)[i] = -1; break;
        }
}

/* The device's own JSON for the case (sono.h's case_end), kept only when it parses to an
 * object: the device's text is not trusted to be well formed. */
static void device_json(sono_lifecycle *lc)
{
    enum { CAP = 64 * 1024 };
    char *buf = lc->dev->case_end ? calloc(1, CAP) : NULL;
    if (!buf)
        return;
    if (lc->dev->case_end(lc->dev, buf, CAP) == 0) {
        buf[CAP - 1] = 0;
        json_t *j = json_loads(buf, JSON_REJECT_DUPLICATES, NULL);
        if (json_is_object(j))
            lc->gpu = json_incref(j);
        else
            lc->gpu_invalid = 1;
        json_decref(j);
    }
    free(buf);
}

/* An impl's failure as a SONO_E* code in err->code, the message left as the impl wrote it.
 * run() returns a bare int: one that is not a negative code is still a failure. */
static int failed(sono_lifecycle *lc, sono_lifecycle_step step, int rc, sono_error *err)
{
    lc->failed = step;
    err->code = rc < 0 ? rc : SONO_EINTERNAL;
    return err->code;
}

/* Between load and store: the caller's measure, or run() `runs` times untimed. */
static int middle(sono_lifecycle *lc, void *st, sono_error *err)
{
    if (lc->measure) {
        int rc = lc->measure(lc->measure_ctx, st, err);
        return rc ? failed(lc, SONO_STEP_MEASURE, rc, err) : 0;
    }
    for (long i = 0; i < lc->runs; i++) {
        int rc = lc->im->run(st);
        if (rc)
            return failed(lc, SONO_STEP_RUN, rc, err);
    }
    return 0;
}

/* NaN-fill first: an impl that writes nothing fails its check instead of passing on
 * whatever the buffer held (zeros pass wherever the reference is zero). */
static int store(sono_lifecycle *lc, void *st, sono_error *err)
{
    sono_lifecycle_poison(lc->out);
    double t0 = sono_now_ns();
    int rc = lc->im->store(st, lc->out, err);
    lc->fig.store_ns = sono_now_ns() - t0;
    if (rc)
        return failed(lc, SONO_STEP_STORE, rc, err);
    lc->fig.store_bytes = (double)lc->out->nbytes;
    return 0;
}

int sono_lifecycle_run(sono_lifecycle *lc, sono_error *err)
{
    sono_error local = {0};
    const sono_impl *im = lc->im;
    void *st = NULL;
    err = err ? err : &local;
    lc->fig = (sono_lifecycle_figures){.workspace_bytes = -1};
    lc->gpu = NULL;
    lc->gpu_invalid = 0;
    lc->failed = SONO_STEP_NONE;
    double t0 = sono_now_ns();
    int rc = im->setup(im->ctx, lc->p, &st, err);
    lc->fig.setup_ns = sono_now_ns() - t0;
    if (rc) /* a failed setup frees what it made: teardown follows successful ones only */
        return failed(lc, SONO_STEP_SETUP, rc, err);
    t0 = sono_now_ns();
    rc = im->load(st, lc->in, err);
    lc->fig.load_ns = sono_now_ns() - t0;
    lc->fig.load_bytes = (double)lc->in->nbytes;
    rc = rc ? failed(lc, SONO_STEP_LOAD, rc, err) : middle(lc, st, err);
    if (rc == SONO_EINTR) { /* abandoned: the state goes, nothing else is asked of it */
        im->teardown(st);
        return SONO_EINTR;
    }
    if (!rc && lc->out)
        rc = store(lc, st, err);
    if (!rc && lc->describe && im->describe)
        im->describe(st, lc->describe, lc->describe_n);
    if (!rc && lc->measured && im->measured)
        im->measured(st, lc->measured, lc->measured_n);
    if (lc->dev) /* before teardown, the state still live (sono.h's case_end) */
        device_json(lc);
    lc->fig.workspace_bytes = im->workspace ? (double)im->workspace(st) : -1;
    im->teardown(st);
    return rc;
}
