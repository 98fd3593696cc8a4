/* test_cuda_math_flash.c — cuda/flash2's arithmetic without a GPU: fa2_math.h compiled by
 * cc. The mma fragment layouts (hand-checked entries of the PTX ISA's figures, and each a
 * bijection), a whole tile's mma emulated over the 32 lanes (fragments gathered by the
 * layouts, loaded by the kernel's own load functions from padded tiles) against a plain
 * matmul, P's reuse as A fragments (16-bit in registers, tf32 through the shuffle map),
 * the tile schedule against brute force, and the whole attention run warp by warp, lane by
 * lane as the kernel runs it, against op "attention"'s float64 reference in bf16, f16 and
 * tf32 within the op's tolerance; dropping the last key tile fails it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../impls/cuda/fa2_math.h"
#include "mma_emul.h"
#include "buf.h"
#include "check.h"
#include "op.h"
#include "params.h"

static uint64_t fm_seed = 0x5eed0fa2ull;

static float fm_rand(void) /* splitmix64 to [-1, 1) */
{
    uint64_t z = (fm_seed += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return (float)((double)(z >> 40) * 0x1p-23 - 1.0);
}

/* ---- layouts ------------------------------------------------------------------------------ */

/* Entries read off the PTX ISA's fragment figures (lane, element) -> (row, col). */
static void layouts_by_hand(void **state)
{
    (void)state;
    /* m16n8k16 A: lane 5 (g 1, t 1): a0 (1, 2), a3 (9, 3), a4 (1, 10), a7 (9, 11) */
    assert_int_equal(fa2_a16_row(5, 0), 1);
    assert_int_equal(fa2_a16_col(5, 0), 2);
    assert_int_equal(fa2_a16_row(5, 3), 9);
    assert_int_equal(fa2_a16_col(5, 3), 3);
    assert_int_equal(fa2_a16_row(5, 4), 1);
    assert_int_equal(fa2_a16_col(5, 4), 10);
    assert_int_equal(fa2_a16_row(5, 7), 9);
    assert_int_equal(fa2_a16_col(5, 7), 11);
    /* m16n8k16 B: lane 31 (g 7, t 3): b0 (k 6, n 7), b3 (k 15, n 7) */
    assert_int_equal(fa2_b16_k(31, 0), 6);
    assert_int_equal(fa2_b16_n(31, 0), 7);
    assert_int_equal(fa2_b16_k(31, 3), 15);
    /* m16n8k8 tf32 A: lane 6 (g 1, t 2): a0 (1, 2), a1 (9, 2), a2 (1, 6), a3 (9, 6) */
    assert_int_equal(fa2_a8_row(6, 1), 9);
    assert_int_equal(fa2_a8_col(6, 1), 2);
    assert_int_equal(fa2_a8_row(6, 2), 1);
    assert_int_equal(fa2_a8_col(6, 2), 6);
    /* tf32 B: lane 6: b0 (k 2, n 1), b1 (k 6, n 1) */
    assert_int_equal(fa2_b8_k(6, 1), 6);
    assert_int_equal(fa2_b8_n(6, 1), 1);
    /* C: lane 30 (g 7, t 2): c1 (7, 5), c2 (15, 4) */
    assert_int_equal(fa2_c_row(30, 1), 7);
    assert_int_equal(fa2_c_col(30, 1), 5);
    assert_int_equal(fa2_c_row(30, 2), 15);
    assert_int_equal(fa2_c_col(30, 2), 4);
    /* every C element once */
    int seen[16][8] = {{0}};
    for (int lane = 0; lane < 32; lane++)
        for (int i = 0; i < 4; i++)
            seen[fa2_c_row(lane, i)][fa2_c_col(lane, i)]++;
    for (int r = 0; r < 16; r++)
        for (int c = 0; c < 8; c++)
            assert_int_equal(seen[r][c], 1);
}

/* A padded tile of rows x d from values v (row-major rows x d), as the kernel keeps it. */
static void fm_tile16(const float *v, int rows, int d, int stride, int kind, uint16_t *t)
{
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < stride; c++)
            t[r * stride + c] = c < d ? fm_store16(v[r * d + c], kind) : 0x7fc0; /* pad: NaN */
}

static void fm_tilef(const float *v, int rows, int d, int stride, float *t)
{
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < stride; c++)
            t[r * stride + c] = c < d ? v[r * d + c] : NAN;
}

static float fm_on_grid(float x, int kind)
{
    if (kind == FA2_TF32)
        return fm_tf32(fa2_tf32_bits(x));
    uint32_t r = fa2_pack2(x, 0.0f, kind);
    return fm_elem(r, 0, kind);
}

/* S = Q K^T over a 16 x 64 tile (one warp, d columns) through the load functions and the
 * emulated mma, then O = P V with P from S's fragments, against plain matmuls in double. */
static void fm_tile_case(int kind, int d)
{
    int sqk = fa2_stride_qk(d, kind), sv = fa2_stride_v(d, kind);
    float *q = malloc(sizeof(float) * 16 * d), *k = malloc(sizeof(float) * FA2_BK * d),
          *v = malloc(sizeof(float) * FA2_BK * d);
    assert_true(q && k && v);
    for (int i = 0; i < 16 * d; i++)
        q[i] = fm_on_grid(fm_rand(), kind);
    for (int i = 0; i < FA2_BK * d; i++) {
        k[i] = fm_on_grid(fm_rand(), kind);
        v[i] = fm_on_grid(fm_rand(), kind);
    }
    uint16_t *q16 = malloc(2 * 16 * (size_t)sqk), *k16 = malloc(2 * FA2_BK * (size_t)sqk),
             *v16 = malloc(2 * FA2_BK * (size_t)sv);
    float *qf = malloc(4 * 16 * (size_t)sqk), *kf = malloc(4 * FA2_BK * (size_t)sqk),
          *vf = malloc(4 * FA2_BK * (size_t)sv);
    assert_true(q16 && k16 && v16 && qf && kf && vf);
    if (kind == FA2_TF32) {
        fm_tilef(q, 16, d, sqk, qf);
        fm_tilef(k, FA2_BK, d, sqk, kf);
        fm_tilef(v, FA2_BK, d, sv, vf);
    } else {
        fm_tile16(q, 16, d, sqk, kind, q16);
        fm_tile16(k, FA2_BK, d, sqk, kind, k16);
        fm_tile16(v, FA2_BK, d, sv, kind, v16);
    }
    static float s[32][FA2_NT][4];
    memset(s, 0, sizeof s);
    int ks = kind == FA2_TF32 ? 8 : 16;
    for (int kk = 0; kk < d / ks; kk++)
        for (int nt = 0; nt < FA2_NT; nt++) {
            uint32_t a[32][4], b[32][2];
            float c[32][4];
            for (int lane = 0; lane < 32; lane++) {
                if (kind == FA2_TF32) {
                    fa2_load_q8(qf, sqk, 0, kk, lane, a[lane]);
                    fa2_load_k8(kf, sqk, nt, kk, lane, b[lane]);
                } else {
                    fa2_load_q16(q16, sqk, 0, kk, lane, a[lane]);
                    fa2_load_k16(k16, sqk, nt, kk, lane, b[lane]);
                }
                memcpy(c[lane], s[lane][nt], sizeof c[lane]);
            }
            fm_mma(a, b, c, kind);
            for (int lane = 0; lane < 32; lane++)
                memcpy(s[lane][nt], c[lane], sizeof c[lane]);
        }
    for (int lane = 0; lane < 32; lane++)
        for (int nt = 0; nt < FA2_NT; nt++)
            for (int i = 0; i < 4; i++) {
                int r = fa2_c_row(lane, i), key = nt * 8 + fa2_c_col(lane, i);
                double want = 0;
                for (int c = 0; c < d; c++)
                    want += (double)q[r * d + c] * k[key * d + c];
                if (fabs(s[lane][nt][i] - want) > 1e-5 * d)
                    fail_msg("S[%d][%d]: %g, plain %g", r, key, s[lane][nt][i], want);
            }
    /* P: S scaled into [0, 1) so it looks like weights; its rounding to the kind is what
     * the mma reads, so the plain P V uses the rounded P */
    for (int lane = 0; lane < 32; lane++)
        for (int nt = 0; nt < FA2_NT; nt++)
            for (int i = 0; i < 4; i++)
                s[lane][nt][i] = fabsf(s[lane][nt][i]) / (float)d;
    static float P[16][FA2_BK];
    for (int lane = 0; lane < 32; lane++)
        for (int nt = 0; nt < FA2_NT; nt++)
            for (int i = 0; i < 4; i++)
                P[fa2_c_row(lane, i)][nt * 8 + fa2_c_col(lane, i)] =
                    fm_on_grid(s[lane][nt][i], kind);
    int nd = d / 8;
    float(*o)[16][4] = calloc(32, sizeof *o);
    assert_non_null(o);
    for (int kb = 0; kb < FA2_BK / ks; kb++) {
        uint32_t a[32][4];
        for (int lane = 0; lane < 32; lane++) {
            if (kind == FA2_TF32)
                for (int i = 0; i < 4; i++) { /* the shuffle: read the source lane's C */
                    int sl, se;
                    fa2_p8_src(lane, i, &sl, &se);
                    a[lane][i] = fa2_tf32_bits(s[sl][kb][se]);
                }
            else
                fa2_p_a16(s[lane], kb, kind, a[lane]);
        }
        for (int dn = 0; dn < nd; dn++) {
            uint32_t b[32][2];
            float c[32][4];
            for (int lane = 0; lane < 32; lane++) {
                if (kind == FA2_TF32)
                    fa2_load_v8(vf, sv, kb, dn, lane, b[lane]);
                else
                    fa2_load_v16(v16, sv, kb, dn, lane, b[lane]);
                memcpy(c[lane], o[lane][dn], sizeof c[lane]);
            }
            fm_mma(a, b, c, kind);
            for (int lane = 0; lane < 32; lane++)
                memcpy(o[lane][dn], c[lane], sizeof c[lane]);
        }
    }
    for (int lane = 0; lane < 32; lane++)
        for (int dn = 0; dn < nd; dn++)
            for (int i = 0; i < 4; i++) {
                int r = fa2_c_row(lane, i), col = dn * 8 + fa2_c_col(lane, i);
                double want = 0;
                for (int key = 0; key < FA2_BK; key++)
                    want += (double)P[r][key] * v[key * d + col];
                if (fabs(o[lane][dn][i] - want) > 1e-5 * FA2_BK)
                    fail_msg("kind %d: O[%d][%d]: %g, plain %g", kind, r, col, o[lane][dn][i],
                             want);
            }
    free(o);
    free(q);
    free(k);
    free(v);
    free(q16);
    free(k16);
    free(v16);
    free(qf);
    free(kf);
    free(vf);
}

static void tile_mma_vs_matmul(void **state)
{
    (void)state;
    for (int kind = 0; kind < 3; kind++) {
        fm_tile_case(kind, 64);
        fm_tile_case(kind, 128);
    }
}

/* ---- schedule ------------------------------------------------------------------------------ */

static void schedule_vs_brute_force(void **state)
{
    (void)state;
    const long long seqs[] = {1, 5, 63, 64, 65, 128, 200, 1000};
    for (size_t si = 0; si < sizeof seqs / sizeof seqs[0]; si++)
        for (int causal = 0; causal < 2; causal++) {
            long long seq = seqs[si];
            int nqt = (int)((seq + FA2_BQ - 1) / FA2_BQ), nkt = (int)((seq + FA2_BK - 1) / FA2_BK);
            int *hit = calloc((size_t)nqt, sizeof *hit);
            assert_non_null(hit);
            for (int bx = 0; bx < nqt; bx++) {
                int qt = fa2_qtile(bx, nqt);
                assert_true(qt >= 0 && qt < nqt);
                hit[qt]++;
            }
            for (int qt = 0; qt < nqt; qt++) {
                assert_int_equal(hit[qt], 1);
                for (int kt = 0; kt < nkt; kt++) {
                    int any = 0, all = 1;
                    for (long long r = (long long)qt * FA2_BQ; r < (qt + 1LL) * FA2_BQ; r++)
                        for (long long j = (long long)kt * FA2_BK; j < (kt + 1LL) * FA2_BK; j++) {
                            int vis = j < seq && (!causal || j <= r);
                            if (r < seq)
                                any |= vis;
                            all &= vis;
                        }
                    int visited = kt < fa2_key_tiles(qt, seq, causal);
                    if (any && !visited)
                        fail_msg("seq %lld causal %d: tile (%d, %d) has visible keys, skipped",
                                 seq, causal, qt, kt);
                    if (causal && !any)
                        assert_false(visited); /* causal tiles past the diagonal: skipped */
                    if (visited && !fa2_tile_masked(qt, kt, seq, causal) && !all)
                        fail_msg("seq %lld causal %d: tile (%d, %d) unmasked with hidden keys",
                                 seq, causal, qt, kt);
                }
            }
            free(hit);
        }
}

/* ---- the whole attention ------------------------------------------------------------------ */

static sono_params fm_params(long long seq, long long heads, long long d, int causal,
                             const char *dtype)
{
    const sono_op *op = sono_op_find("attention");
    sono_params p = {0};
    char v[4][32];
    snprintf(v[0], 32, "%lld", seq);
    snprintf(v[1], 32, "%lld", heads);
    snprintf(v[2], 32, "%lld", d);
    snprintf(v[3], 32, "%d", causal);
    const char *names[] = {"seq", "heads", "head_dim", "causal", "dtype"};
    const char *vals[] = {v[0], v[1], v[2], v[3], dtype};
    for (int i = 0; i < 5; i++) {
        sono_error err = {0};
        assert_int_equal(sono_param_parse(sono_op_param(op, names[i]), vals[i],
                                          &p.v[p.count++], &err), 0);
    }
    sono_params_defaults(op, &p);
    return p;
}

/* One head of the kernel, block by block and warp by warp, lanes emulated; drop_last: skip
 * each query tile's last key tile (a wrong schedule). */
static void fm_head(const float *Q, const float *K, const float *V, float *O, long long seq,
                    int d, int causal, int kind, int drop_last)
{
    int sqk = fa2_stride_qk(d, kind), sv = fa2_stride_v(d, kind), nd = d / 8;
    int ks = kind == FA2_TF32 ? 8 : 16;
    int nqt = (int)((seq + FA2_BQ - 1) / FA2_BQ);
    float scale_log2 = (float)(1.4426950408889634 / sqrt((double)d));
    size_t es = kind == FA2_TF32 ? 4 : 2;
    void *qs = calloc((size_t)FA2_BQ * sqk, es), *kt_s = calloc((size_t)FA2_BK * sqk, es),
         *vt_s = calloc((size_t)FA2_BK * sv, es);
    float(*o)[16][4] = calloc(32, sizeof *o);
    assert_true(qs && kt_s && vt_s && o);
    /* a tile of rows [r0, r0 + 64) of a [seq, d] matrix, rows past seq zero (cp.async's
     * zero-fill) */
    for (int bx = 0; bx < nqt; bx++) {
        int qt = fa2_qtile(bx, nqt);
        for (int r = 0; r < FA2_BQ; r++)
            for (int c = 0; c < d; c++) {
                long long row = (long long)qt * FA2_BQ + r;
                float x = row < seq ? Q[row * d + c] : 0.0f;
                if (kind == FA2_TF32)
                    ((float *)qs)[r * sqk + c] = x;
                else
                    ((uint16_t *)qs)[r * sqk + c] = fm_store16(x, kind);
            }
        for (int w = 0; w < FA2_WARPS; w++) {
            static float s[32][FA2_NT][4];
            float m[32][2], l[32][2];
            for (int lane = 0; lane < 32; lane++) {
                m[lane][0] = m[lane][1] = -INFINITY;
                l[lane][0] = l[lane][1] = 0;
                memset(o[lane], 0, sizeof o[lane]);
            }
            long long row0 = (long long)qt * FA2_BQ + w * 16;
            int nkt = fa2_key_tiles(qt, seq, causal) - (drop_last ? 1 : 0);
            for (int kt = 0; kt < nkt; kt++) {
                for (int r = 0; r < FA2_BK; r++)
                    for (int c = 0; c < d; c++) {
                        long long key = (long long)kt * FA2_BK + r;
                        float xk = key < seq ? K[key * d + c] : 0.0f;
                        float xv = key < seq ? V[key * d + c] : 0.0f;
                        if (kind == FA2_TF32) {
                            ((float *)kt_s)[r * sqk + c] = xk;
                            ((float *)vt_s)[r * sv + c] = xv;
                        } else {
                            ((uint16_t *)kt_s)[r * sqk + c] = fm_store16(xk, kind);
                            ((uint16_t *)vt_s)[r * sv + c] = fm_store16(xv, kind);
                        }
                    }
                memset(s, 0, sizeof s);
                for (int kk = 0; kk < d / ks; kk++)
                    for (int nt = 0; nt < FA2_NT; nt++) {
                        uint32_t a[32][4], b[32][2];
                        float c[32][4];
                        for (int lane = 0; lane < 32; lane++) {
                            if (kind == FA2_TF32) {
                                fa2_load_q8(qs, sqk, w * 16, kk, lane, a[lane]);
                                fa2_load_k8(kt_s, sqk, nt, kk, lane, b[lane]);
                            } else {
                                fa2_load_q16(qs, sqk, w * 16, kk, lane, a[lane]);
                                fa2_load_k16(kt_s, sqk, nt, kk, lane, b[lane]);
                            }
                            memcpy(c[lane], s[lane][nt], sizeof c[lane]);
                        }
                        fm_mma(a, b, c, kind);
                        for (int lane = 0; lane < 32; lane++)
                            memcpy(s[lane][nt], c[lane], sizeof c[lane]);
                    }
                float mx[32][2];
                for (int lane = 0; lane < 32; lane++) {
                    fa2_scale_mask(s[lane], scale_log2, fa2_tile_masked(qt, kt, seq, causal),
                                   row0, (long long)kt * FA2_BK, seq, causal, lane);
                    fa2_tile_max(s[lane], mx[lane]);
                }
                /* __shfl_xor_sync 1 then 2 over the group's lanes */
                for (int step = 1; step <= 2; step <<= 1) {
                    float t[32][2];
                    for (int lane = 0; lane < 32; lane++)
                        for (int r = 0; r < 2; r++)
                            t[lane][r] = fmaxf(mx[lane][r], mx[lane ^ step][r]);
                    memcpy(mx, t, sizeof t);
                }
                for (int lane = 0; lane < 32; lane++)
                    fa2_softmax_step(s[lane], mx[lane], m[lane], l[lane], o[lane], nd);
                for (int kb = 0; kb < FA2_BK / ks; kb++) {
                    uint32_t a[32][4];
                    for (int lane = 0; lane < 32; lane++) {
                        if (kind == FA2_TF32)
                            for (int i = 0; i < 4; i++) {
                                int sl, se;
                                fa2_p8_src(lane, i, &sl, &se);
                                a[lane][i] = fa2_tf32_bits(s[sl][kb][se]);
                            }
                        else
                            fa2_p_a16(s[lane], kb, kind, a[lane]);
                    }
                    for (int dn = 0; dn < nd; dn++) {
                        uint32_t b[32][2];
                        float c[32][4];
                        for (int lane = 0; lane < 32; lane++) {
                            if (kind == FA2_TF32)
                                fa2_load_v8(vt_s, sv, kb, dn, lane, b[lane]);
                            else
                                fa2_load_v16(vt_s, sv, kb, dn, lane, b[lane]);
                            memcpy(c[lane], o[lane][dn], sizeof c[lane]);
                        }
                        fm_mma(a, b, c, kind);
                        for (int lane = 0; lane < 32; lane++)
                            memcpy(o[lane][dn], c[lane], sizeof c[lane]);
                    }
                }
            }
            for (int step = 1; step <= 2; step <<= 1) {
                float t[32][2];
                for (int lane = 0; lane < 32; lane++)
                    for (int r = 0; r < 2; r++)
                        t[lane][r] = l[lane][r] + l[lane ^ step][r];
                memcpy(l, t, sizeof t);
            }
            for (int lane = 0; lane < 32; lane++)
                for (int dn = 0; dn < nd; dn++)
                    for (int i = 0; i < 4; i++) {
                        long long row = row0 + fa2_c_row(lane, i);
                        if (row < seq)
                            O[row * d + dn * 8 + fa2_c_col(lane, i)] =
                                o[lane][dn][i] * (1.0f / l[lane][i >> 1]);
                    }
        }
    }
    free(qs);
    free(kt_s);
    free(vt_s);
    free(o);
}

/* rel_l2 of the emulated kernel against the reference, and whether it passes */
static int fm_attention(long long seq, long long heads, int d, int causal, int kind,
                        int drop_last, double *rel, double *tol)
{
    static const char *const names[] = {"bf16", "f16", "tf32"};
    const sono_op *op = sono_op_find("attention");
    sono_params p = fm_params(seq, heads, d, causal, names[kind]);
    sono_buf in, out, ref;
    sono_error err = {0};
    op->shapes(&p, &in, &out);
    ref = out;
    ref.dtype = SONO_F64;
    assert_int_equal(sono_buf_alloc(&in, &err), 0);
    assert_int_equal(sono_buf_alloc(&out, &err), 0);
    assert_int_equal(sono_buf_alloc(&ref, &err), 0);
    assert_int_equal(op->input(&p, NULL, 0, &in, &err), 0);
    long long n = heads * seq * d;
    const float *x = in.data;
    for (long long h = 0; h < heads; h++)
        fm_head(x + h * seq * d, x + n + h * seq * d, x + 2 * n + h * seq * d,
                (float *)out.data + h * seq * d, seq, d, causal, kind, drop_last);
    assert_int_equal(op->reference(&p, &in, &ref, &err), 0);
    sono_check ck;
    *tol = op->tolerance(&p, SONO_ERR_LINEAR);
    assert_int_equal(sono_check_output(&out, &ref, *tol, &ck, &err), 0);
    *rel = ck.rel_l2;
    sono_buf_free(&in);
    sono_buf_free(&out);
    sono_buf_free(&ref);
    sono_params_free(&p);
    return ck.pass;
}

static void attention_emulated_vs_reference(void **state)
{
    (void)state;
    const long long seqs[] = {1, 63, 100, 192};
    for (int kind = 0; kind < 3; kind++)
        for (int d = 64; d <= 128; d += 64)
            for (size_t si = 0; si < sizeof seqs / sizeof seqs[0]; si++)
                for (int causal = 0; causal < 2; causal++) {
                    double rel, tol;
                    int ok = fm_attention(seqs[si], 2, d, causal, kind, 0, &rel, &tol);
                    if (!ok)
                        fail_msg("kind %d d %d seq %lld causal %d: rel_l2 %.3g > tol %.3g",
                                 kind, d, seqs[si], causal, rel, tol);
                    if (si == 3 && causal)
                        print_message("kind %d d %d seq 192 causal: rel_l2 %.3g (tol %.3g)\n",
                                      kind, d, rel, tol);
                }
}

/* A schedule that drops each query tile's last key tile: the causal diagonal, where every
 * query's nearest keys are; the check must catch it. */
static void dropped_tile_fails(void **state)
{
    (void)state;
    for (int kind = 0; kind < 3; kind++) {
        double rel, tol;
        assert_false(fm_attention(192, 1, 64, 1, kind, 1, &rel, &tol));
        print_message("kind %d, last key tile dropped: rel_l2 %.3g > tol %.3g\n", kind, rel,
                      tol);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(layouts_by_hand),
        cmocka_unit_test(tile_mma_vs_matmul),
        cmocka_unit_test(schedule_vs_brute_force),
        cmocka_unit_test(attention_emulated_vs_reference),
        cmocka_unit_test(dropped_tile_fails),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
