/* Forwarded heads: see px_headers.h. */
#include "px_headers.h"

#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>

static bool
ieq_n(const char *a, const char *b, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];

        if (x >= 'A' && x <= 'Z') {
            x = (unsigned char)(x + 32);
        }
        if (y >= 'A' && y <= 'Z') {
            y = (unsigned char)(y + 32);
        }
        if (x != y) {
            return false;
        }
    }
    return true;
}

/* Whether field <f> is named by a Connection option of <h> (RFC 9110
 * 7.6.1: those fields are hop-by-hop). */
static bool
nominated(const struct px_http_head *h, const struct px_http_field *f)
{
    const char *name = h->buf + f->name_off;
    unsigned i;

    for (i = 0; i < h->nfields; i++) {
        const struct px_http_field *c = &h->fields[i];
        const char *v = h->buf + c->value_off;
        size_t j = 0, n = c->value_len;

        if (c->kind != PX_H_CONNECTION) {
            continue;
        }
        while (j < n) {
            size_t start, end;

            while (j < n && (v[j] == ' ' || v[j] == '\t' || v[j] == ',')) {
                j++;
            }
            start = j;
            while (j < n && v[j] != ',') {
                j++;
            }
            end = j;
            while (end > start && (v[end - 1] == ' ' || v[end - 1] == '\t')) {
                end--;
            }
            if (end - start == f->name_len && ieq_n(v + start, name, f->name_len)) {
                return true;
            }
        }
    }
    return false;
}

/* Whether <f> crosses the proxy. <upgrade>: an upgrade is being
 * forwarded, so Upgrade stays. */
static bool
end_to_end(const struct px_http_head *h, const struct px_http_field *f, bool upgrade)
{
    switch ((enum px_hdr)f->kind) {
    case PX_H_CONNECTION:
    case PX_H_KEEP_ALIVE:
    case PX_H_PROXY_CONNECTION:
    case PX_H_TE:
    case PX_H_TRAILER:
    case PX_H_TRANSFER_ENCODING: /* re-added when chunked: the body is re-framed */
    case PX_H_PROXY_AUTHENTICATE:
    case PX_H_PROXY_AUTHORIZATION:
    case PX_H_X_REMOTE:
    case PX_H_X_FORWARDED_FOR: /* rewritten */
        return false;
    case PX_H_UPGRADE:
        return upgrade;
    case PX_H_EXPECT:
        return !h->expect_continue;
    case PX_H_HOST:
    case PX_H_CONTENT_LENGTH:
    case PX_H_AUTHORIZATION:
        /* Framing and the credential the decision was made on: a
         * Connection option cannot remove them. */
        return true;
    default:
        return !nominated(h, f);
    }
}

static int
add_field(struct evbuffer *out, const struct px_http_head *h, const struct px_http_field *f)
{
    if (evbuffer_add(out, h->buf + f->name_off, f->name_len) != 0 ||
        evbuffer_add(out, ": ", 2) != 0 ||
        evbuffer_add(out, h->buf + f->value_off, f->value_len) != 0 ||
        evbuffer_add(out, "\r\n", 2) != 0) {
        return -1;
    }
    return 0;
}

bool
px_headers_value_ok(const char *s)
{
    size_t n = strlen(s), i;

    if (n == 0 || s[0] == ' ' || s[0] == '\t' || s[n - 1] == ' ' || s[n - 1] == '\t') {
        return false;
    }
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c < 0x20 || c == 0x7f) {
            return false;
        }
    }
    return true;
}

int
px_headers_extra_name(const char *key, char *out, size_t outlen)
{
    static const char hex[] = "0123456789abcdef";
    size_t n = 0;

    for (; *key != '\0'; key++) {
        unsigned char c = (unsigned char)*key;
        bool plain = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                     (c != '\0' && strchr("!#$&'*+-.^_`|~", c) != NULL);

        if (plain) {
            if (n + 1 >= outlen) {
                return -1;
            }
            out[n++] = (char)c;
        } else {
            if (n + 3 >= outlen) {
                return -1;
            }
            out[n++] = '%';
            out[n++] = hex[c >> 4];
            out[n++] = hex[c & 15];
        }
    }
    if (n >= outlen || n == 0) {
        return -1;
    }
    out[n] = '\0';
    return 0;
}

static int
add_assertion(struct evbuffer *out, const struct px_assert *a)
{
    size_t i;

    if (a == NULL || a->user == NULL) {
        return 0;
    }
    if (evbuffer_add_printf(out, "X-Remote-User: %s\r\n", a->user) < 0) {
        return -1;
    }
    for (i = 0; i < a->ngroups; i++) {
        /* One field per group: requestheader reads every value of every
         * group header and does not split on commas. */
        if (evbuffer_add_printf(out, "X-Remote-Group: %s\r\n", a->groups[i]) < 0) {
            return -1;
        }
    }
    for (i = 0; i < a->nextras; i++) {
        char name[256];

        if (px_headers_extra_name(a->extras[i].key, name, sizeof(name)) != 0 ||
            evbuffer_add_printf(out, "X-Remote-Extra-%s: %s\r\n", name, a->extras[i].value) < 0) {
            return -1;
        }
    }
    return 0;
}

static int
add_forwarded_for(struct evbuffer *out, const struct px_http_head *h, const char *client_ip)
{
    unsigned i;

    if (evbuffer_add(out, "X-Forwarded-For: ", 17) != 0) {
        return -1;
    }
    for (i = 0; i < h->nfields; i++) {
        const struct px_http_field *f = &h->fields[i];

        if (f->kind == PX_H_X_FORWARDED_FOR && f->value_len > 0) {
            /* Prior hops, joined as Go's ReverseProxy does. */
            if (evbuffer_add(out, h->buf + f->value_off, f->value_len) != 0 ||
                evbuffer_add(out, ", ", 2) != 0) {
                return -1;
            }
        }
    }
    return evbuffer_add_printf(out, "%s\r\n", client_ip) < 0 ? -1 : 0;
}

int
px_headers_request(struct evbuffer *out, const struct px_http_head *h, const struct px_assert *a,
                   const char *client_ip)
{
    unsigned i;

    if (evbuffer_add(out, h->buf + h->method_off, h->method_len) != 0 ||
        evbuffer_add(out, " ", 1) != 0 ||
        evbuffer_add(out, h->buf + h->target_off, h->target_len) != 0 ||
        evbuffer_add_printf(out, " HTTP/1.%u\r\n", (unsigned)h->http_minor) < 0) {
        return -1;
    }
    for (i = 0; i < h->nfields; i++) {
        if (end_to_end(h, &h->fields[i], h->is_upgrade) && add_field(out, h, &h->fields[i]) != 0) {
            return -1;
        }
    }
    if (add_assertion(out, a) != 0 || add_forwarded_for(out, h, client_ip) != 0) {
        return -1;
    }
    if (h->chunked && evbuffer_add(out, "Transfer-Encoding: chunked\r\n", 28) != 0) {
        return -1;
    }
    if (h->is_upgrade && evbuffer_add(out, "Connection: Upgrade\r\n", 21) != 0) {
        return -1;
    }
    return evbuffer_add(out, "\r\n", 2);
}

int
px_headers_response(struct evbuffer *out, const struct px_http_head *h, bool close)
{
    unsigned i;

    if (evbuffer_add_printf(out, "HTTP/1.1 %d ", h->status) < 0 ||
        evbuffer_add(out, h->buf + h->reason_off, h->reason_len) != 0 ||
        evbuffer_add(out, "\r\n", 2) != 0) {
        return -1;
    }
    for (i = 0; i < h->nfields; i++) {
        const struct px_http_field *f = &h->fields[i];

        /* A response's X-Remote-* and X-Forwarded-For are not ours to
         * touch; only hop-by-hop fields stop here. */
        if (f->kind == PX_H_X_REMOTE || f->kind == PX_H_X_FORWARDED_FOR) {
            if (add_field(out, h, f) != 0) {
                return -1;
            }
            continue;
        }
        if (end_to_end(h, f, h->is_upgrade) && add_field(out, h, f) != 0) {
            return -1;
        }
    }
    if (h->chunked && evbuffer_add(out, "Transfer-Encoding: chunked\r\n", 28) != 0) {
        return -1;
    }
    if (h->is_upgrade) {
        if (evbuffer_add(out, "Connection: Upgrade\r\n", 21) != 0) {
            return -1;
        }
    } else if (close && evbuffer_add(out, "Connection: close\r\n", 19) != 0) {
        return -1;
    }
    return evbuffer_add(out, "\r\n", 2);
}
