/* test_run_summary.c — tests/run.sh's closing lines: a skipped test (cmocka's skip()) is
 * counted as skipped, never passed, and listed with the reason it printed. Runs run.sh on
 * this same program in its --fake mode, a cmocka group of known passes, skips and (with
 * --fake-fail) a failure. */
#include "cli_util.h"

#include "skip_util.h"

static void fk_pass(void **state)
{
    (void)state;
    print_message("skip: this line is no skip: the test passes\n");
}

static void fk_skip_tagged(void **state)
{
    (void)state;
    SONO_SKIP("no widget here (%d of %d)", 0, 2);
}

static void fk_skip_printed(void **state)
{
    (void)state;
    print_message("a reason said in its own words\n");
    skip();
}

static void fk_skip_silent(void **state)
{
    (void)state;
    skip();
}

static void fk_fail(void **state)
{
    (void)state;
    fail_msg("planted failure");
}

static int fk_main(int with_failure)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fk_pass),        cmocka_unit_test(fk_skip_tagged),
        cmocka_unit_test(fk_skip_printed), cmocka_unit_test(fk_skip_silent),
        cmocka_unit_test(fk_pass),        cmocka_unit_test(fk_fail),
    };
    return _cmocka_run_group_tests("fake", tests, with_failure ? 6 : 5, NULL, NULL);
}

/* run.sh over one wrapper script that starts this program with ARG; the results
 * validation is replaced by a no-op (there are no results files). */
static void rs_run(const char *arg, cl_res *r, char *wrapper, size_t n)
{
    char self[PATH_MAX];
    assert_non_null(realpath("/proc/self/exe", self));
    snprintf(wrapper, n, "%s/fake%s.sh", cl_tmp, arg);
    FILE *f = fopen(wrapper, "w");
    assert_non_null(f);
    fprintf(f, "#!/bin/sh\nexec '%s' %s\n", self, arg);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(chmod(wrapper, 0755), 0);
    const char *set[] = {"SONO_VALIDATE_PYTHON=/bin/true", NULL};
    const char *argv[] = {"bash", "tests/run.sh", wrapper, NULL};
    cl_run(NULL, set, argv, r);
}

static void rs_skips_counted_apart(void **state)
{
    (void)state;
    cl_res r;
    char w[PATH_MAX], line[PATH_MAX + 128];
    rs_run("--fake", &r, w, sizeof w);
    cl_expect_code(&r, 0);
    if (!strstr(r.out, "\ntests: 2 passed, 3 skipped, 0 failed\n"))
        fail_msg("summary line wrong:\n%s", r.out);
    snprintf(line, sizeof line, "skipped: %s fk_skip_tagged: no widget here (0 of 2)\n", w);
    assert_non_null(strstr(r.out, line));
    snprintf(line, sizeof line, "skipped: %s fk_skip_printed: a reason said in its own words\n",
             w);
    assert_non_null(strstr(r.out, line));
    snprintf(line, sizeof line, "skipped: %s fk_skip_silent: (no reason printed)\n", w);
    assert_non_null(strstr(r.out, line));
    assert_null(strstr(r.out, "fk_pass:"));
    cl_free(&r);
}

static void rs_failure_still_fails(void **state)
{
    (void)state;
    cl_res r;
    char w[PATH_MAX];
    rs_run("--fake-fail", &r, w, sizeof w);
    assert_int_not_equal(r.code, 0);
    if (!strstr(r.out, "\ntests: 2 passed, 3 skipped, 1 failed\n"))
        fail_msg("summary line wrong:\n%s", r.out);
    assert_non_null(strstr(r.out, "failing: "));
    cl_free(&r);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strncmp(argv[1], "--fake", 6) == 0)
        return fk_main(strcmp(argv[1], "--fake-fail") == 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rs_skips_counted_apart),
        cmocka_unit_test(rs_failure_still_fails),
    };
    return cmocka_run_group_tests(tests, cl_setup, cl_teardown);
}
