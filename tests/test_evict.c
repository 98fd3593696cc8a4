/* test_evict.c — the eviction buffer: sized from hwloc's last-level cache (read here
 * with hwloc directly), reusable run after run, freed cleanly (run it under ASan). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <hwloc.h>
#include <stdlib.h>
#include <string.h>

#include "evict.h"

/* The largest cache of type t, 0 if none: the test's own reading of the topology. */
static size_t ev_cache(hwloc_obj_type_t t, hwloc_topology_t topo)
{
    size_t best = 0;
    for (int i = 0; i < hwloc_get_nbobjs_by_type(topo, t); i++) {
        hwloc_obj_t o = hwloc_get_obj_by_type(topo, t, (unsigned)i);
        if (o->attr->cache.size > best)
            best = o->attr->cache.size;
    }
    return best;
}

static void ev_size_from_hwloc(void **state)
{
    (void)state;
    hwloc_topology_t topo;
    assert_int_equal(hwloc_topology_init(&topo), 0);
    assert_int_equal(hwloc_topology_load(topo), 0);
    size_t l3 = ev_cache(HWLOC_OBJ_L3CACHE, topo), l2 = ev_cache(HWLOC_OBJ_L2CACHE, topo);
    hwloc_topology_destroy(topo);
    size_t llc = l3 ? l3 : l2 ? l2 : (size_t)32 << 20;

    sono_evict *e = NULL;
    sono_error err = {0};
    int rc = sono_evict_init(&e, &err);
    assert_int_equal(rc, 0);
    assert_non_null(e);
    size_t bytes = sono_evict_bytes(e);
    print_message("llc %zu bytes, buffer %zu bytes\n", llc, bytes);
    assert_true(bytes >= 2 * llc);
    assert_true(bytes < 2 * llc + 4096); /* rounded to a page, not more */
    assert_int_equal(bytes % 64, 0);
    size_t cb = 1;
    const char *src = sono_evict_source(e, &cb);
    assert_string_equal(src, l3 ? "L3" : l2 ? "L2" : "default");
    assert_int_equal(cb, l3 ? l3 : l2);
    sono_evict_free(e);
}

static void ev_run_twice(void **state)
{
    (void)state;
    sono_evict *e;
    sono_error err = {0};
    assert_int_equal(sono_evict_init(&e, &err), 0);
    sono_evict_run(e);
    sono_evict_run(e);
    sono_evict_free(e);
    /* and a second buffer after the first is gone */
    assert_int_equal(sono_evict_init(&e, &err), 0);
    sono_evict_run(e);
    sono_evict_free(e);
}

static void ev_flush(void **state)
{
    (void)state;
    /* a flush writes back, it never changes the data; odd start and length included */
    unsigned char *b = malloc(10000);
    assert_non_null(b);
    for (int i = 0; i < 10000; i++)
        b[i] = (unsigned char)(i * 7);
    int rc = sono_evict_flush(b + 3, 9990);
#if defined(__x86_64__) || defined(__aarch64__)
    assert_int_equal(rc, 0);
#else
    assert_true(rc == 0 || rc == SONO_EUNSUPPORTED);
#endif
    for (int i = 0; i < 10000; i++)
        assert_int_equal(b[i], (unsigned char)(i * 7));
    free(b);
    assert_int_equal(sono_evict_flush(NULL, 0), 0);
}

static void ev_null(void **state)
{
    (void)state;
    size_t cb = 7;
    assert_int_equal(sono_evict_bytes(NULL), 0);
    assert_string_equal(sono_evict_source(NULL, &cb), "none");
    assert_int_equal(cb, 0);
    sono_evict_run(NULL);
    sono_evict_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ev_size_from_hwloc),
        cmocka_unit_test(ev_run_twice),
        cmocka_unit_test(ev_flush),
        cmocka_unit_test(ev_null),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
