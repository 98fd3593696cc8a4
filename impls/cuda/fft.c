/* fft.c — cuda/cufft (fft: batched cufftPlanMany C2C; rfft: R2C) and cuda/radix2 (fft,
 * our own kernels, powers of two): out-of-place on device buffers made in setup; load
 * and store are the host<->device copies, run() only enqueues on the device's stream. */
#include <limits.h>
#include <stdlib.h>

#include <cufft.h>

#include "cu.h"
#include "cuda_impls.h"
#include "kernels.h"
#include "radix2_math.h"

typedef struct fft_variant {
    const char *impl; /* "cufft", "radix2" */
    int real;         /* r2c */
    int own;          /* our radix-2 kernels instead of cuFFT */
} fft_variant;

const fft_variant cu_fft_cufft_c2c = {.impl = "cufft", .real = 0};
const fft_variant cu_fft_cufft_r2c = {.impl = "cufft", .real = 1};
const fft_variant cu_fft_radix2 = {.impl = "radix2-gpu", .own = 1};

typedef struct state {
    cu_hdr h; /* first: the device's time_runs reads it */
    const fft_variant *v;
    size_t n, batch, nout, in_bytes, out_bytes;
    void *in, *out;   /* device */
    r2_cf *tw;        /* device, radix2: n/2 twiddles */
    cufftHandle plan;
    int has_plan;
    size_t plan_work; /* cuFFT's work area */
} state;

const char *cu_cufft_error(cufftResult r)
{
    switch (r) {
    case CUFFT_SUCCESS: return "success";
    case CUFFT_INVALID_PLAN: return "invalid plan";
    case CUFFT_ALLOC_FAILED: return "allocation failed";
    case CUFFT_INVALID_VALUE: return "invalid value";
    case CUFFT_INTERNAL_ERROR: return "internal error";
    case CUFFT_EXEC_FAILED: return "exec failed";
    case CUFFT_SETUP_FAILED: return "setup failed";
    case CUFFT_INVALID_SIZE: return "invalid size";
    case CUFFT_NOT_SUPPORTED: return "not supported";
    default: return "cuFFT error";
    }
}

static int sizes(const fft_variant *v, const sono_params *p, size_t *in_b, size_t *out_b,
                 char *why, size_t n)
{
    long long len = sono_param_int(p, "n", 0), batch = sono_param_int(p, "batch", 1);
    if (!sono_param_find(p, "n")) {
        snprintf(why, n, "parameter n is missing");
        return SONO_EUNSUPPORTED;
    }
    /* cufftPlanMany takes int sizes and distances; the kernels index rows with unsigned */
    if (len < 1 || len > INT_MAX || batch < 1 || batch > INT_MAX) {
        snprintf(why, n, "n=%lld and batch=%lld must be in [1, %d]", len, batch, INT_MAX);
        return SONO_EUNSUPPORTED;
    }
    if (len > (1LL << 36) / batch) {
        snprintf(why, n, "n*batch=%lld*%lld exceeds 2^36 elements", len, batch);
        return SONO_EUNSUPPORTED;
    }
    if (v->own && r2_log2((unsigned long long)len) < 0) {
        snprintf(why, n, "radix-2 only: n=%lld is not a power of two", len);
        return SONO_EUNSUPPORTED;
    }
    if (v->own && len > (1LL << 30)) {
        snprintf(why, n, "radix-2: n=%lld exceeds 2^30", len);
        return SONO_EUNSUPPORTED;
    }
    size_t nout = v->real ? (size_t)len / 2 + 1 : (size_t)len;
    *in_b = (size_t)batch * (size_t)len * (v->real ? 4 : 8);
    *out_b = (size_t)batch * nout * 8;
    return 0;
}

static int supports(const void *ctx, const sono_params *p, char *why, size_t n)
{
    size_t in_b, out_b;
    int rc = sizes(ctx, p, &in_b, &out_b, why, n);
    if (rc)
        return rc;
    return cu_supports_common(p, (double)in_b + (double)out_b, why, n);
}

static void teardown(void *vst)
{
    state *st = vst;
    if (!st)
        return;
    if (st->has_plan)
        (void)cufftDestroy(st->plan);
    cu_free(st->in);
    cu_free(st->out);
    cu_free(st->tw);
    free(st);
}

static int cufft_ok(cufftResult r, const char *call, const char *who, sono_error *err)
{
    if (r == CUFFT_SUCCESS)
        return 0;
    return sono_fail(err, r == CUFFT_ALLOC_FAILED ? SONO_ENOMEM : SONO_EDEVICE,
                     "%s: %s failed: %s (%d)", who, call, cu_cufft_error(r), (int)r);
}
#define CUFFT_OK(call, who, err) cufft_ok((call), #call, (who), (err))

static int make_plan(state *st, sono_error *err)
{
    int n = (int)st->n, odist = (int)st->nout, rc;
    if ((rc = CUFFT_OK(cufftCreate(&st->plan), st->h.label, err)))
        return rc;
    st->has_plan = 1;
    rc = CUFFT_OK(cufftMakePlanMany(st->plan, 1, &n, NULL, 1, n, NULL, 1, odist,
                                    st->v->real ? CUFFT_R2C : CUFFT_C2C, (int)st->batch,
                                    &st->plan_work),
                  st->h.label, err);
    if (!rc)
        rc = CUFFT_OK(cufftSetStream(st->plan, st->h.dev->stream), st->h.label, err);
    return rc;
}

static int make_twiddles(state *st, sono_error *err)
{
    size_t count = st->n / 2 ? st->n / 2 : 1;
    r2_cf *host = malloc(count * sizeof *host);
    if (!host)
        return sono_fail(err, SONO_ENOMEM, "%s: no memory for %zu twiddles", st->h.label, count);
    r2_twiddles(host, (unsigned)st->n);
    if (st->n < 2)
        host[0] = (r2_cf){1, 0};
    int rc = cu_alloc((void **)&st->tw, count * sizeof *host, st->h.label, err);
    if (!rc)
        rc = CU_OK(cudaMemcpy(st->tw, host, count * sizeof *host, cudaMemcpyHostToDevice),
                   st->h.label, err);
    free(host);
    return rc;
}

static int setup(const void *ctx, const sono_params *p, void **stp, sono_error *err)
{
    const fft_variant *v = ctx;
    char why[256];
    size_t in_b, out_b;
    int rc;

    *stp = NULL;
    if ((rc = supports(ctx, p, why, sizeof why)) < 0)
        return sono_fail(err, rc, "cuda/%s: %s", v->impl, why);
    (void)sizes(v, p, &in_b, &out_b, why, sizeof why);
    state *st = calloc(1, sizeof *st);
    if (!st)
        return sono_fail(err, SONO_ENOMEM, "cuda/%s: cannot allocate its state", v->impl);
    st->v = v;
    st->n = (size_t)sono_param_int(p, "n", 0);
    st->batch = (size_t)sono_param_int(p, "batch", 1);
    st->nout = v->real ? st->n / 2 + 1 : st->n;
    st->in_bytes = in_b;
    st->out_bytes = out_b;
    if ((rc = cu_hdr_init(&st->h, v->real ? "rfft" : "fft", v->impl, cu_fft_run, p, err)))
        goto fail;
    cu_range_push(&st->h, "setup");
    if (!(rc = cu_alloc(&st->in, in_b, st->h.label, err)) &&
        !(rc = cu_alloc(&st->out, out_b, st->h.label, err)))
        rc = v->own ? make_twiddles(st, err) : make_plan(st, err);
    if (!rc) /* setup's time includes finishing its own device work */
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
    sono_dtype want = st->v->real ? SONO_F32 : SONO_C64;
    if (in->dtype != want || sono_buf_elems(in) != (long long)(st->batch * st->n) ||
        in->nbytes < st->in_bytes)
        return sono_fail(err, SONO_EINVAL,
                         "%s: input must be %s [batch=%zu, n=%zu] (%zu bytes); got dtype %d, "
                         "%lld elements, %zu bytes",
                         st->h.label, st->v->real ? "f32" : "c64", st->batch, st->n,
                         st->in_bytes, (int)in->dtype, sono_buf_elems(in), in->nbytes);
    cu_range_push(&st->h, "load");
    int rc = CU_OK(cudaMemcpyAsync(st->in, in->data, st->in_bytes, cudaMemcpyHostToDevice,
                                   st->h.dev->stream), st->h.label, err);
    if (!rc)
        rc = CU_OK(cudaStreamSynchronize(st->h.dev->stream), st->h.label, err);
    cu_range_pop();
    return rc;
}

int cu_fft_run(void *vst)
{
    state *st = vst;
    if (st->v->own)
        return CU_RUN(cu_radix2_launch(st->in, st->out, (const float *)st->tw,
                                       (unsigned)st->n, (unsigned)st->batch,
                                       st->h.dev->stream), &st->h);
    cufftResult r = st->v->real
                        ? cufftExecR2C(st->plan, st->in, st->out)
                        : cufftExecC2C(st->plan, st->in, st->out, CUFFT_FORWARD);
    if (r != CUFFT_SUCCESS) {
        snprintf(st->h.msg, sizeof st->h.msg, "cufftExec%s failed: %s",
                 st->v->real ? "R2C" : "C2C", cu_cufft_error(r));
        return SONO_EDEVICE;
    }
    return 0;
}

static int store(void *vst, sono_buf *out, sono_error *err)
{
    state *st = vst;
    if (out->dtype != SONO_C64 || out->nbytes < st->out_bytes)
        return sono_fail(err, SONO_EINVAL,
                         "%s: output must be c64 [batch=%zu, %zu] (%zu bytes); got dtype %d, "
                         "%zu bytes",
                         st->h.label, st->batch, st->nout, st->out_bytes, (int)out->dtype,
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
    if (st->v->own)
        snprintf(buf, n, "radix2 %s n=%zu batch=%zu", st->n <= CU_R2_SHARED_MAX
                 ? "shared-memory, one block per row" : "global-memory, one pass per stage",
                 st->n, st->batch);
    else
        snprintf(buf, n, "cufftPlanMany %s n=%zu batch=%zu work_bytes=%zu",
                 st->v->real ? "R2C" : "C2C", st->n, st->batch, st->plan_work);
    return 0;
}

/* Device bytes beyond the input and output copies: cuFFT's work area or the twiddles. */
static size_t workspace(void *vst)
{
    const state *st = vst;
    return sizeof *st + st->in_bytes + st->out_bytes + st->plan_work +
           (st->v->own ? (st->n / 2 ? st->n / 2 : 1) * sizeof(r2_cf) : 0);
}

#define FFT_IMPL(OP, NAME, CTX, SUMMARY)                                                     \
    {.abi = SONO_ABI_VERSION, .op = OP, .name = NAME, .summary = SUMMARY, .device = "cuda:0", \
     .growth = SONO_ERR_LOG, .ctx = CTX, .supports = supports, .setup = setup,              \
     .load = load, .run = cu_fft_run, .store = store, .teardown = teardown,                 \
     .describe = describe, .workspace = workspace}

const sono_impl cu_fft_impls[3] = {
    FFT_IMPL("fft", "cufft", &cu_fft_cufft_c2c, "cuFFT cufftPlanMany C2C, batched, out-of-place"),
    FFT_IMPL("rfft", "cufft", &cu_fft_cufft_r2c, "cuFFT cufftPlanMany R2C, batched, out-of-place"),
    FFT_IMPL("fft", "radix2-gpu", &cu_fft_radix2,
             "own radix-2 kernels: shared memory to n=4096, global passes above; n = 2^k"),
};
