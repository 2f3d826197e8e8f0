/* floodgate's admin plane, reached only on its own listener: /metrics
 * passes `promtool check metrics` after traffic, /healthz answers,
 * /readyz follows the upstream probe (false while the apiserver is down,
 * true once it is up), the admin paths sent to the public port go to the
 * apiserver like any path (and change nothing), a configured token is
 * required (401 without it), and the unix socket serves with mode 0600. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sys/stat.h>
#include <sys/wait.h>

#include "it_admin.h"

#define LIMITS                                                                                     \
    "\"classes\": [{\"name\": \"exempt\", \"mode\": \"exempt\", \"distinguisher\": \"none\"},"     \
    " {\"name\": \"users\", \"rate\": \"1/m\", \"burst\": 2}],"                                    \
    " \"rules\": [{\"class\": \"exempt\", \"groups\": [\"system:masters\"]},"                      \
    " {\"class\": \"users\"}]"

static struct it_fg fg;
static char body[1 << 20];

static int
setup(void **state)
{
    (void)state;
    if (it_fg_init(&fg, "admin-plane") != 0) {
        return -1;
    }
    /* The apiserver's address, with nothing on it yet: /readyz must say so. */
    it_fg_free_addr(fg.upstream, sizeof(fg.upstream));
    if (it_fg_config(&fg, "\"address\": \"\"", "\"level\": \"info\", \"format\": \"json\"",
                     LIMITS) != 0) {
        return -1;
    }
    return it_fg_start(&fg, "plane", NULL, 0);
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

static int
get(const char *path)
{
    return it_fg_http(fg.admin, "GET", path, NULL, NULL, body, sizeof(body));
}

static void
test_healthz_answers_and_readyz_follows_the_upstream(void **state)
{
    char addr[128];
    uint64_t end;
    int st = 0;

    (void)state;
    assert_int_equal(get("/healthz"), 200);
    assert_string_equal(body, "ok\n");
    end = it_fg_now_ms() + 5000;
    while (get("/readyz") != 503 || strstr(body, "[-]upstream failed") == NULL) {
        assert_true(it_fg_now_ms() < end);
        it_fg_sleep_ms(50);
    }
    assert_non_null(strstr(body, "[+]config ok"));
    assert_int_equal(it_fg_scrape(&fg, "floodgate_upstream_up"), 0);
    snprintf(addr, sizeof(addr), "%s", fg.upstream);
    assert_int_equal(it_fg_sim(&fg, addr, NULL), 0);
    end = it_fg_now_ms() + 5000;
    while ((st = get("/readyz")) != 200) {
        if (it_fg_now_ms() > end) {
            fail_msg("/readyz still %d after the apiserver came up: %s", st, body);
        }
        it_fg_sleep_ms(50);
    }
    assert_int_equal(it_fg_scrape(&fg, "floodgate_upstream_up"), 1);
    assert_true(it_fg_scrape(&fg, "floodgate_upstream_probes_total{result=\"success\"}") >= 1);
}

/* Runs promtool on a scrape taken after real traffic: admitted, rejected
 * and answered-early requests, so that every family has samples. */
static void
test_metrics_pass_promtool_after_traffic(void **state)
{
    char path[800], out[8192];
    struct it_resp r;
    FILE *f;
    int i;

    (void)state;
    for (i = 0; i < 4; i++) {
        assert_int_equal(it_request(fg.addr, fg.ca, it_fg_file(&fg, "alice", "crt"),
                                    it_fg_file(&fg, "alice", "key"), "GET",
                                    "/api/v1/namespaces/default", NULL, NULL, &r),
                         0);
        assert_int_equal(r.status, i < 2 ? 200 : 429);
        it_resp_free(&r);
    }
    assert_int_equal(it_request(fg.addr, fg.ca, it_fg_file(&fg, "admin", "crt"),
                                it_fg_file(&fg, "admin", "key"), "GET", "/api/v1/nodes", NULL, NULL,
                                &r),
                     0);
    assert_int_equal(r.status, 200);
    it_resp_free(&r);
    assert_int_equal(get("/metrics"), 200);
    snprintf(path, sizeof(path), "%s/metrics.txt", fg.dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(body, f);
    fclose(f);
    {
        char cmd[1000];
        char *argv[] = {(char *)"/bin/sh", (char *)"-c", cmd, NULL};

        snprintf(cmd, sizeof(cmd), "promtool check metrics < '%s'", path);
        if (it_run(argv, NULL, out, sizeof(out), 20000) != 0) {
            fail_msg("promtool check metrics: %s", out);
        }
    }
    assert_int_equal(it_fg_metric(body, "floodgate_requests_total{class=\"users\",verb=\"get\","
                                        "decision=\"reject\",code=\"429\"}"),
                     2);
    assert_int_equal(it_fg_metric(body, "floodgate_rejections_total{class=\"users\",reason="
                                        "\"rate\"}"),
                     2);
    assert_true(it_fg_metric(body, "floodgate_request_duration_seconds_count{class=\"exempt\"}") >=
                1);
    assert_true(it_fg_metric(body, "floodgate_tls_handshakes_total") >= 5);
    assert_int_equal(it_fg_metric(body, "floodgate_config_reloads_total{result=\"failure\"}"), 0);
    assert_non_null(strstr(body, "floodgate_config_info{hash=\""));
    assert_int_equal(it_fg_metric(body, "floodgate_shed_scale_ratio"), 1);
}

/* The public listener proxies every path: the admin ones reach the
 * apiserver (which has its own /metrics, and no /shed) and floodgate's
 * controls are not touched. */
static void
test_admin_paths_on_the_public_port_go_to_the_apiserver(void **state)
{
    struct it_resp r;

    (void)state;
    assert_int_equal(it_request(fg.addr, fg.ca, it_fg_file(&fg, "admin", "crt"),
                                it_fg_file(&fg, "admin", "key"), "GET", "/metrics", NULL, NULL, &r),
                     0);
    assert_int_equal(r.status, 200);
    assert_null(strstr(r.body, "floodgate_"));
    assert_non_null(strstr(r.body, "apisim_"));
    it_resp_free(&r);
    assert_int_equal(it_request(fg.addr, fg.ca, it_fg_file(&fg, "admin", "crt"),
                                it_fg_file(&fg, "admin", "key"), "POST", "/shed",
                                "Content-Type: application/json\r\n",
                                "{\"scale\": 1, \"reject_list_watch\": true}", &r),
                     0);
    assert_int_equal(r.status, 404); /* the apiserver's answer: Go's http.NotFound */
    assert_non_null(strstr(r.body, "404 page not found"));
    it_resp_free(&r);
    assert_int_equal(it_request(fg.addr, fg.ca, it_fg_file(&fg, "admin", "crt"),
                                it_fg_file(&fg, "admin", "key"), "POST", "/block",
                                "Content-Type: application/json\r\n",
                                "{\"user\": \"alice\", \"ttl\": \"10m\"}", &r),
                     0);
    assert_int_not_equal(r.status, 200);
    it_resp_free(&r);
    /* The simulator saw them, as the admin user floodgate asserted. */
    assert_int_equal(it_request(fg.addr, fg.ca, it_fg_file(&fg, "admin", "crt"),
                                it_fg_file(&fg, "admin", "key"), "GET", "/debug/requests?last=3",
                                NULL, NULL, &r),
                     0);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "/shed"));
    assert_non_null(strstr(r.body, "/block"));
    it_resp_free(&r);
    assert_int_equal(it_fg_scrape(&fg, "floodgate_shed_scale_ratio"), 1);
    assert_int_equal(it_fg_scrape(&fg, "floodgate_controls_total{action=\"shed\"}"), 0);
    assert_int_equal(it_fg_scrape(&fg, "floodgate_overrides{action=\"block\"}"), 0);
    assert_int_equal(get("/debug/config"), 200);
    assert_non_null(strstr(body, "\"scale_pct\": 100"));
}

static void
test_unknown_paths_and_methods_are_named_in_errors(void **state)
{
    (void)state;
    assert_int_equal(get("/nope"), 404);
    assert_non_null(strstr(body, "/nope: no such admin endpoint"));
    assert_int_equal(it_fg_http(fg.admin, "DELETE", "/metrics", NULL, NULL, body, sizeof(body)),
                     405);
    assert_int_equal(
        it_fg_http(fg.admin, "POST", "/shed", NULL, "{\"scale\": \"150%\"}", body, sizeof(body)),
        400);
    assert_non_null(strstr(body, "scale: expected a percentage 1..100"));
    assert_int_equal(get("/debug/clients?top=0"), 400);
    assert_non_null(strstr(body, "top: expected an integer"));
}

/* A second floodgate with a token file and a unix socket (and no TCP
 * admin address): 401 without the token, 200 with it, socket mode 0600. */
static void
test_token_is_required_and_the_unix_socket_serves(void **state)
{
    struct it_fg t;
    char admin[2000], tok[700], sock[800], status_body[4096];
    struct stat sb;
    FILE *f;

    (void)state;
    memcpy(&t, &fg, sizeof(t));
    snprintf(t.cfg, sizeof(t.cfg), "%s/floodgate-token.json", fg.dir);
    snprintf(tok, sizeof(tok), "%s/admin.token", fg.dir);
    snprintf(sock, sizeof(sock), "%s/admin.sock", fg.dir);
    f = fopen(tok, "w");
    assert_non_null(f);
    fputs("s3cret-token\n", f);
    fclose(f);
    snprintf(admin, sizeof(admin),
             "\"address\": \"127.0.0.1:0\", \"socket\": \"%s\", \"token_file\": \"%s\"", sock, tok);
    assert_int_equal(it_fg_config(&t, admin, "\"level\": \"info\"", LIMITS), 0);
    assert_int_equal(it_fg_start(&t, "token", NULL, 0), 0);
    assert_int_equal(
        it_fg_http(t.admin, "GET", "/metrics", NULL, NULL, status_body, sizeof(status_body)), 401);
    assert_int_equal(it_fg_http(t.admin, "GET", "/metrics", "Authorization: Bearer wrong\r\n", NULL,
                                status_body, sizeof(status_body)),
                     401);
    assert_int_equal(it_fg_http(t.admin, "POST", "/shed", "Authorization: Bearer s3cret-toke\r\n",
                                "{\"scale\": 10}", status_body, sizeof(status_body)),
                     401);
    assert_int_equal(it_fg_http(t.admin, "GET", "/healthz",
                                "Authorization: Bearer s3cret-token\r\n", NULL, status_body,
                                sizeof(status_body)),
                     200);
    assert_int_equal(stat(sock, &sb), 0);
    assert_true(S_ISSOCK(sb.st_mode));
    assert_int_equal(sb.st_mode & 0777, 0600);
    {
        char unix_addr[900];

        snprintf(unix_addr, sizeof(unix_addr), "unix:%s", sock);
        assert_int_equal(
            it_fg_http(unix_addr, "GET", "/healthz", NULL, NULL, status_body, sizeof(status_body)),
            401);
        assert_int_equal(it_fg_http(unix_addr, "POST", "/shed",
                                    "Authorization: Bearer s3cret-token\r\n",
                                    "{\"scale\": \"40%\"}", status_body, sizeof(status_body)),
                         200);
        assert_non_null(strstr(status_body, "\"scale_pct\": 40"));
    }
    assert_true(it_fg_count_lines(t.log, "admin request refused") >= 3);
    assert_int_equal(it_fg_count_lines(t.log, "\"peer\":\"unix\""), 2);
    assert_int_equal(WEXITSTATUS(it_stop(t.pid, SIGTERM, 10000)), 0);
    assert_int_not_equal(stat(sock, &sb), 0); /* removed at exit */
}

static void
test_a_public_admin_address_without_a_token_is_refused(void **state)
{
    struct it_fg t;
    char out[4096];
    char *argv[8];

    (void)state;
    memcpy(&t, &fg, sizeof(t));
    snprintf(t.cfg, sizeof(t.cfg), "%s/floodgate-public.json", fg.dir);
    assert_int_equal(it_fg_config(&t, "\"address\": \"\"", "\"level\": \"info\"", LIMITS), 0);
    argv[0] = (char *)it_bin("floodgate");
    argv[1] = (char *)"run";
    argv[2] = (char *)"--config";
    argv[3] = t.cfg;
    argv[4] = (char *)"--admin-listen";
    argv[5] = (char *)"0.0.0.0:0";
    argv[6] = NULL;
    assert_int_equal(it_run(argv, NULL, out, sizeof(out), 10000), 1);
    assert_non_null(strstr(out, "not a loopback address, and no admin.token_file is set"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_healthz_answers_and_readyz_follows_the_upstream),
        cmocka_unit_test(test_metrics_pass_promtool_after_traffic),
        cmocka_unit_test(test_admin_paths_on_the_public_port_go_to_the_apiserver),
        cmocka_unit_test(test_unknown_paths_and_methods_are_named_in_errors),
        cmocka_unit_test(test_token_is_required_and_the_unix_socket_serves),
        cmocka_unit_test(test_a_public_admin_address_without_a_token_is_refused),
    };

    return it_finish(cmocka_run_group_tests(tests, setup, teardown));
}
