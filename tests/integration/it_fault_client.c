/* Faults from the client side, floodgate (two workers) in front of
 * floodgate-apisim: clients that vanish in the middle of a request body,
 * a watch and a streaming LIST; 10,000 slow-header connections
 * (slowloris: 9,700 stuck in the TLS handshake, 300 with half a request
 * head) while a legitimate client keeps its latency (p99 within a stated
 * ratio of its calm p99) and floodgate's descriptors stay bounded by
 * max_connections and come back once header_timeout closes them; running
 * out of file descriptors (floodgate started with 64), where floodgate
 * refuses new connections without spinning or crashing and recovers once
 * connections close; a SIGHUP reload in the middle of each. After every
 * fault the seats and open watches in /metrics are back to zero. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "it_harden.h"

#define SLOW_CONNS 10000
#define SLOW_TLS   300 /* of which complete TLS and send half a head */
/* Long enough to build the whole flood on a loaded machine before the
 * first of it times out. */
#define HEADER_TIMEOUT    "20s"
#define HEADER_TIMEOUT_MS 20000
#define MAX_CONNECTIONS   12000
#define LEGIT_REQUESTS    200
/* The legitimate client's p99 under the flood may be this many times its
 * calm p99 (plus 100 ms of slack for a loaded 2-core CI machine): the
 * flood costs floodgate an accept and a few bytes each, not a handshake. */
#define P99_RATIO 10

#define LIMITS                                                                                     \
    "\"classes\": [{\"name\": \"exempt\", \"mode\": \"exempt\", \"distinguisher\": \"none\"},"     \
    " {\"name\": \"users\", \"distinguisher\": \"user\", \"rate\": \"1000/s\", \"burst\": 1000,"   \
    " \"max_watches_per_key\": 10}],"                                                              \
    " \"rules\": [{\"class\": \"exempt\", \"groups\": [\"system:masters\"]},"                      \
    " {\"class\": \"users\"}]"

static struct it_fg fg;

static int
setup(void **state)
{
    static const char *const sim_args[] = {"--nodes", "40", "--pods-per-node", "25", NULL};
    struct rlimit rl;

    (void)state;
    /* The flood needs its descriptors, and floodgate inherits the limit. */
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        return -1;
    }
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur < SLOW_CONNS + 1000) {
        fprintf(stderr, "RLIMIT_NOFILE %lu is too low for the flood\n", (unsigned long)rl.rlim_cur);
        return -1;
    }
    if (it_fg_init(&fg, "fault-client") != 0 || it_fg_sim(&fg, "127.0.0.1:0", sim_args) != 0 ||
        it_fg_config(&fg, "\"address\": \"\"", "\"level\": \"info\"", LIMITS) != 0 ||
        it_h_edit(&fg, "\"workers\": 1",
                  "\"workers\": 2, \"header_timeout\": \"" HEADER_TIMEOUT "\","
                  " \"max_connections\": 12000") != 0) {
        return -1;
    }
    return it_h_start(&fg, "client", 0, NULL);
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
        it_stop(fg.sim, SIGTERM, 10000);
    }
    return 0;
}

static void
hup(void)
{
    assert_int_equal(kill(fg.pid, SIGHUP), 0);
}

static struct it_conn *
as_alice(void)
{
    struct it_conn *c = it_connect(fg.addr, fg.ca, it_fg_file(&fg, "alice", "crt"),
                                   it_fg_file(&fg, "alice", "key"), 5000);

    assert_non_null(c);
    return c;
}

static void
test_clients_leaving_mid_request_and_mid_stream_release_everything(void **state)
{
    struct it_conn *c;
    struct it_resp r;
    int i;

    (void)state;
    /* A body announced and cut short. */
    c = as_alice();
    assert_int_equal(it_sendf(c, "POST /api/v1/namespaces/default/configmaps HTTP/1.1\r\n"
                                 "Host: k\r\nContent-Type: application/json\r\n"
                                 "Content-Length: 1000\r\n\r\n{\"metadata\":"),
                     0);
    it_fg_sleep_ms(300);
    it_close(c);
    /* Watches, established and then abandoned, with a reload among them. */
    for (i = 0; i < 3; i++) {
        c = as_alice();
        assert_int_equal(it_sendf(c,
                                  "GET /api/v1/namespaces/team-%d/pods?watch=1 HTTP/1.1\r\n"
                                  "Host: k\r\n\r\n",
                                  i),
                         0);
        assert_int_equal(it_recv(c, "GET", &r, 100, 5000), 0);
        assert_int_equal(r.status, 200);
        it_resp_free(&r);
        if (i == 1) {
            hup();
        }
        it_close(c);
    }
    /* A LIST of every pod (about 5 MB) read for 64 KiB, then abandoned. */
    c = as_alice();
    assert_int_equal(it_sendf(c, "GET /api/v1/pods HTTP/1.1\r\nHost: k\r\n\r\n"), 0);
    assert_int_equal(it_recv(c, "GET", &r, 64 * 1024, 10000), 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.complete, 0);
    it_resp_free(&r);
    it_close(c);
    assert_int_equal(it_h_wait_released(&fg, 10000), 0);
    /* The half-sent configmap was never created. */
    assert_int_equal(it_h_sim_saw(&fg, "\"POST\",\"path\":\"/api/v1/namespaces/default/configmaps"),
                     0);
    assert_true(it_h_alive(fg.pid));
}

static int
cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

/* p99 in ms of LEGIT_REQUESTS GETs, each on a fresh TLS connection. */
static uint64_t
legit_p99(void)
{
    static uint64_t lat[LEGIT_REQUESTS];
    int i;

    for (i = 0; i < LEGIT_REQUESTS; i++) {
        uint64_t t0 = it_fg_now_ms();
        struct it_resp r;

        assert_int_equal(it_request(fg.addr, fg.ca, it_fg_file(&fg, "alice", "crt"),
                                    it_fg_file(&fg, "alice", "key"), "GET", "/version", NULL, NULL,
                                    &r),
                         0);
        assert_int_equal(r.status, 200);
        it_resp_free(&r);
        lat[i] = it_fg_now_ms() - t0;
    }
    qsort(lat, LEGIT_REQUESTS, sizeof(lat[0]), cmp_u64);
    return lat[LEGIT_REQUESTS * 99 / 100 - 1];
}

/* A non-blocking TCP connect to floodgate, in progress: the flood's
 * connects overlap instead of waiting for each other. -1 on failure. */
static int
slow_connect(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    const char *colon = strrchr(fg.addr, ':');
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    sa.sin_port = htons((uint16_t)atoi(colon + 1));
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 && errno != EINPROGRESS) {
        close(fd);
        fd = -1;
    }
    return fd;
}

/* Once <fd> connected: sends <bytes>, and nothing more ever. */
static int
slow_send(int fd, const char *bytes, size_t len)
{
    struct pollfd p = {fd, POLLOUT, 0};
    int err = 0;
    socklen_t el = sizeof(err);

    if (poll(&p, 1, 10000) != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0 ||
        err != 0 || write(fd, bytes, len) != (ssize_t)len) {
        return -1;
    }
    return 0;
}

static void
test_slowloris_leaves_the_legitimate_client_its_latency_and_bounded_fds(void **state)
{
    /* A TLS record header announcing 512 bytes of ClientHello, then nothing. */
    static const char partial_hello[] = "\x16\x03\x01\x02\x00\x01";
    static int fds[SLOW_CONNS - SLOW_TLS];
    static struct it_conn *tls[SLOW_TLS];
    uint64_t calm, flood;
    int base_fds, held_fds, peak_fds, after_fds = 0, i, n = 0, m = 0;
    uint64_t t0, built_ms, tcp_ms;

    (void)state;
    base_fds = it_fd_count(fg.pid);
    calm = legit_p99();
    t0 = it_fg_now_ms();
    for (i = 0; i < SLOW_CONNS - SLOW_TLS; i++) {
        fds[i] = slow_connect();
    }
    for (i = 0; i < SLOW_CONNS - SLOW_TLS; i++) {
        n += fds[i] >= 0 && slow_send(fds[i], partial_hello, sizeof(partial_hello) - 1) == 0;
    }
    tcp_ms = it_fg_now_ms() - t0;
    for (i = 0; i < SLOW_TLS; i++) {
        tls[i] = it_connect(fg.addr, fg.ca, NULL, NULL, 5000);
        if (tls[i] != NULL &&
            it_sendf(tls[i], "GET /version HTTP/1.1\r\nHost: k\r\nX-Slow:") == 0) {
            m++;
        }
    }
    built_ms = it_fg_now_ms() - t0;
    /* Until floodgate accepted them from the backlog (or 10 s). */
    {
        uint64_t end = it_fg_now_ms() + 10000;

        do {
            held_fds = it_fd_count(fg.pid);
            if (held_fds >= base_fds + SLOW_CONNS * 9 / 10) {
                break;
            }
            it_fg_sleep_ms(100);
        } while (it_fg_now_ms() < end);
    }
    hup(); /* a reload in the middle of the flood */
    flood = legit_p99();
    peak_fds = it_fd_count(fg.pid);
    if (held_fds > peak_fds) {
        peak_fds = held_fds;
    }
    /* header_timeout closes every one of them. */
    {
        uint64_t end = it_fg_now_ms() + HEADER_TIMEOUT_MS + 10000;

        do {
            it_fg_sleep_ms(250);
            after_fds = it_fd_count(fg.pid);
        } while (after_fds > base_fds + 16 && it_fg_now_ms() < end);
    }
    /* Ours go before any assertion can leave them open. */
    for (i = 0; i < SLOW_CONNS - SLOW_TLS; i++) {
        if (fds[i] >= 0) {
            close(fds[i]);
        }
    }
    for (i = 0; i < SLOW_TLS; i++) {
        if (tls[i] != NULL) {
            it_close(tls[i]);
        }
    }
    fprintf(stderr,
            "slowloris: %d slow TCP (%llu ms) + %d slow TLS connections in %llu ms; legitimate p99 "
            "%llu ms calm, %llu ms under the flood; floodgate fds %d, %d with the flood, %d after "
            "header_timeout\n",
            n, (unsigned long long)tcp_ms, m, (unsigned long long)built_ms,
            (unsigned long long)calm, (unsigned long long)flood, base_fds, peak_fds, after_fds);
    assert_int_equal(n + m, SLOW_CONNS);
    assert_true(flood <= P99_RATIO * calm + 100);
    if (built_ms >= HEADER_TIMEOUT_MS / 2) {
        fail_msg("building the flood took %llu ms: too slow to hold it within header_timeout",
                 (unsigned long long)built_ms);
    }
    assert_true(peak_fds >= base_fds + SLOW_CONNS * 9 / 10);  /* the flood was held... */
    assert_true(peak_fds <= base_fds + MAX_CONNECTIONS + 64); /* ...within max_connections */
    assert_true(after_fds <= base_fds + 16);
    assert_int_equal(it_h_wait_released(&fg, 5000), 0);
    assert_true(it_h_alive(fg.pid));
}

static void
test_out_of_file_descriptors_refuses_then_recovers(void **state)
{
    struct it_fg lo = fg;
    struct it_conn *held[64];
    struct it_resp r;
    int nheld = 0, i, refused = 0;
    long t0, t1;

    (void)state;
    /* Its own floodgate, with 64 descriptors. */
    assert_int_equal(it_h_start(&lo, "nofile", 64, NULL), 0);
    for (i = 0; i < 64; i++) {
        held[nheld] = it_connect(lo.addr, lo.ca, it_fg_file(&lo, "alice", "crt"),
                                 it_fg_file(&lo, "alice", "key"), 1000);
        if (held[nheld] == NULL) {
            refused++;
            if (refused >= 3) {
                break;
            }
            continue;
        }
        nheld++;
    }
    fprintf(stderr, "nofile: %d connections held, then refused\n", nheld);
    assert_true(refused >= 3);
    assert_true(nheld > 10);
    /* Exhausted: floodgate does not spin on accept (EMFILE) meanwhile, a
     * held connection still gets answers, and a reload fails cleanly. */
    t0 = it_h_cpu_ticks(lo.pid);
    assert_int_equal(kill(lo.pid, SIGHUP), 0);
    it_fg_sleep_ms(1000);
    t1 = it_h_cpu_ticks(lo.pid);
    fprintf(stderr, "nofile: %ld CPU ticks in 1 s while exhausted\n", t1 - t0);
    assert_true(t1 - t0 < 30); /* under 0.3 s of CPU in 1 s */
    /* ...nor logs every failed accept (libevent's default did, in a loop). */
    assert_true(it_fg_count_lines(lo.log, "ccept") <= 5);
    assert_int_equal(
        it_sendf(held[0], "GET /api/v1/namespaces/default HTTP/1.1\r\nHost: k\r\n\r\n"), 0);
    assert_int_equal(it_recv(held[0], "GET", &r, 1 << 16, 5000), 0);
    assert_true(r.status == 200 || r.status == 503);
    it_resp_free(&r);
    assert_true(it_h_alive(lo.pid));
    /* Connections close: it accepts again. */
    for (i = 0; i < nheld; i++) {
        it_close(held[i]);
    }
    {
        uint64_t end = it_fg_now_ms() + 5000;
        int ok = 0;

        while (!ok && it_fg_now_ms() < end) {
            ok =
                it_request(lo.addr, lo.ca, it_fg_file(&lo, "alice", "crt"),
                           it_fg_file(&lo, "alice", "key"), "GET", "/version", NULL, NULL, &r) == 0;
            if (ok) {
                ok = r.status == 200;
                it_resp_free(&r);
            } else {
                it_fg_sleep_ms(100);
            }
        }
        assert_true(ok);
    }
    assert_int_equal(it_h_wait_released(&lo, 5000), 0);
    assert_int_equal(WEXITSTATUS(it_stop(lo.pid, SIGTERM, 15000)), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clients_leaving_mid_request_and_mid_stream_release_everything),
        cmocka_unit_test(test_out_of_file_descriptors_refuses_then_recovers),
        cmocka_unit_test(test_slowloris_leaves_the_legitimate_client_its_latency_and_bounded_fds),
    };

    return it_finish(cmocka_run_group_tests(tests, setup, teardown));
}
