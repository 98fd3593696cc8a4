/* test_stream.c — the streaming mode's parts without the CLI (issue 12): the chunk layout
 * helpers (poison, copy) on outer/inner layouts, the settings from params, the stream vs
 * offline comparison, and every streaming impl added for stft, melspec and codec.opus
 * driven through push directly: over random chunk sizes (1 sample, odd sizes, more than
 * a frame) its concatenated output equals its own offline output, exactly where the impl
 * computes each frame the same way, within the op's tolerance otherwise. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "params.h"
#include "registry.h"
#include "stream.h"

static sono_reg R;

static int group_setup(void **state)
{
    (void)state;
    const char *b = getenv("SONO_BUILD");
    char dir[1100];
    snprintf(dir, sizeof dir, "%s/plugins", b && *b ? b : "build");
    if (sono_reg_init(&R, NULL))
        return -1;
    sono_reg_load_dir(&R, dir);
    return sono_reg_backend(&R, "cpu") ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    sono_reg_free(&R);
    return 0;
}

static uint64_t seed = 0x2545f4914f6cdd1dull;

static uint64_t next_u64(void) /* xorshift64* */
{
    seed ^= seed >> 12;
    seed ^= seed << 25;
    seed ^= seed >> 27;
    return seed * 0x2545f4914f6cdd1dull;
}

static float next_f(void) /* uniform in [-1, 1) */
{
    return (float)((double)(next_u64() >> 11) / 4503599627370496.0 - 1.0);
}

/* ---- layout helpers ------------------------------------------------------------------- */

/* 3 blocks of 5 steps of 2 floats, and one trailing float outside every step. */
static void test_layout_poison_copy(void **state)
{
    (void)state;
    sono_stream_layout l = {3, 5, 2};
    sono_buf src = {.dtype = SONO_F32, .ndim = 1, .shape = {31}};
    sono_buf dst = src;
    assert_int_equal(sono_buf_alloc(&src, NULL), 0);
    assert_int_equal(sono_buf_alloc(&dst, NULL), 0);
    float *s = src.data, *d = dst.data;
    for (int i = 0; i < 31; i++)
        s[i] = d[i] = (float)(i + 1);
    sono_error err = {0};
    assert_int_equal(sono_stream_layout_check(&l, &dst, "input", &err), 0);
    sono_stream_poison(&dst, &l);
    for (int i = 0; i < 30; i++)
        assert_true(isnan(d[i]));
    assert_true(d[30] == 31.0f); /* outside every step: untouched */

    sono_stream_copy(&dst, &src, &l, 1, 2); /* steps 1 and 2 of each block */
    for (int b = 0; b < 3; b++)
        for (int t = 0; t < 5; t++)
            for (int j = 0; j < 2; j++) {
                int at = (b * 5 + t) * 2 + j;
                if (t == 1 || t == 2)
                    assert_true(d[at] == (float)(at + 1));
                else
                    assert_true(isnan(d[at]));
            }
    sono_stream_copy(&dst, &src, &l, 0, 5);
    assert_memory_equal(d, s, 31 * sizeof(float));

    sono_stream_layout big = {4, 5, 2};
    assert_int_equal(sono_stream_layout_check(&big, &dst, "output", &err), SONO_EINTERNAL);
    assert_non_null(strstr(err.msg, "output"));
    sono_buf_free(&src);
    sono_buf_free(&dst);

    /* integers cannot hold NaN: -1, the out-of-range index */
    sono_buf codes = {.dtype = SONO_I32, .ndim = 2, .shape = {2, 4}};
    assert_int_equal(sono_buf_alloc(&codes, NULL), 0);
    memset(codes.data, 0, codes.nbytes);
    sono_stream_layout cl = {2, 4, 1};
    sono_stream_poison(&codes, &cl);
    for (int i = 0; i < 8; i++)
        assert_int_equal(((int32_t *)codes.data)[i], -1);
    sono_buf_free(&codes);
}

static void set_param(sono_params *p, const char *name, const char *v)
{
    const sono_param_spec *s = sono_op_param(sono_op_find("nop"), name);
    assert_non_null(s);
    for (int i = 0; i < p->count; i++)
        if (strcmp(p->v[i].name, name) == 0) {
            sono_param_free(&p->v[i]);
            assert_int_equal(sono_param_parse(s, v, &p->v[i], NULL), 0);
            return;
        }
    assert_int_equal(sono_param_parse(s, v, &p->v[p->count++], NULL), 0);
}

static void test_cfg(void **state)
{
    (void)state;
    sono_stream_shape s = {.in = {1, 16000, 1}, .out = {1, 16000, 1}, .step_rate = 16000};
    sono_params p = {0};
    sono_stream_cfg c;
    sono_error err = {0};
    assert_false(sono_stream_wanted(&p));
    set_param(&p, "chunk_ms", "20");
    assert_true(sono_stream_wanted(&p));
    assert_int_equal(sono_stream_cfg_get(&p, &s, &c, &err), 0);
    assert_int_equal(c.chunk, 320);
    assert_true(fabs(c.deadline_ns - 20e6) < 1e-6);
    assert_false(c.paced);
    assert_int_equal(c.repeat, 1);
    set_param(&p, "chunk", "7"); /* steps override ms */
    set_param(&p, "deadline_ms", "3");
    set_param(&p, "pace", "realtime");
    assert_int_equal(sono_stream_cfg_get(&p, &s, &c, &err), 0);
    assert_int_equal(c.chunk, 7);
    assert_true(fabs(c.chunk_ms - 7.0 / 16.0) < 1e-12);
    assert_true(fabs(c.deadline_ns - 3e6) < 1e-6);
    assert_true(c.paced);
    set_param(&p, "chunk", "16001");
    assert_int_equal(sono_stream_cfg_get(&p, &s, &c, &err), SONO_EINVAL);
    assert_non_null(strstr(err.msg, "longer than the input"));
    set_param(&p, "chunk", "0");
    set_param(&p, "chunk_ms", "0.01"); /* a sixth of a sample */
    assert_int_equal(sono_stream_cfg_get(&p, &s, &c, &err), SONO_EINVAL);
    assert_non_null(strstr(err.msg, "chunk_ms"));
    sono_params_free(&p);
}

static void test_compare(void **state)
{
    (void)state;
    sono_buf a = {.dtype = SONO_F32, .ndim = 1, .shape = {4}}, b = a;
    assert_int_equal(sono_buf_alloc(&a, NULL), 0);
    assert_int_equal(sono_buf_alloc(&b, NULL), 0);
    float x[4] = {3, 0, -4, 0};
    memcpy(a.data, x, sizeof x);
    memcpy(b.data, x, sizeof x);
    sono_stream_offline o;
    sono_stream_compare(&a, &b, &o);
    assert_true(o.exact && o.max_abs == 0 && o.rel_l2 == 0);
    ((float *)a.data)[1] = 0.5f; /* ||b|| = 5 */
    sono_stream_compare(&a, &b, &o);
    assert_false(o.exact);
    assert_true(fabs(o.max_abs - 0.5) < 1e-12 && fabs(o.rel_l2 - 0.1) < 1e-12);
    ((float *)a.data)[1] = NAN; /* a NaN where offline has a number: infinitely off */
    sono_stream_compare(&a, &b, &o);
    assert_true(isinf(o.max_abs));
    sono_buf_free(&a);
    sono_buf_free(&b);
}

/* ---- impls through push ------------------------------------------------------------------ */

typedef struct pcase {
    const char *op, *impl, *params; /* params: "k=v,k=v" */
    int exact;                      /* the stream must equal offline byte for byte */
    long long big;                  /* a chunk longer than a frame */
} pcase;

static void parse_params(const sono_op *op, const char *text, sono_params *p)
{
    char buf[512];
    snprintf(buf, sizeof buf, "%s", text);
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        char *eq = strchr(tok, '=');
        assert_non_null(eq);
        *eq = 0;
        const sono_param_spec *s = sono_op_param(op, tok);
        assert_non_null(s);
        assert_int_equal(sono_param_parse(s, eq + 1, &p->v[p->count++], NULL), 0);
    }
    sono_params_defaults(op, p);
}

/* One stream through st with chunk sizes drawn from sizes[]; out ends with its output. */
static void one_stream(const sono_impl *im, void *st, const sono_stream_shape *ss,
                       const sono_buf *in, sono_buf *work, sono_buf *out,
                       const long long *sizes, int nsizes)
{
    sono_error err = {0};
    for (size_t i = 0; i < out->nbytes / sizeof(float); i++)
        ((float *)out->data)[i] = NAN;
    sono_stream_poison(work, &ss->in);
    assert_int_equal(im->stream_begin(st, &err), 0);
    long long done = 0, steps = ss->in.steps;
    for (long long t0 = 0; t0 < steps;) {
        long long n = sizes[next_u64() % (uint64_t)nsizes];
        n = n > steps - t0 ? steps - t0 : n;
        sono_stream_copy(work, in, &ss->in, t0, n);
        long long was = done;
        int rc = im->push(st, t0, n, t0 + n == steps, out, &done, &err);
        if (rc)
            fail_msg("%s: push [%lld, %lld): %s", im->name, t0, t0 + n, err.msg);
        assert_true(done >= was && done <= ss->out.steps);
        t0 += n;
    }
    assert_int_equal(done, ss->out.steps);
}

static void stream_vs_offline(const pcase *pc)
{
    const sono_op *op = sono_op_find(pc->op);
    assert_non_null(op);
    sono_error err = {0};
    const sono_impl_entry *e = sono_reg_find(&R, op, pc->impl, &err);
    if (!e)
        fail_msg("%s %s: %s", pc->op, pc->impl, err.msg);
    const sono_impl *im = e->impl;
    assert_non_null(im->push);
    sono_params p = {0};
    parse_params(op, pc->params, &p);
    sono_buf in, out;
    op->shapes(&p, &in, &out);
    sono_buf off = out, work = in;
    assert_int_equal(sono_buf_alloc(&in, NULL), 0);
    assert_int_equal(sono_buf_alloc(&out, NULL), 0);
    assert_int_equal(sono_buf_alloc(&off, NULL), 0);
    assert_int_equal(sono_buf_alloc(&work, NULL), 0);
    for (long long i = 0; i < sono_buf_elems(&in); i++)
        ((float *)in.data)[i] = 0.5f * next_f();
    memcpy(work.data, in.data, in.nbytes);
    sono_stream_shape ss;
    assert_int_equal(op->stream_shape(&p, &ss, &err), 0);
    assert_int_equal(sono_stream_layout_check(&ss.in, &in, "input", &err), 0);
    assert_int_equal(sono_stream_layout_check(&ss.out, &out, "output", &err), 0);

    void *st = NULL;
    if (im->setup(im->ctx, &p, &st, &err) || im->load(st, &in, &err) || im->run(st) ||
        im->store(st, &off, &err))
        fail_msg("%s %s offline: %s", pc->op, pc->impl, err.msg);
    im->teardown(st);

    assert_int_equal(im->setup(im->ctx, &p, &st, &err), 0);
    assert_int_equal(im->load(st, &work, &err), 0);
    const long long sizes[] = {1, 3, 7, 13, 160, 333, pc->big};
    double tol = op->tolerance(&p, im->growth);
    for (int round = 0; round < 3; round++) { /* 1 sample only, then mixed, twice */
        one_stream(im, st, &ss, &in, &work, &out, sizes, round == 0 ? 1 : 7);
        sono_stream_offline o;
        sono_stream_compare(&out, &off, &o);
        if (pc->exact && !o.exact)
            fail_msg("%s %s %s round %d: stream differs from offline (max_abs %g)", pc->op,
                     pc->impl, pc->params, round, o.max_abs);
        if (!pc->exact && !(o.rel_l2 <= tol))
            fail_msg("%s %s %s round %d: rel_l2 %g vs offline > tol %g", pc->op, pc->impl,
                     pc->params, round, o.rel_l2, tol);
    }
    im->teardown(st);
    sono_buf_free(&in);
    sono_buf_free(&out);
    sono_buf_free(&off);
    sono_buf_free(&work);
    sono_params_free(&p);
}

static const pcase dsp_cases[] = {
    {"stft", "cpu/fast", "seconds=0.25,n_fft=512,hop=128", 1, 700},
    {"stft", "cpu/fast", "seconds=0.25,n_fft=512,hop=128,center=0,output=complex", 1, 700},
    {"stft", "cpu/fast", "seconds=0.2,n_fft=256,hop=300,center=0,output=magnitude", 1, 700},
    {"melspec", "cpu/fast", "seconds=0.25,n_fft=1024,hop=256,n_mels=64", 1, 1500},
    {"stft", "fftwblas/batched", "seconds=0.25,n_fft=512,hop=128,output=complex", 0, 700},
    {"melspec", "fftwblas/batched", "seconds=0.25,n_fft=1024,hop=256,n_mels=64,power=1", 0,
     1500},
};

static void test_dsp_stream_equals_offline(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof dsp_cases / sizeof dsp_cases[0]; i++)
        stream_vs_offline(&dsp_cases[i]);
}

/* The ring holds n_fft samples: hop 160 does not divide n_fft 400, and a 300-sample
 * window sits at offset 50, so frames and windows start anywhere in the ring and wrap
 * across its end; 1 s of input wraps it 40 times. */
static void test_ring_wraparound(void **state)
{
    (void)state;
    const pcase c[] = {
        {"stft", "cpu/fast", "seconds=1,n_fft=400,hop=160,win_length=300,window=hamming", 1, 401},
        {"stft", "cpu/fast", "seconds=1,n_fft=400,hop=160,win_length=300,center=0", 1, 401},
        {"stft", "fftwblas/batched", "seconds=1,n_fft=400,hop=160,win_length=300", 0, 401},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++)
        stream_vs_offline(&c[i]);
}

static void test_opus_stream_equals_offline(void **state)
{
    (void)state;
    if (!sono_reg_backend(&R, "opus"))
        skip();
    const pcase c[] = {
        {"codec.opus", "opus/libopus", "seconds=0.3", 1, 2000},
        {"codec.opus", "opus/libopus", "seconds=0.25,sample_rate=16000,frame_ms=10,mode=voip",
         1, 500},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++)
        stream_vs_offline(&c[i]);
}

static void test_nop_stream(void **state)
{
    (void)state;
    const pcase c = {"nop", "cpu/nop", "n=1000", 1, 999};
    stream_vs_offline(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layout_poison_copy),
        cmocka_unit_test(test_cfg),
        cmocka_unit_test(test_compare),
        cmocka_unit_test(test_dsp_stream_equals_offline),
        cmocka_unit_test(test_ring_wraparound),
        cmocka_unit_test(test_opus_stream_equals_offline),
        cmocka_unit_test(test_nop_stream),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
