/* The YAML subset kubeconfig files are written in, read into a jansson
 * tree: block mappings and sequences ("- key: value" items included),
 * one-line flow collections, plain, 'single' and "double" quoted scalars,
 * comments. What lies beyond (anchors, tags, block and multi-line scalars)
 * is refused with its line rather than misread. */
#include "bn_load_yaml.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "px_err.h"

#define MAX_LINES 20000
#define MAX_DEPTH 32

struct line {
    size_t indent;
    char *text; /* comment stripped, trailing blanks trimmed, in the copy */
    size_t no;  /* 1-based, for messages */
};

struct yaml {
    struct line *lines;
    size_t n, at;
    const char *name;
    char *err;
    size_t errlen;
    bool failed;
};

static json_t *parse_block(struct yaml *y, size_t indent, int depth);

static int
yfail(struct yaml *y, size_t no, const char *what)
{
    if (!y->failed) {
        px_errf(y->err, y->errlen, "%s:%zu: %s", y->name, no, what);
        y->failed = true;
    }
    return -1;
}

/* Cuts a comment (" #" or a leading "#") outside quotes, trims the end. */
static void
strip_comment(char *s)
{
    char q = 0;
    size_t i, n;

    for (i = 0; s[i] != '\0'; i++) {
        if (q != 0) {
            if (s[i] == q && !(q == '"' && i > 0 && s[i - 1] == '\\')) {
                q = 0;
            }
        } else if (s[i] == '"' || s[i] == '\'') {
            q = s[i];
        } else if (s[i] == '#' && (i == 0 || s[i - 1] == ' ' || s[i - 1] == '\t')) {
            s[i] = '\0';
            break;
        }
    }
    n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r')) {
        s[--n] = '\0';
    }
}

static int
split_lines(struct yaml *y, char *text)
{
    char *p = text, *nl;
    size_t no = 0;

    y->lines = calloc(MAX_LINES, sizeof(*y->lines));
    if (y->lines == NULL) {
        return yfail(y, 0, "out of memory");
    }
    for (; p != NULL; p = nl != NULL ? nl + 1 : NULL) {
        size_t ind = 0;

        nl = strchr(p, '\n');
        if (nl != NULL) {
            *nl = '\0';
        }
        no++;
        while (p[ind] == ' ') {
            ind++;
        }
        if (p[ind] == '\t') {
            return yfail(y, no, "tabs cannot indent YAML");
        }
        strip_comment(p + ind);
        if (p[ind] == '\0' || strcmp(p + ind, "---") == 0 || strncmp(p + ind, "%YAML", 5) == 0) {
            continue;
        }
        if (y->n == MAX_LINES) {
            return yfail(y, no, "too many lines");
        }
        y->lines[y->n++] = (struct line){.indent = ind, .text = p + ind, .no = no};
    }
    return 0;
}

/* A quoted scalar at *<p>; *<p> moves past its closing quote. */
static json_t *
quoted(struct yaml *y, size_t no, const char **p)
{
    char q = **p, buf[8192];
    const char *s = *p + 1;
    size_t o = 0;

    for (; *s != '\0' && o < sizeof(buf) - 1; s++) {
        if (*s == q) {
            if (q == '\'' && s[1] == '\'') {
                buf[o++] = '\'';
                s++;
                continue;
            }
            buf[o] = '\0';
            *p = s + 1;
            return json_string(buf);
        }
        if (q == '"' && *s == '\\' && s[1] != '\0') {
            s++;
            buf[o++] = *s == 'n' ? '\n' : *s == 't' ? '\t' : *s;
            continue;
        }
        buf[o++] = *s;
    }
    yfail(y, no, "unterminated or too long quoted string (multi-line strings are not supported)");
    return NULL;
}

static json_t *
plain(const char *s, size_t n)
{
    char buf[8192];

    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t')) {
        n--;
    }
    if (n >= sizeof(buf)) {
        n = sizeof(buf) - 1;
    }
    memcpy(buf, s, n);
    buf[n] = '\0';
    if (strcmp(buf, "true") == 0) {
        return json_true();
    }
    if (strcmp(buf, "false") == 0) {
        return json_false();
    }
    if (strcmp(buf, "null") == 0 || strcmp(buf, "~") == 0 || n == 0) {
        return json_null();
    }
    return json_string(buf);
}

static json_t *flow(struct yaml *y, size_t no, const char **p, int depth);

static void
skip_blanks(const char **p)
{
    while (**p == ' ' || **p == '\t') {
        (*p)++;
    }
}

/* One value inside a flow collection, ending at , } or ]. */
static json_t *
flow_value(struct yaml *y, size_t no, const char **p, int depth)
{
    const char *s;

    skip_blanks(p);
    if (**p == '{' || **p == '[') {
        return flow(y, no, p, depth + 1);
    }
    if (**p == '"' || **p == '\'') {
        return quoted(y, no, p);
    }
    s = *p;
    while (**p != '\0' && **p != ',' && **p != '}' && **p != ']' &&
           !(**p == ':' && ((*p)[1] == ' ' || (*p)[1] == '\0'))) {
        (*p)++;
    }
    return plain(s, (size_t)(*p - s));
}

static json_t *
flow(struct yaml *y, size_t no, const char **p, int depth)
{
    bool map = **p == '{';
    char close = map ? '}' : ']';
    json_t *out = map ? json_object() : json_array();

    if (depth > MAX_DEPTH || out == NULL) {
        json_decref(out);
        yfail(y, no, "nested too deeply");
        return NULL;
    }
    (*p)++;
    for (;;) {
        json_t *k = NULL, *v;

        skip_blanks(p);
        if (**p == close) {
            (*p)++;
            return out;
        }
        if (map) {
            k = flow_value(y, no, p, depth);
            skip_blanks(p);
            if (k == NULL || !json_is_string(k) || **p != ':') {
                json_decref(k);
                break;
            }
            (*p)++;
        }
        v = flow_value(y, no, p, depth);
        if (v == NULL || (map ? json_object_set_new(out, json_string_value(k), v)
                              : json_array_append_new(out, v)) != 0) {
            json_decref(k);
            break;
        }
        json_decref(k);
        skip_blanks(p);
        if (**p == ',') {
            (*p)++;
        } else if (**p != close) {
            break;
        }
    }
    json_decref(out);
    yfail(y, no, "malformed flow collection (expected {k: v, ...} or [a, ...] on one line)");
    return NULL;
}

/* A value written on the line itself after "key:" or "- ". */
static json_t *
inline_value(struct yaml *y, size_t no, const char *s)
{
    const char *p = s;
    json_t *v;

    if (*s == '&' || *s == '*' || *s == '!' || *s == '|' || *s == '>') {
        yfail(y, no, "anchors, aliases, tags and block scalars are not supported");
        return NULL;
    }
    if (*s == '{' || *s == '[' || *s == '"' || *s == '\'') {
        v = *s == '{' || *s == '[' ? flow(y, no, &p, 0) : quoted(y, no, &p);
        skip_blanks(&p);
        if (v != NULL && *p != '\0') {
            json_decref(v);
            yfail(y, no, "unexpected text after a value");
            return NULL;
        }
        return v;
    }
    return plain(s, strlen(s));
}

/* Finds the ':' that ends a mapping key on <s>, or NULL. */
static const char *
key_colon(const char *s)
{
    const char *p = s;

    if (*p == '"' || *p == '\'') {
        char q = *p++;

        while (*p != '\0' && *p != q) {
            p++;
        }
        if (*p == '\0') {
            return NULL;
        }
        p++;
        return *p == ':' && (p[1] == ' ' || p[1] == '\0') ? p : NULL;
    }
    if (*p == '{' || *p == '[' || *p == '-') {
        return NULL;
    }
    for (; *p != '\0'; p++) {
        if (*p == ':' && (p[1] == ' ' || p[1] == '\0')) {
            return p;
        }
    }
    return NULL;
}

static bool
is_item(const char *s)
{
    return s[0] == '-' && (s[1] == ' ' || s[1] == '\0');
}

static json_t *
parse_seq(struct yaml *y, size_t indent, int depth)
{
    json_t *arr = json_array();

    while (arr != NULL && y->at < y->n && y->lines[y->at].indent == indent &&
           is_item(y->lines[y->at].text)) {
        struct line *l = &y->lines[y->at];
        const char *rest = l->text + 1;
        json_t *v;

        while (*rest == ' ') {
            rest++;
        }
        if (*rest == '\0') {
            y->at++;
            v = y->at < y->n && y->lines[y->at].indent > indent
                    ? parse_block(y, y->lines[y->at].indent, depth + 1)
                    : json_null();
        } else if (key_colon(rest) != NULL || is_item(rest)) {
            /* "- key: v" opens a mapping indented where "key" starts. */
            l->indent += (size_t)(rest - l->text);
            l->text = (char *)rest;
            v = parse_block(y, l->indent, depth + 1);
        } else {
            v = inline_value(y, l->no, rest);
            y->at++;
        }
        if (v == NULL || json_array_append_new(arr, v) != 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

static json_t *
parse_map(struct yaml *y, size_t indent, int depth)
{
    json_t *obj = json_object();

    while (obj != NULL && y->at < y->n && y->lines[y->at].indent == indent &&
           !is_item(y->lines[y->at].text)) {
        struct line *l = &y->lines[y->at];
        const char *colon = key_colon(l->text), *rest;
        const char *kp = l->text;
        json_t *k, *v;

        if (colon == NULL) {
            json_decref(obj);
            yfail(y, l->no, "expected \"key: value\"");
            return NULL;
        }
        k = *kp == '"' || *kp == '\'' ? quoted(y, l->no, &kp) : plain(kp, (size_t)(colon - kp));
        rest = colon + 1;
        while (*rest == ' ') {
            rest++;
        }
        y->at++;
        if (*rest != '\0') {
            v = inline_value(y, l->no, rest);
        } else if (y->at < y->n && y->lines[y->at].indent > indent) {
            v = parse_block(y, y->lines[y->at].indent, depth + 1);
        } else if (y->at < y->n && y->lines[y->at].indent == indent &&
                   is_item(y->lines[y->at].text)) {
            v = parse_seq(y, indent, depth + 1); /* kubectl: "users:\n- name: x" */
        } else {
            v = json_null();
        }
        if (k == NULL || !json_is_string(k) || v == NULL ||
            json_object_set_new(obj, json_string_value(k), v) != 0) {
            json_decref(k);
            json_decref(obj);
            if (!y->failed) {
                yfail(y, l->no, "bad mapping entry");
            }
            return NULL;
        }
        json_decref(k);
    }
    return obj;
}

static json_t *
parse_block(struct yaml *y, size_t indent, int depth)
{
    if (depth > MAX_DEPTH) {
        yfail(y, y->lines[y->at].no, "nested too deeply");
        return NULL;
    }
    return is_item(y->lines[y->at].text) ? parse_seq(y, indent, depth)
                                         : parse_map(y, indent, depth);
}

json_t *
bn_yaml_load(char *text, const char *name, char *err, size_t errlen)
{
    struct yaml y = {.name = name, .err = err, .errlen = errlen};
    json_t *root = NULL;

    if (split_lines(&y, text) == 0 && y.n > 0) {
        root = parse_block(&y, y.lines[0].indent, 0);
        if (root != NULL && y.at < y.n) {
            yfail(&y, y.lines[y.at].no, "unexpected indentation");
            json_decref(root);
            root = NULL;
        }
    } else if (!y.failed) {
        px_errf(err, errlen, "%s: empty document", name);
    }
    free(y.lines);
    return root;
}
