/* Attacks on what floodgate trusts, with floodgate-apisim behind it:
 * forged service-account tokens (alg none, HS256 keyed with the public
 * key, expired, another issuer, signed by a key floodgate does not hold)
 * are never taken as the service account: they fall in the small
 * "unverified" budget (and the apiserver refuses those admitted), and after a
 * reload to auth.unverified "reject" floodgate answers 401 itself without
 * forwarding; a client certificate from another CA claiming
 * system:masters is neither exempt nor asserted (under the anonymous
 * budget, refused by the apiserver); TLS below 1.2, CBC and
 * RSA-key-exchange suites and null ciphers are refused at the handshake.
 * The admin endpoints on the public port are covered by it_admin_plane.c
 * (they go to the apiserver, never to the admin plane). */
#define _GNU_SOURCE /* memmem */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <signal.h>
#include <sys/wait.h>

#include "../unit/bn_sim_mint.h"
#include "it_harden.h"
#include "px_tls.h"

#include <openssl/err.h>

#define ISSUER "https://kubernetes.default.svc.cluster.local"

#define LIMITS                                                                                     \
    "\"classes\": [{\"name\": \"exempt\", \"mode\": \"exempt\", \"distinguisher\": \"none\"},"     \
    " {\"name\": \"service-accounts\", \"rate\": \"100/s\", \"burst\": 100},"                      \
    " {\"name\": \"unverified\", \"rate\": \"1/m\", \"burst\": 1},"                                \
    " {\"name\": \"anonymous\", \"rate\": \"1/m\", \"burst\": 1},"                                 \
    " {\"name\": \"users\", \"rate\": \"100/s\", \"burst\": 100}],"                                \
    " \"rules\": [{\"class\": \"exempt\", \"groups\": [\"system:masters\"]},"                      \
    " {\"class\": \"service-accounts\", \"service_accounts\": [\"telemetry/*\"]},"                 \
    " {\"class\": \"unverified\", \"credentials\": [\"unverified\"]},"                             \
    " {\"class\": \"anonymous\", \"credentials\": [\"anonymous\"]},"                               \
    " {\"class\": \"users\"}]"

static struct it_fg fg;

static int
setup(void **state)
{
    static const char *const sim_args[] = {"--service-account-issuer", ISSUER, NULL};

    (void)state;
    if (it_fg_init(&fg, "attack-auth") != 0 || it_fg_sim(&fg, "127.0.0.1:0", sim_args) != 0 ||
        it_fg_config(&fg, "\"address\": \"\"", "\"level\": \"info\"", LIMITS) != 0) {
        return -1;
    }
    return it_fg_start(&fg, "attack-auth", NULL, 0);
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

/* One GET of <path> with "Authorization: Bearer <tok>"; the status, and
 * the X-Floodgate-Class of a 429 in <cls>. */
static int
get_with(const char *tok, const char *path, char *cls, size_t clen)
{
    char hdr[8192];
    struct it_resp r;
    int st;

    snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\r\n", tok);
    assert_int_equal(it_request(fg.addr, fg.ca, NULL, NULL, "GET", path, hdr, NULL, &r), 0);
    st = r.status;
    if (cls != NULL) {
        const char *c = it_header(&r, "X-Floodgate-Class");

        snprintf(cls, clen, "%s", c != NULL ? c : "");
    }
    it_resp_free(&r);
    return st;
}

struct forged {
    const char *name;
    char *tok;
};

/* The five forgeries, and in <valid> a token the apiserver would accept. */
static void
mint_all(struct forged f[5], char **valid)
{
    char payload[2048], key[700], pub[700], eckey[700];
    long long now = (long long)time(NULL);

    snprintf(key, sizeof(key), "%s/sa.key", fg.pki);
    snprintf(pub, sizeof(pub), "%s/sa.pub", fg.pki);
    snprintf(eckey, sizeof(eckey), "%s/sa-ec.key", fg.pki); /* not in auth.keys */
    mint_bound_payload(payload, sizeof(payload), ISSUER, ISSUER, now - 10, now + 3600, "telemetry",
                       "agent", "node-1");
    *valid = mint_token("RS256", NULL, payload, key);
    f[0].name = "alg none";
    f[0].tok = mint_token("none", NULL, payload, NULL);
    f[1].name = "HS256 keyed with the public key";
    f[1].tok = mint_token("HS256", NULL, payload, pub);
    f[2].name = "signed by a key floodgate does not hold";
    f[2].tok = mint_token("ES256", NULL, payload, eckey);
    mint_bound_payload(payload, sizeof(payload), ISSUER, ISSUER, now - 7200, now - 3600,
                       "telemetry", "agent", "node-1");
    f[3].name = "expired an hour ago";
    f[3].tok = mint_token("RS256", NULL, payload, key);
    mint_bound_payload(payload, sizeof(payload), "https://evil.example", "https://evil.example",
                       now - 10, now + 3600, "telemetry", "agent", "node-1");
    f[4].name = "another issuer";
    f[4].tok = mint_token("RS256", NULL, payload, key);
    assert_non_null(*valid);
    for (int i = 0; i < 5; i++) {
        assert_non_null(f[i].tok);
    }
}

static void
test_forged_tokens_are_never_the_service_account(void **state)
{
    struct forged f[5];
    char *valid, cls[64], path[128], cfg[1 << 14], out[4096];
    FILE *in;
    size_t n;
    int i, k;

    (void)state;
    mint_all(f, &valid);
    /* The real token: the service account's generous budget, served. */
    for (k = 0; k < 5; k++) {
        assert_int_equal(get_with(valid, "/api/v1/namespaces/telemetry/pods", NULL, 0), 200);
    }
    for (i = 0; i < 5; i++) {
        snprintf(path, sizeof(path), "/api/v1/namespaces/forged-%d/pods/p", i);
        /* The unverified budget (a request, or none at all while the
         * unverified credentials of the last seconds use it up): when
         * admitted, the apiserver, which checks the token itself, refuses
         * it. Never served. */
        for (k = 0; k < 2; k++) {
            int st = get_with(f[i].tok, path, cls, sizeof(cls));

            if (st != 401 && !(st == 429 && strcmp(cls, "unverified") == 0)) {
                fail_msg("%s: request %d got %d (class \"%s\"), want 401 or 429 unverified",
                         f[i].name, k, st, cls);
            }
            if (k == 1 && st != 429) {
                fail_msg("%s: the second request got %d, want 429", f[i].name, st);
            }
        }
    }
    {
        static char log[1 << 20];
        const char *e = log;

        assert_int_equal(it_h_sim_requests(&fg, 200, log, sizeof(log)), 0);
        while ((e = strstr(e, "/forged-")) != NULL) {
            const char *end = strchr(e, '}');

            assert_non_null(end);
            if (memmem(e, (size_t)(end - e), "system:serviceaccount", 21) != NULL ||
                memmem(e, (size_t)(end - e), "\"code\":200", 10) != NULL) {
                fail_msg("a forged token was served: %.*s", (int)(end - e), e);
            }
            e = end;
        }
    }
    /* auth.unverified "reject", by a reload: floodgate refuses them itself. */
    in = fopen(fg.cfg, "r");
    assert_non_null(in);
    n = fread(cfg, 1, sizeof(cfg) - 1, in);
    fclose(in);
    cfg[n] = '\0';
    {
        char *p = strstr(cfg, "\"auth\": {");
        FILE *o = fopen(fg.cfg, "w");

        assert_non_null(p);
        assert_non_null(o);
        fprintf(o, "%.*s\"auth\": {\"unverified\": \"reject\", %s", (int)(p - cfg), cfg,
                p + strlen("\"auth\": {"));
        fclose(o);
    }
    assert_int_equal(it_fg_http(fg.admin, "POST", "/reload", NULL, NULL, out, sizeof(out)), 200);
    for (i = 0; i < 5; i++) {
        snprintf(path, sizeof(path), "/api/v1/namespaces/rejected-%d/pods/p", i);
        k = get_with(f[i].tok, path, NULL, 0);
        if (k != 401) {
            fail_msg("%s after the reload: %d, want 401", f[i].name, k);
        }
        assert_int_equal(it_h_sim_saw(&fg, path), 0);
    }
    assert_int_equal(get_with(valid, "/api/v1/namespaces/telemetry/pods", NULL, 0), 200);
    /* A client certificate that does not verify is still anonymous (over
     * its budget by now), never anyone else. */
    {
        struct it_resp r;

        assert_int_equal(it_request(fg.addr, fg.ca, it_fg_file(&fg, "rogue", "crt"),
                                    it_fg_file(&fg, "rogue", "key"), "GET",
                                    "/api/v1/namespaces/rogue-rejected/pods", NULL, NULL, &r),
                         0);
        assert_int_equal(r.status, 429);
        assert_string_equal(it_header(&r, "X-Floodgate-Class"), "anonymous");
        it_resp_free(&r);
        assert_int_equal(it_h_sim_saw(&fg, "/rogue-rejected/"), 0);
    }
    for (i = 0; i < 5; i++) {
        free(f[i].tok);
    }
    free(valid);
    assert_int_equal(it_h_wait_released(&fg, 3000), 0);
    (void)mint_pki;
}

static void
test_a_certificate_from_another_ca_is_neither_exempt_nor_asserted(void **state)
{
    struct it_resp r;
    int i;

    (void)state;
    /* rogue: CN=rogue O=system:masters, signed by an unrelated CA. The
     * real system:masters is exempt whatever the rate... */
    for (i = 0; i < 5; i++) {
        assert_int_equal(it_request(fg.addr, fg.ca, it_fg_file(&fg, "admin", "crt"),
                                    it_fg_file(&fg, "admin", "key"), "GET", "/version", NULL, NULL,
                                    &r),
                         0);
        assert_int_equal(r.status, 200);
        it_resp_free(&r);
    }
    /* ...the rogue one is not: floodgate neither exempts it nor asserts
     * it, so the apiserver sees only the front-proxy certificate without
     * an identity and refuses it (kube's x509 authenticator fails the
     * request); and the anonymous budget (one request) applies. */
    assert_int_equal(
        it_request(fg.addr, fg.ca, it_fg_file(&fg, "rogue", "crt"), it_fg_file(&fg, "rogue", "key"),
                   "GET", "/api/v1/namespaces/rogue-1/pods/p",
                   "X-Remote-User: rogue\r\nX-Remote-Group: system:masters\r\n", NULL, &r),
        0);
    assert_int_equal(r.status, 401);
    it_resp_free(&r);
    {
        static char log[1 << 20];
        const char *e;

        assert_int_equal(it_h_sim_requests(&fg, 100, log, sizeof(log)), 0);
        e = strstr(log, "/rogue-1/");
        assert_non_null(e);
        assert_null(strstr(e, "system:masters"));
        assert_null(strstr(e, "\"user\":\"rogue\""));
    }
    assert_int_equal(it_request(fg.addr, fg.ca, it_fg_file(&fg, "rogue", "crt"),
                                it_fg_file(&fg, "rogue", "key"), "GET",
                                "/api/v1/namespaces/rogue-2/pods/p", NULL, NULL, &r),
                     0);
    assert_int_equal(r.status, 429);
    assert_string_equal(it_header(&r, "X-Floodgate-Class"), "anonymous");
    it_resp_free(&r);
    assert_int_equal(it_h_sim_saw(&fg, "/rogue-2/"), 0);
}

/* Whether a TLS handshake with floodgate succeeds offering only versions
 * <minv>..<maxv> and, below TLS 1.3, only the suites <ciphers>. */
static int
handshake(int minv, int maxv, const char *ciphers)
{
    struct it_conn *tcp = it_connect_tcp(fg.addr, 5000);
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    SSL *ssl;
    int fd, ok;

    assert_non_null(tcp);
    assert_non_null(ctx);
    fd = dup(it_fd(tcp));
    it_close(tcp);
    /* Let the client offer what OpenSSL's defaults would not. */
    SSL_CTX_set_security_level(ctx, 0);
    assert_int_equal(SSL_CTX_set_min_proto_version(ctx, minv), 1);
    assert_int_equal(SSL_CTX_set_max_proto_version(ctx, maxv), 1);
    if (ciphers != NULL) {
        assert_int_equal(SSL_CTX_set_cipher_list(ctx, ciphers), 1);
    }
    SSL_CTX_load_verify_locations(ctx, fg.ca, NULL);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    SSL_set_tlsext_host_name(ssl, "localhost");
    ok = SSL_connect(ssl) == 1;
    ERR_clear_error();
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    close(fd);
    return ok;
}

static void
test_old_tls_and_weak_suites_are_refused(void **state)
{
    (void)state;
    assert_int_equal(handshake(TLS1_VERSION, TLS1_VERSION, "ALL:@SECLEVEL=0"), 0);
    assert_int_equal(handshake(TLS1_1_VERSION, TLS1_1_VERSION, "ALL:@SECLEVEL=0"), 0);
    assert_int_equal(handshake(TLS1_2_VERSION, TLS1_2_VERSION, "ECDHE-ECDSA-AES128-SHA"), 0);
    assert_int_equal(handshake(TLS1_2_VERSION, TLS1_2_VERSION, "ECDHE-ECDSA-AES256-SHA384"), 0);
    assert_int_equal(handshake(TLS1_2_VERSION, TLS1_2_VERSION, "AES128-GCM-SHA256:AES128-SHA"), 0);
    assert_int_equal(handshake(TLS1_2_VERSION, TLS1_2_VERSION, "eNULL:@SECLEVEL=0"), 0);
    /* What is allowed still works: the refusals above are not a broken
     * listener. */
    assert_int_equal(handshake(TLS1_2_VERSION, TLS1_2_VERSION, "ECDHE-ECDSA-AES128-GCM-SHA256"), 1);
    assert_int_equal(handshake(TLS1_3_VERSION, TLS1_3_VERSION, NULL), 1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_certificate_from_another_ca_is_neither_exempt_nor_asserted),
        cmocka_unit_test(test_forged_tokens_are_never_the_service_account),
        cmocka_unit_test(test_old_tls_and_weak_suites_are_refused),
    };

    return it_finish(cmocka_run_group_tests(tests, setup, teardown));
}
