/* test_gen_delay.c — issue 25's codes.delay: the reference against a layout written out
 * by hand (MusicGen's Figure: codebook k starts k frames late), undelay(delay(x)) = x, every
 * impl against the reference at small and odd sizes both ways, and the exact check failing
 * one changed code. */
#include "delay64.h"
#include "gen_util.h"

static void delay_by_hand(void **state)
{
    (void)state;
    /* B 1, K 3, T 2: codes a b / c d / e f, pad P = 9 */
    const int32_t x[6] = {1, 2, 3, 4, 5, 6};
    const int32_t want[12] = {1, 2, 9, 9, /* k 0: on time */
                              9, 3, 4, 9, /* k 1: one frame late */
                              9, 9, 5, 6}; /* k 2: two frames late */
    int32_t y[12], z[6];
    sono_delay64(x, 1, 3, 2, 0, 9, y);
    assert_memory_equal(y, want, sizeof want);
    sono_delay64(y, 1, 3, 2, 1, 9, z);
    assert_memory_equal(z, x, sizeof x);
}

static void impls_random_small(void **state)
{
    (void)state;
    const char *specs[] = {
        "batch=1 K=4 T=50", "batch=3 K=8 T=17 direction=delay pad=-1",
        "batch=2 K=4 T=50 direction=undelay", "batch=5 K=1 T=9 direction=undelay",
        "batch=1 K=9 T=1 card=3 pad=3", "batch=2 K=7 T=1 direction=undelay",
    };
    int ran = 0;
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++)
        ran += gu_case("codes.delay", specs[i], NULL);
    assert_true(ran >= (int)(sizeof specs / sizeof specs[0]));
}

static void check_fails_one_code(void **state)
{
    (void)state;
    int32_t a[5] = {1, 2, 3, 4, 5}, b[5] = {1, 2, 3, 4, 5};
    sono_check c = {0};
    sono_delay64_check(a, b, 5, &c);
    assert_true(c.pass);
    b[3] = 7;
    memset(&c, 0, sizeof c);
    sono_delay64_check(a, b, 5, &c);
    assert_false(c.pass);
    assert_int_equal(c.mismatches, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(delay_by_hand),
        cmocka_unit_test(impls_random_small),
        cmocka_unit_test(check_fails_one_code),
    };
    return cmocka_run_group_tests(tests, gu_setup, gu_teardown);
}
