/* delay.c — a TEST-ONLY plugin (build/test-plugins/delay.so, backend "delay"): the planted
 * slowdown. delay/spin (op "nop") busy-waits 20 us x (1 + SONO_TEST_DELAY_PCT/100) per
 * run and passes its input through, so a test or the CI gate can make a known N %
 * regression without touching real code. delay/gate (op "nop") is the same at 0 %, but
 * a case with n >= 2 waits in setup (at most 30 s) until the file $SONO_TEST_GATE exists:
 * a test opens the gate only after it saw the first case's row. delay/work (op "nop", issue
 * 22) does a fixed 100000 x (1 + SONO_TEST_WORK_PCT/100) iterations of integer arithmetic
 * per run: the same instructions every run, so a planted +1 % shows in an exact count,
 * where a spin on the clock would not. With $SONO_TEST_TRACE set, every setup appends
 * "$SONO_TEST_TRACE_TAG n=N" to that file: the order in which processes really ran the
 * cases (harness ab's turns). Never ship it. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sono.h"

#define BASE_NS 20000.0 /* 20 us: long against the clock's cost, short for the budget */
/* delay/work: ~400k instructions a run, so 1 % is thousands of instructions against run()'s
 * few dozen of call overhead; quick even under valgrind's 50x */
#define BASE_ITERS 100000.0

typedef struct state {
    size_t n;
    float *buf;
    long long spin_ns;
    long long iters;   /* delay/work */
    unsigned sink;     /* delay/work's result, kept so the loop is not optimised away */
} state;

static int supports(const void *ctx, const sono_params *p, char *why, size_t n)
{
    long long len = sono_param_int(p, "n", 0);
    (void)ctx;
    if (sono_param_int(p, "threads", 1) != 1 || len < 1 || len > (1LL << 24)) {
        snprintf(why, n, "n=%lld: need 1 <= n <= 2^24 and threads=1", len);
        return SONO_EUNSUPPORTED;
    }
    return 0;
}

static void teardown(void *vst)
{
    state *st = vst;
    if (st)
        free(st->buf);
    free(st);
}

/* The knob is read once here, not per run: getenv in the timed loop would be measured. */
static int setup(const void *ctx, const sono_params *p, void **stp, sono_error *err)
{
    char why[256];
    *stp = NULL;
    if (supports(ctx, p, why, sizeof why) != 0)
        return sono_fail(err, SONO_EUNSUPPORTED, "delay: %s", why);
    state *st = calloc(1, sizeof *st);
    if (!st)
        return sono_fail(err, SONO_ENOMEM, "delay: cannot allocate its state");
    st->n = (size_t)sono_param_int(p, "n", 1);
    st->buf = calloc(st->n, sizeof *st->buf);
    if (!st->buf) {
        teardown(st);
        return sono_fail(err, SONO_ENOMEM, "delay: cannot allocate n=%zu floats", st->n);
    }
    const char *pct = getenv("SONO_TEST_DELAY_PCT");
    double v = pct && *pct ? strtod(pct, NULL) : 0.0;
    if (!(v >= -100 && v <= 1e6)) {
        teardown(st);
        return sono_fail(err, SONO_EINVAL, "delay: SONO_TEST_DELAY_PCT=%s out of range", pct);
    }
    st->spin_ns = (long long)(BASE_NS * (1.0 + v / 100.0));
    const char *trace = getenv("SONO_TEST_TRACE"), *tag = getenv("SONO_TEST_TRACE_TAG");
    if (trace && *trace) {
        /* one write with O_APPEND: lines of several processes never interleave */
        char line[160];
        int len = snprintf(line, sizeof line, "%s n=%zu\n", tag ? tag : "-", st->n);
        int fd = open(trace, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0 || write(fd, line, (size_t)len) != len) {
            if (fd >= 0)
                close(fd);
            teardown(st);
            return sono_fail(err, SONO_EIO, "delay: cannot append to %s", trace);
        }
        close(fd);
    }
    *stp = st;
    return 0;
}

/* delay/gate: hold the case until the test opens the gate, so the test can prove that
 * what it saw came out before this case ended. */
static int gate_setup(const void *ctx, const sono_params *p, void **stp, sono_error *err)
{
    const char *gate = getenv("SONO_TEST_GATE");
    if (gate && sono_param_int(p, "n", 1) >= 2) {
        int waited = 0;
        while (access(gate, F_OK) != 0 && waited < 3000) {
            struct timespec ts = {0, 10000000}; /* 10 ms */
            nanosleep(&ts, NULL);
            waited++;
        }
        if (access(gate, F_OK) != 0)
            return sono_fail(err, SONO_EINVAL, "delay/gate: %s never appeared", gate);
    }
    return setup(ctx, p, stp, err);
}

static int load(void *vst, const sono_buf *in, sono_error *err)
{
    state *st = vst;
    if (in->dtype != SONO_F32 || in->nbytes < st->n * sizeof(float))
        return sono_fail(err, SONO_EINVAL, "delay: input must be f32 [n=%zu]", st->n);
    memcpy(st->buf, in->data, st->n * sizeof(float));
    return 0;
}

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* A spin, not a sleep: sleeping would add the scheduler's wake-up latency, which varies
 * far more than the 10 % this impl exists to plant. */
static int run(void *vst)
{
    const state *st = vst;
    long long end = now_ns() + st->spin_ns;
    while (now_ns() < end)
        ;
    return 0;
}

static int store(void *vst, sono_buf *out, sono_error *err)
{
    state *st = vst;
    if (out->dtype != SONO_F32 || out->nbytes < st->n * sizeof(float))
        return sono_fail(err, SONO_EINVAL, "delay: output must be f32 [n=%zu]", st->n);
    memcpy(out->data, st->buf, st->n * sizeof(float));
    return 0;
}

/* delay/work: the same knob pattern as setup's, on its own variable so a test of the
 * spin never changes the work and back. */
static int work_setup(const void *ctx, const sono_params *p, void **stp, sono_error *err)
{
    int rc = setup(ctx, p, stp, err);
    if (rc)
        return rc;
    state *st = *stp;
    const char *pct = getenv("SONO_TEST_WORK_PCT");
    double v = pct && *pct ? strtod(pct, NULL) : 0.0;
    if (!(v >= -100 && v <= 1e4)) {
        teardown(st);
        *stp = NULL;
        return sono_fail(err, SONO_EINVAL, "delay/work: SONO_TEST_WORK_PCT=%s out of range", pct);
    }
    st->iters = (long long)(BASE_ITERS * (1.0 + v / 100.0) + 0.5);
    return 0;
}

/* A linear congruential step per iteration: a serial dependency the compiler cannot fold,
 * and the empty asm keeps it from computing the loop's end in closed form. */
static int work_run(void *vst)
{
    state *st = vst;
    unsigned x = 1;
    for (long long i = 0; i < st->iters; i++) {
        x = x * 1664525u + 1013904223u;
        __asm__ volatile("" : "+r"(x));
    }
    st->sink = x;
    return 0;
}

static const sono_impl impls[] = {
    {.abi = SONO_ABI_VERSION, .op = "nop", .name = "spin",
     .summary = "TEST ONLY: spins 20 us x (1 + $SONO_TEST_DELAY_PCT/100) per run; a planted "
                "slowdown", .device = "cpu", .growth = SONO_ERR_LINEAR,
     .supports = supports, .setup = setup, .load = load, .run = run, .store = store,
     .teardown = teardown},
    {.abi = SONO_ABI_VERSION, .op = "nop", .name = "gate",
     .summary = "TEST ONLY: as spin at 0 %, but n >= 2 waits in setup for $SONO_TEST_GATE",
     .device = "cpu", .growth = SONO_ERR_LINEAR, .supports = supports, .setup = gate_setup,
     .load = load, .run = run, .store = store, .teardown = teardown},
    {.abi = SONO_ABI_VERSION, .op = "nop", .name = "work",
     .summary = "TEST ONLY: 100000 x (1 + $SONO_TEST_WORK_PCT/100) integer steps per run; a "
                "planted instruction-count change", .device = "cpu", .growth = SONO_ERR_LINEAR,
     .supports = supports, .setup = work_setup, .load = load, .run = work_run, .store = store,
     .teardown = teardown},
};

SONO_EXPORT int sono_plugin_init(sono_registry *r, sono_error *err)
{
    for (size_t i = 0; i < sizeof impls / sizeof impls[0]; i++) {
        int rc = r->add_impl(r, &impls[i]);
        if (rc < 0)
            return sono_fail(err, rc, "delay: registering nop/%s failed (%d)", impls[i].name, rc);
    }
    return 0;
}
