/* client-go's reactions on a fake clock: which answers are retried and
 * after how long, the reflector's backoff sequence, its cap and reset, and
 * what a reflector does after each way a watch can end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdbool.h>

#include "bn_load_retry.h"

#define S  1000000000ull
#define MS 1000000ull

struct ra_case {
    const char *v;
    int rc;
    int64_t secs;
};

static void
test_retry_after_reads_as_go_atoi(void **state)
{
    static const struct ra_case cases[] = {
        {"1", 0, 1},
        {"32", 0, 32},
        {"0", 0, 0},
        {"+5", 0, 5},
        {"-3", 0, -3},
        {"9223372036854775807", 0, INT64_MAX},
        {"-9223372036854775808", 0, INT64_MIN},
        {"9223372036854775808", -1, 0},
        {"", -1, 0},
        {"+", -1, 0},
        {" 1", -1, 0},
        {"1 ", -1, 0},
        {"1.5", -1, 0},
        {"0x10", -1, 0},
        {"Wed, 21 Oct 2015 07:28:00 GMT", -1, 0},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t secs = 0;
        int rc = bn_retry_after_parse(cases[i].v, &secs);

        if (rc != cases[i].rc || (rc == 0 && secs != cases[i].secs)) {
            fail_msg("\"%s\": rc %d secs %lld", cases[i].v, rc, (long long)secs);
        }
    }
    assert_int_equal(bn_retry_after_parse(NULL, NULL), -1);
}

struct resp_case {
    int status;
    const char *ra;
    uint32_t retries;
    bool retry;
    uint64_t wait_ns;
};

static void
test_responses_are_retried_only_with_an_integer_retry_after(void **state)
{
    static const struct resp_case cases[] = {
        {429, "1", 0, true, 1 * S}, {429, "32", 9, true, 32 * S}, /* the 10th retry */
        {429, "1", 10, false, 0},                                 /* maxRetries spent */
        {429, NULL, 0, false, 0},                                 /* no header: no retry */
        {429, "soon", 0, false, 0}, {503, "2", 0, true, 2 * S},
        {500, "0", 0, true, 0},     {504, "-7", 0, true, 0}, /* slept only when positive */
        {500, NULL, 0, false, 0},   {404, "1", 0, false, 0},
        {409, "1", 0, false, 0},    {200, "1", 0, false, 0},
    };
    struct bn_retry_policy p = {.retry_after = true, .max_retries = 10};
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint64_t wait = 12345;
        bool r = bn_retry_on_response(&p, cases[i].retries, cases[i].status, cases[i].ra, &wait);

        if (r != cases[i].retry || (r && wait != cases[i].wait_ns)) {
            fail_msg("case %zu: %d %s: retry %d wait %llu", i, cases[i].status,
                     cases[i].ra != NULL ? cases[i].ra : "(none)", r, (unsigned long long)wait);
        }
    }
}

static void
test_no_retry_after_switch_turns_retries_off(void **state)
{
    struct bn_retry_policy p = {.retry_after = false, .max_retries = 10};
    uint64_t wait;

    (void)state;
    assert_false(bn_retry_on_response(&p, 0, 429, "1", &wait));
    p.retry_after = true;
    p.max_retries = 0;
    assert_false(bn_retry_on_response(&p, 0, 429, "1", &wait));
}

static void
test_only_a_reset_get_is_retried_after_a_transport_failure(void **state)
{
    struct bn_retry_policy p = {.retry_after = true, .max_retries = 10};

    (void)state;
    assert_true(bn_retry_on_failure(&p, 0, true, true));
    assert_false(bn_retry_on_failure(&p, 0, false, true)); /* POST: not idempotent */
    assert_false(bn_retry_on_failure(&p, 0, true, false)); /* refused, timed out */
    assert_false(bn_retry_on_failure(&p, 10, true, true));
}

/* The sequence reflector.go's manager gives: 0.8, 1.6, 3.2, 6.4, 12.8,
 * 25.6 s, then 30 s, each plus up to 100% jitter. */
static void
test_reflector_backoff_doubles_to_the_cap_with_full_jitter(void **state)
{
    static const uint64_t base[] = {800 * MS,   1600 * MS, 3200 * MS, 6400 * MS, 12800 * MS,
                                    25600 * MS, 30 * S,    30 * S,    30 * S};
    struct bn_backoff b;
    uint64_t now = 1000 * S, sum = 0;
    size_t i;
    int run;

    (void)state;
    for (run = 0; run < 200; run++) {
        bn_backoff_init(&b, now, (uint64_t)run);
        for (i = 0; i < sizeof(base) / sizeof(base[0]); i++) {
            uint64_t d = bn_backoff_next(&b, now + i * S);

            assert_true(d >= base[i] && d < 2 * base[i]);
            sum += i == 0 ? d : 0;
        }
    }
    /* Jitter is uniform over [d, 2d): the mean of the first is ~1.2 s. */
    assert_true(sum / 200 > 1100 * MS && sum / 200 < 1300 * MS);
}

static void
test_reflector_backoff_resets_after_two_quiet_minutes(void **state)
{
    struct bn_backoff b;
    uint64_t t = 5 * S, d;
    int i;

    (void)state;
    bn_backoff_init(&b, t, 1);
    for (i = 0; i < 8; i++) {
        bn_backoff_next(&b, t);
    }
    d = bn_backoff_next(&b, t + 120 * S); /* exactly 2 min: not yet */
    assert_true(d >= 30 * S);
    d = bn_backoff_next(&b, t + 240 * S + 1);
    assert_true(d >= 800 * MS && d < 1600 * MS);
    /* The manager's clock starts at creation: a first backoff long after
     * it was created starts at 800 ms too. */
    bn_backoff_init(&b, 0, 2);
    d = bn_backoff_next(&b, 3600 * S);
    assert_true(d >= 800 * MS && d < 1600 * MS);
}

struct end_case {
    enum bn_watch_end end;
    uint64_t lasted_ns;
    uint64_t events;
    enum bn_reflect_next next;
};

static void
test_reflector_chooses_rewatch_backoff_or_relist_by_how_the_watch_ended(void **state)
{
    static const struct end_case cases[] = {
        {BN_WEND_CREATE_REFUSED, 0, 0, BN_REFLECT_REWATCH_BACKOFF},
        {BN_WEND_CREATE_429, 0, 0, BN_REFLECT_REWATCH_BACKOFF},
        {BN_WEND_EVENT_429, 5 * S, 3, BN_REFLECT_REWATCH_BACKOFF},
        {BN_WEND_CLOSED, 400 * S, 10, BN_REFLECT_REWATCH},
        {BN_WEND_CLOSED, 2 * S, 0, BN_REFLECT_REWATCH},
        {BN_WEND_CLOSED, 100 * MS, 1, BN_REFLECT_REWATCH},
        {BN_WEND_CLOSED, 100 * MS, 0, BN_REFLECT_RELIST_BACKOFF}, /* very short watch */
        {BN_WEND_EXPIRED, 60 * S, 5, BN_REFLECT_RELIST_BACKOFF},
        {BN_WEND_CREATE_ERROR, 0, 0, BN_REFLECT_RELIST_BACKOFF},
        {BN_WEND_EVENT_ERROR, 10 * S, 2, BN_REFLECT_RELIST_BACKOFF},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (bn_reflect_after(cases[i].end, cases[i].lasted_ns, cases[i].events) != cases[i].next) {
            fail_msg("case %zu", i);
        }
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_retry_after_reads_as_go_atoi),
        cmocka_unit_test(test_responses_are_retried_only_with_an_integer_retry_after),
        cmocka_unit_test(test_no_retry_after_switch_turns_retries_off),
        cmocka_unit_test(test_only_a_reset_get_is_retried_after_a_transport_failure),
        cmocka_unit_test(test_reflector_backoff_doubles_to_the_cap_with_full_jitter),
        cmocka_unit_test(test_reflector_backoff_resets_after_two_quiet_minutes),
        cmocka_unit_test(test_reflector_chooses_rewatch_backoff_or_relist_by_how_the_watch_ended),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
