/* Go's net/url rules for a request-target (url.ParseRequestURI, parseAuthority,
 * parseHost, unescape), so that floodgate refuses exactly the targets
 * kube-apiserver's Go HTTP server refuses and decodes the rest the same way.
 * See lim_url.h. */
#include "lim_url.h"

#include <stdio.h>
#include <string.h>

/* The encode modes of net/url's unescape that matter for validity. */
enum esc_mode { ESC_PLAIN = 0, ESC_HOST, ESC_ZONE };

static bool escapes_ok(const char *s, size_t n, enum esc_mode m, size_t *bad);
static bool authority_ok(const char *a, size_t n);

int
lim_url_split(const char *t, size_t len, bool is_connect, struct lim_url *u, char *err,
              size_t errlen)
{
    const char *rest = t, *q;
    size_t i, n = len, bad;
    bool scheme = false;

    u->path = "";
    u->path_len = 0;
    u->query = "";
    u->query_len = 0;
    if (len == 0) {
        snprintf(err, errlen, "request target: empty");
        return -1;
    }
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)t[i];

        if (c < 0x20 || c == 0x7f) {
            snprintf(err, errlen, "request target: control byte 0x%02x at offset %zu", c, i);
            return -1;
        }
    }
    if (len == 1 && t[0] == '*') {
        u->path = t;
        u->path_len = 1;
        return 0;
    }
    /* net/http turns "CONNECT host:port" into "http://host:port". */
    if (is_connect && t[0] != '/') {
        scheme = true;
    } else {
        /* getScheme: [A-Za-z][A-Za-z0-9+.-]* followed by ':'. */
        for (i = 0; i < len; i++) {
            char c = t[i];

            if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
                continue;
            }
            if (((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.') && i > 0) {
                continue;
            }
            if (c == ':') {
                if (i == 0) {
                    snprintf(err, errlen, "request target: missing protocol scheme");
                    return -1;
                }
                scheme = true;
                rest = t + i + 1;
                n = len - i - 1;
            }
            break;
        }
    }
    q = memchr(rest, '?', n);
    if (q != NULL) {
        u->query = q + 1;
        u->query_len = (size_t)(rest + n - q - 1);
        n = (size_t)(q - rest);
    }
    if (is_connect && scheme && t[0] != '/') {
        q = memchr(rest, '/', n);
        i = q != NULL ? (size_t)(q - rest) : n;
        if (!authority_ok(rest, i)) {
            snprintf(err, errlen, "request target: invalid authority");
            return -1;
        }
        rest += i;
        n -= i;
    } else if (n == 0 || rest[0] != '/') {
        if (scheme) {
            return 0; /* scheme:opaque has an empty URL.Path */
        }
        snprintf(err, errlen, "request target: neither an absolute path nor an absolute URI");
        return -1;
    } else if (scheme && n >= 2 && rest[1] == '/') {
        q = memchr(rest + 2, '/', n - 2);
        i = q != NULL ? (size_t)(q - rest - 2) : n - 2;
        if (!authority_ok(rest + 2, i)) {
            snprintf(err, errlen, "request target: invalid authority");
            return -1;
        }
        rest += i + 2;
        n -= i + 2;
    }
    if (!escapes_ok(rest, n, ESC_PLAIN, &bad)) {
        snprintf(err, errlen, "request target: invalid URL escape \"%.*s\" in path",
                 (int)(n - bad < 3 ? n - bad : 3), rest + bad);
        return -1;
    }
    u->path = rest;
    u->path_len = n;
    return 0;
}

bool
lim_url_escapes_valid(const char *s, size_t n)
{
    size_t bad;

    return escapes_ok(s, n, ESC_PLAIN, &bad);
}

static int
hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

size_t
lim_url_unescape(const char *s, size_t n, bool plus_is_space, char *dst)
{
    size_t i, o = 0;

    for (i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n) {
            dst[o++] = (char)(hexval(s[i + 1]) << 4 | hexval(s[i + 2]));
            i += 2;
        } else if (s[i] == '+' && plus_is_space) {
            dst[o++] = ' ';
        } else {
            dst[o++] = s[i];
        }
    }
    return o;
}

/* !shouldEscape(c, encodeHost): RFC 3986 unreserved and sub-delims, plus
 * the ':', '[', ']' of host:port and the '<', '>', '"' Go also keeps. */
static bool
host_byte_ok(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
        return true;
    }
    return c != 0 && strchr("!$&'()*+,;=:[]<>\"-_.~", c) != NULL;
}

/* url.unescape's checks: '%' needs two hex digits; a host may %-encode
 * only non-ASCII bytes (and %25), a zone only bytes a host could hold. */
static bool
escapes_ok(const char *s, size_t n, enum esc_mode m, size_t *bad)
{
    size_t i = 0;

    while (i < n) {
        unsigned char c = (unsigned char)s[i];

        *bad = i;
        if (c == '%') {
            bool pct25;
            int v;

            if (i + 2 >= n || hexval(s[i + 1]) < 0 || hexval(s[i + 2]) < 0) {
                return false;
            }
            pct25 = s[i + 1] == '2' && s[i + 2] == '5';
            v = hexval(s[i + 1]) << 4 | hexval(s[i + 2]);
            if (m == ESC_HOST && v < 0x80 && !pct25) {
                return false;
            }
            if (m == ESC_ZONE && !pct25 && v != ' ' &&
                (v >= 0x80 || !host_byte_ok((unsigned char)v))) {
                return false;
            }
            i += 3;
            continue;
        }
        if (m != ESC_PLAIN && c < 0x80 && !host_byte_ok(c)) {
            return false;
        }
        i++;
    }
    return true;
}

/* validOptionalPort: "" or ':' followed by digits. */
static bool
port_ok(const char *s, size_t n)
{
    size_t i;

    if (n == 0) {
        return true;
    }
    if (s[0] != ':') {
        return false;
    }
    for (i = 1; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
    }
    return true;
}

static const char *
last_byte(const char *s, size_t n, char c)
{
    while (n > 0) {
        if (s[--n] == c) {
            return s + n;
        }
    }
    return NULL;
}

/* parseHost: "[ipv6%25zone]:port" or "host:port". */
static bool
host_ok(const char *h, size_t n)
{
    const char *p;
    size_t bad, j, z;

    if (n > 0 && h[0] == '[') {
        p = last_byte(h, n, ']');
        if (p == NULL) {
            return false;
        }
        j = (size_t)(p - h);
        if (!port_ok(p + 1, n - j - 1)) {
            return false;
        }
        for (z = 0; z + 3 <= j; z++) {
            if (memcmp(h + z, "%25", 3) == 0) {
                return escapes_ok(h, z, ESC_HOST, &bad) &&
                       escapes_ok(h + z, j - z, ESC_ZONE, &bad) &&
                       escapes_ok(h + j, n - j, ESC_HOST, &bad);
            }
        }
    } else if ((p = last_byte(h, n, ':')) != NULL && !port_ok(p, n - (size_t)(p - h))) {
        return false;
    }
    return escapes_ok(h, n, ESC_HOST, &bad);
}

/* parseAuthority: [userinfo@]host, userinfo limited to validUserinfo's set. */
static bool
authority_ok(const char *a, size_t n)
{
    const char *at = last_byte(a, n, '@');
    size_t i, u, bad;

    if (at == NULL) {
        return host_ok(a, n);
    }
    u = (size_t)(at - a);
    if (!host_ok(at + 1, n - u - 1)) {
        return false;
    }
    for (i = 0; i < u; i++) {
        unsigned char c = (unsigned char)a[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) &&
            (c == 0 || strchr("-._:~!$&'()*+,;=%@", c) == NULL)) {
            return false;
        }
    }
    return escapes_ok(a, u, ESC_PLAIN, &bad);
}
