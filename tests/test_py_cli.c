/* test_py_cli.c — the py backend inside real runs: a NumPy peer measured and checked like
 * our own impls, a deliberately wrong peer FAILs, a Python exception, a segfault and a
 * hang in Python each cost only their case, the results name the Python, numpy and torch
 * versions; with no Python, no numpy or no torch the cases skip with the reason. The codec
 * blocks' torch peers (vq.encode, conv1d, attention) pass the ops' own checks, and so do
 * issue 14's audio I/O peers (decode, load.batch), which skip what they cannot read. */
#include "cli_util.h"

#define PY_DATA "tests/data/py"

static json_t *py_run(const char *ini, const char *const *set, int want_code)
{
    char out[PATH_MAX];
    static int seq;
    snprintf(out, sizeof out, "%s/py%d.json", cl_tmp, ++seq);
    cl_res r;
    cl_h(&r, set, "run", ini, "--out", out, "--quiet", NULL);
    cl_expect_code(&r, want_code);
    cl_free(&r);
    return cl_load(out);
}

static json_t *py_case(json_t *doc, const char *id)
{
    json_t *c = cl_case(doc, id);
    if (!c)
        print_error("no case %s\n", id);
    assert_non_null(c);
    return c;
}

static void py_expect(json_t *doc, const char *id, const char *status, const char *why)
{
    json_t *c = py_case(doc, id);
    const char *st = cl_str(c, "status");
    const char *msg = json_string_value(json_object_get(c, "message"));
    if (strcmp(st, status) != 0 || (why && (!msg || !strstr(msg, why))))
        print_error("%s: status %s (%s), expected %s with '%s'\n", id, st, msg ? msg : "",
                    status, why ? why : "");
    assert_string_equal(st, status);
    if (why)
        assert_non_null(strstr(msg, why));
}

/* Whether this machine has a Python with numpy (and torch): what the results say. */
static int py_available(json_t *doc)
{
    return json_is_true(cl_get(doc, "env.backends.py.available"));
}

/* A passing peer's record: measured on the worker's clock, checked, described. */
static void py_ok_case(json_t *doc, const char *id, const char *what)
{
    py_expect(doc, id, "ok", NULL);
    json_t *c = py_case(doc, id);
    assert_string_equal(cl_str(c, "device"), "py:cpu");
    assert_true(json_is_true(cl_get(c, "check.pass")));
    assert_true(cl_num(c, "check.rel_l2") <= cl_num(c, "check.tol"));
    assert_true(cl_num(c, "time_ns.median") > 0);
    assert_true(cl_num(c, "time_ns.runs_per_sample") >= 1);
    const char *d = cl_str(c, "describe");
    if (!strstr(d, what) || !strstr(d, "warm-up"))
        print_error("%s: describe '%s' lacks '%s' or the warm-up note\n", id, d, what);
    assert_non_null(strstr(d, what));
    assert_non_null(strstr(d, "warm-up"));
}

static void py_planted(void **state)
{
    (void)state;
    const char *set[] = {"SONO_PY_TEST_IMPLS=1", NULL};
    json_t *doc = py_run(PY_DATA "/planted.ini", set, 1);
    if (!py_available(doc)) {
        print_message("no Python with numpy: %s\n",
                      cl_str(doc, "env.backends.py.reason"));
        json_decref(doc);
        skip();
    }
    py_expect(doc, "fft/py/test-wrong/n=64,batch=1/noise", "fail", "exceeds tolerance");
    py_ok_case(doc, "fft/py/numpy/n=64,batch=1/noise", "numpy.fft.fft");
    py_expect(doc, "fft/py/test-raise/n=64,batch=1/noise", "error",
              "ValueError: test-raise: planted failure in setup (n=64)");
    if (cl_get(doc, "env.libs.torch"))
        py_ok_case(doc, "fft/py/torch/n=64,batch=1/noise", "torch.fft.fft");
    else
        py_expect(doc, "fft/py/torch/n=64,batch=1/noise", "skip", "torch is not installed");
    py_expect(doc, "fft/py/test-crash/n=64,batch=1/noise", "error",
              "died during run: killed by signal 11");
    py_expect(doc, "fft/cpu/radix2/n=64,batch=1/noise", "ok", NULL);
    py_expect(doc, "fft/py/test-hang/n=64,batch=1/noise", "timeout", "timeout_s = 4");
    py_ok_case(doc, "rfft/py/numpy/n=64,batch=1/noise", "numpy.fft.rfft");
    /* the environment: the interpreter and its libraries, the worker's clock */
    assert_non_null(strstr(cl_str(doc, "env.libs.python"), "3."));
    assert_true(strlen(cl_str(doc, "env.libs.numpy")) > 0);
    json_t *devs = cl_get(doc, "env.devices"), *d;
    size_t i;
    int seen = 0;
    json_array_foreach(devs, i, d) if (strcmp(cl_str(d, "name"), "py:cpu") == 0) {
        seen = 1;
        assert_true(cl_num(d, "clock_resolution_ns") > 0);
        assert_true(cl_num(d, "clock_overhead_ns") > 0);
    }
    assert_true(seen);
    json_decref(doc);
}

/* Planted impls exist only for the tests. */
static void py_no_planted_by_default(void **state)
{
    (void)state;
    cl_res r;
    cl_h(&r, NULL, "list", NULL);
    cl_expect_code(&r, 0);
    assert_null(strstr(r.out, "test-wrong"));
    cl_free(&r);
    const char *set[] = {"SONO_PY_TEST_IMPLS=1", NULL};
    cl_h(&r, set, "list", NULL);
    cl_expect_code(&r, 0);
    if (!strstr(r.out, "backend py         available"))
        skip();
    assert_non_null(strstr(r.out, "py/test-wrong"));
    cl_free(&r);
}

static void py_no_python(void **state)
{
    (void)state;
    const char *set[] = {"SONO_PYTHON=/nonexistent/python3", NULL};
    json_t *doc = py_run(PY_DATA "/peers.ini", set, 0);
    assert_false(py_available(doc));
    assert_non_null(strstr(cl_str(doc, "env.backends.py.reason"),
                           "no Python with numpy: SONO_PYTHON=/nonexistent/python3"));
    py_expect(doc, "fft/py/numpy/n=64,batch=1/noise", "skip", "no Python with numpy");
    py_expect(doc, "fft/py/torch/n=64,batch=1/noise", "skip", "no Python with numpy");
    json_decref(doc);
}

static void py_no_numpy(void **state)
{
    (void)state;
    char env[PATH_MAX + 32];
    snprintf(env, sizeof env, "SONO_PYTHON=%s/" PY_DATA "/python-nonumpy", cl_root);
    const char *set[] = {env, NULL};
    json_t *doc = py_run(PY_DATA "/peers.ini", set, 0);
    if (strstr(cl_str(doc, "env.backends.py.reason"), "exited with status 127")) {
        json_decref(doc); /* the stub's real Python is missing: nothing to hide numpy from */
        skip();
    }
    py_expect(doc, "fft/py/numpy/n=64,batch=1/noise", "skip", "without numpy");
    json_decref(doc);
}

static void py_no_torch(void **state)
{
    (void)state;
    char env[PATH_MAX + 32];
    snprintf(env, sizeof env, "SONO_PYTHON=%s/" PY_DATA "/python-notorch", cl_root);
    const char *set[] = {env, NULL};
    json_t *doc = py_run(PY_DATA "/peers.ini", set, 0);
    if (!py_available(doc)) {
        json_decref(doc);
        skip();
    }
    py_ok_case(doc, "fft/py/numpy/n=64,batch=1/noise", "numpy.fft.fft");
    py_expect(doc, "fft/py/torch/n=64,batch=1/noise", "skip", "torch is not installed");
    assert_null(cl_get(doc, "env.libs.torch"));
    json_decref(doc);
}

/* Every case of nn.ini (py/torch of vq.encode, conv1d, attention) is ok with its describe
 * saying what ran, or, without torch, skips with the reason. */
static void nn_cases(const char *python, int want_ok)
{
    const char *set[] = {python, NULL};
    json_t *doc = py_run(PY_DATA "/nn.ini", python ? set : NULL, 0);
    if (!py_available(doc)) {
        print_message("no Python with numpy: %s\n", cl_str(doc, "env.backends.py.reason"));
        json_decref(doc);
        skip();
    }
    json_t *torch = cl_get(doc, "env.libs.torch");
    if (want_ok && !torch) {
        py_expect(doc, "vq.encode/py/torch/K=64,D=16,T=40,seed=1/noise", "skip",
                  "torch is not installed");
        json_decref(doc);
        skip();
    }
    /* torch 2.0 added F.scaled_dot_product_attention; 1.13 takes the explicit path */
    int sdpa = torch && atoi(json_string_value(torch)) >= 2;
    const char *what[][2] = {{"vq.encode", "torch.cdist(vectors, codebook).argmin(dim=1)"},
                             {"conv1d", "F.conv"},
                             {"attention", sdpa ? "F.scaled_dot_product_attention(is_causal="
                                                : "has no F.scaled_dot_product_attention: "
                                                  "explicit softmax"}};
    int seen[3] = {0};
    json_t *cases = cl_get(doc, "cases"), *c;
    size_t i;
    json_array_foreach(cases, i, c) {
        const char *id = cl_str(c, "id");
        for (int k = 0; k < 3; k++) {
            if (strcmp(cl_str(c, "op"), what[k][0]) != 0)
                continue;
            seen[k]++;
            if (want_ok)
                py_ok_case(doc, id, what[k][1]);
            else
                py_expect(doc, id, "skip", "torch is not installed");
        }
    }
    for (int k = 0; k < 3; k++)
        assert_true(seen[k] > 0);
    assert_int_equal(json_array_size(cases), seen[0] + seen[1] + seen[2]);
    json_decref(doc);
}

static void py_torch_nn(void **state)
{
    (void)state;
    nn_cases(NULL, 1);
}

static void py_torch_nn_no_torch(void **state)
{
    (void)state;
    char env[PATH_MAX + 32];
    snprintf(env, sizeof env, "SONO_PYTHON=%s/" PY_DATA "/python-notorch", cl_root);
    nn_cases(env, 0);
}

/* issue 26: nn.TF32Switch sets both of torch's TF32 switches (matmul and cuDNN's convs)
 * for the call and puts both back: a float32 case must not inherit TF32 convolutions
 * (cuDNN allows them by default, and the CUDA peers turn both off at construction). */
static void py_tf32_switch(void **state)
{
    (void)state;
    const char *py = access("build/pyenv/bin/python3", X_OK) == 0 ? "build/pyenv/bin/python3"
                                                                   : "/usr/bin/python3";
    char path[PATH_MAX], cmd[3 * PATH_MAX];
    snprintf(path, sizeof path, "%s/tf32_switch.py", cl_tmp);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("try:\n"
          "    import torch\n"
          "except ImportError:\n"
          "    raise SystemExit(77)\n"
          "import sonopy.ops_torch  # as the worker: nn and ops_torch import each other\n"
          "from sonopy.nn import TF32Switch\n"
          "b = torch.backends\n"
          "b.cuda.matmul.allow_tf32 = False\n"
          "b.cudnn.allow_tf32 = False\n"
          "with TF32Switch(True):\n"
          "    assert b.cuda.matmul.allow_tf32 and b.cudnn.allow_tf32\n"
          "assert not b.cuda.matmul.allow_tf32 and not b.cudnn.allow_tf32\n"
          "b.cudnn.allow_tf32 = True\n"
          "with TF32Switch(False):\n"
          "    assert not b.cudnn.allow_tf32\n"
          "assert b.cudnn.allow_tf32 and not b.cuda.matmul.allow_tf32\n",
          f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "PYTHONPATH=impls/py %s '%s'", py, path);
    int rc = system(cmd);
    if (WIFEXITED(rc) && WEXITSTATUS(rc) == 77) {
        print_message("%s has no torch\n", py);
        skip();
    }
    assert_true(WIFEXITED(rc));
    assert_int_equal(WEXITSTATUS(rc), 0);
}

/* issue 14: py/torchaudio of decode and py/torch-dataloader of load.batch on audio_io.ini
 * (a 6-clip corpus in this test's own cache): each case passes the op's check against its
 * float64 reference with its describe saying what ran, or skips with the reason (Opus at
 * 16 kHz, the packed source); without torch every case skips. */
static void audio_io_cases(const char *python, int want_ok)
{
    char cache[PATH_MAX + 32];
    snprintf(cache, sizeof cache, "SONO_CACHE_DIR=%s/cache", cl_tmp);
    const char *set[] = {cache, python, NULL};
    json_t *doc = py_run(PY_DATA "/audio_io.ini", set, 0);
    if (!py_available(doc)) {
        print_message("no Python with numpy: %s\n", cl_str(doc, "env.backends.py.reason"));
        json_decref(doc);
        skip();
    }
    int torch = cl_get(doc, "env.libs.torch") != NULL;
    if (want_ok && !torch) {
        print_message("torch is not installed: the audio I/O peers skip\n");
        json_decref(doc);
        skip();
    }
    int ok = 0, skips = 0, nocodec = 0;
    json_t *cases = cl_get(doc, "cases"), *c;
    size_t i;
    /* torchaudio 2.9+ loads through TorchCodec: where that is not installed, every case
     * that would run skips saying so (a GPU machine's torchaudio 2.11 had none) */
    json_array_foreach(cases, i, c) {
        const char *m = json_string_value(json_object_get(c, "message"));
        nocodec |= m && strstr(m, "loads audio through TorchCodec") != NULL;
    }
    if (want_ok == 2) /* the stand-in torchaudio 2.11 without torchcodec */
        assert_true(nocodec);
    json_array_foreach(cases, i, c) {
        const char *id = cl_str(c, "id");
        const char *why = NULL;
        if (strstr(id, "format=opus,sample_rate=16000"))
            why = "at 48000 Hz only";
        else if (strstr(id, "source=sbd"))
            why = "source=dir";
        if (!want_ok) {
            py_expect(doc, id, "skip", "torch is not installed");
            skips++;
        } else if (why) {
            py_expect(doc, id, "skip", why);
            skips++;
        } else if (nocodec) {
            py_expect(doc, id, "skip", "loads audio through TorchCodec");
            skips++;
        } else {
            py_ok_case(doc, id, strcmp(cl_str(c, "op"), "decode") == 0
                                    ? "torchaudio.load"
                                    : "torch.utils.data.DataLoader(batch_size=4");
            ok++;
        }
    }
    /* 5 decodes and 2 folder loads pass; Opus at 16 kHz and 2 packed loads skip */
    assert_int_equal(ok, want_ok && !nocodec ? 7 : 0);
    assert_int_equal(skips, want_ok && !nocodec ? 3 : 10);
    json_decref(doc);
}

static void py_torch_audio_io(void **state)
{
    (void)state;
    audio_io_cases(NULL, 1);
}

/* torchaudio 2.9+ without TorchCodec (as on a GPU machine whose torchaudio was 2.11): the
 * plugin's supports() skips decode and load.batch saying so, before any worker runs */
static void py_torch_audio_io_no_torchcodec(void **state)
{
    (void)state;
    char env[PATH_MAX + 32];
    snprintf(env, sizeof env, "SONO_PYTHON=%s/" PY_DATA "/python-newtorchaudio", cl_root);
    audio_io_cases(env, 2);
}

static void py_torch_audio_io_no_torch(void **state)
{
    (void)state;
    char env[PATH_MAX + 32];
    snprintf(env, sizeof env, "SONO_PYTHON=%s/" PY_DATA "/python-notorch", cl_root);
    audio_io_cases(env, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(py_planted),   cmocka_unit_test(py_no_planted_by_default),
        cmocka_unit_test(py_no_python), cmocka_unit_test(py_no_numpy),
        cmocka_unit_test(py_no_torch),  cmocka_unit_test(py_torch_nn),
        cmocka_unit_test(py_torch_nn_no_torch), cmocka_unit_test(py_tf32_switch),
        cmocka_unit_test(py_torch_audio_io),
        cmocka_unit_test(py_torch_audio_io_no_torch),
        cmocka_unit_test(py_torch_audio_io_no_torchcodec),
    };
    return cmocka_run_group_tests(tests, cl_setup, cl_teardown);
}
