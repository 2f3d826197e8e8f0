/* Service-account token signing: see bn_load_jwt.h. */
#include "bn_load_jwt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "px_err.h"
#include "px_tls.h"

#define ES256_HALF 32 /* bytes of r and of s */

struct bn_jwt_signer {
    EVP_PKEY *key;
    const char *alg;
    char kid[48];
};

/* base64url without padding into <out> (at least 4 * ceil(n / 3) + 1). */
static size_t
b64url(const unsigned char *in, size_t n, char *out)
{
    int len = EVP_EncodeBlock((unsigned char *)out, in, (int)n);
    size_t i, o = 0;

    for (i = 0; i < (size_t)len; i++) {
        char ch = out[i];

        if (ch == '=') {
            break;
        }
        out[o++] = ch == '+' ? '-' : ch == '/' ? '_' : ch;
    }
    out[o] = '\0';
    return o;
}

struct bn_jwt_signer *
bn_jwt_signer_new(const char *path, char *err, size_t errlen)
{
    struct bn_jwt_signer *s = calloc(1, sizeof(*s));
    unsigned char *der = NULL, md[SHA256_DIGEST_LENGTH];
    FILE *f;
    int n;

    if (s == NULL) {
        px_errf(err, errlen, "out of memory");
        return NULL;
    }
    if ((f = fopen(path, "r")) == NULL) {
        px_errf(err, errlen, "%s: cannot open", path);
        goto fail;
    }
    s->key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    if (s->key == NULL) {
        px_tls_errf(err, errlen, path);
        goto fail;
    }
    if (EVP_PKEY_is_a(s->key, "RSA")) {
        s->alg = "RS256";
    } else if (EVP_PKEY_is_a(s->key, "EC") && EVP_PKEY_get_bits(s->key) == 256) {
        s->alg = "ES256";
    } else {
        px_errf(err, errlen, "%s: expected an RSA or P-256 private key", path);
        goto fail;
    }
    /* kube's keyIDFromPublicKey, so that verifiers pick this key by kid. */
    if ((n = i2d_PUBKEY(s->key, &der)) <= 0) {
        px_tls_errf(err, errlen, "public key encoding");
        goto fail;
    }
    SHA256(der, (size_t)n, md);
    OPENSSL_free(der);
    b64url(md, sizeof(md), s->kid);
    return s;

fail:
    bn_jwt_signer_free(s);
    return NULL;
}

void
bn_jwt_signer_free(struct bn_jwt_signer *s)
{
    if (s == NULL) {
        return;
    }
    EVP_PKEY_free(s->key);
    free(s);
}

const char *
bn_jwt_signer_alg(const struct bn_jwt_signer *s)
{
    return s->alg;
}

void
bn_jwt_uid(const char *kind, const char *ns, const char *name, char out[37])
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    char buf[1024];
    int n = snprintf(buf, sizeof(buf), "%s/%s/%s", kind, ns != NULL ? ns : "", name);

    SHA256((const unsigned char *)buf, n > 0 ? (size_t)n : 0, md);
    md[6] = (unsigned char)((md[6] & 0x0f) | 0x50); /* version 5 layout */
    md[8] = (unsigned char)((md[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", md[0],
             md[1], md[2], md[3], md[4], md[5], md[6], md[7], md[8], md[9], md[10], md[11], md[12],
             md[13], md[14], md[15]);
}

static void
random_uuid(char out[37])
{
    unsigned char r[16];

    if (RAND_bytes(r, sizeof(r)) != 1) {
        memset(r, 0, sizeof(r));
    }
    r[6] = (unsigned char)((r[6] & 0x0f) | 0x40);
    r[8] = (unsigned char)((r[8] & 0x3f) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", r[0],
             r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13],
             r[14], r[15]);
}

static json_t *
ref(const char *kind, const char *ns, const char *name)
{
    char uid[37];

    bn_jwt_uid(kind, ns, name, uid);
    return json_pack("{ssss}", "name", name, "uid", uid);
}

char *
bn_jwt_claims_json(const struct bn_jwt_claims *c, char *err, size_t errlen)
{
    char sub[600], jti[37];
    json_t *k8s, *root;
    char *out;

    snprintf(sub, sizeof(sub), "system:serviceaccount:%s:%s", c->ns, c->serviceaccount);
    if (c->jti == NULL) {
        random_uuid(jti);
    }
    k8s = json_pack("{ssso}", "namespace", c->ns, "serviceaccount",
                    ref("serviceaccount", c->ns, c->serviceaccount));
    root = json_pack("{s[s]sIsIsssssIss}", "aud", c->audience, "exp",
                     (json_int_t)(c->iat_s + (int64_t)c->expiration_s), "iat", (json_int_t)c->iat_s,
                     "iss", c->issuer, "jti", c->jti != NULL ? c->jti : jti, "nbf",
                     (json_int_t)c->iat_s, "sub", sub);
    if (k8s == NULL || root == NULL) {
        goto fail;
    }
    if ((c->pod != NULL && json_object_set_new(k8s, "pod", ref("pod", c->ns, c->pod)) != 0) ||
        (c->node != NULL && json_object_set_new(k8s, "node", ref("node", NULL, c->node)) != 0) ||
        json_object_set_new(root, "kubernetes.io", k8s) != 0) {
        k8s = NULL;
        goto fail;
    }
    out = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(root);
    if (out == NULL) {
        px_errf(err, errlen, "out of memory");
    }
    return out;

fail:
    json_decref(k8s);
    json_decref(root);
    px_errf(err, errlen, "token claims: out of memory or invalid UTF-8");
    return NULL;
}

/* ECDSA signatures are DER; JWS wants r and s as two 32-byte halves. */
static int
der_to_jose(const unsigned char *der, size_t len, unsigned char out[2 * ES256_HALF])
{
    ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &der, (long)len);
    const BIGNUM *r, *s;
    int ok;

    if (sig == NULL) {
        return -1;
    }
    ECDSA_SIG_get0(sig, &r, &s);
    ok = BN_bn2binpad(r, out, ES256_HALF) == ES256_HALF &&
         BN_bn2binpad(s, out + ES256_HALF, ES256_HALF) == ES256_HALF;
    ECDSA_SIG_free(sig);
    return ok ? 0 : -1;
}

char *
bn_jwt_sign(const struct bn_jwt_signer *s, const struct bn_jwt_claims *c, char *err, size_t errlen)
{
    char header[128], *claims, *tok = NULL;
    unsigned char sig[512], jose[2 * ES256_HALF];
    size_t hl, cl, siglen = sizeof(sig), o;
    EVP_MD_CTX *md = NULL;

    snprintf(header, sizeof(header), "{\"alg\":\"%s\",\"kid\":\"%s\"}", s->alg, s->kid);
    if ((claims = bn_jwt_claims_json(c, err, errlen)) == NULL) {
        return NULL;
    }
    hl = strlen(header);
    cl = strlen(claims);
    tok = malloc(4 * (hl + cl + sizeof(sig)) / 3 + 16);
    if (tok == NULL || (md = EVP_MD_CTX_new()) == NULL) {
        px_errf(err, errlen, "out of memory");
        goto fail;
    }
    o = b64url((const unsigned char *)header, hl, tok);
    tok[o++] = '.';
    o += b64url((const unsigned char *)claims, cl, tok + o);
    if (EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, s->key) != 1 ||
        EVP_DigestSign(md, sig, &siglen, (const unsigned char *)tok, o) != 1) {
        px_tls_errf(err, errlen, "token signature");
        goto fail;
    }
    tok[o++] = '.';
    if (strcmp(s->alg, "ES256") == 0) {
        if (der_to_jose(sig, siglen, jose) != 0) {
            px_errf(err, errlen, "token signature: bad ECDSA encoding");
            goto fail;
        }
        b64url(jose, sizeof(jose), tok + o);
    } else {
        b64url(sig, siglen, tok + o);
    }
    EVP_MD_CTX_free(md);
    free(claims);
    return tok;

fail:
    EVP_MD_CTX_free(md);
    free(claims);
    free(tok);
    return NULL;
}
