/* Discovery documents: see bn_sim_discovery.h. */
#include "bn_sim_discovery.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "bn_sim_resource.h"

/* /version, /api, /api/v1, /apis, and two per group (the group and its
 * version); the core group is not among BN_SIM_GROUPS. */
#define BN_SIM_GROUPS 4
#define NDOCS         (4 + 2 * BN_SIM_GROUPS)

struct doc {
    char *path;
    char *json;
    size_t len;
};

struct bn_sim_discovery {
    struct doc docs[NDOCS];
    size_t n;
};

/* What the simulator answers for a resource (no deletecollection). */
static json_t *
verbs(void)
{
    return json_pack("[s,s,s,s,s,s,s]", "create", "delete", "get", "list", "patch", "update",
                     "watch");
}

static json_t *
resource_entry(const struct bn_sim_resdef *d)
{
    json_t *e = json_pack("{s:s,s:s,s:b,s:s,s:o}", "name", d->name, "singularName", d->singular,
                          "namespaced", d->namespaced, "kind", d->kind, "verbs", verbs());
    json_t *sn = json_array();
    size_t i;

    for (i = 0; d->short_names[i] != NULL; i++) {
        json_array_append_new(sn, json_string(d->short_names[i]));
    }
    if (json_array_size(sn) > 0) {
        json_object_set_new(e, "shortNames", sn);
    } else {
        json_decref(sn);
    }
    if (strcmp(d->name, "pods") == 0 || strcmp(d->name, "services") == 0) {
        json_object_set_new(e, "categories", json_pack("[s]", "all"));
    }
    return e;
}

static json_t *
status_entry(const struct bn_sim_resdef *d)
{
    char name[64];

    snprintf(name, sizeof(name), "%s/status", d->name);
    return json_pack("{s:s,s:s,s:b,s:s,s:[s,s,s]}", "name", name, "singularName", "", "namespaced",
                     d->namespaced, "kind", d->kind, "verbs", "get", "patch", "update");
}

static json_t *
resource_list(const char *group, const char *gv)
{
    json_t *list = json_array();
    int r;

    for (r = 0; r < BN_SIM_RES_COUNT; r++) {
        const struct bn_sim_resdef *d = bn_sim_resdef((enum bn_sim_res)r);

        if (strcmp(d->group, group) != 0) {
            continue;
        }
        json_array_append_new(list, resource_entry(d));
        if (r == BN_SIM_RES_PODS || r == BN_SIM_RES_NODES || r == BN_SIM_RES_NAMESPACES) {
            json_array_append_new(list, status_entry(d));
        }
    }
    return json_pack("{s:s,s:s,s:o}", "kind", "APIResourceList", "groupVersion", gv, "resources",
                     list);
}

static json_t *
group(const char *name)
{
    char gv[128];

    snprintf(gv, sizeof(gv), "%s/v1", name);
    return json_pack("{s:s,s:[{s:s,s:s}],s:{s:s,s:s}}", "name", name, "versions", "groupVersion",
                     gv, "version", "v1", "preferredVersion", "groupVersion", gv, "version", "v1");
}

static void
add(struct bn_sim_discovery *d, const char *path, json_t *doc)
{
    char *s = doc != NULL ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;

    json_decref(doc);
    if (s == NULL || d->n == NDOCS) {
        free(s);
        return;
    }
    d->docs[d->n].path = strdup(path);
    d->docs[d->n].json = s;
    d->docs[d->n].len = strlen(s);
    d->n++;
}

struct bn_sim_discovery *
bn_sim_discovery_new(const char *server_address)
{
    struct bn_sim_discovery *d = calloc(1, sizeof(*d));
    json_t *g;

    if (d == NULL) {
        return NULL;
    }
    /* kubectl 1.32 warns when the server is more than one minor away */
    add(d, "/version",
        json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "major", "1", "minor", "32",
                  "gitVersion", "v1.32.0-floodgate-apisim", "gitCommit",
                  "0000000000000000000000000000000000000000", "gitTreeState", "clean", "buildDate",
                  "2025-01-01T00:00:00Z", "goVersion", "go1.23.4", "compiler", "gc", "platform",
                  "linux/amd64"));
    add(d, "/api",
        json_pack("{s:s,s:[s],s:[{s:s,s:s}]}", "kind", "APIVersions", "versions", "v1",
                  "serverAddressByClientCIDRs", "clientCIDR", "0.0.0.0/0", "serverAddress",
                  server_address));
    add(d, "/api/v1", resource_list("", "v1"));
    {
        /* The groups come from the resource table; authentication.k8s.io
         * serves only selfsubjectreviews, which the store does not hold. */
        static const char *const groups[BN_SIM_GROUPS] = {"apps", "policy", "coordination.k8s.io",
                                                          "authentication.k8s.io"};
        json_t *list = json_array();
        size_t i;

        for (i = 0; i < BN_SIM_GROUPS; i++) {
            json_array_append_new(list, group(groups[i]));
        }
        add(d, "/apis",
            json_pack("{s:s,s:s,s:o}", "kind", "APIGroupList", "apiVersion", "v1", "groups", list));
        for (i = 0; i < BN_SIM_GROUPS; i++) {
            char path[128], gv[128];

            g = group(groups[i]);
            json_object_set_new(g, "kind", json_string("APIGroup"));
            json_object_set_new(g, "apiVersion", json_string("v1"));
            snprintf(path, sizeof(path), "/apis/%s", groups[i]);
            add(d, path, g);
            snprintf(path, sizeof(path), "/apis/%s/v1", groups[i]);
            snprintf(gv, sizeof(gv), "%s/v1", groups[i]);
            if (strcmp(groups[i], "authentication.k8s.io") == 0) {
                add(d, path,
                    json_pack("{s:s,s:s,s:[{s:s,s:s,s:b,s:s,s:[s]}]}", "kind", "APIResourceList",
                              "groupVersion", gv, "resources", "name", "selfsubjectreviews",
                              "singularName", "selfsubjectreview", "namespaced", 0, "kind",
                              "SelfSubjectReview", "verbs", "create"));
            } else {
                add(d, path, resource_list(groups[i], gv));
            }
        }
    }
    if (d->n != NDOCS) {
        bn_sim_discovery_free(d);
        return NULL;
    }
    return d;
}

void
bn_sim_discovery_free(struct bn_sim_discovery *d)
{
    size_t i;

    if (d == NULL) {
        return;
    }
    for (i = 0; i < d->n; i++) {
        free(d->docs[i].path);
        free(d->docs[i].json);
    }
    free(d);
}

const char *
bn_sim_discovery_get(const struct bn_sim_discovery *d, const char *path, size_t *len)
{
    size_t i, n = strlen(path);

    /* "/api/" is "/api": Go's mux is not that lenient, but clients never differ */
    while (n > 1 && path[n - 1] == '/') {
        n--;
    }
    for (i = 0; i < d->n; i++) {
        if (strlen(d->docs[i].path) == n && strncmp(d->docs[i].path, path, n) == 0) {
            *len = d->docs[i].len;
            return d->docs[i].json;
        }
    }
    return NULL;
}
