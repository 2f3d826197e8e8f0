/* Open-loop schedules on a fake clock: arrival counts, spacing, member
 * spreading, and the property the schedule exists for: a request that was
 * due while the server stalled is charged for the stall. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>

#include "bn_load_hist.h"
#include "bn_load_sched.h"

#define S  1000000000ull
#define MS 1000000ull

static uint64_t
count_until(struct bn_sched *s, uint64_t end_ns)
{
    uint64_t n = 0, intended, wake;

    while (bn_sched_pick(s, 1, end_ns - 1, &intended, &wake) == 0) {
        n++;
    }
    return n;
}

static void
test_constant_rate_sends_exactly_rate_times_duration(void **state)
{
    struct bn_sched s;

    (void)state;
    bn_sched_init(&s, BN_ARRIVAL_CONSTANT, 1000 * BN_MRPS_PER_RPS, 1, 5 * S, 0);
    assert_int_equal(count_until(&s, 15 * S), 10000);
    bn_sched_init(&s, BN_ARRIVAL_CONSTANT, 200, 1, 0, 0); /* 0.2/s: one per 5 s */
    assert_int_equal(count_until(&s, 60 * S), 12);
}

/* 1/s in total over 5,000 members: each sends once per 5,000 s, and with
 * their phases the population sends exactly one request per second. */
static void
test_total_rate_below_one_mrps_per_member_keeps_the_total(void **state)
{
    const uint32_t count = 5000;
    struct bn_sched *s = malloc(count * sizeof(*s));
    uint64_t n = 0, intended, wake;
    uint32_t i;

    (void)state;
    assert_non_null(s);
    for (i = 0; i < count; i++) {
        bn_sched_init(&s[i], BN_ARRIVAL_CONSTANT, BN_MRPS_PER_RPS, count,
                      bn_sched_phase(BN_MRPS_PER_RPS, count, i, count), 0);
    }
    while (bn_sched_pick(s, count, 30 * S - 1, &intended, &wake) >= 0) {
        assert_int_equal(intended, n * S);
        n++;
    }
    assert_int_equal(n, 30);
    free(s);
}

static void
test_constant_rate_never_drifts_at_awkward_rates(void **state)
{
    struct bn_sched s;
    uint64_t k;

    (void)state;
    bn_sched_init(&s, BN_ARRIVAL_CONSTANT, 3 * BN_MRPS_PER_RPS, 1, 0, 0); /* 333.33 ms */
    for (k = 0; k < 3000000; k++) {
        bn_sched_advance(&s);
    }
    assert_int_equal(s.next_ns, 1000000 * S); /* exactly 10^6 s later */
}

static void
test_poisson_count_is_within_five_sigma_and_gaps_vary(void **state)
{
    struct bn_sched s;
    uint64_t n, prev, intended, wake, i;
    double sum = 0, sum2 = 0, mean, cv;

    (void)state;
    bn_sched_init(&s, BN_ARRIVAL_POISSON, 1000 * BN_MRPS_PER_RPS, 1, 0, 12345);
    n = count_until(&s, 100 * S); /* expect 100000, sigma 316 */
    assert_true(n > 100000 - 5 * 316 && n < 100000 + 5 * 316);

    bn_sched_init(&s, BN_ARRIVAL_POISSON, 1000 * BN_MRPS_PER_RPS, 1, 0, 99);
    prev = 0;
    for (i = 0; i < 100000; i++) {
        assert_int_equal(bn_sched_pick(&s, 1, UINT64_MAX, &intended, &wake), 0);
        sum += (double)(intended - prev);
        sum2 += (double)(intended - prev) * (double)(intended - prev);
        prev = intended;
    }
    mean = sum / 100000;
    cv = sqrt(sum2 / 100000 - mean * mean) / mean;
    assert_true(fabs(mean - 1e6) < 0.02 * 1e6); /* mean gap 1 ms */
    assert_true(cv > 0.95 && cv < 1.05);        /* exponential: sd == mean */
}

static void
test_poisson_is_reproducible_from_its_seed(void **state)
{
    struct bn_sched a, b;
    int i;

    (void)state;
    bn_sched_init(&a, BN_ARRIVAL_POISSON, 50000, 1, 0, 7);
    bn_sched_init(&b, BN_ARRIVAL_POISSON, 50000, 1, 0, 7);
    for (i = 0; i < 1000; i++) {
        assert_int_equal(a.next_ns, b.next_ns);
        bn_sched_advance(&a);
        bn_sched_advance(&b);
    }
}

static void
test_pick_takes_the_earliest_due_stream_and_says_when_to_wake(void **state)
{
    struct bn_sched s[2];
    uint64_t intended = 0, wake = 0;

    (void)state;
    bn_sched_init(&s[0], BN_ARRIVAL_CONSTANT, 1 * BN_MRPS_PER_RPS, 1, 2 * S, 0);
    bn_sched_init(&s[1], BN_ARRIVAL_CONSTANT, 2 * BN_MRPS_PER_RPS, 1, 1 * S, 0);
    assert_int_equal(bn_sched_pick(s, 2, S - 1, &intended, &wake), -1);
    assert_int_equal(wake, 1 * S);
    assert_int_equal(bn_sched_pick(s, 2, 10 * S, &intended, &wake), 1);
    assert_int_equal(intended, 1 * S);
    assert_int_equal(bn_sched_pick(s, 2, 10 * S, &intended, &wake), 1);
    assert_int_equal(intended, 1 * S + 500 * MS);
    assert_int_equal(bn_sched_pick(s, 2, 10 * S, &intended, &wake), 0);
    assert_int_equal(intended, 2 * S);
    assert_int_equal(bn_sched_pick(NULL, 0, 10 * S, &intended, &wake), -1);
    assert_true(wake == UINT64_MAX);
}

static void
test_members_spread_over_the_ramp_and_over_one_interval(void **state)
{
    (void)state;
    assert_int_equal(bn_sched_member_start(S, 10 * S, 0, 2000), S);
    assert_int_equal(bn_sched_member_start(S, 10 * S, 1000, 2000), 6 * S);
    assert_int_equal(bn_sched_member_start(S, 10 * S, 1999, 2000), S + 10 * S * 1999 / 2000);
    assert_int_equal(bn_sched_member_start(S, 0, 1999, 2000), S);
    /* 5/s is 200 ms apart: 4 members at 0, 50, 100, 150 ms */
    assert_int_equal(bn_sched_phase(5 * BN_MRPS_PER_RPS, 1, 0, 4), 0);
    assert_int_equal(bn_sched_phase(5 * BN_MRPS_PER_RPS, 1, 3, 4), 150 * MS);
}

/* One connection, one request at a time, against a server that answers in
 * 1 ms but stops answering from 10 s to 11 s. The connection is driven the
 * way the runner drives it: open loop sends the next request at its
 * intended time or as soon as the connection frees, and measures from the
 * intended time; closed loop sends when the previous one completes and
 * measures from the send. */
static void
drive(bool open_loop, struct bn_hist *h, uint64_t *stalled_max)
{
    const uint64_t stall_from = 10 * S, stall_to = 11 * S, end = 20 * S;
    struct bn_sched s;
    uint64_t now = 0, intended, wake;

    bn_sched_init(&s, BN_ARRIVAL_CONSTANT, 100 * BN_MRPS_PER_RPS, 1, 0, 0); /* every 10 ms */
    bn_hist_init(h);
    *stalled_max = 0;
    while (now < end) {
        uint64_t sent, done;

        if (open_loop) {
            if (bn_sched_pick(&s, 1, now, &intended, &wake) != 0) {
                now = wake;
                continue;
            }
        } else {
            intended = now;
        }
        sent = now;
        done = sent + MS;
        if (done > stall_from && sent < stall_to) {
            done = stall_to + MS;
        }
        bn_hist_record(h, done - intended);
        if (intended >= stall_from && intended < stall_to && done - intended > *stalled_max) {
            *stalled_max = done - intended;
        }
        now = open_loop ? done : done + 9 * MS; /* closed loop: 10 ms per turn too */
    }
}

static void
test_open_loop_charges_the_stall_to_every_request_due_during_it(void **state)
{
    struct bn_hist *h = malloc(sizeof(*h));
    uint64_t stalled_max;

    (void)state;
    assert_non_null(h);
    drive(true, h, &stalled_max);
    /* 100 of 2000 requests were due during the stall: the first waited the
     * whole second, the last ~0.1 s, so the top 1% (20 requests) all
     * waited more than 0.8 s; the backlog drained 1 ms per request. */
    assert_int_equal(h->count, 2000);
    assert_true(stalled_max >= 1000 * MS);
    assert_true(bn_hist_percentile(h, 99.0) > 800 * MS);
    assert_true(bn_hist_percentile(h, 95.0) > 50 * MS);
    assert_true(bn_hist_percentile(h, 90.0) < 2 * MS);

    /* The same server measured closed-loop: one slow request, a clean p99. */
    drive(false, h, &stalled_max);
    assert_true(bn_hist_percentile(h, 99.0) < 2 * MS);
    assert_true(bn_hist_percentile(h, 100.0) >= 990 * MS);
    free(h);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_constant_rate_sends_exactly_rate_times_duration),
        cmocka_unit_test(test_total_rate_below_one_mrps_per_member_keeps_the_total),
        cmocka_unit_test(test_constant_rate_never_drifts_at_awkward_rates),
        cmocka_unit_test(test_poisson_count_is_within_five_sigma_and_gaps_vary),
        cmocka_unit_test(test_poisson_is_reproducible_from_its_seed),
        cmocka_unit_test(test_pick_takes_the_earliest_due_stream_and_says_when_to_wake),
        cmocka_unit_test(test_members_spread_over_the_ramp_and_over_one_interval),
        cmocka_unit_test(test_open_loop_charges_the_stall_to_every_request_due_during_it),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
