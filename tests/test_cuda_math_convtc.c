/* test_cuda_math_convtc.c — cuda/conv-tc's arithmetic without a GPU: convtc_math.h and
 * fa2_math.h compiled by cc; the kernel run block by block, k-tile by k-tile, warp by warp
 * over 32 emulated lanes (tests/mma_emul.h: each mma gathered through the fragment
 * layouts), the tiles filled through the same index maps the kernel uses (the gathered
 * tile thread by thread through ct_gather's walk, itself checked against ct_x_index), on
 * conv1d's own inputs in bf16, f16 and tf32, checked against the float64 reference at the
 * op's tolerance. Ragged channel, step and reduction tiles, groups, stride, dilation, causal
 * and valid, ELU and Snake are covered; a map that forgets the causal padding fails. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../impls/cuda/convtc_math.h"
#include "mma_emul.h"
#include "buf.h"
#include "check.h"
#include "conv1d.h"
#include "input.h"
#include "op.h"
#include "params.h"

static sono_params ct_params(const char *text)
{
    const sono_op *op = sono_op_find("conv1d");
    assert_non_null(op);
    sono_params p = {0};
    char *buf = strdup(text), *save = NULL;
    assert_non_null(buf);
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '=');
        assert_non_null(eq);
        *eq = '\0';
        sono_error err = {0};
        const sono_param_spec *s = sono_op_param(op, tok);
        if (!s)
            fail_msg("conv1d has no parameter %s", tok);
        if (sono_param_parse(s, eq + 1, &p.v[p.count], &err))
            fail_msg("%s=%s: %s", tok, eq + 1, err.msg);
        p.count++;
    }
    free(buf);
    sono_params_defaults(op, &p);
    return p;
}

static nnc_dims ct_dims_of(const sono_conv_dims *c)
{
    return (nnc_dims){.cin = c->cin, .cout = c->cout, .k = c->kernel, .stride = c->stride,
                      .dil = c->dilation, .groups = c->groups, .T = c->length,
                      .tout = c->out_length, .pad = c->pad, .cig = c->cin / c->groups,
                      .cog = c->cout / c->groups, .act = c->act};
}

/* The kernel on the host: y [cout][tout] from the packed float input (on kind's grid). The
 * tiles hold storage bits (16-bit kinds) or floats (tf32) as the shared memory does. */
static void ct_kernel(const nnc_dims *d, const float *in, int kind, float *y)
{
    const float *x = in, *w = x + d->cin * d->T, *b = w + d->cout * ct_kk(d),
                *alpha = b + d->cout;
    int tf = kind == FA2_TF32, S = tf ? CT_S32 : CT_S16, ksteps = CT_BK / (tf ? 8 : 16);
    int epc = tf ? 4 : 8;
    long long kp = ct_kp(d), nx = d->cin * d->T;
    /* the load's conversions: x to storage, W packed (cu_fa2_convert, cu_convtc_pack) */
    uint16_t *x16 = calloc((size_t)nx, 2), *wp16 = calloc((size_t)(d->cout * kp), 2);
    float *wpf = calloc((size_t)(d->cout * kp), sizeof *wpf);
    uint16_t *ws16 = calloc((size_t)CT_BM * S, 2), *xs16 = calloc((size_t)CT_BN * S, 2);
    float *wsf = calloc((size_t)CT_BM * S, 4), *xsf = calloc((size_t)CT_BN * S, 4);
    static float acc[CT_WARPS][32][CT_NT][4];
    assert_true(x16 && wp16 && wpf && ws16 && xs16 && wsf && xsf);
    for (long long i = 0; i < nx && !tf; i++)
        x16[i] = fm_store16(x[i], kind);
    for (long long co = 0; co < d->cout; co++)
        for (long long kc = 0; kc < kp; kc++) {
            float v = ct_wpack_at(d, w, co, kc);
            wpf[co * kp + kc] = v;
            if (!tf)
                wp16[co * kp + kc] = fm_store16(v, kind);
        }
    for (long long g = 0; g < d->groups; g++)
        for (long long by = 0; by < ct_mtiles(d); by++)
            for (long long bx = 0; bx < ct_ntiles(d); bx++) {
                long long m0 = by * CT_BM, n0 = bx * CT_BN;
                memset(acc, 0, sizeof acc);
                for (long long k0 = 0; k0 < kp; k0 += CT_BK) {
                    /* the weight tile, chunk by chunk (cp.async; zero-fill past cog) */
                    for (int ch = 0; ch < CT_BM * CT_BK / epc; ch++) {
                        int r, c;
                        long long src = ct_a_chunk(d, g, m0, k0, ch, epc, &r, &c);
                        for (int e = 0; e < epc; e++) {
                            if (tf)
                                wsf[r * S + c + e] = src >= 0 ? wpf[src + e] : 0.0f;
                            else
                                ws16[r * S + c + e] = src >= 0 ? wp16[src + e] : 0;
                        }
                    }
                    /* the gathered tile, thread by thread (gather_b, store_b) */
                    for (int tid = 0; tid < CT_THREADS; tid++) {
                        long long idx[CT_BPER];
                        int n = ct_gather(d, g, n0, k0, tid, idx);
                        for (int i = 0; i < CT_BPER; i++) {
                            int kl = tid / CT_BN + CT_KSTEP_B * i;
                            if (tf)
                                xsf[n * S + kl] = idx[i] >= 0 ? x[idx[i]] : 0.0f;
                            else
                                xs16[n * S + kl] = idx[i] >= 0 ? x16[idx[i]] : 0;
                        }
                    }
                    for (int wv = 0; wv < CT_WARPS; wv++)
                        for (int kk = 0; kk < ksteps; kk++)
                            for (int nt = 0; nt < CT_NT; nt++) {
                                uint32_t a[32][4], bb[32][2];
                                float c[32][4];
                                for (int lane = 0; lane < 32; lane++) {
                                    if (tf) {
                                        fa2_load_q8(wsf, S, wv * 16, kk, lane, a[lane]);
                                        fa2_load_k8(xsf, S, nt, kk, lane, bb[lane]);
                                    } else {
                                        fa2_load_q16(ws16, S, wv * 16, kk, lane, a[lane]);
                                        fa2_load_k16(xs16, S, nt, kk, lane, bb[lane]);
                                    }
                                    memcpy(c[lane], acc[wv][lane][nt], sizeof c[lane]);
                                }
                                fm_mma(a, bb, c, kind);
                                for (int lane = 0; lane < 32; lane++)
                                    memcpy(acc[wv][lane][nt], c[lane], sizeof c[lane]);
                            }
                }
                for (int wv = 0; wv < CT_WARPS; wv++)
                    for (int lane = 0; lane < 32; lane++)
                        for (int nt = 0; nt < CT_NT; nt++)
                            for (int i = 0; i < 4; i++) {
                                float v;
                                long long o = ct_out(d, g, m0, n0, wv * 16 + fa2_c_row(lane, i),
                                                     nt * 8 + fa2_c_col(lane, i),
                                                     acc[wv][lane][nt][i], b, alpha, &v);
                                if (o >= 0)
                                    y[o] = v;
                            }
            }
    free(x16);
    free(wp16);
    free(wpf);
    free(ws16);
    free(xs16);
    free(wsf);
    free(xsf);
}

/* Runs case `text` in dtype dt (the emulated kernel on dims altered by `mutate`, when
 * given) and returns whether it passes the reference at the op's tolerance. */
static int ct_passes(const char *text, const char *dt, void (*mutate)(nnc_dims *))
{
    char full[256];
    snprintf(full, sizeof full, "%s,dtype=%s", text, dt);
    const sono_op *op = sono_op_find("conv1d");
    sono_params p = ct_params(full);
    sono_error err = {0};
    if (op->validate(&p, &err))
        fail_msg("%s: %s", full, err.msg);
    sono_conv_dims cd;
    assert_int_equal(sono_conv_dims_get(&p, &cd, &err), 0);
    nnc_dims d = ct_dims_of(&cd);
    sono_buf in, out, ref;
    op->shapes(&p, &in, &out);
    ref = out;
    ref.dtype = sono_dtype_wide(out.dtype);
    assert_int_equal(sono_buf_alloc(&in, &err), 0);
    assert_int_equal(sono_buf_alloc(&out, &err), 0);
    assert_int_equal(sono_buf_alloc(&ref, &err), 0);
    sono_input_spec spec;
    assert_int_equal(sono_input_parse("noise(seed=9)", ".", &spec, &err), 0);
    assert_int_equal(op->input(&p, &spec, op->rate(&p), &in, &err), 0);
    assert_int_equal(op->reference(&p, &in, &ref, &err), 0);
    int kind = !strcmp(dt, "bf16") ? FA2_BF16 : !strcmp(dt, "f16") ? FA2_F16 : FA2_TF32;
    if (mutate)
        mutate(&d);
    ct_kernel(&d, in.data, kind, out.data);
    sono_check c;
    memset(&c, 0, sizeof c);
    assert_int_equal(sono_check_output(&out, &ref, op->tolerance(&p, SONO_ERR_LINEAR), &c,
                                       &err), 0);
    if (!c.pass && !mutate)
        print_message("%s: %s (rel_l2 %.3g)\n", full, c.detail, c.rel_l2);
    sono_buf_free(&in);
    sono_buf_free(&out);
    sono_buf_free(&ref);
    sono_params_free(&p);
    return c.pass;
}

static const char *const ct_cases[] = {
    /* one tile each way; kk = 21 pads to 32 */
    "cin=3,cout=8,kernel=7,length=50",
    /* 2 channel tiles (cog 80), ragged steps (tout 150), kk = 5*16 = 80 over 3 k-tiles,
     * stride and dilation, causal */
    "cin=16,cout=80,kernel=5,stride=2,dilation=3,length=300,activation=elu",
    /* valid, grouped (2 groups of cig 6, cog 36), Snake */
    "cin=12,cout=72,kernel=4,dilation=2,groups=2,causal=0,length=140,activation=snake",
    /* depthwise (cig 1: kk = kernel), strided */
    "cin=8,cout=8,kernel=9,stride=3,groups=8,length=200",
    /* pointwise (SEANet's residual 1x1): kk = cin = 32, one whole k-tile; and 40 (ragged) */
    "cin=32,cout=70,kernel=1,length=90",
    "cin=40,cout=16,kernel=1,length=65,causal=0",
};

static void kernel_vs_reference(void **state)
{
    (void)state;
    const char *dts[] = {"bf16", "f16", "tf32"};
    for (size_t i = 0; i < sizeof ct_cases / sizeof ct_cases[0]; i++)
        for (int t = 0; t < 3; t++)
            if (!ct_passes(ct_cases[i], dts[t], NULL))
                fail_msg("%s dtype=%s: the emulated kernel misses the reference", ct_cases[i],
                         dts[t]);
}

/* The kernel's map without the causal left padding: every tap shifted by (k-1)*dil. */
static void drop_pad(nnc_dims *d)
{
    d->pad = 0;
}
/* A map that reads tap j at j (dilation forgotten). */
static void drop_dil(nnc_dims *d)
{
    d->pad = (d->k - 1);
    d->dil = 1;
}

static void broken_maps_fail(void **state)
{
    (void)state;
    assert_false(ct_passes("cin=4,cout=8,kernel=5,length=120", "bf16", drop_pad));
    assert_false(ct_passes("cin=4,cout=8,kernel=3,dilation=4,length=120", "f16", drop_dil));
}

/* The index map by hand: causal kernel 3, dilation 2, stride 2, cig 2, T 10: k = c*3 + j;
 * output step t reads x[c][2t + 2j - 4]. */
static void index_map_by_hand(void **state)
{
    (void)state;
    nnc_dims d = {.cin = 4, .cout = 2, .k = 3, .stride = 2, .dil = 2, .groups = 2, .T = 10,
                  .tout = 5, .pad = 4, .cig = 2, .cog = 1, .act = 0};
    assert_int_equal(ct_kk(&d), 6);
    assert_int_equal(ct_kp(&d), 32);
    assert_int_equal(ct_x_index(&d, 0, 0, 0), -1);      /* u = -4: causal zero */
    assert_int_equal(ct_x_index(&d, 0, 0, 2), 0);       /* c 0, j 2: u = 0 */
    assert_int_equal(ct_x_index(&d, 0, 1, 4), 10 + 0);  /* c 1, j 1: u = 2 + 2 - 4 */
    assert_int_equal(ct_x_index(&d, 1, 4, 5), 3 * 10 + 8); /* group 1, c 1 -> ch 3, u 8 */
    assert_int_equal(ct_x_index(&d, 0, 4, 6), -1);      /* past kk */
    assert_int_equal(ct_x_index(&d, 0, 5, 2), -1);      /* past tout */
    int n, kl, r, c;
    ct_b_elem(CT_BN + 3, &n, &kl);
    assert_int_equal(n, 3);
    assert_int_equal(kl, 1);
    /* 16-bit chunks: 4 a row; chunk 5 is row 1, columns 8..15; row past cog: none */
    assert_int_equal(ct_a_chunk(&d, 1, 0, 32, 1, 8, &r, &c), (1 * 1 + 0) * 32 + 32 + 8);
    assert_int_equal(ct_a_chunk(&d, 0, 0, 0, 5, 8, &r, &c), -1);
    assert_int_equal(r, 1);
    assert_int_equal(c, 8);
}

/* The kernel's per-thread walk (ct_gather) reads, for every element of every tile, what
 * the direct map ct_x_index gives at that element's (n, kl) = ct_b_elem(tid + i * threads)
 * — kernel 1 (the walk's step 2 wraps twice), 3, 7, groups, ragged ends. */
static void walk_is_the_map(void **state)
{
    (void)state;
    const nnc_dims ds[] = {
        {.cin = 5, .cout = 3, .k = 1, .stride = 1, .dil = 1, .groups = 1, .T = 70, .tout = 70,
         .pad = 0, .cig = 5, .cog = 3},
        {.cin = 12, .cout = 6, .k = 3, .stride = 2, .dil = 5, .groups = 3, .T = 300,
         .tout = 150, .pad = 10, .cig = 4, .cog = 2},
        {.cin = 16, .cout = 8, .k = 7, .stride = 3, .dil = 2, .groups = 2, .T = 400,
         .tout = (400 - 12 - 1) / 3 + 1, .pad = 0, .cig = 8, .cog = 4},
    };
    long long checked = 0;
    for (size_t c = 0; c < sizeof ds / sizeof ds[0]; c++) {
        const nnc_dims *d = &ds[c];
        for (long long g = 0; g < d->groups; g++)
            for (long long n0 = 0; n0 < ct_ntiles(d) * CT_BN; n0 += CT_BN)
                for (long long k0 = 0; k0 < ct_kp(d); k0 += CT_BK)
                    for (int tid = 0; tid < CT_THREADS; tid++) {
                        long long idx[CT_BPER];
                        int n0t = ct_gather(d, g, n0, k0, tid, idx);
                        for (int i = 0; i < CT_BPER; i++) {
                            int n, kl;
                            ct_b_elem(tid + i * CT_THREADS, &n, &kl);
                            assert_int_equal(n, n0t);
                            assert_int_equal(kl, tid / CT_BN + CT_KSTEP_B * i);
                            assert_int_equal(idx[i], ct_x_index(d, g, n0 + n, k0 + kl));
                            checked++;
                        }
                    }
    }
    assert_true(checked > 10000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(index_map_by_hand),
        cmocka_unit_test(walk_is_the_map),
        cmocka_unit_test(kernel_vs_reference),
        cmocka_unit_test(broken_maps_fail),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
