/* fftw.c — fftw/fftw: FFTW3's single-precision planner and codelets over all batch rows,
 * the library most users would reach for, and so the bar our own rungs are set against.
 * Plans with FFTW_MEASURE (from the host's wisdom file when it has the problem: wisdom.c)
 * and `threads` threads on our own buffers in setup; run() is one fftwf_execute. */
#include <dlfcn.h>
#include <limits.h>
#include <stdlib.h>

#include <fftw3.h>

#include "sono.h"
#include "wisdom.h"

typedef struct fft_variant {
    int real; /* 1: r2c, input SONO_F32 [batch, n], output bins 0..n/2 */
} fft_variant;

typedef struct state {
    size_t n, batch, nout;
    int real;
    void *in;          /* plan's input: batch*n floats (r2c) or fftwf_complex (c2c) */
    fftwf_complex *out; /* batch*nout */
    fftwf_plan plan;
    int threads; /* asked of the planner (the case's `threads`) */
    fw_source wisdom; /* where the plan came from, for describe */
} state;

/* Whether threads may be asked for: fftwf_init_threads succeeded in sono_plugin_init and
 * FFTW's threads library is pinned (see pin_threads_lib). Otherwise threads=1 still runs
 * and supports() refuses more, giving threads_why. */
static int threads_ok;
static char threads_why[200];

static const fft_variant c2c = {.real = 0};
static const fft_variant r2c = {.real = 1};

static int supports(const void *ctx, const sono_params *p, char *why, size_t n)
{
    long long len = sono_param_int(p, "n", 0);
    long long batch = sono_param_int(p, "batch", 1);
    long long threads = sono_param_int(p, "threads", 1);

    (void)ctx;
    /* fftwf_plan_with_nthreads takes an int. */
    if (threads < 1 || threads > INT_MAX) {
        snprintf(why, n, "threads=%lld must be in [1, INT_MAX]", threads);
        return SONO_EUNSUPPORTED;
    }
    if (threads > 1 && !threads_ok) {
        snprintf(why, n, "%s: threads=1 only, got threads=%lld", threads_why, threads);
        return SONO_EUNSUPPORTED;
    }
    /* FFTW's advanced interface takes n, howmany and distances as int. */
    if (len < 1 || len > INT_MAX || batch < 1 || batch > INT_MAX) {
        snprintf(why, n, "n=%lld and batch=%lld must be in [1, INT_MAX]", len, batch);
        return SONO_EUNSUPPORTED;
    }
    if (len > (1LL << 40) / batch) {
        snprintf(why, n, "n*batch=%lld*%lld exceeds 2^40 elements", len, batch);
        return SONO_EUNSUPPORTED;
    }
    return 0;
}

static void teardown(void *vst)
{
    state *st = vst;
    if (!st)
        return;
    if (st->plan)
        fftwf_destroy_plan(st->plan);
    fftwf_free(st->in);
    fftwf_free(st->out);
    free(st);
}

/* The advanced interface's one call, with the flags wisdom.c asks for. */
static fftwf_plan make_plan(void *arg, unsigned flags)
{
    state *st = arg;
    int n = (int)st->n, howmany = (int)st->batch, odist = (int)st->nout;
    if (st->real)
        return fftwf_plan_many_dft_r2c(1, &n, howmany, st->in, NULL, 1, n, st->out, NULL, 1,
                                       odist, flags);
    return fftwf_plan_many_dft(1, &n, howmany, st->in, NULL, 1, n, st->out, NULL, 1, odist,
                               FFTW_FORWARD, flags);
}

static int setup(const void *ctx, const sono_params *p, void **stp, sono_error *err)
{
    const fft_variant *v = ctx;
    char why[256];
    int rc;

    *stp = NULL;
    if ((rc = supports(ctx, p, why, sizeof why)) < 0)
        return sono_fail(err, rc, "fftw: %s", why);
    state *st = calloc(1, sizeof *st);
    if (!st)
        return sono_fail(err, SONO_ENOMEM, "fftw: cannot allocate its state");
    st->n = (size_t)sono_param_int(p, "n", 0);
    st->batch = (size_t)sono_param_int(p, "batch", 1);
    st->real = v->real;
    st->threads = (int)sono_param_int(p, "threads", 1);
    st->nout = st->real ? st->n / 2 + 1 : st->n;
    st->in = fftwf_malloc(st->batch * st->n * (st->real ? sizeof(float) : sizeof(fftwf_complex)));
    st->out = fftwf_malloc(st->batch * st->nout * sizeof(fftwf_complex));
    if (!st->in || !st->out) {
        rc = sono_fail(err, SONO_ENOMEM, "fftw: cannot allocate buffers for n=%zu batch=%zu",
                       st->n, st->batch);
        teardown(st);
        return rc;
    }
    /* The thread count is planner state, not a plan argument: set it for every plan, since
     * the previous case may have asked for another. Callable only after init_threads. */
    if (threads_ok)
        fftwf_plan_with_nthreads(st->threads);
    st->plan = fw_plan(make_plan, st, "fftw", &st->wisdom);
    if (!st->plan) {
        rc = sono_fail(err, SONO_EDEVICE, "fftw: planner returned NULL for %s n=%zu "
                       "batch=%zu", v->real ? "r2c" : "c2c", st->n, st->batch);
        teardown(st);
        return rc;
    }
    *stp = st;
    return 0;
}

static int load(void *vst, const sono_buf *in, sono_error *err)
{
    state *st = vst;
    sono_dtype want = st->real ? SONO_F32 : SONO_C64;
    size_t need = st->batch * st->n * sono_dtype_size(want);

    if (in->dtype != want || sono_buf_elems(in) != (long long)(st->batch * st->n) ||
        in->nbytes < need)
        return sono_fail(err, SONO_EINVAL,
                         "fftw: input must be %s [batch=%zu, n=%zu] (%zu bytes); got dtype %d, "
                         "%lld elements, %zu bytes",
                         st->real ? "f32" : "c64", st->batch, st->n, need, (int)in->dtype,
                         sono_buf_elems(in), in->nbytes);
    memcpy(st->in, in->data, need);
    return 0;
}

/* Out-of-place, so FFTW leaves st->in intact and every call computes the same thing. */
static int run(void *vst)
{
    state *st = vst;
    fftwf_execute(st->plan);
    return 0;
}

static int store(void *vst, sono_buf *out, sono_error *err)
{
    state *st = vst;
    size_t need = st->batch * st->nout * sizeof(fftwf_complex);

    if (out->dtype != SONO_C64 || out->nbytes < need)
        return sono_fail(err, SONO_EINVAL,
                         "fftw: output must be c64 [batch=%zu, %zu] (%zu bytes); got dtype %d, "
                         "%zu bytes",
                         st->batch, st->nout, need, (int)out->dtype, out->nbytes);
    memcpy(out->data, st->out, need);
    return 0;
}

/* The threads FFTW's plan actually runs on. FFTW has no call for it:
 * fftwf_planner_nthreads() only returns the planner's setting, i.e. what we asked. But
 * every threaded solver prints itself as "(<kind>-thr-...-x<nthr>" (dft-thr-vrank>=1,
 * dft-thr-ct, rdft-thr-vrank>=1, ...), and the planner picks a serial plan when threads
 * would not pay (small n): so no "-thr-" means 1, else the widest split x<nthr>. (A
 * nested split rounds its share up, so a step can briefly run a few more: the full plan
 * text follows in the record for whoever needs that.) */
static int plan_threads(const char *plan)
{
    int most = 1;
    for (const char *s = strstr(plan, "-thr-"); s; s = strstr(s + 1, "-thr-")) {
        size_t len = strcspn(s, " \n()"); /* the solver's name: "-thr-ct-dit-x3/32" */
        for (const char *x = s; x < s + len; x++) {
            int k;
            if (x[0] == '-' && x[1] == 'x' && sscanf(x + 2, "%d", &k) == 1) {
                if (k > most)
                    most = k;
                break;
            }
        }
    }
    return most;
}

/* "threads=<asked>; plan_threads=<used>; wisdom: <hit|new|off>; <FFTW's plan>": the record
 * keeps both counts, since FFTW may use fewer threads than asked for small sizes, and
 * whether the plan was read from the host's wisdom or measured by this setup. */
static int describe(void *vst, char *buf, size_t n)
{
    state *st = vst;
    char *s = fftwf_sprint_plan(st->plan);
    if (!s)
        return SONO_ENOMEM;
    snprintf(buf, n, "threads=%d; plan_threads=%d; wisdom: %s; %s", st->threads,
             plan_threads(s), fw_source_name(st->wisdom), s);
    free(s); /* FFTW documents this string as malloc'd, to be free()d */
    return 0;
}

/* FFTW's own in and out arrays (the plan runs on them, not on the core's buffers). The
 * plan's internal memory (twiddles, scratch, the thread pool) is FFTW's business and not
 * knowable through its API, so it is excluded. */
static size_t workspace(void *vst)
{
    const state *st = vst;
    return sizeof *st + st->batch * st->n * (st->real ? sizeof(float) : sizeof(fftwf_complex)) +
           st->batch * st->nout * sizeof(fftwf_complex);
}

static const sono_impl impls[] = {
    {.abi = SONO_ABI_VERSION, .op = "fft", .name = "fftw",
     .summary = "FFTW3 fftwf_plan_many_dft, FFTW_MEASURE, out-of-place, threads >= 1",
     .device = "cpu", .growth = SONO_ERR_LOG, .ctx = &c2c,
     .supports = supports, .setup = setup, .load = load, .run = run,
     .store = store, .teardown = teardown, .describe = describe, .workspace = workspace},
    {.abi = SONO_ABI_VERSION, .op = "rfft", .name = "fftw",
     .summary = "FFTW3 fftwf_plan_many_dft_r2c, FFTW_MEASURE, out-of-place, threads >= 1",
     .device = "cpu", .growth = SONO_ERR_LOG, .ctx = &r2c,
     .supports = supports, .setup = setup, .load = load, .run = run,
     .store = store, .teardown = teardown, .describe = describe, .workspace = workspace},
};

/* FFTW's pool workers end with pthread_exit, whose unwinder reads the unwind tables of
 * the worker's own library; fftwf_cleanup_threads returns as soon as each worker has
 * said it is leaving, not when it is gone. If dlclose of this plugin then unmapped
 * libfftw3f_threads, a worker still unwinding would fault on the unmapped tables (seen as
 * a SIGSEGV in _Unwind_ForcedUnwind and a deadlock at exit under ASan). So the library
 * that holds fftwf_init_threads (found by address: no soname spelled here) is made
 * RTLD_NODELETE; it and libfftw3f then stay mapped until the process ends. */
static int pin_threads_lib(void)
{
    Dl_info info;
    union {
        int (*fn)(void);
        void *p;
    } sym = {.fn = fftwf_init_threads}; /* ISO C has no function-to-object pointer cast */
    if (!dladdr(sym.p, &info) || !info.dli_fname) {
        snprintf(threads_why, sizeof threads_why, "fftw: cannot locate FFTW's threads library");
        return 0;
    }
    if (!dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE)) {
        const char *e = dlerror();
        snprintf(threads_why, sizeof threads_why, "fftw: cannot pin %s: %s", info.dli_fname,
                 e ? e : "dlopen failed");
        return 0;
    }
    return 1;
}

SONO_EXPORT int sono_plugin_init(sono_registry *r, sono_error *err)
{
    if (r->abi != SONO_ABI_VERSION)
        return sono_fail(err, SONO_EABI, "fftw plugin built for ABI %d, harness has ABI %d",
                         SONO_ABI_VERSION, r->abi);
    /* Once per process is enough (a second call is a no-op in FFTW); a failure leaves
     * threads=1 working and makes supports() say why more is refused. */
    threads_ok = pin_threads_lib();
    if (threads_ok && !fftwf_init_threads()) {
        snprintf(threads_why, sizeof threads_why, "fftw: fftwf_init_threads failed");
        threads_ok = 0;
    }
    for (size_t i = 0; i < sizeof impls / sizeof impls[0]; i++) {
        int rc = r->add_impl(r, &impls[i]);
        if (rc < 0)
            return sono_fail(err, rc, "fftw: registering %s/fftw/%s failed (%d)",
                             impls[i].op, impls[i].name, rc);
    }
    if (r->add_lib)
        r->add_lib(r, "fftw", fftwf_version);
    return 0;
}

/* FFTW keeps planner state (wisdom, twiddle caches) and, once threads were used, a pool
 * of worker threads for the life of the process. The harness dlcloses plugins on exit,
 * after every plan is destroyed: release them then, or LeakSanitizer reports FFTW's
 * memory as leaked by an unloaded module. fftwf_cleanup_threads also does fftwf_cleanup,
 * and does only that when init_threads never succeeded. */
__attribute__((destructor)) static void release_planner(void)
{
    fftwf_cleanup_threads();
    threads_ok = 0;
}
