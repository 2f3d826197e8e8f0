/* Explain: what floodgate would do with one request from one identity, found
 * through the proxy's own code (lim_request_parse, the lim_identity the proxy
 * builds, lim_explain), never a second implementation. Rendered as one JSON
 * object (keys documented in conf/README.md, "floodgate explain --json") or
 * as a short block of text. Used offline by `floodgate explain` and live by
 * the admin endpoint /debug/explain, which passes the running limiter. */
#ifndef PX_EXPLAIN_H
#define PX_EXPLAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "cf.h"
#include "lim.h"
#include "px_jwt.h"

/* One explanation. Plain data: reusable from one request to the next
 * without allocating (the --stdin loop keeps one). The pointers are
 * borrowed from the arguments of px_explain_run and must outlive the
 * rendering. */
struct px_explain {
    const struct cf_config *cf;
    const struct lim_identity *id;
    const char *target; /* as given */
    bool live;          /* the state is the running limiter's */
    bool mode_override; /* the operator changed the class's mode (live only) */
    enum lim_mode mode; /* the class's effective mode */
    const struct lim_class_params *cls;
    struct lim_request req;
    struct lim_decision dec;
    struct lim_trace tr;
};

/* Explains <method> <target> from <id> under <cf>'s policy at monotonic
 * <now_ns>, into <x>. <l> is NULL (a fresh limiter: full buckets, nothing in
 * flight, nothing learned) or a limiter <cf>->policy is bound to: the
 * running one (<live> true: its buckets, counters, operator overrides and
 * learned sizes), or a fresh one holding learned sizes only (<live> false).
 * Returns 0, or -1 with <err> holding kube's message when the target does
 * not parse. Commits nothing. */
int px_explain_run(struct px_explain *x, struct lim *l, bool live, const struct cf_config *cf,
                   struct lim_identity *id, const char *method, const char *target, uint64_t now_ns,
                   char *err, size_t errlen) __attribute__((warn_unused_result));

/* The JSON object of <x> (a new reference; NULL when out of memory). */
json_t *px_explain_to_json(const struct px_explain *x);

/* The text block of <x> into <buf> (NUL-terminated, truncated to <len>);
 * returns the length it needed, like snprintf. */
size_t px_explain_format(const struct px_explain *x, char *buf, size_t len);

/* px_explain_run and px_explain_to_json in one call, for the admin
 * endpoint: NULL with <err> when the target does not parse (or memory runs
 * out). */
json_t *px_explain_json(struct lim *l, bool live, const struct cf_config *cf,
                        struct lim_identity *id, const char *method, const char *target,
                        uint64_t now_ns, char *err, size_t errlen);

/* Who to explain for, as the command line or the admin endpoint's query
 * gives it. Strings are borrowed. */
enum px_explain_cred {
    PX_EXPLAIN_ANONYMOUS = 0, /* no credential */
    PX_EXPLAIN_CERT,          /* a verified client certificate: user, groups */
    PX_EXPLAIN_CLAIMS,        /* a verified service-account token: its payload */
    PX_EXPLAIN_UNVERIFIED,    /* a bearer token floodgate cannot verify */
};

struct px_explain_who {
    enum px_explain_cred kind;
    const char *user; /* CERT: the certificate's CN */
    const char *const *groups;
    size_t ngroups;     /* CERT: its O */
    const char *claims; /* CLAIMS: the payload's JSON text */
    size_t claims_len;
    const char *token; /* UNVERIFIED: the token, without "Bearer " */
};

/* Fills <id> with the identity the proxy would see for <w> under <cf>:
 * a certificate's CN and O; a token's claims read by px_jwt_claims_parse
 * and mapped by px_identity_from_claims (refused when <cf> verifies no
 * token, or when iss is set and not in auth.issuers: the proxy would then
 * see an unverified credential); an unverifiable token keyed by its
 * SHA-256; or anonymous. 0, or -1 with <err>. */
int px_explain_identity(struct lim_identity *id, const struct px_explain_who *w,
                        const struct cf_config *cf, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* The identity of an audit event's user: <user> and the comma-separated
 * <groups> (split in place; NULL or "" for none), with the credential that
 * carries such a name: system:anonymous none, system:serviceaccount:NS:NAME
 * a service-account token (with no node: the audit event does not say),
 * anything else a client certificate. 0, or -1 with <err>. */
int px_explain_identity_audit(struct lim_identity *id, char *user, char *groups, char *err,
                              size_t errlen) __attribute__((warn_unused_result));

/* The identity of a verified service-account token with claims <c>, as
 * kube-apiserver's serviceaccount.ServiceAccountInfo makes it: user
 * "system:serviceaccount:NS:NAME", the service-account groups, and the node
 * of a bound token's kubernetes.io node claim. The mapping the proxy uses
 * for a token px_jwt_verify accepted. 0, or -1 with <err>. */
int px_identity_from_claims(struct lim_identity *id, const struct px_jwt_claims *c, char *err,
                            size_t errlen) __attribute__((warn_unused_result));

/* "cache", "etcd", "consistent", or "none" (not a read): where
 * kube-apiserver serves <r> from (k8s.io/apiserver pkg/storage/cacher
 * delegator.go); <why>, when not NULL, receives the rule that decided. */
const char *px_explain_read_from(const struct lim_request *r, const char **why);

#endif /* PX_EXPLAIN_H */
