/* test_py_encodec.c — issue 11's PyTorch peer of codec.encodec (transformers' EncodecModel
 * through the py backend) inside real runs: without transformers, or with one older than
 * EncodecModel, every case skips with the reason; with it (SONO_PYTHON pointing at such an
 * interpreter) encode, decode and the round trip pass the op's own check on the tiny model. */
#include "cli_util.h"

#define PY_DATA "tests/data/py"
#define ENC_INI PY_DATA "/encodec.ini"

static json_t *enc_run(const char *const *set)
{
    char out[PATH_MAX];
    static int seq;
    snprintf(out, sizeof out, "%s/enc%d.json", cl_tmp, ++seq);
    cl_res r;
    cl_h(&r, set, "run", ENC_INI, "--out", out, "--quiet", NULL);
    cl_expect_code(&r, 0);
    cl_free(&r);
    return cl_load(out);
}

/* The peer's cases of a run (encodec.ini holds nothing else), at least one. */
static json_t *enc_cases(json_t *doc)
{
    json_t *cases = cl_get(doc, "cases");
    assert_true(json_array_size(cases) > 0);
    return cases;
}

static void expect_all(json_t *doc, const char *status, const char *why)
{
    json_t *c;
    size_t i;
    json_array_foreach(enc_cases(doc), i, c) {
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

/* Skips the test unless the run found a Python with numpy and torch: without them the
 * cases skip for those reasons, which test_py_cli.c covers. */
static void need_torch(json_t *doc)
{
    if (!json_is_true(cl_get(doc, "env.backends.py.available"))) {
        print_message("no Python with numpy: %s\n", cl_str(doc, "env.backends.py.reason"));
        json_decref(doc);
        skip();
    }
    if (!cl_get(doc, "env.libs.torch")) {
        expect_all(doc, "skip", "torch is not installed");
        print_message("torch is not installed: the EncodecModel peer skips for that\n");
        json_decref(doc);
        skip();
    }
}

static void stub_env(char *env, size_t n, const char *stub)
{
    snprintf(env, n, "SONO_PYTHON=%s/" PY_DATA "/%s", cl_root, stub);
}

static void enc_no_transformers(void **state)
{
    (void)state;
    char env[PATH_MAX + 48];
    stub_env(env, sizeof env, "python-notransformers");
    const char *set[] = {env, NULL};
    json_t *doc = enc_run(set);
    need_torch(doc);
    expect_all(doc, "skip", "transformers not installed");
    assert_null(cl_get(doc, "env.libs.transformers"));
    json_decref(doc);
}

static void enc_old_transformers(void **state)
{
    (void)state;
    char env[PATH_MAX + 48];
    stub_env(env, sizeof env, "python-oldtransformers");
    const char *set[] = {env, NULL};
    json_t *doc = enc_run(set);
    need_torch(doc);
    expect_all(doc, "skip", "transformers 4.30.0 is too old: EncodecModel landed in 4.31");
    assert_string_equal(cl_str(doc, "env.libs.transformers"), "4.30.0");
    json_decref(doc);
}

/* The interpreter the environment chooses (SONO_PYTHON, else PATH's): with transformers,
 * every case passes its check; without (Debian's, CI's), every case says so and the check
 * part is skipped, saying how to run it. */
static void enc_peer_checks(void **state)
{
    (void)state;
    json_t *doc = enc_run(NULL);
    need_torch(doc);
    if (!cl_get(doc, "env.libs.transformers")) {
        expect_all(doc, "skip", "transformers not installed");
        print_message("this Python (%s) has no transformers: the EncodecModel peer's check "
                      "is not run; set SONO_PYTHON to an interpreter with transformers >= "
                      "4.31 to run it\n", cl_str(doc, "env.libs.python"));
        json_decref(doc);
        skip();
    }
    int modes[3] = {0};
    json_t *c;
    size_t i;
    json_array_foreach(enc_cases(doc), i, c) {
        const char *id = cl_str(c, "id"), *st = cl_str(c, "status");
        const char *msg = json_string_value(json_object_get(c, "message"));
        if (strcmp(st, "ok") != 0)
            print_error("%s: status %s (%s)\n", id, st, msg ? msg : "");
        assert_string_equal(st, "ok");
        assert_string_equal(cl_str(c, "device"), "py:cpu");
        assert_true(json_is_true(cl_get(c, "check.pass")));
        assert_true(cl_num(c, "time_ns.median") > 0);
        assert_non_null(strstr(cl_str(c, "describe"), "EncodecModel."));
        modes[0] += strstr(id, "mode=encode") != NULL;
        modes[1] += strstr(id, "mode=decode") != NULL;
        modes[2] += strstr(id, "mode=roundtrip") != NULL;
    }
    for (int m = 0; m < 3; m++)
        assert_int_equal(modes[m], 2); /* bandwidths 18 and 36: 1 and 2 RVQ stages */
    json_decref(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(enc_no_transformers),
        cmocka_unit_test(enc_old_transformers),
        cmocka_unit_test(enc_peer_checks),
    };
    return cmocka_run_group_tests(tests, cl_setup, cl_teardown);
}
