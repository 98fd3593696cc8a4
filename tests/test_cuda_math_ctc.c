/* test_cuda_math_ctc.c — the cuda CTC decoders' arithmetic without a GPU: ctc_math.h
 * compiled by cc. Float keys order as the floats; the radix select's step finds the k-th
 * largest key with ties; log-sum-exp and the beam masses against double; prefix hashes
 * distinct over every short sequence; and a host copy of ctc_kernels.cu's beam search (one
 * frame at a time: the beam + 1 best labels by key select, hash-found parents and merges,
 * the heaviest candidates by key select with ties) passing ctc.beam's float64 check on the
 * op's inputs and exact cases. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../impls/cuda/ctc_math.h"
#include "buf.h"
#include "check.h"
#include "op.h"

static uint64_t cm_seed = 0x5eedc7c0ull;
static double cm_u(void) /* splitmix64 to [0, 1) */
{
    uint64_t z = (cm_seed += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return (double)(z >> 11) * 0x1p-53;
}

static void keys_order(void **state)
{
    (void)state;
    float f[] = {-INFINITY, -1e30f, -3.5f, -1.0f, -1e-30f, -0.0f, 1e-30f, 2.0f, 1e30f, INFINITY};
    size_t n = sizeof f / sizeof f[0];
    for (size_t i = 0; i + 1 < n; i++)
        assert_true(ctc_key(f[i]) < ctc_key(f[i + 1]) ||
                    (f[i] == 0 && f[i + 1] == 0)); /* -0 and +0 may differ by one */
    assert_true(ctc_key(-INFINITY) > 0); /* 0 is free for "excluded" */
    for (int r = 0; r < 100000; r++) {
        float a = (float)((cm_u() - 0.5) * 200), b = (float)((cm_u() - 0.5) * 200);
        assert_int_equal(a < b, ctc_key(a) < ctc_key(b));
    }
}

/* The kernel's block_kth, one thread. */
static uint32_t cm_kth(const uint32_t *key, int n, int k)
{
    uint32_t thr = 0;
    for (int b = 31; b >= 0; b--) {
        uint32_t bit = 1u << b, want = thr | bit;
        long long c = 0;
        for (int j = 0; j < n; j++)
            c += key[j] >= want;
        thr = ctc_select_step(thr, bit, c, k);
    }
    return thr;
}

static int cm_desc(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

static void select_kth(void **state)
{
    (void)state;
    for (int r = 0; r < 200; r++) {
        int n = 1 + (int)(cm_u() * 300), k = 1 + (int)(cm_u() * n);
        uint32_t key[300], s[300];
        for (int j = 0; j < n; j++) /* few distinct values: ties */
            key[j] = ctc_key((float)-floor(cm_u() * (r % 2 ? 8 : 1e6)));
        memcpy(s, key, sizeof key);
        qsort(s, (size_t)n, sizeof *s, cm_desc);
        assert_int_equal(cm_kth(key, n, k), s[k - 1]);
    }
}

static void masses(void **state)
{
    (void)state;
    for (int r = 0; r < 10000; r++) {
        float a = (float)(-cm_u() * 50), b = (float)(-cm_u() * 50), c = (float)(-cm_u() * 5);
        double l = log(exp((double)a) + exp((double)b));
        assert_true(fabs(ctc_lse(a, b) - l) < 4e-7 * (1 + fabs(l)));
        assert_true(ctc_lse(-INFINITY, b) == b && ctc_lse(a, -INFINITY) == a);
        float pb2, pnb2;
        ctc_stay(a, b, c, 1, c * 2, &pb2, &pnb2);
        assert_true(fabs(pb2 - (l + c)) < 4e-7 * (1 + fabs(l + c)));
        assert_true(pnb2 == b + c * 2);
        ctc_stay(a, b, c, 0, 0, &pb2, &pnb2);
        assert_true(pnb2 == -INFINITY);
        assert_true(ctc_ext(a, b, 1, c) == a + c);
        assert_true(fabs(ctc_ext(a, b, 0, c) - (l + c)) < 4e-7 * (1 + fabs(l + c)));
    }
}

static int cm_cmp64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Every sequence of up to 5 labels from 1..6 hashes differently, and never to 0 or the
 * root's. */
static void hashes_distinct(void **state)
{
    (void)state;
    size_t cap = 1 + 6 + 36 + 216 + 1296 + 7776, n = 0;
    uint64_t *h = malloc(cap * sizeof *h);
    assert_non_null(h);
    h[n++] = CTC_ROOT_HASH;
    for (size_t lo = 0, hi = 1, len = 0; len < 5; len++) {
        for (size_t i = lo; i < hi; i++)
            for (int c = 1; c <= 6; c++)
                h[n++] = ctc_hash_ext(h[i], c);
        lo = hi;
        hi = n;
    }
    assert_int_equal(n, cap);
    for (size_t i = 0; i < n; i++)
        assert_true(h[i] != CTC_NO_PARENT);
    qsort(h, n, sizeof *h, cm_cmp64);
    for (size_t i = 0; i + 1 < n; i++)
        assert_true(h[i] != h[i + 1]);
    free(h);
}

/* ---- a host copy of ctc_kernels.cu's beam search ------------------------------------- */

typedef struct cm_ent {
    uint64_t h, ph;
    int node, last;
    float pb, pnb;
} cm_ent;

/* Decode one utterance lp [T, V] as the kernel does, sequentially; row [T + 1]. */
static void cm_beam(const float *lp, int T, int V, int beam, float prune, int32_t *row)
{
    size_t nodes = (size_t)T * beam + 1, N = (size_t)beam * (beam + 2);
    int *par = malloc(nodes * sizeof *par), *lab = malloc(nodes * sizeof *lab);
    cm_ent *A = malloc(beam * sizeof *A), *Z = malloc(beam * sizeof *Z);
    float *cs = malloc(N * sizeof *cs), *sp = malloc(beam * 4), *snb = malloc(beam * 4);
    uint32_t *key = malloc((N > (size_t)V ? N : (size_t)V) * sizeof *key);
    int *chars = malloc((beam + 1) * sizeof *chars), *pi = malloc(beam * sizeof *pi);
    unsigned char *skip = malloc((size_t)beam * (beam + 1));
    assert_true(par && lab && A && Z && cs && sp && snb && key && chars && pi && skip);
    A[0] = (cm_ent){CTC_ROOT_HASH, CTC_NO_PARENT, 0, -1, 0, -INFINITY};
    par[0] = lab[0] = -1;
    int n = 1;
    for (int t = 0; t < T; t++) {
        const float *r = lp + (size_t)t * V;
        float mx = -INFINITY;
        for (int v = 0; v < V; v++)
            mx = fmaxf(mx, r[v]);
        float fl = prune > 0 ? mx - prune : -INFINITY;
        int allowed = 0;
        for (int j = 0; j < V - 1; j++) {
            key[j] = r[j + 1] >= fl ? ctc_key(r[j + 1]) : 0u;
            allowed += key[j] != 0;
        }
        int nc = allowed < beam + 1 ? allowed : beam + 1, got = 0;
        if (nc > 0) {
            uint32_t thr = cm_kth(key, V - 1, nc);
            for (int j = 0; j < V - 1; j++)
                if (key[j] > thr)
                    chars[got++] = j + 1;
            for (int j = 0; j < V - 1 && got < nc; j++)
                if (key[j] == thr)
                    chars[got++] = j + 1;
        }
        for (int j = 0; j < n; j++) {
            int p = -1;
            for (int i = 0; i < n && p < 0; i++)
                if (A[i].h == A[j].ph)
                    p = i;
            pi[j] = p;
            int l = A[j].last;
            float lpl = l >= 0 ? r[l] : 0.0f;
            ctc_stay(A[j].pb, A[j].pnb, r[0], l >= 0, lpl, &sp[j], &snb[j]);
            if (p >= 0 && lpl >= fl)
                snb[j] = ctc_lse(snb[j], ctc_ext(A[p].pb, A[p].pnb, A[p].last == l, lpl));
            cs[j] = ctc_lse(sp[j], snb[j]);
        }
        memset(skip, 0, (size_t)n * nc);
        for (int j = 0; j < n; j++)
            for (int kk = 0; pi[j] >= 0 && kk < nc; kk++)
                if (chars[kk] == A[j].last)
                    skip[pi[j] * nc + kk] = 1;
        for (int q = 0; q < n * nc; q++) {
            int i = q / nc, c = chars[q % nc];
            cs[n + q] = skip[q] ? -INFINITY : ctc_ext(A[i].pb, A[i].pnb, A[i].last == c, r[c]);
        }
        int M = n + n * nc, finite = 0;
        for (int j = 0; j < M; j++) {
            key[j] = cs[j] == -INFINITY ? 0u : ctc_key(cs[j]);
            finite += key[j] != 0;
        }
        int m = finite < beam ? finite : beam, slot = 0;
        uint32_t thr = cm_kth(key, M, m);
        for (int pass = 0; pass < 2; pass++)
            for (int j = 0; j < M && slot < m; j++) {
                if (pass == 0 ? key[j] <= thr : key[j] != thr)
                    continue;
                if (j < n) {
                    Z[slot] = A[j];
                    Z[slot].pb = sp[j];
                    Z[slot].pnb = snb[j];
                } else {
                    int i = (j - n) / nc, c = chars[(j - n) % nc], node = 1 + t * beam + slot;
                    par[node] = A[i].node;
                    lab[node] = c;
                    Z[slot] = (cm_ent){ctc_hash_ext(A[i].h, c), A[i].h, node, c, -INFINITY,
                                       cs[j]};
                }
                slot++;
            }
        cm_ent *x = A;
        A = Z;
        Z = x;
        n = m;
    }
    int best = 0;
    for (int j = 1; j < n; j++)
        if (ctc_lse(A[j].pb, A[j].pnb) > ctc_lse(A[best].pb, A[best].pnb))
            best = j;
    int L = 0;
    for (int nd = A[best].node; nd > 0; nd = par[nd])
        L++;
    int k = L;
    for (int nd = A[best].node; nd > 0; nd = par[nd])
        row[--k] = lab[nd];
    for (int i = L; i < T; i++)
        row[i] = -1;
    float s = ctc_lse(A[best].pb, A[best].pnb);
    memcpy(&row[T], &s, 4);
    free(par), free(lab), free(A), free(Z), free(cs), free(sp), free(snb), free(key);
    free(chars), free(pi), free(skip);
}

static void host_beam_passes_check(void **state)
{
    (void)state;
    const sono_op *op = sono_op_find("ctc.beam");
    assert_non_null(op);
    /* exact (T 5, V 3, beam 64), exhaustive (T 6, V 4), planted (T 100, V 32 / 300) */
    const double secs[] = {0.1, 0.12, 2, 2, 1};
    const long long Vs[] = {3, 4, 32, 300, 32}, beams[] = {64, 8, 8, 16, 3};
    const double prunes[] = {0, 0, 0, 5, 0};
    for (int r = 0; r < 5; r++) {
        sono_params p = {.count = 0};
        p.v[p.count++] = (sono_param){.name = "seconds", .type = SONO_PREAL, .r = secs[r]};
        p.v[p.count++] = (sono_param){.name = "V", .type = SONO_PINT, .i = Vs[r]};
        p.v[p.count++] = (sono_param){.name = "batch", .type = SONO_PINT, .i = 2};
        p.v[p.count++] = (sono_param){.name = "beam", .type = SONO_PINT, .i = beams[r]};
        p.v[p.count++] = (sono_param){.name = "prune", .type = SONO_PREAL, .r = prunes[r]};
        p.v[p.count++] = (sono_param){.name = "seed", .type = SONO_PINT, .i = 40 + r};
        sono_buf in, out, ref;
        sono_error err = {0};
        op->shapes(&p, &in, &out);
        ref = out;
        assert_int_equal(sono_buf_alloc(&in, NULL), 0);
        assert_int_equal(sono_buf_alloc(&out, NULL), 0);
        assert_int_equal(sono_buf_alloc(&ref, NULL), 0);
        assert_int_equal(op->input(&p, NULL, 50, &in, &err), 0);
        assert_int_equal(op->reference(&p, &in, &ref, &err), 0);
        long long T = in.shape[1], V = in.shape[2];
        for (int b = 0; b < 2; b++)
            cm_beam((const float *)in.data + b * T * V, (int)T, (int)V, (int)beams[r],
                    (float)prunes[r], (int32_t *)out.data + b * (T + 1));
        sono_check c = {0};
        assert_int_equal(op->check(&p, &in, &out, &ref, op->tolerance(&p, 0), &c, &err), 0);
        if (!c.pass)
            fail_msg("T=%lld V=%lld beam=%lld: %s", T, V, beams[r], c.detail);
        sono_buf_free(&in);
        sono_buf_free(&out);
        sono_buf_free(&ref);
    }
    /* the two-frame case where beam 1 keeps "" and beam 2 finds "a" (test_ctc.c) */
    float lp[4] = {(float)log(0.6), (float)log(0.4), (float)log(0.6), (float)log(0.4)};
    int32_t row[3];
    cm_beam(lp, 2, 2, 1, 0, row);
    assert_int_equal(row[0], -1);
    cm_beam(lp, 2, 2, 2, 0, row);
    assert_int_equal(row[0], 1);
    float s;
    memcpy(&s, &row[2], 4);
    assert_true(fabs(s - log(0.64)) < 1e-6);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(keys_order),
        cmocka_unit_test(select_kth),
        cmocka_unit_test(masses),
        cmocka_unit_test(hashes_distinct),
        cmocka_unit_test(host_beam_passes_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
