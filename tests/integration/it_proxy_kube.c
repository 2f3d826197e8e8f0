/* floodgate in front of floodgate-apisim, driven by the preinstalled
 * kubectl with a client-certificate kubeconfig: get pods -A, get pods -w
 * (events arrive, then it is stopped), create and delete a configmap, get
 * --raw /version; the simulator sees the identity floodgate asserts, never
 * the one a client claims in its own X-Remote-User; a service-account
 * token is authenticated by the apiserver itself; a watch over its
 * identity's cap is rejected while other identities proceed; a 10 MiB
 * LIST streams to a slow reader while floodgate's RSS stays bounded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <signal.h>
#include <sys/wait.h>

#include "../unit/bn_sim_mint.h"
#include "it_proxy.h"

#define ISSUER "https://kubernetes.default.svc"

/* The RSS floodgate may gain while a 10 MiB response streams to a reader
 * taking about 5 s: its buffers are bounded at 64 KiB per direction, so
 * anything near the response size means it is buffering the body.
 * Measured: +48 KiB; under ASan (quarantine off) +1 to +2 MiB, its
 * allocator keeping more per thread. */
#define RSS_BOUND_KIB 4096

#define LIMITS                                                                                     \
    "\"classes\": [{\"name\": \"exempt\", \"mode\": \"exempt\", \"distinguisher\": \"none\"},"     \
    " {\"name\": \"users\", \"distinguisher\": \"user\", \"rate\": \"100/s\", \"burst\": 200,"     \
    " \"max_watches_per_key\": 1}],"                                                               \
    " \"rules\": [{\"class\": \"exempt\", \"groups\": [\"system:masters\"]},"                      \
    " {\"class\": \"users\"}]"

static struct it_px px;
static char sim_addr[128];
static pid_t sim_pid;

static pid_t
start_sim(const char *tag, const char *nodes, const char *pods, char *addr, size_t len)
{
    char ready[700], log[700], cert[700], key[700], ca[700], fpca[700], sa[700], saec[700];
    pid_t pid;

    snprintf(ready, sizeof(ready), "%s/apisim-%s.ready", px.dir, tag);
    snprintf(log, sizeof(log), "%s/apisim-%s.log", px.dir, tag);
    snprintf(cert, sizeof(cert), "%s/apiserver.crt", px.pki);
    snprintf(key, sizeof(key), "%s/apiserver.key", px.pki);
    snprintf(ca, sizeof(ca), "%s/ca.crt", px.pki);
    snprintf(fpca, sizeof(fpca), "%s/front-proxy-ca.crt", px.pki);
    snprintf(sa, sizeof(sa), "%s/sa.pub", px.pki);
    snprintf(saec, sizeof(saec), "%s/sa-ec.pub", px.pki);
    {
        char *argv[] = {(char *)it_bin("floodgate-apisim"),
                        (char *)"--listen",
                        (char *)"127.0.0.1:0",
                        (char *)"--ready-file",
                        ready,
                        (char *)"--cert",
                        cert,
                        (char *)"--key",
                        key,
                        (char *)"--client-ca",
                        ca,
                        (char *)"--requestheader-client-ca",
                        fpca,
                        (char *)"--requestheader-allowed-names",
                        (char *)"front-proxy-client",
                        (char *)"--service-account-key-file",
                        sa,
                        (char *)"--service-account-key-file",
                        saec,
                        (char *)"--service-account-issuer",
                        (char *)ISSUER,
                        (char *)"--nodes",
                        (char *)nodes,
                        (char *)"--pods-per-node",
                        (char *)pods,
                        NULL};

        pid = it_spawn(argv, NULL, log);
    }
    if (pid <= 0 || it_wait_ready(ready, "listen", addr, len, 30000) != 0) {
        return -1;
    }
    return pid;
}

static int
setup(void **state)
{
    (void)state;
    if (it_px_init(&px, "proxy-kube") != 0) {
        return -1;
    }
    sim_pid = start_sim("small", "4", "5", sim_addr, sizeof(sim_addr));
    if (sim_pid <= 0 ||
        it_px_config(&px, sim_addr, "", ", \"request_timeout\": \"20s\"", LIMITS) != 0) {
        return -1;
    }
    return it_px_start(&px, "kube");
}

static int
teardown(void **state)
{
    (void)state;
    if (px.pid > 0) {
        it_px_stop(&px);
    }
    if (sim_pid > 0) {
        it_stop(sim_pid, SIGTERM, 5000);
    }
    return 0;
}

static const char *
kubeconfig(const char *user)
{
    static char path[800];
    char server[200], out[4096];
    char *argv[] = {(char *)it_src("deploy/pki.sh"),
                    (char *)"--dir",
                    px.pki,
                    (char *)"--force",
                    (char *)"kubeconfig",
                    (char *)"--server",
                    server,
                    (char *)"--user",
                    (char *)user,
                    (char *)"--out",
                    path,
                    NULL};

    snprintf(path, sizeof(path), "%s/%s.kubeconfig", px.dir, user);
    snprintf(server, sizeof(server), "https://%s", px.addr);
    assert_int_equal(it_run(argv, NULL, out, sizeof(out), 20000), 0);
    return path;
}

/* Runs kubectl <args...> with <kc>; returns its exit code, output in <out>. */
static int
kubectl(const char *kc, char *out, size_t outlen, const char *a1, const char *a2, const char *a3,
        const char *a4, const char *a5)
{
    char *argv[] = {(char *)"kubectl",
                    (char *)"--kubeconfig",
                    (char *)kc,
                    (char *)a1,
                    (char *)a2,
                    (char *)a3,
                    (char *)a4,
                    (char *)a5,
                    NULL};

    return it_run(argv, NULL, out, outlen, 30000);
}

static void
test_kubectl_reads_writes_and_watches_through_floodgate(void **state)
{
    static char out[1 << 16];
    const char *kc = kubeconfig("admin");
    char log[700], *watch_argv[8];
    pid_t w;
    FILE *f;
    int lines = 0;

    (void)state;
    assert_int_equal(kubectl(kc, out, sizeof(out), "get", "--raw", "/version", NULL, NULL), 0);
    assert_non_null(strstr(out, "\"gitVersion\""));
    assert_int_equal(kubectl(kc, out, sizeof(out), "get", "pods", "-A", NULL, NULL), 0);
    assert_non_null(strstr(out, "NAMESPACE"));
    assert_non_null(strstr(out, "kube-system"));
    assert_int_equal(
        kubectl(kc, out, sizeof(out), "create", "configmap", "fg-it", "--from-literal=a=b", NULL),
        0);
    assert_non_null(strstr(out, "configmap/fg-it created"));
    assert_int_equal(kubectl(kc, out, sizeof(out), "get", "configmap", "fg-it", "-o", "json"), 0);
    assert_non_null(strstr(out, "\"a\": \"b\""));
    assert_int_equal(kubectl(kc, out, sizeof(out), "delete", "configmap", "fg-it", NULL, NULL), 0);
    assert_non_null(strstr(out, "deleted"));
    assert_int_not_equal(kubectl(kc, out, sizeof(out), "get", "configmap", "fg-it", NULL, NULL), 0);
    /* A watch: the initial list, then events from the simulator's churn. */
    snprintf(log, sizeof(log), "%s/kubectl-watch.log", px.dir);
    watch_argv[0] = (char *)"/usr/bin/kubectl";
    watch_argv[1] = (char *)"--kubeconfig";
    watch_argv[2] = (char *)kc;
    watch_argv[3] = (char *)"get";
    watch_argv[4] = (char *)"pods";
    watch_argv[5] = (char *)"-A";
    watch_argv[6] = (char *)"-w";
    watch_argv[7] = NULL;
    w = it_spawn(watch_argv, NULL, log);
    assert_true(w > 0);
    for (int i = 0; i < 150 && lines <= 21 + 3; i++) { /* 20 pods + header, then events */
        char line[512];

        it_px_sleep_ms(100);
        lines = 0;
        f = fopen(log, "r");
        while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
            lines++;
        }
        if (f != NULL) {
            fclose(f);
        }
    }
    it_stop(w, SIGTERM, 5000);
    if (lines <= 21 + 3) {
        fail_msg("kubectl get pods -w printed %d lines: no events after the list", lines);
    }
}

static void
test_simulator_sees_the_asserted_identity(void **state)
{
    static char out[4096];
    struct it_resp r;

    (void)state;
    assert_int_equal(
        kubectl(kubeconfig("alice"), out, sizeof(out), "get", "--raw", "/debug/whoami", NULL, NULL),
        0);
    assert_non_null(strstr(out, "\"user\":\"alice\""));
    assert_non_null(strstr(out, "\"developers\""));
    assert_non_null(strstr(out, "\"authenticatedBy\":\"requestheader\""));
    assert_non_null(strstr(out, "X509SHA256="));
    /* A client's own X-Remote-User is dropped: alice stays alice. */
    assert_int_equal(it_request(px.addr, px.ca, it_px_file(&px, "alice", "crt"),
                                it_px_file(&px, "alice", "key"), "GET", "/debug/whoami",
                                "X-Remote-User: system:admin\r\n"
                                "X-Remote-Group: system:masters\r\n",
                                NULL, &r),
                     0);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"user\":\"alice\""));
    assert_null(strstr(r.body, "system:admin"));
    assert_null(strstr(r.body, "system:masters"));
    it_resp_free(&r);
    /* Without a certificate: anonymous, claims or not. */
    assert_int_equal(it_request(px.addr, px.ca, NULL, NULL, "GET", "/debug/whoami",
                                "X-Remote-User: system:admin\r\n", NULL, &r),
                     0);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"user\":\"system:anonymous\""));
    it_resp_free(&r);
}

static void
test_service_account_token_is_authenticated_by_the_apiserver(void **state)
{
    char payload[1024], key[700], hdr[4096], *tok;
    int64_t now = (int64_t)time(NULL);
    struct it_resp r;

    (void)state;
    (void)mint_pki; /* the shared minting helper also makes unit-test PKIs */
    snprintf(key, sizeof(key), "%s/sa.key", px.pki);
    mint_bound_payload(payload, sizeof(payload), ISSUER, ISSUER, now - 10, now + 3600,
                       "kube-system", "agent", "node-1");
    tok = mint_token("RS256", NULL, payload, key);
    assert_non_null(tok);
    snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\r\nX-Remote-User: system:admin\r\n", tok);
    free(tok);
    assert_int_equal(it_request(px.addr, px.ca, NULL, NULL, "GET", "/debug/whoami", hdr, NULL, &r),
                     0);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"user\":\"system:serviceaccount:kube-system:agent\""));
    assert_non_null(strstr(r.body, "\"authenticatedBy\":\"token\""));
    it_resp_free(&r);
}

static struct it_conn *
open_watch(const char *user, int *status)
{
    struct it_conn *c = it_connect(px.addr, px.ca, it_px_file(&px, user, "crt"),
                                   it_px_file(&px, user, "key"), 5000);
    struct it_resp r;

    assert_non_null(c);
    assert_int_equal(it_sendf(c, "GET /api/v1/namespaces/default/configmaps?watch=1 HTTP/1.1\r\n"
                                 "Host: k\r\n\r\n"),
                     0);
    assert_int_equal(it_recv(c, "GET", &r, 1, 5000), 0);
    *status = r.status;
    if (r.status == 429) {
        assert_string_equal(it_header(&r, "X-Floodgate-Reason"), "watch_cap");
        assert_true(atoi(it_header(&r, "Retry-After")) >= 1);
    }
    it_resp_free(&r);
    return c;
}

static void
test_watch_over_its_cap_is_rejected_while_others_proceed(void **state)
{
    struct it_conn *first, *second, *other;
    int st;

    (void)state;
    first = open_watch("alice", &st);
    assert_int_equal(st, 200);
    second = open_watch("alice", &st);
    assert_int_equal(st, 429);
    it_close(second);
    other = open_watch("system_node_node-1", &st);
    assert_int_equal(st, 200);
    it_close(other);
    it_close(first);
    it_px_sleep_ms(300);
    second = open_watch("alice", &st); /* released when its client left */
    assert_int_equal(st, 200);
    it_close(second);
}

static void
test_10mib_list_to_a_slow_reader_keeps_rss_bounded(void **state)
{
    static char buf[16384];
    char addr[128];
    pid_t big;
    struct it_px bigpx = px;
    struct it_raw raw;
    long base, peak = 0;
    size_t total = 0;
    int closed = 0;
    uint64_t t0;

    (void)state;
    /* 2,200 pods of ~4.8 KB: a LIST of about 10.5 MB. */
    big = start_sim("big", "44", "50", addr, sizeof(addr));
    assert_true(big > 0);
    assert_int_equal(it_px_config(&bigpx, addr, "", ", \"request_timeout\": \"60s\"", LIMITS), 0);
    {
        /* Under AddressSanitizer, freed memory sits in a quarantine and
         * counts in RSS: turn it off so that the bound measures floodgate,
         * not the sanitizer (no effect on a normal build). */
        static char asan[512];
        const char *prev = getenv("ASAN_OPTIONS");
        char *env[] = {asan, NULL};

        snprintf(asan, sizeof(asan), "ASAN_OPTIONS=%s%squarantine_size_mb=0", prev ? prev : "",
                 prev && prev[0] ? ":" : "");
        assert_int_equal(it_px_start_env(&bigpx, "big", env), 0);
    }
    assert_int_equal(it_raw_open(&raw, &bigpx, "admin"), 0);
    /* Warm up TLS and the pool, then take the baseline. */
    assert_int_equal(it_raw_send(&raw, "GET /version HTTP/1.1\r\nHost: k\r\n\r\n", 34), 0);
    (void)it_raw_read(&raw, buf, sizeof(buf), 200, 2000, &closed);
    it_px_sleep_ms(200);
    base = it_rss_kib(bigpx.pid);
    assert_true(base > 0);
    assert_int_equal(it_raw_send(&raw, "GET /api/v1/pods HTTP/1.1\r\nHost: k\r\n\r\n", 38), 0);
    t0 = it_px_now_ms();
    /* About 2 MiB/s: 16 KiB every 8 ms. */
    while (!closed && it_px_now_ms() - t0 < 40000) {
        size_t n = it_raw_read(&raw, buf, sizeof(buf), sizeof(buf) - 1, 2000, &closed);
        long rss = it_rss_kib(bigpx.pid);

        if (n == 0) {
            break;
        }
        total += n;
        if (rss > peak) {
            peak = rss;
        }
        if (total > 10u << 20 && n < sizeof(buf) - 1 &&
            strstr(buf + (n > 8 ? n - 8 : 0), "0\r\n\r\n") != NULL) {
            break; /* the chunked terminator */
        }
        it_px_sleep_ms(8);
    }
    it_raw_close(&raw);
    print_message("10 MiB LIST: %zu bytes in %llu ms, floodgate RSS %ld KiB before, %ld KiB peak "
                  "(+%ld KiB, bound %d KiB)\n",
                  total, (unsigned long long)(it_px_now_ms() - t0), base, peak, peak - base,
                  RSS_BOUND_KIB);
    assert_true(total >= 10u << 20);
    assert_true(peak - base <= RSS_BOUND_KIB);
    it_px_stop(&bigpx);
    it_stop(big, SIGTERM, 5000);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kubectl_reads_writes_and_watches_through_floodgate),
        cmocka_unit_test(test_simulator_sees_the_asserted_identity),
        cmocka_unit_test(test_service_account_token_is_authenticated_by_the_apiserver),
        cmocka_unit_test(test_watch_over_its_cap_is_rejected_while_others_proceed),
        cmocka_unit_test(test_10mib_list_to_a_slow_reader_keeps_rss_bounded),
    };

    return it_finish(cmocka_run_group_tests(tests, setup, teardown));
}
