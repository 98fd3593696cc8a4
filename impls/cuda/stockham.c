/* stockham.c — cuda/stockham (issue 26): our own GPU FFT for fft and rfft, a mixed-radix
 * (8, 4, 5, 3, 2) Stockham autosort in shared memory, rows past 4096 by one four-step
 * global column pass (sk_kernels.cu); rfft packs two real rows into one complex row. The
 * twiddle table (n entries, in double rounded once) is made in setup; run() only
 * enqueues; load and store are the host<->device copies. */
#include <limits.h>
#include <math.h>
#include <stdlib.h>

#include "cu.h"
#include "cuda_impls.h"
#include "stockham_kernels.h"

typedef struct state {
    cu_hdr h; /* first: the device's time_runs reads it */
    int real;
    size_t n, batch, nout, pairs, in_bytes, out_bytes, dev_bytes;
    unsigned n1;
    void *in, *out;         /* device */
    sk_cf *tw, *tmp, *z, *Z; /* device: table; column-pass output; rfft's packed rows */
} state;

/* Device bytes beside the input and output: the table, the column pass's output (long
 * rows), rfft's packed rows and their spectrum. */
static double extra_bytes(int real, double n, double batch, unsigned n1)
{
    double rows = real ? ceil(batch / 2) : batch;
    return 8.0 * (n + (n1 > 1 ? n * rows : 0) + (real ? 2 * n * rows : 0));
}

static int sizes(int real, const sono_params *p, state *st, char *why, size_t nw)
{
    long long len = sono_param_int(p, "n", 0), batch = sono_param_int(p, "batch", 1);
    if (len < 2 || len > (1LL << 26) || batch < 1 || batch > INT_MAX ||
        len > (1LL << 34) / batch) {
        snprintf(why, nw, "n=%lld in [2, 2^26] and batch=%lld with n*batch <= 2^34", len, batch);
        return SONO_EUNSUPPORTED;
    }
    unsigned n1 = sk_split((unsigned)len);
    if (!n1) {
        snprintf(why, nw, "n=%lld: the Stockham plans take n = 2^a 3^b 5^c, and past %u a "
                 "split n1 x n2 with n1 <= 64 and n2 <= %u", len, SK_SHARED_MAX, SK_SHARED_MAX);
        return SONO_EUNSUPPORTED;
    }
    st->n = (size_t)len;
    st->batch = (size_t)batch;
    st->n1 = n1;
    st->nout = real ? st->n / 2 + 1 : st->n;
    st->pairs = (st->batch + 1) / 2;
    st->in_bytes = st->batch * st->n * (real ? 4 : 8);
    st->out_bytes = st->batch * st->nout * 8;
    st->dev_bytes = st->in_bytes + st->out_bytes +
                    (size_t)extra_bytes(real, (double)st->n, (double)st->batch, n1);
    return 0;
}

static int supports(const void *ctx, const sono_params *p, char *why, size_t n)
{
    state tmp;
    int rc = sizes(*(const int *)ctx, p, &tmp, why, n);
    return rc ? rc : cu_supports_common(p, (double)tmp.dev_bytes, why, n);
}

static void teardown(void *vst)
{
    state *st = vst;
    if (!st)
        return;
    void *bufs[] = {st->in, st->out, st->tw, st->tmp, st->z, st->Z};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        cu_free(bufs[i]);
    free(st);
}

static int make_table(state *st, sono_error *err)
{
    sk_cf *host = malloc(st->n * sizeof *host);
    if (!host)
        return sono_fail(err, SONO_ENOMEM, "%s: no memory for %zu twiddles", st->h.label, st->n);
    for (size_t t = 0; t < st->n; t++) {
        double a = -2.0 * M_PI * (double)t / (double)st->n;
        host[t] = (sk_cf){(float)cos(a), (float)sin(a)};
    }
    int rc = cu_alloc((void **)&st->tw, st->n * sizeof *host, st->h.label, err);
    if (!rc)
        rc = CU_OK(cudaMemcpy(st->tw, host, st->n * sizeof *host, cudaMemcpyHostToDevice),
                   st->h.label, err);
    free(host);
    return rc;
}

int cu_stockham_run(void *vst);

static int setup(const void *ctx, const sono_params *p, void **stp, sono_error *err)
{
    int real = *(const int *)ctx;
    char why[256];
    int rc;
    *stp = NULL;
    if ((rc = supports(ctx, p, why, sizeof why)) < 0)
        return sono_fail(err, rc, "cuda/stockham: %s", why);
    state *st = calloc(1, sizeof *st);
    if (!st)
        return sono_fail(err, SONO_ENOMEM, "cuda/stockham: cannot allocate its state");
    st->real = real;
    (void)sizes(real, p, st, why, sizeof why);
    if ((rc = cu_hdr_init(&st->h, real ? "rfft" : "fft", "stockham", cu_stockham_run, p, err)))
        goto fail;
    cu_range_push(&st->h, "setup");
    size_t rows = real ? st->pairs : st->batch, cplx = rows * st->n * sizeof(sk_cf);
    if (!(rc = cu_alloc(&st->in, st->in_bytes, st->h.label, err)) &&
        !(rc = cu_alloc(&st->out, st->out_bytes, st->h.label, err)) &&
        !(st->n1 > 1 && (rc = cu_alloc((void **)&st->tmp, cplx, st->h.label, err))) &&
        !(real && (rc = cu_alloc((void **)&st->z, cplx, st->h.label, err))) &&
        !(real && (rc = cu_alloc((void **)&st->Z, cplx, st->h.label, err))) &&
        !(rc = make_table(st, err)))
        rc = CU_OK(cudaDeviceSynchronize(), st->h.label, err);
    cu_range_pop();
    if (rc)
        goto fail;
    *stp = st;
    return 0;
fail:
    teardown(st);
    return rc;
}

static int load(void *vst, const sono_buf *in, sono_error *err)
{
    state *st = vst;
    sono_dtype want = st->real ? SONO_F32 : SONO_C64;
    if (in->dtype != want || sono_buf_elems(in) != (long long)(st->batch * st->n) ||
        in->nbytes < st->in_bytes)
        return sono_fail(err, SONO_EINVAL, "%s: input must be %s [batch=%zu, n=%zu]; got dtype "
                         "%d, %lld elements, %zu bytes", st->h.label, st->real ? "f32" : "c64",
                         st->batch, st->n, (int)in->dtype, sono_buf_elems(in), in->nbytes);
    cu_range_push(&st->h, "load");
    int rc = CU_OK(cudaMemcpyAsync(st->in, in->data, st->in_bytes, cudaMemcpyHostToDevice,
                                   st->h.dev->stream), st->h.label, err);
    if (!rc)
        rc = CU_OK(cudaStreamSynchronize(st->h.dev->stream), st->h.label, err);
    cu_range_pop();
    return rc;
}

int cu_stockham_run(void *vst)
{
    state *st = vst;
    cudaStream_t s = st->h.dev->stream;
    if (st->real)
        return CU_RUN(cu_stockham_real_launch(st->in, st->z, st->Z, st->tmp, st->out, st->tw,
                                              (unsigned)st->n, (unsigned)st->batch, s), &st->h);
    return CU_RUN(cu_stockham_launch(st->in, st->out, st->tmp, st->tw, (unsigned)st->n,
                                     (unsigned)st->batch, s), &st->h);
}

static int store(void *vst, sono_buf *out, sono_error *err)
{
    state *st = vst;
    if (out->dtype != SONO_C64 || out->nbytes < st->out_bytes)
        return sono_fail(err, SONO_EINVAL, "%s: output must be c64 [batch=%zu, %zu]; got dtype "
                         "%d, %zu bytes", st->h.label, st->batch, st->nout, (int)out->dtype,
                         out->nbytes);
    cu_range_push(&st->h, "store");
    int rc = CU_OK(cudaMemcpyAsync(out->data, st->out, st->out_bytes, cudaMemcpyDeviceToHost,
                                   st->h.dev->stream), st->h.label, err);
    if (!rc)
        rc = CU_OK(cudaStreamSynchronize(st->h.dev->stream), st->h.label, err);
    cu_range_pop();
    return rc;
}

static int describe(void *vst, char *buf, size_t n)
{
    state *st = vst;
    int r[SK_MAX_PASSES], np = sk_plan((unsigned)(st->n / st->n1), r);
    char plan[64] = "";
    for (int p = 0, o = 0; p < np && o < (int)sizeof plan - 4; p++)
        o += snprintf(plan + o, sizeof plan - (size_t)o, "%s%d", p ? "x" : "", r[p]);
    int o = snprintf(buf, n, "Stockham %s n=%zu batch=%zu: ", st->real ? "R2C (two real rows "
                     "per complex row)" : "C2C", st->n, st->batch);
    if (o >= 0 && (size_t)o < n) {
        if (st->n1 > 1)
            snprintf(buf + o, n - (size_t)o, "global column pass of %u-point FFTs, then "
                     "shared-memory rows of %zu (radix %s)", st->n1, st->n / st->n1, plan);
        else
            snprintf(buf + o, n - (size_t)o, "one block per row in shared memory (radix %s)",
                     plan);
    }
    return 0;
}

static size_t workspace(void *vst)
{
    const state *st = vst;
    return sizeof *st + st->dev_bytes;
}

static const int c2c = 0, r2c = 1;

#define SK_IMPL(OP, CTX, SUMMARY)                                                            \
    {.abi = SONO_ABI_VERSION, .op = OP, .name = "stockham", .summary = SUMMARY,             \
     .device = "cuda:0", .growth = SONO_ERR_LOG, .ctx = CTX, .supports = supports,          \
     .setup = setup, .load = load, .run = cu_stockham_run, .store = store,                  \
     .teardown = teardown, .describe = describe, .workspace = workspace}

const sono_impl cu_stockham_impls[2] = {
    SK_IMPL("fft", &c2c, "own Stockham FFT: radix 8/4/5/3/2 in shared memory, four-step "
            "past 4096"),
    SK_IMPL("rfft", &r2c, "own Stockham FFT on two real rows per complex row, then the "
            "split"),
};
