/* test_suite.c — harness/plan/suite.c: suite files written here into a temp folder and parsed
 * with the real plugins loaded; the plan's cases and ids are derived here from the
 * definition op/backend/impl/params/input, and every error must name path:line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <fnmatch.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "suite.h"

static sono_reg ts_R;
static char ts_dir[64];
static char ts_path[128]; /* ts_dir/suite.ini: every test writes here */

static int ts_setup(void **state)
{
    (void)state;
    const char *b = getenv("SONO_BUILD");
    char dir[1100];
    snprintf(dir, sizeof dir, "%s/plugins", b && *b ? b : "build");
    if (sono_reg_init(&ts_R, NULL))
        return -1;
    sono_reg_load_dir(&ts_R, dir);
    if (!sono_reg_backend(&ts_R, "cpu"))
        return -1;
    snprintf(ts_dir, sizeof ts_dir, "/tmp/sono_suite_XXXXXX");
    if (!mkdtemp(ts_dir))
        return -1;
    snprintf(ts_path, sizeof ts_path, "%s/suite.ini", ts_dir);
    return 0;
}

static int ts_teardown(void **state)
{
    (void)state;
    const char *names[] = {"suite.ini", "x.wav", NULL};
    char p[160];
    for (int i = 0; names[i]; i++) {
        snprintf(p, sizeof p, "%s/%s", ts_dir, names[i]);
        unlink(p);
    }
    sono_reg_free(&ts_R);
    return rmdir(ts_dir);
}

static void ts_write(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void ts_load(const char *text, sono_plan *plan)
{
    ts_write(ts_path, text);
    sono_error err = {0};
    if (sono_suite_load(ts_path, &ts_R, plan, &err))
        fail_msg("suite rejected: %s\n---\n%s", err.msg, text);
}

/* The id by its definition: op/backend/impl/n=..,batch=..[,threads=..]/input. */
static void ts_id(char *buf, size_t n, const char *op, const char *impl, long long len,
                  long long batch, long long threads, const char *input)
{
    char th[32] = "";
    if (threads != 1)
        snprintf(th, sizeof th, ",threads=%lld", threads);
    snprintf(buf, n, "%s/%s/n=%lld,batch=%lld%s/%s", op, impl, len, batch, th, input);
}

static const sono_case *ts_case(const sono_plan *plan, const char *id)
{
    const sono_case *hit = NULL;
    for (int i = 0; i < plan->ncases; i++)
        if (strcmp(plan->cases[i].id, id) == 0) {
            if (hit)
                fail_msg("case %s twice", id);
            hit = &plan->cases[i];
        }
    return hit;
}

static void ts_expect(const sono_plan *plan, const char *id)
{
    if (!ts_case(plan, id)) {
        for (int i = 0; i < plan->ncases; i++)
            fprintf(stderr, "  have %s\n", plan->cases[i].id);
        fail_msg("no case %s", id);
    }
}

static void ts_grid(void **state)
{
    (void)state;
    sono_plan plan;
    ts_load("; a grid\n[suite]\nname = grid\ndescription = two by two\ninputs = noise, chirp\n"
            "\n[g]\nop = fft\nimpls = cpu/naive-dft, cpu/radix2\nn = 16, 64\nbatch = 1, 2\n",
            &plan);
    const char *impls[] = {"cpu/naive-dft", "cpu/radix2"}, *inputs[] = {"noise", "chirp"};
    const long long ns[] = {16, 64}, bs[] = {1, 2};
    assert_int_equal(plan.ncases, 2 * 2 * 2 * 2);
    char id[512];
    for (int a = 0; a < 2; a++)
        for (int b = 0; b < 2; b++)
            for (int c = 0; c < 2; c++)
                for (int d = 0; d < 2; d++) {
                    ts_id(id, sizeof id, "fft", impls[a], ns[b], bs[c], 1, inputs[d]);
                    ts_expect(&plan, id);
                    const sono_case *k = ts_case(&plan, id);
                    assert_string_equal(k->impl_name, impls[a]);
                    assert_non_null(k->impl);
                    assert_string_equal(k->impl->full, impls[a]);
                    assert_ptr_equal(k->op, sono_op_find("fft"));
                    assert_int_equal(sono_param_int(&k->p, "n", 0), ns[b]);
                    assert_int_equal(sono_param_int(&k->p, "batch", 0), bs[c]);
                    assert_int_equal(sono_param_int(&k->p, "threads", 0), 1);
                    assert_string_equal(plan.inputs[k->input].name, inputs[d]);
                    assert_string_equal(k->skip, "");
                }
    assert_string_equal(plan.name, "grid");
    assert_string_equal(plan.description, "two by two");
    assert_string_equal(plan.file, ts_path);
    assert_int_equal(strlen(plan.sha256), 64);
    assert_int_equal(plan.ninputs, 2);
    /* repeated --filter: a case stays if it matches any glob; 16 -> naive n=16 (4) plus
     * radix2 (8), and a glob that matches nothing adds nothing */
    const char *any[] = {"fft/cpu/naive-dft/*n=16,*", "fft/cpu/radix2/*", "nothing*"};
    sono_plan_filter_any(&plan, any, 3);
    assert_int_equal(plan.ncases, 4 + 8);
    for (int i = 0; i < plan.ncases; i++)
        assert_true(strstr(plan.cases[i].id, "/cpu/radix2/") ||
                    (strstr(plan.cases[i].id, "/cpu/naive-dft/") &&
                     strstr(plan.cases[i].id, "n=16,")));
    sono_plan_filter(&plan, "fft/cpu/radix2/*n=64*");
    assert_int_equal(plan.ncases, 4); /* 2 batches x 2 inputs */
    for (int i = 0; i < plan.ncases; i++) {
        assert_non_null(strstr(plan.cases[i].id, "/cpu/radix2/"));
        assert_non_null(strstr(plan.cases[i].id, "n=64,"));
    }
    sono_plan_filter(&plan, "*chirp");
    assert_int_equal(plan.ncases, 2);
    sono_plan_filter(&plan, "nothing*");
    assert_int_equal(plan.ncases, 0);
    sono_plan_free(&plan);
}

static void ts_ranges_and_limits(void **state)
{
    (void)state;
    sono_plan plan;
    char id[512];
    ts_load("[fft]\nimpls = cpu/radix2\nn = 16..256*2\n", &plan); /* named after the op */
    assert_int_equal(plan.ncases, 5);
    for (long long n = 16; n <= 256; n *= 2) {
        ts_id(id, sizeof id, "fft", "cpu/radix2", n, 1, 1, "noise"); /* default input */
        ts_expect(&plan, id);
    }
    assert_string_equal(plan.name, ts_dir + strlen("/tmp/")); /* <dir>/suite.ini: dir */
    sono_plan_free(&plan);

    ts_load("[r]\nop = rfft\nimpls = cpu/naive-dft\nn = 1..10+3\n", &plan);
    assert_int_equal(plan.ncases, 4);
    for (long long n = 1; n <= 10; n += 3) {
        ts_id(id, sizeof id, "rfft", "cpu/naive-dft", n, 1, 1, "noise");
        ts_expect(&plan, id);
    }
    sono_plan_free(&plan);

    /* the limit removes exactly the naive-dft cases above 64 */
    ts_load("[fft]\nimpls = cpu/naive-dft, cpu/radix2\nn = 16..256*2\n"
            "limit = cpu/naive-dft: n <= 64\nlimit = cpu/*: batch < 2\n", &plan);
    assert_int_equal(plan.ncases, 3 + 5);
    for (long long n = 16; n <= 256; n *= 2) {
        ts_id(id, sizeof id, "fft", "cpu/radix2", n, 1, 1, "noise");
        ts_expect(&plan, id);
        ts_id(id, sizeof id, "fft", "cpu/naive-dft", n, 1, 1, "noise");
        if (n <= 64)
            ts_expect(&plan, id);
        else
            assert_null(ts_case(&plan, id));
    }
    sono_plan_free(&plan);
}

static void ts_inputs_cfg_threads(void **state)
{
    (void)state;
    sono_plan plan;
    char id[512];
    ts_load("[suite]\ninputs = noise, chirp\ntarget_ci = 0.05\nbudget_s = 3\n"
            "[a]\nop = fft\nimpls = cpu/radix2\nn = 16\ninputs = sine(freq=440)\n"
            "budget_s = 0.5\nmax_samples = 77\n"
            "[b]\nop = rfft\nimpls = cpu/radix2\nn = 32\nthreads = 2\n"
            "[c]\nop = rfft\nimpls = cpu/radix2\nn = 64\nthreads = 1\n",
            &plan);
    assert_int_equal(plan.ncases, 1 + 2 + 2);
    sono_measure_cfg d = SONO_MEASURE_DEFAULTS;

    ts_id(id, sizeof id, "fft", "cpu/radix2", 16, 1, 1, "sine(freq=440)");
    const sono_case *a = ts_case(&plan, id);
    if (!a)
        fail_msg("no case %s", id);
    assert_float_equal(a->cfg.target_ci, 0.05, 0);   /* from [suite] */
    assert_float_equal(a->cfg.budget_s, 0.5, 0);     /* the group's own */
    assert_int_equal(a->cfg.max_samples, 77);
    assert_float_equal(a->cfg.warmup_s, d.warmup_s, 0); /* untouched: the default */
    assert_int_equal(a->cfg.min_samples, d.min_samples);
    ts_id(id, sizeof id, "fft", "cpu/radix2", 16, 1, 1, "noise");
    assert_null(ts_case(&plan, id)); /* the group's inputs replace the suite's */

    const char *inputs[] = {"noise", "chirp"};
    for (int i = 0; i < 2; i++) {
        ts_id(id, sizeof id, "rfft", "cpu/radix2", 32, 1, 2, inputs[i]);
        assert_non_null(strstr(id, "n=32,batch=1,threads=2/"));
        const sono_case *b = ts_case(&plan, id);
        if (!b)
            fail_msg("no case %s", id);
        assert_float_equal(b->cfg.target_ci, 0.05, 0);
        assert_float_equal(b->cfg.budget_s, 3.0, 0);
        assert_int_equal(b->cfg.max_samples, d.max_samples);
        assert_int_equal(sono_param_int(&b->p, "threads", 0), 2);
        ts_id(id, sizeof id, "rfft", "cpu/radix2", 64, 1, 1, inputs[i]); /* threads=1: no */
        ts_expect(&plan, id);
    }
    sono_plan_free(&plan);
}

/* text must fail with SONO_EPARSE or SONO_ENOTFOUND, naming ts_path:line, and the
 * message must contain hint (and hint2 when given). */
static void ts_bad(const char *text, int line, const char *hint, const char *hint2)
{
    ts_write(ts_path, text);
    sono_plan plan;
    sono_error err = {0};
    int rc = sono_suite_load(ts_path, &ts_R, &plan, &err);
    if (rc == 0) {
        int n = plan.ncases;
        sono_plan_free(&plan);
        fail_msg("accepted (%d cases):\n%s", n, text);
    }
    if (rc != SONO_EPARSE && rc != SONO_ENOTFOUND)
        fail_msg("rc %d, want SONO_EPARSE or SONO_ENOTFOUND: %s", rc, err.msg);
    assert_int_equal(err.code, rc);
    char where[160];
    snprintf(where, sizeof where, "%s:%d:", ts_path, line);
    if (!strstr(err.msg, where) || !strstr(err.msg, hint) || (hint2 && !strstr(err.msg, hint2)))
        fail_msg("message should contain '%s', '%s'%s%s%s:\n%s\n---\n%s", where, hint,
                 hint2 ? ", '" : "", hint2 ? hint2 : "", hint2 ? "'" : "", err.msg, text);
    assert_null(plan.cases);
}

#define TS_HEAD "[suite]\ninputs = noise\n\n" /* three lines: a group starts at line 4 */

static void ts_bad_names(void **state)
{
    (void)state;
    ts_bad(TS_HEAD "[g]\nop = fftx\nn = 16\n", 5, "unknown op 'fftx'", "rfft");
    ts_bad(TS_HEAD "[g]\nop = fft\ndescription = caf\xe9\n", 6, "not UTF-8", NULL);
    ts_bad(TS_HEAD "[g]\nop = fft\nbudget_s = 5\ntimeout_s = 4\n", 5, "timeout_s must exceed",
           NULL);
    ts_bad(TS_HEAD "[g]\nop = fft\nimpls = cpu/nosuch\n", 6, "cpu/nosuch", "cpu/radix2");
    ts_bad(TS_HEAD "[g]\nop = fft\nimpls = nosuch/fft\n", 6, "nosuch/fft", "known");
    ts_bad(TS_HEAD "[g]\nop = fft\nimpls = cpu/zz*\n", 6, "cpu/zz*", "impls");
    ts_bad(TS_HEAD "[g]\nop = fft\nimpls = cpu/radix2\nm = 16\n", 7, "got m", "n, batch");
    ts_bad(TS_HEAD "[mygroup]\nimpls = cpu/radix2\nn = 16\n", 5, "[mygroup]", "op");
    ts_bad("[suite]\ninputs = noise\n\n; one [suite] only (issue 27)\nbogus = 1\n", 5, "bogus",
           "expected");
    ts_bad("[suite]\nname = x\n", 2, "empty suite", "expected");
}

static void ts_bad_values(void **state)
{
    (void)state;
    const char *g = TS_HEAD "[g]\nop = fft\nimpls = cpu/radix2\n"; /* values at line 7 */
    char text[512];
    struct { const char *line, *hint, *hint2; } cases[] = {
        {"n = 0", "out of range", "1..16777216"},
        {"batch = 1000000000", "out of range", "1..65536"},
        {"batch = 1e9", "batch", "expected"},
        {"n = abc", "expected an integer", "abc"},
        {"n = 256..16*2", "bad range", "a <= b"},
        {"n = 16,,x", "n", "expected"},
        {"target_ci = 2", "target_ci", "(0, 1)"},
        {"budget_s = soon", "budget_s", "expected"},
        {"max_samples = 2.5", "max_samples", "integer"},
        {"limit = cpu/radix2 n <= 64", "limit", "IMPL_GLOB: PARAM OP VALUE"},
        {"limit = cpu/radix2: n << 64", "limit", "<="},
        {"limit = cpu/radix2: n <= many", "limit", "expected"},
        {"limit = cpu/radix2: m <= 64", "not a numeric parameter", "m"},
        {"inputs = nois", "unknown generator", "noise"},
        {"inputs = missing.wav", "missing.wav", "no such file"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(text, sizeof text, "%s%s\n", g, cases[i].line);
        ts_bad(text, 7, cases[i].hint, cases[i].hint2);
    }
    /* measurement settings are checked in [suite] too, at their own line */
    ts_bad("; comment\n[suite]\n\ntarget_ci = 2\n[fft]\nn = 16\n", 4, "target_ci", "(0, 1)");
    /* n*batch past 2^28: the op's validate, named at the group's first line */
    ts_bad(TS_HEAD "[g]\nop = fft\nimpls = cpu/radix2\nn = 16777216\nbatch = 65536\n", 5,
           "2^28", NULL);
    /* suite-level inputs are reported at their line in [suite] */
    ts_bad("[suite]\nname = s\ninputs = noise, sine(freq=-1)\n[fft]\nn = 16\n", 3, "inputs",
           "freq");
}

static void ts_bad_files(void **state)
{
    (void)state;
    char wav[160];
    snprintf(wav, sizeof wav, "%s/x.wav", ts_dir);
    FILE *f = fopen(wav, "wb");
    assert_non_null(f);
    for (int i = 0; i < 3000; i++)
        fputc((i * 7919 + 13) % 251, f);
    fclose(f);
    ts_bad(TS_HEAD "[g]\nop = fft\nimpls = cpu/radix2\ninputs = x.wav\n", 7, "x.wav",
           "audio");
    unlink(wav);

    /* a missing suite: SONO_ENOTFOUND with the path */
    char path[160];
    snprintf(path, sizeof path, "%s/no-such.ini", ts_dir);
    sono_plan plan;
    sono_error err = {0};
    assert_int_equal(sono_suite_load(path, &ts_R, &plan, &err), SONO_ENOTFOUND);
    assert_non_null(strstr(err.msg, path));
    /* a folder: its suite.ini */
    ts_write(ts_path, "[suite]\n[fft]\nimpls = cpu/radix2\nn = 8\n");
    assert_int_equal(sono_suite_load(ts_dir, &ts_R, &plan, &err), 0);
    assert_string_equal(plan.file, ts_path);
    assert_int_equal(plan.ncases, 1);
    assert_string_equal(plan.name, ts_dir + strlen("/tmp/"));
    sono_plan_free(&plan);
}

static void ts_bad_syntax(void **state)
{
    (void)state;
    ts_bad(TS_HEAD "[broken\nn = 16\n", 4, "syntax error", "[section]");
    ts_bad(TS_HEAD "[fft]\nn = 16\nno equals sign\n", 6, "syntax error", "key = value");
    ts_bad("n = 16\n[fft]\nimpls = cpu/radix2\n", 1, "outside a section", "n");
    ts_bad(TS_HEAD "[fft]\nn = 16\n; note\nn = 32\n", 7, "given twice", "n");
    ts_bad(TS_HEAD "[fft]\nimpls = cpu/radix2\nimpls = cpu/naive-dft\nn = 8\n", 6,
           "given twice", "impls");
    /* issue 27: a second [fft] is named as such (it read "key given twice in one section:
     * op", and with other keys inih merged the two without a word) */
    ts_bad(TS_HEAD "[fft]\nop = fft\nn = 16\n\n[fft]\nop = fft\nn = 32\n", 8,
           "section [fft] given twice", "first at line 4");
    ts_bad(TS_HEAD "[fft]\nn = 16\n[ fft ]\nimpls = cpu/radix2\n", 6,
           "section [fft] given twice", NULL);
    char text[1024], pad[256];
    memset(pad, 'x', 200 - strlen("description = "));
    pad[200 - strlen("description = ")] = 0;
    snprintf(text, sizeof text, TS_HEAD "[fft]\nn = 16\ndescription = %s\nbatch = 1\n", pad);
    ts_bad(text, 6, "too long", "at most");
}

/* A regression test for an error on a last line without '\n' being reported a line early. */
static void ts_last_line_without_newline(void **state)
{
    (void)state;
    ts_bad(TS_HEAD "[fft]\nimpls = cpu/radix2\nn = 0", 6, "out of range", NULL);
}

/* Loads a suite whose line 2 is `description = xxx...` of exactly len characters. */
static int ts_load_line(size_t len, sono_error *err)
{
    char text[1024], pad[512];
    size_t w = len - strlen("description = ");
    memset(pad, 'x', w);
    pad[w] = 0;
    snprintf(text, sizeof text, "[suite]\ndescription = %s\n[fft]\nimpls = cpu/radix2\nn = 8\n",
             pad);
    ts_write(ts_path, text);
    sono_plan plan;
    int rc = sono_suite_load(ts_path, &ts_R, &plan, err);
    if (rc == 0) {
        assert_int_equal(strlen(plan.description), w);
        sono_plan_free(&plan);
    }
    return rc;
}

/* A regression test for a line of exactly the stated maximum length being rejected. */
static void ts_line_of_max_length(void **state)
{
    (void)state;
    sono_error err = {0};
    assert_int_equal(ts_load_line(300, &err), SONO_EPARSE);
    const char *at = strstr(err.msg, "at most ");
    assert_non_null(at);
    int limit = atoi(at + strlen("at most ")); /* the limit the message states */
    assert_true(limit > 100 && limit < 300);
    if (ts_load_line((size_t)limit, &err))
        fail_msg("a line of %d characters is rejected: %s", limit, err.msg);
    assert_int_equal(ts_load_line((size_t)limit + 1, &err), SONO_EPARSE);
    assert_non_null(strstr(err.msg, "too long"));
}

static void ts_shipped(void **state)
{
    (void)state;
    const char *suites[] = {"suites/quick", "suites/fft/suite.ini"};
    for (int i = 0; i < 2; i++) {
        sono_plan plan;
        sono_error err = {0};
        if (sono_suite_load(suites[i], &ts_R, &plan, &err))
            fail_msg("%s: %s", suites[i], err.msg);
        assert_true(plan.ncases > 0);
        for (int k = 0; k < plan.ncases; k++) {
            const sono_case *c = &plan.cases[k];
            assert_int_equal(fnmatch("*/*/*/n=*/*", c->id, 0), 0);
            /* suites/fft limits the naive DFT to n <= 4096 */
            if (i == 1 && strcmp(c->impl_name, "cpu/naive-dft") == 0)
                assert_true(sono_param_int(&c->p, "n", 0) <= 4096);
        }
        sono_plan_free(&plan);
    }
}

/* Every shipped suite loads and plans (a merge once left suites/speech with two [suite]
 * sections, which only a run of that suite would have shown), and sets repetitions. */
static void ts_all_shipped(void **state)
{
    (void)state;
    glob_t g;
    assert_int_equal(glob("suites/*/suite.ini", 0, NULL, &g), 0);
    assert_true(g.gl_pathc >= 8);
    for (size_t i = 0; i < g.gl_pathc; i++) {
        sono_plan plan;
        sono_error err = {0};
        if (sono_suite_load(g.gl_pathv[i], &ts_R, &plan, &err))
            fail_msg("%s: %s", g.gl_pathv[i], err.msg);
        assert_true(plan.ncases > 0);
        /* README, "The default": every shipped suite measures in fresh processes */
        if (plan.cases[0].cfg.repetitions < 3)
            fail_msg("%s: repetitions %d (every shipped suite sets 3 or 5)", g.gl_pathv[i],
                     plan.cases[0].cfg.repetitions);
        sono_plan_free(&plan);
    }
    globfree(&g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ts_all_shipped),
        cmocka_unit_test(ts_grid),
        cmocka_unit_test(ts_ranges_and_limits),
        cmocka_unit_test(ts_inputs_cfg_threads),
        cmocka_unit_test(ts_bad_names),
        cmocka_unit_test(ts_bad_values),
        cmocka_unit_test(ts_bad_files),
        cmocka_unit_test(ts_bad_syntax),
        cmocka_unit_test(ts_last_line_without_newline),
        cmocka_unit_test(ts_line_of_max_length),
        cmocka_unit_test(ts_shipped),
    };
    return cmocka_run_group_tests(tests, ts_setup, ts_teardown);
}
