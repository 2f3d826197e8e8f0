/* TLS contexts: see px_tls.h. */
#include "px_tls.h"

#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "px_err.h"

/* TLS 1.2 suites: forward-secret AEAD only (no CBC, no RSA key exchange). */
static const char px_tls12_ciphers[] = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
                                       "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
                                       "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

static const unsigned char px_alpn_h1[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};

void
px_tls_clear_errors(void)
{
    ERR_clear_error();
}

void
px_tls_errf(char *err, size_t errlen, const char *what)
{
    unsigned long e = ERR_peek_last_error();
    char reason[256];

    if (e != 0) {
        ERR_error_string_n(e, reason, sizeof(reason));
        px_errf(err, errlen, "%s: %s", what, reason);
    } else {
        px_errf(err, errlen, "%s: unknown TLS error", what);
    }
    ERR_clear_error();
}

void
px_tls_error_string(unsigned long e, char *err, size_t errlen, const char *what)
{
    char reason[256];

    ERR_error_string_n(e, reason, sizeof(reason));
    px_errf(err, errlen, "%s: %s", what, reason);
}

static int
alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen, const unsigned char *in,
            unsigned int inlen, void *arg)
{
    unsigned char *sel = NULL;

    (void)ssl;
    (void)arg;
    if (SSL_select_next_proto(&sel, outlen, px_alpn_h1, sizeof(px_alpn_h1), in, inlen) !=
        OPENSSL_NPN_NEGOTIATED) {
        /* Only h2 offered: proceed without ALPN rather than fail. */
        return SSL_TLSEXT_ERR_NOACK;
    }
    *out = sel;
    return SSL_TLSEXT_ERR_OK;
}

/* OPTIONAL mode: let the handshake finish whatever the client presents; the
 * verification result is read later (SSL_get_verify_result), as kube-apiserver
 * authenticates certificates after the handshake. */
static int
verify_accept(int ok, X509_STORE_CTX *ctx)
{
    (void)ok;
    (void)ctx;
    return 1;
}

static int
common_setup(SSL_CTX *ctx, int min_version, char *err, size_t errlen)
{
    if (SSL_CTX_set_min_proto_version(ctx, min_version != 0 ? min_version : TLS1_2_VERSION) != 1) {
        px_tls_errf(err, errlen, "set minimum TLS version");
        return -1;
    }
    if (SSL_CTX_set_cipher_list(ctx, px_tls12_ciphers) != 1) {
        px_tls_errf(err, errlen, "set TLS 1.2 ciphers");
        return -1;
    }
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
                                 SSL_OP_CIPHER_SERVER_PREFERENCE);
    /* Idle keep-alive and watch connections give back their 34 KiB of
     * record buffers between reads. */
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    return 0;
}

SSL_CTX *
px_tls_server_ctx(const struct px_tls_server_opts *o, char *err, size_t errlen)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

    if (ctx == NULL) {
        px_tls_errf(err, errlen, "SSL_CTX_new");
        return NULL;
    }
    if (common_setup(ctx, o->min_version, err, errlen) != 0) {
        goto fail;
    }
    if (SSL_CTX_use_certificate_chain_file(ctx, o->cert) != 1) {
        px_tls_errf(err, errlen, o->cert);
        goto fail;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, o->key, SSL_FILETYPE_PEM) != 1) {
        px_tls_errf(err, errlen, o->key);
        goto fail;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        px_tls_errf(err, errlen, "certificate and key do not match");
        goto fail;
    }
    SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
    SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"floodgate", 9);
    if (o->verify != PX_TLS_VERIFY_OFF) {
        STACK_OF(X509_NAME) * names;

        if (o->client_ca == NULL || o->client_ca[0] == '\0') {
            px_errf(err, errlen, "client certificate verification needs a client CA");
            goto fail;
        }
        if (SSL_CTX_load_verify_locations(ctx, o->client_ca, NULL) != 1) {
            px_tls_errf(err, errlen, o->client_ca);
            goto fail;
        }
        names = SSL_load_client_CA_file(o->client_ca);
        if (names == NULL) {
            px_tls_errf(err, errlen, o->client_ca);
            goto fail;
        }
        SSL_CTX_set_client_CA_list(ctx, names);
        /* kube-apiserver requires the clientAuth extended key usage. */
        SSL_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT);
        if (o->verify == PX_TLS_VERIFY_REQUIRED) {
            SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
        } else {
            SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, verify_accept);
        }
    }
    return ctx;

fail:
    SSL_CTX_free(ctx);
    return NULL;
}

SSL_CTX *
px_tls_client_ctx(const char *ca, const char *cert, const char *key, char *err, size_t errlen)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

    if (ctx == NULL) {
        px_tls_errf(err, errlen, "SSL_CTX_new");
        return NULL;
    }
    if (common_setup(ctx, TLS1_2_VERSION, err, errlen) != 0) {
        goto fail;
    }
    if (ca != NULL && ca[0] != '\0') {
        if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
            px_tls_errf(err, errlen, ca);
            goto fail;
        }
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    } else {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    }
    if (cert != NULL && cert[0] != '\0' && key != NULL && key[0] != '\0') {
        if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
            px_tls_errf(err, errlen, cert);
            goto fail;
        }
        if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
            px_tls_errf(err, errlen, key);
            goto fail;
        }
        if (SSL_CTX_check_private_key(ctx) != 1) {
            px_tls_errf(err, errlen, "client certificate and key do not match");
            goto fail;
        }
    }
    if (SSL_CTX_set_alpn_protos(ctx, px_alpn_h1, sizeof(px_alpn_h1)) != 0) {
        px_tls_errf(err, errlen, "set ALPN");
        goto fail;
    }
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT);
    return ctx;

fail:
    SSL_CTX_free(ctx);
    return NULL;
}

SSL *
px_tls_client_ssl(SSL_CTX *ctx, const char *host, char *err, size_t errlen)
{
    SSL *ssl = SSL_new(ctx);

    if (ssl == NULL) {
        px_tls_errf(err, errlen, "SSL_new");
        return NULL;
    }
    if (host != NULL && host[0] != '\0') {
        ASN1_OCTET_STRING *ip = a2i_IPADDRESS(host);

        if (ip != NULL) {
            /* SNI must not carry an IP address (RFC 6066 section 3). */
            ASN1_OCTET_STRING_free(ip);
            if (SSL_get_verify_mode(ssl) != SSL_VERIFY_NONE &&
                X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host) != 1) {
                px_tls_errf(err, errlen, "set expected peer IP");
                goto fail;
            }
        } else {
            if (SSL_set_tlsext_host_name(ssl, host) != 1) {
                px_tls_errf(err, errlen, "set SNI");
                goto fail;
            }
            /* Without this, any certificate from the CA would do: the
             * hostname check is what makes verification mean something. */
            if (SSL_get_verify_mode(ssl) != SSL_VERIFY_NONE && SSL_set1_host(ssl, host) != 1) {
                px_tls_errf(err, errlen, "set expected peer name");
                goto fail;
            }
        }
    }
    SSL_set_connect_state(ssl);
    return ssl;

fail:
    SSL_free(ssl);
    return NULL;
}

static int
copy_entry(X509_NAME_ENTRY *e, char *out, size_t outlen)
{
    ASN1_STRING *data = X509_NAME_ENTRY_get_data(e);
    unsigned char *utf8 = NULL;
    int n = ASN1_STRING_to_UTF8(&utf8, data);

    if (n < 0) {
        return -1;
    }
    if ((size_t)n >= outlen || memchr(utf8, '\0', (size_t)n) != NULL) {
        OPENSSL_free(utf8);
        return -1;
    }
    memcpy(out, utf8, (size_t)n);
    out[n] = '\0';
    OPENSSL_free(utf8);
    return 0;
}

int
px_tls_peer_subject(SSL *ssl, char *cn, size_t cnlen, char *orgs, size_t orglen, size_t maxorgs,
                    size_t *norgs)
{
    X509 *peer = SSL_get0_peer_certificate(ssl);
    X509_NAME *subj;
    int idx;

    *norgs = 0;
    if (peer == NULL || SSL_get_verify_result(ssl) != X509_V_OK) {
        return 0;
    }
    subj = X509_get_subject_name(peer);
    idx = X509_NAME_get_index_by_NID(subj, NID_commonName, -1);
    if (idx < 0) {
        return 0; /* kube-apiserver: an empty CN authenticates no one */
    }
    if (copy_entry(X509_NAME_get_entry(subj, idx), cn, cnlen) != 0) {
        return -1;
    }
    if (cn[0] == '\0') {
        return 0;
    }
    idx = -1;
    while ((idx = X509_NAME_get_index_by_NID(subj, NID_organizationName, idx)) >= 0) {
        if (*norgs == maxorgs ||
            copy_entry(X509_NAME_get_entry(subj, idx), orgs + *norgs * orglen, orglen) != 0) {
            return -1;
        }
        (*norgs)++;
    }
    return 1;
}
