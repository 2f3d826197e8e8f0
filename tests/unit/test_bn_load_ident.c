/* Identities: minted client certificates are what kube-apiserver's x509
 * authenticator accepts (verify against the CA for clientAuth, CN = user,
 * O = groups), members get their own, and fixed identities are shared. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "bn_load_ident.h"
#include "bn_load_scenario.h"

static char dir[] = "/tmp/bn_load_identXXXXXX";
static char ca_crt[128], ca_key[128], sa_key[128], other_key[128];
static X509 *ca;

static int
write_pem(const char *path, X509 *x, EVP_PKEY *k)
{
    FILE *f = fopen(path, "w");
    int ok = f != NULL && (x != NULL ? PEM_write_X509(f, x)
                                     : PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL)) == 1;

    if (f != NULL) {
        fclose(f);
    }
    return ok ? 0 : -1;
}

/* A throwaway CA, as deploy/pki.sh makes one. */
static int
setup(void **state)
{
    EVP_PKEY *k = EVP_EC_gen("P-256"), *o = EVP_EC_gen("P-256");
    X509_NAME *n;
    X509V3_CTX ctx;
    X509_EXTENSION *e;

    (void)state;
    if (mkdtemp(dir) == NULL || k == NULL || o == NULL || (ca = X509_new()) == NULL) {
        return -1;
    }
    snprintf(ca_crt, sizeof(ca_crt), "%s/ca.crt", dir);
    snprintf(ca_key, sizeof(ca_key), "%s/ca.key", dir);
    snprintf(sa_key, sizeof(sa_key), "%s/sa.key", dir);
    snprintf(other_key, sizeof(other_key), "%s/other.key", dir);
    X509_set_version(ca, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(ca), 1);
    X509_gmtime_adj(X509_getm_notBefore(ca), -3600);
    X509_gmtime_adj(X509_getm_notAfter(ca), 86400);
    n = X509_get_subject_name(ca);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)"test-ca", -1, -1, 0);
    X509_set_issuer_name(ca, n);
    X509_set_pubkey(ca, k);
    X509V3_set_ctx(&ctx, ca, ca, NULL, NULL, 0);
    e = X509V3_EXT_conf_nid(NULL, &ctx, NID_basic_constraints, "critical,CA:TRUE");
    X509_add_ext(ca, e, -1);
    X509_EXTENSION_free(e);
    e = X509V3_EXT_conf_nid(NULL, &ctx, NID_key_usage, "critical,keyCertSign,cRLSign");
    X509_add_ext(ca, e, -1);
    X509_EXTENSION_free(e);
    X509_sign(ca, k, EVP_sha256());
    if (write_pem(ca_crt, ca, NULL) != 0 || write_pem(ca_key, NULL, k) != 0 ||
        write_pem(sa_key, NULL, k) != 0 || write_pem(other_key, NULL, o) != 0) {
        return -1;
    }
    EVP_PKEY_free(k);
    EVP_PKEY_free(o);
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    unlink(ca_crt);
    unlink(ca_key);
    unlink(sa_key);
    unlink(other_key);
    X509_free(ca);
    return rmdir(dir);
}

static void
assert_client_cert(X509 *x, const char *cn, const char *const *orgs, size_t norgs)
{
    X509_STORE *st = X509_STORE_new();
    X509_STORE_CTX *vc = X509_STORE_CTX_new();
    X509_NAME *n = X509_get_subject_name(x);
    char buf[256];
    int i, last = -1;
    size_t k = 0;

    X509_STORE_add_cert(st, ca);
    X509_STORE_CTX_init(vc, st, x, NULL);
    X509_STORE_CTX_set_purpose(vc, X509_PURPOSE_SSL_CLIENT);
    if (X509_verify_cert(vc) != 1) {
        fail_msg("verify: %s", X509_verify_cert_error_string(X509_STORE_CTX_get_error(vc)));
    }
    X509_NAME_get_text_by_NID(n, NID_commonName, buf, sizeof(buf));
    assert_string_equal(buf, cn);
    while ((i = X509_NAME_get_index_by_NID(n, NID_organizationName, last)) >= 0) {
        ASN1_STRING *s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, i));

        assert_true(k < norgs);
        assert_memory_equal(ASN1_STRING_get0_data(s), orgs[k], strlen(orgs[k]));
        k++;
        last = i;
    }
    assert_int_equal(k, norgs);
    assert_true((X509_get_extended_key_usage(x) & XKU_SSL_CLIENT) != 0);
    X509_STORE_CTX_free(vc);
    X509_STORE_free(st);
}

static void
test_minted_certificates_verify_for_client_auth_with_cn_and_orgs(void **state)
{
    const char *orgs[] = {"system:nodes", "extra"};
    struct bn_minter *m = bn_minter_new(ca_crt, ca_key, NULL, 0);
    struct bn_cred c = {0};

    (void)state;
    assert_non_null(m);
    assert_int_equal(
        bn_minter_issue(m, "system:node:node-7", orgs, 2, time(NULL), 3600, &c, NULL, 0), 0);
    assert_client_cert(c.cert, "system:node:node-7", orgs, 2);
    assert_int_equal(X509_check_private_key(c.cert, c.key), 1);
    assert_true(EVP_PKEY_is_a(c.key, "EC"));
    bn_cred_fini(&c);
    bn_minter_free(m);
}

static struct bn_scn *
scenario(const char *identity, uint32_t count)
{
    char doc[2048], err[512];
    struct bn_scn *s;

    snprintf(doc, sizeof(doc),
             "{\"target\": \"https://127.0.0.1\", \"insecure\": true, \"ca_cert\": \"%s\", "
             "\"ca_key\": \"%s\", \"sa_key\": \"%s\", \"sa_issuer\": \"https://kubernetes\", "
             "\"populations\": [{\"name\": \"p\", \"count\": %u, \"identity\": %s, \"requests\": "
             "[{\"path\": \"/\", \"rate\": 1}]}]}",
             ca_crt, ca_key, sa_key, count, identity);
    if (bn_scn_parse(doc, strlen(doc), "t.json", NULL, &s, err, sizeof(err)) != 0) {
        fail_msg("%s", err);
    }
    return s;
}

static void
test_each_member_gets_its_own_node_certificate(void **state)
{
    struct bn_scn *s = scenario("{\"kind\": \"cert\", \"user\": \"system:node:node-{i+1}\", "
                                "\"groups\": [\"system:nodes\"]}",
                                50);
    const char *orgs[] = {"system:nodes"};
    struct bn_creds cr;
    char err[512], cn[64];
    uint32_t i;

    (void)state;
    if (bn_creds_build(s, &s->pops[0], time(NULL), &cr, err, sizeof(err)) != 0) {
        fail_msg("%s", err);
    }
    assert_int_equal(cr.n, 50);
    for (i = 0; i < 50; i++) {
        snprintf(cn, sizeof(cn), "system:node:node-%u", i + 1);
        assert_client_cert(bn_creds_get(&cr, i)->cert, cn, orgs, 1);
        assert_null(bn_creds_get(&cr, i)->auth);
    }
    assert_true(EVP_PKEY_eq(bn_creds_get(&cr, 0)->key, bn_creds_get(&cr, 1)->key) != 1);
    bn_creds_fini(&cr);
    bn_scn_free(s);
}

static void
test_a_fixed_identity_is_built_once_and_shared(void **state)
{
    struct bn_scn *s =
        scenario("{\"kind\": \"cert\", \"user\": \"system:kube-controller-manager\"}", 1000);
    struct bn_creds cr;
    char err[512];

    (void)state;
    assert_int_equal(bn_creds_build(s, &s->pops[0], time(NULL), &cr, err, sizeof(err)), 0);
    assert_int_equal(cr.n, 1);
    assert_ptr_equal(bn_creds_get(&cr, 0), bn_creds_get(&cr, 999));
    bn_creds_fini(&cr);
    bn_scn_free(s);
}

static void
test_tokens_and_bearers_become_authorization_headers(void **state)
{
    struct bn_scn *s = scenario("{\"kind\": \"token\", \"namespace\": \"kube-system\", "
                                "\"serviceaccount\": \"telemetry\", \"node\": \"node-{i}\"}",
                                3);
    struct bn_creds cr;
    char err[512];

    (void)state;
    assert_int_equal(bn_creds_build(s, &s->pops[0], time(NULL), &cr, err, sizeof(err)), 0);
    assert_int_equal(cr.n, 3);
    assert_true(
        strncmp(bn_creds_get(&cr, 2)->auth, "Authorization: Bearer eyJhbGciOiJFUzI1NiIs", 42) == 0);
    assert_string_equal(bn_creds_get(&cr, 2)->auth + strlen(bn_creds_get(&cr, 2)->auth) - 2,
                        "\r\n");
    assert_null(bn_creds_get(&cr, 2)->cert);
    bn_creds_fini(&cr);
    bn_scn_free(s);

    s = scenario("{\"kind\": \"bearer\", \"token\": \"t-{i}\"}", 2);
    assert_int_equal(bn_creds_build(s, &s->pops[0], time(NULL), &cr, err, sizeof(err)), 0);
    assert_string_equal(bn_creds_get(&cr, 1)->auth, "Authorization: Bearer t-1\r\n");
    bn_creds_fini(&cr);
    bn_scn_free(s);

    s = scenario("{\"kind\": \"bearer\", \"token\": \"two\\nlines\"}", 2);
    assert_int_equal(bn_creds_build(s, &s->pops[0], time(NULL), &cr, err, sizeof(err)), -1);
    assert_string_equal(err, "population p: identity: a bearer token must be one non-empty line");
    bn_scn_free(s);
}

static void
test_certificate_files_must_match_their_key(void **state)
{
    struct bn_cred c = {0};
    char err[512], want[512];

    (void)state;
    assert_int_equal(bn_cred_load_files(ca_crt, ca_key, &c, err, sizeof(err)), 0);
    bn_cred_fini(&c);
    assert_int_equal(bn_cred_load_files(ca_crt, other_key, &c, err, sizeof(err)), -1);
    snprintf(want, sizeof(want), "%s, %s: client certificate and key do not match", ca_crt,
             other_key);
    assert_string_equal(err, want);
    bn_cred_fini(&c);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_minted_certificates_verify_for_client_auth_with_cn_and_orgs),
        cmocka_unit_test(test_each_member_gets_its_own_node_certificate),
        cmocka_unit_test(test_a_fixed_identity_is_built_once_and_shared),
        cmocka_unit_test(test_tokens_and_bearers_become_authorization_headers),
        cmocka_unit_test(test_certificate_files_must_match_their_key),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
