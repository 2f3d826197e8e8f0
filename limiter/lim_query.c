/* url.ParseQuery first values and apimachinery's query-parameter
 * conversions (runtime/conversion.go) for lim_request: see lim_query.h. */
#include "lim_query.h"

#include <string.h>

#include "lim_url.h"

/* Longest name in keys[]: a longer decoded key cannot match. */
#define QKEY_MAX 20

static const char *const keys[LIM_Q_COUNT] = {
    [LIM_Q_WATCH] = "watch",
    [LIM_Q_RESOURCE_VERSION] = "resourceVersion",
    [LIM_Q_RESOURCE_VERSION_MATCH] = "resourceVersionMatch",
    [LIM_Q_LIMIT] = "limit",
    [LIM_Q_CONTINUE] = "continue",
    [LIM_Q_SEND_INITIAL_EVENTS] = "sendInitialEvents",
    [LIM_Q_FOLLOW] = "follow",
    [LIM_Q_LABEL_SELECTOR] = "labelSelector",
    [LIM_Q_FIELD_SELECTOR] = "fieldSelector",
    [LIM_Q_TIMEOUT_SECONDS] = "timeoutSeconds",
};

struct qiter {
    const char *s;
    size_t n, i;
};

static int hexval(char c);
static int qnext(struct qiter *it);

void
lim_query_scan(const char *q, size_t n, struct lim_qval out[LIM_Q_COUNT])
{
    size_t start = 0, end, klen, vstart, k;
    char key[QKEY_MAX];

    memset(out, 0, sizeof(out[0]) * LIM_Q_COUNT);
    while (start < n) {
        const char *pair = q + start, *amp = memchr(pair, '&', n - start);
        const char *eq;

        end = amp != NULL ? (size_t)(amp - q) : n;
        klen = end - start;
        vstart = end;
        start = end + 1;
        if (klen == 0 || memchr(pair, ';', klen) != NULL) {
            continue;
        }
        eq = memchr(pair, '=', klen);
        if (eq != NULL) {
            vstart = (size_t)(eq - q) + 1;
            klen = (size_t)(eq - pair);
        }
        /* Decoding never lengthens, so a raw key beyond 3 * QKEY_MAX bytes
         * cannot decode to one of ours. */
        if (klen > 3 * QKEY_MAX || !lim_url_escapes_valid(pair, klen) ||
            !lim_url_escapes_valid(q + vstart, end - vstart)) {
            continue;
        }
        {
            struct qiter it = {pair, klen, 0};
            size_t o = 0;
            int c;

            while ((c = qnext(&it)) >= 0 && o < QKEY_MAX) {
                key[o++] = (char)c;
            }
            if (c >= 0) {
                continue;
            }
            klen = o;
        }
        for (k = 0; k < LIM_Q_COUNT; k++) {
            if (!out[k].set && strlen(keys[k]) == klen && memcmp(keys[k], key, klen) == 0) {
                out[k].set = true;
                out[k].raw = q + vstart;
                out[k].len = end - vstart;
                break;
            }
        }
    }
}

size_t
lim_query_decode(const struct lim_qval *v, char *dst)
{
    return lim_url_unescape(v->raw, v->len, true, dst);
}

bool
lim_query_bool(const struct lim_qval *v, bool ascii_lower)
{
    struct qiter it = {v->raw, v->len, 0};
    unsigned char s[7];
    size_t n = 0, i;
    int c;
    static const char f[] = "false";

    if (!v->set) {
        return false;
    }
    while ((c = qnext(&it)) >= 0 && n < sizeof(s)) {
        s[n++] = (unsigned char)c;
    }
    if (c >= 0) {
        return true; /* longer than any spelling of "false" */
    }
    if (n == 1 && s[0] == '0') {
        return false;
    }
    /* EqualFold: ASCII case folding, and U+017F (UTF-8 C5 BF) folds to 's'. */
    if (!ascii_lower && n == 6 && (s[3] == 0xc5 && s[4] == 0xbf)) {
        s[3] = 's';
        s[4] = s[5];
        n = 5;
    }
    if (n != 5) {
        return true;
    }
    for (i = 0; i < 5; i++) {
        if ((s[i] | 0x20) != (unsigned char)f[i]) {
            return true;
        }
    }
    return false;
}

bool
lim_query_int64(const struct lim_qval *v, int64_t *out)
{
    struct qiter it = {v->raw, v->len, 0};
    uint64_t u = 0, lim = (uint64_t)INT64_MAX;
    bool neg = false, digits = false;
    int c = qnext(&it);

    if (c == '+' || c == '-') {
        neg = c == '-';
        if (neg) {
            lim++; /* |INT64_MIN| = INT64_MAX + 1 */
        }
        c = qnext(&it);
    }
    for (; c >= 0; c = qnext(&it)) {
        unsigned d = (unsigned)c - '0';

        if (d > 9 || u > (lim - d) / 10) {
            return false;
        }
        u = u * 10 + d;
        digits = true;
    }
    if (!digits) {
        return false;
    }
    /* u <= 2^63 when negative: negate without signed overflow. */
    *out = !neg ? (int64_t)u : u == 0 ? 0 : -(int64_t)(u - 1) - 1;
    return true;
}

static int
hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    return (c | 0x20) - 'a' + 10; /* escapes were validated */
}

/* Next decoded byte of a query component whose escapes are valid, or -1. */
static int
qnext(struct qiter *it)
{
    char c;

    if (it->i >= it->n) {
        return -1;
    }
    c = it->s[it->i];
    if (c == '%') {
        int v = hexval(it->s[it->i + 1]) << 4 | hexval(it->s[it->i + 2]);

        it->i += 3;
        return v;
    }
    it->i++;
    return c == '+' ? ' ' : (unsigned char)c;
}
