/* Service-account JWT verification as kube-apiserver does it
 * (pkg/serviceaccount/jwt.go, claims.go, legacy.go): compact JWS signed
 * RS256 or ES256 with one of the --service-account-key-file keys, bound
 * tokens (iss among the configured issuers, aud, exp/nbf/iat with go-jose's
 * 60 s leeway, the "kubernetes.io" private claim) and legacy Secret tokens
 * (iss "kubernetes/serviceaccount", flat claims, no expiry). Used by
 * floodgate and by floodgate-apisim. No I/O after px_jwt_keys_new. */
#ifndef PX_JWT_H
#define PX_JWT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PX_JWT_MAX_TOKEN     16384 /* bytes of a compact token, larger is malformed */
#define PX_JWT_FIELD         256   /* bytes of each claim copied out, NUL included */
#define PX_JWT_MAX_KEYS      32
#define PX_JWT_MAX_ISSUER    16
#define PX_JWT_LEEWAY_S      60 /* go-jose jwt.DefaultLeeway */
#define PX_JWT_LEGACY_ISSUER "kubernetes/serviceaccount"

enum px_jwt_error {
    PX_JWT_OK = 0,
    PX_JWT_ENOTJWT = -1,    /* not three base64url segments with a JSON payload */
    PX_JWT_EMALFORMED = -2, /* JOSE header or claims unreadable, or too large */
    PX_JWT_EALG = -3,       /* alg other than RS256/ES256 (none, HS256, ...) */
    PX_JWT_ESIG = -4,       /* no configured key of that kid/type verifies it */
    PX_JWT_EEXPIRED = -5,
    PX_JWT_ENOTYET = -6, /* nbf or iat in the future beyond the leeway */
    PX_JWT_EISSUER = -7,
    PX_JWT_EAUDIENCE = -8,
    PX_JWT_ECLAIMS = -9, /* service-account claims missing, inconsistent or too long */
};

/* What a verified token says. Strings are NUL-terminated, "" when absent. */
struct px_jwt_claims {
    bool legacy; /* a Secret-based token (iss kubernetes/serviceaccount) */
    char issuer[PX_JWT_FIELD];
    char subject[PX_JWT_FIELD];
    char ns[PX_JWT_FIELD];
    char sa_name[PX_JWT_FIELD];
    char sa_uid[PX_JWT_FIELD];
    char pod_name[PX_JWT_FIELD];
    char pod_uid[PX_JWT_FIELD];
    char node_name[PX_JWT_FIELD];
    char node_uid[PX_JWT_FIELD];
    char secret_name[PX_JWT_FIELD];
    char jti[PX_JWT_FIELD];
    int64_t exp_s; /* 0 when absent */
    int64_t nbf_s;
    int64_t iat_s;
};

struct px_jwt_keys;

/* Loads the public keys of <npaths> PEM files <paths> (public keys, RSA or
 * EC private keys, or certificates; several blocks per file allowed), to
 * accept tokens from <issuers> (bound tokens) and from the legacy issuer,
 * for the API audiences <audiences> (none: no audience check; kube-apiserver
 * defaults --api-audiences to its issuers, callers decide). RSA keys verify
 * RS256, P-256 keys ES256; other key types are an error. NULL with <err> on
 * failure. */
struct px_jwt_keys *px_jwt_keys_new(const char *const *paths, size_t npaths,
                                    const char *const *issuers, size_t nissuers,
                                    const char *const *audiences, size_t naudiences, char *err,
                                    size_t errlen);
void px_jwt_keys_free(struct px_jwt_keys *k);
size_t px_jwt_keys_count(const struct px_jwt_keys *k);

/* Verifies the compact JWS <token> (<len> bytes, no "Bearer ") at wall-clock
 * second <now_s>. Returns PX_JWT_OK with <out> filled, or a negative enum
 * px_jwt_error with a sentence in <err> (and <out> unspecified). Every
 * failure is final: kube-apiserver answers 401 to all of them. */
int px_jwt_verify(const struct px_jwt_keys *k, const char *token, size_t len, int64_t now_s,
                  struct px_jwt_claims *out, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Reads the JSON payload <json> (<len> bytes) of a service-account token
 * exactly as px_jwt_verify reads a verified one (legacy when iss is the
 * legacy issuer, else the bound shape with its "kubernetes.io" claim, the
 * same required claims), without a signature, an issuer list, an audience
 * or a clock: for `floodgate explain --token-claims`. Returns PX_JWT_OK
 * with <out> filled, or a negative enum px_jwt_error with <err>. */
int px_jwt_claims_parse(const char *json, size_t len, struct px_jwt_claims *out, char *err,
                        size_t errlen) __attribute__((warn_unused_result));

/* "not a JWT", "malformed", ... for metrics and logs. */
const char *px_jwt_error_name(int e);

#endif /* PX_JWT_H */
