/* Service-account tokens: the claims have kube-apiserver's shape, and
 * tokens signed RS256 and ES256 verify with the same verifier floodgate
 * and the simulator use (px_jwt), which also checks the kid. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "bn_load_jwt.h"
#include "px_jwt.h"

static char rsa_path[] = "/tmp/bn_load_jwt_rsaXXXXXX";
static char ec_path[] = "/tmp/bn_load_jwt_ecXXXXXX";

static int
write_key(char *path, EVP_PKEY *k)
{
    int fd = mkstemp(path);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    int ok = f != NULL && PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL) == 1;

    if (f != NULL) {
        fclose(f);
    }
    EVP_PKEY_free(k);
    return ok ? 0 : -1;
}

static int
setup(void **state)
{
    (void)state;
    return write_key(rsa_path, EVP_RSA_gen(2048)) == 0 &&
                   write_key(ec_path, EVP_EC_gen("P-256")) == 0
               ? 0
               : -1;
}

static int
teardown(void **state)
{
    (void)state;
    unlink(rsa_path);
    unlink(ec_path);
    return 0;
}

static void
test_claims_have_the_bound_token_shape(void **state)
{
    struct bn_jwt_claims c = {.issuer = "https://kubernetes.default.svc",
                              .audience = "https://kubernetes.default.svc",
                              .ns = "kube-system",
                              .serviceaccount = "telemetry",
                              .pod = "telemetry-7",
                              .node = "node-7",
                              .iat_s = 1700000000,
                              .expiration_s = 3600,
                              .jti = "11111111-2222-4333-8444-555555555555"};
    char sa[37], pod[37], node[37], want[1024];
    char *got = bn_jwt_claims_json(&c, NULL, 0);

    (void)state;
    assert_non_null(got);
    bn_jwt_uid("serviceaccount", "kube-system", "telemetry", sa);
    bn_jwt_uid("pod", "kube-system", "telemetry-7", pod);
    bn_jwt_uid("node", NULL, "node-7", node);
    snprintf(want, sizeof(want),
             "{\"aud\":[\"https://kubernetes.default.svc\"],\"exp\":1700003600,\"iat\":1700000000,"
             "\"iss\":\"https://kubernetes.default.svc\",\"jti\":\"11111111-2222-4333-8444-"
             "555555555555\",\"kubernetes.io\":{\"namespace\":\"kube-system\",\"node\":{\"name\":"
             "\"node-7\",\"uid\":\"%s\"},\"pod\":{\"name\":\"telemetry-7\",\"uid\":\"%s\"},"
             "\"serviceaccount\":{\"name\":\"telemetry\",\"uid\":\"%s\"}},\"nbf\":1700000000,"
             "\"sub\":\"system:serviceaccount:kube-system:telemetry\"}",
             node, pod, sa);
    assert_string_equal(got, want);
    free(got);
}

static void
test_uids_are_stable_and_shaped_like_uuids(void **state)
{
    char a[37], b[37], c[37];

    (void)state;
    bn_jwt_uid("node", NULL, "node-1", a);
    bn_jwt_uid("node", NULL, "node-1", b);
    bn_jwt_uid("node", NULL, "node-2", c);
    assert_string_equal(a, b);
    assert_string_not_equal(a, c);
    assert_int_equal(strlen(a), 36);
    assert_true(a[8] == '-' && a[13] == '-' && a[18] == '-' && a[23] == '-' && a[14] == '5');
}

static void
sign_and_verify(const char *path, const char *alg)
{
    const char *issuers[] = {"https://kubernetes.default.svc"};
    const char *auds[] = {"api"};
    struct bn_jwt_claims c = {.issuer = issuers[0],
                              .audience = "api",
                              .ns = "kube-system",
                              .serviceaccount = "telemetry",
                              .node = "node-3",
                              .iat_s = 1700000000,
                              .expiration_s = 3600};
    struct bn_jwt_signer *s = bn_jwt_signer_new(path, NULL, 0);
    struct px_jwt_keys *k = px_jwt_keys_new(&path, 1, issuers, 1, auds, 1, NULL, 0);
    struct px_jwt_claims out;
    char err[256], *tok;

    assert_non_null(s);
    assert_non_null(k);
    assert_string_equal(bn_jwt_signer_alg(s), alg);
    tok = bn_jwt_sign(s, &c, err, sizeof(err));
    assert_non_null(tok);
    if (px_jwt_verify(k, tok, strlen(tok), 1700000100, &out, err, sizeof(err)) != PX_JWT_OK) {
        fail_msg("%s: %s", alg, err);
    }
    assert_string_equal(out.subject, "system:serviceaccount:kube-system:telemetry");
    assert_string_equal(out.node_name, "node-3");
    assert_string_equal(out.pod_name, "");
    assert_int_equal(strlen(out.jti), 36); /* a fresh UUID per token, as kube */
    /* Expired an hour later (plus go-jose's leeway). */
    assert_int_equal(px_jwt_verify(k, tok, strlen(tok), 1700003600 + 61, &out, err, sizeof(err)),
                     PX_JWT_EEXPIRED);
    /* Another signature: a different base64url digit, not an invalid one. */
    tok[strlen(tok) - 2] = tok[strlen(tok) - 2] == 'A' ? 'B' : 'A';
    assert_int_equal(px_jwt_verify(k, tok, strlen(tok), 1700000100, &out, err, sizeof(err)),
                     PX_JWT_ESIG);
    free(tok);
    px_jwt_keys_free(k);
    bn_jwt_signer_free(s);
}

static void
test_rsa_tokens_verify_as_rs256(void **state)
{
    (void)state;
    sign_and_verify(rsa_path, "RS256");
}

static void
test_ec_tokens_verify_as_es256(void **state)
{
    (void)state;
    sign_and_verify(ec_path, "ES256");
}

static void
test_a_missing_key_is_an_error(void **state)
{
    char err[256];

    (void)state;
    assert_null(bn_jwt_signer_new("/nonexistent/sa.key", err, sizeof(err)));
    assert_string_equal(err, "/nonexistent/sa.key: cannot open");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_claims_have_the_bound_token_shape),
        cmocka_unit_test(test_uids_are_stable_and_shaped_like_uuids),
        cmocka_unit_test(test_rsa_tokens_verify_as_rs256),
        cmocka_unit_test(test_ec_tokens_verify_as_es256),
        cmocka_unit_test(test_a_missing_key_is_an_error),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
