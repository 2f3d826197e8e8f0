/* The capacity model on a fake clock: FIFO service on a fixed number of
 * slots, the queue timeout (504), the in-flight limit (429) with
 * system:masters exempt from it but not from the queue, background debt
 * paid first, cancellation, and latency that grows with offered load. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "bn_sim_cap.h"

#define MS 1000000ull

struct rec {
    int done, timeouts;
    uint64_t last_ns;
    uint64_t order[64];
    size_t n;
};

struct tjob {
    struct bn_sim_job j;
    struct rec *rec;
    uint64_t id;
    uint64_t finished_ns;
    int outcome; /* -1 until called */
};

static void
on_done(struct bn_sim_job *j, enum bn_sim_cap_outcome o, uint64_t now_ns)
{
    struct tjob *t = (struct tjob *)j;

    t->outcome = (int)o;
    t->finished_ns = now_ns;
    if (o == BN_SIM_CAP_DONE) {
        t->rec->done++;
    } else {
        t->rec->timeouts++;
    }
    if (t->rec->n < 64) {
        t->rec->order[t->rec->n++] = t->id;
    }
}

static void
tjob_init(struct tjob *t, struct rec *r, uint64_t id, uint64_t cost_ns)
{
    memset(t, 0, sizeof(*t));
    t->j.cost_ns = cost_ns;
    t->j.done = on_done;
    t->rec = r;
    t->id = id;
    t->outcome = -1;
}

static struct bn_sim_cap *
model(uint32_t slots, uint32_t max_inflight, uint64_t timeout_ns)
{
    struct bn_sim_cap_params p = {.slots = slots,
                                  .max_inflight = max_inflight,
                                  .max_mutating_inflight = 1,
                                  .queue_timeout_ns = timeout_ns,
                                  .max_debt_ns = 50 * MS};
    char err[128];
    struct bn_sim_cap *c = bn_sim_cap_new(&p, err, sizeof(err));

    assert_non_null(c);
    return c;
}

static void
test_one_slot_serves_in_fifo_order_one_service_time_each(void **state)
{
    struct bn_sim_cap *c = model(1, 0, 1000 * MS);
    struct tjob t[3];
    struct rec r = {0};
    int i;

    (void)state;
    for (i = 0; i < 3; i++) {
        tjob_init(&t[i], &r, (uint64_t)i, 10 * MS);
        assert_int_equal(bn_sim_cap_submit(c, &t[i].j, 0), BN_SIM_CAP_ADMITTED);
    }
    bn_sim_cap_advance(c, 0);
    assert_int_equal(r.done, 0);
    assert_int_equal(bn_sim_cap_next_ns(c), 10 * MS);
    bn_sim_cap_advance(c, 10 * MS);
    assert_int_equal(r.done, 1);
    assert_int_equal(t[0].outcome, BN_SIM_CAP_DONE);
    assert_int_equal(t[1].j.started_ns, 10 * MS);
    bn_sim_cap_advance(c, 19 * MS);
    assert_int_equal(r.done, 1);
    bn_sim_cap_advance(c, 30 * MS);
    assert_int_equal(r.done, 3);
    assert_int_equal(r.order[0], 0);
    assert_int_equal(r.order[1], 1);
    assert_int_equal(r.order[2], 2);
    assert_int_equal(bn_sim_cap_next_ns(c), UINT64_MAX);
    bn_sim_cap_free(c);
}

static void
test_slots_work_in_parallel_and_take_the_queue_head(void **state)
{
    struct bn_sim_cap *c = model(2, 0, 1000 * MS);
    struct tjob t[4];
    struct rec r = {0};
    static const uint64_t cost[4] = {30 * MS, 10 * MS, 10 * MS, 10 * MS};
    int i;

    (void)state;
    for (i = 0; i < 4; i++) {
        tjob_init(&t[i], &r, (uint64_t)i, cost[i]);
        assert_int_equal(bn_sim_cap_submit(c, &t[i].j, 0), BN_SIM_CAP_ADMITTED);
    }
    bn_sim_cap_advance(c, 100 * MS);
    /* slot A: job0 0..30; slot B: job1 0..10, job2 10..20, job3 20..30 */
    assert_int_equal(t[2].j.started_ns, 10 * MS);
    assert_int_equal(t[3].j.started_ns, 20 * MS);
    assert_int_equal(r.done, 4);
    bn_sim_cap_free(c);
}

static void
test_queued_past_the_timeout_fails_and_running_work_finishes(void **state)
{
    struct bn_sim_cap *c = model(1, 0, 50 * MS);
    struct bn_sim_cap_stats st;
    struct tjob a, b;
    struct rec r = {0};

    (void)state;
    tjob_init(&a, &r, 1, 100 * MS);
    tjob_init(&b, &r, 2, 1 * MS);
    bn_sim_cap_submit(c, &a.j, 0);
    bn_sim_cap_submit(c, &b.j, 0);
    bn_sim_cap_advance(c, 0);
    assert_int_equal(bn_sim_cap_next_ns(c), 50 * MS);
    bn_sim_cap_advance(c, 49 * MS);
    assert_int_equal(r.timeouts, 0);
    bn_sim_cap_advance(c, 60 * MS);
    assert_int_equal(b.outcome, BN_SIM_CAP_TIMEOUT);
    assert_int_equal(a.outcome, -1);
    bn_sim_cap_advance(c, 100 * MS);
    assert_int_equal(a.outcome, BN_SIM_CAP_DONE);
    bn_sim_cap_stats(c, 100 * MS, &st);
    assert_int_equal(st.timeouts_total, 1);
    assert_int_equal(st.served_total, 1);
    assert_int_equal(st.inflight_readonly, 0);
    bn_sim_cap_free(c);
}

static void
test_inflight_limit_rejects_but_exempt_clients_still_queue(void **state)
{
    struct bn_sim_cap *c = model(1, 2, 1000 * MS);
    struct tjob t[3], master, w1, w2;
    struct bn_sim_cap_stats st;
    struct rec r = {0};
    int i;

    (void)state;
    for (i = 0; i < 3; i++) {
        tjob_init(&t[i], &r, (uint64_t)i, 10 * MS);
    }
    assert_int_equal(bn_sim_cap_submit(c, &t[0].j, 0), BN_SIM_CAP_ADMITTED);
    assert_int_equal(bn_sim_cap_submit(c, &t[1].j, 0), BN_SIM_CAP_ADMITTED);
    assert_int_equal(bn_sim_cap_submit(c, &t[2].j, 0), BN_SIM_CAP_REJECTED);
    tjob_init(&master, &r, 9, 10 * MS);
    master.j.exempt = true;
    assert_int_equal(bn_sim_cap_submit(c, &master.j, 0), BN_SIM_CAP_ADMITTED);
    /* mutating requests have their own pool (of 1 here) */
    tjob_init(&w1, &r, 10, 1 * MS);
    tjob_init(&w2, &r, 11, 1 * MS);
    w1.j.mutating = w2.j.mutating = true;
    assert_int_equal(bn_sim_cap_submit(c, &w1.j, 0), BN_SIM_CAP_ADMITTED);
    assert_int_equal(bn_sim_cap_submit(c, &w2.j, 0), BN_SIM_CAP_REJECTED);
    bn_sim_cap_advance(c, 100 * MS);
    /* the exempt request waited its turn behind the others */
    assert_int_equal(master.j.started_ns, 20 * MS);
    bn_sim_cap_stats(c, 100 * MS, &st);
    assert_int_equal(st.rejected_total, 2);
    /* room again once the queue drained */
    assert_int_equal(bn_sim_cap_submit(c, &t[2].j, 100 * MS), BN_SIM_CAP_ADMITTED);
    bn_sim_cap_free(c);
}

static void
test_background_debt_is_paid_before_queued_requests(void **state)
{
    struct bn_sim_cap *c = model(1, 0, 1000 * MS);
    struct bn_sim_cap_stats st;
    struct tjob t;
    struct rec r = {0};

    (void)state;
    bn_sim_cap_background(c, 12 * MS, 0);
    tjob_init(&t, &r, 1, 1 * MS);
    bn_sim_cap_submit(c, &t.j, 0);
    bn_sim_cap_advance(c, 100 * MS);
    assert_int_equal(t.j.started_ns, 12 * MS); /* after 5 + 5 + 2 ms of debt */
    /* beyond the debt cap (50 ms) the excess is dropped and counted */
    bn_sim_cap_background(c, 80 * MS, 100 * MS);
    bn_sim_cap_stats(c, 100 * MS, &st);
    assert_int_equal(st.debt_ns, 50 * MS);
    assert_int_equal(st.debt_dropped_ns_total, 30 * MS);
    assert_int_equal(st.busy_ns_total, 13 * MS);
    bn_sim_cap_free(c);
}

static void
test_cancelled_jobs_never_call_back(void **state)
{
    struct bn_sim_cap *c = model(1, 0, 1000 * MS);
    struct bn_sim_cap_stats st;
    struct tjob a, b, d;
    struct rec r = {0};

    (void)state;
    tjob_init(&a, &r, 1, 10 * MS);
    tjob_init(&b, &r, 2, 10 * MS);
    tjob_init(&d, &r, 3, 10 * MS);
    bn_sim_cap_submit(c, &a.j, 0);
    bn_sim_cap_submit(c, &b.j, 0);
    bn_sim_cap_submit(c, &d.j, 0);
    bn_sim_cap_advance(c, 1 * MS);
    bn_sim_cap_cancel(c, &a.j); /* running: the slot stays busy to 10 ms */
    bn_sim_cap_cancel(c, &b.j); /* queued: gone */
    bn_sim_cap_stats(c, 1 * MS, &st);
    assert_int_equal(st.inflight_readonly, 1);
    bn_sim_cap_advance(c, 100 * MS);
    assert_int_equal(a.outcome, -1);
    assert_int_equal(b.outcome, -1);
    assert_int_equal(d.j.started_ns, 10 * MS);
    assert_int_equal(r.done, 1);
    bn_sim_cap_free(c);
}

/* Offers one request per <gap_ns> for <n> requests of <cost_ns> on one
 * slot; returns the mean latency (finish - arrival) of the served ones
 * and counts timeouts. The clock steps through every model event. */
static uint64_t
offered(uint64_t gap_ns, uint64_t cost_ns, int n, int *timeouts)
{
    struct bn_sim_cap *c = model(1, 0, 200 * MS);
    struct tjob *t = calloc((size_t)n, sizeof(*t));
    struct rec r = {0};
    uint64_t now = 0, sum = 0;
    int next = 0, served = 0, i;

    while (next < n || bn_sim_cap_next_ns(c) != UINT64_MAX) {
        uint64_t arrive = next < n ? (uint64_t)next * gap_ns : UINT64_MAX;
        uint64_t ev = bn_sim_cap_next_ns(c);

        now = arrive < ev ? arrive : ev;
        if (arrive <= ev) {
            tjob_init(&t[next], &r, (uint64_t)next, cost_ns);
            bn_sim_cap_submit(c, &t[next].j, now);
            next++;
        }
        bn_sim_cap_advance(c, now);
    }
    for (i = 0; i < n; i++) {
        if (t[i].outcome == BN_SIM_CAP_DONE) {
            sum += t[i].finished_ns - t[i].j.enqueued_ns;
            served++;
        }
    }
    *timeouts = r.timeouts;
    free(t);
    bn_sim_cap_free(c);
    return served > 0 ? sum / (uint64_t)served : 0;
}

static void
test_latency_stays_at_service_time_below_capacity_and_grows_above(void **state)
{
    int calm_timeouts, storm_timeouts;
    /* capacity: 100 requests/s of 10 ms */
    uint64_t calm = offered(20 * MS, 10 * MS, 300, &calm_timeouts);
    uint64_t storm = offered(10 * MS / 3, 10 * MS, 300, &storm_timeouts);

    (void)state;
    assert_int_equal(calm, 10 * MS);
    assert_int_equal(calm_timeouts, 0);
    /* at 3x capacity the queue grows until the 200 ms deadline cuts it */
    assert_true(storm > 10 * calm);
    assert_true(storm_timeouts > 100);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_slot_serves_in_fifo_order_one_service_time_each),
        cmocka_unit_test(test_slots_work_in_parallel_and_take_the_queue_head),
        cmocka_unit_test(test_queued_past_the_timeout_fails_and_running_work_finishes),
        cmocka_unit_test(test_inflight_limit_rejects_but_exempt_clients_still_queue),
        cmocka_unit_test(test_background_debt_is_paid_before_queued_requests),
        cmocka_unit_test(test_cancelled_jobs_never_call_back),
        cmocka_unit_test(test_latency_stays_at_service_time_below_capacity_and_grows_above),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
