/* Test helper: mints compact JWS tokens the way kube-apiserver's
 * TokenRequest does (RS256 with an RSA key, ES256 with a P-256 key), and the
 * forgeries a verifier must refuse (alg none, HS256 keyed with the public
 * key). Header-only so that unit and integration tests share it. */
#ifndef BN_SIM_MINT_H
#define BN_SIM_MINT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

static void
mint_b64url(const unsigned char *in, size_t len, char *out)
{
    static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    unsigned long acc = 0;
    unsigned bits = 0;
    size_t i;

    for (i = 0; i < len; i++) {
        acc = (acc << 8) | in[i];
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            *out++ = alpha[(acc >> bits) & 63];
        }
    }
    if (bits > 0) {
        *out++ = alpha[(acc << (6 - bits)) & 63];
    }
    *out = '\0';
}

static EVP_PKEY *
mint_load_key(const char *path)
{
    FILE *f = fopen(path, "r");
    EVP_PKEY *pk;

    if (f == NULL) {
        return NULL;
    }
    pk = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    return pk;
}

static size_t
mint_read_file(const char *path, unsigned char *buf, size_t cap)
{
    FILE *f = fopen(path, "r");
    size_t n;

    if (f == NULL) {
        return 0;
    }
    n = fread(buf, 1, cap, f);
    fclose(f);
    return n;
}

/* Signs <msg> for <alg> with <pk> (RS256, ES256) or with the bytes of file
 * <secret_path> (HS256); "none" signs nothing. Returns the signature length
 * or -1. */
static int
mint_sign(const char *alg, EVP_PKEY *pk, const char *secret_path, const char *msg,
          unsigned char *sig)
{
    size_t siglen = 1024;
    EVP_MD_CTX *md;

    if (strcmp(alg, "none") == 0) {
        return 0;
    }
    if (strcmp(alg, "HS256") == 0) {
        unsigned char secret[8192];
        unsigned int n = 0;
        size_t slen = mint_read_file(secret_path, secret, sizeof(secret));

        HMAC(EVP_sha256(), secret, (int)slen, (const unsigned char *)msg, strlen(msg), sig, &n);
        return (int)n;
    }
    md = EVP_MD_CTX_new();
    if (EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, pk) != 1 ||
        EVP_DigestSign(md, sig, &siglen, (const unsigned char *)msg, strlen(msg)) != 1) {
        EVP_MD_CTX_free(md);
        return -1;
    }
    EVP_MD_CTX_free(md);
    if (strcmp(alg, "ES256") == 0) {
        const unsigned char *p = sig;
        ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)siglen);
        const BIGNUM *r, *s;

        if (es == NULL) {
            return -1;
        }
        ECDSA_SIG_get0(es, &r, &s);
        BN_bn2binpad(r, sig, 32);
        BN_bn2binpad(s, sig + 32, 32);
        ECDSA_SIG_free(es);
        siglen = 64;
    }
    return (int)siglen;
}

/* A token "<header>.<payload>.<sig>" for <payload_json>, header {"alg":<alg>}
 * plus "kid" when <kid> is not NULL, signed with <pk> or (HS256) keyed with
 * the contents of <secret_path>. malloc'd; NULL on failure. */
static char *
mint_token_key(const char *alg, const char *kid, const char *payload_json, EVP_PKEY *pk,
               const char *secret_path)
{
    char header[256], *out, *p;
    unsigned char sig[1024];
    size_t plen = strlen(payload_json);
    int n;

    if (kid != NULL) {
        snprintf(header, sizeof(header), "{\"alg\":\"%s\",\"kid\":\"%s\"}", alg, kid);
    } else {
        snprintf(header, sizeof(header), "{\"alg\":\"%s\",\"typ\":\"JWT\"}", alg);
    }
    out = malloc(4 * (strlen(header) + plen + sizeof(sig)) / 3 + 16);
    if (out == NULL) {
        return NULL;
    }
    mint_b64url((const unsigned char *)header, strlen(header), out);
    p = out + strlen(out);
    *p++ = '.';
    mint_b64url((const unsigned char *)payload_json, plen, p);
    n = mint_sign(alg, pk, secret_path, out, sig);
    if (n < 0) {
        free(out);
        return NULL;
    }
    p = out + strlen(out);
    *p++ = '.';
    mint_b64url(sig, (size_t)n, p);
    return out;
}

/* As mint_token_key, loading the private key from <key_path>. */
static char *
mint_token(const char *alg, const char *kid, const char *payload_json, const char *key_path)
{
    EVP_PKEY *pk = NULL;
    char *t;

    if (strcmp(alg, "RS256") == 0 || strcmp(alg, "ES256") == 0) {
        pk = mint_load_key(key_path);
        if (pk == NULL) {
            return NULL;
        }
    }
    t = mint_token_key(alg, kid, payload_json, pk, key_path);
    EVP_PKEY_free(pk);
    return t;
}

/* The payload of a pod-bound token as TokenRequest issues it (claims.go). */
static void
mint_bound_payload(char *out, size_t len, const char *iss, const char *aud, long long now_s,
                   long long exp_s, const char *ns, const char *sa, const char *node)
{
    snprintf(out, len,
             "{\"aud\":[\"%s\"],\"exp\":%lld,\"iat\":%lld,\"nbf\":%lld,\"iss\":\"%s\","
             "\"jti\":\"8f1c2a9e-1111-4c3b-9a57-7d1e2f3a4b5c\","
             "\"kubernetes.io\":{\"namespace\":\"%s\","
             "\"node\":{\"name\":\"%s\",\"uid\":\"node-uid-1\"},"
             "\"pod\":{\"name\":\"agent-x\",\"uid\":\"pod-uid-1\"},"
             "\"serviceaccount\":{\"name\":\"%s\",\"uid\":\"sa-uid-1\"}},"
             "\"sub\":\"system:serviceaccount:%s:%s\"}",
             aud, exp_s, now_s, now_s, iss, ns, node, sa, ns, sa);
}

/* A throwaway PKI from deploy/pki.sh --test in $FG_BUILD_DIR/unit-tmp/<tag>
 * (reused when it exists): certificates, front-proxy CA, sa.key/sa.pub and
 * sa-ec.key/sa-ec.pub. Returns 0 and the directory in <dir>. */
static int
mint_pki(const char *tag, char *dir, size_t len)
{
    const char *build = getenv("FG_BUILD_DIR"), *src = getenv("FG_SRC_DIR");
    char cmd[4096];

    if (build == NULL || src == NULL) {
        fprintf(stderr, "FG_BUILD_DIR and FG_SRC_DIR must be set (ctest sets them)\n");
        return -1;
    }
    snprintf(dir, len, "%s/unit-tmp/%s", build, tag);
    snprintf(cmd, sizeof(cmd), "mkdir -p '%s' && bash '%s/deploy/pki.sh' --test '%s' >/dev/null",
             dir, src, dir);
    return system(cmd) == 0 ? 0 : -1;
}

#endif /* BN_SIM_MINT_H */
