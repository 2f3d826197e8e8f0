/* floodgate-apisim's watch streams over the wire: chunked events with the
 * initial state, field-selected pods, BOOKMARKs, the WatchList end marker,
 * the ERROR event with 410 Expired for a resourceVersion older than the
 * window, timeoutSeconds ending the stream on a reusable connection, and
 * a watcher that does not read being terminated instead of buffered.
 * About 6 s. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "itlib.h"

static char pki[512];
static char addr[64];
static pid_t sim;

static struct it_conn *
conn(void)
{
    char ca[600], cert[600], key[600];

    snprintf(ca, sizeof(ca), "%s/ca.crt", pki);
    snprintf(cert, sizeof(cert), "%s/alice.crt", pki);
    snprintf(key, sizeof(key), "%s/alice.key", pki);
    return it_connect(addr, ca, cert, key, 5000);
}

static int
setup(void **state)
{
    char ready[600], log[600], cert[600], key[600], ca[600];
    const char *dir;

    (void)state;
    snprintf(pki, sizeof(pki), "%s", it_tmpdir("pki"));
    if (it_pki(pki) != 0) {
        return -1;
    }
    dir = it_tmpdir("watch");
    snprintf(ready, sizeof(ready), "%s/ready", dir);
    snprintf(log, sizeof(log), "%s/sim.log", dir);
    snprintf(cert, sizeof(cert), "%s/apiserver.crt", pki);
    snprintf(key, sizeof(key), "%s/apiserver.key", pki);
    snprintf(ca, sizeof(ca), "%s/ca.crt", pki);
    {
        const char *argv[] = {it_bin("floodgate-apisim"),
                              "--listen",
                              "127.0.0.1:0",
                              "--ready-file",
                              ready,
                              "--cert",
                              cert,
                              "--key",
                              key,
                              "--client-ca",
                              ca,
                              "--nodes",
                              "20",
                              "--pods-per-node",
                              "5",
                              "--churn-per-s",
                              "100",
                              "--event-window",
                              "50",
                              "--watch-bookmark-interval",
                              "200ms",
                              "--watch-buffer",
                              "64KiB",
                              "--slots",
                              "8",
                              NULL};

        sim = it_spawn((char *const *)argv, NULL, log);
    }
    if (sim < 0) {
        return -1;
    }
    return it_wait_ready(ready, "listen", addr, sizeof(addr), 10000);
}

static int
teardown(void **state)
{
    int st = it_stop(sim, SIGTERM, 5000);

    (void)state;
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static size_t
occurrences(const char *hay, const char *needle)
{
    size_t n = 0;

    for (hay = strstr(hay, needle); hay != NULL; hay = strstr(hay + 1, needle)) {
        n++;
    }
    return n;
}

/* Opens a watch on <path> and reads for <ms> (or until the stream ends). */
static void
watch(struct it_conn *c, const char *path, int ms, struct it_resp *r)
{
    assert_int_equal(it_sendf(c, "GET %s HTTP/1.1\r\nHost: sim\r\n\r\n", path), 0);
    assert_int_equal(it_recv(c, "GET", r, 16 << 20, 5000), 0);
    assert_int_equal(r->status, 200);
    assert_string_equal(it_header(r, "Transfer-Encoding"), "chunked");
    if (!r->complete) {
        it_recv_body(c, r, 16 << 20, ms);
    }
}

static void
test_watch_without_resource_version_starts_with_the_selected_state(void **state)
{
    struct it_conn *c = conn();
    struct it_resp r;

    (void)state;
    watch(c, "/api/v1/pods?watch=1&fieldSelector=spec.nodeName%3Dnode-00003&timeoutSeconds=1", 3000,
          &r);
    /* five ADDED pods of node-00003, then their churn, then the end */
    assert_true(r.complete);
    assert_int_equal(occurrences(r.body, "{\"type\":\"ADDED\""), 5);
    assert_true(occurrences(r.body, "\"nodeName\":\"node-00003\"") >= 5);
    assert_int_equal(occurrences(r.body, "\"nodeName\":\"node-00004\""), 0);
    /* one event per line */
    assert_int_equal(occurrences(r.body, "\"object\":{"), occurrences(r.body, "\n"));
    it_resp_free(&r);
    it_close(c);
}

static void
test_timeout_seconds_ends_the_stream_on_a_reusable_connection(void **state)
{
    struct it_conn *c = conn();
    struct it_resp r;

    (void)state;
    watch(c, "/api/v1/namespaces?watch=true&timeoutSeconds=1", 3000, &r);
    assert_true(r.complete);
    it_resp_free(&r);
    assert_int_equal(it_sendf(c, "GET /api/v1/namespaces/default HTTP/1.1\r\nHost: sim\r\n\r\n"),
                     0);
    assert_int_equal(it_recv(c, "GET", &r, 1 << 20, 5000), 0);
    assert_int_equal(r.status, 200);
    it_resp_free(&r);
    it_close(c);
}

static void
test_bookmarks_come_when_allowed_and_mark_the_end_of_initial_events(void **state)
{
    struct it_conn *c = conn();
    struct it_resp r;
    const char *end;

    (void)state;
    watch(c,
          "/api/v1/namespaces?watch=1&allowWatchBookmarks=true&sendInitialEvents=true&"
          "resourceVersionMatch=NotOlderThan&resourceVersion=0&timeoutSeconds=1",
          3000, &r);
    end = strstr(r.body, "\"k8s.io/initial-events-end\":\"true\"");
    assert_non_null(end);
    /* the twelve namespaces come before the marker */
    assert_int_equal(occurrences(r.body, "\"type\":\"ADDED\""), 12);
    assert_null(strstr(end, "\"type\":\"ADDED\""));
    /* and BOOKMARKs every 200 ms after it */
    assert_true(occurrences(end, "{\"type\":\"BOOKMARK\"") >= 2);
    it_resp_free(&r);
    it_close(c);
}

static void
test_resource_version_older_than_the_window_gets_410_in_an_error_event(void **state)
{
    struct it_conn *c = conn();
    struct it_resp r;

    (void)state;
    /* 100 pod writes a second and a window of 50 events: rv 1 is long gone */
    watch(c, "/api/v1/pods?watch=true&resourceVersion=1", 3000, &r);
    assert_true(r.complete);
    assert_non_null(strstr(r.body, "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\","
                                   "\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
                                   "\"message\":\"too old resource version: 1 ("));
    assert_non_null(strstr(r.body, "\"reason\":\"Expired\",\"code\":410}}\n"));
    it_resp_free(&r);
    it_close(c);
}

static long
metric(const char *name)
{
    struct it_conn *c = conn();
    struct it_resp r;
    char key[160];
    const char *p;
    long v = -1;

    if (c != NULL && it_sendf(c, "GET /metrics HTTP/1.1\r\nHost: sim\r\n\r\n") == 0 &&
        it_recv(c, "GET", &r, 1 << 20, 5000) == 0) {
        snprintf(key, sizeof(key), "\n%s ", name);
        p = strstr(r.body, key);
        v = p != NULL ? strtol(p + strlen(key), NULL, 10) : -1;
        it_resp_free(&r);
    }
    it_close(c);
    return v;
}

static void
test_a_watcher_that_does_not_read_is_terminated_not_buffered(void **state)
{
    struct it_conn *c = conn();
    long before = metric("apisim_watches_terminated_total{reason=\"slow\"}");
    struct timespec pause = {0, 200000000};
    int i;

    (void)state;
    /* every pod, 100 updates of ~5 KiB a second, and never a byte read */
    assert_int_equal(it_sendf(c, "GET /api/v1/pods?watch=1 HTTP/1.1\r\nHost: sim\r\n\r\n"), 0);
    for (i = 0; i < 100 && metric("apisim_watches_terminated_total{reason=\"slow\"}") == before;
         i++) {
        nanosleep(&pause, NULL);
    }
    assert_int_equal(metric("apisim_watches_terminated_total{reason=\"slow\"}"), before + 1);
    assert_true(metric("apisim_watch_buffered_bytes") < 1 << 20);
    assert_int_equal(it_wait_closed(c, 5000), 1);
    it_close(c);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_watch_without_resource_version_starts_with_the_selected_state),
        cmocka_unit_test(test_timeout_seconds_ends_the_stream_on_a_reusable_connection),
        cmocka_unit_test(test_bookmarks_come_when_allowed_and_mark_the_end_of_initial_events),
        cmocka_unit_test(test_resource_version_older_than_the_window_gets_410_in_an_error_event),
        cmocka_unit_test(test_a_watcher_that_does_not_read_is_terminated_not_buffered),
    };

    return it_finish(cmocka_run_group_tests(tests, setup, teardown));
}
