/* Loading valid files: every default cf.h and the limiter promise, the shipped
 * examples, ${ENV}
 * in a whole file, relative paths, the snapshot's hash and reference count,
 * reload diffs and the --check-config summary. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cf_int.h"
#include "cf_test_pki.h"

#define PRELUDE                                                                                    \
    "{\"listen\":{\"cert\":\"${CFT}/srv.crt\",\"key\":\"${CFT}/srv.key\","                         \
    "\"client_ca\":\"${CFT}/ca.crt\"},"                                                            \
    "\"upstream\":{\"server\":\"127.0.0.1:6444\",\"ca\":\"${CFT}/ca.crt\"},"
#define ONE_CLASS "\"classes\":[{\"name\":\"all\"}],\"rules\":[{\"class\":\"all\"}]}}"
#define MINIMAL   PRELUDE "\"limits\":{" ONE_CLASS

static struct cf_config *
load_ok(const char *json)
{
    struct cf_config *cf = NULL;
    char err[CF_ERRLEN] = "";

    if (cf_load_string(json, "t.json", &cf, err, sizeof(err)) != 0) {
        fail_msg("refused: %s", err);
    }
    return cf;
}

static struct cf_config *
load_example(const char *name)
{
    struct cf_config *cf = NULL;
    char path[1024], err[CF_ERRLEN] = "";
    const char *src = getenv("FG_SRC_DIR");

    snprintf(path, sizeof(path), "%s/conf/examples/%s", src != NULL ? src : ".", name);
    if (cf_load(path, &cf, err, sizeof(err)) != 0) {
        fail_msg("%s refused: %s", name, err);
    }
    return cf;
}

/* Without "limits" a file gets the built-in policy, which is sidecar.json's
 * (embedded at build time): same classes in the same order, same rules. */
static void
test_a_file_without_limits_gets_the_builtin_policy(void **state)
{
    struct cf_config *cf = load_ok(PRELUDE "\"log\":{\"level\":\"warn\"}}");
    struct cf_config *ex = load_example("sidecar.json");
    char summary[8192];
    size_t i;

    (void)state;
    assert_true(cf->policy_builtin);
    assert_false(ex->policy_builtin);
    assert_int_equal(lim_policy_class_count(cf->policy), lim_policy_class_count(ex->policy));
    assert_int_equal(lim_policy_rule_count(cf->policy), lim_policy_rule_count(ex->policy));
    for (i = 0; i < lim_policy_class_count(ex->policy); i++) {
        const struct lim_class_params *a = lim_policy_class(cf->policy, i);
        const struct lim_class_params *b = lim_policy_class(ex->policy, i);

        assert_string_equal(a->name, b->name);
        assert_int_equal(a->rate_mtps, b->rate_mtps);
        assert_int_equal(a->class_rate_mtps, b->class_rate_mtps);
        assert_int_equal(a->max_watches_per_key, b->max_watches_per_key);
    }
    assert_int_equal(lim_policy_global(cf->policy)->reserved_seats,
                     lim_policy_global(ex->policy)->reserved_seats);
    cf_summary(cf, summary, sizeof(summary));
    assert_non_null(strstr(summary, "the built-in policy"));
    cf_unref(cf);
    cf_unref(ex);
}

static void
test_omitted_keys_take_the_documented_defaults(void **state)
{
    struct cf_config *cf = load_ok(MINIMAL);
    struct lim_global_params g;
    struct lim_class_params dc;
    const struct lim_class_params *c;
    char path[600];

    (void)state;
    snprintf(path, sizeof(path), "%s/srv.crt", cf_test_dir);
    assert_string_equal(cf->path, "t.json");
    assert_string_equal(cf->listen.address, "0.0.0.0:6443");
    assert_string_equal(cf->listen.cert, path);
    assert_int_equal(cf->listen.client_auth, CF_CLIENT_AUTH_OPTIONAL);
    assert_int_equal(cf->listen.tls_min_version, 0x0303);
    assert_int_equal(cf->listen.workers, (uint32_t)sysconf(_SC_NPROCESSORS_ONLN));
    assert_int_equal(cf->listen.max_header_bytes, 32 * 1024);
    assert_int_equal(cf->listen.max_body_bytes, 3 * 1024 * 1024);
    assert_int_equal(cf->listen.header_timeout_ns, 10000000000ull);
    assert_int_equal(cf->listen.idle_timeout_ns, 90000000000ull);
    assert_int_equal(cf->listen.max_connections, 20000);
    assert_int_equal(cf->upstream.nservers, 1);
    assert_string_equal(cf->upstream.servers[0], "127.0.0.1:6444");
    assert_string_equal(cf->upstream.server_name, "kubernetes");
    assert_string_equal(cf->upstream.client_cert, "");
    assert_string_equal(cf->upstream.client_key, "");
    assert_int_equal(cf->upstream.connect_timeout_ns, 5000000000ull);
    assert_int_equal(cf->upstream.request_timeout_ns, 60000000000ull);
    assert_int_equal(cf->upstream.pool_size, 64);
    assert_string_equal(cf->upstream.health_path, "/readyz");
    assert_int_equal(cf->upstream.health_interval_ns, 2000000000ull);
    assert_int_equal(cf->auth.nissuers, 0);
    assert_int_equal(cf->auth.nkeys, 0);
    assert_int_equal(cf->auth.naudiences, 0);
    assert_int_equal(cf->auth.unverified, CF_UNVERIFIED_HASH);
    assert_true(cf->auth.anonymous);
    assert_string_equal(cf->admin.address, "127.0.0.1:9444");
    assert_string_equal(cf->admin.socket, "");
    assert_string_equal(cf->admin.token_file, "");
    assert_int_equal(cf->log.level, CF_LOG_INFO);
    assert_int_equal(cf->log.format, CF_LOG_JSON);
    assert_int_equal(cf->log.reject_log_per_s, 10);
    assert_int_equal(cf->max_clients, 100000);
    assert_int_equal(strlen(cf->hash), 16);

    /* The limits are the limiter's own defaults, untouched. */
    lim_global_defaults(&g);
    assert_memory_equal(lim_policy_global(cf->policy), &g, sizeof(g));
    c = lim_policy_class(cf->policy, 0);
    lim_class_defaults(&dc, "all", &g);
    assert_string_equal(c->name, "all");
    assert_int_equal(c->mode, dc.mode);
    assert_int_equal(c->dist, dc.dist);
    assert_int_equal(c->rate_mtps, dc.rate_mtps);
    assert_int_equal(c->burst, dc.burst);
    assert_int_equal(c->class_rate_mtps, dc.class_rate_mtps);
    assert_int_equal(c->concurrency_share_pct, dc.concurrency_share_pct);
    assert_int_equal(c->max_watches, dc.max_watches);
    assert_int_equal(c->max_wait_ns, dc.max_wait_ns);
    assert_memory_equal(&c->cost, &g.cost, sizeof(g.cost));
    cf_unref(cf);
}

static void
test_every_key_is_read_into_its_field(void **state)
{
    static const char json[] =
        "{\"listen\":{\"address\":\"[::1]:7443\",\"cert\":\"${CFT}/srv.crt\","
        "\"key\":\"${CFT}/srv.key\",\"client_auth\":\"off\",\"tls_min_version\":\"1.3\","
        "\"workers\":\"${CF_WORKERS:-3}\",\"max_header_bytes\":\"64KiB\",\"max_body_bytes\":"
        "\"10MB\",\"header_timeout\":\"250ms\",\"idle_timeout\":\"2m\",\"max_connections\":5},"
        "\"upstream\":{\"servers\":[\"10.0.0.1:6443\",\"unix:/run/kube.sock\"],"
        "\"ca\":\"${CFT}/ca.crt\",\"server_name\":\"10.0.0.1\",\"client_cert\":\"${CFT}/srv.crt\","
        "\"client_key\":\"${CFT}/srv.key\",\"connect_timeout\":\"1s\",\"request_timeout\":\"1h\","
        "\"pool_size\":0,\"health_path\":\"/livez\",\"health_interval\":\"500ms\"},"
        "\"auth\":{\"issuers\":[\"https://a\",\"https://b\"],\"keys\":[\"${CFT}/sa.pub\","
        "\"${CFT}/sa-ec.pub\"],\"audiences\":[\"api\"],\"unverified\":\"reject\","
        "\"anonymous\":false},"
        "\"admin\":{\"address\":\"\",\"socket\":\"/run/fg-admin.sock\","
        "\"token_file\":\"${CFT}/token\"},"
        "\"log\":{\"level\":\"debug\",\"format\":\"text\",\"reject_log_per_s\":0},"
        "\"limits\":{\"max_inflight_readonly\":800,\"max_inflight_mutating\":\"300\","
        "\"reserved_seats\":25,\"max_watches\":1000,\"watch_rate\":\"600/m\",\"watch_burst\":30,"
        "\"max_clients\":5000,\"retry_after_max\":\"10s\",\"retry_after_jitter\":\"20%\","
        "\"cost\":{\"base\":0.5,\"bytes_per_token\":\"32KiB\",\"etcd_extra\":\"200%\","
        "\"max_tokens\":50,\"seat_bytes\":\"1MiB\",\"max_seats\":20,"
        "\"default_list_bytes\":\"1MiB\"},"
        "\"classes\":[{\"name\":\"x\",\"mode\":\"dry-run\",\"distinguisher\":\"node\","
        "\"rate\":2.5,\"burst\":5,\"class_rate\":\"90/m\",\"class_burst\":7,"
        "\"concurrency_share\":30,\"max_inflight_per_key\":4,\"max_watches_per_key\":6,"
        "\"max_watches\":600,\"watch_rate\":\"none\",\"watch_burst\":9,\"max_wait\":\"750ms\","
        "\"cost\":{\"max_seats\":5}}],"
        "\"rules\":[{\"class\":\"x\",\"users\":[\"u\"],\"groups\":[\"g1\",\"g2\"],"
        "\"service_accounts\":[\"ns/*\",\"kube-system/sa.x\"],\"credentials\":[\"token\","
        "\"certificate\"],\"verbs\":[\"list\",\"watch\"],\"api_groups\":[\"\",\"apps\"],"
        "\"resources\":[\"pods\",\"*/status\"],\"namespaces\":[\"*\"],\"cluster_scope\":true,"
        "\"non_resource_urls\":[\"/apis/*\"]},{\"class\":\"x\",\"verbs\":[\"*\"],"
        "\"credentials\":[\"anonymous\"]},{\"class\":\"x\"}]}}";
    struct cf_config *cf;
    const struct lim_global_params *g;
    const struct lim_class_params *c;
    const struct lim_rule_params *r;

    (void)state;
    unsetenv("CF_WORKERS");
    cf = load_ok(json);
    assert_string_equal(cf->listen.address, "[::1]:7443");
    assert_string_equal(cf->listen.client_ca, "");
    assert_int_equal(cf->listen.client_auth, CF_CLIENT_AUTH_OFF);
    assert_int_equal(cf->listen.tls_min_version, 0x0304);
    assert_int_equal(cf->listen.workers, 3);
    assert_int_equal(cf->listen.max_header_bytes, 65536);
    assert_int_equal(cf->listen.max_body_bytes, 10000000);
    assert_int_equal(cf->listen.header_timeout_ns, 250000000);
    assert_int_equal(cf->listen.idle_timeout_ns, 120000000000ull);
    assert_int_equal(cf->listen.max_connections, 5);
    assert_int_equal(cf->upstream.nservers, 2);
    assert_string_equal(cf->upstream.servers[1], "unix:/run/kube.sock");
    assert_string_equal(cf->upstream.server_name, "10.0.0.1");
    assert_int_equal(cf->upstream.pool_size, 0);
    assert_string_equal(cf->upstream.health_path, "/livez");
    assert_int_equal(cf->upstream.health_interval_ns, 500000000);
    assert_int_equal(cf->upstream.request_timeout_ns, 3600000000000ull);
    assert_int_equal(cf->auth.nissuers, 2);
    assert_int_equal(cf->auth.nkeys, 2);
    assert_string_equal(cf->auth.audiences[0], "api");
    assert_int_equal(cf->auth.unverified, CF_UNVERIFIED_REJECT);
    assert_false(cf->auth.anonymous);
    assert_string_equal(cf->admin.address, "");
    assert_string_equal(cf->admin.socket, "/run/fg-admin.sock");
    assert_int_equal(cf->log.level, CF_LOG_DEBUG);
    assert_int_equal(cf->log.format, CF_LOG_TEXT);
    assert_int_equal(cf->log.reject_log_per_s, 0);
    assert_int_equal(cf->max_clients, 5000);

    g = lim_policy_global(cf->policy);
    assert_int_equal(g->max_inflight_readonly, 800);
    assert_int_equal(g->max_inflight_mutating, 300);
    assert_int_equal(g->reserved_seats, 25);
    assert_int_equal(g->max_watches, 1000);
    assert_int_equal(g->watch_rate_mtps, 10000);
    assert_int_equal(g->watch_burst, 30);
    assert_int_equal(g->retry_after_max_s, 10);
    assert_int_equal(g->retry_jitter_pct, 20);
    assert_int_equal(g->cost.base_mt, 500);
    assert_int_equal(g->cost.bytes_per_token, 32768);
    assert_int_equal(g->cost.etcd_extra_pct, 200);
    assert_int_equal(g->cost.max_tokens, 50);
    assert_int_equal(g->cost.seat_bytes, 1048576);
    assert_int_equal(g->cost.max_seats, 20);
    assert_int_equal(g->cost.default_list_bytes, 1048576);

    c = lim_policy_class(cf->policy, 0);
    assert_int_equal(c->mode, LIM_MODE_DRY_RUN);
    assert_int_equal(c->dist, LIM_DIST_NODE);
    assert_int_equal(c->rate_mtps, 2500);
    assert_int_equal(c->burst, 5);
    assert_int_equal(c->class_rate_mtps, 1500);
    assert_int_equal(c->class_burst, 7);
    assert_int_equal(c->concurrency_share_pct, 30);
    assert_int_equal(c->max_inflight_per_key, 4);
    assert_int_equal(c->max_watches_per_key, 6);
    assert_int_equal(c->max_watches, 600);
    assert_int_equal(c->watch_rate_mtps, 0); /* "none" */
    assert_int_equal(c->max_wait_ns, 750000000);
    /* A class's cost block starts from limits.cost. */
    assert_int_equal(c->cost.max_seats, 5);
    assert_int_equal(c->cost.max_tokens, 50);
    assert_int_equal(c->cost.base_mt, 500);

    assert_int_equal(lim_policy_rule_count(cf->policy), 3);
    r = lim_policy_rule(cf->policy, 0);
    assert_string_equal(r->class_name, "x");
    assert_int_equal(r->nusers, 1);
    assert_int_equal(r->ngroups, 2);
    assert_int_equal(r->nservice_accounts, 2);
    assert_string_equal(r->service_accounts[1], "kube-system/sa.x");
    assert_int_equal(r->cred_mask, (1u << LIM_CRED_TOKEN) | (1u << LIM_CRED_CERT));
    assert_int_equal(r->verb_mask, (1u << LIM_VERB_LIST) | (1u << LIM_VERB_WATCH));
    assert_int_equal(r->napi_groups, 2);
    assert_string_equal(r->api_groups[0], "");
    assert_int_equal(r->nresources, 2);
    assert_int_equal(r->nnamespaces, 1);
    assert_true(r->cluster_scope);
    assert_int_equal(r->nnon_resource, 1);
    r = lim_policy_rule(cf->policy, 1);
    assert_int_equal(r->verb_mask, 0); /* "*" = any verb */
    assert_int_equal(r->cred_mask, 1u << LIM_CRED_ANONYMOUS);
    cf_unref(cf);
}

static void
test_relative_paths_resolve_against_the_file_directory(void **state)
{
    static const char json[] =
        "{\"listen\":{\"cert\":\"srv.crt\",\"key\":\"./srv.key\",\"client_ca\":\"ca.crt\"},"
        "\"upstream\":{\"server\":\"127.0.0.1:6444\",\"ca\":\"ca.crt\"},"
        "\"auth\":{\"issuers\":[\"i\"],\"keys\":[\"sa.pub\"]},"
        "\"limits\":{\"classes\":[{\"name\":\"all\"}],\"rules\":[{\"class\":\"all\"}]}}";
    char path[600], want[700], err[CF_ERRLEN] = "";
    struct cf_config *cf = NULL;
    FILE *f;

    (void)state;
    snprintf(path, sizeof(path), "%s/rel.json", cf_test_dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(json, f);
    fclose(f);
    if (cf_load(path, &cf, err, sizeof(err)) != 0) {
        fail_msg("%s", err);
    }
    snprintf(want, sizeof(want), "%s/./srv.key", cf_test_dir);
    assert_string_equal(cf->listen.key, want);
    snprintf(want, sizeof(want), "%s/sa.pub", cf_test_dir);
    assert_string_equal(cf->auth.keys[0], want);
    assert_string_equal(cf->path, path);
    cf_unref(cf);
    unlink(path);
}

static void
test_file_errors_name_the_file_and_position(void **state)
{
    char path[600], want[800], err[CF_ERRLEN] = "";
    struct cf_config *cf = NULL;
    FILE *f;

    (void)state;
    snprintf(path, sizeof(path), "%s/missing.json", cf_test_dir);
    assert_int_equal(cf_load(path, &cf, err, sizeof(err)), -1);
    snprintf(want, sizeof(want), "%s: cannot open: No such file or directory", path);
    assert_string_equal(err, want);

    snprintf(path, sizeof(path), "%s/broken.json", cf_test_dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("{\n  \"listen\": {\n    \"cert\": \"x\",\n  }\n}\n", f);
    fclose(f);
    assert_int_equal(cf_load(path, &cf, err, sizeof(err)), -1);
    snprintf(want, sizeof(want), "%s:4:3: invalid JSON: string or '}' expected near '}'", path);
    assert_string_equal(err, want);
    assert_null(cf);
    unlink(path);
}

static void
test_snapshot_hash_is_the_first_64_bits_of_sha256(void **state)
{
    struct cf_config *a, *b;
    char h[17];

    (void)state;
    cf_hash_prefix("abc", 3, h);
    assert_string_equal(h, "ba7816bf8f01cfea"); /* FIPS 180-2 test vector */
    a = load_ok(MINIMAL);
    b = load_ok(MINIMAL " ");
    cf_hash_prefix(MINIMAL, strlen(MINIMAL), h);
    assert_string_equal(a->hash, h);
    assert_string_not_equal(a->hash, b->hash); /* the bytes, not the meaning */
    cf_unref(a);
    cf_unref(b);
}

static void
test_snapshots_live_until_the_last_reference_goes(void **state)
{
    struct cf_config *cf = load_ok(MINIMAL);

    (void)state;
    assert_ptr_equal(cf_ref(cf), cf);
    cf_unref(cf);
    /* Still ours: ASan would flag a use after free here. */
    assert_string_equal(cf->listen.address, "0.0.0.0:6443");
    cf_unref(cf);
    cf_unref(NULL);
    assert_null(cf_ref(NULL));
}

static void
test_every_example_loads_with_its_documented_shape(void **state)
{
    static const char *const names[] = {"sidecar.json", "incident-shed.json", "dry-run.json"};
    static const char *const classes[] = {"exempt",         "leader-election",  "nodes",
                                          "system",         "service-accounts", "unverified",
                                          "global-default", "catch-all"};
    struct cf_config *cf[3];
    size_t i, k;
    int sa;

    (void)state;
    unsetenv("FLOODGATE_UPSTREAM");
    unsetenv("FLOODGATE_LISTEN");
    unsetenv("FLOODGATE_ADMIN");
    for (i = 0; i < 3; i++) {
        cf[i] = load_example(names[i]);
        assert_int_equal(lim_policy_class_count(cf[i]->policy), 8);
        for (k = 0; k < 8; k++) {
            assert_true(lim_policy_class_index(cf[i]->policy, classes[k]) >= 0);
        }
        assert_string_equal(cf[i]->upstream.servers[0], "127.0.0.1:6444");
        assert_string_equal(cf[i]->listen.address, "0.0.0.0:6443");
        assert_string_equal(cf[i]->admin.address, "127.0.0.1:9444");
        assert_int_equal(lim_policy_class(cf[i]->policy, 0)->mode, LIM_MODE_EXEMPT);
    }
    /* dry-run: everything but the exempt class is shadowed. */
    for (k = 1; k < 8; k++) {
        assert_int_equal(lim_policy_class(cf[2]->policy, k)->mode, LIM_MODE_DRY_RUN);
        assert_int_equal(lim_policy_class(cf[0]->policy, k)->mode, LIM_MODE_ENFORCE);
    }
    /* incident-shed: the storm's class is much tighter than the default. */
    sa = lim_policy_class_index(cf[0]->policy, "service-accounts");
    assert_true(lim_policy_class(cf[1]->policy, (size_t)sa)->class_rate_mtps * 4 <=
                lim_policy_class(cf[0]->policy, (size_t)sa)->class_rate_mtps);
    assert_true(lim_policy_class(cf[1]->policy, (size_t)sa)->max_watches_per_key <
                lim_policy_class(cf[0]->policy, (size_t)sa)->max_watches_per_key);
    for (i = 0; i < 3; i++) {
        cf_unref(cf[i]);
    }
}

static void
test_examples_follow_the_environment(void **state)
{
    struct cf_config *cf;

    (void)state;
    setenv("FLOODGATE_UPSTREAM", "[::1]:16444", 1);
    setenv("FLOODGATE_LISTEN", "127.0.0.1:0", 1);
    cf = load_example("sidecar.json");
    assert_string_equal(cf->upstream.servers[0], "[::1]:16444");
    assert_string_equal(cf->listen.address, "127.0.0.1:0");
    cf_unref(cf);
    unsetenv("FLOODGATE_UPSTREAM");
    unsetenv("FLOODGATE_LISTEN");
}

static void
test_reload_keeps_classes_that_keep_their_names(void **state)
{
    struct cf_config *prev =
        load_ok(PRELUDE "\"limits\":{\"classes\":[{\"name\":\"system\"},{\"name\":\"gone\"},"
                        "{\"name\":\"nodes\"}],\"rules\":[{\"class\":\"gone\",\"users\":[\"u\"]},"
                        "{\"class\":\"nodes\",\"users\":[\"n\"]},{\"class\":\"system\"}]}}");
    struct cf_config *next = load_ok(
        "{\"listen\":{\"cert\":\"${CFT}/srv.crt\",\"key\":\"${CFT}/srv.key\","
        "\"client_ca\":\"${CFT}/ca.crt\"},"
        "\"upstream\":{\"server\":\"127.0.0.1:6444\",\"ca\":\"${CFT}/ca.crt\"},"
        "\"limits\":{\"classes\":[{\"name\":\"nodes\"},{\"name\":\"fresh\"},{\"name\":\"system\"}],"
        "\"rules\":[{\"class\":\"nodes\",\"groups\":[\"system:nodes\"]},"
        "{\"class\":\"system\",\"groups\":[\"system:authenticated\"]},{\"class\":\"fresh\"}]}}");
    bool kept[3];

    (void)state;
    assert_int_equal(cf_diff_classes(prev, next, kept), 2);
    assert_true(kept[0]);
    assert_false(kept[1]);
    assert_true(kept[2]);
    assert_int_equal(cf_diff_classes(NULL, next, kept), 0);
    assert_false(kept[0]);
    cf_unref(prev);
    cf_unref(next);
}

static void
test_reload_refuses_what_needs_a_restart(void **state)
{
    struct cf_config *a = load_ok(MINIMAL);
    struct cf_config *b;
    char err[CF_ERRLEN] = "";

    (void)state;
    b = load_ok(MINIMAL);
    assert_int_equal(cf_check_reloadable(a, b, err, sizeof(err)), 0);
    cf_unref(b);

    b = load_ok(PRELUDE "\"limits\":{\"max_clients\":7," ONE_CLASS);
    assert_int_equal(cf_check_reloadable(a, b, err, sizeof(err)), -1);
    assert_string_equal(err,
                        "limits.max_clients: cannot change without a restart (was 100000, now 7)");
    cf_unref(b);

    b = load_ok("{\"listen\":{\"address\":\"127.0.0.1:7443\",\"cert\":\"${CFT}/srv.crt\","
                "\"key\":\"${CFT}/srv.key\",\"client_ca\":\"${CFT}/ca.crt\"},"
                "\"upstream\":{\"server\":\"127.0.0.1:9999\",\"ca\":\"${CFT}/ca.crt\"},"
                "\"limits\":{\"classes\":[{\"name\":\"all\"}],\"rules\":[{\"class\":\"all\"}]}}");
    assert_int_equal(cf_check_reloadable(a, b, err, sizeof(err)), -1);
    assert_string_equal(err, "listen.address: cannot change without a restart (was "
                             "\"0.0.0.0:6443\", now \"127.0.0.1:7443\")");
    cf_unref(b);
    cf_unref(a);
}

static void
test_summary_lists_classes_in_match_order_with_their_rules(void **state)
{
    struct cf_config *cf = load_example("sidecar.json");
    size_t need = cf_summary(cf, NULL, 0), lines = 0;
    char *full = malloc(need + 1), small[64];
    const char *p, *exempt, *nodes, *catch_all;

    (void)state;
    assert_non_null(full);
    assert_int_equal(cf_summary(cf, full, need + 1), need);
    assert_int_equal(strlen(full), need);
    for (p = full; *p != '\0'; p++) {
        lines += *p == '\n';
    }
    assert_true(lines <= 40); /* one screen */
    exempt = strstr(full, "  1 exempt ");
    nodes = strstr(full, "  3 nodes ");
    catch_all = strstr(full, "  8 catch-all ");
    assert_non_null(exempt);
    assert_non_null(nodes);
    assert_non_null(catch_all);
    assert_true(exempt < nodes && nodes < catch_all);
    assert_non_null(strstr(full, "50/s burst 100 per node; class 2000/s burst 4000; 30% seats"));
    assert_non_null(strstr(full, "<- rules[3] groups system:nodes\n"));
    assert_non_null(strstr(full, "<- rules[8] everything else\n"));
    /* A short buffer gets a terminated prefix and the same answer. */
    assert_int_equal(cf_summary(cf, small, sizeof(small)), need);
    assert_int_equal(strlen(small), sizeof(small) - 1);
    assert_memory_equal(small, full, sizeof(small) - 1);
    free(full);
    cf_unref(cf);
}

static void
test_summary_shows_classes_no_rule_uses_last(void **state)
{
    struct cf_config *cf = load_ok(
        "{\"listen\":{\"cert\":\"${CFT}/srv.crt\",\"key\":\"${CFT}/srv.key\","
        "\"client_ca\":\"${CFT}/ca.crt\"},"
        "\"upstream\":{\"server\":\"127.0.0.1:6444\",\"ca\":\"${CFT}/ca.crt\"},"
        "\"limits\":{\"classes\":[{\"name\":\"idle\"},{\"name\":\"all\",\"mode\":\"exempt\"}],"
        "\"rules\":[{\"class\":\"all\"}]}}");
    char buf[4096];

    (void)state;
    cf_summary(cf, buf, sizeof(buf));
    assert_non_null(strstr(buf, "  1 all              exempt  never limited"));
    assert_non_null(strstr(buf, "  2 idle             enforce no budget of its own: global caps "
                                "only\n      (no rule sends requests to it)\n"));
    cf_unref(cf);
}

static int
setup(void **state)
{
    (void)state;
    return cf_test_pki_make();
}

static int
teardown(void **state)
{
    (void)state;
    cf_test_pki_remove();
    return 0;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_file_without_limits_gets_the_builtin_policy),
        cmocka_unit_test(test_omitted_keys_take_the_documented_defaults),
        cmocka_unit_test(test_every_key_is_read_into_its_field),
        cmocka_unit_test(test_relative_paths_resolve_against_the_file_directory),
        cmocka_unit_test(test_file_errors_name_the_file_and_position),
        cmocka_unit_test(test_snapshot_hash_is_the_first_64_bits_of_sha256),
        cmocka_unit_test(test_snapshots_live_until_the_last_reference_goes),
        cmocka_unit_test(test_every_example_loads_with_its_documented_shape),
        cmocka_unit_test(test_examples_follow_the_environment),
        cmocka_unit_test(test_reload_keeps_classes_that_keep_their_names),
        cmocka_unit_test(test_reload_refuses_what_needs_a_restart),
        cmocka_unit_test(test_summary_lists_classes_in_match_order_with_their_rules),
        cmocka_unit_test(test_summary_shows_classes_no_rule_uses_last),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
