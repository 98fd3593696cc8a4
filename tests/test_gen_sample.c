/* test_gen_sample.c — issue 25's sample.topk: both Philox4x32-10s (the reference's own and
 * impls/common/philox.h, the one the CPU and GPU impls draw with) against Random123's
 * published known-answer vectors and each other; the drawn distribution against the exact
 * truncated softmax by a seeded chi-square over many draws (for the reference and every
 * impl), with the test's power shown on a wrong temperature; every impl against the
 * reference on random small cases; the check failing planted faults and accepting an
 * exact boundary tie. */
#include "gen_util.h"
#include "sample64.h"

#include "../impls/common/philox.h"

/* Random123's kat_vectors, "philox4x32 10": counter, key, expected output. */
static const uint32_t kat[3][10] = {
    {0, 0, 0, 0, 0, 0, 0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8},
    {0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0x408f276d,
     0x41c83b0e, 0xa20bc7c6, 0x6d5451fd},
    {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0, 0xd16cfe09,
     0x94fdcceb, 0x5001e420, 0x24126ea1},
};

static void philox_known_answers(void **state)
{
    (void)state;
    for (int i = 0; i < 3; i++) {
        uint32_t o[4], h[4];
        sono_philox64(kat[i], kat[i] + 4, o);
        philox4x32_10(kat[i], kat[i] + 4, h);
        for (int j = 0; j < 4; j++) {
            assert_int_equal(o[j], kat[i][6 + j]);
            assert_int_equal(h[j], kat[i][6 + j]);
        }
    }
    /* the ops' draw: the same u from both over many counters and seeds */
    for (uint32_t a = 0; a < 64; a++)
        for (uint32_t b = 0; b < 16; b++) {
            uint64_t seed = 0x9e3779b97f4a7c15ull * (a + 1) ^ b;
            assert_true(sono_philox64_u24(seed, a, b, a ^ b) ==
                        (double)philox_u24(seed, a, b, a ^ b));
            assert_int_equal(sono_philox64_u32(seed, a, b, 7), philox_u32(seed, a, b, 7));
        }
}

/* The exact distribution of the rule, by its definition, written apart from sample64.c:
 * probabilities p[v] for logits l [V] (V <= 16). */
static void exact_probs(const double *l, int V, double T, int k, double top_p, double *p)
{
    int ord[16];
    for (int i = 0; i < V; i++)
        ord[i] = i;
    for (int i = 0; i < V; i++) /* selection sort: largest first, ties by index */
        for (int j = i + 1; j < V; j++)
            if (l[ord[j]] > l[ord[i]]) {
                int t = ord[i];
                ord[i] = ord[j];
                ord[j] = t;
            }
    int m = k > 0 && k < V ? k : V;
    double w[16], s = 0;
    for (int r = 0; r < m; r++)
        s += (w[r] = exp((l[ord[r]] - l[ord[0]]) / T));
    int cut = m;
    double c = 0;
    for (int r = 0; r < m && top_p < 1; r++)
        if ((c += w[r]) / s >= top_p) {
            cut = r + 1;
            break;
        }
    double sc = 0;
    for (int r = 0; r < cut; r++)
        sc += w[r];
    for (int v = 0; v < V; v++)
        p[v] = 0;
    for (int r = 0; r < cut; r++)
        p[ord[r]] = w[r] / sc;
}

/* Upper 1e-4 quantile of chi-square with df degrees (Wilson-Hilferty; z = 3.719). */
static double chi2_crit(int df)
{
    double a = 2.0 / (9.0 * df), t = 1 - a + 3.719 * sqrt(a);
    return df * t * t * t;
}

static double chi2(const long long *n, const double *p, int V, long long N, int *df)
{
    double x = 0;
    *df = -1;
    for (int v = 0; v < V; v++) {
        if (p[v] == 0) {
            assert_int_equal(n[v], 0); /* a class outside the kept set is never drawn */
            continue;
        }
        double e = p[v] * (double)N;
        x += ((double)n[v] - e) * ((double)n[v] - e) / e;
        (*df)++;
    }
    return x;
}

#define CH_V 8
#define CH_ROWS 40000

typedef struct chi_case {
    const char *spec;
    double T, top_p;
    int k;
} chi_case;

/* N rows of the same logits (each row its own Philox counter): counts of each token by the
 * reference and by every impl, chi-square against the exact probabilities under the
 * 1e-4 critical value (seeded: the same draws every run, so a pass is not luck each time);
 * and, for the power of the test, the same counts against the probabilities of another
 * temperature must be rejected. */
static void sample_distribution(void **state)
{
    (void)state;
    const double l64[CH_V] = {1.2, -0.3, 0.9, 2.0, 0.0, 1.9, -1.5, 0.4};
    const chi_case cases[] = {
        {"temperature=1 top_k=0 top_p=1", 1, 1, 0},
        {"temperature=0.7 top_k=5 top_p=1", 0.7, 1, 5},
        {"temperature=1.3 top_k=0 top_p=0.8", 1.3, 0.8, 0},
    };
    float *l = malloc((size_t)CH_ROWS * CH_V * sizeof *l);
    int32_t *tok = malloc((size_t)CH_ROWS * sizeof *tok);
    assert_non_null(l);
    assert_non_null(tok);
    for (long long i = 0; i < CH_ROWS; i++)
        for (int v = 0; v < CH_V; v++)
            l[i * CH_V + v] = (float)l64[v]; /* l32: the values as rounded */
    double l32[CH_V];
    for (int v = 0; v < CH_V; v++)
        l32[v] = (double)(float)l64[v];
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char spec[200];
        snprintf(spec, sizeof spec, "%s batch=%d codebooks=1 V=%d seed=%zu", cases[c].spec,
                 CH_ROWS, CH_V, 17 + c);
        sono_params p = gu_params("sample.topk", spec);
        double pr[CH_V], wrong[CH_V];
        exact_probs(l32, CH_V, cases[c].T, cases[c].k, cases[c].top_p, pr);
        exact_probs(l32, CH_V, cases[c].T * 1.25, cases[c].k, cases[c].top_p, wrong);
        /* the reference */
        sono_sample64_cfg cfg = {cases[c].T, cases[c].top_p, cases[c].k};
        sono_sample64_ws *w = sono_sample64_ws_new(CH_V);
        long long n[CH_V] = {0};
        for (long long i = 0; i < CH_ROWS; i++)
            n[sono_sample64_row(w, l + i * CH_V, CH_V, &cfg,
                                sono_philox64_u24(17 + c, (uint32_t)i, 0, 0))]++;
        sono_sample64_ws_free(w);
        int df;
        double x = chi2(n, pr, CH_V, CH_ROWS, &df);
        if (x > chi2_crit(df))
            fail_msg("reference %s: chi2 %.2f > %.2f (df %d)", spec, x, chi2_crit(df), df);
        /* every impl */
        sono_buf in = {.dtype = SONO_F32, .ndim = 3, .shape = {CH_ROWS, 1, CH_V}, .data = l,
                       .nbytes = (size_t)CH_ROWS * CH_V * sizeof *l};
        sono_buf out = {.dtype = SONO_I32, .ndim = 2, .shape = {CH_ROWS, 1}, .data = tok,
                        .nbytes = (size_t)CH_ROWS * sizeof *tok};
        int ran = 0;
        for (int i = 0; i < gu_R.nimpls; i++) {
            const sono_impl_entry *e = &gu_R.impls[i];
            if (!gu_usable(e, "sample.topk") || gu_exec(e, &p, &in, &out))
                continue;
            long long m[CH_V] = {0};
            for (long long r = 0; r < CH_ROWS; r++) {
                assert_true(tok[r] >= 0 && tok[r] < CH_V);
                m[tok[r]]++;
            }
            x = chi2(m, pr, CH_V, CH_ROWS, &df);
            if (x > chi2_crit(df))
                fail_msg("%s %s: chi2 %.2f > %.2f (df %d)", e->full, spec, x, chi2_crit(df),
                         df);
            /* power: a quarter hotter temperature is told apart (df of the true support) */
            double xw = 0;
            for (int v = 0; v < CH_V; v++)
                if (wrong[v] > 0)
                    xw += ((double)m[v] - wrong[v] * CH_ROWS) * ((double)m[v] - wrong[v] * CH_ROWS) /
                          (wrong[v] * CH_ROWS);
            if (xw <= chi2_crit(df))
                fail_msg("%s %s: chi2 against the wrong temperature only %.2f", e->full, spec,
                         xw);
            ran++;
        }
        assert_true(ran >= 1); /* cpu/naive at least */
    }
    free(l);
    free(tok);
}

static void impls_random_small(void **state)
{
    (void)state;
    const char *specs[] = {
        "batch=3 codebooks=8 V=2048",
        "batch=2 codebooks=4 V=2048 temperature=1 top_k=0 top_p=0.9",
        "batch=1 codebooks=1 V=32000 temperature=0.7 top_k=50 top_p=0.95",
        "batch=5 codebooks=3 V=97 temperature=0 seed=3",
        "batch=4 codebooks=2 V=300 top_k=1 seed=4",
        "batch=16 codebooks=8 V=64 temperature=2 top_k=0 spread=0.5 seed=5",
        "batch=7 codebooks=2 V=500 temperature=0.5 top_k=400 top_p=0.5 spread=8 seed=6",
        "batch=2 codebooks=2 V=10 temperature=1 top_k=20 spread=0 seed=7",
    };
    int ran = 0;
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++)
        ran += gu_case("sample.topk", specs[i], NULL);
    assert_true(ran >= (int)(sizeof specs / sizeof specs[0]));
}

/* The check: a far token, an index out of range and the poisoned -1 fail; a token on the
 * exact boundary of two equal weights (u = 1/2, V = 2, equal logits) passes either way. */
static void check_faults_and_ties(void **state)
{
    (void)state;
    const sono_op *op = sono_op_find("sample.topk");
    sono_params p = gu_params("sample.topk", "batch=4 codebooks=2 V=50 temperature=0.3");
    sono_buf in, out, ref;
    sono_error err = {0};
    op->shapes(&p, &in, &out);
    ref = out;
    assert_int_equal(sono_buf_alloc(&in, NULL), 0);
    assert_int_equal(sono_buf_alloc(&out, NULL), 0);
    assert_int_equal(sono_buf_alloc(&ref, NULL), 0);
    assert_int_equal(op->input(&p, NULL, 0, &in, &err), 0);
    assert_int_equal(op->reference(&p, &in, &ref, &err), 0);
    double tol = op->tolerance(&p, SONO_ERR_LINEAR);
    int32_t *o = out.data, *r = ref.data;
    const float *l = in.data;
    sono_check c;
    memcpy(o, r, 8 * sizeof *o);
    memset(&c, 0, sizeof c);
    assert_int_equal(op->check(&p, &in, &out, &ref, tol, &c, &err), 0);
    assert_true(c.pass);
    assert_int_equal(c.mismatches, 0);
    /* row 5's least likely class: its weight is far below any rounding */
    long long lo = 0;
    for (long long v = 1; v < 50; v++)
        if (l[5 * 50 + v] < l[5 * 50 + lo])
            lo = v;
    o[5] = (int32_t)lo;
    memset(&c, 0, sizeof c);
    assert_int_equal(op->check(&p, &in, &out, &ref, tol, &c, &err), 0);
    assert_false(c.pass);
    assert_int_equal(c.mismatches, 1);
    o[5] = 50;
    memset(&c, 0, sizeof c);
    assert_int_equal(op->check(&p, &in, &out, &ref, tol, &c, &err), 0);
    assert_false(c.pass);
    sono_lifecycle_poison(&out);
    memset(&c, 0, sizeof c);
    assert_int_equal(op->check(&p, &in, &out, &ref, tol, &c, &err), 0);
    assert_false(c.pass);
    sono_buf_free(&in);
    sono_buf_free(&out);
    sono_buf_free(&ref);

    /* the exact tie: cum = {1/2, 1}, target 1/2; the rule picks class 1 (first cum > 1/2),
     * class 0 is within 0 of its interval; at u = 0.9 class 0 is 0.4 away: rejected */
    const float two[2] = {0.25f, 0.25f};
    sono_sample64_cfg cfg = {1.0, 1.0, 0};
    sono_sample64_ws *w = sono_sample64_ws_new(2);
    double g;
    assert_int_equal(sono_sample64_row(w, two, 2, &cfg, 0.5), 1);
    assert_true(sono_sample64_accept(w, two, 2, &cfg, 0.5, 0, tol, &g));
    assert_true(g == 0);
    assert_false(sono_sample64_accept(w, two, 2, &cfg, 0.9, 0, tol, &g));
    assert_true(g > tol);
    /* argmax rows are exact */
    cfg.temperature = 0;
    const float three[3] = {1, 3, 3};
    assert_int_equal(sono_sample64_row(w, three, 3, &cfg, 0.5), 1);
    assert_false(sono_sample64_accept(w, three, 3, &cfg, 0.5, 2, tol, &g));
    sono_sample64_ws_free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(philox_known_answers),
        cmocka_unit_test(sample_distribution),
        cmocka_unit_test(impls_random_small),
        cmocka_unit_test(check_faults_and_ties),
    };
    return cmocka_run_group_tests(tests, gu_setup, gu_teardown);
}
