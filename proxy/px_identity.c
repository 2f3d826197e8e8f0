/* Request identity: see px_identity.h. */
#include "px_identity.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "cf.h"
#include "px_jwt.h"
#include "px_tls.h"

#define NIL UINT32_MAX

struct px_identry {
    uint8_t key[32]; /* SHA-256 of the token */
    int64_t exp;     /* wall-clock second after which the entry is void */
    uint32_t prev, next;
    uint32_t hnext;
    bool verified;
    char user[PX_TOKEN_USER_MAX];
    char node[PX_TOKEN_NODE_MAX];
};

struct px_idcache {
    uint32_t cap, n, mask;
    uint32_t mru, lru;
    uint32_t *buckets;
    struct px_identry *e;
    px_token_verify_fn verify;
    void *arg;
    uint64_t seed;
    uint64_t verifications;
};

struct px_idcache *
px_idcache_new(uint32_t capacity, px_token_verify_fn verify, void *arg, uint64_t seed)
{
    struct px_idcache *c = calloc(1, sizeof(*c));
    uint32_t nb = 1, i;

    if (c == NULL) {
        return NULL;
    }
    if (capacity == 0) {
        capacity = 1;
    }
    while (nb < capacity * 2 && nb < (1u << 30)) {
        nb <<= 1;
    }
    c->cap = capacity;
    c->mask = nb - 1;
    c->mru = c->lru = NIL;
    c->verify = verify;
    c->arg = arg;
    c->seed = seed;
    c->buckets = malloc(sizeof(*c->buckets) * nb);
    c->e = calloc(capacity, sizeof(*c->e));
    if (c->buckets == NULL || c->e == NULL) {
        goto fail;
    }
    for (i = 0; i < nb; i++) {
        c->buckets[i] = NIL;
    }
    return c;

fail:
    px_idcache_free(c);
    return NULL;
}

void
px_idcache_free(struct px_idcache *c)
{
    if (c == NULL) {
        return;
    }
    free(c->buckets);
    free(c->e);
    free(c);
}

void
px_idcache_set_verifier(struct px_idcache *c, px_token_verify_fn verify, void *arg)
{
    uint32_t i;

    c->verify = verify;
    c->arg = arg;
    c->n = 0;
    c->mru = c->lru = NIL;
    for (i = 0; i <= c->mask; i++) {
        c->buckets[i] = NIL;
    }
}

uint64_t
px_idcache_verifications(const struct px_idcache *c)
{
    return c->verifications;
}

static uint32_t
bucket(const struct px_idcache *c, const uint8_t key[32])
{
    uint64_t x;

    memcpy(&x, key, sizeof(x));
    /* The key is a SHA-256 the client chooses through its token: mix in a
     * secret so it cannot aim tokens at one bucket. */
    x ^= c->seed;
    x *= 0x9e3779b97f4a7c15ull;
    x ^= x >> 29;
    return (uint32_t)(x >> 32) & c->mask;
}

static void
lru_unlink(struct px_idcache *c, uint32_t i)
{
    struct px_identry *e = &c->e[i];

    if (e->prev != NIL) {
        c->e[e->prev].next = e->next;
    } else {
        c->mru = e->next;
    }
    if (e->next != NIL) {
        c->e[e->next].prev = e->prev;
    } else {
        c->lru = e->prev;
    }
}

static void
lru_push(struct px_idcache *c, uint32_t i)
{
    struct px_identry *e = &c->e[i];

    e->prev = NIL;
    e->next = c->mru;
    if (c->mru != NIL) {
        c->e[c->mru].prev = i;
    }
    c->mru = i;
    if (c->lru == NIL) {
        c->lru = i;
    }
}

static void
hash_remove(struct px_idcache *c, uint32_t i)
{
    uint32_t *p = &c->buckets[bucket(c, c->e[i].key)];

    while (*p != NIL) {
        if (*p == i) {
            *p = c->e[i].hnext;
            return;
        }
        p = &c->e[*p].hnext;
    }
}

static struct px_identry *
lookup(struct px_idcache *c, const uint8_t key[32])
{
    uint32_t i = c->buckets[bucket(c, key)];

    while (i != NIL) {
        if (memcmp(c->e[i].key, key, 32) == 0) {
            lru_unlink(c, i);
            lru_push(c, i);
            return &c->e[i];
        }
        i = c->e[i].hnext;
    }
    return NULL;
}

static struct px_identry *
insert(struct px_idcache *c, const uint8_t key[32])
{
    uint32_t i, b;

    if (c->n < c->cap) {
        i = c->n++;
    } else {
        i = c->lru; /* full: the least recently used goes */
        lru_unlink(c, i);
        hash_remove(c, i);
    }
    memcpy(c->e[i].key, key, 32);
    b = bucket(c, key);
    c->e[i].hnext = c->buckets[b];
    c->buckets[b] = i;
    lru_push(c, i);
    return &c->e[i];
}

/* The verified-or-not verdict on <token>, from the cache or the verifier. */
static struct px_identry *
token_entry(struct px_idcache *c, const char *token, size_t len, const uint8_t key[32],
            int64_t now_s)
{
    struct px_identry *e = lookup(c, key);
    struct px_token_claims claims;

    if (e != NULL && (e->exp == 0 || now_s < e->exp)) {
        return e;
    }
    if (e == NULL) {
        e = insert(c, key);
    }
    c->verifications++;
    if (c->verify != NULL && c->verify(c->arg, token, len, now_s, &claims) == 0) {
        e->verified = true;
        e->exp = claims.exp;
        memcpy(e->user, claims.user, sizeof(e->user));
        e->user[sizeof(e->user) - 1] = '\0';
        memcpy(e->node, claims.node, sizeof(e->node));
        e->node[sizeof(e->node) - 1] = '\0';
    } else {
        /* Remember the failure for a while: verifying a signature costs
         * tens of microseconds, and a client could send junk tokens. */
        e->verified = false;
        e->exp = now_s + PX_NEGATIVE_TTL_S;
        e->user[0] = e->node[0] = '\0';
    }
    return e;
}

static void
sha256(const void *data, size_t len, uint8_t out[32])
{
    unsigned int n = 32;

    EVP_Digest(data, len, out, &n, EVP_sha256(), NULL);
}

int
px_identity_from_cert(const char *cn, const char *const *orgs, size_t norgs, struct px_who *who)
{
    char err[128];
    unsigned i;
    size_t k;

    if (!px_headers_value_ok(cn)) {
        who->why = "client certificate common name cannot be asserted";
        return -1;
    }
    for (k = 0; k < norgs; k++) {
        if (!px_headers_value_ok(orgs[k])) {
            who->why = "client certificate organization cannot be asserted";
            return -1;
        }
    }
    if (lim_identity_set(&who->id, LIM_CRED_CERT, cn, orgs, norgs, NULL, err, sizeof(err)) != 0) {
        who->why = "client certificate subject too large";
        return -1;
    }
    who->assert.user = who->id.user;
    who->assert.ngroups = 0;
    for (i = 0; i < who->id.ngroups; i++) {
        /* kube-apiserver adds system:authenticated itself. */
        if (strcmp(who->id.groups[i], "system:authenticated") != 0) {
            who->groups[who->assert.ngroups++] = who->id.groups[i];
        }
    }
    who->assert.groups = who->groups;
    who->assert.nextras = 0;
    return 0;
}

static int
from_ssl(SSL *ssl, struct px_who *who)
{
    char cn[256], orgs[LIM_ID_MAX_GROUPS][128];
    const char *org_ptrs[LIM_ID_MAX_GROUPS];
    size_t norgs = 0, i;
    int rc = px_tls_peer_subject(ssl, cn, sizeof(cn), &orgs[0][0], sizeof(orgs[0]),
                                 LIM_ID_MAX_GROUPS, &norgs);
    X509 *peer;
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;

    if (rc == 0) {
        /* None, or one that does not verify: kube's x509 authenticator
         * would fail such a request, and so will the apiserver when
         * nothing is asserted for it. */
        who->bad_cert = SSL_get0_peer_certificate(ssl) != NULL;
        return 0;
    }
    if (rc < 0) {
        who->why = "client certificate subject too large";
        return -1;
    }
    for (i = 0; i < norgs; i++) {
        org_ptrs[i] = orgs[i];
    }
    if (px_identity_from_cert(cn, org_ptrs, norgs, who) != 0) {
        return -1;
    }
    /* kube's x509 authenticator (1.32+) adds the credential id extra. */
    peer = SSL_get0_peer_certificate(ssl);
    if (peer != NULL && X509_digest(peer, EVP_sha256(), md, &mdlen) == 1 && mdlen == 32) {
        static const char hex[] = "0123456789abcdef";
        char *p = who->credential_id;

        memcpy(p, "X509SHA256=", 11);
        p += 11;
        for (i = 0; i < mdlen; i++) {
            *p++ = hex[md[i] >> 4];
            *p++ = hex[md[i] & 15];
        }
        *p = '\0';
        who->assert.extras[0].key = "authentication.kubernetes.io/credential-id";
        who->assert.extras[0].value = who->credential_id;
        who->assert.nextras = 1;
    }
    return 1;
}

unsigned
px_identity_flags(const struct cf_auth *a)
{
    return (a->unverified == CF_UNVERIFIED_REJECT ? PX_AUTH_REJECT_UNVERIFIED : 0u) |
           (a->anonymous ? 0u : PX_AUTH_REJECT_ANONYMOUS);
}

enum px_auth
px_identity_resolve(struct px_idcache *c, SSL *ssl, const char *authz, size_t authz_len,
                    unsigned flags, int64_t now_s, struct px_who *who)
{
    uint8_t key[32];
    const char *token = authz;
    size_t tlen = authz_len;

    who->assert.user = NULL;
    who->assert.ngroups = 0;
    who->assert.nextras = 0;
    who->why = NULL;
    who->bad_cert = false;
    if (ssl != NULL) {
        int rc = from_ssl(ssl, who);

        if (rc < 0) {
            return PX_AUTH_UNAUTHORIZED;
        }
        if (rc > 0) {
            return PX_AUTH_OK;
        }
    }
    if (authz == NULL) {
        if ((flags & PX_AUTH_REJECT_ANONYMOUS) != 0) {
            who->why = "Unauthorized";
            return PX_AUTH_UNAUTHORIZED;
        }
        lim_identity_anonymous(&who->id);
        if (!who->bad_cert) {
            /* As kube-aggregator does for the users it proxies: the
             * apiserver would otherwise try the front-proxy certificate as
             * an x509 client and fail the request (union.NewFailOnError)
             * instead of serving it anonymously. */
            who->assert.user = who->id.user;
            who->groups[0] = "system:unauthenticated";
            who->assert.groups = who->groups;
            who->assert.ngroups = 1;
        }
        return PX_AUTH_OK;
    }
    /* kube's bearer authenticator: "Bearer" (any case), one space, the
     * token up to the next space. */
    if (authz_len > 7 && px_http_ieq(authz, 6, "bearer") && authz[6] == ' ') {
        const char *sp;

        token = authz + 7;
        sp = memchr(token, ' ', authz_len - 7);
        tlen = sp != NULL ? (size_t)(sp - token) : authz_len - 7;
        sha256(token, tlen, key);
        if (tlen > 0) {
            struct px_identry *e = token_entry(c, token, tlen, key, now_s);
            char err[128];

            if (e->verified && lim_identity_set(&who->id, LIM_CRED_TOKEN, e->user, NULL, 0, e->node,
                                                err, sizeof(err)) == 0) {
                return PX_AUTH_OK;
            }
        }
    } else {
        sha256(authz, authz_len, key);
    }
    if ((flags & PX_AUTH_REJECT_UNVERIFIED) != 0) {
        who->why = "Unauthorized";
        return PX_AUTH_UNAUTHORIZED;
    }
    lim_identity_unverified(&who->id, key);
    return PX_AUTH_OK;
}

int
px_identity_jwt_verify(void *keys, const char *token, size_t len, int64_t now_s,
                       struct px_token_claims *out)
{
    struct px_jwt_claims *c = malloc(sizeof(*c));
    char err[128];
    int rc = -1;

    if (c == NULL) {
        return -1;
    }
    if (px_jwt_verify(keys, token, len, now_s, c, err, sizeof(err)) == PX_JWT_OK &&
        c->ns[0] != '\0' && c->sa_name[0] != '\0') {
        /* serviceaccount.ServiceAccountInfo: the user name is built from the
         * namespace and name claims. */
        int n = snprintf(out->user, sizeof(out->user), "system:serviceaccount:%s:%s", c->ns,
                         c->sa_name);

        snprintf(out->node, sizeof(out->node), "%s", c->node_name);
        out->exp = c->exp_s;
        rc = n > 0 && (size_t)n < sizeof(out->user) ? 0 : -1;
    }
    free(c);
    return rc;
}
