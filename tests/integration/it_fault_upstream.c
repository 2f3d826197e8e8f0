/* Faults on the apiserver's side, floodgate (two workers) in front of
 * floodgate-apisim or of a scripted TLS server: the apiserver down at
 * start (503, then served once it is up), killed in the middle of a watch
 * and of a LIST (the streams end, the seats and watches go back),
 * stalled by SIGSTOP (request_timeout fires with a 504, also for a watch
 * still waiting for its response head, and connects time out with a 503;
 * clients giving up release their seats; it serves again after SIGCONT), and answering garbage
 * (502, never a success); a SIGHUP reload in the middle of each. After every fault /metrics shows
 * no seat held and no watch open, floodgate is still running, and every 2xx floodgate counted is a
 * request the simulator logged. */
#define _GNU_SOURCE /* memmem */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "it_harden.h"
#include "px_tls.h"

#define LIMITS                                                                                     \
    "\"classes\": [{\"name\": \"exempt\", \"mode\": \"exempt\", \"distinguisher\": \"none\"},"     \
    " {\"name\": \"users\", \"distinguisher\": \"user\", \"rate\": \"1000/s\", \"burst\": 1000,"   \
    " \"max_watches_per_key\": 10}],"                                                              \
    " \"rules\": [{\"class\": \"exempt\", \"groups\": [\"system:masters\"]},"                      \
    " {\"class\": \"users\"}]"

static const char *const sim_args[] = {"--nodes", "40", "--pods-per-node", "25", NULL};
static struct it_fg fg;

static int
setup(void **state)
{
    (void)state;
    if (it_fg_init(&fg, "fault-upstream") != 0) {
        return -1;
    }
    /* Nothing listens there yet: the apiserver is down at start. */
    it_fg_free_addr(fg.upstream, sizeof(fg.upstream));
    if (it_fg_config(&fg, "\"address\": \"\"", "\"level\": \"info\"", LIMITS) != 0 ||
        it_h_edit(&fg, "\"workers\": 1", "\"workers\": 2") != 0 ||
        it_h_edit(&fg, "\"connect_timeout\": \"1s\"",
                  "\"connect_timeout\": \"1s\", \"request_timeout\": \"1500ms\"") != 0) {
        return -1;
    }
    return it_h_start(&fg, "upstream", 0, NULL);
}

static int
teardown(void **state)
{
    (void)state;
    if (fg.pid > 0) {
        assert_true(it_h_alive(fg.pid));
        assert_int_equal(WEXITSTATUS(it_stop(fg.pid, SIGTERM, 15000)), 0);
    }
    if (fg.sim > 0) {
        kill(fg.sim, SIGCONT);
        it_stop(fg.sim, SIGTERM, 10000);
    }
    return 0;
}

/* The 2xx answers floodgate counted (floodgate_requests_total). */
static double
counted_2xx(const struct it_fg *f)
{
    static char text[1 << 20];
    const char *p = text;
    double sum = 0;

    if (it_fg_http(f->admin, "GET", "/metrics", NULL, NULL, text, sizeof(text)) != 200) {
        return -1;
    }
    while ((p = strstr(p, "\nfloodgate_requests_total{")) != NULL) {
        const char *eol = strchr(p + 1, '\n'), *sp = strchr(p + 1, ' ');

        if (eol != NULL && sp != NULL && sp < eol &&
            memmem(p, (size_t)(eol - p), "code=\"2xx\"", 10)) {
            sum += strtod(sp + 1, NULL);
        }
        p = eol != NULL ? eol : p + 1;
    }
    return sum;
}

/* GET <path> as alice on a fresh connection: the status (-1: none). */
static int
get(const struct it_fg *f, const char *path)
{
    struct it_resp r;
    int st;

    if (it_request(f->addr, f->ca, it_fg_file(f, "alice", "crt"), it_fg_file(f, "alice", "key"),
                   "GET", path, NULL, NULL, &r) != 0) {
        return -1;
    }
    st = r.status;
    it_resp_free(&r);
    return st;
}

/* A connection as alice on which "GET <path>" was sent. */
static struct it_conn *
open_as_alice(const struct it_fg *f, const char *path)
{
    struct it_conn *c = it_connect(f->addr, f->ca, it_fg_file(f, "alice", "crt"),
                                   it_fg_file(f, "alice", "key"), 5000);

    assert_non_null(c);
    assert_int_equal(it_sendf(c, "GET %s HTTP/1.1\r\nHost: k\r\n\r\n", path), 0);
    return c;
}

static void
released(void)
{
    assert_int_equal(it_h_wait_released(&fg, 10000), 0);
    assert_true(it_h_alive(fg.pid));
}

static void
test_apiserver_down_at_start_gets_503_then_is_served(void **state)
{
    char want[128];
    int st, i;

    (void)state;
    for (i = 0; i < 3; i++) {
        st = get(&fg, "/api/v1/namespaces/default/configmaps/down");
        assert_int_equal(st, 503);
    }
    assert_int_equal(counted_2xx(&fg), 0);
    /* It comes up where floodgate expects it. */
    snprintf(want, sizeof(want), "%s", fg.upstream);
    assert_int_equal(it_fg_sim(&fg, want, sim_args), 0);
    {
        uint64_t end = it_fg_now_ms() + 20000;

        do {
            st = get(&fg, "/api/v1/namespaces/default");
        } while (st != 200 && it_fg_now_ms() < end && (it_fg_sleep_ms(100), 1));
    }
    assert_int_equal(st, 200);
    released();
}

static void
test_apiserver_killed_mid_watch_and_mid_list_ends_streams_and_releases(void **state)
{
    struct it_conn *w, *l;
    struct it_resp rw, rl;
    char addr[128];

    (void)state;
    /* A watch with no initial state to stream (no pods in kube-public):
     * what is buffered for a client that does not read would hold the
     * watch open until it reads, as it should. */
    w = open_as_alice(&fg, "/api/v1/namespaces/kube-public/pods?watch=1");
    assert_int_equal(it_recv(w, "GET", &rw, 1024, 5000), 0);
    assert_int_equal(rw.status, 200);
    /* A LIST of every pod (about 5 MB) that we read slowly: most of it is
     * still at the apiserver when it dies. */
    l = open_as_alice(&fg, "/api/v1/pods");
    assert_int_equal(it_recv(l, "GET", &rl, 16 * 1024, 10000), 0);
    assert_int_equal(rl.status, 200);
    assert_true(it_fg_wait_metric(&fg, "floodgate_global_watches_open", 1, 3000) >= 1);
    assert_int_equal(kill(fg.sim, SIGKILL), 0);
    waitpid(fg.sim, NULL, 0);
    fg.sim = 0;
    assert_int_equal(kill(fg.pid, SIGHUP), 0);
    /* The watch ends (a clean end of stream or a cut, then the close);
     * the LIST is cut: never a complete response. */
    it_recv_body(w, &rw, 1 << 20, 10000);
    if (!rw.complete && it_wait_closed(w, 10000) != 1) {
        fail_msg("the watch neither ended nor closed after the apiserver died");
    }
    it_recv_body(l, &rl, 64 << 20, 20000);
    assert_int_equal(rl.complete, 0);
    assert_int_equal(it_wait_closed(l, 10000), 1);
    it_resp_free(&rw);
    it_resp_free(&rl);
    it_close(w);
    it_close(l);
    released();
    /* Back on the same address: served again. */
    snprintf(addr, sizeof(addr), "%s", fg.upstream);
    assert_int_equal(it_fg_sim(&fg, addr, sim_args), 0);
    {
        uint64_t end = it_fg_now_ms() + 20000;
        int st;

        do {
            st = get(&fg, "/api/v1/namespaces/default");
        } while (st != 200 && it_fg_now_ms() < end && (it_fg_sleep_ms(100), 1));
        if (st != 200) {
            fail_msg("not served again after the apiserver came back: %d", st);
        }
    }
    released();
}

static void
test_stalled_apiserver_times_out_and_releases(void **state)
{
    struct it_conn *k, *gone;
    struct it_resp r;
    uint64_t t0;
    double ok_before;
    int st;

    (void)state;
    /* A keep-alive connection whose worker keeps the upstream connection
     * of its first request in its pool. */
    k = open_as_alice(&fg, "/api/v1/namespaces/default");
    assert_int_equal(it_recv(k, "GET", &r, 1 << 16, 5000), 0);
    assert_int_equal(r.status, 200);
    it_resp_free(&r);
    ok_before = counted_2xx(&fg);
    assert_int_equal(kill(fg.sim, SIGSTOP), 0);
    /* A watch, sent on that pooled connection, whose response head never
     * comes: 504 after request_timeout (1.5 s), not a seat and an open
     * watch held for as long as the apiserver stays silent. */
    t0 = it_fg_now_ms();
    assert_int_equal(it_sendf(k, "GET /api/v1/namespaces/default/pods?watch=1 HTTP/1.1\r\n"
                                 "Host: k\r\n\r\n"),
                     0);
    assert_int_equal(it_recv(k, "GET", &r, 4096, 8000), 0);
    assert_int_equal(r.status, 504);
    assert_true(it_fg_now_ms() - t0 >= 1300);
    assert_true(it_fg_now_ms() - t0 < 6000);
    it_resp_free(&r);
    it_close(k);
    /* A client that gives up on its own while the apiserver is stalled. */
    gone = open_as_alice(&fg, "/api/v1/namespaces/default/configmaps/gone");
    assert_int_equal(kill(fg.pid, SIGHUP), 0);
    /* A fresh request: the connect times out (503) or, on a pooled
     * connection, the request does (504). */
    t0 = it_fg_now_ms();
    st = get(&fg, "/api/v1/namespaces/default/configmaps/stalled");
    assert_true(st == 503 || st == 504);
    assert_true(it_fg_now_ms() - t0 < 6000);
    it_close(gone);
    assert_int_equal(it_h_wait_released(&fg, 5000), 0);
    assert_true(counted_2xx(&fg) == ok_before); /* nothing succeeded meanwhile */
    assert_int_equal(kill(fg.sim, SIGCONT), 0);
    {
        uint64_t end = it_fg_now_ms() + 20000;

        do {
            st = get(&fg, "/api/v1/namespaces/default");
        } while (st != 200 && it_fg_now_ms() < end && (it_fg_sleep_ms(100), 1));
        if (st != 200) {
            fail_msg("not served again after the apiserver came back: %d", st);
        }
    }
    released();
}

/* --- an apiserver answering garbage --- */

static const char *const garbage[] = {
    "garbage\r\n\r\n", "HTTP/1.1 20 OK\r\nContent-Length: 2\r\n\r\nok",
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\t\r\n\r\n0\r\n\r\n"
    "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok",
    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\nContent-Length: 0\r\n\r\n",
    "HTTP/9.9 200 OK\r\nContent-Length: 0\r\n\r\n",
    /* a body on an interim response, and a final response behind it */
    "HTTP/1.1 100 Continue\r\nContent-Length: 3\r\n\r\nabc"
    "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
    "",   /* closes without a word */
    NULL, /* a head of 128 KiB */
};

#define NGARBAGE (sizeof(garbage) / sizeof(garbage[0]))

static void
serve_garbage(SSL *ssl)
{
    char req[8192], *p;
    int n = SSL_read(ssl, req, sizeof(req) - 1);
    unsigned i;

    if (n <= 0) {
        return;
    }
    req[n] = '\0';
    p = strstr(req, "/g/");
    i = p != NULL ? (unsigned)atoi(p + 3) : 0;
    if (i >= NGARBAGE) {
        i = 0;
    }
    if (garbage[i] == NULL) {
        static char big[140 * 1024];
        size_t k = (size_t)snprintf(big, sizeof(big), "HTTP/1.1 200 OK\r\nX-Big: ");

        memset(big + k, 'a', sizeof(big) - k);
        SSL_write(ssl, big, (int)sizeof(big));
    } else if (garbage[i][0] != '\0') {
        SSL_write(ssl, garbage[i], (int)strlen(garbage[i]));
    }
    ERR_clear_error();
}

static pid_t
start_garbage(const struct it_fg *f, char *addr, size_t len)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(sa);
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    pid_t pid;

    assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(lfd, 64), 0);
    getsockname(lfd, (struct sockaddr *)&sa, &sl);
    snprintf(addr, len, "127.0.0.1:%u", (unsigned)ntohs(sa.sin_port));
    fflush(NULL);
    pid = fork();
    if (pid == 0) {
        struct px_tls_server_opts o;
        char cert[700], key[700], err[256];
        SSL_CTX *ctx;

        prctl(PR_SET_PDEATHSIG, SIGKILL);
        snprintf(cert, sizeof(cert), "%s/apiserver.crt", f->pki);
        snprintf(key, sizeof(key), "%s/apiserver.key", f->pki);
        memset(&o, 0, sizeof(o));
        o.cert = cert;
        o.key = key;
        ctx = px_tls_server_ctx(&o, err, sizeof(err));
        if (ctx == NULL) {
            _exit(1);
        }
        signal(SIGCHLD, SIG_IGN);
        for (;;) {
            int fd = accept(lfd, NULL, NULL);

            if (fd >= 0 && fork() == 0) {
                SSL *ssl = SSL_new(ctx);

                SSL_set_fd(ssl, fd);
                if (SSL_accept(ssl) == 1) {
                    serve_garbage(ssl);
                }
                _exit(0);
            }
            if (fd >= 0) {
                close(fd);
            }
        }
    }
    close(lfd);
    return pid;
}

static void
test_apiserver_answering_garbage_gets_502_never_a_success(void **state)
{
    struct it_fg g = fg;
    char path[64];
    pid_t up;
    size_t i;

    (void)state;
    up = start_garbage(&fg, g.upstream, sizeof(g.upstream));
    assert_true(up > 0);
    snprintf(g.cfg, sizeof(g.cfg), "%s/garbage.json", fg.dir);
    {
        /* The same configuration, pointed at the garbage. */
        char cmd[2048];

        snprintf(cmd, sizeof(cmd), "sed 's/%s/%s/' '%s' > '%s'", fg.upstream, g.upstream, fg.cfg,
                 g.cfg);
        assert_int_equal(system(cmd), 0);
    }
    assert_int_equal(it_h_start(&g, "garbage", 0, NULL), 0);
    for (i = 0; i < NGARBAGE; i++) {
        int st;

        snprintf(path, sizeof(path), "/g/%zu", i);
        st = get(&g, path);
        if (st != 502) {
            fail_msg("garbage %zu: %d, want 502", i, st);
        }
        if (i == NGARBAGE / 2) {
            assert_int_equal(kill(g.pid, SIGHUP), 0);
        }
    }
    assert_int_equal(counted_2xx(&g), 0);
    assert_int_equal(it_h_wait_released(&g, 5000), 0);
    assert_true(it_h_alive(g.pid));
    assert_int_equal(WEXITSTATUS(it_stop(g.pid, SIGTERM, 15000)), 0);
    kill(up, SIGKILL);
    waitpid(up, NULL, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_apiserver_down_at_start_gets_503_then_is_served),
        cmocka_unit_test(test_apiserver_killed_mid_watch_and_mid_list_ends_streams_and_releases),
        cmocka_unit_test(test_stalled_apiserver_times_out_and_releases),
        cmocka_unit_test(test_apiserver_answering_garbage_gets_502_never_a_success),
    };

    return it_finish(cmocka_run_group_tests(tests, setup, teardown));
}
