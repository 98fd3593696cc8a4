/* test_pin.c — the pin setting: parsing every accepted and a range of rejected forms,
 * and binding, checked against the kernel's view of the affinity (sched_getaffinity)
 * and hwloc's core count read here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <hwloc.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

#include "pin.h"

static int pn_cores(void)
{
    hwloc_topology_t topo;
    hwloc_topology_init(&topo);
    hwloc_topology_load(topo);
    int n = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE);
    if (n <= 0)
        n = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PU);
    hwloc_topology_destroy(topo);
    return n;
}

static int pn_affinity_count(void)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    assert_int_equal(sched_getaffinity(0, sizeof set, &set), 0);
    return CPU_COUNT(&set);
}

static void pn_parse_good(void **state)
{
    (void)state;
    sono_pin p = {.kind = SONO_PIN_CORE, .core = 5};
    sono_error err = {0};
    assert_int_equal(sono_pin_parse("none", &p, &err), 0);
    assert_int_equal(p.kind, SONO_PIN_NONE);
    assert_int_equal(sono_pin_parse("auto", &p, &err), 0);
    assert_int_equal(p.kind, SONO_PIN_AUTO);
    assert_int_equal(sono_pin_parse("core:0", &p, &err), 0);
    assert_int_equal(p.kind, SONO_PIN_CORE);
    assert_int_equal(p.core, 0);
    assert_int_equal(sono_pin_parse("core:17", &p, &err), 0);
    assert_int_equal(p.core, 17);
    assert_int_equal(sono_pin_parse("core:9999", &p, &err), 0); /* range: apply's job */
    assert_int_equal(p.core, 9999);
}

static void pn_parse_bad(void **state)
{
    (void)state;
    const char *bad[] = {"", "core:", "core:-1", "core:1x", "core: 1", "core:+1", "Core:1",
                         "auto ", "all", "core:99999999999", "core1", "nonesuch"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sono_pin p = {0};
        sono_error err = {0};
        int rc = sono_pin_parse(bad[i], &p, &err);
        if (rc != SONO_EINVAL)
            fail_msg("'%s' parsed (rc %d)", bad[i], rc);
        assert_int_equal(err.code, SONO_EINVAL);
        char quoted[64];
        snprintf(quoted, sizeof quoted, "'%s'", bad[i]);
        assert_non_null(strstr(err.msg, quoted));
        assert_non_null(strstr(err.msg, "core:N"));
    }
    sono_pin p;
    sono_error err = {0};
    assert_int_equal(sono_pin_parse(NULL, &p, &err), SONO_EINVAL);
}

static void pn_apply_none(void **state)
{
    (void)state;
    int before = pn_affinity_count();
    sono_pin p = {.kind = SONO_PIN_NONE};
    char desc[64] = "x";
    sono_error err = {0};
    assert_int_equal(sono_pin_apply(&p, desc, sizeof desc, &err), 0);
    assert_string_equal(desc, "none");
    assert_int_equal(pn_affinity_count(), before);
}

static void pn_apply_core0_and_auto(void **state)
{
    (void)state;
    sono_pin p = {.kind = SONO_PIN_CORE, .core = 0};
    char desc[64] = "";
    sono_error err = {0};
    int rc = sono_pin_apply(&p, desc, sizeof desc, &err);
    if (rc != 0) { /* a sandbox may forbid binding: then it must say why */
        assert_true(rc < 0);
        assert_true(strlen(err.msg) > 0);
        print_message("pin core:0 refused here: %s\n", err.msg);
        skip();
    }
    print_message("pinned: %s\n", desc);
    assert_true(strncmp(desc, "core 0 (PU ", 11) == 0);
    assert_int_equal(pn_affinity_count(), 1);

    /* auto: the last core, and the process may move from core 0 to it */
    int n = pn_cores();
    p.kind = SONO_PIN_AUTO;
    assert_int_equal(sono_pin_apply(&p, desc, sizeof desc, &err), 0);
    char want[32];
    snprintf(want, sizeof want, "core %d (PU ", n - 1);
    assert_true(strncmp(desc, want, strlen(want)) == 0);
    assert_int_equal(pn_affinity_count(), 1);
}

static void pn_apply_out_of_range(void **state)
{
    (void)state;
    int n = pn_cores();
    sono_pin p = {.kind = SONO_PIN_CORE, .core = 9999};
    char desc[64] = "untouched";
    sono_error err = {0};
    assert_int_equal(sono_pin_apply(&p, desc, sizeof desc, &err), SONO_EINVAL);
    assert_int_equal(err.code, SONO_EINVAL);
    char want[48];
    snprintf(want, sizeof want, "has %d core", n);
    assert_non_null(strstr(err.msg, want));
    assert_non_null(strstr(err.msg, "9999"));
    /* just past the end is out of range too */
    p.core = (unsigned)n;
    assert_int_equal(sono_pin_apply(&p, NULL, 0, &err), SONO_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pn_parse_good),
        cmocka_unit_test(pn_parse_bad),
        cmocka_unit_test(pn_apply_none),
        cmocka_unit_test(pn_apply_core0_and_auto),
        cmocka_unit_test(pn_apply_out_of_range),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
