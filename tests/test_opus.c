/* test_opus.c — codec.opus and opus/libopus through the real CLI: tests/data/opus/opus.ini
 * (6/12/24/32 kbps, voip and audio, speech and noise, other rates, frame sizes, CBR)
 * must be all ok with quality recorded; `harness exec` output read back for its length,
 * its byte slot and its alignment; planted bugs (tests/plugins/opus_broken.c: a frame
 * late, the lookahead kept, silence, half speed) must FAIL; bad parameters are refused. */
#include <math.h>

#include "cli_util.h"

#define OPUS_SUITE "tests/data/opus/opus.ini"
#define OPUS_BROKEN "tests/data/opus/broken.ini"

static void opus_suite_all_ok(void **state)
{
    (void)state;
    char out[PATH_MAX];
    snprintf(out, sizeof out, "%s/opus.json", cl_tmp);
    cl_res r;
    cl_h(&r, NULL, "run", OPUS_SUITE, "--out", out, "--quiet", NULL);
    cl_expect_code(&r, 0);
    /* issue 24: the comparison's columns on offline rows too */
    assert_non_null(strstr(r.out, "algo ms"));
    assert_non_null(strstr(r.out, "mem MiB"));
    cl_free(&r);

    json_t *doc = cl_load(out);
    json_t *cases = json_object_get(doc, "cases");
    assert_int_equal(json_array_size(cases), 26); /* 16 + 8 + 2: a vanished case shows */
    int seen[4][2] = {{0}}; /* bitrate x mode at 48 kHz, 20 ms */
    size_t i;
    json_t *c;
    json_array_foreach(cases, i, c) {
        const char *id = cl_str(c, "id"), *status = cl_str(c, "status");
        if (strcmp(status, "ok") != 0)
            print_error("%s: %s %s\n", id, status, cl_str(c, "message"));
        assert_string_equal(status, "ok");
        assert_true(json_is_true(cl_get(c, "check.pass")));
        assert_int_equal(cl_num(c, "check.nonfinite"), 0);
        double target = cl_num(c, "params.bitrate"), got = cl_num(c, "quality.bitrate_bps");
        /* VBR: libopus 1.3.1 spends 0.66-1.05x the target on these inputs */
        if (!(got >= 0.5 * target && got <= 1.25 * target))
            fail_msg("%s: %g bit/s for a target of %g", id, got, target);
        json_t *sd = cl_get(c, "quality.si_sdr_db");
        assert_true(json_is_number(sd));
        /* white noise at 6 kbps is the floor: about -24 dB */
        assert_true(json_number_value(sd) > -30.0 && json_number_value(sd) < 40.0);
        assert_true(cl_num(c, "quality.mel_l1") > 0 && cl_num(c, "quality.mstft") > 0);
        assert_true(cl_num(c, "cost.flops") == 0); /* unknown, not a number to divide by */
        assert_true(cl_num(c, "derived.gflops") == 0);
        assert_true(cl_num(c, "derived.x_realtime") > 0);
        /* issue 24: an offline row's algorithmic latency: its frame plus the encoder's
         * lookahead, which libopus reports as 312 samples at 48 kHz (OPUS_GET_LOOKAHEAD) */
        double lat = cl_num(c, "derived.algo_latency_ms");
        if (fabs(lat - (cl_num(c, "params.frame_ms") + 312.0 / 48.0)) > 1e-9)
            fail_msg("%s: algo_latency_ms %g, want frame_ms + 6.5", id, lat);
        if (cl_num(c, "params.sample_rate") == 48000 && cl_num(c, "params.frame_ms") == 20 &&
            cl_num(c, "params.vbr") == 1) {
            int b = target == 6000 ? 0 : target == 12000 ? 1 : target == 24000 ? 2 : 3;
            seen[b][strcmp(cl_str(c, "params.mode"), "voip") == 0]++;
        }
    }
    for (int b = 0; b < 4; b++)
        for (int m = 0; m < 2; m++)
            assert_int_equal(seen[b][m], 2); /* speech and noise */
    json_decref(doc);
}

/* ---- exec: the output itself ------------------------------------------------------- */

/* A float32 .npy file's values (version 1.0 header); *n their count. */
static float *opus_npy(const char *path, long long *n, char **raw)
{
    size_t len;
    *raw = cl_slurp(path, &len);
    assert_non_null(*raw);
    const unsigned char *u = (const unsigned char *)*raw;
    assert_true(len >= 10);
    assert_memory_equal(u, "\x93NUMPY\x01\x00", 8);
    size_t hl = (size_t)u[8] | (size_t)u[9] << 8;
    assert_true(10 + hl <= len);
    assert_non_null(strstr(*raw + 10, "'descr': '<f4'"));
    *n = (long long)((len - 10 - hl) / sizeof(float));
    return (float *)(void *)(*raw + 10 + hl);
}

/* Output length samples + 1, the last slot the packet bytes (an integer matching the
 * rate), and the decoded signal at the input's time: its correlation with the input at
 * lag 0 beats the lags a misalignment would show (a frame, the 312-sample lookahead). */
static void opus_exec_output(void **state)
{
    (void)state;
    char out[PATH_MAX], in[PATH_MAX];
    snprintf(out, sizeof out, "%s/o.npy", cl_tmp);
    snprintf(in, sizeof in, "%s/i.npy", cl_tmp);
    const char *argv[] = {cl_harness, "exec", "codec.opus/opus/libopus", "--param",
                          "bitrate=24000", "--param", "seconds=1", "--param", "mode=voip",
                          "--input", "speech", "--output", out, "--input-out", in, NULL};
    cl_res r;
    cl_run(NULL, NULL, argv, &r);
    cl_expect_code(&r, 0);
    assert_non_null(strstr(r.out, "-> ok"));
    assert_non_null(strstr(r.out, "check: "));
    cl_free(&r);
    char *ra, *rb;
    long long nx, ny;
    const float *x = opus_npy(in, &nx, &ra), *y = opus_npy(out, &ny, &rb);
    assert_int_equal(nx, 48000);
    assert_int_equal(ny, 48001);
    double bytes = y[48000];
    assert_true(bytes == floor(bytes));
    assert_true(bytes * 8 >= 0.5 * 24000 && bytes * 8 <= 1.25 * 24000); /* 1 s */
    double best = -1;
    long long best_lag = -1;
    const long long lags[] = {0, 312, -312, 960, -960, 1920, -1920};
    for (int k = 0; k < 7; k++) {
        double xy = 0, xx = 0, yy = 0;
        for (long long i = 2000; i < 46000; i++) {
            xy += (double)x[i] * y[i + lags[k]];
            xx += (double)x[i] * x[i];
            yy += (double)y[i + lags[k]] * y[i + lags[k]];
        }
        double rho = xy / sqrt(xx * yy);
        if (rho > best) {
            best = rho;
            best_lag = lags[k];
        }
    }
    assert_int_equal(best_lag, 0);
    assert_true(best > 0.5);
    free(ra);
    free(rb);
}

/* ---- planted bugs ---------------------------------------------------------------- */

static void opus_broken_fail(void **state)
{
    (void)state;
    char envp[PATH_MAX + 32], out[PATH_MAX];
    snprintf(envp, sizeof envp, "SONO_PLUGIN_PATH=%s", cl_plugins);
    const char *set[] = {envp, NULL};
    snprintf(out, sizeof out, "%s/broken.json", cl_tmp);
    cl_res r;
    cl_h(&r, set, "run", OPUS_BROKEN, "--out", out, "--quiet", NULL);
    cl_expect_code(&r, 1);
    cl_free(&r);
    json_t *doc = cl_load(out);
    json_t *cases = json_object_get(doc, "cases");
    assert_int_equal(json_array_size(cases), 20); /* 5 impls x 2 bitrates x 2 inputs */
    size_t i;
    json_t *c;
    int fails = 0;
    json_array_foreach(cases, i, c) {
        const char *impl = cl_str(c, "impl"), *status = cl_str(c, "status");
        if (strcmp(impl, "opus_broken/identity") == 0) {
            assert_string_equal(status, "ok"); /* the same code without the bug */
            continue;
        }
        if (strcmp(status, "fail") != 0)
            print_error("%s: %s, want fail\n", cl_str(c, "id"), status);
        assert_string_equal(status, "fail");
        assert_true(json_is_false(cl_get(c, "check.pass")));
        assert_non_null(strstr(cl_str(c, "message"), "check failed: "));
        assert_non_null(strstr(cl_str(c, "message"), "FAIL"));
        /* the bitrate is honest in every variant: the signal alone gives them away */
        assert_non_null(strstr(cl_str(c, "check.detail"), "kbps"));
        fails++;
    }
    assert_int_equal(fails, 16);
    json_decref(doc);
}

/* ---- parameters ------------------------------------------------------------------ */

static void opus_bad_params(void **state)
{
    (void)state;
    /* two params each, the text stderr must name */
    static const char *const bad[][3] = {
        {"frame_ms=15", "bitrate=24000", "frame_ms"},
        {"sample_rate=44100", "bitrate=24000", "sample_rate"},
        {"sample_rate=8000", "seconds=0.2", "2048"}, /* 1600 samples: no metric window */
        {"bitrate=500", "mode=voip", "bitrate"},
        {"mode=music", "bitrate=24000", "mode"},
        {"frame_ms=10", "bitrate=6000", "frame_ms=10"}, /* 10 ms packets cannot hold 6k */
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        const char *argv[] = {cl_harness, "exec", "codec.opus/opus/libopus", "--param",
                              bad[k][0], "--param", bad[k][1], NULL};
        cl_res r;
        cl_run(NULL, NULL, argv, &r);
        if (r.code == 0 || !strstr(r.err, bad[k][2]))
            fail_msg("%s %s: exit %d, stderr %s", bad[k][0], bad[k][1], r.code, r.err);
        cl_free(&r);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(opus_suite_all_ok),
        cmocka_unit_test(opus_exec_output),
        cmocka_unit_test(opus_broken_fail),
        cmocka_unit_test(opus_bad_params),
    };
    return cmocka_run_group_tests(tests, cl_setup, cl_teardown);
}
