/* stream_util.h — what the streaming tests share (issue 12): the plugins through the
 * registry, params from text, the offline lifecycle of an impl, and a streaming driver
 * that feeds the input in chunks as the core will (later steps poisoned with NaN, every
 * output step collected when push reports it done) to compare with the offline output.
 * Include after cmocka.h, in one test program. */
#ifndef STREAM_UTIL_H
#define STREAM_UTIL_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "check.h"
#include "input.h"
#include "op.h"
#include "params.h"
#include "registry.h"

static sono_reg su_R;

static int su_setup(void **state)
{
    (void)state;
    const char *b = getenv("SONO_BUILD");
    char dir[1100];
    snprintf(dir, sizeof dir, "%s/plugins", b && *b ? b : "build");
    if (sono_reg_init(&su_R, NULL))
        return -1;
    sono_reg_load_dir(&su_R, dir);
    if (!sono_reg_backend(&su_R, "cpu") || !sono_reg_backend(&su_R, "blas")) {
        fprintf(stderr, "no cpu or blas plugin under %s (run make all)\n", dir);
        return -1;
    }
    return 0;
}

static int su_teardown(void **state)
{
    (void)state;
    sono_reg_free(&su_R);
    return 0;
}

static const sono_impl_entry *su_find(const char *op, const char *name)
{
    sono_error err = {0};
    const sono_op *o = sono_op_find(op);
    assert_non_null(o);
    const sono_impl_entry *e = sono_reg_find(&su_R, o, name, &err);
    if (!e)
        fail_msg("%s %s: %s", op, name, err.msg);
    return e;
}

/* Params of op from "name=value" strings (NULL-terminated), defaults for the rest. */
static sono_params su_params(const char *opname, const char *const *kv)
{
    const sono_op *op = sono_op_find(opname);
    assert_non_null(op);
    sono_params p = {0};
    for (int i = 0; kv[i]; i++) {
        char name[64];
        const char *eq = strchr(kv[i], '=');
        assert_non_null(eq);
        snprintf(name, sizeof name, "%.*s", (int)(eq - kv[i]), kv[i]);
        const sono_param_spec *spec = sono_op_param(op, name);
        if (!spec)
            fail_msg("%s has no parameter %s", opname, name);
        sono_error err = {0};
        if (sono_param_parse(spec, eq + 1, &p.v[p.count++], &err))
            fail_msg("%s: %s", kv[i], err.msg);
    }
    sono_params_defaults(op, &p);
    sono_error err = {0};
    if (op->validate && op->validate(&p, &err))
        fail_msg("%s: %s", opname, err.msg);
    return p;
}

/* The op's own input for p (op->input, or noise when it builds none), allocated. */
static void su_input(const sono_op *op, const sono_params *p, sono_buf *in, sono_buf *out)
{
    sono_error err = {0};
    op->shapes(p, in, out);
    assert_int_equal(sono_buf_alloc(in, NULL), 0);
    assert_int_equal(sono_buf_alloc(out, NULL), 0);
    sono_input_spec spec;
    assert_int_equal(sono_input_parse("noise(seed=7)", ".", &spec, &err), 0);
    double rate = op->rate ? op->rate(p) : 24000;
    if (op->input) {
        if (op->input(p, &spec, rate, in, &err))
            fail_msg("%s input: %s", op->name, err.msg);
    } else if (sono_input_fill(&spec, rate, in, &rate, &err)) {
        fail_msg("%s noise: %s", op->name, err.msg);
    }
}

/* setup, load, run, store: the offline output into out; returns the workspace. */
static size_t su_offline(const sono_impl_entry *e, const sono_params *p, const sono_buf *in,
                         sono_buf *out)
{
    const sono_impl *im = e->impl;
    sono_error err = {0};
    void *st = NULL;
    if (im->setup(im->ctx, p, &st, &err))
        fail_msg("%s setup: %s", e->full, err.msg);
    if (im->load(st, in, &err))
        fail_msg("%s load: %s", e->full, err.msg);
    assert_int_equal(im->run(st), 0);
    if (im->store(st, out, &err))
        fail_msg("%s store: %s", e->full, err.msg);
    size_t ws = im->workspace ? im->workspace(st) : 0;
    im->teardown(st);
    return ws;
}

/* The float64 reference of the op into a malloc'ed array of out's elements. */
static double *su_reference(const sono_op *op, const sono_params *p, const sono_buf *in,
                            const sono_buf *out)
{
    sono_buf ref = *out;
    ref.dtype = sono_dtype_wide(out->dtype);
    ref.nbytes = sizeof(double) * (size_t)sono_buf_elems(out);
    ref.data = malloc(ref.nbytes);
    assert_non_null(ref.data);
    sono_error err = {0};
    if (op->reference(p, in, &ref, &err))
        fail_msg("%s reference: %s", op->name, err.msg);
    return ref.data;
}

/* splitmix64 */
static uint64_t su_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* A chunk size: a third of the time 1 step, a third up to `frame`, a third up to
 * 3 * frame (larger than a frame or a stride). */
static long long su_chunk(uint64_t *s, long long frame)
{
    uint64_t r = su_next(s);
    frame = frame < 1 ? 1 : frame;
    switch (r % 3) {
    case 0: return 1;
    case 1: return 1 + (long long)((r >> 8) % (uint64_t)frame);
    default: return 1 + (long long)((r >> 8) % (uint64_t)(3 * frame));
    }
}

typedef struct su_stream_info {
    int pushes;
    long long max_done_jump; /* most output steps one push completed */
    size_t workspace;
} su_stream_info;

/* Streams full (the whole input) through e in chunks drawn from seed (chunks[] when not
 * NULL: fixed sizes, cycled) and returns, in a new buffer of out's shape, every output
 * step as it stood when push first reported it done. The input the impl sees holds NaN
 * past the chunk, as the core's does. */
static float *su_stream(const sono_impl_entry *e, const sono_params *p, const sono_buf *full,
                        const sono_buf *outdesc, uint64_t seed, long long frame,
                        const long long *chunks, su_stream_info *info)
{
    const sono_impl *im = e->impl;
    sono_error err = {0};
    sono_stream_shape ss;
    assert_non_null(e->op->stream_shape);
    if (e->op->stream_shape(p, &ss, &err))
        fail_msg("%s stream_shape: %s", e->op->name, err.msg);
    assert_non_null(im->stream_begin);
    assert_non_null(im->push);
    sono_buf in = *full, out = *outdesc;
    in.data = NULL;
    out.data = NULL;
    assert_int_equal(sono_buf_alloc(&in, NULL), 0);
    assert_int_equal(sono_buf_alloc(&out, NULL), 0);
    const float *src = full->data;
    float *x = in.data;
    long long es = ss.in.steps * ss.in.inner; /* floats per block */
    memcpy(x, src, full->nbytes);
    for (long long b = 0; b < ss.in.outer; b++)
        for (long long i = 0; i < es; i++)
            x[b * es + i] = NAN;
    float *got = malloc(out.nbytes);
    assert_non_null(got);
    float *o = out.data;
    for (long long i = 0; i < sono_buf_elems(&out); i++)
        o[i] = got[i] = NAN;

    void *st = NULL;
    if (im->setup(im->ctx, p, &st, &err))
        fail_msg("%s setup: %s", e->full, err.msg);
    if (im->load(st, &in, &err))
        fail_msg("%s load: %s", e->full, err.msg);
    if (im->stream_begin(st, &err))
        fail_msg("%s stream_begin: %s", e->full, err.msg);
    long long t0 = 0, done = 0, oes = ss.out.steps * ss.out.inner;
    int k = 0;
    memset(info, 0, sizeof *info);
    while (t0 < ss.in.steps) {
        long long n = chunks ? chunks[k++ % 8] : su_chunk(&seed, frame);
        n = n > ss.in.steps - t0 ? ss.in.steps - t0 : n;
        for (long long b = 0; b < ss.in.outer; b++)
            memcpy(x + b * es + t0 * ss.in.inner, src + b * es + t0 * ss.in.inner,
                   sizeof(float) * (size_t)(n * ss.in.inner));
        int last = t0 + n == ss.in.steps;
        long long now = done;
        if (im->push(st, t0, n, last, &out, &now, &err))
            fail_msg("%s push [%lld, %lld): %s", e->full, t0, t0 + n, err.msg);
        if (now < done || now > ss.out.steps)
            fail_msg("%s push [%lld, %lld): done went from %lld to %lld of %lld", e->full, t0,
                     t0 + n, done, now, ss.out.steps);
        for (long long b = 0; b < ss.out.outer; b++)
            memcpy(got + b * oes + done * ss.out.inner, o + b * oes + done * ss.out.inner,
                   sizeof(float) * (size_t)((now - done) * ss.out.inner));
        info->max_done_jump = now - done > info->max_done_jump ? now - done
                                                                : info->max_done_jump;
        info->pushes++;
        done = now;
        t0 += n;
    }
    if (done != ss.out.steps)
        fail_msg("%s: after the last push %lld of %lld output steps are done", e->full, done,
                 ss.out.steps);
    info->workspace = im->workspace ? im->workspace(st) : 0;
    im->teardown(st);
    sono_buf_free(&in);
    sono_buf_free(&out);
    return got;
}

/* Largest |a - b| over n floats, NaN (a step never written) counted as infinite. */
static double su_maxdiff(const float *a, const float *b, long long n)
{
    double m = 0;
    for (long long i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (d != d)
            return INFINITY;
        m = d > m ? d : m;
    }
    return m;
}

/* Relative L2 of float32 a against the float64 truth r. */
static double su_rel_l2(const float *a, const double *r, long long n)
{
    double num = 0, den = 0;
    for (long long i = 0; i < n; i++) {
        double d = (double)a[i] - r[i];
        num += d * d;
        den += r[i] * r[i];
    }
    return den > 0 ? sqrt(num / den) : sqrt(num);
}

#endif
