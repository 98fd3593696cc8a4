/* ctc_fast.c — cpu/fast for ctc.greedy and ctc.beam. Greedy: an 8-lane max per frame,
 * then the first index holding it. Beam: the same prefix beam search as cpu/naive with
 * three changes that keep its result (up to ties) and cut its work:
 *  - prefixes are nodes of a trie (parent, label), one node per prefix (a hash of
 *    (parent, label) finds a prefix made again after it left the beam), so a candidate is
 *    (entry, label) and two candidates spell the same prefix only when one extends an
 *    entry into a kept child, found from the child lists;
 *  - each frame extends only by its beam + 1 best labels (after the prune): a label below
 *    them has beam others, each giving every prefix a candidate at least as heavy, so it
 *    could not be kept; extensions into kept children are always merged;
 *  - masses are probabilities rescaled per frame (the frame's best class and the best
 *    kept mass divided out, their logs summed in double), one expf per class used and no
 *    log-sum-exp per candidate; the kept set is a size-beam heap, not a sort. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_impls.h"
#include "ctc_cpu.h"

typedef struct fcand {
    float pb, pnb;
    int src;   /* the entry it grows from */
    int32_t c; /* the label it adds, -1: the entry itself */
} fcand;

typedef struct fast {
    ctc_io io; /* first: ctc_io_load and ctc_io_store read it */
    int kind;
    long long cap;           /* trie nodes: T * beam + 1 */
    int32_t *parent, *label; /* [cap] */
    int *slot;               /* [cap] node -> its entry this frame, -1 */
    int32_t *hash;           /* [hcap] open addressing (parent, label) -> node, -1 empty */
    long long hmask;
    int *node, *pi, *head, *next; /* [beam] entry's node, parent entry, first child, sibling */
    float *pb, *pnb;         /* [beam] rescaled masses */
    int *nnode, n;
    float *npb, *npnb;
    fcand *cands;            /* [beam * (beam + 2)] */
    int *heap;               /* [beam] candidate indices, lightest on top */
    int32_t *top;            /* [beam + 1] the frame's best labels */
    float *q;                /* [beam + 1] their rescaled probabilities */
    int32_t *lab;            /* [T] */
} fast;

static void teardown_ptrs(fast *st)
{
    void *p[] = {st->io.rows, st->parent, st->label, st->slot, st->hash, st->node, st->pi, st->head,
                 st->next, st->pb, st->pnb, st->nnode, st->npb, st->npnb, st->cands,
                 st->heap, st->top, st->q, st->lab};
    for (size_t i = 0; i < sizeof p / sizeof p[0]; i++)
        free(p[i]);
}

void ctc_fast_teardown(void *vst)
{
    fast *st = vst;
    if (!st)
        return;
    teardown_ptrs(st);
    free(st);
}

int ctc_fast_setup(const void *ctx, const sono_params *p, void **stp, sono_error *err)
{
    char why[256];
    int rc;
    *stp = NULL;
    fast *st = calloc(1, sizeof *st);
    if (!st)
        return sono_fail(err, SONO_ENOMEM, "cpu/fast: cannot allocate its state");
    st->kind = *(const int *)ctx;
    if ((rc = ctc_io_shape(p, st->kind, &st->io, why, sizeof why)) < 0) {
        free(st);
        return sono_fail(err, rc, "cpu/fast: %s", why);
    }
    st->io.who = "cpu/fast";
    size_t T = (size_t)st->io.T, K = (size_t)st->io.beam;
    int ok = !ctc_io_alloc(&st->io, err) && (st->lab = malloc(T * sizeof *st->lab));
    if (ok && st->kind == 1) {
        st->cap = (long long)(T * K + 1);
        st->parent = malloc((size_t)st->cap * sizeof *st->parent);
        st->label = malloc((size_t)st->cap * sizeof *st->label);
        st->slot = malloc((size_t)st->cap * sizeof *st->slot);
        long long h = 16;
        while (h < 2 * st->cap)
            h *= 2;
        st->hmask = h - 1;
        st->hash = malloc((size_t)h * sizeof *st->hash);
        int **ints[] = {&st->node, &st->pi, &st->head, &st->next, &st->nnode, &st->heap};
        for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++)
            ok = ok && (*ints[i] = malloc(K * sizeof(int)));
        float **fl[] = {&st->pb, &st->pnb, &st->npb, &st->npnb};
        for (size_t i = 0; i < sizeof fl / sizeof fl[0]; i++)
            ok = ok && (*fl[i] = malloc(K * sizeof(float)));
        st->cands = malloc(K * (K + 2) * sizeof *st->cands);
        st->top = malloc((K + 1) * sizeof *st->top);
        st->q = malloc((K + 1) * sizeof *st->q);
        ok = ok && st->parent && st->label && st->slot && st->hash && st->cands && st->top &&
             st->q;
    }
    if (!ok) {
        ctc_fast_teardown(st);
        return sono_fail(err, SONO_ENOMEM, "cpu/fast: cannot allocate T=%zu beam=%zu", T, K);
    }
    *stp = st;
    return 0;
}

static float frame_max(const float *row, long long V)
{
    float m[8];
    long long v = 0;
    for (int k = 0; k < 8; k++)
        m[k] = row[0];
    for (; v + 8 <= V; v += 8)
        for (int k = 0; k < 8; k++)
            m[k] = row[v + k] > m[k] ? row[v + k] : m[k];
    for (; v < V; v++)
        m[0] = row[v] > m[0] ? row[v] : m[0];
    for (int k = 1; k < 8; k++)
        m[0] = m[k] > m[0] ? m[k] : m[0];
    return m[0];
}

static void greedy(fast *st, long long b)
{
    const ctc_io *io = &st->io;
    const float *x = io->lp + b * io->T * io->V;
    float score = 0;
    long long L = 0;
    int32_t prev = 0;
    for (long long t = 0; t < io->T; t++) {
        const float *row = x + t * io->V;
        float m = frame_max(row, io->V);
        int32_t k = 0;
        while (k + 1 < io->V && row[k] != m) /* k + 1 < V: a NaN row ends at the last */
            k++;
        score += m;
        if (k != 0 && k != prev)
            st->lab[L++] = k;
        prev = k;
    }
    ctc_io_row(&st->io, b, st->lab, L, score);
}

/* The K best labels of row (c >= 1, lp >= floor) into top, by a min-heap on lp; returns
 * how many (fewer when fewer pass the floor). */
static int best_labels(const float *row, long long V, float floor_, int K, int32_t *top)
{
    int n = 0;
    for (int32_t c = 1; c < V; c++) {
        float v = row[c];
        if (v < floor_ || (n == K && v <= row[top[0]]))
            continue;
        int i;
        if (n < K) { /* sift up */
            i = n++;
            while (i > 0 && row[top[(i - 1) / 2]] > v) {
                top[i] = top[(i - 1) / 2];
                i = (i - 1) / 2;
            }
            top[i] = c;
            continue;
        }
        i = 0; /* replace the root, sift down */
        for (;;) {
            int l = 2 * i + 1, r = l + 1, m = i;
            float mv = v;
            if (l < n && row[top[l]] < mv)
                m = l, mv = row[top[l]];
            if (r < n && row[top[r]] < mv)
                m = r;
            if (m == i)
                break;
            top[i] = top[m];
            i = m;
        }
        top[i] = c;
    }
    return n;
}

static float mass(const fcand *k)
{
    return k->pb + k->pnb;
}

/* Keep the `beam` heaviest of N candidates: a min-heap of indices. */
static int keep(fast *st, int N)
{
    int K = st->io.beam, n = 0, *h = st->heap;
    for (int j = 0; j < N; j++) {
        float v = mass(&st->cands[j]);
        if (n == K && v <= mass(&st->cands[h[0]]))
            continue;
        int i;
        if (n < K) {
            i = n++;
            while (i > 0 && mass(&st->cands[h[(i - 1) / 2]]) > v) {
                h[i] = h[(i - 1) / 2];
                i = (i - 1) / 2;
            }
            h[i] = j;
            continue;
        }
        i = 0;
        for (;;) {
            int l = 2 * i + 1, r = l + 1, m = i;
            float mv = v;
            if (l < n && mass(&st->cands[h[l]]) < mv)
                m = l, mv = mass(&st->cands[h[l]]);
            if (r < n && mass(&st->cands[h[r]]) < mv)
                m = r;
            if (m == i)
                break;
            h[i] = h[m];
            i = m;
        }
        h[i] = j;
    }
    return n;
}

/* The node of prefix (parent, label), made if new: *nodes counts them. */
static int trie_child(fast *st, int parent, int32_t label, long long *nodes)
{
    uint64_t k = ((uint64_t)(uint32_t)parent << 32 | (uint32_t)label) * 0x9e3779b97f4a7c15ull;
    for (long long s = (long long)(k >> 20) & st->hmask;; s = (s + 1) & st->hmask) {
        int32_t nd = st->hash[s];
        if (nd < 0) {
            nd = (int32_t)(*nodes)++;
            st->parent[nd] = parent;
            st->label[nd] = label;
            st->slot[nd] = -1;
            st->hash[s] = nd;
            return nd;
        }
        if (st->parent[nd] == parent && st->label[nd] == label)
            return nd;
    }
}

/* Each entry's parent among the entries (pi) and its children (head, next). */
static void link_entries(fast *st, int n)
{
    for (int i = 0; i < n; i++) {
        st->slot[st->node[i]] = i;
        st->head[i] = -1;
    }
    for (int j = 0; j < n; j++) {
        int32_t par = st->parent[st->node[j]];
        st->pi[j] = par >= 0 ? st->slot[par] : -1;
        if (st->pi[j] >= 0) {
            st->next[j] = st->head[st->pi[j]];
            st->head[st->pi[j]] = j;
        }
    }
    for (int i = 0; i < n; i++)
        st->slot[st->node[i]] = -1; /* slot is -1 everywhere between frames */
}

/* One frame's candidates (masses relative to the frame's best class mx): each entry
 * itself with what its parent adds, then its extensions by the nt best labels that are
 * not kept children. Returns how many. */
static int frame_candidates(fast *st, const float *row, float mx, float floor_, int nt)
{
    int n = st->n, N = 0;
    float qb = expf(row[0] - mx);
    for (int j = 0; j < n; j++) {
        int32_t last = st->label[st->node[j]];
        float ql = last >= 0 ? expf(row[last] - mx) : 0;
        fcand *k = &st->cands[N++];
        *k = (fcand){.pb = (st->pb[j] + st->pnb[j]) * qb, .pnb = st->pnb[j] * ql, .src = j,
                     .c = -1};
        int i = st->pi[j];
        if (i >= 0 && row[last] >= floor_)
            k->pnb += (last == st->label[st->node[i]] ? st->pb[i] : st->pb[i] + st->pnb[i]) * ql;
    }
    for (int i = 0; i < n; i++) {
        int32_t last = st->label[st->node[i]];
        float all = st->pb[i] + st->pnb[i];
        for (int k = 0; k < nt; k++) {
            int32_t c = st->top[k];
            int child = 0;
            for (int j = st->head[i]; j >= 0 && !child; j = st->next[j])
                child = st->label[st->node[j]] == c;
            if (!child) /* a kept child got this mass above */
                st->cands[N++] = (fcand){.pb = 0, .pnb = (c == last ? st->pb[i] : all) *
                                                             st->q[k], .src = i, .c = c};
        }
    }
    return N;
}

/* The m kept candidates become the entries, divided by the heaviest; returns the log of
 * that divisor. */
static double commit(fast *st, int m, long long *nodes)
{
    float best = 0;
    for (int j = 0; j < m; j++)
        best = fmaxf(best, mass(&st->cands[st->heap[j]]));
    float inv = best > 0 ? 1.0f / best : 1.0f;
    for (int j = 0; j < m; j++) {
        const fcand *k = &st->cands[st->heap[j]];
        int nd = st->node[k->src];
        st->nnode[j] = k->c >= 0 ? trie_child(st, nd, k->c, nodes) : nd;
        st->npb[j] = k->pb * inv;
        st->npnb[j] = k->pnb * inv;
    }
    int *tn = st->node;
    float *tb = st->pb, *tnb = st->pnb;
    st->node = st->nnode, st->pb = st->npb, st->pnb = st->npnb;
    st->nnode = tn, st->npb = tb, st->npnb = tnb;
    st->n = m;
    return best > 0 ? log((double)best) : 0;
}

static void beam(fast *st, long long b)
{
    const ctc_io *io = &st->io;
    const float *x = io->lp + b * io->T * io->V;
    long long T = io->T, V = io->V, nodes = 1;
    double scale = 0; /* log of what the masses were divided by */
    memset(st->hash, 0xff, (size_t)(st->hmask + 1) * sizeof *st->hash);
    st->parent[0] = st->label[0] = st->slot[0] = -1;
    st->n = 1;
    st->node[0] = 0;
    st->pb[0] = 1;
    st->pnb[0] = 0;
    for (long long t = 0; t < T; t++) {
        const float *row = x + t * V;
        float mx = frame_max(row, V);
        float floor_ = io->prune > 0 ? mx - io->prune : -INFINITY;
        int nt = best_labels(row, V, floor_, io->beam + 1, st->top);
        for (int k = 0; k < nt; k++)
            st->q[k] = expf(row[st->top[k]] - mx);
        link_entries(st, st->n);
        int N = frame_candidates(st, row, mx, floor_, nt);
        scale += (double)mx + commit(st, keep(st, N), &nodes);
    }
    int bj = 0;
    for (int j = 1; j < st->n; j++)
        if (st->pb[j] + st->pnb[j] > st->pb[bj] + st->pnb[bj])
            bj = j;
    long long L = 0;
    for (int nd = st->node[bj]; nd > 0; nd = st->parent[nd])
        L++;
    long long k = L;
    for (int nd = st->node[bj]; nd > 0; nd = st->parent[nd])
        st->lab[--k] = st->label[nd];
    float total = st->pb[bj] + st->pnb[bj];
    ctc_io_row(&st->io, b, st->lab, L, (float)(scale + log((double)total)));
}

int ctc_fast_run(void *vst)
{
    fast *st = vst;
    for (long long b = 0; b < st->io.B; b++) {
        if (st->kind == 0)
            greedy(st, b);
        else
            beam(st, b);
    }
    return 0;
}

int ctc_fast_describe(void *vst, char *buf, size_t n)
{
    const fast *st = vst;
    if (st->kind == 0)
        snprintf(buf, n, "8-lane max per frame, then its first index; float32 path sum");
    else
        snprintf(buf, n, "prefix trie, beam+1 best labels per frame (heap), rescaled "
                 "probability domain, size-beam heap; beam=%d, prune=%g", st->io.beam,
                 (double)st->io.prune);
    return 0;
}

size_t ctc_fast_workspace(void *vst)
{
    const fast *st = vst;
    size_t K = (size_t)st->io.beam;
    size_t w = (size_t)(st->io.B * (st->io.T + 1)) * 4 + (size_t)st->io.T * 4;
    if (st->kind == 1)
        w += (size_t)st->cap * 12 + (size_t)(st->hmask + 1) * 4 + K * (6 * sizeof(int) + 4 * sizeof(float)) +
             K * (K + 2) * sizeof(fcand) + (K + 1) * 8;
    return w;
}
