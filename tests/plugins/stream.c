/* stream.c — a TEST-ONLY plugin (build/test-plugins/stream.so, backend "stream"): planted
 * streaming impls of op "nop" that the harness must catch. stream/miss sleeps twice the
 * deadline on every tenth chunk (exactly 10 % missed); stream/peek reads one step past
 * its chunk (a poisoned NaN); stream/backstep reports fewer steps done than before.
 * Offline, each is the identity and passes. Never ship it. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sono.h"

typedef enum { MISS, PEEK, BACKSTEP } kind;
static const kind kinds[] = {MISS, PEEK, BACKSTEP};

typedef struct state {
    kind k;
    long long n;
    const float *src; /* the core's input: it fills as the stream goes */
    float *copy;      /* offline: run() copies into it */
    double sleep_ns;  /* MISS: twice the deadline */
    long long chunk;  /* pushes since stream_begin */
} state;

static int supports(const void *ctx, const sono_params *p, char *why, size_t n)
{
    (void)ctx;
    long long len = sono_param_int(p, "n", 0);
    if (sono_param_int(p, "threads", 1) != 1 || len < 2 || len > (1LL << 24)) {
        snprintf(why, n, "n=%lld: need 2 <= n <= 2^24 and threads=1", len);
        return SONO_EUNSUPPORTED;
    }
    return 0;
}

static void teardown(void *vst)
{
    state *st = vst;
    if (st)
        free(st->copy);
    free(st);
}

/* The deadline as the harness defines it: deadline_ms, else the chunk's duration at op
 * nop's nominal 48 kHz. */
static int setup(const void *ctx, const sono_params *p, void **stp, sono_error *err)
{
    char why[256];
    *stp = NULL;
    if (supports(ctx, p, why, sizeof why) != 0)
        return sono_fail(err, SONO_EUNSUPPORTED, "stream: %s", why);
    state *st = calloc(1, sizeof *st);
    if (!st)
        return sono_fail(err, SONO_ENOMEM, "stream: cannot allocate its state");
    st->k = *(const kind *)ctx;
    st->n = sono_param_int(p, "n", 2);
    st->copy = calloc((size_t)st->n, sizeof *st->copy);
    double dl = sono_param_real(p, "deadline_ms", 0);
    long long chunk = sono_param_int(p, "chunk", 0);
    if (dl <= 0)
        dl = chunk > 0 ? (double)chunk / 48.0 : sono_param_real(p, "chunk_ms", 0);
    st->sleep_ns = 2e6 * dl;
    if (!st->copy) {
        teardown(st);
        return sono_fail(err, SONO_ENOMEM, "stream: cannot allocate n=%lld floats", st->n);
    }
    *stp = st;
    return 0;
}

static int load(void *vst, const sono_buf *in, sono_error *err)
{
    state *st = vst;
    if (in->dtype != SONO_F32 || sono_buf_elems(in) != st->n)
        return sono_fail(err, SONO_EINVAL, "stream: input must be f32 [n=%lld]", st->n);
    st->src = in->data;
    return 0;
}

static int run(void *vst)
{
    state *st = vst;
    memcpy(st->copy, st->src, (size_t)st->n * sizeof(float));
    return 0;
}

static int store(void *vst, sono_buf *out, sono_error *err)
{
    state *st = vst;
    if (out->dtype != SONO_F32 || sono_buf_elems(out) != st->n)
        return sono_fail(err, SONO_EINVAL, "stream: output must be f32 [n=%lld]", st->n);
    memcpy(out->data, st->copy, (size_t)st->n * sizeof(float));
    return 0;
}

static int stream_begin(void *vst, sono_error *err)
{
    (void)err;
    ((state *)vst)->chunk = 0;
    return 0;
}

static int push(void *vst, long long t0, long long n, int last, sono_buf *out,
                long long *done, sono_error *err)
{
    state *st = vst;
    float *o = out->data;
    (void)last;
    (void)err;
    for (long long i = t0; i < t0 + n; i++) /* peek: x + 0 * next, NaN when next is poisoned */
        o[i] = st->k == PEEK && i + 1 < st->n ? st->src[i] + 0.0f * st->src[i + 1] : st->src[i];
    if (st->k == MISS && st->chunk % 10 == 9) {
        struct timespec ts = {.tv_sec = (time_t)(st->sleep_ns / 1e9),
                              .tv_nsec = (long)(st->sleep_ns - (double)(long long)(st->sleep_ns / 1e9) * 1e9)};
        nanosleep(&ts, NULL);
    }
    *done = st->k == BACKSTEP && st->chunk == 1 ? 0 : t0 + n;
    st->chunk++;
    return 0;
}

#define ROW(NAME, K, WHAT)                                                                 \
    {.abi = SONO_ABI_VERSION, .op = "nop", .name = NAME, .summary = WHAT, .device = "cpu",   \
     .growth = SONO_ERR_LINEAR, .ctx = &kinds[K], .supports = supports, .setup = setup,      \
     .load = load, .run = run, .store = store, .teardown = teardown,                         \
     .stream_begin = stream_begin, .push = push}

static const sono_impl impls[] = {
    ROW("miss", MISS, "TEST ONLY: sleeps twice the deadline on every tenth chunk"),
    ROW("peek", PEEK, "TEST ONLY: reads one step past its chunk"),
    ROW("backstep", BACKSTEP, "TEST ONLY: its second push reports 0 steps done"),
};

SONO_EXPORT int sono_plugin_init(sono_registry *r, sono_error *err)
{
    for (size_t i = 0; i < sizeof impls / sizeof impls[0]; i++) {
        int rc = r->add_impl(r, &impls[i]);
        if (rc < 0)
            return sono_fail(err, rc, "stream: registering nop/%s failed (%d)", impls[i].name,
                             rc);
    }
    return 0;
}
