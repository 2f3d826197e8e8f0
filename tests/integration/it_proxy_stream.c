/* floodgate's relay against a scripted apiserver (a forked TLS server in
 * this test, so every byte the upstream sees and sends is known): what is
 * forwarded (identity asserted, client X-Remote-* gone, chunked bodies
 * re-framed, Expect answered here), pipelining in order, 101 tunnels,
 * watches the apiserver cuts (clean end or close) and the watch count
 * released on every path (upstream gone, client gone), 504 on a silent
 * apiserver. */
#define _GNU_SOURCE /* strcasestr */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "it_proxy.h"

static struct it_px px;
static char upstream[64];
static pid_t upstream_pid;

#define LIMITS                                                                                     \
    "\"classes\": [{\"name\": \"exempt\", \"mode\": \"exempt\", \"distinguisher\": \"none\"},"     \
    " {\"name\": \"users\", \"distinguisher\": \"user\", \"rate\": \"100/s\", \"burst\": 100,"     \
    " \"max_watches_per_key\": 1},"                                                                \
    " {\"name\": \"patient\", \"distinguisher\": \"user\", \"rate\": \"2/s\", \"burst\": 1,"       \
    " \"max_wait\": \"2s\"}],"                                                                     \
    " \"rules\": [{\"class\": \"exempt\", \"groups\": [\"system:masters\"]},"                      \
    " {\"class\": \"patient\", \"users\": [\"system:kube-controller-manager\"]},"                  \
    " {\"class\": \"users\"}]"

/* --- the scripted apiserver --- */

static int
ssl_read_some(SSL *ssl, char *buf, int cap)
{
    int n = SSL_read(ssl, buf, cap);

    ERR_clear_error();
    return n;
}

static int
ssl_write_all(SSL *ssl, const char *s, size_t n)
{
    return SSL_write(ssl, s, (int)n) == (int)n ? 0 : -1;
}

/* Reads one request (head and body, framed by Content-Length or
 * chunked) into <buf>; returns its length, 0 at EOF. */
static size_t
read_request(SSL *ssl, char *buf, size_t cap)
{
    size_t n = 0, head = 0, need = 0;
    int chunked = 0;

    for (;;) {
        int k;

        buf[n] = '\0';
        if (head == 0) {
            char *end = strstr(buf, "\r\n\r\n");

            if (end != NULL) {
                const char *cl = strcasestr(buf, "\r\nContent-Length: ");

                head = (size_t)(end + 4 - buf);
                chunked = strcasestr(buf, "\r\nTransfer-Encoding: chunked") != NULL;
                need = cl != NULL && cl < end ? head + strtoul(cl + 18, NULL, 10) : head;
            }
        }
        if (head != 0 && !chunked && n >= need) {
            return n;
        }
        if (head != 0 && chunked && n >= head + 5 && memcmp(buf + n - 5, "0\r\n\r\n", 5) == 0) {
            return n;
        }
        if (n + 1 >= cap) {
            return n;
        }
        k = ssl_read_some(ssl, buf + n, (int)(cap - 1 - n));
        if (k <= 0) {
            return n;
        }
        n += (size_t)k;
    }
}

static void
serve_one(SSL *ssl)
{
    static char req[1 << 16];
    char resp[1 << 17], peer[256] = "none";
    X509 *cert = SSL_get0_peer_certificate(ssl);
    size_t n;

    if (cert != NULL && SSL_get_verify_result(ssl) == X509_V_OK) {
        X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, peer, sizeof(peer));
    }
    while ((n = read_request(ssl, req, sizeof(req))) > 0) {
        char *path = strchr(req, ' ') + 1;

        if (strncmp(path, "/echo", 5) == 0) {
            int k = snprintf(resp, sizeof(resp),
                             "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                             "Content-Length: %zu\r\n\r\npeer=%s\n",
                             n + strlen(peer) + 6, peer);

            memcpy(resp + k, req, n);
            ssl_write_all(ssl, resp, (size_t)k + n);
        } else if (strncmp(path, "/api/v1/pods?watch=1&cut=boundary", 33) == 0) {
            static const char w[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                    "Transfer-Encoding: chunked\r\n\r\n"
                                    "11\r\n{\"type\":\"ADDED\"}\n\r\n";

            ssl_write_all(ssl, w, sizeof(w) - 1);
            return; /* the apiserver goes away between events */
        } else if (strncmp(path, "/api/v1/pods?watch=1&cut=chunk", 30) == 0) {
            static const char w[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                    "Transfer-Encoding: chunked\r\n\r\n40\r\n{\"type\":";

            ssl_write_all(ssl, w, sizeof(w) - 1);
            return; /* in the middle of an event */
        } else if (strncmp(path, "/api/v1/pods?watch=1", 20) == 0) {
            static const char w[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                    "Transfer-Encoding: chunked\r\n\r\n"
                                    "11\r\n{\"type\":\"ADDED\"}\n\r\n";

            ssl_write_all(ssl, w, sizeof(w) - 1);
            ssl_read_some(ssl, req, sizeof(req)); /* held open until floodgate closes */
            return;
        } else if (strncmp(path, "/hang", 5) == 0) {
            sleep(10);
            return;
        } else if (strncmp(path, "/slow", 5) == 0) {
            static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nslow\n";

            usleep(800000);
            ssl_write_all(ssl, ok, sizeof(ok) - 1);
        } else if (strncmp(path, "/api/v1/namespaces/a/pods/p/exec", 32) == 0) {
            static const char up[] = "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
                                     "Upgrade: SPDY/3.1\r\n\r\nhello-from-upstream";
            int k;

            ssl_write_all(ssl, up, sizeof(up) - 1);
            while ((k = ssl_read_some(ssl, resp, sizeof(resp))) > 0) {
                ssl_write_all(ssl, resp, (size_t)k); /* echo */
            }
            return;
        } else {
            static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n";

            ssl_write_all(ssl, ok, sizeof(ok) - 1);
        }
    }
}

static void
run_upstream(int lfd, const char *pki)
{
    struct px_tls_server_opts o;
    char cert[700], key[700], ca[700], err[256];
    SSL_CTX *ctx;

    snprintf(cert, sizeof(cert), "%s/apiserver.crt", pki);
    snprintf(key, sizeof(key), "%s/apiserver.key", pki);
    snprintf(ca, sizeof(ca), "%s/front-proxy-ca.crt", pki);
    memset(&o, 0, sizeof(o));
    o.cert = cert;
    o.key = key;
    o.client_ca = ca;
    o.verify = PX_TLS_VERIFY_OPTIONAL;
    ctx = px_tls_server_ctx(&o, err, sizeof(err));
    if (ctx == NULL) {
        fprintf(stderr, "upstream: %s\n", err);
        _exit(1);
    }
    signal(SIGCHLD, SIG_IGN);
    for (;;) {
        int fd = accept(lfd, NULL, NULL);

        if (fd < 0) {
            continue;
        }
        if (fork() == 0) {
            SSL *ssl = SSL_new(ctx);

            prctl(PR_SET_PDEATHSIG, SIGKILL);
            SSL_set_fd(ssl, fd);
            if (SSL_accept(ssl) == 1) {
                serve_one(ssl);
            }
            SSL_free(ssl);
            close(fd);
            _exit(0);
        }
        close(fd);
    }
}

static int
setup(void **state)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(sa);
    int lfd;

    (void)state;
    if (it_px_init(&px, "proxy-stream") != 0) {
        return -1;
    }
    lfd = socket(AF_INET, SOCK_STREAM, 0);
    if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(lfd, 64) != 0) {
        return -1;
    }
    getsockname(lfd, (struct sockaddr *)&sa, &sl);
    snprintf(upstream, sizeof(upstream), "127.0.0.1:%u", (unsigned)ntohs(sa.sin_port));
    fflush(NULL);
    upstream_pid = fork();
    if (upstream_pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        run_upstream(lfd, px.pki);
        _exit(0);
    }
    close(lfd);
    if (it_px_config(&px, upstream, ", \"header_timeout\": \"2s\"", ", \"request_timeout\": \"1s\"",
                     LIMITS) != 0) {
        return -1;
    }
    return it_px_start(&px, "stream");
}

static int
teardown(void **state)
{
    (void)state;
    if (px.pid > 0) {
        it_px_stop(&px);
    }
    if (upstream_pid > 0) {
        kill(upstream_pid, SIGKILL);
        waitpid(upstream_pid, NULL, 0);
    }
    return 0;
}

static struct it_conn *
connect_as(const char *user)
{
    struct it_conn *c = it_connect(px.addr, px.ca, user ? it_px_file(&px, user, "crt") : NULL,
                                   user ? it_px_file(&px, user, "key") : NULL, 5000);

    assert_non_null(c);
    return c;
}

/* --- tests --- */

static void
test_upstream_sees_the_asserted_identity_not_the_clients_headers(void **state)
{
    struct it_conn *c = connect_as("alice");
    struct it_resp r;

    (void)state;
    assert_int_equal(it_sendf(c, "GET /echo HTTP/1.1\r\nHost: k\r\n"
                                 "X-Remote-User: system:admin\r\n"
                                 "x-remote-group: system:masters\r\n"
                                 "X-Remote-Extra-Scopes: all\r\n"
                                 "Connection: keep-alive\r\nKeep-Alive: 5\r\n\r\n"),
                     0);
    assert_int_equal(it_recv(c, "GET", &r, 1 << 16, 5000), 0);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "peer=front-proxy-client\n"));
    assert_non_null(strstr(r.body, "\r\nX-Remote-User: alice\r\n"));
    assert_non_null(strstr(r.body, "\r\nX-Remote-Group: developers\r\n"));
    assert_non_null(strstr(r.body,
                           "\r\nX-Remote-Extra-authentication.kubernetes.io%2fcredential-id: "
                           "X509SHA256="));
    assert_null(strstr(r.body, "system:admin"));
    assert_null(strstr(r.body, "system:masters"));
    assert_null(strcasestr(r.body, "Scopes"));
    assert_null(strcasestr(r.body, "Keep-Alive"));
    assert_non_null(strstr(r.body, "\r\nX-Forwarded-For: 127.0.0.1\r\n"));
    it_resp_free(&r);
    it_close(c);
}

static void
test_anonymous_is_asserted_and_a_bad_certificate_is_not(void **state)
{
    struct it_resp r;

    (void)state;
    assert_int_equal(it_request(px.addr, px.ca, NULL, NULL, "GET", "/echo", NULL, NULL, &r), 0);
    assert_non_null(strstr(r.body, "\r\nX-Remote-User: system:anonymous\r\n"));
    assert_non_null(strstr(r.body, "\r\nX-Remote-Group: system:unauthenticated\r\n"));
    it_resp_free(&r);
    /* rogue: CN=rogue O=system:masters from an unrelated CA. */
    assert_int_equal(it_request(px.addr, px.ca, it_px_file(&px, "rogue", "crt"),
                                it_px_file(&px, "rogue", "key"), "GET", "/echo",
                                "X-Remote-User: system:admin\r\n", NULL, &r),
                     0);
    assert_int_equal(r.status, 200);
    assert_null(strstr(r.body, "X-Remote-User"));
    it_resp_free(&r);
}

static void
test_chunked_body_is_reframed_and_expect_is_answered_by_floodgate(void **state)
{
    struct it_conn *c = connect_as("admin");
    struct it_resp r;

    (void)state;
    assert_int_equal(it_sendf(c, "POST /echo HTTP/1.1\r\nHost: k\r\nTransfer-Encoding: chunked\r\n"
                                 "Expect: 100-continue\r\n\r\n"),
                     0);
    assert_int_equal(it_recv(c, "POST", &r, 1024, 5000), 0);
    assert_int_equal(r.status, 100);
    it_resp_free(&r);
    assert_int_equal(it_sendf(c, "3;ext=\"x\"\r\nabc\r\n2\r\nde\r\n0\r\nTrailer-X: 1\r\n\r\n"), 0);
    assert_int_equal(it_recv(c, "POST", &r, 1 << 16, 5000), 0);
    assert_int_equal(r.status, 200);
    assert_null(strcasestr(r.body, "Expect:"));
    assert_null(strstr(r.body, "ext="));
    assert_null(strstr(r.body, "Trailer-X"));
    assert_non_null(strstr(r.body, "\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"));
    it_resp_free(&r);
    it_close(c);
}

static void
test_pipelined_requests_are_answered_in_order(void **state)
{
    struct it_conn *c = connect_as("admin");
    struct it_resp r;
    int i, round;

    (void)state;
    /* One TLS record holding four requests, then four records sent back
     * to back (OpenSSL's read-ahead takes them in one read). */
    for (round = 0; round < 2; round++) {
        if (round == 0) {
            assert_int_equal(
                it_sendf(c, "GET /echo?n=1 HTTP/1.1\r\nHost: k\r\n\r\n"
                            "GET /echo?n=2 HTTP/1.1\r\nHost: k\r\n\r\n"
                            "POST /echo?n=3 HTTP/1.1\r\nHost: k\r\nContent-Length: 4\r\n\r\nbody"
                            "GET /echo?n=4 HTTP/1.1\r\nHost: k\r\n\r\n"),
                0);
        } else {
            for (i = 1; i <= 4; i++) {
                assert_int_equal(it_sendf(c, "GET /echo?n=%d HTTP/1.1\r\nHost: k\r\n\r\n", i), 0);
            }
        }
        for (i = 1; i <= 4; i++) {
            char want[32];

            snprintf(want, sizeof(want), "/echo?n=%d HTTP/1.1", i);
            assert_int_equal(it_recv(c, "GET", &r, 1 << 16, 5000), 0);
            assert_int_equal(r.status, 200);
            assert_non_null(strstr(r.body, want));
            it_resp_free(&r);
        }
    }
    it_close(c);
}

static void
test_upgrade_becomes_a_byte_tunnel(void **state)
{
    static const char req[] =
        "POST /api/v1/namespaces/a/pods/p/exec?command=sh HTTP/1.1\r\nHost: k\r\n"
        "Connection: Upgrade\r\nUpgrade: SPDY/3.1\r\n\r\n";
    struct it_raw raw;
    char buf[4096];
    int closed;
    size_t n;

    (void)state;
    assert_int_equal(it_raw_open(&raw, &px, "admin"), 0);
    assert_int_equal(it_raw_send(&raw, req, sizeof(req) - 1), 0);
    n = it_raw_read(&raw, buf, sizeof(buf), 80, 5000, &closed);
    assert_true(n > 0);
    assert_non_null(strstr(buf, "HTTP/1.1 101 Switching Protocols\r\n"));
    assert_non_null(strstr(buf, "\r\nUpgrade: SPDY/3.1\r\n"));
    assert_non_null(strstr(buf, "\r\nConnection: Upgrade\r\n"));
    if (strstr(buf, "hello-from-upstream") == NULL) {
        n += it_raw_read(&raw, buf + n, sizeof(buf) - n, 19, 3000, &closed);
        assert_non_null(strstr(buf, "hello-from-upstream"));
    }
    assert_int_equal(it_raw_send(&raw, "\x80\x03\x00\x01binary\xff", 11), 0);
    n = it_raw_read(&raw, buf, sizeof(buf), 11, 5000, &closed);
    assert_int_equal(n, 11);
    assert_memory_equal(buf, "\x80\x03\x00\x01binary\xff", 11);
    it_raw_close(&raw);
}

/* A watch alice may open: admitted only when her previous one was
 * released (max_watches_per_key 1). */
static int
watch_status(const char *path, struct it_conn **keep)
{
    struct it_conn *c = connect_as("alice");
    struct it_resp r;
    int st;

    assert_int_equal(it_sendf(c, "GET %s HTTP/1.1\r\nHost: k\r\n\r\n", path), 0);
    assert_int_equal(it_recv(c, "GET", &r, 17, 5000), 0);
    st = r.status;
    it_resp_free(&r);
    if (keep != NULL) {
        *keep = c;
    } else {
        it_close(c);
    }
    return st;
}

static void
test_watch_cut_between_events_ends_cleanly_and_is_released(void **state)
{
    struct it_conn *c = connect_as("alice");
    struct it_resp r;

    (void)state;
    assert_int_equal(
        it_sendf(c, "GET /api/v1/pods?watch=1&cut=boundary HTTP/1.1\r\nHost: k\r\n\r\n"), 0);
    assert_int_equal(it_recv(c, "GET", &r, 1 << 16, 5000), 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.complete, 1); /* the chunked terminator, not a cut */
    assert_string_equal(r.body, "{\"type\":\"ADDED\"}\n");
    it_resp_free(&r);
    /* The connection is still good for another request. */
    assert_int_equal(it_sendf(c, "GET /version HTTP/1.1\r\nHost: k\r\n\r\n"), 0);
    assert_int_equal(it_recv(c, "GET", &r, 1024, 5000), 0);
    assert_int_equal(r.status, 200);
    it_resp_free(&r);
    it_close(c);
    assert_int_equal(watch_status("/api/v1/pods?watch=1&cut=boundary", NULL), 200);
}

static void
test_watch_cut_mid_event_closes_and_is_released(void **state)
{
    struct it_conn *c = connect_as("alice");
    struct it_resp r;

    (void)state;
    assert_int_equal(it_sendf(c, "GET /api/v1/pods?watch=1&cut=chunk HTTP/1.1\r\nHost: k\r\n\r\n"),
                     0);
    assert_int_equal(it_recv(c, "GET", &r, 1 << 16, 5000), 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.complete, 0);
    assert_int_equal(it_wait_closed(c, 3000), 1);
    it_resp_free(&r);
    it_close(c);
    assert_int_equal(watch_status("/api/v1/pods?watch=1&cut=boundary", NULL), 200);
}

static void
test_watch_over_cap_is_rejected_and_released_when_the_client_leaves(void **state)
{
    struct it_conn *held = NULL;
    struct it_resp r;

    (void)state;
    assert_int_equal(watch_status("/api/v1/pods?watch=1", &held), 200);
    assert_int_equal(watch_status("/api/v1/pods?watch=1", NULL), 429);
    /* Another identity is not affected. */
    assert_int_equal(it_request(px.addr, px.ca, it_px_file(&px, "system_node_node-1", "crt"),
                                it_px_file(&px, "system_node_node-1", "key"), "GET", "/version",
                                NULL, NULL, &r),
                     0);
    assert_int_equal(r.status, 200);
    it_resp_free(&r);
    it_close(held); /* client gone: the watch is released */
    it_px_sleep_ms(300);
    assert_int_equal(watch_status("/api/v1/pods?watch=1&cut=boundary", NULL), 200);
}

static void
test_silent_apiserver_gets_504_after_request_timeout(void **state)
{
    struct it_resp r;
    uint64_t t0 = it_px_now_ms();

    (void)state;
    assert_int_equal(it_request(px.addr, px.ca, it_px_file(&px, "admin", "crt"),
                                it_px_file(&px, "admin", "key"), "GET", "/hang", NULL, NULL, &r),
                     0);
    assert_int_equal(r.status, 504);
    assert_non_null(strstr(r.body, "\"reason\":\"Timeout\""));
    assert_true(it_px_now_ms() - t0 >= 900);
    assert_true(it_px_now_ms() - t0 < 4000);
    it_resp_free(&r);
}

static void
test_a_request_over_budget_within_max_wait_is_delayed_then_forwarded(void **state)
{
    struct it_conn *c = connect_as("system_kube-controller-manager");
    uint64_t t0;
    int i;

    (void)state;
    /* 2/s, burst 1, max_wait 2s: the first goes at once, the next two wait
     * about 500 ms each for a token instead of getting 429. */
    t0 = it_px_now_ms();
    for (i = 0; i < 3; i++) {
        struct it_resp r;

        assert_int_equal(it_sendf(c, "GET /version HTTP/1.1\r\nHost: k\r\n\r\n"), 0);
        assert_int_equal(it_recv(c, "GET", &r, 1024, 5000), 0);
        assert_int_equal(r.status, 200);
        it_resp_free(&r);
    }
    assert_true(it_px_now_ms() - t0 >= 800);
    assert_true(it_px_now_ms() - t0 < 3000);
    it_close(c);
}

static void
test_workers_fed_by_handoff_serve_their_connections(void **state)
{
    struct it_px two = px;
    int i;

    (void)state;
    two.args[0] = "--workers";
    two.args[1] = "2";
    two.args[2] = "--accept";
    two.args[3] = "handoff";
    two.args[4] = NULL;
    assert_int_equal(it_px_start(&two, "handoff"), 0);
    /* Round robin: every other connection is worker 1's. */
    for (i = 0; i < 4; i++) {
        struct it_resp r;

        assert_int_equal(it_request(two.addr, two.ca, it_px_file(&two, "admin", "crt"),
                                    it_px_file(&two, "admin", "key"), "GET", "/version", NULL, NULL,
                                    &r),
                         0);
        assert_int_equal(r.status, 200);
        it_resp_free(&r);
    }
    it_px_stop(&two);
}

static void
test_sigterm_finishes_requests_in_flight_and_ends_watches_cleanly(void **state)
{
    struct it_conn *slow = connect_as("admin"), *watch = connect_as("admin");
    struct it_resp r, wr;
    uint64_t t0;
    int st;

    (void)state;
    assert_int_equal(it_sendf(watch, "GET /api/v1/pods?watch=1 HTTP/1.1\r\nHost: k\r\n\r\n"), 0);
    assert_int_equal(it_recv(watch, "GET", &wr, 17, 5000), 0);
    assert_int_equal(wr.status, 200);
    assert_int_equal(wr.complete, 0);
    assert_int_equal(it_sendf(slow, "GET /slow HTTP/1.1\r\nHost: k\r\n\r\n"), 0);
    it_px_sleep_ms(200);
    t0 = it_px_now_ms();
    kill(px.pid, SIGTERM);
    /* The watch ends at once with the chunked terminator (a clean end of
     * stream: the client watches again elsewhere), then the close. */
    assert_int_equal(it_recv_body(watch, &wr, 1 << 20, 3000), 0);
    assert_int_equal(wr.complete, 1);
    assert_int_equal(it_wait_closed(watch, 2000), 1);
    assert_true(it_px_now_ms() - t0 < 1500);
    it_resp_free(&wr);
    /* The request in flight is answered, and told the connection closes. */
    assert_int_equal(it_recv(slow, "GET", &r, 1024, 5000), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "slow\n");
    assert_string_equal(it_header(&r, "Connection"), "close");
    it_resp_free(&r);
    assert_int_equal(it_wait_closed(slow, 2000), 1);
    st = it_px_stop(&px);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    it_close(slow);
    it_close(watch);
    /* Back up for whatever runs next. */
    assert_int_equal(it_px_start(&px, "stream2"), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_upstream_sees_the_asserted_identity_not_the_clients_headers),
        cmocka_unit_test(test_anonymous_is_asserted_and_a_bad_certificate_is_not),
        cmocka_unit_test(test_chunked_body_is_reframed_and_expect_is_answered_by_floodgate),
        cmocka_unit_test(test_pipelined_requests_are_answered_in_order),
        cmocka_unit_test(test_upgrade_becomes_a_byte_tunnel),
        cmocka_unit_test(test_watch_cut_between_events_ends_cleanly_and_is_released),
        cmocka_unit_test(test_watch_cut_mid_event_closes_and_is_released),
        cmocka_unit_test(test_watch_over_cap_is_rejected_and_released_when_the_client_leaves),
        cmocka_unit_test(test_silent_apiserver_gets_504_after_request_timeout),
        cmocka_unit_test(test_a_request_over_budget_within_max_wait_is_delayed_then_forwarded),
        cmocka_unit_test(test_workers_fed_by_handoff_serve_their_connections),
        cmocka_unit_test(test_sigterm_finishes_requests_in_flight_and_ends_watches_cleanly),
    };

    return it_finish(cmocka_run_group_tests(tests, setup, teardown));
}
