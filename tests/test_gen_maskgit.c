/* test_gen_maskgit.c — issue 25's maskgit.step and maskgit.decode: the cosine schedule and
 * an iteration worked by hand, every impl against the reference on random small cases
 * (decode checked iteration by iteration along the impl's own path), and the checks
 * failing planted faults (a wrong count re-masked, a confident frame re-masked in place of
 * a doubtful one, an impossible token, a change to a level not being decoded, a corrupted
 * snapshot of decode). */
#include "gen_util.h"
#include "maskgit64.h"

static void schedule_by_hand(void **state)
{
    (void)state;
    /* floor(100 cos(pi/32)) = floor(99.52) = 99, at most masked - 1 */
    assert_int_equal(sono_maskgit64_nmask(100, 100, 0, 16), 99);
    assert_int_equal(sono_maskgit64_nmask(100, 5, 0, 16), 4);
    /* t = 7 of 16: floor(100 cos(pi/4)) = 70 */
    assert_int_equal(sono_maskgit64_nmask(100, 100, 7, 16), 70);
    /* the last iteration decodes everything; one iteration is the last */
    assert_int_equal(sono_maskgit64_nmask(100, 100, 15, 16), 0);
    assert_int_equal(sono_maskgit64_nmask(100, 100, 0, 1), 0);
    assert_int_equal(sono_maskgit64_nmask(100, 0, 3, 16), 0);
}

/* L 1, F 3, V 2, argmax, 2 iterations. Logits f0 {2, 0}: token 0, confidence e^2/(e^2+1)
 * = 0.88; f1 {0, 0.5}: token 1, 0.62; f2 {0, 3}: token 1, 0.95. t = 0: nmask =
 * floor(3 cos(pi/4)) = 2: f1 and f0 masked again, f2 kept. t = 1: nmask 0: f0 and f1 decoded. */
static void step_by_hand(void **state)
{
    (void)state;
    const float lg[6] = {2, 0, 0, 0.5f, 0, 3};
    int32_t prev[3] = {SONO_MASK, SONO_MASK, SONO_MASK}, next[3];
    assert_int_equal(sono_maskgit64_step(prev, 1, 3, 2, 0, 0, 2, 0.0, 1, lg, next), 0);
    assert_int_equal(next[0], SONO_MASK);
    assert_int_equal(next[1], SONO_MASK);
    assert_int_equal(next[2], 1);
    int32_t last[3];
    assert_int_equal(sono_maskgit64_step(next, 1, 3, 2, 0, 1, 2, 0.0, 1, lg, last), 0);
    assert_int_equal(last[0], 0);
    assert_int_equal(last[1], 1);
    assert_int_equal(last[2], 1);
    /* the checks of both pass, and fail a confident frame re-masked for a doubtful one */
    long long differ = 0;
    double worst = 0;
    char why[160];
    double tol = 0x1p-23;
    assert_int_equal(sono_maskgit64_check_step(prev, 1, 3, 2, 0, 0, 2, 0.0, 1, lg, NULL, next,
                                               tol, &differ, &worst, why, sizeof why), 0);
    assert_int_equal(sono_maskgit64_check_step(next, 1, 3, 2, 0, 1, 2, 0.0, 1, lg, NULL, last,
                                               tol, &differ, &worst, why, sizeof why), 0);
    int32_t swap[3] = {SONO_MASK, 1, SONO_MASK};
    assert_true(sono_maskgit64_check_step(prev, 1, 3, 2, 0, 0, 2, 0.0, 1, lg, NULL, swap, tol,
                                          &differ, &worst, why, sizeof why) > 0);
    assert_non_null(strstr(why, "confidence"));
    int32_t count[3] = {SONO_MASK, 1, 1};
    assert_true(sono_maskgit64_check_step(prev, 1, 3, 2, 0, 0, 2, 0.0, 1, lg, NULL, count,
                                          tol, &differ, &worst, why, sizeof why) > 0);
    int32_t wrong[3] = {SONO_MASK, SONO_MASK, 0}; /* argmax of f2 is 1 */
    assert_true(sono_maskgit64_check_step(prev, 1, 3, 2, 0, 0, 2, 0.0, 1, lg, NULL, wrong,
                                          tol, &differ, &worst, why, sizeof why) > 0);
}

static void impls_random_small(void **state)
{
    (void)state;
    const char *steps[] = {
        "levels=4 frames=100 K=64",
        "levels=4 frames=100 K=64 iter=7 seed=2",
        "levels=3 frames=37 K=300 level=2 iters=1 seed=3",
        "levels=8 frames=64 K=1024 level=1 iter=2 iters=4 temperature=0 seed=4",
        "levels=2 frames=200 K=16 iter=15 temperature=0.7 spread=0.3 seed=5",
    };
    const char *decodes[] = {
        "levels=3 frames=60 K=64 d=16 iters0=8",
        "levels=4 frames=50 K=256 d=32 iters0=16 temperature=0.8 temperature_rest=0.5 seed=2",
        "levels=2 frames=20 K=32 d=8 iters0=4 iters_rest=3 temperature_rest=1 seed=3",
        /* blas/gemm's pool: lanes share the frames (80 over 2; 37 over 3, 13 13 11) */
        "levels=3 frames=80 K=128 d=24 iters0=6 threads=2 seed=4",
        "levels=2 frames=37 K=64 d=16 iters0=5 iters_rest=2 threads=3 seed=6",
    };
    int ran = 0;
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
        ran += gu_case("maskgit.step", steps[i], NULL);
    assert_true(ran >= (int)(sizeof steps / sizeof steps[0]));
    ran = 0;
    for (size_t i = 0; i < sizeof decodes / sizeof decodes[0]; i++)
        ran += gu_case("maskgit.decode", decodes[i], NULL);
    assert_true(ran >= 2 * (int)(sizeof decodes / sizeof decodes[0]) - 2); /* naive: 1 */
}

/* maskgit.step's op check on its own reference, then planted faults; decode's likewise. */
static void op_checks_fail_faults(void **state)
{
    (void)state;
    const char *opn[2] = {"maskgit.step", "maskgit.decode"};
    const char *spec[2] = {"levels=3 frames=50 K=64 level=1 iter=3 iters=8",
                           "levels=3 frames=40 K=64 d=16 iters0=6"};
    for (int o = 0; o < 2; o++) {
        const sono_op *op = sono_op_find(opn[o]);
        sono_params p = gu_params(opn[o], spec[o]);
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
        int32_t *w = out.data;
        const int32_t *r = ref.data;
        size_t n = (size_t)sono_buf_elems(&out);
        sono_check c;
        memcpy(w, r, n * sizeof *w);
        memset(&c, 0, sizeof c);
        assert_int_equal(op->check(&p, &in, &out, &ref, tol, &c, &err), 0);
        if (!c.pass)
            fail_msg("%s: its own reference fails: %s", opn[o], c.detail);
        /* a level-0 token changed (level 0 is decoded before step's level 1; in decode's
         * last snapshot level 0 is long decoded) */
        size_t at = o ? n - 3 * 40 + 7 : 7;
        w[at] = (w[at] + 1) % 64;
        memset(&c, 0, sizeof c);
        assert_int_equal(op->check(&p, &in, &out, &ref, tol, &c, &err), 0);
        assert_false(c.pass);
        memcpy(w, r, n * sizeof *w);
        /* one more frame masked at the level being decoded (step: level 1; decode: the
         * first snapshot, level 0) */
        size_t base = o ? 0 : 50;
        size_t f = 0;
        while (f < 40 && w[base + f] == SONO_MASK)
            f++;
        assert_true(f < 40);
        w[base + f] = SONO_MASK;
        memset(&c, 0, sizeof c);
        assert_int_equal(op->check(&p, &in, &out, &ref, tol, &c, &err), 0);
        assert_false(c.pass);
        sono_lifecycle_poison(&out); /* -1 everywhere: all masked */
        memset(&c, 0, sizeof c);
        assert_int_equal(op->check(&p, &in, &out, &ref, tol, &c, &err), 0);
        assert_false(c.pass);
        sono_buf_free(&in);
        sono_buf_free(&out);
        sono_buf_free(&ref);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(schedule_by_hand),
        cmocka_unit_test(step_by_hand),
        cmocka_unit_test(impls_random_small),
        cmocka_unit_test(op_checks_fail_faults),
    };
    return cmocka_run_group_tests(tests, gu_setup, gu_teardown);
}
