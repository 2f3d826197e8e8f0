/* Who is asking, as floodgate can prove it: the user and groups kube-apiserver
 * would authenticate, the kind of credential that proved it, and what the
 * name implies (the node a kubelet or a node-bound token belongs to, the
 * namespace and name of a service account). Plain data, copied in. */
#ifndef LIM_IDENTITY_H
#define LIM_IDENTITY_H

#include <stddef.h>
#include <stdint.h>

#define LIM_ID_MAX_GROUPS 16
#define LIM_ID_BUF        1024

enum lim_cred {
    LIM_CRED_ANONYMOUS = 0, /* no credential: system:anonymous */
    LIM_CRED_CERT,          /* client certificate verified against the client CA */
    LIM_CRED_TOKEN,         /* service-account JWT verified with a configured key */
    LIM_CRED_UNVERIFIED,    /* a credential floodgate cannot verify: keyed by its hash */
    LIM_CRED_COUNT
};

/* All string members are NUL-terminated, point into buf (or a static ""),
 * and are never NULL. */
struct lim_identity {
    enum lim_cred cred;
    const char *user;
    const char *groups[LIM_ID_MAX_GROUPS];
    unsigned ngroups;
    const char *node;         /* "" when not bound to a node */
    const char *sa_namespace; /* "" when not a service account */
    const char *sa_name;
    /* Cache of which policy rules' subjects match this identity, filled by
     * lim_decide for the policy generation in match_gen; callers leave them
     * alone (lim_identity_* reset them). */
    uint64_t match_gen;
    uint64_t match_mask;
    /* strlen(user) and strlen(node), filled by lim_identity_*; 0 also
     * means "not filled in" (the limiter then measures them). */
    size_t user_len;
    size_t node_len;
    /* Cache of a limiter's keyed hashes of user ([0]) and node ([1]) for
     * the hash key whose tag is key_tag, filled by lim_decide so that a
     * class keyed by user or node does not hash the name per request;
     * callers leave them alone (lim_identity_* reset them). */
    uint64_t key_tag;
    uint64_t key_hash[2][2];
    char buf[LIM_ID_BUF];
};

/* Builds an authenticated identity (<cred> is LIM_CRED_CERT or
 * LIM_CRED_TOKEN) from <user> and its <ngroups> <groups>, as kube-apiserver
 * would: every authenticated user also gets "system:authenticated"; a
 * LIM_CRED_TOKEN user "system:serviceaccount:NS:NAME" gets
 * "system:serviceaccounts" and "system:serviceaccounts:NS" and its sa_*
 * fields; a user "system:node:NAME" gets node = NAME. <node_claim> (a bound
 * token's kubernetes.io node name), when not NULL or "", sets node.
 * Groups beyond LIM_ID_MAX_GROUPS or strings beyond the buffer are an error
 * (-1 with <err>): an identity is never silently truncated. */
int lim_identity_set(struct lim_identity *id, enum lim_cred cred, const char *user,
                     const char *const *groups, size_t ngroups, const char *node_claim, char *err,
                     size_t errlen) __attribute__((warn_unused_result));

/* system:anonymous in system:unauthenticated. */
void lim_identity_anonymous(struct lim_identity *id);

/* An unverifiable credential, keyed by the SHA-256 <digest> of its bytes:
 * user "floodgate:unverified:<first 16 bytes in hex>", group
 * "system:unauthenticated" (floodgate cannot prove anything more). */
void lim_identity_unverified(struct lim_identity *id, const uint8_t digest[32]);

/* "anonymous", "certificate", "token", "unverified". */
const char *lim_cred_name(enum lim_cred c);

#endif /* LIM_IDENTITY_H */
