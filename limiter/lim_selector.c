/* Label and field selector validity as apimachinery decides it
 * (pkg/labels/selector.go Parse, pkg/fields/selector.go ParseSelector,
 * pkg/util/validation IsQualifiedName / IsValidLabelValue): see
 * lim_selector.h. Tokens are lexed on demand instead of all up front; the
 * grammar never looks further than one token ahead, so the outcome is the
 * same. */
#include "lim_selector.h"

#include <stdint.h>
#include <string.h>

#define QNAME_MAX     63
#define LABEL_MAX     63
#define SUBDOMAIN_MAX 253

enum ltok {
    LT_EOS = 0,
    LT_CLOSE,
    LT_COMMA,
    LT_NOT,
    LT_DEQ,
    LT_EQ,
    LT_GT,
    LT_ID,
    LT_IN,
    LT_LT,
    LT_NEQ,
    LT_NOTIN,
    LT_OPEN
};

struct lex {
    const char *s;
    size_t n, pos;
    enum ltok tok; /* the lookahead token */
    const char *lit;
    size_t lit_len;
    bool eos;
};

static void lex_next(struct lex *l);
static enum ltok vtok(const struct lex *l);
static bool label_requirement(struct lex *l);
static bool qualified_name(const char *k, size_t n);
static bool label_value(const char *v, size_t n);
static bool int64_ok(const char *s, size_t n);
static bool field_term(const char *t, size_t n, size_t *op_at, size_t *op_len);
static size_t utf8_len(const unsigned char *s, size_t n);

bool
lim_label_selector_valid(const char *s, size_t n)
{
    struct lex l = {s, n, 0, LT_EOS, s, 0, false};
    enum ltok t;

    lex_next(&l);
    t = vtok(&l);
    if (t == LT_EOS) {
        return true;
    }
    if (t != LT_ID && t != LT_NOT) {
        return false;
    }
    for (;;) {
        if (!label_requirement(&l)) {
            return false;
        }
        t = vtok(&l);
        lex_next(&l);
        if (t == LT_EOS) {
            return true;
        }
        if (t != LT_COMMA) {
            return false;
        }
        t = vtok(&l);
        if (t != LT_ID && t != LT_NOT) {
            return false;
        }
    }
}

int
lim_field_selector_name(const char *s, size_t n, const char **rhs, size_t *rhs_len)
{
    const char *best = NULL;
    size_t best_len = 0, start = 0, i, op_at, op_len;
    bool in_slash = false;

    /* splitTerms: ',' separates unless the byte before is an unconsumed
     * backslash. */
    for (i = 0; n > 0 && i <= n; i++) {
        const char *term = s + start;
        size_t tlen = i - start;

        if (i < n) {
            if (in_slash) {
                in_slash = false;
                continue;
            }
            if (s[i] == '\\') {
                in_slash = true;
                continue;
            }
            if (s[i] != ',') {
                continue;
            }
        }
        start = i + 1;
        if (tlen == 0) {
            continue;
        }
        if (!field_term(term, tlen, &op_at, &op_len)) {
            return -1;
        }
        if (op_at == 13 && memcmp(term, "metadata.name", 13) == 0 && term[op_at] == '=') {
            size_t m = tlen < best_len ? tlen : best_len;
            int c = best != NULL ? memcmp(term, best, m) : -1;

            if (c < 0 || (c == 0 && tlen < best_len)) {
                best = term;
                best_len = tlen;
                *rhs = term + op_at + op_len;
                *rhs_len = tlen - op_at - op_len;
            }
        }
    }
    return best != NULL;
}

size_t
lim_field_unescape(const char *rhs, size_t n, char *dst)
{
    static const char fffd[3] = {'\xef', '\xbf', '\xbd'};
    size_t i = 0, o = 0, w;
    bool in_slash = false;

    if (memchr(rhs, '\\', n) == NULL && memchr(rhs, ',', n) == NULL &&
        memchr(rhs, '=', n) == NULL) {
        if (dst != NULL) {
            memcpy(dst, rhs, n);
        }
        return n;
    }
    while (i < n) {
        if (!in_slash && rhs[i] == '\\') {
            in_slash = true;
            i++;
            continue;
        }
        in_slash = false;
        w = utf8_len((const unsigned char *)rhs + i, n - i);
        if (w == 0) {
            if (dst != NULL) {
                memcpy(dst + o, fffd, 3);
            }
            o += 3;
            i++;
            continue;
        }
        if (dst != NULL) {
            memcpy(dst + o, rhs + i, w);
        }
        o += w;
        i += w;
    }
    return o;
}

static bool
is_ws(int c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool
is_special(int c)
{
    return c != 0 && strchr("=!(),><", c) != NULL;
}

/* Lexer.read: 0 at the end, and also for a NUL byte, which it consumes. */
static int
rd(struct lex *l)
{
    return l->pos < l->n ? (unsigned char)l->s[l->pos++] : 0;
}

static void
lex_next(struct lex *l)
{
    size_t start, at;
    int c, nx;

    /* Go scans every token before parsing and stops at the first end: after
     * a NUL ends the input, nothing behind it is ever looked at. */
    if (l->eos) {
        l->tok = LT_EOS;
        return;
    }
    do {
        c = rd(l);
    } while (is_ws(c));
    if (c == 0) {
        l->eos = true;
        l->tok = LT_EOS;
        return;
    }
    if (is_special(c)) {
        static const enum ltok one[] = {
            ['('] = LT_OPEN, [')'] = LT_CLOSE, [','] = LT_COMMA, ['>'] = LT_GT,
            ['<'] = LT_LT,   ['!'] = LT_NOT,   ['='] = LT_EQ};

        l->tok = one[c];
        /* scanSpecialSymbol is greedy over "!=" and "==", then reads one byte
         * more and puts it back unless it was 0 (a NUL stays consumed). */
        nx = rd(l);
        if ((c == '!' || c == '=') && nx == '=') {
            l->tok = c == '!' ? LT_NEQ : LT_DEQ;
            nx = rd(l);
        }
        if (nx != 0) {
            l->pos--;
        }
        return;
    }
    start = l->pos - 1;
    for (;;) {
        at = l->pos;
        c = rd(l);
        if (c == 0) {
            break;
        }
        if (is_special(c) || is_ws(c)) {
            l->pos = at;
            break;
        }
    }
    l->lit = l->s + start;
    l->lit_len = at - start;
    if (l->lit_len == 2 && memcmp(l->lit, "in", 2) == 0) {
        l->tok = LT_IN;
    } else if (l->lit_len == 5 && memcmp(l->lit, "notin", 5) == 0) {
        l->tok = LT_NOTIN;
    } else {
        l->tok = LT_ID;
    }
}

/* The lookahead in the Values context, where "in" and "notin" are plain
 * identifiers. */
static enum ltok
vtok(const struct lex *l)
{
    return l->tok == LT_IN || l->tok == LT_NOTIN ? LT_ID : l->tok;
}

/* parseIdentifiersList after "(", through the closing ")". */
static bool
label_values(struct lex *l)
{
    enum ltok t;

    for (;;) {
        t = vtok(l);
        if (t == LT_ID && !label_value(l->lit, l->lit_len)) {
            return false;
        }
        lex_next(l);
        if (t == LT_ID) {
            t = vtok(l);
            if (t == LT_COMMA) {
                continue;
            }
            if (t == LT_CLOSE) {
                break;
            }
            return false;
        }
        if (t != LT_COMMA) {
            return false;
        }
        t = vtok(l);
        if (t == LT_CLOSE) {
            break;
        }
        if (t == LT_COMMA) {
            lex_next(l);
        }
    }
    lex_next(l); /* the ")" */
    return true;
}

/* parseRequirement + NewRequirement's checks. */
static bool
label_requirement(struct lex *l)
{
    enum ltok t = vtok(l), op;
    const char *v;
    size_t vlen;
    bool not = t == LT_NOT;

    if (not ) {
        lex_next(l);
        t = vtok(l);
    }
    if (t != LT_ID || !qualified_name(l->lit, l->lit_len)) {
        return false;
    }
    lex_next(l);
    t = vtok(l);
    if (not || t == LT_EOS || t == LT_COMMA) {
        return true; /* exists / does-not-exist: no values */
    }
    op = l->tok; /* KeyAndOperator context: "in", "notin" are operators */
    lex_next(l);
    switch (op) {
    case LT_IN:
    case LT_NOTIN:
        if (vtok(l) != LT_OPEN) {
            return false;
        }
        lex_next(l);
        t = vtok(l);
        if (t == LT_CLOSE) {
            lex_next(l);
            return true; /* "()" is the set {""} */
        }
        return (t == LT_ID || t == LT_COMMA) && label_values(l);
    case LT_EQ:
    case LT_DEQ:
    case LT_NEQ:
    case LT_GT:
    case LT_LT:
        break;
    default:
        return false;
    }
    t = vtok(l);
    v = "";
    vlen = 0;
    if (t != LT_EOS && t != LT_COMMA) {
        if (t != LT_ID) {
            return false;
        }
        v = l->lit;
        vlen = l->lit_len;
        lex_next(l);
    }
    if ((op == LT_GT || op == LT_LT) && !int64_ok(v, vlen)) {
        return false;
    }
    return label_value(v, vlen);
}

static bool
is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9], the qualified-name and
 * label-value pattern. */
static bool
qname_chars(const char *s, size_t n)
{
    size_t i;

    if (n == 0 || !is_alnum(s[0]) || !is_alnum(s[n - 1])) {
        return false;
    }
    for (i = 1; i + 1 < n; i++) {
        if (!is_alnum(s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.') {
            return false;
        }
    }
    return true;
}

/* IsDNS1123Subdomain: dot-separated [a-z0-9]([-a-z0-9]*[a-z0-9])? labels. */
static bool
dns1123_subdomain(const char *s, size_t n)
{
    size_t i, start = 0;

    if (n == 0 || n > SUBDOMAIN_MAX) {
        return false;
    }
    for (i = 0; i <= n; i++) {
        char c = i < n ? s[i] : '.';
        bool lower_alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');

        if (c == '.') {
            if (i == start || s[i - 1] == '-') {
                return false;
            }
            start = i + 1;
        } else if (!lower_alnum && (c != '-' || i == start)) {
            return false;
        }
    }
    return true;
}

/* IsQualifiedName: [DNS-1123 subdomain "/"] name, name at most 63 bytes. */
static bool
qualified_name(const char *k, size_t n)
{
    const char *slash = memchr(k, '/', n);
    const char *name = k;

    if (slash != NULL) {
        name = slash + 1;
        if (memchr(name, '/', n - (size_t)(name - k)) != NULL ||
            !dns1123_subdomain(k, (size_t)(slash - k))) {
            return false;
        }
    }
    n -= (size_t)(name - k);
    return n <= QNAME_MAX && qname_chars(name, n);
}

/* IsValidLabelValue: empty, or at most 63 bytes of the qualified-name
 * pattern. */
static bool
label_value(const char *v, size_t n)
{
    return n == 0 || (n <= LABEL_MAX && qname_chars(v, n));
}

/* strconv.ParseInt(s, 10, 64) succeeds. */
static bool
int64_ok(const char *s, size_t n)
{
    uint64_t u = 0, lim = (uint64_t)INT64_MAX;
    size_t i = 0;

    if (n > 0 && (s[0] == '+' || s[0] == '-')) {
        if (s[0] == '-') {
            lim++;
        }
        i++;
    }
    if (i == n) {
        return false;
    }
    for (; i < n; i++) {
        unsigned d = (unsigned char)s[i] - (unsigned)'0';

        if (d > 9 || u > (lim - d) / 10) {
            return false;
        }
        u = u * 10 + d;
    }
    return true;
}

/* splitTerm finds the first "!=", "==" or "=" (tried in that order at each
 * byte); UnescapeValue then refuses an unknown escape, a trailing backslash
 * and an unescaped ',' or '=' in the value. */
static bool
field_term(const char *t, size_t n, size_t *op_at, size_t *op_len)
{
    size_t i;
    bool in_slash = false;

    for (i = 0; i < n; i++) {
        if ((t[i] == '!' || t[i] == '=') && i + 1 < n && t[i + 1] == '=') {
            *op_len = 2;
            break;
        }
        if (t[i] == '=') {
            *op_len = 1;
            break;
        }
    }
    if (i == n) {
        return false;
    }
    *op_at = i;
    for (i += *op_len; i < n; i++) {
        if (in_slash) {
            if (t[i] != '\\' && t[i] != ',' && t[i] != '=') {
                return false;
            }
            in_slash = false;
        } else if (t[i] == '\\') {
            in_slash = true;
        } else if (t[i] == ',' || t[i] == '=') {
            return false;
        }
    }
    return !in_slash;
}

/* Length of the valid UTF-8 sequence at <s> as Go's decoder accepts it
 * (no overlongs, surrogates or values above U+10FFFF), 0 when invalid. */
static size_t
utf8_len(const unsigned char *s, size_t n)
{
    unsigned char lo = 0x80, hi = 0xbf;
    size_t need, i;

    if (s[0] < 0x80) {
        return 1;
    }
    if (s[0] < 0xc2 || s[0] > 0xf4) {
        return 0;
    }
    need = s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : 4;
    if (s[0] == 0xe0) {
        lo = 0xa0;
    } else if (s[0] == 0xed) {
        hi = 0x9f;
    } else if (s[0] == 0xf0) {
        lo = 0x90;
    } else if (s[0] == 0xf4) {
        hi = 0x8f;
    }
    if (n < need || s[1] < lo || s[1] > hi) {
        return 0;
    }
    for (i = 2; i < need; i++) {
        if (s[i] < 0x80 || s[i] > 0xbf) {
            return 0;
        }
    }
    return need;
}
