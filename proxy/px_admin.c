/* The admin plane: see px_admin.h. Routing is one table of (method, path)
 * -> handler; handlers build their answer in full and send it at once
 * (nothing here streams, nothing waits on the data plane). */
#include "px_admin.h"
#include "px_admin_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <sys/queue.h>

#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "px_err.h"
#include "px_log.h"
#include "px_net.h"
#include "px_probe.h"
#include "px_rejlog.h"
#include "px_state.h"

#define ADMIN_MAX_BODY    (64 * 1024)
#define ADMIN_MAX_HEADERS (16 * 1024)
#define ADMIN_TIMEOUT_S   10
#define ADMIN_BACKLOG     64
#define ADMIN_MAX_QUERY   8192

struct px_admin {
    struct px_state *st;
    struct event_base *base;
    struct evhttp *http;
    struct px_probe *probe;
    struct event *summary; /* rejection-log summaries */
    char address[200];
    char socket_path[108];
    pthread_t thread;
    bool started;
};

static const char *
method_name(enum evhttp_cmd_type m)
{
    switch (m) {
    case EVHTTP_REQ_GET:
        return "GET";
    case EVHTTP_REQ_POST:
        return "POST";
    case EVHTTP_REQ_DELETE:
        return "DELETE";
    case EVHTTP_REQ_HEAD:
        return "HEAD";
    case EVHTTP_REQ_PUT:
        return "PUT";
    default:
        return "other";
    }
}

static bool
path_matches(const struct px_admin_route *rt, const char *path)
{
    size_t n = strlen(rt->path);

    if (rt->path[n - 1] == '/') {
        return strncmp(path, rt->path, n) == 0;
    }
    return strcmp(path, rt->path) == 0;
}

static void
peer_of(struct evhttp_request *req, char *out, size_t len)
{
    struct evhttp_connection *ec = evhttp_request_get_connection(req);
    const struct sockaddr *sa = ec != NULL ? evhttp_connection_get_addr(ec) : NULL;

    if (sa == NULL || sa->sa_family == AF_UNIX) {
        snprintf(out, len, "unix");
        return;
    }
    px_net_ip(sa, out, len);
    if (sa->sa_family == AF_INET) {
        size_t n = strlen(out);

        snprintf(out + n, len - n, ":%u",
                 (unsigned)ntohs(((const struct sockaddr_in *)sa)->sin_port));
    } else if (sa->sa_family == AF_INET6) {
        size_t n = strlen(out);

        snprintf(out + n, len - n, ".%u",
                 (unsigned)ntohs(((const struct sockaddr_in6 *)sa)->sin6_port));
    }
}

/* <q> with "=" after every key that has no value: kube's "/readyz?verbose"
 * is a flag, and libevent 2.1 refuses a query pair without "=". */
static int
with_values(const char *q, char *out, size_t len)
{
    size_t n = 0;
    bool has_eq = false;

    for (;; q++) {
        if (*q == '&' || *q == '\0') {
            if (!has_eq && n > 0 && out[n - 1] != '&') {
                if (n + 1 >= len) {
                    return -1;
                }
                out[n++] = '=';
            }
            has_eq = false;
        } else if (*q == '=') {
            has_eq = true;
        }
        if (*q == '\0') {
            break;
        }
        if (n + 1 >= len) {
            return -1;
        }
        out[n++] = *q;
    }
    out[n] = '\0';
    return 0;
}

static enum evhttp_cmd_type
method_of(const char *m)
{
    static const struct {
        const char *name;
        enum evhttp_cmd_type cmd;
    } names[] = {{"GET", EVHTTP_REQ_GET},
                 {"POST", EVHTTP_REQ_POST},
                 {"DELETE", EVHTTP_REQ_DELETE},
                 {"HEAD", EVHTTP_REQ_HEAD},
                 {"PUT", EVHTTP_REQ_PUT}};
    size_t i;

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcmp(m, names[i].name) == 0) {
            return names[i].cmd;
        }
    }
    return EVHTTP_REQ_PATCH; /* no route takes it: "other" */
}

void
px_admin_serve(struct px_state *st, const char *method, const char *uri_text, const char *authz,
               const char *body, size_t body_len, const char *peer, struct px_admin_answer *ans)
{
    /* How evhttp parses a request's URI. */
    struct evhttp_uri *uri = evhttp_uri_parse_with_flags(uri_text, EVHTTP_URI_NONCONFORMANT);
    enum evhttp_cmd_type m = method_of(method);
    const char *q;
    struct areq r;
    char qbuf[ADMIN_MAX_QUERY];
    bool path_known = false;
    size_t i;

    memset(&r, 0, sizeof(r));
    TAILQ_INIT(&r.query);
    r.st = st;
    r.ans = ans;
    ans->code = 500;
    ans->type = "text/plain; charset=utf-8";
    ans->authenticate = false;
    r.path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
    if (r.path == NULL || r.path[0] == '\0') {
        r.path = "/";
    }
    snprintf(r.peer, sizeof(r.peer), "%s", peer);
    if (!px_state_authorized(st, authz)) {
        ans->authenticate = true;
        px_log_event(st->log, PX_LOG_WARN, "admin request refused",
                     (struct px_log_field[]){{"peer", r.peer, 0},
                                             {"method", method_name(m), 0},
                                             {"path", r.path, 0},
                                             {"reason", "missing or wrong bearer token", 0}},
                     4);
        px_admin_reply_error(&r, 401, "a bearer token is required (admin.token_file)");
        goto done;
    }
    q = uri != NULL ? evhttp_uri_get_query(uri) : NULL;
    if (q != NULL &&
        (with_values(q, qbuf, sizeof(qbuf)) != 0 || evhttp_parse_query_str(qbuf, &r.query) != 0)) {
        px_admin_reply_error(&r, 400, "malformed query string");
        goto done;
    }
    r.body_len = body != NULL ? body_len : 0;
    r.body = body != NULL ? body : "";
    for (i = 0; i < px_admin_nroutes; i++) {
        if (!path_matches(&px_admin_routes[i], r.path)) {
            continue;
        }
        path_known = true;
        if (px_admin_routes[i].method == m) {
            px_admin_routes[i].fn(&r);
            goto done;
        }
    }
    if (path_known) {
        char msg[160];

        snprintf(msg, sizeof(msg), "%s %s: method not allowed", method_name(m), r.path);
        px_admin_reply_error(&r, 405, msg);
    } else {
        char msg[200];

        snprintf(msg, sizeof(msg), "%.120s: no such admin endpoint", r.path);
        px_admin_reply_error(&r, 404, msg);
    }
done:
    evhttp_clear_headers(&r.query);
    if (uri != NULL) {
        evhttp_uri_free(uri);
    }
}

static void
on_request(struct evhttp_request *req, void *arg)
{
    struct px_admin *a = arg;
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    size_t body_len = evbuffer_get_length(in);
    struct px_admin_answer ans = {500, NULL, false, evbuffer_new()};
    char peer[INET6_ADDRSTRLEN + 8];

    if (ans.body == NULL) {
        evhttp_send_error(req, 500, "out of memory");
        return;
    }
    peer_of(req, peer, sizeof(peer));
    px_admin_serve(a->st, method_name(evhttp_request_get_command(req)), evhttp_request_get_uri(req),
                   evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization"),
                   body_len > 0 ? (const char *)evbuffer_pullup(in, -1) : NULL, body_len, peer,
                   &ans);
    if (ans.authenticate) {
        evhttp_add_header(h, "WWW-Authenticate", "Bearer realm=\"floodgate-admin\"");
    }
    evhttp_add_header(h, "Content-Type", ans.type);
    evhttp_add_header(h, "Cache-Control", "no-store");
    evhttp_send_reply(req, ans.code, NULL, ans.body);
    evbuffer_free(ans.body);
}

/* --- listeners --- */

static bool
is_loopback(const struct px_addr *a)
{
    if (a->ss.ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)&a->ss;

        return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    }
    if (a->ss.ss_family == AF_INET6) {
        return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)&a->ss)->sin6_addr);
    }
    return a->ss.ss_family == AF_UNIX;
}

/* A unix socket only its owner may connect to: bound with a umask that
 * leaves no window in which others could, then listening. A stale socket
 * file from a previous run is replaced; any other file is not. */
static int
listen_unix(const char *path, char *err, size_t errlen)
{
    struct sockaddr_un un;
    struct stat sb;
    mode_t old;
    int fd, rc;

    if (strlen(path) == 0 || strlen(path) >= sizeof(un.sun_path)) {
        px_errf(err, errlen, "admin.socket: %s: bad unix socket path", path);
        return -1;
    }
    if (lstat(path, &sb) == 0) {
        if (!S_ISSOCK(sb.st_mode)) {
            px_errf(err, errlen, "admin.socket: %s: exists and is not a socket", path);
            return -1;
        }
        unlink(path);
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd == -1) {
        px_errf(err, errlen, "admin.socket: socket: %s", strerror(errno));
        return -1;
    }
    memset(&un, 0, sizeof(un));
    un.sun_family = AF_UNIX;
    memcpy(un.sun_path, path, strlen(path) + 1);
    old = umask(0177);
    rc = bind(fd, (struct sockaddr *)&un, sizeof(un));
    umask(old);
    if (rc != 0 || chmod(path, 0600) != 0 || listen(fd, ADMIN_BACKLOG) != 0) {
        px_errf(err, errlen, "admin.socket: %s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

static int
listen_tcp(struct px_admin *a, const char *address, char *err, size_t errlen)
{
    struct px_addr addr;
    int fd;

    if (px_net_parse(address, &addr, err, errlen) != 0) {
        return -1;
    }
    if (!is_loopback(&addr) && !a->st->token_set) {
        px_errf(err, errlen,
                "admin address %s: not a loopback address, and no admin.token_file is set",
                address);
        return -1;
    }
    fd = px_net_listen(&addr, false, ADMIN_BACKLOG, err, errlen);
    if (fd == -1) {
        return -1;
    }
    if (px_net_local(fd, a->address, sizeof(a->address)) != 0) {
        px_errf(err, errlen, "admin address %s: cannot read the bound address", address);
        close(fd);
        return -1;
    }
    return fd;
}

static void
on_summary(evutil_socket_t fd, short what, void *arg)
{
    struct px_admin *a = arg;

    (void)fd;
    (void)what;
    if (a->st->rejlog != NULL) {
        px_rejlog_flush(a->st->rejlog, a->st->log, a->st->lim, PX_REJLOG_WINDOW_S);
    }
}

struct px_admin *
px_admin_new(struct px_state *st, const struct px_admin_opts *o, char *err, size_t errlen)
{
    struct px_admin *a = calloc(1, sizeof(*a));
    struct timeval every = {PX_REJLOG_WINDOW_S, 0};
    int fd;

    if (a == NULL) {
        px_errf(err, errlen, "out of memory");
        return NULL;
    }
    a->st = st;
    a->base = event_base_new();
    a->http = a->base != NULL ? evhttp_new(a->base) : NULL;
    a->summary = a->base != NULL ? event_new(a->base, -1, EV_PERSIST, on_summary, a) : NULL;
    if (a->http == NULL || a->summary == NULL) {
        px_errf(err, errlen, "out of memory");
        goto fail;
    }
    evhttp_set_gencb(a->http, on_request, a);
    evhttp_set_allowed_methods(a->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_DELETE);
    evhttp_set_max_body_size(a->http, ADMIN_MAX_BODY);
    evhttp_set_max_headers_size(a->http, ADMIN_MAX_HEADERS);
    evhttp_set_timeout(a->http, ADMIN_TIMEOUT_S);
    if (o->address != NULL && o->address[0] != '\0') {
        fd = listen_tcp(a, o->address, err, errlen);
        if (fd == -1) {
            goto fail;
        }
        if (evhttp_accept_socket_with_handle(a->http, fd) == NULL) {
            close(fd);
            px_errf(err, errlen, "admin address %s: cannot accept", o->address);
            goto fail;
        }
    }
    if (o->socket != NULL && o->socket[0] != '\0') {
        fd = listen_unix(o->socket, err, errlen);
        if (fd == -1) {
            goto fail;
        }
        snprintf(a->socket_path, sizeof(a->socket_path), "%s", o->socket);
        if (evhttp_accept_socket_with_handle(a->http, fd) == NULL) {
            close(fd);
            px_errf(err, errlen, "admin.socket %s: cannot accept", o->socket);
            goto fail;
        }
    }
    a->probe = px_probe_new(a->base, st, err, errlen);
    if (a->probe == NULL) {
        goto fail;
    }
    px_probe_start(a->probe);
    event_add(a->summary, &every);
    return a;

fail:
    px_admin_free(a);
    return NULL;
}

const char *
px_admin_address(const struct px_admin *a)
{
    return a->address;
}

static void *
admin_main(void *arg)
{
    struct px_admin *a = arg;

    event_base_dispatch(a->base);
    return NULL;
}

int
px_admin_start(struct px_admin *a, char *err, size_t errlen)
{
    int rc = pthread_create(&a->thread, NULL, admin_main, a);

    if (rc != 0) {
        px_errf(err, errlen, "pthread_create: %s", strerror(rc));
        return -1;
    }
    a->started = true;
    return 0;
}

void
px_admin_stop(struct px_admin *a)
{
    if (a == NULL || !a->started) {
        return;
    }
    event_base_loopbreak(a->base);
    pthread_join(a->thread, NULL);
    a->started = false;
}

void
px_admin_free(struct px_admin *a)
{
    if (a == NULL) {
        return;
    }
    px_admin_stop(a);
    px_probe_free(a->probe);
    if (a->summary != NULL) {
        event_free(a->summary);
    }
    if (a->http != NULL) {
        evhttp_free(a->http);
    }
    if (a->base != NULL) {
        event_base_free(a->base);
    }
    if (a->socket_path[0] != '\0') {
        unlink(a->socket_path);
    }
    free(a);
}
