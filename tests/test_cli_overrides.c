/* test_cli_overrides.c — issue 27's command line: a --device that names no device exits 2
 * with the devices there are (it used to run everything where it was and exit 0), the
 * measurement overrides (--budget-s, --target-ci, --min-time-s, --warmup-s) reach every
 * case and the results file says which were given; --param K=V replaces or sweeps a
 * parameter (the record keeps the suite's values); a suite's expect_fail turns a known
 * failure into XFAIL (exit 0) and a stale one into XPASS. */
#include "cli_util.h"

static void ov_device_typos(void **state)
{
    (void)state;
    const char *bad[] = {"cuda1", "bogus", "cuda:x", "cpu:", NULL};
    for (int i = 0; bad[i]; i++) {
        cl_res r;
        cl_h(&r, NULL, "run", CL_DATA "/tiny.ini", "--device", bad[i], "--dry-run", NULL);
        cl_expect_code(&r, 2);
        assert_non_null(strstr(r.err, bad[i]));
        assert_non_null(strstr(r.err, "cpu")); /* the devices that exist */
        cl_free(&r);
    }
    /* a well-formed name of a known kind is not refused here: cases skip with the reason
     * when that device is absent, as issue 10 made them */
    cl_res r;
    cl_h(&r, NULL, "run", CL_DATA "/tiny.ini", "--device", "cpu", "--dry-run", NULL);
    cl_expect_code(&r, 0);
    cl_free(&r);
}

static void ov_measurement_overrides(void **state)
{
    (void)state;
    char out[PATH_MAX];
    snprintf(out, sizeof out, "%s/ov.json", cl_tmp);
    cl_res r;
    cl_h(&r, NULL, "run", CL_DATA "/tiny.ini", "--budget-s", "0.05", "--target-ci", "0.1",
         "--min-time-s", "0.01", "--warmup-s", "0.005", "--quiet", "--out", out, NULL);
    cl_expect_code(&r, 0);
    cl_free(&r);
    json_t *doc = cl_load(out);
    assert_true(cl_num(doc, "suite.overrides.budget_s") == 0.05);
    assert_true(cl_num(doc, "suite.overrides.target_ci") == 0.1);
    assert_true(cl_num(doc, "suite.overrides.min_time_s") == 0.01);
    assert_true(cl_num(doc, "suite.overrides.warmup_s") == 0.005);
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(doc, "cases"), i, c) {
        assert_true(cl_num(c, "time_ns.budget_s") == 0.05);
        assert_true(cl_num(c, "time_ns.target_ci") == 0.1);
        assert_true(cl_num(c, "time_ns.min_time_s") == 0.01);
    }
    json_decref(doc);
    /* out of range: exit 2 naming the flag; a run without overrides has none recorded */
    const char *badv[][2] = {{"--budget-s", "0"}, {"--target-ci", "1.5"}, {"--warmup-s", "x"}};
    for (int k = 0; k < 3; k++) {
        cl_h(&r, NULL, "run", CL_DATA "/tiny.ini", badv[k][0], badv[k][1], "--dry-run", NULL);
        cl_expect_code(&r, 2);
        assert_non_null(strstr(r.err, badv[k][0]));
        cl_free(&r);
    }
    snprintf(out, sizeof out, "%s/plain.json", cl_tmp);
    cl_h(&r, NULL, "run", CL_DATA "/tiny.ini", "--quiet", "--out", out, NULL);
    cl_expect_code(&r, 0);
    cl_free(&r);
    doc = cl_load(out);
    assert_null(cl_get(doc, "suite.overrides"));
    json_decref(doc);
}

/* The case ids of a dry run, one per line, in out. */
static int dry_ids(cl_res *r, const char *const *extra)
{
    const char *argv[24] = {"run", CL_DATA "/params.ini", "--dry-run"};
    int n = 3;
    for (int i = 0; extra && extra[i]; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    char *cmd[26] = {cl_harness};
    for (int i = 0; i <= n; i++)
        cmd[i + 1] = (char *)argv[i];
    return cl_run(NULL, NULL, (const char *const *)cmd, r);
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

static void ov_param_replace_and_sweep(void **state)
{
    (void)state;
    cl_res r;
    /* one value: every section whose op has n (fft and rfft), the others unchanged */
    dry_ids(&r, (const char *[]){"--param", "n=128", NULL});
    cl_expect_code(&r, 0);
    assert_non_null(strstr(r.out, "fft/cpu/radix2/n=128,batch=2/noise\n"));
    assert_non_null(strstr(r.out, "fft/cpu/radix2/n=128,batch=1/noise\n"));
    assert_non_null(strstr(r.out, "rfft/fftw/fftw/n=128,batch=1/noise\n"));
    assert_null(strstr(r.out, "n=16,"));
    assert_non_null(strstr(r.out, "stft/cpu/naive/sample_rate=16000,seconds=0.01,n_fft=64,"));
    assert_int_equal(count_lines(r.out), 4);
    cl_free(&r);
    /* a sweep as in a suite file; the suite's limit (n <= 4096 for cpu in [big]) holds */
    dry_ids(&r, (const char *[]){"--param", "n=2048..16384*2", NULL});
    cl_expect_code(&r, 0);
    assert_non_null(strstr(r.out, "fft/cpu/radix2/n=16384,batch=2/noise\n"));
    assert_non_null(strstr(r.out, "fft/cpu/radix2/n=4096,batch=1/noise\n"));
    assert_null(strstr(r.out, "fft/cpu/radix2/n=8192,batch=1/"));
    assert_non_null(strstr(r.out, "rfft/fftw/fftw/n=16384,batch=1/noise\n"));
    assert_int_equal(count_lines(r.out), 4 + 2 + 4 + 1);
    cl_free(&r);
    /* a list; the value the suite had leaves the id as it was */
    dry_ids(&r, (const char *[]){"--param", "n=16,64", "--filter", "fft/*", NULL});
    cl_expect_code(&r, 0);
    assert_non_null(strstr(r.out, "fft/cpu/radix2/n=16,batch=2/noise\n"));
    assert_non_null(strstr(r.out, "fft/cpu/radix2/n=64,batch=1/noise\n"));
    assert_int_equal(count_lines(r.out), 4);
    cl_free(&r);
    /* two sections made one by the overrides: the case runs once, no "same case twice" */
    dry_ids(&r, (const char *[]){"--param", "n=16", "--param", "batch=1", "--filter",
                                 "fft/*", NULL});
    cl_expect_code(&r, 0);
    assert_string_equal(r.out, "fft/cpu/radix2/n=16,batch=1/noise\n");
    cl_free(&r);
}

static void ov_param_errors(void **state)
{
    (void)state;
    cl_res r;
    struct {
        const char *arg, *want, *want2;
    } bad[] = {
        {"nope=4", "--param nope", "no case"},        /* no op of the suite has it */
        {"n=abc", "--param n=abc", "expected an integer"},
        {"n=16..4", "'16..4'", "a <= b"},             /* the range as written */
        {"n", "--param n", "K=V"},
        {"=5", "--param =5", "K=V"},
        {"n=", "--param n=", "K=V"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        dry_ids(&r, (const char *[]){"--param", bad[k].arg, NULL});
        cl_expect_code(&r, 2);
        if (!strstr(r.err, bad[k].want) || !strstr(r.err, bad[k].want2))
            fail_msg("--param %s: want '%s' and '%s' in: %s", bad[k].arg, bad[k].want,
                     bad[k].want2, r.err);
        assert_null(strstr(r.err, "+1")); /* "16..4+1": a step the user never wrote */
        cl_free(&r);
    }
    /* a parameter the cases left by --filter do not have, named with the ones they do */
    dry_ids(&r, (const char *[]){"--param", "n=64", "--filter", "stft/*", NULL});
    cl_expect_code(&r, 2);
    assert_non_null(strstr(r.err, "--param n"));
    assert_non_null(strstr(r.err, "--filter"));
    assert_non_null(strstr(r.err, "n_fft"));
    cl_free(&r);
    /* the same K twice: one list, not two flags */
    dry_ids(&r, (const char *[]){"--param", "n=64", "--param", "n=128", NULL});
    cl_expect_code(&r, 2);
    assert_non_null(strstr(r.err, "given twice"));
    cl_free(&r);
}

/* issue 24: --param SCOPE:K=V reaches only the sections whose op or section name matches
 * SCOPE (one weights file per codec of suites/codecs), and is recorded under its key. */
static void ov_param_scoped(void **state)
{
    (void)state;
    cl_res r;
    /* by op: rfft's n changes, fft's (same parameter name) keeps the suite's values */
    dry_ids(&r, (const char *[]){"--param", "rfft:n=128", NULL});
    cl_expect_code(&r, 0);
    assert_non_null(strstr(r.out, "rfft/fftw/fftw/n=128,batch=1/noise\n"));
    assert_non_null(strstr(r.out, "fft/cpu/radix2/n=16,batch=2/noise\n"));
    assert_non_null(strstr(r.out, "fft/cpu/radix2/n=1024,batch=1/noise\n"));
    assert_null(strstr(r.out, "rfft/fftw/fftw/n=64,"));
    assert_int_equal(count_lines(r.out), 2 + 1 + 1 + 1);
    cl_free(&r);
    /* by section glob: only [big]; two scopes of one K are two overrides, not "twice" */
    dry_ids(&r, (const char *[]){"--param", "b*:n=2048", "--param", "real:n=32", NULL});
    cl_expect_code(&r, 0);
    assert_non_null(strstr(r.out, "fft/cpu/radix2/n=2048,batch=1/noise\n"));
    assert_non_null(strstr(r.out, "fft/cpu/radix2/n=32,batch=2/noise\n"));
    assert_non_null(strstr(r.out, "rfft/fftw/fftw/n=32,batch=1/noise\n"));
    assert_null(strstr(r.out, "n=1024"));
    cl_free(&r);
    /* a scope that matches nothing with K: exit 2 naming the scope */
    dry_ids(&r, (const char *[]){"--param", "stft:n=64", NULL});
    cl_expect_code(&r, 2);
    assert_non_null(strstr(r.err, "--param stft:n"));
    assert_non_null(strstr(r.err, "matches 'stft'"));
    cl_free(&r);
    dry_ids(&r, (const char *[]){"--param", ":n=64", NULL});
    cl_expect_code(&r, 2);
    assert_non_null(strstr(r.err, "SCOPE:K=V"));
    cl_free(&r);
    /* recorded under SCOPE:K with only the sections it reached */
    char out[PATH_MAX];
    snprintf(out, sizeof out, "%s/scoped.json", cl_tmp);
    cl_h(&r, NULL, "run", CL_DATA "/params.ini", "--param", "small:batch=3", "--filter",
         "fft/*", "--quiet", "--out", out, NULL);
    cl_expect_code(&r, 0);
    cl_free(&r);
    json_t *doc = cl_load(out);
    assert_string_equal(cl_str(doc, "suite.overrides.params.small:batch.given"), "3");
    assert_string_equal(cl_str(doc, "suite.overrides.params.small:batch.suite.small"), "2");
    assert_null(cl_get(doc, "suite.overrides.params.small:batch.suite.big"));
    assert_non_null(cl_case(doc, "fft/cpu/radix2/n=16,batch=3/noise"));
    assert_non_null(cl_case(doc, "fft/cpu/radix2/n=1024,batch=1/noise"));
    json_decref(doc);
}

/* The results file: suite.overrides.params with the given text and each section's own
 * value (null: the op's default); ids carry the new values. */
static void ov_param_recorded(void **state)
{
    (void)state;
    char out[PATH_MAX];
    snprintf(out, sizeof out, "%s/param.json", cl_tmp);
    cl_res r;
    cl_h(&r, NULL, "run", CL_DATA "/params.ini", "--param", "batch=3", "--filter",
         "fft/*", "--quiet", "--out", out, NULL);
    cl_expect_code(&r, 0);
    cl_free(&r);
    json_t *doc = cl_load(out);
    assert_string_equal(cl_str(doc, "suite.overrides.params.batch.given"), "3");
    assert_string_equal(cl_str(doc, "suite.overrides.params.batch.suite.small"), "2");
    assert_true(json_is_null(cl_get(doc, "suite.overrides.params.batch.suite.big")));
    /* rfft has batch too: its section is in the record though --filter left it out */
    assert_true(json_is_null(cl_get(doc, "suite.overrides.params.batch.suite.real")));
    assert_true(json_is_null(cl_get(doc, "suite.overrides.params.batch.suite.spec")));
    assert_null(cl_get(doc, "suite.overrides.budget_s"));
    assert_non_null(cl_case(doc, "fft/cpu/radix2/n=16,batch=3/noise"));
    assert_non_null(cl_case(doc, "fft/cpu/radix2/n=1024,batch=3/noise"));
    assert_int_equal(json_array_size(cl_get(doc, "cases")), 3);
    json_decref(doc);
}

/* issue 27: suites/dataload exited 1 for a true, known finding about a peer; a suite's
 * expect_fail makes it XFAIL (exit 0), and an XPASS when the impl passes. */
static void ov_expect_fail(void **state)
{
    (void)state;
    char envp[PATH_MAX + 32], out[PATH_MAX];
    snprintf(envp, sizeof envp, "SONO_PLUGIN_PATH=%s", cl_plugins);
    const char *set[] = {envp, NULL};
    snprintf(out, sizeof out, "%s/xfail.json", cl_tmp);
    cl_res r;
    cl_h(&r, set, "run", CL_DATA "/xfail.ini", "--filter", "fft/*", "--out", out, NULL);
    cl_expect_code(&r, 0);
    char row[1024];
    assert_true(cl_line_with(r.out, row, sizeof row, "wrong/fft ", "XFAIL"));
    assert_non_null(strstr(row, "wrong on purpose"));
    assert_true(cl_line_with(r.out, row, sizeof row, "fftw/fftw ", "XPASS"));
    assert_non_null(strstr(r.out, "1 xfail, 1 xpass"));
    assert_non_null(strstr(r.err, "XPASS"));
    cl_free(&r);
    json_t *doc = cl_load(out);
    json_t *w = cl_case(doc, "fft/wrong/fft/n=64,batch=1/noise");
    assert_string_equal(cl_str(w, "status"), "xfail");
    assert_string_equal(cl_str(w, "expect_fail.status"), "fail");
    assert_non_null(strstr(cl_str(w, "expect_fail.reason"), "wrong on purpose"));
    json_t *p = cl_case(doc, "fft/fftw/fftw/n=64,batch=1/noise");
    assert_string_equal(cl_str(p, "status"), "xpass");
    assert_string_equal(cl_str(p, "expect_fail.status"), "ok");
    assert_true(cl_num(doc, "run.counts.xfail") == 1);
    assert_true(cl_num(doc, "run.counts.xpass") == 1);
    json_decref(doc);
    /* a failure the suite does not expect still fails the run */
    cl_h(&r, set, "run", CL_DATA "/xfail.ini", "--quiet", "--out", out, "--force", NULL);
    cl_expect_code(&r, 1);
    cl_free(&r);
    /* a malformed entry names its line */
    char ini[PATH_MAX];
    snprintf(ini, sizeof ini, "%s/badxf.ini", cl_tmp);
    FILE *f = fopen(ini, "w");
    assert_non_null(f);
    fputs("[suite]\ninputs = noise\n[fft]\nop = fft\nimpls = cpu/radix2\nn = 16\n"
          "expect_fail = no reason given\n", f);
    fclose(f);
    cl_h(&r, NULL, "run", ini, "--dry-run", NULL);
    cl_expect_code(&r, 2);
    assert_non_null(strstr(r.err, "badxf.ini:7: expect_fail"));
    cl_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ov_device_typos),
        cmocka_unit_test(ov_measurement_overrides),
        cmocka_unit_test(ov_param_replace_and_sweep),
        cmocka_unit_test(ov_param_errors),
        cmocka_unit_test(ov_param_recorded),
        cmocka_unit_test(ov_param_scoped),
        cmocka_unit_test(ov_expect_fail),
    };
    return cmocka_run_group_tests(tests, cl_setup, cl_teardown);
}
