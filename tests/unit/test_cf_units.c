/* Human units both ways (rates, durations, sizes, percentages), ${ENV}
 * expansion, "did you mean" and address shapes: the small parsers every
 * config value goes through. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "cf_int.h"

struct u64_case {
    const char *in;
    int rc;
    uint64_t out;
};

static void
test_rates_parse_to_milli_tokens_per_second_rounded_to_nearest(void **state)
{
    static const struct u64_case cases[] = {
        {"10/s", 0, 10000},
        {"600/m", 0, 10000},
        {"1/m", 0, 17}, /* 16.67 */
        {"5/h", 0, 1},  /* 1.39 */
        {"2/h", 0, 1},  /* 0.56 */
        {"1/h", -1, 0}, /* 0.28 rounds to nothing: refused, not silently off */
        {"10", 0, 10000},
        {"0.5", 0, 500},
        {"0.5/s", 0, 500},
        {"2.5/m", 0, 42}, /* 41.67 */
        {"1000000000/s", 0, LIM_RATE_MAX_MTPS},
        {"1000000001/s", -1, 0},
        {"0", -1, 0},
        {"0/s", -1, 0},
        {"", -1, 0},
        {"/s", -1, 0},
        {"10/d", -1, 0},
        {"10 /s", -1, 0},
        {" 10/s", -1, 0},
        {"-1/s", -1, 0},
        {"1e3/s", -1, 0},
        {"0x10/s", -1, 0},
        {"1./s", -1, 0},
        {".5/s", -1, 0},
        {"inf", -1, 0},
        {"nan/s", -1, 0},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint64_t v = 12345;
        int rc = cf_parse_rate(cases[i].in, &v);

        if (rc != cases[i].rc || (rc == 0 && v != cases[i].out)) {
            fail_msg("rate \"%s\": rc %d value %llu, want rc %d value %llu", cases[i].in, rc,
                     (unsigned long long)v, cases[i].rc, (unsigned long long)cases[i].out);
        }
    }
}

static void
test_durations_parse_to_nanoseconds(void **state)
{
    static const struct u64_case cases[] = {
        {"100us", 0, 100000},
        {"250ms", 0, 250000000},
        {"30s", 0, 30000000000ull},
        {"2m", 0, 120000000000ull},
        {"1h", 0, 3600000000000ull},
        {"1.5s", 0, 1500000000},
        {"7ns", 0, 7},
        {"0", 0, 0},
        {"0s", 0, 0},
        {"30", -1, 0}, /* a number without a unit means nothing */
        {"30 s", -1, 0},
        {"30S", -1, 0},
        {"1d", -1, 0},
        {"-1s", -1, 0},
        {"", -1, 0},
        {"s", -1, 0},
        {"2000000h", -1, 0}, /* beyond 2^62 ns */
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint64_t v = 12345;
        int rc = cf_parse_duration(cases[i].in, &v);

        if (rc != cases[i].rc || (rc == 0 && v != cases[i].out)) {
            fail_msg("duration \"%s\": rc %d value %llu", cases[i].in, rc, (unsigned long long)v);
        }
    }
}

static void
test_sizes_parse_iec_as_1024_and_si_as_1000(void **state)
{
    static const struct u64_case cases[] = {
        {"512", 0, 512},
        {"512B", 0, 512},
        {"64KiB", 0, 65536},
        {"3MiB", 0, 3145728},
        {"1GiB", 0, 1073741824},
        {"2TiB", 0, 2199023255552ull},
        {"64KB", 0, 64000},
        {"64kB", 0, 64000},
        {"3MB", 0, 3000000},
        {"1GB", 0, 1000000000},
        {"0", 0, 0},
        {"1.5MiB", -1, 0},
        {"64kib", -1, 0},
        {"64 KiB", -1, 0},
        {"KiB", -1, 0},
        {"-1", -1, 0},
        {"", -1, 0},
        {"5000000TiB", -1, 0}, /* beyond 2^62 */
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint64_t v = 12345;
        int rc = cf_parse_size(cases[i].in, &v);

        if (rc != cases[i].rc || (rc == 0 && v != cases[i].out)) {
            fail_msg("size \"%s\": rc %d value %llu", cases[i].in, rc, (unsigned long long)v);
        }
    }
}

static void
test_percentages_take_an_optional_percent_sign(void **state)
{
    uint32_t p = 0;

    (void)state;
    assert_int_equal(cf_parse_pct("25%", &p), 0);
    assert_int_equal(p, 25);
    assert_int_equal(cf_parse_pct("100", &p), 0);
    assert_int_equal(p, 100);
    assert_int_equal(cf_parse_pct("%", &p), -1);
    assert_int_equal(cf_parse_pct("25 %", &p), -1);
    assert_int_equal(cf_parse_pct("-5%", &p), -1);
    assert_int_equal(cf_parse_pct("2.5%", &p), -1);
}

static void
test_formatters_print_what_a_person_would_write(void **state)
{
    char b[32];

    (void)state;
    assert_string_equal(cf_fmt_rate(10000, b, sizeof(b)), "10/s");
    assert_string_equal(cf_fmt_rate(1500, b, sizeof(b)), "1.5/s");
    assert_string_equal(cf_fmt_rate(1250, b, sizeof(b)), "1.25/s");
    assert_string_equal(cf_fmt_rate(1001, b, sizeof(b)), "1.001/s");
    assert_string_equal(cf_fmt_rate(100, b, sizeof(b)), "6/m");
    assert_string_equal(cf_fmt_rate(17, b, sizeof(b)), "1.02/m"); /* what "1/m" became */
    assert_string_equal(cf_fmt_rate(0, b, sizeof(b)), "0/s");
    assert_string_equal(cf_fmt_duration(250000000, b, sizeof(b)), "250ms");
    assert_string_equal(cf_fmt_duration(90000000000ull, b, sizeof(b)), "90s");
    assert_string_equal(cf_fmt_duration(3600000000000ull, b, sizeof(b)), "1h");
    assert_string_equal(cf_fmt_duration(0, b, sizeof(b)), "0s");
    assert_string_equal(cf_fmt_duration(1500, b, sizeof(b)), "1500ns");
    assert_string_equal(cf_fmt_size(65536, b, sizeof(b)), "64KiB");
    assert_string_equal(cf_fmt_size(3145728, b, sizeof(b)), "3MiB");
    assert_string_equal(cf_fmt_size(1000, b, sizeof(b)), "1000B");
    assert_string_equal(cf_fmt_size(0, b, sizeof(b)), "0B");
}

static void
test_parsed_values_format_back_to_the_same_value(void **state)
{
    static const char *const rates[] = {"10/s", "6/m", "1.5/s", "30/m", "1000000000/s"};
    static const char *const durations[] = {"250ms", "30s", "2m", "1h", "100us"};
    static const char *const sizes[] = {"64KiB", "3MiB", "1GiB", "512B"};
    char b[32];
    uint64_t v;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(rates) / sizeof(rates[0]); i++) {
        assert_int_equal(cf_parse_rate(rates[i], &v), 0);
        assert_string_equal(cf_fmt_rate(v, b, sizeof(b)), rates[i]);
    }
    for (i = 0; i < sizeof(durations) / sizeof(durations[0]); i++) {
        assert_int_equal(cf_parse_duration(durations[i], &v), 0);
        assert_string_equal(cf_fmt_duration(v, b, sizeof(b)), durations[i]);
    }
    for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        assert_int_equal(cf_parse_size(sizes[i], &v), 0);
        assert_string_equal(cf_fmt_size(v, b, sizeof(b)), sizes[i]);
    }
}

struct env_case {
    const char *in;
    int rc;
    const char *out; /* the expansion, or what the error expected */
};

static void
test_env_expansion_follows_the_shell_for_its_two_forms(void **state)
{
    static const struct env_case cases[] = {
        {"${CF_A}/x", 0, "/pki/x"},
        {"${CF_A:-/etc}/x", 0, "/pki/x"},
        {"${CF_UNSET:-/etc/kubernetes/pki}/ca.crt", 0, "/etc/kubernetes/pki/ca.crt"},
        {"${CF_EMPTY}", 0, ""},           /* set but empty is a value */
        {"${CF_EMPTY:-dflt}", 0, "dflt"}, /* :- also covers empty */
        {"${CF_UNSET:-}", 0, ""},
        {"${CF_A}${CF_A}", 0, "/pki/pki"},
        {"a$b$", 0, "a$b$"},              /* other dollars are themselves */
        {"$${CF_A}", 0, "${CF_A}"},       /* the escape */
        {"${CF_UNSET:-a:-b}", 0, "a:-b"}, /* the default is literal */
        {"${CF_DOLLAR}", 0, "${CF_A}"},   /* values are not expanded again */
        {"${CF_UNSET}", -1, "environment variable CF_UNSET to be set"},
        {"${CF_A", -1, "\"}\" to close \"${\""},
        {"${}", -1, "${NAME} or ${NAME:-default} with NAME made of letters, digits and _"},
        {"${9A}", -1, "${NAME} or ${NAME:-default} with NAME made of letters, digits and _"},
        {"${CF_A-x}", -1, "${NAME} or ${NAME:-default} with NAME made of letters, digits and _"},
    };
    char out[CF_STR_MAX], why[160];
    size_t i;

    (void)state;
    setenv("CF_A", "/pki", 1);
    setenv("CF_EMPTY", "", 1);
    setenv("CF_DOLLAR", "${CF_A}", 1);
    unsetenv("CF_UNSET");
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc = cf_env_expand(cases[i].in, out, sizeof(out), why, sizeof(why));

        if (rc != cases[i].rc || strcmp(rc == 0 ? out : why, cases[i].out) != 0) {
            fail_msg("\"%s\": rc %d \"%s\"", cases[i].in, rc, rc == 0 ? out : why);
        }
    }
}

static void
test_env_expansion_refuses_what_does_not_fit(void **state)
{
    char out[8], why[160];

    (void)state;
    setenv("CF_LONG", "0123456789", 1);
    assert_int_equal(cf_env_expand("1234567", out, sizeof(out), why, sizeof(why)), 0);
    assert_string_equal(out, "1234567");
    assert_int_equal(cf_env_expand("12345678", out, sizeof(out), why, sizeof(why)), -1);
    assert_string_equal(why, "at most 7 bytes after expansion");
    assert_int_equal(cf_env_expand("${CF_LONG}", out, sizeof(out), why, sizeof(why)), -1);
}

static void
test_suggestions_catch_typos_but_not_strangers(void **state)
{
    static const char *const keys[] = {
        "burst", "rate", "class_rate", "max_watches", "max_watches_per_key", "name"};

    (void)state;
    assert_string_equal(cf_suggest("brust", keys, 6), "burst"); /* swapped letters */
    assert_string_equal(cf_suggest("rte", keys, 6), "rate");    /* one dropped */
    assert_string_equal(cf_suggest("class-rate", keys, 6), "class_rate");
    assert_string_equal(cf_suggest("max_watch", keys, 6), "max_watches");
    assert_string_equal(cf_suggest("Name", keys, 6), "name");
    assert_null(cf_suggest("zzz", keys, 6));
    assert_null(cf_suggest("x", keys, 6));
    assert_null(cf_suggest("", keys, 6));
}

static void
test_addresses_take_ipv4_bracketed_ipv6_names_and_unix_paths(void **state)
{
    (void)state;
    assert_true(cf_addr_valid("127.0.0.1:6443", false, false));
    assert_true(cf_addr_valid("[::1]:6443", false, false));
    assert_true(cf_addr_valid("[fe80::1%eth0]:6443", false, false) == false); /* no zones */
    assert_true(cf_addr_valid("apiserver.example:443", false, false));
    assert_true(cf_addr_valid("unix:/run/kube.sock", true, false));
    assert_false(cf_addr_valid("unix:/run/kube.sock", false, false));
    assert_false(cf_addr_valid("unix:run/kube.sock", true, false));
    assert_false(cf_addr_valid("::1:6443", false, false));
    assert_false(cf_addr_valid("127.0.0.1", false, false));
    assert_false(cf_addr_valid("127.0.0.1:", false, false));
    assert_false(cf_addr_valid("127.0.0.1:65536", false, false));
    assert_false(cf_addr_valid("999.1.1.1:80", false, false));
    assert_false(cf_addr_valid("-bad.example:80", false, false));
    assert_false(cf_addr_valid("127.0.0.1:0", false, false));
    assert_true(cf_addr_valid("127.0.0.1:0", false, true));
    assert_true(cf_addr_is_loopback("127.0.0.1:9444"));
    assert_true(cf_addr_is_loopback("[::1]:9444"));
    assert_true(cf_addr_is_loopback("localhost:9444"));
    assert_false(cf_addr_is_loopback("0.0.0.0:9444"));
    assert_false(cf_addr_is_loopback("[::]:9444"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rates_parse_to_milli_tokens_per_second_rounded_to_nearest),
        cmocka_unit_test(test_durations_parse_to_nanoseconds),
        cmocka_unit_test(test_sizes_parse_iec_as_1024_and_si_as_1000),
        cmocka_unit_test(test_percentages_take_an_optional_percent_sign),
        cmocka_unit_test(test_formatters_print_what_a_person_would_write),
        cmocka_unit_test(test_parsed_values_format_back_to_the_same_value),
        cmocka_unit_test(test_env_expansion_follows_the_shell_for_its_two_forms),
        cmocka_unit_test(test_env_expansion_refuses_what_does_not_fit),
        cmocka_unit_test(test_suggestions_catch_typos_but_not_strangers),
        cmocka_unit_test(test_addresses_take_ipv4_bracketed_ipv6_names_and_unix_paths),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
