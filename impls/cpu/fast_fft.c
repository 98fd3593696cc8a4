/* fast_fft.c — cpu/fast: the fft and rfft impls on the backend's own optimised FFT
 * (fastfft*.c). The plan is made in setup, untimed; run executes it over the batch's rows into
 * the shared fft_io buffers, one thread, with one work buffer made in setup too. */
#include <stdio.h>

#include "cpu_impls.h"
#include "fastfft_internal.h"

typedef struct fast {
    fft_io io; /* first, so fft_load and fft_store can take this state */
    fastfft_plan *plan;
    float *work;
} fast;

int fast_supports(const void *ctx, const sono_params *p, char *why, size_t n)
{
    fft_io io;
    return fft_shape(ctx, p, 0, &io, why, n);
}

void fast_teardown(void *vst)
{
    fast *st = vst;
    if (!st)
        return;
    fft_io_free(&st->io);
    fastfft_free(st->plan);
    free(st->work);
    free(st);
}

int fast_setup(const void *ctx, const sono_params *p, void **stp, sono_error *err)
{
    char why[256];
    fast *st = calloc(1, sizeof *st);
    int rc;

    *stp = NULL;
    if (!st)
        return sono_fail(err, SONO_ENOMEM, "fast: cannot allocate its state");
    if ((rc = fft_shape(ctx, p, 0, &st->io, why, sizeof why)) < 0) {
        free(st);
        return sono_fail(err, rc, "fast: %s", why);
    }
    if ((rc = fft_io_alloc(&st->io, err)) < 0) {
        fast_teardown(st);
        return rc;
    }
    st->plan = fastfft_plan_new(st->io.n, st->io.real, why, sizeof why);
    if (!st->plan) {
        fast_teardown(st);
        return sono_fail(err, SONO_ENOMEM, "fast: %s", why);
    }
    size_t nwork = fastfft_work_floats(st->plan);
    st->work = amalloc(nwork * sizeof(float));
    if (!st->work) {
        size_t len = st->io.n;
        fast_teardown(st);
        return sono_fail(err, SONO_ENOMEM, "fast: cannot allocate %zu work floats for n=%zu",
                         nwork, len);
    }
    *stp = st;
    return 0;
}

int fast_run(void *vst)
{
    const fast *st = vst;
    const size_t n = st->io.n;
    const size_t in_row = st->io.real ? n : 2 * n;

    fastfft_exec_rows(st->plan, (const float *)st->io.in, in_row, (float *)st->io.out, 2 * n,
                      st->io.batch, st->work);
    return 0;
}

int fast_describe(void *vst, char *buf, size_t n)
{
    const fast *st = vst;
    snprintf(buf, n, "%s", fastfft_describe(st->plan));
    return 0;
}

/* The state, the input and output copies, the plan's tables and the work buffer. */
size_t fast_workspace(void *vst)
{
    const fast *st = vst;
    return sizeof *st + fft_io_bytes(&st->io) + ff_plan_bytes(st->plan) +
           fastfft_work_floats(st->plan) * sizeof(float);
}
