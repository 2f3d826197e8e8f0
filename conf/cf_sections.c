/* The plain sections of the file: listen, upstream, auth, admin, log. Each
 * is a table of typed keys with bounds (defaults are cf.h's), then the
 * checks that need more than one key: files that must exist and hold the
 * right PEM blocks, keys that go in pairs. */
#include "cf_int.h"

#include <assert.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MS             1000000ull
#define S              1000000000ull
#define MAX_WORKERS    256
#define TOKEN_FILE_MAX (64u << 10)

static_assert(sizeof(enum cf_client_auth) == sizeof(int), "CF_T_ENUM writes an int");
static_assert(sizeof(enum cf_unverified) == sizeof(int), "CF_T_ENUM writes an int");
static_assert(sizeof(enum cf_log_level) == sizeof(int), "CF_T_ENUM writes an int");
static_assert(sizeof(enum cf_log_format) == sizeof(int), "CF_T_ENUM writes an int");

#define KEY(st, name, type, field, min, max, names)                                                \
    {                                                                                              \
        name, type, offsetof(struct st, field), min, max, names                                    \
    }

static const struct cf_enum client_auth_names[] = {{"off", CF_CLIENT_AUTH_OFF},
                                                   {"optional", CF_CLIENT_AUTH_OPTIONAL},
                                                   {"required", CF_CLIENT_AUTH_REQUIRED},
                                                   {NULL, 0}};
static const struct cf_enum tls_names[] = {{"1.2", 0x0303}, {"1.3", 0x0304}, {NULL, 0}};
static const struct cf_enum unverified_names[] = {
    {"hash", CF_UNVERIFIED_HASH}, {"reject", CF_UNVERIFIED_REJECT}, {NULL, 0}};
static const struct cf_enum level_names[] = {{"error", CF_LOG_ERROR},
                                             {"warn", CF_LOG_WARN},
                                             {"info", CF_LOG_INFO},
                                             {"debug", CF_LOG_DEBUG},
                                             {NULL, 0}};
static const struct cf_enum format_names[] = {
    {"json", CF_LOG_JSON}, {"text", CF_LOG_TEXT}, {NULL, 0}};

/* For CF_T_ADDR, min 1 = required non-empty, max 1 = port 0 allowed (tests
 * bind port 0 and read the real one from the ready file). */
static const struct cf_key listen_keys[] = {
    KEY(cf_listen, "address", CF_T_ADDR, address, 1, 1, NULL),
    KEY(cf_listen, "cert", CF_T_FILE, cert, 0, 0, NULL),
    KEY(cf_listen, "key", CF_T_FILE, key, 0, 0, NULL),
    KEY(cf_listen, "client_ca", CF_T_FILE, client_ca, 0, 0, NULL),
    KEY(cf_listen, "client_auth", CF_T_ENUM, client_auth, 0, 0, client_auth_names),
    KEY(cf_listen, "tls_min_version", CF_T_ENUM, tls_min_version, 0, 0, tls_names),
    KEY(cf_listen, "workers", CF_T_U32, workers, 0, MAX_WORKERS, NULL),
    KEY(cf_listen, "max_header_bytes", CF_T_SIZE32, max_header_bytes, 1u << 10, 1u << 20, NULL),
    KEY(cf_listen, "max_body_bytes", CF_T_SIZE64, max_body_bytes, 1u << 10, 1u << 30, NULL),
    KEY(cf_listen, "header_timeout", CF_T_DUR_NS, header_timeout_ns, 1 * MS, 600 * S, NULL),
    KEY(cf_listen, "idle_timeout", CF_T_DUR_NS, idle_timeout_ns, 1 * S, 3600 * S, NULL),
    KEY(cf_listen, "max_connections", CF_T_U32, max_connections, 1, 1000000, NULL),
};

static const struct cf_key upstream_keys[] = {
    KEY(cf_upstream, "servers", CF_T_CUSTOM, servers, 0, 0, NULL),
    KEY(cf_upstream, "server", CF_T_CUSTOM, servers, 0, 0, NULL),
    KEY(cf_upstream, "ca", CF_T_FILE, ca, 0, 0, NULL),
    KEY(cf_upstream, "server_name", CF_T_STR, server_name, 1, 0, NULL),
    KEY(cf_upstream, "client_cert", CF_T_FILE, client_cert, 0, 0, NULL),
    KEY(cf_upstream, "client_key", CF_T_FILE, client_key, 0, 0, NULL),
    KEY(cf_upstream, "connect_timeout", CF_T_DUR_NS, connect_timeout_ns, 1 * MS, 300 * S, NULL),
    KEY(cf_upstream, "request_timeout", CF_T_DUR_NS, request_timeout_ns, 1 * S, 86400 * S, NULL),
    KEY(cf_upstream, "pool_size", CF_T_U32, pool_size, 0, 10000, NULL),
    KEY(cf_upstream, "health_path", CF_T_STR, health_path, 1, 0, NULL),
    KEY(cf_upstream, "health_interval", CF_T_DUR_NS, health_interval_ns, 100 * MS, 3600 * S, NULL),
};

static const struct cf_key auth_keys[] = {
    KEY(cf_auth, "issuers", CF_T_CUSTOM, issuers, 0, 0, NULL),
    KEY(cf_auth, "keys", CF_T_CUSTOM, keys, 0, 0, NULL),
    KEY(cf_auth, "audiences", CF_T_CUSTOM, audiences, 0, 0, NULL),
    KEY(cf_auth, "unverified", CF_T_ENUM, unverified, 0, 0, unverified_names),
    KEY(cf_auth, "anonymous", CF_T_BOOL, anonymous, 0, 0, NULL),
};

static const struct cf_key admin_keys[] = {
    KEY(cf_admin, "address", CF_T_ADDR, address, 0, 1, NULL),
    KEY(cf_admin, "socket", CF_T_STR, socket, 0, 0, NULL),
    KEY(cf_admin, "token_file", CF_T_FILE, token_file, 0, 0, NULL),
};

static const struct cf_key log_keys[] = {
    KEY(cf_log, "level", CF_T_ENUM, level, 0, 0, level_names),
    KEY(cf_log, "format", CF_T_ENUM, format, 0, 0, format_names),
    KEY(cf_log, "reject_log_per_s", CF_T_U32, reject_log_per_s, 0, 100000, NULL),
};

#define NKEYS(t) (sizeof(t) / sizeof((t)[0]))

static const char *const top_keys[] = {"listen", "upstream", "auth", "admin", "limits", "log"};

static int
set_default(struct cf_ctx *x, char **field, const char *value)
{
    if (*field == NULL && (*field = strdup(value)) == NULL) {
        return cf_fail(x, "out of memory");
    }
    return 0;
}

/* "<what>, got nothing" at <section>.<key>. */
static int
fail_missing(struct cf_ctx *x, const char *key, const char *what)
{
    size_t saved = cf_path_key(x, key);

    cf_fail(x, "expected %s, got nothing", what);
    cf_path_restore(x, saved);
    return -1;
}

static const char *
pem_what(enum cf_pem_kind kind)
{
    switch (kind) {
    case CF_PEM_CERTS:
        return "a readable PEM file with a certificate";
    case CF_PEM_PRIVATE_KEY:
        return "a readable PEM file with an unencrypted private key";
    case CF_PEM_PUBLIC_KEY:
    default:
        return "a readable PEM file with an RSA or EC P-256 public key";
    }
}

/* <path> (already resolved) at <key> holds <kind>; <key> NULL: the current path. */
static int
check_pem(struct cf_ctx *x, const char *key, const char *path, enum cf_pem_kind kind)
{
    char why[160], got[CF_GOT_MAX + 16];
    size_t saved = key != NULL ? cf_path_key(x, key) : x->pathlen;
    int rc = 0;

    if (cf_pem_check(path, kind, why, sizeof(why)) != 0) {
        cf_got_str(path, got, sizeof(got));
        rc = cf_fail(x, "expected %s, got %s (%s)", pem_what(kind), got, why);
    }
    cf_path_restore(x, saved);
    return rc;
}

static int
check_pair(struct cf_ctx *x, const char *key, const char *cert_key, const char *cert,
           const char *keyfile)
{
    char why[160], got[CF_GOT_MAX + 16];
    size_t saved = cf_path_key(x, key);
    int rc = 0;

    if (cf_pem_pair_check(cert, keyfile, why, sizeof(why)) != 0) {
        cf_got_str(keyfile, got, sizeof(got));
        rc = cf_fail(x, "expected the private key of %s, got %s (%s)", cert_key, got, why);
    }
    cf_path_restore(x, saved);
    return rc;
}

static unsigned
cores(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);

    return n < 1 ? 1u : n > MAX_WORKERS ? MAX_WORKERS : (unsigned)n;
}

static int
read_listen(struct cf_ctx *x, const json_t *v, struct cf_listen *l)
{
    l->client_auth = CF_CLIENT_AUTH_OPTIONAL;
    l->tls_min_version = 0x0303;
    l->workers = 0;
    l->max_header_bytes = 32u << 10;
    l->max_body_bytes = 3u << 20;
    l->header_timeout_ns = 10 * S;
    l->idle_timeout_ns = 90 * S;
    l->max_connections = 20000;
    if (v == NULL) {
        return cf_fail(x, "expected an object with at least cert and key, got nothing");
    }
    if (cf_read_object(x, v, listen_keys, NKEYS(listen_keys), l) != 0 ||
        set_default(x, &l->address, "0.0.0.0:6443") != 0 ||
        set_default(x, &l->client_ca, "") != 0) {
        return -1;
    }
    if (l->workers == 0) {
        l->workers = cores();
    }
    if (l->cert == NULL) {
        return fail_missing(x, "cert", "the serving certificate: a PEM file path");
    }
    if (l->key == NULL) {
        return fail_missing(x, "key", "the serving key: a PEM file path");
    }
    if (check_pem(x, "cert", l->cert, CF_PEM_CERTS) != 0 ||
        check_pem(x, "key", l->key, CF_PEM_PRIVATE_KEY) != 0 ||
        check_pair(x, "key", "listen.cert", l->cert, l->key) != 0) {
        return -1;
    }
    if (l->client_auth != CF_CLIENT_AUTH_OFF) {
        if (l->client_ca[0] == '\0') {
            return fail_missing(x, "client_ca",
                                "the client CA (a PEM file path) unless client_auth is \"off\"");
        }
        if (check_pem(x, "client_ca", l->client_ca, CF_PEM_CERTS) != 0) {
            return -1;
        }
    }
    return 0;
}

static int
read_servers(struct cf_ctx *x, const json_t *obj, struct cf_upstream *u)
{
    const json_t *many = json_object_get(obj, "servers");
    const json_t *one = json_object_get(obj, "server");
    char **l = NULL;
    size_t n = 0, i, saved;
    int rc = 0;

    if (many != NULL && one != NULL) {
        saved = cf_path_key(x, "server");
        cf_fail_got(x, one, "either server or servers, not both");
        cf_path_restore(x, saved);
        return -1;
    }
    if (many == NULL && one == NULL) {
        return fail_missing(x, "servers", "the apiserver address(es), e.g. [\"127.0.0.1:6444\"]");
    }
    saved = cf_path_key(x, many != NULL ? "servers" : "server");
    if (one != NULL) {
        char text[CF_STR_MAX];

        if (cf_read_string(x, one, text) != 0 || (l = calloc(1, sizeof(*l))) == NULL ||
            (l[0] = strdup(text)) == NULL) {
            cf_path_restore(x, saved);
            free(l);
            return x->failed ? -1 : cf_fail(x, "out of memory");
        }
        n = 1;
    } else if (cf_read_strings(x, many, CF_MAX_UPSTREAM, false, &l, &n) != 0) {
        cf_path_restore(x, saved);
        return -1;
    } else if (n == 0) {
        rc = cf_fail_got(x, many, "at least one address like \"127.0.0.1:6444\"");
    }
    for (i = 0; i < n && rc == 0; i++) {
        size_t s2 = many != NULL ? cf_path_index(x, i) : x->pathlen;

        if (!cf_addr_valid(l[i], true, false)) {
            rc = cf_fail_str(x, l[i],
                             "an address like \"10.0.0.1:6443\", \"[::1]:6443\", "
                             "\"apiserver.local:6443\" or \"unix:/path\"");
        }
        cf_path_restore(x, s2);
    }
    cf_path_restore(x, saved);
    for (i = 0; i < n; i++) {
        u->servers[i] = l[i];
    }
    u->nservers = n;
    free(l);
    return rc;
}

static int
read_upstream(struct cf_ctx *x, const json_t *v, struct cf_upstream *u)
{
    const char *k;

    u->connect_timeout_ns = 5 * S;
    u->request_timeout_ns = 60 * S;
    u->pool_size = 64;
    u->health_interval_ns = 2 * S;
    if (v == NULL) {
        return cf_fail(x, "expected an object with servers and ca, got nothing");
    }
    if (cf_read_object(x, v, upstream_keys, NKEYS(upstream_keys), u) != 0 ||
        read_servers(x, v, u) != 0 || set_default(x, &u->server_name, "kubernetes") != 0 ||
        set_default(x, &u->health_path, "/readyz") != 0 ||
        set_default(x, &u->client_cert, "") != 0 || set_default(x, &u->client_key, "") != 0) {
        return -1;
    }
    if (!cf_host_valid(u->server_name)) {
        size_t saved = cf_path_key(x, "server_name");

        cf_fail_str(x, u->server_name, "a DNS name or an IP address");
        cf_path_restore(x, saved);
        return -1;
    }
    if (u->health_path[0] != '/') {
        size_t saved = cf_path_key(x, "health_path");

        cf_fail_str(x, u->health_path, "a path starting with \"/\"");
        cf_path_restore(x, saved);
        return -1;
    }
    if (u->ca == NULL) {
        return fail_missing(x, "ca", "the CA that signed the apiserver's certificate (PEM)");
    }
    if (check_pem(x, "ca", u->ca, CF_PEM_CERTS) != 0) {
        return -1;
    }
    /* The front-proxy pair asserts identities: half of it is a mistake. */
    if ((u->client_cert[0] == '\0') != (u->client_key[0] == '\0')) {
        k = u->client_cert[0] == '\0' ? "client_cert" : "client_key";
        return fail_missing(x, k, "client_cert and client_key together");
    }
    if (u->client_cert[0] != '\0' &&
        (check_pem(x, "client_cert", u->client_cert, CF_PEM_CERTS) != 0 ||
         check_pem(x, "client_key", u->client_key, CF_PEM_PRIVATE_KEY) != 0 ||
         check_pair(x, "client_key", "upstream.client_cert", u->client_cert, u->client_key) != 0)) {
        return -1;
    }
    return 0;
}

/* One of the auth lists into a fixed array of CF_MAX_KEYS. */
static int
read_auth_list(struct cf_ctx *x, const json_t *obj, const char *key, char **dst, size_t *n,
               bool files)
{
    char **l = NULL;
    size_t count = 0, i, saved = cf_path_key(x, key);
    int rc = cf_read_strings(x, json_object_get(obj, key), CF_MAX_KEYS, true, &l, &count);

    for (i = 0; rc == 0 && i < count; i++) {
        if (files) {
            size_t s2 = cf_path_index(x, i);
            char *r = cf_resolve_path(x, l[i]);

            if (r == NULL) {
                rc = cf_fail(x, "out of memory");
            } else {
                free(l[i]);
                l[i] = r;
                rc = check_pem(x, NULL, l[i], CF_PEM_PUBLIC_KEY);
            }
            cf_path_restore(x, s2);
        }
    }
    cf_path_restore(x, saved);
    for (i = 0; i < count; i++) {
        dst[i] = l[i];
    }
    *n = count;
    free(l);
    return rc;
}

static int
read_auth(struct cf_ctx *x, const json_t *v, struct cf_auth *a)
{
    a->unverified = CF_UNVERIFIED_HASH;
    a->anonymous = true;
    if (v == NULL) {
        return 0;
    }
    if (cf_read_object(x, v, auth_keys, NKEYS(auth_keys), a) != 0 ||
        read_auth_list(x, v, "issuers", a->issuers, &a->nissuers, false) != 0 ||
        read_auth_list(x, v, "keys", a->keys, &a->nkeys, true) != 0 ||
        read_auth_list(x, v, "audiences", a->audiences, &a->naudiences, false) != 0) {
        return -1;
    }
    /* A signature proves nothing without the issuer it must come from. */
    if (a->nkeys > 0 && a->nissuers == 0) {
        return fail_missing(x, "issuers",
                            "the service-account issuer(s) that auth.keys sign for, e.g. "
                            "[\"https://kubernetes.default.svc.cluster.local\"]");
    }
    return 0;
}

static int
check_token_file(struct cf_ctx *x, const char *path)
{
    char got[CF_GOT_MAX + 16];
    struct stat st;
    size_t saved = cf_path_key(x, "token_file");
    int rc = 0;

    cf_got_str(path, got, sizeof(got));
    if (access(path, R_OK) != 0 || stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = cf_fail(x, "expected a readable file holding the admin bearer token, got %s", got);
    } else if (st.st_size == 0 || st.st_size > TOKEN_FILE_MAX) {
        rc = cf_fail(x, "expected a file holding the admin bearer token, got %s (%s)", got,
                     st.st_size == 0 ? "empty" : "larger than 64KiB");
    }
    cf_path_restore(x, saved);
    return rc;
}

static int
read_admin(struct cf_ctx *x, const json_t *v, struct cf_admin *a)
{
    size_t saved;

    if (v != NULL && cf_read_object(x, v, admin_keys, NKEYS(admin_keys), a) != 0) {
        return -1;
    }
    if (set_default(x, &a->address, "127.0.0.1:9444") != 0 || set_default(x, &a->socket, "") != 0 ||
        set_default(x, &a->token_file, "") != 0) {
        return -1;
    }
    if (strncmp(a->address, "unix:", 5) == 0) {
        saved = cf_path_key(x, "address");
        cf_fail_str(x, a->address, "HOST:PORT (a unix socket goes in admin.socket)");
        cf_path_restore(x, saved);
        return -1;
    }
    if (a->socket[0] != '\0' && (a->socket[0] != '/' || strlen(a->socket) >= 108)) {
        saved = cf_path_key(x, "socket");
        cf_fail_str(x, a->socket, "an absolute path shorter than 108 bytes");
        cf_path_restore(x, saved);
        return -1;
    }
    if (a->token_file[0] != '\0' && check_token_file(x, a->token_file) != 0) {
        return -1;
    }
    /* Break-glass controls: only the local host, unless a token guards them. */
    if (a->address[0] != '\0' && !cf_addr_is_loopback(a->address) && a->token_file[0] == '\0') {
        saved = cf_path_key(x, "address");
        cf_fail_str(x, a->address,
                    "a loopback address (127.0.0.1, [::1], localhost) unless admin.token_file "
                    "is set");
        cf_path_restore(x, saved);
        return -1;
    }
    return 0;
}

static int
read_log(struct cf_ctx *x, const json_t *v, struct cf_log *l)
{
    l->level = CF_LOG_INFO;
    l->format = CF_LOG_JSON;
    l->reject_log_per_s = 10;
    return v != NULL ? cf_read_object(x, v, log_keys, NKEYS(log_keys), l) : 0;
}

int
cf_sections_read(struct cf_ctx *x, const json_t *root, struct cf_config *cf)
{
    static const char *const names[] = {"listen", "upstream", "auth", "admin", "log"};
    size_t i;
    int rc = 0;

    if (!json_is_object(root)) {
        return cf_fail_got(x, root, "a JSON object at the top level");
    }
    if (cf_check_keys(x, root, top_keys, NKEYS(top_keys)) != 0) {
        return -1;
    }
    for (i = 0; i < NKEYS(names) && rc == 0; i++) {
        const json_t *v = json_object_get(root, names[i]);
        size_t saved = cf_path_key(x, names[i]);

        switch (i) {
        case 0:
            rc = read_listen(x, v, &cf->listen);
            break;
        case 1:
            rc = read_upstream(x, v, &cf->upstream);
            break;
        case 2:
            rc = read_auth(x, v, &cf->auth);
            break;
        case 3:
            rc = read_admin(x, v, &cf->admin);
            break;
        default:
            rc = read_log(x, v, &cf->log);
            break;
        }
        cf_path_restore(x, saved);
    }
    return rc;
}
