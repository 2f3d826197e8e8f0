/* px_explain against a running limiter (the admin endpoint's live form):
 * the explanation follows the limiter's buckets, seats, operator overrides
 * and verdict, and commits nothing. Also the identities explain builds,
 * where a read is served from, and the learned-sizes document both ways.
 * Under the shipped sidecar.json, with a fake clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "cf.h"
#include "cf_test_pki.h"
#include "lim.h"
#include "px_explain.h"
#include "px_learned.h"

#define S   (1000ull * 1000000000ull) /* a fake monotonic now, in ns */
#define ISS "https://kubernetes.default.svc.cluster.local"

static struct cf_config *cf;

static int
setup(void **state)
{
    char path[1024], err[CF_ERRLEN];
    const char *src = getenv("FG_SRC_DIR");

    (void)state;
    if (src == NULL || cf_test_pki_make() != 0) {
        fprintf(stderr, "FG_SRC_DIR unset or no PKI\n");
        return -1;
    }
    snprintf(path, sizeof(path), "%s/conf/examples/sidecar.json", src);
    if (cf_load(path, &cf, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    cf_unref(cf);
    cf_test_pki_remove();
    return 0;
}

static void
alice(struct lim_identity *id)
{
    const char *groups[] = {"developers"};
    struct px_explain_who w = {PX_EXPLAIN_CERT, "alice", groups, 1, NULL, 0, NULL};
    char err[256];

    assert_int_equal(px_explain_identity(id, &w, cf, err, sizeof(err)), 0);
}

static json_t *
at(json_t *j, const char *a, const char *b)
{
    json_t *v = json_object_get(json_object_get(j, a), b);

    if (v == NULL) {
        fail_msg("no %s.%s", a, b);
    }
    return v;
}

static json_t *
at3(json_t *j, const char *a, const char *b, const char *c)
{
    json_t *v = json_object_get(at(j, a, b), c);

    if (v == NULL) {
        fail_msg("no %s.%s.%s", a, b, c);
    }
    return v;
}

static json_t *
live(struct lim *l, struct lim_identity *id, const char *method, const char *target, uint64_t now)
{
    char err[256];
    json_t *j = px_explain_json(l, true, cf, id, method, target, now, err, sizeof(err));

    if (j == NULL) {
        fail_msg("px_explain_json: %s", err);
    }
    return j;
}

static void
decide(struct lim *l, struct lim_identity *id, const char *method, const char *target, uint64_t now,
       struct lim_decision *d)
{
    struct lim_request *r = malloc(sizeof(*r));
    char err[256];

    assert_non_null(r);
    assert_int_equal(
        lim_request_parse(r, method, strlen(method), target, strlen(target), err, sizeof(err)), 0);
    lim_decide(l, cf->policy, id, r, now, 0, d);
    free(r);
}

static void
test_live_explanation_follows_the_limiter_and_commits_nothing(void **state)
{
    const char *get = "/api/v1/namespaces/default/pods/web-0";
    struct lim_decision d, held[3];
    struct lim_identity id;
    struct lim_stats before, after;
    char err[256], text[8192];
    struct px_explain *x;
    struct lim *l;
    json_t *j;
    int i;

    (void)state;
    l = lim_new(1024, 7, err, sizeof(err));
    assert_non_null(l);
    assert_int_equal(lim_bind(l, cf->policy, err, sizeof(err)), 0);
    alice(&id);

    j = live(l, &id, "GET", get, S);
    assert_true(json_is_true(at(j, "state", "live")));
    assert_int_equal(json_real_value(at3(j, "budget", "key", "tokens_left")), 50.0);
    json_decref(j);

    /* Ten gets: three still in flight, seven done. */
    for (i = 0; i < 10; i++) {
        decide(l, &id, "GET", get, S, i < 3 ? &held[i] : &d);
        assert_int_equal(i < 3 ? held[i].verdict : d.verdict, LIM_ADMIT);
        if (i >= 3) {
            lim_release(l, &d.ticket, 200, 100, 1000, S);
        }
    }
    lim_stats(l, &before);
    j = live(l, &id, "GET", get, S);
    lim_stats(l, &after);
    assert_memory_equal(&before, &after, sizeof(before)); /* looked, took nothing */
    assert_int_equal(json_real_value(at3(j, "budget", "key", "tokens_left")), 40.0);
    assert_int_equal(json_real_value(at3(j, "budget", "class", "tokens_left")), 590.0);
    assert_int_equal(json_integer_value(at3(j, "state", "key", "inflight")), 3);
    assert_int_equal(json_integer_value(at3(j, "state", "class", "inflight")), 3);
    assert_int_equal(json_integer_value(at3(j, "state", "global", "inflight")), 3);
    assert_string_equal(json_string_value(at(j, "decision", "verdict")), "admit");
    json_decref(j);

    /* The text form says the same. */
    x = malloc(sizeof(*x));
    assert_non_null(x);
    assert_int_equal(px_explain_run(x, l, true, cf, &id, "GET", get, S, err, sizeof(err)), 0);
    assert_true(px_explain_format(x, text, sizeof(text)) < sizeof(text));
    assert_non_null(strstr(text, "budget    key: 20/s burst 50 (40 left)"));
    assert_non_null(strstr(text, "state     live: key 3 seats, 0 watches;"));
    free(x);

    /* Empty the bucket: the explanation rejects as lim_decide does. */
    for (i = 0; i < 40; i++) {
        decide(l, &id, "GET", get, S, &d);
        lim_release(l, &d.ticket, 200, 100, 1000, S);
    }
    j = live(l, &id, "GET", get, S);
    decide(l, &id, "GET", get, S, &d);
    assert_int_equal(d.verdict, LIM_REJECT);
    assert_string_equal(json_string_value(at(j, "decision", "verdict")), "reject");
    assert_string_equal(json_string_value(at(j, "decision", "reason")), "rate");
    assert_int_equal(json_integer_value(at(j, "decision", "retry_after_s")), d.retry_after_s);
    assert_int_equal(json_real_value(at3(j, "budget", "key", "tokens_left")), 0.0);
    json_decref(j);

    /* The operator switches the class to dry-run: admitted, with why it
     * would not be. */
    assert_int_equal(lim_set_class_mode(l, "global-default", LIM_MODE_DRY_RUN), 0);
    j = live(l, &id, "GET", get, S);
    assert_string_equal(json_string_value(at(j, "class", "mode")), "dry-run");
    assert_true(json_is_true(at(j, "class", "mode_override")));
    assert_string_equal(json_string_value(at(j, "decision", "verdict")), "admit");
    assert_true(json_is_true(at(j, "decision", "dry_run")));
    assert_string_equal(json_string_value(at(j, "decision", "reason")), "rate");
    json_decref(j);
    assert_int_equal(lim_set_class_mode(l, "global-default", -1), 0);

    /* And blocks alice: every request of hers is rejected. */
    assert_int_equal(lim_block(l, "alice", S + 10 * 1000000000ull), 0);
    j = live(l, &id, "GET", "/version", S);
    assert_string_equal(json_string_value(at(j, "decision", "reason")), "blocked");
    assert_int_equal(json_integer_value(at(j, "decision", "retry_after_s")), 10);
    json_decref(j);

    /* Offline (no limiter) the same policy still explains from scratch. */
    j = px_explain_json(NULL, false, cf, &id, "GET", get, S, err, sizeof(err));
    assert_non_null(j);
    assert_false(json_is_true(at(j, "state", "live")));
    assert_int_equal(json_real_value(at3(j, "budget", "key", "tokens_left")), 50.0);
    json_decref(j);

    for (i = 0; i < 3; i++) {
        lim_release(l, &held[i].ticket, 200, 100, 1000, S);
    }
    lim_free(l);
}

static void
test_bad_target_is_kubes_message_and_no_object(void **state)
{
    struct lim_identity id;
    char err[256];

    (void)state;
    alice(&id);
    assert_null(px_explain_json(NULL, false, cf, &id, "GET", "/api/v1/watch", S, err, sizeof(err)));
    assert_string_equal(err, "unable to determine kind and namespace from url /api/v1/watch");
    assert_null(px_explain_json(NULL, false, cf, &id, "G T", "/", S, err, sizeof(err)));
    assert_string_equal(err, "request method: not an HTTP token");
}

static void
test_identities_are_built_as_the_proxy_builds_them(void **state)
{
    const char bound[] = "{\"iss\":\"" ISS "\",\"kubernetes.io\":{\"namespace\":\"ns1\","
                         "\"serviceaccount\":{\"name\":\"sa1\",\"uid\":\"u\"},\"node\":{\"name\":"
                         "\"node-3\",\"uid\":\"n\"}}}";
    const char evil[] = "{\"iss\":\"https://evil\",\"kubernetes.io\":{\"namespace\":\"ns1\","
                        "\"serviceaccount\":{\"name\":\"sa1\",\"uid\":\"u\"}}}";
    struct px_explain_who w = {PX_EXPLAIN_CLAIMS, NULL, NULL, 0, bound, sizeof(bound) - 1, NULL};
    unsigned char md[SHA256_DIGEST_LENGTH];
    struct lim_identity id;
    char err[256], groups[64], user[64];

    (void)state;
    assert_int_equal(px_explain_identity(&id, &w, cf, err, sizeof(err)), 0);
    assert_int_equal(id.cred, LIM_CRED_TOKEN);
    assert_string_equal(id.user, "system:serviceaccount:ns1:sa1");
    assert_string_equal(id.node, "node-3");
    assert_string_equal(id.sa_namespace, "ns1");
    assert_int_equal(id.ngroups, 3);
    assert_string_equal(id.groups[1], "system:serviceaccounts:ns1");

    w.claims = evil;
    w.claims_len = sizeof(evil) - 1;
    assert_int_equal(px_explain_identity(&id, &w, cf, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "not in auth.issuers"));

    w.kind = PX_EXPLAIN_UNVERIFIED;
    w.token = "abc.def.ghi";
    assert_int_equal(px_explain_identity(&id, &w, cf, err, sizeof(err)), 0);
    SHA256((const unsigned char *)"abc.def.ghi", 11, md);
    snprintf(user, sizeof(user), "floodgate:unverified:%02x%02x", md[0], md[1]);
    assert_int_equal(strncmp(id.user, user, strlen(user)), 0);
    assert_int_equal(id.cred, LIM_CRED_UNVERIFIED);

    w.kind = PX_EXPLAIN_ANONYMOUS;
    assert_int_equal(px_explain_identity(&id, &w, cf, err, sizeof(err)), 0);
    assert_string_equal(id.user, "system:anonymous");

    /* Audit users: the credential that carries such a name. */
    snprintf(user, sizeof(user), "system:serviceaccount:kube-system:ds");
    assert_int_equal(px_explain_identity_audit(&id, user, NULL, err, sizeof(err)), 0);
    assert_int_equal(id.cred, LIM_CRED_TOKEN);
    assert_string_equal(id.sa_name, "ds");
    snprintf(user, sizeof(user), "bob");
    snprintf(groups, sizeof(groups), "a,,b");
    assert_int_equal(px_explain_identity_audit(&id, user, groups, err, sizeof(err)), 0);
    assert_int_equal(id.cred, LIM_CRED_CERT);
    assert_int_equal(id.ngroups, 3); /* a, b, system:authenticated */
    snprintf(groups, sizeof(groups), "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17");
    assert_int_equal(px_explain_identity_audit(&id, user, groups, err, sizeof(err)), -1);
    snprintf(user, sizeof(user), "system:anonymous");
    assert_int_equal(px_explain_identity_audit(&id, user, NULL, err, sizeof(err)), 0);
    assert_int_equal(id.cred, LIM_CRED_ANONYMOUS);
}

struct read_case {
    const char *method, *target, *from;
};

/* k8s.io/apiserver pkg/storage/cacher/delegator.go. */
static const struct read_case read_cases[] = {
    {"GET", "/api/v1/pods", "consistent"},
    {"GET", "/api/v1/pods?resourceVersion=0", "cache"},
    {"GET", "/api/v1/pods?resourceVersion=7", "cache"},
    {"GET", "/api/v1/pods?resourceVersion=7&limit=10", "etcd"},
    {"GET", "/api/v1/pods?resourceVersion=0&limit=10", "cache"},
    {"GET", "/api/v1/pods?resourceVersion=7&resourceVersionMatch=Exact", "etcd"},
    {"GET", "/api/v1/pods?resourceVersion=7&resourceVersionMatch=NotOlderThan&limit=5", "cache"},
    {"GET", "/api/v1/pods?limit=10&continue=x", "etcd"},
    {"GET", "/api/v1/pods?watch=1", "cache"},
    {"GET", "/api/v1/namespaces/a/pods/p", "etcd"},
    {"GET", "/api/v1/namespaces/a/pods/p?resourceVersion=0", "cache"},
    {"GET", "/api/v1/namespaces/a/pods/p/log", "none"},
    {"POST", "/api/v1/namespaces/a/pods/p/portforward", "none"},
    {"POST", "/api/v1/namespaces/a/pods", "none"},
    {"GET", "/healthz", "none"},
};

static void
test_reads_are_served_where_kube_serves_them(void **state)
{
    struct lim_request *r = malloc(sizeof(*r));
    char err[256];
    const char *why;
    size_t i;

    (void)state;
    assert_non_null(r);
    for (i = 0; i < sizeof(read_cases) / sizeof(read_cases[0]); i++) {
        const struct read_case *c = &read_cases[i];

        assert_int_equal(lim_request_parse(r, c->method, strlen(c->method), c->target,
                                           strlen(c->target), err, sizeof(err)),
                         0);
        if (strcmp(px_explain_read_from(r, &why), c->from) != 0 || why[0] == '\0') {
            fail_msg("%s %s: %s (%s), want %s", c->method, c->target, px_explain_read_from(r, NULL),
                     why, c->from);
        }
    }
    free(r);
}

static json_t *
learned_entry(json_t *doc, const char *group, const char *resource, bool filtered)
{
    json_t *e;
    size_t i;

    json_array_foreach(json_object_get(doc, "learned"), i, e)
    {
        if (strcmp(json_string_value(json_object_get(e, "api_group")), group) == 0 &&
            strcmp(json_string_value(json_object_get(e, "resource")), resource) == 0 &&
            json_is_true(json_object_get(e, "filtered")) == filtered) {
            return e;
        }
    }
    return NULL;
}

static void
test_learned_sizes_round_trip_through_the_document(void **state)
{
    struct lim *a = lim_new(16, 1, NULL, 0), *b = lim_new(16, 2, NULL, 0);
    json_t *doc, *again;
    char err[512];

    (void)state;
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(lim_learned_set(a, "", "pods", false, 12800000), 0);
    assert_int_equal(lim_learned_set(a, "apps", "daemonsets", true, 300000), 0);
    doc = px_learned_json(a);
    assert_non_null(doc);
    assert_int_equal(json_array_size(json_object_get(doc, "learned")), 2);
    assert_int_equal(
        json_integer_value(json_object_get(learned_entry(doc, "", "pods", false), "avg_bytes")),
        12800000);
    assert_int_equal(px_learned_load_json(b, doc, "doc", err, sizeof(err)), 0);
    again = px_learned_json(b);
    assert_non_null(learned_entry(again, "apps", "daemonsets", true));
    assert_int_equal(json_array_size(json_object_get(again, "learned")), 2);
    json_decref(doc);
    json_decref(again);
    lim_free(a);
    lim_free(b);
}

struct bad_doc {
    const char *json;
    const char *want;
};

static const struct bad_doc bad_docs[] = {
    {"[]", "s.json: expected an object {\"learned\": [...]}"},
    {"{}", "s.json: learned: expected a list of entries"},
    {"{\"learned\": [], \"x\": 1}", "s.json: unknown key \"x\" (learned)"},
    {"{\"learned\": [1]}", "s.json: learned[0]: expected an object"},
    {"{\"learned\": [{\"resource\": \"pods\", \"avg_bytes\": 1}]}",
     "s.json: learned[0].api_group: expected a string of at most 95 bytes (\"\" for the core "
     "group)"},
    {"{\"learned\": [{\"api_group\": \"\", \"resource\": \"\", \"avg_bytes\": 1}]}",
     "s.json: learned[0].resource: expected a non-empty string of at most 63 bytes"},
    {"{\"learned\": [{\"api_group\": \"\", \"resource\": "
     "\"rrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrr\", \"avg_bytes\": 1}]}",
     "s.json: learned[0].resource: expected a non-empty string of at most 63 bytes"},
    {"{\"learned\": [{\"api_group\": \"\", \"resource\": \"pods\", \"filtered\": 1, "
     "\"avg_bytes\": 1}]}",
     "s.json: learned[0].filtered: expected true or false"},
    {"{\"learned\": [{\"api_group\": \"\", \"resource\": \"pods\", \"avg_bytes\": 0}]}",
     "s.json: learned[0].avg_bytes: expected an integer 1..1099511627776 (bytes), got 0"},
    {"{\"learned\": [{\"api_group\": \"\", \"resource\": \"pods\", \"avg_bytes\": "
     "1099511627777}]}",
     "s.json: learned[0].avg_bytes: expected an integer 1..1099511627776 (bytes), got "
     "1099511627777"},
    {"{\"learned\": [{\"api_group\": \"\", \"resource\": \"pods\", \"avg_bytes\": \"1\"}]}",
     "s.json: learned[0].avg_bytes: expected an integer 1..1099511627776 (bytes), got another "
     "type"},
    {"{\"learned\": [{\"api_group\": \"\", \"resource\": \"pods\", \"avg_bytes\": 1, \"v\": 2}]}",
     "s.json: learned[0]: unknown key \"v\" (api_group, resource, filtered, avg_bytes)"},
    {"{\"learned\": [{\"api_group\": \"\", \"resource\": \"pods\", \"avg_bytes\": 1},"
     "{\"api_group\": \"\", \"resource\": \"pods\", \"filtered\": false, \"avg_bytes\": 2}]}",
     "s.json: learned[1]: the same resource as learned[0]"},
};

static void
test_bad_learned_documents_name_the_path(void **state)
{
    struct lim *l = lim_new(16, 1, NULL, 0);
    json_t *big = json_array();
    char err[512];
    size_t i;

    (void)state;
    assert_non_null(l);
    for (i = 0; i < sizeof(bad_docs) / sizeof(bad_docs[0]); i++) {
        json_t *doc = json_loads(bad_docs[i].json, 0, NULL);

        assert_non_null(doc);
        assert_int_equal(px_learned_load_json(l, doc, "s.json", err, sizeof(err)), -1);
        if (strcmp(err, bad_docs[i].want) != 0) {
            fail_msg("bad_docs[%zu]: \"%s\", want \"%s\"", i, err, bad_docs[i].want);
        }
        json_decref(doc);
    }
    /* At the bound: 1023 entries are the limiter's table; 1024 are refused
     * before anything is read. */
    for (i = 0; i <= PX_LEARNED_MAX; i++) {
        char name[16];

        snprintf(name, sizeof(name), "r%zu", i);
        json_array_append_new(big, json_pack("{s:s, s:s, s:i}", "api_group", "", "resource", name,
                                             "avg_bytes", 1000));
    }
    big = json_pack("{s:o}", "learned", big);
    assert_int_equal(px_learned_load_json(l, big, "s.json", err, sizeof(err)), -1);
    assert_string_equal(err, "s.json: learned: 1024 entries, at most 1023");
    json_decref(big);
    lim_free(l);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_live_explanation_follows_the_limiter_and_commits_nothing),
        cmocka_unit_test(test_bad_target_is_kubes_message_and_no_object),
        cmocka_unit_test(test_identities_are_built_as_the_proxy_builds_them),
        cmocka_unit_test(test_reads_are_served_where_kube_serves_them),
        cmocka_unit_test(test_learned_sizes_round_trip_through_the_document),
        cmocka_unit_test(test_bad_learned_documents_name_the_path),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
