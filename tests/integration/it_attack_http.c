/* Attacks on floodgate's HTTP front, with floodgate-apisim behind it, and
 * what reached the apiserver checked on the simulator's own request log:
 * request smuggling shapes (CL+TE, Transfer-Encoding variants, duplicate
 * or malformed Content-Length, obs-fold, bare LF and CR, NUL, oversized
 * and malformed chunk sizes, bad versions) get 400 (or 413 for a chunk
 * beyond max_body_bytes) and a closed connection, and neither they nor a
 * request hidden in their body ever reach the simulator; spoofed
 * X-Remote-* headers, in any case, never reach it either: the simulator
 * serves each request as the identity floodgate proved (an anonymous
 * client, a client certificate, a service-account token), never as the
 * one claimed. it_proxy_edge.c covers the first smuggling shapes with no
 * upstream at all; it_proxy_stream.c and it_proxy_kube.c the identity a
 * scripted upstream and kubectl see. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <signal.h>
#include <sys/wait.h>

#include "../unit/bn_sim_mint.h"
#include "it_harden.h"

#define ISSUER "https://kubernetes.default.svc.cluster.local"

#define LIMITS                                                                                     \
    "\"classes\": [{\"name\": \"exempt\", \"mode\": \"exempt\", \"distinguisher\": \"none\"},"     \
    " {\"name\": \"users\", \"distinguisher\": \"user\", \"rate\": \"100/s\", \"burst\": 100}],"   \
    " \"rules\": [{\"class\": \"exempt\", \"groups\": [\"system:masters\"]},"                      \
    " {\"class\": \"users\"}]"

static struct it_fg fg;

static int
setup(void **state)
{
    static const char *const sim_args[] = {"--service-account-issuer", ISSUER, NULL};
    FILE *f;
    char *cfg;

    (void)state;
    if (it_fg_init(&fg, "attack-http") != 0 || it_fg_sim(&fg, "127.0.0.1:0", sim_args) != 0 ||
        it_fg_config(&fg, "\"address\": \"\"", "\"level\": \"info\"", LIMITS) != 0) {
        return -1;
    }
    /* A body limit the oversized-chunk shape can cross. */
    cfg = malloc(1 << 16);
    f = fopen(fg.cfg, "r");
    if (cfg == NULL || f == NULL) {
        return -1;
    }
    cfg[fread(cfg, 1, (1 << 16) - 1, f)] = '\0';
    fclose(f);
    {
        char *p = strstr(cfg, "\"workers\": 1");
        FILE *o = fopen(fg.cfg, "w");

        if (p == NULL || o == NULL) {
            return -1;
        }
        fprintf(o, "%.*s\"workers\": 1, \"max_body_bytes\": \"64KiB\"%s", (int)(p - cfg), cfg,
                p + strlen("\"workers\": 1"));
        fclose(o);
    }
    free(cfg);
    return it_fg_start(&fg, "attack-http", NULL, 0);
}

static int
teardown(void **state)
{
    (void)state;
    if (fg.pid > 0) {
        assert_int_equal(WEXITSTATUS(it_stop(fg.pid, SIGTERM, 10000)), 0);
    }
    if (fg.sim > 0) {
        it_stop(fg.sim, SIGTERM, 10000);
    }
    return 0;
}

/* Each shape targets its own namespace, smuggle-<i>, and hides a second
 * request for namespace smuggled-<i> where a desynchronised parser would
 * see one. */
struct shape {
    const char *name;
    const char *text; /* "{i}": the shape's index, "{NUL}": a NUL byte */
    int status;
};

/* <t> with its placeholders filled in; returns the length. */
static size_t
fill(const char *t, int i, char *out, size_t cap)
{
    size_t n = 0;

    while (*t != '\0' && n + 16 < cap) {
        if (strncmp(t, "{i}", 3) == 0) {
            n += (size_t)snprintf(out + n, cap - n, "%d", i);
            t += 3;
        } else if (strncmp(t, "{NUL}", 5) == 0) {
            out[n++] = '\0';
            t += 5;
        } else {
            out[n++] = *t++;
        }
    }
    return n;
}

#define HIDDEN "GET /api/v1/namespaces/smuggled-{i}/pods HTTP/1.1\r\nHost: k\r\n\r\n"

static const struct shape shapes[] = {
    {"CL then TE",
     "POST /api/v1/namespaces/smuggle-{i}/configmaps HTTP/1.1\r\nHost: k\r\nContent-Length: 62\r\n"
     "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n" HIDDEN,
     400},
    {"TE then CL",
     "POST /api/v1/namespaces/smuggle-{i}/configmaps HTTP/1.1\r\nHost: k\r\n"
     "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n" HIDDEN,
     400},
    {"TE twice",
     "POST /api/v1/namespaces/smuggle-{i}/configmaps HTTP/1.1\r\nHost: k\r\n"
     "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" HIDDEN,
     400},
    {"TE list",
     "POST /api/v1/namespaces/smuggle-{i}/configmaps HTTP/1.1\r\nHost: k\r\n"
     "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n" HIDDEN,
     400},
    {"TE xchunked",
     "POST /api/v1/namespaces/smuggle-{i}/configmaps HTTP/1.1\r\nHost: k\r\n"
     "Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n" HIDDEN,
     400},
    {"TE chunked<TAB>",
     "POST /api/v1/namespaces/smuggle-{i}/configmaps HTTP/1.1\r\nHost: k\r\n"
     "Transfer-Encoding: chunked\t\r\n\r\n0\r\n\r\n" HIDDEN,
     400},
    {"TE with a space before the colon",
     "POST /api/v1/namespaces/smuggle-{i}/configmaps HTTP/1.1\r\nHost: k\r\n"
     "Transfer-Encoding : chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n" HIDDEN,
     400},
    {"TE folded",
     "POST /api/v1/namespaces/smuggle-{i}/configmaps HTTP/1.1\r\nHost: k\r\n"
     "Transfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n" HIDDEN,
     400},
    {"TE with a vertical tab",
     "POST /api/v1/namespaces/smuggle-{i}/configmaps HTTP/1.1\r\nHost: k\r\n"
     "Transfer-Encoding:\x0b"
     "chunked\r\n\r\n0\r\n\r\n" HIDDEN,
     400},
    {"TE in HTTP/1.0",
     "POST /api/v1/namespaces/smuggle-{i}/configmaps HTTP/1.0\r\nHost: k\r\n"
     "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n" HIDDEN,
     400},
    {"CL twice, equal",
     "POST /api/v1/namespaces/smuggle-{i}/configmaps HTTP/1.1\r\nHost: k\r\n"
     "Content-Length: 0\r\nContent-Length: 0\r\n\r\n" HIDDEN,
     400},
    {"CL list",
     "POST /api/v1/namespaces/smuggle-{i}/configmaps HTTP/1.1\r\nHost: k\r\n"
     "Content-Length: 0, 0\r\n\r\n" HIDDEN,
     400},
    {"CL hex",
     "POST /api/v1/namespaces/smuggle-{i}/configmaps HTTP/1.1\r\nHost: k\r\n"
     "Content-Length: 0x0\r\n\r\n" HIDDEN,
     400},
    {"CL negative",
     "POST /api/v1/namespaces/smuggle-{i}/configmaps HTTP/1.1\r\nHost: k\r\n"
     "Content-Length: -1\r\n\r\n" HIDDEN,
     400},
    {"obs-fold",
     "GET /api/v1/namespaces/smuggle-{i}/pods HTTP/1.1\r\nHost: k\r\nX-A: a\r\n b\r\n\r\n" HIDDEN,
     400},
    {"bare LF",
     "GET /api/v1/namespaces/smuggle-{i}/pods HTTP/1.1\nHost: k\nContent-Length: 0\n\n" HIDDEN,
     400},
    {"bare CR",
     "GET /api/v1/namespaces/smuggle-{i}/pods HTTP/1.1\r\nHost: k\rX-A: b\r\n\r\n" HIDDEN, 400},
    {"NUL in a value",
     "GET /api/v1/namespaces/smuggle-{i}/pods HTTP/1.1\r\nHost: k\r\nX-A: a{NUL}b\r\n\r\n", 400},
    {"chunk size overflowing 64 bits",
     "POST /api/v1/namespaces/smuggle-{i}/configmaps HTTP/1.1\r\nHost: k\r\n"
     "Transfer-Encoding: chunked\r\n\r\n10000000000000000000\r\n" HIDDEN,
     400},
    {"chunk size beyond max_body_bytes",
     "POST /api/v1/namespaces/smuggle-{i}/configmaps HTTP/1.1\r\nHost: k\r\n"
     "Transfer-Encoding: chunked\r\n\r\n100000\r\n" HIDDEN,
     413},
    {"chunk size with a sign",
     "POST /api/v1/namespaces/smuggle-{i}/configmaps HTTP/1.1\r\nHost: k\r\n"
     "Transfer-Encoding: chunked\r\n\r\n+5\r\nhello\r\n0\r\n\r\n" HIDDEN,
     400},
    {"chunk data longer than its size",
     "POST /api/v1/namespaces/smuggle-{i}/configmaps HTTP/1.1\r\nHost: k\r\n"
     "Transfer-Encoding: chunked\r\n\r\n2\r\nhello\r\n0\r\n\r\n" HIDDEN,
     400},
    {"HTTP/2.0 on HTTP/1",
     "GET /api/v1/namespaces/smuggle-{i}/pods HTTP/2.0\r\nHost: k\r\n\r\n" HIDDEN, 400},
    {"HTTP/0.9", "GET /api/v1/namespaces/smuggle-{i}/pods\r\n\r\n" HIDDEN, 400},
    {"no Host", "GET /api/v1/namespaces/smuggle-{i}/pods HTTP/1.1\r\n\r\n" HIDDEN, 400},
};

#define NSHAPES (sizeof(shapes) / sizeof(shapes[0]))

static void
test_smuggling_shapes_are_refused_closed_and_never_reach_the_apiserver(void **state)
{
    char req[1024], needle[64];
    size_t i;

    (void)state;
    for (i = 0; i < NSHAPES; i++) {
        struct it_conn *c = it_connect(fg.addr, fg.ca, it_fg_file(&fg, "admin", "crt"),
                                       it_fg_file(&fg, "admin", "key"), 5000);
        struct it_resp r;
        size_t n = fill(shapes[i].text, (int)i, req, sizeof(req));

        assert_non_null(c);
        assert_int_equal(it_send(c, req, n), 0);
        if (it_recv(c, "GET", &r, 1 << 16, 5000) != 0) {
            fail_msg("%s: no answer", shapes[i].name);
        }
        if (r.status != shapes[i].status) {
            fail_msg("%s: status %d, want %d: %s", shapes[i].name, r.status, shapes[i].status,
                     r.body);
        }
        assert_non_null(strstr(r.body, "\"kind\":\"Status\""));
        if (it_header(&r, "Connection") == NULL ||
            strcmp(it_header(&r, "Connection"), "close") != 0 || it_wait_closed(c, 3000) != 1) {
            fail_msg("%s: the connection stayed open", shapes[i].name);
        }
        it_resp_free(&r);
        it_close(c);
    }
    /* The simulator logs every request it served: none of these. */
    for (i = 0; i < NSHAPES; i++) {
        snprintf(needle, sizeof(needle), "/namespaces/smuggled-%d/", (int)i);
        assert_int_equal(it_h_sim_saw(&fg, needle), 0);
        snprintf(needle, sizeof(needle), "/namespaces/smuggle-%d/", (int)i);
        if (it_h_sim_saw(&fg, needle) != 0) {
            fail_msg("%s reached the apiserver", shapes[i].name);
        }
    }
    assert_int_equal(it_h_wait_released(&fg, 3000), 0);
}

/* GET /debug/whoami through floodgate as <cert> (or none) with <headers>:
 * the simulator's JSON about who it served the request as. */
static void
whoami(const char *cert, const char *headers, char *out, size_t len)
{
    struct it_resp r;

    assert_int_equal(it_request(fg.addr, fg.ca, cert ? it_fg_file(&fg, cert, "crt") : NULL,
                                cert ? it_fg_file(&fg, cert, "key") : NULL, "GET", "/debug/whoami",
                                headers, NULL, &r),
                     0);
    assert_int_equal(r.status, 200);
    snprintf(out, len, "%s", r.body);
    it_resp_free(&r);
}

#define SPOOF                                                                                      \
    "X-Remote-User: system:admin\r\n"                                                              \
    "x-remote-group: system:masters\r\n"                                                           \
    "X-REMOTE-GROUP: system:nodes\r\n"                                                             \
    "X-Remote-Extra-Scopes: cluster-admin\r\n"                                                     \
    "x-remote-extra-authentication.kubernetes.io%2fcredential-id: X509SHA256=00\r\n"               \
    "Connection: X-Remote-User\r\n"

static void
test_spoofed_x_remote_headers_never_reach_the_apiserver(void **state)
{
    char body[4096], auth[8192], payload[2048], key[700];
    long long now = (long long)time(NULL);
    char *tok;

    (void)state;
    /* Anonymous. */
    whoami(NULL, SPOOF, body, sizeof(body));
    assert_non_null(strstr(body, "\"user\":\"system:anonymous\""));
    assert_null(strstr(body, "system:masters"));
    assert_null(strstr(body, "system:admin"));
    assert_null(strstr(body, "cluster-admin"));
    /* A client certificate: asserted as its subject, nothing else. */
    whoami("alice", SPOOF, body, sizeof(body));
    assert_non_null(strstr(body, "\"user\":\"alice\""));
    assert_non_null(strstr(body, "\"authenticatedBy\":\"requestheader\""));
    assert_null(strstr(body, "system:masters"));
    assert_null(strstr(body, "system:nodes"));
    assert_null(strstr(body, "cluster-admin"));
    assert_null(strstr(body, "X509SHA256=00"));
    /* A verified service-account token: floodgate asserts nothing, the
     * apiserver authenticates the token itself. */
    snprintf(key, sizeof(key), "%s/sa.key", fg.pki);
    mint_bound_payload(payload, sizeof(payload), ISSUER, ISSUER, now - 10, now + 3600, "telemetry",
                       "agent", "node-1");
    tok = mint_token("RS256", NULL, payload, key);
    assert_non_null(tok);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\n%s", tok, SPOOF);
    free(tok);
    whoami(NULL, auth, body, sizeof(body));
    assert_non_null(strstr(body, "\"user\":\"system:serviceaccount:telemetry:agent\""));
    assert_non_null(strstr(body, "\"authenticatedBy\":\"token\""));
    assert_null(strstr(body, "system:masters"));
    assert_null(strstr(body, "cluster-admin"));
    (void)mint_pki;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_smuggling_shapes_are_refused_closed_and_never_reach_the_apiserver),
        cmocka_unit_test(test_spoofed_x_remote_headers_never_reach_the_apiserver),
    };

    return it_finish(cmocka_run_group_tests(tests, setup, teardown));
}
