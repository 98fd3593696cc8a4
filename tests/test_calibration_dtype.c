/* test_calibration_dtype.c — issue 26's tensor-core ceilings: a device entry's
 * "gflops_by_dtype" read, written and refused when malformed; the bound of a case in dtype
 * d taken from d's peak (none where d was not calibrated); roof% of fakegpu sgemm cases in
 * each dtype against a synthetic calibration file; and `harness calibrate` measuring the
 * per-dtype peaks with the device's peak_flops impl (the test plugin fakegpu). */
#include "cli_util.h"

#include "calibration.h"

static char cd_penv[PATH_MAX + 32];

static const char *const *cd_env(const char *cal)
{
    static char calenv[PATH_MAX + 32];
    static const char *set[3];
    snprintf(cd_penv, sizeof cd_penv, "SONO_PLUGIN_PATH=%s", cl_plugins);
    snprintf(calenv, sizeof calenv, "SONO_CALIBRATION=%s", cal);
    set[0] = cd_penv;
    set[1] = calenv;
    set[2] = NULL;
    return set;
}

/* fake:0: float32 peak 1000, tf32 4000, bf16 8000, f16 not measured; bandwidth 1e6 GB/s,
 * so a 32^3 sgemm (arithmetic intensity 5.3 in f32, 8 in bf16) is bound by the peak. */
static void cd_write(const char *path, const char *host)
{
    sono_calibration cal = {0};
    snprintf(cal.host, sizeof cal.host, "%s", host);
    snprintf(cal.measured, sizeof cal.measured, "2026-12-07T00:00:00Z");
    snprintf(cal.cpu, sizeof cal.cpu, "test cpu");
    assert_int_equal(sono_calibration_set(&cal, 1, 10, 10), 0);
    /* the CPU's own: bf16 25 at 1 thread (AVX-512 BF16), none at 2 */
    assert_int_equal(sono_calibration_set(&cal, 2, 18, 20), 0);
    assert_int_equal(sono_calibration_set_dtype(&cal, 1, SONO_CAL_BF16, 25), 0);
    assert_int_equal(sono_calibration_set_dtype(&cal, 3, SONO_CAL_BF16, 25), SONO_ENOTFOUND);
    assert_int_equal(sono_calibration_set_dtype(&cal, 1, SONO_CAL_F32, 25), SONO_EINVAL);
    assert_int_equal(sono_calibration_set(&cal, 1, 10, 10), 0); /* an update keeps it */
    assert_true(cal.points[0].dtype_gflops[SONO_CAL_BF16] == 25);
    sono_cal_device d = {.gflops = 1000, .gbps = 1e6};
    snprintf(d.device, sizeof d.device, "fake:0");
    snprintf(d.name, sizeof d.name, "Fake GPU Zero");
    snprintf(d.measured, sizeof d.measured, "2026-12-07T00:00:00Z");
    d.dtype_gflops[SONO_CAL_TF32] = 4000;
    d.dtype_gflops[SONO_CAL_BF16] = 8000;
    assert_int_equal(sono_calibration_set_device(&cal, &d), 0);
    sono_error err = {0};
    assert_int_equal(sono_calibration_store(path, &cal, &err), 0);
    sono_calibration_free(&cal);
}

static void dtype_peaks_round_trip(void **state)
{
    (void)state;
    char dir[PATH_MAX], path[PATH_MAX + 32];
    cl_mkdir("cd_rt", dir, sizeof dir);
    snprintf(path, sizeof path, "%s/cal.json", dir);
    cd_write(path, "h1");
    /* the file says it */
    json_t *doc = cl_load(path);
    json_t *dev = json_object_get(
        json_object_get(json_object_get(json_object_get(doc, "hosts"), "h1"), "devices"),
        "fake:0");
    json_t *byd = json_object_get(dev, "gflops_by_dtype");
    assert_non_null(byd);
    assert_true(json_number_value(json_object_get(byd, "bf16")) == 8000);
    assert_true(json_number_value(json_object_get(byd, "tf32")) == 4000);
    assert_null(json_object_get(byd, "f16")); /* not measured: not written */
    json_t *th = json_object_get(json_object_get(json_object_get(doc, "hosts"), "h1"),
                                 "threads");
    assert_true(json_number_value(json_object_get(
                    json_object_get(json_object_get(th, "1"), "gflops_by_dtype"), "bf16")) == 25);
    assert_null(json_object_get(json_object_get(th, "2"), "gflops_by_dtype"));
    json_decref(doc);
    sono_calibration cal;
    sono_error err = {0};
    assert_int_equal(sono_calibration_load(path, "h1", &cal, &err), 0);
    const sono_cal_device *d = sono_calibration_device(&cal, "fake:0");
    assert_non_null(d);
    assert_true(d->dtype_gflops[SONO_CAL_BF16] == 8000);
    assert_true(d->dtype_gflops[SONO_CAL_TF32] == 4000);
    assert_true(d->dtype_gflops[SONO_CAL_F16] == 0);
    /* bounds: compute-bound cases take their dtype's peak; an uncalibrated dtype none */
    assert_true(sono_roofline_bound_device_dtype(&cal, "fake:0", "f32", 1e9, 1e3) == 1000);
    assert_true(sono_roofline_bound_device_dtype(&cal, "fake:0", NULL, 1e9, 1e3) == 1000);
    assert_true(sono_roofline_bound_device_dtype(&cal, "fake:0", "bf16", 1e9, 1e3) == 8000);
    assert_true(sono_roofline_bound_device_dtype(&cal, "fake:0", "tf32", 1e9, 1e3) == 4000);
    assert_true(sono_roofline_bound_device_dtype(&cal, "fake:0", "f16", 1e9, 1e3) == 0);
    assert_true(sono_roofline_bound_device_dtype(&cal, "fake:0", "fp8", 1e9, 1e3) == 0);
    /* the CPU: bf16 against its own peak where measured; elsewhere (no instructions for
     * the dtype: computed via fp32) the float32 peak, never none */
    assert_true(cal.points[0].dtype_gflops[SONO_CAL_BF16] == 25);
    assert_true(sono_roofline_bound_gflops_dtype(&cal, 1, "bf16", 1e9, 1e3) == 25);
    assert_true(sono_roofline_bound_gflops_dtype(&cal, 1, "f16", 1e9, 1e3) == 10);
    assert_true(sono_roofline_bound_gflops_dtype(&cal, 1, "f32", 1e9, 1e3) == 10);
    assert_true(sono_roofline_bound_gflops_dtype(&cal, 1, NULL, 1e9, 1e3) == 10);
    assert_true(sono_roofline_bound_gflops(&cal, 1, 1e9, 1e3) == 10);
    assert_true(sono_roofline_bound_gflops_dtype(&cal, 2, "bf16", 1e9, 1e3) == 18);
    /* memory-bound: AI 1e-3 flop/byte x 1e6 GB/s = 1000... below bf16's peak: the roof */
    assert_true(fabs(sono_roofline_bound_device_dtype(&cal, "fake:0", "bf16", 1.0, 1e3) -
                     1e-3 * 1e6) < 1e-9);
    sono_calibration_free(&cal);
    /* older files (no gflops_by_dtype) still load, with no tensor-core peaks */
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "{\"schema\": \"%s\", \"hosts\": {\"h2\": {\"measured\": \"x\", \"cpu\": \"c\", "
               "\"threads\": {\"1\": {\"gflops\": 1, \"gbps\": 1}}, \"devices\": {\"cuda:0\": "
               "{\"name\": \"G\", \"measured\": \"x\", \"gflops\": 5, \"gbps\": 6}}}}}\n",
            SONO_CALIBRATION_SCHEMA);
    fclose(f);
    assert_int_equal(sono_calibration_load(path, "h2", &cal, &err), 0);
    assert_true(sono_calibration_device(&cal, "cuda:0")->dtype_gflops[SONO_CAL_BF16] == 0);
    sono_calibration_free(&cal);
}

static void dtype_peaks_malformed(void **state)
{
    (void)state;
    char dir[PATH_MAX], path[PATH_MAX + 32];
    cl_mkdir("cd_bad", dir, sizeof dir);
    snprintf(path, sizeof path, "%s/cal.json", dir);
    const char *bad[] = {"{\"fp8\": 1}", "{\"bf16\": -1}", "{\"bf16\": \"x\"}", "[1]"};
    for (int i = 0; i < 4; i++) {
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fprintf(f, "{\"schema\": \"%s\", \"hosts\": {\"h\": {\"measured\": \"x\", \"cpu\": "
                   "\"c\", \"threads\": {\"1\": {\"gflops\": 1, \"gbps\": 1}}, \"devices\": "
                   "{\"cuda:0\": {\"name\": \"G\", \"measured\": \"x\", \"gflops\": 5, "
                   "\"gbps\": 6, \"gflops_by_dtype\": %s}}}}}\n",
                SONO_CALIBRATION_SCHEMA, bad[i]);
        fclose(f);
        sono_calibration cal;
        sono_error err = {0};
        assert_int_equal(sono_calibration_load(path, "h", &cal, &err), SONO_EPARSE);
        assert_non_null(strstr(err.msg, path));
        assert_non_null(strstr(err.msg, "gflops_by_dtype"));
        sono_calibration_free(&cal);
        /* the same under a CPU thread count's entry, named in the message */
        f = fopen(path, "w");
        assert_non_null(f);
        fprintf(f, "{\"schema\": \"%s\", \"hosts\": {\"h\": {\"measured\": \"x\", \"cpu\": "
                   "\"c\", \"threads\": {\"4\": {\"gflops\": 1, \"gbps\": 1, "
                   "\"gflops_by_dtype\": %s}}}}}\n",
                SONO_CALIBRATION_SCHEMA, bad[i]);
        fclose(f);
        err = (sono_error){0};
        assert_int_equal(sono_calibration_load(path, "h", &cal, &err), SONO_EPARSE);
        assert_non_null(strstr(err.msg, "threads \"4\""));
        assert_non_null(strstr(err.msg, "gflops_by_dtype"));
        sono_calibration_free(&cal);
    }
}

/* `harness run` of fakegpu sgemm in each dtype: roof% against that dtype's peak. */
static void roof_pct_by_dtype(void **state)
{
    (void)state;
    char dir[PATH_MAX], cal[PATH_MAX + 32], out[PATH_MAX + 32], host[256];
    cl_mkdir("cd_run", dir, sizeof dir);
    snprintf(cal, sizeof cal, "%s/cal.json", dir);
    snprintf(out, sizeof out, "%s/r.json", dir);
    gethostname(host, sizeof host);
    cd_write(cal, host);
    cl_res r;
    cl_h(&r, cd_env(cal), "run", "tests/data/dtype/fakegpu_dtype.ini", "--out", out,
         "--quiet", NULL);
    if (r.code != 0)
        print_error("%s\n%s\n", r.out, r.err);
    cl_expect_code(&r, 0);
    cl_free(&r);
    json_t *doc = cl_load(out);
    const char *ids[] = {"sgemm/fakegpu/cublas/m=32,n=32,k=32/noise",
                         "sgemm/fakegpu/cublas/m=32,n=32,k=32,dtype=tf32/noise",
                         "sgemm/fakegpu/cublas/m=32,n=32,k=32,dtype=bf16/noise",
                         "sgemm/fakegpu/cublas/m=32,n=32,k=32,dtype=f16/noise"};
    const double peak[] = {1000, 4000, 8000, 0};
    for (int i = 0; i < 4; i++) {
        json_t *c = cl_case(doc, ids[i]);
        assert_string_equal(cl_str(c, "status"), "ok");
        json_t *b = cl_get(c, "derived.roofline_bound_gflops");
        if (peak[i] == 0) {
            assert_null(b); /* f16 not calibrated: no roof% rather than the f32 one */
            assert_null(cl_get(c, "derived.roofline_pct"));
            continue;
        }
        assert_non_null(b);
        assert_true(fabs(json_number_value(b) - peak[i]) < 1e-9);
        assert_true(fabs(cl_num(c, "derived.roofline_pct") -
                         100 * cl_num(c, "derived.gflops") / peak[i]) < 1e-9);
    }
    json_decref(doc);
}

/* `harness calibrate --quick` on fakegpu: the device's entry gains its peak_flops impl's
 * GEMM in tf32, bf16 and f16 (fakegpu's loop accepts any dtype: positive figures), and
 * (issue 26) the backend's other sgemm impl's beside it, the better one the ceiling. */
static void calibrate_measures_dtype_peaks(void **state)
{
    (void)state;
    char dir[PATH_MAX], cal[PATH_MAX + 32], host[256];
    cl_mkdir("cd_cal", dir, sizeof dir);
    snprintf(cal, sizeof cal, "%s/cal.json", dir);
    gethostname(host, sizeof host);
    cl_res r;
    cl_h(&r, cd_env(cal), "calibrate", "--quick", "--quiet", "--device", "fake:0", NULL);
    if (r.code != 0)
        print_error("%s\n%s\n", r.out, r.err);
    cl_expect_code(&r, 0);
    cl_free(&r);
    sono_calibration c;
    sono_error err = {0};
    assert_int_equal(sono_calibration_load(cal, host, &c, &err), 0);
    const sono_cal_device *d = sono_calibration_device(&c, "fake:0");
    assert_non_null(d);
    for (int k = SONO_CAL_TF32; k <= SONO_CAL_F16; k++)
        assert_true(d->dtype_gflops[k] > 0);
    /* each dtype measured by both sgemm impls of the backend; the peak is the better of
     * the two, and exactly that figure says "ceiling": true */
    json_t *cases = json_object_get(d->details, "cases"), *f;
    size_t j;
    for (int k = SONO_CAL_TF32; k <= SONO_CAL_F16; k++) {
        int n = 0, ceilings = 0, lt = 0;
        double best = 0, marked = -1;
        json_array_foreach(cases, j, f) {
            const char *dt = json_string_value(json_object_get(f, "dtype"));
            if (!dt || strcmp(dt, sono_cal_dtype_names[k]) != 0)
                continue;
            double g = json_number_value(json_object_get(f, "gflops"));
            n++;
            lt += strstr(json_string_value(json_object_get(f, "id")), "/cublaslt/") != NULL;
            best = g > best ? g : best;
            if (json_is_true(json_object_get(f, "ceiling"))) {
                ceilings++;
                marked = g;
            }
        }
        assert_int_equal(n, 2);
        assert_int_equal(lt, 1);
        assert_int_equal(ceilings, 1);
        assert_true(marked == best && fabs(best - d->dtype_gflops[k]) <= 1e-9 * best);
    }
    sono_calibration_free(&c);
}

/* `harness calibrate --quick` on this CPU: its bf16 GEMM peak from cpu/avx512bf16 where
 * the CPU has AVX-512 BF16 (above zero, a figure of status ok, one per thread count), else
 * no such case and no bf16 peak; blas/sgemm takes no reduced dtype, so the plan has no
 * case of it in one (no skipped rows in the run file). */
static void calibrate_measures_cpu_bf16(void **state)
{
    (void)state;
    char dir[PATH_MAX], cal[PATH_MAX + 32], host[256];
    cl_mkdir("cd_cpu", dir, sizeof dir);
    snprintf(cal, sizeof cal, "%s/cal.json", dir);
    gethostname(host, sizeof host);
    cl_res r;
    cl_h(&r, cd_env(cal), "calibrate", "--quick", "--quiet", NULL);
    if (r.code != 0)
        print_error("%s\n%s\n", r.out, r.err);
    cl_expect_code(&r, 0);
    cl_free(&r);
    sono_calibration c;
    sono_error err = {0};
    assert_int_equal(sono_calibration_load(cal, host, &c, &err), 0);
    int has = __builtin_cpu_supports("avx512bf16"), ok = 0, skip = 0;
    json_t *figs = json_object_get(c.details, "figures"), *f;
    if (!figs)
        figs = json_object_get(c.details, "cases");
    size_t j;
    json_array_foreach(figs, j, f) {
        const char *dt = json_string_value(json_object_get(f, "dtype")),
                   *id = json_string_value(json_object_get(f, "id")),
                   *st = json_string_value(json_object_get(f, "status"));
        if (!dt)
            continue;
        if (strstr(id, "/avx512bf16/") && !strcmp(dt, "bf16"))
            ok += !strcmp(st, "ok");
        else
            skip++;
    }
    print_message("cpu bf16: %d ok, %d other dtype cases; peak at 1 thread %.1f "
                  "GFLOP/s (float32 %.1f)\n", ok, skip, c.points[0].dtype_gflops[SONO_CAL_BF16],
                  c.points[0].gflops);
    assert_int_equal(skip, 0); /* none of blas/sgemm in tf32, bf16, f16 */
    for (int i = 0; i < c.npoints; i++) {
        assert_true(c.points[i].dtype_gflops[SONO_CAL_TF32] == 0);
        assert_true(c.points[i].dtype_gflops[SONO_CAL_F16] == 0);
        assert_true(has ? c.points[i].dtype_gflops[SONO_CAL_BF16] > 0
                        : c.points[i].dtype_gflops[SONO_CAL_BF16] == 0);
    }
    assert_int_equal(ok, has ? c.npoints : 0);
    sono_calibration_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(dtype_peaks_round_trip),
        cmocka_unit_test(dtype_peaks_malformed),
        cmocka_unit_test(roof_pct_by_dtype),
        cmocka_unit_test(calibrate_measures_dtype_peaks),
        cmocka_unit_test(calibrate_measures_cpu_bf16),
    };
    return cmocka_run_group_tests(tests, cl_setup, cl_teardown);
}
