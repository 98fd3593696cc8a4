/* test_counters.c — the counters' contract, on machines with and without a PMU: open
 * either counts something or says why it cannot; an event that cannot be counted shows
 * up as null plus a reason in the JSON, never as 0. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <jansson.h>
#include <string.h>

#include "counters.h"
#include "sono.h"

static const char *const KEYS[3] = {"cycles", "instructions", "llc_misses"};

static void ct_open_contract(void **state)
{
    (void)state;
    sono_counters *c = (sono_counters *)&c; /* must be overwritten either way */
    char why[1024] = "";
    int rc = sono_counters_open(&c, why, sizeof why);
    if (rc != 0) {
        assert_true(rc < 0);
        assert_null(c);
        assert_true(strlen(why) > 0);
        print_message("counters unavailable here: %s\n", why);
    } else {
        assert_non_null(c);
        sono_counters_close(c);
    }
    /* a NULL reason buffer is allowed */
    rc = sono_counters_open(&c, NULL, 0);
    sono_counters_close(c);
}

static void ct_json_all_unavailable(void **state)
{
    (void)state;
    sono_counter_values v;
    sono_counters_unavailable(&v, "no PMU");
    json_t *j = sono_counters_json(&v, 10.0);
    assert_non_null(j);
    json_t *un = json_object_get(j, "unavailable");
    assert_true(json_is_object(un));
    for (int i = 0; i < 3; i++) {
        json_t *x = json_object_get(j, KEYS[i]);
        assert_non_null(x);       /* present ... */
        assert_true(json_is_null(x)); /* ... as null, not 0 */
        assert_string_equal(json_string_value(json_object_get(un, KEYS[i])), "no PMU");
    }
    assert_int_equal(json_object_size(json_object_get(j, "events")), 0);
    json_decref(j);

    /* an empty reason still gives a non-empty one */
    sono_counters_unavailable(&v, "");
    assert_true(strlen(v.v[0].reason) > 0);
    /* runs must be positive: per-run values are divided by it */
    assert_null(sono_counters_json(&v, 0.0));
    assert_null(sono_counters_json(NULL, 1.0));
}

static void ct_json_mixed(void **state)
{
    (void)state;
    /* hand-built: cycles 1000 over 8 runs = 125 per run; instructions counted as 0 is a
     * real zero and stays 0; llc_misses unavailable. */
    sono_counter_values v;
    sono_counters_unavailable(&v, "x");
    v.v[0] = (sono_counter_value){.name = "cycles", .event = "PAPI_TOT_CYC", .value = 1000,
                                  .available = 1};
    v.v[1] = (sono_counter_value){.name = "instructions", .event = "PAPI_TOT_INS",
                                  .value = 0, .available = 1};
    snprintf(v.v[2].reason, sizeof v.v[2].reason, "PAPI_L3_TCM: Event does not exist");
    json_t *j = sono_counters_json(&v, 8.0);
    assert_non_null(j);
    assert_float_equal(json_real_value(json_object_get(j, "cycles")), 125.0, 0);
    assert_true(json_is_real(json_object_get(j, "instructions")));
    assert_float_equal(json_real_value(json_object_get(j, "instructions")), 0.0, 0);
    assert_true(json_is_null(json_object_get(j, "llc_misses")));
    json_t *un = json_object_get(j, "unavailable");
    assert_int_equal(json_object_size(un), 1);
    assert_string_equal(json_string_value(json_object_get(un, "llc_misses")),
                        "PAPI_L3_TCM: Event does not exist");
    json_t *ev = json_object_get(j, "events");
    assert_string_equal(json_string_value(json_object_get(ev, "cycles")), "PAPI_TOT_CYC");
    assert_null(json_object_get(ev, "llc_misses"));
    json_decref(j);
}

static volatile double busy_sink;

static void ct_live_region(void **state)
{
    (void)state;
    sono_counters *c;
    char why[1024];
    if (sono_counters_open(&c, why, sizeof why) != 0) {
        /* Without a PMU the region can still be described: all null, with the reason. */
        sono_counter_values v;
        sono_counters_unavailable(&v, why);
        json_t *j = sono_counters_json(&v, 1.0);
        assert_true(json_is_null(json_object_get(j, "cycles")));
        json_decref(j);
        skip();
    }
    sono_counter_values v;
    assert_int_equal(sono_counters_start(c), 0);
    double acc = 0;
    for (int i = 0; i < 1000000; i++)
        acc += i * 0.5;
    busy_sink = acc;
    assert_int_equal(sono_counters_stop(c, &v), 0);
    int any = 0;
    for (int i = 0; i < 3; i++) {
        assert_string_equal(v.v[i].name, KEYS[i]);
        if (v.v[i].available) {
            any = 1;
            assert_true(v.v[i].value >= 0);
            assert_non_null(v.v[i].event);
        } else {
            assert_true(strlen(v.v[i].reason) > 0);
        }
    }
    assert_true(any);
    if (v.v[1].available) /* a million iterations: at least a million instructions */
        assert_true(v.v[1].value >= 1000000);
    json_t *j = sono_counters_json(&v, 1000.0);
    for (int i = 0; i < 3; i++) {
        json_t *x = json_object_get(j, KEYS[i]);
        assert_true(v.v[i].available ? json_real_value(x) >= 0 : json_is_null(x));
    }
    json_decref(j);
    /* stop without start is refused and marks everything unavailable */
    assert_int_equal(sono_counters_stop(c, &v), SONO_EDEVICE);
    assert_int_equal(v.v[0].available, 0);
    sono_counters_close(c);
}

static void ct_explain(void **state)
{
    (void)state;
    char line[1024];
    sono_counters_explain(line, sizeof line);
    print_message("explain: %s\n", line);
    assert_true(strlen(line) > 0);
    assert_non_null(strstr(line, "perf_event"));
    /* truncation keeps a terminated string; n = 0 and NULL write nothing */
    char small[8];
    memset(small, 'x', sizeof small);
    sono_counters_explain(small, sizeof small);
    assert_true(memchr(small, 0, sizeof small) != NULL);
    sono_counters_explain(NULL, 0);
    sono_counters_close(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ct_open_contract),
        cmocka_unit_test(ct_json_all_unavailable),
        cmocka_unit_test(ct_json_mixed),
        cmocka_unit_test(ct_live_region),
        cmocka_unit_test(ct_explain),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
