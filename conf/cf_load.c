/* Loading: the file's bytes -> JSON (duplicate keys refused, parse errors at
 * file:line:column) -> a complete snapshot, or nothing. Snapshots are
 * immutable and reference-counted so that worker threads can keep using the
 * one they hold while a reload publishes the next. */
#include "cf_int.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cf_snapshot {
    struct cf_config cf; /* first: a cf_config pointer is a snapshot pointer */
    atomic_uint refs;
};

static void
free_list(char **l, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        free(l[i]);
    }
}

static void
snapshot_free(struct cf_snapshot *s)
{
    struct cf_config *cf = &s->cf;

    free(cf->path);
    free(cf->listen.address);
    free(cf->listen.cert);
    free(cf->listen.key);
    free(cf->listen.client_ca);
    free_list(cf->upstream.servers, cf->upstream.nservers);
    free(cf->upstream.ca);
    free(cf->upstream.server_name);
    free(cf->upstream.client_cert);
    free(cf->upstream.client_key);
    free(cf->upstream.health_path);
    free_list(cf->auth.issuers, cf->auth.nissuers);
    free_list(cf->auth.keys, cf->auth.nkeys);
    free_list(cf->auth.audiences, cf->auth.naudiences);
    free(cf->admin.address);
    free(cf->admin.socket);
    free(cf->admin.token_file);
    lim_policy_free(cf->policy);
    free(s);
}

struct cf_config *
cf_ref(struct cf_config *cf)
{
    if (cf != NULL) {
        atomic_fetch_add_explicit(&((struct cf_snapshot *)cf)->refs, 1, memory_order_relaxed);
    }
    return cf;
}

void
cf_unref(struct cf_config *cf)
{
    struct cf_snapshot *s = (struct cf_snapshot *)cf;

    /* acq_rel: the last holder must see every write made before the others
     * let go, as for any reference count. */
    if (s != NULL && atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) == 1) {
        snapshot_free(s);
    }
}

/* Builds a snapshot from <len> bytes of JSON at <text>. */
/* The file's "limits", or when it has none the built-in policy: like APF's
 * suggested FlowSchemas, a cluster gets sensible budgets without writing
 * any. The built-in one is conf/examples/sidecar.json's, embedded at build
 * time; errors in it are reported against that name. */
static int
read_limits(struct cf_ctx *x, const json_t *root, struct cf_config *cf)
{
    const json_t *limits = json_object_get(root, "limits");
    struct cf_ctx dx = *x;
    json_error_t je;
    json_t *def;
    int rc;

    if (limits != NULL) {
        return cf_limits_read(x, limits, cf);
    }
    def = json_loads(cf_default_policy_json, JSON_REJECT_DUPLICATES, &je);
    if (def == NULL) {
        return cf_fail(x, "built-in policy: invalid JSON: %s", je.text);
    }
    dx.file = "built-in policy (conf/examples/sidecar.json)";
    dx.dir = "";
    rc = cf_limits_read(&dx, json_object_get(def, "limits"), cf);
    if (rc != 0) {
        x->failed = dx.failed;
    }
    cf->policy_builtin = rc == 0;
    json_decref(def);
    return rc;
}

static int
load_buffer(const char *text, size_t len, const char *name, const char *dir, struct cf_config **out,
            char *err, size_t errlen)
{
    struct cf_ctx x;
    struct cf_snapshot *s;
    json_error_t je;
    json_t *root;
    int rc = -1;

    memset(&x, 0, sizeof(x));
    x.file = name;
    x.dir = dir;
    x.err = err;
    x.errlen = errlen;
    root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (root == NULL) {
        snprintf(err, errlen, "%s:%d:%d: invalid JSON: %s", name, je.line, je.column, je.text);
        return -1;
    }
    s = calloc(1, sizeof(*s));
    if (s == NULL || (s->cf.path = strdup(name)) == NULL) {
        cf_fail(&x, "out of memory");
        free(s);
        json_decref(root);
        return -1;
    }
    atomic_init(&s->refs, 1);
    cf_hash_prefix(text, len, s->cf.hash);
    if (cf_sections_read(&x, root, &s->cf) == 0 && read_limits(&x, root, &s->cf) == 0) {
        *out = &s->cf;
        s = NULL;
        rc = 0;
    }
    if (s != NULL) {
        snapshot_free(s);
    }
    json_decref(root);
    return rc;
}

int
cf_load_string(const char *json, const char *name, struct cf_config **out, char *err, size_t errlen)
{
    return load_buffer(json, strlen(json), name, "", out, err, errlen);
}

int
cf_load(const char *path, struct cf_config **out, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL, *dir = NULL, *slash;
    size_t len;
    int rc = -1;

    if (f == NULL) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    /* One byte more than the bound tells a file at the bound from a longer one. */
    buf = malloc(CF_FILE_MAX + 1);
    dir = strdup(path);
    if (buf == NULL || dir == NULL) {
        snprintf(err, errlen, "%s: out of memory", path);
        goto done;
    }
    len = fread(buf, 1, CF_FILE_MAX + 1, f);
    if (ferror(f)) {
        snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
        goto done;
    }
    if (len > CF_FILE_MAX) {
        snprintf(err, errlen, "%s: larger than %u MiB, refusing to load it", path,
                 CF_FILE_MAX >> 20);
        goto done;
    }
    /* Relative file paths inside resolve against the file's directory, so
     * that a config works whatever the daemon's working directory. */
    slash = strrchr(dir, '/');
    if (slash == NULL) {
        dir[0] = '\0';
    } else {
        slash[slash == dir ? 1 : 0] = '\0';
    }
    rc = load_buffer(buf, len, path, dir, out, err, errlen);

done:
    free(dir);
    free(buf);
    fclose(f);
    return rc;
}
