/* floodgate-apisim's capacity model end to end: open-loop GET load from
 * this test (threads on keep-alive TLS connections, latency counted from
 * each request's scheduled time) at 30% of the configured capacity and at
 * 3x: below capacity p99 stays near the service time; above it the queue
 * grows, p99 rises by a large factor, kube-apiserver's errors appear (429
 * over max-inflight; 500 etcdserver / 504 Timeout past the queue timeout),
 * and even system:masters waits its turn. Ratios only, no absolute times.
 * About 15 s. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "itlib.h"

#define MAX_REQ 2048

static char pki[512];

struct sim {
    pid_t pid;
    char addr[64];
};

static uint64_t
now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void
path(char *out, size_t len, const char *file)
{
    snprintf(out, len, "%s/%s", pki, file);
}

/* Starts the simulator with <extra> flags (NULL-terminated). */
static void
sim_start(struct sim *s, const char *tag, const char *const *extra)
{
    char ready[1200], log[1200], cert[1100], key[1100], ca[1100];
    const char *dir = it_tmpdir(tag);
    char *argv[64];
    int n = 0, i;

    snprintf(ready, sizeof(ready), "%s/ready", dir);
    snprintf(log, sizeof(log), "%s/sim.log", dir);
    path(cert, sizeof(cert), "apiserver.crt");
    path(key, sizeof(key), "apiserver.key");
    path(ca, sizeof(ca), "ca.crt");
    argv[n++] = (char *)it_bin("floodgate-apisim");
    argv[n++] = (char *)"--listen";
    argv[n++] = (char *)"127.0.0.1:0";
    argv[n++] = (char *)"--ready-file";
    argv[n++] = ready;
    argv[n++] = (char *)"--cert";
    argv[n++] = cert;
    argv[n++] = (char *)"--key";
    argv[n++] = key;
    argv[n++] = (char *)"--client-ca";
    argv[n++] = ca;
    argv[n++] = (char *)"--nodes";
    argv[n++] = (char *)"10";
    argv[n++] = (char *)"--pods-per-node";
    argv[n++] = (char *)"2";
    argv[n++] = (char *)"--churn-per-s";
    argv[n++] = (char *)"0";
    for (i = 0; extra[i] != NULL && n < 62; i++) {
        argv[n++] = (char *)extra[i];
    }
    argv[n] = NULL;
    s->pid = it_spawn(argv, NULL, log);
    assert_true(s->pid > 0);
    assert_int_equal(it_wait_ready(ready, "listen", s->addr, sizeof(s->addr), 10000), 0);
}

static void
sim_stop(struct sim *s)
{
    int st = it_stop(s->pid, SIGTERM, 5000);

    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

/* --- the open-loop driver --- */

struct load {
    const char *addr;
    const char *user;     /* client certificate basename */
    const char *paths[2]; /* alternated */
    uint64_t interval_ns;
    size_t n;
    int threads;
    _Atomic size_t next;
    uint64_t t0;
    pthread_barrier_t ready;
    pthread_t th[128];
    uint64_t lat_ns[MAX_REQ];
    int code[MAX_REQ];
    char body[MAX_REQ][400];
    char retry_after[MAX_REQ][8];
    char ctype[MAX_REQ][48];
};

static void
sleep_until(uint64_t t)
{
    struct timespec ts = {(time_t)(t / 1000000000ull), (long)(t % 1000000000ull)};

    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) != 0) {
    }
}

static struct it_conn *
connect_as(const char *addr, const char *user)
{
    char ca[1100], cert[1100], key[1100], f[128];

    path(ca, sizeof(ca), "ca.crt");
    snprintf(f, sizeof(f), "%s.crt", user);
    path(cert, sizeof(cert), f);
    snprintf(f, sizeof(f), "%s.key", user);
    path(key, sizeof(key), f);
    return it_connect(addr, ca, cert, key, 5000);
}

static void *
worker(void *arg)
{
    struct load *l = arg;
    struct it_conn *c = connect_as(l->addr, l->user);
    struct it_resp r;
    size_t i;

    /* one request before the clock starts: no first-request costs measured */
    if (c != NULL && it_sendf(c, "GET /healthz HTTP/1.1\r\nHost: sim\r\n\r\n") == 0 &&
        it_recv(c, "GET", &r, 4096, 5000) == 0) {
        it_resp_free(&r);
    }
    pthread_barrier_wait(&l->ready);
    while ((i = atomic_fetch_add(&l->next, 1)) < l->n) {
        uint64_t due = l->t0 + i * l->interval_ns;
        const char *h;

        sleep_until(due);
        if (c == NULL) {
            c = connect_as(l->addr, l->user);
        }
        l->code[i] = -1;
        if (c != NULL &&
            it_sendf(c, "GET %s HTTP/1.1\r\nHost: sim\r\n\r\n", l->paths[i % 2]) == 0 &&
            it_recv(c, "GET", &r, 1 << 20, 10000) == 0) {
            l->code[i] = r.status;
            snprintf(l->body[i], sizeof(l->body[i]), "%s", r.body != NULL ? r.body : "");
            h = it_header(&r, "Retry-After");
            snprintf(l->retry_after[i], sizeof(l->retry_after[i]), "%s", h != NULL ? h : "");
            h = it_header(&r, "Content-Type");
            snprintf(l->ctype[i], sizeof(l->ctype[i]), "%s", h != NULL ? h : "");
            if (!r.keep_alive || !r.complete) {
                it_close(c);
                c = NULL;
            }
            it_resp_free(&r);
        } else {
            it_close(c);
            c = NULL;
        }
        l->lat_ns[i] = now_ns() - due;
    }
    it_close(c);
    return NULL;
}

/* Offers <n> requests at <rate_per_s> from <threads> connections. */
static struct load *
offer(const char *addr, const char *user, const char *p0, const char *p1, unsigned rate_per_s,
      size_t n, int threads)
{
    struct load *l = calloc(1, sizeof(*l));
    int i;

    assert_non_null(l);
    assert_true(n <= MAX_REQ && threads <= 128);
    l->addr = addr;
    l->user = user;
    l->paths[0] = p0;
    l->paths[1] = p1;
    l->interval_ns = 1000000000ull / rate_per_s;
    l->n = n;
    l->threads = threads;
    pthread_barrier_init(&l->ready, NULL, (unsigned)threads + 1);
    for (i = 0; i < threads; i++) {
        assert_int_equal(pthread_create(&l->th[i], NULL, worker, l), 0);
    }
    l->t0 = now_ns() + 50000000ull; /* every connection is up: start together */
    pthread_barrier_wait(&l->ready);
    return l;
}

static int
cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

static uint64_t
p99(const struct load *l)
{
    uint64_t *v = malloc(l->n * sizeof(*v)), r;

    memcpy(v, l->lat_ns, l->n * sizeof(*v));
    qsort(v, l->n, sizeof(*v), cmp_u64);
    r = v[(l->n * 99) / 100];
    free(v);
    return r;
}

static size_t
count(const struct load *l, int code)
{
    size_t i, k = 0;

    for (i = 0; i < l->n; i++) {
        k += l->code[i] == code;
    }
    return k;
}

static long
metric(const char *addr, const char *name)
{
    struct it_conn *c = connect_as(addr, "alice");
    struct it_resp r;
    long v = -1;
    const char *p;

    if (c != NULL && it_sendf(c, "GET /metrics HTTP/1.1\r\nHost: sim\r\n\r\n") == 0 &&
        it_recv(c, "GET", &r, 1 << 20, 5000) == 0) {
        char key[128];

        snprintf(key, sizeof(key), "\n%s ", name);
        p = strstr(r.body, key);
        if (p != NULL) {
            v = strtol(p + strlen(key), NULL, 10);
        }
        it_resp_free(&r);
    }
    it_close(c);
    return v;
}

/* One GET as <user>, its latency in ns (or 0 on failure). */
static uint64_t
timed_get(const char *addr, const char *user, const char *p, int *code)
{
    struct it_conn *c = connect_as(addr, user);
    struct it_resp r;
    uint64_t t0, lat = 0;

    *code = -1;
    if (c == NULL) {
        return 0;
    }
    t0 = now_ns();
    if (it_sendf(c, "GET %s HTTP/1.1\r\nHost: sim\r\n\r\n", p) == 0 &&
        it_recv(c, "GET", &r, 1 << 20, 10000) == 0) {
        lat = now_ns() - t0;
        *code = r.status;
        it_resp_free(&r);
    }
    it_close(c);
    return lat;
}

/* Waits for every answer: workers end once no request is left to send. */
static void
join_all(struct load *l)
{
    int i;

    for (i = 0; i < l->threads; i++) {
        pthread_join(l->th[i], NULL);
    }
    pthread_barrier_destroy(&l->ready);
}

static void
test_latency_and_errors_follow_offered_load(void **state)
{
    static const char *const flags[] = {
        "--slots",         "1",  "--cost-get", "20ms", "--max-inflight", "100",
        "--queue-timeout", "5s", NULL};
    const char *pod = "/api/v1/nodes/node-00000";
    struct load *calm, *storm;
    uint64_t calm_p99, storm_p99, admin_lat;
    size_t i, n429, first429 = SIZE_MAX;
    long queue_mid;
    int admin_code;
    struct sim s;

    (void)state;
    sim_start(&s, "capacity", flags);
    /* capacity: 1 slot / 20 ms = 50 GETs/s. Calm: 15/s for 4 s. */
    calm = offer(s.addr, "alice", pod, pod, 15, 60, 8);
    join_all(calm);
    /* Storm: 150/s (3x) for 4 s. */
    storm = offer(s.addr, "alice", pod, pod, 150, 600, 120);
    sleep_until(storm->t0 + 2500000000ull);
    queue_mid = metric(s.addr, "apisim_queue_depth");
    admin_lat = timed_get(s.addr, "admin", pod, &admin_code);
    join_all(storm);
    calm_p99 = p99(calm);
    storm_p99 = p99(storm);
    n429 = count(storm, 429);
    for (i = 0; i < storm->n && first429 == SIZE_MAX; i++) {
        if (storm->code[i] == 429) {
            first429 = i;
        }
    }
    print_message("calm p99 %.1f ms, storm p99 %.1f ms (x%.1f), queue %ld mid-storm, %zu/%zu "
                  "429s, system:masters waited %.1f ms\n",
                  (double)calm_p99 / 1e6, (double)storm_p99 / 1e6,
                  (double)storm_p99 / (double)calm_p99, queue_mid, n429, storm->n,
                  (double)admin_lat / 1e6);
    assert_int_equal(count(calm, 200), calm->n);
    assert_true(storm_p99 >= 10 * calm_p99);
    assert_true(queue_mid >= 50);
    /* kube-apiserver's max-inflight 429: text/plain, Retry-After: 1 */
    assert_true(n429 >= storm->n / 10);
    assert_string_equal(storm->body[first429], "Too many requests, please try again later.\n");
    assert_string_equal(storm->retry_after[first429], "1");
    assert_string_equal(storm->ctype[first429], "text/plain; charset=utf-8");
    /* system:masters skips the 429 but not the queue */
    assert_int_equal(admin_code, 200);
    assert_true(admin_lat >= 5 * calm_p99);
    assert_int_equal(count(storm, 200) + n429, storm->n);
    free(calm);
    free(storm);
    sim_stop(&s);
}

static void
test_requests_past_the_queue_timeout_fail_like_kube(void **state)
{
    static const char *const flags[] = {
        "--slots",         "1",     "--cost-get", "50ms", "--max-inflight", "0",
        "--queue-timeout", "300ms", NULL};
    const char *etcd = "/api/v1/nodes/node-00000";
    const char *cache = "/api/v1/nodes/node-00000?resourceVersion=0";
    struct load *storm;
    size_t i, n500 = 0, n504 = 0;
    struct sim s;

    (void)state;
    sim_start(&s, "timeouts", flags);
    /* capacity 20/s; 60/s for 2 s, alternating storage and cache reads */
    storm = offer(s.addr, "alice", etcd, cache, 60, 120, 64);
    join_all(storm);
    for (i = 0; i < storm->n; i++) {
        if (storm->code[i] == 500) {
            assert_int_equal(i % 2, 0);
            assert_string_equal(storm->body[i],
                                "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},"
                                "\"status\":\"Failure\",\"message\":\"etcdserver: request timed "
                                "out\",\"code\":500}\n");
            n500++;
        } else if (storm->code[i] == 504) {
            assert_int_equal(i % 2, 1);
            assert_non_null(strstr(storm->body[i], "\"message\":\"Timeout: request did not "
                                                   "complete within requested timeout - context "
                                                   "deadline exceeded\",\"reason\":\"Timeout\","
                                                   "\"details\":{},\"code\":504}"));
            n504++;
        } else {
            assert_int_equal(storm->code[i], 200);
        }
    }
    print_message("%zu 500 etcdserver timeouts, %zu 504 timeouts of %zu\n", n500, n504, storm->n);
    assert_true(n500 >= 10);
    assert_true(n504 >= 10);
    assert_true(metric(s.addr, "apisim_rejected_total{reason=\"queue_timeout\"}") ==
                (long)(n500 + n504));
    free(storm);
    sim_stop(&s);
}

static int
setup(void **state)
{
    (void)state;
    snprintf(pki, sizeof(pki), "%s", it_tmpdir("pki"));
    return it_pki(pki);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_latency_and_errors_follow_offered_load),
        cmocka_unit_test(test_requests_past_the_queue_timeout_fail_like_kube),
    };

    return it_finish(cmocka_run_group_tests(tests, setup, NULL));
}
