/* GCRA bucket arithmetic: burst, refill, cost-weighted takes, exact
 * deficits, a clock that goes backwards, shared-bucket rollback, and the
 * bounds that rule out overflow. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "lim_bucket.h"
#include "lim_policy.h"

#define S  1000000000ull
#define MS 1000000ull

/* Takes <cost_mt> from a per-key bucket the way the decision does. */
static bool
take(uint64_t *tat, const struct lim_rate *r, uint64_t cost_mt, uint64_t now, uint64_t *deficit)
{
    uint64_t next = lim_bucket_next(*tat, r, cost_mt, now);

    *deficit = lim_bucket_deficit(next, r, now);
    if (*deficit != 0) {
        return false;
    }
    *tat = next;
    return true;
}

static void
test_rate_init_computes_ns_per_token_and_window(void **state)
{
    struct lim_rate r;

    (void)state;
    assert_int_equal(lim_rate_init(&r, 10000, 2), 0); /* 10/s, burst 2 */
    assert_int_equal(r.ns_per_token, 100 * MS);
    assert_int_equal(r.burst_mt, 2000);
    assert_int_equal(r.window_ns, 200 * MS);
    assert_int_equal(lim_rate_init(&r, 17, 1), 0); /* "1/m" rounded to 17 mt/s */
    assert_int_equal(r.ns_per_token, 58823529412ull);
    assert_int_equal(lim_rate_init(&r, LIM_RATE_MAX_MTPS, 1), 0);
    assert_int_equal(r.ns_per_token, 1);
}

static void
test_rate_init_refuses_zero_rate_zero_burst_and_huge_windows(void **state)
{
    struct lim_rate r;

    (void)state;
    assert_int_equal(lim_rate_init(&r, 0, 1), -1);
    assert_int_equal(lim_rate_init(&r, 1000, 0), -1);
    assert_int_equal(lim_rate_init(&r, LIM_RATE_MAX_MTPS + 1, 1), -1);
    /* 1 milli-token/s: a token every 1000 s; 2^53 ns is 9e6 s, so 9007
     * tokens of burst fit and 9008 do not. */
    assert_int_equal(lim_rate_init(&r, 1, 9007), 0);
    assert_true(r.window_ns <= LIM_BUCKET_WINDOW_MAX_NS);
    assert_int_equal(lim_rate_init(&r, 1, 9008), -1);
    /* The largest burst at the slowest rate never overflows the check. */
    assert_int_equal(lim_rate_init(&r, 1, UINT32_MAX), -1);
    assert_int_equal(lim_rate_init(&r, LIM_RATE_MAX_MTPS, UINT32_MAX), 0);
}

static void
test_bucket_admits_burst_then_denies_with_exact_deficit(void **state)
{
    struct lim_rate r;
    uint64_t tat = 0, t = 5 * S, def;

    (void)state;
    assert_int_equal(lim_rate_init(&r, 10000, 2), 0);
    assert_true(take(&tat, &r, 1000, t, &def));
    assert_true(take(&tat, &r, 1000, t, &def));
    assert_false(take(&tat, &r, 1000, t, &def));
    assert_int_equal(def, 100 * MS);
    /* One nanosecond early is still too early; on time it passes. */
    assert_false(take(&tat, &r, 1000, t + def - 1, &def));
    assert_int_equal(def, 1);
    assert_true(take(&tat, &r, 1000, t + 100 * MS, &def));
}

static void
test_bucket_refills_lazily_and_never_beyond_burst(void **state)
{
    struct lim_rate r;
    uint64_t tat = 0, t = 0, def;
    int i, n = 0;

    (void)state;
    assert_int_equal(lim_rate_init(&r, 10000, 5), 0);
    for (i = 0; i < 5; i++) {
        assert_true(take(&tat, &r, 1000, t, &def));
    }
    assert_int_equal(lim_bucket_tokens_mt(tat, &r, t), 0);
    assert_int_equal(lim_bucket_tokens_mt(tat, &r, t + 250 * MS), 2500);
    /* An hour idle is still only the burst. */
    t += 3600 * S;
    assert_int_equal(lim_bucket_tokens_mt(tat, &r, t), 5000);
    while (take(&tat, &r, 1000, t, &def)) {
        n++;
    }
    assert_int_equal(n, 5);
}

static void
test_bucket_charges_cost_in_milli_tokens(void **state)
{
    struct lim_rate r;
    uint64_t tat = 0, t = S, def;

    (void)state;
    assert_int_equal(lim_rate_init(&r, 1000, 10), 0); /* 1/s, burst 10 */
    assert_true(take(&tat, &r, 7500, t, &def));       /* 7.5 tokens */
    assert_int_equal(lim_bucket_tokens_mt(tat, &r, t), 2500);
    assert_false(take(&tat, &r, 3000, t, &def));
    assert_int_equal(def, 500 * MS); /* half a token at 1/s */
    assert_true(take(&tat, &r, 2500, t, &def));
}

static void
test_bucket_lets_a_request_dearer_than_the_burst_pass_when_full(void **state)
{
    struct lim_rate r;
    uint64_t tat = 0, t = S, def;

    (void)state;
    assert_int_equal(lim_rate_init(&r, 1000, 3), 0);
    assert_true(take(&tat, &r, 100000, t, &def)); /* 100 tokens, charged as 3 */
    assert_int_equal(lim_bucket_tokens_mt(tat, &r, t), 0);
    assert_false(take(&tat, &r, 100000, t + 2 * S, &def));
    assert_int_equal(def, 1 * S);
    assert_true(take(&tat, &r, 100000, t + 3 * S, &def));
}

static void
test_bucket_clock_going_backwards_creates_no_credit(void **state)
{
    struct lim_rate r;
    uint64_t tat = 0, t = 10 * S, def;

    (void)state;
    assert_int_equal(lim_rate_init(&r, 1000, 2), 0);
    assert_true(take(&tat, &r, 1000, t, &def));
    assert_true(take(&tat, &r, 1000, t, &def));
    /* A second earlier the bucket looks emptier, never fuller. */
    assert_false(take(&tat, &r, 1000, t - S, &def));
    assert_int_equal(def, 2 * S);
    assert_int_equal(lim_bucket_tokens_mt(tat, &r, t - S), -1000);
    assert_int_equal(lim_bucket_tokens_mt(tat, &r, 0), -10000);
    /* And time resuming picks up where it was. */
    assert_true(take(&tat, &r, 1000, t + S, &def));
}

static void
test_bucket_scaled_rate_stretches_intervals_keeps_burst(void **state)
{
    struct lim_rate r, half;
    uint64_t tat = 0, t = S, def;

    (void)state;
    assert_int_equal(lim_rate_init(&r, 10000, 2), 0);
    lim_rate_scale(&r, 50, &half);
    assert_int_equal(half.window_ns, 400 * MS);
    assert_true(take(&tat, &half, 1000, t, &def));
    assert_true(take(&tat, &half, 1000, t, &def));
    assert_false(take(&tat, &half, 1000, t, &def));
    assert_int_equal(def, 200 * MS); /* 5/s now */
    assert_int_equal(lim_bucket_tokens_mt(tat, &half, t + 200 * MS), 1000);
    lim_rate_scale(&r, 100, &half);
    assert_int_equal(half.window_ns, r.window_ns);
}

static void
test_bucket_extreme_values_do_not_overflow(void **state)
{
    struct lim_rate r, s1;
    uint64_t tat = 0, now = (1ull << 62) - 1, def, next;

    (void)state;
    /* The longest window at the slowest rate, shed to 1 %, near the end
     * of a 2^62 ns clock: every intermediate stays below 2^64. */
    assert_int_equal(lim_rate_init(&r, 1, 9007), 0);
    lim_rate_scale(&r, 1, &s1);
    assert_true(s1.window_ns > r.window_ns);
    next = lim_bucket_next(tat, &s1, UINT64_MAX, now);
    assert_true(next > now);
    assert_int_equal(next - now, s1.window_ns);
    assert_int_equal(lim_bucket_deficit(next, &s1, now), 0);
    tat = next;
    next = lim_bucket_next(tat, &s1, UINT64_MAX, now);
    assert_true(next > tat);
    def = lim_bucket_deficit(next, &s1, now);
    assert_int_equal(def, s1.window_ns);
    assert_true(lim_bucket_tokens_mt(tat, &s1, now) == 0);
    /* The fastest rate with the largest burst. */
    assert_int_equal(lim_rate_init(&r, LIM_RATE_MAX_MTPS, UINT32_MAX), 0);
    next = lim_bucket_next(0, &r, UINT64_MAX, now);
    assert_int_equal(next - now, r.window_ns);
}

static void
test_shared_bucket_take_and_give_back_are_exact(void **state)
{
    struct lim_rate r;
    _Atomic uint64_t tat = 0;
    uint64_t def, t = 100 * S;

    (void)state;
    assert_int_equal(lim_rate_init(&r, 2000, 4), 0); /* 2/s, burst 4 */
    assert_true(lim_abucket_take(&tat, &r, 3000, t, 0, &def));
    assert_false(lim_abucket_take(&tat, &r, 2000, t, 0, &def));
    assert_int_equal(def, 500 * MS);
    /* Within an allowance of debt the take happens (LIM_DELAY). */
    assert_true(lim_abucket_take(&tat, &r, 2000, t, 500 * MS, &def));
    assert_int_equal(def, 500 * MS);
    assert_int_equal(lim_bucket_tokens_mt(atomic_load(&tat), &r, t), -1000);
    lim_abucket_give(&tat, &r, 2000);
    assert_int_equal(lim_bucket_tokens_mt(atomic_load(&tat), &r, t), 1000);
    lim_abucket_give(&tat, &r, 3000);
    assert_int_equal(lim_bucket_tokens_mt(atomic_load(&tat), &r, t), 4000);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rate_init_computes_ns_per_token_and_window),
        cmocka_unit_test(test_rate_init_refuses_zero_rate_zero_burst_and_huge_windows),
        cmocka_unit_test(test_bucket_admits_burst_then_denies_with_exact_deficit),
        cmocka_unit_test(test_bucket_refills_lazily_and_never_beyond_burst),
        cmocka_unit_test(test_bucket_charges_cost_in_milli_tokens),
        cmocka_unit_test(test_bucket_lets_a_request_dearer_than_the_burst_pass_when_full),
        cmocka_unit_test(test_bucket_clock_going_backwards_creates_no_credit),
        cmocka_unit_test(test_bucket_scaled_rate_stretches_intervals_keeps_burst),
        cmocka_unit_test(test_bucket_extreme_values_do_not_overflow),
        cmocka_unit_test(test_shared_bucket_take_and_give_back_are_exact),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
