/* test_ctc_cli.c — ctc.greedy and ctc.beam through the real CLI: tests/data/ctc/impls.ini
 * run by `harness run` (every case ok against the op's check, x real time from T / 50 per
 * utterance, the ops presented as x real time), `harness exec` writing the rows as .npy
 * (labels in [1, V) then -1, the score's float32 bits last), and bad params exiting 2 with
 * a message naming the param. */
#include "cli_util.h"

#define CTC_SUITE "tests/data/ctc/impls.ini"

static void ctc_suite_all_ok(void **state)
{
    (void)state;
    char out[PATH_MAX];
    snprintf(out, sizeof out, "%s/ctc.json", cl_tmp);
    cl_res r;
    cl_h(&r, NULL, "run", CTC_SUITE, "--out", out, "--quiet", NULL);
    if (r.code != 0)
        print_error("%s\n%s\n", r.out ? r.out : "", r.err ? r.err : "");
    cl_expect_code(&r, 0);
    cl_free(&r);
    json_t *doc = cl_load(out);
    json_t *cases = json_object_get(doc, "cases");
    size_t i, ok = 0, skipped = 0;
    json_t *c;
    json_array_foreach(cases, i, c) {
        const char *id = cl_str(c, "id"), *status = cl_str(c, "status");
        if (strcmp(status, "skip") == 0 && strstr(cl_str(c, "impl"), "py/")) {
            skipped++; /* no torch, or no flashlight-text: the reason is recorded */
            if (strcmp(cl_str(c, "impl"), "py/torchaudio") == 0)
                assert_non_null(strstr(cl_str(c, "message"), "ctc_decoder needs flashlight"));
            continue;
        }
        if (strcmp(status, "ok") != 0) {
            json_t *why = cl_get(c, "error");
            print_error("%s: %s %s\n", id, status, json_is_string(why) ? json_string_value(why) : "");
        }
        assert_string_equal(status, "ok");
        assert_true(json_is_true(cl_get(c, "check.pass")));
        assert_true(json_is_integer(cl_get(c, "check.mismatches")));
        /* x real time: batch * seconds of audio over the median time */
        double xrt = cl_num(c, "derived.x_realtime");
        double audio = cl_num(c, "params.batch") * cl_num(c, "params.seconds");
        double med = cl_num(c, "time_ns.median") * 1e-9;
        assert_true(xrt > 0);
        assert_true(fabs(xrt - audio / med) < 1e-6 * xrt);
        ok++;
    }
    assert_true(ok >= 2 * 2 * 4 + 2 * 2 * 2 + 2 * 8); /* cpu/naive and cpu/fast, every row */
    printf("ctc suite: %zu ok, %zu py skipped\n", ok, skipped);
    json_t *pres = cl_get(doc, "suite.ops");
    assert_non_null(pres);
    assert_string_equal(cl_str(json_object_get(pres, "ctc.beam"), "merit"), "x_realtime");
    assert_string_equal(cl_str(json_object_get(pres, "ctc.beam"), "size_param"), "seconds");
    json_decref(doc);
}

/* An .npy file (version 1.0): its dtype, shape and data. */
static char *ctc_npy(const char *path, char descr[16], long long shape[2], size_t *len)
{
    char *raw = cl_slurp(path, len);
    assert_non_null(raw);
    assert_memory_equal(raw, "\x93NUMPY\x01\x00", 8);
    size_t hl = (size_t)(unsigned char)raw[8] | (size_t)(unsigned char)raw[9] << 8;
    char dict[512];
    assert_true(hl < sizeof dict && 10 + hl <= *len);
    memcpy(dict, raw + 10, hl);
    dict[hl] = 0;
    const char *d = strstr(dict, "'descr': '");
    assert_non_null(d);
    snprintf(descr, 16, "%.*s", (int)strcspn(d + 10, "'"), d + 10);
    const char *s = strstr(dict, "'shape': (");
    assert_non_null(s);
    char *end;
    shape[0] = strtoll(s + 10, &end, 10);
    shape[1] = strtoll(end + strspn(end, ", "), NULL, 10);
    *len -= 10 + hl;
    memmove(raw, raw + 10 + hl, *len);
    return raw;
}

static void ctc_exec_npy(void **state)
{
    (void)state;
    const char *names[] = {"ctc.greedy/cpu/naive", "ctc.greedy/cpu/fast", "ctc.beam/cpu/naive",
                           "ctc.beam/cpu/fast"};
    for (int k = 0; k < 4; k++) {
        char path[PATH_MAX], descr[16];
        snprintf(path, sizeof path, "%s/ctc%d.npy", cl_tmp, k);
        cl_res r;
        cl_h(&r, NULL, "exec", names[k], "--output", path, "--param", "seconds=0.6",
             "--param", "V=40", "--param", "batch=3", NULL);
        if (r.code != 0)
            print_error("%s\n%s\n", r.out ? r.out : "", r.err ? r.err : "");
        cl_expect_code(&r, 0);
        assert_non_null(strstr(r.out, "-> ok"));
        cl_free(&r);
        long long shape[2];
        size_t len;
        char *raw = ctc_npy(path, descr, shape, &len);
        assert_string_equal(descr, "<i4");
        assert_int_equal(shape[0], 3);
        assert_int_equal(shape[1], 31); /* T = 30 frames, + the score */
        assert_int_equal(len, 3 * 31 * 4);
        for (int b = 0; b < 3; b++) {
            int32_t row[31];
            memcpy(row, raw + b * 31 * 4, sizeof row);
            int L = 0;
            while (L < 30 && row[L] != -1) {
                assert_true(row[L] >= 1 && row[L] < 40);
                L++;
            }
            assert_true(L >= 4); /* ~3.5 frames a label */
            for (int i = L; i < 30; i++)
                assert_int_equal(row[i], -1);
            float s;
            memcpy(&s, &row[30], 4);
            assert_true(isfinite(s) && s < 0 && s > -30);
        }
        free(raw);
    }
}

/* Out-of-range and unknown params: exit 2, naming the param and what was expected. */
static void ctc_bad_params(void **state)
{
    (void)state;
    const char *cases[][3] = {
        {"ctc.beam/cpu/fast", "beam=0", "beam"},
        {"ctc.beam/cpu/naive", "beam=257", "beam"},
        {"ctc.beam/cpu/fast", "V=1", "V"},
        {"ctc.greedy/cpu/naive", "seconds=0", "seconds"},
        {"ctc.greedy/cpu/fast", "beam=8", "beam"},
        {"ctc.beam/cpu/fast", "prune=-1", "prune"},
        {"ctc.beam/cpu/fast", "seconds=600", "batch*T*T"}, /* with batch=8 below */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cl_res r;
        cl_h(&r, NULL, "exec", cases[i][0], "--param", cases[i][1], "--param", "batch=8", NULL);
        if (r.code != 2 || !strstr(r.err, cases[i][2]))
            print_error("%s %s: exit %d, stderr %s\n", cases[i][0], cases[i][1], r.code, r.err);
        cl_expect_code(&r, 2);
        assert_non_null(strstr(r.err, cases[i][2]));
        cl_free(&r);
    }
    /* threads > 1 is refused by the single-threaded rungs, with the reason */
    cl_res r;
    cl_h(&r, NULL, "exec", "ctc.beam/cpu/fast", "--param", "threads=2", "--param", "seconds=1",
         NULL);
    assert_int_not_equal(r.code, 0);
    assert_non_null(strstr(r.err, "threads=1 only"));
    cl_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ctc_suite_all_ok),
        cmocka_unit_test(ctc_exec_npy),
        cmocka_unit_test(ctc_bad_params),
    };
    return cmocka_run_group_tests(tests, cl_setup, cl_teardown);
}
