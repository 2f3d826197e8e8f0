/* The operator controls change what floodgate does, as an incident needs:
 * shed rejects every non-exempt LIST and watch (reason "shed") while
 * system:masters still gets through; a class switched to dry-run admits
 * what enforce rejected and counts it in floodgate_would_reject_total; a
 * block or an allow with a TTL holds until it expires; /debug/clients
 * ranks the heaviest identity first; and a storm of rejections leaves a
 * bounded number of log lines plus one summary per class. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sys/wait.h>

#include <jansson.h>

#include "it_admin.h"

#define LIMITS                                                                                     \
    "\"classes\": [{\"name\": \"exempt\", \"mode\": \"exempt\", \"distinguisher\": \"none\"},"     \
    " {\"name\": \"nodes\", \"rate\": \"1000/s\", \"burst\": 1000},"                               \
    " {\"name\": \"users\", \"rate\": \"1/m\", \"burst\": 1}],"                                    \
    " \"rules\": [{\"class\": \"exempt\", \"groups\": [\"system:masters\"]},"                      \
    " {\"class\": \"nodes\", \"groups\": [\"system:nodes\"]},"                                     \
    " {\"class\": \"users\"}]"

#define PER_S 5 /* log.reject_log_per_s */

static struct it_fg fg;
static char body[1 << 20];

static int
setup(void **state)
{
    char log[128];

    (void)state;
    if (it_fg_init(&fg, "admin-controls") != 0 || it_fg_sim(&fg, "127.0.0.1:0", NULL) != 0) {
        return -1;
    }
    snprintf(log, sizeof(log), "\"level\": \"info\", \"reject_log_per_s\": %d", PER_S);
    if (it_fg_config(&fg, "\"address\": \"\"", log, LIMITS) != 0) {
        return -1;
    }
    return it_fg_start(&fg, "controls", NULL, 0);
}

static int
teardown(void **state)
{
    (void)state;
    if (fg.pid > 0) {
        assert_int_equal(WEXITSTATUS(it_stop(fg.pid, SIGTERM, 10000)), 0);
    }
    if (fg.sim > 0) {
        it_stop(fg.sim, SIGTERM, 10000);
    }
    return 0;
}

/* One request as client certificate <who>: its status, and the
 * X-Floodgate-Reason of a 429 into <reason> (may be NULL). Watches are
 * read to their response head only. */
static int
as(const char *who, const char *path, char *reason, size_t rlen)
{
    struct it_conn *c =
        it_connect(fg.addr, fg.ca, it_fg_file(&fg, who, "crt"), it_fg_file(&fg, who, "key"), 5000);
    struct it_resp r;
    int status;

    assert_non_null(c);
    assert_int_equal(it_sendf(c, "GET %s HTTP/1.1\r\nHost: localhost\r\n\r\n", path), 0);
    assert_int_equal(it_recv(c, "GET", &r, strstr(path, "watch=") != NULL ? 1 : 1 << 20, 5000), 0);
    status = r.status;
    if (reason != NULL) {
        const char *h = it_header(&r, "X-Floodgate-Reason");

        snprintf(reason, rlen, "%s", h != NULL ? h : "");
    }
    it_resp_free(&r);
    it_close(c);
    return status;
}

static int
post(const char *path, const char *json)
{
    return it_fg_http(fg.admin, "POST", path, NULL, json, body, sizeof(body));
}

#define NS      "/api/v1/namespaces/default"
#define WATCH   "/api/v1/namespaces/default/pods?watch=true"
#define NODE    "system_node_node-1"
#define MASTERS "admin"

/* /debug/explain of the running limiter: class, verdict and reason, live. */
static void
explain_says(const char *path, const char *cls, const char *verdict, const char *reason)
{
    json_t *root;

    assert_int_equal(it_fg_http(fg.admin, "GET", path, NULL, NULL, body, sizeof(body)), 200);
    root = json_loads(body, 0, NULL);
    assert_non_null(root);
    assert_true(json_is_true(json_object_get(json_object_get(root, "state"), "live")));
    assert_string_equal(json_string_value(json_object_get(json_object_get(root, "class"), "name")),
                        cls);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(root, "decision"), "verdict")), verdict);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(root, "decision"), "reason")), reason);
    json_decref(root);
}

static void
test_shed_rejects_non_exempt_list_and_watch_while_masters_pass(void **state)
{
    char reason[64];

    (void)state;
    assert_int_equal(as(NODE, WATCH, NULL, 0), 200);
    assert_int_equal(post("/shed", "{\"scale\": \"50%\", \"reject_list_watch\": true}"), 200);
    assert_non_null(strstr(body, "\"scale_pct\": 50"));
    assert_int_equal(as(NODE, WATCH, reason, sizeof(reason)), 429);
    assert_string_equal(reason, "shed");
    assert_int_equal(as(NODE, "/api/v1/namespaces/default/pods", reason, sizeof(reason)), 429);
    assert_string_equal(reason, "shed");
    assert_int_equal(as(NODE, NS, NULL, 0), 200); /* a GET: scaled, not shed */
    explain_says("/debug/explain?target=%2Fapi%2Fv1%2Fnamespaces%2Fdefault%2Fpods%3Fwatch%3Dtrue"
                 "&user=system:node:node-1&group=system:nodes",
                 "nodes", "reject", "shed");
    explain_says("/debug/explain?target=" WATCH "&user=root&group=x,system:masters", "exempt",
                 "admit", "none");
    assert_int_equal(it_fg_http(fg.admin, "GET", "/debug/explain?target=/api/v1/%%", NULL, NULL,
                                body, sizeof(body)),
                     400);
    assert_int_equal(
        it_fg_http(fg.admin, "GET", "/debug/explain?group=a", NULL, NULL, body, sizeof(body)), 400);
    assert_non_null(strstr(body, "target: expected"));
    /* Break-glass: the exempt class keeps its reserved seats. */
    assert_int_equal(as(MASTERS, WATCH, NULL, 0), 200);
    assert_int_equal(as(MASTERS, "/api/v1/pods", NULL, 0), 200);
    assert_int_equal(it_fg_scrape(&fg, "floodgate_rejections_total{class=\"nodes\",reason="
                                       "\"shed\"}"),
                     2);
    assert_true(it_fg_scrape(&fg, "floodgate_shed_scale_ratio") == 0.5);
    assert_int_equal(it_fg_scrape(&fg, "floodgate_shed_list_watch"), 1);
    assert_int_equal(it_fg_scrape(&fg, "floodgate_controls_total{action=\"shed\"}"), 1);
    assert_true(it_fg_count_lines(fg.log, "\"msg\":\"admin control\",\"action\":\"shed\"") == 1);
    assert_int_equal(post("/shed", "{\"scale\": 100}"), 200);
    assert_int_equal(as(NODE, WATCH, NULL, 0), 200);
    assert_int_equal(it_fg_scrape(&fg, "floodgate_shed_list_watch"), 0);
}

static void
test_dry_run_admits_what_enforce_rejected_and_counts_it(void **state)
{
    char reason[64];

    (void)state;
    assert_int_equal(as("alice", NS, NULL, 0), 200);
    assert_int_equal(as("alice", NS, reason, sizeof(reason)), 429);
    assert_string_equal(reason, "rate");
    assert_int_equal(post("/classes/users/mode", "{\"mode\": \"dry-run\"}"), 200);
    assert_non_null(strstr(body, "\"previous\": \"enforce\""));
    assert_int_equal(as("alice", NS, NULL, 0), 200);
    assert_int_equal(as("alice", NS, NULL, 0), 200);
    assert_int_equal(it_fg_scrape(&fg, "floodgate_would_reject_total{class=\"users\",reason="
                                       "\"rate\"}"),
                     2);
    assert_int_equal(it_fg_scrape(&fg, "floodgate_class_mode{class=\"users\",mode=\"dry-run\"}"),
                     1);
    assert_int_equal(it_fg_scrape(&fg, "floodgate_requests_total{class=\"users\",verb=\"get\","
                                       "decision=\"dry_run\",code=\"2xx\"}"),
                     2);
    assert_int_equal(it_fg_http(fg.admin, "GET", "/debug/config", NULL, NULL, body, sizeof(body)),
                     200);
    assert_non_null(strstr(body, "\"mode\": \"dry-run\""));
    assert_int_equal(post("/classes/users/mode", "{\"mode\": \"policy\"}"), 200);
    assert_int_equal(as("alice", NS, reason, sizeof(reason)), 429);
    explain_says("/debug/explain?target=" NS "&user=alice", "users", "reject", "rate");
    assert_int_equal(post("/classes/nobody/mode", "{\"mode\": \"dry-run\"}"), 404);
    assert_int_equal(post("/classes/users/mode", "{\"mode\": \"dryrun\"}"), 400);
    assert_non_null(strstr(body, "mode: expected"));
}

/* Polls <who> until it gets <want>; returns the milliseconds it took. */
static uint64_t
until_status(const char *who, int want, int timeout_ms)
{
    uint64_t start = it_fg_now_ms();

    while (as(who, NS, NULL, 0) != want) {
        if (it_fg_now_ms() - start > (uint64_t)timeout_ms) {
            fail_msg("%s did not get %d within %d ms", who, want, timeout_ms);
        }
        it_fg_sleep_ms(50);
    }
    return it_fg_now_ms() - start;
}

static void
test_block_with_a_ttl_rejects_until_it_expires(void **state)
{
    char reason[64];
    uint64_t t0 = it_fg_now_ms(), took;

    (void)state;
    assert_int_equal(as(NODE, NS, NULL, 0), 200);
    assert_int_equal(post("/block", "{\"user\": \"system:node:node-1\", \"ttl\": \"1500ms\"}"),
                     200);
    assert_int_equal(as(NODE, NS, reason, sizeof(reason)), 429);
    assert_string_equal(reason, "blocked");
    assert_int_equal(it_fg_scrape(&fg, "floodgate_overrides{action=\"block\"}"), 1);
    took = until_status(NODE, 200, 4000);
    assert_true(it_fg_now_ms() - t0 >= 1400);
    (void)took;
    assert_int_equal(it_fg_scrape(&fg, "floodgate_overrides{action=\"block\"}"), 0);
    /* Lifted early. */
    assert_int_equal(post("/block", "{\"user\": \"system:node:node-1\", \"ttl\": \"10m\"}"), 200);
    assert_int_equal(as(NODE, NS, NULL, 0), 429);
    assert_int_equal(it_fg_http(fg.admin, "DELETE", "/block?user=system:node:node-1", NULL, NULL,
                                body, sizeof(body)),
                     200);
    assert_int_equal(as(NODE, NS, NULL, 0), 200);
    assert_int_equal(it_fg_http(fg.admin, "DELETE", "/block?user=system:node:node-1", NULL, NULL,
                                body, sizeof(body)),
                     404);
    assert_int_equal(post("/block", "{\"user\": \"x\", \"ttl\": 5}"), 400);
    assert_non_null(strstr(body, "ttl: expected a duration"));
    assert_int_equal(post("/block", "{\"ttl\": \"5s\"}"), 400);
    assert_non_null(strstr(body, "user: expected"));
}

static void
test_allow_with_a_ttl_exempts_until_it_expires(void **state)
{
    uint64_t t0;

    (void)state;
    assert_int_equal(as("alice", NS, NULL, 0), 429); /* its bucket is empty for a minute */
    t0 = it_fg_now_ms();
    assert_int_equal(post("/allow", "{\"user\": \"alice\", \"ttl\": \"1500ms\"}"), 200);
    assert_int_equal(as("alice", NS, NULL, 0), 200);
    assert_int_equal(as("alice", NS, NULL, 0), 200);
    assert_int_equal(it_fg_scrape(&fg, "floodgate_overrides{action=\"allow\"}"), 1);
    until_status("alice", 429, 4000);
    assert_true(it_fg_now_ms() - t0 >= 1400);
    assert_int_equal(it_fg_scrape(&fg, "floodgate_controls_total{action=\"allow\"}"), 1);
}

static void
test_debug_clients_ranks_the_heaviest_identity_first(void **state)
{
    struct it_conn *c = it_connect(fg.addr, fg.ca, it_fg_file(&fg, NODE, "crt"),
                                   it_fg_file(&fg, NODE, "key"), 5000);
    json_t *root, *first;
    int i;

    (void)state;
    assert_non_null(c);
    for (i = 0; i < 60; i++) {
        struct it_resp r;

        assert_int_equal(it_sendf(c, "GET " NS " HTTP/1.1\r\nHost: localhost\r\n\r\n"), 0);
        assert_int_equal(it_recv(c, "GET", &r, 1 << 20, 5000), 0);
        assert_int_equal(r.status, 200);
        it_resp_free(&r);
    }
    it_close(c);
    assert_int_equal(
        it_fg_http(fg.admin, "GET", "/debug/clients?top=3&by=rate", NULL, NULL, body, sizeof(body)),
        200);
    root = json_loads(body, 0, NULL);
    assert_non_null(root);
    first = json_array_get(json_object_get(root, "clients"), 0);
    assert_string_equal(json_string_value(json_object_get(first, "key")), "system:node:node-1");
    assert_string_equal(json_string_value(json_object_get(first, "class")), "nodes");
    assert_true(json_integer_value(json_object_get(first, "requests")) >= 60);
    assert_true(json_real_value(json_object_get(first, "rate_per_second")) > 0);
    json_decref(root);
    assert_int_equal(
        it_fg_http(fg.admin, "GET", "/debug/clients?by=rejects", NULL, NULL, body, sizeof(body)),
        200);
    root = json_loads(body, 0, NULL);
    first = json_array_get(json_object_get(root, "clients"), 0);
    assert_string_equal(json_string_value(json_object_get(first, "key")), "alice");
    assert_true(json_integer_value(json_object_get(first, "rejects")) >= 3);
    json_decref(root);
    assert_int_equal(
        it_fg_http(fg.admin, "GET", "/debug/clients?by=size", NULL, NULL, body, sizeof(body)), 400);
}

/* 3,000 rejections in a burst: at most PER_S full lines a second, and the
 * rest in one summary line for the class within the 10 s window. */
static void
test_a_storm_of_rejections_leaves_a_bounded_log(void **state)
{
    struct it_conn *c = it_connect(fg.addr, fg.ca, it_fg_file(&fg, "alice", "crt"),
                                   it_fg_file(&fg, "alice", "key"), 5000);
    long before, lines;
    uint64_t t0, secs;
    int i, n = 3000;

    (void)state;
    assert_non_null(c);
    /* The earlier tests' rejections used this second's budget: start on
     * a fresh one. */
    it_fg_sleep_ms(1100);
    before = it_fg_count_lines(fg.log, "\"msg\":\"rejected\"");
    t0 = it_fg_now_ms();
    for (i = 0; i < n; i++) {
        struct it_resp r;

        assert_int_equal(it_sendf(c, "GET " NS " HTTP/1.1\r\nHost: localhost\r\n\r\n"), 0);
        assert_int_equal(it_recv(c, "GET", &r, 1 << 20, 5000), 0);
        assert_int_equal(r.status, 429);
        it_resp_free(&r);
    }
    it_close(c);
    secs = (it_fg_now_ms() - t0) / 1000 + 2; /* seconds the burst touched */
    lines = it_fg_count_lines(fg.log, "\"msg\":\"rejected\"") - before;
    if (lines > (long)(PER_S * secs)) {
        fail_msg("%ld rejection lines in %llu s, at most %d a second", lines,
                 (unsigned long long)secs, PER_S);
    }
    assert_true(lines >= PER_S);
    {
        uint64_t end = it_fg_now_ms() + 12000;

        while (it_fg_count_lines(fg.log, "more from class users in the last 10s") < 1) {
            assert_true(it_fg_now_ms() < end);
            it_fg_sleep_ms(200);
        }
    }
    assert_true(it_fg_scrape(&fg, "floodgate_rejection_logs_suppressed_total") >= n - lines);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shed_rejects_non_exempt_list_and_watch_while_masters_pass),
        cmocka_unit_test(test_dry_run_admits_what_enforce_rejected_and_counts_it),
        cmocka_unit_test(test_block_with_a_ttl_rejects_until_it_expires),
        cmocka_unit_test(test_allow_with_a_ttl_exempts_until_it_expires),
        cmocka_unit_test(test_debug_clients_ranks_the_heaviest_identity_first),
        cmocka_unit_test(test_a_storm_of_rejections_leaves_a_bounded_log),
    };

    return it_finish(cmocka_run_group_tests(tests, setup, teardown));
}
