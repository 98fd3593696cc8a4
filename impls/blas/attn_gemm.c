/* attn_gemm.c — blas/gemm for attention, FlashAttention's schedule on the CPU: per head,
 * blocks of BQ queries against blocks of BK keys; S = Q_b K_b^T / sqrt(d) by one SGEMM,
 * then a streaming softmax (running row max m and sum l: when m grows, what was summed is
 * rescaled by exp(m_old - m_new)), then O_b += P V_b by a second SGEMM, O divided by l at
 * the end. Memory is one BQ x BK tile plus the output, never seq^2; under the causal mask
 * key blocks past a query block (and, under a window, before it) are skipped. Streaming
 * (causal): a KV cache per head (a ring of `window` slots under a window); each token's
 * row is two SGEMVs per contiguous run of slots, as attention.step's blas/gemv does.
 * Threads: lanes of a pool take (head, query block) pairs from a shared counter, each
 * with its own tile and statistics, OpenBLAS single-threaded inside: with OpenBLAS's own
 * threads splitting each 128 x 256 SGEMM and the softmax on one thread, 2 threads gave
 * 1.12x. A block is computed whole by one lane, so the bits do not depend on the lanes. */
#include <cblas.h>
#include <math.h>
#include <stdatomic.h>
#include <string.h>

#include "nndtype.h"
#include "blas_impls.h"
#include "nnshape.h"
#include "pool.h"

#define BQ 128
#define BK 256

/* A lane's scratch. */
typedef struct attn_lane {
    float *s;     /* [BQ, BK]: scores, then weights */
    float *m, *l; /* [BQ]: running max and sum per query row */
} attn_lane;

typedef struct attn_state {
    nn_attn a;
    int threads;
    const float *q, *k, *v;
    float *o;    /* [heads, seq, d]: the output, accumulated in place */
    attn_lane *lane; /* [threads] */
    cpu_pool *pool;  /* NULL for one thread */
    atomic_size_t item; /* the next (head, query block) a lane takes */
    int blas_threads;   /* what OpenBLAS was last set to: 1 offline, threads streaming */
    float *kc, *vc; /* streaming: [heads, cap, d] key and value caches */
    float *row;     /* streaming: one row's scores [cap] */
    size_t cap;
    long long next; /* streaming: the next token expected */
    char dtnote[80]; /* issue 26: "dtype: bf16 via fp32 ...", "" at f32 */
} attn_state;

static void lane_job(void *ctx, int job, int lane);

/* Offline the lanes are the threads (OpenBLAS at 1); a stream's SGEMVs are OpenBLAS's
 * threads. The setting is the process's, so each mode sets it when it changes. */
static void use_blas_threads(attn_state *st, int n)
{
    if (st->blas_threads != n)
        openblas_set_num_threads(n);
    st->blas_threads = n;
}

int attn_gemm_supports(const void *ctx, const sono_params *p, char *why, size_t n)
{
    nn_attn a;
    (void)ctx;
    int rc = nn_attn_shape(p, 1024, &a, why, n);
    if (!rc && (a.seq > INT32_MAX || a.d > INT32_MAX)) {
        snprintf(why, n, "seq or head_dim exceeds INT_MAX (CBLAS takes int)");
        return SONO_EUNSUPPORTED;
    }
    return rc ? rc : blas_threads_ok(p, why, n);
}

void attn_gemm_teardown(void *vst)
{
    attn_state *st = vst;
    if (st) {
        cpu_pool_free(st->pool);
        for (int i = 0; st->lane && i < st->threads; i++) {
            free(st->lane[i].s);
            free(st->lane[i].m);
            free(st->lane[i].l);
        }
        free(st->lane);
        free(st->o);
        free(st->kc);
        free(st->vc);
        free(st->row);
    }
    free(st);
}

int attn_gemm_setup(const void *ctx, const sono_params *p, void **stp, sono_error *err)
{
    char why[256];
    int rc;
    *stp = NULL;
    if ((rc = attn_gemm_supports(ctx, p, why, sizeof why)))
        return sono_fail(err, rc, "blas/gemm attention: %s", why);
    attn_state *st = calloc(1, sizeof *st);
    if (!st)
        return sono_fail(err, SONO_ENOMEM, "blas/gemm attention: no memory for its state");
    nn_dtype_via_f32(p, st->dtnote, sizeof st->dtnote);
    nn_attn_shape(p, 1024, &st->a, why, sizeof why);
    st->threads = (int)sono_param_int(p, "threads", 1);
    st->o = blas_alloc(st->a.heads * st->a.per_head * sizeof(float));
    st->lane = calloc((size_t)st->threads, sizeof *st->lane);
    int ok = st->o && st->lane;
    for (int i = 0; ok && i < st->threads; i++) {
        attn_lane *ln = &st->lane[i];
        ln->s = blas_alloc((size_t)BQ * BK * sizeof(float));
        ln->m = blas_alloc(BQ * sizeof(float));
        ln->l = blas_alloc(BQ * sizeof(float));
        ok = ln->s && ln->m && ln->l;
    }
    st->cap = st->a.window && st->a.window < st->a.seq ? st->a.window : st->a.seq;
    if (!ok) {
        attn_gemm_teardown(st);
        return sono_fail(err, SONO_ENOMEM, "blas/gemm attention: no memory for the output "
                         "and %d tiles of %d x %d", st->threads, BQ, BK);
    }
    if (st->threads > 1 && (rc = cpu_pool_new(st->threads, lane_job, st, "blas/gemm attention",
                                              &st->pool, err)) < 0) {
        attn_gemm_teardown(st);
        return rc;
    }
    use_blas_threads(st, 1);
    *stp = st;
    return 0;
}

int attn_gemm_load(void *vst, const sono_buf *in, sono_error *err)
{
    attn_state *st = vst;
    size_t n = st->a.heads * st->a.per_head;
    int rc = nn_check_input("blas/gemm attention", in, 3 * n, err);
    if (rc)
        return rc;
    st->q = in->data;
    st->k = st->q + n;
    st->v = st->k + n;
    return 0;
}

/* The tile S [nq, nk] of rows q0.. against keys k0..: masked, turned into weights
 * exp(S - m_new), rows of O rescaled, m and l brought up to date. */
static void softmax_tile(const attn_state *st, attn_lane *ln, float *o, size_t q0, size_t nq,
                         size_t k0, size_t nk)
{
    const size_t d = st->a.d;
    for (size_t i = 0; i < nq; i++) {
        float *s = ln->s + i * BK;
        /* causal: keys after query q0+i are out, and under a window those before its
         * first; a row may have none left here */
        size_t valid = nk, lo = 0;
        if (st->a.causal) {
            valid = q0 + i < k0 ? 0 : q0 + i - k0 + 1 < nk ? q0 + i - k0 + 1 : nk;
            size_t first = nn_attn_first(&st->a, q0 + i);
            lo = first <= k0 ? 0 : first - k0 < valid ? first - k0 : valid;
        }
        if (valid == lo) {
            memset(s, 0, nk * sizeof *s);
            continue;
        }
        float mx = s[lo];
        for (size_t j = lo + 1; j < valid; j++)
            mx = s[j] > mx ? s[j] : mx;
        float mnew = mx > ln->m[i] ? mx : ln->m[i];
        float corr = expf(ln->m[i] - mnew); /* 0 on the first block: m = -inf */
        float sum = 0;
        for (size_t j = 0; j < lo; j++)
            s[j] = 0;
        for (size_t j = lo; j < valid; j++) {
            s[j] = expf(s[j] - mnew);
            sum += s[j];
        }
        for (size_t j = valid; j < nk; j++)
            s[j] = 0;
        ln->l[i] = ln->l[i] * corr + sum;
        ln->m[i] = mnew;
        if (corr != 1.0f) {
            float *oi = o + i * d;
            for (size_t c = 0; c < d; c++)
                oi[c] *= corr;
        }
    }
}

/* Head h's queries q0 .. q0 + BQ - 1 against their keys, tile by tile. */
static void one_block(const attn_state *st, attn_lane *ln, size_t h, size_t q0)
{
    const size_t seq = st->a.seq, d = st->a.d;
    const float *q = st->q + h * st->a.per_head, *k = st->k + h * st->a.per_head,
                *v = st->v + h * st->a.per_head;
    float scale = 1.0f / sqrtf((float)d);
    size_t nq = seq - q0 < BQ ? seq - q0 : BQ;
    float *o = st->o + h * st->a.per_head + q0 * d;
    memset(o, 0, nq * d * sizeof *o);
    for (size_t i = 0; i < nq; i++) {
        ln->m[i] = -INFINITY;
        ln->l[i] = 0;
    }
    size_t kend = st->a.causal ? q0 + nq : seq;
    /* the first key any row of the block sees, rounded down to a block edge */
    size_t kbeg = st->a.causal ? nn_attn_first(&st->a, q0) / BK * BK : 0;
    for (size_t k0 = kbeg; k0 < kend; k0 += BK) {
        size_t nk = kend - k0 < BK ? kend - k0 : BK;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nq, (int)nk, (int)d, scale,
                    q + q0 * d, (int)d, k + k0 * d, (int)d, 0.0f, ln->s, BK);
        softmax_tile(st, ln, o, q0, nq, k0, nk);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)nq, (int)d, (int)nk, 1.0f,
                    ln->s, BK, v + k0 * d, (int)d, 1.0f, o, (int)d);
    }
    for (size_t i = 0; i < nq; i++) {
        float inv = 1.0f / ln->l[i], *oi = o + i * d;
        for (size_t c = 0; c < d; c++)
            oi[c] *= inv;
    }
}

/* Blocks from the shared counter, the last query blocks (the most keys under the causal
 * mask) first, so the short ones even out the lanes at the end. */
static void lane_job(void *ctx, int job, int lane)
{
    (void)job;
    attn_state *st = ctx;
    size_t nqb = (st->a.seq + BQ - 1) / BQ, items = st->a.heads * nqb;
    for (;;) {
        size_t i = atomic_fetch_add_explicit(&st->item, 1, memory_order_relaxed);
        if (i >= items)
            return;
        size_t b = nqb - 1 - i / st->a.heads, h = i % st->a.heads;
        one_block(st, &st->lane[lane], h, b * BQ);
    }
}

int attn_gemm_run(void *vst)
{
    attn_state *st = vst;
    use_blas_threads(st, 1);
    atomic_store(&st->item, 0);
    if (st->pool)
        cpu_pool_run(st->pool, 0);
    else
        lane_job(st, 0, 0);
    return 0;
}

int attn_gemm_store(void *vst, sono_buf *out, sono_error *err)
{
    attn_state *st = vst;
    size_t n = st->a.heads * st->a.per_head;
    int rc = nn_check_output("blas/gemm attention", out, n, err);
    if (!rc)
        memcpy(out->data, st->o, n * sizeof(float));
    return rc;
}

int attn_gemm_describe(void *vst, char *buf, size_t n)
{
    const attn_state *st = vst;
    snprintf(buf, n, "tiles %d queries x %d keys, streaming softmax, 2 SGEMMs per tile; "
             "threads=%d: a pool of %d lanes taking (head, query block) pairs, OpenBLAS at %d",
             BQ, BK, st->threads, cpu_pool_threads(st->pool) + 1, openblas_get_num_threads());
    nn_dtype_append(buf, n, st->dtnote);
    return 0;
}

/* The output, one score tile and two rows of running statistics; once streamed, the KV
 * cache and its row of scores. */
size_t attn_gemm_workspace(void *vst)
{
    const attn_state *st = vst;
    size_t cache = st->kc ? (2 * st->a.heads * st->a.d + 1) * st->cap : 0;
    return (st->a.heads * st->a.per_head + ((size_t)BQ * BK + 2 * BQ) * (size_t)st->threads +
            cache) * sizeof(float) + cpu_pool_bytes(st->pool);
}

/* One query against the keys j0 .. j1-1 of a ring (token j in row j % cap of K and V):
 * the ring's slots are at most two contiguous runs, each one SGEMV for the scores and one
 * for the weighted sum of V; the softmax between them in float32 with the max subtracted. */
void attn_gemv_row(const float *q, const float *K, const float *V, size_t cap, size_t j0,
                   size_t j1, size_t d, float *s, float *o)
{
    size_t nk = j1 - j0, a0 = j0 % cap, n1 = cap - a0 < nk ? cap - a0 : nk, n2 = nk - n1;
    float scale = 1.0f / sqrtf((float)d);
    cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)n1, (int)d, scale, K + a0 * d, (int)d, q, 1,
                0.0f, s, 1);
    if (n2)
        cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)n2, (int)d, scale, K, (int)d, q, 1,
                    0.0f, s + n1, 1);
    float m = s[0], sum = 0;
    for (size_t j = 1; j < nk; j++)
        m = s[j] > m ? s[j] : m;
    for (size_t j = 0; j < nk; j++) {
        s[j] = expf(s[j] - m);
        sum += s[j];
    }
    float inv = 1.0f / sum;
    cblas_sgemv(CblasRowMajor, CblasTrans, (int)n1, (int)d, inv, V + a0 * d, (int)d, s, 1,
                0.0f, o, 1);
    if (n2)
        cblas_sgemv(CblasRowMajor, CblasTrans, (int)n2, (int)d, inv, V, (int)d, s + n1, 1,
                    1.0f, o, 1);
}

/* The cache is made on the first stream (not timed), so offline cases do not carry it. */
int attn_gemm_stream_begin(void *vst, sono_error *err)
{
    attn_state *st = vst;
    const nn_attn *a = &st->a;
    if (!a->causal)
        return sono_fail(err, SONO_EUNSUPPORTED, "blas/gemm attention: streams only with "
                         "causal=1");
    if (!st->kc) {
        st->kc = blas_alloc(a->heads * st->cap * a->d * sizeof(float));
        st->vc = blas_alloc(a->heads * st->cap * a->d * sizeof(float));
        st->row = blas_alloc(st->cap * sizeof(float));
        if (!st->kc || !st->vc || !st->row) {
            free(st->kc);
            free(st->vc);
            free(st->row);
            st->kc = st->vc = st->row = NULL;
            return sono_fail(err, SONO_ENOMEM, "blas/gemm attention: no memory for a KV cache "
                             "of %zu tokens x %zu heads x %zu", st->cap, a->heads, a->d);
        }
    }
    use_blas_threads(st, st->threads);
    st->next = 0;
    return 0;
}

/* Token t's k and v into slot t % cap of each head's cache, then its row. */
int attn_gemm_push(void *vst, long long t0, long long n, int last, sono_buf *out,
                   long long *done, sono_error *err)
{
    attn_state *st = vst;
    const nn_attn *a = &st->a;
    (void)last;
    if (t0 != st->next || n < 1 || t0 + n > (long long)a->seq)
        return sono_fail(err, SONO_EINVAL, "blas/gemm attention: push of tokens [%lld, %lld) "
                         "after %lld of %zu", t0, t0 + n, st->next, a->seq);
    int rc = nn_check_output("blas/gemm attention", out, a->heads * a->per_head, err);
    if (rc)
        return rc;
    float *y = out->data;
    for (size_t t = (size_t)t0; t < (size_t)(t0 + n); t++)
        for (size_t h = 0; h < a->heads; h++) {
            size_t src = h * a->per_head + t * a->d, slot = (h * st->cap + t % st->cap) * a->d;
            memcpy(st->kc + slot, st->k + src, a->d * sizeof(float));
            memcpy(st->vc + slot, st->v + src, a->d * sizeof(float));
            attn_gemv_row(st->q + src, st->kc + h * st->cap * a->d, st->vc + h * st->cap * a->d,
                          st->cap, nn_attn_first(a, t), t + 1, a->d, st->row, y + src);
        }
    st->next = t0 + n;
    *done = st->next;
    return 0;
}
