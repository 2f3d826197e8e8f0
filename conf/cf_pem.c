/* conf's only use of OpenSSL: checking at load time that the PEM files the
 * proxy will need exist, are readable and hold what they should (a key that
 * is only found broken at the first handshake is an outage), and the SHA-256
 * that identifies a snapshot. The OpenSSL error queue is read and cleared
 * here and nowhere else in conf. */
#include "cf_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

/* A passphrase prompt would block a daemon: encrypted keys are refused. */
static int
no_password(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

static BIO *
open_file(const char *path, char *why, size_t whylen)
{
    FILE *f = fopen(path, "r");
    BIO *b;

    if (f == NULL) {
        snprintf(why, whylen, "%s", strerror(errno));
        return NULL;
    }
    b = BIO_new_fp(f, BIO_CLOSE);
    if (b == NULL) {
        fclose(f);
        snprintf(why, whylen, "out of memory");
    }
    return b;
}

static int
count_certs(BIO *b)
{
    X509 *c;
    int n = 0;

    while ((c = PEM_read_bio_X509(b, NULL, no_password, NULL)) != NULL) {
        X509_free(c);
        n++;
    }
    return n;
}

/* RS256 needs RSA; ES256 needs an EC key on P-256. */
static int
check_jwt_key(EVP_PKEY *k, char *why, size_t whylen)
{
    char group[64] = "";
    size_t glen = 0;

    if (EVP_PKEY_is_a(k, "RSA")) {
        return 0;
    }
    if (EVP_PKEY_is_a(k, "EC")) {
        EVP_PKEY_get_utf8_string_param(k, "group", group, sizeof(group), &glen);
        if (strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0) {
            return 0;
        }
        snprintf(why, whylen, "an EC key on %s; ES256 needs P-256", group[0] ? group : "?");
        return -1;
    }
    snprintf(why, whylen, "%s key; RS256 needs RSA, ES256 EC P-256", EVP_PKEY_get0_type_name(k));
    return -1;
}

int
cf_pem_check(const char *path, enum cf_pem_kind kind, char *why, size_t whylen)
{
    BIO *b = open_file(path, why, whylen);
    EVP_PKEY *k = NULL;
    int rc = -1;

    if (b == NULL) {
        return -1;
    }
    switch (kind) {
    case CF_PEM_CERTS:
        if (count_certs(b) > 0) {
            rc = 0;
        } else {
            snprintf(why, whylen, "no PEM certificate in it");
        }
        break;
    case CF_PEM_PRIVATE_KEY:
        k = PEM_read_bio_PrivateKey(b, NULL, no_password, NULL);
        if (k != NULL) {
            rc = 0;
        } else {
            snprintf(why, whylen, "no unencrypted PEM private key in it");
        }
        break;
    case CF_PEM_PUBLIC_KEY:
        k = PEM_read_bio_PUBKEY(b, NULL, no_password, NULL);
        if (k == NULL) {
            snprintf(why, whylen, "no PEM public key in it");
        } else {
            rc = check_jwt_key(k, why, whylen);
        }
        break;
    }
    EVP_PKEY_free(k);
    BIO_free(b);
    ERR_clear_error();
    return rc;
}

int
cf_pem_pair_check(const char *cert_path, const char *key_path, char *why, size_t whylen)
{
    BIO *cb = open_file(cert_path, why, whylen);
    BIO *kb = cb != NULL ? open_file(key_path, why, whylen) : NULL;
    X509 *c = cb != NULL ? PEM_read_bio_X509(cb, NULL, no_password, NULL) : NULL;
    EVP_PKEY *k = kb != NULL ? PEM_read_bio_PrivateKey(kb, NULL, no_password, NULL) : NULL;
    int rc = -1;

    if (c != NULL && k != NULL) {
        if (X509_check_private_key(c, k) == 1) {
            rc = 0;
        } else {
            snprintf(why, whylen, "not the key of the certificate");
        }
    } else if (cb != NULL && kb != NULL) {
        snprintf(why, whylen, "unreadable certificate or key");
    }
    X509_free(c);
    EVP_PKEY_free(k);
    BIO_free(kb);
    BIO_free(cb);
    ERR_clear_error();
    return rc;
}

void
cf_hash_prefix(const void *data, size_t len, char out[17])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    size_t i;

    if (EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen < 8) {
        /* Only allocation can fail here; the hash is informational. */
        memset(md, 0, 8);
    }
    for (i = 0; i < 8; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[16] = '\0';
    ERR_clear_error();
}
