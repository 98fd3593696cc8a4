/* vqtc_emul.h — cuda/vq-tc's kernel run on the host, block by block, warp by warp over 32
 * emulated lanes (mma_emul.h's mma through the fragment layouts), for
 * tests/test_cuda_math_vqtc.c (vq.encode) and _rvqtc.c (rvq.encode's stages): the tiles
 * as the kernel's shared memory holds them (16-bit storage, or float for tf32 and split
 * vectors), the same loads, fold and lane merge. Include after cmocka.h, vqtc_math.h and
 * mma_emul.h. */
#ifndef SONO_TESTS_VQTC_EMUL_H
#define SONO_TESTS_VQTC_EMUL_H

/* cn[k] = ||book[k]||^2 summed in float, as cu_vq_norms_launch does. */
static inline void vte_norms(const float *book, long long K, int D, float *cn)
{
    for (long long k = 0; k < K; k++) {
        float a = 0;
        for (int c = 0; c < D; c++)
            a += book[k * D + c] * book[k * D + c];
        cn[k] = a;
    }
}

/* codes for T vectors x [T][D] against book [K][D] (on kind's grid), norms cn; nsplit as
 * cu_vqtc_launch takes it (0: x on the 16-bit grid; n: float x split in n parts). */
static void vte_kernel(const float *book, const float *cn, const float *x, long long K, int D,
                       long long T, int kind, int nsplit, int *codes)
{
    int sb = vqt_stride_b(D, kind), sx = vqt_stride_x(D, kind, nsplit);
    int tf = kind == FA2_TF32, kstep = tf ? 8 : 16, np = nsplit ? nsplit : 1;
    int ntx = vqt_x_tiles(kind, nsplit);
    assert_true(vqt_xbytes(D, kind, nsplit) == (long long)ntx * VQT_BV * sx * (tf ? 4 : 2));
    uint16_t *xs16 = calloc((size_t)ntx * VQT_BV * sx, 2), *bs16 = calloc((size_t)VQT_BK * sb, 2);
    float *xsf = calloc((size_t)VQT_BV * sx, 4), *bsf = calloc((size_t)VQT_BK * sb, 4);
    assert_true(xs16 && bs16 && xsf && bsf);
    long long nblocks = (T + VQT_BV - 1) / VQT_BV;
    int ntiles = (int)((K + VQT_BK - 1) / VQT_BK);
    for (long long blk = 0; blk < nblocks; blk++) {
        long long v0 = blk * VQT_BV;
        for (int e = 0; e < VQT_BV * D; e++) { /* the kernel's fill, element by element */
            int r = e / D, c = e % D;
            float v = v0 + r < T ? x[(v0 + r) * D + c] : 0.0f;
            if (tf)
                xsf[r * sx + c] = v;
            else if (nsplit)
                vqt_fill_parts(xs16, sx, D, e, v, np, kind);
            else
                xs16[r * sx + c] = fm_store16(v, kind);
        }
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
                    float v = k < K ? book[k * D + c] : 0.0f;
                    if (tf)
                        bsf[r * sb + c] = v;
                    else
                        bs16[r * sb + c] = fm_store16(v, kind);
                }
            for (int w = 0; w < VQT_WARPS; w++) {
                memset(s, 0, sizeof s);
                for (int kk = 0; kk < D / kstep; kk++) {
                    static uint32_t a[VQT_MAXSPLIT][32][4];
                    for (int p = 0; p < np; p++)
                        for (int lane = 0; lane < 32; lane++) {
                            if (!tf)
                                fa2_load_q16(xs16 + p * VQT_BV * sx, sx, w * 16, kk, lane,
                                             a[p][lane]);
                            else
                                vqt_load_a_split(xsf, sx, w * 16, kk, lane, p, kind,
                                                 a[p][lane]);
                        }
                    for (int nt = 0; nt < FA2_NT; nt++) {
                        uint32_t b[32][2];
                        float c[32][4];
                        for (int lane = 0; lane < 32; lane++) {
                            if (tf)
                                fa2_load_k8(bsf, sb, nt, kk, lane, b[lane]);
                            else
                                fa2_load_k16(bs16, sb, nt, kk, lane, b[lane]);
                            memcpy(c[lane], s[lane][nt], sizeof c[lane]);
                        }
                        for (int p = 0; p < np; p++)
                            fm_mma(a[p], b, c, kind);
                        for (int lane = 0; lane < 32; lane++)
                            memcpy(s[lane][nt], c[lane], sizeof c[lane]);
                    }
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
    free(xs16);
    free(bs16);
    free(xsf);
    free(bsf);
}

#endif
