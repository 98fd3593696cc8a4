/* test_cli_show.c — issue 27's output formats: `harness show FILE` prints a results file's
 * tables exactly as its run printed them at the end, or as markdown, CSV or JSON; `run
 * --format markdown|csv|json` prints a run's tables the same ways (CSV and JSON keep stdout
 * to themselves). Neither existed: show was "no command", run took table or jsonl only. */
#include "cli_util.h"

static char runout[PATH_MAX], wrongout[PATH_MAX];

/* The text before the counts line ("\nN ok, N fail, ..."), which differs (run names the
 * results path, show the suite and host too). */
static char *before_counts(const char *s)
{
    const char *at = strstr(s, " ok, ");
    while (at && at > s && at[-1] != '\n')
        at--;
    size_t n = at ? (size_t)(at - s) : strlen(s);
    char *out = malloc(n + 1);
    assert_non_null(out);
    memcpy(out, s, n);
    out[n] = 0;
    return out;
}

static int setup(void **state)
{
    if (cl_setup(state))
        return -1;
    snprintf(runout, sizeof runout, "%s/tiny.json", cl_tmp);
    snprintf(wrongout, sizeof wrongout, "%s/wrong.json", cl_tmp);
    return 0;
}

/* the same table as the run printed at its end */
static void show_table_is_the_runs(void **state)
{
    (void)state;
    cl_res r, s;
    cl_h(&r, NULL, "run", CL_DATA "/tiny.ini", "--quiet", "--out", runout, NULL);
    cl_expect_code(&r, 0);
    cl_h(&s, NULL, "show", runout, NULL);
    cl_expect_code(&s, 0);
    char *a = before_counts(r.out), *b = before_counts(s.out);
    assert_true(strlen(a) > 100);
    assert_string_equal(a, b);
    assert_non_null(strstr(s.out, "4 ok, 0 fail, 0 skip, 0 error, 0 crash, 0 timeout"));
    assert_non_null(strstr(s.out, runout));
    free(a);
    free(b);
    cl_free(&r);
    cl_free(&s);
    /* failures first, with their whole reason, also read back (the test plugin's) */
    char envp[PATH_MAX + 32];
    snprintf(envp, sizeof envp, "SONO_PLUGIN_PATH=%s", cl_plugins);
    const char *set[] = {envp, NULL};
    cl_h(&r, set, "run", CL_DATA "/wrong.ini", "--quiet", "--out", wrongout, NULL);
    cl_expect_code(&r, 1);
    cl_h(&s, NULL, "show", wrongout, NULL);
    cl_expect_code(&s, 0); /* showing a file with failures is not a failure */
    a = before_counts(r.out);
    b = before_counts(s.out);
    assert_string_equal(a, b);
    assert_non_null(strstr(b, "FAIL"));
    free(a);
    free(b);
    cl_free(&r);
    cl_free(&s);
}

static int count_lines(const char *s, const char *prefix)
{
    int n = 0;
    for (const char *l = s; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
        n += strncmp(l, prefix, strlen(prefix)) == 0;
    return n;
}

static void show_formats(void **state)
{
    (void)state;
    cl_res r;
    cl_h(&r, NULL, "show", runout, "--format", "markdown", NULL);
    cl_expect_code(&r, 0);
    assert_non_null(strstr(r.out, "### fft\n\n| impl | params | input | median |"));
    assert_non_null(strstr(r.out, "|:---|:---|:---|---:|"));
    assert_int_equal(count_lines(r.out, "| cpu/radix2 | n=16,batch=1 | noise | "), 1);
    assert_int_equal(count_lines(r.out, "| "), 5); /* the header and 4 cases */
    cl_free(&r);
    cl_h(&r, NULL, "show", runout, "--format", "csv", NULL);
    cl_expect_code(&r, 0);
    assert_int_equal(strncmp(r.out, "op,impl,params,input,median,", 28), 0);
    assert_int_equal(count_lines(r.out, "fft,"), 4);
    assert_int_equal(count_lines(r.out, ""), 5);
    assert_non_null(strstr(r.out, "fft,fftw/fftw,\"n=64,batch=1\",noise,"));
    cl_free(&r);
    cl_h(&r, NULL, "show", runout, "--format", "json", NULL);
    cl_expect_code(&r, 0);
    json_error_t je;
    json_t *doc = json_loads(r.out, 0, &je);
    assert_non_null(doc);
    json_t *t = json_array_get(json_object_get(doc, "tables"), 0);
    assert_string_equal(json_string_value(json_object_get(t, "op")), "fft");
    assert_int_equal(json_array_size(json_object_get(t, "rows")), 4);
    assert_string_equal(json_string_value(json_array_get(json_object_get(t, "columns"), 0)),
                        "impl");
    json_decref(doc);
    cl_free(&r);
    /* bad usage and bad files: exit 2 */
    const char *bad[][3] = {{"--format", "xml", NULL}, {NULL}, {"/no/such.json", NULL}};
    for (int k = 0; k < 3; k++) {
        if (k == 1)
            cl_h(&r, NULL, "show", NULL);
        else if (k == 0)
            cl_h(&r, NULL, "show", runout, bad[k][0], bad[k][1], NULL);
        else
            cl_h(&r, NULL, "show", bad[k][0], NULL);
        cl_expect_code(&r, 2);
        cl_free(&r);
    }
    cl_h(&r, NULL, "show", CL_DATA "/tiny.ini", NULL); /* not a results file */
    cl_expect_code(&r, 2);
    cl_free(&r);
    cl_h(&r, NULL, "help", "show", NULL);
    cl_expect_code(&r, 0);
    assert_non_null(strstr(r.out, "markdown"));
    cl_free(&r);
}

/* run --format markdown|csv|json: the tables at the end in that format */
static void run_formats(void **state)
{
    (void)state;
    char out[PATH_MAX];
    snprintf(out, sizeof out, "%s/md.json", cl_tmp);
    cl_res r;
    cl_h(&r, NULL, "run", CL_DATA "/tiny.ini", "--format", "markdown", "--out", out, NULL);
    cl_expect_code(&r, 0);
    assert_non_null(strstr(r.out, "### fft\n\n| impl |"));
    assert_null(strstr(r.out, "== fft =="));   /* no live text rows */
    assert_non_null(strstr(r.out, " ok, 0 fail"));
    cl_free(&r);
    snprintf(out, sizeof out, "%s/csv.json", cl_tmp);
    cl_h(&r, NULL, "run", CL_DATA "/tiny.ini", "--format", "csv", "--out", out, NULL);
    cl_expect_code(&r, 0);
    assert_int_equal(strncmp(r.out, "op,impl,", 8), 0);
    assert_int_equal(count_lines(r.out, ""), 5); /* only the CSV: counts on stderr */
    assert_non_null(strstr(r.err, "4 ok, 0 fail"));
    cl_free(&r);
    cl_h(&r, NULL, "run", CL_DATA "/tiny.ini", "--format", "html", "--dry-run", NULL);
    cl_expect_code(&r, 2);
    assert_non_null(strstr(r.err, "markdown"));
    cl_free(&r);
}

/* issue 27: roof% against `calibrate --quick` (a cache-resident triad) read as if it were
 * the machine's ceiling: the env says quick, the table marks the column and says why. */
static void quick_calibration_marked(void **state)
{
    (void)state;
    char host[256], cal[PATH_MAX], out[PATH_MAX], envp[PATH_MAX + 32];
    assert_int_equal(gethostname(host, sizeof host), 0);
    snprintf(cal, sizeof cal, "%s/cal.json", cl_tmp);
    json_t *doc = json_pack("{s:s, s:{s:{s:s, s:s, s:{s:{s:f, s:f}}, s:{s:b}}}}", "schema",
                            "sonobench.calibration/1", "hosts", host, "measured",
                            "2026-01-01T00:00:00Z", "cpu", "test", "threads", "1", "gflops",
                            50.0, "gbps", 20.0, "details", "quick", 1);
    assert_int_equal(json_dump_file(doc, cal, 0), 0);
    json_decref(doc);
    snprintf(envp, sizeof envp, "SONO_CALIBRATION=%s", cal);
    snprintf(out, sizeof out, "%s/quick.json", cl_tmp);
    const char *set[] = {envp, NULL};
    cl_res r;
    cl_h(&r, set, "run", CL_DATA "/tiny.ini", "--quiet", "--out", out, NULL);
    cl_expect_code(&r, 0);
    assert_non_null(strstr(r.out, " roof%*  "));
    assert_non_null(strstr(r.out, "roof% vs quick calibration"));
    cl_free(&r);
    json_t *res = cl_load(out);
    assert_true(json_is_true(cl_get(res, "env.calibration.quick")));
    json_decref(res);
    cl_h(&r, NULL, "show", out, NULL);
    cl_expect_code(&r, 0);
    assert_non_null(strstr(r.out, "roof% vs quick calibration"));
    cl_free(&r);
    /* a full calibration: no mark */
    doc = json_load_file(cal, 0, NULL);
    json_object_set_new(json_object_get(json_object_get(json_object_get(doc, "hosts"), host),
                                        "details"), "quick", json_false());
    assert_int_equal(json_dump_file(doc, cal, 0), 0);
    json_decref(doc);
    cl_h(&r, set, "run", CL_DATA "/tiny.ini", "--quiet", "--out", out, "--force", NULL);
    cl_expect_code(&r, 0);
    assert_null(strstr(r.out, "roof%*"));
    assert_non_null(strstr(r.out, " roof%  "));
    cl_free(&r);
}

/* issue 27: the Opus row read "rel.err 4.69e-01 ... OK" and "GB/s 0.00": an op with a
 * check of its own shows that one was applied (its figures in check.detail, SI-SDR in its
 * column), and a codec has no GB/s */
static void own_check_and_codec(void **state)
{
    (void)state;
    char out[PATH_MAX];
    snprintf(out, sizeof out, "%s/opus.json", cl_tmp);
    cl_res r;
    cl_h(&r, NULL, "run", CL_DATA "/opus.ini", "--quiet", "--out", out, NULL);
    cl_expect_code(&r, 0);
    char row[2048];
    assert_true(cl_line_with(r.out, row, sizeof row, "opus/libopus ", "op check"));
    assert_null(strstr(row, "e-01"));
    cl_free(&r);
    json_t *doc = cl_load(out);
    json_t *c = json_array_get(cl_get(doc, "cases"), 0);
    assert_non_null(strstr(cl_str(c, "check.detail"), "SI-SDR"));
    json_decref(doc);
    cl_h(&r, NULL, "show", out, "--format", "csv", NULL);
    cl_expect_code(&r, 0);
    /* op,impl,params,input,median,+-CI,GFLOP/s,GB/s,...: GB/s is "-" */
    const char *line = strchr(r.out, '\n');
    assert_non_null(line);
    int field = 0;
    const char *p = line + 1;
    for (int q = 0; *p && field < 7; p++) {
        q ^= *p == '"';
        field += !q && *p == ',';
    }
    assert_int_equal(strncmp(p, "-,", 2), 0);
    cl_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(show_table_is_the_runs),
        cmocka_unit_test(show_formats),
        cmocka_unit_test(run_formats),
        cmocka_unit_test(quick_calibration_marked),
        cmocka_unit_test(own_check_and_codec),
    };
    return cmocka_run_group_tests(tests, setup, cl_teardown);
}
