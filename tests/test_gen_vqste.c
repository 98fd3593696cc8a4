/* test_gen_vqste.c — issue 25's vq.ste: the reference's gradients (dx, de) against central
 * finite differences of its float64 loss with the stop-gradients held; a step worked by
 * hand (codes, losses, dx, de, the EMA update with smoothing, a dead code's restart); every
 * impl against the reference on random small cases; the check failing planted faults. */
#include "gen_util.h"
#include "sample64.h"
#include "vqste64.h"

static void grads_vs_finite_differences(void **state)
{
    (void)state;
    const sono_op *op = sono_op_find("vq.ste");
    sono_params p = gu_params("vq.ste", "K=5 D=3 N=7 beta=0.3 seed=11");
    sono_vqste64_cfg c = {.K = 5, .D = 3, .N = 7, .beta = 0.3, .decay = 0.99, .eps = 1e-5,
                          .dead = 2, .seed = 11};
    sono_buf in, out;
    sono_error err = {0};
    op->shapes(&p, &in, &out);
    assert_int_equal(sono_buf_alloc(&in, NULL), 0);
    assert_int_equal(op->input(&p, NULL, 0, &in, &err), 0);
    const float *f = in.data;
    sono_vqste64_at a = sono_vqste64_layout(&c);
    int32_t codes[7];
    double ref[200], x[21], e[15], xs[21], es[15];
    assert_true(a.total <= 200);
    sono_vqste64_codes(f, &c, codes);
    assert_true(sono_vqste64_step(f, &c, codes, ref, NULL, NULL) >= 0);
    for (int i = 0; i < 15; i++)
        e[i] = es[i] = f[i];
    const float *fx = f + 2 * 15 + 5, *g = fx + 21;
    for (int i = 0; i < 21; i++)
        x[i] = xs[i] = fx[i];
    /* L is quadratic in x and e: a central difference has no truncation error, only the
     * rounding of L (|L| < 10 here) over 2h: 10 * 2^-52 / 1e-4 ~ 2e-11 */
    const double h = 1e-4, tol = 1e-9;
    double worst = 0;
    for (int i = 0; i < 21; i++) {
        double x0 = x[i];
        x[i] = x0 + h;
        double lp = sono_vqste64_loss(x, e, xs, es, g, codes, &c);
        x[i] = x0 - h;
        double lm = sono_vqste64_loss(x, e, xs, es, g, codes, &c);
        x[i] = x0;
        double d = fabs((lp - lm) / (2 * h) - ref[a.dx + i]);
        worst = d > worst ? d : worst;
    }
    for (int i = 0; i < 15; i++) {
        double e0 = e[i];
        e[i] = e0 + h;
        double lp = sono_vqste64_loss(x, e, xs, es, g, codes, &c);
        e[i] = e0 - h;
        double lm = sono_vqste64_loss(x, e, xs, es, g, codes, &c);
        e[i] = e0;
        double d = fabs((lp - lm) / (2 * h) - ref[a.de + i]);
        worst = d > worst ? d : worst;
    }
    if (worst > tol)
        fail_msg("gradient off its finite difference by %.3g", worst);
    /* the gradients are not trivially zero: the commitment and codebook terms are there */
    double dsum = 0;
    for (int i = 0; i < 15; i++)
        dsum += fabs(ref[a.de + i]);
    assert_true(dsum > 1e-3);
    sono_buf_free(&in);
}

/* K 2, D 1, N 3: e = {0, 10}, counts {1, 5}, sums {0, 50}, x = {1, 2, 9}, g = 0, decay 1/2,
 * eps 0, beta 1/4. Codes {0, 0, 1}; errors x - q = {1, 2, -1}: mean square 2, commitment
 * 1/2; dx = 2 (1/4) (x - q) / 3; de_0 = 2 (2 * 0 - 3) / 3 = -2, de_1 = 2 (10 - 9) / 3; new
 * counts {1/2 + 1, 5/2 + 1/2} = {3/2, 3}, sums {0 + 3/2, 25 + 9/2}: rows {1, 29.5 / 3}.
 * With dead = 2 code 0 (count 3/2) restarts at x[Philox(seed, (0, 0, 1)) mod 3]. */
static void step_by_hand(void **state)
{
    (void)state;
    const float in[] = {0, 10, /* e */ 1, 5, /* counts */ 0, 50, /* sums */
                        1, 2, 9, /* x */ 0, 0, 0 /* g */};
    sono_vqste64_cfg c = {.K = 2, .D = 1, .N = 3, .beta = 0.25, .decay = 0.5, .eps = 0,
                          .dead = 1, .seed = 5};
    int32_t codes[3];
    double o[32], cnt[2];
    sono_vqste64_at a = sono_vqste64_layout(&c);
    sono_vqste64_codes(in, &c, codes);
    assert_int_equal(codes[0], 0);
    assert_int_equal(codes[1], 0);
    assert_int_equal(codes[2], 1);
    assert_int_equal(sono_vqste64_step(in, &c, codes, o, cnt, NULL), 0);
    const double q[3] = {0, 0, 10}, dx[3] = {0.5 / 3, 1.0 / 3, -0.5 / 3};
    for (int i = 0; i < 3; i++) {
        assert_true(o[a.codes + i] == codes[i]);
        assert_true(fabs(o[a.q + i] - q[i]) < 1e-15);
        assert_true(fabs(o[a.dx + i] - dx[i]) < 1e-15);
    }
    assert_true(fabs(o[a.losses] - 2) < 1e-15);
    assert_true(fabs(o[a.losses + 1] - 0.5) < 1e-15);
    assert_true(fabs(o[a.de] + 2) < 1e-15);
    assert_true(fabs(o[a.de + 1] - 2.0 / 3) < 1e-15);
    assert_true(fabs(cnt[0] - 1.5) < 1e-15 && fabs(cnt[1] - 3) < 1e-15);
    assert_true(fabs(o[a.e_new] - 1) < 1e-15);
    assert_true(fabs(o[a.e_new + 1] - 29.5 / 3) < 1e-14);
    c.dead = 2;
    assert_int_equal(sono_vqste64_step(in, &c, codes, o, cnt, NULL), 1);
    uint32_t r = sono_philox64_u32(5, 0, 0, 1) % 3;
    assert_true(o[a.e_new] == in[6 + r]);
    assert_true(fabs(o[a.e_new + 1] - 29.5 / 3) < 1e-14);
}

static void impls_random_small(void **state)
{
    (void)state;
    const char *specs[] = {
        "K=64 D=16 N=300",
        "K=37 D=9 N=101 beta=1 decay=0.9 seed=2",
        "K=128 D=32 N=64 dead=0 seed=3",
        "K=16 D=4 N=2000 dead=50 seed=4",
        "K=1 D=1 N=1 seed=5",
        "K=256 D=128 N=600 seed=6",
        "K=64 D=16 N=600 threads=2 seed=7", /* blas/gemm's OpenBLAS threads; naive refuses */
    };
    int ran = 0;
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++)
        ran += gu_case("vq.ste", specs[i], NULL);
    assert_true(ran >= 2 * (int)(sizeof specs / sizeof specs[0]) - 1); /* naive and gemm */
}

/* The reference's own output passes; a far code, a code that is no integer, dx off by 1 % in
 * one element or 0.1 % in all, a NaN codeword and a loss off by 1 % fail. */
static void check_faults(void **state)
{
    (void)state;
    const sono_op *op = sono_op_find("vq.ste");
    sono_params p = gu_params("vq.ste", "K=32 D=8 N=200 seed=9");
    sono_vqste64_cfg c = {.K = 32, .D = 8, .N = 200};
    sono_vqste64_at a = sono_vqste64_layout(&c);
    sono_buf in, out, ref;
    sono_error err = {0};
    op->shapes(&p, &in, &out);
    ref = out;
    ref.dtype = SONO_F64;
    assert_int_equal(sono_buf_alloc(&in, NULL), 0);
    assert_int_equal(sono_buf_alloc(&out, NULL), 0);
    assert_int_equal(sono_buf_alloc(&ref, NULL), 0);
    assert_int_equal(op->input(&p, NULL, 0, &in, &err), 0);
    assert_int_equal(op->reference(&p, &in, &ref, &err), 0);
    double tol = op->tolerance(&p, SONO_ERR_LINEAR);
    float *o = out.data;
    const double *r = ref.data;
    sono_check ck;
#define RESET() for (long long i = 0; i < a.total; i++) o[i] = (float)r[i]
#define RUN(want)                                                                            \
    do {                                                                                     \
        memset(&ck, 0, sizeof ck);                                                           \
        assert_int_equal(op->check(&p, &in, &out, &ref, tol, &ck, &err), 0);                 \
        if (ck.pass != (want))                                                               \
            fail_msg("expected %s: %s", (want) ? "pass" : "fail", ck.detail);                \
    } while (0)
    RESET();
    RUN(1);
    /* the farthest code of vector 3 */
    const float *e = in.data, *x = (const float *)in.data + 2 * 32 * 8 + 32 + 3 * 8;
    double far = -1;
    int fk = 0;
    for (int k = 0; k < 32; k++) {
        double d = 0;
        for (int j = 0; j < 8; j++)
            d += (x[j] - e[k * 8 + j]) * (x[j] - e[k * 8 + j]);
        if (d > far) {
            far = d;
            fk = k;
        }
    }
    o[a.codes + 3] = (float)fk;
    RUN(0);
    RESET();
    o[a.codes + 3] = 0.5f;
    RUN(0);
    RESET();
    o[a.dx + 17] *= 1.01f;
    RUN(0); /* one element of 1600 off by 1 %: a relative L2 of 2.5e-4, far past 8 units */
    RESET();
    for (long long i = 0; i < 200 * 8; i++)
        o[a.dx + i] *= 1.001f;
    RUN(0);
    RESET();
    o[a.e_new + 5] = NAN;
    RUN(0);
    RESET();
    o[a.losses + 1] *= 1.01f;
    RUN(0);
    sono_buf_free(&in);
    sono_buf_free(&out);
    sono_buf_free(&ref);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(grads_vs_finite_differences),
        cmocka_unit_test(step_by_hand),
        cmocka_unit_test(impls_random_small),
        cmocka_unit_test(check_faults),
    };
    return cmocka_run_group_tests(tests, gu_setup, gu_teardown);
}
