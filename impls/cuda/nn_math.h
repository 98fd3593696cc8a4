/* nn_math.h — the arithmetic of the cuda layer kernels (nn_kernels.cu: conv1d direct and
 * im2col/col2im, attention's softmax and flash-style tiles), compiled by nvcc for the
 * device and by cc for tests/test_cuda_math_nn.c, which assembles host convolutions and
 * attentions from these functions and checks them against the ops' float64 references:
 * the index arithmetic (causal padding, dilation, stride, groups, transposed taps), the
 * fused activations and the online-softmax merge. */
#ifndef IMPLS_CUDA_NN_MATH_H
#define IMPLS_CUDA_NN_MATH_H

#include <math.h>

#ifdef __CUDACC__
#define NN_HD __host__ __device__ static inline
/* the flash kernel's pieces: inlined, their fixed loops unrolled, so the register arrays
 * they take stay in registers */
#define NN_HDI __host__ __device__ __forceinline__ static
#define NN_UNROLL _Pragma("unroll")
#else
#define NN_HD static inline
#define NN_HDI static inline
#define NN_UNROLL
#endif

/* ---- conv1d (the contract is harness/ops/conv1d.h) ---------------------------------- */

/* The sizes every conv kernel takes, all in elements. */
typedef struct nnc_dims {
    long long cin, cout, k, stride, dil, groups, T, tout, pad, cig, cog;
    int act;
} nnc_dims;

/* Convolution: the x sample tap j of output t reads, t*stride + j*dil - pad; outside
 * [0, T) it is one of the causal zeros (or past the end) and contributes nothing. */
NN_HD long long nnc_src(const nnc_dims *c, long long t, long long j)
{
    return t * c->stride + j * c->dil - c->pad;
}

/* Transposed: the input steps t that can reach output u lie in [lo, hi] (empty when
 * lo > hi): t*stride <= u and u - t*stride <= dil*(k-1), t < T. */
NN_HD void nnc_tr_range(const nnc_dims *c, long long u, long long *lo, long long *hi)
{
    long long span = c->dil * (c->k - 1);
    *lo = u > span ? (u - span + c->stride - 1) / c->stride : 0;
    *hi = u / c->stride < c->T - 1 ? u / c->stride : c->T - 1;
}

/* Transposed: the tap through which input step t reaches output u, or -1 when u - t*stride
 * is not a multiple of the dilation. */
NN_HD long long nnc_tr_tap(const nnc_dims *c, long long u, long long t)
{
    long long r = u - t * c->stride;
    return r >= 0 && r % c->dil == 0 && r / c->dil < c->k ? r / c->dil : -1;
}

/* Transposed, tap by tap (the direct kernel's order): the input step whose tap j lands on
 * output u, u - j*dil = t*stride, or -1 when there is none in [0, T). */
NN_HD long long nnc_tr_src(const nnc_dims *c, long long u, long long j)
{
    long long r = u - j * c->dil;
    return r >= 0 && r % c->stride == 0 && r / c->stride < c->T ? r / c->stride : -1;
}

/* im2col of one group: col[g][ci*k + j][t] = x[g*cig + ci][nnc_src(t, j)] (0 outside);
 * element e of the [groups][cig*k][tout] buffer, as the kernel's one thread per element
 * computes it. */
NN_HD float nnc_im2col_at(const nnc_dims *c, const float *x, long long e)
{
    long long t = e % c->tout, row = e / c->tout;
    long long j = row % c->k, cc = row / c->k; /* cc = g*cig + ci: channels in order */
    long long u = nnc_src(c, t, j);
    return u >= 0 && u < c->T ? x[cc * c->T + u] : 0.0f;
}

/* Transposed via GEMM: Z[g][co_l*k + j][t] = sum_ci W[g*cig + ci][co_l][j] x[g*cig + ci][t]
 * (one batched SGEMM); col2im then sums, for output u of channel co, Z over the (t, j) that
 * land on u. Z's [groups][cog*k][T] index of (co, j, t): */
NN_HD long long nnc_z_index(const nnc_dims *c, long long co, long long j, long long t)
{
    return (co * c->k + j) * c->T + t; /* co = g*cog + co_l: groups are contiguous */
}

NN_HD float nnc_elu(float z)
{
    return z > 0 ? z : expm1f(z);
}

/* EnCodec's ELU (alpha 1) or DAC's Snake z + sin^2(a z)/a after the bias. */
NN_HD float nnc_act(int act, float z, float alpha)
{
    if (act == 1)
        return nnc_elu(z);
    if (act == 2) {
        float s = sinf(alpha * z);
        return z + s * s / alpha;
    }
    return z;
}

/* ---- attention (the contract is harness/ops/attention.c) ---------------------------- */

/* A softmax row seen in pieces: m the largest score so far, l the sum of exp(s - m). */
typedef struct nn_os {
    float m, l;
} nn_os;

/* Merge a block of scores whose max is bm and whose sum of exp(s - bm) is bl into a:
 * the new max, and the factors the old and the new block's partial sums (and their
 * weighted V sums) are multiplied by. A block of masked scores (bm = -inf) changes
 * nothing; the first block (a.m = -inf) takes factor 0 for the empty past, never
 * exp(-inf - -inf). */
NN_HD nn_os nn_os_merge(nn_os a, float bm, float bl, float *fa, float *fb)
{
    nn_os r;
    if (bm == -INFINITY) {
        *fa = 1.0f;
        *fb = 0.0f;
        return a;
    }
    r.m = a.m > bm ? a.m : bm;
    *fa = a.m == -INFINITY ? 0.0f : expf(a.m - r.m);
    *fb = expf(bm - r.m);
    r.l = a.l * *fa + bl * *fb;
    return r;
}

/* The flash kernel's tile: key tiles of NN_FK = 32 keys in shared memory, head_dim up to
 * NN_FD, NN_FT threads a block. A query's head_dim is split into 32-float parts, one
 * thread each (nn_fl_tpq threads a query, so NN_FT / tpq queries a block): the thread
 * keeps its part of q and of the output accumulator in registers, and the parts' partial
 * dot products meet by warp shuffles. */
#define NN_FK 32
#define NN_FD 128
#define NN_FT 64
/* Floats a 32-float part of a K or V row takes in shared memory: 4 more than 32, so the
 * tpq threads of a query, reading their parts of one key row as float4 at once, start in
 * banks 0, 4, 8, 12 (no conflict) and each part stays 16-byte aligned. */
#define NN_FPAD 36

/* Threads a query: head_dim in parts of 32, rounded up to a power of two (the shuffle
 * reduction's width). */
NN_HD int nn_fl_tpq(int d)
{
    return d <= 32 ? 1 : d <= 64 ? 2 : 4;
}

/* Where float c of key row j of a tile sits in shared memory. */
NN_HD int nn_fl_at(int tpq, int j, int c)
{
    return j * tpq * NN_FPAD + (c / 32) * NN_FPAD + c % 32;
}

/* Whether key j is masked for query i. */
NN_HD int nn_masked(int causal, long long i, long long j)
{
    return causal && j > i;
}

/* ---- the flash kernel, thread by thread (nn_kernels.cu's flash<TPQ> is these, the
 * barriers around the tile load and the shuffles that sum a query's partial dots;
 * tests/test_cuda_math_nn.c runs them for every thread of every block) ---------------- */

/* Keys the block of queries q0 .. q0 + bq - 1 sees: all, or up to its last query. */
NN_HD long long nn_fl_kend(long long q0, long long bq, long long seq, int causal)
{
    long long last = q0 + bq - 1 < seq - 1 ? q0 + bq - 1 : seq - 1;
    return causal ? last + 1 : seq;
}

/* 4 floats at p, 16-byte aligned in shared memory: one vector load on the device. */
NN_HDI void nn_ld4(const float *p, float v[4])
{
#ifdef __CUDA_ARCH__
    float4 f = *(const float4 *)p;
    v[0] = f.x;
    v[1] = f.y;
    v[2] = f.z;
    v[3] = f.w;
#else
    v[0] = p[0];
    v[1] = p[1];
    v[2] = p[2];
    v[3] = p[3];
#endif
}

/* Thread `part` of query i: its 32 dims of q pre-scaled into qr (0 past d or seq), and a
 * zero output accumulator. */
NN_HDI void nn_fl_begin(const float *qh, long long i, long long seq, int d, int part,
                        float scale, float *qr, float *acc)
{
    NN_UNROLL
    for (int c = 0; c < 32; c++) {
        int cc = part * 32 + c;
        qr[c] = i < seq && cc < d ? qh[i * d + cc] * scale : 0.0f;
        acc[c] = 0.0f;
    }
}

/* Thread t's share (of NN_FT) of loading key tile k0 and its V rows into ks and vs
 * (zeros past seq and d). */
NN_HDI void nn_fl_load(const float *kh, const float *vh, float *ks, float *vs, long long k0,
                       long long seq, int d, int tpq, int t)
{
    for (int e = t; e < NN_FK * tpq * 32; e += NN_FT) {
        int j = e / (tpq * 32), cc = e % (tpq * 32);
        long long kj = k0 + j;
        int in = kj < seq && cc < d;
        ks[nn_fl_at(tpq, j, cc)] = in ? kh[kj * d + cc] : 0.0f;
        vs[nn_fl_at(tpq, j, cc)] = in ? vh[kj * d + cc] : 0.0f;
    }
}

/* This thread's part of its query's dot product with key row j of the tile. */
NN_HDI float nn_fl_dot(const float *qr, const float *ks, int tpq, int part, int j)
{
    const float *kr = ks + j * tpq * NN_FPAD + part * NN_FPAD;
    float s = 0.0f;
    NN_UNROLL
    for (int c4 = 0; c4 < 8; c4++) {
        float k[4];
        nn_ld4(kr + 4 * c4, k);
        s += qr[4 * c4] * k[0] + qr[4 * c4 + 1] * k[1] + qr[4 * c4 + 2] * k[2] +
             qr[4 * c4 + 3] * k[3];
    }
    return s;
}

/* The whole dot product s as key kj's score for query i: -inf where masked, past the keys
 * or past the queries. A macro, not a function: nvcc gave the kernel 30 more registers
 * (150 -> 184 at TPQ 2) with this one line behind an inlined call. */
#define NN_FL_SCORE(s, kj, i, seq, causal)                                                 \
    ((kj) < (seq) && (i) < (seq) && !nn_masked((causal), (i), (kj)) ? (s) : -INFINITY)

/* The tile's scores, whose max is bm, into their weights exp(s - bm) (0 where masked), in
 * place; returns the weights' sum. */
NN_HDI float nn_fl_exp(float *sc, float bm)
{
    float bl = 0.0f;
    NN_UNROLL
    for (int j = 0; j < NN_FK; j++) {
        sc[j] = sc[j] == -INFINITY ? 0.0f : expf(sc[j] - bm);
        bl += sc[j];
    }
    return bl;
}

/* acc <- acc fa + sum_j w_j fb V_j over this thread's 32 dims (nn_os_merge's factors). */
NN_HDI void nn_fl_accum(float *acc, const float *w, float fa, float fb, const float *vs,
                        int tpq, int part)
{
    NN_UNROLL
    for (int c = 0; c < 32; c++)
        acc[c] *= fa;
    NN_UNROLL
    for (int j = 0; j < NN_FK; j++) {
        float pj = w[j] * fb;
        const float *vr = vs + j * tpq * NN_FPAD + part * NN_FPAD;
        NN_UNROLL
        for (int c4 = 0; c4 < 8; c4++) {
            float v[4];
            nn_ld4(vr + 4 * c4, v);
            acc[4 * c4] += pj * v[0];
            acc[4 * c4 + 1] += pj * v[1];
            acc[4 * c4 + 2] += pj * v[2];
            acc[4 * c4 + 3] += pj * v[3];
        }
    }
}

/* Query i's output, this thread's dims: acc / l. */
NN_HDI void nn_fl_store(float *oh, long long i, int d, int part, const float *acc, float l)
{
    float inv = 1.0f / l;
    NN_UNROLL
    for (int c = 0; c < 32; c++) {
        int cc = part * 32 + c;
        if (cc < d)
            oh[i * d + cc] = acc[c] * inv;
    }
}

#endif
