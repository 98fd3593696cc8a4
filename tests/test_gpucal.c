/* test_gpucal.c — issue 10 without a GPU: the copy op (reference, cost, exact check),
 * cpu/memcpy, calibration entries per device (round trip, older files, malformed ones),
 * the device roofline on hand-computed numbers, and through the CLI with the test plugin
 * fakegpu (devices fake:0 and fake:1): `calibrate --quick` storing both devices, `run
 * --device fake:1` timing on fake:1 against fake:1's ceilings, and the skips. */
#include "cli_util.h"

#include "calibration.h"
#include "check.h"
#include "op.h"
#include "registry.h"

static sono_reg gc_R;

static int gc_setup(void **state)
{
    const char *b = getenv("SONO_BUILD");
    char dir[1100];
    snprintf(dir, sizeof dir, "%s/plugins", b && *b ? b : "build");
    if (sono_reg_init(&gc_R, NULL))
        return -1;
    sono_reg_load_dir(&gc_R, dir);
    if (!sono_reg_backend(&gc_R, "cpu")) {
        fprintf(stderr, "test_gpucal: no cpu plugin under %s (make all)\n", dir);
        return -1;
    }
    return cl_setup(state);
}

static int gc_teardown(void **state)
{
    sono_reg_free(&gc_R);
    return cl_teardown(state);
}

/* ---- the copy op and cpu/memcpy --------------------------------------------------------- */

static void gc_copy_op(void **state)
{
    (void)state;
    const sono_op *op = sono_op_find("copy");
    assert_non_null(op);
    sono_params p = {.count = 1, .v = {{.name = "n", .type = SONO_PINT, .i = 5}}};
    sono_buf in, out;
    op->shapes(&p, &in, &out);
    assert_true(in.dtype == SONO_F32 && in.ndim == 1 && in.shape[0] == 5);
    assert_true(out.dtype == SONO_F32 && out.ndim == 1 && out.shape[0] == 5);
    float x[5] = {1.5f, -0.0f, 3e-39f /* subnormal */, 1e30f, -7.25f};
    double r[5];
    in.data = x;
    in.nbytes = sizeof x;
    sono_buf ref = {.dtype = SONO_F64, .ndim = 1, .shape = {5}, .data = r, .nbytes = sizeof r};
    assert_int_equal(op->reference(&p, &in, &ref, NULL), 0);
    assert_true(r[0] == 1.5 && r[1] == 0 && r[2] == (double)3e-39f && r[3] == (double)1e30f &&
                r[4] == -7.25);
    sono_cost c;
    op->cost(&p, &c);
    assert_true(c.flops == 0 && c.bytes == 40); /* read 4 + write 4 bytes per element */

    /* exact: the copy passes, one element one ulp off fails */
    float y[5];
    memcpy(y, x, sizeof y);
    out.data = y;
    out.nbytes = sizeof y;
    sono_check chk;
    double tol = op->tolerance(&p, SONO_ERR_LOG);
    assert_int_equal(sono_check_output(&out, &ref, tol, &chk, NULL), 0);
    assert_true(chk.pass);
    y[4] = nextafterf(y[4], 0);
    assert_int_equal(sono_check_output(&out, &ref, tol, &chk, NULL), 0);
    assert_false(chk.pass);
    /* a shifted copy fails too */
    float z[5] = {x[1], x[2], x[3], x[4], x[0]};
    out.data = z;
    assert_int_equal(sono_check_output(&out, &ref, tol, &chk, NULL), 0);
    assert_false(chk.pass);
}

static void gc_cpu_memcpy(void **state)
{
    (void)state;
    const sono_op *op = sono_op_find("copy");
    sono_error err = {0};
    const sono_impl_entry *e = sono_reg_find(&gc_R, op, "cpu/memcpy", &err);
    assert_non_null(e);
    long long n = 1001;
    sono_params p = {.count = 1, .v = {{.name = "n", .type = SONO_PINT, .i = n}}};
    float *x = malloc((size_t)n * sizeof *x), *y = malloc((size_t)n * sizeof *y);
    assert_true(x && y);
    for (long long i = 0; i < n; i++) {
        x[i] = (float)(i * 0.37 - 100);
        y[i] = NAN;
    }
    sono_buf in = {.dtype = SONO_F32, .ndim = 1, .shape = {n}, .data = x,
                   .nbytes = (size_t)n * sizeof *x};
    sono_buf out = in;
    out.data = y;
    char why[256];
    assert_int_equal(e->impl->supports(e->impl->ctx, &p, why, sizeof why), 0);
    void *st;
    assert_int_equal(e->impl->setup(e->impl->ctx, &p, &st, &err), 0);
    assert_int_equal(e->impl->load(st, &in, &err), 0);
    assert_int_equal(e->impl->run(st), 0);
    assert_int_equal(e->impl->store(st, &out, &err), 0);
    assert_true(e->impl->workspace(st) >= (size_t)(2 * n) * sizeof(float));
    e->impl->teardown(st);
    assert_memory_equal(x, y, (size_t)n * sizeof *x);
    /* bad input names what was expected */
    in.shape[0] = n - 1;
    assert_int_equal(e->impl->setup(e->impl->ctx, &p, &st, &err), 0);
    assert_int_equal(e->impl->load(st, &in, &err), SONO_EINVAL);
    assert_non_null(strstr(err.msg, "n=1001"));
    e->impl->teardown(st);
    free(x);
    free(y);
}

/* ---- the calibration file's devices ---------------------------------------------------- */

static void gc_dev(sono_calibration *cal, const char *dev, const char *name, double gf,
                   double bw)
{
    sono_cal_device d = {.gflops = gf, .gbps = bw, .details = json_pack("{s:s}", "k", dev)};
    snprintf(d.device, sizeof d.device, "%s", dev);
    snprintf(d.name, sizeof d.name, "%s", name);
    snprintf(d.measured, sizeof d.measured, "2026-01-02T03:04:05Z");
    assert_int_equal(sono_calibration_set_device(cal, &d), 0);
}

static void gc_make(sono_calibration *cal, const char *host)
{
    memset(cal, 0, sizeof *cal);
    snprintf(cal->host, sizeof cal->host, "%s", host);
    snprintf(cal->measured, sizeof cal->measured, "2026-01-02T03:04:05Z");
    snprintf(cal->cpu, sizeof cal->cpu, "Test CPU");
    assert_int_equal(sono_calibration_set(cal, 1, 7, 7), 0);
    gc_dev(cal, "fake:0", "Fake Zero", 1000, 100);
    gc_dev(cal, "fake:1", "Fake One", 1000, 10);
}

static void gc_file_devices(void **state)
{
    (void)state;
    char dir[PATH_MAX], path[PATH_MAX + 32];
    cl_mkdir("gc_file", dir, sizeof dir);
    snprintf(path, sizeof path, "%s/cal.json", dir);
    sono_calibration a, got;
    sono_error err = {0};
    gc_make(&a, "alpha");
    gc_dev(&a, "fake:1", "Fake One", 2000, 20); /* replaces, does not add */
    assert_int_equal(a.ndevices, 2);
    assert_int_equal(sono_calibration_store(path, &a, &err), 0);
    int rc = sono_calibration_load(path, "alpha", &got, &err);
    if (rc)
        print_error("%s\n", err.msg);
    assert_int_equal(rc, 0);
    assert_int_equal(got.ndevices, 2);
    const sono_cal_device *d = sono_calibration_device(&got, "fake:1");
    assert_non_null(d);
    assert_string_equal(d->name, "Fake One");
    assert_string_equal(d->measured, "2026-01-02T03:04:05Z");
    assert_true(d->gflops == 2000 && d->gbps == 20);
    assert_string_equal(json_string_value(json_object_get(d->details, "k")), "fake:1");
    assert_null(sono_calibration_device(&got, "fake:2"));
    sono_calibration_free(&got);
    json_t *doc = cl_load(path);
    assert_true(cl_num(doc, "hosts.alpha.devices.fake:0.gbps") == 100);
    assert_string_equal(cl_str(doc, "hosts.alpha.devices.fake:0.name"), "Fake Zero");
    json_decref(doc);
    sono_calibration_free(&a);

    /* a file from before issue 10 (no "devices") still loads, with none */
    snprintf(path, sizeof path, "%s/old.json", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("{\"schema\": \"sonobench.calibration/1\", \"hosts\": {\"h\": {\"measured\": \"x\", "
          "\"cpu\": \"y\", \"threads\": {\"1\": {\"gflops\": 3, \"gbps\": 2}}}}}", f);
    fclose(f);
    assert_int_equal(sono_calibration_load(path, "h", &got, &err), 0);
    assert_int_equal(got.ndevices, 0);
    assert_true(got.points[0].gflops == 3);
    sono_calibration_free(&got);

    static const char *const bad[] = {
        "\"devices\": []",
        "\"devices\": {\"cuda:0\": {\"name\": \"g\", \"measured\": \"t\", \"gflops\": \"x\", "
        "\"gbps\": 1}}",
        "\"devices\": {\"cuda:0\": {\"measured\": \"t\", \"gflops\": 1, \"gbps\": 1}}",
        "\"devices\": {\"cuda:0\": {\"name\": \"g\", \"measured\": \"t\", \"gflops\": 1, "
        "\"gbps\": -1}}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(path, sizeof path, "%s/bad%zu.json", dir, i);
        f = fopen(path, "w");
        assert_non_null(f);
        fprintf(f, "{\"schema\": \"sonobench.calibration/1\", \"hosts\": {\"h\": {\"measured\": "
                "\"x\", \"cpu\": \"y\", \"threads\": {\"1\": {\"gflops\": 3, \"gbps\": 2}}, "
                "%s}}}", bad[i]);
        fclose(f);
        rc = sono_calibration_load(path, "h", &got, &err);
        if (rc != SONO_EPARSE)
            print_error("bad[%zu]: rc %d: %s\n", i, rc, err.msg);
        assert_int_equal(rc, SONO_EPARSE);
        assert_non_null(strstr(err.msg, path));
        if (i > 0)
            assert_non_null(strstr(err.msg, "cuda:0"));
    }
}

static void gc_roofline_device(void **state)
{
    (void)state;
    sono_calibration cal;
    gc_make(&cal, "h");
    const double eps = 1e-9;
    /* fake:1: 1000 GFLOP/s, 10 GB/s. AI 0.5 -> 5; AI 1000 -> the peak */
    assert_true(fabs(sono_roofline_bound_device(&cal, "fake:1", 1e6, 2e6) - 5) < eps);
    assert_true(fabs(sono_roofline_bound_device(&cal, "fake:1", 1e9, 1e6) - 1000) < eps);
    /* the same case on fake:0 (100 GB/s): 50 */
    assert_true(fabs(sono_roofline_bound_device(&cal, "fake:0", 1e6, 2e6) - 50) < eps);
    /* no bytes: the peak; no flops, no entry, no calibration: unknown */
    assert_true(sono_roofline_bound_device(&cal, "fake:0", 1e6, 0) == 1000);
    assert_true(sono_roofline_bound_device(&cal, "fake:0", 0, 1e6) == 0);
    assert_true(sono_roofline_bound_device(&cal, "cuda:0", 1e6, 1e6) == 0);
    assert_true(sono_roofline_bound_device(NULL, "fake:0", 1e6, 1e6) == 0);
    /* the CPU entry is untouched by the devices */
    assert_true(fabs(sono_roofline_bound_gflops(&cal, 1, 1e6, 2e6) - 3.5) < eps);
    sono_calibration_free(&cal);
}

/* ---- through the CLI, with fakegpu ------------------------------------------------------- */

/* The case ran and its output passed the op's check. */
static void gc_ok(json_t *c)
{
    assert_non_null(c);
    if (strcmp(cl_str(c, "status"), "ok") != 0)
        print_error("%s: %s: %s\n", cl_str(c, "id"), cl_str(c, "status"), cl_str(c, "message"));
    assert_string_equal(cl_str(c, "status"), "ok");
    assert_true(json_is_true(cl_get(c, "check.pass")));
}

static char gc_penv[PATH_MAX + 32];

static const char *const *gc_env(const char *cal)
{
    static char calenv[PATH_MAX + 32];
    static const char *set[3];
    snprintf(gc_penv, sizeof gc_penv, "SONO_PLUGIN_PATH=%s", cl_plugins);
    snprintf(calenv, sizeof calenv, "SONO_CALIBRATION=%s", cal);
    set[0] = gc_penv;
    set[1] = calenv;
    set[2] = NULL;
    return set;
}

static void gc_cli_calibrate(void **state)
{
    (void)state;
    char dir[PATH_MAX], out[PATH_MAX + 32], host[256];
    cl_mkdir("gc_cal", dir, sizeof dir);
    snprintf(out, sizeof out, "%s/cal.json", dir);
    gethostname(host, sizeof host);
    cl_res r;
    cl_h(&r, gc_env(out), "calibrate", "--quick", "--quiet", NULL);
    if (r.code != 0)
        print_error("%s\n%s\n", r.out, r.err);
    cl_expect_code(&r, 0);
    char line[512];
    assert_true(cl_line_with(r.out, line, sizeof line, "fake:1", "Fake GPU One"));
    cl_free(&r);
    sono_calibration cal;
    sono_error err = {0};
    assert_int_equal(sono_calibration_load(out, host, &cal, &err), 0);
    assert_true(cal.npoints >= 1 && cal.points[0].gflops > 0); /* the CPU part as before */
    for (int i = 0; i < 2; i++) {
        char name[16];
        snprintf(name, sizeof name, "fake:%d", i);
        const sono_cal_device *d = sono_calibration_device(&cal, name);
        assert_non_null(d);
        assert_string_equal(d->name, i ? "Fake GPU One" : "Fake GPU Zero");
        /* plausible: a memcpy on this CPU moves more than 10 MB/s and less than 10 TB/s;
         * a 128^3 loop runs at more than 1 MFLOP/s and less than 10 TFLOP/s */
        assert_true(d->gbps > 0.01 && d->gbps < 1e4);
        assert_true(d->gflops > 0.001 && d->gflops < 1e4);
        assert_true(json_is_true(json_object_get(d->details, "quick")));
        /* found by role (ABI 5), and the details say which impl played it */
        assert_string_equal(json_string_value(cl_get(d->details, "bandwidth.impl")),
                            "fakegpu/memcpy");
        assert_string_equal(json_string_value(cl_get(d->details, "peak_flops.impl")),
                            "fakegpu/cublas");
        /* each device's cases ran on it: ids carry device=fake:N */
        json_t *cases = json_object_get(d->details, "cases"), *c;
        size_t j;
        /* the copy and the SGEMM, and (issue 26) the SGEMM in tf32, bf16 and f16 by
         * fakegpu/cublas and by fakegpu/cublaslt (the backend's other sgemm impl) */
        assert_int_equal(json_array_size(cases), 8);
        json_array_foreach(cases, j, c)
            assert_non_null(strstr(json_string_value(json_object_get(c, "id")), name));
    }
    sono_calibration_free(&cal);

    /* --device fake:1 only: fake:0's entry and the CPU part stay as they were */
    json_t *before = cl_load(out);
    cl_h(&r, gc_env(out), "calibrate", "--quick", "--quiet", "--device", "fake:1", NULL);
    cl_expect_code(&r, 0);
    assert_null(strstr(r.out, "fake:0: skipped"));
    cl_free(&r);
    json_t *after = cl_load(out);
    json_t *hb = json_object_get(json_object_get(before, "hosts"), host);
    json_t *ha = json_object_get(json_object_get(after, "hosts"), host);
    assert_true(json_equal(json_object_get(hb, "threads"), json_object_get(ha, "threads")));
    assert_true(json_equal(cl_get(hb, "devices.fake:0"), cl_get(ha, "devices.fake:0")));
    json_decref(before);
    json_decref(after);

    /* an unknown device is refused before anything runs, naming it */
    cl_h(&r, gc_env(out), "calibrate", "--quick", "--device", "fake:9", NULL);
    cl_expect_code(&r, 2);
    assert_non_null(strstr(r.err, "fake:9"));
    assert_non_null(strstr(r.err, "fake:1")); /* and what there is */
    cl_free(&r);
    cl_h(&r, NULL, "help", "calibrate", NULL);
    assert_non_null(strstr(r.out, "--device NAME"));
    cl_free(&r);
}

/* A calibration with different ceilings per device, so a bound says whose it is. */
static void gc_write_cal(const char *path)
{
    char host[256];
    gethostname(host, sizeof host);
    sono_calibration cal;
    sono_error err = {0};
    gc_make(&cal, host);
    assert_int_equal(sono_calibration_store(path, &cal, &err), 0);
    sono_calibration_free(&cal);
}

static json_t *gc_run(const char *name, const char *cal, const char *device)
{
    char dir[PATH_MAX], out[PATH_MAX + 32];
    cl_mkdir(name, dir, sizeof dir);
    snprintf(out, sizeof out, "%s/r.json", dir);
    cl_res r;
    if (device)
        cl_h(&r, gc_env(cal), "run", CL_DATA "/fakegpu.ini", "--out", out, "--quiet",
             "--device", device, NULL);
    else
        cl_h(&r, gc_env(cal), "run", CL_DATA "/fakegpu.ini", "--out", out, "--quiet", NULL);
    if (r.code != 0)
        print_error("%s\n%s\n", r.out, r.err);
    cl_expect_code(&r, 0);
    cl_free(&r);
    return cl_load(out);
}

static void gc_cli_run_device(void **state)
{
    (void)state;
    char dir[PATH_MAX], cal[PATH_MAX + 32];
    cl_mkdir("gc_run", dir, sizeof dir);
    snprintf(cal, sizeof cal, "%s/cal.json", dir);
    gc_write_cal(cal);

    /* the impl's own device: fake:0, bounded by fake:0's figures */
    json_t *doc = gc_run("gc_run0", cal, NULL);
    /* the plugin's libs entries gpu0 and gpu1 are listed as env.gpus too, named by their
     * first ';' field (compare and fleet tell machines apart by these names) */
    json_t *gpus = cl_get(doc, "env.gpus");
    assert_int_equal(json_array_size(gpus), 2);
    assert_string_equal(cl_str(json_array_get(gpus, 0), "name"), "Fake GPU Zero");
    assert_string_equal(cl_str(json_array_get(gpus, 1), "name"), "Fake GPU One");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(gpus, 1), "index")), 1);
    json_t *c = cl_case(doc, "copy/fakegpu/memcpy/n=4096/noise");
    gc_ok(c);
    assert_string_equal(cl_str(c, "device"), "fake:0");
    assert_string_equal(cl_str(c, "describe"), "device param=(unset); timed on fake:0");
    /* sgemm 32^3: 65536 flops over 4 (3 x 1024) = 12288 bytes; fake:0 at 100 GB/s bounds
     * it at 65536 / 12288 x 100 = 533.33 GFLOP/s, under its 1000 peak */
    c = cl_case(doc, "sgemm/fakegpu/cublas/m=32,n=32,k=32/noise");
    gc_ok(c);
    assert_true(fabs(cl_num(c, "derived.roofline_bound_gflops") - 65536.0 / 12288 * 100) <
                1e-6);
    /* a cpu impl given device=fake:1 in the suite skips, saying why */
    c = cl_case(doc, "copy/cpu/memcpy/n=256,device=fake:1/noise");
    assert_string_equal(cl_str(c, "status"), "skip");
    assert_string_equal(cl_str(c, "message"), "cpu/memcpy runs on cpu, not fake:1");
    json_decref(doc);

    /* --device fake:1: the fakegpu cases move, the cpu ones do not */
    doc = gc_run("gc_run1", cal, "fake:1");
    c = cl_case(doc, "copy/fakegpu/memcpy/n=4096,device=fake:1/noise");
    gc_ok(c);
    assert_string_equal(cl_str(c, "device"), "fake:1");
    assert_string_equal(cl_str(c, "describe"), "device param=fake:1; timed on fake:1");
    c = cl_case(doc, "sgemm/fakegpu/cublas/m=32,n=32,k=32,device=fake:1/noise");
    gc_ok(c);
    assert_string_equal(cl_str(c, "device"), "fake:1");
    /* fake:1's 10 GB/s: 65536 / 12288 x 10 = 53.33 */
    double bound = cl_num(c, "derived.roofline_bound_gflops");
    assert_true(fabs(bound - 65536.0 / 12288 * 10) < 1e-6);
    assert_true(fabs(cl_num(c, "derived.roofline_pct") -
                     100 * cl_num(c, "derived.gflops") / bound) < 1e-6);
    /* issue 26: and its bytes per second against fake:1's 10 GB/s copy bandwidth */
    assert_true(fabs(cl_num(c, "derived.bw_pct") - 100 * cl_num(c, "derived.gbps") / 10) <
                1e-6);
    c = cl_case(doc, "copy/cpu/memcpy/n=4096/noise");
    gc_ok(c);
    assert_string_equal(cl_str(c, "device"), "cpu");
    assert_null(cl_get(c, "derived.bw_pct")); /* a cpu case: no device copy figure */
    json_decref(doc);

    /* an unknown device of the kind: a skip naming it */
    doc = gc_run("gc_run9", cal, "fake:9");
    c = cl_case(doc, "copy/fakegpu/memcpy/n=4096,device=fake:9/noise");
    assert_string_equal(cl_str(c, "status"), "skip");
    assert_non_null(strstr(cl_str(c, "message"), "device=fake:9: no such device"));
    json_decref(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(gc_copy_op),
        cmocka_unit_test(gc_cpu_memcpy),
        cmocka_unit_test(gc_file_devices),
        cmocka_unit_test(gc_roofline_device),
        cmocka_unit_test(gc_cli_calibrate),
        cmocka_unit_test(gc_cli_run_device),
    };
    return cmocka_run_group_tests(tests, gc_setup, gc_teardown);
}
