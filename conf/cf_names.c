/* Class names -> index, so that duplicate names and rule references are
 * checked in O(1) each: a 1,000-class file loads in milliseconds. */
#include "cf_int.h"

#include <stdlib.h>
#include <string.h>

struct cf_names {
    size_t cap; /* a power of two, at least twice the names held */
    const char **keys;
    size_t *index;
};

static uint64_t
fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ull;

    for (; *s != '\0'; s++) {
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    }
    return h;
}

struct cf_names *
cf_names_new(size_t n)
{
    struct cf_names *t = calloc(1, sizeof(*t));

    if (t == NULL) {
        return NULL;
    }
    for (t->cap = 16; t->cap < 2 * n; t->cap *= 2) {
    }
    t->keys = calloc(t->cap, sizeof(*t->keys));
    t->index = calloc(t->cap, sizeof(*t->index));
    if (t->keys == NULL || t->index == NULL) {
        cf_names_free(t);
        return NULL;
    }
    return t;
}

void
cf_names_free(struct cf_names *t)
{
    if (t == NULL) {
        return;
    }
    free(t->keys);
    free(t->index);
    free(t);
}

/* The slot holding <name>, or the empty slot where it would go. */
static size_t
slot(const struct cf_names *t, const char *name)
{
    size_t i = (size_t)fnv1a(name) & (t->cap - 1);

    while (t->keys[i] != NULL && strcmp(t->keys[i], name) != 0) {
        i = (i + 1) & (t->cap - 1);
    }
    return i;
}

/* <name> is borrowed: it must outlive the table. Callers add at most the
 * count given to cf_names_new, so the table never fills. */
int
cf_names_add(struct cf_names *t, const char *name, size_t index, size_t *prev)
{
    size_t i = slot(t, name);

    if (t->keys[i] != NULL) {
        *prev = t->index[i];
        return -1;
    }
    t->keys[i] = name;
    t->index[i] = index;
    return 0;
}

int
cf_names_find(const struct cf_names *t, const char *name)
{
    size_t i = slot(t, name);

    return t->keys[i] != NULL ? (int)t->index[i] : -1;
}
