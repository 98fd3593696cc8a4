/* test_stream_generation.c — issue 25's streams: vocoder.hifigan pushed by mel chunks and
 * wavenet.stack one sample (or a few) at a time. Over random chunks (1 step, up to a few,
 * past the impls' offline rounds of 32 frames) the streamed output equals the offline one
 * bit for bit on cpu/naive (both ops) and blas/hifigan (its GEMMs on tiles aligned to
 * absolute steps), within the op's tolerance on blas/wavenet (SGEMM offline, SGEMV per
 * sample), and all pass the float64 reference; HiFi-GAN's rings do not grow with the signal (only the waveform
 * kept for store does); one frame per push completes at most 256 samples until the end's
 * flush, and every sample is out by then. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "stream_util.h"

static const char *const hg_impls[] = {"cpu/naive", "blas/hifigan"};
static const char *const wv_impls[] = {"cpu/naive", "blas/wavenet"};

/* exact: how many of the nimpl impls (from the first) must stream bit for bit */
static void compare(const char *opname, const char *const *impls, size_t nimpl, size_t exact,
                    const char *const *kv, long long frame, const long long *chunks,
                    uint64_t seeds)
{
    const sono_op *op = sono_op_find(opname);
    sono_params p = su_params(opname, kv);
    sono_buf in, out;
    su_input(op, &p, &in, &out);
    double *ref = su_reference(op, &p, &in, &out);
    long long n = sono_buf_elems(&out);
    for (size_t m = 0; m < nimpl; m++) {
        const sono_impl_entry *e = su_find(opname, impls[m]);
        double tol = op->tolerance(&p, e->impl->growth);
        su_offline(e, &p, &in, &out);
        double off = su_rel_l2(out.data, ref, n);
        if (off > tol || !(off > 0))
            fail_msg("%s %s offline: rel L2 %g (tol %g)", opname, impls[m], off, tol);
        for (uint64_t seed = 1; seed <= seeds; seed++) {
            su_stream_info info;
            float *got = su_stream(e, &p, &in, &out, seed, frame, chunks, &info);
            double diff = su_maxdiff(got, out.data, n), rel = su_rel_l2(got, ref, n);
            if ((m < exact && diff != 0) || rel > tol || diff == INFINITY)
                fail_msg("%s %s seed %d: streamed vs offline max diff %g, vs the reference "
                         "rel L2 %g (tol %g)", opname, impls[m], (int)seed, diff, rel, tol);
            if (seed == 1)
                print_message("%s %s: %d pushes, stream vs offline max diff %g\n", opname,
                              impls[m], info.pushes, diff);
            free(got);
        }
    }
    free(ref);
    sono_buf_free(&in);
    sono_buf_free(&out);
    sono_params_free(&p);
}

static void hifigan_stream_equals_offline(void **state)
{
    (void)state;
    const char *kv[] = {"config=custom", "channels=16", "frames=75", NULL};
    compare("vocoder.hifigan", hg_impls, 2, 2, kv, 12, NULL, 3);
    /* chunks that straddle the offline rounds of 32 frames */
    const long long odd[8] = {31, 1, 33, 2, 5, 40, 3, 7};
    compare("vocoder.hifigan", hg_impls, 2, 2, kv, 1, odd, 1);
    /* blas/hifigan's pool: 3 lanes split the early layers by rows (fill rows, then GEMM
     * rows cut at multiples of 16) and hand the late ones whole tiles; both fixed per
     * layer, so a stream still matches offline bit for bit */
    const char *th[] = {"config=custom", "channels=64", "frames=75", "threads=3", NULL};
    compare("vocoder.hifigan", hg_impls + 1, 1, 1, th, 12, NULL, 2);
    compare("vocoder.hifigan", hg_impls + 1, 1, 1, th, 1, odd, 1);
}

static void wavenet_stream_equals_offline(void **state)
{
    (void)state;
    const char *plain[] = {"channels=8", "stacks=2", "cycle=5", "seconds=0.01", NULL};
    compare("wavenet.stack", wv_impls, 2, 1, plain, 8, NULL, 3);
    const char *cond[] = {"channels=8", "skip=6", "stacks=1", "cycle=6", "cond=3",
                          "seconds=0.02", NULL};
    compare("wavenet.stack", wv_impls, 2, 1, cond, 40, NULL, 2);
}

/* One frame per push: the look-ahead holds samples back, never more than a frame's 256
 * arrive per push before the final flush. */
static void hifigan_one_frame_per_push(void **state)
{
    (void)state;
    const long long ones[8] = {1, 1, 1, 1, 1, 1, 1, 1};
    const char *kv[] = {"config=custom", "channels=16", "frames=30", NULL};
    sono_params p = su_params("vocoder.hifigan", kv);
    const sono_op *op = sono_op_find("vocoder.hifigan");
    sono_buf in, out;
    su_input(op, &p, &in, &out);
    for (size_t m = 0; m < 2; m++) {
        su_stream_info info;
        float *got = su_stream(su_find("vocoder.hifigan", hg_impls[m]), &p, &in, &out, 0, 1,
                               ones, &info);
        assert_int_equal(info.pushes, 30);
        /* the last push flushes what the look-ahead held: at most the look-ahead's
         * frames plus its own */
        assert_true(info.max_done_jump <= 256 * 15);
        free(got);
    }
    sono_buf_free(&in);
    sono_buf_free(&out);
    sono_params_free(&p);
}

/* The rings are sized by the round, not the signal: two lengths (both past every ring's
 * size, so no ring is cut to its layer's length) differ in workspace only by the waveform
 * kept for store (4 bytes a sample). */
static void hifigan_state_does_not_grow(void **state)
{
    (void)state;
    const sono_op *op = sono_op_find("vocoder.hifigan");
    for (size_t m = 0; m < 2; m++) {
        size_t ws[2];
        const char *lens[2] = {"frames=600", "frames=1200"};
        for (int i = 0; i < 2; i++) {
            const char *kv[] = {"config=custom", "channels=16", lens[i], NULL};
            sono_params p = su_params("vocoder.hifigan", kv);
            sono_buf in, out;
            su_input(op, &p, &in, &out);
            ws[i] = su_offline(su_find("vocoder.hifigan", hg_impls[m]), &p, &in, &out);
            sono_buf_free(&in);
            sono_buf_free(&out);
            sono_params_free(&p);
        }
        assert_int_equal(ws[1] - ws[0], 600 * 256 * 4);
    }
}

static void stream_shapes(void **state)
{
    (void)state;
    sono_error err = {0};
    sono_stream_shape s;
    const char *kv[] = {"config=custom", "channels=16", "frames=20", NULL};
    sono_params p = su_params("vocoder.hifigan", kv);
    assert_int_equal(sono_op_find("vocoder.hifigan")->stream_shape(&p, &s, &err), 0);
    assert_int_equal(s.in.outer, 80);
    assert_int_equal(s.in.steps, 20);
    assert_int_equal(s.out.steps, 20 * 256);
    /* look-ahead by hand: conv_pre 3 frames (768 samples); per stage the transposed
     * conv's pad (4, 4, 1, 1) and the k 11 resblock's 5 (1 + 3 + 5) + 3 * 5 = 60, at 32,
     * 4, 2, 1 samples a step; conv_post 3 */
    double la = 768 + 64 * 32 + 64 * 4 + 61 * 2 + 61 + 3;
    assert_true(fabs(s.algo_latency_s - la / 22050.0) < 1e-12);
    sono_params_free(&p);
    const char *wk[] = {"channels=8", "cond=2", "seconds=0.5", NULL};
    p = su_params("wavenet.stack", wk);
    assert_int_equal(sono_op_find("wavenet.stack")->stream_shape(&p, &s, &err), 0);
    assert_int_equal(s.in.outer, 3);
    assert_int_equal(s.in.steps, 8000);
    assert_int_equal(s.out.outer, 8);
    assert_true(s.step_rate == 16000);
    sono_params_free(&p);
}

int main(void)
{
    char tmpl[] = "/tmp/sono-gen-XXXXXX";
    if (!mkdtemp(tmpl))
        return 1;
    setenv("XDG_CACHE_HOME", tmpl, 1); /* the random HiFi-GAN weights */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hifigan_stream_equals_offline),
        cmocka_unit_test(wavenet_stream_equals_offline),
        cmocka_unit_test(hifigan_one_frame_per_push),
        cmocka_unit_test(hifigan_state_does_not_grow),
        cmocka_unit_test(stream_shapes),
    };
    int rc = cmocka_run_group_tests(tests, su_setup, su_teardown);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpl);
    if (system(cmd) != 0)
        rc = rc ? rc : 1;
    return rc;
}
