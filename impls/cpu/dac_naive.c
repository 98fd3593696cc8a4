/* dac_naive.c — cpu/naive for codec.dac: the shared body (impls/common/dac_net.c) with
 * kernels by definition: direct float32 conv and transposed-conv loops, the codebook
 * search as a loop over every codeword. One thread. */
#include <stdlib.h>
#include <string.h>

#include "cpu_impls.h"
#include "dac_net.h"
#include "nndtype.h"

/* x [cin][S][L] -> y [cout][S][T]: clip s of channel i is the row i * S + s. */
static void conv(const dn_conv *c, const float *x, long long L, int S, float *y, long long T,
                 float *scratch)
{
    (void)scratch;
    for (int o = 0; o < c->cout; o++)
        for (int s = 0; s < S; s++) {
            float *yo = y + ((size_t)o * S + s) * (size_t)T;
            for (long long t = 0; t < T; t++) {
                float acc = c->b[o];
                for (int i = 0; i < c->cin; i++) {
                    const float *w = c->w + ((size_t)o * c->cin + i) * c->k,
                                *xi = x + ((size_t)i * S + s) * (size_t)L;
                    for (int k = 0; k < c->k; k++) {
                        long long j = t * c->s + (long long)k * c->d - c->p;
                        if (j >= 0 && j < L)
                            acc += w[k] * xi[j];
                    }
                }
                yo[t] = acc;
            }
        }
}

static void convtr(const dn_conv *c, const float *x, long long L, int S, float *y, long long T,
                   float *scratch)
{
    (void)scratch;
    for (int o = 0; o < c->cout; o++)
        for (long long t = 0; t < (long long)S * T; t++)
            y[(size_t)o * (size_t)S * (size_t)T + (size_t)t] = c->b[o];
    for (int s = 0; s < S; s++)
        for (int i = 0; i < c->cin; i++)
            for (int o = 0; o < c->cout; o++) {
                const float *w = c->w + ((size_t)i * c->cout + o) * c->k,
                            *xi = x + ((size_t)i * S + s) * (size_t)L;
                float *yo = y + ((size_t)o * S + s) * (size_t)T;
                for (long long t = 0; t < L; t++)
                    for (int k = 0; k < c->k; k++) {
                        long long j = t * c->s + k - c->p;
                        if (j >= 0 && j < T)
                            yo[j] += w[k] * xi[t];
                    }
            }
}

void dac_naive_vq(const float *cn, const float *cc, int K, int Dc, const float *zn,
                  const float *zz, long long F, int *codes, float *scratch)
{
    (void)scratch;
    for (long long t = 0; t < F; t++) {
        const float *z = zn + (size_t)t * Dc;
        float best = 0;
        int bi = 0;
        for (int k = 0; k < K; k++) {
            float dot = 0;
            for (int j = 0; j < Dc; j++)
                dot += z[j] * cn[(size_t)k * Dc + j];
            float s = 2 * dot - zz[t] + cc[k];
            if (k == 0 || s > best) {
                best = s;
                bi = k;
            }
        }
        codes[t] = bi;
    }
}

void dac_naive_proj_in(const dn_conv *c, const float *r, long long F, float *z)
{
    for (long long t = 0; t < F; t++)
        for (int o = 0; o < c->cout; o++) {
            float s = c->b[o];
            for (int i = 0; i < c->cin; i++)
                s += c->w[(size_t)o * c->cin + i] * r[(size_t)i * (size_t)F + (size_t)t];
            z[(size_t)t * c->cout + o] = s;
        }
}

void dac_naive_proj_out(const dn_conv *c, const float *e, long long F, float sign, float *r)
{
    for (int o = 0; o < c->cout; o++)
        for (long long t = 0; t < F; t++) {
            float s = c->b[o];
            for (int i = 0; i < c->cin; i++)
                s += c->w[(size_t)o * c->cin + i] * e[(size_t)i * (size_t)F + (size_t)t];
            r[(size_t)o * (size_t)F + (size_t)t] += sign * s;
        }
}

static const dn_kernels kernels = {conv, convtr, dac_naive_vq, dac_naive_proj_in,
                                   dac_naive_proj_out};

int dac_naive_supports(const void *ctx, const sono_params *p, char *why, size_t n)
{
    (void)ctx;
    if (sono_param_int(p, "threads", 1) != 1) {
        snprintf(why, n, "single-threaded impl (threads=1 only)");
        return SONO_EUNSUPPORTED;
    }
    return dn_supports(p, why, n);
}

int dac_naive_setup(const void *ctx, const sono_params *p, void **st, sono_error *err)
{
    (void)ctx;
    dn_net *net = calloc(1, sizeof *net);
    *st = net;
    if (!net)
        return sono_fail(err, SONO_ENOMEM, "cpu/naive: out of memory");
    int rc = dn_setup(net, p, &kernels, NULL, NULL, err);
    if (rc) {
        dn_free(net);
        free(net);
        *st = NULL;
    }
    return rc;
}

int dac_load(void *st, const sono_buf *in, sono_error *err)
{
    return dn_load(st, in, err);
}

int dac_run(void *st)
{
    return dn_run(st);
}

int dac_store(void *st, sono_buf *out, sono_error *err)
{
    return dn_store(st, out, err);
}

void dac_teardown(void *st)
{
    if (st)
        dn_free(st);
    free(st);
}

size_t dac_workspace(void *st)
{
    return ((dn_net *)st)->bytes;
}

/* issue 26: the size and, at a reduced dtype, that the loops are float32 on its values */
int dac_naive_describe(void *st, char *buf, size_t n)
{
    const dn_net *net = st;
    snprintf(buf, n, "n_q=%d, %lld frames x %d streams", net->nq, net->frames, net->S);
    nn_dtype_append(buf, n, net->dtnote);
    return 0;
}
