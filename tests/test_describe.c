/* test_describe.c — issue 22: describe() is a pure function of what the impl chose, never
 * of a pid, an address, a time or a duration, so compare's "plan-changed" means a plan
 * changed. Every impl registered here that is available and supports its op's default case
 * is set up twice in this process (two live states) and both describes must be equal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "input.h"
#include "op.h"
#include "params.h"
#include "registry.h"

/* Default cases whose cost model says they would take long to plan on two cores (the
 * codec.encodec default is a whole network on seconds of audio): skipped, and counted,
 * so the test stays near a few seconds. The bound is well above every DSP default. */
#define DS_MAX_FLOPS 2e10
#define DS_MAX_BYTES 2e9

static sono_reg ds_R;

/* Impls whose describe is a measurement by design, with the reason; each is printed as
 * skipped. None now: what an impl measures about itself goes to measured() (ABI 6). */
static const char *const ds_measured[][2] = {
    {NULL, NULL},
};

/* A pid or an address in the text: what differs between processes even when both setups
 * here agree (the Python worker is the same process for both states). */
static const char *ds_volatile(const char *d)
{
    for (const char *s = strstr(d, "pid"); s; s = strstr(s + 1, "pid")) {
        if (s > d && ((s[-1] >= 'a' && s[-1] <= 'z') || (s[-1] >= 'A' && s[-1] <= 'Z')))
            continue; /* "rapid" */
        const char *t = s + 3;
        while (*t == ' ' || *t == '=' || *t == ':')
            t++;
        if (*t >= '0' && *t <= '9')
            return "a pid";
    }
    for (const char *s = strstr(d, "0x"); s; s = strstr(s + 1, "0x")) {
        size_t k = strspn(s + 2, "0123456789abcdefABCDEF");
        if (k >= 8)
            return "an address";
    }
    return NULL;
}

static int ds_setup(void **state)
{
    (void)state;
    /* With a wisdom file the second FFTW plan in a process is a "hit" where the first was
     * "new": that clause tells where the plan came from, on purpose, and
     * test_fftw_wisdom.c checks it; here both plans are measured, so the rest must agree. */
    unsetenv("SONO_FFTW_WISDOM");
    const char *b = getenv("SONO_BUILD");
    char dir[1100];
    snprintf(dir, sizeof dir, "%s/plugins", b && *b ? b : "build");
    if (sono_reg_init(&ds_R, NULL))
        return -1;
    sono_reg_load_dir(&ds_R, dir);
    if (!sono_reg_backend(&ds_R, "cpu")) {
        fprintf(stderr, "test_describe: no cpu plugin under %s (make all)\n", dir);
        return -1;
    }
    return 0;
}

static int ds_teardown(void **state)
{
    (void)state;
    sono_reg_free(&ds_R);
    return 0;
}

static double ds_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* The default case's input as a run makes it (harness/run/stage_prepare.c): the op builds
 * it from a seeded noise signal, or the signal itself at the op's rate; and its output. */
static int ds_input(const sono_op *op, const sono_params *p, sono_buf *in, sono_buf *out,
                    sono_error *err)
{
    sono_input_spec spec;
    int rc;
    op->shapes(p, in, out);
    if ((rc = sono_buf_alloc(in, err)) < 0 || (rc = sono_buf_alloc(out, err)) < 0)
        return rc;
    if ((rc = sono_input_parse("noise(seed=22)", ".", &spec, err)) < 0)
        return rc;
    double rate = op->rate ? op->rate(p) : 0, got = 0;
    if (op->input)
        return op->input(p, &spec, rate > 0 ? rate : 48000, in, err);
    if (rate > 0)
        return sono_input_fill_at(&spec, rate, in, err);
    return sono_input_fill(&spec, 48000, in, &got, err);
}

static void ds_skip(int *skipped, const char *full, const char *why)
{
    ++*skipped;
    printf("  skip %-28s %.200s\n", full, why);
}

static void ds_all_impls(void **state)
{
    (void)state;
    int checked = 0, skipped = 0, bad = 0, py = 0;
    for (int i = 0; i < ds_R.nimpls; i++) {
        const sono_impl_entry *e = &ds_R.impls[i];
        const sono_impl *im = e->impl;
        const sono_backend *b = sono_reg_backend_of(&ds_R, e);
        char why[1024] = "";
        if (!b || !b->available) {
            ds_skip(&skipped, e->full, b ? b->reason : "no backend");
            continue;
        }
        const char *measured = NULL;
        for (int m = 0; ds_measured[m][0]; m++)
            if (strcmp(e->full, ds_measured[m][0]) == 0)
                measured = ds_measured[m][1];
        if (measured) {
            ds_skip(&skipped, e->full, measured);
            continue;
        }
        if (!im->describe) {
            ds_skip(&skipped, e->full, "has no describe()");
            continue;
        }
        sono_params p = {0};
        sono_params_defaults(e->op, &p);
        sono_error err = {0};
        if (e->op->validate && e->op->validate(&p, &err) < 0) {
            ds_skip(&skipped, e->full, err.msg);
            goto next; /* p is freed there */
        }
        sono_cost c = {0};
        if (e->op->cost)
            e->op->cost(&p, &c);
        if (c.flops > DS_MAX_FLOPS || c.bytes > DS_MAX_BYTES) {
            snprintf(why, sizeof why, "default case too heavy for this test by the cost "
                     "model: %.3g flops, %.3g bytes", c.flops, c.bytes);
            ds_skip(&skipped, e->full, why);
            goto next; /* p is freed there */
        }
        if (im->supports && im->supports(im->ctx, &p, why, sizeof why) < 0) {
            ds_skip(&skipped, e->full, why);
            goto next; /* p is freed there */
        }
        double t0 = ds_now();
        sono_buf in = {0}, out = {0};
        if (ds_input(e->op, &p, &in, &out, &err) < 0) {
            snprintf(why, sizeof why, "input: %s", err.msg);
            ds_skip(&skipped, e->full, why);
            sono_buf_free(&in);
            sono_buf_free(&out);
            goto next; /* p is freed there */
        }
        void *st[2] = {NULL, NULL};
        char desc[2][8192];
        int rc = 0;
        /* as a run does it: describe after load, run and store (an impl may describe what
         * it saw: the dtype it computed in, the bitrate it reached) */
        for (int k = 0; k < 2 && rc == 0; k++) {
            err = (sono_error){0};
            rc = im->setup(im->ctx, &p, &st[k], &err);
            if (rc == 0)
                rc = im->load(st[k], &in, &err);
            if (rc == 0 && (rc = im->run(st[k])) < 0)
                snprintf(err.msg, sizeof err.msg, "run() returned %d", rc);
            if (rc == 0)
                rc = im->store(st[k], &out, &err);
            if (rc == 0 && (rc = im->describe(st[k], desc[k], sizeof desc[k])) < 0)
                snprintf(err.msg, sizeof err.msg, "describe() returned %d", rc);
        }
        for (int k = 0; k < 2; k++)
            if (st[k])
                im->teardown(st[k]);
        sono_buf_free(&in);
        sono_buf_free(&out);
        if (rc < 0 && !st[0]) { /* the default case needs what this machine lacks */
            snprintf(why, sizeof why, "setup: %s", err.msg);
            ds_skip(&skipped, e->full, why);
            goto next; /* p is freed there */
        }
        checked++;
        /* the py impls share one Python worker, a separate process: its pid must not be
         * in describe either, though both states here see the same one */
        py += strcmp(b->name, "py") == 0;
        if (rc < 0) {
            print_error("%s: the second setup or a describe failed (%d): %s\n", e->full, rc,
                        err.msg);
            bad++;
        } else if (strcmp(desc[0], desc[1]) != 0) {
            print_error("%s: describe differs between two setups of its default case:\n"
                        "  1: %s\n  2: %s\n", e->full, desc[0], desc[1]);
            bad++;
        } else if (ds_volatile(desc[0])) {
            print_error("%s: describe holds %s: %s\n", e->full, ds_volatile(desc[0]), desc[0]);
            bad++;
        }
        double dt = ds_now() - t0;
        if (dt > 5)
            printf("  note %s took %.1f s for two setups\n", e->full, dt);
    next:
        sono_params_free(&p);
    }
    printf("describe: %d impls checked (%d of them py, in the Python worker), %d skipped, "
           "%d differ\n", checked, py, skipped, bad);
    assert_true(checked > 0);
    assert_int_equal(bad, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ds_all_impls),
    };
    return cmocka_run_group_tests(tests, ds_setup, ds_teardown);
}
