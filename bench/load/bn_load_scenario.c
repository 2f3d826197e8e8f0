/* The scenario reader: see bn_load_scenario.h. Every check happens here,
 * before a single connection, so a typo costs a message, not a run. */
#include "bn_load_scenario.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bn_load_json.h"
#include "bn_load_scenario_int.h"
#include "bn_load_tmpl.h"
#include "px_err.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const char *const top_keys[] = {"target",      "ca",        "insecure",   "duration",
                                       "timeout",     "threads",   "closed",     "retry_after",
                                       "max_retries", "seed",      "ca_cert",    "ca_key",
                                       "sa_key",      "sa_issuer", "populations"};
static const char *const pop_keys[] = {"name",  "count", "critical", "identity",
                                       "start", "ramp",  "watches",  "requests"};
/* --- values at the current path ---------------------------------------- */

/* <v> as a template valid for every member of a population of <count>,
 * optionally starting with "/". */
int
bn_scn_template_value(struct bn_scn_reader *r, const json_t *v, uint32_t count, bool slash,
                      char **out)
{
    char why[256];

    if (!json_is_string(v) || json_string_length(v) != strlen(json_string_value(v)) ||
        (slash && json_string_value(v)[0] != '/')) {
        return bn_json_fail_got(&r->x, v, slash ? "a string starting with \"/\"" : "a string");
    }
    if (bn_tmpl_check(json_string_value(v), count, why, sizeof(why)) != 0) {
        return bn_json_fail(&r->x, "%s", why);
    }
    free(*out);
    if ((*out = strdup(json_string_value(v))) == NULL) {
        return bn_json_fail(&r->x, "out of memory");
    }
    return 0;
}

/* Member <key> of <obj> as a template; absent is fine unless <required>. */
int
bn_scn_read_template(struct bn_scn_reader *r, const json_t *obj, const char *key, bool required,
                     uint32_t count, bool slash, char **out)
{
    json_t *v = json_object_get(obj, key);
    size_t saved;
    int rc;

    if (v == NULL && !required) {
        return 0;
    }
    saved = bn_json_key(&r->x, key);
    rc = v == NULL ? bn_json_fail(&r->x, "required")
                   : bn_scn_template_value(r, v, count, slash, out);
    bn_json_restore(&r->x, saved);
    return rc;
}

/* A file member, resolved against the scenario's directory and checked
 * readable now rather than after minting 5,000 certificates. */
int
bn_scn_read_file(struct bn_scn_reader *r, const json_t *obj, const char *key, bool required,
                 char **out)
{
    json_t *v = json_object_get(obj, key);
    const char *raw;
    char *full;
    size_t saved, need;
    int rc = 0;

    if (v == NULL && !required) {
        return 0;
    }
    saved = bn_json_key(&r->x, key);
    if (v == NULL) {
        rc = bn_json_fail(&r->x, "required");
        goto out;
    }
    if (!json_is_string(v) || json_string_value(v)[0] == '\0') {
        rc = bn_json_fail_got(&r->x, v, "a file name");
        goto out;
    }
    raw = json_string_value(v);
    need = strlen(r->dir) + strlen(raw) + 2;
    if ((full = malloc(need)) == NULL) {
        rc = bn_json_fail(&r->x, "out of memory");
        goto out;
    }
    snprintf(full, need, "%s%s%s", raw[0] == '/' ? "" : r->dir,
             raw[0] == '/' || r->dir[0] == '\0' ? "" : "/", raw);
    if (access(full, R_OK) != 0) {
        rc = bn_json_fail_got(&r->x, v, "a readable file (%s)", strerror(errno));
        free(full);
        goto out;
    }
    free(*out);
    *out = full;
out:
    bn_json_restore(&r->x, saved);
    return rc;
}

int
bn_scn_read_rate(struct bn_scn_reader *r, const json_t *v, const char *key, uint64_t *mrps)
{
    size_t saved = bn_json_key(&r->x, key);
    int rc = bn_json_rate(&r->x, v, mrps);

    bn_json_restore(&r->x, saved);
    return rc;
}

/* --- populations ------------------------------------------------------- */

static bool
name_is_valid(const char *s)
{
    size_t n = strlen(s);

    return n >= 1 && n <= BN_SCN_NAME_MAX &&
           strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

/* An array member of at most <max> entries; absent gives none. */
static int
read_list(struct bn_scn_reader *r, const json_t *o, const char *key, size_t max, const json_t **out)
{
    json_t *v = json_object_get(o, key);
    size_t saved;

    *out = NULL;
    if (v == NULL) {
        return 0;
    }
    if (!json_is_array(v) || json_array_size(v) > max) {
        saved = bn_json_key(&r->x, key);
        bn_json_fail_got(&r->x, v, "an array of at most %zu entries", max);
        bn_json_restore(&r->x, saved);
        return -1;
    }
    *out = v;
    return 0;
}

static int
read_population(struct bn_scn_reader *r, const json_t *o, size_t idx)
{
    struct bn_scn_pop *p = &r->s->pops[idx];
    const json_t *watches, *requests, *id;
    size_t i, saved;

    if (!json_is_object(o)) {
        return bn_json_fail_got(&r->x, o, "an object");
    }
    p->count = 1;
    if (bn_json_check_keys(&r->x, o, pop_keys, N(pop_keys)) != 0 ||
        bn_json_string(&r->x, o, "name", true, &p->name) != 0) {
        return -1;
    }
    saved = bn_json_key(&r->x, "name");
    if (!name_is_valid(p->name)) {
        bn_json_fail_got(&r->x, json_object_get(o, "name"),
                         "1 to %d letters, digits, '.', '_' or '-'", BN_SCN_NAME_MAX);
        bn_json_restore(&r->x, saved);
        return -1;
    }
    for (i = 0; i < idx; i++) {
        if (strcmp(r->s->pops[i].name, p->name) == 0) {
            bn_json_fail(&r->x, "\"%s\" is already the name of populations[%zu]", p->name, i);
            bn_json_restore(&r->x, saved);
            return -1;
        }
    }
    bn_json_restore(&r->x, saved);
    if (bn_json_u32(&r->x, o, "count", 1, BN_SCN_MAX_COUNT, &p->count) != 0 ||
        bn_json_bool(&r->x, o, "critical", &p->critical) != 0 ||
        bn_json_duration(&r->x, o, "start", &p->start_ns) != 0 ||
        bn_json_duration(&r->x, o, "ramp", &p->ramp_ns) != 0) {
        return -1;
    }
    if (p->start_ns >= r->s->duration_ns) {
        saved = bn_json_key(&r->x, "start");
        bn_json_fail(&r->x, "starts after the run ends (\"duration\" is %.3gs)",
                     (double)r->s->duration_ns / 1e9);
        bn_json_restore(&r->x, saved);
        return -1;
    }
    id = json_object_get(o, "identity");
    if (id != NULL && bn_scn_read_identity(r, id, p->count, &p->id) != 0) {
        return -1;
    }
    if (read_list(r, o, "watches", BN_SCN_MAX_WATCHES, &watches) != 0 ||
        read_list(r, o, "requests", BN_SCN_MAX_REQUESTS, &requests) != 0) {
        return -1;
    }
    if (json_array_size(watches) + json_array_size(requests) == 0) {
        return bn_json_fail(&r->x, "has neither \"watches\" nor \"requests\": nothing to do");
    }
    saved = bn_json_key(&r->x, "watches");
    for (i = 0; i < json_array_size(watches); i++) {
        size_t at = bn_json_index(&r->x, i);

        if (bn_scn_read_watch(r, json_array_get(watches, i), p->count, &p->watches[i]) != 0) {
            return -1;
        }
        p->nwatches++;
        bn_json_restore(&r->x, at);
    }
    bn_json_restore(&r->x, saved);
    saved = bn_json_key(&r->x, "requests");
    for (i = 0; i < json_array_size(requests); i++) {
        size_t at = bn_json_index(&r->x, i);

        if (bn_scn_read_request(r, json_array_get(requests, i), p->count, &p->requests[i]) != 0) {
            return -1;
        }
        p->nrequests++;
        bn_json_restore(&r->x, at);
    }
    bn_json_restore(&r->x, saved);
    return 0;
}

static int
read_populations(struct bn_scn_reader *r, const json_t *root)
{
    json_t *pops = json_object_get(root, "populations");
    size_t i, saved = bn_json_key(&r->x, "populations");
    int rc = 0;

    if (!json_is_array(pops) || json_array_size(pops) == 0 ||
        json_array_size(pops) > BN_SCN_MAX_POPS) {
        rc = pops == NULL ? bn_json_fail(&r->x, "required")
                          : bn_json_fail_got(&r->x, pops, "an array of 1 to %d populations",
                                             BN_SCN_MAX_POPS);
        bn_json_restore(&r->x, saved);
        return rc;
    }
    r->s->pops = calloc(json_array_size(pops), sizeof(*r->s->pops));
    if (r->s->pops == NULL) {
        return bn_json_fail(&r->x, "out of memory");
    }
    for (i = 0; rc == 0 && i < json_array_size(pops); i++) {
        size_t at = bn_json_index(&r->x, i);

        r->s->npops++;
        rc = read_population(r, json_array_get(pops, i), i);
        bn_json_restore(&r->x, at);
    }
    bn_json_restore(&r->x, saved);
    return rc;
}

/* --- the top level ----------------------------------------------------- */

static int
read_target(struct bn_scn_reader *r, const json_t *root, const char *override)
{
    json_t *v = override != NULL ? NULL : json_object_get(root, "target");
    char why[256], *path = NULL;
    size_t saved = bn_json_key(&r->x, "target");
    int rc = 0;

    if (override == NULL && v == NULL) {
        rc = bn_json_fail(&r->x, "required (or --target URL)");
    } else if (override == NULL && !json_is_string(v)) {
        rc = bn_json_fail_got(&r->x, v, "an https:// URL");
    } else {
        const char *url = override != NULL ? override : json_string_value(v);

        if (bn_scn_split_url(url, &r->s->host, &r->s->port, &path, why, sizeof(why)) != 0) {
            rc = bn_json_fail(&r->x, "%s", why);
        } else if (strcmp(path, "/") != 0) {
            rc =
                bn_json_fail(&r->x, "expected no path (requests name their own), got \"%s\"", path);
        } else if ((r->s->target = strdup(url)) == NULL) {
            rc = bn_json_fail(&r->x, "out of memory");
        } else if (r->s->target[strlen(r->s->target) - 1] == '/') {
            r->s->target[strlen(r->s->target) - 1] = '\0';
        }
    }
    free(path);
    bn_json_restore(&r->x, saved);
    return rc;
}

static int
read_top(struct bn_scn_reader *r, const json_t *root, const char *target)
{
    struct bn_scn *s = r->s;
    json_t *seed = json_object_get(root, "seed");

    s->duration_ns = 10ull * 1000000000ull;
    s->timeout_ns = 30ull * 1000000000ull;
    s->retry_after = true;
    s->max_retries = 10; /* client-go's rest.Request default */
    if (bn_json_check_keys(&r->x, root, top_keys, N(top_keys)) != 0 ||
        read_target(r, root, target) != 0 ||
        bn_json_bool(&r->x, root, "insecure", &s->insecure) != 0 ||
        bn_scn_read_file(r, root, "ca", !s->insecure, &s->ca) != 0 ||
        bn_json_duration(&r->x, root, "duration", &s->duration_ns) != 0 ||
        bn_json_duration(&r->x, root, "timeout", &s->timeout_ns) != 0 ||
        bn_json_u32(&r->x, root, "threads", 0, 1024, &s->threads) != 0 ||
        bn_json_bool(&r->x, root, "closed", &s->closed) != 0 ||
        bn_json_bool(&r->x, root, "retry_after", &s->retry_after) != 0 ||
        bn_json_u32(&r->x, root, "max_retries", 0, BN_SCN_MAX_RETRIES, &s->max_retries) != 0 ||
        bn_scn_read_file(r, root, "ca_cert", false, &s->ca_cert) != 0 ||
        bn_scn_read_file(r, root, "ca_key", false, &s->ca_key) != 0 ||
        bn_scn_read_file(r, root, "sa_key", false, &s->sa_key) != 0 ||
        bn_json_string(&r->x, root, "sa_issuer", false, &s->sa_issuer) != 0) {
        return -1;
    }
    if (s->duration_ns == 0) {
        size_t saved = bn_json_key(&r->x, "duration");

        bn_json_fail(&r->x, "must be more than 0");
        bn_json_restore(&r->x, saved);
        return -1;
    }
    if (seed != NULL) {
        if (!json_is_integer(seed) || json_integer_value(seed) < 0) {
            size_t saved = bn_json_key(&r->x, "seed");

            bn_json_fail_got(&r->x, seed, "an integer >= 0");
            bn_json_restore(&r->x, saved);
            return -1;
        }
        s->seed = (uint64_t)json_integer_value(seed);
    }
    return read_populations(r, root);
}

int
bn_scn_parse(const char *text, size_t len, const char *name, const char *target,
             struct bn_scn **out, char *err, size_t errlen)
{
    struct bn_scn_reader r;
    json_error_t je;
    json_t *root;
    const char *slash = strrchr(name, '/');
    int rc = -1;

    *out = NULL;
    memset(&r, 0, sizeof(r));
    bn_json_ctx_init(&r.x, name, err, errlen);
    if (slash != NULL) {
        snprintf(r.dir, sizeof(r.dir), "%.*s", (int)(slash - name), name);
        if (r.dir[0] == '\0') {
            snprintf(r.dir, sizeof(r.dir), "/");
        }
    }
    root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (root == NULL) {
        px_errf(err, errlen, "%s:%d:%d: invalid JSON: %s", name, je.line, je.column, je.text);
        return -1;
    }
    if (!json_is_object(root)) {
        bn_json_fail_got(&r.x, root, "an object at the top level");
        goto done;
    }
    if ((r.s = calloc(1, sizeof(*r.s))) == NULL || (r.s->name = strdup(name)) == NULL) {
        bn_json_fail(&r.x, "out of memory");
        goto done;
    }
    if (read_top(&r, root, target) == 0) {
        *out = r.s;
        r.s = NULL;
        rc = 0;
    }
done:
    bn_scn_free(r.s);
    json_decref(root);
    return rc;
}

int
bn_scn_load(const char *path, const char *target, struct bn_scn **out, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    size_t n;
    int rc;

    *out = NULL;
    if (f == NULL) {
        px_errf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    if ((buf = malloc(BN_SCN_FILE_MAX + 1)) == NULL) {
        fclose(f);
        px_errf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    n = fread(buf, 1, BN_SCN_FILE_MAX + 1, f);
    if (ferror(f) || n > BN_SCN_FILE_MAX) {
        px_errf(err, errlen, "%s: %s", path,
                ferror(f) ? "read error" : "larger than 4 MiB; not a scenario");
        rc = -1;
    } else {
        rc = bn_scn_parse(buf, n, path, target, out, err, errlen);
    }
    free(buf);
    fclose(f);
    return rc;
}

static void
identity_fini(struct bn_scn_identity *id)
{
    size_t i;

    free(id->user);
    for (i = 0; i < id->ngroups; i++) {
        free(id->groups[i]);
    }
    free(id->cert);
    free(id->key);
    free(id->ns);
    free(id->serviceaccount);
    free(id->node);
    free(id->pod);
    free(id->issuer);
    free(id->audience);
    free(id->token);
    free(id->path);
}

void
bn_scn_free(struct bn_scn *s)
{
    size_t i, j, k;

    if (s == NULL) {
        return;
    }
    for (i = 0; i < s->npops; i++) {
        struct bn_scn_pop *p = &s->pops[i];

        free(p->name);
        identity_fini(&p->id);
        for (j = 0; j < p->nwatches; j++) {
            free(p->watches[j].path);
        }
        /* A request that failed half-read holds strings too. */
        for (j = 0; j <= p->nrequests && j < BN_SCN_MAX_REQUESTS; j++) {
            free(p->requests[j].method);
            free(p->requests[j].path);
            free(p->requests[j].body);
            for (k = 0; k < BN_SCN_MAX_HEADERS; k++) {
                free(p->requests[j].headers[k]);
            }
        }
        if (p->nwatches < BN_SCN_MAX_WATCHES) {
            free(p->watches[p->nwatches].path);
        }
    }
    free(s->pops);
    free(s->name);
    free(s->target);
    free(s->host);
    free(s->port);
    free(s->ca);
    free(s->ca_cert);
    free(s->ca_key);
    free(s->sa_key);
    free(s->sa_issuer);
    free(s);
}

int
bn_scn_split_url(const char *url, char **host, char **port, char **path, char *why, size_t whylen)
{
    const char *h, *end, *p, *colon;
    size_t hl;

    *host = *port = *path = NULL;
    if (strncmp(url, "https://", 8) != 0) {
        px_errf(why, whylen, "expected an https:// URL, got \"%.64s\"", url);
        return -1;
    }
    h = url + 8;
    p = h + strcspn(h, "/?#");
    if (*h == '[') {
        end = memchr(h, ']', (size_t)(p - h));
        if (end == NULL) {
            px_errf(why, whylen, "unterminated [IPv6] address in \"%.64s\"", url);
            return -1;
        }
        colon = end + 1 < p && end[1] == ':' ? end + 1 : NULL;
        h++;
        hl = (size_t)(end - h);
    } else {
        colon = memchr(h, ':', (size_t)(p - h));
        hl = (size_t)((colon != NULL ? colon : p) - h);
    }
    if (hl == 0 ||
        (colon != NULL && (p - colon - 1 < 1 || p - colon - 1 > 5 ||
                           strspn(colon + 1, "0123456789") != (size_t)(p - colon - 1)))) {
        px_errf(why, whylen, "expected https://HOST[:PORT], got \"%.64s\"", url);
        return -1;
    }
    *host = strndup(h, hl);
    *port = colon != NULL ? strndup(colon + 1, (size_t)(p - colon - 1)) : strdup("443");
    *path = strdup(*p == '\0' ? "/" : p);
    if (*host == NULL || *port == NULL || *path == NULL || (*p != '\0' && *p != '/')) {
        free(*host);
        free(*port);
        free(*path);
        *host = *port = *path = NULL;
        px_errf(why, whylen, "expected https://HOST[:PORT]/PATH, got \"%.64s\"", url);
        return -1;
    }
    return 0;
}

uint64_t
bn_scn_member_rate(const struct bn_scn_pop *pop, const struct bn_scn_request *r, uint32_t *div)
{
    *div = r->total ? pop->count : 1;
    return r->rate_mrps;
}

uint64_t
bn_scn_pop_rate(const struct bn_scn_pop *pop)
{
    uint64_t sum = 0;
    size_t i;

    for (i = 0; i < pop->nrequests; i++) {
        sum += pop->requests[i].total ? pop->requests[i].rate_mrps
                                      : pop->requests[i].rate_mrps * pop->count;
    }
    return sum;
}

double
bn_scn_pop_expected(const struct bn_scn_pop *pop, uint64_t duration_ns)
{
    double member_s = 0, per_member = 0;
    uint32_t i;
    size_t k;

    for (i = 0; i < pop->count; i++) {
        uint64_t start = bn_sched_member_start(pop->start_ns, pop->ramp_ns, i, pop->count);

        member_s += start < duration_ns ? (double)(duration_ns - start) / 1e9 : 0.0;
    }
    for (k = 0; k < pop->nrequests; k++) {
        const struct bn_scn_request *r = &pop->requests[k];

        per_member += (double)r->rate_mrps / 1000.0 / (r->total ? pop->count : 1);
    }
    return member_s * per_member;
}
