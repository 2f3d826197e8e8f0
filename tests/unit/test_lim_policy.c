/* Policy building and matching: the APF-like matching table (users, groups,
 * service-account wildcards, verbs, resources with subresources and
 * "*\/status", api groups, namespaces and cluster scope, non-resource exact,
 * "*" and prefix), errors that name the class or rule, and the per-identity
 * match cache across two policies and beyond 64 rules. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "lim.h"
#include "lim_test_util.h"

#define V(x) (1u << LIM_VERB_##x)

static const char *const masters[] = {"system:masters"};
static const char *const admin[] = {"admin"};
static const char *const nodes_grp[] = {"system:nodes"};
static const char *const node_res[] = {"nodes", "nodes/status", "leases"};
static const char *const node_groups[] = {"", "coordination.k8s.io"};
static const char *const node_lease_ns[] = {"kube-node-lease"};
static const char *const ks_sa[] = {"kube-system/*"};
static const char *const deployer_sa[] = {"apps/deployer"};
static const char *const any_status[] = {"*/status"};
static const char *const star[] = {"*"};
static const char *const probe_paths[] = {"/healthz", "/readyz/*"};
static const char *const authd[] = {"system:authenticated"};
static const char *const pods_log[] = {"pods", "pods/log"};
static const char *const web_ns[] = {"default", "web"};
static const char *const apps_grp[] = {"apps"};
static const char *const classes[] = {"exempt", "admin",     "nodes", "kube-system", "deployer",
                                      "probes", "workloads", "certs", "catch"};

static struct lim_policy *
build(void)
{
    struct lim_global_params g;
    struct lim_class_params c;
    struct lim_rule_params r[10];
    struct lim_policy *p;
    char err[256];
    size_t i;

    lim_global_defaults(&g);
    p = lim_policy_new(&g, err, sizeof(err));
    assert_non_null(p);
    for (i = 0; i < sizeof(classes) / sizeof(classes[0]); i++) {
        lim_class_defaults(&c, classes[i], &g);
        assert_int_equal(lim_policy_add_class(p, &c, err, sizeof(err)), 0);
    }
    r[0] = t_rule("exempt");
    r[0].groups = masters, r[0].ngroups = 1;
    r[1] = t_rule("admin");
    r[1].users = admin, r[1].nusers = 1, r[1].verb_mask = V(GET) | V(LIST);
    r[2] = t_rule("nodes");
    r[2].groups = nodes_grp, r[2].ngroups = 1;
    r[2].resources = node_res, r[2].nresources = 3;
    r[2].api_groups = node_groups, r[2].napi_groups = 2;
    r[2].namespaces = node_lease_ns, r[2].nnamespaces = 1, r[2].cluster_scope = true;
    r[3] = t_rule("kube-system");
    r[3].service_accounts = ks_sa, r[3].nservice_accounts = 1;
    r[4] = t_rule("deployer");
    r[4].service_accounts = deployer_sa, r[4].nservice_accounts = 1;
    r[4].resources = any_status, r[4].nresources = 1;
    r[5] = t_rule("probes");
    r[5].groups = star, r[5].ngroups = 1, r[5].verb_mask = V(GET);
    r[5].non_resource = probe_paths, r[5].nnon_resource = 2;
    r[6] = t_rule("workloads");
    r[6].groups = authd, r[6].ngroups = 1;
    r[6].resources = pods_log, r[6].nresources = 2;
    r[6].namespaces = web_ns, r[6].nnamespaces = 2;
    r[7] = t_rule("certs");
    r[7].cred_mask = 1u << LIM_CRED_CERT;
    r[7].resources = star, r[7].nresources = 1;
    r[7].api_groups = apps_grp, r[7].napi_groups = 1;
    r[7].namespaces = star, r[7].nnamespaces = 1;
    r[8] = t_rule("certs");
    r[8].users = star, r[8].nusers = 1;
    r[8].non_resource = star, r[8].nnon_resource = 1;
    r[9] = t_rule("catch");
    for (i = 0; i < 10; i++) {
        assert_int_equal(lim_policy_add_rule(p, &r[i], err, sizeof(err)), 0);
    }
    assert_int_equal(lim_policy_finish(p, err, sizeof(err)), 0);
    return p;
}

enum who { MASTER, ADMIN, NODE, KS_SA, DEPLOYER, ANON, BOB_CERT, BOB_TOKEN };

struct match_case {
    const char *what;
    enum who who;
    enum lim_verb verb;
    const char *group, *resource, *sub, *ns, *path; /* path != NULL: non-resource */
    size_t rule;
};

static const struct match_case cases[] = {
    {"masters match first whatever they do", MASTER, LIM_VERB_DELETE, "", "pods", "", "x", NULL, 0},
    {"admin get by user name", ADMIN, LIM_VERB_GET, "", "pods", "", "default", NULL, 1},
    {"admin create is outside verb_mask", ADMIN, LIM_VERB_CREATE, "", "pods", "", "default", NULL,
     6},
    {"node reads its node object (cluster scope)", NODE, LIM_VERB_GET, "", "nodes", "", "", NULL,
     2},
    {"node patches nodes/status", NODE, LIM_VERB_PATCH, "", "nodes", "status", "", NULL, 2},
    {"node renews its lease in kube-node-lease", NODE, LIM_VERB_UPDATE, "coordination.k8s.io",
     "leases", "", "kube-node-lease", NULL, 2},
    {"node lease in another namespace falls through", NODE, LIM_VERB_GET, "coordination.k8s.io",
     "leases", "", "default", NULL, 9},
    {"nodes/proxy is not nodes", NODE, LIM_VERB_GET, "", "nodes", "proxy", "", NULL, 9},
    {"nodes in the apps group is not core nodes", NODE, LIM_VERB_GET, "apps", "nodes", "", "", NULL,
     9},
    {"any service account in kube-system", KS_SA, LIM_VERB_LIST, "", "secrets", "", "kube-system",
     NULL, 3},
    {"named service account, */status", DEPLOYER, LIM_VERB_PATCH, "apps", "deployments", "status",
     "apps", NULL, 4},
    {"*/status does not match the object itself", DEPLOYER, LIM_VERB_GET, "apps", "deployments", "",
     "apps", NULL, 9},
    {"*/status does not match another subresource", DEPLOYER, LIM_VERB_UPDATE, "apps",
     "deployments", "scale", "apps", NULL, 9},
    {"non-resource exact", ANON, LIM_VERB_GET, NULL, NULL, NULL, NULL, "/healthz", 5},
    {"non-resource prefix/*", BOB_CERT, LIM_VERB_GET, NULL, NULL, NULL, NULL, "/readyz/etcd", 5},
    {"prefix/* needs the slash", BOB_CERT, LIM_VERB_GET, NULL, NULL, NULL, NULL, "/readyz", 8},
    {"exact means exact", BOB_CERT, LIM_VERB_GET, NULL, NULL, NULL, NULL, "/healthz/etcd", 8},
    {"non-resource verb outside mask", BOB_CERT, LIM_VERB_POST, NULL, NULL, NULL, NULL, "/healthz",
     8},
    {"non-resource * for any user", BOB_TOKEN, LIM_VERB_GET, NULL, NULL, NULL, NULL, "/metrics", 8},
    {"anonymous misses authenticated-only rules", ANON, LIM_VERB_GET, "", "pods", "", "default",
     NULL, 9},
    {"pods in a listed namespace", BOB_TOKEN, LIM_VERB_LIST, "", "pods", "", "web", NULL, 6},
    {"pods/log listed explicitly", BOB_TOKEN, LIM_VERB_GET, "", "pods", "log", "web", NULL, 6},
    {"pods/exec is not listed", BOB_TOKEN, LIM_VERB_CREATE, "", "pods", "exec", "web", NULL, 9},
    {"pods in an unlisted namespace", BOB_TOKEN, LIM_VERB_LIST, "", "pods", "", "prod", NULL, 9},
    {"cluster-scoped pods list without cluster_scope", BOB_TOKEN, LIM_VERB_LIST, "", "pods", "", "",
     NULL, 9},
    {"cred_mask certificate and api group apps", BOB_CERT, LIM_VERB_GET, "apps", "deployments", "",
     "web", NULL, 7},
    {"cred_mask excludes tokens", BOB_TOKEN, LIM_VERB_GET, "apps", "deployments", "", "web", NULL,
     9},
    {"namespaces * excludes cluster scope", BOB_CERT, LIM_VERB_GET, "apps", "deployments", "", "",
     NULL, 9},
};

static void
make_id(struct lim_identity *id, enum who w)
{
    switch (w) {
    case MASTER:
        assert_int_equal(t_id(id, LIM_CRED_CERT, "root", "system:masters", NULL), 0);
        break;
    case ADMIN:
        assert_int_equal(t_id(id, LIM_CRED_CERT, "admin", NULL, NULL), 0);
        break;
    case NODE:
        assert_int_equal(t_id(id, LIM_CRED_CERT, "system:node:n1", "system:nodes", NULL), 0);
        break;
    case KS_SA:
        assert_int_equal(
            t_id(id, LIM_CRED_TOKEN, "system:serviceaccount:kube-system:foo", NULL, NULL), 0);
        break;
    case DEPLOYER:
        assert_int_equal(
            t_id(id, LIM_CRED_TOKEN, "system:serviceaccount:apps:deployer", NULL, NULL), 0);
        break;
    case ANON:
        lim_identity_anonymous(id);
        break;
    case BOB_CERT:
        assert_int_equal(t_id(id, LIM_CRED_CERT, "bob", "devs", NULL), 0);
        break;
    case BOB_TOKEN:
        assert_int_equal(t_id(id, LIM_CRED_TOKEN, "bob", "devs", NULL), 0);
        break;
    }
}

static void
make_req(struct lim_request *r, const struct match_case *c)
{
    if (c->path != NULL) {
        t_nonres(r, c->verb, c->path);
    } else {
        t_req(r, c->verb, c->group, c->resource, c->ns);
        r->subresource = c->sub;
    }
}

static void
test_match_table(void **state)
{
    struct lim_policy *p = build();
    struct lim_identity id;
    struct lim_request r;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t got;

        make_id(&id, cases[i].who);
        make_req(&r, &cases[i]);
        got = lim_policy_match(p, &id, &r, NULL, 0, NULL);
        if (got != cases[i].rule) {
            fail_msg("case %zu \"%s\": rule %zu, expected %zu", i, cases[i].what, got,
                     cases[i].rule);
        }
    }
    lim_policy_free(p);
}

/* The cached match (through lim_decide) agrees with the plain one for every
 * case, with the identity reused across requests. */
static void
test_cached_match_agrees_with_plain_match(void **state)
{
    struct lim_policy *p = build();
    struct lim *l = lim_new(64, 1, NULL, 0);
    struct lim_identity ids[BOB_TOKEN + 1];
    struct lim_decision d;
    struct lim_request r;
    size_t i, pass;

    (void)state;
    assert_non_null(l);
    assert_int_equal(lim_bind(l, p, NULL, 0), 0);
    for (i = 0; i <= BOB_TOKEN; i++) {
        make_id(&ids[i], (enum who)i);
    }
    for (pass = 0; pass < 2; pass++) {
        for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
            make_req(&r, &cases[i]);
            lim_decide(l, p, &ids[cases[i].who], &r, T_NS_PER_S, 0, &d);
            if (d.rule != cases[i].rule) {
                fail_msg("pass %zu case %zu \"%s\": rule %zu, expected %zu", pass, i, cases[i].what,
                         d.rule, cases[i].rule);
            }
            lim_release(l, &d.ticket, 200, 0, 0, T_NS_PER_S);
        }
    }
    lim_free(l);
    lim_policy_free(p);
}

static void
test_match_explains_each_missed_rule(void **state)
{
    struct lim_policy *p = build();
    struct lim_identity id;
    struct lim_request r;
    char why[8][128];
    size_t nmiss = 99, rule;

    (void)state;
    make_id(&id, NODE);
    t_req(&r, LIM_VERB_GET, "coordination.k8s.io", "leases", "default");
    rule = lim_policy_match(p, &id, &r, why, 8, &nmiss);
    assert_int_equal(rule, 9);
    assert_int_equal(nmiss, 8);
    assert_non_null(strstr(why[0], "user system:node:n1 not in"));
    assert_non_null(strstr(why[2], "namespace default not in [\"kube-node-lease\"]"));
    assert_non_null(strstr(why[5], "resource request"));
    assert_non_null(strstr(why[6], "resource leases not in"));
    assert_non_null(strstr(why[7], "api group \"coordination.k8s.io\" not in [\"apps\"]"));
    make_id(&id, ADMIN);
    t_req(&r, LIM_VERB_DELETE, "", "pods", "prod");
    rule = lim_policy_match(p, &id, &r, why, 2, &nmiss);
    assert_int_equal(rule, 9);
    assert_int_equal(nmiss, 2);
    assert_string_equal(why[1], "verb delete not in [get,list]");
    lim_policy_free(p);
}

static void
expect_finish_error(struct lim_policy *p, const char *needle)
{
    char err[256] = "";

    assert_int_equal(lim_policy_finish(p, err, sizeof(err)), -1);
    if (strstr(err, needle) == NULL) {
        fail_msg("error \"%s\" does not say \"%s\"", err, needle);
    }
    lim_policy_free(p);
}

static struct lim_policy *
one_class(void)
{
    struct lim_global_params g;
    struct lim_class_params c;
    struct lim_policy *p;

    lim_global_defaults(&g);
    p = lim_policy_new(&g, NULL, 0);
    assert_non_null(p);
    lim_class_defaults(&c, "a", &g);
    assert_int_equal(lim_policy_add_class(p, &c, NULL, 0), 0);
    return p;
}

static void
test_finish_errors_name_the_rule(void **state)
{
    struct lim_policy *p;
    struct lim_rule_params r;

    (void)state;
    expect_finish_error(one_class(), "no rules");

    p = one_class();
    r = t_rule("a");
    assert_int_equal(lim_policy_add_rule(p, &r, NULL, 0), 0);
    r = t_rule("nope");
    assert_int_equal(lim_policy_add_rule(p, &r, NULL, 0), 0);
    expect_finish_error(p, "rule 1: class \"nope\" is not defined");

    p = one_class();
    r = t_rule("a");
    r.groups = masters, r.ngroups = 1;
    assert_int_equal(lim_policy_add_rule(p, &r, NULL, 0), 0);
    expect_finish_error(p, "rule 0 (the last): must match every request");

    p = one_class();
    r = t_rule("a");
    r.verb_mask = V(GET);
    assert_int_equal(lim_policy_add_rule(p, &r, NULL, 0), 0);
    expect_finish_error(p, "rule 0 (the last)");

    p = one_class();
    r = t_rule("a");
    r.cred_mask = 1u << LIM_CRED_CERT;
    assert_int_equal(lim_policy_add_rule(p, &r, NULL, 0), 0);
    expect_finish_error(p, "rule 0 (the last)");

    p = one_class();
    r = t_rule("a");
    r.non_resource = star, r.nnon_resource = 1;
    assert_int_equal(lim_policy_add_rule(p, &r, NULL, 0), 0);
    expect_finish_error(p, "rule 0 (the last)");
}

static void
expect_class_error(struct lim_class_params *c, const char *needle)
{
    struct lim_policy *p = one_class();
    char err[256] = "";

    assert_int_equal(lim_policy_add_class(p, c, err, sizeof(err)), -1);
    if (strstr(err, needle) == NULL) {
        fail_msg("error \"%s\" does not say \"%s\"", err, needle);
    }
    lim_policy_free(p);
}

static void
test_add_class_errors_name_the_class(void **state)
{
    struct lim_global_params g;
    struct lim_class_params c;

    (void)state;
    lim_global_defaults(&g);
    lim_class_defaults(&c, "a", &g);
    expect_class_error(&c, "class 1 (a): name already used");
    lim_class_defaults(&c, "", &g);
    expect_class_error(&c, "class 1: name must be");
    lim_class_defaults(&c, "b", &g);
    c.rate_mtps = 1000;
    expect_class_error(&c, "b: rate needs a burst >= 1");
    lim_class_defaults(&c, "b", &g);
    c.class_rate_mtps = LIM_RATE_MAX_MTPS + 1;
    c.class_burst = 1;
    expect_class_error(&c, "b: class_rate above");
    lim_class_defaults(&c, "b", &g);
    c.watch_rate_mtps = 1;
    c.watch_burst = 100000;
    expect_class_error(&c, "b: watch_rate burst 100000");
    lim_class_defaults(&c, "b", &g);
    c.concurrency_share_pct = 101;
    expect_class_error(&c, "class 1 (b): concurrency_share_pct");
    lim_class_defaults(&c, "b", &g);
    c.cost.max_seats = 0;
    expect_class_error(&c, "b: cost max_seats");
    lim_class_defaults(&c, "b", &g);
    c.mode = LIM_MODE_COUNT;
    expect_class_error(&c, "unknown mode");
}

static void
test_add_rule_errors_name_the_rule(void **state)
{
    static const char *const bad_sa[] = {"kube-system"};
    static const char *const bad_path[] = {"/hea*"};
    static const char *const bad_path2[] = {"healthz"};
    struct lim_policy *p = one_class();
    struct lim_rule_params r;
    char err[256];

    (void)state;
    r = t_rule("a");
    r.service_accounts = bad_sa, r.nservice_accounts = 1;
    assert_int_equal(lim_policy_add_rule(p, &r, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "rule 0: service_accounts[0] \"kube-system\": expected NS/NAME"));
    r = t_rule("a");
    r.non_resource = bad_path, r.nnon_resource = 1;
    assert_int_equal(lim_policy_add_rule(p, &r, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "rule 0: non_resource[0] \"/hea*\""));
    r.non_resource = bad_path2;
    assert_int_equal(lim_policy_add_rule(p, &r, err, sizeof(err)), -1);
    r = t_rule("a");
    r.verb_mask = 1u << LIM_VERB_COUNT;
    assert_int_equal(lim_policy_add_rule(p, &r, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "rule 0: verb_mask"));
    r = t_rule("a");
    assert_int_equal(lim_policy_add_rule(p, &r, err, sizeof(err)), 0);
    assert_int_equal(lim_policy_finish(p, err, sizeof(err)), 0);
    assert_int_equal(lim_policy_add_rule(p, &r, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "rule 1: the policy is already finished"));
    lim_policy_free(p);
}

static void
test_global_errors(void **state)
{
    struct lim_global_params g;
    char err[256];

    (void)state;
    lim_global_defaults(&g);
    g.reserved_seats = 200;
    assert_null(lim_policy_new(&g, err, sizeof(err)));
    assert_non_null(strstr(err, "reserved_seats 200 must be below both pools"));
    lim_global_defaults(&g);
    g.retry_after_max_s = 0;
    assert_null(lim_policy_new(&g, err, sizeof(err)));
    assert_non_null(strstr(err, "retry_after_max_s"));
    lim_global_defaults(&g);
    g.watch_rate_mtps = 1000;
    assert_null(lim_policy_new(&g, err, sizeof(err)));
    assert_non_null(strstr(err, "global: watch_rate needs a burst"));
}

static void
test_builder_copies_everything(void **state)
{
    struct lim_global_params g;
    struct lim_class_params c;
    struct lim_rule_params r;
    struct lim_policy *p;
    char name[8] = "cls", user[8] = "alice";
    const char *users[1] = {user};
    const struct lim_rule_params *got;

    (void)state;
    lim_global_defaults(&g);
    p = lim_policy_new(&g, NULL, 0);
    lim_class_defaults(&c, name, &g);
    assert_int_equal(lim_policy_add_class(p, &c, NULL, 0), 0);
    r = t_rule(name);
    r.users = users, r.nusers = 1;
    assert_int_equal(lim_policy_add_rule(p, &r, NULL, 0), 0);
    r = t_rule(name);
    assert_int_equal(lim_policy_add_rule(p, &r, NULL, 0), 0);
    memset(name, 'x', 7);
    memset(user, 'y', 7);
    users[0] = NULL;
    assert_int_equal(lim_policy_finish(p, NULL, 0), 0);
    assert_string_equal(lim_policy_class(p, 0)->name, "cls");
    got = lim_policy_rule(p, 0);
    assert_string_equal(got->class_name, "cls");
    assert_string_equal(got->users[0], "alice");
    assert_int_equal(lim_policy_class_index(p, "cls"), 0);
    assert_int_equal(lim_policy_class_index(p, "xxx"), -1);
    assert_int_equal(lim_policy_rule_count(p), 2);
    assert_int_equal(lim_policy_class_count(p), 1);
    assert_int_equal(lim_policy_global(p)->max_inflight_readonly, 400);
    lim_policy_free(p);
}

/* Two policies with different rules, one identity: the cache is keyed by
 * each policy's generation, so neither reads the other's mask. */
static void
test_match_cache_is_per_policy(void **state)
{
    static const char *const bob[] = {"bob"};
    struct lim_global_params g;
    struct lim_class_params c;
    struct lim_rule_params r;
    struct lim_policy *pa, *pb;
    struct lim *l = lim_new(64, 7, NULL, 0);
    struct lim_identity id;
    struct lim_request req;
    struct lim_decision d;
    int i;

    (void)state;
    lim_global_defaults(&g);
    pa = lim_policy_new(&g, NULL, 0);
    pb = lim_policy_new(&g, NULL, 0);
    lim_class_defaults(&c, "x", &g);
    assert_int_equal(lim_policy_add_class(pa, &c, NULL, 0), 0);
    assert_int_equal(lim_policy_add_class(pb, &c, NULL, 0), 0);
    r = t_rule("x");
    r.groups = masters, r.ngroups = 1;
    assert_int_equal(lim_policy_add_rule(pa, &r, NULL, 0), 0);
    r = t_rule("x");
    r.users = bob, r.nusers = 1;
    assert_int_equal(lim_policy_add_rule(pb, &r, NULL, 0), 0);
    r = t_rule("x");
    assert_int_equal(lim_policy_add_rule(pa, &r, NULL, 0), 0);
    assert_int_equal(lim_policy_add_rule(pb, &r, NULL, 0), 0);
    assert_int_equal(lim_policy_finish(pa, NULL, 0), 0);
    assert_int_equal(lim_policy_finish(pb, NULL, 0), 0);
    assert_int_equal(lim_bind(l, pa, NULL, 0), 0);
    assert_int_equal(lim_bind(l, pb, NULL, 0), 0);
    assert_int_equal(t_id(&id, LIM_CRED_CERT, "bob", NULL, NULL), 0);
    t_req(&req, LIM_VERB_GET, "", "pods", "default");
    for (i = 0; i < 3; i++) {
        lim_decide(l, pa, &id, &req, T_NS_PER_S, 0, &d);
        assert_int_equal(d.rule, 1);
        lim_release(l, &d.ticket, 200, 0, 0, 0);
        lim_decide(l, pb, &id, &req, T_NS_PER_S, 0, &d);
        assert_int_equal(d.rule, 0);
        lim_release(l, &d.ticket, 200, 0, 0, 0);
    }
    lim_free(l);
    lim_policy_free(pa);
    lim_policy_free(pb);
}

/* Rules past the 64 the cache covers are evaluated in full. */
static void
test_match_beyond_64_rules(void **state)
{
    static char names[70][16];
    static const char *users[70][1];
    struct lim_global_params g;
    struct lim_class_params c;
    struct lim_rule_params r;
    struct lim_policy *p;
    struct lim *l = lim_new(64, 3, NULL, 0);
    struct lim_identity id;
    struct lim_request req;
    struct lim_decision d;
    int i;

    (void)state;
    lim_global_defaults(&g);
    p = lim_policy_new(&g, NULL, 0);
    lim_class_defaults(&c, "x", &g);
    assert_int_equal(lim_policy_add_class(p, &c, NULL, 0), 0);
    for (i = 0; i < 70; i++) {
        snprintf(names[i], sizeof(names[i]), "user%d", i);
        users[i][0] = names[i];
        r = t_rule("x");
        r.users = users[i], r.nusers = 1;
        assert_int_equal(lim_policy_add_rule(p, &r, NULL, 0), 0);
    }
    r = t_rule("x");
    assert_int_equal(lim_policy_add_rule(p, &r, NULL, 0), 0);
    assert_int_equal(lim_policy_finish(p, NULL, 0), 0);
    assert_int_equal(lim_bind(l, p, NULL, 0), 0);
    t_req(&req, LIM_VERB_GET, "", "pods", "default");
    for (i = 60; i < 70; i++) {
        assert_int_equal(t_id(&id, LIM_CRED_CERT, names[i], NULL, NULL), 0);
        lim_decide(l, p, &id, &req, T_NS_PER_S, 0, &d);
        assert_int_equal(d.rule, (size_t)i);
        lim_release(l, &d.ticket, 200, 0, 0, 0);
        lim_decide(l, p, &id, &req, T_NS_PER_S, 0, &d); /* now from the cache */
        assert_int_equal(d.rule, (size_t)i);
        lim_release(l, &d.ticket, 200, 0, 0, 0);
    }
    assert_int_equal(t_id(&id, LIM_CRED_CERT, "nobody", NULL, NULL), 0);
    lim_decide(l, p, &id, &req, T_NS_PER_S, 0, &d);
    assert_int_equal(d.rule, 70);
    lim_release(l, &d.ticket, 200, 0, 0, 0);
    lim_free(l);
    lim_policy_free(p);
}

static void
test_names_round_trip(void **state)
{
    int i;

    (void)state;
    for (i = 0; i < LIM_MODE_COUNT; i++) {
        assert_int_equal(lim_mode_from_name(lim_mode_name((enum lim_mode)i)), i);
    }
    for (i = 0; i < LIM_DIST_COUNT; i++) {
        assert_int_equal(lim_dist_from_name(lim_dist_name((enum lim_dist)i)), i);
    }
    assert_string_equal(lim_mode_name(LIM_MODE_DRY_RUN), "dry-run");
    assert_string_equal(lim_dist_name(LIM_DIST_NODE), "node");
    assert_int_equal(lim_mode_from_name("dryrun"), -1);
    assert_int_equal(lim_dist_from_name("pod"), -1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_match_table),
        cmocka_unit_test(test_cached_match_agrees_with_plain_match),
        cmocka_unit_test(test_match_explains_each_missed_rule),
        cmocka_unit_test(test_finish_errors_name_the_rule),
        cmocka_unit_test(test_add_class_errors_name_the_class),
        cmocka_unit_test(test_add_rule_errors_name_the_rule),
        cmocka_unit_test(test_global_errors),
        cmocka_unit_test(test_builder_copies_everything),
        cmocka_unit_test(test_match_cache_is_per_policy),
        cmocka_unit_test(test_match_beyond_64_rules),
        cmocka_unit_test(test_names_round_trip),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
