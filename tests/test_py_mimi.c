/* test_py_mimi.c — issue 24's PyTorch peer of codec.mimi (transformers' MimiModel through
 * the py backend) inside real runs: without transformers, or with one older than
 * MimiModel, every case skips with the reason; with it (SONO_PYTHON pointing at such an
 * interpreter, or the project's venv) the fixture model's encode and decode and a small
 * random model's round trip pass the op's own check. */
#include "cli_util.h"

#define MP_INI "tests/data/py/mimi.ini"

static char mp_cache[PATH_MAX + 32];

static json_t *mp_run(const char *stub)
{
    char out[PATH_MAX], py[PATH_MAX + 48];
    static int seq;
    snprintf(out, sizeof out, "%s/mp%d.json", cl_tmp, ++seq);
    const char *set[3] = {mp_cache, NULL, NULL};
    if (stub) {
        snprintf(py, sizeof py, "SONO_PYTHON=%s/tests/data/py/%s", cl_root, stub);
        set[1] = py;
    }
    cl_res r;
    cl_h(&r, set, "run", MP_INI, "--out", out, "--quiet", NULL);
    cl_expect_code(&r, 0);
    cl_free(&r);
    return cl_load(out);
}

static void expect_all(json_t *doc, const char *status, const char *why)
{
    json_t *c, *cases = cl_get(doc, "cases");
    size_t i;
    assert_int_equal(json_array_size(cases), 3);
    json_array_foreach(cases, i, c) {
        const char *st = cl_str(c, "status");
        const char *msg = json_string_value(json_object_get(c, "message"));
        if (strcmp(st, status) != 0 || (why && (!msg || !strstr(msg, why))))
            print_error("%s: status %s (%s), expected %s with '%s'\n", cl_str(c, "id"), st,
                        msg ? msg : "", status, why ? why : "");
        assert_string_equal(st, status);
        if (why)
            assert_non_null(strstr(msg, why));
    }
}

/* Skips unless the run found a Python with numpy and torch (test_py_cli.c covers the
 * skips for their absence). */
static int have_torch(json_t *doc)
{
    if (!json_is_true(cl_get(doc, "env.backends.py.available"))) {
        print_message("no Python with numpy: %s\n", cl_str(doc, "env.backends.py.reason"));
        return 0;
    }
    if (!cl_get(doc, "env.libs.torch")) {
        expect_all(doc, "skip", "torch is not installed");
        return 0;
    }
    return 1;
}

static void mp_no_transformers(void **state)
{
    (void)state;
    json_t *doc = mp_run("python-notransformers");
    if (!have_torch(doc)) {
        json_decref(doc);
        skip();
    }
    expect_all(doc, "skip", "transformers not installed");
    json_decref(doc);
    doc = mp_run("python-oldtransformers");
    expect_all(doc, "skip", "MimiModel landed in 4.45");
    json_decref(doc);
}

static void mp_peer_checks(void **state)
{
    (void)state;
    json_t *doc = mp_run(NULL);
    if (!have_torch(doc)) {
        json_decref(doc);
        skip();
    }
    if (!cl_get(doc, "env.libs.transformers")) {
        expect_all(doc, "skip", "transformers not installed");
        print_message("this Python (%s) has no transformers: the MimiModel peer's check is "
                      "not run; set SONO_PYTHON to an interpreter with transformers\n",
                      cl_str(doc, "env.libs.python"));
        json_decref(doc);
        skip();
    }
    expect_all(doc, "ok", NULL);
    json_t *c;
    size_t i;
    json_array_foreach(cl_get(doc, "cases"), i, c) {
        assert_true(json_is_true(cl_get(c, "check.pass")));
        if (strcmp(cl_str(c, "params.mode"), "encode") == 0)
            assert_non_null(strstr(cl_str(c, "check.detail"), " 0 mismatches"));
        else
            assert_true(cl_num(c, "check.rel_l2") > 0);
        assert_non_null(strstr(cl_str(c, "describe"), "MimiModel"));
        assert_non_null(strstr(cl_str(c, "check.detail"), "sha256"));
    }
    json_decref(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(mp_no_transformers),
        cmocka_unit_test(mp_peer_checks),
    };
    int rc = cl_setup(NULL);
    if (rc)
        return 1;
    snprintf(mp_cache, sizeof mp_cache, "XDG_CACHE_HOME=%s/cache", cl_tmp);
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    cl_teardown(NULL);
    return rc;
}
