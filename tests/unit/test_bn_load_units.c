/* Human units both ways: rates to milli-requests per second, durations to
 * nanoseconds, and back for the summary. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "bn_load_units.h"

struct rate_case {
    const char *s;
    int rc;
    uint64_t mrps;
};

static void
test_rates_parse_to_milli_requests_per_second(void **state)
{
    static const struct rate_case cases[] = {
        {"10/s", 0, 10000},   {"600/m", 0, 10000}, {"36/h", 0, 10}, {"0.2/s", 0, 200},
        {"2000", 0, 2000000}, {"0.001", 0, 1},     {"1/h", -1, 0},  {"0", -1, 0},
        {"10 /s", -1, 0},     {"1e3", -1, 0},      {"-1", -1, 0},   {"/s", -1, 0},
        {"10/d", -1, 0},      {"1000001", -1, 0},  {"", -1, 0},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint64_t v = 0;
        int rc = bn_parse_rate(cases[i].s, &v);

        if (rc != cases[i].rc || (rc == 0 && v != cases[i].mrps)) {
            fail_msg("\"%s\": rc %d value %llu", cases[i].s, rc, (unsigned long long)v);
        }
    }
}

static void
test_durations_parse_to_nanoseconds(void **state)
{
    uint64_t v;

    (void)state;
    assert_int_equal(bn_parse_duration("30s", &v), 0);
    assert_int_equal(v, 30000000000ull);
    assert_int_equal(bn_parse_duration("500ms", &v), 0);
    assert_int_equal(v, 500000000ull);
    assert_int_equal(bn_parse_duration("2m", &v), 0);
    assert_int_equal(v, 120000000000ull);
    assert_int_equal(bn_parse_duration("1.5h", &v), 0);
    assert_int_equal(v, 5400000000000ull);
    assert_int_equal(bn_parse_duration("250us", &v), 0);
    assert_int_equal(v, 250000ull);
    assert_int_equal(bn_parse_duration("20", &v), 0); /* wrk's -d 20 */
    assert_int_equal(v, 20000000000ull);
    assert_int_equal(bn_parse_duration("0", &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(bn_parse_duration("30 s", &v), -1);
    assert_int_equal(bn_parse_duration("8d", &v), -1);
    assert_int_equal(bn_parse_duration("200h", &v), -1); /* beyond a week */
    assert_int_equal(bn_parse_duration("s", &v), -1);
}

static void
test_formatting_keeps_three_significant_digits(void **state)
{
    char b[32];

    (void)state;
    assert_string_equal(bn_fmt_duration(812, b, sizeof(b)), "812ns");
    assert_string_equal(bn_fmt_duration(1234, b, sizeof(b)), "1.23us");
    assert_string_equal(bn_fmt_duration(812000, b, sizeof(b)), "812us");
    assert_string_equal(bn_fmt_duration(1230000, b, sizeof(b)), "1.23ms");
    assert_string_equal(bn_fmt_duration(45600000, b, sizeof(b)), "45.6ms");
    assert_string_equal(bn_fmt_duration(4500000000ull, b, sizeof(b)), "4.50s");
    assert_string_equal(bn_fmt_rate(200, b, sizeof(b)), "0.2/s");
    assert_string_equal(bn_fmt_rate(2000000, b, sizeof(b)), "2000/s");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rates_parse_to_milli_requests_per_second),
        cmocka_unit_test(test_durations_parse_to_nanoseconds),
        cmocka_unit_test(test_formatting_keeps_three_significant_digits),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
