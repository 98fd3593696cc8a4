/* test_py_gpu.c — issue 27: `run --device cuda:1` moves py/torch-cuda with the cuda/
 * impls (it once stayed on the first GPU): the case's id says device=cuda:1, its record
 * reads py:cuda:1, and the worker puts its tensors and timing events on GPU 1. Without a
 * GPU here, a stand-in torch (tests/data/py/python-fakecuda) claims CUDA and logs which
 * GPU it was asked for; SONO_PY_CUDA_DEVICES tells the plugin how many GPUs there are.
 * Where torch sees fewer GPUs than asked, the case says so; where the plugin counts
 * fewer, the case skips naming py:cuda:N. Skips without a Python with numpy and torch. */
#include "cli_util.h"

#define PY_DATA "tests/data/py"

/* The record of the suite's py/torch-cuda case (one per run here). */
static json_t *gpu_case(json_t *doc)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(doc, "cases"), i, c)
        if (strstr(cl_str(c, "id"), "/py/torch-cuda/"))
            return c;
    fail_msg("no py/torch-cuda case");
    return NULL;
}

/* Runs gpu.ini with the stand-in torch (gpus GPUs to torch, plugin_gpus to the plugin),
 * with --device dev unless NULL; the stand-in's log into log (n bytes). NULL when this
 * machine has no Python with numpy and torch to stand in for. */
static json_t *gpu_run(const char *dev, int gpus, int plugin_gpus, char *log, size_t n)
{
    static int seq;
    char py[PATH_MAX + 32], g[64], pg[64], lg[PATH_MAX + 32], out[PATH_MAX], logf[PATH_MAX];
    snprintf(py, sizeof py, "SONO_PYTHON=%s/" PY_DATA "/python-fakecuda", cl_root);
    snprintf(g, sizeof g, "SONO_TEST_TORCH_GPUS=%d", gpus);
    snprintf(pg, sizeof pg, "SONO_PY_CUDA_DEVICES=%d", plugin_gpus);
    snprintf(logf, sizeof logf, "%s/torch%d.log", cl_tmp, ++seq);
    snprintf(lg, sizeof lg, "SONO_TEST_TORCH_LOG=%s", logf);
    snprintf(out, sizeof out, "%s/gpu%d.json", cl_tmp, seq);
    const char *set[] = {py, g, pg, lg, NULL};
    cl_res r;
    if (dev)
        cl_h(&r, set, "run", PY_DATA "/gpu.ini", "--device", dev, "--out", out, "--quiet",
             NULL);
    else
        cl_h(&r, set, "run", PY_DATA "/gpu.ini", "--out", out, "--quiet", NULL);
    int code = r.code;
    cl_free(&r);
    json_t *doc = cl_load(out);
    if (!json_is_true(cl_get(doc, "env.backends.py.available")) ||
        !cl_get(doc, "env.libs.torch")) {
        print_message("no Python with numpy and torch here: nothing to stand in for\n");
        json_decref(doc);
        return NULL;
    }
    assert_int_equal(code, dev && gpus < 2 && plugin_gpus >= 2 ? 1 : 0);
    size_t len = 0;
    char *t = cl_exists(logf) ? cl_slurp(logf, &len) : NULL;
    snprintf(log, n, "%s", t ? t : "");
    free(t);
    return doc;
}

static void expect(json_t *c, const char *status, const char *why)
{
    const char *st = cl_str(c, "status");
    const char *msg = json_string_value(json_object_get(c, "message"));
    if (strcmp(st, status) != 0 || (why && (!msg || !strstr(msg, why))))
        print_error("%s: status %s (%s), expected %s with '%s'\n", cl_str(c, "id"), st,
                    msg ? msg : "", status, why ? why : "");
    assert_string_equal(st, status);
    if (why)
        assert_non_null(strstr(msg, why));
}

static void py_gpu_moves(void **state)
{
    (void)state;
    char log[4096];
    json_t *doc = gpu_run("cuda:1", 2, 2, log, sizeof log);
    if (!doc)
        skip();
    json_t *c = gpu_case(doc);
    expect(c, "ok", NULL);
    assert_non_null(strstr(cl_str(c, "id"), "device=cuda:1"));
    assert_string_equal(cl_str(c, "device"), "py:cuda:1");
    /* torch was put on GPU 1 for the tensors and the events, never on GPU 0 */
    if (!strstr(log, "set_device 1") || !strstr(log, "to cuda:1") ||
        !strstr(log, "event on 1") || strstr(log, "set_device 0") || strstr(log, "on 0"))
        print_error("stand-in torch's log:\n%s", log);
    assert_non_null(strstr(log, "set_device 1"));
    assert_non_null(strstr(log, "to cuda:1"));
    assert_non_null(strstr(log, "event on 1"));
    assert_null(strstr(log, "set_device 0"));
    assert_null(strstr(log, "event on 0"));
    /* the CPU peer stays where it was */
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(doc, "cases"), i, e)
        if (strstr(cl_str(e, "id"), "/py/numpy/"))
            assert_string_equal(cl_str(e, "device"), "py:cpu");
    json_decref(doc);
}

/* Without --device the case keeps its name and the first GPU, as before. */
static void py_gpu_default(void **state)
{
    (void)state;
    char log[4096];
    json_t *doc = gpu_run(NULL, 2, 2, log, sizeof log);
    if (!doc)
        skip();
    json_t *c = gpu_case(doc);
    expect(c, "ok", NULL);
    assert_null(strstr(cl_str(c, "id"), "device="));
    assert_string_equal(cl_str(c, "device"), "py:cuda");
    assert_non_null(strstr(log, "set_device 0"));
    assert_null(strstr(log, "set_device 1"));
    json_decref(doc);
}

/* torch sees one GPU where the plugin counted two: the worker refuses, saying both. */
static void py_gpu_torch_sees_fewer(void **state)
{
    (void)state;
    char log[4096];
    json_t *doc = gpu_run("cuda:1", 1, 2, log, sizeof log);
    if (!doc)
        skip();
    json_t *c = gpu_case(doc);
    assert_string_not_equal(cl_str(c, "status"), "ok");
    assert_non_null(strstr(cl_str(c, "message"), "torch sees 1 CUDA device; cuda:1 asked"));
    assert_string_equal(cl_str(c, "device"), "py:cuda:1");
    json_decref(doc);
}

/* One GPU here: no py:cuda:1, and the case skips saying so (cuda:1 is well formed). */
static void py_gpu_absent(void **state)
{
    (void)state;
    char log[4096];
    json_t *doc = gpu_run("cuda:1", 2, 1, log, sizeof log);
    if (!doc)
        skip();
    json_t *c = gpu_case(doc);
    expect(c, "skip", "py:cuda:1");
    assert_non_null(strstr(cl_str(c, "id"), "device=cuda:1"));
    assert_null(strstr(log, "set_device"));
    json_decref(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(py_gpu_moves),
        cmocka_unit_test(py_gpu_default),
        cmocka_unit_test(py_gpu_torch_sees_fewer),
        cmocka_unit_test(py_gpu_absent),
    };
    return cmocka_run_group_tests(tests, cl_setup, cl_teardown);
}
