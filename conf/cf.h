/* floodgate's configuration: one JSON file -> an immutable, reference-counted
 * snapshot of plain values and a built limiter policy. Every error names the
 * JSON path, what was expected and what was found. An invalid file never
 * replaces a running snapshot: the caller keeps the old one. */
#ifndef CF_H
#define CF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lim_policy.h"

#define CF_ERRLEN       512
#define CF_MAX_UPSTREAM 16
#define CF_MAX_KEYS     16

enum cf_client_auth { CF_CLIENT_AUTH_OFF = 0, CF_CLIENT_AUTH_OPTIONAL, CF_CLIENT_AUTH_REQUIRED };
enum cf_unverified { CF_UNVERIFIED_HASH = 0, CF_UNVERIFIED_REJECT };
enum cf_log_format { CF_LOG_JSON = 0, CF_LOG_TEXT };
enum cf_log_level { CF_LOG_ERROR = 0, CF_LOG_WARN, CF_LOG_INFO, CF_LOG_DEBUG };

/* All strings are owned by the snapshot; "" when unset, never NULL.
 * Addresses are "HOST:PORT", "[V6]:PORT" or "unix:/path". File paths are
 * resolved against the directory of the configuration file. */
struct cf_listen {
    char *address;                   /* default "0.0.0.0:6443" */
    char *cert;                      /* PEM chain, required */
    char *key;                       /* PEM key, required */
    char *client_ca;                 /* PEM bundle; required unless client_auth is off */
    enum cf_client_auth client_auth; /* default optional */
    int tls_min_version;             /* 0x0303 (TLS 1.2, default) or 0x0304 */
    uint32_t workers;                /* 0 in the file = number of cores,
                                        resolved at load (never 0 here) */
    uint32_t max_header_bytes;       /* default 32 KiB -> 431 */
    uint64_t max_body_bytes;         /* default 3 MiB (kube's limit) -> 413 */
    uint64_t header_timeout_ns;      /* default 10 s -> 408 */
    uint64_t idle_timeout_ns;        /* keep-alive idle, default 90 s */
    uint32_t max_connections;        /* default 20000 */
};

struct cf_upstream {
    char *servers[CF_MAX_UPSTREAM]; /* tried in order */
    size_t nservers;
    char *ca;          /* verifies the apiserver; required */
    char *server_name; /* name checked in its certificate and sent as SNI;
                          default "kubernetes" */
    char *client_cert; /* front-proxy client certificate (requestheader) */
    char *client_key;
    uint64_t connect_timeout_ns; /* default 5 s -> 503 */
    uint64_t request_timeout_ns; /* non-long-running, default 60 s -> 504 */
    uint32_t pool_size;          /* idle keep-alive connections per worker, 64 */
    char *health_path;           /* default "/readyz" */
    uint64_t health_interval_ns; /* default 2 s */
};

struct cf_auth {
    char *issuers[CF_MAX_KEYS];
    size_t nissuers;
    char *keys[CF_MAX_KEYS]; /* PEM public keys (RS256/ES256), checked readable */
    size_t nkeys;
    char *audiences[CF_MAX_KEYS]; /* accepted "aud" values; none = any */
    size_t naudiences;
    enum cf_unverified unverified; /* default hash */
    bool anonymous; /* serve requests without credentials (kube's --anonymous-auth), default true */
};

struct cf_admin {
    char *address;    /* default "127.0.0.1:9444"; "" disables */
    char *socket;     /* unix socket path, "" = none */
    char *token_file; /* bearer token required when set */
};

struct cf_log {
    enum cf_log_level level;   /* default info */
    enum cf_log_format format; /* default json */
    uint32_t reject_log_per_s; /* rejection lines per second before summarising, 10 */
};

struct cf_config {
    char *path;    /* the file it came from, "" for the embedded default */
    char hash[17]; /* first 64 bits of SHA-256 of the file, hex */
    struct cf_listen listen;
    struct cf_upstream upstream;
    struct cf_auth auth;
    struct cf_admin admin;
    struct cf_log log;
    uint32_t max_clients;      /* limits.max_clients, default 100000 (not reloadable) */
    bool policy_builtin;       /* the file had no "limits": sidecar.json's are in force */
    struct lim_policy *policy; /* finished, owned by the snapshot */
};

/* Loads and validates <path>. On success *<out> holds a snapshot with one
 * reference. On failure returns -1, *<out> is untouched and <err> reads like
 * "sidecar.json: limits.classes[3].burst: expected an integer >= 1, got -4". */
int cf_load(const char *path, struct cf_config **out, char *err, size_t errlen)
    __attribute__((warn_unused_result));
/* The same from a JSON text in memory; <name> stands for the file in messages. */
int cf_load_string(const char *json, const char *name, struct cf_config **out, char *err,
                   size_t errlen) __attribute__((warn_unused_result));

/* Atomic reference counting; cf_unref(NULL) is a no-op. */
struct cf_config *cf_ref(struct cf_config *cf);
void cf_unref(struct cf_config *cf);

/* Writes the one-screen summary of the effective policy that
 * --check-config prints (classes in rule order with their budgets) into
 * <buf>; returns the length it needed (like snprintf). */
size_t cf_summary(const struct cf_config *cf, char *buf, size_t len);

/* For reloads: fills <kept> (of length lim_policy_class_count(new->policy))
 * with whether each class of <next> has a namesake in <prev>, whose client
 * state then survives. Returns how many kept their names. */
size_t cf_diff_classes(const struct cf_config *prev, const struct cf_config *next, bool *kept);

/* Fields that cannot change without a restart (listen address, workers,
 * max_clients, admin address and socket): 0 if <next> may replace <prev>,
 * else -1 with <err> naming the first such field. */
int cf_check_reloadable(const struct cf_config *prev, const struct cf_config *next, char *err,
                        size_t errlen) __attribute__((warn_unused_result));

/* Parsers for the human units, exposed for the CLI and tests. Each returns 0
 * or -1. Rates: "10/s", "600/m", "5/h", or a number per second. Durations:
 * "30s", "250ms", "2m", "1h", "100us". Sizes: "64KiB", "3MiB", "512", "1GiB". */
int cf_parse_rate(const char *s, uint64_t *mtps);
int cf_parse_duration(const char *s, uint64_t *ns);
int cf_parse_size(const char *s, uint64_t *bytes);
/* And back, as the summary and `floodgate explain` print them, into <buf>
 * (which is returned): rates "10/s", "6/m", "1.02/m" (what "1/m" became);
 * durations "250ms", "30s". */
const char *cf_fmt_rate(uint64_t mtps, char *buf, size_t len);
const char *cf_fmt_duration(uint64_t ns, char *buf, size_t len);
/* Sizes "64KiB", as the admin plane shows them; percentages "25%" or "25"
 * read (no bound checked here). */
const char *cf_fmt_size(uint64_t bytes, char *buf, size_t len);
int cf_parse_pct(const char *s, uint32_t *pct);

#endif /* CF_H */
