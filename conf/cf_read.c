/* Typed JSON values: each reader accepts exactly one spelling family, checks
 * its bounds, and on failure says what it expected and what it got. Numbers
 * may also be written as strings, so that they can come from ${ENV}. */
#include "cf_int.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define UNIX_PATH_MAX 108 /* sizeof(sockaddr_un.sun_path) on Linux */

enum range_kind { RANGE_INT = 0, RANGE_SIZE, RANGE_DUR_NS, RANGE_DUR_S, RANGE_RATE, RANGE_PCT };

static void
fmt_bound(enum range_kind kind, uint64_t v, char *buf, size_t len)
{
    switch (kind) {
    case RANGE_SIZE:
        cf_fmt_size(v, buf, len);
        break;
    case RANGE_DUR_NS:
        cf_fmt_duration(v, buf, len);
        break;
    case RANGE_DUR_S:
        cf_fmt_duration(v * 1000000000u, buf, len);
        break;
    case RANGE_RATE:
        cf_fmt_rate(v, buf, len);
        break;
    case RANGE_PCT:
        snprintf(buf, len, "%" PRIu64 "%%", v);
        break;
    case RANGE_INT:
    default:
        snprintf(buf, len, "%" PRIu64, v);
        break;
    }
}

/* " from A to B", " >= A" / " of at least A", or "" when unbounded. */
static void
fmt_range(enum range_kind kind, uint64_t min, uint64_t max, uint64_t type_max, char *buf,
          size_t len)
{
    char a[32], b[32];

    fmt_bound(kind, min, a, sizeof(a));
    fmt_bound(kind, max, b, sizeof(b));
    if (max < type_max) {
        snprintf(buf, len, " from %s to %s", a, b);
    } else if (min > 0) {
        snprintf(buf, len, kind == RANGE_INT ? " >= %s" : " of at least %s", a);
    } else {
        buf[0] = '\0';
    }
}

int
cf_read_string(struct cf_ctx *x, const json_t *v, char *out)
{
    char why[160];

    out[0] = '\0';
    if (!json_is_string(v)) {
        return cf_fail_got(x, v, "a string");
    }
    if (cf_env_expand(json_string_value(v), out, CF_STR_MAX, why, sizeof(why)) != 0) {
        return cf_fail_got(x, v, "%s", why);
    }
    return 0;
}

static bool
all_digits(const char *s)
{
    if (*s == '\0') {
        return false;
    }
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9') {
            return false;
        }
    }
    return true;
}

/* The text of a unit value (a string after expansion, or a number printed
 * plainly), and whether it was a JSON number. */
static int
unit_text(struct cf_ctx *x, const json_t *v, char *out, bool *is_number, const char *what)
{
    *is_number = json_is_number(v);
    if (json_is_integer(v)) {
        if (json_integer_value(v) < 0) {
            return cf_fail_got(x, v, "%s", what);
        }
        snprintf(out, CF_STR_MAX, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return 0;
    }
    if (json_is_real(v)) {
        /* %.9f then trimmed: a JSON 0.5 reads as "0.5", as a person wrote it. */
        size_t n;

        if (json_real_value(v) < 0 || json_real_value(v) >= 1e15) {
            return cf_fail_got(x, v, "%s", what);
        }
        snprintf(out, CF_STR_MAX, "%.9f", json_real_value(v));
        n = strlen(out);
        while (n > 0 && out[n - 1] == '0') {
            out[--n] = '\0';
        }
        if (n > 0 && out[n - 1] == '.') {
            out[--n] = '\0';
        }
        return 0;
    }
    if (!json_is_string(v)) {
        return cf_fail_got(x, v, "%s", what);
    }
    return cf_read_string(x, v, out);
}

static int
read_uint(struct cf_ctx *x, const json_t *v, uint64_t min, uint64_t max, uint64_t type_max,
          uint64_t *out)
{
    char range[96], text[CF_STR_MAX];
    uint64_t n;

    fmt_range(RANGE_INT, min, max, type_max, range, sizeof(range));
    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);

        if (i < 0 || (uint64_t)i < min || (uint64_t)i > max) {
            return cf_fail_got(x, v, "an integer%s", range);
        }
        *out = (uint64_t)i;
        return 0;
    }
    if (!json_is_string(v)) {
        return cf_fail_got(x, v, "an integer%s", range);
    }
    if (cf_read_string(x, v, text) != 0) {
        return -1;
    }
    if (!all_digits(text) || strlen(text) > 18 || (n = strtoull(text, NULL, 10)) < min || n > max) {
        return cf_fail_str(x, text, "an integer%s", range);
    }
    *out = n;
    return 0;
}

static int
read_unit(struct cf_ctx *x, const json_t *v, const struct cf_key *k, uint64_t *out)
{
    static const char *const what[] = {
        [CF_T_SIZE32] = "a size like \"64KiB\" or a number of bytes",
        [CF_T_SIZE64] = "a size like \"64KiB\" or a number of bytes",
        [CF_T_DUR_NS] = "a duration like \"30s\" or \"250ms\"",
        [CF_T_DUR_S] = "a duration in whole seconds like \"30s\"",
        [CF_T_RATE] = "a rate like \"10/s\", \"600/m\" or a number per second",
        [CF_T_PCT] = "a percentage like \"25%\"",
        [CF_T_MT32] = "a number of tokens",
    };
    static const enum range_kind kinds[] = {
        [CF_T_SIZE32] = RANGE_SIZE, [CF_T_SIZE64] = RANGE_SIZE, [CF_T_DUR_NS] = RANGE_DUR_NS,
        [CF_T_DUR_S] = RANGE_DUR_S, [CF_T_RATE] = RANGE_RATE,   [CF_T_PCT] = RANGE_PCT,
        [CF_T_MT32] = RANGE_INT,
    };
    char text[CF_STR_MAX], range[96], expected[200];
    uint64_t n = 0,
             type_max = k->type == CF_T_SIZE64 || k->type == CF_T_DUR_NS || k->type == CF_T_RATE
                            ? UINT64_MAX
                            : UINT32_MAX;
    bool is_number, ok;

    if (k->type == CF_T_MT32) {
        /* Bounds of a token count are given in milli-tokens; say them in tokens. */
        snprintf(range, sizeof(range), " from %g to %g", (double)k->min / 1000.0,
                 (double)k->max / 1000.0);
    } else if (k->type == CF_T_RATE) {
        /* The natural bounds of a rate (0.001/s .. 1e9/s) go without saying. */
        fmt_range(RANGE_RATE, k->min > 1 ? k->min : 0, k->max, LIM_RATE_MAX_MTPS, range,
                  sizeof(range));
    } else {
        fmt_range(kinds[k->type], k->min, k->max, type_max, range, sizeof(range));
    }
    snprintf(expected, sizeof(expected), "%s%s%s", what[k->type],
             k->type == CF_T_RATE && k->min == 0 ? ", or \"none\"" : "", range);
    if (unit_text(x, v, text, &is_number, expected) != 0) {
        return -1;
    }
    switch (k->type) {
    case CF_T_SIZE32:
    case CF_T_SIZE64:
        ok = cf_parse_size(text, &n) == 0;
        break;
    case CF_T_DUR_NS:
    case CF_T_DUR_S:
        /* A bare number has no unit: only 0 is unambiguous. */
        ok = cf_parse_duration(text, &n) == 0 && (!is_number || n == 0);
        if (ok && k->type == CF_T_DUR_S) {
            ok = n % 1000000000u == 0;
            n /= 1000000000u;
        }
        break;
    case CF_T_RATE:
        if (strcmp(text, "none") == 0 || strcmp(text, "0") == 0) {
            ok = k->min == 0;
            n = 0;
        } else {
            ok = cf_parse_rate(text, &n) == 0;
        }
        break;
    case CF_T_PCT: {
        uint32_t pct = 0;

        ok = cf_parse_pct(text, &pct) == 0;
        n = pct;
        break;
    }
    case CF_T_MT32:
        ok = cf_parse_milli(text, &n) == 0;
        break;
    default:
        ok = false;
        break;
    }
    if (!ok || n < k->min || n > k->max) {
        if (is_number) {
            return cf_fail_got(x, v, "%s", expected);
        }
        return cf_fail_str(x, text, "%s", expected);
    }
    *out = n;
    return 0;
}

static int
read_enum(struct cf_ctx *x, const json_t *v, const struct cf_enum *names, int *out)
{
    char text[CF_STR_MAX], list[256];
    const struct cf_enum *e;
    size_t o = 0;

    list[0] = '\0';
    for (e = names; e->name != NULL && o < sizeof(list); e++) {
        int w = snprintf(list + o, sizeof(list) - o, "%s\"%s\"", e == names ? "" : ", ", e->name);

        if (w > 0) {
            o += (size_t)w;
        }
    }
    if (!json_is_string(v)) {
        return cf_fail_got(x, v, "one of %s", list);
    }
    if (cf_read_string(x, v, text) != 0) {
        return -1;
    }
    for (e = names; e->name != NULL; e++) {
        if (strcmp(e->name, text) == 0) {
            *out = e->value;
            return 0;
        }
    }
    return cf_fail_str(x, text, "one of %s", list);
}

char *
cf_resolve_path(const struct cf_ctx *x, const char *path)
{
    size_t ld, lp;
    char *r;

    if (path[0] == '/' || x->dir[0] == '\0') {
        return strdup(path);
    }
    ld = strlen(x->dir);
    lp = strlen(path);
    r = malloc(ld + lp + 2);
    if (r != NULL) {
        memcpy(r, x->dir, ld);
        r[ld] = '/';
        memcpy(r + ld + 1, path, lp + 1);
    }
    return r;
}

static bool
hostname_valid(const char *h, size_t n)
{
    size_t i, label = 0;
    bool numeric = true;

    if (n == 0 || n > 253) {
        return false;
    }
    for (i = 0; i < n; i++) {
        char c = h[i];

        if (c == '.') {
            if (label == 0 || h[i - 1] == '-') {
                return false;
            }
            label = 0;
            continue;
        }
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-') ||
            (c == '-' && label == 0) || ++label > 63) {
            return false;
        }
        if (c < '0' || c > '9') {
            numeric = false;
        }
    }
    /* "999.1.1.1" is a bad IPv4 address, not a host name. */
    return label > 0 && h[n - 1] != '-' && !numeric;
}

bool
cf_addr_valid(const char *s, bool allow_unix, bool allow_port0)
{
    const char *colon, *port;
    char host[256];
    size_t hl;
    unsigned long p;
    struct in6_addr a6;
    struct in_addr a4;

    if (strncmp(s, "unix:", 5) == 0) {
        return allow_unix && strncmp(s, "unix:/", 6) == 0 && strlen(s + 5) < UNIX_PATH_MAX;
    }
    if (s[0] == '[') {
        colon = strstr(s, "]:");
        if (colon == NULL || (hl = (size_t)(colon - s - 1)) == 0 || hl >= sizeof(host)) {
            return false;
        }
        memcpy(host, s + 1, hl);
        host[hl] = '\0';
        if (inet_pton(AF_INET6, host, &a6) != 1) {
            return false;
        }
        port = colon + 2;
    } else {
        colon = strchr(s, ':');
        if (colon == NULL || strchr(colon + 1, ':') != NULL ||
            (hl = (size_t)(colon - s)) >= sizeof(host)) {
            return false;
        }
        memcpy(host, s, hl);
        host[hl] = '\0';
        if (inet_pton(AF_INET, host, &a4) != 1 && !hostname_valid(host, hl)) {
            return false;
        }
        port = colon + 1;
    }
    if (!all_digits(port) || strlen(port) > 5) {
        return false;
    }
    p = strtoul(port, NULL, 10);
    return p <= 65535 && (p > 0 || allow_port0);
}

bool
cf_host_valid(const char *s)
{
    struct in6_addr a6;
    struct in_addr a4;

    return inet_pton(AF_INET, s, &a4) == 1 || inet_pton(AF_INET6, s, &a6) == 1 ||
           hostname_valid(s, strlen(s));
}

bool
cf_addr_is_loopback(const char *s)
{
    return strncmp(s, "unix:", 5) == 0 || strncmp(s, "127.", 4) == 0 ||
           strncmp(s, "[::1]:", 6) == 0 || strncmp(s, "localhost:", 10) == 0;
}

static int
set_string(struct cf_ctx *x, char **field, const char *s)
{
    char *d = strdup(s);

    if (d == NULL) {
        return cf_fail(x, "out of memory");
    }
    free(*field);
    *field = d;
    return 0;
}

static int
read_string_field(struct cf_ctx *x, const json_t *v, const struct cf_key *k, char **field)
{
    char text[CF_STR_MAX];
    char *resolved;
    int rc;

    if (cf_read_string(x, v, text) != 0) {
        return -1;
    }
    switch (k->type) {
    case CF_T_FILE:
        if (text[0] == '\0') {
            return cf_fail_str(x, text, "a file path");
        }
        resolved = cf_resolve_path(x, text);
        if (resolved == NULL) {
            return cf_fail(x, "out of memory");
        }
        rc = set_string(x, field, resolved);
        free(resolved);
        return rc;
    case CF_T_ADDR:
        if (!(text[0] == '\0' && k->min == 0) && !cf_addr_valid(text, true, k->max == 1)) {
            return cf_fail_str(x, text,
                               "an address like \"127.0.0.1:6443\", \"[::1]:6443\" or "
                               "\"unix:/path\"");
        }
        return set_string(x, field, text);
    default:
        if (k->min > 0 && text[0] == '\0') {
            return cf_fail_str(x, text, "a non-empty string");
        }
        return set_string(x, field, text);
    }
}

int
cf_read_value(struct cf_ctx *x, const json_t *v, const struct cf_key *k, void *base)
{
    void *field = (char *)base + k->off;
    uint64_t n = 0;
    int e = 0;

    switch (k->type) {
    case CF_T_STR:
    case CF_T_FILE:
    case CF_T_ADDR:
        return read_string_field(x, v, k, (char **)field);
    case CF_T_U32:
        if (read_uint(x, v, k->min, k->max, UINT32_MAX, &n) != 0) {
            return -1;
        }
        *(uint32_t *)field = (uint32_t)n;
        return 0;
    case CF_T_SIZE64:
    case CF_T_DUR_NS:
    case CF_T_RATE:
        return read_unit(x, v, k, (uint64_t *)field);
    case CF_T_SIZE32:
    case CF_T_DUR_S:
    case CF_T_PCT:
    case CF_T_MT32:
        if (read_unit(x, v, k, &n) != 0) {
            return -1;
        }
        *(uint32_t *)field = (uint32_t)n;
        return 0;
    case CF_T_ENUM:
        if (read_enum(x, v, k->names, &e) != 0) {
            return -1;
        }
        *(int *)field = e;
        return 0;
    case CF_T_BOOL:
        if (!json_is_boolean(v)) {
            return cf_fail_got(x, v, "true or false");
        }
        *(bool *)field = json_is_true(v);
        return 0;
    case CF_T_CUSTOM:
    default:
        return 0;
    }
}

int
cf_read_object(struct cf_ctx *x, const json_t *obj, const struct cf_key *keys, size_t n, void *base)
{
    const char *names[64] = {NULL};
    size_t i;

    if (!json_is_object(obj)) {
        return cf_fail_got(x, obj, "an object");
    }
    for (i = 0; i < n && i < sizeof(names) / sizeof(names[0]); i++) {
        names[i] = keys[i].name;
    }
    if (cf_check_keys(x, obj, names, i) != 0) {
        return -1;
    }
    for (i = 0; i < n; i++) {
        const json_t *v = json_object_get(obj, keys[i].name);
        size_t saved;
        int rc;

        if (v == NULL || keys[i].type == CF_T_CUSTOM) {
            continue;
        }
        saved = cf_path_key(x, keys[i].name);
        rc = cf_read_value(x, v, &keys[i], base);
        cf_path_restore(x, saved);
        if (rc != 0) {
            return -1;
        }
    }
    return 0;
}

void
cf_strings_free(char **l, size_t n)
{
    size_t i;

    if (l == NULL) {
        return;
    }
    for (i = 0; i < n; i++) {
        free(l[i]);
    }
    free(l);
}

int
cf_read_strings(struct cf_ctx *x, const json_t *v, size_t max, bool nonempty, char ***out,
                size_t *n)
{
    char text[CF_STR_MAX];
    char **l;
    size_t i, count;

    *out = NULL;
    *n = 0;
    if (v == NULL) {
        return 0;
    }
    if (!json_is_array(v) || json_array_size(v) > max) {
        return cf_fail_got(x, v, "an array of at most %zu strings", max);
    }
    count = json_array_size(v);
    l = calloc(count + 1, sizeof(*l));
    if (l == NULL) {
        return cf_fail(x, "out of memory");
    }
    for (i = 0; i < count; i++) {
        size_t saved = cf_path_index(x, i);
        int rc = cf_read_string(x, json_array_get(v, i), text);

        if (rc == 0 && nonempty && text[0] == '\0') {
            rc = cf_fail_str(x, text, "a non-empty string");
        }
        if (rc == 0 && (l[i] = strdup(text)) == NULL) {
            rc = cf_fail(x, "out of memory");
        }
        cf_path_restore(x, saved);
        if (rc != 0) {
            cf_strings_free(l, i);
            return -1;
        }
    }
    *out = l;
    *n = count;
    return 0;
}
