/* Who each member is. A credential is what a connection presents: a client
 * certificate (minted at start-up from a CA key: CN and O from the
 * population's templates, a fresh ECDSA P-256 key each, so 5,000 node
 * identities take well under a second) or loaded from files, and/or an
 * Authorization header (a service-account JWT signed in-process, a static
 * bearer token, or what a kubeconfig holds). A population whose identity
 * does not vary by member shares one credential. Start-up only. */
#ifndef BN_LOAD_IDENT_H
#define BN_LOAD_IDENT_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

struct bn_scn;
struct bn_scn_pop;

struct bn_cred {
    X509 *cert; /* NULL: no client certificate */
    EVP_PKEY *key;
    STACK_OF(X509) * chain; /* intermediates sent after cert, or NULL */
    char *auth;             /* "Authorization: Bearer ...\r\n", or NULL */
};

void bn_cred_fini(struct bn_cred *c);

/* Loads a PEM certificate chain (leaf first) and its private key, checked
 * to belong together. */
int bn_cred_load_pem(const char *cert_pem, size_t cert_len, const char *key_pem, size_t key_len,
                     struct bn_cred *out, char *err, size_t errlen);
int bn_cred_load_files(const char *cert, const char *key, struct bn_cred *out, char *err,
                       size_t errlen);
/* Sets the bearer token <token> (no CR, LF). */
int bn_cred_set_bearer(struct bn_cred *c, const char *token, char *err, size_t errlen);

/* A CA that signs client certificates. */
struct bn_minter;

struct bn_minter *bn_minter_new(const char *ca_cert, const char *ca_key, char *err, size_t errlen);
void bn_minter_free(struct bn_minter *m);
/* A new P-256 key and a certificate for CN=<cn>, O=<orgs>..., extended key
 * usage clientAuth (what kube-apiserver's x509 authenticator demands),
 * valid from an hour before <now_s> (clock skew) to <valid_s> after it. */
int bn_minter_issue(struct bn_minter *m, const char *cn, const char *const *orgs, size_t norgs,
                    int64_t now_s, uint64_t valid_s, struct bn_cred *out, char *err, size_t errlen);

/* The credentials of one population: one shared, or one per member. */
struct bn_creds {
    struct bn_cred *v;
    size_t n; /* 1 (shared) or the population's count */
};

/* Builds the credentials of <pop> of <s>, at wall-clock second <now_s>,
 * tokens valid until at least the end of the run. */
int bn_creds_build(const struct bn_scn *s, const struct bn_scn_pop *pop, int64_t now_s,
                   struct bn_creds *out, char *err, size_t errlen);
const struct bn_cred *bn_creds_get(const struct bn_creds *c, uint32_t i);
void bn_creds_fini(struct bn_creds *c);

#endif /* BN_LOAD_IDENT_H */
