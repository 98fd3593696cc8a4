/* test_py_proto.c — the py backend's worker protocol and its C client: good and
 * malformed requests straight to the Python worker (a raw pipe client of the test's own),
 * the plugin's client against fake workers that garble, die or speak another version, a
 * segfault in Python, and the interpreter search with stub interpreters (no Python, no
 * numpy, no torch) and its cache. Skips when this machine has no Python with numpy. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <complex.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "py.h"

extern char **environ;

static char pkg[PATH_MAX];     /* impls/py */
static char data[PATH_MAX];    /* tests/data/py, absolute */
static py_probe found;         /* this machine's interpreter, as the search picks it */

/* ---- a raw client: the test's own, sharing nothing with proc.c ---------------------- */
typedef struct raw {
    pid_t pid;
    FILE *to, *from;
} raw;

static void raw_start(raw *r)
{
    int in[2], out[2];
    assert_int_equal(pipe(in), 0);
    assert_int_equal(pipe(out), 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_addclose(&fa, in[1]);
    posix_spawn_file_actions_addclose(&fa, out[0]);
    char **env = py_env_new(pkg);
    size_t n = 0;
    while (env[n])
        n++;
    char **env2 = calloc(n + 2, sizeof *env2);
    memcpy(env2, env, n * sizeof *env);
    env2[n] = "SONO_PY_TEST_IMPLS=1";
    char *argv[] = {found.python, "-B", "-m", "sonopy", NULL};
    assert_int_equal(posix_spawnp(&r->pid, found.python, &fa, NULL, argv, env2), 0);
    posix_spawn_file_actions_destroy(&fa);
    free(env2);
    py_env_free(env);
    close(in[0]);
    close(out[1]);
    r->to = fdopen(in[1], "w");
    r->from = fdopen(out[0], "r");
}

/* Sends one line, returns the parsed reply (asserting it is a JSON object with "ok"). */
static json_t *raw_call(raw *r, const char *line)
{
    fprintf(r->to, "%s\n", line);
    fflush(r->to);
    char buf[8192];
    assert_non_null(fgets(buf, sizeof buf, r->from));
    json_t *j = json_loads(buf, 0, NULL);
    if (!json_is_object(j) || !json_is_boolean(json_object_get(j, "ok")))
        fail_msg("reply to %s is not {\"ok\": ...}: %s", line, buf);
    return j;
}

/* The request must be refused with an error of kind `kind` that mentions `word`. */
static void raw_refused(raw *r, const char *line, const char *kind, const char *word)
{
    json_t *j = raw_call(r, line);
    const char *e = json_string_value(json_object_get(j, "error"));
    const char *k = json_string_value(json_object_get(j, "kind"));
    if (json_is_true(json_object_get(j, "ok")) || !e || !k || strcmp(k, kind) != 0 ||
        !strstr(e, word))
        fail_msg("%s: expected a %s error about '%s', got %s", line, kind, word,
                 json_dumps(j, 0));
    json_decref(j);
}

static void raw_stop(raw *r)
{
    fclose(r->to);
    int st;
    waitpid(r->pid, &st, 0);
    fclose(r->from);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0); /* end of input: a clean exit */
}

static void need_python(void)
{
    if (!found.found) {
        print_message("no Python with numpy here (%s): skipped\n", found.why);
        skip();
    }
}

/* A shared buffer the test creates by hand (shm_open), as the plugin would. */
static void *make_shm(const char *name, size_t n)
{
    shm_unlink(name);
    int fd = shm_open(name, O_CREAT | O_RDWR, 0600);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, (off_t)n), 0);
    void *m = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    assert_true(m != MAP_FAILED);
    return m;
}

/* ---- the worker, raw ---------------------------------------------------------------- */

static void proto_good_fft(void **state)
{
    (void)state;
    need_python();
    raw r;
    raw_start(&r);
    json_t *j = raw_call(&r, "{\"cmd\": \"hello\"}");
    assert_true(json_is_true(json_object_get(j, "ok")));
    assert_int_equal(json_integer_value(json_object_get(j, "protocol")), 1);
    json_decref(j);

    enum { N = 16, B = 2 };
    float complex *in = make_shm("/sono-test-py-in", sizeof(float complex) * N * B);
    float complex *out = make_shm("/sono-test-py-out", sizeof(float complex) * N * B);
    for (int i = 0; i < N * B; i++)
        in[i] = (float)sin(1.0 + i * 0.7) + I * (float)cos(0.3 * i * i);
    j = raw_call(&r, "{\"cmd\": \"setup\", \"impl\": \"numpy\", \"op\": \"fft\", \"params\": "
                     "{\"n\": 16, \"batch\": 2, \"threads\": 1}}");
    assert_true(json_is_true(json_object_get(j, "ok")));
    long long id = json_integer_value(json_object_get(j, "id"));
    json_decref(j);
    char line[512];
    snprintf(line, sizeof line, "{\"cmd\": \"load\", \"id\": %lld, \"shm\": \"/sono-test-py-in\", "
             "\"dtype\": \"c64\", \"shape\": [2, 16]}", id);
    j = raw_call(&r, line);
    assert_true(json_is_true(json_object_get(j, "ok")));
    json_decref(j);
    snprintf(line, sizeof line, "{\"cmd\": \"run\", \"id\": %lld, \"k\": 3}", id);
    j = raw_call(&r, line);
    assert_true(json_is_true(json_object_get(j, "ok")));
    assert_true(json_is_integer(json_object_get(j, "ns")));
    assert_true(json_integer_value(json_object_get(j, "ns")) > 0);
    json_decref(j);
    snprintf(line, sizeof line, "{\"cmd\": \"store\", \"id\": %lld, \"shm\": "
             "\"/sono-test-py-out\", \"dtype\": \"c64\", \"shape\": [2, 16]}", id);
    j = raw_call(&r, line);
    assert_true(json_is_true(json_object_get(j, "ok")));
    json_decref(j);
    /* the DFT by its definition, in double */
    for (int b = 0; b < B; b++)
        for (int k = 0; k < N; k++) {
            double complex acc = 0;
            for (int t = 0; t < N; t++)
                acc += in[b * N + t] * cexp(-2.0 * M_PI * I * t * k / N);
            assert_true(cabs(out[b * N + k] - acc) < 1e-5 * (1 + cabs(acc)));
        }
    snprintf(line, sizeof line, "{\"cmd\": \"describe\", \"id\": %lld}", id);
    j = raw_call(&r, line);
    assert_non_null(strstr(json_string_value(json_object_get(j, "text")), "numpy.fft.fft"));
    assert_true(json_integer_value(json_object_get(j, "workspace")) > 0);
    json_decref(j);
    snprintf(line, sizeof line, "{\"cmd\": \"teardown\", \"id\": %lld}", id);
    json_decref(raw_call(&r, line));
    snprintf(line, sizeof line, "{\"cmd\": \"run\", \"id\": %lld, \"k\": 1}", id);
    raw_refused(&r, line, "request", "no state with id");
    munmap(in, sizeof(float complex) * N * B);
    munmap(out, sizeof(float complex) * N * B);
    shm_unlink("/sono-test-py-in");
    shm_unlink("/sono-test-py-out");
    raw_stop(&r);
}

static void proto_malformed(void **state)
{
    (void)state;
    need_python();
    raw r;
    raw_start(&r);
    raw_refused(&r, "this is not json", "request", "not JSON");
    raw_refused(&r, "[1, 2]", "request", "JSON object");
    raw_refused(&r, "{\"cmd\": 5}", "request", "'cmd'");
    raw_refused(&r, "{\"cmd\": \"bogus\"}", "request", "unknown cmd");
    raw_refused(&r, "{\"cmd\": \"setup\"}", "request", "'impl'");
    raw_refused(&r, "{\"cmd\": \"setup\", \"impl\": \"nope\", \"op\": \"fft\", \"params\": {}}",
                "request", "no impl named 'nope'");
    raw_refused(&r, "{\"cmd\": \"setup\", \"impl\": \"numpy\", \"op\": \"nope\", \"params\": {}}",
                "request", "no op 'nope'");
    raw_refused(&r, "{\"cmd\": \"setup\", \"impl\": \"numpy\", \"op\": \"fft\", \"params\": [1]}",
                "request", "'params'");
    raw_refused(&r, "{\"cmd\": \"setup\", \"impl\": \"numpy\", \"op\": \"fft\", \"params\": {}, "
                "\"device\": \"tpu\"}", "request", "device");
    /* issue 27: a GPU is cuda:N, N digits only */
    raw_refused(&r, "{\"cmd\": \"setup\", \"impl\": \"numpy\", \"op\": \"fft\", \"params\": {}, "
                "\"device\": \"cuda:x\"}", "request", "cuda:N");
    raw_refused(&r, "{\"cmd\": \"run\", \"id\": 99, \"k\": 1}", "request", "no state with id 99");
    raw_refused(&r, "{\"cmd\": \"run\", \"id\": true, \"k\": 1}", "request", "'id'");
    json_t *j = raw_call(&r, "{\"cmd\": \"setup\", \"impl\": \"numpy\", \"op\": \"rfft\", "
                             "\"params\": {\"n\": 8}}");
    long long id = json_integer_value(json_object_get(j, "id"));
    json_decref(j);
    char line[512];
    snprintf(line, sizeof line, "{\"cmd\": \"run\", \"id\": %lld, \"k\": 1}", id);
    raw_refused(&r, line, "request", "run before load");
    snprintf(line, sizeof line, "{\"cmd\": \"load\", \"id\": %lld, \"shm\": \"/sono-test-none\", "
             "\"dtype\": \"f32\", \"shape\": [1, 8]}", id);
    raw_refused(&r, line, "request", "cannot open shared memory /sono-test-none");
    snprintf(line, sizeof line, "{\"cmd\": \"load\", \"id\": %lld, \"shm\": \"../etc/passwd\", "
             "\"dtype\": \"f32\", \"shape\": [1, 8]}", id);
    raw_refused(&r, line, "request", "must be /NAME");
    float *small = make_shm("/sono-test-py-small", 16);
    snprintf(line, sizeof line, "{\"cmd\": \"load\", \"id\": %lld, \"shm\": "
             "\"/sono-test-py-small\", \"dtype\": \"f32\", \"shape\": [1, 8]}", id);
    raw_refused(&r, line, "request", "holds 16 bytes");
    snprintf(line, sizeof line, "{\"cmd\": \"load\", \"id\": %lld, \"shm\": "
             "\"/sono-test-py-small\", \"dtype\": \"f16\", \"shape\": [1, 2]}", id);
    raw_refused(&r, line, "request", "dtype 'f16'");
    snprintf(line, sizeof line, "{\"cmd\": \"load\", \"id\": %lld, \"shm\": "
             "\"/sono-test-py-small\", \"dtype\": \"f32\", \"shape\": [1, -2]}", id);
    raw_refused(&r, line, "request", "non-negative");
    snprintf(line, sizeof line, "{\"cmd\": \"store\", \"id\": %lld, \"shm\": "
             "\"/sono-test-py-small\", \"dtype\": \"f32\", \"shape\": [1, 4]}", id);
    raw_refused(&r, line, "request", "store before run");
    munmap(small, 16);
    shm_unlink("/sono-test-py-small");
    /* an exception in an impl: its traceback's last line, as an error */
    raw_refused(&r, "{\"cmd\": \"setup\", \"impl\": \"test-raise\", \"op\": \"fft\", \"params\": "
                "{\"n\": 16}}", "error", "ValueError: test-raise: planted failure in setup (n=16)");
    /* after all that, still serving */
    j = raw_call(&r, "{\"cmd\": \"hello\"}");
    assert_true(json_is_true(json_object_get(j, "ok")));
    json_decref(j);
    raw_stop(&r);
}

/* ---- the plugin's client ------------------------------------------------------------ */

static void client_fake(const char *module, int want_rc, const char *cmd, const char *word)
{
    py_proc p = {.to = -1, .from = -1};
    sono_error err = {0};
    int rc = py_proc_start(&p, found.python, data, module, &err);
    if (strcmp(cmd, "hello") == 0) {
        if (rc != want_rc || !strstr(err.msg, word))
            fail_msg("%s: start gave %d '%s', expected %d with '%s'", module, rc, err.msg,
                     want_rc, word);
        assert_int_equal(p.pid, 0); /* refused, and not left running */
        return;
    }
    assert_int_equal(rc, 0);
    json_t *reply = NULL;
    rc = py_proc_call(&p, json_pack("{s:s, s:i, s:i}", "cmd", cmd, "id", 1, "k", 1), &reply,
                      &err);
    if (rc != want_rc || !strstr(err.msg, word))
        fail_msg("%s: %s gave %d '%s', expected %d with '%s'", module, cmd, rc, err.msg,
                 want_rc, word);
    assert_null(reply);
    assert_int_equal(p.pid, 0); /* reaped */
    /* a further call says the worker is gone, it does not hang or crash */
    rc = py_proc_call(&p, json_pack("{s:s}", "cmd", "hello"), &reply, &err);
    assert_int_equal(rc, SONO_EDEVICE);
    assert_non_null(strstr(err.msg, "not running"));
    py_proc_stop(&p);
}

static void client_bad_workers(void **state)
{
    (void)state;
    need_python();
    client_fake("fake.garbage", SONO_EDEVICE, "run", "malformed reply to run");
    client_fake("fake.noreply", SONO_EDEVICE, "run", "malformed reply to run");
    client_fake("fake.dies", SONO_EDEVICE, "run", "died during run: exited with status 3");
    client_fake("fake.oldproto", SONO_EABI, "hello", "speaks protocol 99");
    client_fake("fake.nosuchmodule", SONO_EDEVICE, "hello", "died during hello");
}

/* A segfault inside the Python worker: the call waiting on it says so, nothing more. */
static void client_worker_segfault(void **state)
{
    (void)state;
    need_python();
    setenv("SONO_PY_TEST_IMPLS", "1", 1);
    py_proc p = {.to = -1, .from = -1};
    sono_error err = {0};
    assert_int_equal(py_proc_start(&p, found.python, pkg, "sonopy", &err), 0);
    json_t *r;
    assert_int_equal(py_proc_call(&p, json_pack("{s:s, s:s, s:s, s:{s:i}}", "cmd", "setup",
                                                "impl", "test-crash", "op", "fft", "params",
                                                "n", 8), &r, &err), 0);
    json_int_t id = json_integer_value(json_object_get(r, "id"));
    json_decref(r);
    py_shm s;
    assert_int_equal(py_shm_create(&s, 64, &err), 0);
    memset(s.data, 0, 64);
    assert_int_equal(py_proc_call(&p, json_pack("{s:s, s:I, s:s, s:s, s:[i, i]}", "cmd", "load",
                                                "id", id, "shm", s.name, "dtype", "c64",
                                                "shape", 1, 8), &r, &err), 0);
    json_decref(r);
    py_shm_free(&s);
    int rc = py_proc_call(&p, json_pack("{s:s, s:I, s:i}", "cmd", "run", "id", id, "k", 1), &r,
                          &err);
    assert_int_equal(rc, SONO_EDEVICE);
    if (!strstr(err.msg, "died during run: killed by signal 11"))
        fail_msg("%s", err.msg);
    unsetenv("SONO_PY_TEST_IMPLS");
}

/* ---- the interpreter search --------------------------------------------------------- */

static void search_with(const char *python, const char *path, py_probe *pr)
{
    char stub[PATH_MAX + 32];
    unsetenv("SONO_PY_PROBE");
    if (python) {
        snprintf(stub, sizeof stub, "%s/%s", data, python);
        setenv("SONO_PYTHON", python[0] == '/' ? python : stub, 1);
    } else
        unsetenv("SONO_PYTHON");
    char *old = getenv("PATH") ? strdup(getenv("PATH")) : NULL;
    if (path)
        setenv("PATH", path, 1);
    py_probe_find(pkg, pr);
    if (old)
        setenv("PATH", old, 1);
    free(old);
    unsetenv("SONO_PYTHON");
}

static void search_stubs(void **state)
{
    (void)state;
    need_python();
    py_probe pr;
    search_with("/nonexistent/python3", NULL, &pr);
    assert_false(pr.found);
    if (!strstr(pr.why, "SONO_PYTHON=/nonexistent/python3: exited with status 127: cannot run "
                        "it: No such file or directory"))
        fail_msg("%s", pr.why);
    search_with("python-broken", NULL, &pr);
    assert_false(pr.found);
    assert_non_null(strstr(pr.why, "exited with status 1: Fatal Python error: stub"));
    search_with("python-nonumpy", NULL, &pr);
    assert_false(pr.found);
    assert_non_null(strstr(pr.why, "without numpy"));
    search_with("python-notorch", NULL, &pr);
    assert_true(pr.found);
    assert_string_equal(pr.numpy, found.numpy);
    assert_string_equal(pr.torch, ""); /* hidden: torch's impls will skip, saying so */
    assert_true(pr.clock_resolution_ns > 0 && pr.clock_overhead_ns > 0);
}

/* With SONO_PYTHON unset: a python3 without numpy first on PATH is passed over, and
 * /usr/bin/python3 is tried after PATH. */
static void search_path(void **state)
{
    (void)state;
    need_python();
    /* the search ends at /usr/bin/python3: without numpy there (a GPU machine's python3
     * with numpy lives in a venv) there is nothing this test can find */
    if (system("/usr/bin/python3 -c 'import numpy' 2>/dev/null") != 0) {
        print_message("/usr/bin/python3 has no numpy here: skipped\n");
        skip();
    }
    char dir[PATH_MAX], link[PATH_MAX + 16], stub[PATH_MAX + 32], path[PATH_MAX * 2];
    snprintf(dir, sizeof dir, "/tmp/sono_py_XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(link, sizeof link, "%s/python3", dir);
    snprintf(stub, sizeof stub, "%s/python-nonumpy", data);
    assert_int_equal(symlink(stub, link), 0);
    py_probe pr;
    snprintf(path, sizeof path, "%s:/nonexistent", dir); /* no python3 with numpy on PATH */
    setenv("SONO_PYENV", "none", 1); /* the project's venv would come before PATH */
    search_with(NULL, path, &pr);
    unsetenv("SONO_PYENV");
    unlink(link);
    rmdir(dir);
    if (!pr.found)
        fail_msg("%s", pr.why);
    assert_string_equal(pr.python, "/usr/bin/python3");
}

/* The project's environment (SONO_PYENV, else build/pyenv) comes after SONO_PYTHON and
 * before PATH: with a numpy-less python3 first on PATH, the venv's interpreter is chosen;
 * a venv that cannot run is passed over with its reason, and "none" skips it. */
static void search_pyenv(void **state)
{
    (void)state;
    need_python();
    char stub[PATH_MAX + 32], dir[PATH_MAX], link[PATH_MAX + 16], path[PATH_MAX * 2];
    snprintf(stub, sizeof stub, "%s/python-notorch", data); /* runs, has numpy, no torch */
    snprintf(dir, sizeof dir, "/tmp/sono_py_XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(link, sizeof link, "%s/python3", dir);
    char nonumpy[PATH_MAX + 32];
    snprintf(nonumpy, sizeof nonumpy, "%s/python-nonumpy", data);
    assert_int_equal(symlink(nonumpy, link), 0);
    /* /usr/bin's python3 (with numpy) is on PATH too: the venv must still come first */
    snprintf(path, sizeof path, "%s:/usr/bin:/bin", dir);
    py_probe pr;
    setenv("SONO_PYENV", stub, 1);
    search_with(NULL, path, &pr);
    if (!pr.found)
        fail_msg("%s", pr.why);
    assert_string_equal(pr.python, stub);
    if (pr.torch[0])
        fail_msg("torch %s: the stub's probe was not the one used", pr.torch);
    /* a broken venv: the search goes on to PATH and /usr/bin, keeping the venv's reason */
    setenv("SONO_PYENV", "/nonexistent/pyenv/bin/python3", 1);
    search_with(NULL, path, &pr);
    assert_string_not_equal(pr.python, stub);
    if (!pr.found && !strstr(pr.why, "/nonexistent/pyenv/bin/python3"))
        fail_msg("the venv's reason is lost: %s", pr.why);
    unsetenv("SONO_PYENV");
    unlink(link);
    rmdir(dir);
}

/* The answer is kept in SONO_PY_PROBE for the harness's workers: a second search with
 * the same SONO_PYTHON and PATH runs nothing; another SONO_PYTHON searches again. */
static void search_cached(void **state)
{
    (void)state;
    need_python();
    char count[64], stub[PATH_MAX + 32];
    snprintf(count, sizeof count, "/tmp/sono_py_count_%d", (int)getpid());
    unlink(count);
    setenv("SONO_TEST_COUNT", count, 1);
    snprintf(stub, sizeof stub, "%s/python-counting", data);
    unsetenv("SONO_PY_PROBE");
    setenv("SONO_PYTHON", stub, 1);
    py_probe a, b, c;
    py_probe_find(pkg, &a);
    assert_non_null(getenv("SONO_PY_PROBE"));
    py_probe_find(pkg, &b);
    size_t len;
    FILE *f = fopen(count, "r");
    assert_non_null(f);
    char lines[64] = "";
    len = fread(lines, 1, sizeof lines - 1, f);
    fclose(f);
    assert_int_equal(len, 4); /* "run\n" once */
    assert_true(a.found && b.found);
    assert_string_equal(a.python, b.python);
    assert_string_equal(a.numpy, b.numpy);
    assert_true(a.clock_overhead_ns == b.clock_overhead_ns);
    setenv("SONO_PYTHON", "/nonexistent/python3", 1);
    py_probe_find(pkg, &c);
    assert_false(c.found);
    unsetenv("SONO_PYTHON");
    unsetenv("SONO_PY_PROBE");
    unlink(count);
}

static int setup(void **state)
{
    (void)state;
    sono_error err = {0};
    if (py_find_package(pkg, sizeof pkg, &err) != 0) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    if (!realpath("tests/data/py", data)) {
        fprintf(stderr, "run from the repo root\n");
        return -1;
    }
    unsetenv("SONO_PY_PROBE");
    py_probe_find(pkg, &found);
    signal(SIGPIPE, SIG_IGN);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(proto_good_fft),       cmocka_unit_test(proto_malformed),
        cmocka_unit_test(client_bad_workers),   cmocka_unit_test(client_worker_segfault),
        cmocka_unit_test(search_stubs),         cmocka_unit_test(search_path),
        cmocka_unit_test(search_cached),        cmocka_unit_test(search_pyenv),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
