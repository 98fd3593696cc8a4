/* opus_broken.c — a TEST-ONLY plugin (build/test-plugins/opus_broken.so, backend
 * "opus_broken") of codec.opus round trips broken the ways a real one breaks, each with
 * an honest byte count for the target bitrate, so only the signal can give them away:
 * frame (the input one frame late), lookahead (late by Opus's 6.5 ms lookahead: the
 * delay never dropped), silence, rate (played at half speed: decoded at the wrong rate).
 * identity (the input itself) is the control: the same code with no bug, which passes. */
#include <math.h>
#include <stdlib.h>

#include "sono.h"

enum { IDENTITY, FRAME, LOOKAHEAD, SILENCE, RATE };
static const int kinds[] = {IDENTITY, FRAME, LOOKAHEAD, SILENCE, RATE};

typedef struct state {
    int kind;
    long long n, delay;
    double bytes;
    float *in, *out;
} state;

static int supports(const void *ctx, const sono_params *p, char *why, size_t n)
{
    (void)ctx;
    (void)p;
    (void)why;
    (void)n;
    return 0;
}

static void teardown(void *vst)
{
    state *st = vst;
    if (!st)
        return;
    free(st->in);
    free(st->out);
    free(st);
}

static int setup(const void *ctx, const sono_params *p, void **stp, sono_error *err)
{
    state *st = calloc(1, sizeof *st);
    if (!st)
        return sono_fail(err, SONO_ENOMEM, "opus_broken: no memory");
    double rate = (double)sono_param_int(p, "sample_rate", 48000);
    st->kind = *(const int *)ctx;
    st->n = llround(sono_param_real(p, "seconds", 5) * rate);
    st->delay = st->kind == FRAME ? sono_param_int(p, "frame_ms", 20) * (long long)rate / 1000
                                  : llround(0.0065 * rate);
    st->bytes = floor((double)sono_param_int(p, "bitrate", 24000) * (double)st->n / rate / 8);
    st->in = malloc(sizeof(float) * (size_t)st->n);
    st->out = malloc(sizeof(float) * (size_t)st->n);
    if (!st->in || !st->out) {
        teardown(st);
        return sono_fail(err, SONO_ENOMEM, "opus_broken: no memory");
    }
    *stp = st;
    return 0;
}

static int load(void *vst, const sono_buf *in, sono_error *err)
{
    state *st = vst;
    if (in->dtype != SONO_F32 || sono_buf_elems(in) != st->n)
        return sono_fail(err, SONO_EINVAL, "opus_broken: input must be f32 [%lld]", st->n);
    memcpy(st->in, in->data, sizeof(float) * (size_t)st->n);
    return 0;
}

static int run(void *vst)
{
    state *st = vst;
    for (long long i = 0; i < st->n; i++) {
        long long j = st->kind == IDENTITY                        ? i
                      : st->kind == FRAME || st->kind == LOOKAHEAD ? i - st->delay
                      : st->kind == RATE                           ? i / 2
                                                                   : -1;
        st->out[i] = j >= 0 ? st->in[j] : 0.0f;
    }
    return 0;
}

static int store(void *vst, sono_buf *out, sono_error *err)
{
    state *st = vst;
    if (out->dtype != SONO_F32 || sono_buf_elems(out) != st->n + 1)
        return sono_fail(err, SONO_EINVAL, "opus_broken: output must be f32 [%lld]", st->n + 1);
    memcpy(out->data, st->out, sizeof(float) * (size_t)st->n);
    ((float *)out->data)[st->n] = (float)st->bytes;
    return 0;
}

#define IMPL(k, nm, sum)                                                                  \
    {.abi = SONO_ABI_VERSION, .op = "codec.opus", .name = nm, .summary = sum,             \
     .device = "cpu", .ctx = &kinds[k], .supports = supports, .setup = setup, .load = load, \
     .run = run, .store = store, .teardown = teardown}

static const sono_impl impls[] = {
    IMPL(IDENTITY, "identity", "the input itself with the target's byte count (control)"),
    IMPL(FRAME, "frame", "BROKEN: the input one frame late"),
    IMPL(LOOKAHEAD, "lookahead", "BROKEN: the input 6.5 ms late (lookahead not dropped)"),
    IMPL(SILENCE, "silence", "BROKEN: zeros"),
    IMPL(RATE, "rate", "BROKEN: the input at half speed (wrong decoder rate)"),
};

SONO_EXPORT int sono_plugin_init(sono_registry *r, sono_error *err)
{
    if (r->abi != SONO_ABI_VERSION)
        return sono_fail(err, SONO_EABI, "opus_broken built for ABI %d, harness has %d",
                         SONO_ABI_VERSION, r->abi);
    for (size_t i = 0; i < sizeof impls / sizeof impls[0]; i++) {
        int rc = r->add_impl(r, &impls[i]);
        if (rc < 0)
            return sono_fail(err, rc, "opus_broken: registering %s failed", impls[i].name);
    }
    return 0;
}
