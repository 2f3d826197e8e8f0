/* Service-account JWT verification (proxy/px_jwt.c, linked through bn_sim):
 * the tokens kube-apiserver accepts, and the ones it refuses — alg none,
 * HS256 keyed with the public key, wrong key, wrong issuer or audience,
 * expired beyond the 60 s leeway, malformed or oversized. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bn_sim_mint.h"
#include "px_jwt.h"

#define ISS "https://kubernetes.default.svc.cluster.local"
#define NOW 1700000000LL

static char pki[1024];
static struct px_jwt_keys *keys;

static const char *
path(const char *file)
{
    static char buf[4][1200];
    static unsigned next;
    char *b = buf[next++ % 4];

    snprintf(b, sizeof(buf[0]), "%s/%s", pki, file);
    return b;
}

static int
setup(void **state)
{
    const char *paths[2];
    const char *issuers[] = {ISS};
    const char *auds[] = {ISS};
    char err[256];

    (void)state;
    if (mint_pki("jwt", pki, sizeof(pki)) != 0) {
        return -1;
    }
    paths[0] = path("sa.pub");
    paths[1] = path("sa-ec.pub");
    keys = px_jwt_keys_new(paths, 2, issuers, 1, auds, 1, err, sizeof(err));
    if (keys == NULL) {
        fprintf(stderr, "px_jwt_keys_new: %s\n", err);
        return -1;
    }
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    px_jwt_keys_free(keys);
    return 0;
}

static int
verify(const char *token, struct px_jwt_claims *c)
{
    char err[256];
    int rc = px_jwt_verify(keys, token, strlen(token), NOW, c, err, sizeof(err));

    if (rc != 0) {
        assert_true(err[0] != '\0'); /* every refusal says why */
    }
    return rc;
}

struct bound_case {
    const char *name;
    const char *alg;
    const char *key; /* file in the PKI, signing key or HS256 secret */
    const char *iss;
    const char *aud;
    long long iat_off, exp_off;
    int want;
};

static const struct bound_case bound_cases[] = {
    {"RS256 with the configured RSA key", "RS256", "sa.key", ISS, ISS, 0, 3600, PX_JWT_OK},
    {"ES256 with the configured P-256 key", "ES256", "sa-ec.key", ISS, ISS, 0, 3600, PX_JWT_OK},
    {"expired 30 s ago, inside the leeway", "RS256", "sa.key", ISS, ISS, -3630, -30, PX_JWT_OK},
    {"expired 61 s ago", "RS256", "sa.key", ISS, ISS, -3661, -61, PX_JWT_EEXPIRED},
    {"issued 61 s in the future", "RS256", "sa.key", ISS, ISS, 61, 3600, PX_JWT_ENOTYET},
    {"issued 59 s in the future", "ES256", "sa-ec.key", ISS, ISS, 59, 3600, PX_JWT_OK},
    {"alg none", "none", "sa.key", ISS, ISS, 0, 3600, PX_JWT_EALG},
    {"HS256 keyed with the RSA public key", "HS256", "sa.pub", ISS, ISS, 0, 3600, PX_JWT_EALG},
    {"HS256 keyed with the EC public key", "HS256", "sa-ec.pub", ISS, ISS, 0, 3600, PX_JWT_EALG},
    {"ES256 signed by a key nobody configured", "ES256", "apiserver.key", ISS, ISS, 0, 3600,
     PX_JWT_ESIG},
    {"an issuer nobody configured", "RS256", "sa.key", "https://evil.example", ISS, 0, 3600,
     PX_JWT_EISSUER},
    {"an audience the API does not serve", "RS256", "sa.key", ISS, "vault", 0, 3600,
     PX_JWT_EAUDIENCE},
};

static void
test_bound_tokens_follow_the_table(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bound_cases) / sizeof(bound_cases[0]); i++) {
        const struct bound_case *tc = &bound_cases[i];
        struct px_jwt_claims c;
        char payload[2048], *tok;
        int rc;

        mint_bound_payload(payload, sizeof(payload), tc->iss, tc->aud, NOW + tc->iat_off,
                           NOW + tc->exp_off, "monitoring", "node-agent", "node-0042");
        tok = mint_token(tc->alg, NULL, payload, path(tc->key));
        assert_non_null(tok);
        rc = verify(tok, &c);
        if (rc != tc->want) {
            fail_msg("%s: got %d (%s), want %d", tc->name, rc, px_jwt_error_name(rc), tc->want);
        }
        free(tok);
    }
}

static void
test_bound_token_yields_service_account_pod_and_node(void **state)
{
    struct px_jwt_claims c;
    char payload[2048], *tok;

    (void)state;
    mint_bound_payload(payload, sizeof(payload), ISS, ISS, NOW, NOW + 3600, "monitoring",
                       "node-agent", "node-0042");
    tok = mint_token("RS256", NULL, payload, path("sa.key"));
    assert_int_equal(verify(tok, &c), PX_JWT_OK);
    assert_false(c.legacy);
    assert_string_equal(c.issuer, ISS);
    assert_string_equal(c.subject, "system:serviceaccount:monitoring:node-agent");
    assert_string_equal(c.ns, "monitoring");
    assert_string_equal(c.sa_name, "node-agent");
    assert_string_equal(c.sa_uid, "sa-uid-1");
    assert_string_equal(c.pod_name, "agent-x");
    assert_string_equal(c.pod_uid, "pod-uid-1");
    assert_string_equal(c.node_name, "node-0042");
    assert_string_equal(c.node_uid, "node-uid-1");
    assert_string_equal(c.jti, "8f1c2a9e-1111-4c3b-9a57-7d1e2f3a4b5c");
    assert_int_equal(c.exp_s, NOW + 3600);
    free(tok);
}

static void
test_legacy_secret_token_verifies_without_expiry(void **state)
{
    static const char payload[] = "{\"iss\":\"kubernetes/serviceaccount\","
                                  "\"kubernetes.io/serviceaccount/namespace\":\"kube-system\","
                                  "\"kubernetes.io/serviceaccount/secret.name\":\"ds-token-abcde\","
                                  "\"kubernetes.io/serviceaccount/service-account.name\":\"ds\","
                                  "\"kubernetes.io/serviceaccount/service-account.uid\":\"uid-9\","
                                  "\"sub\":\"system:serviceaccount:kube-system:ds\"}";
    struct px_jwt_claims c;
    char *tok = mint_token("RS256", NULL, payload, path("sa.key"));

    (void)state;
    assert_int_equal(verify(tok, &c), PX_JWT_OK);
    assert_true(c.legacy);
    assert_string_equal(c.ns, "kube-system");
    assert_string_equal(c.sa_name, "ds");
    assert_string_equal(c.sa_uid, "uid-9");
    assert_string_equal(c.secret_name, "ds-token-abcde");
    assert_int_equal(c.exp_s, 0);
    free(tok);
}

static void
test_legacy_token_whose_sub_disagrees_is_refused(void **state)
{
    static const char payload[] = "{\"iss\":\"kubernetes/serviceaccount\","
                                  "\"kubernetes.io/serviceaccount/namespace\":\"kube-system\","
                                  "\"kubernetes.io/serviceaccount/secret.name\":\"ds-token-abcde\","
                                  "\"kubernetes.io/serviceaccount/service-account.name\":\"ds\","
                                  "\"kubernetes.io/serviceaccount/service-account.uid\":\"uid-9\","
                                  "\"sub\":\"system:serviceaccount:kube-system:admin\"}";
    struct px_jwt_claims c;
    char *tok = mint_token("ES256", NULL, payload, path("sa-ec.key"));

    (void)state;
    assert_int_equal(verify(tok, &c), PX_JWT_ECLAIMS);
    free(tok);
}

static void
test_bound_token_without_kubernetes_claim_is_refused(void **state)
{
    char payload[512], *tok;
    struct px_jwt_claims c;

    (void)state;
    snprintf(payload, sizeof(payload),
             "{\"iss\":\"%s\",\"aud\":\"%s\",\"exp\":%lld,\"sub\":\"system:serviceaccount:a:b\"}",
             ISS, ISS, NOW + 100);
    tok = mint_token("RS256", NULL, payload, path("sa.key"));
    assert_int_equal(verify(tok, &c), PX_JWT_ECLAIMS);
    free(tok);
}

/* px_jwt_claims_parse (floodgate explain --token-claims) reads a payload
 * as px_jwt_verify reads the token that carries it: same fields, same
 * refusals, with no signature, audience or clock involved. */
static void
test_claims_parse_reads_a_payload_as_verify_reads_its_token(void **state)
{
    static const char legacy[] = "{\"iss\":\"kubernetes/serviceaccount\","
                                 "\"kubernetes.io/serviceaccount/namespace\":\"kube-system\","
                                 "\"kubernetes.io/serviceaccount/secret.name\":\"ds-token-a\","
                                 "\"kubernetes.io/serviceaccount/service-account.name\":\"ds\","
                                 "\"kubernetes.io/serviceaccount/service-account.uid\":\"uid-9\","
                                 "\"sub\":\"system:serviceaccount:kube-system:ds\"}";
    const char *payloads[2];
    struct px_jwt_claims v, p;
    char bound[2048], err[256], *tok;
    size_t i;

    (void)state;
    /* Expired long ago: verify refuses it, the parser has no clock. */
    mint_bound_payload(bound, sizeof(bound), ISS, ISS, NOW - 7200, NOW - 3600, "monitoring",
                       "node-agent", "node-0042");
    assert_int_equal(px_jwt_claims_parse(bound, strlen(bound), &p, err, sizeof(err)), PX_JWT_OK);
    assert_false(p.legacy);
    assert_string_equal(p.ns, "monitoring");
    assert_string_equal(p.sa_name, "node-agent");
    assert_string_equal(p.node_name, "node-0042");
    assert_int_equal(p.exp_s, NOW - 3600);

    mint_bound_payload(bound, sizeof(bound), ISS, ISS, NOW, NOW + 3600, "monitoring", "node-agent",
                       "node-0042");
    payloads[0] = bound;
    payloads[1] = legacy;
    for (i = 0; i < 2; i++) {
        int rv, rp;

        tok = mint_token("RS256", NULL, payloads[i], path("sa.key"));
        rv = px_jwt_verify(keys, tok, strlen(tok), NOW, &v, err, sizeof(err));
        rp = px_jwt_claims_parse(payloads[i], strlen(payloads[i]), &p, err, sizeof(err));
        assert_int_equal(rp, rv);
        if (rv == PX_JWT_OK) {
            assert_int_equal(memcmp(&p, &v, sizeof(p)), 0);
        }
        free(tok);
    }
    assert_int_equal(px_jwt_claims_parse("{\"iss\":\"x\"}", 11, &p, err, sizeof(err)),
                     PX_JWT_ECLAIMS);
    assert_string_equal(err, "claim kubernetes.io is missing");
    assert_int_equal(px_jwt_claims_parse("[1]", 3, &p, err, sizeof(err)), PX_JWT_ENOTJWT);
}

static void
test_claim_longer_than_field_is_refused_not_truncated(void **state)
{
    char payload[2048], name[400], *tok;
    struct px_jwt_claims c;

    (void)state;
    memset(name, 'n', 300);
    name[300] = '\0';
    mint_bound_payload(payload, sizeof(payload), ISS, ISS, NOW, NOW + 100, "ns", name, "node");
    tok = mint_token("RS256", NULL, payload, path("sa.key"));
    assert_int_equal(verify(tok, &c), PX_JWT_ECLAIMS);
    free(tok);
}

static void
test_tampered_payload_fails_signature(void **state)
{
    char payload[2048], evil[2048], *tok, *forged;
    struct px_jwt_claims c;

    (void)state;
    mint_bound_payload(payload, sizeof(payload), ISS, ISS, NOW, NOW + 100, "monitoring", "agent",
                       "node-1");
    mint_bound_payload(evil, sizeof(evil), ISS, ISS, NOW, NOW + 100, "kube-system", "agent",
                       "node-1");
    tok = mint_token("RS256", NULL, payload, path("sa.key"));
    forged = mint_token("RS256", NULL, evil, path("sa.key"));
    assert_non_null(tok);
    assert_non_null(forged);
    /* the kube-system payload under the monitoring token's signature */
    assert_true(strlen(strrchr(tok, '.')) == strlen(strrchr(forged, '.')));
    strcpy(strrchr(forged, '.'), strrchr(tok, '.'));
    assert_int_equal(verify(forged, &c), PX_JWT_ESIG);
    free(tok);
    free(forged);
}

static void
test_kid_selects_keys_and_unknown_kid_finds_none(void **state)
{
    char payload[2048], *tok;
    struct px_jwt_claims c;

    (void)state;
    mint_bound_payload(payload, sizeof(payload), ISS, ISS, NOW, NOW + 100, "a", "b", "n");
    tok = mint_token("RS256", "no-such-kid", payload, path("sa.key"));
    assert_int_equal(verify(tok, &c), PX_JWT_ESIG);
    free(tok);
}

static void
test_a_freshly_generated_rsa_key_is_not_trusted(void **state)
{
    EVP_PKEY *other = EVP_RSA_gen(2048);
    char payload[2048], *tok;
    struct px_jwt_claims c;

    (void)state;
    assert_non_null(other);
    mint_bound_payload(payload, sizeof(payload), ISS, ISS, NOW, NOW + 100, "a", "b", "n");
    tok = mint_token_key("RS256", NULL, payload, other, NULL);
    assert_int_equal(verify(tok, &c), PX_JWT_ESIG);
    free(tok);
    EVP_PKEY_free(other);
}

static void
test_non_jwt_and_oversized_inputs_are_refused(void **state)
{
    static const char *const notjwt[] = {"abc", "a.b",    "a.b.c.d", "{\"alg\":\"none\"}",
                                         "...", "e30.e30"};
    struct px_jwt_claims c;
    char *big;
    char err[256];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(notjwt) / sizeof(notjwt[0]); i++) {
        assert_int_equal(verify(notjwt[i], &c), PX_JWT_ENOTJWT);
    }
    big = malloc(PX_JWT_MAX_TOKEN + 2);
    memset(big, 'A', PX_JWT_MAX_TOKEN + 1);
    big[10] = '.';
    big[20] = '.';
    big[PX_JWT_MAX_TOKEN + 1] = '\0';
    assert_int_equal(px_jwt_verify(keys, big, strlen(big), NOW, &c, err, sizeof(err)),
                     PX_JWT_EMALFORMED);
    free(big);
}

static void
test_keys_new_names_the_file_it_cannot_use(void **state)
{
    const char *missing[] = {"/nonexistent/sa.pub"};
    const char *nokey[] = {"/etc/hostname"};
    char err[256];

    (void)state;
    assert_null(px_jwt_keys_new(missing, 1, NULL, 0, NULL, 0, err, sizeof(err)));
    assert_non_null(strstr(err, "/nonexistent/sa.pub"));
    assert_null(px_jwt_keys_new(nokey, 1, NULL, 0, NULL, 0, err, sizeof(err)));
    assert_non_null(strstr(err, "/etc/hostname"));
}

static void
test_private_key_and_certificate_files_provide_public_keys(void **state)
{
    const char *files[] = {path("sa.key"), path("apiserver.crt")};
    struct px_jwt_keys *k;
    char err[256];

    (void)state;
    k = px_jwt_keys_new(files, 2, NULL, 0, NULL, 0, err, sizeof(err));
    assert_non_null(k);
    assert_int_equal(px_jwt_keys_count(k), 2);
    px_jwt_keys_free(k);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bound_tokens_follow_the_table),
        cmocka_unit_test(test_bound_token_yields_service_account_pod_and_node),
        cmocka_unit_test(test_legacy_secret_token_verifies_without_expiry),
        cmocka_unit_test(test_legacy_token_whose_sub_disagrees_is_refused),
        cmocka_unit_test(test_bound_token_without_kubernetes_claim_is_refused),
        cmocka_unit_test(test_claims_parse_reads_a_payload_as_verify_reads_its_token),
        cmocka_unit_test(test_claim_longer_than_field_is_refused_not_truncated),
        cmocka_unit_test(test_tampered_payload_fails_signature),
        cmocka_unit_test(test_kid_selects_keys_and_unknown_kid_finds_none),
        cmocka_unit_test(test_a_freshly_generated_rsa_key_is_not_trusted),
        cmocka_unit_test(test_non_jwt_and_oversized_inputs_are_refused),
        cmocka_unit_test(test_keys_new_names_the_file_it_cannot_use),
        cmocka_unit_test(test_private_key_and_certificate_files_provide_public_keys),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
