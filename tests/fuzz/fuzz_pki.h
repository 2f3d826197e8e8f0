/* Shared by the fuzz targets that load a configuration: a temporary
 * directory, made the working directory, holding a self-signed P-256
 * certificate for "localhost" that serves as serving certificate
 * (cert.pem, key.pem), client and upstream CA (ca.pem) and service-account
 * key (sa.pub), so that configurations naming them by relative path load.
 * Header-only, static. */
#ifndef FUZZ_PKI_H
#define FUZZ_PKI_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

static void
fuzz_write_pem(const char *path, EVP_PKEY *pk, X509 *x, int pub)
{
    FILE *f = fopen(path, "w");
    int ok;

    if (f == NULL) {
        abort();
    }
    ok = x != NULL ? PEM_write_X509(f, x)
         : pub     ? PEM_write_PUBKEY(f, pk)
                   : PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL, NULL);
    if (ok != 1) {
        abort();
    }
    fclose(f);
}

static void
fuzz_pki(void)
{
    static char dir[] = "/tmp/fuzz-pki-XXXXXX";
    EVP_PKEY *pk = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    X509_NAME *name;

    if (mkdtemp(dir) == NULL || chdir(dir) != 0 || pk == NULL || x == NULL) {
        abort();
    }
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600L * 24 * 365);
    X509_set_pubkey(x, pk);
    name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"localhost", -1, -1,
                               0);
    X509_set_issuer_name(x, name);
    if (X509_sign(x, pk, EVP_sha256()) == 0) {
        abort();
    }
    fuzz_write_pem("cert.pem", pk, x, 0);
    fuzz_write_pem("ca.pem", pk, x, 0);
    fuzz_write_pem("key.pem", pk, NULL, 0);
    fuzz_write_pem("sa.pub", pk, NULL, 1);
    X509_free(x);
    EVP_PKEY_free(pk);
}

#endif /* FUZZ_PKI_H */
