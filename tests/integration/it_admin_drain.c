/* SIGTERM drains: floodgate stops accepting, requests in flight finish
 * with their whole responses (then their connections close), watch
 * streams end at once with the chunked terminator (a clean end: client-go
 * watches again, elsewhere), /readyz says "draining" meanwhile, and the
 * process exits 0 long before the grace period. A second SIGTERM exits at
 * once. The apiserver is floodgate-apisim with 2 s GETs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sys/wait.h>

#include "it_admin.h"

#define LIMITS                                                                                     \
    "\"classes\": [{\"name\": \"exempt\", \"mode\": \"exempt\", \"distinguisher\": \"none\"},"     \
    " {\"name\": \"nodes\", \"rate\": \"100/s\", \"burst\": 100}],"                                \
    " \"rules\": [{\"class\": \"exempt\", \"groups\": [\"system:masters\"]},"                      \
    " {\"class\": \"nodes\"}]"

#define SLOW "GET /api/v1/namespaces/default HTTP/1.1\r\nHost: localhost\r\n\r\n"
#define WATCH                                                                                      \
    "GET /api/v1/namespaces/kube-system/pods?watch=true HTTP/1.1\r\nHost: localhost\r\n\r\n"
#define NSLOW  3
#define NWATCH 2

static struct it_fg fg;

static int
setup(void **state)
{
    static const char *const sim[] = {"--cost-get", "2s", "--slots", "8", NULL};

    (void)state;
    if (it_fg_init(&fg, "admin-drain") != 0 || it_fg_sim(&fg, "127.0.0.1:0", sim) != 0) {
        return -1;
    }
    return it_fg_config(&fg, "\"address\": \"\"", "\"level\": \"info\"", LIMITS);
}

static int
teardown(void **state)
{
    (void)state;
    if (fg.pid > 0) {
        it_stop(fg.pid, SIGKILL, 1000);
    }
    if (fg.sim > 0) {
        it_stop(fg.sim, SIGTERM, 10000);
    }
    return 0;
}

static struct it_conn *
open_as(const char *who)
{
    struct it_conn *c =
        it_connect(fg.addr, fg.ca, it_fg_file(&fg, who, "crt"), it_fg_file(&fg, who, "key"), 5000);

    assert_non_null(c);
    return c;
}

static void
test_sigterm_finishes_requests_ends_watches_and_exits_0(void **state)
{
    static const char *const grace[] = {"--drain-timeout", "20s", NULL};
    struct it_conn *slow[NSLOW], *watch[NWATCH];
    struct it_resp wr[NWATCH], r;
    char body[4096];
    uint64_t t0;
    int i, st;

    (void)state;
    assert_int_equal(it_fg_start(&fg, "drain", grace, 0), 0);
    for (i = 0; i < NWATCH; i++) {
        watch[i] = open_as("system_node_node-1");
        assert_int_equal(it_send(watch[i], WATCH, strlen(WATCH)), 0);
        assert_int_equal(it_recv(watch[i], "GET", &wr[i], 1, 5000), 0);
        assert_int_equal(wr[i].status, 200);
        assert_false(wr[i].complete);
    }
    for (i = 0; i < NSLOW; i++) {
        slow[i] = open_as("admin");
        assert_int_equal(it_send(slow[i], SLOW, strlen(SLOW)), 0);
    }
    it_fg_sleep_ms(300); /* the GETs are at the apiserver now */
    assert_int_equal(it_fg_scrape(&fg, "floodgate_watches_open{class=\"nodes\"}"), NWATCH);
    t0 = it_fg_now_ms();
    assert_int_equal(kill(fg.pid, SIGTERM), 0);

    /* Watches: a clean end of stream at once, not at the grace period. */
    for (i = 0; i < NWATCH; i++) {
        assert_int_equal(it_recv_body(watch[i], &wr[i], 1 << 20, 3000), 0);
        if (!wr[i].complete) {
            fail_msg("watch %d did not end with the chunked terminator", i);
        }
        assert_int_equal(it_wait_closed(watch[i], 2000), 1);
        it_resp_free(&wr[i]);
        it_close(watch[i]);
    }
    assert_true(it_fg_now_ms() - t0 < 1500);

    /* Still draining: the admin plane says so, and nothing new gets in. */
    assert_int_equal(it_fg_http(fg.admin, "GET", "/readyz", NULL, NULL, body, sizeof(body)), 503);
    assert_non_null(strstr(body, "[-]shutdown failed: draining"));
    assert_int_equal(it_fg_scrape(&fg, "floodgate_draining"), 1);
    assert_null(it_connect(fg.addr, fg.ca, NULL, NULL, 1000));

    /* The requests in flight: whole responses, then the close. */
    for (i = 0; i < NSLOW; i++) {
        assert_int_equal(it_recv(slow[i], "GET", &r, 1 << 20, 10000), 0);
        assert_int_equal(r.status, 200);
        assert_true(r.complete);
        assert_non_null(strstr(r.body, "\"kind\":\"Namespace\""));
        it_resp_free(&r);
        assert_int_equal(it_wait_closed(slow[i], 2000), 1);
        it_close(slow[i]);
    }
    st = it_stop(fg.pid, 0, 10000);
    fg.pid = 0;
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    /* 2 s of apiserver time, far from the 20 s grace. */
    assert_true(it_fg_now_ms() - t0 < 6000);
    assert_int_equal(it_fg_count_lines(fg.log, "SIGTERM: draining"), 1);
    assert_int_equal(it_fg_count_lines(fg.log, "grace period over"), 0);
}

static void
test_a_second_sigterm_exits_at_once(void **state)
{
    struct it_conn *c;
    uint64_t t0;
    int st;

    (void)state;
    assert_int_equal(it_fg_start(&fg, "twice", NULL, 0), 0);
    c = open_as("admin");
    assert_int_equal(it_send(c, SLOW, strlen(SLOW)), 0);
    it_fg_sleep_ms(200);
    t0 = it_fg_now_ms();
    assert_int_equal(kill(fg.pid, SIGTERM), 0);
    it_fg_sleep_ms(200);
    assert_int_equal(kill(fg.pid, SIGTERM), 0);
    st = it_stop(fg.pid, 0, 5000);
    fg.pid = 0;
    assert_true(it_fg_now_ms() - t0 < 1500); /* the 2 s request was not waited for */
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 1);
    assert_int_equal(it_fg_count_lines(fg.log, "SIGTERM during the drain: exiting now"), 1);
    it_close(c);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sigterm_finishes_requests_ends_watches_and_exits_0),
        cmocka_unit_test(test_a_second_sigterm_exits_at_once),
    };

    return it_finish(cmocka_run_group_tests(tests, setup, teardown));
}
