/* Path-precise JSON reading: see bn_load_json.h. */
#include "bn_load_json.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bn_load_sched.h"
#include "bn_load_units.h"

#define SUGGEST_MAX 64 /* longer words get no suggestion */

void
bn_json_ctx_init(struct bn_json_ctx *x, const char *file, char *err, size_t errlen)
{
    memset(x, 0, sizeof(*x));
    x->file = file;
    x->err = err;
    x->errlen = errlen;
    if (err != NULL && errlen > 0) {
        err[0] = '\0';
    }
}

/* Records that <n> bytes were (or would have been) appended. A path too
 * deep for the buffer keeps its truncated prefix, which still points near
 * the place. */
static size_t
path_grew(struct bn_json_ctx *x, size_t old, int n)
{
    size_t room = sizeof(x->path) - old;

    if (n > 0) {
        x->pathlen = (size_t)n < room ? old + (size_t)n : sizeof(x->path) - 1;
    }
    return old;
}

size_t
bn_json_key(struct bn_json_ctx *x, const char *key)
{
    size_t old = x->pathlen, room = sizeof(x->path) - old;

    return path_grew(x, old,
                     old == 0 ? snprintf(x->path, room, "%.48s", key)
                              : snprintf(x->path + old, room, ".%.48s", key));
}

size_t
bn_json_index(struct bn_json_ctx *x, size_t i)
{
    size_t old = x->pathlen;

    return path_grew(x, old, snprintf(x->path + old, sizeof(x->path) - old, "[%zu]", i));
}

void
bn_json_restore(struct bn_json_ctx *x, size_t len)
{
    x->pathlen = len;
    x->path[len] = '\0';
}

__attribute__((format(printf, 2, 0))) static void
vfail(struct bn_json_ctx *x, const char *fmt, va_list ap)
{
    int n;

    if (x->failed || x->err == NULL || x->errlen == 0) {
        x->failed = true;
        return;
    }
    x->failed = true;
    n = x->pathlen > 0 ? snprintf(x->err, x->errlen, "%s: %s: ", x->file, x->path)
                       : snprintf(x->err, x->errlen, "%s: ", x->file);
    if (n >= 0 && (size_t)n < x->errlen) {
        vsnprintf(x->err + n, x->errlen - (size_t)n, fmt, ap);
    }
}

int
bn_json_fail(struct bn_json_ctx *x, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vfail(x, fmt, ap);
    va_end(ap);
    return -1;
}

int
bn_json_fail_got(struct bn_json_ctx *x, const json_t *v, const char *fmt, ...)
{
    char what[256], got[BN_JSON_GOT_MAX + 16];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    bn_json_got(v, got, sizeof(got));
    return bn_json_fail(x, "expected %s, got %s", what, got);
}

static void
got_str(const char *s, char *buf, size_t len)
{
    size_t o = 0, i;

    buf[o++] = '"';
    for (i = 0; s[i] != '\0' && o + 6 < len; i++) {
        unsigned char c = (unsigned char)s[i];

        if (i == BN_JSON_GOT_MAX) {
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
bn_json_got(const json_t *v, char *buf, size_t len)
{
    if (len < 16) {
        if (len > 0) {
            buf[0] = '\0';
        }
        return;
    }
    switch (v == NULL ? JSON_NULL : json_typeof(v)) {
    case JSON_OBJECT:
        snprintf(buf, len, "an object");
        break;
    case JSON_ARRAY:
        snprintf(buf, len, json_array_size(v) == 0 ? "[]" : "an array");
        break;
    case JSON_STRING:
        got_str(json_string_value(v), buf, len);
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

/* Optimal string alignment distance: a swapped pair ("wacthes") is one
 * edit, as people mistype. */
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
            size_t best = d[i - 1][j] + 1;

            if (d[i][j - 1] + 1 < best) {
                best = d[i][j - 1] + 1;
            }
            if (d[i - 1][j - 1] + (a[i - 1] != b[j - 1]) < best) {
                best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
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
bn_json_suggest(const char *word, const char *const *names, size_t n)
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
bn_json_check_keys(struct bn_json_ctx *x, const json_t *obj, const char *const *names, size_t n)
{
    const char *key;
    json_t *v;

    json_object_foreach((json_t *)obj, key, v)
    {
        const char *hint;
        char list[256];
        size_t i, o = 0;

        for (i = 0; i < n && strcmp(key, names[i]) != 0; i++) {
        }
        if (i < n) {
            continue;
        }
        bn_json_key(x, key);
        hint = bn_json_suggest(key, names, n);
        if (hint != NULL) {
            return bn_json_fail(x, "unknown key, did you mean \"%s\"?", hint);
        }
        list[0] = '\0';
        for (i = 0; i < n && o < sizeof(list); i++) {
            int w = snprintf(list + o, sizeof(list) - o, "%s%s", i > 0 ? ", " : "", names[i]);

            o += w > 0 ? (size_t)w : 0;
        }
        return bn_json_fail(x, "unknown key; expected one of %s", list);
    }
    return 0;
}

int
bn_json_string(struct bn_json_ctx *x, const json_t *obj, const char *key, bool required, char **out)
{
    json_t *v = json_object_get(obj, key);
    size_t saved;
    char *dup;

    if (v == NULL) {
        if (!required) {
            return 0;
        }
        saved = bn_json_key(x, key);
        bn_json_fail(x, "required");
        bn_json_restore(x, saved);
        return -1;
    }
    saved = bn_json_key(x, key);
    if (!json_is_string(v) || json_string_length(v) != strlen(json_string_value(v))) {
        bn_json_fail_got(x, v, "a string");
        bn_json_restore(x, saved);
        return -1;
    }
    bn_json_restore(x, saved);
    dup = strdup(json_string_value(v));
    if (dup == NULL) {
        return bn_json_fail(x, "out of memory");
    }
    free(*out);
    *out = dup;
    return 0;
}

int
bn_json_bool(struct bn_json_ctx *x, const json_t *obj, const char *key, bool *out)
{
    json_t *v = json_object_get(obj, key);
    size_t saved;

    if (v == NULL) {
        return 0;
    }
    if (!json_is_boolean(v)) {
        saved = bn_json_key(x, key);
        bn_json_fail_got(x, v, "true or false");
        bn_json_restore(x, saved);
        return -1;
    }
    *out = json_is_true(v);
    return 0;
}

int
bn_json_u32(struct bn_json_ctx *x, const json_t *obj, const char *key, uint32_t min, uint32_t max,
            uint32_t *out)
{
    json_t *v = json_object_get(obj, key);
    size_t saved;

    if (v == NULL) {
        return 0;
    }
    if (!json_is_integer(v) || json_integer_value(v) < (json_int_t)min ||
        json_integer_value(v) > (json_int_t)max) {
        saved = bn_json_key(x, key);
        bn_json_fail_got(x, v, "an integer from %u to %u", min, max);
        bn_json_restore(x, saved);
        return -1;
    }
    *out = (uint32_t)json_integer_value(v);
    return 0;
}

int
bn_json_duration(struct bn_json_ctx *x, const json_t *obj, const char *key, uint64_t *out)
{
    json_t *v = json_object_get(obj, key);
    size_t saved;
    double secs;

    if (v == NULL) {
        return 0;
    }
    if (json_is_string(v) && bn_parse_duration(json_string_value(v), out) == 0) {
        return 0;
    }
    if (json_is_number(v)) {
        secs = json_number_value(v);
        if (secs >= 0 && secs * 1e9 <= (double)BN_DURATION_MAX) {
            *out = (uint64_t)llround(secs * 1e9);
            return 0;
        }
    }
    saved = bn_json_key(x, key);
    bn_json_fail_got(x, v, "a duration like \"30s\", \"500ms\" or \"2m\"");
    bn_json_restore(x, saved);
    return -1;
}

int
bn_json_rate(struct bn_json_ctx *x, const json_t *v, uint64_t *mrps)
{
    double per_s;

    if (json_is_string(v) && bn_parse_rate(json_string_value(v), mrps) == 0) {
        return 0;
    }
    if (json_is_number(v)) {
        per_s = json_number_value(v);
        if (per_s * BN_MRPS_PER_RPS >= 0.5 && per_s * BN_MRPS_PER_RPS <= (double)BN_RATE_MAX) {
            *mrps = (uint64_t)llround(per_s * BN_MRPS_PER_RPS);
            return 0;
        }
    }
    return bn_json_fail_got(x, v,
                            "a rate like \"10/s\", \"600/m\" or a number >= 0.001 per second");
}
