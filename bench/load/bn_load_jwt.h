/* Bound service-account tokens, signed in-process with the cluster's
 * service-account key, shaped as kube-apiserver's TokenRequest makes them
 * (pkg/serviceaccount/claims.go and jwt.go): JOSE header {"alg","kid"} with
 * kid = base64url(SHA-256(SubjectPublicKeyInfo)), claims aud (an array),
 * exp, iat, iss, jti, nbf, sub = system:serviceaccount:NS:NAME and the
 * private "kubernetes.io" claim {namespace, serviceaccount, pod, node}
 * with names and UIDs; keys sorted as Go marshals a map. RS256 for RSA
 * keys, ES256 for P-256 keys. */
#ifndef BN_LOAD_JWT_H
#define BN_LOAD_JWT_H

#include <stddef.h>
#include <stdint.h>

struct bn_jwt_signer;

struct bn_jwt_claims {
    const char *issuer;
    const char *audience;
    const char *ns;             /* the service account's namespace */
    const char *serviceaccount; /* its name */
    const char *pod;            /* bound pod, or NULL */
    const char *node;           /* bound node (or the pod's node), or NULL */
    int64_t iat_s;              /* issued at; nbf is the same */
    uint64_t expiration_s;      /* exp = iat + this */
    const char *jti;            /* NULL: a random UUID, as kube makes */
};

/* Loads the private key <path> (RSA or EC P-256, PEM). */
struct bn_jwt_signer *bn_jwt_signer_new(const char *path, char *err, size_t errlen);
void bn_jwt_signer_free(struct bn_jwt_signer *s);
const char *bn_jwt_signer_alg(const struct bn_jwt_signer *s);

/* The claims as JSON (compact, sorted), new string: the payload signed. */
char *bn_jwt_claims_json(const struct bn_jwt_claims *c, char *err, size_t errlen);
/* A signed compact JWS, new string, or NULL with <err>. */
char *bn_jwt_sign(const struct bn_jwt_signer *s, const struct bn_jwt_claims *c, char *err,
                  size_t errlen);

/* A stable UUID for object <kind>/<ns>/<name> (SHA-256 based, version 5
 * layout): the same member gets the same UIDs run after run. */
void bn_jwt_uid(const char *kind, const char *ns, const char *name, char out[37]);

#endif /* BN_LOAD_JWT_H */
