/* test_dac_streams.c — codec.dac's streams param (issue 24, as codec.encodec's) on the
 * tiny transformers fixture (hop 8, 3 codebooks of 32): shapes (streams = 1 as before, a
 * leading [S] otherwise), cost and audio seconds S times one clip's; the S-stream
 * reference equals the streams = 1 reference run on each clip; cpu/naive and blas/dac
 * (the plugins, called directly) at streams 1 and 3 pass the op's check against the
 * float64 reference in every mode and give per clip what they give for that clip alone;
 * and `harness run` on 3 streams: every case ok, x real time over 3 clips of audio. */
#include "cli_util.h"

#include "buf.h"
#include "check.h"
#include "input.h"
#include "params.h"
#include "registry.h"

#define ES_TINY "tests/data/dac/tiny.safetensors"
#define ES_S 3

static const char *const es_modes[] = {"encode", "decode", "roundtrip"};
static const sono_op *es_op;
static sono_reg es_R;

static int es_setup(void **state)
{
    if (cl_setup(state))
        return -1;
    es_op = sono_op_find("codec.dac");
    const char *b = getenv("SONO_BUILD");
    char dir[1100];
    snprintf(dir, sizeof dir, "%s/plugins", b && *b ? b : "build");
    if (!es_op || sono_reg_init(&es_R, NULL))
        return -1;
    sono_reg_load_dir(&es_R, dir);
    return 0;
}

static int es_teardown(void **state)
{
    sono_reg_free(&es_R);
    return cl_teardown(state);
}

static void es_set(sono_params *p, const char *name, const char *text)
{
    for (int i = 0; i < p->count; i++)
        if (strcmp(p->v[i].name, name) == 0) {
            sono_error err = {0};
            sono_param_free(&p->v[i]);
            assert_int_equal(sono_param_parse(sono_op_param(es_op, name), text, &p->v[i], &err),
                             0);
            return;
        }
    fail_msg("no param %s", name);
}

/* The tiny model (n_q 3, hop 8) on 0.002 s: 88 samples, 11 frames a clip. */
static sono_params es_params(const char *mode, int streams)
{
    sono_params p = {0};
    char s[16];
    sono_params_defaults(es_op, &p);
    es_set(&p, "weights", ES_TINY);
    es_set(&p, "mode", mode);
    es_set(&p, "n_q", "3");
    es_set(&p, "seconds", "0.002");
    snprintf(s, sizeof s, "%d", streams);
    es_set(&p, "streams", s);
    sono_error err = {0};
    assert_int_equal(es_op->validate(&p, &err), 0);
    return p;
}

typedef struct es_case {
    sono_params p;
    sono_buf in, out, ref;
} es_case;

/* Buffers of p's shapes, the input from the noise generator and the reference. */
static void es_make(es_case *c, const char *mode, int streams)
{
    sono_error err = {0};
    sono_input_spec spec;
    c->p = es_params(mode, streams);
    es_op->shapes(&c->p, &c->in, &c->out);
    c->ref = c->out;
    c->ref.dtype = sono_dtype_wide(c->out.dtype);
    assert_int_equal(sono_buf_alloc(&c->in, &err), 0);
    assert_int_equal(sono_buf_alloc(&c->out, &err), 0);
    assert_int_equal(sono_buf_alloc(&c->ref, &err), 0);
    assert_int_equal(sono_input_parse("noise", ".", &spec, &err), 0);
    assert_int_equal(es_op->input(&c->p, &spec, es_op->rate(&c->p), &c->in, &err), 0);
    assert_int_equal(es_op->reference(&c->p, &c->in, &c->ref, &err), 0);
}

static void es_free(es_case *c)
{
    sono_buf_free(&c->in);
    sono_buf_free(&c->out);
    sono_buf_free(&c->ref);
    sono_params_free(&c->p);
}

static size_t es_clip_bytes(const sono_buf *b)
{
    return (size_t)(sono_buf_elems(b) / ES_S) * sono_dtype_size(b->dtype);
}

static void *es_clip(const sono_buf *b, int s)
{
    return (char *)b->data + (size_t)s * es_clip_bytes(b);
}

/* A streams = 1 case on clip s of c: its input is that clip, its reference computed. */
static void es_make_clip(es_case *one, const es_case *c, const char *mode, int s)
{
    sono_error err = {0};
    one->p = es_params(mode, 1);
    es_op->shapes(&one->p, &one->in, &one->out);
    one->ref = one->out;
    one->ref.dtype = sono_dtype_wide(one->out.dtype);
    assert_int_equal(sono_buf_alloc(&one->in, &err), 0);
    assert_int_equal(sono_buf_alloc(&one->out, &err), 0);
    assert_int_equal(sono_buf_alloc(&one->ref, &err), 0);
    assert_int_equal(one->in.nbytes >= es_clip_bytes(&c->in), 1);
    memcpy(one->in.data, es_clip(&c->in, s), es_clip_bytes(&c->in));
    assert_int_equal(es_op->reference(&one->p, &one->in, &one->ref, &err), 0);
}

static void shapes_and_cost(void **state)
{
    (void)state;
    for (int m = 0; m < 3; m++) {
        sono_params p1 = es_params(es_modes[m], 1), p3 = es_params(es_modes[m], ES_S);
        sono_buf i1, o1, i3, o3;
        es_op->shapes(&p1, &i1, &o1);
        es_op->shapes(&p3, &i3, &o3);
        /* streams = 1: the shapes of before the param (88 samples, [3, 11] codes) */
        const sono_buf *sig = m == 1 ? &o1 : &i1, *codes = m == 0 ? &o1 : &i1;
        if (m != 2) {
            assert_int_equal(codes->ndim, 2);
            assert_true(codes->shape[0] == 3 && codes->shape[1] == 11);
        }
        assert_int_equal(sig->ndim, 1);
        assert_int_equal(sig->shape[0], 88);
        /* S > 1: [S] in front of each */
        assert_int_equal(i3.ndim, i1.ndim + 1);
        assert_int_equal(o3.ndim, o1.ndim + 1);
        assert_true(i3.shape[0] == ES_S && o3.shape[0] == ES_S);
        for (int j = 0; j < i1.ndim; j++)
            assert_int_equal(i3.shape[j + 1], i1.shape[j]);
        for (int j = 0; j < o1.ndim; j++)
            assert_int_equal(o3.shape[j + 1], o1.shape[j]);
        sono_cost c1, c3;
        es_op->cost(&p1, &c1);
        es_op->cost(&p3, &c3);
        assert_true(c1.flops > 0 && fabs(c3.flops - ES_S * c1.flops) <= 1e-9 * c3.flops);
        assert_true(fabs(c3.bytes - ES_S * c1.bytes) <= 1e-9 * c3.bytes);
        assert_true(fabs(es_op->audio_seconds(&p1) - 88.0 / 44100) < 1e-12);
        assert_true(fabs(es_op->audio_seconds(&p3) - ES_S * 88.0 / 44100) < 1e-12);
        sono_params_free(&p1);
        sono_params_free(&p3);
    }
}

/* Clips are consecutive pieces of the signal (the first is streams = 1's input, no two
 * alike for noise); the reference of S clips is each clip's own; decode's input codes are
 * the reference encoder's codes of each clip. */
static void reference_is_per_stream(void **state)
{
    (void)state;
    es_case enc;
    es_make(&enc, "encode", ES_S);
    for (int m = 0; m < 3; m++) {
        es_case c, first;
        es_make(&c, es_modes[m], ES_S);
        es_make(&first, es_modes[m], 1);
        if (m != 1) {
            assert_memory_equal(first.in.data, c.in.data, es_clip_bytes(&c.in));
            assert_memory_not_equal(es_clip(&c.in, 0), es_clip(&c.in, 1),
                                    es_clip_bytes(&c.in));
        } else /* codes of clip s = encode's reference on clip s */
            assert_memory_equal(c.in.data, enc.ref.data, c.in.nbytes);
        for (int s = 0; s < ES_S; s++) {
            es_case one;
            es_make_clip(&one, &c, es_modes[m], s);
            assert_memory_equal(one.ref.data, es_clip(&c.ref, s), es_clip_bytes(&c.ref));
            es_free(&one);
        }
        es_free(&first);
        es_free(&c);
    }
    es_free(&enc);
}

static const sono_impl *es_impl(const char *name)
{
    sono_error err = {0};
    const sono_impl_entry *e = sono_reg_find(&es_R, es_op, name, &err);
    if (!e)
        fail_msg("%s not registered: %s", name, err.msg);
    return e->impl;
}

static void es_run(const sono_impl *im, const sono_params *p, const sono_buf *in,
                   sono_buf *out)
{
    sono_error err = {0};
    char why[512];
    void *st = NULL;
    if (im->supports(im->ctx, p, why, sizeof why))
        fail_msg("%s refused: %s", im->name, why);
    if (im->setup(im->ctx, p, &st, &err))
        fail_msg("%s setup: %s", im->name, err.msg);
    int rc = im->load(st, in, &err);
    if (!rc)
        rc = im->run(st);
    if (!rc)
        rc = im->store(st, out, &err);
    im->teardown(st);
    if (rc)
        fail_msg("%s failed (%d): %s", im->name, rc, err.msg);
}

/* Each impl at streams 1 (clip 0 alone) and 3 passes the op's check (codes exact up to
 * counted near-ties, audio within the op's tolerance of the float64 reference, clip by
 * clip). cpu/naive runs the same loops clip by clip: identical to streams = 1 bit for
 * bit. blas/dac puts every clip's columns in one SGEMM's N, where the blocking of N may
 * differ from one clip's: codes identical, audio within 1e-5 of the peak (each is within
 * the op's 1e-3 of the float64 reference; one SGEMM's sum of up to 1e4 terms in another
 * blocking moves by ~1e-6 relative). */
static void check_pass(const sono_impl *im, es_case *c, const char *mode, int S)
{
    sono_error err = {0};
    sono_check k = {0};
    double tol = es_op->tolerance(&c->p, im->growth);
    assert_int_equal(es_op->check(&c->p, &c->in, &c->out, &c->ref, tol, &k, &err), 0);
    if (!k.pass)
        fail_msg("%s %s streams=%d: %s", im->name, mode, S, k.detail);
    if (S > 1)
        assert_non_null(strstr(k.detail, "3 streams checked alone"));
}

static void impls_at_three_streams(void **state)
{
    (void)state;
    const char *impls[] = {"cpu/naive", "blas/dac"};
    for (int i = 0; i < 2; i++) {
        const sono_impl *im = es_impl(impls[i]);
        for (int m = 0; m < 3; m++) {
            es_case c;
            es_make(&c, es_modes[m], ES_S);
            es_run(im, &c.p, &c.in, &c.out);
            check_pass(im, &c, es_modes[m], ES_S);
            for (int s = 0; s < ES_S; s++) {
                es_case one;
                es_make_clip(&one, &c, es_modes[m], s);
                es_run(im, &one.p, &one.in, &one.out);
                check_pass(im, &one, es_modes[m], 1);
                size_t n = es_clip_bytes(&c.out);
                if (i == 0 || m == 0)
                    assert_memory_equal(one.out.data, es_clip(&c.out, s), n);
                else {
                    const float *a = one.out.data, *b = es_clip(&c.out, s);
                    double peak = 0, worst = 0;
                    for (size_t j = 0; j < n / sizeof(float); j++) {
                        peak = fmax(peak, fabs(a[j]));
                        worst = fmax(worst, fabs(a[j] - b[j]));
                    }
                    assert_true(peak > 0 && worst <= 1e-5 * peak);
                }
                es_free(&one);
            }
            es_free(&c);
        }
    }
}

static void harness_runs_streams(void **state)
{
    (void)state;
    char ini[PATH_MAX], out[PATH_MAX];
    snprintf(ini, sizeof ini, "%s/streams.ini", cl_tmp);
    snprintf(out, sizeof out, "%s/streams.json", cl_tmp);
    FILE *f = fopen(ini, "w");
    assert_non_null(f);
    fprintf(f, "[suite]\ndescription = streams\ninputs = noise\nbudget_s = 0.02\n"
               "warmup_s = 0\nmin_time_s = 0.005\nmax_samples = 3\n\n"
               "[s3]\nop = codec.dac\nimpls = cpu/naive, blas/dac\n"
               "weights = %s/" ES_TINY "\nmode = encode, decode, roundtrip\n"
               "n_q = 3\nseconds = 0.002\nstreams = 3\n",
            cl_root);
    fclose(f);
    cl_res r;
    cl_h(&r, NULL, "run", ini, "--out", out, "--quiet", NULL);
    cl_expect_code(&r, 0);
    cl_free(&r);
    json_t *doc = cl_load(out), *c;
    json_t *cases = json_object_get(doc, "cases");
    size_t i, ok = 0;
    json_array_foreach(cases, i, c) {
        const char *id = cl_str(c, "id"), *status = cl_str(c, "status");
        assert_non_null(strstr(id, "streams=3"));
        if (strcmp(status, "ok"))
            fail_msg("%s: %s", id, status);
        assert_true(json_is_true(cl_get(c, "check.pass")));
        assert_true(fabs(cl_num(c, "input.audio_s") - 3 * 88.0 / 44100) < 1e-12);
        ok++;
    }
    assert_int_equal(ok, 6);
    json_decref(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(shapes_and_cost),
        cmocka_unit_test(reference_is_per_stream),
        cmocka_unit_test(impls_at_three_streams),
        cmocka_unit_test(harness_runs_streams),
    };
    return cmocka_run_group_tests(tests, es_setup, es_teardown);
}
