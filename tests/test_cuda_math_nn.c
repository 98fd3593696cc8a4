/* test_cuda_math_nn.c — the cuda layer kernels' arithmetic without a GPU: nn_math.h
 * compiled by cc. Host convolutions assembled from its index functions the way each
 * kernel uses them (direct forward by nnc_src, direct transposed by nnc_tr_src, im2col +
 * a plain GEMM + bias/activation, transposed as W^T x then col2im by nnc_tr_range /
 * nnc_tr_tap / nnc_z_index) and the flash kernel's own per-thread pieces (nn_fl_*, run for
 * every thread of every block, the warp shuffles as a butterfly) pass conv1d's and
 * attention's float64 references within the ops' tolerances;
 * a conv that drops its causal padding and a softmax merge that skips the rescale fail.
 * en_math.h (cuda/encodec): reflect padding at worked points, the LSTM cell in double. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../impls/cuda/en_math.h"
#include "../impls/cuda/nn_math.h"
#include "check.h"
#include "op.h"
#include "params.h"

static uint64_t nm_seed = 0x77aa1234ull;

static float nm_rand(void) /* splitmix64 to [-1, 1) */
{
    uint64_t z = (nm_seed += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return (float)((double)(z >> 40) * 0x1p-23 - 1.0);
}

/* op's params from "k=v,k=v" plus its defaults. */
static sono_params nm_params(const char *opname, const char *text)
{
    const sono_op *op = sono_op_find(opname);
    assert_non_null(op);
    sono_params p = {0};
    char *buf = strdup(text), *save = NULL;
    assert_non_null(buf);
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '=');
        assert_non_null(eq);
        *eq = '\0';
        const sono_param_spec *s = sono_op_param(op, tok);
        if (!s)
            fail_msg("%s has no parameter %s", opname, tok);
        sono_error err = {0};
        if (sono_param_parse(s, eq + 1, &p.v[p.count], &err))
            fail_msg("%s=%s: %s", tok, eq + 1, err.msg);
        p.count++;
    }
    free(buf);
    sono_params_defaults(op, &p);
    return p;
}

/* ---- conv1d --------------------------------------------------------------------------- */

enum { NM_DIRECT, NM_GEMM, NM_NO_PAD };

static nnc_dims nm_dims(const sono_params *p, int *transposed)
{
    nnc_dims c = {0};
    c.cin = sono_param_int(p, "cin", 0);
    c.cout = sono_param_int(p, "cout", 0);
    c.k = sono_param_int(p, "kernel", 0);
    c.stride = sono_param_int(p, "stride", 1);
    c.dil = sono_param_int(p, "dilation", 1);
    c.groups = sono_param_int(p, "groups", 1);
    c.T = sono_param_int(p, "length", 0);
    c.cig = c.cin / c.groups;
    c.cog = c.cout / c.groups;
    const char *act = sono_param_str(p, "activation", "none");
    c.act = !strcmp(act, "elu") ? 1 : !strcmp(act, "snake") ? 2 : 0;
    *transposed = (int)sono_param_int(p, "transposed", 0);
    int causal = (int)sono_param_int(p, "causal", 1);
    long long span = c.dil * (c.k - 1);
    if (*transposed) {
        long long full = (c.T - 1) * c.stride + span + 1;
        c.tout = full - (causal && span + 1 > c.stride ? span + 1 - c.stride : 0);
    } else {
        c.pad = causal ? span : 0;
        c.tout = (c.T + c.pad - span - 1) / c.stride + 1;
    }
    return c;
}

/* y [cout, tout] from the packed input, as the chosen kernel path computes it. */
static void nm_conv(const nnc_dims *c0, int transposed, int path, const float *in, float *y)
{
    nnc_dims cd = *c0;
    if (path == NM_NO_PAD)
        cd.pad = 0; /* the mutant: reads later input */
    const nnc_dims *c = &cd;
    const float *x = in, *w = x + c->cin * c->T;
    const float *b = w + c->cin * c->cog * c->k; /* W: cin*cog*k = cout*cig*k floats */
    const float *alpha = b + c->cout;
    if (path != NM_GEMM) { /* conv_direct: per output, channel by channel, tap by tap */
        for (long long co = 0; co < c->cout; co++) {
            long long g = co / c->cog, col = co - g * c->cog;
            for (long long t = 0; t < c->tout; t++) {
                float acc = b[co];
                for (long long ci = 0; ci < c->cig; ci++)
                    for (long long j = 0; j < c->k; j++) {
                        float wv = transposed ? w[((g * c->cig + ci) * c->cog + col) * c->k + j]
                                              : w[(co * c->cig + ci) * c->k + j];
                        long long u = transposed ? nnc_tr_src(c, t, j) : nnc_src(c, t, j);
                        if (u >= 0 && u < c->T)
                            acc += wv * x[(g * c->cig + ci) * c->T + u];
                    }
                y[co * c->tout + t] = nnc_act(c->act, acc, c->act == 2 ? alpha[co] : 1.0f);
            }
        }
        return;
    }
    if (!transposed) { /* im2col, then per group y_g = W_g col_g, then bias + act */
        long long rows = c->cin * c->k;
        float *col = malloc((size_t)(rows * c->tout) * sizeof *col);
        assert_non_null(col);
        for (long long e = 0; e < rows * c->tout; e++)
            col[e] = nnc_im2col_at(c, x, e);
        for (long long co = 0; co < c->cout; co++) {
            long long g = co / c->cog;
            const float *cg = col + g * c->cig * c->k * c->tout;
            for (long long t = 0; t < c->tout; t++) {
                float acc = 0;
                for (long long r = 0; r < c->cig * c->k; r++)
                    acc += w[co * c->cig * c->k + r] * cg[r * c->tout + t];
                y[co * c->tout + t] = nnc_act(c->act, acc + b[co],
                                              c->act == 2 ? alpha[co] : 1.0f);
            }
        }
        free(col);
        return;
    }
    /* transposed: Z_g = W_g^T x_g, then col2im */
    float *z = malloc((size_t)(c->cout * c->k * c->T) * sizeof *z);
    assert_non_null(z);
    for (long long co = 0; co < c->cout; co++) {
        long long g = co / c->cog, col = co - g * c->cog;
        for (long long j = 0; j < c->k; j++)
            for (long long t = 0; t < c->T; t++) {
                float acc = 0;
                for (long long ci = 0; ci < c->cig; ci++)
                    acc += w[((g * c->cig + ci) * c->cog + col) * c->k + j] *
                           x[(g * c->cig + ci) * c->T + t];
                z[nnc_z_index(c, co, j, t)] = acc;
            }
    }
    for (long long co = 0; co < c->cout; co++)
        for (long long u = 0; u < c->tout; u++) {
            long long lo, hi;
            nnc_tr_range(c, u, &lo, &hi);
            float acc = b[co];
            for (long long t = lo; t <= hi; t++) {
                long long j = nnc_tr_tap(c, u, t);
                if (j >= 0)
                    acc += z[nnc_z_index(c, co, j, t)];
            }
            y[co * c->tout + u] = nnc_act(c->act, acc, c->act == 2 ? alpha[co] : 1.0f);
        }
    free(z);
}

/* Whether the path's output of case `text` passes the op's reference at its tolerance. */
static int nm_conv_passes(const char *text, int path, char *detail, size_t n)
{
    const sono_op *op = sono_op_find("conv1d");
    sono_params p = nm_params("conv1d", text);
    sono_error err = {0};
    if (op->validate(&p, &err))
        fail_msg("%s: %s", text, err.msg);
    sono_buf bi, bo, br;
    op->shapes(&p, &bi, &bo);
    int transposed;
    nnc_dims c = nm_dims(&p, &transposed);
    assert_int_equal(bo.shape[0], c.cout);
    assert_int_equal(bo.shape[1], c.tout);
    long long nin = sono_buf_elems(&bi), nout = sono_buf_elems(&bo);
    float *in = malloc((size_t)nin * sizeof *in), *y = malloc((size_t)nout * sizeof *y);
    double *ref = malloc((size_t)nout * sizeof *ref);
    assert_true(in && y && ref);
    for (long long i = 0; i < nin; i++)
        in[i] = nm_rand();
    if (c.act == 2) /* Snake's alpha, the last cout values: in [0.25, 2) as the op draws */
        for (long long i = nin - c.cout; i < nin; i++)
            in[i] = 1.125f + 0.875f * nm_rand();
    br = bo;
    br.dtype = SONO_F64;
    br.data = ref;
    br.nbytes = (size_t)nout * sizeof *ref;
    bi.data = in;
    bi.nbytes = (size_t)nin * sizeof *in;
    if (op->reference(&p, &bi, &br, &err))
        fail_msg("%s reference: %s", text, err.msg);
    nm_conv(&c, transposed, path, in, y);
    bo.data = y;
    bo.nbytes = (size_t)nout * sizeof *y;
    sono_check ck;
    memset(&ck, 0, sizeof ck);
    double tol = op->tolerance(&p, SONO_ERR_LINEAR);
    if (sono_check_output(&bo, &br, tol, &ck, &err))
        fail_msg("%s check: %s", text, err.msg);
    snprintf(detail, n, "rel_l2 %.3g tol %.3g", ck.rel_l2, tol);
    free(in);
    free(y);
    free(ref);
    sono_params_free(&p);
    return ck.pass;
}

static const char *const nm_convs[] = {
    "cin=3,cout=4,kernel=3,length=40",
    "cin=3,cout=4,kernel=3,length=40,causal=0",
    "cin=4,cout=6,kernel=4,stride=2,length=41",
    "cin=4,cout=4,kernel=3,dilation=3,length=50,activation=elu",
    "cin=6,cout=4,kernel=5,stride=3,dilation=2,groups=2,length=61,causal=0",
    "cin=4,cout=4,kernel=7,groups=4,dilation=2,length=33,activation=snake",
    "cin=4,cout=6,kernel=4,stride=2,transposed=1,length=20",
    "cin=4,cout=6,kernel=4,stride=2,transposed=1,length=20,causal=0",
    "cin=6,cout=4,kernel=5,stride=3,dilation=2,groups=2,transposed=1,length=17",
    "cin=2,cout=2,kernel=2,stride=4,transposed=1,length=9,activation=elu",
    "cin=3,cout=3,kernel=3,dilation=2,transposed=1,groups=3,length=15,activation=snake",
    "cin=2,cout=3,kernel=1,length=7",
};

static void nm_conv_paths_pass_reference(void **state)
{
    (void)state;
    char detail[128];
    for (size_t i = 0; i < sizeof nm_convs / sizeof nm_convs[0]; i++)
        for (int path = NM_DIRECT; path <= NM_GEMM; path++)
            if (!nm_conv_passes(nm_convs[i], path, detail, sizeof detail))
                fail_msg("%s (%s): %s", nm_convs[i], path ? "im2col/col2im" : "direct", detail);
}

/* The check sees a missing causal pad (outputs shifted by (k-1)*dil) */
static void nm_conv_without_pad_fails(void **state)
{
    (void)state;
    char detail[128];
    assert_false(nm_conv_passes("cin=3,cout=4,kernel=3,dilation=2,length=40", NM_NO_PAD,
                                detail, sizeof detail));
}

/* Index helpers at hand-worked points. */
static void nm_conv_indices(void **state)
{
    (void)state;
    nnc_dims c = {.cin = 2, .cout = 2, .k = 3, .stride = 2, .dil = 3, .groups = 1, .T = 10,
                  .pad = 6, .cig = 2, .cog = 2};
    assert_int_equal(nnc_src(&c, 0, 0), -6); /* causal zeros */
    assert_int_equal(nnc_src(&c, 0, 2), 0);  /* output 0 sees input 0 last */
    assert_int_equal(nnc_src(&c, 4, 1), 5);
    /* transposed, stride 2, dil 3, k 3: u = 7 takes t=2 via tap 1 (7-4=3) and t=2 only */
    assert_int_equal(nnc_tr_src(&c, 7, 1), 2);
    assert_int_equal(nnc_tr_src(&c, 7, 0), -1); /* 7 is odd */
    assert_int_equal(nnc_tr_src(&c, 7, 2), -1); /* 7 - 6 = 1, odd */
    long long lo, hi;
    nnc_tr_range(&c, 7, &lo, &hi); /* span 6: t in [ceil(1/2), 3] = [1, 3] */
    assert_int_equal(lo, 1);
    assert_int_equal(hi, 3);
    assert_int_equal(nnc_tr_tap(&c, 7, 2), 1);
    assert_int_equal(nnc_tr_tap(&c, 7, 3), -1); /* 7 - 6 = 1, not a multiple of 3 */
    assert_int_equal(nnc_tr_tap(&c, 7, 1), -1); /* 5: not a multiple of 3 */
    assert_true(fabsf(nnc_act(1, -1.0f, 1.0f) - (float)expm1(-1.0)) < 1e-6f);
    assert_true(nnc_act(1, 2.0f, 1.0f) == 2.0f);
    float sn = nnc_act(2, 0.5f, 2.0f); /* 0.5 + sin^2(1)/2 */
    assert_true(fabs(sn - (0.5 + sin(1.0) * sin(1.0) / 2)) < 1e-6);
}

/* ---- attention -------------------------------------------------------------------------- */

/* cu_flash_launch (nn_kernels.cu) on the host: every block (NN_FT / tpq queries of one
 * head) and every thread of it running the kernel's own pieces (nn_fl_*, NN_FL_SCORE)
 * in its phases: the tile load by all threads (then the barrier), each thread's partial
 * dots, the __shfl_xor_sync butterfly that sums a query's tpq parts (lane t adds lane
 * t ^ w's value, w = 1, 2, ..), the masking, the tile's weights, nn_os_merge and the
 * accumulation, then the store. skip_rescale: the mutant that forgets fa. */
static void nm_flash(const float *Q, const float *K, const float *V, float *O, long long H,
                     long long S, int d, int causal, int skip_rescale)
{
    int tpq = nn_fl_tpq(d), bq = NN_FT / tpq;
    float scale = 1.0f / sqrtf((float)d);
    static float ks[NN_FK * 4 * NN_FPAD], vs[NN_FK * 4 * NN_FPAD];
    static float qr[NN_FT][32], acc[NN_FT][32], sc[NN_FT][NN_FK];
    nn_os st[NN_FT];
    for (long long h = 0; h < H; h++)
        for (long long q0 = 0; q0 < S; q0 += bq) { /* one block */
            const float *qh = Q + h * S * d, *kh = K + h * S * d, *vh = V + h * S * d;
            for (int t = 0; t < NN_FT; t++) {
                nn_fl_begin(qh, q0 + t / tpq, S, d, t % tpq, scale, qr[t], acc[t]);
                st[t] = (nn_os){-INFINITY, 0.0f};
            }
            long long kend = nn_fl_kend(q0, bq, S, causal);
            for (long long k0 = 0; k0 < kend; k0 += NN_FK) {
                for (int t = 0; t < NN_FT; t++)
                    nn_fl_load(kh, vh, ks, vs, k0, S, d, tpq, t);
                float bm[NN_FT];
                for (int t = 0; t < NN_FT; t++)
                    bm[t] = -INFINITY;
                for (int j = 0; j < NN_FK; j++) {
                    float s[NN_FT], sum[NN_FT];
                    for (int t = 0; t < NN_FT; t++)
                        s[t] = nn_fl_dot(qr[t], ks, tpq, t % tpq, j);
                    for (int w = 1; w < tpq; w <<= 1) {
                        for (int t = 0; t < NN_FT; t++)
                            sum[t] = s[t] + s[t ^ w];
                        memcpy(s, sum, sizeof s);
                    }
                    for (int t = 0; t < NN_FT; t++) {
                        long long i = q0 + t / tpq;
                        sc[t][j] = NN_FL_SCORE(s[t], k0 + j, i, S, causal);
                        bm[t] = fmaxf(bm[t], sc[t][j]);
                    }
                }
                for (int t = 0; t < NN_FT; t++) {
                    float bl = nn_fl_exp(sc[t], bm[t]), fa, fb;
                    st[t] = nn_os_merge(st[t], bm[t], bl, &fa, &fb);
                    if (skip_rescale)
                        fa = 1.0f;
                    nn_fl_accum(acc[t], sc[t], fa, fb, vs, tpq, t % tpq);
                }
            }
            for (int t = 0; t < NN_FT; t++)
                if (q0 + t / tpq < S)
                    nn_fl_store(O + h * S * d, q0 + t / tpq, d, t % tpq, acc[t], st[t].l);
        }
}

static int nm_attn_passes(long long S, long long H, int d, int causal, int mutant)
{
    char text[128];
    snprintf(text, sizeof text, "seq=%lld,heads=%lld,head_dim=%d,causal=%d", S, H, d, causal);
    const sono_op *op = sono_op_find("attention");
    sono_params p = nm_params("attention", text);
    sono_buf bi, bo, br;
    op->shapes(&p, &bi, &bo);
    long long n = H * S * d;
    float *in = malloc((size_t)(3 * n) * sizeof *in), *o = malloc((size_t)n * sizeof *o);
    double *ref = malloc((size_t)n * sizeof *ref);
    assert_true(in && o && ref);
    for (long long i = 0; i < 3 * n; i++) /* scores spread enough that rescaling matters */
        in[i] = 2.0f * nm_rand();
    bi.data = in;
    bi.nbytes = (size_t)(3 * n) * sizeof *in;
    br = bo;
    br.dtype = SONO_F64;
    br.data = ref;
    br.nbytes = (size_t)n * sizeof *ref;
    sono_error err = {0};
    if (op->reference(&p, &bi, &br, &err))
        fail_msg("%s reference: %s", text, err.msg);
    nm_flash(in, in + n, in + 2 * n, o, H, S, d, causal, mutant);
    bo.data = o;
    bo.nbytes = (size_t)n * sizeof *o;
    sono_check ck;
    memset(&ck, 0, sizeof ck);
    if (sono_check_output(&bo, &br, op->tolerance(&p, SONO_ERR_LINEAR), &ck, &err))
        fail_msg("%s check: %s", text, err.msg);
    free(in);
    free(o);
    free(ref);
    sono_params_free(&p);
    return ck.pass;
}

static void nm_flash_passes_reference(void **state)
{
    (void)state;
    static const long long seqs[] = {1, 5, 32, 33, 100};
    static const int ds[] = {1, 8, 64, 128};
    for (int a = 0; a < 5; a++)
        for (int b = 0; b < 4; b++)
            for (int causal = 0; causal <= 1; causal++)
                if (!nm_attn_passes(seqs[a], 2, ds[b], causal, 0))
                    fail_msg("seq=%lld d=%d causal=%d fails", seqs[a], ds[b], causal);
}

static void nm_flash_without_rescale_fails(void **state)
{
    (void)state;
    assert_false(nm_attn_passes(100, 1, 16, 0, 1));
}

/* The merge of two halves equals the whole: max and sum of exp in double. */
static void nm_merge_matches_whole(void **state)
{
    (void)state;
    float s[64];
    for (int i = 0; i < 64; i++)
        s[i] = 8.0f * nm_rand();
    for (int cut = 1; cut < 64; cut += 7) {
        nn_os st = {-INFINITY, 0.0f};
        int bounds[3] = {0, cut, 64};
        for (int part = 0; part < 2; part++) {
            float bm = -INFINITY, bl = 0, fa, fb;
            for (int i = bounds[part]; i < bounds[part + 1]; i++)
                bm = s[i] > bm ? s[i] : bm;
            for (int i = bounds[part]; i < bounds[part + 1]; i++)
                bl += expf(s[i] - bm);
            st = nn_os_merge(st, bm, bl, &fa, &fb);
        }
        double m = -INFINITY, l = 0;
        for (int i = 0; i < 64; i++)
            m = s[i] > m ? s[i] : m;
        for (int i = 0; i < 64; i++)
            l += exp(s[i] - m);
        assert_true(st.m == (float)m);
        assert_true(fabs(st.l - l) <= 1e-5 * l);
    }
    /* an all-masked block changes nothing; the first real block replaces the empty past */
    float fa, fb;
    nn_os st = {-INFINITY, 0.0f};
    st = nn_os_merge(st, -INFINITY, 0.0f, &fa, &fb);
    assert_true(st.m == -INFINITY && st.l == 0.0f && fb == 0.0f);
    st = nn_os_merge(st, 2.0f, 3.0f, &fa, &fb);
    assert_true(st.m == 2.0f && st.l == 3.0f && fa == 0.0f && fb == 1.0f);
}

/* ---- cuda/encodec ---------------------------------------------------------------------- */

static void nm_en_pad(void **state)
{
    (void)state;
    /* L 5, pads 3 and 2: x3 x2 x1 | x0 .. x4 | x3 x2 */
    static const long long want[10] = {3, 2, 1, 0, 1, 2, 3, 4, 3, 2};
    for (long long i = 0; i < 10; i++)
        assert_int_equal(en_pad_src(i, 5, 3, 2), want[i]);
    /* L 2 under a pad of 3: x is first zero-extended to x0 x1 0 0, then reflected:
     * 0 0 x1 | x0 x1 (the zeros are -1) */
    static const long long shortw[5] = {-1, -1, 1, 0, 1};
    for (long long i = 0; i < 5; i++)
        assert_int_equal(en_pad_src(i, 2, 3, 0), shortw[i]);
    for (long long i = 0; i < 4; i++) /* no padding: the identity */
        assert_int_equal(en_pad_src(i, 4, 0, 0), i);
}

/* Issue 11: the batched im2col's columns, enumerated in their stated order (row i*k + j,
 * clip s, step t), read xp [cin][S][lp] at clip s's t*stride + j*dil. */
static void nm_en_im2col_streams(void **state)
{
    (void)state;
    long long cin = 3, k = 4, stride = 2, dil = 3, S = 5, lout = 7;
    long long lp = (lout - 1) * stride + (k - 1) * dil + 1, e = 0;
    for (long long i = 0; i < cin; i++)
        for (long long j = 0; j < k; j++)
            for (long long s = 0; s < S; s++)
                for (long long t = 0; t < lout; t++, e++) {
                    long long want = i * S * lp + s * lp + t * stride + j * dil;
                    assert_int_equal(en_im2col_src(e, k, stride, dil, lp, lout, S), want);
                    assert_true(t * stride + j * dil < lp); /* inside the clip's row */
                }
    /* one clip: the plain im2col's index */
    for (e = 0; e < cin * k * lout; e++)
        assert_int_equal(en_im2col_src(e, k, stride, dil, lp, lout, 1),
                         (e / lout / k) * lp + (e % lout) * stride + (e / lout % k) * dil);
}

static void nm_en_lstm_cell(void **state)
{
    (void)state;
    for (int trial = 0; trial < 1000; trial++) {
        float g[4], c = 3.0f * nm_rand();
        for (int j = 0; j < 4; j++)
            g[j] = 6.0f * nm_rand();
        double cd = c, sg[4];
        for (int j = 0; j < 4; j++)
            sg[j] = 1.0 / (1.0 + exp(-(double)g[j]));
        double cn = sg[1] * cd + sg[0] * tanh((double)g[2]), hn = sg[3] * tanh(cn);
        float h = en_lstm_cell(g[0], g[1], g[2], g[3], &c);
        assert_true(fabs(c - cn) <= 1e-6 * (1 + fabs(cn)));
        assert_true(fabs(h - hn) <= 1e-6 * (1 + fabs(hn)));
    }
}

/* The flash kernel's shared-memory rows: every (key, dim) of a tile has its own float, the
 * tile fits the kernel's arrays, each 32-float part starts 16-byte aligned (float4 reads),
 * and the tpq parts of a row that a query's threads read at once start in distinct banks. */
static void nm_flash_smem_layout(void **state)
{
    (void)state;
    assert_int_equal(nn_fl_tpq(1), 1);
    assert_int_equal(nn_fl_tpq(32), 1);
    assert_int_equal(nn_fl_tpq(33), 2);
    assert_int_equal(nn_fl_tpq(64), 2);
    assert_int_equal(nn_fl_tpq(65), 4);
    assert_int_equal(nn_fl_tpq(NN_FD), 4);
    static unsigned char seen[NN_FK * 4 * NN_FPAD];
    for (int tpq = 1; tpq <= 4; tpq *= 2) {
        memset(seen, 0, sizeof seen);
        for (int j = 0; j < NN_FK; j++)
            for (int c = 0; c < 32 * tpq; c++) {
                int at = nn_fl_at(tpq, j, c);
                assert_true(at >= 0 && at < NN_FK * tpq * NN_FPAD);
                assert_int_equal(seen[at]++, 0);
                if (c % 32 == 0)
                    assert_int_equal(at % 4, 0);
            }
        for (int p = 0; p < tpq; p++)
            for (int r = 0; r < p; r++)
                assert_int_not_equal(nn_fl_at(tpq, 0, 32 * p) % 32 / 4,
                                     nn_fl_at(tpq, 0, 32 * r) % 32 / 4);
    }
    assert_true(NN_FT % 4 == 0 && NN_FT % 32 == 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(nm_conv_indices),
        cmocka_unit_test(nm_conv_paths_pass_reference),
        cmocka_unit_test(nm_conv_without_pad_fails),
        cmocka_unit_test(nm_merge_matches_whole),
        cmocka_unit_test(nm_flash_passes_reference),
        cmocka_unit_test(nm_flash_without_rescale_fails),
        cmocka_unit_test(nm_flash_smem_layout),
        cmocka_unit_test(nm_en_pad),
        cmocka_unit_test(nm_en_lstm_cell),
        cmocka_unit_test(nm_en_im2col_streams),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
