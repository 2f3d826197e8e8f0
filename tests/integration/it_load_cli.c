/* floodgate-load's command line against `openssl s_server -www` (one
 * response per connection): open loop sends what its schedule says, closed
 * loop runs back to back, client certificates are presented, the JSON
 * report holds what the summary says, and bad scenarios are refused with
 * their path before anything connects. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <jansson.h>

#include "itlib.h"

static char pki[256], tmp[200];

static int
free_port(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port;

    bind(fd, (struct sockaddr *)&sa, sizeof(sa));
    getsockname(fd, (struct sockaddr *)&sa, &len);
    port = ntohs(sa.sin_port);
    close(fd);
    return port;
}

/* s_server on loopback; <verify>: demand a client certificate. */
static pid_t
s_server(char *url, size_t len, bool verify)
{
    char accept[64], cert[600], key[600], ca[600], log[600];
    int port = free_port(), i;
    pid_t pid;

    snprintf(accept, sizeof(accept), "127.0.0.1:%d", port);
    snprintf(cert, sizeof(cert), "%s/apiserver.crt", pki);
    snprintf(key, sizeof(key), "%s/apiserver.key", pki);
    snprintf(ca, sizeof(ca), "%s/ca.crt", pki);
    snprintf(log, sizeof(log), "%s/s_server-%d.log", tmp, port);
    {
        char *argv[] = {(char *)"/usr/bin/openssl",
                        (char *)"s_server",
                        (char *)"-accept",
                        accept,
                        (char *)"-cert",
                        cert,
                        (char *)"-key",
                        key,
                        (char *)"-www",
                        (char *)"-quiet",
                        verify ? (char *)"-Verify" : NULL,
                        (char *)"1",
                        (char *)"-CAfile",
                        ca,
                        NULL};
        pid = it_spawn(argv, NULL, log);
    }
    for (i = 0; i < 100; i++) { /* s_server has no ready file */
        struct it_conn *c = it_connect_tcp(accept, 100);

        if (c != NULL) {
            it_close(c);
            break;
        }
        usleep(20000);
    }
    snprintf(url, len, "https://%s/", accept);
    return pid;
}

static int
setup(void **state)
{
    (void)state;
    snprintf(tmp, sizeof(tmp), "%s", it_tmpdir("load-cli"));
    snprintf(pki, sizeof(pki), "%s/pki", tmp);
    return it_pki(pki);
}

static json_t *
population(json_t *report, size_t i)
{
    return json_array_get(json_object_get(report, "populations"), i);
}

static json_int_t
int_at(json_t *o, const char *a, const char *b)
{
    json_t *v = json_object_get(o, a);

    return json_integer_value(b != NULL ? json_object_get(v, b) : v);
}

static void
test_open_loop_sends_what_its_schedule_says(void **state)
{
    char url[128], ca[600], json[600], out[8192];
    pid_t pid = s_server(url, sizeof(url), false);
    json_t *rep, *p;
    json_int_t n;

    (void)state;
    snprintf(ca, sizeof(ca), "%s/ca.crt", pki);
    snprintf(json, sizeof(json), "%s/open.json", tmp);
    {
        char *argv[] = {(char *)it_bin("floodgate-load"),
                        (char *)"-q",
                        (char *)"--ca",
                        ca,
                        (char *)"-t",
                        (char *)"2",
                        (char *)"-c",
                        (char *)"4",
                        (char *)"-r",
                        (char *)"40",
                        (char *)"-d",
                        (char *)"3s",
                        (char *)"--json",
                        json,
                        url,
                        NULL};

        assert_int_equal(it_run(argv, NULL, out, sizeof(out), 20000), 0);
    }
    rep = json_load_file(json, 0, NULL);
    assert_non_null(rep);
    assert_string_equal(json_string_value(json_object_get(rep, "mode")), "open");
    p = population(rep, 0);
    n = int_at(p, "requests", NULL);
    assert_true(n >= 108 && n <= 132); /* 40/s for 3 s, +-10% */
    assert_int_equal(int_at(p, "codes", "200"), n);
    assert_int_equal(int_at(p, "errors", NULL), 0);
    assert_int_equal(json_array_size(json_object_get(rep, "series")), 3);
    assert_true(json_real_value(json_object_get(json_object_get(p, "latency_ms"), "p99")) > 0);
    assert_true(int_at(rep, "generator", "tls_handshakes") >= n); /* -www closes each time */
    assert_non_null(strstr(out, "population default (4 members)"));
    json_decref(rep);
    it_stop(pid, SIGTERM, 2000);
}

static void
test_closed_loop_runs_back_to_back(void **state)
{
    char url[128], ca[600], out[8192];
    pid_t pid = s_server(url, sizeof(url), false);

    (void)state;
    snprintf(ca, sizeof(ca), "%s/ca.crt", pki);
    {
        char *argv[] = {(char *)it_bin("floodgate-load"),
                        (char *)"-q",
                        (char *)"--ca",
                        ca,
                        (char *)"-c",
                        (char *)"2",
                        (char *)"--closed",
                        (char *)"-d",
                        (char *)"2s",
                        (char *)"--json",
                        (char *)"-",
                        url,
                        NULL};
        json_t *rep;

        assert_int_equal(it_run(argv, NULL, out, sizeof(out), 20000), 0);
        /* --json - : the document alone on stdout, the summary on stderr. */
        rep = json_loads(strchr(out, '{'), JSON_DISABLE_EOF_CHECK, NULL);
        assert_non_null(rep);
        assert_string_equal(json_string_value(json_object_get(rep, "mode")), "closed");
        assert_true(int_at(population(rep, 0), "requests", NULL) > 20);
        json_decref(rep);
    }
    it_stop(pid, SIGTERM, 2000);
}

static void
test_client_certificate_is_presented_when_demanded(void **state)
{
    char url[128], ca[600], cert[600], key[600], out[8192];
    pid_t pid = s_server(url, sizeof(url), true);

    (void)state;
    snprintf(ca, sizeof(ca), "%s/ca.crt", pki);
    snprintf(cert, sizeof(cert), "%s/admin.crt", pki);
    snprintf(key, sizeof(key), "%s/admin.key", pki);
    {
        char *with[] = {(char *)it_bin("floodgate-load"),
                        (char *)"-q",
                        (char *)"--ca",
                        ca,
                        (char *)"--cert",
                        cert,
                        (char *)"--key",
                        key,
                        (char *)"-c",
                        (char *)"1",
                        (char *)"-r",
                        (char *)"10",
                        (char *)"-d",
                        (char *)"1s",
                        url,
                        NULL};
        char *without[] = {(char *)it_bin("floodgate-load"),
                           (char *)"-q",
                           (char *)"--ca",
                           ca,
                           (char *)"-c",
                           (char *)"1",
                           (char *)"-r",
                           (char *)"10",
                           (char *)"-d",
                           (char *)"1s",
                           url,
                           NULL};

        assert_int_equal(it_run(with, NULL, out, sizeof(out), 20000), 0);
        assert_non_null(strstr(out, "codes      200: 10"));
        assert_int_equal(it_run(without, NULL, out, sizeof(out), 20000), 0);
        assert_null(strstr(out, "200:"));
        assert_non_null(strstr(out, "errors     10 (100.00%)"));
    }
    it_stop(pid, SIGTERM, 2000);
}

static void
test_bad_scenarios_are_refused_with_their_path(void **state)
{
    char path[600], out[4096], want[800];
    FILE *f;

    (void)state;
    snprintf(path, sizeof(path), "%s/storm.json", tmp);
    f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "{\"target\": \"https://127.0.0.1:1\", \"insecure\": true, \"populations\": [\n"
               " {\"name\": \"critical\", \"requests\": [{\"path\": \"/version\", \"rate\": 1}]},\n"
               " {\"name\": \"fleet\", \"watches\": [{\"path\": 42}]}]}\n");
    fclose(f);
    {
        char *argv[] = {(char *)it_bin("floodgate-load"), (char *)"--scenario", path, NULL};

        assert_int_equal(it_run(argv, NULL, out, sizeof(out), 10000), 2);
    }
    snprintf(want, sizeof(want),
             "floodgate-load: %s: populations[1].watches[0].path: expected a string starting "
             "with \"/\", got 42\n",
             path);
    assert_string_equal(out, want);
}

static void
test_check_counts_members_and_connections(void **state)
{
    char path[600], out[4096], want[800];
    FILE *f;

    (void)state;
    snprintf(path, sizeof(path), "%s/check.json", tmp);
    f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "{\"target\": \"https://127.0.0.1:1\", \"insecure\": true, \"threads\": 2,\n"
               " \"populations\": [\n"
               " {\"name\": \"critical\", \"requests\": [{\"path\": \"/version\", \"rate\": 1}]},\n"
               " {\"name\": \"fleet\", \"count\": 100, \"watches\": [{\"path\": \"/a\"}, "
               "{\"path\": \"/b\"}]}]}\n");
    fclose(f);
    {
        char *argv[] = {(char *)it_bin("floodgate-load"), (char *)"--scenario", path,
                        (char *)"--check", NULL};

        assert_int_equal(it_run(argv, NULL, out, sizeof(out), 10000), 0);
    }
    snprintf(want, sizeof(want), "%s: ok: 2 populations, 101 members, 201 connections, 2 threads\n",
             path);
    assert_string_equal(out, want);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_loop_sends_what_its_schedule_says),
        cmocka_unit_test(test_closed_loop_runs_back_to_back),
        cmocka_unit_test(test_client_certificate_is_presented_when_demanded),
        cmocka_unit_test(test_bad_scenarios_are_refused_with_their_path),
        cmocka_unit_test(test_check_counts_members_and_connections),
    };

    return it_finish(cmocka_run_group_tests(tests, setup, NULL));
}
