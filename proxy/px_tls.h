/* OpenSSL contexts for both sides and the one place that reads OpenSSL's
 * error queue. Used by floodgate and by the bench tools (the simulator serves
 * with px_tls_server_ctx, the load generator connects with
 * px_tls_client_ctx). */
#ifndef PX_TLS_H
#define PX_TLS_H

#include <stddef.h>

#include <openssl/ssl.h>

enum px_tls_verify {
    PX_TLS_VERIFY_OFF = 0,  /* no client certificate requested */
    PX_TLS_VERIFY_OPTIONAL, /* requested; the handshake succeeds without or
                               with an unverifiable one (kube-apiserver's
                               RequestClientCert), px_tls_peer_subject says */
    PX_TLS_VERIFY_REQUIRED, /* a certificate verifying against client_ca */
};

struct px_tls_server_opts {
    const char *cert;      /* PEM chain */
    const char *key;       /* PEM key (RSA or ECDSA) */
    const char *client_ca; /* PEM bundle, NULL/"" when verify is off */
    enum px_tls_verify verify;
    int min_version; /* TLS1_2_VERSION (default when 0) or TLS1_3_VERSION */
};

/* A server context: TLS >= min_version, strong ciphers only, ALPN
 * "http/1.1" (clients offering h2 too fall back, as client-go does), session
 * cache and tickets for resumption, client certificates checked for the
 * clientAuth purpose. NULL with <err> on failure. */
SSL_CTX *px_tls_server_ctx(const struct px_tls_server_opts *o, char *err, size_t errlen);

/* A client context verifying peers against <ca> (hostname checked per
 * connection with px_tls_client_ssl), presenting <cert>/<key> when both are
 * given, offering ALPN "http/1.1". <ca> NULL or "" disables verification
 * (the load generator's --insecure only). */
SSL_CTX *px_tls_client_ctx(const char *ca, const char *cert, const char *key, char *err,
                           size_t errlen);

/* A client SSL for <ctx> that sends SNI <host> and checks the peer
 * certificate's name (DNS or IP) against it, unless verification is off. */
SSL *px_tls_client_ssl(SSL_CTX *ctx, const char *host, char *err, size_t errlen);

/* The verified peer's subject: CN into <cn>, each O into <orgs> (at most
 * <maxorgs> of <orglen> bytes each). Returns 1 when the peer presented a
 * certificate that verified, 0 when it presented none or one that did not
 * verify (then nothing is filled), -1 when a field does not fit. */
int px_tls_peer_subject(SSL *ssl, char *cn, size_t cnlen, char *orgs, size_t orglen, size_t maxorgs,
                        size_t *norgs);

/* Formats "<what>: <first queued OpenSSL reason>" into <err> and clears the
 * thread's error queue, so one connection's error never shows on another. */
void px_tls_errf(char *err, size_t errlen, const char *what);

/* Formats "<what>: <reason of OpenSSL error code e>" into <err>, for
 * errors OpenSSL reported through another queue (libevent's
 * bufferevent_get_openssl_error). */
void px_tls_error_string(unsigned long e, char *err, size_t errlen, const char *what);

/* Clears the thread's OpenSSL error queue (before SSL_free, after a failed
 * handshake). */
void px_tls_clear_errors(void);

#endif /* PX_TLS_H */
