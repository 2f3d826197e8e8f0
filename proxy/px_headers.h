/* The heads floodgate forwards, rebuilt from what px_http parsed: hop-by-hop
 * fields removed in both directions (RFC 9110 7.6.1: Connection and the
 * fields it names, Keep-Alive, Proxy-Connection, TE, Trailer, Upgrade,
 * Transfer-Encoding), every client-supplied X-Remote-* removed, the
 * verified identity asserted for kube-apiserver's requestheader
 * authenticator (X-Remote-User, one X-Remote-Group per group,
 * X-Remote-Extra-<escaped key>), X-Forwarded-For appended. Pure. */
#ifndef PX_HEADERS_H
#define PX_HEADERS_H

#include <stdbool.h>
#include <stddef.h>

#include "px_http.h"

struct evbuffer;

#define PX_ASSERT_MAX_EXTRAS 4

struct px_assert_extra {
    const char *key; /* e.g. "authentication.kubernetes.io/credential-id" */
    const char *value;
};

/* An identity to assert upstream; user NULL asserts nothing (the apiserver
 * then authenticates the request's own credential, or none). */
struct px_assert {
    const char *user;
    const char *const *groups;
    size_t ngroups;
    struct px_assert_extra extras[PX_ASSERT_MAX_EXTRAS];
    size_t nextras;
};

/* Appends the request head for the apiserver: the request line of <h>,
 * its end-to-end fields, <a>'s assertion, "X-Forwarded-For: <prior>,
 * <client_ip>", "Transfer-Encoding: chunked" when the body is chunked,
 * "Connection: Upgrade" with the Upgrade field for an upgrade request.
 * Expect: 100-continue is answered by floodgate and not forwarded.
 * Returns 0, or -1 when out of memory. */
int px_headers_request(struct evbuffer *out, const struct px_http_head *h,
                       const struct px_assert *a, const char *client_ip);

/* Appends the response head for the client: the status line and the
 * end-to-end fields of <h>, "Transfer-Encoding: chunked" when chunked,
 * "Connection: Upgrade" for a 101, and "Connection: close" when <close>. */
int px_headers_response(struct evbuffer *out, const struct px_http_head *h, bool close);

/* The field name suffix that carries extra <key> so that kube's
 * requestheader authenticator (lower-case, then url.PathUnescape) reads
 * <key> back: every byte that is not a lower-case token character, and
 * '%', is percent-encoded. Returns 0, or -1 when <out> is too small. */
int px_headers_extra_name(const char *key, char *out, size_t outlen);

/* Whether <s> can be a field value that reads back unchanged: non-empty,
 * no control bytes, no leading or trailing whitespace. */
bool px_headers_value_ok(const char *s);

#endif /* PX_HEADERS_H */
