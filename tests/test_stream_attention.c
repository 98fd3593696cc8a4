/* test_stream_attention.c — issue 12's attention with a KV cache: causal attention streamed
 * token by token (cpu/naive, blas/gemm) equals the offline output over random chunks, with
 * and without a sliding window (the ring cache wraps many times); the window in the
 * float64 reference against a direct count; KV cache growth (rows done as tokens arrive,
 * none early); and attention.step against its reference, a two-key case by hand, and row L
 * of the attention op on the same data. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "stream_util.h"

static const char *const at_impls[] = {"cpu/naive", "blas/gemm"};

static sono_params at_p(long long seq, long long heads, long long d, long long window)
{
    char s[4][40];
    snprintf(s[0], 40, "seq=%lld", seq);
    snprintf(s[1], 40, "heads=%lld", heads);
    snprintf(s[2], 40, "head_dim=%lld", d);
    snprintf(s[3], 40, "window=%lld", window);
    const char *kv[] = {s[0], s[1], s[2], s[3], "causal=1", NULL};
    return su_params("attention", kv);
}

/* Streamed rows equal the offline rows: bit for bit on cpu/naive (one row kernel), within
 * the op's tolerance on blas/gemm (tiles offline, SGEMV rows streamed); both pass the
 * float64 reference, as the offline outputs do. Windows 0, 5 (the ring wraps every 5
 * tokens), 64 > seq, 300 over 600 tokens (whole tiles of keys out of the window). */
static void stream_equals_offline(void **state)
{
    (void)state;
    const long long windows[] = {0, 5, 64, 300};
    const sono_op *op = sono_op_find("attention");
    for (size_t w = 0; w < 4; w++) {
        /* seq 600 > a 256-key tile: the windowed gemm skips whole key blocks */
        sono_params p = at_p(w == 3 ? 600 : 45, 3, 16, windows[w]);
        sono_buf in, out;
        su_input(op, &p, &in, &out);
        double *ref = su_reference(op, &p, &in, &out);
        long long n = sono_buf_elems(&out);
        for (size_t m = 0; m < 2; m++) {
            const sono_impl_entry *e = su_find("attention", at_impls[m]);
            double tol = op->tolerance(&p, e->impl->growth);
            su_offline(e, &p, &in, &out);
            double off = su_rel_l2(out.data, ref, n);
            if (off > tol)
                fail_msg("%s window=%lld offline: rel L2 %g > tol %g", at_impls[m], windows[w],
                         off, tol);
            for (uint64_t seed = 1; seed <= 3; seed++) {
                su_stream_info info;
                float *got = su_stream(e, &p, &in, &out, seed, 7, NULL, &info);
                double diff = su_maxdiff(got, out.data, n), rel = su_rel_l2(got, ref, n);
                if ((m == 0 && diff != 0) || rel > tol)
                    fail_msg("%s window=%lld seed %d: streamed vs offline max diff %g, vs "
                             "reference rel L2 %g (tol %g)", at_impls[m], windows[w],
                             (int)seed, diff, rel, tol);
                assert_true(info.pushes > 5); /* the chunks did vary */
                free(got);
            }
        }
        free(ref);
        sono_buf_free(&in);
        sono_buf_free(&out);
        sono_params_free(&p);
    }
}

/* The windowed reference: Q = 0 makes every visible key weigh the same, so row i is the
 * mean of V over j in (i - window, i], counted here directly. */
static void window_reference_is_mean_of_last_keys(void **state)
{
    (void)state;
    const long long seq = 12, heads = 2, d = 3, window = 4, n = heads * seq * d;
    const sono_op *op = sono_op_find("attention");
    sono_params p = at_p(seq, heads, d, window);
    sono_buf in, out;
    su_input(op, &p, &in, &out);
    float *x = in.data;
    memset(x, 0, sizeof(float) * (size_t)n);
    double *ref = su_reference(op, &p, &in, &out);
    const float *V = x + 2 * n;
    for (long long h = 0; h < heads; h++)
        for (long long i = 0; i < seq; i++)
            for (long long c = 0; c < d; c++) {
                double sum = 0;
                int cnt = 0;
                for (long long j = 0; j <= i; j++)
                    if (i - j < window) {
                        sum += V[(h * seq + j) * d + c];
                        cnt++;
                    }
                assert_true(fabs(ref[(h * seq + i) * d + c] - sum / cnt) < 1e-12);
            }
    free(ref);
    sono_buf_free(&in);
    sono_buf_free(&out);
    sono_params_free(&p);
}

/* One token per push: each push completes exactly its row, the rows already done never
 * change (su_stream keeps them as first reported), and the cache a stream adds to the
 * workspace holds K and V of every token without a window, of `window` tokens with one,
 * however long the stream. */
static void kv_cache_growth_and_ring(void **state)
{
    (void)state;
    const long long ones[8] = {1, 1, 1, 1, 1, 1, 1, 1}, H = 2, d = 8, W = 8;
    const sono_op *op = sono_op_find("attention");
    for (size_t m = 0; m < 2; m++) {
        const sono_impl_entry *e = su_find("attention", at_impls[m]);
        size_t cache[2][2];
        for (int s = 0; s < 2; s++)
            for (int w = 0; w < 2; w++) {
                long long seq = s ? 200 : 100, window = w ? W : 0;
                sono_params p = at_p(seq, H, d, window);
                sono_buf in, out;
                su_input(op, &p, &in, &out);
                size_t off = su_offline(e, &p, &in, &out);
                su_stream_info info;
                float *got = su_stream(e, &p, &in, &out, 0, 1, ones, &info);
                assert_int_equal(info.pushes, seq);
                assert_int_equal(info.max_done_jump, 1);
                double *ref = su_reference(op, &p, &in, &out);
                assert_true(su_rel_l2(got, ref, sono_buf_elems(&out)) <=
                            op->tolerance(&p, e->impl->growth));
                if (m == 0)
                    assert_true(su_maxdiff(got, out.data, sono_buf_elems(&out)) == 0);
                assert_true(info.workspace > off);
                cache[s][w] = info.workspace - off;
                size_t kv = sizeof(float) * (size_t)(2 * H * (window ? window : seq) * d);
                assert_true(cache[s][w] >= kv && cache[s][w] < kv + kv / 2);
                free(ref);
                free(got);
                sono_buf_free(&in);
                sono_buf_free(&out);
                sono_params_free(&p);
            }
        assert_true(cache[1][0] > cache[0][0]);
        assert_int_equal(cache[1][1], cache[0][1]);
    }
}

/* A stream that does not continue where it left off is refused with a message. */
static void push_out_of_order_refused(void **state)
{
    (void)state;
    const sono_op *op = sono_op_find("attention");
    sono_params p = at_p(10, 1, 4, 0);
    sono_buf in, out;
    su_input(op, &p, &in, &out);
    for (size_t m = 0; m < 2; m++) {
        const sono_impl_entry *e = su_find("attention", at_impls[m]);
        sono_error err = {0};
        void *st = NULL;
        long long done = 0;
        assert_int_equal(e->impl->setup(e->impl->ctx, &p, &st, &err), 0);
        assert_int_equal(e->impl->load(st, &in, &err), 0);
        assert_int_equal(e->impl->stream_begin(st, &err), 0);
        assert_int_equal(e->impl->push(st, 0, 3, 0, &out, &done, &err), 0);
        assert_int_equal(done, 3);
        assert_int_equal(e->impl->push(st, 5, 1, 0, &out, &done, &err), SONO_EINVAL);
        assert_non_null(strstr(err.msg, "push"));
        assert_int_equal(e->impl->push(st, 3, 8, 1, &out, &done, &err), SONO_EINVAL);
        e->impl->teardown(st);
    }
    sono_buf_free(&in);
    sono_buf_free(&out);
    sono_params_free(&p);
}

/* Without the mask the op does not stream; window without causal is refused. */
static void stream_shape_and_refusals(void **state)
{
    (void)state;
    const sono_op *op = sono_op_find("attention");
    sono_params p = at_p(30, 2, 8, 0);
    sono_stream_shape ss;
    sono_error err = {0};
    assert_int_equal(op->stream_shape(&p, &ss, &err), 0);
    assert_int_equal(ss.in.outer, 6);
    assert_int_equal(ss.in.steps, 30);
    assert_int_equal(ss.in.inner, 8);
    assert_int_equal(ss.out.outer, 2);
    assert_true(fabs(ss.algo_latency_s - 1 / ss.step_rate) < 1e-12);
    sono_params_free(&p);

    const char *kv[] = {"seq=30", "causal=0", NULL};
    p = su_params("attention", kv);
    assert_int_equal(op->stream_shape(&p, &ss, &err), SONO_EUNSUPPORTED);
    assert_non_null(strstr(err.msg, "causal"));
    sono_params_free(&p);
    const char *bad[] = {"seq=30", "causal=0", "window=4", NULL};
    p = (sono_params){0};
    for (int i = 0; bad[i]; i++) {
        const char *eq = strchr(bad[i], '=');
        char name[32];
        snprintf(name, sizeof name, "%.*s", (int)(eq - bad[i]), bad[i]);
        assert_int_equal(sono_param_parse(sono_op_param(op, name), eq + 1, &p.v[p.count++],
                                          &err), 0);
    }
    sono_params_defaults(op, &p);
    assert_int_equal(op->validate(&p, &err), SONO_EINVAL);
    assert_non_null(strstr(err.msg, "window"));
    sono_params_free(&p);
}

/* ---- attention.step ------------------------------------------------------------------ */

static sono_params st_p(long long heads, long long d, long long len, long long window)
{
    char s[4][40];
    snprintf(s[0], 40, "heads=%lld", heads);
    snprintf(s[1], 40, "head_dim=%lld", d);
    snprintf(s[2], 40, "cache_len=%lld", len);
    snprintf(s[3], 40, "window=%lld", window);
    const char *kv[] = {s[0], s[1], s[2], s[3], NULL};
    return su_params("attention.step", kv);
}

/* By hand, d = 1, one head, L = 1: keys Kc = 0 and k = 2 with q = 1 score 0 and 2/1;
 * o = (V0 + e^2 v) / (1 + e^2). With window = 1 only the new key is seen: o = v. */
static void step_reference_by_hand(void **state)
{
    (void)state;
    const sono_op *op = sono_op_find("attention.step");
    for (int w = 0; w < 2; w++) {
        sono_params p = st_p(1, 1, 1, w);
        sono_buf in, out;
        su_input(op, &p, &in, &out);
        assert_int_equal(sono_buf_elems(&in), 5);
        float *x = in.data; /* Kc, Vc, q, k, v */
        x[0] = 0, x[1] = 3, x[2] = 1, x[3] = 2, x[4] = -1;
        double *ref = su_reference(op, &p, &in, &out), e2 = exp(2.0);
        double want = w ? -1.0 : (3.0 + e2 * -1.0) / (1.0 + e2);
        assert_true(fabs(ref[0] - want) < 1e-14);
        free(ref);
        sono_buf_free(&in);
        sono_buf_free(&out);
        sono_params_free(&p);
    }
}

/* attention.step's reference and impls on a cache of L tokens are row L of attention
 * (causal, same window) on the sequence cache + new token: the references agree to
 * rounding, cpu/naive's step equals cpu/naive attention's row bit for bit (the same ring
 * kernel), every impl passes the step's reference. L = 0 (only the new token), L below
 * and above the window. */
static void step_is_row_of_attention(void **state)
{
    (void)state;
    const sono_op *sop = sono_op_find("attention.step"), *aop = sono_op_find("attention");
    const long long H = 2, d = 8, lens[] = {0, 3, 37}, windows[] = {0, 6};
    const char *const simpls[] = {"cpu/naive", "blas/gemv"};
    for (size_t li = 0; li < 3; li++)
        for (size_t wi = 0; wi < 2; wi++) {
            long long L = lens[li], W = windows[wi], S = L + 1;
            sono_params sp = st_p(H, d, L, W), ap = at_p(S, H, d, W);
            sono_buf sin, sout, ain, aout;
            su_input(sop, &sp, &sin, &sout);
            su_input(aop, &ap, &ain, &aout);
            /* attention's Q, K, V from the step's packed Kc, Vc, q, k, v */
            const float *x = sin.data, *Kc = x, *Vc = x + H * L * d, *q = Vc + H * L * d,
                        *k = q + H * d, *v = k + H * d;
            float *Q = ain.data, *K = Q + H * S * d, *V = K + H * S * d;
            for (long long h = 0; h < H; h++) {
                for (long long j = 0; j < S; j++)
                    for (long long c = 0; c < d; c++) {
                        long long at = (h * S + j) * d + c;
                        K[at] = j < L ? Kc[(h * L + j) * d + c] : k[h * d + c];
                        V[at] = j < L ? Vc[(h * L + j) * d + c] : v[h * d + c];
                        Q[at] = j < L ? 0.5f : q[h * d + c];
                    }
            }
            double *sref = su_reference(sop, &sp, &sin, &sout);
            double *aref = su_reference(aop, &ap, &ain, &aout);
            for (long long h = 0; h < H; h++)
                for (long long c = 0; c < d; c++)
                    assert_true(fabs(sref[h * d + c] - aref[(h * S + L) * d + c]) < 1e-12);
            su_offline(su_find("attention", "cpu/naive"), &ap, &ain, &aout);
            for (size_t m = 0; m < 2; m++) {
                const sono_impl_entry *e = su_find("attention.step", simpls[m]);
                size_t ws = su_offline(e, &sp, &sin, &sout);
                double tol = sop->tolerance(&sp, e->impl->growth);
                const float *so = sout.data, *ao = aout.data;
                assert_true(su_rel_l2(so, sref, H * d) <= tol);
                for (long long h = 0; h < H && m == 0; h++)
                    assert_memory_equal(so + h * d, ao + (h * S + L) * d, sizeof(float) * d);
                /* the workspace holds the KV cache of what the step sees */
                long long seen = W && S > W ? W : S;
                assert_true(ws >= sizeof(float) * (size_t)(2 * H * seen * d));
            }
            free(sref);
            free(aref);
            sono_buf_free(&sin);
            sono_buf_free(&sout);
            sono_buf_free(&ain);
            sono_buf_free(&aout);
            sono_params_free(&sp);
            sono_params_free(&ap);
        }
}

/* A step that drops the oldest key it should see, or sees one past the window, is off by
 * more than the tolerance: the check can fail. */
static void step_tolerance_catches_a_dropped_key(void **state)
{
    (void)state;
    const sono_op *op = sono_op_find("attention.step");
    sono_params full = st_p(4, 32, 64, 0), shorter = st_p(4, 32, 64, 64);
    sono_buf in, out;
    su_input(op, &full, &in, &out);
    double *a = su_reference(op, &full, &in, &out), *b = su_reference(op, &shorter, &in, &out);
    float *bf = malloc(sizeof(float) * 4 * 32);
    assert_non_null(bf);
    for (int i = 0; i < 4 * 32; i++)
        bf[i] = (float)b[i];
    assert_true(su_rel_l2(bf, a, 4 * 32) > op->tolerance(&full, SONO_ERR_LINEAR));
    free(a);
    free(b);
    free(bf);
    sono_buf_free(&in);
    sono_buf_free(&out);
    sono_params_free(&full);
    sono_params_free(&shorter);
}

/* The cost model: 4 heads d flops per key seen, the keys' K and V read. */
static void step_cost(void **state)
{
    (void)state;
    const sono_op *op = sono_op_find("attention.step");
    sono_params p = st_p(8, 64, 8191, 0), w = st_p(8, 64, 8191, 512);
    sono_cost c, cw;
    op->cost(&p, &c);
    op->cost(&w, &cw);
    assert_true(fabs(c.flops - 4.0 * 8 * 64 * 8192) < 1);
    assert_true(fabs(cw.flops - 4.0 * 8 * 64 * 512) < 1);
    assert_true(c.bytes >= 2.0 * 4 * 8 * 64 * 8192);
    assert_true(cw.bytes < 2.0 * 4 * 8 * 64 * 600);
    sono_params_free(&p);
    sono_params_free(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(stream_equals_offline),
        cmocka_unit_test(window_reference_is_mean_of_last_keys),
        cmocka_unit_test(kv_cache_growth_and_ring),
        cmocka_unit_test(push_out_of_order_refused),
        cmocka_unit_test(stream_shape_and_refusals),
        cmocka_unit_test(step_reference_by_hand),
        cmocka_unit_test(step_is_row_of_attention),
        cmocka_unit_test(step_tolerance_catches_a_dropped_key),
        cmocka_unit_test(step_cost),
    };
    return cmocka_run_group_tests(tests, su_setup, su_teardown);
}
