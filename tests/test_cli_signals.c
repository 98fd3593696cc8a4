/* test_cli_signals.c — `harness run` stopped part-way: kill -9, Ctrl-C (SIGINT) and SIGTERM
 * must leave a valid results file of whole cases, and a second Ctrl-C must end the process
 * at once, mid-kernel. */
#include "cli_util.h"

#include <dirent.h>
#include <signal.h>
#include <time.h>

#include "results.h"

/* ---- run: stopped part-way --------------------------------------------------------------- */

/* Cases in the results file at path so far (-1: no valid file yet). The file itself
 * gets its cases only at the run's end; until then they are in its journal, which
 * sono_results_load reads (changing nothing) while the run holds the journal's lock. */
static int cl_cases_now(const char *path)
{
    json_t *d = NULL;
    sono_error err = {0};
    int n = sono_results_load(path, &d, &err) == 0
                ? (int)json_array_size(json_object_get(d, "cases")) : -1;
    json_decref(d);
    return n;
}

/* Starts the slow suite, waits for its first case in the file, sends sig, reaps it.
 * Returns cases seen before the signal (0: timed out or the run ended first). */
static int cl_stop_slow(const char *out, int sig, cl_res *r)
{
    char tag[PATH_MAX];
    const char *argv[] = {cl_harness, "run", CL_DATA "/slow.ini", "--out", out, "--quiet", NULL};
    pid_t pid = cl_spawn(NULL, NULL, argv, tag, sizeof tag);
    int seen = 0, st;
    struct timespec nap = {0, 20 * 1000 * 1000};
    for (int i = 0; i < 1500 && seen < 1; i++) { /* 30 s */
        if (waitpid(pid, &st, WNOHANG) == pid) { /* it ended before we could stop it */
            print_error("the run ended by itself (status 0x%x)\n", st);
            r->status = st;
            r->code = -2;
            return 0;
        }
        seen = cl_cases_now(out);
        if (seen < 1)
            nanosleep(&nap, NULL);
    }
    kill(pid, seen >= 1 ? sig : SIGKILL);
    cl_collect(pid, tag, r);
    return seen < 0 ? 0 : seen;
}

/* Through sono_results_load first: after kill -9 the cases are in the journal, and
 * loading repairs the file from it; the file on disk must then hold them itself. */
static void cl_check_partial(const char *out, json_t **docp)
{
    json_t *loaded;
    sono_error err = {0};
    int rc = sono_results_load(out, &loaded, &err);
    if (rc)
        print_error("%s\n", err.msg);
    assert_int_equal(rc, 0);
    json_decref(loaded);
    json_t *doc = cl_load(out);
    assert_true(json_is_false(cl_get(doc, "run.complete")));
    size_t n = json_array_size(json_object_get(doc, "cases"));
    assert_true(n >= 1 && n < 12);
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(doc, "cases"), i, c)
        cl_check_ok_case(c); /* every recorded case is whole */
    *docp = doc;
}

static void cl_run_sigkill(void **state)
{
    (void)state;
    char dir[PATH_MAX], out[PATH_MAX + 16];
    cl_mkdir("kill", dir, sizeof dir);
    snprintf(out, sizeof out, "%s/k.json", dir);
    cl_res r;
    assert_true(cl_stop_slow(out, SIGKILL, &r) >= 1);
    assert_true(WIFSIGNALED(r.status) && WTERMSIG(r.status) == SIGKILL);
    json_t *doc;
    cl_check_partial(out, &doc);
    /* the repair that loading did says the run was cut short: it never closed the file */
    assert_true(json_is_true(cl_get(doc, "run.interrupted")));
    assert_true(json_is_string(cl_get(doc, "run.repaired")));
    json_decref(doc);
    DIR *d = opendir(dir); /* the file and at most its .tmp, nothing else: no journal */
    assert_non_null(d);
    struct dirent *de;
    while ((de = readdir(d)))
        if (de->d_name[0] != '.' && strcmp(de->d_name, "k.json") != 0 &&
            strcmp(de->d_name, "k.json.tmp") != 0) {
            print_error("left behind: %s\n", de->d_name);
            fail();
        }
    closedir(d);
    cl_free(&r);
}

static void cl_run_sigint(void **state)
{
    (void)state;
    const int sigs[] = {SIGINT, SIGTERM};
    for (int k = 0; k < 2; k++) {
        char out[PATH_MAX];
        snprintf(out, sizeof out, "%s/int%d.json", cl_tmp, k);
        cl_res r;
        assert_true(cl_stop_slow(out, sigs[k], &r) >= 1);
        cl_expect_code(&r, 130);
        json_t *doc;
        cl_check_partial(out, &doc);
        assert_true(json_is_true(cl_get(doc, "run.interrupted")));
        /* the table shows every completed case, and says the run was interrupted */
        assert_non_null(strstr(r.out, "\n== fft ==\n"));
        size_t i;
        json_t *c;
        json_array_foreach(json_object_get(doc, "cases"), i, c) {
            char params[64], row[1024];
            snprintf(params, sizeof params, "n=1024,batch=%lld ",
                     (long long)json_integer_value(cl_get(c, "params.batch")));
            assert_true(cl_line_with(r.out, row, sizeof row, params, "OK"));
        }
        char summary[64];
        snprintf(summary, sizeof summary,
                 "%zu ok, 0 fail, 0 skip, 0 error, 0 crash, 0 timeout (interrupted)",
                 json_array_size(json_object_get(doc, "cases")));
        assert_non_null(strstr(r.out, summary));
        json_decref(doc);
        cl_free(&r);
    }
}

/* Ctrl-C while a case's run() takes seconds: the case runs in a worker process, so the
 * harness abandons it at once (the worker is killed) instead of waiting for the kernel,
 * exits 130, and the file on disk is valid, marked interrupted, without that case. */
static void cl_sigint_abandons_running_case(void **state)
{
    (void)state;
    char out[PATH_MAX], tag[PATH_MAX], errf[PATH_MAX + 8];
    snprintf(out, sizeof out, "%s/long.json", cl_tmp);
    const char *argv[] = {cl_harness, "run", CL_DATA "/long.ini", "--out", out, "--quiet", NULL};
    pid_t pid = cl_spawn(NULL, NULL, argv, tag, sizeof tag);
    snprintf(errf, sizeof errf, "%s.err", tag);
    struct timespec nap = {0, 20 * 1000 * 1000};
    int st = 0, started = 0, ended = 0;
    for (int i = 0; i < 1500 && !started; i++) { /* "cases -> FILE": handlers are set */
        char *e = cl_slurp(errf, NULL);
        started = e && strstr(e, "cases -> ");
        free(e);
        if (!started)
            nanosleep(&nap, NULL);
    }
    if (started) {
        struct timespec settle = {0, 300 * 1000 * 1000}; /* well inside the first run() */
        nanosleep(&settle, NULL);
        kill(pid, SIGINT);
        for (int i = 0; i < 100 && !ended; i++) { /* 2 s, against a run() of ~4 s */
            ended = waitpid(pid, &st, WNOHANG) == pid;
            if (!ended)
                nanosleep(&nap, NULL);
        }
    }
    if (!ended) {
        kill(pid, SIGKILL);
        waitpid(pid, &st, 0);
    }
    assert_true(started);
    if (!ended)
        print_error("still running 2 s after SIGINT\n");
    assert_true(ended);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 130);
    json_t *doc;
    sono_error err = {0};
    assert_int_equal(sono_results_load(out, &doc, &err), 0);
    assert_true(json_is_false(cl_get(doc, "run.complete")));
    assert_true(json_is_true(cl_get(doc, "run.interrupted")));
    assert_int_equal(json_array_size(json_object_get(doc, "cases")), 0);
    json_decref(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cl_run_sigkill),
        cmocka_unit_test(cl_run_sigint),
        cmocka_unit_test(cl_sigint_abandons_running_case),
    };
    return cmocka_run_group_tests(tests, cl_setup, cl_teardown);
}
