/* test_stream_encodec.c — issue 12 part C: codec.encodec streamed (cpu/naive, blas/encodec) on
 * the tiny fixture model. Over random chunks (1 sample, odd sizes, past a hop) the streamed
 * encode, decode and round trip equal the offline ones (bit for bit on cpu/naive, by the
 * op's own check on blas) and pass the float64 reference; each output step comes no later
 * than the op's algorithmic latency allows and never before its frame is in; an impl fed
 * one poisoned sample fails the comparison; bad pushes and codes are refused by name; the
 * state does not grow with the signal; stream_shape's figures for the 24 kHz model. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "stream.h"
#include "stream_util.h"

#define TINY "weights=tests/fixtures/encodec/tiny.safetensors"
#define TINY_HOP 8 /* upsampling_ratios [2, 4] */

static const char *const es_impls[] = {"cpu/naive", "blas/encodec"};
static const char *const es_modes[] = {"mode=encode", "mode=decode", "mode=roundtrip"};

static sono_params es_p(int mode, const char *seconds)
{
    const char *kv[] = {TINY, es_modes[mode], "bandwidth=72", seconds, NULL};
    return su_params("codec.encodec", kv);
}

typedef struct es_run {
    sono_buf out;         /* every output step as push first reported it done */
    long long fed[4096];  /* input steps in after each push */
    long long done[4096]; /* output steps done after it */
    int pushes;
    size_t workspace;
} es_run;

/* Streams in through e as the core does (sono_stream_poison / sono_stream_copy: NaN, or -1
 * for codes, past the chunk), chunks from seed or cycled from chunks[8]. hide_last: each
 * push claims one step more than was copied in (a planted peek). */
static void es_stream(const sono_impl_entry *e, const sono_params *p, const sono_buf *in,
                      const sono_buf *outdesc, uint64_t seed, const long long *chunks,
                      int hide_last, es_run *r)
{
    const sono_impl *im = e->impl;
    sono_error err = {0};
    sono_stream_shape ss;
    if (e->op->stream_shape(p, &ss, &err))
        fail_msg("stream_shape: %s", err.msg);
    sono_buf work = *in, out = *outdesc;
    work.data = out.data = NULL;
    r->out = *outdesc;
    r->out.data = NULL;
    assert_int_equal(sono_buf_alloc(&work, NULL), 0);
    assert_int_equal(sono_buf_alloc(&out, NULL), 0);
    assert_int_equal(sono_buf_alloc(&r->out, NULL), 0);
    memcpy(work.data, in->data, in->nbytes);
    sono_stream_poison(&work, &ss.in);
    sono_stream_poison(&out, &ss.out);
    sono_stream_poison(&r->out, &ss.out);
    void *st = NULL;
    if (im->setup(im->ctx, p, &st, &err) || im->load(st, &work, &err) ||
        im->stream_begin(st, &err))
        fail_msg("%s setup, load or stream_begin: %s", e->full, err.msg);
    long long t0 = 0, done = 0;
    int k = 0;
    r->pushes = 0;
    while (t0 < ss.in.steps) {
        long long n = chunks ? chunks[k++ % 8] : su_chunk(&seed, TINY_HOP);
        n = n > ss.in.steps - t0 ? ss.in.steps - t0 : n;
        sono_stream_copy(&work, in, &ss.in, t0, hide_last && n > 1 ? n - 1 : n);
        long long now = done;
        if (im->push(st, t0, n, t0 + n == ss.in.steps, &out, &now, &err))
            fail_msg("%s push [%lld, %lld): %s", e->full, t0, t0 + n, err.msg);
        if (now < done || now > ss.out.steps)
            fail_msg("%s: done went from %lld to %lld of %lld", e->full, done, now,
                     ss.out.steps);
        sono_stream_copy(&r->out, &out, &ss.out, done, now - done);
        assert_true(r->pushes < 4096);
        r->fed[r->pushes] = t0 + n;
        r->done[r->pushes++] = now;
        done = now;
        t0 += n;
    }
    assert_int_equal(done, ss.out.steps);
    r->workspace = im->workspace ? im->workspace(st) : 0;
    im->teardown(st);
    sono_buf_free(&work);
    sono_buf_free(&out);
}

/* The op's check of got against ref (a float64 copy of `ref_out` when ref is NULL: the
 * offline output standing in for the reference, as the harness does). */
static int es_check(const sono_op *op, const sono_params *p, const sono_buf *in,
                    const sono_buf *got, const sono_buf *ref_out, const double *ref, char *why)
{
    sono_buf r = *got;
    r.dtype = sono_dtype_wide(got->dtype);
    r.data = NULL;
    assert_int_equal(sono_buf_alloc(&r, NULL), 0);
    long long n = sono_buf_elems(got);
    if (got->dtype == SONO_I32) /* codes stay int32 */
        memcpy(r.data, ref_out->data, ref_out->nbytes);
    else
        for (long long i = 0; i < n; i++)
            ((double *)r.data)[i] = ref ? ref[i] : ((const float *)ref_out->data)[i];
    sono_check c = {0};
    sono_error err = {0};
    double tol = op->tolerance(p, SONO_ERR_LINEAR);
    int rc = op->check(p, in, got, &r, tol, &c, &err);
    snprintf(why, 512, "%s %s", err.msg, c.detail);
    sono_buf_free(&r);
    return !rc && c.pass;
}

static void es_compare(int mode, const char *seconds, const long long *chunks, uint64_t seeds)
{
    const sono_op *op = sono_op_find("codec.encodec");
    sono_params p = es_p(mode, seconds);
    sono_buf in, off;
    su_input(op, &p, &in, &off);
    double *ref = mode == 0 ? NULL : su_reference(op, &p, &in, &off);
    char why[512];
    for (size_t m = 0; m < 2; m++) {
        const sono_impl_entry *e = su_find("codec.encodec", es_impls[m]);
        su_offline(e, &p, &in, &off);
        if (mode && !es_check(op, &p, &in, &off, NULL, ref, why))
            fail_msg("%s %s offline vs the reference: %s", es_impls[m], es_modes[mode], why);
        for (uint64_t seed = 1; seed <= seeds; seed++) {
            es_run r;
            es_stream(e, &p, &in, &off, seed, chunks, 0, &r);
            int same = memcmp(r.out.data, off.data, off.nbytes) == 0;
            if (m == 0 && !same)
                fail_msg("cpu/naive %s seed %d: the stream differs from the offline output",
                         es_modes[mode], (int)seed);
            if (!same && !es_check(op, &p, &in, &r.out, &off, NULL, why))
                fail_msg("%s %s seed %d: stream vs offline: %s", es_impls[m], es_modes[mode],
                         (int)seed, why);
            if (mode && !es_check(op, &p, &in, &r.out, NULL, ref, why))
                fail_msg("%s %s seed %d: stream vs the reference: %s", es_impls[m],
                         es_modes[mode], (int)seed, why);
            sono_buf_free(&r.out);
        }
    }
    free(ref);
    sono_buf_free(&in);
    sono_buf_free(&off);
    sono_params_free(&p);
}

static void stream_equals_offline(void **state)
{
    (void)state;
    for (int mode = 0; mode < 3; mode++)
        es_compare(mode, "seconds=0.0213", NULL, 3);
}

/* Fixed patterns: one step at a time; odd sizes around a hop; chunks of many hops (the
 * impls cut them into rounds) mixed with single steps; the whole input in one push. */
static void stream_chunk_patterns(void **state)
{
    (void)state;
    const long long ones[8] = {1, 1, 1, 1, 1, 1, 1, 1};
    const long long odd[8] = {3, 7, 9, 5, 11, 1, 13, 17};
    const long long big[8] = {1, 100, 3, 1, 41, 1, 7, 250};
    const long long all[8] = {1 << 20, 1, 1, 1, 1, 1, 1, 1};
    for (int mode = 0; mode < 3; mode++) {
        es_compare(mode, "seconds=0.0213", ones, 1);
        es_compare(mode, "seconds=0.0213", odd, 1);
        es_compare(mode, "seconds=0.0213", big, 1);
        es_compare(mode, "seconds=0.0213", all, 1);
    }
    /* 3 frames, fewer than the decoder's first padding (4): the offline zero extension,
     * streamed */
    for (int mode = 0; mode < 3; mode++)
        es_compare(mode, "seconds=0.001", ones, 1);
}

/* Output step u is due once the input holds every step it reads: after fed input steps,
 * every u with start(u) + A <= fed is done (A: stream_shape's algo latency in input steps,
 * the worst over all u), and none whose own frame is not in yet (before the last push). */
static void stream_emits_on_time(void **state)
{
    (void)state;
    const sono_op *op = sono_op_find("codec.encodec");
    const long long ones[8] = {1, 1, 1, 1, 1, 1, 1, 1};
    for (int mode = 0; mode < 3; mode++) {
        sono_params p = es_p(mode, "seconds=0.0213");
        sono_buf in, off;
        su_input(op, &p, &in, &off);
        sono_stream_shape ss;
        assert_int_equal(op->stream_shape(&p, &ss, NULL), 0);
        /* A in output steps for decode (samples), in samples otherwise */
        long long A = llround(ss.algo_latency_s * 24000);
        assert_true(A >= TINY_HOP);
        for (size_t m = 0; m < 2; m++) {
            es_run r;
            es_stream(su_find("codec.encodec", es_impls[m]), &p, &in, &off, 0, ones, 0, &r);
            for (int i = 0; i + 1 < r.pushes; i++) {
                long long f = r.fed[i], d = r.done[i], lo, hi;
                if (mode == 0) { /* frames t with t hop + A <= f; at most f / hop */
                    lo = f >= A ? (f - A) / TINY_HOP + 1 : 0;
                    hi = f / TINY_HOP;
                } else if (mode == 1) { /* samples u with u + A <= f hop; at most f hop */
                    lo = f * TINY_HOP - A + 1;
                    hi = f * TINY_HOP;
                } else { /* samples u with u + A <= f; at most the whole frames in */
                    lo = f - A + 1;
                    hi = f / TINY_HOP * TINY_HOP;
                }
                lo = lo < 0 ? 0 : lo;
                if (d < lo || d > hi)
                    fail_msg("%s %s: after %lld input steps %lld outputs done, expected %lld "
                             "to %lld", es_impls[m], es_modes[mode], f, d, lo, hi);
            }
            sono_buf_free(&r.out);
        }
        sono_buf_free(&in);
        sono_buf_free(&off);
        sono_params_free(&p);
    }
}

/* The poisoning catches a peek: with the last step of every chunk left NaN (claimed but
 * not there), the streamed codes fail the harness's comparison with the offline ones (the
 * NaN reaches the RVQ, whose search then keeps code 0). Codes, not audio: the tiny model's
 * random decoder hardly depends on them. */
static void peek_is_caught(void **state)
{
    (void)state;
    const sono_op *op = sono_op_find("codec.encodec");
    const long long odd[8] = {3, 7, 9, 5, 11, 2, 13, 17};
    sono_params p = es_p(0, "seconds=0.0213");
    sono_buf in, off;
    su_input(op, &p, &in, &off);
    for (size_t m = 0; m < 2; m++) {
        const sono_impl_entry *e = su_find("codec.encodec", es_impls[m]);
        su_offline(e, &p, &in, &off);
        es_run r;
        es_stream(e, &p, &in, &off, 0, odd, 1, &r);
        char why[512];
        if (es_check(op, &p, &in, &r.out, &off, NULL, why))
            fail_msg("%s: codes of a stream fed NaN passed as the offline ones", es_impls[m]);
        sono_buf_free(&r.out);
    }
    sono_buf_free(&in);
    sono_buf_free(&off);
    sono_params_free(&p);
}

/* Out-of-order pushes and codes outside the codebook are refused by name; codes the core
 * poisoned (-1: not arrived) pass load for a stream but not an offline run. */
static void bad_pushes_refused(void **state)
{
    (void)state;
    const sono_op *op = sono_op_find("codec.encodec");
    sono_params p = es_p(1, "seconds=0.0213");
    sono_buf in, out;
    su_input(op, &p, &in, &out);
    for (size_t m = 0; m < 2; m++) {
        const sono_impl *im = su_find("codec.encodec", es_impls[m])->impl;
        sono_error err = {0};
        void *st = NULL;
        int32_t *c = in.data, keep = c[3];
        c[3] = -1; /* stage 0, frame 3 */
        assert_int_equal(im->setup(im->ctx, &p, &st, &err), 0);
        assert_int_equal(im->load(st, &in, &err), 0);
        assert_int_not_equal(im->run(st), 0);
        assert_int_equal(im->stream_begin(st, &err), 0);
        long long done = 0;
        assert_int_equal(im->push(st, 1, 2, 0, &out, &done, &err), SONO_EINVAL);
        assert_non_null(strstr(err.msg, "push of steps [1, 3)"));
        assert_int_equal(im->push(st, 0, 3, 0, &out, &done, &err), 0);
        err.msg[0] = 0;
        assert_int_equal(im->push(st, 3, 1, 0, &out, &done, &err), SONO_EINVAL);
        assert_non_null(strstr(err.msg, "code -1 of stage 0, frame 3 is outside [0, 64)"));
        c[3] = keep;
        im->teardown(st);
        c[5] = 64; /* a code no stream or load accepts */
        assert_int_equal(im->setup(im->ctx, &p, &st, &err), 0);
        assert_int_equal(im->load(st, &in, &err), SONO_EINVAL);
        assert_non_null(strstr(err.msg, "code 64 at 5 is outside [0, 64)"));
        im->teardown(st);
        c[5] = 0;
    }
    sono_buf_free(&in);
    sono_buf_free(&out);
    sono_params_free(&p);
}

/* What a stream adds to the workspace is per-layer history and LSTM state: the same for a
 * signal four times as long. */
static void state_does_not_grow_with_the_signal(void **state)
{
    (void)state;
    const sono_op *op = sono_op_find("codec.encodec");
    const char *secs[2] = {"seconds=0.05", "seconds=0.2"};
    for (int mode = 0; mode < 3; mode++)
        for (size_t m = 0; m < 2; m++) {
            size_t extra[2];
            for (int i = 0; i < 2; i++) {
                sono_params p = es_p(mode, secs[i]);
                sono_buf in, off;
                su_input(op, &p, &in, &off);
                const sono_impl_entry *e = su_find("codec.encodec", es_impls[m]);
                size_t ws = su_offline(e, &p, &in, &off);
                const long long hops[8] = {8, 8, 8, 8, 8, 8, 8, 8};
                es_run r;
                es_stream(e, &p, &in, &off, 0, hops, 0, &r);
                assert_true(r.workspace > ws);
                extra[i] = r.workspace - ws;
                sono_buf_free(&r.out);
                sono_buf_free(&in);
                sono_buf_free(&off);
                sono_params_free(&p);
            }
            if (extra[0] != extra[1])
                fail_msg("%s %s: the stream's state is %zu bytes on 0.05 s, %zu on 0.2 s",
                         es_impls[m], es_modes[mode], extra[0], extra[1]);
        }
}

/* The 24 kHz model's stream shape, by hand from encodec.h. Encode: the last conv (kernel
 * 7, reflect) makes frame 0 read frame 6, which the strided convs (kernels 16, 10, 8, 4 on
 * strides 8, 5, 4, 2) read up to sample 7 * 320 - 1 = 2239: 2240 samples, 93.3 ms, more
 * than the steady hop (320). Decode: the first conv makes sample 0 read frame 6, whose
 * audio ends at 7 * 320. Round trip: the same frame 6, then the encoder's 2239. */
static void stream_shape_24k(void **state)
{
    (void)state;
    const sono_op *op = sono_op_find("codec.encodec");
    const sono_param_spec *spec;
    for (int mode = 0; mode < 3; mode++) {
        sono_params p = {0};
        sono_error err = {0};
        const char *kv[2] = {es_modes[mode] + 5, "2"};
        assert_non_null(spec = sono_op_param(op, "mode"));
        assert_int_equal(sono_param_parse(spec, kv[0], &p.v[p.count++], &err), 0);
        assert_non_null(spec = sono_op_param(op, "seconds"));
        assert_int_equal(sono_param_parse(spec, kv[1], &p.v[p.count++], &err), 0);
        sono_params_defaults(op, &p); /* weights=random: the 24 kHz config, no file read */
        sono_stream_shape s;
        assert_int_equal(op->stream_shape(&p, &s, &err), 0);
        sono_stream_layout sig = {1, 48000, 1}, codes = {8, 150, 1}; /* 6 kbps: 8 stages */
        const sono_stream_layout *in = mode == 1 ? &codes : &sig, *out = mode == 0 ? &codes
                                                                                   : &sig;
        assert_true(s.in.outer == in->outer && s.in.steps == in->steps && s.in.inner == 1);
        assert_true(s.out.outer == out->outer && s.out.steps == out->steps &&
                    s.out.inner == 1);
        assert_true(s.step_rate == (mode == 1 ? 75.0 : 24000.0));
        assert_true(fabs(s.algo_latency_s - 2240.0 / 24000) < 1e-12);
        sono_params_free(&p);
    }
}

int main(void)
{
    (void)su_stream; /* stream_util.h's float-only driver: es_stream handles codes too */
    (void)su_rel_l2;
    (void)su_maxdiff;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(stream_equals_offline),
        cmocka_unit_test(stream_chunk_patterns),
        cmocka_unit_test(stream_emits_on_time),
        cmocka_unit_test(peek_is_caught),
        cmocka_unit_test(bad_pushes_refused),
        cmocka_unit_test(state_does_not_grow_with_the_signal),
        cmocka_unit_test(stream_shape_24k),
    };
    return cmocka_run_group_tests(tests, su_setup, su_teardown);
}
