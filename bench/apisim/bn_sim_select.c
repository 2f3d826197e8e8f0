/* Selectors: see bn_sim_select.h. */
#include "bn_sim_select.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "px_err.h"

static const char *
store(struct bn_sim_selector *s, const char *p, size_t n)
{
    char *d;

    if (n + 1 > sizeof(s->buf) - s->used) {
        return NULL;
    }
    d = s->buf + s->used;
    memcpy(d, p, n);
    d[n] = '\0';
    s->used += n + 1;
    return d;
}

static void
reset(struct bn_sim_selector *s, bool is_field)
{
    s->is_field = is_field;
    s->nreqs = 0;
    s->used = 0;
}

/* --- labels: the lexer of pkg/labels/selector.go --- */

static bool
is_special(char c)
{
    return c == ' ' || c == '\t' || c == '!' || c == '=' || c == ',' || c == '(' || c == ')' ||
           c == '<' || c == '>' || c == '\0';
}

static const char *
skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t') {
        p++;
    }
    return p;
}

/* An identifier at <p>: its length (0 when there is none). */
static size_t
ident(const char *p)
{
    size_t n = 0;

    while (!is_special(p[n])) {
        n++;
    }
    return n;
}

static bool
word_is(const char *p, size_t n, const char *w)
{
    return n == strlen(w) && strncmp(p, w, n) == 0;
}

static int
parse_values(struct bn_sim_selector *s, struct bn_sim_sel_req *r, const char **pp, char *err,
             size_t errlen)
{
    const char *p = skip_ws(*pp);

    if (*p != '(') {
        px_errf(err, errlen, "unable to parse requirement: found '%c', expected: '('", *p);
        return -1;
    }
    p = skip_ws(p + 1);
    while (*p != ')') {
        size_t n = ident(p);

        if (r->nvalues == BN_SIM_SEL_MAX_VALUES) {
            px_errf(err, errlen, "unable to parse requirement: more than %d values",
                    BN_SIM_SEL_MAX_VALUES);
            return -1;
        }
        /* an empty value is allowed: "k in (,a)" */
        if ((r->values[r->nvalues++] = store(s, p, n)) == NULL) {
            px_errf(err, errlen, "selector is too long");
            return -1;
        }
        p = skip_ws(p + n);
        if (*p == ',') {
            p = skip_ws(p + 1);
        } else if (*p != ')') {
            px_errf(err, errlen, "unable to parse requirement: found '%c', expected: ',' or ')'",
                    *p != '\0' ? *p : ' ');
            return -1;
        }
    }
    *pp = p + 1;
    return 0;
}

static int
parse_label_req(struct bn_sim_selector *s, const char **pp, char *err, size_t errlen)
{
    struct bn_sim_sel_req *r = &s->reqs[s->nreqs];
    const char *p = skip_ws(*pp);
    size_t n;
    bool neg = false;

    memset(r, 0, sizeof(*r));
    if (*p == '!') {
        neg = true;
        p = skip_ws(p + 1);
    }
    n = ident(p);
    if (n == 0) {
        px_errf(err, errlen, "unable to parse requirement: found '%c', expected: identifier",
                *p != '\0' ? *p : ' ');
        return -1;
    }
    if ((r->key = store(s, p, n)) == NULL) {
        px_errf(err, errlen, "selector is too long");
        return -1;
    }
    p = skip_ws(p + n);
    if (neg || *p == ',' || *p == '\0') {
        r->op = neg ? BN_SIM_SEL_NOT_EXISTS : BN_SIM_SEL_EXISTS;
        *pp = p;
        return 0;
    }
    if (p[0] == '!' && p[1] == '=') {
        r->op = BN_SIM_SEL_NEQ;
        p += 2;
    } else if (p[0] == '=' && p[1] == '=') {
        r->op = BN_SIM_SEL_EQ;
        p += 2;
    } else if (p[0] == '=') {
        r->op = BN_SIM_SEL_EQ;
        p += 1;
    } else if (p[0] == '>' || p[0] == '<') {
        r->op = p[0] == '>' ? BN_SIM_SEL_GT : BN_SIM_SEL_LT;
        p += 1;
    } else if ((n = ident(p)) > 0 && (word_is(p, n, "in") || word_is(p, n, "notin"))) {
        r->op = word_is(p, n, "in") ? BN_SIM_SEL_IN : BN_SIM_SEL_NOTIN;
        p += n;
        if (parse_values(s, r, &p, err, errlen) != 0) {
            return -1;
        }
        *pp = p;
        return 0;
    } else {
        px_errf(err, errlen,
                "unable to parse requirement: found '%.*s', expected: in, notin, =, "
                "==, !=, gt, lt",
                (int)(n > 0 ? n : 1), p);
        return -1;
    }
    p = skip_ws(p);
    n = ident(p);
    if ((r->values[0] = store(s, p, n)) == NULL) {
        px_errf(err, errlen, "selector is too long");
        return -1;
    }
    r->nvalues = 1;
    if (r->op == BN_SIM_SEL_GT || r->op == BN_SIM_SEL_LT) {
        char *end;

        errno = 0;
        (void)strtoll(r->values[0], &end, 10);
        if (n == 0 || *end != '\0' || errno != 0) {
            px_errf(err, errlen,
                    "unable to parse requirement: for 'gt', 'lt' operators, the "
                    "value must be an integer");
            return -1;
        }
    }
    *pp = skip_ws(p + n);
    return 0;
}

int
bn_sim_label_selector_parse(struct bn_sim_selector *s, const char *text, char *err, size_t errlen)
{
    const char *p = text != NULL ? skip_ws(text) : "";

    reset(s, false);
    while (*p != '\0') {
        if (s->nreqs == BN_SIM_SEL_MAX_REQS) {
            px_errf(err, errlen, "selector has more than %d requirements", BN_SIM_SEL_MAX_REQS);
            return -1;
        }
        if (parse_label_req(s, &p, err, errlen) != 0) {
            return -1;
        }
        s->nreqs++;
        p = skip_ws(p);
        if (*p == ',') {
            p = skip_ws(p + 1);
            if (*p == '\0') {
                px_errf(err, errlen, "unable to parse requirement: found '', expected: identifier");
                return -1;
            }
        } else if (*p != '\0') {
            px_errf(err, errlen, "unable to parse requirement: found '%c', expected: ','", *p);
            return -1;
        }
    }
    return 0;
}

/* --- fields: pkg/fields/selector.go, with its escapes --- */

/* The next term up to an unescaped ',' (or end), unescaped into <out>. */
static int
field_term(const char **pp, char *out, size_t cap, size_t *outlen, size_t *op_at, int *op)
{
    const char *p = *pp;
    size_t n = 0;

    *op_at = SIZE_MAX;
    *op = -1;
    for (; *p != '\0' && *p != ','; p++) {
        if (*p == '\\' && p[1] != '\0') {
            if (n + 1 >= cap) {
                return -1;
            }
            out[n++] = *++p;
            continue;
        }
        if (*op_at == SIZE_MAX && (*p == '=' || (*p == '!' && p[1] == '='))) {
            *op_at = n;
            if (*p == '!') {
                *op = BN_SIM_SEL_NEQ;
                p++;
            } else {
                *op = BN_SIM_SEL_EQ;
                if (p[1] == '=') {
                    p++;
                }
            }
            continue;
        }
        if (n + 1 >= cap) {
            return -1;
        }
        out[n++] = *p;
    }
    out[n] = '\0';
    *outlen = n;
    *pp = *p == ',' ? p + 1 : p;
    return 0;
}

int
bn_sim_field_selector_parse(struct bn_sim_selector *s, const char *text, char *err, size_t errlen)
{
    const char *p = text != NULL ? text : "";
    char term[512];

    reset(s, true);
    while (*p != '\0') {
        struct bn_sim_sel_req *r = &s->reqs[s->nreqs];
        size_t n, at;
        int op;

        if (s->nreqs == BN_SIM_SEL_MAX_REQS) {
            px_errf(err, errlen, "selector has more than %d requirements", BN_SIM_SEL_MAX_REQS);
            return -1;
        }
        if (field_term(&p, term, sizeof(term), &n, &at, &op) != 0) {
            px_errf(err, errlen, "field selector term is too long");
            return -1;
        }
        if (op < 0) {
            px_errf(err, errlen, "invalid selector: '%.200s'; can't understand '%.200s'", text,
                    term);
            return -1;
        }
        memset(r, 0, sizeof(*r));
        r->op = (enum bn_sim_sel_op)op;
        r->key = store(s, term, at);
        r->values[0] = store(s, term + at, n - at);
        r->nvalues = 1;
        if (r->key == NULL || r->values[0] == NULL) {
            px_errf(err, errlen, "selector is too long");
            return -1;
        }
        s->nreqs++;
    }
    return 0;
}

/* --- matching --- */

const char *
bn_sim_packed_get(const char *packed, const char *key)
{
    const char *p = packed;

    if (p == NULL) {
        return NULL;
    }
    while (*p != '\0') {
        const char *v = p + strlen(p) + 1;

        if (strcmp(p, key) == 0) {
            return v;
        }
        p = v + strlen(v) + 1;
    }
    return NULL;
}

static bool
in_values(const struct bn_sim_sel_req *r, const char *v)
{
    size_t i;

    for (i = 0; i < r->nvalues; i++) {
        if (strcmp(r->values[i], v) == 0) {
            return true;
        }
    }
    return false;
}

static bool
req_matches(const struct bn_sim_selector *s, const struct bn_sim_sel_req *r, const char *packed)
{
    const char *v = bn_sim_packed_get(packed, r->key);
    long long have, want;
    char *end;

    if (v == NULL && s->is_field) {
        v = "";
    }
    switch (r->op) {
    case BN_SIM_SEL_EXISTS:
        return v != NULL;
    case BN_SIM_SEL_NOT_EXISTS:
        return v == NULL;
    case BN_SIM_SEL_EQ:
    case BN_SIM_SEL_IN:
        return v != NULL && in_values(r, v);
    case BN_SIM_SEL_NEQ:
    case BN_SIM_SEL_NOTIN:
        return v == NULL || !in_values(r, v);
    case BN_SIM_SEL_GT:
    case BN_SIM_SEL_LT:
        if (v == NULL) {
            return false;
        }
        have = strtoll(v, &end, 10);
        if (*end != '\0' || *v == '\0') {
            return false;
        }
        want = strtoll(r->values[0], NULL, 10);
        return r->op == BN_SIM_SEL_GT ? have > want : have < want;
    }
    return false;
}

bool
bn_sim_selector_matches(const struct bn_sim_selector *s, const char *packed)
{
    size_t i;

    for (i = 0; i < s->nreqs; i++) {
        if (!req_matches(s, &s->reqs[i], packed)) {
            return false;
        }
    }
    return true;
}

const char *
bn_sim_selector_exact(const struct bn_sim_selector *s, const char *key)
{
    size_t i;

    for (i = 0; i < s->nreqs; i++) {
        if (s->reqs[i].op == BN_SIM_SEL_EQ && s->reqs[i].nvalues == 1 &&
            strcmp(s->reqs[i].key, key) == 0) {
            return s->reqs[i].values[0];
        }
    }
    return NULL;
}

void
bn_sim_selector_copy(struct bn_sim_selector *dst, const struct bn_sim_selector *src)
{
    size_t i, j;

    memcpy(dst, src, sizeof(*dst));
    for (i = 0; i < dst->nreqs; i++) {
        dst->reqs[i].key = dst->buf + (src->reqs[i].key - src->buf);
        for (j = 0; j < dst->reqs[i].nvalues; j++) {
            dst->reqs[i].values[j] = dst->buf + (src->reqs[i].values[j] - src->buf);
        }
    }
}
