/* fakegpu.c — a TEST-ONLY plugin (build/test-plugins/fakegpu.so, backend "fakegpu") for
 * issue 10 on a machine with no GPU: two devices "fake:0" and "fake:1" of kind "fake",
 * timed on the CPU clock, and the two impls `harness calibrate` finds by role on a
 * device's backend: fakegpu/memcpy (op copy, role bandwidth) and fakegpu/cublas (op
 * sgemm, role peak_flops, a plain loop), both registered on fake:0 and run on the CPU;
 * fakegpu/cublaslt (issue 26) the same loop without a role, a second GEMM library.
 * describe says which device the `device` param named and which device's time_runs timed
 * the case, so a test sees both. The devices' summaries stand for GPU descriptions. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sono.h"

static char timed_on[32]; /* the device whose time_runs ran last in this process */

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int time_runs(const sono_device *d, int (*run)(void *st), void *st, long k, double *ns,
                     sono_error *err)
{
    snprintf(timed_on, sizeof timed_on, "%s", d->name);
    double t0 = now_ns();
    for (long i = 0; i < k; i++)
        if (run(st))
            return sono_fail(err, SONO_EDEVICE, "fakegpu: run() failed");
    *ns = now_ns() - t0;
    return 0;
}

/* summary and index (ABI 5) are what env.gpus and harness calibrate show of each */
static const sono_device devs[2] = {
    {.abi = SONO_ABI_VERSION, .name = "fake:0", .kind = "fake", .resolution_ns = 1.0,
     .time_runs = time_runs, .summary = "Fake GPU Zero; test only", .index = 0},
    {.abi = SONO_ABI_VERSION, .name = "fake:1", .kind = "fake", .resolution_ns = 1.0,
     .time_runs = time_runs, .summary = "Fake GPU One; test only", .index = 1},
};

typedef struct state {
    int gemm;
    long long m, n, k; /* copy: n elements */
    float *in, *out;
    char device[32]; /* the device param as setup saw it */
} state;

static int supports(const void *ctx, const sono_params *p, char *why, size_t len)
{
    const char *dev = sono_param_str(p, "device", "");
    (void)ctx;
    if (sono_param_int(p, "threads", 1) != 1) {
        snprintf(why, len, "threads=1 only");
        return SONO_EUNSUPPORTED;
    }
    if (*dev && strcmp(dev, "fake:0") != 0 && strcmp(dev, "fake:1") != 0) {
        snprintf(why, len, "%s not present: 2 fake devices", dev);
        return SONO_EUNSUPPORTED;
    }
    return 0;
}

static void teardown(void *vst)
{
    state *st = vst;
    if (st) {
        free(st->in);
        free(st->out);
    }
    free(st);
}

static int setup(const void *ctx, const sono_params *p, void **stp, sono_error *err)
{
    char why[128];
    *stp = NULL;
    if (supports(ctx, p, why, sizeof why))
        return sono_fail(err, SONO_EUNSUPPORTED, "fakegpu: %s", why);
    state *st = calloc(1, sizeof *st);
    if (!st)
        return sono_fail(err, SONO_ENOMEM, "fakegpu: no memory");
    st->gemm = ctx != NULL;
    st->m = sono_param_int(p, "m", 1);
    st->n = sono_param_int(p, "n", 1);
    st->k = sono_param_int(p, "k", 1);
    snprintf(st->device, sizeof st->device, "%s", sono_param_str(p, "device", ""));
    size_t nin = st->gemm ? (size_t)(st->m * st->k + st->k * st->n) : (size_t)st->n;
    size_t nout = st->gemm ? (size_t)(st->m * st->n) : (size_t)st->n;
    st->in = calloc(nin, sizeof(float));
    st->out = calloc(nout, sizeof(float));
    if (!st->in || !st->out) {
        teardown(st);
        return sono_fail(err, SONO_ENOMEM, "fakegpu: no memory");
    }
    *stp = st;
    return 0;
}

static int load(void *vst, const sono_buf *in, sono_error *err)
{
    state *st = vst;
    size_t need = st->gemm ? (size_t)(st->m * st->k + st->k * st->n) : (size_t)st->n;
    if (in->dtype != SONO_F32 || (size_t)sono_buf_elems(in) != need)
        return sono_fail(err, SONO_EINVAL, "fakegpu: input must be f32 [%zu]", need);
    memcpy(st->in, in->data, need * sizeof(float));
    return 0;
}

static int run(void *vst)
{
    state *st = vst;
    if (!st->gemm) {
        memcpy(st->out, st->in, (size_t)st->n * sizeof(float));
        return 0;
    }
    const float *a = st->in, *b = st->in + st->m * st->k;
    for (long long i = 0; i < st->m; i++) {
        float *c = st->out + i * st->n;
        memset(c, 0, (size_t)st->n * sizeof(float));
        for (long long q = 0; q < st->k; q++)
            for (long long j = 0; j < st->n; j++)
                c[j] += a[i * st->k + q] * b[q * st->n + j];
    }
    return 0;
}

static int store(void *vst, sono_buf *out, sono_error *err)
{
    state *st = vst;
    size_t need = st->gemm ? (size_t)(st->m * st->n) : (size_t)st->n;
    if (out->dtype != SONO_F32 || out->nbytes < need * sizeof(float))
        return sono_fail(err, SONO_EINVAL, "fakegpu: output must be f32 [%zu]", need);
    memcpy(out->data, st->out, need * sizeof(float));
    return 0;
}

static int describe(void *vst, char *buf, size_t n)
{
    const state *st = vst;
    snprintf(buf, n, "device param=%s; timed on %s", st->device[0] ? st->device : "(unset)",
             timed_on);
    return 0;
}

static const int gemm_ctx = 1;

static const sono_impl impls[] = {
    {.abi = SONO_ABI_VERSION, .op = "copy", .name = "memcpy",
     .summary = "TEST ONLY: memcpy on the CPU, registered on fake:0", .device = "fake:0",
     .growth = SONO_ERR_LOG, .supports = supports, .setup = setup, .load = load, .run = run,
     .store = store, .teardown = teardown, .describe = describe, .role = SONO_ROLE_BANDWIDTH},
    {.abi = SONO_ABI_VERSION, .op = "sgemm", .name = "cublas",
     .summary = "TEST ONLY: a plain SGEMM loop on the CPU, registered on fake:0",
     .device = "fake:0", .growth = SONO_ERR_LINEAR, .ctx = &gemm_ctx, .supports = supports,
     .setup = setup, .load = load, .run = run, .store = store, .teardown = teardown,
     .describe = describe, .role = SONO_ROLE_PEAK_FLOPS},
    /* issue 26: a second GEMM library of the backend without a role (as cuda/cublaslt
     * beside cuda/cublas): calibrate measures it too in each tensor-core dtype */
    {.abi = SONO_ABI_VERSION, .op = "sgemm", .name = "cublaslt",
     .summary = "TEST ONLY: the same SGEMM loop, no role, registered on fake:0",
     .device = "fake:0", .growth = SONO_ERR_LINEAR, .ctx = &gemm_ctx, .supports = supports,
     .setup = setup, .load = load, .run = run, .store = store, .teardown = teardown,
     .describe = describe},
};

SONO_EXPORT int sono_plugin_init(sono_registry *r, sono_error *err)
{
    int rc = 0;
    for (int i = 0; i < 2 && rc >= 0; i++)
        rc = r->add_device(r, &devs[i]);
    for (size_t i = 0; i < sizeof impls / sizeof impls[0] && rc >= 0; i++)
        rc = r->add_impl(r, &impls[i]);
    if (rc < 0)
        return sono_fail(err, rc, "fakegpu: registering its devices or impls failed (%d)", rc);
    /* more libraries than the registry once kept (8), so a test sees none is dropped */
    for (int i = 0; i < 10; i++) {
        char name[32];
        snprintf(name, sizeof name, "fakegpu_lib%d", i);
        r->add_lib(r, name, "test only");
    }
    return 0;
}
