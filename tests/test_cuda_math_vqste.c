/* test_cuda_math_vqste.c — cuda/ste's arithmetic (impls/cuda/vqste_math.h, vq_math.h) on
 * the host, without a GPU: the kernels' pipeline emulated (codes by the argmin of
 * ||e||^2 - 2 x.e with vq_better's tie rule, the element kernels, the cluster sums and the
 * count total accumulated in a scrambled order as atomics may) and its output passing
 * vq.ste's own check against the float64 reference; the restart's choice equal to the
 * reference's Philox. */
#include "gen_util.h"
#include "sample64.h"
#include "vqste64.h"

#include "../impls/cuda/vq_math.h"
#include "../impls/cuda/vqste_math.h"

static void emulate(const float *in, long long K, long long D, long long N, float beta,
                    float decay, float eps, float dead, uint64_t seed, float *out)
{
    const float *e = in, *cnt0 = e + K * D, *sum0 = cnt0 + K, *x = sum0 + K * D,
                *g = x + N * D;
    float *nk = calloc((size_t)(2 * K), sizeof *nk), *sk = calloc((size_t)(K * D), sizeof *sk),
          *cn = calloc((size_t)K, sizeof *cn);
    int *codes = calloc((size_t)N, sizeof *codes);
    assert_non_null(nk);
    assert_non_null(sk);
    assert_non_null(cn);
    assert_non_null(codes);
    for (long long k = 0; k < K; k++)
        for (long long j = 0; j < D; j++)
            cn[k] += e[k * D + j] * e[k * D + j];
    for (long long n = 0; n < N; n++) {
        float bd = INFINITY;
        int bk = VQ_NONE;
        for (long long k = K - 1; k >= 0; k--) { /* any order: the tie rule decides */
            float dot = 0;
            for (long long j = 0; j < D; j++)
                dot += x[n * D + j] * e[k * D + j];
            float d = vq_score(cn[k], dot);
            if (vq_better(d, (int)k, bd, bk)) {
                bd = d;
                bk = (int)k;
            }
        }
        codes[n] = bk;
    }
    long long ND = N * D, KD = K * D;
    float s = 2.0f * beta / (float)ND, acc0 = 0, acc1 = 0;
    for (long long t = 0; t < ND; t++) {
        long long i = (t * 7919) % ND; /* ND is not a multiple of 7919 in these cases */
        long long n = i / D, j = i % D;
        int k = codes[n];
        float xv = x[i], ev = e[k * D + j], d = xv - ev;
        out[N + i] = vs_q(xv, ev);
        out[N + ND + 2 + i] = vs_dx(g[i], s, xv, ev);
        acc0 += d * d;
        sk[k * D + j] += xv;
        if (j == 0) {
            nk[k] += 1.0f;
            out[n] = (float)k;
        }
    }
    for (long long k = K - 1; k >= 0; k--) {
        nk[K + k] = vs_count(decay, cnt0[k], nk[k]);
        acc1 += nk[K + k];
    }
    float *de = out + N + 2 * ND + 2, *en = de + KD;
    for (long long i = 0; i < KD; i++) {
        long long k = i / D, j = i % D;
        de[i] = vs_de(2.0f / (float)ND, nk[k], e[i], sk[i]);
        float c = nk[K + k];
        en[i] = c < dead ? x[(long long)vs_restart(seed, (uint32_t)k, (uint32_t)N) * D + j]
                         : vs_row(decay, sum0[i], sk[i], vs_smoothed(c, eps, acc1, (float)K));
    }
    out[N + ND] = acc0 / (float)ND;
    out[N + ND + 1] = beta * out[N + ND];
    free(nk);
    free(sk);
    free(cn);
    free(codes);
}

static void emulated_kernels_pass_check(void **state)
{
    (void)state;
    const char *specs[] = {"K=64 D=16 N=300", "K=37 D=9 N=101 beta=1 decay=0.9 seed=2",
                           "K=16 D=4 N=2000 dead=50 seed=4", "K=256 D=128 N=600 seed=6"};
    const sono_op *op = sono_op_find("vq.ste");
    for (size_t c = 0; c < sizeof specs / sizeof specs[0]; c++) {
        sono_params p = gu_params("vq.ste", specs[c]);
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
        emulate(in.data, sono_param_int(&p, "K", 0), sono_param_int(&p, "D", 0),
                sono_param_int(&p, "N", 0), (float)sono_param_real(&p, "beta", 0),
                (float)sono_param_real(&p, "decay", 0), (float)sono_param_real(&p, "eps", 0),
                (float)sono_param_real(&p, "dead", 0), (uint64_t)sono_param_int(&p, "seed", 0),
                out.data);
        sono_check ck = {0};
        assert_int_equal(op->check(&p, &in, &out, &ref, op->tolerance(&p, SONO_ERR_LINEAR),
                                   &ck, &err), 0);
        if (!ck.pass)
            fail_msg("%s: %s", specs[c], ck.detail);
        sono_buf_free(&in);
        sono_buf_free(&out);
        sono_buf_free(&ref);
    }
}

static void restart_choice_is_the_references(void **state)
{
    (void)state;
    for (uint32_t k = 0; k < 2000; k++)
        assert_int_equal(vs_restart(77, k, 4800), sono_philox64_u32(77, k, 0, 1) % 4800);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(emulated_kernels_pass_check),
        cmocka_unit_test(restart_choice_is_the_references),
    };
    return cmocka_run_group_tests(tests, gu_setup, gu_teardown);
}
