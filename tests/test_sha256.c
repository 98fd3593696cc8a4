/* test_sha256.c — harness/core/sha256.c against the FIPS 180-4 / NIST example vectors,
 * including the streaming path (odd-sized chunks across block boundaries). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "sha256.h"

static void sh_hex_of(const unsigned char d[32], char hex[65])
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        hex[2 * i] = digits[d[i] >> 4];
        hex[2 * i + 1] = digits[d[i] & 15];
    }
    hex[64] = '\0';
}

static void sh_empty(void **state)
{
    (void)state;
    char hex[65];
    sono_sha256_hex("", 0, hex);
    assert_string_equal(hex,
                        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void sh_abc(void **state)
{
    (void)state;
    char hex[65];
    sono_sha256_hex("abc", 3, hex);
    assert_string_equal(hex,
                        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void sh_448_bits(void **state)
{
    (void)state;
    const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    char hex[65];
    sono_sha256_hex(m, strlen(m), hex);
    assert_string_equal(hex,
                        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void sh_896_bits(void **state)
{
    (void)state;
    const char *m = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
                    "ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
    char hex[65];
    sono_sha256_hex(m, strlen(m), hex);
    assert_string_equal(hex,
                        "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

static void sh_million_a_chunked(void **state)
{
    (void)state;
    const size_t total = 1000000;
    char *a = malloc(total);
    assert_non_null(a);
    memset(a, 'a', total);
    const char *want = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";

    /* odd chunk sizes, cycling, so partial blocks, exact blocks and multi-block runs all
     * occur */
    const size_t sizes[] = {1, 3, 7, 63, 64, 65, 127, 1000, 4097, 0};
    sono_sha256 c;
    sono_sha256_init(&c);
    size_t off = 0;
    for (int i = 0; off < total; i = (i + 1) % 10) {
        size_t k = sizes[i] < total - off ? sizes[i] : total - off;
        sono_sha256_update(&c, a + off, k);
        off += k;
    }
    unsigned char d[32];
    char hex[65];
    sono_sha256_final(&c, d);
    sh_hex_of(d, hex);
    assert_string_equal(hex, want);

    /* one shot gives the same */
    sono_sha256_hex(a, total, hex);
    assert_string_equal(hex, want);
    free(a);
}

static void sh_padding_boundaries(void **state)
{
    (void)state;
    /* 55, 56 and 64 bytes straddle the length field's place: streaming byte by byte must
     * equal one shot at every length up to 130 */
    unsigned char m[130];
    for (int i = 0; i < 130; i++)
        m[i] = (unsigned char)(i * 37 + 11);
    for (size_t n = 0; n <= 130; n++) {
        char one[65], two[65];
        unsigned char d[32];
        sono_sha256_hex(m, n, one);
        sono_sha256 c;
        sono_sha256_init(&c);
        for (size_t i = 0; i < n; i++)
            sono_sha256_update(&c, m + i, 1);
        sono_sha256_final(&c, d);
        sh_hex_of(d, two);
        assert_string_equal(one, two);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sh_empty),
        cmocka_unit_test(sh_abc),
        cmocka_unit_test(sh_448_bits),
        cmocka_unit_test(sh_896_bits),
        cmocka_unit_test(sh_million_a_chunked),
        cmocka_unit_test(sh_padding_boundaries),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
