/* floodgate at its edge, with no apiserver behind it: what it answers on
 * its own. Limits (431, 414, 413), smuggling shapes (400 and close, never
 * forwarded: a forwarded request would get 503 here), slow headers (408,
 * and a silent TCP client closed), the upstream down (503 at once when
 * refused, within the connect timeout when it hangs), the exact 429 with
 * Retry-After >= 1 on a connection kept alive, max_connections, idle
 * timeout, and a clean exit on SIGTERM. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "it_proxy.h"

static struct it_px px;
static char dead[64];

#define LIMITS                                                                                     \
    "\"classes\": [{\"name\": \"exempt\", \"mode\": \"exempt\", \"distinguisher\": \"none\"},"     \
    " {\"name\": \"users\", \"distinguisher\": \"user\", \"rate\": \"1/m\", \"burst\": 2}],"       \
    " \"rules\": [{\"class\": \"exempt\", \"groups\": [\"system:masters\"]},"                      \
    " {\"class\": \"users\"}]"

static int
setup(void **state)
{
    (void)state;
    if (it_px_init(&px, "proxy-edge") != 0) {
        return -1;
    }
    it_px_dead_addr(dead, sizeof(dead));
    if (it_px_config(&px, dead,
                     ", \"max_header_bytes\": \"16KiB\", \"max_body_bytes\": \"1KiB\","
                     " \"header_timeout\": \"1s\", \"idle_timeout\": \"2s\","
                     " \"max_connections\": 4",
                     ", \"connect_timeout\": \"500ms\"", LIMITS) != 0) {
        return -1;
    }
    return it_px_start(&px, "edge");
}

static int
teardown(void **state)
{
    (void)state;
    if (px.pid > 0) {
        it_px_stop(&px);
    }
    return 0;
}

/* Sends <req> as admin (exempt: never rate limited) on a fresh connection
 * and reads the answer; checks status <want> and that the connection was
 * closed when <closed>. */
static void
expect(const char *req, size_t len, int want, int closed)
{
    struct it_conn *c = it_connect(px.addr, px.ca, it_px_file(&px, "admin", "crt"),
                                   it_px_file(&px, "admin", "key"), 5000);
    struct it_resp r;

    assert_non_null(c);
    assert_int_equal(it_send(c, req, len), 0);
    assert_int_equal(it_recv(c, "GET", &r, 1 << 20, 5000), 0);
    if (r.status != want) {
        fail_msg("%.60s...: status %d, want %d: %s", req, r.status, want, r.body);
    }
    if (want >= 400 && want != 429) {
        assert_non_null(strstr(r.body, "\"kind\":\"Status\""));
        assert_string_equal(it_header(&r, "Content-Type"), "application/json");
    }
    if (closed) {
        assert_string_equal(it_header(&r, "Connection"), "close");
        assert_int_equal(it_wait_closed(c, 3000), 1);
    }
    it_resp_free(&r);
    it_close(c);
}

static void
test_head_over_max_header_bytes_is_431(void **state)
{
    static char req[20000];
    int n;

    (void)state;
    n = snprintf(req, sizeof(req), "GET /version HTTP/1.1\r\nHost: k\r\nX-Big: %017000d\r\n\r\n",
                 0);
    expect(req, (size_t)n, 431, 1);
}

static void
test_long_target_is_414(void **state)
{
    static char req[9000];
    int n;

    (void)state;
    n = snprintf(req, sizeof(req), "GET /%08300d HTTP/1.1\r\nHost: k\r\n\r\n", 0);
    expect(req, (size_t)n, 414, 1);
}

static void
test_body_over_max_body_bytes_is_413(void **state)
{
    static const char req[] = "POST /api/v1/namespaces/a/configmaps HTTP/1.1\r\nHost: k\r\n"
                              "Content-Length: 2000\r\n\r\n";

    (void)state;
    expect(req, strlen(req), 413, 1);
}

static void
test_smuggling_shapes_are_400_and_closed(void **state)
{
    static const char *const shapes[] = {
        "POST /api/v1/pods HTTP/1.1\r\nHost: k\r\nContent-Length: 4\r\n"
        "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "POST /api/v1/pods HTTP/1.1\r\nHost: k\r\nTransfer-Encoding: chunked, identity\r\n\r\n"
        "0\r\n\r\n",
        "POST /api/v1/pods HTTP/1.1\r\nHost: k\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx",
        "POST /api/v1/pods HTTP/1.1\r\nHost: k\r\nContent-Length: +1\r\n\r\nx",
        "GET /api/v1/pods HTTP/1.1\r\nHost: k\r\nX-A: a\r\n b\r\n\r\n",
        "GET /api/v1/pods HTTP/1.1\r\nHost : k\r\n\r\n",
        "GET /api/v1/pods HTTP/1.1\r\nHost: k\nX-A: b\r\n\r\n",
        "GET /api/v1/pods HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        "POST /api/v1/pods HTTP/1.0\r\nHost: k\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
        expect(shapes[i], strlen(shapes[i]), 400, 1);
    }
}

static void
test_slow_headers_get_408_then_close(void **state)
{
    struct it_conn *c = it_connect(px.addr, px.ca, NULL, NULL, 5000);
    struct it_resp r;
    uint64_t t0;

    (void)state;
    assert_non_null(c);
    t0 = it_px_now_ms();
    assert_int_equal(it_sendf(c, "GET /version HTTP/1.1\r\nHost: k\r\n"), 0);
    it_px_sleep_ms(400);
    assert_int_equal(it_sendf(c, "X-Slow: 1\r\n"), 0); /* still not a complete head */
    assert_int_equal(it_recv(c, "GET", &r, 4096, 5000), 0);
    assert_int_equal(r.status, 408);
    assert_string_equal(it_header(&r, "Connection"), "close");
    assert_true(it_px_now_ms() - t0 >= 900); /* header_timeout is 1s, from the first byte */
    assert_int_equal(it_wait_closed(c, 3000), 1);
    it_resp_free(&r);
    it_close(c);
}

static void
test_silent_tcp_client_is_closed_after_header_timeout(void **state)
{
    struct it_conn *c = it_connect_tcp(px.addr, 5000);
    uint64_t t0 = it_px_now_ms();

    (void)state;
    assert_non_null(c);
    assert_int_equal(it_wait_closed(c, 4000), 1);
    assert_true(it_px_now_ms() - t0 >= 900);
    it_close(c);
}

static void
test_refused_upstream_is_503_at_once(void **state)
{
    static const char req[] = "GET /version HTTP/1.1\r\nHost: k\r\n\r\n";
    struct it_conn *c = it_connect(px.addr, px.ca, it_px_file(&px, "admin", "crt"),
                                   it_px_file(&px, "admin", "key"), 5000);
    struct it_resp r;
    uint64_t t0 = it_px_now_ms();

    (void)state;
    assert_non_null(c);
    assert_int_equal(it_send(c, req, strlen(req)), 0);
    assert_int_equal(it_recv(c, "GET", &r, 4096, 5000), 0);
    assert_int_equal(r.status, 503);
    assert_non_null(strstr(r.body, "\"reason\":\"ServiceUnavailable\""));
    assert_non_null(strstr(r.body, "\"code\":503"));
    assert_true(it_px_now_ms() - t0 < 500);
    it_resp_free(&r);
    /* A bodiless request answered early keeps the connection. */
    assert_int_equal(it_send(c, req, strlen(req)), 0);
    assert_int_equal(it_recv(c, "GET", &r, 4096, 5000), 0);
    assert_int_equal(r.status, 503);
    it_resp_free(&r);
    it_close(c);
}

static void
test_hanging_upstream_is_503_within_the_connect_timeout(void **state)
{
    struct it_px hang;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(sa);
    char addr[64];
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct it_resp r;
    uint64_t t0;

    (void)state;
    /* Listens but never accepts nor speaks TLS: connects succeed, the
     * handshake never ends. */
    assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(lfd, 16), 0);
    getsockname(lfd, (struct sockaddr *)&sa, &sl);
    snprintf(addr, sizeof(addr), "127.0.0.1:%u", (unsigned)ntohs(sa.sin_port));
    hang = px;
    assert_int_equal(it_px_config(&hang, addr, "", ", \"connect_timeout\": \"700ms\"", LIMITS), 0);
    assert_int_equal(it_px_start(&hang, "hang"), 0);
    t0 = it_px_now_ms();
    assert_int_equal(it_request(hang.addr, hang.ca, it_px_file(&hang, "admin", "crt"),
                                it_px_file(&hang, "admin", "key"), "GET", "/version", NULL, NULL,
                                &r),
                     0);
    assert_int_equal(r.status, 503);
    assert_true(it_px_now_ms() - t0 >= 600);
    assert_true(it_px_now_ms() - t0 < 3000);
    it_resp_free(&r);
    it_px_stop(&hang);
    close(lfd);
    assert_int_equal(it_px_config(&px, dead,
                                  ", \"max_header_bytes\": \"16KiB\", \"max_body_bytes\": \"1KiB\","
                                  " \"header_timeout\": \"1s\", \"idle_timeout\": \"2s\","
                                  " \"max_connections\": 4",
                                  ", \"connect_timeout\": \"500ms\"", LIMITS),
                     0);
}

static void
test_over_budget_gets_the_exact_429_and_keeps_the_connection(void **state)
{
    static const char req[] = "GET /api/v1/namespaces/a/configmaps/x HTTP/1.1\r\nHost: k\r\n\r\n";
    struct it_raw raw;
    char buf[4096], date[64], want[1024];
    unsigned retry = 0;
    int closed, i;
    size_t n;

    (void)state;
    assert_int_equal(it_raw_open(&raw, &px, "alice"), 0);
    /* burst 2 at 1/m: two are admitted (and get 503 from the missing
     * apiserver), the third is over budget. */
    for (i = 0; i < 2; i++) {
        assert_int_equal(it_raw_send(&raw, req, strlen(req)), 0);
        n = it_raw_read(&raw, buf, sizeof(buf), 1, 3000, &closed);
        assert_true(n > 0);
        assert_non_null(strstr(buf, "HTTP/1.1 503 "));
        it_px_sleep_ms(50);
        (void)it_raw_read(&raw, buf, sizeof(buf), sizeof(buf), 100, &closed); /* the rest */
    }
    for (i = 0; i < 2; i++) {
        assert_int_equal(it_raw_send(&raw, req, strlen(req)), 0);
        n = it_raw_read(&raw, buf, sizeof(buf), 300, 3000, &closed);
        if (!strstr(buf, "Too many requests, please try again later.\n")) {
            n += it_raw_read(&raw, buf + n, sizeof(buf) - n, 300, 1000, &closed);
        }
        assert_int_equal(sscanf(buf,
                                "HTTP/1.1 429 Too Many Requests\r\n"
                                "Cache-Control: no-cache, private\r\n"
                                "Content-Type: text/plain; charset=utf-8\r\n"
                                "Retry-After: %u\r\n",
                                &retry),
                         1);
        assert_true(retry >= 1);
        assert_non_null(strstr(buf, "\r\nDate: "));
        snprintf(date, sizeof(date), "%.29s", strstr(buf, "\r\nDate: ") + 8);
        snprintf(want, sizeof(want),
                 "HTTP/1.1 429 Too Many Requests\r\n"
                 "Cache-Control: no-cache, private\r\n"
                 "Content-Type: text/plain; charset=utf-8\r\n"
                 "Retry-After: %u\r\n"
                 "X-Content-Type-Options: nosniff\r\n"
                 "X-Floodgate-Class: users\r\n"
                 "X-Floodgate-Reason: rate\r\n"
                 "Date: %s\r\n"
                 "Content-Length: 43\r\n"
                 "\r\n"
                 "Too many requests, please try again later.\n",
                 retry, date);
        assert_string_equal(buf, want);
        assert_int_equal(closed, 0);
    }
    it_raw_close(&raw);
}

static void
test_connections_beyond_max_connections_are_closed_at_once(void **state)
{
    struct it_conn *held[4], *extra;
    int i;

    (void)state;
    it_px_sleep_ms(200); /* earlier tests' connections are gone */
    for (i = 0; i < 4; i++) {
        held[i] = it_connect(px.addr, px.ca, NULL, NULL, 5000);
        assert_non_null(held[i]);
    }
    extra = it_connect(px.addr, px.ca, NULL, NULL, 2000);
    assert_null(extra); /* closed before the handshake */
    for (i = 0; i < 4; i++) {
        it_close(held[i]);
    }
    it_px_sleep_ms(200);
    extra = it_connect(px.addr, px.ca, NULL, NULL, 2000);
    assert_non_null(extra);
    it_close(extra);
}

static void
test_idle_keep_alive_connection_is_closed(void **state)
{
    struct it_conn *c = it_connect(px.addr, px.ca, NULL, NULL, 5000);
    uint64_t t0 = it_px_now_ms();

    (void)state;
    assert_non_null(c);
    assert_int_equal(it_wait_closed(c, 5000), 1);
    assert_true(it_px_now_ms() - t0 >= 1800); /* idle_timeout 2s */
    it_close(c);
}

static void
test_sigterm_exits_cleanly(void **state)
{
    struct it_conn *c = it_connect(px.addr, px.ca, NULL, NULL, 5000);
    uint64_t t0 = it_px_now_ms();
    int st;

    (void)state;
    assert_non_null(c);
    st = it_px_stop(&px);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    assert_true(it_px_now_ms() - t0 < 3000); /* an idle connection does not hold the drain */
    assert_int_equal(it_wait_closed(c, 1000), 1);
    it_close(c);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_head_over_max_header_bytes_is_431),
        cmocka_unit_test(test_long_target_is_414),
        cmocka_unit_test(test_body_over_max_body_bytes_is_413),
        cmocka_unit_test(test_smuggling_shapes_are_400_and_closed),
        cmocka_unit_test(test_slow_headers_get_408_then_close),
        cmocka_unit_test(test_silent_tcp_client_is_closed_after_header_timeout),
        cmocka_unit_test(test_refused_upstream_is_503_at_once),
        cmocka_unit_test(test_hanging_upstream_is_503_within_the_connect_timeout),
        cmocka_unit_test(test_over_budget_gets_the_exact_429_and_keeps_the_connection),
        cmocka_unit_test(test_connections_beyond_max_connections_are_closed_at_once),
        cmocka_unit_test(test_idle_keep_alive_connection_is_closed),
        cmocka_unit_test(test_sigterm_exits_cleanly),
    };

    return it_finish(cmocka_run_group_tests(tests, setup, teardown));
}
