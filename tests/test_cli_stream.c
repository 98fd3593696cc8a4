/* test_cli_stream.c — the streaming mode through the real CLI (issue 12): tests/data/cli/
 * stream.ini run by `harness run` with the test plugin's planted impls. A push that
 * sleeps past the deadline on every tenth chunk is reported as a 10 % miss rate; one that
 * reads a step past its chunk fails its check; one whose done count goes back is an
 * error naming it; the pacing clock's lateness is recorded; ops and impls that cannot
 * stream are skips; offline ids carry no streaming params. No timing is asserted. */
#include "cli_util.h"

static json_t *st_doc;
static char *st_table; /* the run's stdout: the tables */

static int st_setup(void **state)
{
    if (cl_setup(state))
        return -1;
    char dir[PATH_MAX], out[PATH_MAX], penv[PATH_MAX + 32];
    cl_mkdir("stream", dir, sizeof dir);
    snprintf(out, sizeof out, "%s/s.json", dir);
    snprintf(penv, sizeof penv, "SONO_PLUGIN_PATH=%s", cl_plugins);
    const char *set[] = {penv, NULL};
    cl_res r;
    cl_h(&r, set, "run", CL_DATA "/stream.ini", "--out", out, "--quiet", NULL);
    /* exit 1: the planted failures are failures */
    if (r.code != 1)
        fprintf(stderr, "harness run stream.ini: exit %d\n%s%s", r.code, r.out, r.err);
    int code = r.code;
    st_table = strdup(r.out ? r.out : "");
    cl_free(&r);
    st_doc = code == 1 ? cl_load(out) : NULL;
    return st_doc ? 0 : -1;
}

static int st_teardown(void **state)
{
    json_decref(st_doc);
    free(st_table);
    return cl_teardown(state);
}

static json_t *st_case(const char *id)
{
    json_t *c = cl_case(st_doc, id);
    if (!c)
        fail_msg("no case %s in the results", id);
    return c;
}

/* Every tenth of 100 chunks sleeps 100 ms against a 50 ms deadline: 10 misses, rate 0.10,
 * computed from the record's own chunk count. */
static void test_miss_rate(void **state)
{
    (void)state;
    json_t *c = st_case("nop/stream/miss/n=4800,chunk=48,deadline_ms=50/noise");
    assert_string_equal(cl_str(c, "status"), "ok");
    assert_int_equal((long long)cl_num(c, "stream.chunks"), 100);
    assert_int_equal((long long)cl_num(c, "stream.streams"), 1);
    double chunks = cl_num(c, "stream.chunks") * cl_num(c, "stream.streams");
    assert_int_equal((long long)cl_num(c, "stream.misses"), (long long)(chunks / 10));
    assert_true(fabs(cl_num(c, "stream.miss_rate") - 0.10) < 1e-12);
    assert_true(cl_num(c, "stream.deadline_ms") == 50.0);
    assert_true(cl_num(c, "stream.latency_ns.max") > 50e6);
    assert_true(cl_num(c, "stream.latency_ns.p50") < 50e6);
    /* time_ns keeps one sample per chunk, so compare and reports read the latencies */
    assert_int_equal(json_array_size(cl_get(c, "time_ns.samples")), 100);
    assert_string_equal(cl_str(c, "time_ns.stop"), "stream");
    /* every chunk lands in exactly one histogram bin */
    json_t *counts = cl_get(c, "stream.histogram.counts");
    assert_int_equal(json_array_size(cl_get(c, "stream.histogram.edges_ns")),
                     json_array_size(counts) + 1);
    long long sum = 0;
    size_t i;
    json_t *v;
    json_array_foreach(counts, i, v) sum += json_integer_value(v);
    assert_int_equal(sum, 100);
    assert_true(json_is_true(cl_get(c, "stream.offline.exact")));
    assert_null(cl_get(c, "stream.wake_late_ns")); /* fast pace: no pacing clock */

    json_t *nop = st_case("nop/cpu/nop/n=4800,chunk=48,deadline_ms=50/noise");
    assert_string_equal(cl_str(nop, "status"), "ok");
    assert_int_equal((long long)cl_num(nop, "stream.chunk_steps"), 48);
    assert_true(fabs(cl_num(nop, "stream.chunk_ms") - 1.0) < 1e-12);
    assert_true(cl_num(nop, "stream.xrt") > 0);
    assert_true(cl_num(nop, "stream.e2e_ms") >= cl_num(nop, "stream.algo_latency_ms"));
}

/* A push that reads past its chunk sees the core's NaN poison and fails the check. */
static void test_lookahead_fails(void **state)
{
    (void)state;
    json_t *c = st_case("nop/stream/peek/n=480,chunk=48/noise");
    assert_string_equal(cl_str(c, "status"), "fail");
    assert_true(cl_num(c, "check.nonfinite") > 0);
}

static void test_done_backwards_is_error(void **state)
{
    (void)state;
    json_t *c = st_case("nop/stream/backstep/n=480,chunk=48/noise");
    assert_string_equal(cl_str(c, "status"), "error");
    assert_non_null(strstr(cl_str(c, "message"), "stream/backstep"));
    assert_non_null(strstr(cl_str(c, "message"), "never decreases"));
}

/* Paced: the pacing clock's lateness per chunk it slept for, kept apart from latency. */
static void test_paced_wake(void **state)
{
    (void)state;
    json_t *c = st_case("nop/cpu/nop/n=480,chunk_ms=1,pace=realtime/noise");
    assert_string_equal(cl_str(c, "status"), "ok");
    assert_string_equal(cl_str(c, "stream.pace"), "realtime");
    json_t *w = cl_get(c, "stream.wake_late_ns");
    assert_true(json_is_object(w));
    double n = cl_num(c, "stream.wake_late_ns.n");
    assert_true(n >= 1 && n <= 10);
    assert_true(cl_num(c, "stream.wake_late_ns.p50") >= 0);
    assert_true(cl_num(c, "stream.wake_late_ns.max") >= cl_num(c, "stream.wake_late_ns.p99"));
    assert_true(cl_num(c, "stream.wake_late_ns.p99") >= cl_num(c, "stream.wake_late_ns.p50"));
}

/* Offline cases keep their ids and have no stream object; streaming asked of an op or an
 * impl that cannot stream is a skip that says why. */
static void test_offline_and_skips(void **state)
{
    (void)state;
    json_t *c = st_case("nop/cpu/nop/n=480/noise");
    assert_string_equal(cl_str(c, "status"), "ok");
    assert_null(cl_get(c, "stream"));
    json_t *f = st_case("fft/cpu/radix2/n=64,batch=1,chunk=8/noise");
    assert_string_equal(cl_str(f, "status"), "skip");
    assert_non_null(strstr(cl_str(f, "message"), "no streaming mode"));
    json_t *s = NULL;
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(st_doc, "cases"), i, v)
        if (strcmp(cl_str(v, "impl"), "cpu/naive") == 0)
            s = v;
    assert_non_null(s);
    assert_string_equal(cl_str(s, "status"), "skip");
    assert_non_null(strstr(cl_str(s, "message"), "no push"));
}

/* codec.opus's algorithmic latency is a frame plus the encoder's lookahead: the op spells
 * libopus's definition out (the core does not link it), the impl reports what
 * OPUS_GET_LOOKAHEAD says in its describe; the two must agree. */
static void test_opus_algo_latency(void **state)
{
    (void)state;
    json_t *c = NULL, *v;
    size_t i;
    json_array_foreach(json_object_get(st_doc, "cases"), i, v)
        if (strcmp(cl_str(v, "op"), "codec.opus") == 0)
            c = v;
    assert_non_null(c);
    assert_string_equal(cl_str(c, "status"), "ok");
    const char *d = strstr(cl_str(c, "describe"), "lookahead ");
    assert_non_null(d);
    double la = strtod(d + 10, NULL), rate = cl_num(c, "params.sample_rate");
    assert_true(la > 0);
    double want = cl_num(c, "params.frame_ms") + la / rate * 1e3;
    assert_true(fabs(cl_num(c, "stream.algo_latency_ms") - want) < 1e-9);
    assert_true(json_is_true(cl_get(c, "stream.offline.exact")));
}

/* Streaming cases get their own table section, with the latency columns; the planted
 * impl's row says 10 of 100 chunks missed. */
static void test_table(void **state)
{
    (void)state;
    char line[1024];
    const char *sec = strstr(st_table, "== nop (streaming) ==");
    assert_non_null(sec);
    assert_true(cl_line_with(sec, line, sizeof line, "p50", "misses"));
    assert_non_null(strstr(line, "p99"));
    assert_non_null(strstr(line, "x realtime"));
    assert_true(cl_line_with(sec, line, sizeof line, "stream/miss", "10/100"));
    assert_true(cl_line_with(st_table, line, sizeof line, "== nop ==", "=="));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_miss_rate),
        cmocka_unit_test(test_lookahead_fails),
        cmocka_unit_test(test_done_backwards_is_error),
        cmocka_unit_test(test_paced_wake),
        cmocka_unit_test(test_offline_and_skips),
        cmocka_unit_test(test_opus_algo_latency),
        cmocka_unit_test(test_table),
    };
    return cmocka_run_group_tests(tests, st_setup, st_teardown);
}
