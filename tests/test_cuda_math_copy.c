/* test_cuda_math_copy.c — cuda/copy-kernel's work split without a GPU: copy_math.h compiled
 * by cc, every work item run on the host as the grid-stride loop would, in any order; the
 * copy must be exact and write nothing past n, at every n mod 4. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "../impls/cuda/copy_math.h"

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cm_items),
        cmocka_unit_test(cm_copy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
