/* Recent requests: see bn_sim_reqlog.h. */
#include "bn_sim_reqlog.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

struct entry {
    char method[16];
    char path[512];
    char user[256];
    char groups[512]; /* '\n'-separated */
    const char *authn;
    int code;
    uint64_t latency_us;
};

struct bn_sim_reqlog {
    struct entry *e;
    size_t cap, next, count;
};

struct bn_sim_reqlog *
bn_sim_reqlog_new(size_t cap)
{
    struct bn_sim_reqlog *l = calloc(1, sizeof(*l));

    if (l == NULL || cap == 0 || (l->e = calloc(cap, sizeof(*l->e))) == NULL) {
        free(l);
        return NULL;
    }
    l->cap = cap;
    return l;
}

void
bn_sim_reqlog_free(struct bn_sim_reqlog *l)
{
    if (l == NULL) {
        return;
    }
    free(l->e);
    free(l);
}

void
bn_sim_reqlog_add(struct bn_sim_reqlog *l, const char *method, const char *path,
                  const struct bn_sim_user *u, int code, uint64_t latency_ns)
{
    struct entry *e = &l->e[l->next];
    size_t i, len = 0;

    snprintf(e->method, sizeof(e->method), "%s", method);
    snprintf(e->path, sizeof(e->path), "%s", path);
    snprintf(e->user, sizeof(e->user), "%s", u != NULL ? u->name : "");
    e->groups[0] = '\0';
    for (i = 0; u != NULL && i < u->ngroups && len < sizeof(e->groups); i++) {
        int n = snprintf(e->groups + len, sizeof(e->groups) - len, "%s%s", i > 0 ? "\n" : "",
                         u->groups[i]);

        len += n > 0 ? (size_t)n : 0;
    }
    e->authn = u != NULL ? bn_sim_authn_name(u->method) : "";
    e->code = code;
    e->latency_us = latency_ns / 1000;
    l->next = (l->next + 1) % l->cap;
    if (l->count < l->cap) {
        l->count++;
    }
}

void
bn_sim_reqlog_render(const struct bn_sim_reqlog *l, size_t n, FILE *out)
{
    json_t *arr = json_array();
    size_t i, start;
    char *s;

    if (n > l->count) {
        n = l->count;
    }
    start = (l->next + l->cap - n) % l->cap;
    for (i = 0; arr != NULL && i < n; i++) {
        const struct entry *e = &l->e[(start + i) % l->cap];
        json_t *groups = json_array();
        char buf[sizeof(e->groups)], *tok, *save = NULL;

        snprintf(buf, sizeof(buf), "%s", e->groups);
        for (tok = strtok_r(buf, "\n", &save); tok != NULL; tok = strtok_r(NULL, "\n", &save)) {
            json_array_append_new(groups, json_string(tok));
        }
        json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:o,s:s,s:i,s:I}", "method", e->method,
                                             "path", e->path, "user", e->user, "groups", groups,
                                             "authenticatedBy", e->authn, "code", e->code,
                                             "latencyMicroseconds", (json_int_t)e->latency_us));
    }
    s = arr != NULL ? json_dumps(arr, JSON_COMPACT) : NULL;
    fputs(s != NULL ? s : "[]", out);
    free(s);
    json_decref(arr);
}
