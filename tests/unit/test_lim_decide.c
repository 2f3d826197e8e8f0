/* lim_decide / lim_release / lim_explain: each rejection reason, exempt
 * never rejected and always counted, reserved seats, dry-run, delay, watch
 * seats and counts, idempotent release, block/allow TTL, shed, class mode
 * override, state kept across a rebind, Retry-After bounds and jitter,
 * overflow, explain committing nothing. Fake clock, no sleeps. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "lim.h"
#include "lim_test_util.h"

#define S  T_NS_PER_S
#define MS T_NS_PER_MS

static const char *const masters[] = {"system:masters"};

/* Globals with jitter off, so Retry-After is exact unless a test wants it. */
static struct lim_global_params
glob(void)
{
    struct lim_global_params g;

    lim_global_defaults(&g);
    g.retry_jitter_pct = 0;
    return g;
}

static struct lim_class_params
cls(const char *name)
{
    struct lim_global_params g = glob();
    struct lim_class_params c;

    lim_class_defaults(&c, name, &g);
    return c;
}

/* "exempt" for system:masters, then <c> for everyone else. */
static struct lim_policy *
policy(const struct lim_global_params *g, const struct lim_class_params *c)
{
    struct lim_class_params ex = cls("exempt");
    struct lim_rule_params r;
    struct lim_policy *p;
    char err[256];

    ex.mode = LIM_MODE_EXEMPT;
    p = lim_policy_new(g, err, sizeof(err));
    assert_non_null(p);
    assert_int_equal(lim_policy_add_class(p, &ex, err, sizeof(err)), 0);
    assert_int_equal(lim_policy_add_class(p, c, err, sizeof(err)), 0);
    r = t_rule("exempt");
    r.groups = masters, r.ngroups = 1;
    assert_int_equal(lim_policy_add_rule(p, &r, err, sizeof(err)), 0);
    r = t_rule(c->name);
    assert_int_equal(lim_policy_add_rule(p, &r, err, sizeof(err)), 0);
    assert_int_equal(lim_policy_finish(p, err, sizeof(err)), 0);
    return p;
}

struct fx {
    struct lim *l;
    struct lim_policy *p;
};

static struct fx
setup(const struct lim_global_params *g, const struct lim_class_params *c)
{
    struct fx f;

    f.l = lim_new(1024, 42, NULL, 0);
    assert_non_null(f.l);
    f.p = policy(g, c);
    assert_int_equal(lim_bind(f.l, f.p, NULL, 0), 0);
    return f;
}

static void
teardown(struct fx *f)
{
    lim_free(f->l);
    lim_policy_free(f->p);
}

static void
ident(struct lim_identity *id, const char *user)
{
    if (strcmp(user, "root") == 0) {
        assert_int_equal(t_id(id, LIM_CRED_CERT, user, "system:masters", NULL), 0);
    } else if (strncmp(user, "system:node:", 12) == 0) {
        assert_int_equal(t_id(id, LIM_CRED_CERT, user, "system:nodes", NULL), 0);
    } else {
        assert_int_equal(t_id(id, LIM_CRED_CERT, user, NULL, NULL), 0);
    }
}

static void
request(struct lim_request *r, enum lim_verb v)
{
    t_req(r, v, "", "pods", "default");
    if (v != LIM_VERB_LIST && v != LIM_VERB_WATCH) {
        r->name = "p1";
    }
}

/* Decides <verb> on pods for <user> at <now>. */
static struct lim_decision
dec(struct fx *f, const char *user, enum lim_verb v, uint64_t now)
{
    struct lim_identity id;
    struct lim_request r;
    struct lim_decision d;

    ident(&id, user);
    request(&r, v);
    lim_decide(f->l, f->p, &id, &r, now, 0, &d);
    return d;
}

static void
rel(struct fx *f, struct lim_decision *d)
{
    lim_release(f->l, &d->ticket, 200, 1000, 0, 0);
}

static struct lim_class_stats
cstats(struct fx *f, const char *name)
{
    struct lim_class_stats s;
    size_t i;

    for (i = 0; i < lim_class_slot_count(f->l); i++) {
        if (strcmp(lim_class_slot_name(f->l, i), name) == 0) {
            lim_class_slot_stats(f->l, i, &s);
            return s;
        }
    }
    fail_msg("no slot %s", name);
    return s;
}

static struct lim_stats
gstats(struct fx *f)
{
    struct lim_stats s;

    lim_stats(f->l, &s);
    return s;
}

static void
test_key_rate_rejects_over_burst_per_user(void **state)
{
    struct lim_global_params g = glob();
    struct lim_class_params c = cls("users");
    struct fx f;
    struct lim_decision d;

    (void)state;
    c.rate_mtps = 1000, c.burst = 2;
    f = setup(&g, &c);
    d = dec(&f, "alice", LIM_VERB_GET, 10 * S);
    assert_int_equal(d.verdict, LIM_ADMIT);
    assert_string_equal(d.class_name, "users");
    assert_int_equal(d.rule, 1);
    assert_int_equal(d.cost_mt, 1000);
    rel(&f, &d);
    d = dec(&f, "alice", LIM_VERB_GET, 10 * S);
    rel(&f, &d);
    d = dec(&f, "alice", LIM_VERB_GET, 10 * S + 300 * MS);
    assert_int_equal(d.verdict, LIM_REJECT);
    assert_int_equal(d.reason, LIM_REASON_RATE);
    assert_int_equal(d.retry_after_s, 1); /* 0.7 s rounded up */
    assert_int_equal(d.ticket.state, 0);
    d = dec(&f, "bob", LIM_VERB_GET, 10 * S);
    assert_int_equal(d.verdict, LIM_ADMIT);
    rel(&f, &d);
    d = dec(&f, "alice", LIM_VERB_GET, 11 * S);
    assert_int_equal(d.verdict, LIM_ADMIT);
    rel(&f, &d);
    assert_int_equal(cstats(&f, "users").rejected[LIM_REASON_RATE], 1);
    assert_int_equal(cstats(&f, "users").admitted, 4);
    teardown(&f);
}

static void
test_class_rate_caps_the_whole_class(void **state)
{
    struct lim_global_params g = glob();
    struct lim_class_params c = cls("fleet");
    struct fx f;
    struct lim_decision d;
    char user[16];
    int i;

    (void)state;
    c.class_rate_mtps = 2000, c.class_burst = 3;
    f = setup(&g, &c);
    for (i = 0; i < 3; i++) {
        snprintf(user, sizeof(user), "u%d", i);
        d = dec(&f, user, LIM_VERB_GET, S);
        assert_int_equal(d.verdict, LIM_ADMIT);
        rel(&f, &d);
    }
    d = dec(&f, "u9", LIM_VERB_GET, S);
    assert_int_equal(d.verdict, LIM_REJECT);
    assert_int_equal(d.reason, LIM_REASON_CLASS_RATE);
    assert_int_equal(d.retry_after_s, 1);
    d = dec(&f, "u9", LIM_VERB_GET, S + 500 * MS);
    assert_int_equal(d.verdict, LIM_ADMIT);
    rel(&f, &d);
    teardown(&f);
}

static void
test_per_key_concurrency_then_release_frees_it(void **state)
{
    struct lim_global_params g = glob();
    struct lim_class_params c = cls("users");
    struct lim_decision a, b, d;
    struct fx f;

    (void)state;
    c.max_inflight_per_key = 2;
    f = setup(&g, &c);
    a = dec(&f, "alice", LIM_VERB_GET, S);
    b = dec(&f, "alice", LIM_VERB_GET, S);
    assert_int_equal(b.verdict, LIM_ADMIT);
    d = dec(&f, "alice", LIM_VERB_GET, S);
    assert_int_equal(d.verdict, LIM_REJECT);
    assert_int_equal(d.reason, LIM_REASON_CONCURRENCY);
    assert_int_equal(d.retry_after_s, 1);
    assert_int_equal(gstats(&f).inflight[LIM_KIND_READONLY], 2);
    rel(&f, &a);
    d = dec(&f, "alice", LIM_VERB_GET, S);
    assert_int_equal(d.verdict, LIM_ADMIT);
    rel(&f, &d);
    rel(&f, &b);
    assert_int_equal(gstats(&f).inflight[LIM_KIND_READONLY], 0);
    teardown(&f);
}

static void
test_class_share_of_the_pool(void **state)
{
    struct lim_global_params g = glob();
    struct lim_class_params c = cls("users");
    struct lim_decision d[6], x;
    struct fx f;
    char user[16];
    int i;

    (void)state;
    g.max_inflight_readonly = 100;
    c.concurrency_share_pct = 5; /* ceil(100 * 5%) = 5 seats */
    f = setup(&g, &c);
    for (i = 0; i < 5; i++) {
        snprintf(user, sizeof(user), "u%d", i);
        d[i] = dec(&f, user, LIM_VERB_GET, S);
        assert_int_equal(d[i].verdict, LIM_ADMIT);
    }
    x = dec(&f, "u9", LIM_VERB_GET, S);
    assert_int_equal(x.verdict, LIM_REJECT);
    assert_int_equal(x.reason, LIM_REASON_CONCURRENCY);
    /* Mutations are another pool. */
    x = dec(&f, "u9", LIM_VERB_CREATE, S);
    assert_int_equal(x.verdict, LIM_ADMIT);
    rel(&f, &x);
    for (i = 0; i < 5; i++) {
        rel(&f, &d[i]);
    }
    assert_int_equal(cstats(&f, "users").inflight[0], 0);
    teardown(&f);
}

/* Non-exempt requests stop at cap - reserved; exempt ones use the reserved
 * seats and beyond, are never rejected, and are counted. */
static void
test_reserved_seats_and_exempt_never_rejected(void **state)
{
    struct lim_global_params g = glob();
    struct lim_class_params c = cls("users");
    struct lim_decision d[20], x, ex[30];
    struct fx f;
    char user[16];
    int i;

    (void)state;
    g.max_inflight_readonly = 20;
    g.max_inflight_mutating = 20;
    g.reserved_seats = 10;
    f = setup(&g, &c);
    for (i = 0; i < 10; i++) {
        snprintf(user, sizeof(user), "u%d", i);
        d[i] = dec(&f, user, LIM_VERB_GET, S);
        assert_int_equal(d[i].verdict, LIM_ADMIT);
    }
    x = dec(&f, "u99", LIM_VERB_GET, S);
    assert_int_equal(x.verdict, LIM_REJECT);
    assert_int_equal(x.reason, LIM_REASON_CONCURRENCY);
    lim_set_shed(f.l, 1, true);
    for (i = 0; i < 30; i++) {
        ex[i] = dec(&f, "root", i % 2 ? LIM_VERB_LIST : LIM_VERB_GET, S);
        assert_int_equal(ex[i].verdict, LIM_ADMIT);
        assert_true(ex[i].exempt);
        assert_string_equal(ex[i].class_name, "exempt");
    }
    assert_true(gstats(&f).inflight[0] >= 40);
    assert_int_equal(cstats(&f, "exempt").admitted, 30);
    for (i = 0; i < 30; i++) {
        rel(&f, &ex[i]);
    }
    for (i = 0; i < 10; i++) {
        rel(&f, &d[i]);
    }
    assert_int_equal(gstats(&f).inflight[0], 0);
    assert_int_equal(cstats(&f, "exempt").inflight[0], 0);
    teardown(&f);
}

static void
test_watch_caps_per_key_class_and_global(void **state)
{
    struct lim_global_params g = glob();
    struct lim_class_params c = cls("nodes");
    struct lim_decision w[8], x;
    struct fx f;
    int i;

    (void)state;
    g.max_watches = 4;
    c.max_watches_per_key = 2;
    c.max_watches = 4;
    f = setup(&g, &c);
    w[0] = dec(&f, "a", LIM_VERB_WATCH, S);
    w[1] = dec(&f, "a", LIM_VERB_WATCH, S);
    assert_int_equal(w[1].verdict, LIM_ADMIT);
    x = dec(&f, "a", LIM_VERB_WATCH, S);
    assert_int_equal(x.verdict, LIM_REJECT);
    assert_int_equal(x.reason, LIM_REASON_WATCH_CAP);
    assert_int_equal(x.retry_after_s, 5);
    w[2] = dec(&f, "b", LIM_VERB_WATCH, S);
    w[3] = dec(&f, "b", LIM_VERB_WATCH, S);
    assert_int_equal(w[3].verdict, LIM_ADMIT);
    x = dec(&f, "c", LIM_VERB_WATCH, S); /* class cap 4 */
    assert_int_equal(x.verdict, LIM_REJECT);
    assert_int_equal(x.reason, LIM_REASON_WATCH_CAP);
    w[4] = dec(&f, "root", LIM_VERB_WATCH, S); /* exempt: counted, never capped */
    assert_int_equal(w[4].verdict, LIM_ADMIT);
    assert_int_equal(gstats(&f).watches_open, 5);
    rel(&f, &w[0]);
    x = dec(&f, "c", LIM_VERB_WATCH, S); /* class has room, global does not */
    assert_int_equal(x.verdict, LIM_REJECT);
    assert_int_equal(x.reason, LIM_REASON_WATCH_CAP);
    rel(&f, &w[4]);
    w[0] = dec(&f, "c", LIM_VERB_WATCH, S);
    assert_int_equal(w[0].verdict, LIM_ADMIT);
    for (i = 0; i < 4; i++) {
        rel(&f, &w[i]);
    }
    assert_int_equal(gstats(&f).watches_open, 0);
    assert_int_equal(cstats(&f, "nodes").rejected[LIM_REASON_WATCH_CAP], 3);
    teardown(&f);
}

static void
test_watch_establishment_rate_per_key_and_global(void **state)
{
    struct lim_global_params g = glob();
    struct lim_class_params c = cls("nodes");
    struct lim_decision d;
    struct fx f;

    (void)state;
    g.watch_rate_mtps = 2000, g.watch_burst = 2;
    c.watch_rate_mtps = 1000, c.watch_burst = 1;
    f = setup(&g, &c);
    d = dec(&f, "a", LIM_VERB_WATCH, S);
    assert_int_equal(d.verdict, LIM_ADMIT);
    rel(&f, &d);
    d = dec(&f, "a", LIM_VERB_WATCH, S + 250 * MS);
    assert_int_equal(d.verdict, LIM_REJECT);
    assert_int_equal(d.reason, LIM_REASON_WATCH_RATE);
    assert_int_equal(d.retry_after_s, 1);
    d = dec(&f, "b", LIM_VERB_WATCH, S);
    assert_int_equal(d.verdict, LIM_ADMIT);
    rel(&f, &d);
    d = dec(&f, "c", LIM_VERB_WATCH, S); /* global: 2 per burst */
    assert_int_equal(d.verdict, LIM_REJECT);
    assert_int_equal(d.reason, LIM_REASON_WATCH_RATE);
    d = dec(&f, "c", LIM_VERB_WATCH, S + 500 * MS);
    assert_int_equal(d.verdict, LIM_ADMIT);
    rel(&f, &d);
    /* Other verbs do not touch watch buckets. */
    d = dec(&f, "a", LIM_VERB_LIST, S + 500 * MS);
    assert_int_equal(d.verdict, LIM_ADMIT);
    rel(&f, &d);
    teardown(&f);
}

/* APF's rule: the watch's seats come back when its initial events are out;
 * the watch stays counted until it ends. */
static void
test_watch_started_gives_back_seats_keeps_the_watch(void **state)
{
    struct lim_global_params g = glob();
    struct lim_class_params c = cls("nodes");
    struct lim_decision w, x;
    struct fx f;

    (void)state;
    c.max_inflight_per_key = 1;
    f = setup(&g, &c);
    w = dec(&f, "n1", LIM_VERB_WATCH, S);
    assert_int_equal(w.verdict, LIM_ADMIT);
    assert_int_equal(w.seats, 1);
    assert_int_equal(gstats(&f).inflight[0], 1);
    assert_int_equal(gstats(&f).watches_open, 1);
    x = dec(&f, "n1", LIM_VERB_GET, S);
    assert_int_equal(x.verdict, LIM_REJECT);
    assert_int_equal(x.reason, LIM_REASON_CONCURRENCY);
    lim_watch_started(f.l, &w.ticket);
    lim_watch_started(f.l, &w.ticket); /* twice is once */
    assert_int_equal(gstats(&f).inflight[0], 0);
    assert_int_equal(gstats(&f).watches_open, 1);
    assert_int_equal(cstats(&f, "nodes").watches_open, 1);
    assert_int_equal(cstats(&f, "nodes").watches_started, 1);
    x = dec(&f, "n1", LIM_VERB_GET, S);
    assert_int_equal(x.verdict, LIM_ADMIT);
    rel(&f, &x);
    rel(&f, &w);
    assert_int_equal(gstats(&f).inflight[0], 0);
    assert_int_equal(gstats(&f).watches_open, 0);
    assert_int_equal(cstats(&f, "nodes").watches_open, 0);
    teardown(&f);
}

static void
test_release_is_idempotent_and_zero_ticket_is_a_no_op(void **state)
{
    struct lim_global_params g = glob();
    struct lim_class_params c = cls("users");
    struct lim_decision d;
    struct lim_ticket zero;
    struct fx f;

    (void)state;
    f = setup(&g, &c);
    d = dec(&f, "a", LIM_VERB_WATCH, S);
    rel(&f, &d);
    rel(&f, &d);
    lim_watch_started(f.l, &d.ticket);
    assert_int_equal(gstats(&f).inflight[0], 0);
    assert_int_equal(gstats(&f).watches_open, 0);
    memset(&zero, 0, sizeof(zero));
    lim_release(f.l, &zero, 200, 0, 0, 0);
    lim_watch_started(f.l, &zero);
    assert_int_equal(gstats(&f).watches_open, 0);
    teardown(&f);
}

/* A rejection by the last check (the class bucket) leaves the seats, the
 * watch counts and the buckets of the earlier checks as they were. */
static void
test_rejected_request_consumes_nothing(void **state)
{
    struct lim_global_params g = glob();
    struct lim_class_params c = cls("users");
    struct lim_decision d;
    struct lim_identity id;
    struct lim_request r;
    struct lim_trace tr;
    struct fx f;

    (void)state;
    g.watch_rate_mtps = 1000, g.watch_burst = 5;
    c.rate_mtps = 1000, c.burst = 5;
    c.watch_rate_mtps = 1000, c.watch_burst = 5;
    c.class_rate_mtps = 1000, c.class_burst = 1;
    f = setup(&g, &c);
    d = dec(&f, "a", LIM_VERB_GET, S);
    rel(&f, &d);
    d = dec(&f, "a", LIM_VERB_WATCH, S);
    assert_int_equal(d.verdict, LIM_REJECT);
    assert_int_equal(d.reason, LIM_REASON_CLASS_RATE);
    assert_int_equal(gstats(&f).inflight[0], 0);
    assert_int_equal(gstats(&f).watches_open, 0);
    assert_int_equal(cstats(&f, "users").watches_open, 0);
    ident(&id, "a");
    request(&r, LIM_VERB_WATCH);
    lim_explain(f.l, f.p, &id, &r, S, &d, &tr);
    assert_int_equal(tr.key_tokens_mt, 4000); /* only the GET was taken */
    assert_int_equal(tr.class_tokens_mt, 0);
    /* The global watch bucket is full again: five watches pass once the
     * class bucket allows. */
    assert_int_equal(d.reason, LIM_REASON_CLASS_RATE);
    teardown(&f);
}

static void
test_dry_run_admits_counts_and_leaves_tokens(void **state)
{
    struct lim_global_params g = glob();
    struct lim_class_params c = cls("users");
    struct lim_decision d, w;
    struct fx f;

    (void)state;
    c.mode = LIM_MODE_DRY_RUN;
    c.rate_mtps = 1000, c.burst = 1;
    c.max_watches_per_key = 1;
    f = setup(&g, &c);
    d = dec(&f, "a", LIM_VERB_GET, S);
    assert_int_equal(d.verdict, LIM_ADMIT);
    assert_false(d.dry_run);
    rel(&f, &d);
    d = dec(&f, "a", LIM_VERB_GET, S + 100 * MS);
    assert_int_equal(d.verdict, LIM_ADMIT);
    assert_true(d.dry_run);
    assert_int_equal(d.reason, LIM_REASON_RATE);
    assert_int_equal(gstats(&f).inflight[0], 1); /* really in flight */
    rel(&f, &d);
    w = dec(&f, "a", LIM_VERB_WATCH, 2 * S);
    assert_false(w.dry_run);
    d = dec(&f, "a", LIM_VERB_WATCH, 3 * S);
    assert_true(d.dry_run);
    assert_int_equal(d.reason, LIM_REASON_WATCH_CAP);
    assert_int_equal(gstats(&f).watches_open, 2);
    rel(&f, &d);
    rel(&f, &w);
    assert_int_equal(cstats(&f, "users").would_reject[LIM_REASON_RATE], 1);
    assert_int_equal(cstats(&f, "users").would_reject[LIM_REASON_WATCH_CAP], 1);
    assert_int_equal(cstats(&f, "users").rejected[LIM_REASON_RATE], 0);
    assert_int_equal(cstats(&f, "users").admitted, 4);
    /* Under enforce the bucket is where enforce would have left it: the
     * would-reject at 1.1 s took nothing, so at 4 s it is full. */
    assert_int_equal(lim_set_class_mode(f.l, "users", LIM_MODE_ENFORCE), 0);
    d = dec(&f, "a", LIM_VERB_GET, 4 * S);
    assert_int_equal(d.verdict, LIM_ADMIT);
    rel(&f, &d);
    d = dec(&f, "a", LIM_VERB_GET, 4 * S);
    assert_int_equal(d.verdict, LIM_REJECT);
    teardown(&f);
}

static void
test_delay_within_max_wait(void **state)
{
    struct lim_global_params g = glob();
    struct lim_class_params c = cls("users");
    struct lim_decision d;
    struct fx f;

    (void)state;
    c.rate_mtps = 1000, c.burst = 1;
    c.max_wait_ns = 500 * MS;
    f = setup(&g, &c);
    d = dec(&f, "a", LIM_VERB_GET, 10 * S);
    assert_int_equal(d.verdict, LIM_ADMIT);
    rel(&f, &d);
    d = dec(&f, "a", LIM_VERB_GET, 10 * S); /* 1 s away: more than 500 ms */
    assert_int_equal(d.verdict, LIM_REJECT);
    assert_int_equal(d.reason, LIM_REASON_RATE);
    d = dec(&f, "a", LIM_VERB_GET, 10 * S + 600 * MS);
    assert_int_equal(d.verdict, LIM_DELAY);
    assert_int_equal(d.delay_ns, 400 * MS);
    assert_int_equal(d.ticket.state, 1);
    rel(&f, &d);
    /* The delayed one took its token: the next is 1.4 s away. */
    d = dec(&f, "a", LIM_VERB_GET, 10 * S + 600 * MS);
    assert_int_equal(d.verdict, LIM_REJECT);
    assert_int_equal(d.retry_after_s, 2);
    assert_int_equal(cstats(&f, "users").delayed, 1);
    teardown(&f);
}

static void
test_unverified_credentials_over_budget(void **state)
{
    static const uint8_t digest[32] = {1, 2, 3};
    struct lim_global_params g = glob();
    struct lim_class_params c = cls("users");
    struct lim_identity id;
    struct lim_request r;
    struct lim_decision d;
    struct fx f;

    (void)state;
    c.rate_mtps = 1000, c.burst = 1;
    f = setup(&g, &c);
    lim_identity_unverified(&id, digest);
    request(&r, LIM_VERB_GET);
    lim_decide(f.l, f.p, &id, &r, S, 0, &d);
    assert_int_equal(d.verdict, LIM_ADMIT);
    rel(&f, &d);
    lim_decide(f.l, f.p, &id, &r, S, 0, &d);
    assert_int_equal(d.verdict, LIM_REJECT);
    assert_int_equal(d.reason, LIM_REASON_UNVERIFIED);
    assert_int_equal(cstats(&f, "users").rejected[LIM_REASON_UNVERIFIED], 1);
    teardown(&f);
}

static void
test_block_and_allow_until_their_deadline(void **state)
{
    struct lim_global_params g = glob();
    struct lim_class_params c = cls("users");
    struct lim_decision d;
    struct fx f;
    char user[16];
    int i;

    (void)state;
    c.rate_mtps = 1000, c.burst = 1;
    f = setup(&g, &c);
    assert_int_equal(lim_block(f.l, "mallory", 20 * S), 0);
    d = dec(&f, "mallory", LIM_VERB_GET, 10 * S);
    assert_int_equal(d.verdict, LIM_REJECT);
    assert_int_equal(d.reason, LIM_REASON_BLOCKED);
    assert_int_equal(d.retry_after_s, 10);
    d = dec(&f, "root", LIM_VERB_GET, 10 * S); /* others are not */
    assert_int_equal(d.verdict, LIM_ADMIT);
    rel(&f, &d);
    d = dec(&f, "mallory", LIM_VERB_GET, 20 * S);
    assert_int_equal(d.verdict, LIM_ADMIT);
    rel(&f, &d);
    /* allow: exempt until the deadline, whatever the budget says */
    assert_int_equal(lim_allow(f.l, "ops", 30 * S), 0);
    for (i = 0; i < 5; i++) {
        d = dec(&f, "ops", LIM_VERB_GET, 25 * S);
        assert_int_equal(d.verdict, LIM_ADMIT);
        assert_true(d.exempt);
        rel(&f, &d);
    }
    d = dec(&f, "ops", LIM_VERB_GET, 30 * S);
    assert_false(d.exempt);
    rel(&f, &d);
    assert_int_equal(lim_block(f.l, "eve", 100 * S), 0);
    assert_int_equal(lim_unblock(f.l, "eve"), 0);
    assert_int_equal(lim_unblock(f.l, "eve"), -1);
    d = dec(&f, "eve", LIM_VERB_GET, 31 * S);
    assert_int_equal(d.verdict, LIM_ADMIT);
    rel(&f, &d);
    /* 1024 live overrides fill the table; expired ones make room. */
    for (i = 0; i < 1024; i++) {
        snprintf(user, sizeof(user), "b%d", i);
        assert_int_equal(lim_block(f.l, user, i < 10 ? 40 * S : 1000 * S), 0);
    }
    assert_int_equal(lim_block(f.l, "one-too-many", 1000 * S), -1);
    assert_int_equal(lim_block(f.l, "b7", 2000 * S), 0); /* an update fits */
    d = dec(&f, "b1", LIM_VERB_GET, 50 * S);             /* sees time pass */
    assert_int_equal(d.verdict, LIM_ADMIT);
    rel(&f, &d);
    assert_int_equal(lim_block(f.l, "one-too-many", 1000 * S), 0);
    assert_int_equal(cstats(&f, "users").rejected[LIM_REASON_BLOCKED], 1);
    teardown(&f);
}

static void
test_shed_rejects_list_and_watch_and_scales_budgets(void **state)
{
    struct lim_global_params g = glob();
    struct lim_class_params c = cls("users");
    struct lim_decision d, h[4];
    uint32_t pct;
    bool lw;
    struct fx f;
    int i;

    (void)state;
    c.rate_mtps = 10000, c.burst = 1;
    c.max_inflight_per_key = 4;
    f = setup(&g, &c);
    lim_set_shed(f.l, 100, true);
    lim_get_shed(f.l, &pct, &lw);
    assert_int_equal(pct, 100);
    assert_true(lw);
    d = dec(&f, "a", LIM_VERB_LIST, S);
    assert_int_equal(d.verdict, LIM_REJECT);
    assert_int_equal(d.reason, LIM_REASON_SHED);
    assert_int_equal(d.retry_after_s, 10);
    d = dec(&f, "a", LIM_VERB_WATCH, S);
    assert_int_equal(d.reason, LIM_REASON_SHED);
    d = dec(&f, "a", LIM_VERB_GET, S);
    assert_int_equal(d.verdict, LIM_ADMIT);
    rel(&f, &d);
    d = dec(&f, "root", LIM_VERB_LIST, S);
    assert_int_equal(d.verdict, LIM_ADMIT);
    rel(&f, &d);
    /* 50 %: 10/s becomes 5/s, 4 in flight per key becomes 2. */
    lim_set_shed(f.l, 50, false);
    d = dec(&f, "b", LIM_VERB_GET, 2 * S);
    rel(&f, &d);
    d = dec(&f, "b", LIM_VERB_GET, 2 * S + 150 * MS);
    assert_int_equal(d.verdict, LIM_REJECT);
    assert_int_equal(d.reason, LIM_REASON_RATE);
    d = dec(&f, "b", LIM_VERB_GET, 2 * S + 200 * MS);
    assert_int_equal(d.verdict, LIM_ADMIT);
    rel(&f, &d);
    lim_set_shed(f.l, 100, false);
    for (i = 0; i < 4; i++) {
        h[i] = dec(&f, "c", LIM_VERB_CREATE, 3 * S + (uint64_t)i * 100 * MS);
        assert_int_equal(h[i].verdict, LIM_ADMIT);
    }
    lim_set_shed(f.l, 50, false);
    rel(&f, &h[3]);
    rel(&f, &h[2]);
    d = dec(&f, "c", LIM_VERB_CREATE, 5 * S);
    assert_int_equal(d.verdict, LIM_REJECT);
    assert_int_equal(d.reason, LIM_REASON_CONCURRENCY);
    rel(&f, &h[1]);
    d = dec(&f, "c", LIM_VERB_CREATE, 5 * S);
    assert_int_equal(d.verdict, LIM_ADMIT);
    rel(&f, &d);
    rel(&f, &h[0]);
    teardown(&f);
}

static void
test_class_mode_override(void **state)
{
    struct lim_global_params g = glob();
    struct lim_class_params c = cls("users");
    struct lim_decision d;
    struct fx f;

    (void)state;
    c.rate_mtps = 1000, c.burst = 1;
    f = setup(&g, &c);
    assert_int_equal(lim_class_mode(f.l, f.p, 1), LIM_MODE_ENFORCE);
    assert_int_equal(lim_set_class_mode(f.l, "users", LIM_MODE_DRY_RUN), 0);
    assert_int_equal(lim_class_mode(f.l, f.p, 1), LIM_MODE_DRY_RUN);
    d = dec(&f, "a", LIM_VERB_GET, S);
    rel(&f, &d);
    d = dec(&f, "a", LIM_VERB_GET, S);
    assert_int_equal(d.verdict, LIM_ADMIT);
    assert_true(d.dry_run);
    rel(&f, &d);
    assert_int_equal(lim_set_class_mode(f.l, "users", LIM_MODE_EXEMPT), 0);
    d = dec(&f, "a", LIM_VERB_GET, S);
    assert_true(d.exempt);
    rel(&f, &d);
    assert_int_equal(lim_set_class_mode(f.l, "users", -1), 0);
    assert_int_equal(lim_class_mode(f.l, f.p, 1), LIM_MODE_ENFORCE);
    d = dec(&f, "a", LIM_VERB_GET, S);
    assert_int_equal(d.verdict, LIM_REJECT);
    assert_int_equal(lim_set_class_mode(f.l, "nope", LIM_MODE_DRY_RUN), -1);
    assert_int_equal(lim_set_class_mode(f.l, "users", 7), -1);
    teardown(&f);
}

/* A reload keeps each class's state under its name: buckets, in-flight
 * seats and open watches; tickets from before the reload release fine. */
static void
test_rebind_keeps_state_of_same_named_class(void **state)
{
    struct lim_global_params g = glob();
    struct lim_class_params c = cls("users"), c2 = cls("newcomers");
    struct lim_decision d, w;
    struct lim_identity id;
    struct lim_request r;
    struct lim_rule_params rule;
    struct lim_policy *p2;
    struct fx f;

    (void)state;
    c.rate_mtps = 1000, c.burst = 1;
    f = setup(&g, &c);
    w = dec(&f, "a", LIM_VERB_WATCH, S);
    assert_int_equal(w.verdict, LIM_ADMIT);
    /* Same class name in a new policy, behind a new class and rule. */
    p2 = lim_policy_new(&g, NULL, 0);
    assert_int_equal(lim_policy_add_class(p2, &c2, NULL, 0), 0);
    c.rate_mtps = 500;
    assert_int_equal(lim_policy_add_class(p2, &c, NULL, 0), 0);
    rule = t_rule("newcomers");
    rule.groups = masters, rule.ngroups = 1;
    assert_int_equal(lim_policy_add_rule(p2, &rule, NULL, 0), 0);
    rule = t_rule("users");
    assert_int_equal(lim_policy_add_rule(p2, &rule, NULL, 0), 0);
    assert_int_equal(lim_policy_finish(p2, NULL, 0), 0);
    assert_int_equal(lim_bind(f.l, p2, NULL, 0), 0);
    assert_int_equal(lim_class_slot_count(f.l), 3);
    ident(&id, "a");
    request(&r, LIM_VERB_GET);
    lim_decide(f.l, p2, &id, &r, S + 100 * MS, 0, &d);
    assert_int_equal(d.verdict, LIM_REJECT); /* the watch emptied the bucket */
    assert_int_equal(d.reason, LIM_REASON_RATE);
    /* tat 2 s from the old 1/s; at 0.5/s the window is 2 s and the next
     * token 0.9 s away. */
    assert_int_equal(d.retry_after_s, 1);
    assert_int_equal(cstats(&f, "users").watches_open, 1);
    lim_watch_started(f.l, &w.ticket);
    rel(&f, &w);
    assert_int_equal(cstats(&f, "users").watches_open, 0);
    assert_int_equal(gstats(&f).inflight[0], 0);
    lim_free(f.l);
    lim_policy_free(f.p);
    lim_policy_free(p2);
}

static void
test_retry_after_is_jittered_within_bounds(void **state)
{
    struct lim_global_params g;
    struct lim_class_params c;
    struct lim_identity id;
    struct lim_request r;
    struct lim_decision d;
    struct fx f;
    uint64_t rnd, x = 88172645463325252ull;
    uint32_t lo[3] = {99, 99, 99}, hi[3] = {0, 0, 0};
    int i, k;

    (void)state;
    lim_global_defaults(&g); /* jitter 50 %, max 30 s */
    lim_class_defaults(&c, "users", &g);
    c.rate_mtps = 100, c.burst = 1; /* a token per 10 s */
    c.max_inflight_per_key = 1;
    f = setup(&g, &c);
    d = dec(&f, "a", LIM_VERB_GET, S); /* holds the key's only seat */
    ident(&id, "a");
    request(&r, LIM_VERB_GET);
    for (i = 0; i < 2000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        rnd = x;
        lim_decide(f.l, f.p, &id, &r, S, rnd, &d);
        assert_int_equal(d.reason, LIM_REASON_CONCURRENCY); /* 1 s, +0..1 */
        k = 0;
        lo[k] = d.retry_after_s < lo[k] ? d.retry_after_s : lo[k];
        hi[k] = d.retry_after_s > hi[k] ? d.retry_after_s : hi[k];
    }
    assert_int_equal(lo[0], 1);
    assert_int_equal(hi[0], 2);
    ident(&id, "b");
    lim_decide(f.l, f.p, &id, &r, S, 0, &d);
    lim_release(f.l, &d.ticket, 200, 0, 0, 0);
    for (i = 0; i < 2000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        lim_decide(f.l, f.p, &id, &r, S, x, &d); /* 10 s away: 10..15 */
        assert_int_equal(d.reason, LIM_REASON_RATE);
        lo[1] = d.retry_after_s < lo[1] ? d.retry_after_s : lo[1];
        hi[1] = d.retry_after_s > hi[1] ? d.retry_after_s : hi[1];
    }
    assert_int_equal(lo[1], 10);
    assert_int_equal(hi[1], 15);
    /* 100 s away, clamped to 30: the window slides below the ceiling,
     * 15..30, so clamped clients are spread too. */
    teardown(&f);
    c.rate_mtps = 10, c.burst = 1; /* a token per 100 s */
    f = setup(&g, &c);
    lim_decide(f.l, f.p, &id, &r, S, 0, &d);
    lim_release(f.l, &d.ticket, 200, 0, 0, 0);
    for (i = 0; i < 2000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        lim_decide(f.l, f.p, &id, &r, S, x, &d);
        assert_true(d.retry_after_s >= 1 && d.retry_after_s <= 30);
        lo[2] = d.retry_after_s < lo[2] ? d.retry_after_s : lo[2];
        hi[2] = d.retry_after_s > hi[2] ? d.retry_after_s : hi[2];
    }
    assert_int_equal(lo[2], 15);
    assert_int_equal(hi[2], 30);
    teardown(&f);
}

/* With the table full of live clients, newcomers share their class's
 * overflow entry: one bucket for all of them, never a fresh one each. */
static void
test_full_table_charges_the_class_overflow_entry(void **state)
{
    struct lim_global_params g = glob();
    struct lim_class_params c = cls("users");
    struct lim_policy *p;
    struct lim *l = lim_new(2, 9, NULL, 0);
    struct lim_identity id;
    struct lim_request r;
    struct lim_decision d;
    struct lim_client_info top[8];
    struct lim_stats st;
    size_t n, i;

    (void)state;
    c.rate_mtps = 1000, c.burst = 1;
    p = policy(&g, &c);
    assert_int_equal(lim_bind(l, p, NULL, 0), 0);
    request(&r, LIM_VERB_GET);
    ident(&id, "a");
    lim_decide(l, p, &id, &r, S, 0, &d);
    lim_release(l, &d.ticket, 200, 0, 0, 0);
    ident(&id, "b");
    lim_decide(l, p, &id, &r, S, 0, &d);
    lim_release(l, &d.ticket, 200, 0, 0, 0);
    ident(&id, "c"); /* a and b have empty buckets: no room */
    lim_decide(l, p, &id, &r, S, 0, &d);
    assert_int_equal(d.verdict, LIM_ADMIT);
    lim_release(l, &d.ticket, 200, 0, 0, 0);
    ident(&id, "d"); /* shares c's overflow bucket, now empty */
    lim_decide(l, p, &id, &r, S, 0, &d);
    assert_int_equal(d.verdict, LIM_REJECT);
    assert_int_equal(d.reason, LIM_REASON_RATE);
    lim_stats(l, &st);
    assert_int_equal(st.clients, 2);
    assert_int_equal(st.overflow, 2);
    assert_int_equal(st.max_clients, 2);
    n = lim_top_clients(l, LIM_TOP_RATE, S, top, 8);
    assert_int_equal(n, 3);
    for (i = 0; i < n && strcmp(top[i].key, "(overflow)") != 0; i++) {
    }
    assert_true(i < n);
    assert_int_equal(top[i].requests, 2);
    assert_int_equal(top[i].rejects, 1);
    /* Once a's bucket has refilled, a newcomer gets a's place. */
    ident(&id, "e");
    lim_decide(l, p, &id, &r, 3 * S, 0, &d);
    lim_release(l, &d.ticket, 200, 0, 0, 0);
    lim_stats(l, &st);
    assert_int_equal(st.evictions, 1);
    assert_int_equal(st.overflow, 2);
    lim_free(l);
    lim_policy_free(p);
}

static void
test_top_clients_by_rate_rejects_and_watches(void **state)
{
    struct lim_global_params g = glob();
    struct lim_class_params c = cls("users");
    struct lim_client_info top[2];
    struct lim_decision d, w[4];
    struct fx f;
    int i;

    (void)state;
    c.rate_mtps = 1000, c.burst = 5;
    f = setup(&g, &c);
    for (i = 0; i < 9; i++) {
        d = dec(&f, "heavy", LIM_VERB_GET, S);
        rel(&f, &d);
    }
    for (i = 0; i < 3; i++) {
        d = dec(&f, "light", LIM_VERB_GET, S);
        rel(&f, &d);
    }
    for (i = 0; i < 4; i++) {
        w[i] = dec(&f, "watcher", LIM_VERB_WATCH, S);
    }
    assert_int_equal(lim_top_clients(f.l, LIM_TOP_RATE, 2 * S, top, 2), 2);
    assert_string_equal(top[0].key, "heavy");
    assert_int_equal(top[0].requests, 9);
    assert_int_equal(top[0].rejects, 4);
    assert_int_equal(top[0].rate_mtps, 9000); /* 9 over its 1 s of life */
    assert_int_equal(top[0].tokens_mt, 1000); /* one token back by 2 s */
    assert_string_equal(top[0].class_name, "users");
    assert_int_equal(lim_top_clients(f.l, LIM_TOP_REJECTS, S, top, 1), 1);
    assert_string_equal(top[0].key, "heavy");
    assert_int_equal(lim_top_clients(f.l, LIM_TOP_WATCHES, S, top, 2), 2);
    assert_string_equal(top[0].key, "watcher");
    /* Each watch with RV unset pays its initial events as a LIST from the
     * watch cache, 1.64 tokens: the fourth was over the watcher's burst of 5. */
    assert_int_equal(w[2].verdict, LIM_ADMIT);
    assert_int_equal(w[3].verdict, LIM_REJECT);
    assert_int_equal(top[0].watches_open, 3);
    assert_int_equal(top[0].inflight, 3);
    for (i = 0; i < 4; i++) {
        rel(&f, &w[i]);
    }
    teardown(&f);
}

/* explain runs the same decision and changes nothing. */
static void
test_explain_decides_the_same_and_commits_nothing(void **state)
{
    struct lim_global_params g = glob();
    struct lim_class_params c = cls("users");
    struct lim_identity id;
    struct lim_request r;
    struct lim_decision d, e;
    struct lim_trace tr;
    struct lim_stats before, after;
    struct fx f;
    int i;

    (void)state;
    c.rate_mtps = 1000, c.burst = 3;
    c.class_rate_mtps = 100000, c.class_burst = 100;
    c.concurrency_share_pct = 10;
    f = setup(&g, &c);
    ident(&id, "a");
    request(&r, LIM_VERB_LIST);
    lim_stats(f.l, &before);
    for (i = 0; i < 5; i++) {
        lim_explain(f.l, f.p, &id, &r, S, &e, &tr);
        assert_int_equal(e.verdict, LIM_ADMIT);
        assert_int_equal(e.ticket.state, 0);
    }
    lim_stats(f.l, &after);
    assert_memory_equal(&before, &after, sizeof(before));
    assert_int_equal(cstats(&f, "users").admitted, 0);
    assert_int_equal(tr.rule, 1);
    assert_int_equal(tr.nmisses, 1);
    assert_int_equal(tr.miss_rule[0], 0);
    assert_non_null(strstr(tr.misses[0], "user a not in"));
    assert_string_equal(tr.key, "a");
    assert_int_equal(tr.key_len, 1);
    assert_int_equal(tr.key_tokens_mt, 3000);
    assert_int_equal(tr.class_tokens_mt, 100000);
    assert_int_equal(tr.class_seat_cap, 40);
    assert_int_equal(tr.global_seat_cap, 390);
    assert_int_equal(tr.pool, LIM_KIND_READONLY);
    assert_int_equal(tr.learned_bytes, 65536);
    assert_non_null(strstr(tr.cost_why, "list pods from etcd"));
    for (i = 0; i < 4; i++) {
        lim_explain(f.l, f.p, &id, &r, S, &e, &tr);
        lim_decide(f.l, f.p, &id, &r, S, 0, &d);
        assert_int_equal(e.verdict, d.verdict);
        assert_int_equal(e.reason, d.reason);
        assert_int_equal(e.cost_mt, d.cost_mt);
        if (d.verdict == LIM_REJECT) {
            assert_int_equal(e.retry_after_s, d.retry_after_s);
        } else {
            lim_release(f.l, &d.ticket, 200, 0, 0, 0);
        }
    }
    assert_int_equal(d.verdict, LIM_REJECT); /* 2.28 tokens each, burst 3 */
    assert_int_equal(tr.key_inflight, 0);
    /* A fresh limiter (l NULL) sees full buckets and nothing in flight. */
    lim_explain(NULL, f.p, &id, &r, S, &e, &tr);
    assert_int_equal(e.verdict, LIM_ADMIT);
    assert_int_equal(tr.key_tokens_mt, 3000);
    assert_int_equal(tr.global_inflight, 0);
    teardown(&f);
}

static void
test_explain_offline_policy_not_bound(void **state)
{
    struct lim_global_params g = glob();
    struct lim_class_params c = cls("users");
    struct lim_policy *p;
    struct lim_identity id;
    struct lim_request r;
    struct lim_decision e;
    struct lim_trace tr;

    (void)state;
    c.rate_mtps = 1000, c.burst = 1;
    p = policy(&g, &c);
    ident(&id, "root");
    request(&r, LIM_VERB_WATCH);
    lim_explain(NULL, p, &id, &r, S, &e, &tr);
    assert_int_equal(e.verdict, LIM_ADMIT);
    assert_true(e.exempt);
    assert_string_equal(e.class_name, "exempt");
    assert_string_equal(tr.key, "root");
    assert_int_equal(tr.nmisses, 0);
    ident(&id, "system:node:n1");
    lim_explain(NULL, p, &id, &r, S, &e, &tr);
    assert_false(e.exempt);
    assert_int_equal(tr.key_tokens_mt, 1000);
    assert_int_equal(tr.class_tokens_mt, -1);
    assert_int_equal(tr.pool, LIM_KIND_READONLY); /* a watch reads */
    request(&r, LIM_VERB_CREATE);
    lim_explain(NULL, p, &id, &r, S, &e, &tr);
    assert_int_equal(tr.pool, LIM_KIND_MUTATING);
    /* A key longer than the display buffer is cut, its length kept. */
    ident(&id, "system:serviceaccount:monitoring:node-exporter-agent-0123456789");
    lim_explain(NULL, p, &id, &r, S, &e, &tr);
    assert_int_equal(strlen(tr.key), LIM_KEY_DISPLAY - 1);
    assert_int_equal(tr.key_len, strlen(id.user));
    assert_memory_equal(tr.key, id.user, LIM_KEY_DISPLAY - 1);
    lim_policy_free(p);
}

static void
test_long_running_exec_holds_no_seat(void **state)
{
    struct lim_global_params g = glob();
    struct lim_class_params c = cls("users");
    struct lim_identity id;
    struct lim_request r;
    struct lim_decision d;
    struct fx f;

    (void)state;
    c.max_inflight_per_key = 1;
    f = setup(&g, &c);
    ident(&id, "a");
    t_req(&r, LIM_VERB_CREATE, "", "pods", "default");
    r.name = "p1", r.subresource = "exec", r.is_long_running = true;
    lim_decide(f.l, f.p, &id, &r, S, 0, &d);
    assert_int_equal(d.verdict, LIM_ADMIT);
    assert_int_equal(d.seats, 0);
    assert_null(d.ticket.entry);
    assert_int_equal(gstats(&f).inflight[1], 0);
    lim_decide(f.l, f.p, &id, &r, S, 0, &d);
    assert_int_equal(d.verdict, LIM_ADMIT);
    teardown(&f);
}

/* dist node keys by the node name, and by the user name when there is no
 * node: a user spelled like a node is still another client. */
static void
test_node_and_user_of_the_same_spelling_are_two_keys(void **state)
{
    struct lim_global_params g = glob();
    struct lim_class_params c = cls("nodes");
    struct lim_decision d;
    struct fx f;

    (void)state;
    c.dist = LIM_DIST_NODE;
    c.rate_mtps = 1000, c.burst = 1;
    f = setup(&g, &c);
    d = dec(&f, "system:node:n1", LIM_VERB_GET, S);
    assert_int_equal(d.verdict, LIM_ADMIT);
    rel(&f, &d);
    d = dec(&f, "system:node:n1", LIM_VERB_GET, S);
    assert_int_equal(d.verdict, LIM_REJECT);
    d = dec(&f, "n1", LIM_VERB_GET, S); /* a user named like the node */
    assert_int_equal(d.verdict, LIM_ADMIT);
    rel(&f, &d);
    assert_int_equal(gstats(&f).clients, 2);
    teardown(&f);
}

/* A class keyed by user or node hashes the name once per identity, with
 * the limiter's key: the same identity decided by a limiter seeded
 * otherwise is hashed again there (it shares its bucket with a fresh
 * identity of the same user), and an identity set anew forgets it. */
static void
test_identity_keeps_its_key_hash_per_limiter(void **state)
{
    struct lim_global_params g = glob();
    struct lim_class_params c = cls("users");
    struct lim_identity reused, fresh;
    struct lim_request r;
    struct lim_decision d;
    struct lim_policy *p2;
    struct lim *l2;
    struct fx f;
    uint8_t digest[32] = {0};

    (void)state;
    c.rate_mtps = 1000, c.burst = 1;
    f = setup(&g, &c);
    l2 = lim_new(1024, 7, NULL, 0);
    assert_non_null(l2);
    p2 = policy(&g, &c);
    assert_int_equal(lim_bind(l2, p2, NULL, 0), 0);
    request(&r, LIM_VERB_GET);
    ident(&reused, "alice");
    lim_decide(f.l, f.p, &reused, &r, S, 0, &d);
    assert_int_equal(d.verdict, LIM_ADMIT);
    rel(&f, &d);
    lim_decide(l2, p2, &reused, &r, S, 0, &d);
    assert_int_equal(d.verdict, LIM_ADMIT);
    lim_release(l2, &d.ticket, 200, 0, 0, 0);
    ident(&fresh, "alice");
    lim_decide(l2, p2, &fresh, &r, S, 0, &d);
    assert_int_equal(d.verdict, LIM_REJECT);
    assert_int_equal(d.reason, LIM_REASON_RATE);
    lim_decide(f.l, f.p, &reused, &r, S, 0, &d);
    assert_int_equal(d.verdict, LIM_REJECT);
    ident(&reused, "bob");
    lim_decide(f.l, f.p, &reused, &r, S, 0, &d);
    assert_int_equal(d.verdict, LIM_ADMIT);
    rel(&f, &d);
    assert_int_equal(gstats(&f).clients, 2);
    /* The lengths the cache hashes come with the identity. */
    assert_int_equal(reused.user_len, 3);
    assert_int_equal(reused.node_len, 0);
    ident(&reused, "system:node:n1");
    assert_int_equal(reused.user_len, 14);
    assert_int_equal(reused.node_len, 2);
    lim_identity_anonymous(&reused);
    assert_int_equal(reused.user_len, strlen("system:anonymous"));
    lim_identity_unverified(&reused, digest);
    assert_int_equal(reused.user_len, strlen(reused.user));
    lim_policy_free(p2);
    lim_free(l2);
    teardown(&f);
}

static void
test_names(void **state)
{
    (void)state;
    assert_string_equal(lim_reason_name(LIM_REASON_WATCH_RATE), "watch_rate");
    assert_string_equal(lim_reason_name(LIM_REASON_CLASS_RATE), "class_rate");
    assert_string_equal(lim_reason_name(LIM_REASON_BLOCKED), "blocked");
    assert_string_equal(lim_reason_name(LIM_REASON_COUNT), "unknown");
    assert_string_equal(lim_verdict_name(LIM_DELAY), "delay");
    assert_string_equal(lim_verdict_name(LIM_REJECT), "reject");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_rate_rejects_over_burst_per_user),
        cmocka_unit_test(test_class_rate_caps_the_whole_class),
        cmocka_unit_test(test_per_key_concurrency_then_release_frees_it),
        cmocka_unit_test(test_class_share_of_the_pool),
        cmocka_unit_test(test_reserved_seats_and_exempt_never_rejected),
        cmocka_unit_test(test_watch_caps_per_key_class_and_global),
        cmocka_unit_test(test_watch_establishment_rate_per_key_and_global),
        cmocka_unit_test(test_watch_started_gives_back_seats_keeps_the_watch),
        cmocka_unit_test(test_release_is_idempotent_and_zero_ticket_is_a_no_op),
        cmocka_unit_test(test_rejected_request_consumes_nothing),
        cmocka_unit_test(test_dry_run_admits_counts_and_leaves_tokens),
        cmocka_unit_test(test_delay_within_max_wait),
        cmocka_unit_test(test_unverified_credentials_over_budget),
        cmocka_unit_test(test_block_and_allow_until_their_deadline),
        cmocka_unit_test(test_shed_rejects_list_and_watch_and_scales_budgets),
        cmocka_unit_test(test_class_mode_override),
        cmocka_unit_test(test_rebind_keeps_state_of_same_named_class),
        cmocka_unit_test(test_retry_after_is_jittered_within_bounds),
        cmocka_unit_test(test_full_table_charges_the_class_overflow_entry),
        cmocka_unit_test(test_top_clients_by_rate_rejects_and_watches),
        cmocka_unit_test(test_explain_decides_the_same_and_commits_nothing),
        cmocka_unit_test(test_explain_offline_policy_not_bound),
        cmocka_unit_test(test_long_running_exec_holds_no_seat),
        cmocka_unit_test(test_node_and_user_of_the_same_spelling_are_two_keys),
        cmocka_unit_test(test_identity_keeps_its_key_hash_per_limiter),
        cmocka_unit_test(test_names),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
