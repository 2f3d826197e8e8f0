/* The watch wire, as a reflector sees it: event lines (type,
 * metadata.resourceVersion, an ERROR's code), the resourceVersion at the
 * head of a LIST body, and the LIST and watch targets it sends. Pure string
 * work: see bn_load_event.h. */
#include "bn_load_event.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PARAMS 32

static const char *
find(const char *s, size_t len, const char *needle, size_t nl)
{
    size_t i;

    for (i = 0; nl <= len && i <= len - nl; i++) {
        if (s[i] == needle[0] && memcmp(s + i, needle, nl) == 0) {
            return s + i;
        }
    }
    return NULL;
}

/* The string value after "<key>": (optional blanks) '"', up to the next '"'. */
static bool
string_after(const char *s, size_t len, const char *key, char *out, size_t outlen)
{
    size_t kl = strlen(key), i, o = 0;
    const char *end = s + len, *p = s;

    while ((p = find(p, (size_t)(end - p), key, kl)) != NULL) {
        const char *q = p + kl;

        p += kl;
        while (q < end && (*q == ' ' || *q == ':')) {
            q++;
        }
        if (q >= end || *q != '"') {
            continue;
        }
        for (i = 1; q + i < end && q[i] != '"' && o + 1 < outlen; i++) {
            out[o++] = q[i];
        }
        out[o] = '\0';
        return q + i < end && q[i] == '"';
    }
    return false;
}

void
bn_wev_parse(const char *line, size_t len, struct bn_wev *ev)
{
    static const struct {
        const char *name;
        enum bn_wev_type type;
    } types[] = {{"ADDED", BN_WEV_ADDED},
                 {"MODIFIED", BN_WEV_MODIFIED},
                 {"DELETED", BN_WEV_DELETED},
                 {"BOOKMARK", BN_WEV_BOOKMARK},
                 {"ERROR", BN_WEV_ERROR}};
    char type[16];
    size_t i;

    memset(ev, 0, sizeof(*ev));
    if (string_after(line, len, "\"type\"", type, sizeof(type))) {
        for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
            if (strcmp(type, types[i].name) == 0) {
                ev->type = types[i].type;
            }
        }
    }
    if (!string_after(line, len, "\"resourceVersion\"", ev->rv, sizeof(ev->rv))) {
        ev->rv[0] = '\0';
    }
    if (ev->type == BN_WEV_ERROR) {
        const char *p = find(line, len, "\"code\":", 7);

        if (p != NULL) {
            p += 7;
            while (p < line + len && *p == ' ') {
                p++;
            }
            while (p < line + len && *p >= '0' && *p <= '9' && ev->code < 100000) {
                ev->code = ev->code * 10 + (*p++ - '0');
            }
        }
    }
}

int
bn_list_rv(const char *body, size_t len, char *rv, size_t rvlen)
{
    return string_after(body, len, "\"resourceVersion\"", rv, rvlen) ? 0 : -1;
}

static bool
reflector_owns(const char *kv)
{
    static const char *const owned[] = {
        "watch",          "resourceVersion",  "resourceVersionMatch", "allowWatchBookmarks",
        "timeoutSeconds", "sendInitialEvents"};
    size_t i, kl = strcspn(kv, "=");

    for (i = 0; i < sizeof(owned) / sizeof(owned[0]); i++) {
        if (strlen(owned[i]) == kl && strncmp(kv, owned[i], kl) == 0) {
            return true;
        }
    }
    return false;
}

static int
cmp_param(const void *a, const void *b)
{
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    size_t xl = strcspn(x, "="), yl = strcspn(y, "="), n = xl < yl ? xl : yl;
    int c = strncmp(x, y, n);

    return c != 0 ? c : (xl > yl) - (xl < yl);
}

/* <path> without its watch markers, plus <extra> parameters, sorted. */
static int
build_target(const char *path, const char *const *extra, size_t nextra, char *out, size_t outlen)
{
    char base[BN_WATCH_TARGET_MAX], query[BN_WATCH_TARGET_MAX], *params[MAX_PARAMS + 8];
    const char *q = strchr(path, '?'), *seg;
    size_t blen = q != NULL ? (size_t)(q - path) : strlen(path), n = 0, i, o;
    char *save = NULL, *tok;

    if (blen >= sizeof(base) || (q != NULL && strlen(q + 1) >= sizeof(query))) {
        return -1;
    }
    memcpy(base, path, blen);
    base[blen] = '\0';
    snprintf(query, sizeof(query), "%s", q != NULL ? q + 1 : "");
    /* The legacy /api/v1/watch/pods form is the same watch as ?watch=true. */
    seg = strncmp(base, "/api/v1/watch/", 14) == 0 ? base + 7 : NULL;
    if (seg == NULL && strncmp(base, "/apis/", 6) == 0) {
        const char *v = strchr(base + 6, '/');

        v = v != NULL ? strchr(v + 1, '/') : NULL;
        seg = v != NULL && strncmp(v, "/watch/", 7) == 0 ? v : NULL;
    }
    if (seg != NULL) {
        memmove((char *)seg, seg + 6, strlen(seg + 6) + 1);
    }
    for (tok = strtok_r(query, "&", &save); tok != NULL; tok = strtok_r(NULL, "&", &save)) {
        if (*tok != '\0' && !reflector_owns(tok)) {
            if (n == MAX_PARAMS) {
                return -1;
            }
            params[n++] = tok;
        }
    }
    for (i = 0; i < nextra; i++) {
        params[n++] = (char *)extra[i];
    }
    qsort(params, n, sizeof(params[0]), cmp_param);
    o = (size_t)snprintf(out, outlen, "%s", base);
    for (i = 0; i < n && o < outlen; i++) {
        o += (size_t)snprintf(out + o, outlen - o, "%c%s", i == 0 ? '?' : '&', params[i]);
    }
    return o < outlen ? (int)o : -1;
}

int
bn_watch_list_target(const char *path, const char *rv, char *out, size_t outlen)
{
    char p[BN_RV_MAX + 32];
    const char *extra[1] = {p};

    if (rv != NULL && rv[0] != '\0') {
        snprintf(p, sizeof(p), "resourceVersion=%s", rv);
    }
    return build_target(path, extra, rv != NULL && rv[0] != '\0' ? 1 : 0, out, outlen);
}

int
bn_watch_watch_target(const char *path, const char *rv, unsigned timeout_s, char *out,
                      size_t outlen)
{
    char r[BN_RV_MAX + 32], t[32];
    const char *extra[4] = {"allowWatchBookmarks=true", t, "watch=true", r};

    snprintf(t, sizeof(t), "timeoutSeconds=%u", timeout_s);
    if (rv != NULL && rv[0] != '\0') {
        snprintf(r, sizeof(r), "resourceVersion=%s", rv);
    }
    return build_target(path, extra, rv != NULL && rv[0] != '\0' ? 4 : 3, out, outlen);
}
