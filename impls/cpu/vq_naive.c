/* vq_naive.c — cpu/naive for vq.encode, rvq.encode and rvq.decode: the definitions as
 * loops in float32. Encode: for each vector and stage, sum (r_j - c_j)^2 over every
 * codeword, keep the first smallest, subtract it from the residual; decode: add the
 * codewords stage by stage. Input layouts: harness/ops/vq.c and rvq.c. */
#include <math.h>

#include "nndtype.h"
#include "cpu_impls.h"

typedef struct vq_state {
    int kind; /* 0 vq.encode, 1 rvq.encode, 2 rvq.decode */
    long long K, D, T, n_q;
    const float *cb, *x; /* bound to the input, which outlives the case */
    int32_t *codes;      /* [n_q, T]: the result (encode) or the decoded input (decode) */
    float *r;            /* [D] residual (encode) */
    float *y;            /* [T, D] (decode) */
    char dtnote[80]; /* issue 26: "dtype: bf16 via fp32 ...", "" at f32 */
} vq_state;

const int vq_naive_kinds[3] = {0, 1, 2};

static int say(char *why, size_t n, const char *msg, long long v)
{
    snprintf(why, n, msg, v);
    return SONO_EUNSUPPORTED;
}

int vq_naive_supports(const void *ctx, const sono_params *p, char *why, size_t n)
{
    int kind = *(const int *)ctx;
    long long K = sono_param_int(p, "K", 1024), D = sono_param_int(p, "D", 128),
              T = sono_param_int(p, "T", 750), q = kind ? sono_param_int(p, "n_q", 8) : 1,
              threads = sono_param_int(p, "threads", 1);
    if (threads != 1)
        return say(why, n, "single-threaded impl (threads=1 only), got threads=%lld", threads);
    if (K < 1 || K > (1LL << 24))
        return say(why, n, "K=%lld must be in [1, 2^24]", K);
    if (D < 1 || T < 1 || q < 1 || D > (1LL << 20) || T > (1LL << 26) || q > 64)
        return say(why, n, "D, T, n_q out of range (T=%lld)", T);
    return 0;
}

void vq_naive_teardown(void *vst)
{
    vq_state *st = vst;
    if (!st)
        return;
    free(st->codes);
    free(st->r);
    free(st->y);
    free(st);
}

int vq_naive_setup(const void *ctx, const sono_params *p, void **stp, sono_error *err)
{
    char why[256];
    int rc;
    *stp = NULL;
    if ((rc = vq_naive_supports(ctx, p, why, sizeof why)) < 0)
        return sono_fail(err, rc, "cpu/naive: %s", why);
    vq_state *st = calloc(1, sizeof *st);
    if (!st)
        return sono_fail(err, SONO_ENOMEM, "cpu/naive: cannot allocate its state");
    nn_dtype_via_f32(p, st->dtnote, sizeof st->dtnote);
    st->kind = *(const int *)ctx;
    st->K = sono_param_int(p, "K", 1024);
    st->D = sono_param_int(p, "D", 128);
    st->T = sono_param_int(p, "T", 750);
    st->n_q = st->kind ? sono_param_int(p, "n_q", 8) : 1;
    st->codes = amalloc((size_t)(st->n_q * st->T) * sizeof *st->codes);
    st->r = amalloc((size_t)st->D * sizeof *st->r);
    st->y = st->kind == 2 ? amalloc((size_t)(st->T * st->D) * sizeof *st->y) : NULL;
    if (!st->codes || !st->r || (st->kind == 2 && !st->y)) {
        vq_naive_teardown(st);
        return sono_fail(err, SONO_ENOMEM, "cpu/naive: cannot allocate T=%lld x D=%lld",
                         (long long)sono_param_int(p, "T", 750), (long long)sono_param_int(p, "D", 128));
    }
    *stp = st;
    return 0;
}

int vq_naive_load(void *vst, const sono_buf *in, sono_error *err)
{
    vq_state *st = vst;
    long long ncb = st->n_q * st->K * st->D, ncodes = st->kind == 2 ? st->n_q * st->T : 0;
    long long need = ncb + ncodes + st->T * st->D;
    if (in->dtype != SONO_F32 || sono_buf_elems(in) != need ||
        in->nbytes < (size_t)need * sizeof(float))
        return sono_fail(err, SONO_EINVAL, "cpu/naive: input must be f32 [%lld] (codebooks%s "
                         "then vectors); got dtype %d, %lld elements", need,
                         ncodes ? ", codes" : "", (int)in->dtype, sono_buf_elems(in));
    st->cb = in->data;
    st->x = st->cb + ncb;
    if (st->kind != 2)
        return 0;
    for (long long i = 0; i < ncodes; i++) {
        float f = st->x[i];
        if (!(f >= 0 && f < (float)st->K && f == floorf(f)))
            return sono_fail(err, SONO_EINVAL, "cpu/naive: code %lld is %g, not an integer "
                             "in [0, %lld)", i, (double)f, st->K);
        st->codes[i] = (int32_t)f;
    }
    return 0;
}

static void encode(vq_state *st)
{
    long long K = st->K, D = st->D, T = st->T;
    for (long long t = 0; t < T; t++) {
        memcpy(st->r, st->x + t * D, (size_t)D * sizeof *st->r);
        for (long long s = 0; s < st->n_q; s++) {
            const float *book = st->cb + s * K * D;
            float best = INFINITY;
            long long bi = 0;
            for (long long k = 0; k < K; k++) {
                float d = 0;
                for (long long j = 0; j < D; j++) {
                    float e = st->r[j] - book[k * D + j];
                    d += e * e;
                }
                if (d < best) {
                    best = d;
                    bi = k;
                }
            }
            st->codes[s * T + t] = (int32_t)bi;
            for (long long j = 0; j < D; j++)
                st->r[j] -= book[bi * D + j];
        }
    }
}

static void decode(vq_state *st)
{
    long long K = st->K, D = st->D, T = st->T;
    memset(st->y, 0, (size_t)(T * D) * sizeof *st->y);
    for (long long t = 0; t < T; t++)
        for (long long s = 0; s < st->n_q; s++) {
            const float *c = st->cb + (s * K + st->codes[s * T + t]) * D;
            for (long long j = 0; j < D; j++)
                st->y[t * D + j] += c[j];
        }
}

int vq_naive_run(void *vst)
{
    vq_state *st = vst;
    if (st->kind == 2)
        decode(st);
    else
        encode(st);
    return 0;
}

int vq_naive_store(void *vst, sono_buf *out, sono_error *err)
{
    vq_state *st = vst;
    int dec = st->kind == 2;
    size_t need = dec ? (size_t)(st->T * st->D) * sizeof(float)
                      : (size_t)(st->n_q * st->T) * sizeof(int32_t);
    if (out->dtype != (dec ? SONO_F32 : SONO_I32) || out->nbytes < need)
        return sono_fail(err, SONO_EINVAL, "cpu/naive: output must be %s (%zu bytes); got "
                         "dtype %d, %zu bytes", dec ? "f32 [T, D]" : "i32 codes", need,
                         (int)out->dtype, out->nbytes);
    memcpy(out->data, dec ? (void *)st->y : (void *)st->codes, need);
    return 0;
}

size_t vq_naive_workspace(void *vst)
{
    const vq_state *st = vst;
    return (size_t)(st->n_q * st->T) * sizeof(int32_t) + (size_t)st->D * sizeof(float) +
           (st->kind == 2 ? (size_t)(st->T * st->D) * sizeof(float) : 0);
}

/* issue 26: only the dtype the case asked for (empty at f32, as before) */
int vq_naive_describe(void *vst, char *buf, size_t n)
{
    snprintf(buf, n, "%s", ((vq_state *)vst)->dtnote);
    return 0;
}
