/* floodgate explain --json against the shipped sidecar.json: a table of
 * (identity, request) pairs, each asserted field by field (request info as
 * kube-apiserver derives it, the identity as the proxy builds it, the rule,
 * the class and its key, the cost, the verdict), then the budgets and the
 * state of one explanation and the text form. */
#include "it_explain.h"

#include <openssl/sha.h>

#define ISS "https://kubernetes.default.svc.cluster.local"
#define SA_KS                                                                                      \
    "{\"iss\":\"" ISS "\",\"sub\":\"system:serviceaccount:kube-system:kube-proxy\","               \
    "\"aud\":[\"" ISS "\"],\"exp\":1700003600,\"iat\":1700000000,\"kubernetes.io\":"               \
    "{\"namespace\":\"kube-system\",\"serviceaccount\":{\"name\":\"kube-proxy\",\"uid\":\"sa-1\"}" \
    ","                                                                                            \
    "\"pod\":{\"name\":\"kube-proxy-x\",\"uid\":\"pod-1\"},\"node\":{\"name\":\"node-7\","         \
    "\"uid\":\"node-uid-7\"}}}"
#define SA_MON                                                                                     \
    "{\"iss\":\"" ISS "\",\"sub\":\"system:serviceaccount:monitoring:agent\",\"kubernetes.io\":"   \
    "{\"namespace\":\"monitoring\",\"serviceaccount\":{\"name\":\"agent\",\"uid\":\"sa-2\"},"      \
    "\"node\":{\"name\":\"node-9\",\"uid\":\"node-uid-9\"}}}"
#define SA_LEGACY                                                                                  \
    "{\"iss\":\"kubernetes/serviceaccount\",\"sub\":\"system:serviceaccount:default:builder\","    \
    "\"kubernetes.io/serviceaccount/namespace\":\"default\","                                      \
    "\"kubernetes.io/serviceaccount/secret.name\":\"builder-token-x\","                            \
    "\"kubernetes.io/serviceaccount/service-account.name\":\"builder\","                           \
    "\"kubernetes.io/serviceaccount/service-account.uid\":\"sa-3\"}"
#define UNVERIFIED_TOKEN "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJtYWxsb3J5In0.c2lnbmF0dXJl"

/* An identity, the options that give it, and what explain must show. */
struct who {
    const char *name;
    const char *args[6];
    const char *user; /* NULL: the unverified credential's hash */
    const char *cred;
    const char *node;
    const char *sa;
    unsigned ngroups;
};

static const struct who whos[] = {
    {"alice", {"--user", "alice", "--group", "developers"}, "alice", "certificate", "", "", 2},
    {"bob", {"--user", "bob"}, "bob", "certificate", "", "", 1},
    {"admin", {"--user", "admin", "--group", "system:masters"}, "admin", "certificate", "", "", 2},
    {"anon", {"--anonymous"}, "system:anonymous", "anonymous", "", "", 1},
    {"nobody", {NULL}, "system:anonymous", "anonymous", "", "", 1},
    {"node1",
     {"--user", "system:node:node-1", "--group", "system:nodes"},
     "system:node:node-1",
     "certificate",
     "node-1",
     "",
     2},
    {"kcm",
     {"--user", "system:kube-controller-manager"},
     "system:kube-controller-manager",
     "certificate",
     "",
     "",
     1},
    {"sched",
     {"--user", "system:kube-scheduler"},
     "system:kube-scheduler",
     "certificate",
     "",
     "",
     1},
    {"sa-ks",
     {"--token-claims", SA_KS},
     "system:serviceaccount:kube-system:kube-proxy",
     "token",
     "node-7",
     "kube-system/kube-proxy",
     3},
    {"sa-mon",
     {"--token-claims", SA_MON},
     "system:serviceaccount:monitoring:agent",
     "token",
     "node-9",
     "monitoring/agent",
     3},
    {"sa-legacy",
     {"--token-claims", SA_LEGACY},
     "system:serviceaccount:default:builder",
     "token",
     "",
     "default/builder",
     3},
    {"unver", {"--unverified", UNVERIFIED_TOKEN}, NULL, "unverified", "", "", 1},
};

#define GD "global-default"
#define RO "readonly"
#define MU "mutating"
#define KU "=user" /* the key is the identity's user */

struct row {
    const char *who, *method, *target;
    const char *verb, *resource, *sub, *ns, *name;
    bool long_running;
    const char *read_from;
    int rule;
    const char *cls, *key;
    int tokens_mt, seats;
    const char *pool;
    bool exempt;
};

/* Costs under sidecar.json's cost model with nothing learned: a LIST is
 * assumed 64 KiB, 1 + 0.64 tokens from the watch cache, plus 0.64 for
 * etcd's share on a read storage serves (a watch's initial events come from
 * the cache); 1 seat; malformed list options cost
 * the maximum (100 tokens, 10 seats); long-running connections hold no
 * seat. */
static const struct row rows[] = {
    /* who, method, target, verb, resource, sub, ns, name, long-running, read from, rule, class,
     * key, milli-tokens, seats, pool, exempt */
    {"alice", "GET", "/api/v1/namespaces/default/pods", "list", "pods", "", "default", "", 0,
     "consistent", 7, GD, KU, 2280, 1, RO, 0},
    {"alice", "GET", "/api/v1/namespaces/default/pods?resourceVersion=0", "list", "pods", "",
     "default", "", 0, "cache", 7, GD, KU, 1640, 1, RO, 0},
    {"alice", "GET", "/api/v1/namespaces/default/pods/web-0", "get", "pods", "", "default", "web-0",
     0, "etcd", 7, GD, KU, 1000, 1, RO, 0},
    {"alice", "GET", "/api/v1/namespaces/default/pods/web-0?resourceVersion=5", "get", "pods", "",
     "default", "web-0", 0, "cache", 7, GD, KU, 1000, 1, RO, 0},
    {"alice", "GET", "/api/v1/namespaces/default/pods/web-0/log?follow=true", "get", "pods", "log",
     "default", "web-0", 1, "none", 7, GD, KU, 1000, 0, RO, 0},
    {"alice", "POST", "/api/v1/namespaces/default/pods/web-0/exec?command=ls&stdout=true", "create",
     "pods", "exec", "default", "web-0", 1, "none", 7, GD, KU, 1000, 0, MU, 0},
    {"alice", "GET", "/api/v1/namespaces/default/pods?watch=1", "watch", "pods", "", "default", "",
     1, "cache", 7, GD, KU, 1640, 1, RO, 0},
    {"alice", "GET", "/api/v1/namespaces/default/pods?watch=1&resourceVersion=12345", "watch",
     "pods", "", "default", "", 1, "cache", 7, GD, KU, 1000, 1, RO, 0},
    {"alice", "GET", "/api/v1/watch/namespaces/default/pods", "watch", "pods", "", "default", "", 1,
     "cache", 7, GD, KU, 1640, 1, RO, 0},
    {"alice", "POST", "/api/v1/namespaces/default/configmaps", "create", "configmaps", "",
     "default", "", 0, "none", 7, GD, KU, 1000, 1, MU, 0},
    {"alice", "PUT", "/api/v1/namespaces/default/configmaps/c1", "update", "configmaps", "",
     "default", "c1", 0, "none", 7, GD, KU, 1000, 1, MU, 0},
    {"alice", "PATCH", "/apis/apps/v1/namespaces/default/deployments/web", "patch", "deployments",
     "", "default", "web", 0, "none", 7, GD, KU, 1000, 1, MU, 0},
    {"alice", "DELETE", "/api/v1/namespaces/default/pods/web-0", "delete", "pods", "", "default",
     "web-0", 0, "none", 7, GD, KU, 1000, 1, MU, 0},
    {"alice", "DELETE", "/api/v1/namespaces/default/pods", "deletecollection", "pods", "",
     "default", "", 0, "none", 7, GD, KU, 2280, 1, MU, 0},
    {"alice", "GET", "/api/v1/nodes", "list", "nodes", "", "", "", 0, "consistent", 7, GD, KU, 2280,
     1, RO, 0},
    {"alice", "GET", "/apis/apps/v1/deployments?limit=500&continue=abc", "list", "deployments", "",
     "", "", 0, "etcd", 7, GD, KU, 2280, 1, RO, 0},
    {"alice", "GET", "/api/v1/pods?resourceVersion=0&labelSelector=app%3Dweb", "list", "pods", "",
     "", "", 0, "cache", 7, GD, KU, 1640, 1, RO, 0},
    {"alice", "GET", "/api/v1/pods?limit=abc", "list", "pods", "", "", "", 0, "consistent", 7, GD,
     KU, 100000, 10, RO, 0},
    {"alice", "GET", "/api/v1/pods?fieldSelector=metadata.name%3Dweb-0", "list", "pods", "", "",
     "web-0", 0, "consistent", 7, GD, KU, 1000, 1, RO, 0},
    /* A limit with a specific resourceVersion means Exact: etcd's share. */
    {"alice", "GET", "/api/v1/pods?limit=500&resourceVersion=100", "list", "pods", "", "", "", 0,
     "etcd", 7, GD, KU, 2280, 1, RO, 0},
    {"alice", "GET", "/api/v1/pods?resourceVersion=100&resourceVersionMatch=Exact", "list", "pods",
     "", "", "", 0, "etcd", 7, GD, KU, 2280, 1, RO, 0},
    {"alice", "GET", "/api/v1/pods?resourceVersion=100&resourceVersionMatch=NotOlderThan", "list",
     "pods", "", "", "", 0, "cache", 7, GD, KU, 1640, 1, RO, 0},
    {"alice", "GET", "/version", "get", "", "", "", "", 0, "none", 7, GD, KU, 1000, 1, RO, 0},
    {"alice", "GET", "/healthz", "get", "", "", "", "", 0, "none", 1, "exempt", "", 1000, 1, RO, 1},
    {"alice", "GET", "/apis", "get", "", "", "", "", 0, "none", 7, GD, KU, 1000, 1, RO, 0},
    {"alice", "HEAD", "/api/v1/namespaces/default/pods/x", "get", "pods", "", "default", "x", 0,
     "etcd", 7, GD, KU, 1000, 1, RO, 0},
    {"alice", "GET", "/api/v1/namespaces/default/pods/web-0/proxy/metrics", "get", "pods", "proxy",
     "default", "web-0", 1, "none", 7, GD, KU, 1000, 0, RO, 0},
    {"alice", "GET", "/api/v1/proxy/namespaces/default/pods/web-0", "proxy", "pods", "", "default",
     "web-0", 1, "none", 7, GD, KU, 1000, 0, MU, 0},
    {"alice", "OPTIONS", "/api/v1/pods", "", "pods", "", "", "", 0, "none", 7, GD, KU, 1000, 1, MU,
     0},
    {"alice", "GET", "http://kube:6443/api/v1/pods", "list", "pods", "", "", "", 0, "consistent", 7,
     GD, KU, 2280, 1, RO, 0},
    {"alice", "GET", "/api/v1/namespaces/kube-system", "get", "namespaces", "", "kube-system",
     "kube-system", 0, "etcd", 7, GD, KU, 1000, 1, RO, 0},
    {"bob", "GET", "/api/v1/namespaces/default/pods", "list", "pods", "", "default", "", 0,
     "consistent", 7, GD, KU, 2280, 1, RO, 0},
    {"admin", "GET", "/api/v1/pods", "list", "pods", "", "", "", 0, "consistent", 0, "exempt", "",
     2280, 1, RO, 1},
    {"admin", "DELETE", "/api/v1/namespaces/default/pods", "deletecollection", "pods", "",
     "default", "", 0, "none", 0, "exempt", "", 2280, 1, MU, 1},
    {"anon", "GET", "/healthz", "get", "", "", "", "", 0, "none", 1, "exempt", "", 1000, 1, RO, 1},
    {"anon", "GET", "/readyz?verbose", "get", "", "", "", "", 0, "none", 1, "exempt", "", 1000, 1,
     RO, 1},
    {"anon", "POST", "/healthz", "post", "", "", "", "", 0, "none", 8, "catch-all", KU, 1000, 1, MU,
     0},
    {"anon", "GET", "/version", "get", "", "", "", "", 0, "none", 8, "catch-all", KU, 1000, 1, RO,
     0},
    {"nobody", "GET", "/api/v1/pods", "list", "pods", "", "", "", 0, "consistent", 8, "catch-all",
     KU, 2280, 1, RO, 0},
    {"node1", "GET", "/api/v1/nodes/node-1", "get", "nodes", "", "", "node-1", 0, "etcd", 3,
     "nodes", "node-1", 1000, 1, RO, 0},
    {"node1", "PATCH", "/api/v1/nodes/node-1/status", "patch", "nodes", "status", "", "node-1", 0,
     "none", 3, "nodes", "node-1", 1000, 1, MU, 0},
    {"node1", "PUT", "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/node-1",
     "update", "leases", "", "kube-node-lease", "node-1", 0, "none", 3, "nodes", "node-1", 1000, 1,
     MU, 0},
    {"node1", "GET", "/api/v1/pods?fieldSelector=spec.nodeName%3Dnode-1&watch=1&resourceVersion=0",
     "watch", "pods", "", "", "", 1, "cache", 3, "nodes", "node-1", 1640, 1, RO, 0},
    {"node1", "GET", "/healthz", "get", "", "", "", "", 0, "none", 1, "exempt", "", 1000, 1, RO, 1},
    {"kcm", "GET",
     "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-controller-manager", "get",
     "leases", "", "kube-system", "kube-controller-manager", 0, "etcd", 2, "leader-election", KU,
     1000, 1, RO, 0},
    {"kcm", "PUT",
     "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-controller-manager", "update",
     "leases", "", "kube-system", "kube-controller-manager", 0, "none", 2, "leader-election", KU,
     1000, 1, MU, 0},
    /* patch is not among leader-election's verbs: the next rule. */
    {"kcm", "PATCH",
     "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-controller-manager", "patch",
     "leases", "", "kube-system", "kube-controller-manager", 0, "none", 4, "system", KU, 1000, 1,
     MU, 0},
    {"kcm", "GET", "/api/v1/pods?resourceVersion=0", "list", "pods", "", "", "", 0, "cache", 4,
     "system", KU, 1640, 1, RO, 0},
    {"sched", "POST", "/api/v1/namespaces/default/pods/web-0/binding", "create", "pods", "binding",
     "default", "web-0", 0, "none", 4, "system", KU, 1000, 1, MU, 0},
    {"sa-ks", "GET", "/api/v1/services?watch=1&resourceVersion=0", "watch", "services", "", "", "",
     1, "cache", 4, "system", KU, 1640, 1, RO, 0},
    {"sa-ks", "GET", "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-proxy", "get",
     "leases", "", "kube-system", "kube-proxy", 0, "etcd", 2, "leader-election", KU, 1000, 1, RO,
     0},
    {"sa-mon", "GET", "/api/v1/namespaces/monitoring/pods", "list", "pods", "", "monitoring", "", 0,
     "consistent", 5, "service-accounts", "node-9", 2280, 1, RO, 0},
    {"sa-mon", "GET",
     "/api/v1/pods?watch=true&resourceVersion=0&fieldSelector=spec.nodeName%3Dnode-9", "watch",
     "pods", "", "", "", 1, "cache", 5, "service-accounts", "node-9", 1640, 1, RO, 0},
    {"sa-mon", "GET", "/healthz", "get", "", "", "", "", 0, "none", 1, "exempt", "", 1000, 1, RO,
     1},
    /* A legacy token names no node: the node distinguisher falls back to
     * the user. */
    {"sa-legacy", "GET", "/api/v1/namespaces/default/secrets", "list", "secrets", "", "default", "",
     0, "consistent", 5, "service-accounts", KU, 2280, 1, RO, 0},
    {"unver", "GET", "/api/v1/pods", "list", "pods", "", "", "", 0, "consistent", 6, "unverified",
     KU, 2280, 1, RO, 0},
    {"unver", "GET", "/healthz", "get", "", "", "", "", 0, "none", 1, "exempt", "", 1000, 1, RO, 1},
    {"unver", "POST", "/api/v1/namespaces/default/pods", "create", "pods", "", "default", "", 0,
     "none", 6, "unverified", KU, 1000, 1, MU, 0},
};

static char unverified_user[64];

static int
setup(void **state)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[SHA256_DIGEST_LENGTH];
    char *p;
    size_t i;

    (void)state;
    /* The proxy keys an unverifiable token by SHA-256 of its bytes. */
    SHA256((const unsigned char *)UNVERIFIED_TOKEN, strlen(UNVERIFIED_TOKEN), md);
    p = unverified_user + sprintf(unverified_user, "floodgate:unverified:");
    for (i = 0; i < 16; i++) {
        *p++ = hex[md[i] >> 4];
        *p++ = hex[md[i] & 15];
    }
    *p = '\0';
    return ex_setup("explain");
}

static const struct who *
find_who(const char *name)
{
    size_t i;

    for (i = 0; i < sizeof(whos) / sizeof(whos[0]); i++) {
        if (strcmp(whos[i].name, name) == 0) {
            return &whos[i];
        }
    }
    fail_msg("no identity %s in the table", name);
    return NULL;
}

static json_t *
explain(const struct who *w, const char *method, const char *target)
{
    const char *args[12];
    size_t n = 0, i;

    args[n++] = "--json";
    for (i = 0; w->args[i] != NULL && i < 6; i++) {
        args[n++] = w->args[i];
    }
    args[n++] = method;
    args[n++] = target;
    args[n] = NULL;
    return ex_json(ex_sidecar, args);
}

static void
check_row(const struct row *r, size_t idx)
{
    const struct who *w = find_who(r->who);
    const char *user = w->user != NULL ? w->user : unverified_user;
    char tag[600], key[64];
    json_t *j = explain(w, r->method, r->target);
    long long k, nmiss;

    snprintf(tag, sizeof(tag), "rows[%zu] %s %s %s", idx, r->who, r->method, r->target);
    EX_STR(tag, j, "request.method", r->method);
    EX_STR(tag, j, "request.target", r->target);
    EX_STR(tag, j, "request.verb", r->verb);
    EX_STR(tag, j, "request.resource", r->resource);
    EX_STR(tag, j, "request.subresource", r->sub);
    EX_STR(tag, j, "request.namespace", r->ns);
    EX_STR(tag, j, "request.name", r->name);
    EX_BOOL(tag, j, "request.resource_request", r->resource[0] != '\0');
    EX_BOOL(tag, j, "request.long_running", r->long_running);
    EX_STR(tag, j, "request.read_from", r->read_from);
    EX_STR(tag, j, "identity.user", user);
    EX_STR(tag, j, "identity.credential", w->cred);
    EX_STR(tag, j, "identity.node", w->node);
    EX_STR(tag, j, "identity.service_account", w->sa);
    if (json_array_size(ex_at(j, "identity.groups")) != w->ngroups) {
        fail_msg("%s: %zu groups, want %u", tag, json_array_size(ex_at(j, "identity.groups")),
                 w->ngroups);
    }
    EX_INT(tag, j, "rule.index", r->rule);
    EX_INT(tag, j, "rule.count", 9);
    /* First match wins: every earlier rule is listed with why it missed. */
    nmiss = (long long)json_array_size(ex_at(j, "rule.misses"));
    if (nmiss != r->rule) {
        fail_msg("%s: %lld misses, want %d", tag, nmiss, r->rule);
    }
    for (k = 0; k < nmiss; k++) {
        char path[64];

        snprintf(path, sizeof(path), "rule.misses.%lld.index", k);
        EX_INT(tag, j, path, k);
        snprintf(path, sizeof(path), "rule.misses.%lld.why", k);
        if (ex_str(j, path)[0] == '\0') {
            fail_msg("%s: %s is empty", tag, path);
        }
    }
    EX_STR(tag, j, "class.name", r->cls);
    snprintf(key, sizeof(key), "%.47s", strcmp(r->key, KU) == 0 ? user : r->key);
    EX_STR(tag, j, "class.key", key);
    EX_BOOL(tag, j, "class.key_truncated", strcmp(r->key, KU) == 0 && strlen(user) > 47);
    EX_MILLI(tag, j, "cost.tokens", r->tokens_mt);
    EX_INT(tag, j, "cost.seats", r->seats);
    EX_STR(tag, j, "cost.pool", r->pool);
    EX_STR(tag, j, "budget.global.pool", r->pool);
    EX_STR(tag, j, "decision.verdict", "admit"); /* fresh buckets admit one request */
    EX_STR(tag, j, "decision.reason", "none");
    EX_INT(tag, j, "decision.retry_after_s", 0);
    EX_BOOL(tag, j, "decision.dry_run", 0);
    EX_BOOL(tag, j, "decision.exempt", r->exempt);
    EX_STR(tag, j, "class.mode", r->exempt ? "exempt" : "enforce");
    EX_BOOL(tag, j, "state.live", 0);
    json_decref(j);
}

static void
test_every_pair_of_the_table_explains_field_by_field(void **state)
{
    size_t i;

    (void)state;
    assert_true(sizeof(rows) / sizeof(rows[0]) >= 50);
    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        check_row(&rows[i], i);
    }
    printf("explain: %zu (identity, request) pairs checked\n", sizeof(rows) / sizeof(rows[0]));
}

static void
test_budgets_and_state_are_the_class_and_global_ones(void **state)
{
    const char *tag = "alice list";
    json_t *j;

    (void)state;
    j = explain(find_who("alice"), "GET", "/api/v1/namespaces/default/pods");
    EX_STR(tag, j, "class.mode", "enforce");
    EX_STR(tag, j, "class.distinguisher", "user");
    EX_BOOL(tag, j, "class.mode_override", 0);
    EX_MILLI(tag, j, "budget.key.rate", 20000);
    EX_STR(tag, j, "budget.key.rate_human", "20/s");
    EX_INT(tag, j, "budget.key.burst", 50);
    EX_MILLI(tag, j, "budget.key.tokens_left", 50000);
    EX_INT(tag, j, "budget.key.max_watches", 50);
    EX_MILLI(tag, j, "budget.key.watch_rate", 1000);
    EX_INT(tag, j, "budget.key.watch_burst", 10);
    EX_MILLI(tag, j, "budget.class.rate", 300000);
    EX_STR(tag, j, "budget.class.rate_human", "300/s");
    EX_INT(tag, j, "budget.class.burst", 600);
    EX_MILLI(tag, j, "budget.class.tokens_left", 600000);
    EX_INT(tag, j, "budget.class.concurrency_share_pct", 15);
    EX_INT(tag, j, "budget.class.seat_cap", 60); /* 15% of 400 */
    EX_STR(tag, j, "budget.class.max_wait_human", "0s");
    EX_INT(tag, j, "budget.global.seat_cap", 360); /* 400 less 40 reserved */
    EX_INT(tag, j, "budget.global.reserved_seats", 40);
    EX_INT(tag, j, "budget.global.max_watches", 50000);
    EX_MILLI(tag, j, "budget.global.watch_rate", 200000);
    EX_INT(tag, j, "budget.global.watch_burst", 1000);
    EX_INT(tag, j, "state.key.inflight", 0);
    EX_INT(tag, j, "state.global.watches", 0);
    EX_INT(tag, j, "cost.learned_bytes", 65536);
    EX_STR(tag, j, "cost.why",
           "list pods from etcd: 65.5 kB default + etcd share of 65.5 kB -> 2.280 tokens, 1 seats");
    EX_STR(tag, j, "request.resource_version", "");
    json_decref(j);

    tag = "service account watch";
    j = explain(find_who("sa-mon"), "GET", "/api/v1/pods?watch=1&resourceVersion=0");
    EX_STR(tag, j, "class.distinguisher", "node");
    EX_STR(tag, j, "budget.key.watch_rate_human", "1/s");
    EX_INT(tag, j, "budget.key.max_watches", 100);
    EX_INT(tag, j, "budget.class.max_watches", 20000);
    EX_MILLI(tag, j, "budget.class.max_wait_s", 250);
    EX_STR(tag, j, "budget.class.max_wait_human", "250ms");
    EX_STR(tag, j, "request.resource_version", "0");
    json_decref(j);

    tag = "unverified watch";
    j = explain(find_who("unver"), "GET", "/api/v1/pods?watch=1");
    EX_MILLI(tag, j, "budget.key.watch_rate", 100); /* 6/m */
    EX_STR(tag, j, "budget.key.watch_rate_human", "6/m");
    EX_MILLI(tag, j, "budget.key.rate", 1000);
    json_decref(j);

    /* The exempt class has no buckets: rates 0, "none", tokens null. */
    tag = "exempt";
    j = explain(find_who("admin"), "GET", "/api/v1/pods");
    EX_MILLI(tag, j, "budget.key.rate", 0);
    EX_STR(tag, j, "budget.key.rate_human", "none");
    EX_STR(tag, j, "class.distinguisher", "none");
    if (!json_is_null(ex_at(j, "budget.key.tokens_left")) ||
        !json_is_null(ex_at(j, "budget.class.tokens_left"))) {
        fail_msg("exempt: tokens_left is not null");
    }
    json_decref(j);
}

static void
test_text_form_is_a_labelled_block(void **state)
{
    const char *args[] = {"--user",  "alice",
                          "--group", "developers",
                          "GET",     "/api/v1/namespaces/default/pods?resourceVersion=0",
                          NULL};
    static const char *const want[] = {
        "request   GET /api/v1/namespaces/default/pods?resourceVersion=0\n",
        "          list pods in namespace default (core/v1)\n",
        "          cache read: resourceVersion=0: the watch cache, limit ignored\n",
        "identity  alice (certificate), groups developers, system:authenticated\n",
        "rule      rules[7] of 9 -> class global-default\n",
        "          rules[1] did not match: verb list not in [get]\n",
        "class     global-default, enforce, key by user: \"alice\"\n",
        "cost      1.640 tokens, 1 seat of the readonly pool\n",
        "budget    key: 20/s burst 50 (50 left)",
        "state     fresh: full buckets, nothing in flight\n",
        "decision  admit\n",
    };
    size_t i, lines = 0;
    const char *p;

    (void)state;
    assert_int_equal(ex_run(ex_sidecar, args), 0);
    for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        if (strstr(ex_out, want[i]) == NULL) {
            fail_msg("no \"%s\" in:\n%s", want[i], ex_out);
        }
    }
    for (p = ex_out; *p != '\0'; p++) {
        lines += *p == '\n';
    }
    assert_true(lines >= 12 && lines <= 25);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_pair_of_the_table_explains_field_by_field),
        cmocka_unit_test(test_budgets_and_state_are_the_class_and_global_ones),
        cmocka_unit_test(test_text_form_is_a_labelled_block),
    };

    return it_finish(cmocka_run_group_tests(tests, setup, NULL));
}
