/* test_cuda_math_rvqtc.c — cuda/rvq-tc's arithmetic without a GPU: stage by stage, the
 * vq-tc kernel emulated on the host (tests/vqtc_emul.h: blocks, warps, 32 lanes, each mma
 * through the fragment layouts) on the current residual, then the residual update r -= c
 * in float as vq_kernels.cu's, on rvq.encode's own inputs in bf16, f16 and tf32 (stage 0
 * on the vectors' storage, later stages on the float32 residual split into parts as
 * rvqtc.c runs them), checked by the op's check against its float64 reference at the
 * op's tolerance. Searching the residual rounded to bf16 (one part) fails that check. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../impls/cuda/vqtc_math.h"
#include "mma_emul.h"
#include "vqtc_emul.h"
#include "buf.h"
#include "check.h"
#include "input.h"
#include "op.h"
#include "params.h"

static sono_params rq_params(long long K, long long D, long long T, int q, const char *dtype)
{
    const sono_op *op = sono_op_find("rvq.encode");
    sono_params p = {0};
    char v[4][32];
    snprintf(v[0], 32, "%lld", K);
    snprintf(v[1], 32, "%lld", D);
    snprintf(v[2], 32, "%lld", T);
    snprintf(v[3], 32, "%d", q);
    const char *names[] = {"K", "D", "T", "n_q", "dtype"},
               *vals[] = {v[0], v[1], v[2], v[3], dtype};
    for (int i = 0; i < 5; i++) {
        sono_error err = {0};
        assert_int_equal(sono_param_parse(sono_op_param(op, names[i]), vals[i],
                                          &p.v[p.count++], &err), 0);
    }
    sono_params_defaults(op, &p);
    return p;
}

/* rvqtc.c's run on the host: codes [q][T]. np_res: the parts of the residual stages
 * (rvqtc.c: vqt_parts of the residual kind); the residual kind is bf16's own, else tf32. */
static void rq_encode(const float *cb, const float *x, long long K, int D, long long T, int q,
                      int kind, int np_res, int *codes)
{
    int rkind = kind == FA2_BF16 ? FA2_BF16 : FA2_TF32;
    float *cn = malloc((size_t)(q * K) * sizeof *cn), *r = malloc((size_t)(T * D) * sizeof *r);
    assert_true(cn && r);
    vte_norms(cb, q * K, D, cn);
    vte_kernel(cb, cn, x, K, D, T, kind, kind == FA2_TF32 ? 1 : 0, codes);
    memcpy(r, x, (size_t)(T * D) * sizeof *r);
    for (int s = 1; s < q; s++) {
        const float *prev = cb + (long long)(s - 1) * K * D;
        for (long long e = 0; e < T * D; e++) /* vq_subtract */
            r[e] -= prev[(long long)codes[(long long)(s - 1) * T + e / D] * D + e % D];
        vte_kernel(cb + (long long)s * K * D, cn + (long long)s * K, r, K, D, T, rkind,
                   np_res, codes + (long long)s * T);
    }
    free(cn);
    free(r);
}

/* Whether the emulated run passes the op's check; the detail into msg. */
static int rq_case(long long K, int D, long long T, int q, const char *dt, int np_override,
                   char *msg, size_t n)
{
    const sono_op *op = sono_op_find("rvq.encode");
    sono_params p = rq_params(K, D, T, q, dt);
    sono_buf in, out, ref;
    sono_error err = {0};
    if (op->validate(&p, &err))
        fail_msg("%s", err.msg);
    op->shapes(&p, &in, &out);
    ref = out;
    ref.dtype = sono_dtype_wide(out.dtype);
    assert_int_equal(sono_buf_alloc(&in, &err), 0);
    assert_int_equal(sono_buf_alloc(&out, &err), 0);
    assert_int_equal(sono_buf_alloc(&ref, &err), 0);
    sono_input_spec spec;
    assert_int_equal(sono_input_parse("noise(seed=3)", ".", &spec, &err), 0);
    if (op->input(&p, &spec, op->rate(&p), &in, &err))
        fail_msg("input: %s", err.msg);
    int kind = !strcmp(dt, "bf16") ? FA2_BF16 : !strcmp(dt, "f16") ? FA2_F16 : FA2_TF32;
    int np = np_override ? np_override : vqt_parts(kind == FA2_BF16 ? FA2_BF16 : FA2_TF32);
    const float *v = in.data;
    rq_encode(v, v + q * K * D, K, D, T, q, kind, np, out.data);
    assert_int_equal(op->reference(&p, &in, &ref, &err), 0);
    sono_check c;
    memset(&c, 0, sizeof c);
    assert_int_equal(op->check(&p, &in, &out, &ref, op->tolerance(&p, SONO_ERR_LINEAR), &c,
                               &err), 0);
    snprintf(msg, n, "%s", c.detail);
    sono_buf_free(&in);
    sono_buf_free(&out);
    sono_buf_free(&ref);
    sono_params_free(&p);
    return c.pass;
}

static void stages_vs_reference(void **state)
{
    (void)state;
    const char *dts[] = {"bf16", "f16", "tf32"};
    char msg[512];
    for (int i = 0; i < 3; i++) {
        if (!rq_case(128, 32, 300, 4, dts[i], 0, msg, sizeof msg))
            fail_msg("K 128 D 32 T 300 n_q 4 %s: %s", dts[i], msg);
        print_message("%s: %s\n", dts[i], msg);
        /* a partial codebook tile (K 100) and vector block (T 150) */
        if (!rq_case(100, 16, 150, 3, dts[i], 0, msg, sizeof msg))
            fail_msg("K 100 D 16 T 150 n_q 3 %s: %s", dts[i], msg);
    }
}

/* The residual rounded to bf16 (one part) moves distances by ~2^-8 of them: the check,
 * which allows float32 rounding, finds codes that are not the nearest. */
static void one_part_fails(void **state)
{
    (void)state;
    char msg[512];
    assert_false(rq_case(128, 32, 300, 4, "bf16", 1, msg, sizeof msg));
    print_message("bf16 residual in one part: %s\n", msg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(stages_vs_reference),
        cmocka_unit_test(one_part_fails),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
