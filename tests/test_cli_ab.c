/* test_cli_ab.c — `harness ab` (issue 22): two build trees measured case by case in turn.
 * The order is read from what the workers did (the delay plugin's setup trace), not from
 * timestamps; a second tree is a copy of the harness with the plugin beside it. */
#include "cli_util.h"

static const char *const ids[] = {"nop/delay/spin/n=16/noise", "nop/delay/spin/n=17/noise",
                                  "nop/delay/spin/n=18/noise"};

/* The build tree of the harness under test: the folder above its bin/. */
static void base_tree(char *out, size_t n)
{
    snprintf(out, n, "%s", cl_harness);
    for (int k = 0; k < 2; k++)
        *strrchr(out, '/') = 0;
}

static void copy(const char *from, const char *to)
{
    cl_res r;
    const char *argv[] = {"cp", "-a", from, to, NULL};
    assert_int_equal(cl_run(NULL, NULL, argv, &r), 0);
    cl_free(&r);
}

/* A second build tree: the harness executable alone in bin/, and in build/plugins only
 * the delay plugin, so the new side's worker can only have found it beside itself. */
static void second_tree(char *tree, size_t n)
{
    char p[PATH_MAX + 64];
    cl_mkdir("tree2", tree, n);
    snprintf(p, sizeof p, "%s/bin", tree);
    assert_int_equal(mkdir(p, 0755), 0);
    snprintf(p, sizeof p, "%s/bin/harness", tree);
    copy(cl_harness, p);
    snprintf(p, sizeof p, "%s/build", tree);
    assert_int_equal(mkdir(p, 0755), 0);
    snprintf(p, sizeof p, "%s/build/plugins", tree);
    assert_int_equal(mkdir(p, 0755), 0);
    char so[PATH_MAX + 16];
    snprintf(so, sizeof so, "%s/delay.so", cl_plugins);
    copy(so, p);
}

/* A/A at 0 %: both files, the same cases, compare's table, exit 0, and the turns: case i
 * of round r starts with base when i + r is even, then the other side. */
static void test_ab_aa_alternates(void **state)
{
    (void)state;
    char dir[PATH_MAX], base[PATH_MAX], tree[PATH_MAX], trace[PATH_MAX + 16];
    char out[2][PATH_MAX + 16], penv[PATH_MAX + 32], tenv[PATH_MAX + 32];
    cl_mkdir("aa", dir, sizeof dir);
    base_tree(base, sizeof base);
    second_tree(tree, sizeof tree);
    snprintf(out[0], sizeof out[0], "%s/base.json", dir);
    snprintf(out[1], sizeof out[1], "%s/new.json", dir);
    snprintf(trace, sizeof trace, "%s/trace", dir);
    snprintf(penv, sizeof penv, "SONO_PLUGIN_PATH=%s", cl_plugins);
    snprintf(tenv, sizeof tenv, "SONO_TEST_TRACE=%s", trace);
    const char *set[] = {penv, tenv, "SONO_TEST_DELAY_PCT=0", NULL};
    cl_res r;
    cl_h(&r, set, "ab", "--base", base, "--new", tree, CL_DATA "/ab.ini", "--repetitions",
         "2", "--out-base", out[0], "--out-new", out[1], "--quiet", "--base-env",
         "SONO_TEST_TRACE_TAG=base", "--new-env", "SONO_TEST_TRACE_TAG=new",
         /* empty: the new side's worker must find the plugin next to its executable */
         "--new-env", "SONO_PLUGIN_PATH=", NULL);
    cl_expect_code(&r, 0);
    /* compare's table follows ab's own two summary lines, and names the cases */
    const char *after = strstr(r.out, "new: 3 ok");
    assert_non_null(after);
    assert_non_null(strstr(after, "delay/spin/n=17/noise"));
    cl_free(&r);

    char real[2][PATH_MAX];
    assert_non_null(realpath(base, real[0]));
    assert_non_null(realpath(tree, real[1]));
    for (int k = 0; k < 2; k++) {
        json_t *d = cl_load(out[k]);
        json_t *cases = json_object_get(d, "cases");
        assert_int_equal(json_array_size(cases), 3);
        for (size_t i = 0; i < 3; i++) {
            json_t *c = json_array_get(cases, i);
            assert_string_equal(cl_str(c, "id"), ids[i]);
            assert_string_equal(cl_str(c, "status"), "ok");
            assert_int_equal(json_array_size(json_object_get(c, "repetitions")), 2);
        }
        assert_string_equal(cl_str(d, "env.ab.side"), k ? "new" : "base");
        assert_string_equal(cl_str(d, "env.ab.tree"), real[k]);
        json_decref(d);
    }

    /* the trace, consecutive repeats of a line folded (a setup per repetition is what
     * the plugin does today; more would not change whose turn it was) */
    char *text = cl_slurp(trace, NULL);
    assert_non_null(text);
    char got[32][32];
    int n = 0;
    for (char *save = NULL, *l = strtok_r(text, "\n", &save); l;
         l = strtok_r(NULL, "\n", &save)) {
        assert_true(n < 32);
        if (n == 0 || strcmp(got[n - 1], l) != 0)
            snprintf(got[n++], sizeof got[0], "%s", l);
    }
    free(text);
    assert_int_equal(n, 12);
    int k = 0;
    for (int round = 0; round < 2; round++)
        for (int i = 0; i < 3; i++)
            for (int t = 0; t < 2; t++) {
                char want[32];
                int new_side = ((i + round) % 2) != t;
                snprintf(want, sizeof want, "%s n=%d", new_side ? "new" : "base", 16 + i);
                if (strcmp(got[k], want) != 0)
                    print_error("turn %d: %s, expected %s\n", k, got[k], want);
                assert_string_equal(got[k], want);
                k++;
            }
}

/* A planted 50 % slowdown on the new side only (its --new-env): compare flags it and ab
 * exits 1 as compare does; the base side ran at full speed in the same run. */
static void test_ab_planted_slowdown(void **state)
{
    (void)state;
    char dir[PATH_MAX], base[PATH_MAX], out[2][PATH_MAX + 16], penv[PATH_MAX + 32];
    cl_mkdir("planted", dir, sizeof dir);
    base_tree(base, sizeof base);
    snprintf(out[0], sizeof out[0], "%s/base.json", dir);
    snprintf(out[1], sizeof out[1], "%s/new.json", dir);
    snprintf(penv, sizeof penv, "SONO_PLUGIN_PATH=%s", cl_plugins);
    const char *set[] = {penv, "SONO_TEST_DELAY_PCT=0", NULL};
    cl_res r;
    cl_h(&r, set, "ab", "--base", base, "--new", base, CL_DATA "/ab.ini", "--filter",
         "*n=16*", "--repetitions", "3", "--out-base", out[0], "--out-new", out[1],
         "--quiet", "--new-env", "SONO_TEST_DELAY_PCT=50", NULL);
    cl_expect_code(&r, 1);
    assert_non_null(strstr(r.out, "slower"));
    cl_free(&r);
    double med[2];
    for (int k = 0; k < 2; k++) {
        json_t *d = cl_load(out[k]);
        json_t *c = cl_case(d, ids[0]);
        assert_non_null(c);
        med[k] = cl_num(c, "time_ns.median");
        json_decref(d);
    }
    if (!(med[1] > 1.3 * med[0]))
        print_error("medians: base %.0f ns, new %.0f ns\n", med[0], med[1]);
    assert_true(med[1] > 1.3 * med[0]);
}

/* Usage errors exit 2 before anything runs, each saying what is wrong. */
static void test_ab_usage(void **state)
{
    (void)state;
    char base[PATH_MAX], penv[PATH_MAX + 32];
    base_tree(base, sizeof base);
    snprintf(penv, sizeof penv, "SONO_PLUGIN_PATH=%s", cl_plugins);
    const char *set[] = {penv, NULL};
    cl_res r;
    cl_h(&r, set, "ab", "--new", base, CL_DATA "/ab.ini", NULL);
    cl_expect_code(&r, 2);
    assert_non_null(strstr(r.err, "--base"));
    cl_free(&r);
    cl_h(&r, set, "ab", "--base", base, "--new", "/nonexistent/tree", CL_DATA "/ab.ini",
         NULL);
    cl_expect_code(&r, 2);
    assert_non_null(strstr(r.err, "/nonexistent/tree"));
    cl_free(&r);
    cl_h(&r, set, "ab", "--base", base, "--new", base, CL_DATA "/ab.ini", "--new-env",
         "NOEQUALS", NULL);
    cl_expect_code(&r, 2);
    assert_non_null(strstr(r.err, "VAR=VALUE"));
    cl_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ab_aa_alternates),
        cmocka_unit_test(test_ab_planted_slowdown),
        cmocka_unit_test(test_ab_usage),
    };
    return cmocka_run_group_tests(tests, cl_setup, cl_teardown);
}
