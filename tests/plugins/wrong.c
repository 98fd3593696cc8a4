/* wrong.c — a TEST-ONLY plugin (build/test-plugins/wrong.so, backend "wrong") whose impls
 * are wrong on purpose, so tests can prove the harness reports FAIL instead of trusting
 * an impl: wrong/fft conjugates the exponent, wrong/rfft-nan emits a NaN, wrong/fft-nostore
 * stores nothing; and planted failures for case isolation: wrong/crash, wrong/hang,
 * wrong/abort, wrong/oom. Never ship it, and never run its impls by glob: crash and hang
 * take the whole process with them. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "sono.h"

#define TWO_PI 6.283185307179586476925286766559005768

typedef struct state {
    size_t n, batch, nout;
    float *in;  /* batch*n*2 floats (fft) or batch*n (rfft) */
    float *out; /* batch*nout interleaved complex */
    float *w;   /* fft: e^{+2 pi i m/n}, the wrong sign; interleaved */
    int real;
} state;

static const int c2c = 0, r2c = 1;

static void *amalloc(size_t bytes)
{
    if (bytes == 0)
        bytes = 1;
    if (bytes > SIZE_MAX - 63)
        return NULL;
    return aligned_alloc(64, (bytes + 63) & ~(size_t)63);
}

static int supports(const void *ctx, const sono_params *p, char *why, size_t n)
{
    long long len = sono_param_int(p, "n", 0);
    long long batch = sono_param_int(p, "batch", 1);

    (void)ctx;
    if (sono_param_int(p, "threads", 1) != 1) {
        snprintf(why, n, "single-threaded impl (threads=1 only)");
        return SONO_EUNSUPPORTED;
    }
    if (len < 1 || batch < 1 || len > (1LL << 30) / batch) {
        snprintf(why, n, "n=%lld, batch=%lld: need n, batch >= 1, n*batch <= 2^30", len,
                 batch);
        return SONO_EUNSUPPORTED;
    }
    return 0;
}

static void teardown(void *vst)
{
    state *st = vst;
    if (!st)
        return;
    free(st->in);
    free(st->out);
    free(st->w);
    free(st);
}

static int setup(const void *ctx, const sono_params *p, void **stp, sono_error *err)
{
    char why[256];

    *stp = NULL;
    if (supports(ctx, p, why, sizeof why) != 0)
        return sono_fail(err, SONO_EUNSUPPORTED, "wrong: %s", why);
    state *st = calloc(1, sizeof *st);
    if (!st)
        return sono_fail(err, SONO_ENOMEM, "wrong: cannot allocate its state");
    st->real = *(const int *)ctx;
    st->n = (size_t)sono_param_int(p, "n", 0);
    st->batch = (size_t)sono_param_int(p, "batch", 1);
    st->nout = st->real ? st->n / 2 + 1 : st->n;
    st->in = amalloc(st->batch * st->n * (st->real ? 1 : 2) * sizeof(float));
    st->out = amalloc(st->batch * st->nout * 2 * sizeof(float));
    st->w = amalloc(st->n * 2 * sizeof(float));
    if (!st->in || !st->out || !st->w) {
        teardown(st);
        return sono_fail(err, SONO_ENOMEM, "wrong: cannot allocate buffers");
    }
    for (size_t m = 0; m < st->n; m++) {
        double a = +TWO_PI * (double)m / (double)st->n; /* the bug, on purpose */
        st->w[2 * m] = (float)cos(a);
        st->w[2 * m + 1] = (float)sin(a);
    }
    *stp = st;
    return 0;
}

static int load(void *vst, const sono_buf *in, sono_error *err)
{
    state *st = vst;
    size_t need = st->batch * st->n * (st->real ? 1 : 2) * sizeof(float);
    if (in->dtype != (st->real ? SONO_F32 : SONO_C64) || in->nbytes < need)
        return sono_fail(err, SONO_EINVAL, "wrong: input has dtype %d, %zu bytes",
                         (int)in->dtype, in->nbytes);
    memcpy(st->in, in->data, need);
    return 0;
}

/* The DFT with e^{+2 pi i jk/n}: right for n <= 2 and wrong everywhere else. */
static int run_fft(void *vst)
{
    state *st = vst;
    size_t n = st->n;
    for (size_t b = 0; b < st->batch; b++) {
        const float *x = st->in + 2 * b * n;
        float *y = st->out + 2 * b * n;
        for (size_t k = 0; k < n; k++) {
            float re = 0.0f, im = 0.0f;
            for (size_t j = 0, m = 0; j < n; j++, m = (m + k) % n) {
                re += x[2 * j] * st->w[2 * m] - x[2 * j + 1] * st->w[2 * m + 1];
                im += x[2 * j] * st->w[2 * m + 1] + x[2 * j + 1] * st->w[2 * m];
            }
            y[2 * k] = re;
            y[2 * k + 1] = im;
        }
    }
    return 0;
}

/* The planted failures. Each is for op "fft" and shares setup, load and store with
 * wrong/fft, so only the step that is meant to fail differs. */

/* A real SIGSEGV, not an abort: a store through a NULL pointer read from volatile storage,
 * so the compiler can neither drop it nor turn it into a trap instruction (GCC's
 * -fisolate-erroneous-paths-dereference would make a visible NULL a SIGILL). UBSan's null
 * check is off here or it would end the process its own way first; ASan still catches
 * the SEGV and exits with its report. */
static int *volatile nowhere;

__attribute__((no_sanitize("undefined"))) static int run_crash(void *vst)
{
    (void)vst;
    *(volatile int *)nowhere = 1;
    return SONO_EINTERNAL; /* not reached */
}

/* Never returns: pause() sleeps until a signal, and a handler that returns only loops us
 * back, so just a signal's default action (the isolation's timeout kill) ends it. */
static int run_hang(void *vst)
{
    (void)vst;
    for (;;)
        pause();
    return SONO_EINTERNAL; /* not reached */
}

static int run_abort(void *vst)
{
    (void)vst;
    abort();
}

/* Writes a forged record into the worker's reply pipe (fd 4) before computing: the
 * runner must notice that the answer is not this case's record. */
static int run_fd4(void *vst)
{
    static const char forged[] = "{\"status\": \"ok\"}\n";
    if (write(4, forged, sizeof forged - 1) < 0) {
        /* not in a worker (no fd 4): nothing forged */
    }
    return run_fft(vst);
}

/* Asks for 1 TiB, which no test machine has, so malloc returns NULL and setup fails the
 * ordinary way: an "error" with SONO_ENOMEM, not a crash. Where memory is overcommitted
 * and malloc says yes, the pages are touched, so the failure comes as the OOM killer's
 * SIGKILL instead of passing silently. (Under ASan malloc dies itself on this size unless
 * ASAN_OPTIONS has allocator_may_return_null=1.) */
#define OOM_BYTES ((size_t)1 << 40)

static int setup_oom(const void *ctx, const sono_params *p, void **stp, sono_error *err)
{
    char why[256];

    *stp = NULL;
    if (supports(ctx, p, why, sizeof why) != 0)
        return sono_fail(err, SONO_EUNSUPPORTED, "wrong/oom: %s", why);
    char *big = malloc(OOM_BYTES);
    if (!big)
        return sono_fail(err, SONO_ENOMEM, "planted: cannot allocate %zu bytes (1 TiB)",
                         OOM_BYTES);
    long page = sysconf(_SC_PAGESIZE);
    for (size_t i = 0; i < OOM_BYTES; i += page > 0 ? (size_t)page : 4096)
        ((volatile char *)big)[i] = 1;
    free(big);
    return sono_fail(err, SONO_EINTERNAL, "planted: 1 TiB was allocated and touched");
}

/* Allocated in setup beyond the core's buffers: the state, the input and output copies
 * and the (wrong) twiddles, so the record has a number for the planted impls too. */
static size_t workspace(void *vst)
{
    const state *st = vst;
    return sizeof *st + st->batch * st->n * (st->real ? 1 : 2) * sizeof(float) +
           st->batch * st->nout * 2 * sizeof(float) + st->n * 2 * sizeof(float);
}

static int run_nan(void *vst)
{
    state *st = vst;
    memset(st->out, 0, st->batch * st->nout * 2 * sizeof(float));
    st->out[0] = NAN;
    return 0;
}

static int store(void *vst, sono_buf *out, sono_error *err)
{
    state *st = vst;
    size_t need = st->batch * st->nout * 2 * sizeof(float);
    if (out->dtype != SONO_C64 || out->nbytes < need)
        return sono_fail(err, SONO_EINVAL, "wrong: output has dtype %d, %zu bytes",
                         (int)out->dtype, out->nbytes);
    memcpy(out->data, st->out, need);
    return 0;
}

/* Says it stored and writes nothing: only the core's NaN-fill of the output makes it fail,
 * in `run` and `exec` alike (on silence, whose reference is all zero, zeros would pass). */
static int store_nothing(void *vst, sono_buf *out, sono_error *err)
{
    (void)vst;
    (void)out;
    (void)err;
    return 0;
}

static const sono_impl impls[] = {
    {.abi = SONO_ABI_VERSION, .op = "fft", .name = "fft",
     .summary = "TEST ONLY: DFT with the wrong sign of the exponent; must FAIL",
     .device = "cpu", .growth = SONO_ERR_LINEAR, .ctx = &c2c,
     .supports = supports, .setup = setup, .load = load, .run = run_fft,
     .store = store, .teardown = teardown, .workspace = workspace},
    {.abi = SONO_ABI_VERSION, .op = "rfft", .name = "rfft-nan",
     .summary = "TEST ONLY: NaN in bin 0 of row 0, zeros elsewhere; must FAIL",
     .device = "cpu", .growth = SONO_ERR_LOG, .ctx = &r2c,
     .supports = supports, .setup = setup, .load = load, .run = run_nan,
     .store = store, .teardown = teardown, .workspace = workspace},
    {.abi = SONO_ABI_VERSION, .op = "fft", .name = "fft-nostore",
     .summary = "TEST ONLY: store() returns 0 and writes nothing; must FAIL",
     .device = "cpu", .growth = SONO_ERR_LINEAR, .ctx = &c2c,
     .supports = supports, .setup = setup, .load = load, .run = run_fft,
     .store = store_nothing, .teardown = teardown, .workspace = workspace},
    /* Planted failures for the isolation tests: run only by their full names. */
    {.abi = SONO_ABI_VERSION, .op = "fft", .name = "crash",
     .summary = "TEST ONLY, planted failure: run() stores through NULL (SIGSEGV); must CRASH",
     .device = "cpu", .growth = SONO_ERR_LINEAR, .ctx = &c2c,
     .supports = supports, .setup = setup, .load = load, .run = run_crash,
     .store = store, .teardown = teardown, .workspace = workspace},
    {.abi = SONO_ABI_VERSION, .op = "fft", .name = "hang",
     .summary = "TEST ONLY, planted failure: run() never returns; must TIME OUT",
     .device = "cpu", .growth = SONO_ERR_LINEAR, .ctx = &c2c,
     .supports = supports, .setup = setup, .load = load, .run = run_hang,
     .store = store, .teardown = teardown, .workspace = workspace},
    {.abi = SONO_ABI_VERSION, .op = "fft", .name = "abort",
     .summary = "TEST ONLY, planted failure: run() calls abort() (SIGABRT); must CRASH",
     .device = "cpu", .growth = SONO_ERR_LINEAR, .ctx = &c2c,
     .supports = supports, .setup = setup, .load = load, .run = run_abort,
     .store = store, .teardown = teardown, .workspace = workspace},
    {.abi = SONO_ABI_VERSION, .op = "fft", .name = "fd4",
     .summary = "TEST ONLY, planted failure: run() forges a record on the worker's reply "
                "pipe; must ERROR",
     .device = "cpu", .growth = SONO_ERR_LINEAR, .ctx = &c2c,
     .supports = supports, .setup = setup, .load = load, .run = run_fd4,
     .store = store, .teardown = teardown, .workspace = workspace},
    {.abi = SONO_ABI_VERSION, .op = "fft", .name = "oom",
     .summary = "TEST ONLY, planted failure: setup() asks malloc for 1 TiB; must ERROR "
                "(SONO_ENOMEM)",
     .device = "cpu", .growth = SONO_ERR_LINEAR, .ctx = &c2c,
     .supports = supports, .setup = setup_oom, .load = load, .run = run_fft,
     .store = store, .teardown = teardown, .workspace = workspace},
};

SONO_EXPORT int sono_plugin_init(sono_registry *r, sono_error *err)
{
    for (size_t i = 0; i < sizeof impls / sizeof impls[0]; i++) {
        int rc = r->add_impl(r, &impls[i]);
        if (rc < 0)
            return sono_fail(err, rc, "wrong: registering %s/%s failed (%d)", impls[i].op,
                             impls[i].name, rc);
    }
    return 0;
}
