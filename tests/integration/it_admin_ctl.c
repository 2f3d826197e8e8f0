/* floodgate ctl against a running floodgate whose apiserver is down (ctl
 * must not need it): each command's human output and exit status (0
 * success, 1 an error answer or no endpoint, 2 usage), --json, the token
 * file, and the unix socket. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sys/wait.h>

#include "it_admin.h"

#define LIMITS                                                                                     \
    "\"classes\": [{\"name\": \"exempt\", \"mode\": \"exempt\", \"distinguisher\": \"none\"},"     \
    " {\"name\": \"users\", \"rate\": \"5/s\", \"burst\": 10}],"                                   \
    " \"rules\": [{\"class\": \"exempt\", \"groups\": [\"system:masters\"]},"                      \
    " {\"class\": \"users\"}]"

static struct it_fg fg;
static char tok[700], sock[800], unix_addr[900];
static char out[1 << 20];

static int
setup(void **state)
{
    char admin[2000];
    FILE *f;

    (void)state;
    if (it_fg_init(&fg, "admin-ctl") != 0) {
        return -1;
    }
    it_fg_free_addr(fg.upstream, sizeof(fg.upstream)); /* nothing there */
    snprintf(tok, sizeof(tok), "%s/admin.token", fg.dir);
    snprintf(sock, sizeof(sock), "%s/admin.sock", fg.dir);
    snprintf(unix_addr, sizeof(unix_addr), "unix:%s", sock);
    f = fopen(tok, "w");
    if (f == NULL) {
        return -1;
    }
    fputs("ctl-token\n", f);
    fclose(f);
    snprintf(admin, sizeof(admin), "\"socket\": \"%s\", \"token_file\": \"%s\"", sock, tok);
    if (it_fg_config(&fg, admin, "\"level\": \"info\", \"format\": \"text\"", LIMITS) != 0) {
        return -1;
    }
    return it_fg_start(&fg, "ctl", NULL, 0);
}

static int
teardown(void **state)
{
    (void)state;
    if (fg.pid > 0) {
        assert_int_equal(WEXITSTATUS(it_stop(fg.pid, SIGTERM, 10000)), 0);
    }
    return 0;
}

/* floodgate ctl --admin ADDR --token-file TOK ARGS...: exit status, output in out. */
static int
ctl_at(const char *addr, int with_token, const char *const *args)
{
    char *argv[24];
    int n = 0;

    argv[n++] = (char *)it_bin("floodgate");
    argv[n++] = (char *)"ctl";
    argv[n++] = (char *)"--admin";
    argv[n++] = (char *)addr;
    if (with_token) {
        argv[n++] = (char *)"--token-file";
        argv[n++] = tok;
    }
    while (*args != NULL && n < 23) {
        argv[n++] = (char *)*args++;
    }
    argv[n] = NULL;
    return it_run(argv, NULL, out, sizeof(out), 15000);
}

#define CTL(...) ctl_at(fg.admin, 1, (const char *const[]){__VA_ARGS__, NULL})

static void
test_health_and_readiness_without_the_apiserver(void **state)
{
    (void)state;
    assert_int_equal(CTL("healthz"), 0);
    assert_string_equal(out, "ok\n");
    assert_int_equal(CTL("readyz"), 1);
    assert_non_null(strstr(out, "[+]config ok"));
    assert_non_null(strstr(out, "[-]upstream failed"));
    assert_int_equal(CTL("metrics"), 0);
    assert_non_null(strstr(out, "# TYPE floodgate_requests_total counter"));
}

static void
test_controls_print_what_changed(void **state)
{
    (void)state;
    assert_int_equal(CTL("shed", "30%", "--reject-list-watch"), 0);
    assert_string_equal(out, "shed: enforced classes at 30% of their budgets (was 100%); "
                             "non-exempt LIST and watch rejected (was admitted)\n");
    assert_int_equal(CTL("shed", "off"), 0);
    assert_non_null(strstr(out, "at 100% of their budgets (was 30%)"));
    assert_int_equal(CTL("mode", "users", "dry-run"), 0);
    assert_string_equal(out, "class users: dry-run (was enforce; the policy says enforce)\n");
    assert_int_equal(CTL("block", "system:node:node-7", "10m"), 0);
    assert_non_null(strstr(out, "blocked system:node:node-7 for 10m, until 20"));
    assert_int_equal(CTL("allow", "alice", "2m"), 0);
    assert_non_null(strstr(out, "allowed (exempt) alice for 2m"));
    assert_int_equal(CTL("config"), 0);
    assert_non_null(strstr(out, "users                dry-run* user"));
    assert_non_null(strstr(out, "system:node:node-7"));
    assert_int_equal(CTL("unblock", "system:node:node-7"), 0);
    assert_string_equal(out, "lifted the block or allow of system:node:node-7\n");
    assert_int_equal(CTL("mode", "users", "policy"), 0);
    assert_int_equal(CTL("reload"), 0);
    assert_non_null(strstr(out, "reloaded "));
    assert_int_equal(CTL("clients", "--top", "5", "--by", "rejects"), 0);
    assert_non_null(strstr(out, "KEY"));
    assert_int_equal(CTL("explain", "GET", "/api/v1/namespaces/default/pods?watch=1", "--user",
                         "system:node:node-7", "--group", "system:nodes"),
                     0);
    assert_non_null(strstr(out, "class users (enforce), key \"system:node:node-7\""));
    assert_non_null(strstr(out, "-> admit"));
    assert_int_equal(CTL("--json", "shed", "off"), 0);
    assert_non_null(strstr(out, "\"scale_pct\": 100"));
    assert_int_equal(CTL("metrics"), 0);
    assert_int_equal(it_fg_metric(out, "floodgate_controls_total{action=\"shed\"}"), 3);
    assert_int_equal(it_fg_metric(out, "floodgate_controls_total{action=\"reload\"}"), 1);
}

static void
test_error_answers_exit_1_with_the_servers_message(void **state)
{
    (void)state;
    assert_int_equal(CTL("shed", "0%"), 1);
    assert_non_null(strstr(out, "scale: expected a percentage 1..100"));
    assert_int_equal(CTL("mode", "nobody", "dry-run"), 1);
    assert_non_null(strstr(out, "class \"nobody\" is not in the running policy (HTTP 404)"));
    assert_int_equal(CTL("block", "alice", "soon"), 1);
    assert_non_null(strstr(out, "ttl: expected a duration"));
    assert_int_equal(CTL("unblock", "nobody"), 1);
    assert_int_equal(ctl_at(fg.admin, 0, (const char *const[]){"healthz", NULL}), 1);
    assert_int_equal(ctl_at(fg.admin, 0, (const char *const[]){"shed", "off", NULL}), 1);
    assert_non_null(strstr(out, "HTTP 401"));
    assert_non_null(strstr(out, "--token-file"));
    assert_int_equal(ctl_at("127.0.0.1:1", 1, (const char *const[]){"healthz", NULL}), 1);
    assert_non_null(strstr(out, "cannot connect to 127.0.0.1:1"));
}

static void
test_usage_errors_exit_2(void **state)
{
    (void)state;
    assert_int_equal(CTL("shed"), 2);
    assert_non_null(strstr(out, "usage: floodgate ctl shed SCALE"));
    assert_int_equal(CTL("block", "alice"), 2);
    assert_int_equal(CTL("frobnicate"), 2);
    assert_non_null(strstr(out, "unknown command \"frobnicate\""));
    assert_int_equal(CTL("clients", "--top", "many"), 2);
    assert_int_equal(CTL("clients", "--by", "size"), 2);
    assert_int_equal(CTL("explain", "GET", "/api", "--group", "g"), 2);
    assert_int_equal(CTL("healthz", "--bogus"), 2);
    assert_int_equal(ctl_at(fg.admin, 1, (const char *const[]){NULL}), 2);
}

static void
test_the_unix_socket_serves_ctl(void **state)
{
    (void)state;
    assert_int_equal(ctl_at(unix_addr, 1, (const char *const[]){"healthz", NULL}), 0);
    assert_int_equal(ctl_at(unix_addr, 1, (const char *const[]){"shed", "75", NULL}), 0);
    assert_non_null(strstr(out, "at 75% of their budgets"));
    assert_true(it_fg_count_lines(fg.log, "admin control action=shed peer=unix") >= 1);
    assert_int_equal(ctl_at(unix_addr, 1, (const char *const[]){"shed", "off", NULL}), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_health_and_readiness_without_the_apiserver),
        cmocka_unit_test(test_controls_print_what_changed),
        cmocka_unit_test(test_error_answers_exit_1_with_the_servers_message),
        cmocka_unit_test(test_usage_errors_exit_2),
        cmocka_unit_test(test_the_unix_socket_serves_ctl),
    };

    return it_finish(cmocka_run_group_tests(tests, setup, teardown));
}
