/* test_calibration.c — the calibration work: the triad and sgemm ops (references against
 * values worked out by hand, cost models), cpu/triad and blas/sgemm through their whole
 * lifecycle, the calibration file (round trip, other hosts kept, malformed files), the
 * roofline bound on hand-computed numbers, and `harness calibrate --quick` end to end. */
#include "cli_util.h"

#include <float.h>

#include "calibration.h"
#include "check.h"
#include "op.h"
#include "registry.h"

static sono_reg tc_R;

static int tc_setup(void **state)
{
    const char *b = getenv("SONO_BUILD");
    char dir[1100];
    snprintf(dir, sizeof dir, "%s/plugins", b && *b ? b : "build");
    if (sono_reg_init(&tc_R, NULL))
        return -1;
    sono_reg_load_dir(&tc_R, dir);
    if (!sono_reg_backend(&tc_R, "cpu") || !sono_reg_backend(&tc_R, "blas")) {
        fprintf(stderr, "test_calibration: no cpu or blas plugin under %s (make all)\n", dir);
        return -1;
    }
    return cl_setup(state);
}

static int tc_teardown(void **state)
{
    sono_reg_free(&tc_R);
    return cl_teardown(state);
}

static sono_params tc_params(const char *const *names, const long long *vals, int n)
{
    sono_params p = {0};
    for (int i = 0; i < n; i++)
        p.v[p.count++] = (sono_param){.name = names[i], .type = SONO_PINT, .i = vals[i]};
    return p;
}

static void *tc_alloc(size_t bytes)
{
    void *p = aligned_alloc(64, (bytes + 63) / 64 * 64 + 64);
    assert_non_null(p);
    return p;
}

static uint64_t tc_seed = 0x243f6a8885a308d3ull;

static float tc_rand(void) /* xorshift64*, uniform in [-1, 1) */
{
    tc_seed ^= tc_seed >> 12;
    tc_seed ^= tc_seed << 25;
    tc_seed ^= tc_seed >> 27;
    return (float)((double)((tc_seed * 0x2545f4914f6cdd1dull) >> 11) * 0x1p-52 - 1.0);
}

/* ---- the ops -------------------------------------------------------------------------- */

static void tc_triad_reference(void **state)
{
    (void)state;
    const sono_op *op = sono_op_find("triad");
    assert_non_null(op);
    sono_params p = tc_params((const char *[]){"n"}, (long long[]){5}, 1);
    sono_buf in, out;
    op->shapes(&p, &in, &out);
    assert_int_equal(in.dtype, SONO_F32);
    assert_int_equal(in.ndim, 2);
    assert_int_equal(in.shape[0], 2);
    assert_int_equal(in.shape[1], 5);
    assert_int_equal(out.ndim, 1);
    assert_int_equal(out.shape[0], 5);
    /* rows b then c; a = b + 3c by hand */
    float x[10] = {1, -2, 0.5f, 0, 0.001f, /* c: */ 2, 1, -0.25f, 4, 0};
    double a[5], want[5] = {7, 1, -0.25, 12, (double)0.001f};
    in.data = x;
    in.nbytes = sizeof x;
    sono_buf ref = {.dtype = SONO_F64, .ndim = 1, .shape = {5}, .data = a, .nbytes = sizeof a};
    assert_int_equal(op->reference(&p, &in, &ref, NULL), 0);
    for (int i = 0; i < 5; i++)
        assert_true(a[i] == want[i]);
    sono_cost c;
    op->cost(&p, &c);
    assert_true(c.flops == 10 && c.bytes == 60); /* STREAM: 2 flops, 12 bytes per element */
    assert_true(op->tolerance(&p, SONO_ERR_LOG) == 2 * FLT_EPSILON);
}

static void tc_sgemm_reference(void **state)
{
    (void)state;
    const sono_op *op = sono_op_find("sgemm");
    assert_non_null(op);
    static const char *const mnk[] = {"m", "n", "k"};
    /* A [2,3] = 1..6, B [3,2] = 7..12: C = [[58, 64], [139, 154]] */
    sono_params p = tc_params(mnk, (long long[]){2, 2, 3}, 3);
    sono_buf in, out;
    op->shapes(&p, &in, &out);
    assert_int_equal(in.ndim, 1);
    assert_int_equal(in.shape[0], 2 * 3 + 3 * 2);
    assert_int_equal(out.ndim, 2);
    assert_true(out.shape[0] == 2 && out.shape[1] == 2);
    float x[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    double c[4];
    in.data = x;
    sono_buf ref = {.dtype = SONO_F64, .ndim = 2, .shape = {2, 2}, .data = c};
    assert_int_equal(op->reference(&p, &in, &ref, NULL), 0);
    assert_true(c[0] == 58 && c[1] == 64 && c[2] == 139 && c[3] == 154);
    sono_cost cost;
    op->cost(&p, &cost);
    assert_true(cost.flops == 2 * 2 * 2 * 3 && cost.bytes == 4 * (6 + 6 + 4));

    /* k = 1: the outer product of A [3,1] = (1, -2, 0.5) and B [1,2] = (4, -3) */
    p = tc_params(mnk, (long long[]){3, 2, 1}, 3);
    float y[5] = {1, -2, 0.5f, 4, -3};
    double d[6], want[6] = {4, -3, -8, 6, 2, -1.5};
    in.data = y;
    ref = (sono_buf){.dtype = SONO_F64, .ndim = 2, .shape = {3, 2}, .data = d};
    assert_int_equal(op->reference(&p, &in, &ref, NULL), 0);
    for (int i = 0; i < 6; i++)
        assert_true(d[i] == want[i]);
    /* m = n = 1: a dot product, 1*4 + 2*5 + 3*6 = 32 */
    p = tc_params(mnk, (long long[]){1, 1, 3}, 3);
    float z[6] = {1, 2, 3, 4, 5, 6};
    in.data = z;
    ref = (sono_buf){.dtype = SONO_F64, .ndim = 2, .shape = {1, 1}, .data = d};
    assert_int_equal(op->reference(&p, &in, &ref, NULL), 0);
    assert_true(d[0] == 32);

    /* the reference's cost is bounded: 4096^3 = 2^36 multiply-adds is refused */
    sono_error err = {0};
    p = tc_params(mnk, (long long[]){4096, 4096, 4096}, 3);
    assert_int_equal(op->validate(&p, &err), SONO_EINVAL);
    assert_non_null(strstr(err.msg, "2^33"));
    p = tc_params(mnk, (long long[]){1024, 1024, 1024}, 3);
    assert_int_equal(op->validate(&p, &err), 0);
}

/* The two new ops are listed with their parameters. */
static void tc_listed(void **state)
{
    (void)state;
    cl_res r;
    cl_h(&r, NULL, "list", "ops", NULL);
    cl_expect_code(&r, 0);
    char line[512];
    assert_true(cl_line_with(r.out, line, sizeof line, "triad", "STREAM"));
    assert_true(cl_line_with(r.out, line, sizeof line, "sgemm", "float32"));
    cl_free(&r);
}

/* ---- the impls -------------------------------------------------------------------------- */

/* setup, load, run twice (a second run must compute the same), store, describe, teardown. */
static void tc_lifecycle(const char *opname, const char *impl, const sono_params *p,
                         const sono_buf *in, sono_buf *out, char *desc, size_t ndesc,
                         size_t *ws)
{
    const sono_op *op = sono_op_find(opname);
    sono_error err = {0};
    const sono_impl_entry *e = sono_reg_find(&tc_R, op, impl, &err);
    if (!e)
        print_error("%s\n", err.msg);
    assert_non_null(e);
    assert_true(sono_reg_backend_of(&tc_R, e)->available);
    char why[256] = "";
    assert_int_equal(e->impl->supports(e->impl->ctx, p, why, sizeof why), 0);
    void *st = NULL;
    int rc = e->impl->setup(e->impl->ctx, p, &st, &err);
    if (rc)
        print_error("%s setup: %s\n", impl, err.msg);
    assert_int_equal(rc, 0);
    assert_int_equal(e->impl->load(st, in, &err), 0);
    assert_int_equal(e->impl->run(st), 0);
    assert_int_equal(e->impl->run(st), 0);
    assert_int_equal(e->impl->store(st, out, &err), 0);
    assert_non_null(e->impl->describe);
    assert_non_null(e->impl->workspace);
    assert_int_equal(e->impl->describe(st, desc, ndesc), 0);
    *ws = e->impl->workspace(st);
    e->impl->teardown(st);
}

/* cpu/triad on 1, 2 and 3 threads: bitwise the float expression b + 3.0f*c (the same two
 * roundings whatever the chunking), within those two roundings of the float64 reference
 * element by element, and passing the op's check. Sizes cross the chunk alignment (16)
 * and leave threads with empty chunks (n = 1, 17). */
static void tc_cpu_triad(void **state)
{
    (void)state;
    const sono_op *op = sono_op_find("triad");
    static const long long sizes[] = {1, 17, 1000, 100003};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        long long n = sizes[s];
        sono_params p = tc_params((const char *[]){"n"}, &n, 1);
        sono_buf in, out, ref;
        op->shapes(&p, &in, &out);
        in.nbytes = (size_t)(2 * n) * sizeof(float);
        in.data = tc_alloc(in.nbytes);
        float *x = in.data;
        for (long long i = 0; i < 2 * n; i++)
            x[i] = tc_rand();
        ref = out;
        ref.dtype = SONO_F64;
        ref.nbytes = (size_t)n * sizeof(double);
        ref.data = tc_alloc(ref.nbytes);
        assert_int_equal(op->reference(&p, &in, &ref, NULL), 0);
        const double *r = ref.data;
        for (int threads = 1; threads <= 3; threads++) {
            sono_params pt = tc_params((const char *[]){"n", "threads"},
                                       (long long[]){n, threads}, 2);
            out.nbytes = (size_t)n * sizeof(float);
            out.data = tc_alloc(out.nbytes);
            for (long long i = 0; i < n; i++)
                ((float *)out.data)[i] = NAN;
            char desc[512];
            size_t ws;
            tc_lifecycle("triad", "cpu/triad", &pt, &in, &out, desc, sizeof desc, &ws);
            const float *a = out.data;
            for (long long i = 0; i < n; i++) {
                float t = 3.0f * x[n + i], want = x[i] + t;
                if (memcmp(&a[i], &want, sizeof want) != 0)
                    print_error("n=%lld threads=%d: a[%lld] = %a, b + 3c in float = %a\n", n,
                                threads, i, (double)a[i], (double)want);
                assert_memory_equal(&a[i], &want, sizeof want);
                double bound = 0x1p-24 * (fabs(3.0 * x[n + i]) + fabs(r[i])) * (1 + 1e-6);
                assert_true(fabs((double)a[i] - r[i]) <= bound);
            }
            sono_check chk;
            assert_int_equal(sono_check_output(&out, &ref, op->tolerance(&pt, SONO_ERR_LOG),
                                               &chk, NULL), 0);
            assert_true(chk.pass);
            char want[32];
            snprintf(want, sizeof want, "threads=%d", threads);
            assert_non_null(strstr(desc, want));
            assert_true(ws >= (size_t)(12 * n)); /* its own b, c and a */
            free(out.data);
        }
        free(in.data);
        free(ref.data);
    }
}

/* blas/sgemm against the float64 reference and the op's tolerance, square and not, with
 * dimensions of 1, on 1 and 2 threads. */
static void tc_blas_sgemm(void **state)
{
    (void)state;
    const sono_op *op = sono_op_find("sgemm");
    static const long long dims[][3] = {{1, 1, 1},   {1, 7, 3},    {5, 3, 1},
                                        {17, 33, 65}, {64, 64, 64}, {100, 1, 200},
                                        {1, 300, 129}};
    for (size_t d = 0; d < sizeof dims / sizeof dims[0]; d++)
        for (int threads = 1; threads <= 2; threads++) {
            long long m = dims[d][0], n = dims[d][1], k = dims[d][2];
            sono_params p = tc_params((const char *[]){"m", "n", "k", "threads"},
                                      (long long[]){m, n, k, threads}, 4);
            sono_buf in, out, ref;
            op->shapes(&p, &in, &out);
            in.nbytes = (size_t)(m * k + k * n) * sizeof(float);
            in.data = tc_alloc(in.nbytes);
            for (long long i = 0; i < m * k + k * n; i++)
                ((float *)in.data)[i] = tc_rand();
            out.nbytes = (size_t)(m * n) * sizeof(float);
            out.data = tc_alloc(out.nbytes);
            ref = out;
            ref.dtype = SONO_F64;
            ref.nbytes = (size_t)(m * n) * sizeof(double);
            ref.data = tc_alloc(ref.nbytes);
            assert_int_equal(op->reference(&p, &in, &ref, NULL), 0);
            char desc[512];
            size_t ws;
            tc_lifecycle("sgemm", "blas/sgemm", &p, &in, &out, desc, sizeof desc, &ws);
            sono_check chk;
            assert_int_equal(sono_check_output(&out, &ref, op->tolerance(&p, SONO_ERR_LINEAR),
                                               &chk, NULL), 0);
            if (!chk.pass)
                print_error("m=%lld n=%lld k=%lld threads=%d: rel_l2 %g tol %g\n", m, n, k,
                            threads, chk.rel_l2, chk.tol);
            assert_true(chk.pass);
            assert_non_null(strstr(desc, "OpenBLAS"));
            assert_non_null(strstr(desc, "threads="));
            assert_true(ws == (size_t)(m * k + k * n + m * n) * sizeof(float));
            free(in.data);
            free(out.data);
            free(ref.data);
        }
}

/* A wrong product must fail the op's check: the tolerance is not so loose as to pass it. */
static void tc_sgemm_tolerance_catches(void **state)
{
    (void)state;
    const sono_op *op = sono_op_find("sgemm");
    long long m = 32, n = 32, k = 256;
    sono_params p = tc_params((const char *[]){"m", "n", "k"}, (long long[]){m, n, k}, 3);
    float *x = tc_alloc((size_t)(m * k + k * n) * sizeof(float));
    for (long long i = 0; i < m * k + k * n; i++)
        x[i] = tc_rand();
    double *r = tc_alloc((size_t)(m * n) * sizeof(double));
    float *o = tc_alloc((size_t)(m * n) * sizeof(float));
    sono_buf in = {.dtype = SONO_F32, .ndim = 1, .shape = {m * k + k * n}, .data = x};
    sono_buf ref = {.dtype = SONO_F64, .ndim = 2, .shape = {m, n}, .data = r,
                    .nbytes = (size_t)(m * n) * sizeof(double)};
    sono_buf out = {.dtype = SONO_F32, .ndim = 2, .shape = {m, n}, .data = o,
                    .nbytes = (size_t)(m * n) * sizeof(float)};
    assert_int_equal(op->reference(&p, &in, &ref, NULL), 0);
    /* the product missing its last term (k-1) in every element */
    for (long long i = 0; i < m; i++)
        for (long long j = 0; j < n; j++)
            o[i * n + j] = (float)(r[i * n + j] - (double)x[i * k + k - 1] *
                                                      (double)x[m * k + (k - 1) * n + j]);
    sono_check chk;
    assert_int_equal(sono_check_output(&out, &ref, op->tolerance(&p, SONO_ERR_LINEAR), &chk,
                                       NULL), 0);
    assert_false(chk.pass);
    free(x);
    free(r);
    free(o);
}

/* ---- the calibration file ------------------------------------------------------------- */

static void tc_make(sono_calibration *cal, const char *host, double scale)
{
    memset(cal, 0, sizeof *cal);
    snprintf(cal->host, sizeof cal->host, "%s", host);
    snprintf(cal->measured, sizeof cal->measured, "2024-05-01T12:00:00Z");
    snprintf(cal->cpu, sizeof cal->cpu, "Test CPU %s", host);
    /* given out of order: set keeps them sorted */
    assert_int_equal(sono_calibration_set(cal, 8, 400.5 * scale, 61.25 * scale), 0);
    assert_int_equal(sono_calibration_set(cal, 1, 55.125 * scale, 18.5 * scale), 0);
    cal->details = json_pack("{s:i}", "sgemm_n", 1024);
}

static void tc_file_round_trip(void **state)
{
    (void)state;
    char dir[PATH_MAX], path[PATH_MAX + 32];
    cl_mkdir("cal_rt", dir, sizeof dir);
    snprintf(path, sizeof path, "%s/sub/cal.json", dir); /* the folder is made on store */
    sono_calibration a, b, got;
    sono_error err = {0};
    tc_make(&a, "alpha", 1);
    tc_make(&b, "beta", 2);
    assert_int_equal(sono_calibration_store(path, &a, &err), 0);
    assert_int_equal(sono_calibration_store(path, &b, &err), 0);

    for (int h = 0; h < 2; h++) {
        const sono_calibration *want = h ? &b : &a;
        int rc = sono_calibration_load(path, want->host, &got, &err);
        if (rc)
            print_error("%s\n", err.msg);
        assert_int_equal(rc, 0);
        assert_string_equal(got.host, want->host);
        assert_string_equal(got.measured, want->measured);
        assert_string_equal(got.cpu, want->cpu);
        assert_int_equal(got.npoints, 2);
        assert_int_equal(got.points[0].threads, 1);
        assert_int_equal(got.points[1].threads, 8);
        for (int i = 0; i < 2; i++) {
            assert_true(got.points[i].gflops == want->points[i].gflops);
            assert_true(got.points[i].gbps == want->points[i].gbps);
        }
        assert_int_equal(json_integer_value(json_object_get(got.details, "sgemm_n")), 1024);
        sono_calibration_free(&got);
    }
    /* the file itself follows the documented layout */
    json_t *doc = cl_load(path);
    assert_string_equal(cl_str(doc, "schema"), SONO_CALIBRATION_SCHEMA);
    assert_true(cl_num(doc, "hosts.alpha.threads.1.gflops") == 55.125);
    assert_true(cl_num(doc, "hosts.beta.threads.8.gbps") == 122.5);
    json_decref(doc);

    /* storing alpha again replaces alpha only */
    sono_calibration a2;
    tc_make(&a2, "alpha", 3);
    a2.npoints = 1; /* only thread count 1 this time */
    assert_int_equal(sono_calibration_store(path, &a2, &err), 0);
    assert_int_equal(sono_calibration_load(path, "alpha", &got, &err), 0);
    assert_int_equal(got.npoints, 1);
    assert_true(got.points[0].gflops == 55.125 * 3);
    sono_calibration_free(&got);
    assert_int_equal(sono_calibration_load(path, "beta", &got, &err), 0);
    assert_true(got.points[1].gflops == 801);
    sono_calibration_free(&got);

    /* no entry for a host; no file at all */
    assert_int_equal(sono_calibration_load(path, "gamma", &got, &err), SONO_ENOTFOUND);
    assert_non_null(strstr(err.msg, "gamma"));
    snprintf(path, sizeof path, "%s/none.json", dir);
    assert_int_equal(sono_calibration_load(path, "alpha", &got, &err), SONO_ENOTFOUND);
    assert_non_null(strstr(err.msg, path));
    sono_calibration_free(&a);
    sono_calibration_free(&a2);
    sono_calibration_free(&b);
}

static void tc_file_malformed(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "{\"schema\": \"sonobench.calibration/1\", \"hosts\": {",     /* truncated */
        "[1, 2]",                                                       /* not an object */
        "{\"schema\": \"sonobench.results/1\", \"hosts\": {}}",         /* another schema */
        "{\"schema\": \"sonobench.calibration/1\", \"hosts\": []}",     /* hosts not object */
        "{\"schema\": \"sonobench.calibration/1\", \"hosts\": {\"h\": {\"measured\": \"x\", "
        "\"cpu\": \"y\", \"threads\": {\"two\": {\"gflops\": 1, \"gbps\": 1}}}}}",
        "{\"schema\": \"sonobench.calibration/1\", \"hosts\": {\"h\": {\"measured\": \"x\", "
        "\"cpu\": \"y\", \"threads\": {\"1\": {\"gflops\": \"fast\", \"gbps\": 1}}}}}",
        "{\"schema\": \"sonobench.calibration/1\", \"hosts\": {\"h\": {\"measured\": \"x\", "
        "\"cpu\": \"y\", \"threads\": {}}}}",
        "{\"schema\": \"sonobench.calibration/1\", \"hosts\": {\"h\": {\"cpu\": \"y\", "
        "\"threads\": {\"1\": {\"gflops\": 1, \"gbps\": 1}}}}}",
    };
    char dir[PATH_MAX], path[PATH_MAX + 32];
    cl_mkdir("cal_bad", dir, sizeof dir);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(path, sizeof path, "%s/bad%zu.json", dir, i);
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fputs(bad[i], f);
        fclose(f);
        sono_calibration cal;
        sono_error err = {0};
        int rc = sono_calibration_load(path, "h", &cal, &err);
        if (rc != SONO_EPARSE)
            print_error("bad[%zu]: rc %d: %s\n", i, rc, err.msg);
        assert_int_equal(rc, SONO_EPARSE);
        assert_non_null(strstr(err.msg, path));
        /* store leaves a file it cannot read alone rather than clobber it */
        if (i < 4) {
            sono_calibration mine;
            tc_make(&mine, "h", 1);
            assert_int_equal(sono_calibration_store(path, &mine, &err), SONO_EPARSE);
            assert_non_null(strstr(err.msg, path));
            char *text = cl_slurp(path, NULL);
            assert_string_equal(text, bad[i]);
            free(text);
            sono_calibration_free(&mine);
        }
    }
}

static void tc_path(void **state)
{
    (void)state;
    char p[PATH_MAX];
    setenv("SONO_CALIBRATION", "/some/where/cal.json", 1);
    sono_calibration_path(p, sizeof p);
    assert_string_equal(p, "/some/where/cal.json");
    unsetenv("SONO_CALIBRATION");
    sono_calibration_path(p, sizeof p);
    const char *tail = "/results/calibration.json";
    assert_true(strlen(p) > strlen(tail));
    assert_string_equal(p + strlen(p) - strlen(tail), tail);
}

/* ---- the roofline ------------------------------------------------------------------------ */

static void tc_roofline(void **state)
{
    (void)state;
    sono_calibration cal = {0};
    sono_calibration_set(&cal, 1, 100, 20); /* ridge at 5 flop/byte */
    sono_calibration_set(&cal, 4, 350, 50); /* ridge at 7 flop/byte */
    const double eps = 1e-12;
    /* compute-bound: AI 1000 -> the peak */
    assert_true(fabs(sono_roofline_bound_gflops(&cal, 1, 1e9, 1e6) - 100) < eps);
    /* memory-bound: AI 0.5 -> 0.5 x 20 GB/s = 10 GFLOP/s */
    assert_true(fabs(sono_roofline_bound_gflops(&cal, 1, 1e6, 2e6) - 10) < eps);
    /* at the ridge both agree */
    assert_true(fabs(sono_roofline_bound_gflops(&cal, 1, 5e6, 1e6) - 100) < eps);
    /* threads 2 and 3 fall back to the entry for 1; 4 and above use 4's */
    assert_true(fabs(sono_roofline_bound_gflops(&cal, 2, 1e6, 2e6) - 10) < eps);
    assert_true(fabs(sono_roofline_bound_gflops(&cal, 3, 1e9, 1e6) - 100) < eps);
    assert_true(fabs(sono_roofline_bound_gflops(&cal, 4, 1e6, 2e6) - 25) < eps);
    assert_true(fabs(sono_roofline_bound_gflops(&cal, 64, 1e9, 1e6) - 350) < eps);
    /* triad's own AI (2/12) on 4 threads: 50/6 */
    assert_true(fabs(sono_roofline_bound_gflops(&cal, 4, 2e6, 12e6) - 50.0 / 6) < eps);
    /* no bytes: the peak alone; no flops, no entry, no calibration: unknown */
    assert_true(sono_roofline_bound_gflops(&cal, 1, 1e6, 0) == 100);
    assert_true(sono_roofline_bound_gflops(&cal, 1, 0, 1e6) == 0);
    assert_true(sono_roofline_bound_gflops(&cal, 0, 1e6, 1e6) == 0);
    assert_true(sono_roofline_bound_gflops(NULL, 1, 1e6, 1e6) == 0);
    /* an entry missing its bandwidth bounds nothing memory-bound */
    sono_calibration_set(&cal, 1, 100, 0);
    assert_true(sono_roofline_bound_gflops(&cal, 1, 1e6, 2e6) == 0);
}

/* ---- harness calibrate ------------------------------------------------------------------ */

static void tc_cli_calibrate(void **state)
{
    (void)state;
    char dir[PATH_MAX], out[PATH_MAX + 32];
    cl_mkdir("cal_cli", dir, sizeof dir);
    snprintf(out, sizeof out, "%s/cal.json", dir);
    cl_res r;
    cl_h(&r, NULL, "calibrate", "--quick", "--out", out, NULL);
    cl_expect_code(&r, 0);
    assert_non_null(strstr(r.out, out)); /* it says where it stored */
    char line[512];
    assert_true(cl_line_with(r.out, line, sizeof line, "GFLOP/s", "GB/s"));

    char host[256];
    gethostname(host, sizeof host);
    sono_calibration cal;
    sono_error err = {0};
    int rc = sono_calibration_load(out, host, &cal, &err);
    if (rc)
        print_error("%s\n", err.msg);
    assert_int_equal(rc, 0);
    assert_true(cal.npoints >= 1);
    assert_int_equal(cal.points[0].threads, 1);
    assert_true(cal.points[0].gflops > 0);
    assert_true(cal.points[0].gbps > 0);
    /* the raw records are kept beside it, and named in the details */
    const char *raw = json_string_value(json_object_get(cal.details, "run_file"));
    assert_non_null(raw);
    assert_true(strncmp(raw, dir, strlen(dir)) == 0);
    assert_non_null(strstr(raw, "calibration-run-"));
    json_t *doc = cl_load(raw);
    assert_true(json_is_true(cl_get(doc, "run.complete")));
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(doc, "cases"), i, c)
        assert_string_equal(cl_str(c, "status"), "ok");
    json_decref(doc);
    sono_calibration_free(&cal);
    cl_free(&r);

    /* a file it could not update fails before anything is measured, and is left alone */
    char bad[PATH_MAX + 32];
    snprintf(bad, sizeof bad, "%s/bad/cal.json", dir);
    snprintf(line, sizeof line, "%s/bad", dir);
    assert_int_equal(mkdir(line, 0755), 0);
    FILE *f = fopen(bad, "w");
    assert_non_null(f);
    fputs("{\"schema\": \"other\"}", f);
    fclose(f);
    cl_h(&r, NULL, "calibrate", "--quick", "--out", bad, NULL);
    cl_expect_code(&r, 2);
    assert_non_null(strstr(r.err, bad));
    char *text = cl_slurp(bad, NULL);
    assert_string_equal(text, "{\"schema\": \"other\"}");
    free(text);
    cl_free(&r);

    cl_h(&r, NULL, "calibrate", "--bogus", NULL);
    cl_expect_code(&r, 2);
    assert_non_null(strstr(r.err, "--bogus"));
    cl_free(&r);
    cl_h(&r, NULL, "help", "calibrate", NULL);
    cl_expect_code(&r, 0);
    assert_non_null(strstr(r.out, "usage: harness calibrate"));
    cl_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tc_triad_reference),
        cmocka_unit_test(tc_sgemm_reference),
        cmocka_unit_test(tc_listed),
        cmocka_unit_test(tc_cpu_triad),
        cmocka_unit_test(tc_blas_sgemm),
        cmocka_unit_test(tc_sgemm_tolerance_catches),
        cmocka_unit_test(tc_file_round_trip),
        cmocka_unit_test(tc_file_malformed),
        cmocka_unit_test(tc_path),
        cmocka_unit_test(tc_roofline),
        cmocka_unit_test(tc_cli_calibrate),
    };
    return cmocka_run_group_tests(tests, tc_setup, tc_teardown);
}
