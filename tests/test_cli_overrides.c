/* test_cli_overrides.c — issue 27's command line: a --device that names no device exits 2
 * with the devices there are (it used to run everything where it was and exit 0), and the
 * measurement overrides (--budget-s, --target-ci, --min-time-s, --warmup-s) reach every
 * case and the results file says which were given. */
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ov_device_typos),
        cmocka_unit_test(ov_measurement_overrides),
    };
    return cmocka_run_group_tests(tests, cl_setup, cl_teardown);
}
