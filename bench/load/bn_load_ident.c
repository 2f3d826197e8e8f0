/* Credentials: see bn_load_ident.h. */
#include "bn_load_ident.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "bn_load_jwt.h"
#include "bn_load_kubeconfig.h"
#include "bn_load_scenario.h"
#include "bn_load_tmpl.h"
#include "px_err.h"
#include "px_tls.h"

#define SKEW_S 3600 /* certificates start an hour early: clocks disagree */

struct bn_minter {
    X509 *ca;
    EVP_PKEY *key;
};

void
bn_cred_fini(struct bn_cred *c)
{
    if (c == NULL) {
        return;
    }
    X509_free(c->cert);
    EVP_PKEY_free(c->key);
    sk_X509_pop_free(c->chain, X509_free);
    free(c->auth);
    memset(c, 0, sizeof(*c));
}

int
bn_cred_load_pem(const char *cert_pem, size_t cert_len, const char *key_pem, size_t key_len,
                 struct bn_cred *out, char *err, size_t errlen)
{
    BIO *b = BIO_new_mem_buf(cert_pem, (int)cert_len);
    X509 *x;

    if (b == NULL || (out->cert = PEM_read_bio_X509(b, NULL, NULL, NULL)) == NULL) {
        BIO_free(b);
        px_tls_errf(err, errlen, "client certificate");
        return -1;
    }
    while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
        if ((out->chain == NULL && (out->chain = sk_X509_new_null()) == NULL) ||
            sk_X509_push(out->chain, x) == 0) {
            X509_free(x);
            BIO_free(b);
            px_errf(err, errlen, "out of memory");
            return -1;
        }
    }
    px_tls_clear_errors(); /* the end of the chain reads as an error */
    BIO_free(b);
    b = BIO_new_mem_buf(key_pem, (int)key_len);
    out->key = b != NULL ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    if (out->key == NULL) {
        px_tls_errf(err, errlen, "client key");
        return -1;
    }
    if (X509_check_private_key(out->cert, out->key) != 1) {
        px_tls_clear_errors();
        px_errf(err, errlen, "client certificate and key do not match");
        return -1;
    }
    return 0;
}

static char *
slurp(const char *path, size_t max, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    char *buf;

    if (f == NULL) {
        px_errf(err, errlen, "%s: cannot open", path);
        return NULL;
    }
    buf = malloc(max + 1);
    *len = buf != NULL ? fread(buf, 1, max + 1, f) : 0;
    fclose(f);
    if (buf == NULL || *len > max) {
        px_errf(err, errlen, "%s: %s", path, buf == NULL ? "out of memory" : "too large");
        free(buf);
        return NULL;
    }
    buf[*len] = '\0';
    return buf;
}

int
bn_cred_load_files(const char *cert, const char *key, struct bn_cred *out, char *err, size_t errlen)
{
    size_t cl, kl;
    char *c = slurp(cert, 1u << 20, &cl, err, errlen), *k = NULL, why[PX_ERRLEN];
    int rc = -1;

    if (c != NULL && (k = slurp(key, 1u << 20, &kl, err, errlen)) != NULL) {
        rc = bn_cred_load_pem(c, cl, k, kl, out, why, sizeof(why));
        if (rc != 0) {
            px_errf(err, errlen, "%s, %s: %s", cert, key, why);
        }
    }
    if (k != NULL) {
        OPENSSL_cleanse(k, kl);
    }
    free(c);
    free(k);
    return rc;
}

int
bn_cred_set_bearer(struct bn_cred *c, const char *token, char *err, size_t errlen)
{
    size_t n = strlen(token) + sizeof("Authorization: Bearer \r\n");

    if (token[0] == '\0' || strpbrk(token, "\r\n") != NULL) {
        px_errf(err, errlen, "a bearer token must be one non-empty line");
        return -1;
    }
    free(c->auth);
    if ((c->auth = malloc(n)) == NULL) {
        px_errf(err, errlen, "out of memory");
        return -1;
    }
    snprintf(c->auth, n, "Authorization: Bearer %s\r\n", token);
    return 0;
}

/* --- minting ----------------------------------------------------------- */

struct bn_minter *
bn_minter_new(const char *ca_cert, const char *ca_key, char *err, size_t errlen)
{
    struct bn_minter *m = calloc(1, sizeof(*m));
    struct bn_cred c = {0};

    if (m == NULL) {
        px_errf(err, errlen, "out of memory");
        return NULL;
    }
    if (bn_cred_load_files(ca_cert, ca_key, &c, err, errlen) != 0) {
        bn_cred_fini(&c);
        free(m);
        return NULL;
    }
    m->ca = c.cert;
    m->key = c.key;
    c.cert = NULL;
    c.key = NULL;
    bn_cred_fini(&c);
    return m;
}

void
bn_minter_free(struct bn_minter *m)
{
    if (m == NULL) {
        return;
    }
    X509_free(m->ca);
    EVP_PKEY_free(m->key);
    free(m);
}

static int
add_ext(X509 *x, X509 *ca, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509_EXTENSION *e;
    int ok;

    X509V3_set_ctx(&ctx, ca, x, NULL, NULL, 0);
    e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (e == NULL) {
        return -1;
    }
    ok = X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
    return ok == 1 ? 0 : -1;
}

static int
random_serial(X509 *x)
{
    BIGNUM *bn = BN_new();
    int ok = bn != NULL && BN_rand(bn, 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) == 1 &&
             BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;

    BN_free(bn);
    return ok ? 0 : -1;
}

int
bn_minter_issue(struct bn_minter *m, const char *cn, const char *const *orgs, size_t norgs,
                int64_t now_s, uint64_t valid_s, struct bn_cred *out, char *err, size_t errlen)
{
    X509 *x = X509_new();
    X509_NAME *name = x != NULL ? X509_get_subject_name(x) : NULL;
    EVP_PKEY *key = EVP_EC_gen("P-256");
    time_t now = (time_t)now_s;
    size_t i;

    if (x == NULL || key == NULL || X509_set_version(x, 2) != 1 || random_serial(x) != 0 ||
        X509_time_adj_ex(X509_getm_notBefore(x), 0, -SKEW_S, &now) == NULL ||
        X509_time_adj_ex(X509_getm_notAfter(x), 0, (long)valid_s, &now) == NULL ||
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1,
                                   0) != 1) {
        goto fail;
    }
    /* kube-apiserver: user = CN, groups = every O. */
    for (i = 0; i < norgs; i++) {
        if (X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, (const unsigned char *)orgs[i], -1,
                                       -1, 0) != 1) {
            goto fail;
        }
    }
    if (X509_set_issuer_name(x, X509_get_subject_name(m->ca)) != 1 ||
        X509_set_pubkey(x, key) != 1 ||
        add_ext(x, m->ca, NID_basic_constraints, "critical,CA:FALSE") != 0 ||
        add_ext(x, m->ca, NID_key_usage, "critical,digitalSignature") != 0 ||
        add_ext(x, m->ca, NID_ext_key_usage, "clientAuth") != 0 ||
        /* Helps chain building; a CA without a key identifier has none to give. */
        (X509_get0_subject_key_id(m->ca) != NULL &&
         add_ext(x, m->ca, NID_authority_key_identifier, "keyid") != 0) ||
        X509_sign(x, m->key, EVP_sha256()) <= 0) {
        goto fail;
    }
    out->cert = x;
    out->key = key;
    return 0;

fail:
    px_tls_errf(err, errlen, "minting a client certificate");
    X509_free(x);
    EVP_PKEY_free(key);
    return -1;
}

/* --- a population's credentials ---------------------------------------- */

struct builder {
    const struct bn_scn *s;
    const struct bn_scn_pop *pop;
    int64_t now_s;
    struct bn_minter *minter;
    struct bn_jwt_signer *signer;
    struct bn_kubeconfig kc;
};

static bool
varies(const struct bn_scn_identity *id)
{
    const char *fields[] = {id->user, id->ns, id->serviceaccount, id->node, id->pod, id->token};
    size_t i;

    for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        if (fields[i] != NULL && bn_tmpl_uses_index(fields[i])) {
            return true;
        }
    }
    for (i = 0; i < id->ngroups; i++) {
        if (bn_tmpl_uses_index(id->groups[i])) {
            return true;
        }
    }
    return false;
}

/* Expands <src> for member <i> into <out> (BN_TMPL_MAX bytes); NULL stays
 * NULL. The scenario reader already proved every template expands. */
static const char *
expand(const struct builder *b, const char *src, uint32_t i, char *out)
{
    struct bn_tmpl_vars v = {.i = i, .pop = b->pop->name};

    if (src == NULL || bn_tmpl_expand(src, &v, out, BN_TMPL_MAX, NULL, 0) < 0) {
        return NULL;
    }
    return out;
}

static int
build_cert(struct builder *b, uint32_t i, struct bn_cred *c, char *err, size_t errlen)
{
    const struct bn_scn_identity *id = &b->pop->id;
    char cn[BN_TMPL_MAX], *orgs[BN_SCN_MAX_GROUPS] = {0};
    size_t g;
    int rc = -1;

    if (id->cert != NULL) {
        return bn_cred_load_files(id->cert, id->key, c, err, errlen);
    }
    for (g = 0; g < id->ngroups; g++) {
        if ((orgs[g] = malloc(BN_TMPL_MAX)) == NULL) {
            px_errf(err, errlen, "out of memory");
            goto out;
        }
        expand(b, id->groups[g], i, orgs[g]);
    }
    /* Valid for the run and a day: minted certificates are throwaway. */
    rc = bn_minter_issue(b->minter, expand(b, id->user, i, cn), (const char *const *)orgs,
                         id->ngroups, b->now_s, b->s->duration_ns / 1000000000u + 86400, c, err,
                         errlen);
out:
    for (g = 0; g < id->ngroups; g++) {
        free(orgs[g]);
    }
    return rc;
}

static int
build_token(struct builder *b, uint32_t i, struct bn_cred *c, char *err, size_t errlen)
{
    const struct bn_scn_identity *id = &b->pop->id;
    char ns[BN_TMPL_MAX], sa[BN_TMPL_MAX], node[BN_TMPL_MAX], pod[BN_TMPL_MAX];
    struct bn_jwt_claims cl = {0};
    uint64_t exp = id->expiration_ns / 1000000000u, run = b->s->duration_ns / 1000000000u;
    char *tok;
    int rc;

    cl.issuer = id->issuer;
    cl.audience = id->audience;
    cl.ns = expand(b, id->ns, i, ns);
    cl.serviceaccount = expand(b, id->serviceaccount, i, sa);
    cl.node = expand(b, id->node, i, node);
    cl.pod = expand(b, id->pod, i, pod);
    cl.iat_s = b->now_s;
    /* A token that expires mid-run would measure our clock, not the server. */
    cl.expiration_s = exp > run + 600 ? exp : run + 600;
    if ((tok = bn_jwt_sign(b->signer, &cl, err, errlen)) == NULL) {
        return -1;
    }
    rc = bn_cred_set_bearer(c, tok, err, errlen);
    free(tok);
    return rc;
}

static int
build_kubeconfig(struct builder *b, struct bn_cred *c, char *err, size_t errlen)
{
    const struct bn_kubeconfig *k = &b->kc;
    int rc = 0;

    if (k->cert_data != NULL && k->key_data != NULL) {
        rc = bn_cred_load_pem(k->cert_data, k->cert_len, k->key_data, k->key_len, c, err, errlen);
    } else if (k->cert_file != NULL && k->key_file != NULL) {
        rc = bn_cred_load_files(k->cert_file, k->key_file, c, err, errlen);
    } else if (k->cert_data != NULL || k->cert_file != NULL || k->key_data != NULL ||
               k->key_file != NULL) {
        px_errf(err, errlen,
                "%s: client-certificate and client-key must both be data or both "
                "be files",
                b->pop->id.path);
        rc = -1;
    }
    if (rc == 0 && k->token != NULL) {
        rc = bn_cred_set_bearer(c, k->token, err, errlen);
    }
    return rc;
}

static int
build_one(struct builder *b, uint32_t i, struct bn_cred *c, char *err, size_t errlen)
{
    char tok[BN_TMPL_MAX];

    switch (b->pop->id.kind) {
    case BN_ID_CERT:
        return build_cert(b, i, c, err, errlen);
    case BN_ID_TOKEN:
        return build_token(b, i, c, err, errlen);
    case BN_ID_BEARER:
        return bn_cred_set_bearer(c, expand(b, b->pop->id.token, i, tok), err, errlen);
    case BN_ID_KUBECONFIG:
        return build_kubeconfig(b, c, err, errlen);
    case BN_ID_NONE:
    default:
        return 0;
    }
}

int
bn_creds_build(const struct bn_scn *s, const struct bn_scn_pop *pop, int64_t now_s,
               struct bn_creds *out, char *err, size_t errlen)
{
    struct builder b = {.s = s, .pop = pop, .now_s = now_s};
    const struct bn_scn_identity *id = &pop->id;
    char why[PX_ERRLEN];
    uint32_t i;
    int rc = -1;

    out->n = varies(id) ? pop->count : 1;
    out->v = calloc(out->n, sizeof(*out->v));
    if (out->v == NULL) {
        px_errf(err, errlen, "population %s: out of memory", pop->name);
        out->n = 0;
        return -1;
    }
    if (id->kind == BN_ID_CERT && id->cert == NULL &&
        (b.minter = bn_minter_new(s->ca_cert, s->ca_key, why, sizeof(why))) == NULL) {
        goto fail;
    }
    if (id->kind == BN_ID_TOKEN &&
        (b.signer = bn_jwt_signer_new(s->sa_key, why, sizeof(why))) == NULL) {
        goto fail;
    }
    if (id->kind == BN_ID_KUBECONFIG &&
        bn_kubeconfig_load(id->path, &b.kc, why, sizeof(why)) != 0) {
        goto fail;
    }
    for (i = 0; i < out->n; i++) {
        if (build_one(&b, i, &out->v[i], why, sizeof(why)) != 0) {
            goto fail;
        }
    }
    rc = 0;
fail:
    if (rc != 0) {
        px_errf(err, errlen, "population %s: identity: %s", pop->name, why);
        bn_creds_fini(out);
    }
    bn_minter_free(b.minter);
    bn_jwt_signer_free(b.signer);
    bn_kubeconfig_fini(&b.kc);
    return rc;
}

const struct bn_cred *
bn_creds_get(const struct bn_creds *c, uint32_t i)
{
    return c->n == 1 ? &c->v[0] : &c->v[i];
}

void
bn_creds_fini(struct bn_creds *c)
{
    size_t i;

    for (i = 0; i < c->n; i++) {
        bn_cred_fini(&c->v[i]);
    }
    free(c->v);
    c->v = NULL;
    c->n = 0;
}
