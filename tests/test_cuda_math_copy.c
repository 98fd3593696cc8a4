/* test_cuda_math_copy.c — cuda/copy-kernel's work split without a GPU: copy_math.h compiled
 * by cc, every work item run on the host as the grid-stride loop would, in any order; the
 * copy must be exact and write nothing past n, at every n mod 4. And the record's
 * device_mem members (devmem_math.h), appended to the device's JSON object. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "../impls/cuda/copy_math.h"
#include "../impls/cuda/devmem_math.h"

static void cm_items(void **state)
{
    (void)state;
    assert_int_equal(cp_items(0), 0);
    assert_int_equal(cp_items(1), 1);
    assert_int_equal(cp_items(4), 1);
    assert_int_equal(cp_items(7), 4); /* one float4 and three floats */
    assert_int_equal(cp_items(1000003), 250000 + 3);
}

static void cm_copy(void **state)
{
    (void)state;
    for (size_t n = 0; n <= 67; n++) {
        float *in = aligned_alloc(16, 80 * sizeof(float));
        float *out = aligned_alloc(16, 80 * sizeof(float));
        assert_true(in && out);
        for (size_t i = 0; i < 80; i++) {
            in[i] = (float)i + 0.5f;
            out[i] = -1.0f;
        }
        /* backwards, as a grid-stride loop gives no order between items */
        for (size_t i = cp_items(n); i-- > 0;)
            cp_item(in, out, n, i);
        assert_memory_equal(in, out, n * sizeof(float));
        for (size_t i = n; i < 80; i++)
            assert_true(out[i] == -1.0f);
        free(in);
        free(out);
    }
}

static void cm_devmem(void **state)
{
    (void)state;
    assert_int_equal(cu_held_bytes(1000, 400), 600);
    assert_int_equal(cu_held_bytes(400, 1000), 0); /* freed elsewhere meanwhile: not a wrap */
    char buf[512] = "{\"runs\": 1}";
    assert_int_equal(cu_devmem_append(buf, sizeof buf, 5000, 1000, 400), 0);
    assert_string_equal(buf, "{\"runs\": 1, \"device_mem\": {\"total_bytes\": 5000, "
                             "\"free_before_setup\": 1000, \"free_after_run\": 400, "
                             "\"held_bytes\": 600}}");
    char empty[512] = "{}";
    assert_int_equal(cu_devmem_append(empty, sizeof empty, 1, 1, 1), 0);
    assert_string_equal(empty, "{\"device_mem\": {\"total_bytes\": 1, \"free_before_setup\": 1, "
                               "\"free_after_run\": 1, \"held_bytes\": 0}}");
    char small[40] = "{\"runs\": 1}", bad[64] = "not an object";
    assert_int_equal(cu_devmem_append(small, sizeof small, 1, 1, 1), -1);
    assert_string_equal(small, "{\"runs\": 1}"); /* unchanged when it does not fit */
    assert_int_equal(cu_devmem_append(bad, sizeof bad, 1, 1, 1), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cm_items),
        cmocka_unit_test(cm_copy),
        cmocka_unit_test(cm_devmem),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
