/* test_cuda_math_vqtc.c — cuda/vq-tc's arithmetic without a GPU: vqtc_math.h and
 * fa2_math.h compiled by cc, the kernel run block by block, warp by warp over 32
 * emulated lanes (tests/vqtc_emul.h, mma_emul.h: the mma gathered through the fragment
 * layouts), on vq.encode's own bf16, f16 and tf32 inputs, checked by the op's check
 * against its float64 reference (near ties counted as for every VQ rung); partial vector
 * blocks and codebook tiles included. The split of a float into dtype parts (rvq-tc's
 * residuals) is checked in exact arithmetic.
 * A fold that ignores the lane's second row, or a merge that keeps the higher index of a
 * tie, fails. */
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

static sono_params vt_params(long long K, long long D, long long T, const char *dtype)
{
    const sono_op *op = sono_op_find("vq.encode");
    sono_params p = {0};
    char v[3][32];
    snprintf(v[0], 32, "%lld", K);
    snprintf(v[1], 32, "%lld", D);
    snprintf(v[2], 32, "%lld", T);
    const char *names[] = {"K", "D", "T", "dtype"}, *vals[] = {v[0], v[1], v[2], dtype};
    for (int i = 0; i < 4; i++) {
        sono_error err = {0};
        assert_int_equal(sono_param_parse(sono_op_param(op, names[i]), vals[i],
                                          &p.v[p.count++], &err), 0);
    }
    sono_params_defaults(op, &p);
    return p;
}

static void vt_case(long long K, int D, long long T, int kind)
{
    const char *dt = kind == FA2_BF16 ? "bf16" : kind == FA2_F16 ? "f16" : "tf32";
    const sono_op *op = sono_op_find("vq.encode");
    sono_params p = vt_params(K, D, T, dt);
    sono_buf in, out, ref;
    sono_error err = {0};
    op->shapes(&p, &in, &out);
    ref = out;
    ref.dtype = sono_dtype_wide(out.dtype);
    assert_int_equal(sono_buf_alloc(&in, &err), 0);
    assert_int_equal(sono_buf_alloc(&out, &err), 0);
    assert_int_equal(sono_buf_alloc(&ref, &err), 0);
    sono_input_spec spec;
    assert_int_equal(sono_input_parse("noise(seed=5)", ".", &spec, &err), 0);
    assert_int_equal(op->input(&p, &spec, op->rate ? op->rate(&p) : 24000, &in, &err), 0);
    const float *v = in.data;
    float *cn = malloc((size_t)K * sizeof *cn);
    assert_non_null(cn);
    vte_norms(v, K, D, cn);
    /* tf32: the float32 storage, one part (vqtc.c) */
    vte_kernel(v, cn, v + K * D, K, D, T, kind, kind == FA2_TF32 ? 1 : 0, out.data);
    free(cn);
    assert_int_equal(op->reference(&p, &in, &ref, &err), 0);
    sono_check c;
    memset(&c, 0, sizeof c);
    assert_int_equal(op->check(&p, &in, &out, &ref, op->tolerance(&p, SONO_ERR_LINEAR), &c,
                               &err), 0);
    if (!c.pass)
        fail_msg("K %lld D %d T %lld %s: the check fails: %s", K, D, T, dt, c.detail);
    sono_buf_free(&in);
    sono_buf_free(&out);
    sono_buf_free(&ref);
    sono_params_free(&p);
}

static void kernel_vs_reference(void **state)
{
    (void)state;
    for (int kind = FA2_BF16; kind <= FA2_TF32; kind++) {
        vt_case(64, 16, 64, kind);   /* one tile, one block */
        vt_case(100, 64, 150, kind); /* a partial codebook tile and vector block */
        vt_case(1024, 128, 200, kind);
    }
}

/* The merge and fold by hand: equal distances keep the lower index, from either side. */
static void ties_to_lowest(void **state)
{
    (void)state;
    float b = 1.0f;
    int i = 7;
    vqt_merge(&b, &i, 1.0f, 3);
    assert_int_equal(i, 3);
    vqt_merge(&b, &i, 1.0f, 5);
    assert_int_equal(i, 3);
    vqt_merge(&b, &i, 0.5f, 9);
    assert_int_equal(i, 9);
    /* a tile where every distance is equal: each lane keeps its lowest codeword */
    float s[FA2_NT][4] = {{0}}, cn[64] = {0}, best[2] = {INFINITY, INFINITY};
    int idx[2] = {0x7fffffff, 0x7fffffff};
    vqt_fold(s, cn, 0, 64, 6 /* t = 2 */, best, idx);
    assert_int_equal(idx[0], 4);
    assert_int_equal(idx[1], 4);
    /* codewords past K are not candidates: lane 6 holds columns 4, 5 of each n-tile, keys
     * 60, 61, 68, ... from key0 56; with K = 60 none, with K = 61 key 60 only */
    best[0] = best[1] = INFINITY;
    idx[0] = idx[1] = 0x7fffffff;
    vqt_fold(s, cn, 56, 60, 6, best, idx);
    assert_int_equal(idx[0], 0x7fffffff);
    vqt_fold(s, cn, 56, 61, 6, best, idx);
    assert_int_equal(idx[0], 60);
}

/* A float32 as the sum of its parts (vqt_part), in double (exact for these few terms): 3
 * bf16 parts hold every float exactly (24 bits); 2 tf32 parts are within 2^-22 |v| (11 +
 * 11 bits); each part is on its dtype's grid. One part alone misses by up to 2^-8 |v|
 * (bf16). f16 is not split (vqtc_math.h): at |v| ~ 2^-8 its second part is subnormal and
 * the pair misses by more than 2^-22 |v|, as shown last. */
static void split_parts(void **state)
{
    (void)state;
    uint64_t z = 0x5eed;
    double worst1 = 0;
    for (int i = 0; i < 20000; i++) {
        z = z * 6364136223846793005ull + 1442695040888963407ull;
        double mag = ldexp((double)(z >> 11) * 0x1p-53 + 0.5, (int)((z >> 3) % 24) - 12);
        float v = (float)((z & 1) ? -mag : mag); /* |v| in [2^-13, 2^12) */
        for (int kind = FA2_BF16; kind <= FA2_TF32; kind += FA2_TF32 - FA2_BF16) {
            int n = vqt_parts(kind);
            double sum = 0;
            for (int p = 0; p < n; p++) {
                float h = vqt_part(v, p, kind);
                assert_true(vqt_round(h, kind) == h);
                sum += h;
            }
            double err = fabs(sum - (double)v);
            if (kind == FA2_BF16)
                assert_true(err == 0);
            else if (err > 0x1p-22 * fabs((double)v))
                fail_msg("kind %d: %a as %d parts misses by %g", kind, (double)v, n, err);
            if (kind == FA2_BF16) {
                double e1 = fabs((double)vqt_part(v, 0, kind) - v) / fabs((double)v);
                worst1 = e1 > worst1 ? e1 : worst1;
            }
        }
    }
    assert_true(worst1 > 0x1p-9 && worst1 <= 0x1p-8); /* u of bf16 */
    float v = 0x1.d98b9p-8f;
    double f16pair = (double)vqt_part(v, 0, FA2_F16) + vqt_part(v, 1, FA2_F16);
    assert_true(fabs(f16pair - v) > 0x1p-22 * v);
    /* the split A fragment of part 1 holds the remainders: lane 5 (g 1, t 1), k-step 0 */
    float xs[16 * 24] = {0};
    xs[1 * 24 + 2] = 1.0f + 0x1p-10f; /* bf16: 1 + remainder 2^-10 */
    uint32_t a[4];
    vqt_load_a_split(xs, 24, 0, 0, 5, 1, FA2_BF16, a);
    assert_int_equal(a[0] & 0xffffu, 0x3a80); /* 2^-10 in bf16 */
    vqt_load_a_split(xs, 24, 0, 0, 5, 0, FA2_BF16, a);
    assert_int_equal(a[0] & 0xffffu, 0x3f80); /* 1.0 */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(split_parts),
        cmocka_unit_test(ties_to_lowest),
        cmocka_unit_test(kernel_vs_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
