/* ctc_naive.c — cpu/naive for ctc.greedy and ctc.beam: the definitions in float32.
 * Greedy: argmax per frame (first of equals), repeats merged, blanks dropped, the path's
 * log-probability summed. Beam: the textbook CTC prefix beam search in the log domain:
 * every kept prefix is extended by every class each frame, candidates that spell the same
 * prefix are merged through a hash table keyed by the label sequence, all candidates are
 * sorted and the best `beam` kept, each as its own copy of its labels. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_impls.h"
#include "ctc_cpu.h"

typedef struct cand {
    int src;      /* the beam entry it grows from */
    int32_t c;    /* the label it adds, or -1: the prefix itself */
    float pb, pnb; /* log mass ending in blank / in its last label */
    float tot;     /* lse(pb, pnb), the sort key */
    uint64_t h;   /* hash of its labels */
} cand;

typedef struct naive {
    ctc_io io; /* first: ctc_io_load and ctc_io_store read it */
    int kind;  /* 0 greedy, 1 beam */
    /* beam: prefixes [beam][T] in two buffers (kept, next), their lengths, masses, hashes */
    int32_t *pre[2], *len[2];
    float *pb, *pnb;
    uint64_t *h[2];
    cand *cands;    /* [beam * V] */
    int *table;     /* open addressing over the prefixes kept, -1 empty */
    size_t tmask;
    int32_t *lab;   /* [T] greedy's labels */
} naive;

static float lse(float a, float b)
{
    if (a == -INFINITY)
        return b;
    if (b == -INFINITY)
        return a;
    float m = a > b ? a : b;
    return m + log1pf(expf(-fabsf(a - b)));
}

static uint64_t mix(uint64_t h, int32_t c)
{
    h ^= (uint64_t)(uint32_t)c + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    h *= 0xff51afd7ed558ccdull;
    return h ^ (h >> 33);
}

int ctc_naive_supports(const void *ctx, const sono_params *p, char *why, size_t n)
{
    ctc_io io;
    int rc = ctc_io_shape(p, *(const int *)ctx, &io, why, n);
    if (!rc && io.beam > 0 && (double)io.beam * (double)io.V > (double)(1 << 26)) {
        snprintf(why, n, "beam*V = %d*%lld candidates per frame is over 2^26", io.beam, io.V);
        return SONO_EUNSUPPORTED;
    }
    return rc;
}

void ctc_naive_teardown(void *vst)
{
    naive *st = vst;
    if (!st)
        return;
    free(st->io.rows);
    for (int k = 0; k < 2; k++) {
        free(st->pre[k]);
        free(st->len[k]);
        free(st->h[k]);
    }
    free(st->pb);
    free(st->pnb);
    free(st->cands);
    free(st->table);
    free(st->lab);
    free(st);
}

int ctc_naive_setup(const void *ctx, const sono_params *p, void **stp, sono_error *err)
{
    char why[256];
    int rc;
    *stp = NULL;
    if ((rc = ctc_naive_supports(ctx, p, why, sizeof why)) < 0)
        return sono_fail(err, rc, "cpu/naive: %s", why);
    naive *st = calloc(1, sizeof *st);
    if (!st)
        return sono_fail(err, SONO_ENOMEM, "cpu/naive: cannot allocate its state");
    st->kind = *(const int *)ctx;
    ctc_io_shape(p, st->kind, &st->io, why, sizeof why);
    st->io.who = "cpu/naive";
    size_t T = (size_t)st->io.T, K = (size_t)st->io.beam;
    int ok = !ctc_io_alloc(&st->io, err);
    st->lab = malloc(T * sizeof *st->lab);
    ok = ok && st->lab;
    if (ok && st->kind == 1) {
        for (int k = 0; k < 2; k++) {
            st->pre[k] = malloc(K * T * sizeof *st->pre[k]);
            st->len[k] = malloc(K * sizeof *st->len[k]);
            st->h[k] = malloc(K * sizeof *st->h[k]);
            ok = ok && st->pre[k] && st->len[k] && st->h[k];
        }
        st->pb = malloc(K * sizeof *st->pb);
        st->pnb = malloc(K * sizeof *st->pnb);
        st->cands = malloc(K * (size_t)st->io.V * sizeof *st->cands);
        size_t cap = 16;
        while (cap < 4 * K)
            cap *= 2;
        st->tmask = cap - 1;
        st->table = malloc(cap * sizeof *st->table);
        ok = ok && st->pb && st->pnb && st->cands && st->table;
    }
    if (!ok) {
        ctc_naive_teardown(st);
        return sono_fail(err, SONO_ENOMEM, "cpu/naive: cannot allocate T=%zu beam=%zu", T, K);
    }
    *stp = st;
    return 0;
}

static void greedy(naive *st, long long b)
{
    const ctc_io *io = &st->io;
    const float *x = io->lp + b * io->T * io->V;
    float score = 0;
    long long L = 0;
    int32_t prev = 0;
    for (long long t = 0; t < io->T; t++) {
        const float *row = x + t * io->V;
        int32_t k = 0;
        for (long long v = 1; v < io->V; v++)
            if (row[v] > row[k])
                k = (int32_t)v;
        score += row[k];
        if (k != 0 && k != prev)
            st->lab[L++] = k;
        prev = k;
    }
    ctc_io_row(&st->io, b, st->lab, L, score);
}

static int by_mass(const void *a, const void *b)
{
    const cand *x = a, *y = b;
    if (x->tot != y->tot)
        return x->tot > y->tot ? -1 : 1;
    return x->src != y->src ? x->src - y->src : x->c - y->c; /* a fixed order for ties */
}

/* The kept prefix that spells prefix i plus c, or -1 (stays are cands[0..n)). */
static int find(naive *st, int i, int32_t c, uint64_t h)
{
    const int32_t *pre = st->pre[0];
    long long T = st->io.T;
    for (size_t s = h & st->tmask;; s = (s + 1) & st->tmask) {
        int j = st->table[s];
        if (j < 0)
            return -1;
        if (st->cands[j].h == h && st->len[0][j] == st->len[0][i] + 1 &&
            pre[j * T + st->len[0][i]] == c &&
            memcmp(pre + j * T, pre + i * T, (size_t)st->len[0][i] * sizeof *pre) == 0)
            return j;
    }
}

static void beam(naive *st, long long b)
{
    const ctc_io *io = &st->io;
    const float *x = io->lp + b * io->T * io->V;
    long long T = io->T, V = io->V;
    int n = 1;
    st->len[0][0] = 0;
    st->h[0][0] = 0x12345;
    st->pb[0] = 0;
    st->pnb[0] = -INFINITY;
    for (long long t = 0; t < T; t++) {
        const float *row = x + t * V;
        float mx = row[0];
        for (long long v = 1; v < V; v++)
            mx = row[v] > mx ? row[v] : mx;
        int N = 0;
        memset(st->table, 0xff, (st->tmask + 1) * sizeof *st->table);
        for (int i = 0; i < n; i++) { /* the prefix itself: a blank, or its last repeated */
            int32_t last = st->len[0][i] ? st->pre[0][i * T + st->len[0][i] - 1] : -1;
            cand *k = &st->cands[N];
            *k = (cand){.src = i, .c = -1, .pb = lse(st->pb[i], st->pnb[i]) + row[0],
                        .pnb = last >= 0 ? st->pnb[i] + row[last] : -INFINITY,
                        .h = st->h[0][i]};
            size_t s = k->h & st->tmask;
            while (st->table[s] >= 0)
                s = (s + 1) & st->tmask;
            st->table[s] = N++;
        }
        for (int i = 0; i < n; i++) {
            int32_t last = st->len[0][i] ? st->pre[0][i * T + st->len[0][i] - 1] : -1;
            float all = lse(st->pb[i], st->pnb[i]);
            for (int32_t c = 1; c < V; c++) {
                if (io->prune > 0 && row[c] < mx - io->prune)
                    continue;
                float add = (c == last ? st->pb[i] : all) + row[c];
                uint64_t h = mix(st->h[0][i], c);
                int j = find(st, i, c, h);
                if (j >= 0)
                    st->cands[j].pnb = lse(st->cands[j].pnb, add);
                else
                    st->cands[N++] = (cand){.src = i, .c = c, .pb = -INFINITY, .pnb = add,
                                            .h = h};
            }
        }
        for (int j = 0; j < N; j++)
            st->cands[j].tot = lse(st->cands[j].pb, st->cands[j].pnb);
        qsort(st->cands, (size_t)N, sizeof *st->cands, by_mass);
        int m = N < io->beam ? N : io->beam;
        for (int j = 0; j < m; j++) {
            const cand *k = &st->cands[j];
            int32_t l0 = st->len[0][k->src];
            memcpy(st->pre[1] + j * T, st->pre[0] + k->src * T, (size_t)l0 * sizeof(int32_t));
            if (k->c >= 0)
                st->pre[1][j * T + l0++] = k->c;
            st->len[1][j] = l0;
            st->h[1][j] = k->h;
            st->pb[j] = k->pb;
            st->pnb[j] = k->pnb;
        }
        { /* kept <-> next */
            int32_t *p = st->pre[0], *l = st->len[0];
            uint64_t *h = st->h[0];
            st->pre[0] = st->pre[1], st->len[0] = st->len[1], st->h[0] = st->h[1];
            st->pre[1] = p, st->len[1] = l, st->h[1] = h;
        }
        n = m;
    }
    /* sorted: entry 0 is the best */
    ctc_io_row(&st->io, b, st->pre[0], st->len[0][0], lse(st->pb[0], st->pnb[0]));
}

int ctc_naive_run(void *vst)
{
    naive *st = vst;
    for (long long b = 0; b < st->io.B; b++) {
        if (st->kind == 0)
            greedy(st, b);
        else
            beam(st, b);
    }
    return 0;
}

int ctc_naive_describe(void *vst, char *buf, size_t n)
{
    const naive *st = vst;
    if (st->kind == 0)
        snprintf(buf, n, "argmax loop per frame, float32 path sum");
    else
        snprintf(buf, n, "log-domain prefix beam search: beam=%d x V=%lld candidates per "
                 "frame, hash-merged by label sequence, qsort, prune=%g", st->io.beam,
                 st->io.V, (double)st->io.prune);
    return 0;
}

size_t ctc_naive_workspace(void *vst)
{
    const naive *st = vst;
    size_t T = (size_t)st->io.T, K = (size_t)st->io.beam, V = (size_t)st->io.V;
    size_t w = (size_t)(st->io.B * (st->io.T + 1)) * 4 + T * 4;
    if (st->kind == 1)
        w += 2 * (K * T * 4 + K * 4 + K * 8) + 2 * K * 4 + K * V * sizeof(cand) +
             (st->tmask + 1) * sizeof(int);
    return w;
}
