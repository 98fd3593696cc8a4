/* devhook.c — a TEST-ONLY plugin (build/test-plugins/devhook.so, backend "devhook"): a
 * device "hook:0" with sono.h's case_begin/case_end, so the core's hooks are tested on
 * a machine with no GPU. case_end returns {"seen": "<case id>"}, or text that is not
 * JSON when SONO_TEST_HOOK_BAD is set. devhook/copy (op "nop") copies its input. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sono.h"

typedef struct state {
    size_t n;
    float *buf;
} state;

static char seen[512]; /* the id case_begin was given; "" once case_end has reported it */

static void case_begin(const sono_device *d, const char *case_id)
{
    (void)d;
    snprintf(seen, sizeof seen, "%s", case_id);
}

/* The id goes out as it came in: the test's ids hold no character JSON must escape. */
static int case_end(const sono_device *d, char *json, size_t n)
{
    (void)d;
    const char *bad = getenv("SONO_TEST_HOOK_BAD");
    if (bad && *bad)
        snprintf(json, n, "{\"seen\": \"%s\"", seen); /* unterminated object */
    else
        snprintf(json, n, "{\"seen\": \"%s\"}", seen);
    seen[0] = 0;
    return 0;
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int time_runs(const sono_device *d, int (*run)(void *st), void *st, long k, double *ns,
                     sono_error *err)
{
    (void)d;
    double t0 = now_ns();
    for (long i = 0; i < k; i++)
        if (run(st))
            return sono_fail(err, SONO_EDEVICE, "devhook: run() failed");
    *ns = now_ns() - t0;
    return 0;
}

static const sono_device dev = {.abi = SONO_ABI_VERSION, .name = "hook:0", .kind = "test",
                                .resolution_ns = 1.0, .time_runs = time_runs,
                                .case_begin = case_begin, .case_end = case_end};

static int supports(const void *ctx, const sono_params *p, char *why, size_t n)
{
    long long len = sono_param_int(p, "n", 0);
    (void)ctx;
    if (sono_param_int(p, "threads", 1) != 1 || len < 1 || len > (1LL << 24)) {
        snprintf(why, n, "n=%lld: need 1 <= n <= 2^24 and threads=1", len);
        return SONO_EUNSUPPORTED;
    }
    return 0;
}

static void teardown(void *vst)
{
    state *st = vst;
    if (st)
        free(st->buf);
    free(st);
}

static int setup(const void *ctx, const sono_params *p, void **stp, sono_error *err)
{
    char why[256];
    *stp = NULL;
    if (supports(ctx, p, why, sizeof why) != 0)
        return sono_fail(err, SONO_EUNSUPPORTED, "devhook: %s", why);
    state *st = calloc(1, sizeof *st);
    if (st)
        st->n = (size_t)sono_param_int(p, "n", 1);
    if (!st || !(st->buf = calloc(st->n, sizeof *st->buf))) {
        teardown(st);
        return sono_fail(err, SONO_ENOMEM, "devhook: cannot allocate its state");
    }
    *stp = st;
    return 0;
}

static int load(void *vst, const sono_buf *in, sono_error *err)
{
    state *st = vst;
    if (in->dtype != SONO_F32 || in->nbytes < st->n * sizeof(float))
        return sono_fail(err, SONO_EINVAL, "devhook: input must be f32 [n=%zu]", st->n);
    memcpy(st->buf, in->data, st->n * sizeof(float));
    return 0;
}

static int run(void *vst)
{
    (void)vst;
    return 0;
}

static int store(void *vst, sono_buf *out, sono_error *err)
{
    state *st = vst;
    if (out->dtype != SONO_F32 || out->nbytes < st->n * sizeof(float))
        return sono_fail(err, SONO_EINVAL, "devhook: output must be f32 [n=%zu]", st->n);
    memcpy(out->data, st->buf, st->n * sizeof(float));
    return 0;
}

static const sono_impl impls[] = {
    {.abi = SONO_ABI_VERSION, .op = "nop", .name = "copy",
     .summary = "TEST ONLY: copies its input on device hook:0, whose case hooks report the "
                "case id", .device = "hook:0", .growth = SONO_ERR_LINEAR,
     .supports = supports, .setup = setup, .load = load, .run = run, .store = store,
     .teardown = teardown},
};

SONO_EXPORT int sono_plugin_init(sono_registry *r, sono_error *err)
{
    int rc = r->add_device(r, &dev);
    if (rc >= 0)
        rc = r->add_impl(r, &impls[0]);
    return rc < 0 ? sono_fail(err, rc, "devhook: registering hook:0 or nop/copy failed (%d)",
                              rc)
                  : 0;
}
