/* Who is asking, as floodgate can prove it (kube-apiserver's authenticator
 * order: x509 before bearer tokens): a client certificate verified against
 * the client CA -> user CN, groups O, asserted upstream; a bearer token that
 * is a service-account JWT verified with a configured key -> its service
 * account and bound node (verified tokens are cached per worker, keyed by
 * SHA-256 of the token, until they expire); any other credential ->
 * unverified, keyed by SHA-256 of its bytes; nothing -> anonymous (asserted
 * upstream as system:anonymous, as kube-aggregator does). */
#ifndef PX_IDENTITY_H
#define PX_IDENTITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "lim_identity.h"
#include "px_headers.h"

#define PX_TOKEN_USER_MAX 544 /* "system:serviceaccount:" + namespace + ":" + name */
#define PX_TOKEN_NODE_MAX 256
#define PX_NEGATIVE_TTL_S 60 /* a token that failed verification is not retried sooner */

/* What a verified service-account token says. */
struct px_token_claims {
    char user[PX_TOKEN_USER_MAX]; /* "system:serviceaccount:NS:NAME" */
    char node[PX_TOKEN_NODE_MAX]; /* the node it is bound to, "" when none */
    int64_t exp;                  /* expiry, wall-clock seconds; 0 = none */
};

/* Verifies <token> (<len> bytes) at wall-clock <now_s>: 0 with <out>
 * filled when it is a service-account JWT signed by a configured key and
 * valid now, else -1. */
typedef int (*px_token_verify_fn)(void *arg, const char *token, size_t len, int64_t now_s,
                                  struct px_token_claims *out);

struct px_idcache;

/* A cache of at most <capacity> tokens (least recently used evicted),
 * verifying misses with <verify> (NULL: no keys, every token unverified).
 * <seed> keys its hash. NULL when out of memory. */
struct px_idcache *px_idcache_new(uint32_t capacity, px_token_verify_fn verify, void *arg,
                                  uint64_t seed);
void px_idcache_free(struct px_idcache *c);
/* Verifies with <verify>/<arg> from now on (a reload changed the
 * service-account keys) and forgets every verdict cached so far. */
void px_idcache_set_verifier(struct px_idcache *c, px_token_verify_fn verify, void *arg);
/* Verifications done (cache misses), for tests and stats. */
uint64_t px_idcache_verifications(const struct px_idcache *c);

enum px_auth {
    PX_AUTH_OK = 0,       /* <who> filled */
    PX_AUTH_UNAUTHORIZED, /* answer 401 (reason in <who>->why) */
};

/* The outcome for one request. */
struct px_who {
    struct lim_identity id;
    struct px_assert assert; /* user NULL: assert nothing */
    const char *groups[LIM_ID_MAX_GROUPS];
    char credential_id[80]; /* "X509SHA256=<hex>" */
    const char *why;        /* for 401 */
    bool bad_cert;          /* a client certificate that did not verify */
};

/* How px_identity_resolve treats what it cannot prove. */
enum {
    /* auth.unverified "reject": a credential that cannot be verified gets
     * 401, as kube-apiserver answers a bad token. */
    PX_AUTH_REJECT_UNVERIFIED = 1u << 0,
    /* auth.anonymous false (kube's --anonymous-auth=false): a request
     * without credentials gets 401 instead of being asserted upstream as
     * system:anonymous, which the apiserver would otherwise serve. */
    PX_AUTH_REJECT_ANONYMOUS = 1u << 1,
};

/* Resolves the identity of a request on <ssl> (NULL: none) carrying
 * Authorization value <authz> (<authz_len> bytes, NULL when absent), under
 * <flags> (PX_AUTH_REJECT_*). */
enum px_auth px_identity_resolve(struct px_idcache *c, SSL *ssl, const char *authz,
                                 size_t authz_len, unsigned flags, int64_t now_s,
                                 struct px_who *who);

/* The PX_AUTH_REJECT_* flags of <cf>'s auth section. */
struct cf_auth;
unsigned px_identity_flags(const struct cf_auth *a);

/* The identity of a verified client certificate with subject <cn> and
 * organisations <orgs>: fills <who> (identity and assertion). 0, or -1
 * with who->why when it cannot be asserted faithfully. */
int px_identity_from_cert(const char *cn, const char *const *orgs, size_t norgs,
                          struct px_who *who);

/* A px_token_verify_fn over px_jwt: <keys> is a struct px_jwt_keys. */
int px_identity_jwt_verify(void *keys, const char *token, size_t len, int64_t now_s,
                           struct px_token_claims *out);

#endif /* PX_IDENTITY_H */
