/* test_attention.c — the float64 reference of attention (through the op) against what the
 * definition forces: equal scores give the mean of V (of the visible prefix under the
 * causal mask), the first causal row is V's first row, a score shift common to a row
 * changes nothing, a two-key case by hand; then the cost model, the refused sizes, the
 * seeded input, and the tolerance: a float32 attention written here passes it, one that
 * drops a key or lets a query see the next key fails it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "check.h"
#include "input.h"
#include "op.h"
#include "params.h"

static uint64_t at_seed = 0xabcdefull;

/* splitmix64: a multiple of 1/64 in [-2, 2), exact in float and under small sums */
static float at_rand(void)
{
    uint64_t z = (at_seed += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return (float)((double)(z >> 57) / 32.0 - 2.0);
}

static sono_params at_params(long long seq, long long heads, long long d, int causal)
{
    const sono_op *op = sono_op_find("attention");
    assert_non_null(op);
    sono_params p = {0};
    char v[4][32];
    snprintf(v[0], 32, "%lld", seq);
    snprintf(v[1], 32, "%lld", heads);
    snprintf(v[2], 32, "%lld", d);
    snprintf(v[3], 32, "%d", causal);
    static const char *const names[] = {"seq", "heads", "head_dim", "causal"};
    for (int i = 0; i < 4; i++) {
        sono_error err = {0};
        assert_int_equal(sono_param_parse(sono_op_param(op, names[i]), v[i], &p.v[p.count++],
                                          &err), 0);
    }
    sono_params_defaults(op, &p);
    return p;
}

/* The reference on [Q | K | V]; a malloc'ed [heads, seq, d] array. */
static double *at_ref(const sono_params *p, const float *in)
{
    const sono_op *op = sono_op_find("attention");
    sono_buf bi, bo;
    op->shapes(p, &bi, &bo);
    bi.data = (void *)in;
    bo.dtype = SONO_F64;
    bo.data = malloc(sizeof(double) * (size_t)sono_buf_elems(&bo));
    assert_non_null(bo.data);
    sono_error err = {0};
    if (op->reference(p, &bi, &bo, &err))
        fail_msg("attention reference: %s", err.msg);
    return bo.data;
}

static float *at_random(long long n)
{
    float *v = malloc(sizeof(float) * (size_t)n);
    assert_non_null(v);
    for (long long i = 0; i < n; i++)
        v[i] = at_rand();
    return v;
}

/* Q = 0: every score is 0, softmax is uniform, O[i] = mean of V over the keys i sees. */
static void uniform_scores_mean_of_v(void **state)
{
    (void)state;
    const long long seq = 9, heads = 2, d = 5, n = heads * seq * d;
    for (int causal = 0; causal <= 1; causal++) {
        float *in = at_random(3 * n);
        memset(in, 0, sizeof(float) * (size_t)n);
        sono_params p = at_params(seq, heads, d, causal);
        double *o = at_ref(&p, in);
        const float *V = in + 2 * n;
        for (long long h = 0; h < heads; h++)
            for (long long i = 0; i < seq; i++)
                for (long long c = 0; c < d; c++) {
                    long long nk = causal ? i + 1 : seq;
                    double mean = 0;
                    for (long long j = 0; j < nk; j++)
                        mean += V[(h * seq + j) * d + c];
                    mean /= (double)nk;
                    assert_true(fabs(o[(h * seq + i) * d + c] - mean) < 1e-14);
                }
        free(in);
        free(o);
        sono_params_free(&p);
    }
}

/* Under the causal mask query 0 sees key 0 alone: its weight is 1, O[0] = V[0]; without
 * the mask it is a mixture. */
static void causal_first_row_is_v0(void **state)
{
    (void)state;
    const long long seq = 16, heads = 3, d = 8, n = heads * seq * d;
    float *in = at_random(3 * n);
    sono_params pc = at_params(seq, heads, d, 1), pn = at_params(seq, heads, d, 0);
    double *oc = at_ref(&pc, in), *on = at_ref(&pn, in);
    const float *V = in + 2 * n;
    double diff = 0;
    for (long long h = 0; h < heads; h++)
        for (long long c = 0; c < d; c++) {
            assert_true(oc[h * seq * d + c] == V[h * seq * d + c]);
            diff += fabs(on[h * seq * d + c] - V[h * seq * d + c]);
        }
    assert_true(diff > 0.1);
    /* and the last causal row sees every key, as the unmasked one does */
    for (long long h = 0; h < heads; h++)
        for (long long c = 0; c < d; c++) {
            long long k = (h * seq + seq - 1) * d + c;
            assert_true(fabs(oc[k] - on[k]) < 1e-14);
        }
    free(in);
    free(oc);
    free(on);
    sono_params_free(&pc);
    sono_params_free(&pn);
}

/* K[j] + u for every key j adds q.u/sqrt(d) to every score of row q: softmax ignores it. */
static void softmax_shift_invariant(void **state)
{
    (void)state;
    const long long seq = 20, heads = 2, d = 4, n = heads * seq * d;
    for (int causal = 0; causal <= 1; causal++) {
        float *in = at_random(3 * n);
        sono_params p = at_params(seq, heads, d, causal);
        double *o1 = at_ref(&p, in);
        float u[4] = {1.5f, -0.75f, 3.0f, 0.25f};
        for (long long h = 0; h < heads; h++)
            for (long long j = 0; j < seq; j++)
                for (long long c = 0; c < d; c++)
                    in[n + (h * seq + j) * d + c] += u[c]; /* exact: multiples of 1/64 */
        double *o2 = at_ref(&p, in);
        double worst = 0;
        for (long long i = 0; i < n; i++)
            worst = fmax(worst, fabs(o1[i] - o2[i]));
        assert_true(worst < 1e-12);
        free(in);
        free(o1);
        free(o2);
        sono_params_free(&p);
    }
}

/* d = 1, seq = 2, q = ln 3 for both queries, k = [0, 1]: scores 0 and ln 3, weights 1/4
 * and 3/4; V = [4, 8]: O = 1 + 6 = 7 (the non-causal rows), causal row 0 = 4. q is ln 3
 * rounded to float, so the expected values carry that rounding (1e-7). */
static void two_keys_by_hand(void **state)
{
    (void)state;
    float in[] = {1.0986123f, 1.0986123f, /* K */ 0, 1, /* V */ 4, 8};
    sono_params p = at_params(2, 1, 1, 0), pc = at_params(2, 1, 1, 1);
    double *o = at_ref(&p, in), *oc = at_ref(&pc, in);
    assert_true(fabs(o[0] - 7) < 1e-6 && fabs(o[1] - 7) < 1e-6);
    assert_true(oc[0] == 4 && fabs(oc[1] - 7) < 1e-6);
    free(o);
    free(oc);
    sono_params_free(&p);
    sono_params_free(&pc);
}

static void cost_and_limits(void **state)
{
    (void)state;
    const sono_op *op = sono_op_find("attention");
    sono_params p = at_params(2048, 8, 64, 0), pc = at_params(2048, 8, 64, 1);
    sono_cost c;
    op->cost(&p, &c);
    assert_true(c.flops == 4.0 * 8 * 2048.0 * 2048 * 64);
    assert_true(c.bytes == 4.0 * 4 * 8 * 2048 * 64);
    op->cost(&pc, &c);
    assert_true(c.flops == 4.0 * 8 * 64 * (2048.0 * 2049 / 2));
    sono_error err = {0};
    assert_int_equal(op->validate(&p, &err), 0);
    sono_params big = at_params(16384, 8, 128, 0);
    assert_int_equal(op->validate(&big, &err), SONO_EINVAL);
    assert_non_null(strstr(err.msg, "heads"));
    sono_params_free(&p);
    sono_params_free(&pc);
    sono_params_free(&big);
}

/* The seeded Q, K, V: the same for any input spec, mean ~0 and variance ~1. */
static void seeded_input(void **state)
{
    (void)state;
    const sono_op *op = sono_op_find("attention");
    sono_params p = at_params(256, 4, 64, 0);
    sono_buf a, b, out;
    op->shapes(&p, &a, &out);
    b = a;
    sono_error err = {0};
    assert_int_equal(sono_buf_alloc(&a, &err), 0);
    assert_int_equal(sono_buf_alloc(&b, &err), 0);
    sono_input_spec s1, s2;
    assert_int_equal(sono_input_parse("noise", NULL, &s1, &err), 0);
    assert_int_equal(sono_input_parse("silence", NULL, &s2, &err), 0);
    assert_int_equal(op->input(&p, &s1, 48000, &a, &err), 0);
    assert_int_equal(op->input(&p, &s2, 16000, &b, &err), 0);
    assert_memory_equal(a.data, b.data, a.nbytes);
    const float *v = a.data;
    long long n = sono_buf_elems(&a);
    double m = 0, m2 = 0;
    for (long long i = 0; i < n; i++) {
        m += v[i];
        m2 += (double)v[i] * v[i];
    }
    m /= (double)n;
    m2 /= (double)n;
    assert_true(fabs(m) < 0.01);          /* 196608 draws: sd of the mean 0.0023 */
    assert_true(fabs(m2 - 1) < 0.02);
    sono_buf_free(&a);
    sono_buf_free(&b);
    sono_params_free(&p);
}

/* float32 attention by definition; skip: a key left out of every row (-1: none);
 * peek: 1 lets causal row i see key i+1. */
static void at_float(const float *in, long long seq, long long heads, long long d, int causal,
                     long long skip, int peek, float *o)
{
    long long n = heads * seq * d;
    const float *Q = in, *K = in + n, *V = in + 2 * n;
    float *s = malloc(sizeof(float) * (size_t)seq);
    assert_non_null(s);
    for (long long h = 0; h < heads; h++)
        for (long long i = 0; i < seq; i++) {
            long long nk = causal ? i + 1 + peek : seq;
            nk = nk > seq ? seq : nk;
            float m = -INFINITY, sum = 0;
            for (long long j = 0; j < nk; j++) {
                float acc = 0;
                for (long long c = 0; c < d; c++)
                    acc += Q[(h * seq + i) * d + c] * K[(h * seq + j) * d + c];
                s[j] = j == skip ? -INFINITY : acc / sqrtf((float)d);
                m = s[j] > m ? s[j] : m;
            }
            for (long long j = 0; j < nk; j++)
                sum += (s[j] = expf(s[j] - m));
            for (long long c = 0; c < d; c++) {
                float acc = 0;
                for (long long j = 0; j < nk; j++)
                    acc += s[j] * V[(h * seq + j) * d + c];
                o[(h * seq + i) * d + c] = acc / sum;
            }
        }
    free(s);
}

static void tolerance_separates(void **state)
{
    (void)state;
    const sono_op *op = sono_op_find("attention");
    const long long seq = 512, heads = 2, d = 64, n = heads * seq * d;
    sono_params p = at_params(seq, heads, d, 1);
    sono_buf in, out;
    op->shapes(&p, &in, &out);
    sono_error err = {0};
    sono_input_spec spec;
    assert_int_equal(sono_input_parse("noise", NULL, &spec, &err), 0);
    assert_int_equal(sono_buf_alloc(&in, &err), 0);
    assert_int_equal(op->input(&p, &spec, 48000, &in, &err), 0);
    double *ref = at_ref(&p, in.data);
    float *o = malloc(sizeof(float) * (size_t)n);
    assert_non_null(o);
    double tol = op->tolerance(&p, SONO_ERR_LINEAR);
    sono_buf bo = {.dtype = SONO_F32, .ndim = 1, .shape = {n}, .data = o};
    sono_buf br = {.dtype = SONO_F64, .ndim = 1, .shape = {n}, .data = ref};
    sono_check c;
    at_float(in.data, seq, heads, d, 1, -1, 0, o);
    assert_int_equal(sono_check_output(&bo, &br, tol, &c, &err), 0);
    assert_true(c.pass && c.rel_l2 * 10 < tol);
    at_float(in.data, seq, heads, d, 1, 300, 0, o); /* one key of 512 dropped */
    assert_int_equal(sono_check_output(&bo, &br, tol, &c, &err), 0);
    assert_false(c.pass);
    at_float(in.data, seq, heads, d, 1, -1, 1, o); /* the mask off by one */
    assert_int_equal(sono_check_output(&bo, &br, tol, &c, &err), 0);
    assert_false(c.pass);
    assert_true(c.rel_l2 > 100 * tol);
    free(o);
    free(ref);
    sono_buf_free(&in);
    sono_params_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(uniform_scores_mean_of_v),
        cmocka_unit_test(causal_first_row_is_v0),
        cmocka_unit_test(softmax_shift_invariant),
        cmocka_unit_test(two_keys_by_hand),
        cmocka_unit_test(cost_and_limits),
        cmocka_unit_test(seeded_input),
        cmocka_unit_test(tolerance_separates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
