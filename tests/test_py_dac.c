/* test_py_dac.c — issue 24's PyTorch peers of codec.dac (transformers' DacModel) and
 * codec.soundstream (EncodecModel on SoundStream's config) inside real runs: without
 * transformers every case skips with the reason; with it (SONO_PYTHON pointing at such an
 * interpreter, e.g. build/pyenv/bin/python3) every mode passes the op's own check on the
 * tiny fixture models. */
#include "cli_util.h"

#define DAC_INI "tests/data/py/dac.ini"

static json_t *dac_run(const char *const *set)
{
    char out[PATH_MAX];
    static int seq;
    snprintf(out, sizeof out, "%s/dac%d.json", cl_tmp, ++seq);
    cl_res r;
    cl_h(&r, set, "run", DAC_INI, "--out", out, "--quiet", NULL);
    cl_expect_code(&r, 0);
    cl_free(&r);
    return cl_load(out);
}

static int usable(json_t *doc)
{
    if (!json_is_true(cl_get(doc, "env.backends.py.available")) ||
        !cl_get(doc, "env.libs.torch")) {
        print_message("no Python with numpy and torch: the peers skip for that\n");
        return 0;
    }
    return 1;
}

static void dac_no_transformers(void **state)
{
    (void)state;
    char env[PATH_MAX + 48];
    snprintf(env, sizeof env, "SONO_PYTHON=%s/tests/data/py/python-notransformers", cl_root);
    const char *set[] = {env, NULL};
    json_t *doc = dac_run(set);
    if (!usable(doc)) {
        json_decref(doc);
        skip();
    }
    json_t *c;
    size_t i;
    json_array_foreach(cl_get(doc, "cases"), i, c) {
        assert_string_equal(cl_str(c, "status"), "skip");
        assert_non_null(strstr(cl_str(c, "message"), "transformers not installed"));
    }
    json_decref(doc);
}

static void dac_peer_checks(void **state)
{
    (void)state;
    json_t *doc = dac_run(NULL);
    if (!usable(doc) || !cl_get(doc, "env.libs.transformers")) {
        print_message("this Python has no transformers: the peers' checks are not run; set "
                      "SONO_PYTHON to an interpreter with transformers >= 4.45\n");
        json_decref(doc);
        skip();
    }
    int n[2] = {0};
    json_t *c;
    size_t i;
    json_array_foreach(cl_get(doc, "cases"), i, c) {
        const char *id = cl_str(c, "id"), *st = cl_str(c, "status");
        const char *msg = json_string_value(json_object_get(c, "message"));
        if (strcmp(st, "ok") != 0)
            print_error("%s: status %s (%s)\n", id, st, msg ? msg : "");
        assert_string_equal(st, "ok");
        assert_true(json_is_true(cl_get(c, "check.pass")));
        int dac = strcmp(cl_str(c, "op"), "codec.dac") == 0;
        assert_non_null(strstr(cl_str(c, "describe"), dac ? "DacModel." : "EncodecModel."));
        n[dac]++;
    }
    assert_int_equal(n[0], 6);
    assert_int_equal(n[1], 6);
    json_decref(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(dac_no_transformers),
        cmocka_unit_test(dac_peer_checks),
    };
    return cmocka_run_group_tests(tests, cl_setup, cl_teardown);
}
