/* A small kubeconfig reader: see bn_load_kubeconfig.h. YAML is turned into
 * a jansson tree first (bn_load_yaml.c), so that JSON and YAML kubeconfigs
 * are read by the same code, with path-precise messages. */
#include "bn_load_kubeconfig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "bn_load_json.h"
#include "bn_load_yaml.h"
#include "px_err.h"

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
        root = bn_yaml_load(copy, name, err, errlen);
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
