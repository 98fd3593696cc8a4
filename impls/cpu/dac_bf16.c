/* dac_bf16.c — cpu/avx512bf16 for codec.dac in dtype bf16 (issue 26): DAC with every
 * convolution and transposed convolution a bf16 GEMM (bf16_gemm.c), weights rounded to
 * bf16 once at setup, each conv's input activations rounded as they are packed, float32
 * accumulation; Snake, the residual sums, the RVQ's projections and codebook search stay
 * float32 (cpu/naive's). A precision rung, as codec.encodec's: the reduced-precision
 * network the op's dtype tolerance (f32 + 4 u sqrt(G)) is measured on without a GPU.
 * Single-threaded; the op's streams in one GEMM per conv ((clip, time) columns). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bf16_gemm.h"
#include "cpu_impls.h"
#include "dac_net.h"
#include "nndtype.h"

static size_t scratch_for(const dn_conv *c, long long L, long long T, int S)
{
    return c->tr ? bg_conv_scratch((long long)c->cout * c->k, c->cin, S * L)
                 : bg_conv_scratch(c->cout, (long long)c->cin * c->k, S * T);
}

/* y [cout][S][T] = b + W . im2col(x), zero padding p per clip */
static void conv(const dn_conv *c, const float *x, long long L, int S, float *y, long long T,
                 float *scratch)
{
    const bg_conv_w *w = c->own;
    long long n = (long long)S * T, np = bg_up(n, BG_NR), kk = (long long)c->cin * c->k;
    uint32_t *bp = (uint32_t *)scratch;
    float *cc = bg_conv_c(w, scratch, np);
    for (long long p = 0; p < w->kh; p++) { /* im2col rows 2p, 2p+1: (channel, tap) */
        long long r0 = 2 * p, r1 = r0 + 1;
        const float *x0 = x + (r0 / c->k) * S * L, *x1 = r1 < kk ? x + (r1 / c->k) * S * L : NULL;
        long long o0 = (r0 % c->k) * c->d - c->p, o1 = (r1 % c->k) * c->d - c->p;
        long long s = 0, t = 0; /* column (s, t), walked in order */
        for (long long col = 0; col < np; col++) {
            float v0 = 0, v1 = 0;
            if (col < n) {
                long long j0 = t * c->s + o0, j1 = t * c->s + o1;
                v0 = j0 >= 0 && j0 < L ? x0[s * L + j0] : 0;
                v1 = x1 && j1 >= 0 && j1 < L ? x1[s * L + j1] : 0;
                if (++t == T)
                    t = 0, s++;
            }
            bp[((col / BG_NR) * w->kh + p) * BG_NR + col % BG_NR] = bg_pair(v0, v1);
        }
    }
    bg_gemm_panels(w->a, w->mp, w->kh, bp, 0, np / BG_NR, cc, np);
    for (int o = 0; o < c->cout; o++) /* columns (s, t) are y's row o, clip after clip */
        for (long long col = 0; col < n; col++)
            y[(long long)o * n + col] = cc[o * np + col] + c->b[o];
}

/* Z [(o, k)][(s, t)] = sum_i W[i][o][k] x[i][s][t]; y[o][s][t s + k - p] += Z, on b */
static void convtr(const dn_conv *c, const float *x, long long L, int S, float *y,
                   long long T, float *scratch)
{
    const bg_conv_w *w = c->own;
    long long n = (long long)S * L, np = bg_up(n, BG_NR);
    uint32_t *bp = (uint32_t *)scratch;
    float *z = bg_conv_c(w, scratch, np);
    for (long long p = 0; p < w->kh; p++) { /* x's rows 2p, 2p+1: all clips, in order */
        const float *x0 = x + 2 * p * n, *x1 = 2 * p + 1 < c->cin ? x0 + n : NULL;
        for (long long col = 0; col < np; col++)
            bp[((col / BG_NR) * w->kh + p) * BG_NR + col % BG_NR] =
                col < n ? bg_pair(x0[col], x1 ? x1[col] : 0) : 0;
    }
    bg_gemm_panels(w->a, w->mp, w->kh, bp, 0, np / BG_NR, z, np);
    for (int o = 0; o < c->cout; o++)
        for (long long u = 0; u < (long long)S * T; u++)
            y[(long long)o * S * T + u] = c->b[o];
    for (int o = 0; o < c->cout; o++)
        for (int k = 0; k < c->k; k++) {
            const float *zr = z + ((long long)o * c->k + k) * np;
            for (int s = 0; s < S; s++) {
                float *yo = y + ((long long)o * S + s) * T;
                for (long long t = 0; t < L; t++) {
                    long long j = t * c->s + k - c->p;
                    if (j >= 0 && j < T)
                        yo[j] += zr[(long long)s * L + t];
                }
            }
        }
}

static const dn_kernels kernels = {conv, convtr, dac_naive_vq, dac_naive_proj_in,
                                   dac_naive_proj_out};

/* c's weights rounded to bf16 and packed (nothing where the mode loaded none). */
static int pack(dn_conv *c, sono_error *err)
{
    if (!c->w)
        return 0;
    if (!(c->own = bg_conv_pack(c->w, c->cin, c->cout, c->k, c->tr)))
        return sono_fail(err, SONO_ENOMEM, "cpu/avx512bf16: out of memory");
    return 0;
}

static void unpack(dn_conv *c)
{
    bg_conv_free(c->own);
    c->own = NULL;
}

/* Every conv of the network (the RVQ's projections are not: they stay float32). */
static int each_conv(dn_net *net, int (*fn)(dn_conv *, sono_error *), void (*un)(dn_conv *),
                     sono_error *err)
{
    dn_conv *top[4] = {&net->e_in, &net->e_out, &net->d_in, &net->d_out};
    int rc = 0;
    for (int i = 0; i < 4; i++)
        rc = rc ? rc : fn ? fn(top[i], err) : (un(top[i]), 0);
    for (int side = 0; side < 2; side++)
        for (int b = 0; b < net->cfg.nratio; b++) {
            dn_block *k = side ? &net->db[b] : &net->eb[b];
            rc = rc ? rc : fn ? fn(&k->c, err) : (un(&k->c), 0);
            for (int r = 0; r < 3; r++) {
                rc = rc ? rc : fn ? fn(&k->r[r].c1, err) : (un(&k->r[r].c1), 0);
                rc = rc ? rc : fn ? fn(&k->r[r].c2, err) : (un(&k->r[r].c2), 0);
            }
        }
    return rc;
}

int dac_bf16_supports(const void *ctx, const sono_params *p, char *why, size_t n)
{
    (void)ctx;
    if (bg_supports(p, why, n))
        return SONO_EUNSUPPORTED;
    if (sono_param_int(p, "threads", 1) != 1) {
        snprintf(why, n, "single-threaded impl (threads=1 only)");
        return SONO_EUNSUPPORTED;
    }
    return dn_supports(p, why, n);
}

void dac_bf16_teardown(void *st)
{
    if (!st)
        return;
    each_conv(st, NULL, unpack, NULL);
    dn_free(st);
    free(st);
}

int dac_bf16_setup(const void *ctx, const sono_params *p, void **st, sono_error *err)
{
    char why[256];
    int rc = dac_bf16_supports(ctx, p, why, sizeof why);
    *st = NULL;
    if (rc)
        return sono_fail(err, rc, "cpu/avx512bf16: %s", why);
    dn_net *net = calloc(1, sizeof *net);
    if (!net)
        return sono_fail(err, SONO_ENOMEM, "cpu/avx512bf16: out of memory");
    rc = dn_setup(net, p, &kernels, scratch_for, NULL, err);
    if (!rc)
        rc = each_conv(net, pack, NULL, err);
    if (rc) {
        dac_bf16_teardown(net);
        return rc;
    }
    *st = net;
    return 0;
}

int dac_bf16_describe(void *st, char *buf, size_t n)
{
    const dn_net *net = st;
    snprintf(buf, n, "every conv a VDPBF16PS GEMM (weights and activations rounded to bf16, "
             "fp32 accumulation), Snake, RVQ projections and search fp32; n_q=%d, %lld frames "
             "x %d streams", net->nq, net->frames, net->S);
    return 0;
}
