/* Service-account JWT verification: see px_jwt.h. */
#include "px_jwt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "px_err.h"
#include "px_tls.h"

#define KID_LEN 44 /* base64url of 32 bytes, unpadded, NUL included */

enum key_type { KEY_RSA = 0, KEY_EC256 };

struct key {
    EVP_PKEY *pk;
    enum key_type type;
    char kid[KID_LEN];
};

struct px_jwt_keys {
    struct key keys[PX_JWT_MAX_KEYS];
    size_t nkeys;
    char *issuers[PX_JWT_MAX_ISSUER];
    size_t nissuers;
    char *audiences[PX_JWT_MAX_ISSUER];
    size_t naudiences;
};

/* The three segments of a compact JWS, decoded. */
struct jws {
    const char *signing_input; /* "header.payload" as sent */
    size_t signing_len;
    unsigned char header[2048];
    size_t header_len;
    unsigned char payload[PX_JWT_MAX_TOKEN];
    size_t payload_len;
    unsigned char sig[1024];
    size_t sig_len;
};

static const signed char b64url_val[256] = {
    ['A'] = 1,  ['B'] = 2,  ['C'] = 3,  ['D'] = 4,  ['E'] = 5,  ['F'] = 6,  ['G'] = 7,  ['H'] = 8,
    ['I'] = 9,  ['J'] = 10, ['K'] = 11, ['L'] = 12, ['M'] = 13, ['N'] = 14, ['O'] = 15, ['P'] = 16,
    ['Q'] = 17, ['R'] = 18, ['S'] = 19, ['T'] = 20, ['U'] = 21, ['V'] = 22, ['W'] = 23, ['X'] = 24,
    ['Y'] = 25, ['Z'] = 26, ['a'] = 27, ['b'] = 28, ['c'] = 29, ['d'] = 30, ['e'] = 31, ['f'] = 32,
    ['g'] = 33, ['h'] = 34, ['i'] = 35, ['j'] = 36, ['k'] = 37, ['l'] = 38, ['m'] = 39, ['n'] = 40,
    ['o'] = 41, ['p'] = 42, ['q'] = 43, ['r'] = 44, ['s'] = 45, ['t'] = 46, ['u'] = 47, ['v'] = 48,
    ['w'] = 49, ['x'] = 50, ['y'] = 51, ['z'] = 52, ['0'] = 53, ['1'] = 54, ['2'] = 55, ['3'] = 56,
    ['4'] = 57, ['5'] = 58, ['6'] = 59, ['7'] = 60, ['8'] = 61, ['9'] = 62, ['-'] = 63, ['_'] = 64,
}; /* value + 1; 0 = not in the alphabet */

/* Unpadded base64url (Go's RawURLEncoding, non-strict: stray low bits of
 * the last character are ignored, '=' is refused). */
static int
b64url_decode(const char *in, size_t len, unsigned char *out, size_t cap, size_t *outlen)
{
    uint32_t acc = 0;
    unsigned bits = 0;
    size_t n = 0, i;

    if (len % 4 == 1) {
        return -1;
    }
    for (i = 0; i < len; i++) {
        int v = b64url_val[(unsigned char)in[i]];

        if (v == 0) {
            return -1;
        }
        acc = (acc << 6) | (uint32_t)(v - 1);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (n == cap) {
                return -1;
            }
            out[n++] = (unsigned char)(acc >> bits);
        }
    }
    *outlen = n;
    return 0;
}

static void
b64url_encode(const unsigned char *in, size_t len, char *out)
{
    static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    uint32_t acc = 0;
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

const char *
px_jwt_error_name(int e)
{
    switch (e) {
    case PX_JWT_OK:
        return "ok";
    case PX_JWT_ENOTJWT:
        return "not a JWT";
    case PX_JWT_EMALFORMED:
        return "malformed";
    case PX_JWT_EALG:
        return "unsupported algorithm";
    case PX_JWT_ESIG:
        return "bad signature";
    case PX_JWT_EEXPIRED:
        return "expired";
    case PX_JWT_ENOTYET:
        return "not yet valid";
    case PX_JWT_EISSUER:
        return "wrong issuer";
    case PX_JWT_EAUDIENCE:
        return "wrong audience";
    case PX_JWT_ECLAIMS:
        return "bad claims";
    default:
        return "unknown";
    }
}

/* --- keys --- */

/* kube's keyIDFromPublicKey: base64url(SHA-256(DER SubjectPublicKeyInfo)). */
static int
key_id(EVP_PKEY *pk, char kid[KID_LEN])
{
    unsigned char *der = NULL, md[SHA256_DIGEST_LENGTH];
    int n = i2d_PUBKEY(pk, &der);

    if (n <= 0) {
        return -1;
    }
    SHA256(der, (size_t)n, md);
    OPENSSL_free(der);
    b64url_encode(md, sizeof(md), kid);
    return 0;
}

static int
key_add(struct px_jwt_keys *k, EVP_PKEY *pk, const char *path, char *err, size_t errlen)
{
    struct key *key;
    char group[64];
    size_t glen = 0;

    if (k->nkeys == PX_JWT_MAX_KEYS) {
        px_errf(err, errlen, "%s: more than %d service-account keys", path, PX_JWT_MAX_KEYS);
        EVP_PKEY_free(pk);
        return -1;
    }
    key = &k->keys[k->nkeys];
    if (EVP_PKEY_get_base_id(pk) == EVP_PKEY_RSA) {
        key->type = KEY_RSA;
    } else if (EVP_PKEY_get_base_id(pk) == EVP_PKEY_EC &&
               EVP_PKEY_get_group_name(pk, group, sizeof(group), &glen) == 1 &&
               (strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0)) {
        key->type = KEY_EC256;
    } else {
        px_errf(err, errlen, "%s: only RSA and ECDSA P-256 keys are supported", path);
        EVP_PKEY_free(pk);
        return -1;
    }
    if (key_id(pk, key->kid) != 0) {
        px_tls_errf(err, errlen, path);
        EVP_PKEY_free(pk);
        return -1;
    }
    key->pk = pk;
    k->nkeys++;
    return 0;
}

/* One PEM block to a public key, or NULL for blocks that hold none. */
static EVP_PKEY *
pem_block_key(const char *name, const unsigned char *data, long len)
{
    const unsigned char *p = data;
    EVP_PKEY *pk = NULL;

    if (strcmp(name, "PUBLIC KEY") == 0) {
        pk = d2i_PUBKEY(NULL, &p, len);
    } else if (strcmp(name, "RSA PUBLIC KEY") == 0) {
        pk = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, len);
    } else if (strcmp(name, "PRIVATE KEY") == 0 || strcmp(name, "RSA PRIVATE KEY") == 0 ||
               strcmp(name, "EC PRIVATE KEY") == 0) {
        pk = d2i_AutoPrivateKey(NULL, &p, len);
    } else if (strcmp(name, "CERTIFICATE") == 0) {
        X509 *x = d2i_X509(NULL, &p, len);

        if (x != NULL) {
            pk = X509_get_pubkey(x);
            X509_free(x);
        }
    }
    return pk;
}

static int
load_file(struct px_jwt_keys *k, const char *path, char *err, size_t errlen)
{
    BIO *bio = BIO_new_file(path, "r");
    size_t before = k->nkeys;
    int rc = 0;

    if (bio == NULL) {
        px_tls_errf(err, errlen, path);
        return -1;
    }
    for (;;) {
        char *name = NULL, *header = NULL;
        unsigned char *data = NULL;
        long len = 0;
        EVP_PKEY *pk;

        if (PEM_read_bio(bio, &name, &header, &data, &len) != 1) {
            px_tls_clear_errors(); /* end of file */
            break;
        }
        pk = pem_block_key(name, data, len);
        if (pk == NULL && (strstr(name, "KEY") != NULL || strcmp(name, "CERTIFICATE") == 0)) {
            px_tls_errf(err, errlen, path);
            rc = -1;
        } else if (pk != NULL) {
            rc = key_add(k, pk, path, err, errlen);
        }
        OPENSSL_free(name);
        OPENSSL_free(header);
        OPENSSL_free(data);
        if (rc != 0) {
            break;
        }
    }
    BIO_free(bio);
    if (rc == 0 && k->nkeys == before) {
        px_errf(err, errlen, "%s: no PEM public key, private key or certificate found", path);
        return -1;
    }
    return rc;
}

static int
copy_list(char **dst, size_t *n, const char *const *src, size_t nsrc, const char *what, char *err,
          size_t errlen)
{
    size_t i;

    if (nsrc > PX_JWT_MAX_ISSUER) {
        px_errf(err, errlen, "more than %d %s", PX_JWT_MAX_ISSUER, what);
        return -1;
    }
    for (i = 0; i < nsrc; i++) {
        dst[i] = strdup(src[i]);
        if (dst[i] == NULL) {
            px_errf(err, errlen, "out of memory");
            return -1;
        }
        (*n)++;
    }
    return 0;
}

struct px_jwt_keys *
px_jwt_keys_new(const char *const *paths, size_t npaths, const char *const *issuers,
                size_t nissuers, const char *const *audiences, size_t naudiences, char *err,
                size_t errlen)
{
    struct px_jwt_keys *k = calloc(1, sizeof(*k));
    size_t i;

    if (k == NULL) {
        px_errf(err, errlen, "out of memory");
        return NULL;
    }
    for (i = 0; i < npaths; i++) {
        if (load_file(k, paths[i], err, errlen) != 0) {
            goto fail;
        }
    }
    if (copy_list(k->issuers, &k->nissuers, issuers, nissuers, "issuers", err, errlen) != 0 ||
        copy_list(k->audiences, &k->naudiences, audiences, naudiences, "audiences", err, errlen) !=
            0) {
        goto fail;
    }
    return k;

fail:
    px_jwt_keys_free(k);
    return NULL;
}

void
px_jwt_keys_free(struct px_jwt_keys *k)
{
    size_t i;

    if (k == NULL) {
        return;
    }
    for (i = 0; i < k->nkeys; i++) {
        EVP_PKEY_free(k->keys[i].pk);
    }
    for (i = 0; i < k->nissuers; i++) {
        free(k->issuers[i]);
    }
    for (i = 0; i < k->naudiences; i++) {
        free(k->audiences[i]);
    }
    free(k);
}

size_t
px_jwt_keys_count(const struct px_jwt_keys *k)
{
    return k->nkeys;
}

/* --- verification --- */

static int
split(const char *token, size_t len, struct jws *j)
{
    const char *d1 = memchr(token, '.', len), *d2;

    if (d1 == NULL) {
        return -1;
    }
    d2 = memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - token));
    if (d2 == NULL || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - token)) != NULL) {
        return -1;
    }
    j->signing_input = token;
    j->signing_len = (size_t)(d2 - token);
    if (b64url_decode(token, (size_t)(d1 - token), j->header, sizeof(j->header), &j->header_len) !=
            0 ||
        b64url_decode(d1 + 1, (size_t)(d2 - d1 - 1), j->payload, sizeof(j->payload),
                      &j->payload_len) != 0 ||
        b64url_decode(d2 + 1, len - (size_t)(d2 + 1 - token), j->sig, sizeof(j->sig),
                      &j->sig_len) != 0) {
        return -1;
    }
    return 0;
}

static bool
in_list(char *const *list, size_t n, const char *s)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (strcmp(list[i], s) == 0) {
            return true;
        }
    }
    return false;
}

static int
verify_with(const struct key *key, bool ec, const struct jws *j)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char der[80], *p = der;
    const unsigned char *sig = j->sig;
    size_t siglen = j->sig_len;
    int ok = 0;

    if (md == NULL) {
        return 0;
    }
    if (ec) {
        /* JOSE carries r||s (RFC 7518 section 3.4); OpenSSL wants DER. */
        ECDSA_SIG *es = ECDSA_SIG_new();
        BIGNUM *r = BN_bin2bn(j->sig, 32, NULL), *s = BN_bin2bn(j->sig + 32, 32, NULL);
        int n;

        if (es == NULL || r == NULL || s == NULL || ECDSA_SIG_set0(es, r, s) != 1) {
            BN_free(r);
            BN_free(s);
            ECDSA_SIG_free(es);
            EVP_MD_CTX_free(md);
            return 0;
        }
        n = i2d_ECDSA_SIG(es, &p);
        ECDSA_SIG_free(es);
        if (n <= 0) {
            EVP_MD_CTX_free(md);
            return 0;
        }
        sig = der;
        siglen = (size_t)n;
    }
    if (EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key->pk) == 1 &&
        EVP_DigestVerify(md, sig, siglen, (const unsigned char *)j->signing_input,
                         j->signing_len) == 1) {
        ok = 1;
    }
    EVP_MD_CTX_free(md);
    px_tls_clear_errors();
    return ok;
}

/* Only RS256 and ES256: a header naming "none", an HMAC or anything else
 * never reaches a key (the HS256-with-the-public-key-as-secret attack). */
static int
check_signature(const struct px_jwt_keys *k, const struct jws *j, json_t *hdr, char *err,
                size_t errlen)
{
    const char *alg = json_string_value(json_object_get(hdr, "alg"));
    json_t *kidj = json_object_get(hdr, "kid");
    const char *kid = json_string_value(kidj);
    bool ec, tried = false;
    size_t i;

    if (alg == NULL) {
        px_errf(err, errlen, "JOSE header has no alg");
        return PX_JWT_EMALFORMED;
    }
    if (strcmp(alg, "RS256") == 0) {
        ec = false;
    } else if (strcmp(alg, "ES256") == 0) {
        ec = true;
        if (j->sig_len != 64) {
            px_errf(err, errlen, "ES256 signature is %zu bytes, not 64", j->sig_len);
            return PX_JWT_ESIG;
        }
    } else {
        px_errf(err, errlen, "unsupported signing algorithm %.32s", alg);
        return PX_JWT_EALG;
    }
    if (kidj != NULL && kid == NULL) {
        px_errf(err, errlen, "JOSE header kid is not a string");
        return PX_JWT_EMALFORMED;
    }
    for (i = 0; i < k->nkeys; i++) {
        const struct key *key = &k->keys[i];

        /* kube: a kid selects the keys with that key ID, none selects all. */
        if (kid != NULL && kid[0] != '\0' && strcmp(kid, key->kid) != 0) {
            continue;
        }
        if ((key->type == KEY_EC256) != ec) {
            continue;
        }
        tried = true;
        if (verify_with(key, ec, j)) {
            return PX_JWT_OK;
        }
    }
    px_errf(err, errlen, tried ? "invalid signature" : "invalid signature, no keys found");
    return PX_JWT_ESIG;
}

static int
copy_claim(char *dst, json_t *v, const char *name, char *err, size_t errlen)
{
    const char *s;
    size_t n;

    dst[0] = '\0';
    if (v == NULL || json_is_null(v)) {
        return 0;
    }
    s = json_string_value(v);
    if (s == NULL) {
        px_errf(err, errlen, "claim %s is not a string", name);
        return PX_JWT_EMALFORMED;
    }
    n = json_string_length(v);
    if (n >= PX_JWT_FIELD) {
        px_errf(err, errlen, "claim %s is longer than %d bytes", name, PX_JWT_FIELD - 1);
        return PX_JWT_ECLAIMS;
    }
    memcpy(dst, s, n + 1);
    return 0;
}

/* NumericDate: a JSON number of seconds (go-jose accepts fractions). */
static int
get_date(json_t *claims, const char *name, int64_t *out, char *err, size_t errlen)
{
    json_t *v = json_object_get(claims, name);

    *out = 0;
    if (v == NULL || json_is_null(v)) {
        return 0;
    }
    if (!json_is_number(v) || json_number_value(v) < 0 || json_number_value(v) > 1e15) {
        px_errf(err, errlen, "claim %s is not a NumericDate", name);
        return PX_JWT_EMALFORMED;
    }
    *out = (int64_t)json_number_value(v);
    return 0;
}

/* kube: the token's audiences (the API audiences when it has none) must meet
 * the API audiences, unless none are configured. */
static int
check_audience(const struct px_jwt_keys *k, json_t *claims, char *err, size_t errlen)
{
    json_t *aud = json_object_get(claims, "aud"), *v;
    size_t i;

    if (k->naudiences == 0 || aud == NULL || json_is_null(aud)) {
        return PX_JWT_OK;
    }
    if (json_is_string(aud)) {
        if (json_string_length(aud) == 0 ||
            in_list(k->audiences, k->naudiences, json_string_value(aud))) {
            return PX_JWT_OK;
        }
    } else if (json_is_array(aud)) {
        if (json_array_size(aud) == 0) {
            return PX_JWT_OK;
        }
        json_array_foreach(aud, i, v)
        {
            if (!json_is_string(v)) {
                px_errf(err, errlen, "claim aud is not a list of strings");
                return PX_JWT_EMALFORMED;
            }
            if (in_list(k->audiences, k->naudiences, json_string_value(v))) {
                return PX_JWT_OK;
            }
        }
    } else {
        px_errf(err, errlen, "claim aud is neither a string nor a list");
        return PX_JWT_EMALFORMED;
    }
    px_errf(err, errlen, "token audiences are invalid for the API audiences");
    return PX_JWT_EAUDIENCE;
}

/* go-jose Claims.Validate with DefaultLeeway, as claims.go calls it. */
static int
check_time(const struct px_jwt_claims *c, int64_t now_s, char *err, size_t errlen)
{
    if (c->nbf_s != 0 && now_s + PX_JWT_LEEWAY_S < c->nbf_s) {
        px_errf(err, errlen, "token is not valid yet");
        return PX_JWT_ENOTYET;
    }
    if (c->exp_s != 0 && now_s - PX_JWT_LEEWAY_S > c->exp_s) {
        px_errf(err, errlen, "token has expired");
        return PX_JWT_EEXPIRED;
    }
    if (c->iat_s != 0 && now_s + PX_JWT_LEEWAY_S < c->iat_s) {
        px_errf(err, errlen, "token was issued in the future");
        return PX_JWT_ENOTYET;
    }
    return PX_JWT_OK;
}

static int
ref_claims(json_t *obj, const char *what, char *name, char *uid, char *err, size_t errlen)
{
    char n1[64], n2[64];
    int rc;

    snprintf(n1, sizeof(n1), "kubernetes.io.%s.name", what);
    snprintf(n2, sizeof(n2), "kubernetes.io.%s.uid", what);
    if (obj != NULL && !json_is_null(obj) && !json_is_object(obj)) {
        px_errf(err, errlen, "claim kubernetes.io.%s is not an object", what);
        return PX_JWT_EMALFORMED;
    }
    rc = copy_claim(name, json_object_get(obj, "name"), n1, err, errlen);
    if (rc == 0) {
        rc = copy_claim(uid, json_object_get(obj, "uid"), n2, err, errlen);
    }
    return rc;
}

/* Bound tokens (claims.go): {"kubernetes.io": {"namespace", "serviceaccount":
 * {"name","uid"}, "pod": {..}, "secret": {..}, "node": {..}}}. kube then
 * looks the service account up by name and UID; a token naming none can
 * never pass that, so it is refused here. */
static int
bound_claims(json_t *claims, struct px_jwt_claims *c, char *err, size_t errlen)
{
    json_t *kio = json_object_get(claims, "kubernetes.io");
    char secret_uid[PX_JWT_FIELD];
    int rc;

    if (kio == NULL || !json_is_object(kio)) {
        px_errf(err, errlen, "claim kubernetes.io is missing");
        return PX_JWT_ECLAIMS;
    }
    if ((rc = copy_claim(c->ns, json_object_get(kio, "namespace"), "kubernetes.io.namespace", err,
                         errlen)) != 0 ||
        (rc = ref_claims(json_object_get(kio, "serviceaccount"), "serviceaccount", c->sa_name,
                         c->sa_uid, err, errlen)) != 0 ||
        (rc = ref_claims(json_object_get(kio, "pod"), "pod", c->pod_name, c->pod_uid, err,
                         errlen)) != 0 ||
        (rc = ref_claims(json_object_get(kio, "node"), "node", c->node_name, c->node_uid, err,
                         errlen)) != 0) {
        return rc;
    }
    rc = ref_claims(json_object_get(kio, "secret"), "secret", c->secret_name, secret_uid, err,
                    errlen);
    if (rc != 0) {
        return rc;
    }
    if (c->ns[0] == '\0' || c->sa_name[0] == '\0' || c->sa_uid[0] == '\0') {
        px_errf(err, errlen, "service account namespace, name or uid claim is missing");
        return PX_JWT_ECLAIMS;
    }
    return copy_claim(c->jti, json_object_get(claims, "jti"), "jti", err, errlen);
}

/* Legacy Secret tokens (legacy.go): every flat claim present and sub equal
 * to system:serviceaccount:<namespace>:<name>. */
static int
legacy_claims(json_t *claims, struct px_jwt_claims *c, char *err, size_t errlen)
{
    char want[2 * PX_JWT_FIELD + 32];
    int rc;

    if ((rc = copy_claim(c->ns, json_object_get(claims, "kubernetes.io/serviceaccount/namespace"),
                         "namespace", err, errlen)) != 0 ||
        (rc = copy_claim(
             c->sa_name,
             json_object_get(claims, "kubernetes.io/serviceaccount/service-account.name"),
             "service-account.name", err, errlen)) != 0 ||
        (rc = copy_claim(
             c->sa_uid, json_object_get(claims, "kubernetes.io/serviceaccount/service-account.uid"),
             "service-account.uid", err, errlen)) != 0 ||
        (rc = copy_claim(c->secret_name,
                         json_object_get(claims, "kubernetes.io/serviceaccount/secret.name"),
                         "secret.name", err, errlen)) != 0) {
        return rc;
    }
    if (c->subject[0] == '\0' || c->ns[0] == '\0' || c->sa_name[0] == '\0' ||
        c->sa_uid[0] == '\0' || c->secret_name[0] == '\0') {
        px_errf(err, errlen, "legacy service-account token misses a claim");
        return PX_JWT_ECLAIMS;
    }
    snprintf(want, sizeof(want), "system:serviceaccount:%s:%s", c->ns, c->sa_name);
    if (strcmp(want, c->subject) != 0) {
        px_errf(err, errlen, "sub claim is invalid");
        return PX_JWT_ECLAIMS;
    }
    return PX_JWT_OK;
}

/* The claims of a token, as a verified one is read; with <k> NULL (a
 * payload without a token, px_jwt_claims_parse) the audience and the time
 * claims are not checked. */
static int
check_claims(const struct px_jwt_keys *k, json_t *claims, int64_t now_s, struct px_jwt_claims *c,
             char *err, size_t errlen)
{
    int rc;

    if ((rc = copy_claim(c->subject, json_object_get(claims, "sub"), "sub", err, errlen)) != 0 ||
        (rc = get_date(claims, "exp", &c->exp_s, err, errlen)) != 0 ||
        (rc = get_date(claims, "nbf", &c->nbf_s, err, errlen)) != 0 ||
        (rc = get_date(claims, "iat", &c->iat_s, err, errlen)) != 0 ||
        (k != NULL && (rc = check_audience(k, claims, err, errlen)) != 0)) {
        return rc;
    }
    if (c->legacy) {
        /* legacy.go validates no time claim: Secret tokens never expire. */
        return legacy_claims(claims, c, err, errlen);
    }
    if (k != NULL && (rc = check_time(c, now_s, err, errlen)) != 0) {
        return rc;
    }
    return bound_claims(claims, c, err, errlen);
}

int
px_jwt_claims_parse(const char *json, size_t len, struct px_jwt_claims *out, char *err,
                    size_t errlen)
{
    json_t *claims;
    int rc;

    memset(out, 0, sizeof(*out));
    if (len > PX_JWT_MAX_TOKEN) {
        px_errf(err, errlen, "claims are longer than %d bytes", PX_JWT_MAX_TOKEN);
        return PX_JWT_EMALFORMED;
    }
    claims = json_loadb(json, len, JSON_REJECT_DUPLICATES, NULL);
    if (claims == NULL || !json_is_object(claims)) {
        json_decref(claims);
        px_errf(err, errlen, "claims are not a JSON object");
        return PX_JWT_ENOTJWT;
    }
    rc = copy_claim(out->issuer, json_object_get(claims, "iss"), "iss", err, errlen);
    if (rc == 0) {
        out->legacy = strcmp(out->issuer, PX_JWT_LEGACY_ISSUER) == 0;
        rc = check_claims(NULL, claims, 0, out, err, errlen);
    }
    json_decref(claims);
    return rc;
}

int
px_jwt_verify(const struct px_jwt_keys *k, const char *token, size_t len, int64_t now_s,
              struct px_jwt_claims *out, char *err, size_t errlen)
{
    struct jws *j = NULL;
    json_t *hdr = NULL, *claims = NULL;
    const char *iss;
    int rc;

    memset(out, 0, sizeof(*out));
    if (len == 0 || len > PX_JWT_MAX_TOKEN || token[0] == '{') {
        px_errf(err, errlen,
                len > PX_JWT_MAX_TOKEN ? "token is longer than %d bytes" : "not a compact JWT",
                PX_JWT_MAX_TOKEN);
        return len > PX_JWT_MAX_TOKEN ? PX_JWT_EMALFORMED : PX_JWT_ENOTJWT;
    }
    j = malloc(sizeof(*j));
    if (j == NULL) {
        px_errf(err, errlen, "out of memory");
        return PX_JWT_EMALFORMED;
    }
    rc = PX_JWT_ENOTJWT;
    if (split(token, len, j) != 0) {
        px_errf(err, errlen, "not a compact JWT");
        goto done;
    }
    claims = json_loadb((const char *)j->payload, j->payload_len, JSON_REJECT_DUPLICATES, NULL);
    if (claims == NULL || !json_is_object(claims)) {
        px_errf(err, errlen, "JWT payload is not a JSON object");
        goto done;
    }
    /* kube's hasCorrectIssuer: an issuer nobody configured is not ours. */
    iss = json_string_value(json_object_get(claims, "iss"));
    rc = PX_JWT_EISSUER;
    if (iss == NULL ||
        (strcmp(iss, PX_JWT_LEGACY_ISSUER) != 0 && !in_list(k->issuers, k->nissuers, iss))) {
        px_errf(err, errlen, "token issuer is not accepted");
        goto done;
    }
    out->legacy = strcmp(iss, PX_JWT_LEGACY_ISSUER) == 0;
    rc = PX_JWT_EMALFORMED;
    hdr = json_loadb((const char *)j->header, j->header_len, JSON_REJECT_DUPLICATES, NULL);
    if (hdr == NULL || !json_is_object(hdr) || json_object_get(hdr, "crit") != NULL) {
        px_errf(err, errlen, "JOSE header is not a JSON object without crit");
        goto done;
    }
    if ((rc = check_signature(k, j, hdr, err, errlen)) != 0 ||
        (rc = copy_claim(out->issuer, json_object_get(claims, "iss"), "iss", err, errlen)) != 0) {
        goto done;
    }
    rc = check_claims(k, claims, now_s, out, err, errlen);

done:
    json_decref(hdr);
    json_decref(claims);
    free(j);
    return rc;
}
