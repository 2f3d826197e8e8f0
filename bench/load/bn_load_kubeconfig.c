/* A small kubeconfig reader: see bn_load_kubeconfig.h. YAML is turned into
 * a jansson tree first, so that JSON and YAML kubeconfigs are read by the
 * same code, with path-precise messages. */
#include "bn_load_kubeconfig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "bn_load_json.h"
#include "px_err.h"

#define MAX_LINES 20000
#define MAX_DEPTH 32

/* --- the YAML subset --------------------------------------------------- */

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

static json_t *
yaml_load(char *text, const char *name, char *err, size_t errlen)
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
        yfail(&y, 0, "empty");
    }
    free(y.lines);
    return root;
}

/* --- the kubeconfig ---------------------------------------------------- */

/* The entry of list <key> (at the top) whose "name" is <name>, and its
 * <inner> object ("cluster", "user", "context"). */
static const json_t *
named(struct bn_json_ctx *x, const json_t *root, const char *key, const char *inner,
      const char *name)
{
    const json_t *list = json_object_get(root, key), *e;
    size_t i, saved;

    if (!json_is_array(list)) {
        saved = bn_json_key(x, key);
        bn_json_fail_got(x, list, "a list");
        bn_json_restore(x, saved);
        return NULL;
    }
    json_array_foreach(list, i, e)
    {
        const char *n = json_string_value(json_object_get(e, "name"));

        if (n != NULL && strcmp(n, name) == 0) {
            const json_t *in = json_object_get(e, inner);

            saved = bn_json_key(x, key);
            bn_json_index(x, i);
            bn_json_key(x, inner);
            if (!json_is_object(in)) {
                bn_json_fail_got(x, in, "an object");
                bn_json_restore(x, saved);
                return NULL;
            }
            /* The path now points into the entry for later messages. */
            return in;
        }
    }
    saved = bn_json_key(x, key);
    bn_json_fail(x, "no entry named \"%s\"", name);
    bn_json_restore(x, saved);
    return NULL;
}

static int
str_field(struct bn_json_ctx *x, const json_t *o, const char *key, char **out)
{
    return bn_json_string(x, o, key, false, out);
}

/* A *-data field: base64 of PEM. */
static int
data_field(struct bn_json_ctx *x, const json_t *o, const char *key, char **out, size_t *len)
{
    char *b64 = NULL, *dst;
    size_t n, i, o2 = 0;
    int dl;

    if (str_field(x, o, key, &b64) != 0 || b64 == NULL) {
        return x->failed ? -1 : 0;
    }
    n = strlen(b64);
    for (i = 0; i < n; i++) { /* whitespace may wrap long values */
        if (b64[i] != ' ' && b64[i] != '\n' && b64[i] != '\r') {
            b64[o2++] = b64[i];
        }
    }
    b64[o2] = '\0';
    dst = malloc(o2 / 4 * 3 + 4);
    dl = dst != NULL && o2 % 4 == 0
             ? EVP_DecodeBlock((unsigned char *)dst, (const unsigned char *)b64, (int)o2)
             : -1;
    if (dl < 0) {
        size_t saved = bn_json_key(x, key);

        bn_json_fail(x, "expected base64");
        bn_json_restore(x, saved);
        free(dst);
        free(b64);
        return -1;
    }
    /* EVP_DecodeBlock counts padding as zero bytes. */
    while (o2 > 0 && b64[o2 - 1] == '=') {
        o2--;
        dl--;
    }
    dst[dl] = '\0';
    free(b64);
    *out = dst;
    *len = (size_t)dl;
    return 0;
}

/* A file field resolved against <dir>, as kubectl resolves them. */
static int
file_field(struct bn_json_ctx *x, const json_t *o, const char *key, const char *dir, char **out)
{
    char *raw = NULL;
    size_t n;

    if (str_field(x, o, key, &raw) != 0 || raw == NULL) {
        return x->failed ? -1 : 0;
    }
    if (raw[0] == '/' || dir[0] == '\0') {
        *out = raw;
        return 0;
    }
    n = strlen(dir) + strlen(raw) + 2;
    if ((*out = malloc(n)) != NULL) {
        snprintf(*out, n, "%s/%s", dir, raw);
    }
    free(raw);
    return *out == NULL ? bn_json_fail(x, "out of memory") : 0;
}

static int
read_token_file(struct bn_json_ctx *x, const char *path, char **out)
{
    FILE *f = fopen(path, "r");
    char buf[16384];
    size_t n;

    if (f == NULL) {
        return bn_json_fail(x, "tokenFile %s: %s", path, strerror(errno));
    }
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    buf[strcspn(buf, "\r\n")] = '\0';
    free(*out);
    *out = strdup(buf);
    return *out == NULL ? bn_json_fail(x, "out of memory") : 0;
}

static int
from_tree(struct bn_json_ctx *x, const json_t *root, const char *dir, struct bn_kubeconfig *k)
{
    const json_t *ctx, *cluster, *user;
    char *cname = NULL, *uname = NULL, *token_file = NULL;
    size_t saved;
    int rc = -1;

    if (!json_is_object(root)) {
        return bn_json_fail_got(x, root, "a kubeconfig object");
    }
    if (bn_json_string(x, root, "current-context", true, &k->context) != 0 ||
        (ctx = named(x, root, "contexts", "context", k->context)) == NULL) {
        return -1;
    }
    if (bn_json_string(x, ctx, "cluster", true, &cname) != 0 ||
        bn_json_string(x, ctx, "user", true, &uname) != 0) {
        goto out;
    }
    bn_json_restore(x, 0);
    if ((cluster = named(x, root, "clusters", "cluster", cname)) == NULL ||
        str_field(x, cluster, "server", &k->server) != 0 ||
        file_field(x, cluster, "certificate-authority", dir, &k->ca_file) != 0 ||
        data_field(x, cluster, "certificate-authority-data", &k->ca_data, &k->ca_len) != 0 ||
        bn_json_bool(x, cluster, "insecure-skip-tls-verify", &k->insecure) != 0) {
        goto out;
    }
    bn_json_restore(x, 0);
    if ((user = named(x, root, "users", "user", uname)) == NULL) {
        goto out;
    }
    if (json_object_get(user, "exec") != NULL || json_object_get(user, "auth-provider") != NULL) {
        saved = bn_json_key(x, json_object_get(user, "exec") != NULL ? "exec" : "auth-provider");
        bn_json_fail(x, "credential plugins are not supported; use a token or a client "
                        "certificate");
        bn_json_restore(x, saved);
        goto out;
    }
    if (file_field(x, user, "client-certificate", dir, &k->cert_file) != 0 ||
        file_field(x, user, "client-key", dir, &k->key_file) != 0 ||
        data_field(x, user, "client-certificate-data", &k->cert_data, &k->cert_len) != 0 ||
        data_field(x, user, "client-key-data", &k->key_data, &k->key_len) != 0 ||
        str_field(x, user, "token", &k->token) != 0 ||
        file_field(x, user, "tokenFile", dir, &token_file) != 0) {
        goto out;
    }
    if (k->token == NULL && token_file != NULL && read_token_file(x, token_file, &k->token) != 0) {
        goto out;
    }
    rc = 0;
out:
    free(cname);
    free(uname);
    free(token_file);
    return rc;
}

int
bn_kubeconfig_parse(const char *text, size_t len, const char *name, const char *dir,
                    struct bn_kubeconfig *out, char *err, size_t errlen)
{
    struct bn_json_ctx x;
    json_t *root;
    size_t i = 0;
    char *copy;
    int rc;

    memset(out, 0, sizeof(*out));
    while (i < len && (text[i] == ' ' || text[i] == '\n' || text[i] == '\r' || text[i] == '\t')) {
        i++;
    }
    if (i < len && text[i] == '{') {
        json_error_t je;

        root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
        if (root == NULL) {
            px_errf(err, errlen, "%s:%d:%d: invalid JSON: %s", name, je.line, je.column, je.text);
            return -1;
        }
    } else {
        if ((copy = malloc(len + 1)) == NULL) {
            px_errf(err, errlen, "%s: out of memory", name);
            return -1;
        }
        memcpy(copy, text, len);
        copy[len] = '\0';
        root = yaml_load(copy, name, err, errlen);
        free(copy);
        if (root == NULL) {
            return -1;
        }
    }
    bn_json_ctx_init(&x, name, err, errlen);
    rc = from_tree(&x, root, dir, out);
    json_decref(root);
    if (rc != 0) {
        bn_kubeconfig_fini(out);
    }
    return rc;
}

int
bn_kubeconfig_load(const char *path, struct bn_kubeconfig *out, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    const char *slash = strrchr(path, '/');
    char *buf, dir[1024] = "";
    size_t n;
    int rc;

    memset(out, 0, sizeof(*out));
    if (f == NULL) {
        px_errf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    buf = malloc(BN_KUBECONFIG_MAX + 1);
    n = buf != NULL ? fread(buf, 1, BN_KUBECONFIG_MAX + 1, f) : 0;
    fclose(f);
    if (buf == NULL || n > BN_KUBECONFIG_MAX) {
        px_errf(err, errlen, "%s: %s", path, buf == NULL ? "out of memory" : "too large");
        free(buf);
        return -1;
    }
    if (slash != NULL) {
        snprintf(dir, sizeof(dir), "%.*s", slash == path ? 1 : (int)(slash - path), path);
    }
    rc = bn_kubeconfig_parse(buf, n, path, dir, out, err, errlen);
    free(buf);
    return rc;
}

void
bn_kubeconfig_fini(struct bn_kubeconfig *k)
{
    free(k->context);
    free(k->server);
    free(k->ca_file);
    free(k->ca_data);
    free(k->cert_file);
    free(k->key_file);
    if (k->key_data != NULL) {
        OPENSSL_cleanse(k->key_data, k->key_len);
    }
    free(k->cert_data);
    free(k->key_data);
    if (k->token != NULL) {
        OPENSSL_cleanse(k->token, strlen(k->token));
    }
    free(k->token);
    memset(k, 0, sizeof(*k));
}
