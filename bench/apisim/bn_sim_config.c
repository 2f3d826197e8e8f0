/* Configuration keys: see bn_sim_config.h. */
#include "bn_sim_config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "px_err.h"

enum ktype { K_STR = 0, K_LIST, K_U64, K_DUR, K_SIZE, K_BOOL };

struct key {
    const char *name;
    enum ktype type;
    size_t off;   /* of the field */
    size_t n_off; /* K_LIST: of its count */
    size_t size;  /* K_STR/K_LIST: bytes of one string */
    uint64_t min, max;
    const char *dflt;
    const char *help;
};

#define OFF(f) offsetof(struct bn_sim_config, f)
#define STR(n, f, d, h)                                                                            \
    {                                                                                              \
        n, K_STR, OFF(f), 0, sizeof(((struct bn_sim_config *)0)->f), 0, 0, d, h                    \
    }
#define NUM(t, n, f, lo, hi, d, h)                                                                 \
    {                                                                                              \
        n, t, OFF(f), 0, 0, lo, hi, d, h                                                           \
    }
#define NS_S 1000000000ull

/* name, field, bounds, default: the whole surface of the simulator. */
static const struct key keys[] = {
    STR("listen", listen, "127.0.0.1:6444", "HOST:PORT to serve on (port 0: any free port)"),
    STR("ready-file", ready_file, "", "write listen=HOST:PORT here once listening"),
    STR("cert", cert, "", "serving certificate chain (PEM)"),
    STR("key", key, "", "serving key (PEM)"),
    NUM(K_U64, "max-connections", max_connections, 1, 1000000, "20000",
        "connections held at once; more are closed at accept"),
    NUM(K_SIZE, "max-body-bytes", max_body_bytes, 1024, 1ull << 30, "3MiB",
        "request body limit (kube-apiserver: 3 MiB), larger is 413"),
    STR("log-level", log_level, "info", "error, warn, info or debug"),
    STR("log-format", log_format, "text", "text or json"),
    NUM(K_U64, "request-log", request_log, 1, 1000000, "4096",
        "recent requests kept for /debug/requests"),
    STR("client-ca", client_ca, "", "CA for client certificates (--client-ca-file)"),
    STR("requestheader-client-ca", requestheader_ca, "",
        "CA for the front proxy's certificate (--requestheader-client-ca-file)"),
    {"requestheader-allowed-names", K_LIST, OFF(allowed_names), OFF(nallowed_names),
     sizeof(((struct bn_sim_config *)0)->allowed_names[0]), 0, 0, NULL,
     "front-proxy certificate CNs allowed (repeatable; none: any)"},
    {"service-account-key-file", K_LIST, OFF(sa_key_files), OFF(nsa_key_files),
     sizeof(((struct bn_sim_config *)0)->sa_key_files[0]), 0, 0, NULL,
     "PEM keys verifying service-account tokens (repeatable)"},
    {"service-account-issuer", K_LIST, OFF(sa_issuers), OFF(nsa_issuers),
     sizeof(((struct bn_sim_config *)0)->sa_issuers[0]), 0, 0, NULL,
     "accepted token issuers (repeatable; default https://kubernetes.default.svc.cluster.local)"},
    {"api-audiences", K_LIST, OFF(api_audiences), OFF(napi_audiences),
     sizeof(((struct bn_sim_config *)0)->api_audiences[0]), 0, 0, NULL,
     "accepted token audiences (repeatable; default: the issuers)"},
    NUM(K_BOOL, "anonymous-auth", anonymous_auth, 0, 1, "true",
        "serve requests without credentials as system:anonymous"),
    NUM(K_U64, "nodes", nodes, 0, 100000, "100", "generated nodes"),
    NUM(K_U64, "pods-per-node", pods_per_node, 0, 1000, "10", "generated pods per node"),
    NUM(K_U64, "churn-per-s", churn_per_s, 0, 100000, "10", "pod updates per second"),
    NUM(K_U64, "seed", seed, 0, UINT64_MAX, "1", "seed for names, UIDs and churn"),
    NUM(K_U64, "event-window", event_window, 1, 10000000, "10000",
        "events kept per resource for watches from a resourceVersion (older: 410)"),
    NUM(K_U64, "slots", slots, 1, 1024, "2", "storage slots: requests served at once"),
    NUM(K_U64, "max-inflight", max_inflight, 0, 1000000, "400",
        "read-only requests queued or running before 429 (0: no limit)"),
    NUM(K_U64, "max-mutating-inflight", max_mutating_inflight, 0, 1000000, "200",
        "mutating requests queued or running before 429 (0: no limit)"),
    NUM(K_DUR, "queue-timeout", queue_timeout_ns, 1000000, 3600 * NS_S, "15s",
        "longest wait for a slot; then 504 (cache reads) or 500 etcd timeout (storage reads, "
        "writes)"),
    NUM(K_DUR, "max-background", max_debt_ns, 0, 3600 * NS_S, "10s",
        "background work (watch fan-out) owed at most; more is dropped"),
    NUM(K_DUR, "cost-get", cost_get_ns, 0, 60 * NS_S, "1ms", "GET of one object"),
    NUM(K_DUR, "cost-list", cost_list_ns, 0, 60 * NS_S, "2ms", "base cost of a LIST"),
    NUM(K_DUR, "cost-list-etcd-per-object", cost_list_etcd_per_object_ns, 0, NS_S, "60us",
        "LIST from etcd (no resourceVersion, continue, limit): per object in the range"),
    NUM(K_DUR, "cost-list-cache-per-object", cost_list_cache_per_object_ns, 0, NS_S, "40us",
        "LIST from the watch cache (resourceVersion set): per object scanned"),
    NUM(K_DUR, "cost-write", cost_write_ns, 0, 60 * NS_S, "3ms", "create, update, patch or delete"),
    NUM(K_DUR, "cost-watch", cost_watch_ns, 0, 60 * NS_S, "2ms",
        "opening a watch (plus a LIST when it has no resourceVersion)"),
    NUM(K_DUR, "cost-watch-event", cost_watch_event_ns, 0, NS_S, "20us",
        "each event delivered to each watcher (background)"),
    NUM(K_DUR, "cost-discovery", cost_discovery_ns, 0, NS_S, "500us",
        "discovery and other non-resource requests"),
    NUM(K_SIZE, "watch-memory", watch_memory_bytes, 0, 1ull << 30, "64KiB",
        "memory an open watch costs the simulated apiserver (reported)"),
    NUM(K_SIZE, "watch-buffer", watch_buffer_bytes, 4096, 1ull << 30, "1MiB",
        "bytes a watcher may fall behind before it is terminated"),
    NUM(K_DUR, "min-request-timeout", min_request_timeout_ns, NS_S, 86400 * NS_S, "1800s",
        "watches without timeoutSeconds end after [this, 2x this)"),
    NUM(K_DUR, "watch-bookmark-interval", bookmark_interval_ns, 100000000ull, 3600 * NS_S, "60s",
        "BOOKMARK events to watchers that allow them"),
};

#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static const struct key *
find_key(const char *name, size_t n)
{
    size_t i;

    for (i = 0; i < NKEYS; i++) {
        if (strlen(keys[i].name) == n && strncmp(keys[i].name, name, n) == 0) {
            return &keys[i];
        }
    }
    return NULL;
}

int
bn_sim_parse_duration(const char *s, uint64_t *ns)
{
    static const struct {
        const char *unit;
        uint64_t mul;
    } units[] = {{"ns", 1},   {"us", 1000},     {"ms", 1000000},
                 {"s", NS_S}, {"m", 60 * NS_S}, {"h", 3600 * NS_S}};
    char *end;
    unsigned long long v;
    size_t i;

    if (*s < '0' || *s > '9') {
        return -1;
    }
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0) {
        return -1;
    }
    if (v == 0 && *end == '\0') {
        *ns = 0; /* "0" needs no unit */
        return 0;
    }
    for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcmp(end, units[i].unit) == 0) {
            if (v > UINT64_MAX / units[i].mul) {
                return -1;
            }
            *ns = v * units[i].mul;
            return 0;
        }
    }
    return -1;
}

static int
parse_size(const char *s, uint64_t *out)
{
    char *end;
    unsigned long long v;
    uint64_t mul = 1;

    if (*s < '0' || *s > '9') {
        return -1;
    }
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0) {
        return -1;
    }
    if (strcmp(end, "KiB") == 0) {
        mul = 1024;
    } else if (strcmp(end, "MiB") == 0) {
        mul = 1024 * 1024;
    } else if (strcmp(end, "GiB") == 0) {
        mul = 1024ull * 1024 * 1024;
    } else if (*end != '\0') {
        return -1;
    }
    if (v > UINT64_MAX / mul) {
        return -1;
    }
    *out = v * mul;
    return 0;
}

static int
set_key(struct bn_sim_config *c, const struct key *k, const char *value, char *err, size_t errlen)
{
    char *base = (char *)c + k->off;
    uint64_t v = 0;
    char *end;

    switch (k->type) {
    case K_STR:
        if (strlen(value) >= k->size) {
            px_errf(err, errlen, "%s: longer than %zu bytes", k->name, k->size - 1);
            return -1;
        }
        memcpy(base, value, strlen(value) + 1);
        return 0;
    case K_LIST: {
        size_t *n = (size_t *)((char *)c + k->n_off);

        if (*n == BN_SIM_CFG_LIST || strlen(value) >= k->size) {
            px_errf(err, errlen, "%s: at most %d values of %zu bytes", k->name, BN_SIM_CFG_LIST,
                    k->size - 1);
            return -1;
        }
        memcpy(base + *n * k->size, value, strlen(value) + 1);
        (*n)++;
        return 0;
    }
    case K_BOOL:
        if (strcmp(value, "true") == 0 || strcmp(value, "1") == 0) {
            *(bool *)base = true;
        } else if (strcmp(value, "false") == 0 || strcmp(value, "0") == 0) {
            *(bool *)base = false;
        } else {
            px_errf(err, errlen, "%s: expected true or false, got \"%.64s\"", k->name, value);
            return -1;
        }
        return 0;
    case K_U64:
        errno = 0;
        v = strtoull(value, &end, 10);
        if (errno != 0 || *end != '\0' || *value < '0' || *value > '9') {
            px_errf(err, errlen, "%s: expected an integer, got \"%.64s\"", k->name, value);
            return -1;
        }
        break;
    case K_DUR:
        if (bn_sim_parse_duration(value, &v) != 0) {
            px_errf(err, errlen, "%s: expected a duration like 250ms or 15s, got \"%.64s\"",
                    k->name, value);
            return -1;
        }
        break;
    case K_SIZE:
        if (parse_size(value, &v) != 0) {
            px_errf(err, errlen, "%s: expected a size like 4096, 64KiB or 1MiB, got \"%.64s\"",
                    k->name, value);
            return -1;
        }
        break;
    }
    if (v < k->min || v > k->max) {
        px_errf(err, errlen, "%s: expected %" PRIu64 "..%" PRIu64 ", got \"%.64s\"", k->name,
                k->min, k->max, value);
        return -1;
    }
    *(uint64_t *)base = v;
    return 0;
}

void
bn_sim_config_defaults(struct bn_sim_config *c)
{
    size_t i;

    memset(c, 0, sizeof(*c));
    for (i = 0; i < NKEYS; i++) {
        if (keys[i].dflt != NULL && set_key(c, &keys[i], keys[i].dflt, NULL, 0) != 0) {
            abort(); /* a default outside its own bounds is a bug in the table */
        }
    }
}

int
bn_sim_config_set(struct bn_sim_config *c, const char *name, const char *value, char *err,
                  size_t errlen)
{
    const struct key *k = find_key(name, strlen(name));

    if (k == NULL) {
        px_errf(err, errlen, "unknown option --%.64s", name);
        return -1;
    }
    return set_key(c, k, value, err, errlen);
}

/* A JSON value in the text form a flag would carry. */
static int
json_text(const struct key *k, json_t *v, char *buf, size_t len)
{
    if (json_is_string(v)) {
        snprintf(buf, len, "%s", json_string_value(v));
    } else if (json_is_boolean(v) && k->type == K_BOOL) {
        snprintf(buf, len, "%s", json_is_true(v) ? "true" : "false");
    } else if (json_is_integer(v) && k->type != K_STR && k->type != K_LIST) {
        snprintf(buf, len, "%" JSON_INTEGER_FORMAT "%s", json_integer_value(v),
                 k->type == K_DUR ? "s" : "");
    } else if (json_is_real(v) && k->type == K_DUR) {
        snprintf(buf, len, "%.0fus", json_real_value(v) * 1e6);
    } else {
        return -1;
    }
    return 0;
}

int
bn_sim_config_load(struct bn_sim_config *c, const char *path, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr), *v, *item;
    const char *name;
    char text[BN_SIM_CFG_PATH], why[256];
    size_t i;

    if (root == NULL) {
        px_errf(err, errlen, "%s:%d:%d: %s", path, jerr.line, jerr.column, jerr.text);
        return -1;
    }
    if (!json_is_object(root)) {
        px_errf(err, errlen, "%s: expected a JSON object", path);
        json_decref(root);
        return -1;
    }
    json_object_foreach(root, name, v)
    {
        const struct key *k = find_key(name, strlen(name));

        if (k == NULL) {
            px_errf(err, errlen, "%s: unknown key \"%.64s\"", path, name);
            goto fail;
        }
        if (k->type == K_LIST) {
            *(size_t *)((char *)c + k->n_off) = 0; /* the file's list replaces the default */
            if (!json_is_array(v)) {
                px_errf(err, errlen, "%s: %s: expected a list of strings", path, name);
                goto fail;
            }
            json_array_foreach(v, i, item)
            {
                if (!json_is_string(item) ||
                    set_key(c, k, json_string_value(item), why, sizeof(why)) != 0) {
                    px_errf(err, errlen, "%s: %s[%zu]: %s", path, name, i,
                            json_is_string(item) ? why : "expected a string");
                    goto fail;
                }
            }
            continue;
        }
        if (json_text(k, v, text, sizeof(text)) != 0) {
            px_errf(err, errlen, "%s: %s: wrong JSON type", path, name);
            goto fail;
        }
        if (set_key(c, k, text, why, sizeof(why)) != 0) {
            px_errf(err, errlen, "%s: %s", path, why);
            goto fail;
        }
    }
    json_decref(root);
    return 0;

fail:
    json_decref(root);
    return -1;
}

static void
usage(FILE *out)
{
    size_t i;

    fprintf(out, "usage: floodgate-apisim [--config FILE.json] [--KEY VALUE ...]\n"
                 "A kube-apiserver simulator with a capacity model. Every key is also a key of "
                 "the JSON file.\n\n");
    for (i = 0; i < NKEYS; i++) {
        fprintf(out, "  --%-30s %s%s%s%s\n", keys[i].name, keys[i].help,
                keys[i].dflt != NULL ? " [" : "", keys[i].dflt != NULL ? keys[i].dflt : "",
                keys[i].dflt != NULL ? "]" : "");
    }
}

int
bn_sim_config_parse(struct bn_sim_config *c, int argc, char **argv, FILE *out, char *err,
                    size_t errlen)
{
    int i;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(out);
            return 1;
        }
        if (strcmp(argv[i], "--config") == 0 || strncmp(argv[i], "--config=", 9) == 0) {
            const char *path = argv[i][8] == '=' ? argv[i] + 9 : (i + 1 < argc ? argv[++i] : NULL);

            if (path == NULL) {
                px_errf(err, errlen, "--config needs a file");
                return -1;
            }
            if (bn_sim_config_load(c, path, err, errlen) != 0) {
                return -1;
            }
        }
    }
    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *eq, *value;
        const struct key *k;

        if (strncmp(a, "--", 2) != 0) {
            px_errf(err, errlen, "unexpected argument \"%.64s\"", a);
            return -1;
        }
        a += 2;
        eq = strchr(a, '=');
        if (strncmp(a, "config", 6) == 0 && (a[6] == '\0' || a[6] == '=')) {
            i += a[6] == '\0';
            continue;
        }
        k = find_key(a, eq != NULL ? (size_t)(eq - a) : strlen(a));
        if (k == NULL) {
            px_errf(err, errlen, "unknown option --%.*s", (int)(eq != NULL ? eq - a : 64), a);
            return -1;
        }
        if (eq != NULL) {
            value = eq + 1;
        } else if (k->type == K_BOOL && (i + 1 >= argc || strncmp(argv[i + 1], "--", 2) == 0)) {
            value = "true";
        } else if (i + 1 < argc) {
            value = argv[++i];
        } else {
            px_errf(err, errlen, "--%s needs a value", k->name);
            return -1;
        }
        if (set_key(c, k, value, err, errlen) != 0) {
            return -1;
        }
    }
    return 0;
}
