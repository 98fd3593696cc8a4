/* conv_bf16.c — cpu/avx512bf16 for conv1d in dtype bf16 (issue 26): each group's forward
 * convolution as one bf16 GEMM (bf16_gemm.c), W [cout/G][cin/G * kernel] packed once in
 * load, the signal packed in run straight into the engine's k-pair panels as im2col would
 * read it (no float im2col buffer), then bias and activation in float32. `threads` lanes
 * of the pool take whole output panels (32 samples), packing and computing them alone.
 * Transposed convs are refused: their outputs are scatter-adds, not one GEMM. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bf16_gemm.h"
#include "cpu_impls.h"
#include "en_elu.h"
#include "nndtype.h"
#include "nnshape.h"
#include "pool.h"

typedef struct cb_state {
    nn_conv c;
    long long kk, kh, mp, np; /* per group: GEMM depth cin/G * k, its pairs, rows, columns */
    uint32_t *a;              /* [G][mp][kh] W's pairs */
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
    if (c.transposed) {
        snprintf(why, n, "forward convolutions only: a transposed conv's outputs are "
                 "scatter-adds, not one GEMM (cpu/naive and blas/im2col take it)");
        return SONO_EUNSUPPORTED;
    }
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

/* Group g's panel jp: every k-pair of 32 output samples (past tout: zeros). */
static void pack_panel(cb_state *st, long long g, long long jp)
{
    uint32_t *d = st->bp + ((g * (st->np / BG_NR) + jp) * st->kh) * BG_NR;
    long long t0 = jp * BG_NR, tout = (long long)st->c.tout, s = (long long)st->c.stride;
    long long n = tout - t0 < BG_NR ? tout - t0 : BG_NR;
    for (long long p = 0; p < st->kh; p++, d += BG_NR) {
        long long o0 = 0, o1 = 0;
        const float *x0 = im2col_row(st, g, 2 * p, &o0), *x1 = im2col_row(st, g, 2 * p + 1, &o1);
        long long u0 = t0 * s + o0, u1 = t0 * s + o1;
        int q = 0;
        for (; q < n; q++, u0 += s, u1 += s)
            d[q] = bg_pair(at(x0, u0), at(x1, u1));
        for (; q < BG_NR; q++)
            d[q] = 0;
    }
}

/* Lane's panels, over all groups as one list: pack, multiply, then bias and activation on
 * its own output samples. */
static void lane_job(void *ctx, int job, int lane)
{
    (void)job;
    cb_state *st = ctx;
    const nn_conv *c = &st->c;
    long long per = st->np / BG_NR, all = (long long)c->groups * per;
    long long q0 = all * lane / st->lanes, q1 = all * (lane + 1) / st->lanes;
    for (long long q = q0; q < q1; q++) {
        long long g = q / per, jp = q % per;
        pack_panel(st, g, jp);
        float *cg = st->cc + g * st->mp * st->np;
        bg_gemm_panels(st->a + g * st->mp * st->kh, st->mp, st->kh,
                       st->bp + g * per * st->kh * BG_NR, jp, jp + 1, cg, st->np);
        long long t0 = jp * BG_NR, n = (long long)c->tout - t0 < BG_NR
                                             ? (long long)c->tout - t0 : BG_NR;
        for (long long o = 0; o < (long long)c->cog; o++) {
            long long co = g * (long long)c->cog + o;
            float *y = st->y + co * (long long)c->tout + t0;
            const float *z = cg + o * st->np + t0;
            for (long long i = 0; i < n; i++)
                y[i] = z[i] + st->b[co];
            if (c->act == NN_ACT_ELU) /* the vector expm1 blas/encodec uses (en_elu.h) */
                en_elu(y, y, (size_t)n, st->elu_simd);
            else if (c->act == NN_ACT_SNAKE)
                nn_activate(y, (size_t)n, c->act, st->alpha[co]);
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
    st->kk = (long long)(c->cig * c->k);
    st->kh = (st->kk + 1) / 2;
    st->mp = ((long long)c->cog + BG_MR - 1) / BG_MR * BG_MR;
    st->np = ((long long)c->tout + BG_NR - 1) / BG_NR * BG_NR;
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
    for (long long g = 0; g < (long long)c->groups; g++)
        bg_pack_a(st->x + c->nx + g * (long long)(c->cog * c->cig * c->k), st->kk,
                  (long long)c->cog, st->kk, st->mp, st->a + g * st->mp * st->kh);
    return 0;
}

int conv_bf16_run(void *vst)
{
    cb_state *st = vst;
    cpu_pool_run(st->pool, 0);
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
    snprintf(buf, n, "VDPBF16PS GEMM per group (%lld x %lld k-pairs x %lld samples), the "
             "signal packed in run from x as im2col reads it; %d lane%s over 32-sample "
             "panels", (long long)st->c.cog, st->kh, (long long)st->c.tout, st->lanes,
             st->lanes == 1 ? "" : "s");
    return 0;
}
