/* libFuzzer target for the identity parsers: px_jwt_verify on raw tokens,
 * px_identity_resolve on raw Authorization values (a per-worker cache over
 * px_jwt verification, as floodgate runs it), px_jwt_claims_parse on raw
 * payloads, and px_jwt_verify on tokens whose JOSE header and claims are
 * fuzzed but which carry a real ES256 signature (so the claim checks
 * behind the signature are reached). The keys (RSA 2048 and P-256) are
 * made at start-up. Oracles: a token the fuzzer made without the private
 * key never verifies, and an Authorization value never resolves to a
 * verified identity; a verified token's claims are NUL-terminated and
 * name a service account. Input: byte 0 picks the mode (0 raw token,
 * 1 Authorization, 2 claims, 3 signed "HEADER\nPAYLOAD"), the rest is the
 * data. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "../unit/bn_sim_mint.h"
#include "lim_identity.h"
#include "px_identity.h"
#include "px_jwt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ISSUER "https://kubernetes.default.svc"
#define NOW_S  1700000000

static struct px_jwt_keys *keys;
static struct px_idcache *cache;        /* raw Authorization values */
static struct px_idcache *signed_cache; /* tokens signed with the real key */
static EVP_PKEY *ec_key;

static void
write_pub(EVP_PKEY *pk, char *path)
{
    int fd = mkstemp(path);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;

    if (f == NULL || PEM_write_PUBKEY(f, pk) != 1) {
        abort();
    }
    fclose(f);
}

static void
init(void)
{
    static char ec_path[] = "/tmp/fuzz-jwt-ec-XXXXXX", rsa_path[] = "/tmp/fuzz-jwt-rsa-XXXXXX";
    const char *paths[2] = {ec_path, rsa_path};
    const char *iss[1] = {ISSUER};
    EVP_PKEY *rsa = EVP_RSA_gen(2048);
    char err[256];

    (void)mint_token; /* the shared minting helper has more than this needs */
    (void)mint_bound_payload;
    (void)mint_pki;
    ec_key = EVP_EC_gen("P-256");
    if (ec_key == NULL || rsa == NULL) {
        abort();
    }
    write_pub(ec_key, ec_path);
    write_pub(rsa, rsa_path);
    EVP_PKEY_free(rsa);
    keys = px_jwt_keys_new(paths, 2, iss, 1, iss, 1, err, sizeof(err));
    unlink(ec_path);
    unlink(rsa_path);
    if (keys == NULL) {
        fprintf(stderr, "keys: %s\n", err);
        abort();
    }
    cache = px_idcache_new(8, px_identity_jwt_verify, keys, 42);
    signed_cache = px_idcache_new(8, px_identity_jwt_verify, keys, 43);
    if (cache == NULL || signed_cache == NULL) {
        abort();
    }
}

static void
check_field(const char *s)
{
    if (memchr(s, '\0', PX_JWT_FIELD) == NULL) {
        abort();
    }
}

static void
check_claims(const struct px_jwt_claims *c)
{
    check_field(c->issuer);
    check_field(c->subject);
    check_field(c->ns);
    check_field(c->sa_name);
    check_field(c->sa_uid);
    check_field(c->pod_name);
    check_field(c->pod_uid);
    check_field(c->node_name);
    check_field(c->node_uid);
    check_field(c->secret_name);
    check_field(c->jti);
}

/* Resolves "Bearer <token>" (or the raw value) through cache <c>; a
 * verified identity is only allowed when <may_verify>. */
static void
resolve(struct px_idcache *c, const char *authz, size_t len, bool may_verify, int64_t now_s)
{
    static struct px_who who;
    enum px_auth a = px_identity_resolve(c, NULL, authz, len, (len & 1) != 0, now_s, &who);

    if (a == PX_AUTH_OK && who.id.cred == LIM_CRED_TOKEN) {
        if (!may_verify || strncmp(who.id.user, "system:serviceaccount:", 22) != 0) {
            fprintf(stderr, "verified as %s\n", who.id.user);
            abort();
        }
    }
    if (who.assert.user != NULL && strcmp(who.assert.user, "system:anonymous") != 0) {
        abort(); /* a token is never asserted: the apiserver checks it again */
    }
}

/* "HEADER\nPAYLOAD" signed ES256 with the real key. */
static void
signed_token(const char *in, size_t n)
{
    static char tok[3 * 4096];
    static char authz[3 * 4096 + 8];
    static struct px_jwt_claims claims;
    const char *nl = memchr(in, '\n', n);
    unsigned char sig[256];
    char err[256];
    size_t hl, pl, tl;
    int sl, rc;

    if (nl == NULL || n > 4096) {
        return;
    }
    hl = (size_t)(nl - in);
    pl = n - hl - 1;
    mint_b64url((const unsigned char *)in, hl, tok);
    tl = strlen(tok);
    tok[tl++] = '.';
    mint_b64url((const unsigned char *)nl + 1, pl, tok + tl);
    sl = mint_sign("ES256", ec_key, NULL, tok, sig);
    if (sl != 64) {
        abort();
    }
    tl = strlen(tok);
    tok[tl++] = '.';
    mint_b64url(sig, (size_t)sl, tok + tl);
    tl = strlen(tok);
    rc = px_jwt_verify(keys, tok, tl, NOW_S, &claims, err, sizeof(err));
    if (rc == PX_JWT_OK) {
        check_claims(&claims);
        if (claims.issuer[0] == '\0' || (claims.ns[0] == '\0') != (claims.sa_name[0] == '\0')) {
            abort();
        }
    } else if (rc > 0 || rc < PX_JWT_ECLAIMS || err[0] == '\0') {
        abort();
    }
    snprintf(authz, sizeof(authz), "Bearer %s", tok);
    resolve(signed_cache, authz, strlen(authz), true, NOW_S);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct px_jwt_claims claims;
    const char *in = (const char *)data + 1;
    size_t n = size > 0 ? size - 1 : 0;
    char err[256];
    int rc;

    if (size == 0) {
        return 0;
    }
    if (keys == NULL) {
        init();
    }
    err[0] = '\0';
    switch (data[0] & 3) {
    case 0:
        rc = px_jwt_verify(keys, in, n, NOW_S, &claims, err, sizeof(err));
        if (rc == PX_JWT_OK || rc < PX_JWT_ECLAIMS || err[0] == '\0') {
            abort(); /* a forgery, or an unnamed failure */
        }
        break;
    case 1:
        resolve(cache, in, n, false, NOW_S + (int64_t)(data[0] >> 2));
        break;
    case 2:
        rc = px_jwt_claims_parse(in, n, &claims, err, sizeof(err));
        if (rc == PX_JWT_OK) {
            check_claims(&claims);
        } else if (rc > 0 || rc < PX_JWT_ECLAIMS || err[0] == '\0') {
            abort();
        }
        break;
    default:
        signed_token(in, n);
        break;
    }
    return 0;
}
