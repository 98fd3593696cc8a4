/* test_fftw_threads.c — fftw/fftw with threads > 1 against the op's float64 reference, what
 * its describe() records about the threads asked and used, and the workspace every impl
 * of the cpu, fftw and template backends reports against the sizes its tables imply. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "input.h"
#include "registry.h"
#include "runner.h"

static sono_reg tf_R;
static int tf_have_fftw; /* the fftw backend loaded and is available here */

static int tf_setup(void **state)
{
    (void)state;
    const char *b = getenv("SONO_BUILD");
    char dir[1100];
    snprintf(dir, sizeof dir, "%s/plugins", b && *b ? b : "build");
    if (sono_reg_init(&tf_R, NULL))
        return -1;
    sono_reg_load_dir(&tf_R, dir);
    if (!sono_reg_backend(&tf_R, "cpu")) {
        fprintf(stderr, "test_fftw_threads: no cpu plugin under %s (run make all)\n", dir);
        return -1;
    }
    const sono_backend *f = sono_reg_backend(&tf_R, "fftw");
    tf_have_fftw = f && f->available;
    if (!tf_have_fftw)
        printf("fftw backend %s: its tests are skipped\n", f ? f->reason : "not built");
    return 0;
}

static int tf_teardown(void **state)
{
    (void)state;
    sono_reg_free(&tf_R);
    return 0;
}

static sono_params tf_params(long long n, long long batch, long long threads)
{
    sono_params p = {.count = 3,
                     .v = {{.name = "n", .type = SONO_PINT, .i = n},
                           {.name = "batch", .type = SONO_PINT, .i = batch},
                           {.name = "threads", .type = SONO_PINT, .i = threads}}};
    return p;
}

static const sono_impl_entry *tf_find(const char *op, const char *name)
{
    sono_error err = {0};
    const sono_impl_entry *e = sono_reg_find(&tf_R, sono_op_find(op), name, &err);
    if (!e)
        fail_msg("%s %s: %s", op, name, err.msg);
    return e;
}

/* The whole lifecycle once on noise; fills c against the op's reference and tolerance,
 * and desc with what describe() says. Returns the workspace reported, or 0 when none. */
static size_t tf_run(const sono_impl_entry *e, const sono_params *p, sono_check *c, char *desc,
                     size_t ndesc)
{
    const sono_impl *im = e->impl;
    sono_buf in, out, ref;
    sono_error err = {0};
    e->op->shapes(p, &in, &out);
    ref = out;
    ref.dtype = sono_dtype_wide(out.dtype);
    assert_int_equal(sono_buf_alloc(&in, NULL), 0);
    assert_int_equal(sono_buf_alloc(&out, NULL), 0);
    assert_int_equal(sono_buf_alloc(&ref, NULL), 0);
    sono_input_spec spec;
    assert_int_equal(sono_input_parse("noise(seed=5)", ".", &spec, &err), 0);
    double rate = 0;
    if (sono_input_fill(&spec, 48000, &in, &rate, &err))
        fail_msg("noise fill: %s", err.msg);

    long long n = sono_param_int(p, "n", 0), b = sono_param_int(p, "batch", 1),
              t = sono_param_int(p, "threads", 1);
    void *st = NULL;
    if (im->setup(im->ctx, p, &st, &err))
        fail_msg("%s n=%lld batch=%lld threads=%lld: setup: %s", e->full, n, b, t, err.msg);
    if (im->load(st, &in, &err))
        fail_msg("%s: load: %s", e->full, err.msg);
    assert_int_equal(im->run(st), 0);
    assert_int_equal(im->run(st), 0); /* the same result every call */
    if (im->store(st, &out, &err))
        fail_msg("%s: store: %s", e->full, err.msg);
    if (desc) {
        desc[0] = '\0';
        if (im->describe)
            assert_int_equal(im->describe(st, desc, ndesc), 0);
    }
    size_t ws = im->workspace ? im->workspace(st) : 0;
    im->teardown(st);

    if (c) {
        if (e->op->reference(p, &in, &ref, &err))
            fail_msg("reference %s n=%lld: %s", e->op->name, n, err.msg);
        double tol = e->op->tolerance(p, im->growth);
        assert_int_equal(sono_check_output(&out, &ref, tol, c, &err), 0);
    }
    sono_buf_free(&in);
    sono_buf_free(&out);
    sono_buf_free(&ref);
    return ws;
}

/* "threads=<asked>; plan_threads=<used>; <plan>": both numbers, or a failure. */
static void tf_describe_threads(const char *desc, int *asked, int *used)
{
    if (sscanf(desc, "threads=%d; plan_threads=%d; ", asked, used) != 2)
        fail_msg("describe '%.120s' does not open with threads=N; plan_threads=M; ", desc);
}

static void tf_threads_match_reference(void **state)
{
    (void)state;
    if (!tf_have_fftw)
        skip();
    const char *ops[] = {"fft", "rfft"};
    const long long ns[] = {64, 1024, 65536}, batches[] = {1, 8}, threads[] = {2, 3};
    int ran = 0;
    for (size_t o = 0; o < 2; o++) {
        const sono_impl_entry *e = tf_find(ops[o], "fftw/fftw");
        for (size_t t = 0; t < 2; t++)
            for (size_t i = 0; i < 3; i++)
                for (size_t k = 0; k < 2; k++) {
                    sono_params p = tf_params(ns[i], batches[k], threads[t]);
                    char why[256] = "", desc[4096];
                    if (e->impl->supports(e->impl->ctx, &p, why, sizeof why))
                        fail_msg("%s/fftw/fftw rejects threads=%lld: %s", ops[o],
                                 threads[t], why);
                    sono_check c;
                    tf_run(e, &p, &c, desc, sizeof desc);
                    if (!c.pass)
                        fail_msg("%s/fftw/fftw n=%lld batch=%lld threads=%lld: rel_l2 %.3g "
                                 "max_abs %.3g nonfinite %lld, tol %.3g",
                                 ops[o], ns[i], batches[k], threads[t], c.rel_l2, c.max_abs,
                                 c.nonfinite, c.tol);
                    int asked = 0, used = 0;
                    tf_describe_threads(desc, &asked, &used);
                    assert_int_equal(asked, threads[t]);
                    /* FFTW may choose fewer (a serial plan for small n), never more; a
                     * threaded solver in the plan means it chose more than one */
                    if (used < 1 || used > asked)
                        fail_msg("%s n=%lld batch=%lld: plan_threads=%d of %d asked", ops[o],
                                 ns[i], batches[k], used, asked);
                    if ((strstr(desc, "-thr-") != NULL) != (used > 1))
                        fail_msg("plan_threads=%d disagrees with the plan: %.300s", used,
                                 desc);
                    ran++;
                }
    }
    assert_int_equal(ran, 2 * 2 * 3 * 2);
}

static void tf_describe_says_threads(void **state)
{
    (void)state;
    if (!tf_have_fftw)
        skip();
    const sono_impl_entry *e = tf_find("fft", "fftw/fftw");
    char desc[4096];
    sono_params p = tf_params(65536, 8, 2);
    tf_run(e, &p, NULL, desc, sizeof desc);
    if (!strstr(desc, "threads=2"))
        fail_msg("describe at threads=2: '%.200s'", desc);
    int asked = 0, used = 0;
    tf_describe_threads(desc, &asked, &used);
    /* 8 rows of 65536 points: splitting the rows always pays, so FFTW takes both */
    assert_int_equal(used, 2);
    assert_non_null(strstr(desc, "(dft")); /* FFTW's own plan text follows */

    p = tf_params(1024, 1, 1);
    tf_run(e, &p, NULL, desc, sizeof desc);
    tf_describe_threads(desc, &asked, &used);
    assert_int_equal(asked, 1);
    assert_int_equal(used, 1);
    assert_null(strstr(desc, "-thr-"));
}

static void tf_threads_bounds(void **state)
{
    (void)state;
    if (!tf_have_fftw)
        skip();
    const long long bad[] = {0, -1};
    for (int o = 0; o < 2; o++) {
        const sono_impl_entry *e = tf_find(o ? "rfft" : "fft", "fftw/fftw");
        for (size_t i = 0; i < 2; i++) {
            sono_params p = tf_params(64, 1, bad[i]);
            char why[256] = "";
            if (e->impl->supports(e->impl->ctx, &p, why, sizeof why) == 0)
                fail_msg("fftw/fftw accepts threads=%lld", bad[i]);
            if (!strstr(why, "threads"))
                fail_msg("threads=%lld rejected with '%s'", bad[i], why);
            sono_error err = {0};
            void *st = (void *)&err;
            assert_true(e->impl->setup(e->impl->ctx, &p, &st, &err) < 0);
            assert_null(st);
        }
        sono_params p = tf_params(64, 1, 16);
        char why[256] = "";
        if (e->impl->supports(e->impl->ctx, &p, why, sizeof why))
            fail_msg("fftw/fftw rejects threads=16: %s", why);
    }
}

/* A regression test: FFTW's pool workers were still unwinding out of libfftw3f_threads
 * when dlclose of fftw.so unmapped it (fftwf_cleanup_threads does not wait for them),
 * so a process that ran a threaded plan and then closed its registry could die of
 * SIGSEGV. A child does exactly that, lingers while stragglers finish, and must exit 0.
 * It must run first: a fork child inherits FFTW's list of idle pool workers but not the
 * threads, so after any threaded plan in this process it would wait on them forever
 * (the alarm turns such a mistake into a failure, not a hang). */
static void tf_unload_after_threads(void **state)
{
    (void)state;
    if (!tf_have_fftw)
        skip();
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        alarm(60);
        const sono_backend *f = sono_reg_backend(&tf_R, "fftw");
        sono_reg R;
        if (sono_reg_init(&R, NULL) || sono_reg_load_plugin(&R, f->path) < 0)
            _exit(2);
        const sono_impl_entry *e = sono_reg_find(&R, sono_op_find("fft"), "fftw/fftw", NULL);
        sono_params p = tf_params(65536, 8, 2);
        void *st = NULL;
        if (!e || e->impl->setup(e->impl->ctx, &p, &st, NULL))
            _exit(3);
        for (int i = 0; i < 4; i++)
            e->impl->run(st);
        e->impl->teardown(st);
        sono_reg_free(&R);
        sono_reg_free(&tf_R); /* the parent's handle, inherited: now fftw.so unloads */
        usleep(300 * 1000);
        _exit(0);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("threaded plan, teardown, unload: child %s %d",
                 WIFEXITED(status) ? "exited" : "killed by signal",
                 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
}

/* The least each known impl must report for (op, n, batch): the buffers and tables its
 * setup cannot do without. Table entries are counted at 4 bytes, the least an index up to
 * 2^32 needs, so a narrower table type still passes; 0 when the impl is unknown. */
static size_t tf_least(const char *op, const char *full, size_t n, size_t batch)
{
    const size_t cf = 8, f = 4; /* complex float, float */
    int real = strcmp(op, "rfft") == 0;
    size_t io = batch * n * (real ? f : cf) + batch * n * cf; /* cpu: in copy, out n/row */
    if (strcmp(full, "cpu/naive-dft") == 0)
        return io + n * cf;
    if (strcmp(full, "cpu/radix2") == 0)
        return io + n / 2 * cf + n * 4;
    if (strcmp(full, "cpu/nop") == 0)
        return n * f;
    if (strcmp(full, "template/copy") == 0)
        return 2 * n * f;
    if (strcmp(full, "fftw/fftw") == 0)
        return batch * n * (real ? f : cf) + batch * (real ? n / 2 + 1 : n) * cf;
    return 0;
}

/* Every parameter of op at its default, so an impl this test does not know still sets up. */
static sono_params tf_defaults(const sono_op *op)
{
    sono_params p = {0};
    for (int pass = 0; pass < 2; pass++) {
        const sono_param_spec *s = pass ? sono_common_params : op->params;
        int count = pass ? sono_ncommon_params : op->nparams;
        for (int i = 0; i < count && p.count < SONO_MAX_PARAMS; i++) {
            if (sono_param_find(&p, s[i].name))
                continue;
            sono_param *v = &p.v[p.count++];
            v->name = s[i].name;
            v->type = s[i].type;
            v->i = s[i].idflt;
            v->r = s[i].rdflt;
            v->s = s[i].sdflt;
        }
    }
    return p;
}

static void tf_workspace(void **state)
{
    (void)state;
    const char *backends[] = {"cpu", "fftw", "template"};
    const char *known[] = {"fft cpu/naive-dft", "rfft cpu/naive-dft", "fft cpu/radix2",
                           "rfft cpu/radix2",   "nop cpu/nop",        "nop template/copy",
                           "fft fftw/fftw",     "rfft fftw/fftw"};
    int seen[sizeof known / sizeof known[0]] = {0};
    const long long ns[] = {64, 4096}, batches[] = {1, 3};

    for (int i = 0; i < tf_R.nimpls; i++) {
        const sono_impl_entry *e = &tf_R.impls[i];
        const sono_backend *b = sono_reg_backend_of(&tf_R, e);
        int ours = 0;
        for (size_t k = 0; k < 3; k++)
            ours |= strcmp(b->name, backends[k]) == 0;
        if (!ours)
            continue;
        if (!b->available) {
            printf("skip %s/%s: backend unavailable: %s\n", e->op->name, e->full, b->reason);
            continue;
        }
        char key[256];
        snprintf(key, sizeof key, "%s %s", e->op->name, e->full);
        int idx = -1;
        for (size_t k = 0; k < sizeof known / sizeof known[0]; k++)
            if (strcmp(key, known[k]) == 0)
                idx = (int)k;
        if (idx < 0) {
            /* Another engineer's impl: it need not say, but what it says must be real. */
            if (!e->impl->workspace) {
                printf("note %s: no workspace callback\n", key);
                continue;
            }
            sono_params p = tf_defaults(e->op);
            char why[256] = "";
            if (e->impl->supports(e->impl->ctx, &p, why, sizeof why)) {
                printf("note %s: defaults unsupported (%s)\n", key, why);
                continue;
            }
            sono_error err = {0};
            void *st = NULL;
            if (e->impl->setup(e->impl->ctx, &p, &st, &err))
                fail_msg("%s with its op's defaults: setup: %s", key, err.msg);
            size_t ws = e->impl->workspace(st);
            e->impl->teardown(st);
            if (ws == 0)
                fail_msg("%s: workspace 0 after setup", key);
            continue;
        }
        seen[idx] = 1;
        if (!e->impl->workspace)
            fail_msg("%s has no workspace callback", key);
        for (size_t s = 0; s < 2; s++)
            for (size_t k = 0; k < 2; k++) {
                int nop = strcmp(e->op->name, "nop") == 0;
                if (nop && k > 0)
                    continue;
                sono_params p = tf_params(ns[s], batches[k], 1);
                if (nop) /* n and threads: nop has no batch */
                    p = (sono_params){.count = 2, .v = {p.v[0], p.v[2]}};
                size_t ws = tf_run(e, &p, NULL, NULL, 0);
                size_t least = tf_least(e->op->name, e->full, (size_t)ns[s],
                                        nop ? 1 : (size_t)batches[k]);
                if (ws < least || ws == 0)
                    fail_msg("%s n=%lld batch=%lld: workspace %zu < %zu", key, ns[s],
                             batches[k], ws, least);
            }
    }
    for (size_t k = 0; k < sizeof known / sizeof known[0]; k++) {
        if (seen[k])
            continue;
        char be[32];
        snprintf(be, sizeof be, "%.*s", (int)strcspn(strchr(known[k], ' ') + 1, "/"),
                 strchr(known[k], ' ') + 1);
        const sono_backend *b = sono_reg_backend(&tf_R, be);
        if (b && !b->available)
            continue; /* reported as skipped above */
        fail_msg("%s: not registered", known[k]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tf_unload_after_threads), /* first: see its comment */
        cmocka_unit_test(tf_threads_match_reference),
        cmocka_unit_test(tf_describe_says_threads),
        cmocka_unit_test(tf_threads_bounds),
        cmocka_unit_test(tf_workspace),
    };
    return cmocka_run_group_tests(tests, tf_setup, tf_teardown);
}
