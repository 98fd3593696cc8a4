/* test_history_export.c — `harness history` and `harness export` on synthetic results
 * files (written here with jansson, valid for sono_results_load), and the planted
 * slowdown: the test plugin delay/spin run at +0 % and +10 % must differ by about 10 %. */
#include "cli_util.h"

/* One run's file: cases "a" (medians from meda) and "b" (flat 1000 ns, or failing when
 * fail_b), started at minute `minute`, commit git. CI band: median +-1 %. */
static void write_run(const char *path, int minute, const char *git, double meda, int fail_b)
{
    char started[32];
    snprintf(started, sizeof started, "2026-01-01T10:%02d:00Z", minute);
    json_t *cases = json_array();
    const char *ids[] = {"fft/cpu/radix2/n=64/noise", "rfft/cpu/radix2/n=256/noise"};
    double meds[] = {meda, 1000.0};
    for (int k = 0; k < 2; k++) {
        json_t *samples = json_array();
        for (int s = 0; s < 9; s++)
            json_array_append_new(samples, json_real(meds[k] * (1 + 0.002 * (s - 4))));
        json_t *c = json_pack("{s:s, s:s, s:s, s:{s:I, s:I}, s:{s:s}, s:s, s:{s:f, s:f, s:f},"
                              " s:{s:f, s:f}}",
                              "id", ids[k], "op", k ? "rfft" : "fft", "impl", "cpu/radix2",
                              "params", "n", (json_int_t)(k ? 256 : 64), "batch", (json_int_t)1,
                              "input", "name", "noise", "status", "ok", "check", "rel_l2",
                              1e-7, "tol", 1e-5, "pass", 1.0, "derived", "gflops", 1.5,
                              "gbps", 2.5);
        assert_non_null(c);
        json_object_set_new(c, "time_ns", json_pack("{s:f, s:f, s:f, s:i, s:i, s:o}",
                            "median", meds[k], "ci_lo", meds[k] * 0.99, "ci_hi",
                            meds[k] * 1.01, "n", 9, "runs_per_sample", 4, "samples", samples));
        if (k == 1 && fail_b) {
            json_object_set_new(c, "status", json_string("fail"));
            json_object_set_new(c, "message", json_string("rel_l2 above tolerance"));
        }
        json_array_append_new(cases, c);
    }
    json_t *doc = json_pack("{s:s, s:{s:s}, s:{s:s, s:s, s:{s:s, s:i, s:{s:{s:I, s:i}}}}, "
                            "s:{s:s, s:b}, s:o}",
                            "schema", "sonobench.results/1", "suite", "name", "synthetic",
                            "env", "host", "testhost", "git", git, "cpu", "model", "Test CPU",
                            "pus", 2, "caches", "l1d", "bytes", (json_int_t)32768, "count", 2,
                            "run", "started", started, "complete", 1, "cases", cases);
    assert_non_null(doc);
    assert_int_equal(json_dump_file(doc, path, JSON_INDENT(1)), 0);
    json_decref(doc);
}

/* Seven runs, medians of case a 100,101,99,100,115,116,114 (x1000 ns); written out of
 * order so history must sort them. Paths go to files[0..7), by time. */
static void seven_runs(const char *dir, const double *meds, char files[7][PATH_MAX])
{
    static const int order[] = {4, 0, 6, 2, 5, 1, 3};
    for (int j = 0; j < 7; j++) {
        int i = order[j];
        char git[16];
        snprintf(git, sizeof git, "c0ffee%d", i + 1);
        snprintf(files[i], PATH_MAX, "%s/r%d.json", dir, j); /* name unrelated to time */
        write_run(files[i], 10 + i, git, meds[i] * 1000, 0);
    }
}

static void test_history_finds_step(void **state)
{
    (void)state;
    char dir[PATH_MAX], files[7][PATH_MAX], line[1024];
    cl_mkdir("step", dir, sizeof dir);
    const double meds[] = {100, 101, 99, 100, 115, 116, 114};
    seven_runs(dir, meds, files);
    cl_res r;
    cl_h(&r, NULL, "history", files[3], files[0], files[6], files[1], files[5], files[2],
         files[4], NULL);
    cl_expect_code(&r, 0);
    /* ordered by time: run #1 is the 10:10 file, #5 the one with commit c0ffee5 */
    assert_true(cl_line_with(r.out, line, sizeof line, "#1", "2026-01-01T10:10:00Z"));
    assert_true(cl_line_with(r.out, line, sizeof line, "#5", "c0ffee5"));
    assert_true(cl_line_with(r.out, line, sizeof line, "STEP slower at run #5", "c0ffee5"));
    assert_non_null(strstr(line, files[4]));
    assert_true(cl_line_with(r.out, line, sizeof line, "1 stepped slower", NULL));
    cl_free(&r);

    /* csv: one row per case and run; the step flag on case a's run 5 alone */
    cl_h(&r, NULL, "history", "--format", "csv", files[0], files[1], files[2], files[3],
         files[4], files[5], files[6], NULL);
    cl_expect_code(&r, 0);
    assert_true(cl_line_with(r.out, line, sizeof line, "case,run,started,git", NULL));
    int rows = 0, steps = 0;
    for (const char *s = r.out; (s = strchr(s, '\n')) && s[1]; s++) {
        rows++;
        steps += strncmp(s + 1, "fft/cpu/radix2/n=64/noise,5,", 28) == 0 &&
                 strstr(s + 1, ",1,") != NULL;
    }
    assert_int_equal(rows, 14);
    assert_int_equal(steps, 1);
    assert_int_equal(cl_line_with(r.out, line, sizeof line, "rfft", ",1,1."), 0);
    cl_free(&r);
}

static void test_history_ignores_noise(void **state)
{
    (void)state;
    char dir[PATH_MAX], files[7][PATH_MAX], line[1024];
    cl_mkdir("noise", dir, sizeof dir);
    /* +-3 % wobble and one 30 % spike in the middle: no step */
    const double meds[] = {100, 103, 98, 130, 101, 97, 102};
    seven_runs(dir, meds, files);
    cl_res r;
    cl_h(&r, NULL, "history", files[0], files[1], files[2], files[3], files[4], files[5],
         files[6], NULL);
    cl_expect_code(&r, 0);
    assert_int_equal(cl_line_with(r.out, line, sizeof line, "STEP", NULL), 0);
    assert_true(cl_line_with(r.out, line, sizeof line, "0 stepped slower", NULL));
    cl_free(&r);
    /* a 3 % step is below the default threshold, but above --threshold 2% */
    const double small[] = {100, 100, 100, 100, 103.5, 103.5, 103.5};
    seven_runs(dir, small, files);
    cl_h(&r, NULL, "history", files[0], files[1], files[2], files[3], files[4], files[5],
         files[6], NULL);
    assert_int_equal(cl_line_with(r.out, line, sizeof line, "STEP", NULL), 0);
    cl_free(&r);
    cl_h(&r, NULL, "history", "--threshold", "2%", files[0], files[1], files[2], files[3],
         files[4], files[5], files[6], NULL);
    cl_expect_code(&r, 0);
    assert_true(cl_line_with(r.out, line, sizeof line, "STEP slower at run #5", NULL));
    cl_free(&r);
}

static void test_bad_files(void **state)
{
    (void)state;
    char dir[PATH_MAX], good[PATH_MAX], bad[PATH_MAX], line[1024];
    cl_mkdir("bad", dir, sizeof dir);
    snprintf(good, sizeof good, "%s/good.json", dir);
    snprintf(bad, sizeof bad, "%s/truncated.json", dir);
    write_run(good, 1, "abc", 1000, 0);
    FILE *f = fopen(bad, "w");
    assert_non_null(f);
    fputs("{\"schema\": \"sonobench.results/1\", \"cases\": [", f);
    fclose(f);
    cl_res r;
    cl_h(&r, NULL, "history", good, bad, NULL);
    cl_expect_code(&r, 2);
    assert_true(cl_line_with(r.err, line, sizeof line, "truncated.json", NULL));
    cl_free(&r);
    cl_h(&r, NULL, "export", bad, "--format", "gbench", NULL);
    cl_expect_code(&r, 2);
    assert_true(cl_line_with(r.err, line, sizeof line, "truncated.json", NULL));
    cl_free(&r);
    cl_h(&r, NULL, "export", "/nonexistent/x.json", "--format", "csv", NULL);
    cl_expect_code(&r, 2);
    assert_true(cl_line_with(r.err, line, sizeof line, "/nonexistent/x.json", NULL));
    cl_free(&r);
    cl_h(&r, NULL, "export", good, "--format", "xml", NULL);
    cl_expect_code(&r, 2);
    cl_free(&r);
    cl_h(&r, NULL, "history", NULL);
    cl_expect_code(&r, 2);
    cl_free(&r);
}

static void test_export_gbench(void **state)
{
    (void)state;
    char dir[PATH_MAX], in[PATH_MAX], out[PATH_MAX];
    cl_mkdir("gbench", dir, sizeof dir);
    snprintf(in, sizeof in, "%s/in.json", dir);
    snprintf(out, sizeof out, "%s/gb.json", dir);
    write_run(in, 1, "abc", 2000, 1);
    cl_res r;
    cl_h(&r, NULL, "export", in, "--format", "gbench", "--out", out, NULL);
    cl_expect_code(&r, 0);
    cl_free(&r);
    json_t *g = cl_load(out);
    assert_string_equal(cl_str(g, "context.date"), "2026-01-01T10:01:00Z");
    assert_string_equal(cl_str(g, "context.host_name"), "testhost");
    assert_true(cl_num(g, "context.num_cpus") == 2);
    cl_num(g, "context.mhz_per_cpu");
    cl_str(g, "context.executable");
    cl_str(g, "context.library_build_type");
    json_t *caches = cl_get(g, "context.caches");
    assert_int_equal(json_array_size(caches), 1);
    assert_true(cl_num(json_array_get(caches, 0), "size") == 32768);
    assert_int_equal(cl_num(json_array_get(caches, 0), "level"), 1);
    json_t *b = cl_get(g, "benchmarks");
    assert_int_equal(json_array_size(b), 2);
    json_t *a = json_array_get(b, 0), *f = json_array_get(b, 1);
    assert_string_equal(cl_str(a, "name"), "fft/cpu/radix2/n=64/noise");
    assert_string_equal(cl_str(a, "run_name"), "fft/cpu/radix2/n=64/noise");
    assert_string_equal(cl_str(a, "run_type"), "iteration");
    assert_string_equal(cl_str(a, "time_unit"), "ns");
    assert_true(cl_num(a, "real_time") == 2000 && cl_num(a, "cpu_time") == 2000);
    assert_true(cl_num(a, "iterations") == 36); /* 4 runs per sample x 9 samples */
    assert_true(cl_num(a, "gflops") == 1.5 && cl_num(a, "gbps") == 2.5);
    assert_true(cl_num(a, "rel_l2") == 1e-7);
    assert_true(fabs(cl_num(a, "ci_hi") - 2020) < 1e-6);
    assert_null(cl_get(a, "error_occurred"));
    assert_true(json_is_true(cl_get(f, "error_occurred")));
    assert_non_null(strstr(cl_str(f, "error_message"), "rel_l2 above tolerance"));
    json_decref(g);
}

static void test_export_csv(void **state)
{
    (void)state;
    char dir[PATH_MAX], in[PATH_MAX], line[1024];
    cl_mkdir("csv", dir, sizeof dir);
    snprintf(in, sizeof in, "%s/in.json", dir);
    write_run(in, 1, "abc", 2000, 1);
    cl_res r;
    cl_h(&r, NULL, "export", in, "--format", "csv", NULL);
    cl_expect_code(&r, 0);
    int lines = 0;
    for (const char *s = r.out; (s = strchr(s, '\n')); s++)
        lines++;
    assert_int_equal(lines, 3);
    assert_int_equal(strncmp(r.out, "id,op,impl,params,input,status,median_ns,ci_lo_ns,ci_hi_ns,"
                             "n,gflops,gbps,rel_l2\n", 71), 0);
    assert_true(cl_line_with(r.out, line, sizeof line, "fft/cpu/radix2/n=64/noise,fft,"
                             "cpu/radix2,n=64;batch=1,noise,ok,2000,", NULL));
    assert_true(cl_line_with(r.out, line, sizeof line, "rfft/", ",fail,1000,"));
    cl_free(&r);
}

/* The planted slowdown: +10 % on the knob shows as a median ratio of about 1.10. */
static void test_delay_knob(void **state)
{
    (void)state;
    char dir[PATH_MAX], out[2][PATH_MAX], penv[PATH_MAX + 32];
    cl_mkdir("delay", dir, sizeof dir);
    snprintf(penv, sizeof penv, "SONO_PLUGIN_PATH=%s", cl_plugins);
    const char *pct[] = {"SONO_TEST_DELAY_PCT=0", "SONO_TEST_DELAY_PCT=10"};
    double med[2];
    for (int i = 0; i < 2; i++) {
        snprintf(out[i], PATH_MAX, "%s/d%d.json", dir, i);
        const char *set[] = {penv, pct[i], NULL};
        cl_res r;
        cl_h(&r, set, "run", CL_DATA "/delay.ini", "--out", out[i], "--quiet", NULL);
        cl_expect_code(&r, 0);
        cl_free(&r);
        json_t *d = cl_load(out[i]);
        json_t *c = cl_case(d, "nop/delay/spin/n=16/noise");
        assert_non_null(c);
        assert_string_equal(cl_str(c, "status"), "ok");
        med[i] = cl_num(c, "time_ns.median");
        json_decref(d);
    }
    double ratio = med[1] / med[0];
    if (!(ratio >= 1.05 && ratio <= 1.2))
        print_error("medians %.0f ns and %.0f ns: ratio %.3f\n", med[0], med[1], ratio);
    assert_true(ratio >= 1.05 && ratio <= 1.2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_history_finds_step),
        cmocka_unit_test(test_history_ignores_noise),
        cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_export_gbench),
        cmocka_unit_test(test_export_csv),
        cmocka_unit_test(test_delay_knob),
    };
    return cmocka_run_group_tests(tests, cl_setup, cl_teardown);
}
