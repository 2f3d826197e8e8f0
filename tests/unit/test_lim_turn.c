/* Turns (limiter/lim_turn.c): a rejection by a shared bucket books the
 * key's turn; the request is admitted on it when it comes back, not before,
 * without being charged twice; the per-key limits still apply; unused turns
 * expire; bookings stop at retry_after_max_s; the key's other requests
 * queue behind its turn; an entry holding a turn is not evicted; explain
 * tells it; dry-run, unverified credentials and the overflow entry book
 * nothing. Fake clock, no sleeps, jitter off (Retry-After is exact). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "lim.h"
#include "lim_test_util.h"

#define S  T_NS_PER_S
#define MS T_NS_PER_MS

struct fx {
    struct lim *l;
    struct lim_policy *p;
};

/* One class "fleet" (dist user) for everyone, jitter off. */
static struct fx
setup_n(uint32_t max_clients, struct lim_global_params *g, struct lim_class_params *c)
{
    struct lim_rule_params r = t_rule("fleet");
    struct fx f;

    f.l = lim_new(max_clients, 7, NULL, 0);
    assert_non_null(f.l);
    f.p = lim_policy_new(g, NULL, 0);
    assert_non_null(f.p);
    assert_int_equal(lim_policy_add_class(f.p, c, NULL, 0), 0);
    assert_int_equal(lim_policy_add_rule(f.p, &r, NULL, 0), 0);
    assert_int_equal(lim_policy_finish(f.p, NULL, 0), 0);
    assert_int_equal(lim_bind(f.l, f.p, NULL, 0), 0);
    return f;
}

static void
params(struct lim_global_params *g, struct lim_class_params *c)
{
    lim_global_defaults(g);
    g->retry_jitter_pct = 0;
    lim_class_defaults(c, "fleet", g);
    c->dist = LIM_DIST_USER;
    c->class_rate_mtps = 1000; /* a token a second for the class */
    c->class_burst = 1;
}

static void
teardown(struct fx *f)
{
    lim_free(f->l);
    lim_policy_free(f->p);
}

/* <user> GETs pods/<name> (or watches pods when <name> is NULL) at <now>;
 * an admitted request is released at once. */
static struct lim_decision
req(struct fx *f, const char *user, const char *name, uint64_t now)
{
    struct lim_identity id;
    struct lim_request r;
    struct lim_decision d;

    assert_int_equal(t_id(&id, LIM_CRED_CERT, user, "users", NULL), 0);
    t_req(&r, name != NULL ? LIM_VERB_GET : LIM_VERB_WATCH, "", "pods", "default");
    r.name = name != NULL ? name : "";
    r.resource_version = name != NULL ? "" : "0"; /* a watch from the cache: 1 token */
    r.rv = name != NULL ? LIM_RV_UNSET : LIM_RV_ZERO;
    lim_decide(f->l, f->p, &id, &r, now, 0, &d);
    if (d.verdict != LIM_REJECT) {
        lim_release(f->l, &d.ticket, 200, 100, 0, now);
    }
    return d;
}

static struct lim_decision
explain(struct fx *f, const char *user, const char *name, uint64_t now, struct lim_trace *tr)
{
    struct lim_identity id;
    struct lim_request r;
    struct lim_decision d;

    assert_int_equal(t_id(&id, LIM_CRED_CERT, user, "users", NULL), 0);
    t_req(&r, LIM_VERB_GET, "", "pods", "default");
    r.name = name;
    lim_explain(f->l, f->p, &id, &r, now, &d, tr);
    return d;
}

static struct lim_class_stats
stats(struct fx *f)
{
    struct lim_class_stats s;

    lim_class_slot_stats(f->l, 0, &s);
    return s;
}

static void
assert_rejected(struct lim_decision d, enum lim_reason reason, uint32_t retry_after_s)
{
    assert_int_equal(d.verdict, LIM_REJECT);
    assert_int_equal(d.reason, reason);
    assert_int_equal(d.retry_after_s, retry_after_s);
}

/* The class bucket holds one token and refills one a second. */
static void
test_class_rate_rejection_books_a_turn_used_on_time_without_double_charge(void **state)
{
    struct lim_global_params g;
    struct lim_class_params c;
    struct fx f;

    (void)state;
    params(&g, &c);
    f = setup_n(64, &g, &c);
    assert_int_equal(req(&f, "a", "p", 10 * S).verdict, LIM_ADMIT);
    /* b's token is there at 11 s, c's at 12 s: each books its turn. */
    assert_rejected(req(&f, "b", "p", 10 * S), LIM_REASON_CLASS_RATE, 1);
    assert_rejected(req(&f, "c", "p", 10 * S), LIM_REASON_CLASS_RATE, 2);
    assert_int_equal(stats(&f).reservations_made, 2);
    assert_int_equal(stats(&f).rejected[LIM_REASON_CLASS_RATE], 2);
    /* Back as told, each is admitted on its turn, though the bucket is
     * still behind (without turns b would be rejected again at 11 s). */
    assert_int_equal(req(&f, "b", "p", 11 * S).verdict, LIM_ADMIT);
    assert_int_equal(req(&f, "c", "p", 12 * S).verdict, LIM_ADMIT);
    assert_int_equal(stats(&f).reservations_honoured, 2);
    assert_int_equal(stats(&f).admitted, 3);
    /* Neither was charged again: at 12 s the bucket is empty, not in
     * debt, and the next token is 1 s away (3 s if they had been). */
    assert_rejected(req(&f, "d", "p", 12 * S), LIM_REASON_CLASS_RATE, 1);
    teardown(&f);
}

static void
test_early_return_is_rejected_with_the_time_left_and_keeps_its_place(void **state)
{
    struct lim_global_params g;
    struct lim_class_params c;
    struct fx f;

    (void)state;
    params(&g, &c);
    f = setup_n(64, &g, &c);
    assert_int_equal(req(&f, "a", "p", 10 * S).verdict, LIM_ADMIT);
    assert_rejected(req(&f, "b", "p", 10 * S), LIM_REASON_CLASS_RATE, 3 - 2); /* turn at 11 s */
    assert_rejected(req(&f, "c", "p", 10 * S), LIM_REASON_CLASS_RATE, 2);     /* turn at 12 s */
    /* b comes back early, twice: rejected with what is left, no new turn. */
    assert_rejected(req(&f, "b", "p", 10 * S + 100 * MS), LIM_REASON_CLASS_RATE, 1);
    assert_rejected(req(&f, "b", "p", 10 * S + 600 * MS), LIM_REASON_CLASS_RATE, 1);
    assert_int_equal(stats(&f).reservations_made, 2);
    /* ... and keeps its place ahead of c: both admitted at their turns. */
    assert_int_equal(req(&f, "b", "p", 11 * S).verdict, LIM_ADMIT);
    assert_rejected(req(&f, "c", "p", 11 * S), LIM_REASON_CLASS_RATE, 1);
    assert_int_equal(req(&f, "c", "p", 12 * S).verdict, LIM_ADMIT);
    assert_int_equal(stats(&f).reservations_honoured, 2);
    teardown(&f);
}

/* A turn not used within max(5 s, Retry-After) of its Retry-After is
 * forfeited; its tokens go back to the queue of turns still booked ahead. */
static void
test_unused_turn_expires_and_is_refunded(void **state)
{
    struct lim_global_params g;
    struct lim_class_params c;
    struct fx f;

    (void)state;
    params(&g, &c);
    c.class_rate_mtps = 100; /* a token per 10 s */
    g.retry_after_max_s = 60;
    f = setup_n(64, &g, &c);
    assert_int_equal(req(&f, "a", "p", 0).verdict, LIM_ADMIT);
    assert_rejected(req(&f, "b", "p", 0), LIM_REASON_CLASS_RATE, 10); /* expires at 20 s */
    assert_rejected(req(&f, "c", "p", 0), LIM_REASON_CLASS_RATE, 20);
    assert_rejected(req(&f, "e", "p", 0), LIM_REASON_CLASS_RATE, 30); /* turns up to 40 s */
    assert_int_equal(stats(&f).reservations_made, 3);
    /* b's late return: its turn forfeited, its token given back to the
     * queue, so b's new turn is at 31 s (where the queue now ends) rather
     * than 40 s, and c's and e's turns stay where they were. */
    assert_rejected(req(&f, "b", "p", 21 * S), LIM_REASON_CLASS_RATE, 10);
    assert_int_equal(stats(&f).reservations_forfeited, 1);
    assert_int_equal(stats(&f).reservations_made, 4);
    assert_int_equal(req(&f, "c", "p", 21 * S).verdict, LIM_ADMIT);
    assert_int_equal(req(&f, "e", "p", 30 * S).verdict, LIM_ADMIT);
    assert_int_equal(req(&f, "b", "p", 31 * S).verdict, LIM_ADMIT);
    assert_int_equal(stats(&f).reservations_honoured, 3);
    teardown(&f);
}

/* A turn further ahead than retry_after_max_s is not booked. */
static void
test_no_turn_beyond_retry_after_max(void **state)
{
    struct lim_global_params g;
    struct lim_class_params c;
    struct fx f;

    (void)state;
    params(&g, &c);
    g.retry_after_max_s = 3;
    f = setup_n(64, &g, &c);
    assert_int_equal(req(&f, "a", "p", 10 * S).verdict, LIM_ADMIT);
    assert_rejected(req(&f, "b", "p", 10 * S), LIM_REASON_CLASS_RATE, 1);
    assert_rejected(req(&f, "c", "p", 10 * S), LIM_REASON_CLASS_RATE, 2);
    assert_rejected(req(&f, "d", "p", 10 * S), LIM_REASON_CLASS_RATE, 3);
    /* 4 s away: a plain rejection, clamped, no turn, nothing taken. */
    assert_rejected(req(&f, "e", "p", 10 * S), LIM_REASON_CLASS_RATE, 3);
    assert_int_equal(stats(&f).reservations_made, 3);
    assert_rejected(req(&f, "e", "p", 10 * S), LIM_REASON_CLASS_RATE, 3);
    assert_int_equal(stats(&f).reservations_made, 3);
    /* d's turn is still at 13 s: e's rejections took nothing. */
    assert_int_equal(req(&f, "b", "p", 11 * S).verdict, LIM_ADMIT);
    assert_int_equal(req(&f, "c", "p", 12 * S).verdict, LIM_ADMIT);
    assert_int_equal(req(&f, "d", "p", 13 * S).verdict, LIM_ADMIT);
    assert_rejected(req(&f, "e", "p", 13 * S), LIM_REASON_CLASS_RATE, 1);
    teardown(&f);
}

/* The global watch-establishment bucket books turns the same way, and a
 * key's own limits still apply on its turn: a rejection by them keeps it. */
static void
test_watch_turn_still_obeys_per_key_limits(void **state)
{
    struct lim_global_params g;
    struct lim_class_params c;
    struct lim_identity id;
    struct lim_request get;
    struct lim_decision held, d;
    struct fx f;

    (void)state;
    params(&g, &c);
    c.class_rate_mtps = 0; /* only the global watch bucket is shared */
    c.max_inflight_per_key = 1;
    g.watch_rate_mtps = 1000, g.watch_burst = 1;
    f = setup_n(64, &g, &c);
    assert_int_equal(req(&f, "a", NULL, 10 * S).verdict, LIM_ADMIT);
    assert_rejected(req(&f, "k", NULL, 10 * S), LIM_REASON_WATCH_RATE, 1);
    assert_int_equal(stats(&f).reservations_made, 1);
    /* k's GET needs no watch token: admitted, and holds k's only seat. */
    assert_int_equal(t_id(&id, LIM_CRED_CERT, "k", "users", NULL), 0);
    t_req(&get, LIM_VERB_GET, "", "pods", "default");
    get.name = "p";
    lim_decide(f.l, f.p, &id, &get, 10 * S + 500 * MS, 0, &held);
    assert_int_equal(held.verdict, LIM_ADMIT);
    /* On its turn, the watch still needs a seat of its own key. */
    assert_rejected(req(&f, "k", NULL, 11 * S), LIM_REASON_CONCURRENCY, 1);
    assert_int_equal(stats(&f).reservations_honoured, 0);
    lim_release(f.l, &held.ticket, 200, 100, 0, 11 * S);
    d = req(&f, "k", NULL, 11 * S + 500 * MS);
    assert_int_equal(d.verdict, LIM_ADMIT);
    assert_int_equal(stats(&f).reservations_honoured, 1);
    /* Not charged twice: the next watch's token is 0.5 s away, not 1.5 s. */
    assert_rejected(req(&f, "z", NULL, 11 * S + 500 * MS), LIM_REASON_WATCH_RATE, 1);
    assert_int_equal(req(&f, "z", NULL, 12 * S).verdict, LIM_ADMIT);
    teardown(&f);
}

/* One turn per key: the key's other requests queue behind it, first
 * rejected first, and each gets the next turn as the previous is used. */
static void
test_other_requests_of_the_key_queue_behind_its_turn(void **state)
{
    struct lim_global_params g;
    struct lim_class_params c;
    struct lim_trace tr;
    struct fx f;

    (void)state;
    params(&g, &c);
    f = setup_n(64, &g, &c);
    assert_int_equal(req(&f, "a", "p", 10 * S).verdict, LIM_ADMIT);
    assert_rejected(req(&f, "k", "p1", 10 * S), LIM_REASON_CLASS_RATE, 1); /* turn at 11 s */
    /* p2 and p3 queue (back a second after the turn); x books the next
     * turn of the class, at 12 s. */
    assert_rejected(req(&f, "k", "p2", 10 * S), LIM_REASON_CLASS_RATE, 2);
    assert_rejected(req(&f, "k", "p3", 10 * S), LIM_REASON_CLASS_RATE, 2);
    assert_rejected(req(&f, "x", "p", 10 * S), LIM_REASON_CLASS_RATE, 2);
    assert_int_equal(stats(&f).reservations_made, 2);
    explain(&f, "k", "p2", 10 * S, &tr);
    assert_int_equal(tr.turn, LIM_TURN_QUEUED);
    /* p2 is not the turn's request: back at the turn, still queued. */
    assert_rejected(req(&f, "k", "p2", 11 * S), LIM_REASON_CLASS_RATE, 1);
    /* p1 uses the turn; p2, first queued, gets the next one (13 s). */
    assert_int_equal(req(&f, "k", "p1", 11 * S).verdict, LIM_ADMIT);
    assert_int_equal(stats(&f).reservations_made, 3);
    assert_rejected(req(&f, "k", "p3", 12 * S), LIM_REASON_CLASS_RATE, 2);
    assert_rejected(req(&f, "k", "p2", 12 * S), LIM_REASON_CLASS_RATE, 1);
    assert_int_equal(req(&f, "x", "p", 12 * S).verdict, LIM_ADMIT);
    assert_int_equal(req(&f, "k", "p2", 13 * S).verdict, LIM_ADMIT);
    /* then p3's turn, at 14 s */
    assert_rejected(req(&f, "k", "p3", 13 * S), LIM_REASON_CLASS_RATE, 1);
    assert_int_equal(req(&f, "k", "p3", 14 * S).verdict, LIM_ADMIT);
    assert_int_equal(stats(&f).reservations_honoured, 4);
    teardown(&f);
}

/* An entry holding a turn is not evicted before the turn expires. */
static void
test_entry_holding_a_turn_is_not_evicted(void **state)
{
    struct lim_global_params g;
    struct lim_class_params c;
    struct lim_stats st;
    struct fx f;

    (void)state;
    params(&g, &c);
    f = setup_n(1, &g, &c); /* room for one key */
    assert_int_equal(req(&f, "k", "p", 10 * S).verdict, LIM_ADMIT);
    assert_rejected(req(&f, "k", "p", 10 * S), LIM_REASON_CLASS_RATE, 1); /* till 16 s */
    /* k's entry is otherwise idle, but its turn pins it: x shares the
     * overflow entry (which books no turn: rejected, nothing booked). */
    assert_rejected(req(&f, "x", "p", 10 * S + 500 * MS), LIM_REASON_CLASS_RATE, 2);
    lim_stats(f.l, &st);
    assert_int_equal(st.overflow, 1);
    assert_int_equal(st.evictions, 0);
    assert_int_equal(stats(&f).reservations_made, 1);
    assert_int_equal(req(&f, "k", "p", 11 * S).verdict, LIM_ADMIT);
    /* Booked again and left unused: once expired, evicted and counted. */
    assert_rejected(req(&f, "k", "p", 11 * S), LIM_REASON_CLASS_RATE, 1); /* till 17 s */
    assert_int_equal(req(&f, "y", "p", 16 * S).verdict, LIM_ADMIT);
    lim_stats(f.l, &st);
    assert_int_equal(st.evictions, 0);
    assert_int_equal(req(&f, "z", "p", 17 * S).verdict, LIM_ADMIT);
    lim_stats(f.l, &st);
    assert_int_equal(st.evictions, 1);
    assert_int_equal(stats(&f).reservations_forfeited, 1);
    teardown(&f);
}

static void
test_explain_tells_the_turn(void **state)
{
    struct lim_global_params g;
    struct lim_class_params c;
    struct lim_trace tr;
    struct lim_decision d;
    struct fx f;

    (void)state;
    params(&g, &c);
    c.class_rate_mtps = 250; /* a token per 4 s */
    f = setup_n(64, &g, &c);
    assert_int_equal(req(&f, "a", "p", 10 * S).verdict, LIM_ADMIT);
    d = explain(&f, "b", "p", 10 * S, &tr);
    assert_int_equal(d.verdict, LIM_REJECT);
    assert_int_equal(d.retry_after_s, 4);
    assert_int_equal(tr.turn, LIM_TURN_BOOKED);
    assert_int_equal(tr.turn_in_ns, 4 * S);
    assert_int_equal(tr.turn_cost_mt, 1000);
    assert_string_equal(tr.turn_why, "reserved turn in 4 s (1.000 tokens)");
    assert_int_equal(stats(&f).reservations_made, 0); /* explain commits nothing */
    assert_rejected(req(&f, "b", "p", 10 * S), LIM_REASON_CLASS_RATE, 4);
    explain(&f, "b", "p", 11 * S, &tr);
    assert_int_equal(tr.turn, LIM_TURN_EARLY);
    assert_string_equal(tr.turn_why, "holds a turn in 3 s: rejected again, keeps its place");
    d = explain(&f, "b", "p", 14 * S, &tr);
    assert_int_equal(d.verdict, LIM_ADMIT);
    assert_int_equal(tr.turn, LIM_TURN_USED);
    assert_string_equal(tr.turn_why, "admitted on its reserved turn (1.000 tokens)");
    assert_int_equal(stats(&f).reservations_honoured, 0);
    assert_int_equal(req(&f, "b", "p", 14 * S).verdict, LIM_ADMIT);
    explain(&f, "b", "p", 14 * S, &tr);
    assert_int_equal(tr.turn, LIM_TURN_BOOKED); /* the turn is gone */
    teardown(&f);
}

/* Dry-run: a would-book is a would-reject, and books nothing. */
static void
test_dry_run_books_no_turn(void **state)
{
    struct lim_global_params g;
    struct lim_class_params c;
    struct lim_decision d;
    struct fx f;

    (void)state;
    params(&g, &c);
    c.mode = LIM_MODE_DRY_RUN;
    f = setup_n(64, &g, &c);
    assert_int_equal(req(&f, "a", "p", 10 * S).verdict, LIM_ADMIT);
    d = req(&f, "b", "p", 10 * S);
    assert_int_equal(d.verdict, LIM_ADMIT);
    assert_true(d.dry_run);
    assert_int_equal(d.reason, LIM_REASON_CLASS_RATE);
    assert_int_equal(stats(&f).would_reject[LIM_REASON_CLASS_RATE], 1);
    assert_int_equal(stats(&f).reservations_made, 0);
    /* Under enforce the bucket is where it would be: full again at 11 s,
     * not 12 s (as if b had booked). */
    assert_int_equal(lim_set_class_mode(f.l, "fleet", LIM_MODE_ENFORCE), 0);
    assert_int_equal(req(&f, "c", "p", 11 * S).verdict, LIM_ADMIT);
    assert_rejected(req(&f, "d", "p", 11 * S), LIM_REASON_CLASS_RATE, 1); /* enforce books */
    assert_int_equal(stats(&f).reservations_made, 1);
    teardown(&f);
}

/* Anyone can mint unverified credentials: they book nothing. */
static void
test_unverified_credentials_book_no_turn(void **state)
{
    static const uint8_t digest[32] = {9};
    struct lim_global_params g;
    struct lim_class_params c;
    struct lim_identity id;
    struct lim_request r;
    struct lim_decision d;
    struct fx f;

    (void)state;
    params(&g, &c);
    f = setup_n(64, &g, &c);
    assert_int_equal(req(&f, "a", "p", 10 * S).verdict, LIM_ADMIT);
    lim_identity_unverified(&id, digest);
    t_req(&r, LIM_VERB_GET, "", "pods", "default");
    r.name = "p";
    lim_decide(f.l, f.p, &id, &r, 10 * S, 0, &d);
    assert_rejected(d, LIM_REASON_UNVERIFIED, 1);
    assert_int_equal(stats(&f).reservations_made, 0);
    /* The token at 11 s is still free: a verified client books it. */
    assert_rejected(req(&f, "b", "p", 10 * S), LIM_REASON_CLASS_RATE, 1);
    assert_int_equal(stats(&f).reservations_made, 1);
    teardown(&f);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_class_rate_rejection_books_a_turn_used_on_time_without_double_charge),
        cmocka_unit_test(test_early_return_is_rejected_with_the_time_left_and_keeps_its_place),
        cmocka_unit_test(test_unused_turn_expires_and_is_refunded),
        cmocka_unit_test(test_no_turn_beyond_retry_after_max),
        cmocka_unit_test(test_watch_turn_still_obeys_per_key_limits),
        cmocka_unit_test(test_other_requests_of_the_key_queue_behind_its_turn),
        cmocka_unit_test(test_entry_holding_a_turn_is_not_evicted),
        cmocka_unit_test(test_explain_tells_the_turn),
        cmocka_unit_test(test_dry_run_books_no_turn),
        cmocka_unit_test(test_unverified_credentials_book_no_turn),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
