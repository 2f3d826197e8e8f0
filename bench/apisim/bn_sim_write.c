/* Writes: create, update, merge patch, delete, with the validation and
 * the Status errors kube-apiserver's generic registry produces
 * (k8s.io/apiserver pkg/registry/generic/registry/store.go,
 * apimachinery errors.go). See bn_sim_store.h. */
#include "bn_sim_store_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char rfc1123_subdomain[] =
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "
    "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
static const char rfc1123_label[] =
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
    "must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex "
    "used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
static const char rfc1035_label[] =
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
    "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or "
    "'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";

static void
not_found(struct bn_sim_status *st, enum bn_sim_res r, const char *name)
{
    bn_sim_status_set(st, 404, "NotFound", "%s \"%s\" not found", bn_sim_res_qualified(r), name);
    snprintf(st->name, sizeof(st->name), "%s", name);
    st->kind = bn_sim_resdef(r)->name;
    st->group = bn_sim_resdef(r)->group;
}

static void
conflict(struct bn_sim_status *st, enum bn_sim_res r, const char *name, const char *why)
{
    bn_sim_status_set(st, 409, "Conflict", "Operation cannot be fulfilled on %s \"%s\": %s",
                      bn_sim_res_qualified(r), name, why);
    snprintf(st->name, sizeof(st->name), "%s", name);
    st->kind = bn_sim_resdef(r)->name;
    st->group = bn_sim_resdef(r)->group;
}

static void
invalid(struct bn_sim_status *st, enum bn_sim_res r, const char *name, const char *field,
        const char *detail)
{
    const struct bn_sim_resdef *d = bn_sim_resdef(r);

    bn_sim_status_set(st, 422, "Invalid", "%s \"%s\" is invalid: %s: %s", d->kind, name, field,
                      detail);
    snprintf(st->name, sizeof(st->name), "%s", name);
    st->kind = d->kind;
    st->group = d->group;
}

static void
oom(struct bn_sim_status *st)
{
    bn_sim_status_set(st, 500, "InternalError", "Internal error occurred: out of memory");
}

static bool
is_alnum_lower(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool
valid_label(const char *s, size_t n, bool alpha_first)
{
    size_t i;

    if (n == 0 || n > 63 || !is_alnum_lower(s[0]) || !is_alnum_lower(s[n - 1]) ||
        (alpha_first && !(s[0] >= 'a' && s[0] <= 'z'))) {
        return false;
    }
    for (i = 0; i < n; i++) {
        if (!is_alnum_lower(s[i]) && s[i] != '-') {
            return false;
        }
    }
    return true;
}

/* apimachinery validation: namespaces are RFC 1123 labels, services
 * DNS-1035 labels, everything else here RFC 1123 subdomains. Returns the
 * message for an invalid name, NULL for a valid one. */
static const char *
name_problem(enum bn_sim_res r, const char *name)
{
    const char *p = name, *dot;

    if (r == BN_SIM_RES_NAMESPACES) {
        return valid_label(name, strlen(name), false) ? NULL : rfc1123_label;
    }
    if (r == BN_SIM_RES_SERVICES) {
        return valid_label(name, strlen(name), true) ? NULL : rfc1035_label;
    }
    if (strlen(name) > 253) {
        return "must be no more than 253 characters";
    }
    for (;;) {
        dot = strchr(p, '.');
        if (!valid_label(p, dot != NULL ? (size_t)(dot - p) : strlen(p), false)) {
            return rfc1123_subdomain;
        }
        if (dot == NULL) {
            return NULL;
        }
        p = dot + 1;
    }
}

static void
make_uid(struct bn_sim_store *s, char out[37])
{
    uint64_t a = bn_sim_store_random(s), b = bn_sim_store_random(s);

    /* RFC 4122 version 4 layout, as k8s.io/apimachinery/pkg/util/uuid */
    snprintf(out, 37, "%08" PRIx64 "-%04" PRIx64 "-4%03" PRIx64 "-%04" PRIx64 "-%012" PRIx64,
             a >> 32, (a >> 16) & 0xffff, a & 0xfff, (uint64_t)0x8000 | (b >> 48 & 0x3fff),
             (uint64_t)(b & 0xffffffffffffull));
}

static void
rfc3339(int64_t now_s, char out[32])
{
    time_t t = (time_t)now_s;
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Shape checks shared by create and update: an object of the right kind
 * and apiVersion in the request's namespace. */
static int
check_shape(enum bn_sim_res r, const char *ns, json_t *doc, struct bn_sim_status *st)
{
    const struct bn_sim_resdef *d = bn_sim_resdef(r);
    const char *av, *kind, *dns;
    json_t *meta;

    if (!json_is_object(doc)) {
        bn_sim_status_set(st, 400, "BadRequest", "the body of the request was not a JSON object");
        return -1;
    }
    av = json_string_value(json_object_get(doc, "apiVersion"));
    kind = json_string_value(json_object_get(doc, "kind"));
    if (av != NULL && strcmp(av, d->api_version) != 0) {
        bn_sim_status_set(st, 400, "BadRequest",
                          "the API version in the data (%.64s) does not match the expected API "
                          "version (%s)",
                          av, d->api_version);
        return -1;
    }
    if (kind != NULL && strcmp(kind, d->kind) != 0) {
        bn_sim_status_set(st, 400, "BadRequest",
                          "the kind in the data (%.64s) does not match the expected kind (%s)",
                          kind, d->kind);
        return -1;
    }
    meta = json_object_get(doc, "metadata");
    if (meta == NULL) {
        meta = json_object();
        if (meta == NULL || json_object_set_new(doc, "metadata", meta) != 0) {
            oom(st);
            return -1;
        }
    } else if (!json_is_object(meta)) {
        bn_sim_status_set(st, 400, "BadRequest", "metadata must be an object");
        return -1;
    }
    dns = json_string_value(json_object_get(meta, "namespace"));
    if (d->namespaced && dns != NULL && dns[0] != '\0' && strcmp(dns, ns) != 0) {
        bn_sim_status_set(st, 400, "BadRequest",
                          "the namespace of the provided object does not match the namespace "
                          "sent on the request");
        return -1;
    }
    if (!d->namespaced) {
        json_object_del(meta, "namespace"); /* cluster-scoped objects have none */
    } else if (json_object_set_new(meta, "namespace", json_string(ns)) != 0) {
        oom(st);
        return -1;
    }
    if (json_object_set_new(doc, "apiVersion", json_string(d->api_version)) != 0 ||
        json_object_set_new(doc, "kind", json_string(d->kind)) != 0) {
        oom(st);
        return -1;
    }
    return 0;
}

/* generateName: base (at most 58 bytes) + 5 of utilrand's alphanums. */
static int
pick_name(struct bn_sim_store *s, enum bn_sim_res r, json_t *meta, struct bn_sim_status *st)
{
    static const char alnum[] = "bcdfghjklmnpqrstvwxz2456789";
    const char *name = json_string_value(json_object_get(meta, "name"));
    const char *gen = json_string_value(json_object_get(meta, "generateName"));
    char buf[64];
    size_t n, i;

    if (name != NULL && name[0] != '\0') {
        return 0;
    }
    if (gen == NULL || gen[0] == '\0') {
        invalid(st, r, "", "metadata.name", "Required value: name or generateName is required");
        return -1;
    }
    n = strlen(gen) > 58 ? 58 : strlen(gen);
    memcpy(buf, gen, n);
    for (i = 0; i < 5; i++) {
        buf[n + i] = alnum[bn_sim_store_random(s) % (sizeof(alnum) - 1)];
    }
    buf[n + 5] = '\0';
    if (json_object_set_new(meta, "name", json_string(buf)) != 0) {
        oom(st);
        return -1;
    }
    return 0;
}

/* Defaults kube's strategies set on create for the kinds that have them. */
static int
defaults(enum bn_sim_res r, json_t *doc)
{
    json_t *o;

    if (r == BN_SIM_RES_NAMESPACES) {
        if (json_object_get(doc, "spec") == NULL &&
            json_object_set_new(doc, "spec", json_pack("{s:[s]}", "finalizers", "kubernetes")) !=
                0) {
            return -1;
        }
        if (json_object_get(doc, "status") == NULL &&
            json_object_set_new(doc, "status", json_pack("{s:s}", "phase", "Active")) != 0) {
            return -1;
        }
    } else if (r == BN_SIM_RES_PODS) {
        o = json_object_get(doc, "status");
        if (o == NULL && json_object_set_new(doc, "status",
                                             json_pack("{s:s,s:s}", "phase", "Pending", "qosClass",
                                                       "BestEffort")) != 0) {
            return -1;
        }
    }
    return 0;
}

int
bn_sim_store_create(struct bn_sim_store *s, enum bn_sim_res r, const char *ns, json_t *doc,
                    int64_t now_s, struct bn_sim_obj **out, struct bn_sim_status *st)
{
    const struct bn_sim_resdef *d = bn_sim_resdef(r);
    char uid[37], ts[32];
    const char *name, *problem, *rv;
    struct bn_sim_obj *o;
    json_t *meta;

    if (check_shape(r, ns, doc, st) != 0) {
        return -1;
    }
    meta = json_object_get(doc, "metadata");
    if (pick_name(s, r, meta, st) != 0) {
        return -1;
    }
    name = json_string_value(json_object_get(meta, "name"));
    if ((problem = name_problem(r, name)) != NULL) {
        char field[320];

        snprintf(field, sizeof(field), "Invalid value: \"%.253s\"", name);
        invalid(st, r, name, "metadata.name", field);
        snprintf(st->message + strlen(st->message), sizeof(st->message) - strlen(st->message),
                 ": %s", problem);
        return -1;
    }
    if (d->namespaced && bn_sim_store_get(s, BN_SIM_RES_NAMESPACES, "", ns) == NULL) {
        /* the NamespaceLifecycle admission plugin */
        not_found(st, BN_SIM_RES_NAMESPACES, ns);
        return -1;
    }
    if (bn_sim_store_get(s, r, ns, name) != NULL) {
        bn_sim_status_set(st, 409, "AlreadyExists", "%s \"%s\" already exists",
                          bn_sim_res_qualified(r), name);
        snprintf(st->name, sizeof(st->name), "%s", name);
        st->kind = d->name;
        st->group = d->group;
        return -1;
    }
    rv = json_string_value(json_object_get(meta, "resourceVersion"));
    if (rv != NULL && rv[0] != '\0') {
        /* etcd3 store.Create refuses it with a plain error: a 500 */
        bn_sim_status_set(st, 500, "",
                          "resourceVersion should not be set on objects to be created");
        return -1;
    }
    make_uid(s, uid);
    rfc3339(now_s, ts);
    if (json_object_set_new(meta, "uid", json_string(uid)) != 0 ||
        json_object_set_new(meta, "creationTimestamp", json_string(ts)) != 0 ||
        defaults(r, doc) != 0) {
        oom(st);
        return -1;
    }
    o = bn_sim_obj_new(r, doc, s->rv + 1, st->message, sizeof(st->message));
    if (o == NULL) {
        bn_sim_status_set(st, 500, "InternalError", "Internal error occurred: cannot store %s",
                          name);
        return -1;
    }
    if (bn_sim_store_commit(s, BN_SIM_EV_ADDED, o, NULL) != 0) {
        oom(st);
        return -1;
    }
    s->rv++;
    *out = o;
    return 0;
}

/* Stores <doc> as the next revision of <cur> unless nothing changed (kube's
 * GuaranteedUpdate skips a write whose bytes are unchanged). */
static int
replace(struct bn_sim_store *s, struct bn_sim_obj *cur, json_t *doc, struct bn_sim_obj **out,
        struct bn_sim_status *st)
{
    struct bn_sim_obj *same = bn_sim_obj_new(cur->res, doc, cur->rv, NULL, 0), *o;

    if (same != NULL && same->json_len == cur->json_len &&
        memcmp(same->json, cur->json, cur->json_len) == 0) {
        bn_sim_obj_unref(same);
        *out = cur;
        return 0;
    }
    bn_sim_obj_unref(same);
    o = bn_sim_obj_new(cur->res, doc, s->rv + 1, NULL, 0);
    if (o == NULL || bn_sim_store_commit(s, BN_SIM_EV_MODIFIED, o, cur) != 0) {
        oom(st);
        return -1;
    }
    s->rv++;
    *out = o;
    return 0;
}

/* Carries what the server owns over from <cur> and checks preconditions. */
static int
carry_meta(enum bn_sim_res r, struct bn_sim_obj *cur, json_t *meta, bool check_rv,
           struct bn_sim_status *st)
{
    const char *rv = json_string_value(json_object_get(meta, "resourceVersion"));
    const char *uid = json_string_value(json_object_get(meta, "uid"));
    json_t *ts;
    char have[24];

    snprintf(have, sizeof(have), "%" PRIu64, cur->rv);
    if (check_rv && rv != NULL && rv[0] != '\0' && strcmp(rv, have) != 0) {
        conflict(st, r, cur->name,
                 "the object has been modified; please apply your changes to the latest version "
                 "and try again");
        return -1;
    }
    if (uid != NULL && uid[0] != '\0' && strcmp(uid, cur->uid) != 0) {
        char why[200];

        snprintf(why, sizeof(why),
                 "Precondition failed: UID in precondition: %.64s, UID in object "
                 "meta: %s",
                 uid, cur->uid);
        conflict(st, r, cur->name, why);
        return -1;
    }
    {
        json_t *old = bn_sim_obj_doc(cur);

        ts = json_object_get(json_object_get(old, "metadata"), "creationTimestamp");
        if (old == NULL || json_object_set_new(meta, "uid", json_string(cur->uid)) != 0 ||
            (ts != NULL && json_object_set(meta, "creationTimestamp", ts) != 0)) {
            json_decref(old);
            oom(st);
            return -1;
        }
        json_decref(old);
    }
    return 0;
}

int
bn_sim_store_update(struct bn_sim_store *s, enum bn_sim_res r, const char *ns, const char *name,
                    json_t *doc, struct bn_sim_obj **out, struct bn_sim_status *st)
{
    struct bn_sim_obj *cur = bn_sim_store_get(s, r, ns, name);
    const char *bname;
    json_t *meta;

    if (check_shape(r, ns, doc, st) != 0) {
        return -1;
    }
    meta = json_object_get(doc, "metadata");
    bname = json_string_value(json_object_get(meta, "name"));
    if (bname == NULL || strcmp(bname, name) != 0) {
        bn_sim_status_set(st, 400, "BadRequest",
                          "the name of the object (%.253s) does not match the name on the URL "
                          "(%.253s)",
                          bname != NULL ? bname : "", name);
        return -1;
    }
    if (cur == NULL) {
        not_found(st, r, name);
        return -1;
    }
    if (carry_meta(r, cur, meta, true, st) != 0) {
        return -1;
    }
    return replace(s, cur, doc, out, st);
}

/* RFC 7386 MergePatch(target, patch). Returns the new value (new ref). */
static json_t *
merge_patch(json_t *target, json_t *patch)
{
    const char *k;
    json_t *v, *out;

    if (!json_is_object(patch)) {
        return json_deep_copy(patch);
    }
    out = json_is_object(target) ? json_incref(target) : json_object();
    if (out == NULL) {
        return NULL;
    }
    json_object_foreach(patch, k, v)
    {
        if (json_is_null(v)) {
            json_object_del(out, k);
        } else {
            json_t *m = merge_patch(json_object_get(out, k), v);

            if (m == NULL || json_object_set_new(out, k, m) != 0) {
                json_decref(out);
                return NULL;
            }
        }
    }
    return out;
}

int
bn_sim_store_patch(struct bn_sim_store *s, enum bn_sim_res r, const char *ns, const char *name,
                   const char *patch, size_t len, struct bn_sim_obj **out, struct bn_sim_status *st)
{
    struct bn_sim_obj *cur = bn_sim_store_get(s, r, ns, name);
    json_t *p, *doc = NULL, *merged = NULL, *meta;
    const char *pname, *rv;
    char have[24];
    int rc = -1;

    if (cur == NULL) {
        not_found(st, r, name);
        return -1;
    }
    p = json_loadb(patch, len, 0, NULL);
    if (p == NULL || !json_is_object(p)) {
        bn_sim_status_set(st, 400, "BadRequest", "error decoding patch: not a JSON object");
        goto done;
    }
    /* a resourceVersion in the patch is a precondition (mergepatch) */
    rv = json_string_value(json_object_get(json_object_get(p, "metadata"), "resourceVersion"));
    snprintf(have, sizeof(have), "%" PRIu64, cur->rv);
    if (rv != NULL && rv[0] != '\0' && strcmp(rv, have) != 0) {
        conflict(st, r, name,
                 "the object has been modified; please apply your changes to the latest version "
                 "and try again");
        goto done;
    }
    doc = bn_sim_obj_doc(cur);
    merged = doc != NULL ? merge_patch(doc, p) : NULL;
    if (merged == NULL) {
        oom(st);
        goto done;
    }
    meta = json_object_get(merged, "metadata");
    pname = json_string_value(json_object_get(meta, "name"));
    if (pname == NULL || strcmp(pname, name) != 0) {
        invalid(st, r, name, "metadata.name", "Invalid value: field is immutable");
        goto done;
    }
    if (check_shape(r, ns, merged, st) != 0 || carry_meta(r, cur, meta, false, st) != 0) {
        goto done;
    }
    rc = replace(s, cur, merged, out, st);

done:
    json_decref(p);
    json_decref(doc);
    json_decref(merged);
    return rc;
}

static int
remove_obj(struct bn_sim_store *s, struct bn_sim_obj *cur, struct bn_sim_obj **out,
           struct bn_sim_status *st)
{
    struct bn_sim_obj *gone = bn_sim_obj_at_rv(cur, s->rv + 1, NULL, 0);

    if (gone == NULL || bn_sim_store_commit(s, BN_SIM_EV_DELETED, gone, cur) != 0) {
        oom(st);
        return -1;
    }
    s->rv++;
    if (out != NULL) {
        *out = gone;
    }
    return 0;
}

int
bn_sim_store_delete(struct bn_sim_store *s, enum bn_sim_res r, const char *ns, const char *name,
                    const char *uid, const char *rv, struct bn_sim_obj **out,
                    struct bn_sim_status *st)
{
    struct bn_sim_obj *cur = bn_sim_store_get(s, r, ns, name);
    char have[24], why[200];
    int k;

    if (cur == NULL) {
        not_found(st, r, name);
        return -1;
    }
    snprintf(have, sizeof(have), "%" PRIu64, cur->rv);
    if (uid != NULL && uid[0] != '\0' && strcmp(uid, cur->uid) != 0) {
        snprintf(why, sizeof(why),
                 "Precondition failed: UID in precondition: %.64s, UID in object "
                 "meta: %s",
                 uid, cur->uid);
        conflict(st, r, name, why);
        return -1;
    }
    if (rv != NULL && rv[0] != '\0' && strcmp(rv, have) != 0) {
        snprintf(why, sizeof(why),
                 "Precondition failed: ResourceVersion in precondition: %.24s, "
                 "ResourceVersion in object meta: %s",
                 rv, have);
        conflict(st, r, name, why);
        return -1;
    }
    if (r == BN_SIM_RES_NAMESPACES) {
        /* what the namespace controller does after Terminating, at once */
        for (k = 0; k < BN_SIM_RES_COUNT; k++) {
            struct res_state *rs = &s->res[k];
            char prefix[300];
            size_t at;

            if (!bn_sim_resdef((enum bn_sim_res)k)->namespaced) {
                continue;
            }
            snprintf(prefix, sizeof(prefix), "%s/", name);
            while ((at = bn_sim_store_lower(rs, prefix, false)) < rs->n &&
                   strncmp(rs->items[at]->key, prefix, strlen(prefix)) == 0) {
                if (remove_obj(s, rs->items[at], NULL, st) != 0) {
                    return -1;
                }
            }
        }
    }
    return remove_obj(s, cur, out, st);
}
