/* Responses shaped like kube-apiserver's: the headers its filters add
 * (Audit-Id, Cache-Control), metav1.Status bodies for errors, and the
 * max-inflight 429 (pkg/server/filters/maxinflight.go: http.Error with
 * "Too many requests, please try again later." and Retry-After: 1). */
#include "bn_sim_srv.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "px_clock.h"
#include "px_log.h"

static const char *
reason_phrase(int code)
{
    switch (code) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 406:
        return "Not Acceptable";
    case 409:
        return "Conflict";
    case 410:
        return "Gone";
    case 413:
        return "Request Entity Too Large";
    case 414:
        return "Request URI Too Long";
    case 415:
        return "Unsupported Media Type";
    case 422:
        return "Unprocessable Entity";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    default:
        return "Unknown";
    }
}

static uint64_t
next_random(struct bn_sim_server *s)
{
    uint64_t z = (s->rng += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* The headers every kube-apiserver response carries, then <extra>. */
static void
head(struct bn_sim_conn *c, int code, const char *ctype, const char *extra)
{
    struct evbuffer *out = bufferevent_get_output(c->bev);
    uint64_t a = next_random(c->srv), b = next_random(c->srv);
    char date[64];
    time_t now = time(NULL);
    struct tm tm;

    gmtime_r(&now, &tm);
    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    evbuffer_add_printf(out,
                        "HTTP/1.1 %d %s\r\nAudit-Id: %08" PRIx64 "-%04" PRIx64 "-4%03" PRIx64
                        "-a%03" PRIx64 "-%012" PRIx64 "\r\nCache-Control: no-cache, private\r\n"
                        "Content-Type: %s\r\nDate: %s\r\n%s%s",
                        code, reason_phrase(code), a >> 32, (a >> 16) & 0xffff, a & 0xfff, b >> 52,
                        (uint64_t)(b & 0xffffffffffffull), ctype, date, extra != NULL ? extra : "",
                        c->keep_alive ? "" : "Connection: close\r\n");
}

void
bn_sim_respond(struct bn_sim_conn *c, int code, const char *ctype, const char *extra_headers,
               struct evbuffer *body, const char *text, size_t text_len)
{
    struct evbuffer *out = bufferevent_get_output(c->bev);
    size_t len = body != NULL ? evbuffer_get_length(body) : text_len;

    head(c, code, ctype, extra_headers);
    evbuffer_add_printf(out, "Content-Length: %zu\r\n\r\n", len);
    if (strcmp(c->rq->method, "HEAD") != 0) {
        if (body != NULL) {
            evbuffer_add_buffer(out, body);
        } else if (text_len > 0) {
            evbuffer_add(out, text, text_len);
        }
    }
    bn_sim_account(c, code);
    bn_sim_conn_request_done(c);
    bn_sim_conn_responded(c);
}

void
bn_sim_status_json(const struct bn_sim_status *st, struct evbuffer *out)
{
    bool ok = st->code < 300;
    json_t *j = json_pack("{s:s,s:s,s:{},s:s}", "kind", "Status", "apiVersion", "v1", "metadata",
                          "status", ok ? "Success" : "Failure");
    json_t *details = NULL;
    char *s;

    if (st->cont[0] != '\0') {
        json_object_set_new(json_object_get(j, "metadata"), "continue", json_string(st->cont));
    }
    if (!ok || st->message[0] != '\0') {
        json_object_set_new(j, "message", json_string(st->message));
    }
    if (st->reason != NULL && st->reason[0] != '\0') {
        json_object_set_new(j, "reason", json_string(st->reason));
    }
    /* NewTimeoutError and friends always carry details, maybe empty */
    if (st->name[0] != '\0' || st->kind != NULL || st->code == 504 || st->too_large_rv) {
        details = json_object();
        if (st->name[0] != '\0') {
            json_object_set_new(details, "name", json_string(st->name));
        }
        if (st->group != NULL && st->group[0] != '\0') {
            json_object_set_new(details, "group", json_string(st->group));
        }
        if (st->kind != NULL) {
            json_object_set_new(details, "kind", json_string(st->kind));
        }
        if (st->too_large_rv) {
            json_object_set_new(details, "causes",
                                json_pack("[{s:s,s:s}]", "reason", "ResourceVersionTooLarge",
                                          "message", "Too large resource version"));
            json_object_set_new(details, "retryAfterSeconds", json_integer(1));
        }
        json_object_set_new(j, "details", details);
    }
    json_object_set_new(j, "code", json_integer(st->code));
    s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (s != NULL) {
        evbuffer_add(out, s, strlen(s));
    }
    free(s);
    json_decref(j);
}

void
bn_sim_respond_status(struct bn_sim_conn *c, const struct bn_sim_status *st)
{
    struct evbuffer *body = evbuffer_new();

    if (body == NULL) {
        bn_sim_conn_abort(c, "out of memory");
        return;
    }
    bn_sim_status_json(st, body);
    evbuffer_add(body, "\n", 1);
    bn_sim_respond(c, st->code, "application/json", st->too_large_rv ? "Retry-After: 1\r\n" : NULL,
                   body, NULL, 0);
    evbuffer_free(body);
}

void
bn_sim_respond_429(struct bn_sim_conn *c)
{
    static const char text[] = "Too many requests, please try again later.\n";

    bn_sim_respond(c, 429, "text/plain; charset=utf-8",
                   "Retry-After: 1\r\nX-Content-Type-Options: nosniff\r\n", NULL, text,
                   sizeof(text) - 1);
}

static void
unref_cb(const void *data, size_t len, void *arg)
{
    (void)data;
    (void)len;
    bn_sim_obj_unref(arg);
}

void
bn_sim_add_obj(struct evbuffer *out, struct bn_sim_obj *o)
{
    bn_sim_obj_ref(o);
    if (evbuffer_add_reference(out, o->json, o->json_len, unref_cb, o) != 0) {
        bn_sim_obj_unref(o);
    }
}

void
bn_sim_account(struct bn_sim_conn *c, int code)
{
    struct bn_sim_server *s = c->srv;
    uint64_t lat = px_now_ns() - c->rq->start_ns;
    const char *path = c->rq->info.path[0] != '\0' ? c->rq->info.path : c->rq->url;

    bn_sim_metrics_request(&s->metrics, (int)c->rq->info.verb, code, lat);
    bn_sim_reqlog_add(s->reqlog, c->rq->method, path, &c->rq->user, code, lat);
    if (px_log_enabled(s->log, PX_LOG_DEBUG)) {
        px_logf(s->log, PX_LOG_DEBUG, "c=%" PRIu64 " peer=%s %s %.200s user=%s code=%d us=%" PRIu64,
                c->id, c->peer_addr, c->rq->method, path, c->rq->user.name, code, lat / 1000);
    }
}
