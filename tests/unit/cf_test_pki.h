/* Throwaway PEM files for conf's unit tests, made with OpenSSL in a fresh
 * temporary directory: certificates with their keys (self-signed: conf only
 * checks that files hold the right PEM blocks and that keys match), the
 * same under kubeadm's names for the example configs, public keys of every
 * kind auth.keys must accept or refuse, and files that are not PEM at all.
 * Included by the test files that need it (static helpers only). */
#ifndef CF_TEST_PKI_H
#define CF_TEST_PKI_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

static char cf_test_dir[512];

static EVP_PKEY *
cf_test_key(const char *kind)
{
    if (strcmp(kind, "rsa") == 0) {
        return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    }
    return EVP_PKEY_Q_keygen(NULL, NULL, "EC", kind);
}

static int
cf_test_write(const char *name, const char *text)
{
    char path[600];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", cf_test_dir, name);
    f = fopen(path, "w");
    if (f == NULL) {
        return -1;
    }
    fputs(text, f);
    return fclose(f);
}

/* Writes <name>.crt (self-signed by <k>, CN=<name>) and <name>.key. */
static int
cf_test_pair(const char *name, EVP_PKEY *k)
{
    char path[600];
    X509 *c = X509_new();
    FILE *f;
    int rc = -1;

    if (c == NULL || X509_set_version(c, 2) != 1 ||
        ASN1_INTEGER_set(X509_get_serialNumber(c), 1) != 1 ||
        X509_gmtime_adj(X509_getm_notBefore(c), 0) == NULL ||
        X509_gmtime_adj(X509_getm_notAfter(c), 86400) == NULL || X509_set_pubkey(c, k) != 1 ||
        X509_NAME_add_entry_by_txt(X509_get_subject_name(c), "CN", MBSTRING_ASC,
                                   (const unsigned char *)name, -1, -1, 0) != 1 ||
        X509_set_issuer_name(c, X509_get_subject_name(c)) != 1 ||
        X509_sign(c, k, EVP_sha256()) == 0) {
        goto done;
    }
    snprintf(path, sizeof(path), "%s/%s.crt", cf_test_dir, name);
    if ((f = fopen(path, "w")) == NULL) {
        goto done;
    }
    PEM_write_X509(f, c);
    fclose(f);
    snprintf(path, sizeof(path), "%s/%s.key", cf_test_dir, name);
    if ((f = fopen(path, "w")) == NULL) {
        goto done;
    }
    PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
    fclose(f);
    rc = 0;

done:
    X509_free(c);
    return rc;
}

static int
cf_test_pub(const char *name, EVP_PKEY *k)
{
    char path[600];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", cf_test_dir, name);
    if ((f = fopen(path, "w")) == NULL) {
        return -1;
    }
    PEM_write_PUBKEY(f, k);
    return fclose(f);
}

/* Makes the directory and its files and sets CFT (for the test configs) and
 * FLOODGATE_PKI (for the examples) to it. Returns 0 or -1. */
static int
cf_test_pki_make(void)
{
    const char *base = getenv("FG_BUILD_DIR");
    EVP_PKEY *srv, *other, *p256, *p384, *rsa, *ed;
    int rc;

    snprintf(cf_test_dir, sizeof(cf_test_dir), "%s/cf-test-XXXXXX", base ? base : "/tmp");
    if (mkdtemp(cf_test_dir) == NULL) {
        return -1;
    }
    srv = cf_test_key("P-256");
    other = cf_test_key("P-256");
    p256 = cf_test_key("P-256");
    p384 = cf_test_key("P-384");
    rsa = cf_test_key("rsa");
    ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    rc = srv && other && p256 && p384 && rsa && ed ? 0 : -1;
    if (rc == 0) {
        rc |= cf_test_pair("srv", srv);       /* serving pair */
        rc |= cf_test_pair("ca", other);      /* a CA bundle (its key: "ca.key") */
        rc |= cf_test_pair("apiserver", srv); /* kubeadm names, for the examples */
        rc |= cf_test_pair("front-proxy-client", other);
        rc |= cf_test_pub("sa.pub", rsa);
        rc |= cf_test_pub("sa-ec.pub", p256);
        rc |= cf_test_pub("p384.pub", p384);
        rc |= cf_test_pub("ed25519.pub", ed);
        rc |= cf_test_write("notpem.txt", "not a PEM file\n");
        rc |= cf_test_write("token", "s3cr3t-admin-token\n");
        rc |= cf_test_write("empty", "");
    }
    EVP_PKEY_free(srv);
    EVP_PKEY_free(other);
    EVP_PKEY_free(p256);
    EVP_PKEY_free(p384);
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(ed);
    if (rc == 0) {
        setenv("CFT", cf_test_dir, 1);
        setenv("FLOODGATE_PKI", cf_test_dir, 1);
    }
    return rc == 0 ? 0 : -1;
}

static void
cf_test_pki_remove(void)
{
    static const char *const files[] = {"srv.crt",
                                        "srv.key",
                                        "ca.crt",
                                        "ca.key",
                                        "apiserver.crt",
                                        "apiserver.key",
                                        "front-proxy-client.crt",
                                        "front-proxy-client.key",
                                        "sa.pub",
                                        "sa-ec.pub",
                                        "p384.pub",
                                        "ed25519.pub",
                                        "notpem.txt",
                                        "token",
                                        "empty"};
    char path[600];
    size_t i;

    if (cf_test_dir[0] == '\0') {
        return;
    }
    for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", cf_test_dir, files[i]);
        unlink(path);
    }
    rmdir(cf_test_dir);
}

#endif /* CF_TEST_PKI_H */
