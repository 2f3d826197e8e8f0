/* Credentials of a running floodgate: see px_creds.h. */
#include "px_creds.h"

#include <stdlib.h>

#include "cf.h"
#include "px_err.h"
#include "px_jwt.h"
#include "px_tls.h"

struct px_creds *
px_creds_new(const struct cf_config *cf, char *err, size_t errlen)
{
    static const enum px_tls_verify verify[] = {PX_TLS_VERIFY_OFF, PX_TLS_VERIFY_OPTIONAL,
                                                PX_TLS_VERIFY_REQUIRED};
    struct px_creds *c = calloc(1, sizeof(*c));
    struct px_tls_server_opts so = {0};

    if (c == NULL) {
        px_errf(err, errlen, "out of memory");
        return NULL;
    }
    atomic_init(&c->refs, 1);
    so.cert = cf->listen.cert;
    so.key = cf->listen.key;
    so.client_ca = cf->listen.client_ca;
    so.verify = verify[cf->listen.client_auth];
    so.min_version = cf->listen.tls_min_version;
    c->server_tls = px_tls_server_ctx(&so, err, errlen);
    if (c->server_tls == NULL) {
        goto fail;
    }
    c->upstream_tls = px_tls_client_ctx(cf->upstream.ca, cf->upstream.client_cert,
                                        cf->upstream.client_key, err, errlen);
    if (c->upstream_tls == NULL) {
        goto fail;
    }
    if (cf->auth.nkeys > 0) {
        c->jwt = px_jwt_keys_new((const char *const *)cf->auth.keys, cf->auth.nkeys,
                                 (const char *const *)cf->auth.issuers, cf->auth.nissuers,
                                 (const char *const *)cf->auth.audiences, cf->auth.naudiences, err,
                                 errlen);
        if (c->jwt == NULL) {
            goto fail;
        }
    }
    return c;

fail:
    px_creds_unref(c);
    return NULL;
}

struct px_creds *
px_creds_ref(struct px_creds *c)
{
    if (c != NULL) {
        atomic_fetch_add(&c->refs, 1);
    }
    return c;
}

void
px_creds_unref(struct px_creds *c)
{
    if (c == NULL || atomic_fetch_sub(&c->refs, 1) != 1) {
        return;
    }
    px_jwt_keys_free(c->jwt);
    SSL_CTX_free(c->server_tls);
    SSL_CTX_free(c->upstream_tls);
    free(c);
}
