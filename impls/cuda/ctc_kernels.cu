// ctc_kernels.cu — issue 23's CTC decoders on the GPU. Greedy: a warp per frame for the
// argmax, a thread per utterance to merge and sum. Beam: the prefix beam search of
// harness/ops/ctc.c with one block per utterance (a batch of utterances fills the SMs):
// per frame, block-wide radix selects pick the frame's beam + 1 best labels (a label
// below them cannot make the beam: cpu/fast's argument) and the `beam` heaviest
// candidates; prefixes are 64-bit hashes of their labels (merges: an extension whose hash
// is a kept prefix's), with a node pool (parent, label) to spell the winner at the end.
// Masses, hashes, keys and the select step are ctc_math.h's, tested on the host.
#include <math.h>

#include "ctc_kernels.h"
#include "ctc_math.h"

#define CTC_THREADS 256
#define CTC_MAXB 256

// ---- greedy ----------------------------------------------------------------------------

__global__ void ctc_argmax(const float *lp, long long frames, int V, int *idx, float *val)
{
    long long f = ((long long)blockIdx.x * blockDim.x + threadIdx.x) / 32;
    int lane = threadIdx.x % 32;
    if (f >= frames)
        return;
    const float *row = lp + f * V;
    float m = -INFINITY;
    int k = V;
    for (int v = lane; v < V; v += 32)
        if (row[v] > m || (row[v] == m && v < k)) {
            m = row[v];
            k = v;
        }
    for (int o = 16; o > 0; o /= 2) {
        float om = __shfl_xor_sync(0xffffffffu, m, o);
        int ok = __shfl_xor_sync(0xffffffffu, k, o);
        if (om > m || (om == m && ok < k)) {
            m = om;
            k = ok;
        }
    }
    if (lane == 0) {
        idx[f] = k < V ? k : 0;
        val[f] = m;
    }
}

__global__ void ctc_collapse(const int *idx, const float *val, long long B, int T, int32_t *rows)
{
    long long b = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (b >= B)
        return;
    const int *k = idx + b * T;
    int32_t *row = rows + b * (T + 1);
    float s = 0;
    int L = 0, prev = 0;
    for (int t = 0; t < T; t++) {
        s += val[b * T + t];
        if (k[t] != 0 && k[t] != prev)
            row[L++] = k[t];
        prev = k[t];
    }
    for (int t = L; t < T; t++)
        row[t] = -1;
    int32_t bits;
    memcpy(&bits, &s, sizeof bits);
    row[T] = bits;
}

extern "C" cudaError_t cu_ctc_greedy_launch(const float *lp, long long B, int T, int V,
                                            int *idx, float *val, int32_t *rows,
                                            cudaStream_t s)
{
    long long frames = B * T;
    ctc_argmax<<<(unsigned)((frames * 32 + 255) / 256), 256, 0, s>>>(lp, frames, V, idx, val);
    ctc_collapse<<<(unsigned)((B + 127) / 128), 128, 0, s>>>(idx, val, B, T, rows);
    return cudaGetLastError();
}

// ---- beam ------------------------------------------------------------------------------

struct ent {
    unsigned long long h, ph; // hash of the labels, and of the parent prefix's
    int node, last;           // node in the pool, last label (-1: the empty prefix)
    float pb, pnb;
};

// Keys of the frame's labels 1..V-1 that pass the prune (0: excluded).
struct label_keys {
    const float *row;
    float floor_;
    __device__ uint32_t operator()(int j) const
    {
        float v = row[j + 1];
        return v >= floor_ ? ctc_key(v) : 0u;
    }
};

// Keys of the candidates' totals (0: -inf, a skipped extension).
struct cand_keys {
    const float *cs;
    __device__ uint32_t operator()(int j) const
    {
        return cs[j] == -INFINITY ? 0u : ctc_key(cs[j]);
    }
};

// The k-th largest key among key(0..n-1) (k >= 1, at most the keys that are not 0), by
// 32 block-wide counts.
template <class F>
__device__ uint32_t block_kth(F key, int n, int k, int *s_cnt, uint32_t *s_thr)
{
    if (threadIdx.x == 0) {
        *s_thr = 0;
        *s_cnt = 0;
    }
    __syncthreads();
    for (int b = 31; b >= 0; b--) {
        uint32_t bit = 1u << b, want = *s_thr | bit;
        int c = 0;
        for (int j = threadIdx.x; j < n; j += blockDim.x)
            c += key(j) >= want;
        if (c)
            atomicAdd(s_cnt, c);
        __syncthreads();
        if (threadIdx.x == 0) {
            *s_thr = ctc_select_step(*s_thr, bit, *s_cnt, k);
            *s_cnt = 0;
        }
        __syncthreads();
    }
    return *s_thr;
}

// How many keys are not 0.
template <class F>
__device__ int block_count(F key, int n, int *s_cnt)
{
    if (threadIdx.x == 0)
        *s_cnt = 0;
    __syncthreads();
    int c = 0;
    for (int j = threadIdx.x; j < n; j += blockDim.x)
        c += key(j) != 0u;
    if (c)
        atomicAdd(s_cnt, c);
    __syncthreads();
    int r = *s_cnt;
    __syncthreads();
    return r;
}

// Slots for the keys above thr, then for those equal to it while fewer than k are taken:
// calls put(j, slot) once per chosen j. Slots are in [0, k).
template <class F, class P>
__device__ void block_take(F key, int n, uint32_t thr, int k, int *s_gt, int *s_tie, P put)
{
    if (threadIdx.x == 0) {
        *s_gt = 0;
        *s_tie = 0;
    }
    __syncthreads();
    for (int j = threadIdx.x; j < n; j += blockDim.x)
        if (key(j) > thr)
            put(j, atomicAdd(s_gt, 1));
    __syncthreads();
    int gt = *s_gt;
    for (int j = threadIdx.x; j < n; j += blockDim.x)
        if (key(j) == thr) {
            int s = gt + atomicAdd(s_tie, 1);
            if (s < k)
                put(j, s);
        }
    __syncthreads();
}

__device__ float block_max(const float *row, int V, float *red)
{
    float m = -INFINITY;
    for (int v = threadIdx.x; v < V; v += blockDim.x)
        m = fmaxf(m, row[v]);
    red[threadIdx.x] = m;
    __syncthreads();
    for (int s = blockDim.x / 2; s > 0; s /= 2) {
        if (threadIdx.x < s)
            red[threadIdx.x] = fmaxf(red[threadIdx.x], red[threadIdx.x + s]);
        __syncthreads();
    }
    float r = red[0];
    __syncthreads();
    return r;
}

struct put_label {
    int *chars;
    __device__ void operator()(int j, int slot) const { chars[slot] = j + 1; }
};

struct put_cand {
    ent *from, *to;
    const int *chars;
    const float *sp, *snb, *cs;
    int *par, *lab;
    int n, nc, base; // base: the first node id of this frame
    __device__ void operator()(int j, int slot) const
    {
        if (j < n) { // a kept prefix
            ent e = from[j];
            e.pb = sp[j];
            e.pnb = snb[j];
            to[slot] = e;
            return;
        }
        int i = (j - n) / nc, c = chars[(j - n) % nc], node = base + slot;
        par[node] = from[i].node;
        lab[node] = c;
        ent e;
        e.h = ctc_hash_ext(from[i].h, c);
        e.ph = from[i].h;
        e.node = node;
        e.last = c;
        e.pb = -INFINITY;
        e.pnb = cs[j];
        to[slot] = e;
    }
};

static __host__ __device__ size_t pool_nodes(int T, int beam)
{
    return (size_t)T * (size_t)beam + 1;
}

extern "C" size_t cu_ctc_beam_scratch(int T, int V, int beam)
{
    (void)V;
    size_t N = (size_t)beam * (beam + 2);
    size_t b = 2 * pool_nodes(T, beam) * sizeof(int) + N * sizeof(float) +
               (size_t)beam * (beam + 1);
    return (b + 255) & ~(size_t)255;
}

__global__ void __launch_bounds__(CTC_THREADS)
ctc_beam(const float *lp, int T, int V, int beam, float prune, char *scratch, size_t per,
         int32_t *rows)
{
    __shared__ ent E[2][CTC_MAXB];
    __shared__ int pi[CTC_MAXB], chars[CTC_MAXB + 1];
    __shared__ float sp[CTC_MAXB], snb[CTC_MAXB], red[CTC_THREADS];
    __shared__ int s_n, s_cnt, s_gt, s_tie;
    __shared__ uint32_t s_thr;
    int b = blockIdx.x, tid = threadIdx.x, nt = blockDim.x;
    const float *x = lp + (size_t)b * T * V;
    char *sc = scratch + (size_t)b * per;
    size_t nodes = pool_nodes(T, beam);
    int *par = (int *)sc, *lab = par + nodes;
    float *cs = (float *)(lab + nodes);
    unsigned char *skip = (unsigned char *)(cs + (size_t)beam * (beam + 2));
    int cur = 0;
    if (tid == 0) {
        ent r;
        r.h = CTC_ROOT_HASH;
        r.ph = CTC_NO_PARENT;
        r.node = 0;
        r.last = -1;
        r.pb = 0;
        r.pnb = -INFINITY;
        E[0][0] = r;
        par[0] = -1;
        lab[0] = -1;
        s_n = 1;
    }
    __syncthreads();
    for (int t = 0; t < T; t++) {
        const float *row = x + (size_t)t * V;
        int n = s_n;
        ent *A = E[cur], *Z = E[cur ^ 1];
        float mx = block_max(row, V, red);
        float floor_ = prune > 0 ? mx - prune : -INFINITY;
        // the frame's beam + 1 best labels
        label_keys lk = {row, floor_};
        int allowed = block_count(lk, V - 1, &s_cnt);
        int nc = allowed < beam + 1 ? allowed : beam + 1;
        if (nc > 0) {
            uint32_t thr = block_kth(lk, V - 1, nc, &s_cnt, &s_thr);
            block_take(lk, V - 1, thr, nc, &s_gt, &s_tie, put_label{chars});
        }
        // kept prefixes: parents among them, their own masses with the merged extension
        for (int j = tid; j < n; j += nt) {
            int p = -1;
            for (int i = 0; i < n && p < 0; i++)
                if (A[i].h == A[j].ph)
                    p = i;
            pi[j] = p;
            int l = A[j].last;
            float lpl = l >= 0 ? row[l] : 0.0f;
            ctc_stay(A[j].pb, A[j].pnb, row[0], l >= 0, lpl, &sp[j], &snb[j]);
            if (p >= 0 && lpl >= floor_)
                snb[j] = ctc_lse(snb[j], ctc_ext(A[p].pb, A[p].pnb, A[p].last == l, lpl));
            cs[j] = ctc_lse(sp[j], snb[j]);
        }
        for (int q = tid; q < n * nc; q += nt)
            skip[q] = 0;
        __syncthreads();
        for (int j = tid; j < n; j += nt) // extensions that are kept prefixes: merged above
            if (pi[j] >= 0)
                for (int kk = 0; kk < nc; kk++)
                    if (chars[kk] == A[j].last)
                        skip[pi[j] * nc + kk] = 1;
        __syncthreads();
        for (int q = tid; q < n * nc; q += nt) {
            int i = q / nc, c = chars[q % nc];
            cs[n + q] = skip[q] ? -INFINITY
                                : ctc_ext(A[i].pb, A[i].pnb, A[i].last == c, row[c]);
        }
        __syncthreads();
        // the `beam` heaviest candidates
        int N = n + n * nc;
        cand_keys ck = {cs};
        int finite = block_count(ck, N, &s_cnt);
        int m = finite < beam ? finite : beam;
        uint32_t thr = block_kth(ck, N, m, &s_cnt, &s_thr);
        put_cand pc = {A, Z, chars, sp, snb, cs, par, lab, n, nc, 1 + t * beam};
        block_take(ck, N, thr, m, &s_gt, &s_tie, pc);
        if (tid == 0)
            s_n = m;
        cur ^= 1;
        __syncthreads();
    }
    if (tid == 0) {
        const ent *A = E[cur];
        int best = 0;
        for (int j = 1; j < s_n; j++)
            if (ctc_lse(A[j].pb, A[j].pnb) > ctc_lse(A[best].pb, A[best].pnb))
                best = j;
        int32_t *out = rows + (size_t)b * (T + 1);
        int L = 0;
        for (int nd = A[best].node; nd > 0; nd = par[nd])
            L++;
        int k = L;
        for (int nd = A[best].node; nd > 0; nd = par[nd])
            out[--k] = lab[nd];
        for (int i = L; i < T; i++)
            out[i] = -1;
        float s = ctc_lse(A[best].pb, A[best].pnb);
        int32_t bits;
        memcpy(&bits, &s, sizeof bits);
        out[T] = bits;
    }
}

extern "C" cudaError_t cu_ctc_beam_launch(const float *lp, long long B, int T, int V, int beam,
                                          float prune, void *scratch, int32_t *rows,
                                          cudaStream_t s)
{
    if (beam < 1 || beam > CTC_MAXB)
        return cudaErrorInvalidValue;
    ctc_beam<<<(unsigned)B, CTC_THREADS, 0, s>>>(lp, T, V, beam, prune, (char *)scratch,
                                                 cu_ctc_beam_scratch(T, V, beam), rows);
    return cudaGetLastError();
}
