/* test_py_speech.c — issue 23's PyTorch peers inside real runs: wav2vec2.features through
 * transformers' Wav2Vec2FeatureEncoder (without transformers every case skips with the
 * reason; with it, SONO_PYTHON pointing at such an interpreter, both norm modes pass the
 * op's check on the committed fixture weights, and describe names the file and its
 * sha256) and attention.relpos in plain torch (needs torch only). */
#include "cli_util.h"

#define PY_DATA "tests/data/py"

static json_t *sp_run(const char *const *set)
{
    char out[PATH_MAX];
    static int seq;
    snprintf(out, sizeof out, "%s/sp%d.json", cl_tmp, ++seq);
    cl_res r;
    cl_h(&r, set, "run", PY_DATA "/speech.ini", "--out", out, "--quiet", NULL);
    cl_expect_code(&r, 0);
    cl_free(&r);
    return cl_load(out);
}

/* Skips unless the run found a Python with numpy and torch (test_py_cli.c covers the
 * skips without them). */
static int sp_has_torch(json_t *doc)
{
    if (!json_is_true(cl_get(doc, "env.backends.py.available"))) {
        print_message("no Python with numpy: %s\n", cl_str(doc, "env.backends.py.reason"));
        return 0;
    }
    if (!cl_get(doc, "env.libs.torch")) {
        print_message("torch is not installed: the peers skip for that\n");
        return 0;
    }
    return 1;
}

static void sp_no_transformers(void **state)
{
    (void)state;
    char env[PATH_MAX + 48];
    snprintf(env, sizeof env, "SONO_PYTHON=%s/" PY_DATA "/python-notransformers", cl_root);
    const char *set[] = {env, NULL};
    json_t *doc = sp_run(set);
    if (!sp_has_torch(doc)) {
        json_decref(doc);
        skip();
    }
    json_t *c;
    size_t i;
    int w2v = 0, rp = 0;
    json_array_foreach(cl_get(doc, "cases"), i, c) {
        const char *st = cl_str(c, "status");
        if (!strcmp(cl_str(c, "op"), "wav2vec2.features")) {
            assert_string_equal(st, "skip");
            assert_non_null(strstr(cl_str(c, "message"), "transformers not installed"));
            w2v++;
        } else { /* plain torch: runs whatever transformers does */
            assert_string_equal(st, "ok");
            rp++;
        }
    }
    assert_int_equal(w2v, 2);
    assert_int_equal(rp, 2);
    json_decref(doc);
}

static void sp_peers_check(void **state)
{
    (void)state;
    json_t *doc = sp_run(NULL);
    if (!sp_has_torch(doc)) {
        json_decref(doc);
        skip();
    }
    int have_tf = cl_get(doc, "env.libs.transformers") != NULL, w2v = 0, rp = 0;
    json_t *c;
    size_t i;
    json_array_foreach(cl_get(doc, "cases"), i, c) {
        const char *id = cl_str(c, "id"), *st = cl_str(c, "status");
        json_t *m = json_object_get(c, "message");
        int is_w2v = !strcmp(cl_str(c, "op"), "wav2vec2.features");
        if (is_w2v && !have_tf) {
            assert_string_equal(st, "skip");
            assert_non_null(strstr(json_string_value(m), "transformers not installed"));
            continue;
        }
        if (strcmp(st, "ok") != 0)
            print_error("%s: %s (%s)\n", id, st, json_is_string(m) ? json_string_value(m) : "");
        assert_string_equal(st, "ok");
        assert_true(json_is_true(cl_get(c, "check.pass")));
        assert_true(cl_num(c, "check.rel_l2") <= cl_num(c, "check.tol"));
        if (is_w2v) {
            const char *d = cl_str(c, "describe");
            assert_non_null(strstr(d, "Wav2Vec2FeatureEncoder"));
            assert_non_null(strstr(d, "tests/data/w2v/w2v_"));
            const char *h = strstr(d, "sha256: ");
            assert_non_null(h);
            char hex[65];
            snprintf(hex, sizeof hex, "%.64s", h + 8);
            assert_true(cl_is_hex64(hex));
            w2v++;
        } else
            rp++;
    }
    assert_int_equal(rp, 2);
    if (!have_tf) {
        print_message("this Python (%s) has no transformers: the Wav2Vec2FeatureEncoder "
                      "peer's check is not run; set SONO_PYTHON to one with transformers\n",
                      cl_str(doc, "env.libs.python"));
        json_decref(doc);
        skip();
    }
    assert_int_equal(w2v, 2);
    json_decref(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sp_no_transformers),
        cmocka_unit_test(sp_peers_check),
    };
    return cmocka_run_group_tests(tests, cl_setup, cl_teardown);
}
