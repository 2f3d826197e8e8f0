/* The keyed hash: the inline path (names up to 16 bytes) and the out of
 * line one compute the same function, the seed changes every output, and
 * a hundred thousand node-like names do not collide in 128 bits (nor, for
 * the table's index, crowd its 13-bit tags). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lim_hash.h"

static void
test_inline_and_out_of_line_agree_for_short_names(void **state)
{
    struct lim_hash_key k;
    char buf[17] = "abcdefghijklmnop";
    uint64_t a[2], b[2];
    size_t n;

    (void)state;
    lim_hash_key_init(&k, 42);
    for (n = 0; n <= 16; n++) {
        lim_hash128(&k, buf, n, a);
        lim_hash128_long(&k, buf, n, b);
        assert_int_equal(a[0], b[0]);
        assert_int_equal(a[1], b[1]);
    }
}

static void
test_every_byte_and_the_length_matter(void **state)
{
    struct lim_hash_key k;
    char buf[64];
    uint64_t h0[2], h1[2];
    size_t n, i;

    (void)state;
    lim_hash_key_init(&k, 7);
    memset(buf, 'x', sizeof(buf));
    for (n = 1; n <= sizeof(buf); n++) {
        lim_hash128(&k, buf, n, h0);
        lim_hash128(&k, buf, n - 1, h1);
        assert_true(h0[0] != h1[0] && h0[1] != h1[1]);
        for (i = 0; i < n; i++) {
            buf[i] ^= 1;
            lim_hash128(&k, buf, n, h1);
            buf[i] ^= 1;
            if (h0[0] == h1[0] || h0[1] == h1[1]) {
                fail_msg("length %zu: flipping byte %zu leaves a lane unchanged", n, i);
            }
        }
    }
}

static void
test_the_seed_keys_the_hash(void **state)
{
    struct lim_hash_key k1, k2;
    uint64_t a[2], b[2];

    (void)state;
    lim_hash_key_init(&k1, 1);
    lim_hash_key_init(&k2, 2);
    lim_hash128(&k1, "system:node:n1", 14, a);
    lim_hash128(&k2, "system:node:n1", 14, b);
    assert_true(a[0] != b[0] && a[1] != b[1]);
    assert_true(lim_hash64(&k1, 0, "pods", 4) != lim_hash64(&k2, 0, "pods", 4));
    assert_true(lim_hash64(&k1, 0, "pods", 4) != lim_hash64(&k1, 1, "pods", 4));
}

static int
cmp128(const void *x, const void *y)
{
    const uint64_t *a = x, *b = y;

    if (a[0] != b[0]) {
        return a[0] < b[0] ? -1 : 1;
    }
    return a[1] < b[1] ? -1 : a[1] > b[1];
}

static void
test_no_collisions_among_many_names(void **state)
{
    enum { N = 100000 };
    struct lim_hash_key k;
    uint64_t(*h)[2] = calloc(N, sizeof(*h));
    uint32_t tags[8192] = {0}, max_tag = 0;
    char name[48];
    size_t i;

    (void)state;
    assert_non_null(h);
    lim_hash_key_init(&k, 99);
    for (i = 0; i < N; i++) {
        int n = snprintf(name, sizeof(name), i % 2 ? "node-%zu" : "ip-10-0-%zu.ec2.internal", i);

        lim_hash128(&k, name, (size_t)n, h[i]);
        tags[(h[i][1] >> 19) & 8191]++;
    }
    qsort(h, N, sizeof(*h), cmp128);
    for (i = 1; i < N; i++) {
        assert_true(cmp128(h[i - 1], h[i]) != 0);
    }
    for (i = 0; i < 8192; i++) {
        max_tag = tags[i] > max_tag ? tags[i] : max_tag;
    }
    assert_true(max_tag < 3 * N / 8192); /* about 12 each: no crowding */
    free(h);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_inline_and_out_of_line_agree_for_short_names),
        cmocka_unit_test(test_every_byte_and_the_length_matter),
        cmocka_unit_test(test_the_seed_keys_the_hash),
        cmocka_unit_test(test_no_collisions_among_many_names),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
