/* template.c — a working backend to copy when you start a new one (like SQLite's
 * templatevtab.c). It builds into build/plugins/template.so and registers one impl,
 * template/copy, for op "nop": run() copies the input into the impl's own buffer.
 *
 * To make a new backend "mybk" from it:
 *
 *  1. Copy the folder: cp -r impls/template impls/mybk. Every .c file in impls/mybk/ is
 *     built into build/plugins/mybk.so; the .so's stem is the backend name the core
 *     uses ("mybk/<impl>"), so the folder name matters and the code never spells it.
 *  2. Rename: template.c to mybk.c, "copy" to your impl's name, and the summary strings.
 *     Keep every function static: the one exported symbol is sono_plugin_init.
 *  3. Fill the impl table at the bottom: one entry per (op, impl), with designated
 *     initializers. The op's contract (params, input/output dtype and shape) is in
 *     harness/ops/<op>.c; your load/store must match it exactly. Use ctx when one set of
 *     functions serves several variants (impls/cpu/plugin.c does this for fft and rfft).
 *  4. Write the six functions per impl, keeping to the lifecycle the core follows:
 *     supports (pure: no allocation, a reason in why) -> setup (allocate everything:
 *     plans, tables, buffers, 64-byte aligned) -> load (copy the input in; not timed as
 *     kernel) -> run, many times (the timed kernel: same output every call, input left
 *     intact) -> store (copy out; check out->nbytes) -> teardown (free all; it must also
 *     accept a half-built state, which is how setup cleans up after itself).
 *  5. Add mybk to BACKENDS in the Makefile, with its library flags from pkg-config in
 *     CFLAGS_mybk and LIBS_mybk (`pkg-config --cflags --libs foo`), the library's Debian
 *     package to
 *     ci/install-deps.sh. If the library or device may be absent at run time, call
 *     r->set_unavailable(r, "why") in sono_plugin_init instead of failing: the impls stay
 *     listed and their cases are skipped with that reason. Report the library's version
 *     with r->add_lib so it lands in the results' environment.
 *  6. Add tests: a cmocka test under tests/ that loads your plugin and checks each impl's
 *     output against the op's reference for a few sizes (odd, prime, power of two,
 *     n = 1) and batch > 1, and that supports() rejects what it cannot do. Then add your
 *     impls to a suite under suites/ and run it; `harness list` should show them.
 *  7. Run the test suite under ASan/UBSan (`make asan` or equivalent) before sending it.
 */
#include <stdint.h>
#include <stdlib.h>

#include "sono.h"

/* Everything one case needs between setup and teardown. Each case gets its own, so
 * nothing here is global and cases can never see each other's data. */
typedef struct state {
    size_t n;
    float *in;  /* the input, copied in load: the core's buffer is not ours to keep */
    float *out; /* what run() produces; store copies it out */
} state;

/* aligned_alloc wants a size that is a multiple of the alignment. */
static void *amalloc(size_t bytes)
{
    if (bytes == 0)
        bytes = 1;
    if (bytes > SIZE_MAX - 63)
        return NULL;
    return aligned_alloc(64, (bytes + 63) & ~(size_t)63);
}

/* Pure: decides from the parameters alone, so `harness list` and the planner can call
 * it freely. Return 0, or non-zero with a short reason a person can act on. */
static int supports(const void *ctx, const sono_params *p, char *why, size_t n)
{
    long long len = sono_param_int(p, "n", 0);
    long long threads = sono_param_int(p, "threads", 1);

    (void)ctx;
    if (threads != 1) {
        snprintf(why, n, "single-threaded impl (threads=1 only), got threads=%lld", threads);
        return SONO_EUNSUPPORTED;
    }
    if (len < 1 || len > (1LL << 40)) {
        snprintf(why, n, "n=%lld must be in [1, 2^40]", len);
        return SONO_EUNSUPPORTED;
    }
    return 0;
}

/* Called on half-built states too (see setup), so every free must accept NULL. */
static void teardown(void *vst)
{
    state *st = vst;
    if (!st)
        return;
    free(st->in);
    free(st->out);
    free(st);
}

/* Timed as plan time. Check the parameters again: setup must not trust its caller. */
static int setup(const void *ctx, const sono_params *p, void **stp, sono_error *err)
{
    char why[256];
    int rc;

    *stp = NULL;
    if ((rc = supports(ctx, p, why, sizeof why)) != 0)
        return sono_fail(err, SONO_EUNSUPPORTED, "template/copy: %s", why);
    state *st = calloc(1, sizeof *st);
    if (!st)
        return sono_fail(err, SONO_ENOMEM, "template/copy: cannot allocate its state");
    st->n = (size_t)sono_param_int(p, "n", 0);
    st->in = amalloc(st->n * sizeof(float));
    st->out = amalloc(st->n * sizeof(float));
    if (!st->in || !st->out) {
        rc = sono_fail(err, SONO_ENOMEM, "template/copy: cannot allocate 2 x %zu floats",
                       st->n);
        teardown(st);
        return rc;
    }
    *stp = st;
    return 0;
}

/* Host -> device. A GPU backend uploads here; a CPU one copies. Check what the core
 * hands over against the op's contract rather than trusting it. */
static int load(void *vst, const sono_buf *in, sono_error *err)
{
    state *st = vst;
    if (in->dtype != SONO_F32 || sono_buf_elems(in) != (long long)st->n ||
        in->nbytes < st->n * sizeof(float))
        return sono_fail(err, SONO_EINVAL,
                         "template/copy: input must be f32 [n=%zu]; got dtype %d, %lld elements",
                         st->n, (int)in->dtype, sono_buf_elems(in));
    memcpy(st->in, in->data, st->n * sizeof(float));
    return 0;
}

/* The timed kernel. It gets no err: keep anything that can fail in setup, and return a
 * negative SONO_E* only for a fault you could not foresee there. */
static int run(void *vst)
{
    state *st = vst;
    memcpy(st->out, st->in, st->n * sizeof(float));
    return 0;
}

/* Device -> host, into the buffer the core allocated with the op's output shape. */
static int store(void *vst, sono_buf *out, sono_error *err)
{
    state *st = vst;
    if (out->dtype != SONO_F32 || out->nbytes < st->n * sizeof(float))
        return sono_fail(err, SONO_EINVAL,
                         "template/copy: output must be f32 [n=%zu]; got dtype %d, %zu bytes",
                         st->n, (int)out->dtype, out->nbytes);
    memcpy(out->data, st->out, st->n * sizeof(float));
    return 0;
}

/* Optional: what this impl chose, for the record (a plan, a thread count, a kernel). */
static int describe(void *vst, char *buf, size_t n)
{
    state *st = vst;
    snprintf(buf, n, "memcpy of %zu floats", st->n);
    return 0;
}

/* Optional: the bytes setup allocated beyond the core's input and output buffers (here
 * the state and its two copies; for a real backend also plans, tables, scratch and
 * device memory), for the record. Count what you asked for; leave out what a library
 * allocates behind its API, and say so here. */
static size_t workspace(void *vst)
{
    const state *st = vst;
    return sizeof *st + 2 * st->n * sizeof(float);
}

static const sono_impl impls[] = {
    {.abi = SONO_ABI_VERSION, /* the core refuses an impl built for another ABI */
     .op = "nop",
     .name = "copy",
     .summary = "template backend: run() copies the input (copy me to start a backend)",
     .device = "cpu",
     .growth = SONO_ERR_LOG,
     .ctx = NULL,
     .supports = supports,
     .setup = setup,
     .load = load,
     .run = run,
     .store = store,
     .teardown = teardown,
     .describe = describe,
     .workspace = workspace},
};

/* The one exported symbol. Register every table entry; a negative return from the core
 * means the plugin is broken, so pass it on with a message naming the impl. */
SONO_EXPORT int sono_plugin_init(sono_registry *r, sono_error *err)
{
    if (r->abi != SONO_ABI_VERSION)
        return sono_fail(err, SONO_EABI, "template plugin built for ABI %d, harness has %d",
                         SONO_ABI_VERSION, r->abi);
    for (size_t i = 0; i < sizeof impls / sizeof impls[0]; i++) {
        int rc = r->add_impl(r, &impls[i]);
        if (rc < 0)
            return sono_fail(err, rc, "template: registering %s/%s failed (%d)",
                             impls[i].op, impls[i].name, rc);
    }
    return 0;
}
