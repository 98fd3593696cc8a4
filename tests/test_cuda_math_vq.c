/* test_cuda_math_vq.c — the cuda quantisers' arithmetic without a GPU: vq_math.h compiled
 * by cc. The tie rule merged over lanes in any order agrees with one first-smallest scan;
 * host copies of the fused kernel's tiling (lanes, D chunks, running argmin, half-warp
 * merge) and of the cuBLAS path (scores then argmin), and of the RVQ residual stages, pass
 * the ops' float64 check (vq64.h); exact duplicate codewords go to the lower index. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../impls/cuda/vq_math.h"
#include "check.h"
#include "ops/ref/vq64.h"

static uint64_t vm_seed = 0x5eed1234ull;

/* splitmix64 to [-1, 1) */
static float vm_rand(void)
{
    uint64_t z = (vm_seed += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return (float)((double)(z >> 40) * 0x1p-23 - 1.0);
}

/* The xor tree of vq_reduce over `width` lanes, on the host. */
static void vm_tree(float *d, int *k, int width)
{
    for (int o = width / 2; o > 0; o /= 2) {
        float nd[32];
        int nk[32];
        for (int l = 0; l < width; l++) {
            nd[l] = d[l];
            nk[l] = k[l];
            if (vq_better(d[l ^ o], k[l ^ o], d[l], k[l])) {
                nd[l] = d[l ^ o];
                nk[l] = k[l ^ o];
            }
        }
        memcpy(d, nd, (size_t)width * sizeof *d);
        memcpy(k, nk, (size_t)width * sizeof *k);
    }
}

/* Scores with many exact ties: every lane split and tree gives the first smallest, in all
 * lanes (the kernels read lane 0). */
static void vm_ties_merge_in_any_order(void **state)
{
    (void)state;
    for (int trial = 0; trial < 200; trial++) {
        int K = 1 + trial % 97;
        float s[97];
        for (int k = 0; k < K; k++)
            s[k] = (float)(int)((vm_rand() + 1.0f) * 1.5f); /* 0, 1 or 2 */
        int first = 0;
        for (int k = 1; k < K; k++)
            if (s[k] < s[first])
                first = k;
        for (int width = 1; width <= 32; width *= 2) {
            float d[32];
            int kk[32];
            for (int l = 0; l < width; l++) {
                d[l] = INFINITY;
                kk[l] = VQ_NONE;
                for (int k = l; k < K; k += width) /* lane l scans k = l (mod width) */
                    if (vq_better(s[k], k, d[l], kk[l])) {
                        d[l] = s[k];
                        kk[l] = k;
                    }
            }
            vm_tree(d, kk, width);
            for (int l = 0; l < width; l++)
                assert_int_equal(kk[l], first);
        }
    }
    /* NaN never wins; an inf score still beats no codeword */
    assert_false(vq_better(NAN, 0, 1.0f, 5));
    assert_true(vq_better(INFINITY, 7, INFINITY, VQ_NONE));
    assert_false(vq_better(1.0f, 5, 1.0f, 4));
    assert_true(vq_better(1.0f, 4, 1.0f, 5));
}

/* The fused kernel's search for vectors x [T, D]: blocks of VQ_BV vectors, tiles of VQ_BK
 * codewords, lane tx's codewords by vq_lane_code, dot products summed chunk by chunk of
 * VQ_DC, then each vector's VQ_LANES lanes merged by the tree. */
static void vm_fused(const float *cb, const float *cn, const float *x, long long T, int K,
                     int D, int32_t *codes)
{
    for (long long t = 0; t < T; t++) {
        float bd[VQ_LANES];
        int bk[VQ_LANES];
        for (int tx = 0; tx < VQ_LANES; tx++) {
            bd[tx] = INFINITY;
            bk[tx] = VQ_NONE;
        }
        for (int k0 = 0; k0 < K; k0 += VQ_BK)
            for (int tx = 0; tx < VQ_LANES; tx++)
                for (int m = 0; m < VQ_BK / VQ_LANES; m++) {
                    int k = vq_lane_code(k0, tx, m);
                    if (k >= K)
                        break;
                    float acc = 0;
                    for (int j0 = 0; j0 < D; j0 += VQ_DC)
                        for (int j = j0; j < j0 + VQ_DC && j < D; j++)
                            acc += x[t * D + j] * cb[(long long)k * D + j];
                    float d = vq_score(cn[k], acc);
                    if (vq_better(d, k, bd[tx], bk[tx])) {
                        bd[tx] = d;
                        bk[tx] = k;
                    }
                }
        vm_tree(bd, bk, VQ_LANES);
        codes[t] = bk[0] == VQ_NONE ? 0 : bk[0];
    }
}

/* The cuBLAS path: the score row, then 32 lanes strided over it and the tree. */
static void vm_cublas(const float *cb, const float *cn, const float *x, long long T, int K,
                      int D, int32_t *codes)
{
    float *g = malloc((size_t)K * sizeof *g);
    assert_non_null(g);
    for (long long t = 0; t < T; t++) {
        for (int k = 0; k < K; k++) {
            float acc = 0;
            for (int j = 0; j < D; j++)
                acc += x[t * D + j] * cb[(long long)k * D + j];
            g[k] = acc;
        }
        float bd[32];
        int bk[32];
        for (int l = 0; l < 32; l++) {
            bd[l] = INFINITY;
            bk[l] = VQ_NONE;
            for (int k = l; k < K; k += 32)
                if (vq_better(vq_score(cn[k], g[k]), k, bd[l], bk[l])) {
                    bd[l] = vq_score(cn[k], g[k]);
                    bk[l] = k;
                }
        }
        vm_tree(bd, bk, 32);
        codes[t] = bk[0] == VQ_NONE ? 0 : bk[0];
    }
    free(g);
}

typedef void (*vm_search)(const float *, const float *, const float *, long long, int, int,
                          int32_t *);

/* RVQ as vq.c runs it: per stage the search on the residual, then r -= the codeword. */
static void vm_rvq(vm_search search, const float *cb, int n_q, int K, int D, const float *x,
                   long long T, int32_t *codes)
{
    float *r = malloc((size_t)(T * D) * sizeof *r), *cn = malloc((size_t)K * sizeof *cn);
    assert_non_null(r);
    assert_non_null(cn);
    memcpy(r, x, (size_t)(T * D) * sizeof *r);
    for (int s = 0; s < n_q; s++) {
        const float *book = cb + (long long)s * K * D;
        for (int k = 0; k < K; k++) {
            float a = 0;
            for (int j = 0; j < D; j++)
                a += book[(long long)k * D + j] * book[(long long)k * D + j];
            cn[k] = a;
        }
        search(book, cn, r, T, K, D, codes + (long long)s * T);
        for (long long t = 0; t < T; t++)
            for (int j = 0; j < D; j++)
                r[t * D + j] -= book[(long long)codes[(long long)s * T + t] * D + j];
    }
    free(r);
    free(cn);
}

/* Random codebooks and vectors at sizes that leave partial tiles and D chunks; both
 * searches pass the op's check at n_q 1 and 4. */
static void vm_search_passes_check(void **state)
{
    (void)state;
    static const int Ks[] = {1, 7, 64, 100, 130}, Ds[] = {1, 5, 32, 33, 70};
    vm_search searches[2] = {vm_fused, vm_cublas};
    for (int a = 0; a < 5; a++)
        for (int n_q = 1; n_q <= 4; n_q += 3)
            for (int w = 0; w < 2; w++) {
                int K = Ks[a], D = Ds[a];
                long long T = 37;
                float *cb = malloc((size_t)(n_q * K * D) * sizeof *cb);
                float *x = malloc((size_t)(T * D) * sizeof *x);
                int32_t *out = malloc((size_t)(n_q * T) * sizeof *out);
                int32_t *ref = malloc((size_t)(n_q * T) * sizeof *ref);
                assert_true(cb && x && out && ref);
                for (long long i = 0; i < n_q * K * D; i++)
                    cb[i] = vm_rand();
                for (long long i = 0; i < T * D; i++)
                    x[i] = vm_rand();
                vm_rvq(searches[w], cb, n_q, K, D, x, T, out);
                sono_rvq64_encode(cb, n_q, K, D, x, T, ref);
                sono_check c;
                memset(&c, 0, sizeof c);
                sono_rvq64_check(cb, n_q, K, D, x, T, out, ref, 2.0 * ldexp(1.0, -24), &c);
                if (!c.pass)
                    fail_msg("K=%d D=%d n_q=%d %s: %s", K, D, n_q, w ? "cublas" : "fused",
                             c.detail);
                free(cb);
                free(x);
                free(out);
                free(ref);
            }
}

/* Duplicate codewords: a vector equal to both goes to the lower index, in both paths,
 * whichever lane and tile each copy falls in. */
static void vm_duplicates_to_lower_index(void **state)
{
    (void)state;
    enum { K = 150, D = 40, T = 4 };
    static const int pairs[T][2] = {{3, 9}, {17, 1}, {70, 140}, {0, 149}};
    float *cb = malloc(K * D * sizeof *cb), x[T * D], cn[K];
    assert_non_null(cb);
    for (int i = 0; i < K * D; i++)
        cb[i] = vm_rand();
    for (int t = 0; t < T; t++) {
        int lo = pairs[t][0], hi = pairs[t][1];
        memcpy(cb + hi * D, cb + lo * D, D * sizeof *cb);
        memcpy(x + t * D, cb + lo * D, D * sizeof *cb);
    }
    for (int k = 0; k < K; k++) {
        float a = 0;
        for (int j = 0; j < D; j++)
            a += cb[k * D + j] * cb[k * D + j];
        cn[k] = a;
    }
    int32_t codes[T];
    vm_search searches[2] = {vm_fused, vm_cublas};
    for (int w = 0; w < 2; w++) {
        searches[w](cb, cn, x, T, K, D, codes);
        for (int t = 0; t < T; t++) {
            int lo = pairs[t][0] < pairs[t][1] ? pairs[t][0] : pairs[t][1];
            assert_int_equal(codes[t], lo);
        }
    }
    free(cb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(vm_ties_merge_in_any_order),
        cmocka_unit_test(vm_search_passes_check),
        cmocka_unit_test(vm_duplicates_to_lower_index),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
