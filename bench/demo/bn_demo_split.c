/* Splitting the storm scenario into informers, critical clients and fleet: see
 * bn_demo_split.h. floodgate-load validates what comes out; this only
 * moves populations and replaces the values it was told to. */
#include "bn_demo_split.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

int
bn_demo_override_parse(char *arg, const char *key, struct bn_demo_override *o, char *err,
                       size_t errlen)
{
    char *eq = strchr(arg, '=');

    if (eq == NULL || eq == arg || eq[1] == '\0') {
        snprintf(err, errlen, "--%s %s: expected POPULATION=VALUE", key, arg);
        return -1;
    }
    *eq = '\0';
    o->population = arg;
    o->key = key;
    o->value = eq + 1;
    return 0;
}

static int
apply(json_t *pop, const struct bn_demo_override *o, char *err, size_t errlen)
{
    char *end;
    long long n;

    if (strcmp(o->key, "count") == 0) {
        errno = 0;
        n = strtoll(o->value, &end, 10);
        if (errno != 0 || *end != '\0' || n < 1 || n > 100000) {
            snprintf(err, errlen, "--count %s=%s: expected 1..100000", o->population, o->value);
            return -1;
        }
        return json_object_set_new(pop, "count", json_integer(n));
    }
    return json_object_set_new(pop, o->key, json_string(o->value));
}

static int
write_half(json_t *root, json_t *pops, const char *path, char *err, size_t errlen)
{
    json_t *copy = json_deep_copy(root);
    int rc = -1;

    if (copy == NULL || json_object_set(copy, "populations", pops) != 0) {
        snprintf(err, errlen, "%s: out of memory", path);
        goto out;
    }
    if (json_dump_file(copy, path, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0) {
        snprintf(err, errlen, "%s: cannot write: %s", path, strerror(errno));
        goto out;
    }
    rc = 0;
out:
    json_decref(copy);
    return rc;
}

static bool
has_watches(const json_t *pop)
{
    return json_array_size(json_object_get(pop, "watches")) > 0;
}

int
bn_demo_split(const char *in, const struct bn_demo_override *ov, size_t nov, const char *outdir,
              char *err, size_t errlen)
{
    json_error_t je;
    json_t *root, *pops, *p;
    json_t *crit = json_array(), *rest = json_array(), *inf = json_array();
    char path[1024];
    bool used[BN_DEMO_MAX_OVERRIDES] = {false};
    size_t i, k;
    int rc = -1;

    if (nov > BN_DEMO_MAX_OVERRIDES) {
        snprintf(err, errlen, "at most %d overrides", BN_DEMO_MAX_OVERRIDES);
        json_decref(crit);
        json_decref(rest);
        json_decref(inf);
        return -1;
    }
    root = json_load_file(in, JSON_REJECT_DUPLICATES, &je);
    if (root == NULL) {
        snprintf(err, errlen, "%s:%d: %s", in, je.line, je.text);
        goto out;
    }
    pops = json_object_get(root, "populations");
    if (!json_is_array(pops) || crit == NULL || rest == NULL || inf == NULL) {
        snprintf(err, errlen, "%s: populations: expected a list", in);
        goto out;
    }
    json_array_foreach(pops, i, p)
    {
        const char *name = json_string_value(json_object_get(p, "name"));

        for (k = 0; k < nov; k++) {
            if (name != NULL && strcmp(name, ov[k].population) == 0) {
                if (apply(p, &ov[k], err, errlen) != 0) {
                    goto out;
                }
                used[k] = true;
            }
        }
        if (json_array_append(!json_is_true(json_object_get(p, "critical")) ? rest
                              : has_watches(p)                              ? inf
                                                                            : crit,
                              p) != 0) {
            snprintf(err, errlen, "out of memory");
            goto out;
        }
    }
    for (k = 0; k < nov; k++) {
        if (!used[k]) {
            snprintf(err, errlen, "--%s %s: %s has no such population", ov[k].key, ov[k].population,
                     in);
            goto out;
        }
    }
    if (json_array_size(crit) == 0 || json_array_size(rest) == 0) {
        snprintf(err, errlen, "%s: needs critical populations with requests and at least one other",
                 in);
        goto out;
    }
    snprintf(path, sizeof(path), "%s/critical.json", outdir);
    if (write_half(root, crit, path, err, errlen) != 0) {
        goto out;
    }
    snprintf(path, sizeof(path), "%s/fleet.json", outdir);
    if (write_half(root, rest, path, err, errlen) != 0) {
        goto out;
    }
    snprintf(path, sizeof(path), "%s/informers.json", outdir);
    if (json_array_size(inf) > 0 ? write_half(root, inf, path, err, errlen) != 0
                                 : unlink(path) != 0 && errno != ENOENT) {
        if (json_array_size(inf) == 0) {
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
        }
        goto out;
    }
    rc = 0;
out:
    json_decref(root);
    json_decref(crit);
    json_decref(rest);
    json_decref(inf);
    return rc;
}
