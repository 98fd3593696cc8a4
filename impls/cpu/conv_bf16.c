/* conv_bf16.c — cpu/avx512bf16 for conv1d in dtype bf16 (issue 26): each group's
 * convolution as one bf16 GEMM (bf16_gemm.c), W packed once in load, the signal packed in
 * run straight into the engine's k-pair panels, then bias and activation in float32.
 * Forward: W [cout/G][cin/G * kernel] against the signal as im2col would read it (no float
 * im2col buffer); `threads` lanes of the pool take blocks of 8 output panels (32 samples
 * each), each packing, multiplying and finishing its own. Transposed: Z = W^T x, W^T [(o, j)][cin/G],
 * the input samples as columns, then each output channel gathers its taps from Z (t s +
 * j d = u) in a second job, lanes over channels, since taps of neighbouring samples land
 * on the same outputs. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bf16_gemm.h"
#include "cpu_impls.h"
#include "en_elu.h"
#include "nndtype.h"
#include "nnshape.h"
#include "pool.h"

#define PB 8 /* panels (of 32 samples) a lane packs and multiplies as one item */

typedef struct cb_state {
    nn_conv c;
    long long kk, kh, mp, np; /* per group: GEMM depth, its pairs, rows, columns (forward:
                               * cin/G k, cout/G, tout; transposed: cin/G, cout/G k, T) */
    uint32_t *a;              /* [G][mp][kh] W's (or W^T's) pairs */
    uint32_t *bp;             /* [G][np / BG_NR][kh][BG_NR] the signal's panels */
    float *cc;                /* [G][mp][np] the GEMMs' output */
    float *y;                 /* [cout][tout] */
    const float *x, *b, *alpha; /* into the core's input, bound in load */
    int lanes, elu_simd; /* en_elu's AVX2 path, picked at setup */
    cpu_pool *pool;
} cb_state;

int conv_bf16_supports(const void *ctx, const sono_params *p, char *why, size_t n)
{
    (void)ctx;
    nn_conv c;
    if (bg_supports(p, why, n))
        return SONO_EUNSUPPORTED;
    int rc = nn_conv_shape(p, 1024, &c, why, n);
    if (rc)
        return rc;
    return 0;
}

void conv_bf16_teardown(void *vst)
{
    cb_state *st = vst;
    if (!st)
        return;
    cpu_pool_free(st->pool);
    free(st->a);
    free(st->bp);
    free(st->cc);
    free(st->y);
    free(st);
}

/* Transposed: group g's panels [j0, j1), the k-pairs of input channels of 32 input
 * samples each. Pair by pair across the panels, so each signal row is read as one run. */
static void pack_tr(cb_state *st, long long g, long long j0, long long j1)
{
    const nn_conv *c = &st->c;
    long long T = (long long)c->T, cig = (long long)c->cig, per = st->np / BG_NR;
    for (long long p = 0; p < st->kh; p++) {
        const float *x0 = st->x + (g * cig + 2 * p) * T, *x1 = 2 * p + 1 < cig ? x0 + T : NULL;
        for (long long jp = j0; jp < j1; jp++) {
            uint32_t *d = st->bp + ((g * per + jp) * st->kh + p) * BG_NR;
            long long t0 = jp * BG_NR, n = T - t0 < BG_NR ? T - t0 : BG_NR;
            int q = 0;
            for (; q < n; q++)
                d[q] = bg_pair(x0[t0 + q], x1 ? x1[t0 + q] : 0);
            for (; q < BG_NR; q++)
                d[q] = 0;
        }
    }
}

/* Row r = (c, j) of group g's im2col, as a signal row and an offset: sample t of the row
 * is x[g cin/G + c][t s + j d - P] (zero in the causal padding); past the GEMM's depth
 * (the odd pair's partner) the row is NULL, all zeros. */
static const float *im2col_row(const cb_state *st, long long g, long long r, long long *off)
{
    const nn_conv *c = &st->c;
    if (r >= st->kk)
        return NULL;
    long long ci = r / (long long)c->k, j = r % (long long)c->k;
    *off = j * (long long)c->dil - (long long)c->pad;
    return st->x + ((long long)g * (long long)c->cig + ci) * (long long)c->T;
}

static float at(const float *x, long long u)
{
    return x && u >= 0 ? x[u] : 0;
}

/* Forward: group g's panels [j0, j1), every k-pair of 32 output samples each (past tout:
 * zeros). Pair by pair across the panels, so each im2col row's signal is read as one run
 * (one panel at a time touched 2 kh rows 128 bytes apart, more streams than a core's
 * prefetchers follow). */
static void pack(cb_state *st, long long g, long long j0, long long j1)
{
    long long tout = (long long)st->c.tout, s = (long long)st->c.stride, per = st->np / BG_NR;
    for (long long p = 0; p < st->kh; p++) {
        long long o0 = 0, o1 = 0;
        const float *x0 = im2col_row(st, g, 2 * p, &o0), *x1 = im2col_row(st, g, 2 * p + 1, &o1);
        for (long long jp = j0; jp < j1; jp++) {
            uint32_t *d = st->bp + ((g * per + jp) * st->kh + p) * BG_NR;
            long long t0 = jp * BG_NR, n = tout - t0 < BG_NR ? tout - t0 : BG_NR;
            long long u0 = t0 * s + o0, u1 = t0 * s + o1;
            int q = 0;
            for (; q < n; q++, u0 += s, u1 += s)
                d[q] = bg_pair(at(x0, u0), at(x1, u1));
            for (; q < BG_NR; q++)
                d[q] = 0;
        }
    }
}

/* Bias and activation over n samples of channel co's row y. */
static void finish(const cb_state *st, long long co, float *y, long long n)
{
    const nn_conv *c = &st->c;
    for (long long i = 0; i < n; i++)
        y[i] += st->b[co];
    if (c->act == NN_ACT_ELU) /* the vector expm1 blas/encodec uses (en_elu.h) */
        en_elu(y, y, (size_t)n, st->elu_simd);
    else if (c->act == NN_ACT_SNAKE)
        nn_activate(y, (size_t)n, c->act, st->alpha[co]);
}

/* Transposed, job 1: the lane's output channels gather their taps from Z. */
static void gather_tr(cb_state *st, int lane)
{
    const nn_conv *c = &st->c;
    long long cout = (long long)c->cout, cog = (long long)c->cog, k = (long long)c->k,
              T = (long long)c->T, tout = (long long)c->tout, s = (long long)c->stride,
              dil = (long long)c->dil;
    for (long long co = cout * lane / st->lanes; co < cout * (lane + 1) / st->lanes; co++) {
        long long g = co / cog, o = co % cog;
        float *y = st->y + co * tout;
        memset(y, 0, (size_t)tout * sizeof *y);
        for (long long j = 0; j < k; j++) {
            const float *z = st->cc + (g * st->mp + o * k + j) * st->np;
            for (long long t = 0; t < T && t * s + j * dil < tout; t++)
                y[t * s + j * dil] += z[t];
        }
        finish(st, co, y, tout);
    }
}

static void lane_job(void *ctx, int job, int lane)
{
    cb_state *st = ctx;
    const nn_conv *c = &st->c;
    if (job == 1) {
        gather_tr(st, lane);
        return;
    }
    long long per = st->np / BG_NR, nb = (per + PB - 1) / PB, all = (long long)c->groups * nb;
    long long q0 = all * lane / st->lanes, q1 = all * (lane + 1) / st->lanes;
    for (long long q = q0; q < q1; q++) {
        long long g = q / nb, j0 = q % nb * PB, j1 = j0 + PB < per ? j0 + PB : per;
        if (c->transposed)
            pack_tr(st, g, j0, j1);
        else
            pack(st, g, j0, j1);
        float *cg = st->cc + g * st->mp * st->np;
        bg_gemm_panels(st->a + g * st->mp * st->kh, st->mp, st->kh,
                       st->bp + g * per * st->kh * BG_NR, j0, j1, cg, st->np);
        if (c->transposed)
            continue;
        long long t0 = j0 * BG_NR, t1 = j1 * BG_NR < (long long)c->tout ? j1 * BG_NR
                                                                       : (long long)c->tout;
        for (long long o = 0; o < (long long)c->cog; o++) {
            long long co = g * (long long)c->cog + o;
            float *y = st->y + co * (long long)c->tout + t0;
            memcpy(y, cg + o * st->np + t0, (size_t)(t1 - t0) * sizeof *y);
            finish(st, co, y, t1 - t0);
        }
    }
}

int conv_bf16_setup(const void *ctx, const sono_params *p, void **out, sono_error *err)
{
    char why[256];
    *out = NULL;
    int rc = conv_bf16_supports(ctx, p, why, sizeof why);
    if (rc)
        return sono_fail(err, rc, "cpu/avx512bf16 conv1d: %s", why);
    cb_state *st = calloc(1, sizeof *st);
    if (!st)
        return sono_fail(err, SONO_ENOMEM, "cpu/avx512bf16 conv1d: cannot allocate its state");
    nn_conv_shape(p, 1024, &st->c, why, sizeof why);
    const nn_conv *c = &st->c;
    long long G = (long long)c->groups;
    long long rows = (long long)(c->transposed ? c->cog * c->k : c->cog),
              cols = (long long)(c->transposed ? c->T : c->tout);
    st->kk = (long long)(c->transposed ? c->cig : c->cig * c->k);
    st->kh = (st->kk + 1) / 2;
    st->mp = (rows + BG_MR - 1) / BG_MR * BG_MR;
    st->np = (cols + BG_NR - 1) / BG_NR * BG_NR;
    st->lanes = (int)sono_param_int(p, "threads", 1);
    st->elu_simd = en_elu_simd();
    st->a = calloc((size_t)(G * st->mp * st->kh), sizeof *st->a);
    st->bp = malloc((size_t)(G * st->np * st->kh) * sizeof *st->bp);
    st->cc = malloc((size_t)(G * st->mp * st->np) * sizeof *st->cc);
    st->y = malloc(c->cout * c->tout * sizeof *st->y);
    if (!st->a || !st->bp || !st->cc || !st->y) {
        long long mp = st->mp, kh = st->kh, np = st->np;
        conv_bf16_teardown(st);
        return sono_fail(err, SONO_ENOMEM, "cpu/avx512bf16 conv1d: cannot allocate its "
                         "buffers (%lld groups of %lld x %lld pairs x %lld samples)", G, mp,
                         kh, np);
    }
    if ((rc = cpu_pool_new(st->lanes, lane_job, st, "cpu/avx512bf16 conv1d", &st->pool,
                           err))) {
        conv_bf16_teardown(st);
        return rc;
    }
    *out = st;
    return 0;
}

/* x, W and b must be on the bf16 grid (the op's hook rounds all three at dtype=bf16); W
 * is packed here, once, as a model's weights are converted once. */
int conv_bf16_load(void *vst, const sono_buf *in, sono_error *err)
{
    cb_state *st = vst;
    const nn_conv *c = &st->c;
    int rc = nn_check_input("cpu/avx512bf16 conv1d", in, c->nin, err);
    if (rc)
        return rc;
    long long bad = bg_off_grid(in->data, (long long)(c->nx + c->nw));
    if (bad >= 0)
        return sono_fail(err, SONO_EINVAL, "cpu/avx512bf16 conv1d: input value %lld (%g) is "
                         "not a bf16 value: the op rounds x and W at dtype=bf16", bad,
                         (double)((const float *)in->data)[bad]);
    st->x = in->data;
    st->b = st->x + c->nx + c->nw;
    st->alpha = st->b + c->cout;
    if (c->transposed) { /* W [cin][cout/G][k]: row (o, j) of group g over its channels */
        const float *W = st->x + c->nx;
        long long cig = (long long)c->cig, cog = (long long)c->cog, k = (long long)c->k;
        for (long long g = 0; g < (long long)c->groups; g++)
            for (long long o = 0; o < cog; o++)
                for (long long j = 0; j < k; j++)
                    for (long long p = 0; p < st->kh; p++) {
                        long long c0 = g * cig + 2 * p, c1 = c0 + 1;
                        float w0 = W[(c0 * cog + o) * k + j],
                              w1 = 2 * p + 1 < cig ? W[(c1 * cog + o) * k + j] : 0;
                        st->a[(g * st->mp + o * k + j) * st->kh + p] = bg_pair(w0, w1);
                    }
        return 0;
    }
    for (long long g = 0; g < (long long)c->groups; g++)
        bg_pack_a(st->x + c->nx + g * (long long)(c->cog * c->cig * c->k), st->kk,
                  (long long)c->cog, st->kk, st->mp, st->a + g * st->mp * st->kh);
    return 0;
}

int conv_bf16_run(void *vst)
{
    cb_state *st = vst;
    cpu_pool_run(st->pool, 0);
    if (st->c.transposed) /* every Z column is in before any output gathers */
        cpu_pool_run(st->pool, 1);
    return 0;
}

int conv_bf16_store(void *vst, sono_buf *out, sono_error *err)
{
    cb_state *st = vst;
    size_t n = st->c.cout * st->c.tout;
    int rc = nn_check_output("cpu/avx512bf16 conv1d", out, n, err);
    if (!rc)
        memcpy(out->data, st->y, n * sizeof *st->y);
    return rc;
}

size_t conv_bf16_workspace(void *vst)
{
    const cb_state *st = vst;
    long long G = (long long)st->c.groups;
    return (size_t)(G * st->mp * st->kh) * 4 + (size_t)(G * st->np * st->kh) * 4 +
           (size_t)(G * st->mp * st->np) * 4 + st->c.cout * st->c.tout * 4 +
           cpu_pool_bytes(st->pool);
}

int conv_bf16_describe(void *vst, char *buf, size_t n)
{
    const cb_state *st = vst;
    if (st->c.transposed)
        snprintf(buf, n, "VDPBF16PS GEMM per group, Z = W^T x (%lld x %lld k-pairs x %lld "
                 "samples), then each output channel gathers its taps; %d lane%s",
                 (long long)(st->c.cog * st->c.k), st->kh, (long long)st->c.T, st->lanes,
                 st->lanes == 1 ? "" : "s");
    else
        snprintf(buf, n, "VDPBF16PS GEMM per group (%lld x %lld k-pairs x %lld samples), the "
                 "signal packed in run from x as im2col reads it; %d lane%s over 32-sample "
                 "panels", (long long)st->c.cog, st->kh, (long long)st->c.tout, st->lanes,
                 st->lanes == 1 ? "" : "s");
    return 0;
}
