/* Reloads under load: floodgate-load sends a steady stream through
 * floodgate to floodgate-apisim while the configuration file is rewritten
 * and SIGHUPed three times, the second time with an invalid file. Not one
 * request fails (no 5xx, no transport error, no 429: the load's budget is
 * loose); the changed budgets are in effect (a class tightened to 1/m
 * rejects, /debug/config shows the new rates, a class added then removed);
 * the invalid file is refused with its JSON path in the log, the reload
 * metrics count 2 successes and 1 failure, the class the load uses kept
 * its counters across all three, and a watch open across them is still
 * counted, still streaming, and released when it ends. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sys/wait.h>

#include <jansson.h>

#include "it_admin.h"

#define CLASSES(nodes_rate, users_rate, users_burst, extra)                                        \
    "\"classes\": [{\"name\": \"exempt\", \"mode\": \"exempt\", \"distinguisher\": \"none\"},"     \
    " {\"name\": \"nodes\", \"rate\": \"" nodes_rate "\", \"burst\": 2000},"                       \
    " {\"name\": \"users\", \"rate\": \"" users_rate "\", \"burst\": " users_burst "}" extra "],"  \
    " \"rules\": [{\"class\": \"exempt\", \"groups\": [\"system:masters\"]},"                      \
    " {\"class\": \"nodes\", \"groups\": [\"system:nodes\"]},"                                     \
    " {\"class\": \"users\"}]"

#define V1      CLASSES("2000/s", "100/s", "100", "")
#define V2      CLASSES("2000/s", "1/m", "1", ", {\"name\": \"batch\", \"rate\": \"5/s\", \"burst\": 5}")
#define INVALID CLASSES("2000/s", "1/m", "-4", "")
#define V3      CLASSES("3000/s", "1/m", "1", "")

#define RATE     240 /* requests a second from the load, 10 per connection */
#define DURATION 6   /* seconds */

static struct it_fg fg;
static char body[1 << 20];

static int
setup(void **state)
{
    (void)state;
    if (it_fg_init(&fg, "admin-reload") != 0 || it_fg_sim(&fg, "127.0.0.1:0", NULL) != 0 ||
        it_fg_config(&fg, "\"address\": \"\"", "\"level\": \"info\"", V1) != 0) {
        return -1;
    }
    return it_fg_start(&fg, "reload", NULL, 0);
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

/* Rewrites the configuration as an editor would (a new file renamed
 * over the old one), then SIGHUP. */
static void
rewrite_and_hup(const char *limits)
{
    static struct it_fg t;

    memcpy(&t, &fg, sizeof(t));
    snprintf(t.cfg, sizeof(t.cfg), "%s/floodgate.json.new", fg.dir);
    assert_int_equal(it_fg_config(&t, "\"address\": \"\"", "\"level\": \"info\"", limits), 0);
    assert_int_equal(rename(t.cfg, fg.cfg), 0);
    assert_int_equal(kill(fg.pid, SIGHUP), 0);
}

static int
alice(void)
{
    struct it_resp r;
    int status;

    assert_int_equal(it_request(fg.addr, fg.ca, it_fg_file(&fg, "alice", "crt"),
                                it_fg_file(&fg, "alice", "key"), "GET",
                                "/api/v1/namespaces/default", NULL, NULL, &r),
                     0);
    status = r.status;
    it_resp_free(&r);
    return status;
}

static void
test_three_reloads_under_load_fail_no_request(void **state)
{
    char url[200], report[800], rate[16], dur[16], log[800];
    char *argv[24];
    json_t *rep, *totals, *codes;
    struct it_conn *watch;
    struct it_resp wr;
    pid_t load;
    int n = 0, st;

    (void)state;
    snprintf(url, sizeof(url), "https://%s/api/v1/namespaces/default", fg.addr);
    snprintf(report, sizeof(report), "%s/load.json", fg.dir);
    snprintf(log, sizeof(log), "%s/load.log", fg.dir);
    snprintf(rate, sizeof(rate), "%d", RATE);
    snprintf(dur, sizeof(dur), "%ds", DURATION);
    argv[n++] = (char *)it_bin("floodgate-load");
    argv[n++] = (char *)"-t";
    argv[n++] = (char *)"1";
    argv[n++] = (char *)"-c";
    argv[n++] = (char *)"24";
    argv[n++] = (char *)"-r";
    argv[n++] = rate;
    argv[n++] = (char *)"-d";
    argv[n++] = dur;
    argv[n++] = (char *)"--ca";
    argv[n++] = fg.ca;
    argv[n++] = (char *)"--cert";
    argv[n++] = (char *)it_fg_file(&fg, "system_node_node-1", "crt");
    argv[n++] = (char *)"--key";
    argv[n++] = (char *)it_fg_file(&fg, "system_node_node-1", "key");
    argv[n++] = (char *)"--no-retry-after";
    argv[n++] = (char *)"--timeout";
    argv[n++] = (char *)"5s";
    argv[n++] = (char *)"--json";
    argv[n++] = report;
    argv[n++] = (char *)"-q";
    argv[n++] = url;
    argv[n] = NULL;
    assert_int_equal(alice(), 200);
    assert_int_equal(alice(), 200);
    /* A watch open across the reloads: still counted, still streaming,
     * and released by the limiter under the last policy. */
    watch = it_connect(fg.addr, fg.ca, it_fg_file(&fg, "system_node_node-1", "crt"),
                       it_fg_file(&fg, "system_node_node-1", "key"), 5000);
    assert_non_null(watch);
    assert_int_equal(it_sendf(watch, "GET /api/v1/namespaces/kube-system/pods?watch=true "
                                     "HTTP/1.1\r\nHost: localhost\r\n\r\n"),
                     0);
    assert_int_equal(it_recv(watch, "GET", &wr, 1, 5000), 0);
    assert_int_equal(wr.status, 200);
    load = it_spawn(argv, NULL, log);
    assert_true(load > 0);

    it_fg_sleep_ms(1500);
    rewrite_and_hup(V2);
    assert_int_equal(
        it_fg_wait_metric(&fg, "floodgate_config_reloads_total{result=\"success\"}", 1, 3000), 1);
    it_fg_sleep_ms(1000);
    rewrite_and_hup(INVALID);
    assert_int_equal(
        it_fg_wait_metric(&fg, "floodgate_config_reloads_total{result=\"failure\"}", 1, 3000), 1);
    it_fg_sleep_ms(1000);
    rewrite_and_hup(V3);
    assert_int_equal(
        it_fg_wait_metric(&fg, "floodgate_config_reloads_total{result=\"success\"}", 2, 3000), 2);

    st = it_stop(load, 0, (DURATION + 20) * 1000);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    rep = json_load_file(report, 0, NULL);
    assert_non_null(rep);
    totals = json_object_get(rep, "totals");
    codes = json_object_get(totals, "codes");
    if (json_integer_value(json_object_get(totals, "errors")) != 0 ||
        json_object_size(codes) != 1) {
        char *dump = json_dumps(totals, JSON_INDENT(1));

        fail_msg("the load saw failures across the reloads: %s", dump);
    }
    assert_true(json_integer_value(json_object_get(codes, "200")) >= RATE * DURATION * 9 / 10);
    /* The class the load uses kept its state through three reloads: its
     * admissions are all the load's (those still in flight when the load
     * stopped included, one per connection at most), none forgotten. */
    {
        double admitted = it_fg_scrape(&fg, "floodgate_admitted_total{class=\"nodes\"}");
        double ok = (double)json_integer_value(json_object_get(codes, "200"));

        if (admitted < ok || admitted > ok + 24) {
            fail_msg("nodes admitted %.0f, the load got %.0f answers", admitted, ok);
        }
    }
    json_decref(rep);

    assert_int_equal(it_fg_scrape(&fg, "floodgate_watches_open{class=\"nodes\"}"), 1);
    assert_int_equal(it_wait_closed(watch, 100), 0);
    assert_int_equal(it_recv_body(watch, &wr, 4096, 500), 0);
    assert_false(wr.complete);
    it_resp_free(&wr);
    it_close(watch);
    {
        uint64_t end = it_fg_now_ms() + 3000;

        while (it_fg_scrape(&fg, "floodgate_watches_open{class=\"nodes\"}") != 0) {
            assert_true(it_fg_now_ms() < end);
            it_fg_sleep_ms(50);
        }
    }

    /* The changed budgets are in effect. */
    assert_int_equal(alice(), 200);
    assert_int_equal(alice(), 429); /* users: 1/m burst 1 now */
    assert_int_equal(it_fg_http(fg.admin, "GET", "/debug/config", NULL, NULL, body, sizeof(body)),
                     200);
    assert_non_null(strstr(body, "\"text\": \"3000/s\""));
    assert_non_null(strstr(body, "\"text\": \"1.02/m\""));
    assert_null(strstr(body, "\"batch\""));
    assert_non_null(strstr(body, "\"failure\": 1"));
    assert_non_null(strstr(body, "\"last_error\": \"\"")); /* the last reload succeeded */

    /* The invalid file: refused with its path, the old one kept running. */
    assert_int_equal(it_fg_count_lines(fg.log, "\"msg\":\"configuration reload refused; the "
                                               "running one stays\""),
                     1);
    assert_int_equal(it_fg_count_lines(fg.log, "limits.classes[2].burst: expected an integer >= "
                                               "1, got -4"),
                     1);
    assert_int_equal(it_fg_count_lines(fg.log, "\"added\":\"batch\""), 1);
    assert_int_equal(it_fg_count_lines(fg.log, "\"removed\":\"batch\""), 1);
    assert_int_equal(it_fg_scrape(&fg, "floodgate_config_last_reload_successful"), 1);
}

/* The serial of the certificate floodgate presents to a new client. */
static void
served_serial(char *out, size_t len)
{
    char cmd[2000];
    char *argv[] = {(char *)"/bin/sh", (char *)"-c", cmd, NULL};

    snprintf(cmd, sizeof(cmd),
             "openssl s_client -connect %s -CAfile '%s' </dev/null 2>/dev/null | "
             "openssl x509 -noout -serial",
             fg.addr, fg.ca);
    assert_int_equal(it_run(argv, NULL, out, len, 10000), 0);
    assert_non_null(strstr(out, "serial="));
}

/* A renewed serving certificate is served after a reload, without a
 * restart; the same file with a key that does not match is refused. */
static void
test_reload_serves_a_renewed_certificate(void **state)
{
    char before[256], after[256], cmd[2000], out[4096];
    char *argv[] = {(char *)"/bin/sh", (char *)"-c", cmd, NULL};
    double ok;

    (void)state;
    served_serial(before, sizeof(before));
    snprintf(cmd, sizeof(cmd),
             "bash '%s' --dir '%s' --force serving --names localhost --ips 127.0.0.1,::1",
             it_src("deploy/pki.sh"), fg.pki);
    assert_int_equal(it_run(argv, NULL, out, sizeof(out), 30000), 0);
    ok = it_fg_scrape(&fg, "floodgate_config_reloads_total{result=\"success\"}");
    assert_int_equal(kill(fg.pid, SIGHUP), 0);
    assert_true(it_fg_wait_metric(&fg, "floodgate_config_reloads_total{result=\"success\"}", ok + 1,
                                  3000) == ok + 1);
    served_serial(after, sizeof(after));
    assert_string_not_equal(before, after);
    assert_int_equal(alice(), 429); /* still the same limiter state */

    /* A key that belongs to another certificate: refused, naming the file. */
    snprintf(cmd, sizeof(cmd), "cp '%s/admin.key' '%s/floodgate.key'", fg.pki, fg.pki);
    assert_int_equal(it_run(argv, NULL, out, sizeof(out), 5000), 0);
    assert_int_equal(it_fg_http(fg.admin, "POST", "/reload", NULL, NULL, body, sizeof(body)), 400);
    assert_non_null(strstr(body, "listen.key"));
    assert_int_equal(it_fg_scrape(&fg, "floodgate_config_last_reload_successful"), 0);
    served_serial(out, sizeof(out));
    assert_string_equal(out, after); /* the running certificate stays */
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_three_reloads_under_load_fail_no_request),
        cmocka_unit_test(test_reload_serves_a_renewed_certificate),
    };

    return it_finish(cmocka_run_group_tests(tests, setup, teardown));
}
