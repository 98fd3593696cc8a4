/* test_cuda_math_vqtc.c — cuda/vq-tc's arithmetic without a GPU: vqtc_math.h and
 * fa2_math.h compiled by cc, the kernel run block by block, warp by warp over 32 emulated
 * lanes (tests/mma_emul.h: the mma gathered through the fragment layouts), on vq.encode's
 * own bf16 and f16 inputs, checked by the op's check against its float64 reference (near
 * ties counted as for every VQ rung); partial vector blocks and codebook tiles included.
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

/* The kernel on the host: codes for T vectors (16-bit tiles of stride D + 8, as the
 * kernel's shared memory), norms cn in float as load computes them. */
static void vt_kernel(const float *book, const float *x, long long K, int D, long long T,
                      int kind, int *codes)
{
    int stride = D + 8;
    uint16_t *xs = calloc((size_t)VQT_BV * stride, 2), *bs = calloc((size_t)VQT_BK * stride, 2);
    float *cn = malloc((size_t)K * sizeof *cn);
    assert_true(xs && bs && cn);
    for (long long k = 0; k < K; k++) { /* cu_vq_norms_launch: a float sum of squares */
        float a = 0;
        for (int c = 0; c < D; c++)
            a += book[k * D + c] * book[k * D + c];
        cn[k] = a;
    }
    long long nblocks = (T + VQT_BV - 1) / VQT_BV;
    int ntiles = (int)((K + VQT_BK - 1) / VQT_BK);
    for (long long blk = 0; blk < nblocks; blk++) {
        long long v0 = blk * VQT_BV;
        for (int r = 0; r < VQT_BV; r++)
            for (int c = 0; c < D; c++)
                xs[r * stride + c] = v0 + r < T ? fm_store16(x[(v0 + r) * D + c], kind) : 0;
        static float s[32][FA2_NT][4];
        float best[VQT_WARPS][32][2];
        int idx[VQT_WARPS][32][2];
        for (int w = 0; w < VQT_WARPS; w++)
            for (int lane = 0; lane < 32; lane++)
                for (int r = 0; r < 2; r++) {
                    best[w][lane][r] = INFINITY;
                    idx[w][lane][r] = 0x7fffffff;
                }
        for (int kt = 0; kt < ntiles; kt++) {
            for (int r = 0; r < VQT_BK; r++)
                for (int c = 0; c < D; c++) {
                    long long k = (long long)kt * VQT_BK + r;
                    bs[r * stride + c] = k < K ? fm_store16(book[k * D + c], kind) : 0;
                }
            for (int w = 0; w < VQT_WARPS; w++) {
                memset(s, 0, sizeof s);
                for (int kk = 0; kk < D / 16; kk++)
                    for (int nt = 0; nt < FA2_NT; nt++) {
                        uint32_t a[32][4], b[32][2];
                        float c[32][4];
                        for (int lane = 0; lane < 32; lane++) {
                            fa2_load_q16(xs, stride, w * 16, kk, lane, a[lane]);
                            fa2_load_k16(bs, stride, nt, kk, lane, b[lane]);
                            memcpy(c[lane], s[lane][nt], sizeof c[lane]);
                        }
                        fm_mma(a, b, c, kind);
                        for (int lane = 0; lane < 32; lane++)
                            memcpy(s[lane][nt], c[lane], sizeof c[lane]);
                    }
                for (int lane = 0; lane < 32; lane++)
                    vqt_fold(s[lane], cn, (long long)kt * VQT_BK, K, lane, best[w][lane],
                             idx[w][lane]);
            }
        }
        for (int w = 0; w < VQT_WARPS; w++) {
            for (int m = 1; m <= 2; m <<= 1) { /* __shfl_xor_sync: every lane reads first */
                float ob[32][2];
                int oi[32][2];
                for (int lane = 0; lane < 32; lane++)
                    for (int r = 0; r < 2; r++) {
                        ob[lane][r] = best[w][lane ^ m][r];
                        oi[lane][r] = idx[w][lane ^ m][r];
                    }
                for (int lane = 0; lane < 32; lane++)
                    for (int r = 0; r < 2; r++)
                        vqt_merge(&best[w][lane][r], &idx[w][lane][r], ob[lane][r],
                                  oi[lane][r]);
            }
            for (int lane = 0; lane < 32; lane += 4)
                for (int r = 0; r < 2; r++) {
                    long long t = v0 + w * 16 + (lane >> 2) + 8 * r;
                    if (t < T)
                        codes[t] = idx[w][lane][r];
                }
        }
    }
    free(xs);
    free(bs);
    free(cn);
}

static void vt_case(long long K, int D, long long T, int kind)
{
    const char *dt = kind == FA2_BF16 ? "bf16" : "f16";
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
    vt_kernel(v, v + K * D, K, D, T, kind, out.data);
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
    for (int kind = FA2_BF16; kind <= FA2_F16; kind++) {
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ties_to_lowest),
        cmocka_unit_test(kernel_vs_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
