/* The learned LIST sizes document: see px_learned.h. Strict like the
 * configuration: unknown keys, wrong types and duplicates are errors that
 * name the JSON path, so that a hand-edited file never teaches silently
 * less than it says. */
#include "px_learned.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "px_err.h"

static int
entry_fail(char *err, size_t errlen, const char *name, size_t i, const char *key, const char *what)
{
    px_errf(err, errlen, "%s: learned[%zu]%s%s: %s", name, i, key[0] ? "." : "", key, what);
    return -1;
}

static bool
same(const json_t *a, const json_t *b)
{
    return strcmp(json_string_value(json_object_get(a, "api_group")),
                  json_string_value(json_object_get(b, "api_group"))) == 0 &&
           strcmp(json_string_value(json_object_get(a, "resource")),
                  json_string_value(json_object_get(b, "resource"))) == 0 &&
           json_is_true(json_object_get(a, "filtered")) ==
               json_is_true(json_object_get(b, "filtered"));
}

/* Checks entry <e> (index <i>) of the document <name>. */
static int
entry_check(const json_t *e, const char *name, size_t i, char *err, size_t errlen)
{
    const json_t *group = json_object_get(e, "api_group"), *res = json_object_get(e, "resource");
    const json_t *filt = json_object_get(e, "filtered"), *avg = json_object_get(e, "avg_bytes");
    const char *key;
    json_t *v;

    if (!json_is_object(e)) {
        return entry_fail(err, errlen, name, i, "", "expected an object");
    }
    json_object_foreach((json_t *)e, key, v)
    {
        if (strcmp(key, "api_group") != 0 && strcmp(key, "resource") != 0 &&
            strcmp(key, "filtered") != 0 && strcmp(key, "avg_bytes") != 0) {
            px_errf(err, errlen,
                    "%s: learned[%zu]: unknown key \"%.64s\" (api_group, resource, filtered, "
                    "avg_bytes)",
                    name, i, key);
            return -1;
        }
    }
    if (!json_is_string(group) || json_string_length(group) > PX_LEARNED_GROUP_MAX ||
        strlen(json_string_value(group)) != json_string_length(group)) {
        return entry_fail(err, errlen, name, i, "api_group",
                          "expected a string of at most 95 bytes (\"\" for the core group)");
    }
    if (!json_is_string(res) || json_string_length(res) == 0 ||
        json_string_length(res) > PX_LEARNED_RES_MAX ||
        strlen(json_string_value(res)) != json_string_length(res)) {
        return entry_fail(err, errlen, name, i, "resource",
                          "expected a non-empty string of at most 63 bytes");
    }
    if (filt != NULL && !json_is_boolean(filt)) {
        return entry_fail(err, errlen, name, i, "filtered", "expected true or false");
    }
    if (!json_is_integer(avg) || json_integer_value(avg) < 1 ||
        (uint64_t)json_integer_value(avg) > PX_LEARNED_MAX_BYTES) {
        char why[96];

        if (json_is_integer(avg)) {
            snprintf(why, sizeof(why), "expected an integer 1..1099511627776 (bytes), got %lld",
                     (long long)json_integer_value(avg));
        } else {
            snprintf(why, sizeof(why), "expected an integer 1..1099511627776 (bytes), got %s",
                     avg == NULL ? "nothing" : "another type");
        }
        return entry_fail(err, errlen, name, i, "avg_bytes", why);
    }
    return 0;
}

int
px_learned_load_json(struct lim *l, const json_t *doc, const char *name, char *err, size_t errlen)
{
    const json_t *list = json_object_get(doc, "learned");
    const char *key;
    size_t i, j;
    json_t *v;

    if (!json_is_object(doc)) {
        px_errf(err, errlen, "%s: expected an object {\"learned\": [...]}", name);
        return -1;
    }
    json_object_foreach((json_t *)doc, key, v)
    {
        if (strcmp(key, "learned") != 0) {
            px_errf(err, errlen, "%s: unknown key \"%.64s\" (learned)", name, key);
            return -1;
        }
    }
    if (!json_is_array(list)) {
        px_errf(err, errlen, "%s: learned: expected a list of entries", name);
        return -1;
    }
    if (json_array_size(list) > PX_LEARNED_MAX) {
        px_errf(err, errlen, "%s: learned: %zu entries, at most %d", name, json_array_size(list),
                PX_LEARNED_MAX);
        return -1;
    }
    for (i = 0; i < json_array_size(list); i++) {
        const json_t *e = json_array_get(list, i);

        if (entry_check(e, name, i, err, errlen) != 0) {
            return -1;
        }
        for (j = 0; j < i; j++) {
            if (same(e, json_array_get(list, j))) {
                px_errf(err, errlen, "%s: learned[%zu]: the same resource as learned[%zu]", name, i,
                        j);
                return -1;
            }
        }
        if (lim_learned_set(l, json_string_value(json_object_get(e, "api_group")),
                            json_string_value(json_object_get(e, "resource")),
                            json_is_true(json_object_get(e, "filtered")),
                            (uint64_t)json_integer_value(json_object_get(e, "avg_bytes"))) != 0) {
            return entry_fail(err, errlen, name, i, "", "the limiter's table of sizes is full");
        }
    }
    return 0;
}

int
px_learned_load(struct lim *l, const char *path, char *err, size_t errlen)
{
    json_error_t je;
    struct stat st;
    json_t *doc;
    int rc;

    if (stat(path, &st) != 0) {
        px_errf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > PX_LEARNED_FILE_MAX) {
        px_errf(err, errlen, "%s: expected a regular file of at most 16 MiB", path);
        return -1;
    }
    doc = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (doc == NULL) {
        px_errf(err, errlen, "%s:%d:%d: invalid JSON: %s", path, je.line, je.column, je.text);
        return -1;
    }
    rc = px_learned_load_json(l, doc, path, err, errlen);
    json_decref(doc);
    return rc;
}

struct dump {
    json_t *list;
    bool failed;
};

static void
dump_one(void *arg, const char *api_group, const char *resource, bool filtered, uint64_t avg_bytes)
{
    struct dump *d = arg;
    json_t *e = json_pack("{s:s, s:s, s:b, s:I}", "api_group", api_group, "resource", resource,
                          "filtered", filtered, "avg_bytes", (json_int_t)avg_bytes);

    /* A name that is not UTF-8 (learned from a hostile request path)
     * cannot be written as JSON: it is left out, the rest still serves. */
    if (e != NULL && json_array_append_new(d->list, e) != 0) {
        d->failed = true;
    }
}

json_t *
px_learned_json(const struct lim *l)
{
    struct dump d = {json_array(), false};

    if (d.list == NULL) {
        return NULL;
    }
    lim_learned_each(l, dump_one, &d);
    if (d.failed) {
        json_decref(d.list);
        return NULL;
    }
    return json_pack("{s:o}", "learned", d.list);
}
