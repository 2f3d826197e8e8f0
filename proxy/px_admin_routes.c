/* The admin endpoint's handlers: each builds its whole answer from the
 * process state and sends it at once (see px_admin.h for the endpoints,
 * proxy/ADMIN.md for their documents). */
#include "px_admin.h"
#include "px_admin_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "cf.h"
#include "px_clock.h"
#include "px_control.h"
#include "px_debug.h"
#include "px_explain.h"
#include "px_learned.h"
#include "px_metrics.h"
#include "px_reload.h"
#include "px_state.h"

#define TOP_DEFAULT 10

/* --- answers --- */

void
px_admin_reply(struct areq *r, int code, const char *type, const char *text, size_t len)
{
    struct evbuffer *out = r->ans->body;

    evbuffer_drain(out, evbuffer_get_length(out));
    r->ans->code = code;
    r->ans->type = type;
    if (evbuffer_add(out, text, len) != 0) {
        r->ans->code = 500;
        r->ans->type = "text/plain; charset=utf-8";
    }
}

void
px_admin_reply_json(struct areq *r, int code, json_t *j)
{
    char *s = j != NULL ? json_dumps(j, JSON_INDENT(2)) : NULL;

    json_decref(j);
    if (s == NULL) {
        px_admin_reply(r, 500, "text/plain; charset=utf-8", "out of memory\n", 14);
        return;
    }
    {
        size_t n = strlen(s);
        char *t = realloc(s, n + 2);

        if (t != NULL) {
            s = t;
            s[n++] = '\n';
            s[n] = '\0';
        }
        px_admin_reply(r, code, "application/json", s, strlen(s));
    }
    free(s);
}

/* {"error": msg}: every failure names what was wrong. */
void
px_admin_reply_error(struct areq *r, int code, const char *msg)
{
    px_admin_reply_json(r, code, json_pack("{s:s}", "error", msg));
}

/* --- handlers --- */

static void
h_healthz(struct areq *r)
{
    px_admin_reply(r, 200, "text/plain; charset=utf-8", "ok\n", 3);
}

/* kube-apiserver's /readyz shape: one [+]/[-] line per check. */
static void
h_readyz(struct areq *r)
{
    struct px_state *st = r->st;
    struct cf_config *cf = px_state_config(st);
    int up = atomic_load(&st->upstream_up);
    bool draining = atomic_load(&st->draining);
    char text[1024], why[256];
    size_t n = 0;

    pthread_mutex_lock(&st->lock);
    snprintf(why, sizeof(why), "%s", st->probe_error);
    pthread_mutex_unlock(&st->lock);
    n += (size_t)snprintf(text + n, sizeof(text) - n, "[+]config ok (%s)\n", cf->hash);
    if (up == 1) {
        n += (size_t)snprintf(text + n, sizeof(text) - n, "[+]upstream ok\n");
    } else {
        n += (size_t)snprintf(text + n, sizeof(text) - n, "[-]upstream failed: %s\n",
                              up < 0 ? "no probe has finished yet" : why);
    }
    n += (size_t)snprintf(text + n, sizeof(text) - n, "[%c]shutdown %s\n", draining ? '-' : '+',
                          draining ? "failed: draining" : "ok");
    if (n >= sizeof(text)) {
        n = sizeof(text) - 1;
    }
    cf_unref(cf);
    if (up == 1 && !draining) {
        if (evhttp_find_header(&r->query, "verbose") != NULL) {
            px_admin_reply(r, 200, "text/plain; charset=utf-8", text, n);
        } else {
            px_admin_reply(r, 200, "text/plain; charset=utf-8", "ok\n", 3);
        }
        return;
    }
    n += (size_t)snprintf(text + n, sizeof(text) - n, "readyz check failed\n");
    px_admin_reply(r, 503, "text/plain; charset=utf-8", text,
                   n < sizeof(text) ? n : sizeof(text) - 1);
}

static void
h_metrics(struct areq *r)
{
    if (px_metrics_render(r->st, r->ans->body) != 0) {
        px_admin_reply_error(r, 500, "out of memory");
        return;
    }
    r->ans->code = 200;
    r->ans->type = PX_METRICS_CONTENT_TYPE;
}

static void
h_clients(struct areq *r)
{
    const char *top = evhttp_find_header(&r->query, "top");
    const char *by = evhttp_find_header(&r->query, "by");
    enum lim_top_by b = LIM_TOP_RATE;
    unsigned long n = TOP_DEFAULT;
    char *end, msg[160];

    if (top != NULL) {
        errno = 0;
        n = strtoul(top, &end, 10);
        if (errno != 0 || *end != '\0' || top[0] == '\0' || top[0] == '-' || n < 1 ||
            n > PX_TOP_MAX) {
            snprintf(msg, sizeof(msg), "top: expected an integer 1..%d, got \"%.40s\"", PX_TOP_MAX,
                     top);
            px_admin_reply_error(r, 400, msg);
            return;
        }
    }
    if (by != NULL && px_debug_top_by(by, &b) != 0) {
        snprintf(msg, sizeof(msg), "by: expected rate, rejects or watches, got \"%.40s\"", by);
        px_admin_reply_error(r, 400, msg);
        return;
    }
    px_admin_reply_json(r, 200, px_debug_clients(r->st, b, n, px_now_ns()));
}

static void
h_config(struct areq *r)
{
    px_admin_reply_json(r, 200, px_debug_config(r->st, px_now_ns()));
}

static void
h_learned(struct areq *r)
{
    px_admin_reply_json(r, 200, px_learned_json(r->st->lim));
}

static void
answer_control(struct areq *r, int code, json_t *answer, const char *err)
{
    if (code == 200) {
        px_admin_reply_json(r, 200, answer);
    } else {
        json_decref(answer);
        px_admin_reply_error(r, code, err);
    }
}

static void
h_shed(struct areq *r)
{
    char err[512];
    json_t *answer = NULL;
    int code = px_control_shed(r->st, r->peer, r->body, r->body_len, &answer, err, sizeof(err));

    answer_control(r, code, answer, err);
}

static void
h_block(struct areq *r)
{
    char err[512];
    json_t *answer = NULL;
    int code = px_control_override(r->st, r->peer, false, r->body, r->body_len, px_now_ns(),
                                   px_wall_s(), &answer, err, sizeof(err));

    answer_control(r, code, answer, err);
}

static void
h_allow(struct areq *r)
{
    char err[512];
    json_t *answer = NULL;
    int code = px_control_override(r->st, r->peer, true, r->body, r->body_len, px_now_ns(),
                                   px_wall_s(), &answer, err, sizeof(err));

    answer_control(r, code, answer, err);
}

static void
h_unblock(struct areq *r)
{
    char err[512];
    json_t *answer = NULL;
    int code = px_control_unblock(r->st, r->peer, evhttp_find_header(&r->query, "user"), &answer,
                                  err, sizeof(err));

    answer_control(r, code, answer, err);
}

static void
h_reload(struct areq *r)
{
    char err[CF_ERRLEN];
    struct cf_config *cf;

    if (px_reload_run(r->st, r->peer, err, sizeof(err)) != 0) {
        px_control_record(r->st, PX_CTL_RELOAD, r->peer, "refused");
        px_admin_reply_json(r, 400, json_pack("{s:s, s:s}", "action", "reload", "error", err));
        return;
    }
    cf = px_state_config(r->st);
    px_control_record(r->st, PX_CTL_RELOAD, r->peer, cf->hash);
    px_admin_reply_json(
        r, 200,
        json_pack("{s:s, s:s, s:s}", "action", "reload", "path", cf->path, "hash", cf->hash));
    cf_unref(cf);
}

/* POST /classes/NAME/mode: NAME is the path segment, percent-decoded. */
static bool
class_mode_path(const char *path, char *name, size_t len)
{
    const char *p = path + strlen("/classes/"), *slash;
    char *dec;

    if (strncmp(path, "/classes/", 9) != 0 || (slash = strchr(p, '/')) == NULL ||
        strcmp(slash, "/mode") != 0 || slash == p) {
        return false;
    }
    dec = evhttp_decode_uri(p);
    if (dec == NULL) {
        return false;
    }
    dec[slash - p < (ptrdiff_t)strlen(dec) ? (size_t)(slash - p) : strlen(dec)] = '\0';
    snprintf(name, len, "%s", dec);
    free(dec);
    return true;
}

static void
h_mode(struct areq *r)
{
    char name[128], err[512];
    json_t *answer = NULL;
    int code;

    if (!class_mode_path(r->path, name, sizeof(name))) {
        px_admin_reply_error(r, 404, "expected /classes/NAME/mode");
        return;
    }
    code = px_control_mode(r->st, r->peer, name, r->body, r->body_len, &answer, err, sizeof(err));
    answer_control(r, code, answer, err);
}

/* GET /debug/explain?method=GET&target=/api/v1/pods and one identity:
 * user=U with group=G (repeated, or comma-separated), token_claims=JSON,
 * unverified=TOKEN, or none (anonymous). The object `floodgate explain
 * --json` prints, decided by the running limiter (its buckets, counters,
 * overrides and learned sizes), committing nothing. */
static void
h_explain(struct areq *r)
{
    const char *method = evhttp_find_header(&r->query, "method");
    const char *target = evhttp_find_header(&r->query, "target");
    const char *user = evhttp_find_header(&r->query, "user");
    const char *claims = evhttp_find_header(&r->query, "token_claims");
    const char *unverified = evhttp_find_header(&r->query, "unverified");
    const char *groups[LIM_ID_MAX_GROUPS + 1];
    char gbuf[4096], err[CF_ERRLEN];
    size_t ng = 0, used = 0;
    struct px_explain_who w;
    struct lim_identity id;
    struct evkeyval *kv;
    struct cf_config *cf;
    json_t *j;

    if (target == NULL || target[0] == '\0') {
        px_admin_reply_error(r, 400, "target: expected a request target like /api/v1/pods");
        return;
    }
    if ((user != NULL) + (claims != NULL) + (unverified != NULL) > 1) {
        px_admin_reply_error(r, 400, "user, token_claims and unverified exclude each other");
        return;
    }
    TAILQ_FOREACH(kv, &r->query, next)
    {
        char *g, *save = NULL;
        size_t n = strlen(kv->value);

        if (strcmp(kv->key, "group") != 0) {
            continue;
        }
        if (used + n + 1 > sizeof(gbuf)) {
            px_admin_reply_error(r, 400, "group: too long");
            return;
        }
        memcpy(gbuf + used, kv->value, n + 1);
        for (g = strtok_r(gbuf + used, ",", &save); g != NULL; g = strtok_r(NULL, ",", &save)) {
            if (ng == LIM_ID_MAX_GROUPS + 1) {
                break;
            }
            groups[ng++] = g;
        }
        used += n + 1;
    }
    if (ng > LIM_ID_MAX_GROUPS) {
        snprintf(err, sizeof(err), "group: at most %d groups", LIM_ID_MAX_GROUPS);
        px_admin_reply_error(r, 400, err);
        return;
    }
    if (ng > 0 && user == NULL) {
        px_admin_reply_error(r, 400, "group needs user (a certificate always has a user)");
        return;
    }
    memset(&w, 0, sizeof(w));
    w.kind = user != NULL         ? PX_EXPLAIN_CERT
             : claims != NULL     ? PX_EXPLAIN_CLAIMS
             : unverified != NULL ? PX_EXPLAIN_UNVERIFIED
                                  : PX_EXPLAIN_ANONYMOUS;
    w.user = user;
    w.groups = groups;
    w.ngroups = ng;
    w.claims = claims;
    w.claims_len = claims != NULL ? strlen(claims) : 0;
    w.token = unverified;
    cf = px_state_config(r->st);
    if (px_explain_identity(&id, &w, cf, err, sizeof(err)) != 0) {
        char msg[CF_ERRLEN + 32];

        snprintf(msg, sizeof(msg), "%s: %s", claims != NULL ? "token_claims" : "user", err);
        px_admin_reply_error(r, 400, msg);
        cf_unref(cf);
        return;
    }
    j = px_explain_json(r->st->lim, true, cf, &id, method != NULL ? method : "GET", target,
                        px_now_ns(), err, sizeof(err));
    cf_unref(cf);
    if (j == NULL) {
        char msg[CF_ERRLEN + 32];

        snprintf(msg, sizeof(msg), "target: %s", err);
        px_admin_reply_error(r, 400, msg);
        return;
    }
    px_admin_reply_json(r, 200, j);
}

/* --- routing --- */

const struct px_admin_route px_admin_routes[] = {
    {"/healthz", EVHTTP_REQ_GET, h_healthz},
    {"/livez", EVHTTP_REQ_GET, h_healthz},
    {"/readyz", EVHTTP_REQ_GET, h_readyz},
    {"/metrics", EVHTTP_REQ_GET, h_metrics},
    {"/debug/clients", EVHTTP_REQ_GET, h_clients},
    {"/debug/config", EVHTTP_REQ_GET, h_config},
    {"/debug/learned", EVHTTP_REQ_GET, h_learned},
    {"/debug/explain", EVHTTP_REQ_GET, h_explain},
    {"/shed", EVHTTP_REQ_POST, h_shed},
    {"/block", EVHTTP_REQ_POST, h_block},
    {"/block", EVHTTP_REQ_DELETE, h_unblock},
    {"/allow", EVHTTP_REQ_POST, h_allow},
    {"/allow", EVHTTP_REQ_DELETE, h_unblock},
    {"/reload", EVHTTP_REQ_POST, h_reload},
    {"/classes/", EVHTTP_REQ_POST, h_mode},
};

const size_t px_admin_nroutes = sizeof(px_admin_routes) / sizeof(px_admin_routes[0]);
