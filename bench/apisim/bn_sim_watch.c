/* Watch streams as kube-apiserver writes them (pkg/endpoints/handlers/
 * watch.go): 200 with a chunked body, one {"type":...,"object":...} JSON
 * document per event, BOOKMARKs when allowWatchBookmarks is set, the end
 * after timeoutSeconds (or a random [min-request-timeout, 2x) like
 * get.go), errors from the cache as an ERROR event carrying a Status
 * (cacher's errWatcher: 410 Expired for a resourceVersion that left the
 * window). A watcher more than --watch-buffer bytes behind for a second, or
 * four times that at any moment, is terminated, as kube's cacher drops
 * watchers whose buffer stays full, so that a slow reader never makes the
 * simulator buffer without bound. */
#include "bn_sim_srv.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "px_clock.h"
#include "px_log.h"

#define BN_SIM_WATCH_GRACE_NS (1000 * 1000 * 1000ull)

struct bn_sim_watch {
    struct bn_sim_conn *c;
    enum bn_sim_res res;
    struct bn_sim_watcher *w;
    struct event *end_ev;      /* timeoutSeconds */
    struct event *bookmark_ev; /* periodic BOOKMARK */
    struct event *kill_ev;     /* deferred termination of a slow watcher */
    uint64_t limit_bytes;      /* output allowed before the watcher counts as slow */
    uint64_t hard_bytes;       /* output never allowed: terminated at once */
    uint64_t over_since_ns;    /* when it went over limit_bytes, 0 when under */
    bool bookmarks;
    bool slow;
};

static const char *const ev_names[] = {"ADDED", "MODIFIED", "DELETED"};

/* One chunk: {"type":"<type>","object":<json>}\n */
static void
chunk_obj(struct evbuffer *out, const char *type, struct bn_sim_obj *o)
{
    size_t len = strlen("{\"type\":\"\",\"object\":}\n") + strlen(type) + o->json_len;

    evbuffer_add_printf(out, "%zx\r\n{\"type\":\"%s\",\"object\":", len, type);
    bn_sim_add_obj(out, o);
    evbuffer_add(out, "}\n\r\n", 4);
}

static void
chunk_text(struct evbuffer *out, const char *s, size_t len)
{
    evbuffer_add_printf(out, "%zx\r\n", len);
    evbuffer_add(out, s, len);
    evbuffer_add(out, "\r\n", 2);
}

static void
bookmark(struct bn_sim_conn *c, bool initial_end)
{
    const struct bn_sim_resdef *d = bn_sim_resdef(c->watch->res);
    char buf[512];
    int n = snprintf(
        buf, sizeof(buf),
        "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"%s\",\"apiVersion\":\"%s\","
        "\"metadata\":{\"resourceVersion\":\"%" PRIu64 "\",\"creationTimestamp\":null%s}}}\n",
        d->kind, d->api_version, bn_sim_store_rv(c->srv->store),
        initial_end ? ",\"annotations\":{\"k8s.io/initial-events-end\":\"true\"}" : "");

    chunk_text(bufferevent_get_output(c->bev), buf, (size_t)n);
}

static void
on_event(void *arg, enum bn_sim_ev type, struct bn_sim_obj *o)
{
    struct bn_sim_watch *wt = arg;
    struct bn_sim_conn *c = wt->c;
    struct bn_sim_server *s = c->srv;
    struct evbuffer *out = bufferevent_get_output(c->bev);

    if (wt->slow) {
        return;
    }
    chunk_obj(out, ev_names[type], o);
    s->metrics.watch_events++;
    /* each delivered event costs the storage its share of fan-out */
    bn_sim_cap_background(s->cap, s->cfg->cost_watch_event_ns, px_now_ns());
    if (evbuffer_get_length(out) <= wt->limit_bytes) {
        wt->over_since_ns = 0;
        return;
    }
    /* behind by more than the buffer: a second's grace for a burst to drain,
     * none past four times the buffer, so that memory stays bounded */
    if (wt->over_since_ns == 0) {
        wt->over_since_ns = px_now_ns();
    }
    if (evbuffer_get_length(out) > wt->hard_bytes ||
        px_now_ns() - wt->over_since_ns >= BN_SIM_WATCH_GRACE_NS) {
        wt->slow = true;
        s->metrics.watch_terminated[BN_SIM_TERM_SLOW]++;
        event_active(wt->kill_ev, EV_TIMEOUT, 0); /* not from inside the store's dispatch */
    }
}

static void
on_kill(evutil_socket_t fd, short what, void *arg)
{
    struct bn_sim_watch *wt = arg;

    (void)fd;
    (void)what;
    bn_sim_conn_close(wt->c, "watcher too slow: terminated");
}

static void
on_end(evutil_socket_t fd, short what, void *arg)
{
    struct bn_sim_watch *wt = arg;

    (void)fd;
    (void)what;
    bn_sim_watch_stop(wt->c, false, BN_SIM_TERM_TIMEOUT);
}

static void
on_bookmark(evutil_socket_t fd, short what, void *arg)
{
    struct bn_sim_watch *wt = arg;

    (void)fd;
    (void)what;
    if (!wt->slow) {
        bookmark(wt->c, false);
    }
}

static void
watch_free(struct bn_sim_watch *wt)
{
    if (wt->end_ev != NULL) {
        event_free(wt->end_ev);
    }
    if (wt->bookmark_ev != NULL) {
        event_free(wt->bookmark_ev);
    }
    if (wt->kill_ev != NULL) {
        event_free(wt->kill_ev);
    }
    free(wt);
}

/* get.go: timeoutSeconds when given, else [min-request-timeout, 2x). */
static struct timeval
duration(struct bn_sim_conn *c)
{
    struct bn_sim_server *s = c->srv;
    char buf[32];
    uint64_t ns = s->cfg->min_request_timeout_ns;
    struct timeval tv;

    if (bn_sim_query_param(c, "timeoutSeconds", buf, sizeof(buf)) != NULL && atoll(buf) > 0) {
        ns = (uint64_t)atoll(buf) * PX_NS_PER_S;
    } else {
        s->rng = s->rng * 6364136223846793005ull + 1442695040888963407ull;
        ns += (s->rng >> 11) % ns;
    }
    tv.tv_sec = (time_t)(ns / PX_NS_PER_S);
    tv.tv_usec = (suseconds_t)(ns % PX_NS_PER_S / 1000);
    return tv;
}

void
bn_sim_watch_start(struct bn_sim_conn *c)
{
    struct bn_sim_server *s = c->srv;
    struct evbuffer *out = bufferevent_get_output(c->bev);
    struct bn_sim_watch *wt = calloc(1, sizeof(*wt));
    struct bn_sim_status st;
    struct timeval end, every;
    char buf[16];
    bool initial = c->rq->q.rv_mode != BN_SIM_RV_VALUE || c->rq->info.send_initial_events;

    if (wt == NULL) {
        bn_sim_conn_abort(c, "out of memory");
        return;
    }
    wt->c = c;
    wt->res = c->rq->res;
    wt->limit_bytes = wt->hard_bytes = UINT64_MAX; /* no bound while the initial events go out */
    wt->bookmarks = bn_sim_query_param(c, "allowWatchBookmarks", buf, sizeof(buf)) != NULL &&
                    strcmp(buf, "true") == 0;
    wt->end_ev = evtimer_new(s->base, on_end, wt);
    wt->kill_ev = evtimer_new(s->base, on_kill, wt);
    wt->bookmark_ev = wt->bookmarks ? event_new(s->base, -1, EV_PERSIST, on_bookmark, wt) : NULL;
    if (wt->end_ev == NULL || wt->kill_ev == NULL || (wt->bookmarks && wt->bookmark_ev == NULL)) {
        watch_free(wt);
        bn_sim_conn_abort(c, "out of memory");
        return;
    }
    evbuffer_add_printf(out,
                        "HTTP/1.1 200 OK\r\nCache-Control: no-cache, private\r\nContent-Type: "
                        "application/json\r\nTransfer-Encoding: chunked\r\n%s\r\n",
                        c->keep_alive ? "" : "Connection: close\r\n");
    bn_sim_account(c, 200);
    c->watch = wt;
    c->state = BN_SIM_CONN_WATCHING;
    s->nwatches++;
    s->metrics.watches_total++;
    wt->w = bn_sim_store_watch(s->store, c->rq->res, &c->rq->q, initial, on_event, wt, &st);
    if (wt->w == NULL) {
        /* cacher's errWatcher: the error is the stream's one event */
        struct evbuffer *ev = evbuffer_new();

        if (ev != NULL) {
            evbuffer_add_printf(ev, "{\"type\":\"ERROR\",\"object\":");
            bn_sim_status_json(&st, ev);
            evbuffer_add(ev, "}\n", 2);
            chunk_text(out, (const char *)evbuffer_pullup(ev, -1), evbuffer_get_length(ev));
            evbuffer_free(ev);
        }
        bn_sim_conn_request_done(c);
        bn_sim_watch_stop(c, false, BN_SIM_TERM_TIMEOUT);
        return;
    }
    if (initial && c->rq->info.send_initial_events && wt->bookmarks) {
        bookmark(c, true); /* WatchList: the initial state is complete */
    }
    /* the initial events and the replayed history may be big: only falling
     * behind after them is slow */
    wt->limit_bytes = evbuffer_get_length(out) + s->cfg->watch_buffer_bytes;
    wt->hard_bytes = evbuffer_get_length(out) + 4 * s->cfg->watch_buffer_bytes;
    end = duration(c);
    evtimer_add(wt->end_ev, &end);
    if (wt->bookmarks) {
        every.tv_sec = (time_t)(s->cfg->bookmark_interval_ns / PX_NS_PER_S);
        every.tv_usec = (suseconds_t)(s->cfg->bookmark_interval_ns % PX_NS_PER_S / 1000);
        event_add(wt->bookmark_ev, &every);
    }
    bn_sim_conn_request_done(c); /* the watcher has what it needs */
}

void
bn_sim_watch_stop(struct bn_sim_conn *c, bool abort, enum bn_sim_term why)
{
    struct bn_sim_watch *wt = c->watch;
    struct bn_sim_server *s = c->srv;

    if (wt == NULL) {
        return;
    }
    bn_sim_store_unwatch(s->store, wt->w);
    if (!wt->slow) {
        s->metrics.watch_terminated[why]++;
    }
    watch_free(wt);
    c->watch = NULL;
    s->nwatches--;
    if (!abort) {
        evbuffer_add(bufferevent_get_output(c->bev), "0\r\n\r\n", 5);
        bn_sim_conn_responded(c);
    }
}

uint64_t
bn_sim_watch_buffered(const struct bn_sim_server *s)
{
    const struct bn_sim_conn *c;
    uint64_t n = 0;

    for (c = s->conns; c != NULL; c = c->next) {
        if (c->watch != NULL) {
            n += evbuffer_get_length(bufferevent_get_output(c->bev));
        }
    }
    return n;
}
