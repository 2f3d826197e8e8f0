/* Go's net/url as kube-apiserver's HTTP server applies it to a request-target
 * (url.ParseRequestURI, URL.Path decoding): the part of lim_request that
 * decides what the path and raw query are, and which targets Go refuses
 * with 400 before any handler runs. Private to the limiter. */
#ifndef LIM_URL_H
#define LIM_URL_H

#include <stdbool.h>
#include <stddef.h>

/* Raw (still percent-encoded) path and query of a request-target. */
struct lim_url {
    const char *path;
    size_t path_len;
    const char *query;
    size_t query_len;
};

/* Splits <target> like net/http's readRequest + url.ParseRequestURI:
 * origin-form, "*", absolute-form (any scheme; the path is used, an opaque
 * or empty path gives ""), and the authority-form of CONNECT. Rejects what
 * Go rejects: empty target, control bytes (< 0x20, 0x7f, so NUL), a
 * relative target, a malformed authority and a bad %-escape in the path.
 * Returns 0, or -1 with <err> set. */
int lim_url_split(const char *target, size_t len, bool is_connect, struct lim_url *u, char *err,
                  size_t errlen);

/* Whether every '%' in <s> starts a two-hex-digit escape (url.unescape). */
bool lim_url_escapes_valid(const char *s, size_t n);

/* Decodes <s> (escapes already valid) into <dst>, which has room for <n>
 * bytes; '+' becomes ' ' only when <plus_is_space> (query components, not
 * paths). Returns the decoded length. */
size_t lim_url_unescape(const char *s, size_t n, bool plus_is_space, char *dst);

#endif /* LIM_URL_H */
