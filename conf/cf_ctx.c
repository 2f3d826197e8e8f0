/* Path-precise messages: every error reads "<file>: <json.path>: expected
 * <what>, got <value>", so that a person can go straight to the line. */
#include "cf_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define SUGGEST_MAX 64 /* longer words get no suggestion */

/* Appends <piece> to the path. A path too deep for the buffer keeps its
 * (truncated) prefix: the message still points near the place. */
static size_t
path_append(struct cf_ctx *x, const char *piece)
{
    size_t old = x->pathlen;
    size_t n = strlen(piece), room = sizeof(x->path) - 1 - x->pathlen;

    if (n > room) {
        n = room;
    }
    memcpy(x->path + x->pathlen, piece, n);
    x->pathlen += n;
    x->path[x->pathlen] = '\0';
    return old;
}

size_t
cf_path_key(struct cf_ctx *x, const char *key)
{
    char piece[56];

    snprintf(piece, sizeof(piece), x->pathlen == 0 ? "%.48s" : ".%.48s", key);
    return path_append(x, piece);
}

size_t
cf_path_index(struct cf_ctx *x, size_t i)
{
    char piece[24];

    snprintf(piece, sizeof(piece), "[%zu]", i);
    return path_append(x, piece);
}

void
cf_path_restore(struct cf_ctx *x, size_t len)
{
    x->pathlen = len;
    x->path[len] = '\0';
}

__attribute__((format(printf, 2, 0))) static int
vfail(struct cf_ctx *x, const char *fmt, va_list ap)
{
    int n;

    if (x->failed || x->err == NULL || x->errlen == 0) {
        x->failed = true;
        return -1;
    }
    x->failed = true;
    if (x->pathlen > 0) {
        n = snprintf(x->err, x->errlen, "%s: %s: ", x->file, x->path);
    } else {
        n = snprintf(x->err, x->errlen, "%s: ", x->file);
    }
    if (n >= 0 && (size_t)n < x->errlen) {
        vsnprintf(x->err + n, x->errlen - (size_t)n, fmt, ap);
    }
    return -1;
}

int
cf_fail(struct cf_ctx *x, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vfail(x, fmt, ap);
    va_end(ap);
    return -1;
}

__attribute__((format(printf, 3, 0))) static int
fail_expected(struct cf_ctx *x, const char *got, const char *fmt, va_list ap)
{
    char what[CF_ERRLEN];

    vsnprintf(what, sizeof(what), fmt, ap);
    return cf_fail(x, "expected %s, got %s", what, got);
}

int
cf_fail_got(struct cf_ctx *x, const json_t *v, const char *fmt, ...)
{
    char got[CF_GOT_MAX + 16];
    va_list ap;

    cf_got(v, got, sizeof(got));
    va_start(ap, fmt);
    fail_expected(x, got, fmt, ap);
    va_end(ap);
    return -1;
}

int
cf_fail_str(struct cf_ctx *x, const char *s, const char *fmt, ...)
{
    char got[CF_GOT_MAX + 16];
    va_list ap;

    cf_got_str(s, got, sizeof(got));
    va_start(ap, fmt);
    fail_expected(x, got, fmt, ap);
    va_end(ap);
    return -1;
}

void
cf_got_str(const char *s, char *buf, size_t len)
{
    size_t o = 0, i;

    if (len < 8) {
        if (len > 0) {
            buf[0] = '\0';
        }
        return;
    }
    buf[o++] = '"';
    for (i = 0; s[i] != '\0' && o + 6 < len; i++) {
        unsigned char c = (unsigned char)s[i];

        if (i == CF_GOT_MAX) {
            memcpy(buf + o, "...", 3);
            o += 3;
            break;
        }
        if (c == '"' || c == '\\') {
            buf[o++] = '\\';
            buf[o++] = (char)c;
        } else if (c < 0x20 || c == 0x7f) {
            o += (size_t)snprintf(buf + o, len - o, "\\x%02x", c);
        } else {
            buf[o++] = (char)c;
        }
    }
    buf[o++] = '"';
    buf[o] = '\0';
}

void
cf_got(const json_t *v, char *buf, size_t len)
{
    switch (v == NULL ? JSON_NULL : json_typeof(v)) {
    case JSON_OBJECT:
        snprintf(buf, len, "an object");
        break;
    case JSON_ARRAY:
        snprintf(buf, len, json_array_size(v) == 0 ? "[]" : "an array");
        break;
    case JSON_STRING:
        cf_got_str(json_string_value(v), buf, len);
        break;
    case JSON_INTEGER:
        snprintf(buf, len, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        break;
    case JSON_REAL:
        snprintf(buf, len, "%.15g", json_real_value(v));
        break;
    case JSON_TRUE:
        snprintf(buf, len, "true");
        break;
    case JSON_FALSE:
        snprintf(buf, len, "false");
        break;
    case JSON_NULL:
    default:
        snprintf(buf, len, "null");
        break;
    }
}

/* Optimal string alignment distance: a swapped pair of letters ("brust")
 * is one edit, as people mistype. */
static size_t
edit_distance(const char *a, size_t la, const char *b, size_t lb)
{
    size_t d[SUGGEST_MAX + 1][SUGGEST_MAX + 1];
    size_t i, j;

    for (i = 0; i <= la; i++) {
        d[i][0] = i;
    }
    for (j = 0; j <= lb; j++) {
        d[0][j] = j;
    }
    for (i = 1; i <= la; i++) {
        for (j = 1; j <= lb; j++) {
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            size_t best = d[i - 1][j] + 1;

            if (d[i][j - 1] + 1 < best) {
                best = d[i][j - 1] + 1;
            }
            if (d[i - 1][j - 1] + cost < best) {
                best = d[i - 1][j - 1] + cost;
            }
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1 < best) {
                best = d[i - 2][j - 2] + 1;
            }
            d[i][j] = best;
        }
    }
    return d[la][lb];
}

const char *
cf_suggest(const char *word, const char *const *names, size_t n)
{
    size_t lw = strlen(word), i, best_d = SIZE_MAX, limit;
    const char *best = NULL;

    if (lw == 0 || lw > SUGGEST_MAX) {
        return NULL;
    }
    /* Short words are close to everything: demand more of them. */
    limit = lw <= 3 ? 1 : lw <= 8 ? 2 : 3;
    for (i = 0; i < n; i++) {
        size_t ln = strlen(names[i]), d;

        if (ln > SUGGEST_MAX) {
            continue;
        }
        d = edit_distance(word, lw, names[i], ln);
        if (d < best_d) {
            best_d = d;
            best = names[i];
        }
    }
    return best_d <= limit ? best : NULL;
}

int
cf_check_keys(struct cf_ctx *x, const json_t *obj, const char *const *names, size_t n)
{
    const char *key;
    json_t *v;

    json_object_foreach((json_t *)obj, key, v)
    {
        const char *hint;
        size_t i, saved;
        char list[CF_ERRLEN / 2];
        size_t o = 0;

        for (i = 0; i < n && strcmp(key, names[i]) != 0; i++) {
        }
        if (i < n) {
            continue;
        }
        saved = cf_path_key(x, key);
        hint = cf_suggest(key, names, n);
        if (hint != NULL) {
            cf_fail(x, "unknown key, did you mean \"%s\"?", hint);
        } else {
            list[0] = '\0';
            for (i = 0; i < n && o < sizeof(list); i++) {
                int w = snprintf(list + o, sizeof(list) - o, "%s%s", i > 0 ? ", " : "", names[i]);

                if (w > 0) {
                    o += (size_t)w;
                }
            }
            cf_fail(x, "unknown key; expected one of %s", list);
        }
        cf_path_restore(x, saved);
        return -1;
    }
    return 0;
}
