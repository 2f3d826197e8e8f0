/* Object revisions: see bn_sim_obj.h. */
#include "bn_sim_obj.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "px_err.h"

#define PACK_MAX 16384 /* labels or fields of one object, packed */

struct pack {
    char buf[PACK_MAX];
    size_t len;
};

static int
pack_add(struct pack *p, const char *k, const char *v)
{
    size_t kl = strlen(k), vl = strlen(v);

    if (kl + vl + 3 > sizeof(p->buf) - p->len) {
        return -1;
    }
    memcpy(p->buf + p->len, k, kl + 1);
    p->len += kl + 1;
    memcpy(p->buf + p->len, v, vl + 1);
    p->len += vl + 1;
    return 0;
}

json_t *
bn_sim_json_path(json_t *doc, const char *path)
{
    char part[128];
    const char *p = path;

    while (doc != NULL && *p != '\0') {
        const char *dot = strchr(p, '.');
        size_t n = dot != NULL ? (size_t)(dot - p) : strlen(p);

        if (n >= sizeof(part)) {
            return NULL;
        }
        memcpy(part, p, n);
        part[n] = '\0';
        doc = json_object_get(doc, part);
        p += n + (dot != NULL ? 1 : 0);
    }
    return doc;
}

/* A selectable field's value as kube's *ToSelectableFields renders it:
 * strings as they are, booleans as "true"/"false", absent as "". */
static void
field_value(json_t *v, char *out, size_t len)
{
    if (json_is_string(v)) {
        snprintf(out, len, "%s", json_string_value(v));
    } else if (json_is_boolean(v)) {
        snprintf(out, len, "%s", json_is_true(v) ? "true" : "false");
    } else if (json_is_integer(v)) {
        snprintf(out, len, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    } else {
        out[0] = '\0';
    }
}

static int
collect(enum bn_sim_res r, json_t *doc, struct pack *labels, struct pack *fields)
{
    const struct bn_sim_resdef *d = bn_sim_resdef(r);
    json_t *meta = json_object_get(doc, "metadata"), *lab = json_object_get(meta, "labels"), *v;
    const char *k, *ns = json_string_value(json_object_get(meta, "namespace"));
    char val[1024];
    size_t i;

    labels->len = 0;
    fields->len = 0;
    json_object_foreach(lab, k, v)
    {
        if (json_is_string(v) && pack_add(labels, k, json_string_value(v)) != 0) {
            return -1;
        }
    }
    if (pack_add(fields, "metadata.name", json_string_value(json_object_get(meta, "name"))) != 0 ||
        (d->namespaced && pack_add(fields, "metadata.namespace", ns != NULL ? ns : "") != 0)) {
        return -1;
    }
    for (i = 0; d->fields[i] != NULL; i++) {
        field_value(bn_sim_json_path(doc, d->fields[i]), val, sizeof(val));
        if (pack_add(fields, d->fields[i], val) != 0) {
            return -1;
        }
    }
    labels->buf[labels->len++] = '\0';
    fields->buf[fields->len++] = '\0';
    return 0;
}

static struct bn_sim_obj *
assemble(enum bn_sim_res r, uint64_t rv, const char *ns, const char *name, const char *uid,
         const struct pack *labels, const struct pack *fields, const char *json, size_t json_len,
         char *err, size_t errlen)
{
    size_t nsl = strlen(ns), nl = strlen(name), ul = strlen(uid);
    size_t keyl = nsl > 0 ? nsl + 1 + nl : nl;
    size_t size = sizeof(struct bn_sim_obj) + keyl + 1 + nsl + 1 + nl + 1 + ul + 1 + labels->len +
                  fields->len + json_len + 1;
    struct bn_sim_obj *o = malloc(size);
    char *p;

    if (o == NULL) {
        px_errf(err, errlen, "out of memory");
        return NULL;
    }
    o->refs = 1;
    o->res = r;
    o->rv = rv;
    o->bytes = size;
    p = o->data;
    o->key = p;
    if (nsl > 0) {
        memcpy(p, ns, nsl);
        p[nsl] = '/';
        memcpy(p + nsl + 1, name, nl + 1);
    } else {
        memcpy(p, name, nl + 1);
    }
    p += keyl + 1;
    o->ns = memcpy(p, ns, nsl + 1);
    p += nsl + 1;
    o->name = memcpy(p, name, nl + 1);
    p += nl + 1;
    o->uid = memcpy(p, uid, ul + 1);
    p += ul + 1;
    o->labels = memcpy(p, labels->buf, labels->len);
    p += labels->len;
    o->fields = memcpy(p, fields->buf, fields->len);
    p += fields->len;
    o->json = memcpy(p, json, json_len);
    p[json_len] = '\0';
    o->json_len = json_len;
    return o;
}

struct bn_sim_obj *
bn_sim_obj_new(enum bn_sim_res r, json_t *doc, uint64_t rv, char *err, size_t errlen)
{
    json_t *meta = json_object_get(doc, "metadata");
    const char *name = json_string_value(json_object_get(meta, "name"));
    const char *ns = json_string_value(json_object_get(meta, "namespace"));
    const char *uid = json_string_value(json_object_get(meta, "uid"));
    struct pack *lp = NULL;
    struct bn_sim_obj *o = NULL;
    char rvs[24], *json = NULL;

    if (name == NULL) {
        px_errf(err, errlen, "metadata.name is required");
        return NULL;
    }
    snprintf(rvs, sizeof(rvs), "%" PRIu64, rv);
    if (json_object_set_new(meta, "resourceVersion", json_string(rvs)) != 0) {
        px_errf(err, errlen, "out of memory");
        return NULL;
    }
    lp = malloc(2 * sizeof(*lp));
    if (lp == NULL) {
        px_errf(err, errlen, "out of memory");
        return NULL;
    }
    if (collect(r, doc, &lp[0], &lp[1]) != 0) {
        px_errf(err, errlen, "labels or fields of %s are larger than %d bytes", name, PACK_MAX);
        goto done;
    }
    json = json_dumps(doc, JSON_COMPACT);
    if (json == NULL) {
        px_errf(err, errlen, "cannot serialise %s", name);
        goto done;
    }
    o = assemble(r, rv, bn_sim_resdef(r)->namespaced && ns != NULL ? ns : "", name,
                 uid != NULL ? uid : "", &lp[0], &lp[1], json, strlen(json), err, errlen);

done:
    free(json);
    free(lp);
    return o;
}

json_t *
bn_sim_obj_doc(const struct bn_sim_obj *o)
{
    return json_loadb(o->json, o->json_len, 0, NULL);
}

struct bn_sim_obj *
bn_sim_obj_at_rv(const struct bn_sim_obj *o, uint64_t rv, char *err, size_t errlen)
{
    json_t *doc = bn_sim_obj_doc(o);
    struct bn_sim_obj *n;

    if (doc == NULL) {
        px_errf(err, errlen, "out of memory");
        return NULL;
    }
    n = bn_sim_obj_new(o->res, doc, rv, err, errlen);
    json_decref(doc);
    return n;
}

struct bn_sim_obj *
bn_sim_obj_ref(struct bn_sim_obj *o)
{
    o->refs++;
    return o;
}

void
bn_sim_obj_unref(struct bn_sim_obj *o)
{
    if (o != NULL && --o->refs == 0) {
        free(o);
    }
}
