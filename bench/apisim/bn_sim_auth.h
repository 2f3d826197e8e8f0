/* Authentication as kube-apiserver does it (pkg/kubeapiserver/authenticator/
 * config.go): a union tried in order, first success wins, errors collected —
 * requestheader (front proxy) → x509 client certificate → service-account
 * bearer token — then system:authenticated added, and anonymous only when
 * no authenticator saw a credential at all (union.NewFailOnError). The
 * peer certificate is verified once per connection against each CA
 * separately; requests then only look at headers. No I/O after _new. */
#ifndef BN_SIM_AUTH_H
#define BN_SIM_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#define BN_SIM_USER_MAX_GROUPS 32
#define BN_SIM_USER_MAX_EXTRA  32 /* key/value pairs, a key repeated per value */
#define BN_SIM_USER_BUF        4096
#define BN_SIM_CERT_FIELD      256
#define BN_SIM_CERT_MAX_ORGS   16
#define BN_SIM_AUTH_MAX_NAMES  16

enum bn_sim_authn {
    BN_SIM_AUTHN_NONE = 0, /* not authenticated: 401 */
    BN_SIM_AUTHN_REQUESTHEADER,
    BN_SIM_AUTHN_X509,
    BN_SIM_AUTHN_TOKEN,
    BN_SIM_AUTHN_ANONYMOUS,
};

struct bn_sim_extra {
    const char *key;
    const char *value;
};

/* Who a request was served as. Strings point into buf. */
struct bn_sim_user {
    enum bn_sim_authn method;
    const char *name;
    const char *uid; /* "" when none */
    const char *groups[BN_SIM_USER_MAX_GROUPS];
    size_t ngroups;
    struct bn_sim_extra extra[BN_SIM_USER_MAX_EXTRA];
    size_t nextra;
    char err[256]; /* why authentication failed (logged, never sent) */
    size_t used;
    char buf[BN_SIM_USER_BUF];
};

/* What the connection's client certificate proves, computed once. */
struct bn_sim_peer {
    bool presented;     /* the client sent a certificate */
    bool x509_ok;       /* verifies against --client-ca-file for clientAuth */
    bool frontproxy_ok; /* verifies against the requestheader CA and its CN is allowed */
    char cn[BN_SIM_CERT_FIELD];
    char orgs[BN_SIM_CERT_MAX_ORGS][BN_SIM_CERT_FIELD];
    size_t norgs;
    char fingerprint[65]; /* hex SHA-256 of the leaf DER */
    char x509_err[128];
    char frontproxy_err[128];
};

/* A request header as received: not NUL-terminated. */
struct bn_sim_header {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
};

struct px_jwt_keys;

struct bn_sim_auth_opts {
    const char *client_ca;            /* --client-ca-file, NULL/"" = no x509 authentication */
    const char *requestheader_ca;     /* --requestheader-client-ca-file, NULL/"" = off */
    const char *const *allowed_names; /* --requestheader-allowed-names, none = any CN */
    size_t nallowed;
    const char *username_header; /* "X-Remote-User" when NULL */
    const char *group_header;    /* "X-Remote-Group" when NULL */
    const char *extra_prefix;    /* "X-Remote-Extra-" when NULL */
    struct px_jwt_keys *jwt;     /* borrowed; NULL = no token authentication */
    bool anonymous;              /* --anonymous-auth (kube default true) */
};

struct bn_sim_auth;

struct bn_sim_auth *bn_sim_auth_new(const struct bn_sim_auth_opts *o, char *err, size_t errlen);
void bn_sim_auth_free(struct bn_sim_auth *a);

/* Verifies <leaf> (NULL: no certificate) with the untrusted intermediates
 * <chain> (may be NULL) against both CAs, filling <out>. */
void bn_sim_auth_peer(const struct bn_sim_auth *a, X509 *leaf, STACK_OF(X509) * chain,
                      struct bn_sim_peer *out);

/* Authenticates one request from its connection's <peer> and its <n>
 * <headers> at wall-clock second <now_s>. Returns 0 with <u> filled, or -1
 * (401) with u->method BN_SIM_AUTHN_NONE and u->err set. */
int bn_sim_auth_request(const struct bn_sim_auth *a, const struct bn_sim_peer *peer,
                        const struct bn_sim_header *headers, size_t n, int64_t now_s,
                        struct bn_sim_user *u);

/* "requestheader", "x509", "token", "anonymous", "" */
const char *bn_sim_authn_name(enum bn_sim_authn m);

#endif /* BN_SIM_AUTH_H */
