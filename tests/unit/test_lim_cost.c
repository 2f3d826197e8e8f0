/* The cost model: base costs and pools by verb, LIST tokens and seats from
 * learned sizes (watch cache vs etcd, filtered vs not), caps, the watch
 * resourceVersion cases, and the learned-size table (EWMA, "other" slot,
 * teaching through lim_release). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "lim.h"
#include "lim_cost.h"
#include "lim_test_util.h"

static struct lim_cost_params
defaults(void)
{
    struct lim_global_params g;

    lim_global_defaults(&g);
    return g.cost;
}

static void
test_defaults_are_documented_values(void **state)
{
    struct lim_cost_params cp = defaults();

    (void)state;
    assert_int_equal(cp.base_mt, 1000);
    assert_int_equal(cp.bytes_per_token, 102400);
    assert_int_equal(cp.etcd_extra_pct, 100);
    assert_int_equal(cp.max_tokens, 100);
    assert_int_equal(cp.seat_bytes, 102400);
    assert_int_equal(cp.max_seats, 10);
    assert_int_equal(cp.default_list_bytes, 65536);
}

struct verb_case {
    enum lim_verb verb;
    bool resource;
    uint8_t pool, kind;
    uint32_t seats;
};

static void
test_base_cost_and_pool_by_verb(void **state)
{
    static const struct verb_case cases[] = {
        {LIM_VERB_GET, true, LIM_KIND_READONLY, LIM_KIND_READONLY, 1},
        {LIM_VERB_CREATE, true, LIM_KIND_MUTATING, LIM_KIND_MUTATING, 1},
        {LIM_VERB_UPDATE, true, LIM_KIND_MUTATING, LIM_KIND_MUTATING, 1},
        {LIM_VERB_PATCH, true, LIM_KIND_MUTATING, LIM_KIND_MUTATING, 1},
        {LIM_VERB_DELETE, true, LIM_KIND_MUTATING, LIM_KIND_MUTATING, 1},
        {LIM_VERB_GET, false, LIM_KIND_READONLY, LIM_KIND_READONLY, 1},
        {LIM_VERB_HEAD, false, LIM_KIND_READONLY, LIM_KIND_READONLY, 1},
        {LIM_VERB_POST, false, LIM_KIND_MUTATING, LIM_KIND_MUTATING, 1},
        {LIM_VERB_OPTIONS, false, LIM_KIND_MUTATING, LIM_KIND_MUTATING, 1},
    };
    struct lim_cost_params cp = defaults();
    struct lim_request r;
    struct lim_cost c;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (cases[i].resource) {
            t_req(&r, cases[i].verb, "", "pods", "default");
            r.name = "p1";
        } else {
            t_nonres(&r, cases[i].verb, "/healthz");
        }
        lim_cost_compute(&cp, NULL, false, &r, &c, NULL, 0);
        assert_int_equal(c.tokens_mt, 1000);
        assert_int_equal(c.seats, cases[i].seats);
        assert_int_equal(c.pool, cases[i].pool);
        assert_int_equal(c.kind, cases[i].kind);
        assert_int_equal(c.resource_slot, LIM_LEARNED_NONE);
    }
}

static void
test_long_running_non_watch_holds_no_seat(void **state)
{
    struct lim_cost_params cp = defaults();
    struct lim_request r;
    struct lim_cost c;

    (void)state;
    t_req(&r, LIM_VERB_CREATE, "", "pods", "default");
    r.name = "p1";
    r.subresource = "exec";
    r.is_long_running = true;
    lim_cost_compute(&cp, NULL, false, &r, &c, NULL, 0);
    assert_int_equal(c.seats, 0);
    assert_int_equal(c.tokens_mt, 1000);
}

static void
test_list_before_learning_uses_default_size(void **state)
{
    struct lim_cost_params cp = defaults();
    struct lim_learned *t = lim_learned_new(1);
    struct lim_request r;
    struct lim_cost c;
    char why[160];

    (void)state;
    t_req(&r, LIM_VERB_LIST, "", "pods", "");
    r.rv = LIM_RV_ZERO; /* the watch cache */
    lim_cost_compute(&cp, t, true, &r, &c, why, sizeof(why));
    /* 1000 + 65536 * 1000 / 102400 */
    assert_int_equal(c.tokens_mt, 1640);
    assert_int_equal(c.seats, 1);
    assert_int_equal(c.learned_bytes, 65536);
    assert_true(c.list_like);
    assert_true(c.resource_slot < LIM_LEARNED_OTHER);
    assert_non_null(strstr(why, "list pods from the watch cache: 65.5 kB default"));
    r.rv = LIM_RV_UNSET; /* consistent read: etcd's share on top */
    lim_cost_compute(&cp, t, true, &r, &c, why, sizeof(why));
    assert_int_equal(c.tokens_mt, 2280);
    assert_non_null(strstr(why, "from etcd"));
    lim_learned_free(t);
}

static void
test_list_cost_grows_with_learned_size_and_is_capped(void **state)
{
    struct lim_cost_params cp = defaults();
    struct lim_learned *t = lim_learned_new(1);
    struct lim_request r;
    struct lim_cost c;

    (void)state;
    /* 2,000 pods: 12.8 MB, as measured on kube-apiserver 1.28. */
    assert_int_equal(lim_learned_put(t, "", "pods", false, 12800000), 0);
    t_req(&r, LIM_VERB_LIST, "", "pods", "");
    r.rv = LIM_RV_ZERO;
    lim_cost_compute(&cp, t, false, &r, &c, NULL, 0);
    assert_int_equal(c.tokens_mt, 100000); /* 126 tokens, capped at 100 */
    assert_int_equal(c.seats, 10);         /* 126 seats, capped at 10 */
    cp.max_tokens = 1000;
    cp.max_seats = 1000;
    lim_cost_compute(&cp, t, false, &r, &c, NULL, 0);
    assert_int_equal(c.tokens_mt, 126000);
    assert_int_equal(c.seats, 126);
    r.rv = LIM_RV_UNSET;
    lim_cost_compute(&cp, t, false, &r, &c, NULL, 0);
    assert_int_equal(c.tokens_mt, 251000);
    cp.etcd_extra_pct = 50;
    lim_cost_compute(&cp, t, false, &r, &c, NULL, 0);
    assert_int_equal(c.tokens_mt, 188500);
    lim_learned_free(t);
}

/* A filtered consistent LIST pays for its (small) response and for the
 * whole range etcd reads. */
static void
test_filtered_list_from_etcd_pays_the_unfiltered_read(void **state)
{
    struct lim_cost_params cp = defaults();
    struct lim_learned *t = lim_learned_new(1);
    struct lim_request r;
    struct lim_cost c;

    (void)state;
    cp.max_tokens = 1000;
    assert_int_equal(lim_learned_put(t, "", "pods", false, 12800000), 0);
    assert_int_equal(lim_learned_put(t, "", "pods", true, 102400), 0);
    t_req(&r, LIM_VERB_LIST, "", "pods", "");
    r.field_selector = "spec.nodeName=n1";
    r.rv = LIM_RV_ZERO;
    lim_cost_compute(&cp, t, false, &r, &c, NULL, 0);
    assert_int_equal(c.tokens_mt, 2000);
    assert_int_equal(c.seats, 2);
    r.rv = LIM_RV_UNSET;
    lim_cost_compute(&cp, t, false, &r, &c, NULL, 0);
    assert_int_equal(c.tokens_mt, 127000);
    assert_int_equal(c.seats, 2);
    /* A continue or an Exact match is a consistent read as well. */
    r.rv = LIM_RV_VALUE;
    r.has_continue = true;
    lim_cost_compute(&cp, t, false, &r, &c, NULL, 0);
    assert_int_equal(c.tokens_mt, 127000);
    r.has_continue = false;
    r.rv_match = LIM_RVM_EXACT;
    lim_cost_compute(&cp, t, false, &r, &c, NULL, 0);
    assert_int_equal(c.tokens_mt, 127000);
    r.rv_match = LIM_RVM_NOT_OLDER_THAN;
    lim_cost_compute(&cp, t, false, &r, &c, NULL, 0);
    assert_int_equal(c.tokens_mt, 2000);
    lim_learned_free(t);
}

static void
test_single_named_object_costs_base(void **state)
{
    struct lim_cost_params cp = defaults();
    struct lim_learned *t = lim_learned_new(1);
    struct lim_request r;
    struct lim_cost c;

    (void)state;
    assert_int_equal(lim_learned_put(t, "", "configmaps", false, 5000000), 0);
    t_req(&r, LIM_VERB_LIST, "", "configmaps", "kube-system");
    r.name = "kubeadm-config"; /* fieldSelector=metadata.name=... */
    lim_cost_compute(&cp, t, false, &r, &c, NULL, 0);
    assert_int_equal(c.tokens_mt, 1000);
    assert_int_equal(c.seats, 1);
    r.verb = LIM_VERB_WATCH;
    lim_cost_compute(&cp, t, false, &r, &c, NULL, 0);
    assert_int_equal(c.tokens_mt, 1000);
    assert_int_equal(c.kind, LIM_KIND_WATCH);
    lim_learned_free(t);
}

struct watch_case {
    enum lim_rv rv;
    bool initial_events;
    uint64_t tokens_mt;
    uint32_t seats;
};

static void
test_watch_pays_a_list_only_with_initial_events(void **state)
{
    static const struct watch_case cases[] = {
        {LIM_RV_VALUE, false, 1000, 1},   /* resumes: no initial events */
        {LIM_RV_ZERO, false, 51000, 10},  /* initial events from the cache */
        {LIM_RV_UNSET, false, 51000, 10}, /* the cache serves it too, no etcd share */
        {LIM_RV_VALUE, true, 51000, 10},  /* sendInitialEvents */
    };
    struct lim_cost_params cp = defaults();
    struct lim_learned *t = lim_learned_new(1);
    struct lim_request r;
    struct lim_cost c;
    size_t i;

    (void)state;
    cp.max_tokens = 1000;
    assert_int_equal(lim_learned_put(t, "", "pods", false, 5120000), 0); /* 50 tokens */
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        t_req(&r, LIM_VERB_WATCH, "", "pods", "");
        r.rv = cases[i].rv;
        r.send_initial_events = cases[i].initial_events;
        lim_cost_compute(&cp, t, false, &r, &c, NULL, 0);
        if (c.tokens_mt != cases[i].tokens_mt || c.seats != cases[i].seats) {
            fail_msg("case %zu: %llu mt %u seats, expected %llu mt %u seats", i,
                     (unsigned long long)c.tokens_mt, c.seats,
                     (unsigned long long)cases[i].tokens_mt, cases[i].seats);
        }
        assert_int_equal(c.kind, LIM_KIND_WATCH);
        assert_int_equal(c.pool, LIM_KIND_READONLY);
        /* A watch's response is a stream, not a list size: never learned. */
        assert_int_equal(c.resource_slot, LIM_LEARNED_NONE);
    }
    lim_learned_free(t);
}

static void
test_malformed_list_options_cost_the_maximum(void **state)
{
    struct lim_cost_params cp = defaults();
    struct lim_request r;
    struct lim_cost c;

    (void)state;
    t_req(&r, LIM_VERB_LIST, "", "pods", "");
    r.bad_list_options = true;
    lim_cost_compute(&cp, NULL, false, &r, &c, NULL, 0);
    assert_int_equal(c.tokens_mt, 100000);
    assert_int_equal(c.seats, 10);
    assert_int_equal(c.resource_slot, LIM_LEARNED_NONE);
}

static void
test_deletecollection_pays_a_consistent_list_with_one_seat(void **state)
{
    struct lim_cost_params cp = defaults();
    struct lim_learned *t = lim_learned_new(1);
    struct lim_request r;
    struct lim_cost c;

    (void)state;
    assert_int_equal(lim_learned_put(t, "", "events", false, 1024000), 0);
    t_req(&r, LIM_VERB_DELETECOLLECTION, "", "events", "default");
    lim_cost_compute(&cp, t, false, &r, &c, NULL, 0);
    assert_int_equal(c.tokens_mt, 21000);
    assert_int_equal(c.seats, 1);
    assert_int_equal(c.pool, LIM_KIND_MUTATING);
    assert_int_equal(c.resource_slot, LIM_LEARNED_NONE);
    lim_learned_free(t);
}

static void
test_learned_average_is_an_ewma_of_one_eighth(void **state)
{
    struct lim_learned *t = lim_learned_new(1);
    uint16_t s;

    (void)state;
    s = lim_learned_slot(t, "apps", "deployments", false, true);
    assert_true(s < LIM_LEARNED_OTHER);
    assert_int_equal(lim_learned_bytes(t, s), 0);
    lim_learned_observe(t, s, 80000);
    assert_int_equal(lim_learned_bytes(t, s), 80000);
    lim_learned_observe(t, s, 160000);
    assert_int_equal(lim_learned_bytes(t, s), 90000);
    lim_learned_observe(t, s, UINT64_MAX); /* clamped to 1 TiB */
    assert_int_equal(lim_learned_bytes(t, s), 90000 - 11250 + (LIM_LEARNED_MAX_BYTES / 8));
    assert_int_equal(lim_learned_slot(t, "apps", "deployments", false, false), s);
    assert_int_equal(lim_learned_slot(t, "apps", "deployments", true, false), LIM_LEARNED_NONE);
    assert_int_equal(lim_learned_slot(t, "", "deployments", false, false), LIM_LEARNED_NONE);
    lim_learned_free(t);
}

static void
test_full_table_shares_the_other_slot(void **state)
{
    struct lim_learned *t = lim_learned_new(9);
    char name[32], longname[80];
    int i, other = 0;

    (void)state;
    for (i = 0; i < 1200; i++) {
        snprintf(name, sizeof(name), "crd%d", i);
        if (lim_learned_slot(t, "example.com", name, false, true) == LIM_LEARNED_OTHER) {
            other++;
        }
    }
    assert_true(other >= 1200 - (int)LIM_LEARNED_OTHER);
    assert_int_equal(lim_learned_put(t, "example.com", "one-more", false, 5), -1);
    memset(longname, 'x', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    assert_int_equal(lim_learned_slot(t, "", longname, false, true), LIM_LEARNED_OTHER);
    /* The other slot learns and is read like any other. */
    lim_learned_observe(t, LIM_LEARNED_OTHER, 4242);
    assert_int_equal(lim_learned_bytes(t, LIM_LEARNED_OTHER), 4242);
    lim_learned_free(t);
}

struct seen {
    int n;
    uint64_t pods, pods_filtered;
};

static void
collect(void *arg, const char *group, const char *resource, bool filtered, uint64_t avg)
{
    struct seen *s = arg;

    s->n++;
    if (strcmp(group, "") == 0 && strcmp(resource, "pods") == 0) {
        *(filtered ? &s->pods_filtered : &s->pods) = avg;
    }
}

static struct lim_policy *
simple_policy(void)
{
    struct lim_global_params g;
    struct lim_class_params c;
    struct lim_rule_params r;
    struct lim_policy *p;

    lim_global_defaults(&g);
    p = lim_policy_new(&g, NULL, 0);
    lim_class_defaults(&c, "all", &g);
    assert_int_equal(lim_policy_add_class(p, &c, NULL, 0), 0);
    r = t_rule("all");
    assert_int_equal(lim_policy_add_rule(p, &r, NULL, 0), 0);
    assert_int_equal(lim_policy_finish(p, NULL, 0), 0);
    return p;
}

/* A 2xx LIST teaches its resource's size; errors, watches and GETs do not. */
static void
test_release_teaches_list_sizes(void **state)
{
    struct lim_policy *p = simple_policy();
    struct lim *l = lim_new(64, 5, NULL, 0);
    struct lim_identity id;
    struct lim_request r;
    struct lim_decision d;
    struct seen s = {0, 0, 0};

    (void)state;
    assert_int_equal(lim_bind(l, p, NULL, 0), 0);
    assert_int_equal(t_id(&id, LIM_CRED_CERT, "u", NULL, NULL), 0);
    t_req(&r, LIM_VERB_LIST, "", "pods", "");
    lim_decide(l, p, &id, &r, T_NS_PER_S, 0, &d);
    assert_int_equal(d.verdict, LIM_ADMIT);
    lim_release(l, &d.ticket, 200, 12800000, 0, 0);
    lim_decide(l, p, &id, &r, T_NS_PER_S, 0, &d);
    lim_release(l, &d.ticket, 500, 1, 0, 0);
    r.label_selector = "app=x";
    lim_decide(l, p, &id, &r, T_NS_PER_S, 0, &d);
    lim_release(l, &d.ticket, 200, 3000, 0, 0);
    t_req(&r, LIM_VERB_WATCH, "", "pods", "");
    lim_decide(l, p, &id, &r, T_NS_PER_S, 0, &d);
    lim_release(l, &d.ticket, 200, 999999999, 0, 0);
    lim_learned_each(l, collect, &s);
    assert_int_equal(s.pods, 12800000);
    assert_int_equal(s.pods_filtered, 3000);
    assert_int_equal(s.n, 2);
    /* The next LIST of pods is charged for what was learned. */
    t_req(&r, LIM_VERB_LIST, "", "pods", "");
    r.rv = LIM_RV_ZERO;
    lim_decide(l, p, &id, &r, T_NS_PER_S, 0, &d);
    assert_int_equal(d.cost_mt, 100000);
    assert_int_equal(d.seats, 10);
    lim_release(l, &d.ticket, 200, 12800000, 0, 0);
    assert_int_equal(lim_learned_set(l, "apps", "deployments", false, 777), 0);
    s = (struct seen){0, 0, 0};
    lim_learned_each(l, collect, &s);
    assert_int_equal(s.n, 3);
    lim_free(l);
    lim_policy_free(p);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_are_documented_values),
        cmocka_unit_test(test_base_cost_and_pool_by_verb),
        cmocka_unit_test(test_long_running_non_watch_holds_no_seat),
        cmocka_unit_test(test_list_before_learning_uses_default_size),
        cmocka_unit_test(test_list_cost_grows_with_learned_size_and_is_capped),
        cmocka_unit_test(test_filtered_list_from_etcd_pays_the_unfiltered_read),
        cmocka_unit_test(test_single_named_object_costs_base),
        cmocka_unit_test(test_watch_pays_a_list_only_with_initial_events),
        cmocka_unit_test(test_malformed_list_options_cost_the_maximum),
        cmocka_unit_test(test_deletecollection_pays_a_consistent_list_with_one_seat),
        cmocka_unit_test(test_learned_average_is_an_ewma_of_one_eighth),
        cmocka_unit_test(test_full_table_shares_the_other_slot),
        cmocka_unit_test(test_release_teaches_list_sizes),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
