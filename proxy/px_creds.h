/* The credentials a running floodgate serves and connects with: the
 * server TLS context (listen.cert/key/client_ca), the upstream context
 * (upstream.ca and the front-proxy certificate) and the service-account
 * keys. Built from a configuration in one piece, reference-counted, and
 * replaced as a whole on reload: a worker keeps the set it holds until it
 * takes the next one, so nothing is freed under a handshake. */
#ifndef PX_CREDS_H
#define PX_CREDS_H

#include <stdatomic.h>
#include <stddef.h>

#include <openssl/ssl.h>

struct cf_config;
struct px_jwt_keys;

struct px_creds {
    _Atomic unsigned refs;
    SSL_CTX *server_tls;
    SSL_CTX *upstream_tls;
    struct px_jwt_keys *jwt; /* NULL: no service-account keys configured */
};

/* Reads every certificate, key and CA file of <cf> now. One reference, or
 * NULL with <err> naming the file and what was wrong. */
struct px_creds *px_creds_new(const struct cf_config *cf, char *err, size_t errlen);
/* Atomic reference counting; px_creds_unref(NULL) is a no-op. */
struct px_creds *px_creds_ref(struct px_creds *c);
void px_creds_unref(struct px_creds *c);

#endif /* PX_CREDS_H */
