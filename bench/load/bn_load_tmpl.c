/* Template expansion: see bn_load_tmpl.h. */
#include "bn_load_tmpl.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "px_err.h"

#define NUM_DIGITS_MAX 18 /* keeps i % N + M below 2^63 */
#define WIDTH_MAX      20 /* digits of a uint64_t */

/* Reads 1..18 digits at *<p>. */
static int
read_number(const char **p, uint64_t *out)
{
    uint64_t v = 0;
    size_t n = 0;

    while (**p >= '0' && **p <= '9') {
        if (++n > NUM_DIGITS_MAX) {
            return -1;
        }
        v = v * 10 + (uint64_t)(**p - '0');
        (*p)++;
    }
    if (n == 0) {
        return -1;
    }
    *out = v;
    return 0;
}

/* <p> points at "{i"; on success *<end> is past the "}". */
static int
index_placeholder(const char *p, uint64_t i, uint64_t *value, uint64_t *width, const char **end,
                  char *why, size_t whylen)
{
    const char *q = p + 2;
    uint64_t mod = 0, add = 0;
    bool has_mod = false;

    *width = 0;
    if (*q == '%') {
        q++;
        if (read_number(&q, &mod) != 0) {
            goto malformed;
        }
        if (mod == 0) {
            px_errf(why, whylen, "\"%.*s\": the modulo must be at least 1", (int)(q - p + 1), p);
            return -1;
        }
        has_mod = true;
    }
    if (*q == '+') {
        q++;
        if (read_number(&q, &add) != 0) {
            goto malformed;
        }
    }
    if (*q == ':') {
        /* {i:05}: zero-padded to a width, as generated names are
         * (node-00042). */
        q++;
        if (*q != '0' || read_number(&q, width) != 0 || *width < 1 || *width > WIDTH_MAX) {
            goto malformed;
        }
    }
    if (*q != '}') {
        goto malformed;
    }
    *value = (has_mod ? i % mod : i) + add;
    *end = q + 1;
    return 0;

malformed : {
    const char *close = strchr(p, '}');
    int shown = close != NULL && close - p < 32 ? (int)(close - p + 1) : 8;

    px_errf(why, whylen,
            "malformed placeholder \"%.*s\" (expected {i}, {i+N}, {i%%N}, {i%%N+M}, with an "
            "optional :0W width, or {pop})",
            shown, p);
    return -1;
}
}

static bool
starts_index(const char *p)
{
    return p[0] == '{' && p[1] == 'i' && (p[2] == '}' || p[2] == '+' || p[2] == '%' || p[2] == ':');
}

int
bn_tmpl_expand(const char *src, const struct bn_tmpl_vars *v, char *out, size_t outlen, char *why,
               size_t whylen)
{
    size_t o = 0;
    const char *p = src;
    char num[24];

    while (*p != '\0') {
        const char *piece = p, *next;
        size_t len;

        if (starts_index(p)) {
            uint64_t value, width;

            if (index_placeholder(p, v->i, &value, &width, &next, why, whylen) != 0) {
                return -1;
            }
            len = (size_t)snprintf(num, sizeof(num), "%0*" PRIu64, (int)width, value);
            piece = num;
        } else if (strncmp(p, "{pop}", 5) == 0) {
            piece = v->pop != NULL ? v->pop : "";
            len = strlen(piece);
            next = p + 5;
        } else {
            const char *brace = strchr(p + 1, '{');

            next = brace != NULL ? brace : p + strlen(p);
            len = (size_t)(next - p);
        }
        if (o + len >= outlen || o + len >= BN_TMPL_MAX) {
            px_errf(why, whylen, "expands to more than %zu bytes",
                    outlen < BN_TMPL_MAX ? (outlen > 0 ? outlen - 1 : 0) : (size_t)BN_TMPL_MAX - 1);
            if (outlen > 0) {
                out[o < outlen ? o : outlen - 1] = '\0';
            }
            return -1;
        }
        memcpy(out + o, piece, len);
        o += len;
        p = next;
    }
    if (outlen > 0) {
        out[o] = '\0';
    }
    return (int)o;
}

int
bn_tmpl_check(const char *src, uint32_t count, char *why, size_t whylen)
{
    char buf[BN_TMPL_MAX];
    struct bn_tmpl_vars v = {.i = 0, .pop = ""};

    if (bn_tmpl_expand(src, &v, buf, sizeof(buf), why, whylen) < 0) {
        return -1;
    }
    v.i = count > 0 ? count - 1 : 0;
    return bn_tmpl_expand(src, &v, buf, sizeof(buf), why, whylen) < 0 ? -1 : 0;
}

bool
bn_tmpl_uses_index(const char *src)
{
    const char *p;

    for (p = strchr(src, '{'); p != NULL; p = strchr(p + 1, '{')) {
        if (starts_index(p)) {
            return true;
        }
    }
    return false;
}
