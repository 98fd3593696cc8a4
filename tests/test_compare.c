/* test_compare.c — `harness compare` on synthetic results files with known answers (seeded
 * samples written with jansson), the Mann–Whitney p-value on a hand-computed example, and
 * unusable input (truncated, wrong schema, other suite) giving exit 2 naming the file. */
#include "cli_util.h"
#include "compare.h"
#include "results.h"

static uint64_t rng = 1;

/* xorshift64*, uniform in [0, 1): seeded per file, so every run writes the same samples. */
static double unif(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return (double)((rng * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

/* Approximately normal (Irwin–Hall, 12 uniforms), mean 0, sd 1. */
static double gauss(void)
{
    double s = 0;
    for (int i = 0; i < 12; i++)
        s += unif();
    return s - 6;
}

typedef struct spec {
    const char *id;     /* op/backend/impl/params/input */
    const char *status; /* ok, fail, ... */
    double rel_l2;      /* tol is 1e-5 */
    double ns;          /* true median */
    double noise;       /* relative sd of each sample */
    int n;              /* samples */
} spec;

static json_t *mk_case(const spec *s)
{
    json_t *samples = json_array();
    for (int i = 0; i < s->n; i++)
        json_array_append_new(samples, json_real(s->ns * (1 + s->noise * gauss())));
    char op[32];
    snprintf(op, sizeof op, "%.*s", (int)strcspn(s->id, "/"), s->id);
    double med = s->ns; /* close enough: compare reads the samples for its statistics */
    return json_pack("{s:s, s:s, s:s, s:s, s:{}, s:{s:s}, s:s, s:{s:f, s:f, s:b}, "
                     "s:{s:f, s:f, s:f, s:i, s:o, s:b}}",
                     "id", s->id, "op", op, "impl", "x", "device", "cpu", "params", "input",
                     "name", "noise", "status", s->status, "check", "rel_l2", s->rel_l2, "tol",
                     1e-5, "pass", s->rel_l2 <= 1e-5, "time_ns", "median", med, "ci_lo",
                     med * 0.99, "ci_hi", med * 1.01, "n", s->n, "samples", samples,
                     "converged", 1);
}

/* Writes a results file of the given cases to cl_tmp/name; returns its path (static slot). */
static const char *mk_file(const char *name, const char *suite, const char *host, uint64_t seed,
                           const spec *cases, int n)
{
    static char paths[8][PATH_MAX];
    static int slot;
    char *path = paths[slot++ % 8];
    snprintf(path, PATH_MAX, "%s/%s", cl_tmp, name);
    rng = seed;
    json_t *arr = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(arr, mk_case(&cases[i]));
    json_t *doc = json_pack("{s:s, s:{s:s}, s:{s:s, s:{s:s}, s:s, s:[], s:{s:s}}, "
                            "s:{s:s, s:b}, s:o}",
                            "schema", SONO_RESULTS_SCHEMA, "suite", "name", suite, "env",
                            "host", host, "cpu", "model", "Test CPU", "os", "Debian 12", "gpus",
                            "libs", "fftw", "3.3.10", "run", "started", "2024-01-01T00:00:00Z",
                            "complete", 1, "cases", arr);
    assert_non_null(doc);
    assert_int_equal(json_dump_file(doc, path, JSON_INDENT(1)), 0);
    json_decref(doc);
    json_t *back;
    sono_error err = {0};
    if (sono_results_load(path, &back, &err))
        fail_msg("synthetic file refused: %s", err.msg);
    json_decref(back);
    return path;
}

/* Compares two one-case files in-process and returns the verdict; *p the p-value. */
static sono_verdict one(spec base, spec now, double *p)
{
    const char *paths[2] = {mk_file("one_a.json", "s", "h", 11, &base, 1),
                            mk_file("one_b.json", "s", "h", 22, &now, 1)};
    sono_cmp_opts o = {.threshold = 0.05, .alpha = 0.01};
    sono_cmp *c;
    sono_error err = {0};
    assert_int_equal(sono_compare_files(paths, 2, &o, &c, &err), 0);
    assert_int_equal(c->nrows, 1);
    sono_verdict v = c->rows[0].cells[0].v;
    if (p)
        *p = c->rows[0].cells[0].p;
    sono_compare_free(c);
    return v;
}

#define OK(ns, noise, n) {"fft/cpu/x/n=64/noise", "ok", 1e-7, ns, noise, n}

/* x = {1, 2, 3}, y = {3, 4, 5, 6}. Pooled ranks: 1->1, 2->2, the two 3s share 3.5, 4->5,
 * 5->6, 6->7. R_x = 1 + 2 + 3.5 = 6.5, U_x = R_x - 3*4/2 = 0.5; mean n1 n2 / 2 = 6.
 * One tie of size 2: sum(t^3 - t) = 6, N = 7, so var = 3*4/12 * (8 - 6/(7*6)) = 7.857143.
 * z = (|0.5 - 6| - 0.5) / sqrt(7.857143) = 5 / 2.803060 = 1.783765;
 * p = 2 (1 - Phi(1.783765)) = 0.07446. */
static void test_mann_whitney_hand(void **state)
{
    (void)state;
    const double x[] = {1, 2, 3}, y[] = {3, 4, 5, 6};
    double u, p = sono_mann_whitney(x, 3, y, 4, &u);
    assert_float_equal(u, 0.5, 1e-12);
    assert_float_equal(p, erfc(5 / sqrt(8 - 6.0 / 42) / sqrt(2)), 1e-12);
    assert_float_equal(p, 0.07446, 5e-5);
    /* symmetric: swapping the sides gives U = n1 n2 - U and the same p */
    double u2, p2 = sono_mann_whitney(y, 4, x, 3, &u2);
    assert_float_equal(u2, 11.5, 1e-12);
    assert_float_equal(p2, p, 1e-12);
    const double e[] = {5, 5, 5};
    assert_float_equal(sono_mann_whitney(e, 3, e, 3, NULL), 1.0, 0);
    assert_true(isnan(sono_mann_whitney(x, 0, y, 4, NULL)));
}

static void test_identical_same(void **state)
{
    (void)state;
    spec s = OK(1000, 0.01, 50);
    const char *a = mk_file("id_a.json", "s", "h", 5, &s, 1);
    const char *b = mk_file("id_b.json", "s", "h", 5, &s, 1); /* same seed: same samples */
    cl_res r;
    cl_h(&r, NULL, "compare", a, b, NULL);
    cl_expect_code(&r, 0);
    assert_non_null(strstr(r.out, "same"));
    assert_null(strstr(r.out, "slower"));
    cl_free(&r);
    double p;
    assert_int_equal(one(s, s, &p), SONO_V_SAME);
}

/* Low noise: the U test separates the two completely (p ~ 1e-17) and 10 % > 5 %. */
static void test_slowdown_low_noise(void **state)
{
    (void)state;
    spec a = OK(1000, 0.005, 50), b = OK(1100, 0.005, 50);
    double p;
    assert_int_equal(one(a, b, &p), SONO_V_SLOWER);
    assert_true(p < 1e-10);
    assert_int_equal(one(b, a, NULL), SONO_V_FASTER);
    /* below the threshold: significant but only 2 % */
    spec c = OK(1020, 0.005, 50);
    assert_int_equal(one(a, c, NULL), SONO_V_SAME);
    cl_res r;
    cl_h(&r, NULL, "compare", mk_file("sl_a.json", "s", "h", 1, &a, 1),
         mk_file("sl_b.json", "s", "h", 2, &b, 1), NULL);
    cl_expect_code(&r, 1);
    assert_non_null(strstr(r.out, "slower"));
    cl_free(&r);
}

/* 30 % noise, 12 samples a side: a 10 % shift is a third of a standard deviation, so the U
 * test's z is about 0.1 / (0.3 sqrt(2/12)) ~ 0.8 -- p far above alpha = 0.01: "same", the
 * difference is inside the noise, though the medians differ by about 10 %. */
static void test_slowdown_in_noise(void **state)
{
    (void)state;
    spec a = OK(1000, 0.30, 12), b = OK(1100, 0.30, 12);
    double p;
    assert_int_equal(one(a, b, &p), SONO_V_SAME);
    assert_true(p >= 0.01);
}

/* The absolute floor: a 20 % change of a 2 ns case is 0.4 ns, below a 12 ns floor: same. */
static void test_floor_ns(void **state)
{
    (void)state;
    spec a = OK(2.0, 0.005, 50), b = OK(2.4, 0.005, 50);
    const char *paths[2] = {mk_file("fl_a.json", "s", "h", 5, &a, 1),
                            mk_file("fl_b.json", "s", "h", 6, &b, 1)};
    sono_cmp_opts o = {.threshold = 0.05, .alpha = 0.01, .floor_ns = 12};
    sono_cmp *c;
    sono_error err = {0};
    assert_int_equal(sono_compare_files(paths, 2, &o, &c, &err), 0);
    assert_int_equal(c->rows[0].cells[0].v, SONO_V_SAME);
    sono_compare_free(c);
    o.floor_ns = 0.1;
    assert_int_equal(sono_compare_files(paths, 2, &o, &c, &err), 0);
    assert_int_equal(c->rows[0].cells[0].v, SONO_V_SLOWER);
    sono_compare_free(c);
}

/* Sets case 0's describe text in a written results file. */
static void set_describe(const char *path, const char *text)
{
    json_error_t je;
    json_t *doc = json_load_file(path, 0, &je);
    assert_non_null(doc);
    json_object_set_new(json_array_get(json_object_get(doc, "cases"), 0), "describe",
                        json_string(text));
    assert_int_equal(json_dump_file(doc, path, JSON_INDENT(1)), 0);
    json_decref(doc);
}

/* 10 % slower, but the impl chose another plan: reported as plan-changed, which gates
 * only with --strict; with the same plan it is an ordinary "slower". */
static void test_plan_changed(void **state)
{
    (void)state;
    spec a = OK(1000, 0.005, 50), b = OK(1100, 0.005, 50);
    const char *pa = mk_file("pl_a.json", "s", "h", 7, &a, 1);
    const char *pb = mk_file("pl_b.json", "s", "h", 8, &b, 1);
    set_describe(pa, "(dft-ct-dit/8 ...)");
    set_describe(pb, "(dft-ct-dit/2 ...)");
    cl_res r;
    cl_h(&r, NULL, "compare", pa, pb, NULL);
    cl_expect_code(&r, 0);
    assert_non_null(strstr(r.out, "plan-changed"));
    cl_free(&r);
    cl_h(&r, NULL, "compare", pa, pb, "--strict", NULL);
    cl_expect_code(&r, 1);
    cl_free(&r);
    set_describe(pb, "(dft-ct-dit/8 ...)");
    cl_h(&r, NULL, "compare", pa, pb, NULL);
    cl_expect_code(&r, 1);
    assert_non_null(strstr(r.out, "slower"));
    cl_free(&r);
    /* FFTW's wisdom clause says where the plan came from, not which plan it is: the run
     * that made the wisdom and the run that reused it ran the same plan */
    set_describe(pa, "threads=1; plan_threads=1; wisdom: new; (dft-ct-dit/8 ...)");
    set_describe(pb, "threads=1; plan_threads=1; wisdom: hit; (dft-ct-dit/8 ...)");
    cl_h(&r, NULL, "compare", pa, pb, NULL);
    cl_expect_code(&r, 1);
    assert_non_null(strstr(r.out, "slower"));
    assert_null(strstr(r.out, "plan-changed"));
    cl_free(&r);
    set_describe(pb, "threads=1; plan_threads=1; wisdom: hit; (dft-ct-dit/2 ...)");
    cl_h(&r, NULL, "compare", pa, pb, NULL);
    assert_non_null(strstr(r.out, "plan-changed"));
    cl_free(&r);
}

static void test_few_samples_ambiguous(void **state)
{
    (void)state;
    spec a = OK(1000, 0.005, 8), b = OK(2000, 0.005, 8);
    assert_int_equal(one(a, b, NULL), SONO_V_AMBIGUOUS);
    spec c = OK(1000, 0.005, 9), d = OK(2000, 0.005, 9);
    assert_int_equal(one(c, d, NULL), SONO_V_SLOWER); /* 9 is enough */
}

static void test_failing_and_presence(void **state)
{
    (void)state;
    spec ok = OK(1000, 0.01, 20), grew = ok, failed = ok;
    grew.rel_l2 = 1e-3; /* status still ok, but past its tolerance */
    failed.status = "fail";
    assert_int_equal(one(ok, grew, NULL), SONO_V_NOW_FAILING);
    assert_int_equal(one(ok, failed, NULL), SONO_V_NOW_FAILING);
    assert_int_equal(one(failed, ok, NULL), SONO_V_NOW_PASSING);
    assert_int_equal(one(failed, failed, NULL), SONO_V_STILL_FAILING);
    spec only_a[2] = {OK(1000, 0.01, 20), {"fft/cpu/x/n=128/noise", "ok", 1e-7, 2000, 0.01, 20}};
    spec only_b[2] = {OK(1000, 0.01, 20), {"fft/cpu/x/n=256/noise", "ok", 1e-7, 3000, 0.01, 20}};
    const char *a = mk_file("pr_a.json", "s", "h", 3, only_a, 2);
    const char *b = mk_file("pr_b.json", "s", "h", 3, only_b, 2);
    cl_res r;
    cl_h(&r, NULL, "compare", a, b, NULL); /* missing is reported, not a regression... */
    cl_expect_code(&r, 0);
    assert_non_null(strstr(r.out, "missing"));
    assert_non_null(strstr(r.out, "new"));
    cl_free(&r);
    cl_h(&r, NULL, "compare", a, b, "--strict", NULL); /* ...unless --strict */
    cl_expect_code(&r, 1);
    cl_free(&r);
    const char *f = mk_file("pr_f.json", "s", "h", 3, &grew, 1);
    cl_h(&r, NULL, "compare", mk_file("pr_o.json", "s", "h", 3, &ok, 1), f, NULL);
    cl_expect_code(&r, 1);
    assert_non_null(strstr(r.out, "now-failing"));
    cl_free(&r);
}

static void expect_bad(const char *path, const char *word)
{
    cl_res r;
    spec s = OK(1000, 0.01, 20);
    cl_h(&r, NULL, "compare", mk_file("bad_base.json", "s", "h", 1, &s, 1), path, NULL);
    cl_expect_code(&r, 2);
    if (!strstr(r.err, path) || (word && !strstr(r.err, word)))
        fail_msg("stderr should name %s and say '%s': %s", path, word, r.err);
    cl_free(&r);
}

static void test_bad_input(void **state)
{
    (void)state;
    spec s = OK(1000, 0.01, 20);
    const char *good = mk_file("bad_good.json", "s", "h", 1, &s, 1);
    size_t len;
    char *text = cl_slurp(good, &len);
    assert_non_null(text);
    char trunc[PATH_MAX];
    snprintf(trunc, sizeof trunc, "%s/truncated.json", cl_tmp);
    for (size_t cut = 1; cut < len; cut += len / 7) { /* cut anywhere: never a crash */
        FILE *f = fopen(trunc, "wb");
        assert_non_null(f);
        fwrite(text, 1, cut, f);
        fclose(f);
        expect_bad(trunc, NULL);
    }
    free(text);
    json_t *d = json_load_file(good, 0, NULL);
    json_object_set_new(d, "schema", json_string("sonobench.results/99"));
    char wrong[PATH_MAX];
    snprintf(wrong, sizeof wrong, "%s/schema.json", cl_tmp);
    json_dump_file(d, wrong, 0);
    json_decref(d);
    expect_bad(wrong, "schema");
    expect_bad(mk_file("other_suite.json", "other", "h", 1, &s, 1), "suite");
    char none[PATH_MAX];
    snprintf(none, sizeof none, "%s/no-such-file.json", cl_tmp);
    expect_bad(none, NULL);
    cl_res r; /* --any-suite lets the other suite through */
    cl_h(&r, NULL, "compare", good, mk_file("other2.json", "other", "h2", 1, &s, 1),
         "--any-suite", NULL);
    cl_expect_code(&r, 0);
    assert_non_null(strstr(r.out, "host"));     /* the environments differ in host */
    assert_null(strstr(r.out, "cpu.model"));    /* and only there */
    cl_free(&r);
    cl_h(&r, NULL, "compare", good, NULL);
    cl_expect_code(&r, 2);
    cl_free(&r);
    cl_h(&r, NULL, "compare", good, good, "--threshold", "abc", NULL);
    cl_expect_code(&r, 2);
    cl_free(&r);
}

static void test_formats_and_three_files(void **state)
{
    (void)state;
    spec a[2] = {OK(1000, 0.005, 30), {"rfft/cpu/x/n=64/noise", "ok", 1e-7, 500, 0.005, 30}};
    spec b[2] = {OK(1100, 0.005, 30), {"rfft/cpu/x/n=64/noise", "ok", 1e-7, 500, 0.005, 30}};
    spec c[2] = {OK(900, 0.005, 30), {"rfft/cpu/x/n=64/noise", "ok", 1e-7, 500, 0.005, 30}};
    const char *fa = mk_file("f_a.json", "s", "h", 1, a, 2), *fb = mk_file("f_b.json", "s", "h", 2, b, 2),
               *fc = mk_file("f_c.json", "s", "h", 3, c, 2);
    cl_res r;
    cl_h(&r, NULL, "compare", fa, fb, fc, "--format", "json", NULL);
    cl_expect_code(&r, 1);
    json_t *doc = json_loads(r.out, 0, NULL);
    assert_non_null(doc);
    json_t *cases = json_object_get(doc, "cases");
    assert_int_equal(json_array_size(cases), 2);
    json_t *cmp = json_object_get(json_array_get(cases, 0), "comparisons");
    assert_int_equal(json_array_size(cmp), 2); /* three files: two comparison columns */
    assert_string_equal(cl_str(json_array_get(cmp, 0), "verdict"), "slower");
    assert_string_equal(cl_str(json_array_get(cmp, 1), "verdict"), "faster");
    assert_float_equal(cl_num(json_array_get(cmp, 0), "ratio"), 1.1, 0.01);
    assert_int_equal(json_integer_value(json_object_get(doc, "regressions")), 1);
    json_decref(doc);
    cl_free(&r);
    cl_h(&r, NULL, "compare", fa, fb, fc, NULL); /* table: columns [1] and [2] */
    assert_non_null(strstr(r.out, "verdict[1]"));
    assert_non_null(strstr(r.out, "verdict[2]"));
    assert_non_null(strstr(r.out, "geomean fft"));
    cl_free(&r);
    cl_h(&r, NULL, "compare", fa, fb, "--format", "markdown", NULL);
    char line[512];
    assert_true(cl_line_with(r.out, line, sizeof line, "| case ", "| verdict "));
    assert_true(cl_line_with(r.out, line, sizeof line, "| --- ", NULL));
    cl_free(&r);
    cl_h(&r, NULL, "compare", fa, fb, "--format", "csv", NULL);
    assert_true(strncmp(r.out, "id,op,impl,file,", 16) == 0);
    assert_non_null(strstr(r.out, "\"fft/cpu/x/n=64/noise\""));
    cl_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mann_whitney_hand),
        cmocka_unit_test(test_identical_same),
        cmocka_unit_test(test_slowdown_low_noise),
        cmocka_unit_test(test_slowdown_in_noise),
        cmocka_unit_test(test_floor_ns),
        cmocka_unit_test(test_plan_changed),
        cmocka_unit_test(test_few_samples_ambiguous),
        cmocka_unit_test(test_failing_and_presence),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_formats_and_three_files),
    };
    return cmocka_run_group_tests(tests, cl_setup, cl_teardown);
}
