/* test_roles.c — what lets the core name no op and no impl: impls found by role and device
 * kind (the calibration and overhead impls), each op's presentation (size axis, merit,
 * describe column) and its JSON, and GPUs listed from their devices' summaries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "env.h"
#include "op.h"
#include "registry.h"
#include "suite.h"

static sono_reg R;

static int setup(void **state)
{
    (void)state;
    const char *b = getenv("SONO_BUILD"), *tp = getenv("SONO_TEST_PLUGINS");
    char dir[1100], fake[1100];
    snprintf(dir, sizeof dir, "%s/plugins", b && *b ? b : "build");
    snprintf(fake, sizeof fake, "%s/fakegpu.so", tp && *tp ? tp : "build/test-plugins");
    if (sono_reg_init(&R, NULL))
        return -1;
    sono_reg_load_dir(&R, dir);
    sono_reg_load_plugin(&R, fake);
    const sono_backend *fb = sono_reg_backend(&R, "fakegpu");
    if (!sono_reg_backend(&R, "cpu") || !sono_reg_backend(&R, "blas") || !fb ||
        !fb->available) {
        fprintf(stderr, "test_roles: need the cpu and blas plugins under %s and %s, loadable "
                "(make all): %s\n", dir, fake, fb ? fb->reason : "fakegpu not loaded");
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    sono_reg_free(&R);
    return 0;
}

/* The cpu's three roles resolve to impls that declare them, of the ops the harness
 * measures with: bandwidth (triad), peak FLOP/s (sgemm), overhead (nop). */
static void roles_cpu(void **state)
{
    (void)state;
    static const struct { const char *role, *op; } want[] = {
        {SONO_ROLE_BANDWIDTH, "triad"}, {SONO_ROLE_PEAK_FLOPS, "sgemm"},
        {SONO_ROLE_OVERHEAD, "nop"}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const sono_impl_entry *e = sono_reg_find_role(&R, want[i].role, "cpu");
        if (!e)
            print_error("no cpu impl with role %s\n", want[i].role);
        assert_non_null(e);
        assert_string_equal(e->impl->role, want[i].role);
        assert_string_equal(e->op->name, want[i].op);
        assert_string_equal(e->dev->kind, "cpu");
        assert_true(sono_reg_backend_of(&R, e)->available);
    }
    const sono_impl_entry *o = sono_reg_overhead_impl(&R);
    assert_non_null(o);
    assert_ptr_equal(o, sono_reg_find_role(&R, SONO_ROLE_OVERHEAD, "cpu"));
    assert_null(sono_reg_find_role(&R, "no-such-role", "cpu"));
    /* a role no impl of that kind claims */
    assert_null(sono_reg_find_role(&R, SONO_ROLE_OVERHEAD, "fake"));
}

/* A device is calibrated by its own backend's impls of the roles: fakegpu's, on its kind,
 * and not the cpu's (another kind) nor another backend's. */
static void roles_device(void **state)
{
    (void)state;
    int fb = (int)(sono_reg_backend(&R, "fakegpu") - R.backends);
    const sono_impl_entry *bw = sono_reg_find_role_in(&R, SONO_ROLE_BANDWIDTH, "fake", fb);
    const sono_impl_entry *pk = sono_reg_find_role_in(&R, SONO_ROLE_PEAK_FLOPS, "fake", fb);
    assert_non_null(bw);
    assert_non_null(pk);
    assert_string_equal(bw->full, "fakegpu/memcpy");
    assert_string_equal(pk->full, "fakegpu/cublas");
    assert_ptr_equal(bw, sono_reg_find_role(&R, SONO_ROLE_BANDWIDTH, "fake"));
    int cpu = (int)(sono_reg_backend(&R, "cpu") - R.backends);
    assert_null(sono_reg_find_role_in(&R, SONO_ROLE_BANDWIDTH, "fake", cpu));
    assert_null(sono_reg_find_role_in(&R, SONO_ROLE_PEAK_FLOPS, "cpu", fb));
}

/* Every op's declared size axis is one of its parameters, its merit has a name, and its
 * describe field (when any) is a bare key, so what the results file says is usable. */
static void presentation_declared(void **state)
{
    (void)state;
    int xrt = 0, hours = 0, codec = 0, described = 0;
    for (int i = 0; sono_ops[i]; i++) {
        const sono_op *op = sono_ops[i];
        if (op->size_param && !sono_op_param(op, op->size_param))
            print_error("op %s: size_param %s is not one of its params\n", op->name,
                        op->size_param);
        assert_true(!op->size_param || sono_op_param(op, op->size_param));
        assert_true(!op->size_label || op->size_param); /* a label labels the axis */
        assert_string_not_equal(sono_merit_name(op->merit), "?");
        assert_true(!op->describe_field || !strpbrk(op->describe_field, ":; "));
        xrt += op->merit == SONO_MERIT_XRT;
        hours += op->merit == SONO_MERIT_AUDIO_HOURS;
        codec += op->merit == SONO_MERIT_CODEC;
        described += op->describe_field != NULL;
    }
    /* what the tables and the report used to decide by name is now declared */
    assert_true(xrt >= 4 && hours >= 3 && codec >= 2 && described >= 1);
    assert_string_equal(sono_merit_name(SONO_MERIT_GFLOPS), "gflops");
    assert_string_equal(sono_merit_name(SONO_MERIT_XRT), "x_realtime");
    assert_string_equal(sono_merit_name(SONO_MERIT_AUDIO_HOURS), "audio_hours");
    assert_string_equal(sono_merit_name(SONO_MERIT_CODEC), "codec");
    assert_string_equal(sono_merit_name((sono_merit)99), "?");
}

/* The JSON has one entry per op a case uses, in the plan's order, nulls where undeclared. */
static void presentation_json(void **state)
{
    (void)state;
    const sono_op *use[] = {sono_op_find("stft"), sono_op_find("load.batch"),
                            sono_op_find("stft"), sono_op_find("fft")};
    sono_plan plan = {.ncases = 4};
    plan.cases = calloc(4, sizeof *plan.cases);
    assert_non_null(plan.cases);
    for (int i = 0; i < 4; i++) {
        assert_non_null(use[i]);
        plan.cases[i].op = use[i];
    }
    json_t *j = sono_ops_presentation_json(&plan);
    free(plan.cases);
    assert_non_null(j);
    assert_int_equal(json_object_size(j), 3);
    const char *first = json_object_iter_key(json_object_iter(j));
    assert_string_equal(first, "stft");
    json_t *st = json_object_get(j, "stft"), *lb = json_object_get(j, "load.batch");
    assert_string_equal(json_string_value(json_object_get(st, "size_param")), "seconds");
    assert_string_equal(json_string_value(json_object_get(st, "merit")), "x_realtime");
    assert_true(json_is_null(json_object_get(st, "describe_field")));
    assert_string_equal(json_string_value(json_object_get(lb, "merit")), "audio_hours");
    assert_string_equal(json_string_value(json_object_get(lb, "describe_field")), "bottleneck");
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "fft"), "merit")),
                        "gflops");
    json_decref(j);
}

/* env.gpus comes from the devices' summaries (fakegpu's two), and a backend's libraries
 * are all kept: fakegpu states ten, more than the eight the registry once kept. */
static void gpus_and_libs(void **state)
{
    (void)state;
    json_t *env = sono_env_json(&R);
    assert_non_null(env);
    json_t *gpus = json_object_get(env, "gpus");
    assert_int_equal(json_array_size(gpus), 2);
    for (int i = 0; i < 2; i++) {
        json_t *g = json_array_get(gpus, (size_t)i);
        assert_int_equal(json_integer_value(json_object_get(g, "index")), i);
        assert_string_equal(json_string_value(json_object_get(g, "name")),
                            i ? "Fake GPU One" : "Fake GPU Zero");
        assert_string_equal(json_string_value(json_object_get(g, "summary")),
                            i ? "Fake GPU One; test only" : "Fake GPU Zero; test only");
    }
    json_t *libs = json_object_get(env, "libs");
    for (int i = 0; i < 10; i++) {
        char name[32];
        snprintf(name, sizeof name, "fakegpu_lib%d", i);
        if (!json_object_get(libs, name))
            print_error("env.libs has no %s\n", name);
        assert_non_null(json_object_get(libs, name));
    }
    assert_int_equal(sono_reg_backend(&R, "fakegpu")->nlibs, 10);
    json_decref(env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(roles_cpu),         cmocka_unit_test(roles_device),
        cmocka_unit_test(presentation_declared), cmocka_unit_test(presentation_json),
        cmocka_unit_test(gpus_and_libs),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
