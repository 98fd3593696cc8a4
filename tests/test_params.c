/* test_params.c — harness/plan/params.c: one value against its spec (integers, reals, strings
 * with choices; whitespace, junk, ranges), value lists with the three range forms and
 * their limits, the canonical "n=..,batch=.." text of case ids, and the defaults. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "params.h"

/* Specs written here, so the tests do not depend on an op's table for their ranges. */
static const sono_param_spec pp_int = {.name = "n", .type = SONO_PINT, .imin = 1,
                                       .imax = 1 << 24, .idflt = 1024};
static const sono_param_spec pp_wide = {.name = "w", .type = SONO_PINT, .imin = -100,
                                        .imax = 100000};
static const sono_param_spec pp_huge = {.name = "h", .type = SONO_PINT, .imin = 1,
                                        .imax = LLONG_MAX};
static const sono_param_spec pp_real = {.name = "gain", .type = SONO_PREAL, .rmin = 0.0,
                                        .rmax = 1.0};
static const sono_param_spec pp_str = {.name = "window", .type = SONO_PSTR,
                                       .choices = "hann|hamming|rect"};
static const sono_param_spec pp_free = {.name = "label", .type = SONO_PSTR};

static void pp_int_ok(const char *text, long long want)
{
    sono_param v;
    sono_error err = {0};
    int rc = sono_param_parse(&pp_int, text, &v, &err);
    if (rc)
        fail_msg("'%s' rejected: %s", text, err.msg);
    assert_int_equal(v.type, SONO_PINT);
    assert_string_equal(v.name, "n");
    assert_int_equal(v.i, want);
}

/* Rejected with SONO_EINVAL, and the message names the parameter and says `hint`. */
static void pp_bad(const sono_param_spec *spec, const char *text, const char *hint)
{
    sono_param v;
    sono_error err = {0};
    int rc = sono_param_parse(spec, text, &v, &err);
    if (rc == 0) {
        sono_param_free(&v);
        fail_msg("'%.40s' accepted for %s", text, spec->name);
    }
    assert_int_equal(rc, SONO_EINVAL);
    assert_int_equal(err.code, SONO_EINVAL);
    assert_non_null(strstr(err.msg, spec->name));
    if (!strstr(err.msg, hint))
        fail_msg("message for '%.40s' lacks '%s': %s", text, hint, err.msg);
}

static void pp_parse_int(void **state)
{
    (void)state;
    pp_int_ok("1024", 1024);
    pp_int_ok("  16  ", 16);
    pp_int_ok("\t7\n", 7);
    pp_int_ok("1", 1);              /* the ends of the range are inclusive */
    pp_int_ok("16777216", 1 << 24);
    pp_bad(&pp_int, "0", "out of range");
    pp_bad(&pp_int, "16777217", "out of range");
    pp_bad(&pp_int, "-3", "out of range");
    pp_bad(&pp_int, "abc", "expected an integer");
    pp_bad(&pp_int, "12abc", "expected an integer");
    pp_bad(&pp_int, "1 2", "expected an integer");
    pp_bad(&pp_int, "1.5", "expected an integer");
    pp_bad(&pp_int, "1e3", "expected an integer");
    pp_bad(&pp_int, "0x10", "expected an integer");
    pp_bad(&pp_int, "", "expected an integer");
    pp_bad(&pp_int, "   ", "expected an integer");
    pp_bad(&pp_int, "99999999999999999999", "expected an integer"); /* ERANGE */
    /* the message gives the accepted range */
    sono_param v;
    sono_error err = {0};
    assert_int_equal(sono_param_parse(&pp_int, "0", &v, &err), SONO_EINVAL);
    assert_non_null(strstr(err.msg, "1..16777216"));
}

static void pp_parse_real_and_string(void **state)
{
    (void)state;
    sono_param v;
    sono_error err = {0};
    assert_int_equal(sono_param_parse(&pp_real, " 0.25 ", &v, &err), 0);
    assert_int_equal(v.type, SONO_PREAL);
    assert_float_equal(v.r, 0.25, 0);
    assert_int_equal(sono_param_parse(&pp_real, "1", &v, &err), 0);
    assert_float_equal(v.r, 1.0, 0);
    pp_bad(&pp_real, "1.5", "out of range");
    pp_bad(&pp_real, "-0.1", "out of range");
    pp_bad(&pp_real, "nan", "out of range");
    pp_bad(&pp_real, "inf", "out of range");
    pp_bad(&pp_real, "0.5x", "expected a number");
    pp_bad(&pp_real, "x", "expected a number");

    assert_int_equal(sono_param_parse(&pp_str, " hamming ", &v, &err), 0);
    assert_int_equal(v.type, SONO_PSTR);
    assert_string_equal(v.s, "hamming");
    sono_param_free(&v);
    assert_null(v.s);
    assert_int_equal(sono_param_parse(&pp_str, "rect", &v, &err), 0);
    assert_string_equal(v.s, "rect");
    sono_param_free(&v);
    pp_bad(&pp_str, "ham", "hann|hamming|rect");   /* a prefix of a choice */
    pp_bad(&pp_str, "hannx", "hann|hamming|rect"); /* a choice with more after it */
    pp_bad(&pp_str, "", "hann|hamming|rect");
    assert_int_equal(sono_param_parse(&pp_free, "anything at all", &v, &err), 0);
    assert_string_equal(v.s, "anything at all");
    sono_param_free(&v);
}

/* A regression test for sono_param_parse ignoring text past 255 characters ("1 ... x"). */
static void pp_parse_long_text(void **state)
{
    (void)state;
    char text[400];
    memset(text, ' ', sizeof text);
    text[0] = '1';
    text[sizeof text - 2] = 'x';
    text[sizeof text - 1] = 0;
    pp_bad(&pp_int, text, "expected an integer");
}

/* Parses text as a list for spec and compares with want[0..nwant). */
static void pp_list_ok(const sono_param_spec *spec, const char *text, const long long *want,
                       int nwant)
{
    sono_param *vals = NULL;
    int count = -1;
    sono_error err = {0};
    int rc = sono_param_list(spec, text, &vals, &count, &err);
    if (rc)
        fail_msg("list '%s' rejected: %s", text, err.msg);
    assert_non_null(vals);
    if (count != nwant)
        fail_msg("list '%s': %d values, want %d", text, count, nwant);
    for (int i = 0; i < count; i++) {
        assert_string_equal(vals[i].name, spec->name);
        if (vals[i].i != want[i])
            fail_msg("list '%s': value %d is %lld, want %lld", text, i, vals[i].i, want[i]);
    }
    free(vals);
}

static void pp_list_bad(const sono_param_spec *spec, const char *text, const char *hint)
{
    sono_param *vals = (sono_param *)&vals; /* must come back NULL */
    int count = -1;
    sono_error err = {0};
    int rc = sono_param_list(spec, text, &vals, &count, &err);
    if (rc == 0) {
        free(vals);
        fail_msg("list '%s' accepted (%d values)", text, count);
    }
    assert_int_equal(rc, SONO_EINVAL);
    assert_null(vals);
    assert_int_equal(count, 0);
    assert_non_null(strstr(err.msg, spec->name));
    if (!strstr(err.msg, hint))
        fail_msg("message for '%s' lacks '%s': %s", text, hint, err.msg);
}

static void pp_list_values_and_ranges(void **state)
{
    (void)state;
    const long long three[] = {16, 64, 1024};
    pp_list_ok(&pp_int, "16, 64,1024", three, 3);
    pp_list_ok(&pp_int, " 7 ", (const long long[]){7}, 1);

    long long want[64];
    int n = 0;
    for (long long v = 16; v <= 256; v *= 2) /* a..b*f: a, a f, a f^2, ... while <= b */
        want[n++] = v;
    assert_int_equal(n, 5);
    pp_list_ok(&pp_int, "16..256*2", want, n);
    pp_list_ok(&pp_int, " 16 .. 256 * 2 ", want, n);
    n = 0;
    for (long long v = 16; v <= 100; v *= 2) /* b need not be on the progression */
        want[n++] = v;
    pp_list_ok(&pp_int, "16..100*2", want, n);
    pp_list_ok(&pp_int, "1..10+3", (const long long[]){1, 4, 7, 10}, 4);
    pp_list_ok(&pp_int, "1..10+4", (const long long[]){1, 5, 9}, 3);
    pp_list_ok(&pp_int, "3..6", (const long long[]){3, 4, 5, 6}, 4);
    pp_list_ok(&pp_int, "5..5", (const long long[]){5}, 1);
    pp_list_ok(&pp_int, "2..54*3", (const long long[]){2, 6, 18, 54}, 4);
    pp_list_ok(&pp_int, "1..3, 8, 16..64*4", (const long long[]){1, 2, 3, 8, 16, 64}, 6);
    pp_list_ok(&pp_wide, "-3..3+3", (const long long[]){-3, 0, 3}, 3);
    /* up to the top of the spec's range: 2^0 .. 2^24 */
    n = 0;
    for (long long v = 1; v <= 1 << 24; v *= 2)
        want[n++] = v;
    pp_list_ok(&pp_int, "1..16777216*2", want, n);
}

static void pp_list_errors(void **state)
{
    (void)state;
    pp_list_bad(&pp_int, "256..16*2", "bad range");
    pp_list_bad(&pp_int, "16..256*1", "bad range");
    pp_list_bad(&pp_int, "1..10+0", "bad range");
    pp_list_bad(&pp_int, "1..10+-2", "bad range");
    pp_list_bad(&pp_wide, "0..16*2", "bad range");  /* 0 * 2 = 0 would never end */
    pp_list_bad(&pp_wide, "-4..16*2", "bad range");
    pp_list_bad(&pp_int, "..5", "bad range");
    pp_list_bad(&pp_int, "1..", "bad range");
    pp_list_bad(&pp_int, "a..b", "bad range");
    pp_list_bad(&pp_int, "1..5*x", "bad range");
    pp_list_bad(&pp_int, "1..5+2+3", "bad range");
    /* issue 27: the range as the user wrote it, not "16..4+1" with a step never given */
    pp_list_bad(&pp_int, "16..4", "bad range '16..4': expected a <= b");
    pp_list_bad(&pp_int, " 256 .. 16 *2", "'256 .. 16 *2'");
    pp_list_bad(&pp_int, "1...5", "bad range");
    pp_list_bad(&pp_int, "1..40000000*2", "out of range"); /* 2^25 passes the top */
    pp_list_bad(&pp_int, "0..4", "out of range");
    pp_list_bad(&pp_int, "16, abc", "expected an integer");
    pp_list_bad(&pp_real, "0.1..0.5", "ranges are for integer");
    pp_list_bad(&pp_int, "", "no value");
    pp_list_bad(&pp_int, "16, ,32", "empty");
    pp_list_bad(&pp_int, " ", "empty");
}

/* A regression test for sono_param_list accepting empty items ("16,,32", ",16", "16,"). */
static void pp_list_empty_items(void **state)
{
    (void)state;
    pp_list_bad(&pp_int, "16,,32", "empty");
    pp_list_bad(&pp_int, ",16", "empty");
    pp_list_bad(&pp_int, "16,", "empty");
}

static void pp_list_limit(void **state)
{
    (void)state;
    static long long want[4096];
    for (int i = 0; i < 4096; i++)
        want[i] = i + 1;
    pp_list_ok(&pp_wide, "1..4096", want, 4096);
    pp_list_bad(&pp_wide, "1..4097", "more than 4096");
    pp_list_bad(&pp_wide, "1..4096, 5000", "more than 4096");
    pp_list_bad(&pp_wide, "1..2000, 1..2000, 1..97", "more than 4096");
}

/* A regression test for expand_range overflowing past LLONG_MAX ("1..LLONG_MAX*3"). */
static void pp_list_range_to_llong_max(void **state)
{
    (void)state;
    fflush(NULL); /* in a child, so a UBSan abort shows as this test failing */
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        alarm(10);
        sono_param *vals = NULL;
        int count = 0;
        sono_error err = {0};
        if (sono_param_list(&pp_huge, "1..9223372036854775807*3", &vals, &count, &err)) {
            fprintf(stderr, "child: %s\n", err.msg);
            _exit(2);
        }
        long long p = 1; /* 3^39 < LLONG_MAX < 3^40 */
        for (int i = 0; i < count && i < 40; i++) {
            if (vals[i].i != p)
                _exit(3);
            p = i < 39 ? p * 3 : p;
        }
        _exit(count == 40 ? 0 : 4);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("1..LLONG_MAX*3: child %s %d (2: rejected, 3: wrong value, 4: count != 40)",
                 WIFEXITED(status) ? "exited" : "killed by signal",
                 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
}

static void pp_format(void **state)
{
    (void)state;
    const sono_op *fft = sono_op_find("fft"), *nop = sono_op_find("nop");
    assert_non_null(fft);
    assert_non_null(nop);
    /* given in the reverse order: the text follows the op's order, n then batch */
    sono_params p = {.count = 2,
                     .v = {{.name = "batch", .type = SONO_PINT, .i = 64},
                           {.name = "n", .type = SONO_PINT, .i = 1024}}};
    char buf[256];
    sono_params_format(fft, &p, buf, sizeof buf);
    assert_string_equal(buf, "n=1024,batch=64");
    /* threads only when it differs from its default of 1 */
    p.v[p.count++] = (sono_param){.name = "threads", .type = SONO_PINT, .i = 1};
    sono_params_format(fft, &p, buf, sizeof buf);
    assert_string_equal(buf, "n=1024,batch=64");
    p.v[2].i = 2;
    sono_params_format(fft, &p, buf, sizeof buf);
    assert_string_equal(buf, "n=1024,batch=64,threads=2");
    /* a parameter the op does not have is not part of its id */
    sono_params q = {.count = 2,
                     .v = {{.name = "bogus", .type = SONO_PINT, .i = 3},
                           {.name = "n", .type = SONO_PINT, .i = 5}}};
    sono_params_format(nop, &q, buf, sizeof buf);
    assert_string_equal(buf, "n=5");
    sono_params_format(fft, &q, buf, sizeof buf);
    assert_string_equal(buf, "n=5");
    /* a short buffer gets a terminated prefix, never an overrun */
    char small[9];
    memset(small, 'Z', sizeof small);
    sono_params_format(fft, &p, small, 8);
    assert_true(strlen(small) < 8);
    assert_int_equal(strncmp(small, "n=1024,batch=64,threads=2", strlen(small)), 0);
    assert_int_equal(small[8], 'Z');

    /* a `late` param (attention's window, added after its ids were published) is in the
     * id only when set, so ids of older results files keep matching */
    const sono_op *att = sono_op_find("attention");
    assert_non_null(att);
    sono_params a = {0};
    sono_params_defaults(att, &a);
    sono_params_format(att, &a, buf, sizeof buf);
    assert_null(strstr(buf, "window="));
    assert_null(strstr(buf, "token_rate="));
    assert_non_null(strstr(buf, "seq="));
    for (int i = 0; i < a.count; i++)
        if (strcmp(a.v[i].name, "window") == 0)
            a.v[i].i = 256;
    sono_params_format(att, &a, buf, sizeof buf);
    assert_non_null(strstr(buf, "window=256"));
    sono_params_free(&a);
}

/* issue 27: "all" is a value of a real `seconds` only: it lists as the sentinel the plan
 * resolves per input, and formats back as the user wrote it. */
static void pp_seconds_all(void **state)
{
    (void)state;
    const sono_param_spec secs = {.name = "seconds", .type = SONO_PREAL, .rmin = 1e-3,
                                  .rmax = 3600, .rdflt = 1};
    sono_param *vals = NULL;
    int n = 0;
    sono_error err = {0};
    assert_int_equal(sono_param_list(&secs, "1, all", &vals, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_true(vals[1].r == SONO_SECONDS_ALL);
    sono_params p = {.count = 1, .v = {vals[1]}};
    assert_non_null(sono_params_all(&p));
    const sono_op *mel = sono_op_find("melspec");
    assert_non_null(mel);
    sono_params_defaults(mel, &p);
    char buf[256];
    sono_params_format(mel, &p, buf, sizeof buf);
    assert_non_null(strstr(buf, "seconds=all"));
    p.v[0].r = 2.5; /* resolved: a number again */
    assert_null(sono_params_all(&p));
    for (int i = 1; i < p.count; i++)
        sono_param_free(&p.v[i]);
    free(vals);
    /* any other param: "all" is not a value */
    pp_list_bad(&pp_real, "all", "expected a number");
    pp_list_bad(&pp_int, "all", "expected an integer");
}

static void pp_defaults(void **state)
{
    (void)state;
    const sono_op *fft = sono_op_find("fft"), *nop = sono_op_find("nop");
    sono_params p = {0};
    sono_params_defaults(fft, &p);
    assert_int_equal(p.count, fft->nparams + sono_ncommon_params);
    /* fft.c: n defaults to 1024, batch to 1; threads to 1 for every op */
    assert_int_equal(sono_param_int(&p, "n", -1), 1024);
    assert_int_equal(sono_param_int(&p, "batch", -1), 1);
    assert_int_equal(sono_param_int(&p, "threads", -1), 1);
    char buf[64];
    sono_params_format(fft, &p, buf, sizeof buf);
    assert_string_equal(buf, "n=1024,batch=1");
    sono_params_free(&p);
    assert_int_equal(p.count, 0);

    /* given values stay and are not duplicated */
    sono_params q = {.count = 2,
                     .v = {{.name = "n", .type = SONO_PINT, .i = 16},
                           {.name = "threads", .type = SONO_PINT, .i = 4}}};
    sono_params_defaults(fft, &q);
    /* every parameter once: the two given, the rest from defaults */
    assert_int_equal(q.count, fft->nparams + sono_ncommon_params);
    assert_int_equal(sono_param_int(&q, "n", -1), 16);
    assert_int_equal(sono_param_int(&q, "threads", -1), 4);
    assert_int_equal(sono_param_int(&q, "batch", -1), 1);
    sono_params_defaults(fft, &q); /* idempotent */
    assert_int_equal(q.count, fft->nparams + sono_ncommon_params);
    sono_params_free(&q);

    sono_params r = {0};
    sono_params_defaults(nop, &r);
    assert_int_equal(r.count, nop->nparams + sono_ncommon_params);
    assert_int_equal(sono_param_int(&r, "n", -1), 1);
    assert_int_equal(sono_param_int(&r, "threads", -1), 1);
    assert_string_equal(sono_param_str(&r, "cache", ""), "hot");
    sono_params_free(&r);
}

static void pp_copy(void **state)
{
    (void)state;
    char label[] = "left";
    sono_params a = {.count = 2,
                     .v = {{.name = "n", .type = SONO_PINT, .i = 8},
                           {.name = "label", .type = SONO_PSTR, .s = label}}};
    sono_params b;
    assert_int_equal(sono_params_copy(&b, &a), 0);
    assert_int_equal(b.count, 2);
    assert_int_equal(sono_param_int(&b, "n", 0), 8);
    assert_ptr_not_equal(b.v[1].s, label); /* a deep copy */
    label[0] = 'X';
    assert_string_equal(sono_param_str(&b, "label", ""), "left");
    sono_params_free(&b);
    assert_int_equal(b.count, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pp_parse_int),
        cmocka_unit_test(pp_parse_real_and_string),
        cmocka_unit_test(pp_parse_long_text),
        cmocka_unit_test(pp_list_values_and_ranges),
        cmocka_unit_test(pp_list_errors),
        cmocka_unit_test(pp_list_empty_items),
        cmocka_unit_test(pp_list_limit),
        cmocka_unit_test(pp_list_range_to_llong_max),
        cmocka_unit_test(pp_format),
        cmocka_unit_test(pp_seconds_all),
        cmocka_unit_test(pp_defaults),
        cmocka_unit_test(pp_copy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
