/* test_sinks.c — the record pipeline without and with workers: a sink that records its
 * calls (begin, one case_start and one record per case in plan order, end once), records
 * round-tripping through record_to_json/record_from_json with their metrics, the jsonl
 * format, and live rows: with stdout a pipe, the first case's row arrives before the
 * second case ends (the second case is held until the test has read the first row). */
#include "cli_util.h"

#include <fcntl.h>
#include <math.h>
#include <poll.h>

#include "record.h"
#include "registry.h"
#include "runner.h"
#include "sink.h"
#include "suite.h"

static sono_reg sk_R;

static int sk_setup(void **state)
{
    const char *b = getenv("SONO_BUILD");
    char dir[1100];
    snprintf(dir, sizeof dir, "%s/plugins", b && *b ? b : "build");
    if (sono_reg_init(&sk_R, NULL))
        return -1;
    sono_reg_load_dir(&sk_R, dir);
    if (!sono_reg_backend(&sk_R, "cpu")) {
        fprintf(stderr, "test_sinks: no cpu plugin under %s (make all)\n", dir);
        return -1;
    }
    return cl_setup(state);
}

static int sk_teardown(void **state)
{
    sono_reg_free(&sk_R);
    return cl_teardown(state);
}

/* ---- a recording sink ----------------------------------------------------------------- */

typedef struct calls {
    char log[4096];   /* "B S0 R0 S1 R1 E" */
    int records;
    char ids[8][256];
    double gflops[8];
    int ended_failed;
} calls;

static void logf_(calls *k, const char *s)
{
    size_t n = strlen(k->log);
    snprintf(k->log + n, sizeof k->log - n, "%s%s", n ? " " : "", s);
}

static int rec_begin(sono_sink *s, const sono_run_info *run, sono_error *err)
{
    (void)err;
    assert_non_null(run->plan);
    logf_(s->ctx, "B");
    return 0;
}

static void rec_start(sono_sink *s, const sono_run_info *run, int i)
{
    char t[16];
    (void)run;
    snprintf(t, sizeof t, "S%d", i);
    logf_(s->ctx, t);
}

static int rec_record(sono_sink *s, const sono_run_info *run, const sono_record *rec,
                      sono_error *err)
{
    (void)err;
    calls *k = s->ctx;
    char t[16];
    int i = (int)(rec->c - run->plan->cases);
    snprintf(t, sizeof t, "R%d", i);
    logf_(k, t);
    if (k->records < 8) {
        snprintf(k->ids[k->records], sizeof k->ids[0], "%s", rec->c->id);
        k->gflops[k->records] = sono_record_value(rec, "derived.gflops", -1);
    }
    k->records++;
    return 0;
}

static int rec_end(sono_sink *s, const sono_run_info *run, const sono_run_counts *n,
                   int failed, sono_error *err)
{
    (void)run, (void)n, (void)err;
    calls *k = s->ctx;
    k->ended_failed = failed;
    logf_(k, "E");
    return 0;
}

static void sk_load_plan(const char *ini, sono_plan *plan)
{
    sono_error err = {0};
    if (sono_suite_load(ini, &sk_R, plan, &err))
        fail_msg("%s: %s", ini, err.msg);
}

/* In this process (no workers): the order of calls and one record per case. */
static void sk_recording_sink_order(void **state)
{
    (void)state;
    sono_plan plan;
    sk_load_plan(CL_DATA "/tiny.ini", &plan);
    assert_true(plan.ncases >= 2 && plan.ncases <= 8);
    calls k = {0};
    sono_sink s = {.name = "rec", .ctx = &k, .begin = rec_begin, .case_start = rec_start,
                   .record = rec_record, .end = rec_end};
    sono_sink *sinks[] = {&s};
    sono_run_opts o = {.sinks = sinks, .nsinks = 1};
    sono_run_counts n;
    sono_error err = {0};
    assert_int_equal(sono_run_plan(&plan, &o, &n, &err), 0);
    char want[4096] = "B";
    for (int i = 0; i < plan.ncases; i++) {
        size_t m = strlen(want);
        snprintf(want + m, sizeof want - m, " S%d R%d", i, i);
    }
    strcat(want, " E");
    assert_string_equal(k.log, want);
    assert_int_equal(k.records, plan.ncases);
    assert_int_equal(k.ended_failed, 0);
    for (int i = 0; i < plan.ncases; i++) {
        assert_string_equal(k.ids[i], plan.cases[i].id);
        assert_true(k.gflops[i] > 0); /* a measured fft case has its rate as a metric */
    }
    assert_int_equal(n.ok, plan.ncases);
    sono_plan_free(&plan);
}

/* A sink that fails its second record stops the run there; end still comes, failed. */
static int fail_second(sono_sink *s, const sono_run_info *run, const sono_record *rec,
                       sono_error *err)
{
    calls *k = s->ctx;
    rec_record(s, run, rec, err);
    return k->records == 2 ? sono_fail(err, SONO_EIO, "disk full (planted)") : 0;
}

static void sk_sink_error_stops(void **state)
{
    (void)state;
    sono_plan plan;
    sk_load_plan(CL_DATA "/tiny.ini", &plan);
    assert_true(plan.ncases >= 3);
    calls k = {0};
    sono_sink s = {.name = "rec", .ctx = &k, .begin = rec_begin, .record = fail_second,
                   .end = rec_end};
    sono_sink *sinks[] = {&s};
    sono_run_opts o = {.sinks = sinks, .nsinks = 1};
    sono_run_counts n;
    sono_error err = {0};
    assert_int_equal(sono_run_plan(&plan, &o, &n, &err), SONO_EIO);
    assert_non_null(strstr(err.msg, "disk full"));
    assert_string_equal(k.log, "B R0 R1 E");
    assert_int_equal(k.ended_failed, 1);
    sono_plan_free(&plan);
}

/* ---- the record's JSON round trip ---------------------------------------------------- */

static void sk_record_roundtrip(void **state)
{
    (void)state;
    sono_plan plan;
    sk_load_plan(CL_DATA "/tiny.ini", &plan);
    const sono_case *c = &plan.cases[0];
    sono_record a = {.c = c, .input = "noise", .measured = 1, .checked = 1};
    sono_record_status(&a, "fail", "exceeds tolerance");
    a.check = (sono_check){.rel_l2 = 0.25, .max_abs = 1.5, .tol = 1e-6, .pass = 0};
    double samples[] = {3, 1, 2};
    a.m.samples = malloc(sizeof samples);
    memcpy(a.m.samples, samples, sizeof samples);
    a.m.nsamples = 3;
    a.m.k = 7;
    a.m.stop = "budget";
    sono_summarize(a.m.samples, 3, &a.m.s);
    assert_int_equal(sono_record_metric(&a, "derived.gflops", 12.5, "GFLOP/s",
                                        SONO_BETTER_HIGHER, "rate"), 0);
    assert_int_equal(sono_record_metric(&a, "memory.workspace_bytes", NAN, "B",
                                        SONO_BETTER_LOWER, NULL), 0);
    assert_int_equal(sono_record_metric(&a, "load_avg", 0.75, "", SONO_BETTER_NONE, NULL), 0);
    /* set again: replaced, not added */
    assert_int_equal(sono_record_metric(&a, "derived.gflops", 13.5, "GFLOP/s",
                                        SONO_BETTER_HIGHER, "rate"), 0);
    assert_int_equal(a.nmetrics, 3);
    json_t *j = sono_record_to_json(&a);
    assert_non_null(j);
    /* each value at its path, described in "metrics" */
    assert_true(cl_num(j, "derived.gflops") == 13.5);
    assert_true(json_is_null(cl_get(j, "memory.workspace_bytes")));
    assert_string_equal(cl_str(json_object_get(json_object_get(j, "metrics"), "derived.gflops"),
                               "better"), "higher");
    char *text = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(17));
    json_t *back_j = json_loads(text, 0, NULL);
    sono_record b;
    sono_error err = {0};
    assert_int_equal(sono_record_from_json(back_j, c, "noise", &b, &err), 0);
    assert_string_equal(b.status, "fail");
    assert_string_equal(b.message, "exceeds tolerance");
    assert_true(b.checked && b.check.rel_l2 == 0.25 && b.check.max_abs == 1.5 && !b.check.pass);
    assert_true(b.measured && b.m.nsamples == 3 && b.m.k == 7 && b.m.s.median == 2);
    assert_string_equal(b.m.stop, "budget");
    assert_int_equal(b.nmetrics, 3);
    assert_true(sono_record_value(&b, "derived.gflops", 0) == 13.5);
    assert_true(isnan(sono_record_get(&b, "memory.workspace_bytes")->value));
    assert_true(sono_record_value(&b, "load_avg", 0) == 0.75);
    assert_int_equal(sono_record_get(&b, "derived.gflops")->better, SONO_BETTER_HIGHER);
    /* the record of another case is refused */
    sono_record other;
    assert_string_not_equal(plan.cases[0].id, plan.cases[1].id);
    assert_int_equal(sono_record_from_json(back_j, &plan.cases[1], "noise", &other, &err),
                     SONO_EPARSE);
    free(text);
    json_decref(j);
    json_decref(back_j);
    sono_record_free(&a);
    sono_record_free(&b);
    sono_plan_free(&plan);
}

/* ---- through the CLI ------------------------------------------------------------------- */

/* --format jsonl: begin, one record per case (the results file's case objects), end. */
static void sk_jsonl(void **state)
{
    (void)state;
    char out[PATH_MAX];
    snprintf(out, sizeof out, "%s/jsonl.json", cl_tmp);
    cl_res r;
    cl_h(&r, NULL, "run", CL_DATA "/tiny.ini", "--format", "jsonl", "--out", out, NULL);
    cl_expect_code(&r, 0);
    json_t *doc = cl_load(out);
    size_t ncases = json_array_size(json_object_get(doc, "cases"));
    assert_true(ncases >= 2);
    int lines = 0, records = 0, begin = 0, end = 0;
    for (char *s = r.out, *e; s && *s; s = e ? e + 1 : NULL, lines++) {
        e = strchr(s, '\n');
        if (e)
            *e = 0;
        json_t *j = json_loads(s, 0, NULL);
        if (!j)
            fail_msg("line %d of --format jsonl is not JSON: %s", lines + 1, s);
        const char *ev = cl_str(j, "event");
        if (strcmp(ev, "record") == 0) {
            json_t *file_case = json_array_get(json_object_get(doc, "cases"), (size_t)records);
            assert_string_equal(cl_str(j, "record.id"), cl_str(file_case, "id"));
            assert_true(cl_num(j, "record.time_ns.median") == cl_num(file_case, "time_ns.median"));
            records++;
        } else if (strcmp(ev, "begin") == 0)
            begin++, assert_int_equal(records, 0);
        else if (strcmp(ev, "end") == 0) {
            end++;
            assert_true(json_is_true(cl_get(j, "complete")));
            assert_true(cl_num(j, "counts.ok") == (double)ncases);
        }
        json_decref(j);
    }
    assert_int_equal(begin, 1);
    assert_int_equal(end, 1);
    assert_int_equal(records, (int)ncases);
    assert_non_null(strstr(r.err, "results:")); /* the counts line keeps off stdout */
    json_decref(doc);
    cl_free(&r);
}

/* Reads the pipe until a line holding all of a and b arrives; 0 past deadline_s. */
static int sk_wait_line(int fd, char *buf, size_t cap, size_t *len, const char *a,
                        const char *b, double deadline_s)
{
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        buf[*len] = 0;
        for (char *s = buf, *e; (e = strchr(s, '\n')); s = e + 1) {
            *e = 0;
            int hit = strstr(s, a) && strstr(s, b);
            *e = '\n';
            if (hit)
                return 1;
        }
        clock_gettime(CLOCK_MONOTONIC, &t);
        double left = deadline_s - ((double)(t.tv_sec - t0.tv_sec) +
                                    (double)(t.tv_nsec - t0.tv_nsec) * 1e-9);
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (left <= 0 || poll(&p, 1, (int)(left * 1000) + 1) <= 0)
            return 0;
        ssize_t n = read(fd, buf + *len, cap - 1 - *len);
        if (n <= 0)
            return 0;
        *len += (size_t)n;
    }
}

/* Live rows: the second case waits in setup for a file this test makes only after it has
 * read the first case's row from the pipe; without live rows the row would come at the
 * end, the gate would never open and the second case would fail after 30 s. */
static void sk_live_rows(void **state)
{
    (void)state;
    char gate[PATH_MAX], genv[PATH_MAX + 32], penv[PATH_MAX + 32], out[PATH_MAX];
    snprintf(gate, sizeof gate, "%s/gate.open", cl_tmp);
    snprintf(genv, sizeof genv, "SONO_TEST_GATE=%s", gate);
    snprintf(penv, sizeof penv, "SONO_PLUGIN_PATH=%s", cl_plugins);
    snprintf(out, sizeof out, "%s/gate.json", cl_tmp);
    const char *set[] = {genv, penv, NULL};
    const char *argv[] = {cl_harness, "run", CL_DATA "/gate.ini", "--out", out, NULL};
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    char **env = cl_env(set);
    pid_t pid;
    assert_int_equal(posix_spawn(&pid, cl_harness, &fa, NULL, (char *const *)argv, env), 0);
    posix_spawn_file_actions_destroy(&fa);
    free(env);
    close(fds[1]);
    static char buf[1 << 16];
    size_t len = 0;
    int seen = sk_wait_line(fds[0], buf, sizeof buf, &len, "n=1 ", "OK", 20);
    FILE *g = fopen(gate, "w"); /* open the gate whatever happened, so the run ends */
    assert_non_null(g);
    fclose(g);
    buf[len] = 0;
    if (!seen)
        fail_msg("no row of the first case on stdout while the second case ran:\n%s", buf);
    /* and the second case's row was not there yet: it was still held */
    assert_null(strstr(buf, "n=2 "));
    while (len < sizeof buf - 1) {
        ssize_t n = read(fds[0], buf + len, sizeof buf - 1 - len);
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    buf[len] = 0;
    close(fds[0]);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    assert_non_null(strstr(buf, "2 ok, 0 fail"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sk_recording_sink_order),
        cmocka_unit_test(sk_sink_error_stops),
        cmocka_unit_test(sk_record_roundtrip),
        cmocka_unit_test(sk_jsonl),
        cmocka_unit_test(sk_live_rows),
    };
    return cmocka_run_group_tests(tests, sk_setup, sk_teardown);
}
