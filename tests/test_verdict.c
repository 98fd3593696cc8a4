/* test_verdict.c — issue 22's verdicts: the repetition-level rule on simulated A/A and
 * slowed-down pairs with known between-run noise (false alarms, detection, CI coverage),
 * and `harness compare` / `export` on synthetic files: noisy, counts, warnings, gbench. */
#include "cli_util.h"
#include "compare.h"
#include "results.h"
#include "stats.h"

static uint64_t rng = 1;

/* xorshift64*, uniform in [0, 1): seeded, so every run draws the same numbers. */
static double unif(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return (double)((rng * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

/* Approximately normal (Irwin–Hall, 12 uniforms), mean 0, sd 1, symmetric: the median of
 * anything built from it symmetrically is its centre, which the coverage check needs. */
static double gauss(void)
{
    double s = 0;
    for (int i = 0; i < 12; i++)
        s += unif();
    return s - 6;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

#define R 5           /* repetitions per side */
#define PER_REP 21    /* samples per repetition */
#define BETWEEN 0.03  /* between-run relative sd: fresh process, layout, clocks */
#define WITHIN 0.003  /* jitter of samples inside one process */

/* One side: R repetition medians of a kernel whose true time is ns. Each repetition gets
 * its own between-run factor, then PER_REP jittered samples whose median is kept, as the
 * run does. */
static void side(double ns, double *meds)
{
    double s[PER_REP];
    for (int r = 0; r < R; r++) {
        double f = ns * (1 + BETWEEN * gauss());
        for (int i = 0; i < PER_REP; i++)
            s[i] = f * (1 + WITHIN * gauss());
        qsort(s, PER_REP, sizeof *s, cmp_d);
        meds[r] = s[PER_REP / 2];
    }
}

/* 2,000 A/A pairs and 2,000 pairs with a planted 10 % slowdown, threshold 5 %, alpha
 * 0.01: the rule's false alarms must stay <= 1 % and its detections >= 90 %. The stricter
 * reading (CI's lower end beyond 1 + threshold) is printed beside it for comparison. Every
 * side of the A/A pairs also checks the run's between-repetition CI (min..max for R = 5):
 * it must cover the true median 1 - 2 / 2^5 = 93.75 % of the time, within 3 binomial sd. */
static void test_rep_simulation(void **state)
{
    (void)state;
    enum { PAIRS = 2000 };
    rng = 20240601;
    int miss_ci = 0, miss_eff = 0, aa_alarm = 0, aa_strict = 0, det = 0, det_strict = 0, wrong_way = 0, covered = 0;
    double b[R], x[R];
    for (int k = 0; k < PAIRS; k++) {
        sono_rep_cmp c;
        side(1e5, b);
        side(1e5, x);
        assert_int_equal(sono_rep_compare(b, R, x, R, 0.05, 0.01, &c), 0);
        aa_alarm += c.v != SONO_V_SAME;
        aa_strict += c.ci_lo > 1.05 || c.ci_hi < 0.95;
        for (int s = 0; s < 2; s++) {
            sono_summary sm;
            sono_summarize(s ? x : b, R, &sm);
            covered += sm.ci_lo <= 1e5 && 1e5 <= sm.ci_hi;
        }
        side(1e5, b);
        side(1.1e5, x);
        assert_int_equal(sono_rep_compare(b, R, x, R, 0.05, 0.01, &c), 0);
        det += c.v == SONO_V_SLOWER;
        miss_ci += c.v != SONO_V_SLOWER && !(c.ci_lo > 1);
        miss_eff += c.v != SONO_V_SLOWER && c.ci_lo > 1;
        wrong_way += c.v == SONO_V_FASTER;
        det_strict += c.ci_lo > 1.05;
    }
    double cov = covered / (2.0 * PAIRS), nominal = 1 - 2.0 / 32;
    double tol = 3 * sqrt(nominal * (1 - nominal) / (2.0 * PAIRS));
    print_message("A/A false alarms %d/%d (%.2f %%; CI beyond 1+-5 %%: %.2f %%), 10 %% "
                  "slowdown detected %d/%d (%.1f %%; CI beyond 1+-5 %%: %.1f %%), min..max "
                  "coverage %.4f (nominal %.4f +- %.4f)\n", aa_alarm, PAIRS,
                  100.0 * aa_alarm / PAIRS, 100.0 * aa_strict / PAIRS, det, PAIRS,
                  100.0 * det / PAIRS, 100.0 * det_strict / PAIRS, cov, nominal, tol);
    print_message("misses: CI reaching 1: %d, step inside min_effect: %d\n", miss_ci, miss_eff);
    assert_true(aa_alarm <= PAIRS / 100);
    assert_true(det >= PAIRS * 9 / 10);
    assert_int_equal(wrong_way, 0);
    assert_true(fabs(cov - nominal) <= tol);
}

/* Known answers of the rule on hand-made medians. */
static void test_rep_rule(void **state)
{
    (void)state;
    sono_rep_cmp c;
    const double flat[R] = {100, 100, 100, 100, 100}, up[R] = {120, 120, 120, 120, 120};
    /* no spread: every resample gives the same ratio, so the CI is that point */
    assert_int_equal(sono_rep_compare(flat, R, up, R, 0.05, 0.01, &c), 0);
    assert_float_equal(c.ratio, 1.2, 1e-12);
    assert_float_equal(c.ci_lo, 1.2, 1e-12);
    assert_float_equal(c.ci_hi, 1.2, 1e-12);
    assert_int_equal(c.v, SONO_V_SLOWER);
    assert_int_equal(sono_rep_compare(up, R, flat, R, 0.05, 0.01, &c), 0);
    assert_int_equal(c.v, SONO_V_FASTER);
    assert_int_equal(sono_rep_compare(flat, R, flat, R, 0.05, 0.01, &c), 0);
    assert_int_equal(c.v, SONO_V_SAME);
    assert_float_equal(c.ci_lo, 1, 0);
    /* a 20 % step below the threshold of 25 % is same */
    assert_int_equal(sono_rep_compare(flat, R, up, R, 0.25, 0.01, &c), 0);
    assert_int_equal(c.v, SONO_V_SAME);
    /* x's repetitions spread +-10 % (min..max 101..121 around 107: half-width 10/107):
     * the CI lies above 1 (the smallest x beats every base), but the 7 % step is inside
     * what x's own repetitions disagree by, so the machine does not resolve it */
    const double wide[R] = {101, 107, 107, 107, 121}, tight[R] = {101, 107, 107, 107, 109};
    assert_int_equal(sono_rep_compare(flat, R, wide, R, 0.05, 0.01, &c), 0);
    assert_float_equal(c.spread_x, 10.0 / 107, 1e-12);
    assert_float_equal(c.min_effect, 10.0 / 107, 1e-12);
    assert_true(c.ci_lo > 1);
    assert_int_equal(c.v, SONO_V_SAME);
    assert_int_equal(sono_rep_compare(flat, R, tight, R, 0.05, 0.01, &c), 0);
    assert_float_equal(c.min_effect, 0.05, 1e-12);
    assert_int_equal(c.v, SONO_V_SLOWER);
    /* deterministic: the same medians give the same interval */
    sono_rep_cmp d;
    assert_int_equal(sono_rep_compare(flat, R, wide, R, 0.05, 0.01, &d), 0);
    sono_rep_compare(flat, R, wide, R, 0.05, 0.01, &c);
    assert_true(c.ci_lo == d.ci_lo && c.ci_hi == d.ci_hi);
    /* a wider CI at a smaller alpha */
    sono_rep_cmp e;
    const double bn[R] = {97, 99, 100, 101, 103};
    assert_int_equal(sono_rep_compare(bn, R, wide, R, 0.05, 0.2, &e), 0);
    assert_int_equal(sono_rep_compare(bn, R, wide, R, 0.05, 0.001, &c), 0);
    assert_true(c.ci_lo < e.ci_lo && c.ci_hi > e.ci_hi);
    assert_int_equal(sono_rep_compare(flat, 1, up, R, 0.05, 0.01, &c), SONO_EINVAL);
}

/* The duet's rule: known answers, and a simulation where each pair of repetitions shares
 * the machine's state (a factor of +-20 % sd that both sides of a pair see) on top of 1 %
 * of their own: the pairs cancel the shared part, which the unpaired rule cannot. */
static void test_paired_rule(void **state)
{
    (void)state;
    sono_rep_cmp c;
    const double b[R] = {100, 90, 130, 100, 110};
    double x[R];
    for (int i = 0; i < R; i++)
        x[i] = b[i] * 1.2;
    assert_int_equal(sono_paired_compare(b, x, R, 0.05, 0.01, &c), 0);
    assert_float_equal(c.ratio, 1.2, 1e-12);
    assert_float_equal(c.ci_lo, 1.2, 1e-12);
    assert_int_equal(c.v, SONO_V_SLOWER);
    assert_int_equal(sono_paired_compare(x, b, R, 0.05, 0.01, &c), 0);
    assert_int_equal(c.v, SONO_V_FASTER);
    assert_int_equal(sono_paired_compare(b, b, R, 0.05, 0.01, &c), 0);
    assert_int_equal(c.v, SONO_V_SAME);
    /* one pair of five hit by a burst on one side: the median ratio is 1, same */
    for (int i = 0; i < R; i++)
        x[i] = b[i] * (i == 2 ? 1.5 : 1.0);
    assert_int_equal(sono_paired_compare(b, x, R, 0.05, 0.01, &c), 0);
    assert_float_equal(c.ratio, 1.0, 1e-12);
    assert_int_equal(c.v, SONO_V_SAME);
    /* 7 % in four pairs, the fifth pair the other way: the resampled medians reach below
     * 1 + threshold / 2 often enough at alpha 0.01, so same; with all five, slower */
    for (int i = 0; i < R; i++)
        x[i] = b[i] * (i == 4 ? 0.9 : 1.07);
    assert_int_equal(sono_paired_compare(b, x, R, 0.05, 0.01, &c), 0);
    assert_true(c.ci_lo < 1.025);
    assert_int_equal(c.v, SONO_V_SAME);
    x[4] = b[4] * 1.07;
    assert_int_equal(sono_paired_compare(b, x, R, 0.05, 0.01, &c), 0);
    assert_int_equal(c.v, SONO_V_SLOWER);
    /* a step inside the threshold is same however tight */
    for (int i = 0; i < R; i++)
        x[i] = b[i] * 1.04;
    assert_int_equal(sono_paired_compare(b, x, R, 0.05, 0.01, &c), 0);
    assert_int_equal(c.v, SONO_V_SAME);
    assert_int_equal(sono_paired_compare(b, x, 2, 0.05, 0.01, &c), SONO_EINVAL);
    x[1] = 0;
    assert_int_equal(sono_paired_compare(b, x, R, 0.05, 0.01, &c), SONO_EINVAL);
    /* shared noise: 2,000 A/A pairs and 2,000 with a planted 10 % */
    enum { PAIRS = 2000 };
    rng = 424242;
    int aa = 0, det = 0, unpaired_det = 0;
    double bb[R], xx[R];
    for (int k = 0; k < PAIRS; k++) {
        for (int planted = 0; planted < 2; planted++) {
            for (int i = 0; i < R; i++) {
                double shared = exp(0.2 * gauss());
                bb[i] = 1e5 * shared * (1 + 0.01 * gauss());
                xx[i] = 1e5 * (planted ? 1.1 : 1) * shared * (1 + 0.01 * gauss());
            }
            assert_int_equal(sono_paired_compare(bb, xx, R, 0.05, 0.01, &c), 0);
            if (!planted)
                aa += c.v != SONO_V_SAME;
            else
                det += c.v == SONO_V_SLOWER;
            sono_rep_cmp u;
            if (planted && sono_rep_compare(bb, R, xx, R, 0.05, 0.01, &u) == 0)
                unpaired_det += u.v == SONO_V_SLOWER;
        }
    }
    print_message("paired, 20 %% shared noise: A/A alarms %d/%d, 10 %% detected %d/%d "
                  "(unpaired rule on the same data: %d/%d)\n", aa, PAIRS, det, PAIRS,
                  unpaired_det, PAIRS);
    assert_true(aa <= PAIRS / 100);
    assert_true(det >= PAIRS * 95 / 100);
    assert_true(unpaired_det < PAIRS / 2); /* what the pairing buys here */
}

/* ---- synthetic files for the CLI -------------------------------------------------------- */

typedef struct rec {
    const char *id;
    double ns;          /* true median */
    int nrep;           /* 0: one process, 25 samples */
    const double *rep;  /* nrep relative factors of the repetitions' medians */
    int noisy;
    double count;       /* > 0: metric counts.instructions */
} rec;

static json_t *samples_around(double m, int n, double jitter)
{
    json_t *a = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(a, json_real(m * (1 + jitter * gauss())));
    return a;
}

static json_t *mk_rec(const rec *r)
{
    char op[32];
    snprintf(op, sizeof op, "%.*s", (int)strcspn(r->id, "/"), r->id);
    json_t *all = r->nrep ? json_array() : samples_around(r->ns, 25, 0.001), *reps = NULL;
    double med = r->ns;
    if (r->nrep) {
        reps = json_array();
        for (int i = 0; i < r->nrep; i++) {
            double m = r->ns * r->rep[i];
            json_t *s = samples_around(m, 9, 0.001);
            json_array_extend(all, s);
            json_array_append_new(reps, json_pack("{s:i, s:f, s:f, s:i, s:i, s:b, s:o, s:{}}",
                                  "index", i + 1, "median", m, "ci_rel", 0.001, "n", 9,
                                  "runs_per_sample", 1, "converged", 1, "samples", s,
                                  "noise"));
        }
    }
    json_t *c = json_pack("{s:s, s:s, s:s, s:s, s:{}, s:{s:s}, s:s, s:{s:f, s:f, s:b}, "
                          "s:{s:f, s:f, s:f, s:i, s:o, s:b, s:s}}",
                          "id", r->id, "op", op, "impl", "cpu/x", "device", "cpu", "params",
                          "input", "name", "noise", "status", "ok", "check", "rel_l2", 1e-7,
                          "tol", 1e-5, "pass", 1, "time_ns", "median", med, "ci_lo", med * 0.99,
                          "ci_hi", med * 1.01, "n", (int)json_array_size(all), "samples", all,
                          "converged", 1, "ci_scope",
                          r->nrep > 1 ? "repetitions" : "within-process");
    assert_non_null(c);
    if (reps) {
        json_object_set_new(c, "repetitions", reps);
        json_object_set_new(c, "noisy", json_boolean(r->noisy));
        if (r->noisy)
            json_object_set_new(c, "noisy_why", json_string("repetition 2: other processes "
                                                             "used 90% of the CPUs"));
    }
    if (r->count > 0) {
        json_object_set_new(c, "counts", json_pack("{s:f}", "instructions", r->count));
        json_object_set_new(c, "metrics", json_pack("{s:{s:s, s:s}}", "counts.instructions",
                                                    "unit", "instr", "better", "lower"));
    }
    return c;
}

/* cl_tmp/name: a results file of the cases; complete 0 marks it interrupted; partial: one
 * record in partial_repetitions. Returns the path (a static slot). */
static const char *mk_file(const char *name, const rec *cases, int n, int complete, int partial)
{
    static char paths[8][PATH_MAX];
    static int slot;
    char *path = paths[slot++ % 8];
    snprintf(path, PATH_MAX, "%s/%s", cl_tmp, name);
    json_t *arr = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(arr, mk_rec(&cases[i]));
    json_t *doc = json_pack("{s:s, s:{s:s}, s:{s:s, s:{s:s}, s:s, s:[], s:{}}, "
                            "s:{s:s, s:b, s:b}, s:o}",
                            "schema", SONO_RESULTS_SCHEMA, "suite", "name", "s", "env", "host",
                            "h", "cpu", "model", "Test CPU", "os", "Debian 12", "gpus", "libs",
                            "run", "started", "2024-01-01T00:00:00Z", "complete", complete,
                            "interrupted", !complete, "cases", arr);
    assert_non_null(doc);
    if (partial) {
        static const double one[1] = {1};
        rec p = {"fft/cpu/x/n=128/noise", 2000, 1, one, 0, 0};
        json_t *pr = mk_rec(&p);
        json_object_set_new(pr, "repetition", json_integer(1));
        json_object_set_new(doc, "partial_repetitions", json_pack("[o]", pr));
    }
    assert_int_equal(json_dump_file(doc, path, JSON_INDENT(1)), 0);
    json_decref(doc);
    return path;
}

/* Marks a file as one side of a `harness ab` run (env.ab.side). */
static void set_side(const char *path, const char *side)
{
    json_error_t je;
    json_t *doc = json_load_file(path, 0, &je);
    assert_non_null(doc);
    json_object_set_new(json_object_get(doc, "env"), "ab", json_pack("{s:s}", "side", side));
    assert_int_equal(json_dump_file(doc, path, JSON_INDENT(1)), 0);
    json_decref(doc);
}

static const double AA[R] = {1.00, 0.97, 1.03, 0.99, 1.01};
static const double AB[R] = {1.01, 0.98, 1.02, 1.00, 0.99};

/* A 50 % slowdown that a noisy side cannot vouch for: "ambiguous: noisy", exit 0; the
 * same pair without the flag is slower, exit 1, on the repetitions' basis. */
static void test_cli_noisy(void **state)
{
    (void)state;
    rng = 7;
    rec b = {"fft/cpu/x/n=64/noise", 1000, R, AA, 0, 0}, n = {"fft/cpu/x/n=64/noise", 1500, R,
                                                              AB, 1, 0};
    const char *fb = mk_file("noisy_a.json", &b, 1, 1, 0), *fn = mk_file("noisy_b.json", &n, 1, 1,
                                                                         0);
    cl_res r;
    cl_h(&r, NULL, "compare", fb, fn, NULL);
    cl_expect_code(&r, 0);
    assert_non_null(strstr(r.out, "ambiguous: noisy"));
    assert_null(strstr(r.out, "slower"));
    assert_null(strstr(r.err, "within-process")); /* both sides have repetitions */
    cl_free(&r);
    n.noisy = 0;
    fn = mk_file("quiet_b.json", &n, 1, 1, 0);
    cl_h(&r, NULL, "compare", fb, fn, "--format", "json", NULL);
    cl_expect_code(&r, 1);
    json_error_t je;
    json_t *j = json_loads(r.out, 0, &je);
    assert_non_null(j);
    json_t *cmp = json_array_get(cl_get(json_array_get(cl_get(j, "cases"), 0), "comparisons"),
                                 0);
    assert_string_equal(cl_str(cmp, "verdict"), "slower");
    assert_string_equal(cl_str(cmp, "basis"), "repetitions");
    assert_int_equal(json_integer_value(json_array_get(cl_get(cmp, "repetitions"), 0)), R);
    assert_true(cl_num(cmp, "min_effect") >= 0.05);
    assert_int_equal(json_array_size(cl_get(j, "warnings")), 0);
    json_decref(j);
    cl_free(&r);
}

/* The two sides of one ab run, both flagged noisy (the machine was busy for both): the
 * pairs decide, basis "paired", and the 50 % slowdown is called; the same files without
 * env.ab stay "ambiguous: noisy". */
static void test_cli_paired(void **state)
{
    (void)state;
    rng = 11;
    static const double shared[R] = {1.00, 1.30, 0.95, 1.20, 1.05};
    rec b = {"fft/cpu/x/n=64/noise", 1000, R, shared, 1, 0},
        n = {"fft/cpu/x/n=64/noise", 1500, R, shared, 1, 0};
    const char *fb = mk_file("duet_a.json", &b, 1, 1, 0), *fn = mk_file("duet_b.json", &n, 1, 1, 0);
    cl_res r;
    cl_h(&r, NULL, "compare", fb, fn, NULL);
    cl_expect_code(&r, 0);
    assert_non_null(strstr(r.out, "ambiguous: noisy"));
    cl_free(&r);
    set_side(fb, "base");
    set_side(fn, "new");
    cl_h(&r, NULL, "compare", fb, fn, "--format", "json", NULL);
    cl_expect_code(&r, 1);
    json_error_t je;
    json_t *j = json_loads(r.out, 0, &je);
    assert_non_null(j);
    json_t *cmp = json_array_get(cl_get(json_array_get(cl_get(j, "cases"), 0), "comparisons"),
                                 0);
    assert_string_equal(cl_str(cmp, "verdict"), "slower");
    assert_string_equal(cl_str(cmp, "basis"), "paired");
    assert_float_equal(cl_num(cmp, "ratio"), 1.5, 1e-9);
    json_decref(j);
    cl_free(&r);
    /* two files of the same side are not a duet */
    set_side(fn, "base");
    cl_h(&r, NULL, "compare", fb, fn, NULL);
    cl_expect_code(&r, 0);
    assert_non_null(strstr(r.out, "ambiguous: noisy"));
    cl_free(&r);
}

/* One process per side: today's U test decides, but the basis says so and a warning
 * names --repetitions. */
static void test_cli_within_warns(void **state)
{
    (void)state;
    rng = 8;
    rec b = {"fft/cpu/x/n=64/noise", 1000, 0, NULL, 0, 0}, n = b;
    n.ns = 1200;
    const char *fb = mk_file("w_a.json", &b, 1, 1, 0), *fn = mk_file("w_b.json", &n, 1, 1, 0);
    cl_res r;
    cl_h(&r, NULL, "compare", fb, fn, "--format", "csv", NULL);
    cl_expect_code(&r, 1);
    assert_non_null(strstr(r.out, ",slower,1,within-process"));
    assert_non_null(strstr(r.err, "ignore between-run variance"));
    assert_non_null(strstr(r.err, "--repetitions"));
    cl_free(&r);
}

/* Instruction counts decide when both sides have them, whatever the times say: equal is
 * same, +2 % is slower at the counts' default 0.5 %, and same again at --threshold 5 %; a
 * planted 1 % of work (1.00999 of the count, as delay/work measures it) is slower, +0.3 %
 * is same. */
static void test_cli_counts(void **state)
{
    (void)state;
    rng = 9;
    rec b = {"fft/cpu/x/n=64/noise", 1000, 0, NULL, 0, 1e6}, n = b;
    n.ns = 1500; /* the time moved a lot: the counts did not */
    const char *fb = mk_file("k_a.json", &b, 1, 1, 0), *fn = mk_file("k_b.json", &n, 1, 1, 0);
    cl_res r;
    cl_h(&r, NULL, "compare", fb, fn, "--format", "csv", NULL);
    cl_expect_code(&r, 0);
    assert_non_null(strstr(r.out, ",same,0,counts"));
    cl_free(&r);
    n.ns = 1000;
    n.count = 1.02e6;
    fn = mk_file("k_c.json", &n, 1, 1, 0);
    cl_h(&r, NULL, "compare", fb, fn, NULL);
    cl_expect_code(&r, 1);
    assert_non_null(strstr(r.out, "slower"));
    assert_non_null(strstr(r.out, "1.02M ins")); /* the counts are what the row shows */
    cl_free(&r);
    cl_h(&r, NULL, "compare", fb, fn, "--threshold", "5%", NULL);
    cl_expect_code(&r, 0);
    assert_non_null(strstr(r.out, "same"));
    cl_free(&r);
    n.count = 1.00999e6;
    fn = mk_file("k_e.json", &n, 1, 1, 0);
    cl_h(&r, NULL, "compare", fb, fn, "--format", "csv", NULL);
    cl_expect_code(&r, 1);
    assert_non_null(strstr(r.out, ",slower,1,counts"));
    cl_free(&r);
    n.count = 1.003e6;
    fn = mk_file("k_f.json", &n, 1, 1, 0);
    cl_h(&r, NULL, "compare", fb, fn, "--format", "csv", NULL);
    cl_expect_code(&r, 0);
    assert_non_null(strstr(r.out, ",same,0,counts"));
    cl_free(&r);
    n.count = 0.97e6;
    fn = mk_file("k_d.json", &n, 1, 1, 0);
    cl_h(&r, NULL, "compare", fb, fn, "--format", "csv", NULL);
    cl_expect_code(&r, 0);
    assert_non_null(strstr(r.out, ",faster,0,counts"));
    cl_free(&r);
}

/* An interrupted file, an empty one and one with partial repetitions: each warned about
 * on stderr and in markdown and JSON; the empty one gives "no cases", never "nan". */
static void test_cli_file_warnings(void **state)
{
    (void)state;
    rng = 10;
    rec b = {"fft/cpu/x/n=64/noise", 1000, R, AA, 0, 0};
    const char *fb = mk_file("f_a.json", &b, 1, 1, 0);
    const char *cut = mk_file("f_cut.json", &b, 1, 0, 1);
    const char *empty = mk_file("f_empty.json", NULL, 0, 1, 0);
    cl_res r;
    cl_h(&r, NULL, "compare", fb, cut, NULL);
    cl_expect_code(&r, 0);
    assert_non_null(strstr(r.err, "did not complete"));
    assert_non_null(strstr(r.err, "partial_repetitions"));
    cl_free(&r);
    cl_h(&r, NULL, "compare", fb, cut, "--format", "markdown", NULL);
    assert_non_null(strstr(r.out, "**warning:**"));
    assert_non_null(strstr(r.out, "did not complete"));
    cl_free(&r);
    cl_h(&r, NULL, "compare", empty, empty, NULL);
    cl_expect_code(&r, 0);
    assert_non_null(strstr(r.out, "no cases"));
    assert_null(strstr(r.out, "nan"));
    assert_non_null(strstr(r.err, "no cases"));
    cl_free(&r);
    cl_h(&r, NULL, "compare", fb, empty, "--format", "json", NULL);
    json_error_t je;
    json_t *j = json_loads(r.out, 0, &je);
    assert_non_null(j);
    assert_int_equal(json_array_size(cl_get(j, "warnings")), 1);
    assert_non_null(strstr(json_string_value(json_array_get(cl_get(j, "warnings"), 0)),
                           "no cases"));
    json_decref(j);
    cl_free(&r);
}

/* gbench: R iteration entries (repetition_index 0..R-1, each repetition's median) and
 * mean / median / stddev aggregates over those medians, as Google Benchmark writes. */
static void test_export_gbench_reps(void **state)
{
    (void)state;
    rng = 11;
    rec b[2] = {{"fft/cpu/x/n=64/noise", 1000, R, AA, 0, 0},
                {"fft/cpu/x/n=32/noise", 500, 0, NULL, 0, 0}};
    const char *f = mk_file("gb.json", b, 2, 1, 0);
    char out[PATH_MAX];
    snprintf(out, sizeof out, "%s/gb_out.json", cl_tmp);
    cl_res r;
    cl_h(&r, NULL, "export", f, "--format", "gbench", "--out", out, NULL);
    cl_expect_code(&r, 0);
    cl_free(&r);
    json_t *g = cl_load(out), *bs = cl_get(g, "benchmarks");
    assert_int_equal(json_array_size(bs), R + 3 + 1);
    for (int i = 0; i < R; i++) {
        json_t *e = json_array_get(bs, (size_t)i);
        assert_string_equal(cl_str(e, "name"), "fft/cpu/x/n=64/noise");
        assert_string_equal(cl_str(e, "run_name"), "fft/cpu/x/n=64/noise");
        assert_string_equal(cl_str(e, "run_type"), "iteration");
        assert_int_equal(cl_num(e, "repetitions"), R);
        assert_int_equal(cl_num(e, "repetition_index"), i);
        assert_float_equal(cl_num(e, "real_time"), 1000 * AA[i], 1e-6);
        assert_float_equal(cl_num(e, "cpu_time"), 1000 * AA[i], 1e-6);
        assert_int_equal(cl_num(e, "iterations"), 9);
        assert_string_equal(cl_str(e, "time_unit"), "ns");
    }
    /* AA: mean 1.00, median 1.00, sample sd sqrt((0 + .0009 + .0009 + .0001 + .0001) / 4) */
    static const char *const agg[3] = {"mean", "median", "stddev"};
    const double want[3] = {1000, 1000, 1000 * sqrt(0.002 / 4)};
    for (int a = 0; a < 3; a++) {
        json_t *e = json_array_get(bs, (size_t)(R + a));
        char name[64];
        snprintf(name, sizeof name, "fft/cpu/x/n=64/noise_%s", agg[a]);
        assert_string_equal(cl_str(e, "name"), name);
        assert_string_equal(cl_str(e, "run_name"), "fft/cpu/x/n=64/noise");
        assert_string_equal(cl_str(e, "run_type"), "aggregate");
        assert_string_equal(cl_str(e, "aggregate_name"), agg[a]);
        assert_int_equal(cl_num(e, "repetitions"), R);
        assert_float_equal(cl_num(e, "real_time"), want[a], 1e-6);
    }
    json_t *one = json_array_get(bs, R + 3);
    assert_string_equal(cl_str(one, "run_type"), "iteration");
    assert_int_equal(cl_num(one, "repetitions"), 1);
    assert_float_equal(cl_num(one, "real_time"), 500, 1e-9);
    json_decref(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rep_rule),
        cmocka_unit_test(test_rep_simulation),
        cmocka_unit_test(test_cli_noisy),
        cmocka_unit_test(test_paired_rule),
        cmocka_unit_test(test_cli_paired),
        cmocka_unit_test(test_cli_within_warns),
        cmocka_unit_test(test_cli_counts),
        cmocka_unit_test(test_cli_file_warnings),
        cmocka_unit_test(test_export_gbench_reps),
    };
    return cmocka_run_group_tests(tests, cl_setup, cl_teardown);
}
