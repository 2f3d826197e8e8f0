/* A reflector-like watch: see bn_load_watch.h. */
#include "bn_load_watch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "bn_load_conn.h"
#include "bn_load_event.h"
#include "bn_load_member.h"
#include "bn_load_retry.h"
#include "bn_load_scenario.h"
#include "bn_load_stats.h"
#include "px_clock.h"

enum phase {
    PH_IDLE = 0,
    PH_LISTING,   /* LIST sent */
    PH_WATCHING,  /* watch sent, no response head yet */
    PH_STREAMING, /* established */
    PH_WAITING,   /* a backoff or a Retry-After */
};

enum next_req { NEXT_LIST = 0, NEXT_WATCH };

struct bn_watch {
    struct bn_wctx *w;
    struct bn_pop_stats *st;
    const struct bn_cred *cred;
    struct bn_conn *conn;
    struct event *timer;
    char *path;
    bool relist;
    enum phase phase;
    enum next_req after_wait;
    bool wait_is_retry; /* the wait is client-go's Retry-After, not a backoff */
    char rv[BN_RV_MAX];
    bool rv_unavailable; /* the last LIST at rv got 410: next LIST at "" */
    bool listed;
    struct bn_backoff backoff;
    uint64_t rng;
    uint32_t retries;   /* client-go retries of the current request */
    uint64_t wanted_ns; /* time to establish counts from here */
    uint64_t stream_start_ns;
    uint64_t stream_events;
    enum bn_watch_end error_end; /* set by an ERROR event */
    bool has_error_end;
    char *req;
    size_t reqlen;
    int status;
    char line[BN_WATCH_LINE_KEEP];
    size_t linelen;
};

static void watch_on_head(void *arg, const struct bn_resp *r, uint64_t now);
static void watch_on_body(void *arg, const char *p, size_t n);
static void watch_on_done(void *arg, const struct bn_resp *r, uint64_t now);
static void watch_on_fail(void *arg, enum bn_fail why, bool reused, uint64_t now);

static const struct bn_conn_ops watch_ops = {
    .on_head = watch_on_head,
    .on_body = watch_on_body,
    .on_done = watch_on_done,
    .on_fail = watch_on_fail,
};

/* --- the reflector ----------------------------------------------------- */

static void
bump_watch_code(struct bn_watch *wa, int status)
{
    wa->st->total.watch_codes[bn_code_slot(status)]++;
    wa->st->sec.watch_codes[bn_code_slot(status)]++;
}

#define BUMP(wa, field)                                                                            \
    do {                                                                                           \
        (wa)->st->total.field++;                                                                   \
        (wa)->st->sec.field++;                                                                     \
    } while (0)

static void
wait_then(struct bn_watch *wa, enum next_req next, bool retry, uint64_t delay_ns)
{
    struct timeval tv = {(time_t)(delay_ns / PX_NS_PER_S),
                         (suseconds_t)(delay_ns % PX_NS_PER_S / 1000)};

    wa->phase = PH_WAITING;
    wa->after_wait = next;
    wa->wait_is_retry = retry;
    event_add(wa->timer, &tv);
}

static void
send_request(struct bn_watch *wa, const char *target, bool stream, uint64_t now)
{
    free(wa->req);
    wa->req = bn_render_request(wa->w, "GET", target, wa->cred, NULL, 0, NULL, &wa->reqlen);
    if (wa->req == NULL) {
        wa->phase = PH_IDLE; /* out of memory: this watch stops */
        return;
    }
    wa->status = 0;
    wa->linelen = 0;
    (void)bn_conn_send(wa->conn, wa->req, wa->reqlen, false, stream, wa->w->scn->timeout_ns, now);
}

/* <fresh>: a new LIST of the reflector (counted), not a retry of one. */
static void
do_list(struct bn_watch *wa, bool fresh, uint64_t now)
{
    char target[BN_WATCH_TARGET_MAX];

    /* relistResourceVersion(): "0" (the watch cache) at first, the last
     * seen version after, "" (consistent) once that version is gone. */
    const char *rv = wa->rv_unavailable ? NULL : wa->rv[0] != '\0' ? wa->rv : "0";

    if (bn_watch_list_target(wa->path, rv, target, sizeof(target)) < 0) {
        wa->phase = PH_IDLE;
        return;
    }
    if (fresh) {
        BUMP(wa, lists);
        if (wa->listed) {
            BUMP(wa, relists);
        }
        wa->listed = true;
    }
    wa->phase = PH_LISTING;
    send_request(wa, target, false, now);
}

static void
do_watch(struct bn_watch *wa, uint64_t now)
{
    char target[BN_WATCH_TARGET_MAX];
    /* minWatchTimeout * (rand + 1): spreads watch expiry over 5-10 min. */
    unsigned timeout_s = 300 + (unsigned)(bn_rng_unit(&wa->rng) * 300.0);

    if (bn_watch_watch_target(wa->path, wa->rv_unavailable ? NULL : wa->rv, timeout_s, target,
                              sizeof(target)) < 0) {
        wa->phase = PH_IDLE;
        return;
    }
    wa->phase = PH_WATCHING;
    wa->has_error_end = false;
    send_request(wa, target, true, now);
}

/* The watch (or its LIST) is over: decide like the reflector. */
static void
reflect(struct bn_watch *wa, enum bn_watch_end end, uint64_t now)
{
    enum bn_reflect_next next = bn_reflect_after(end, now - wa->stream_start_ns, wa->stream_events);

    wa->retries = 0;
    if (wa->w->stopping) {
        wa->phase = PH_IDLE;
        return;
    }
    if (end == BN_WEND_EXPIRED && !wa->relist) {
        wa->rv[0] = '\0'; /* nothing to relist: watch from now */
    }
    switch (next) {
    case BN_REFLECT_REWATCH:
        do_watch(wa, now);
        break;
    case BN_REFLECT_REWATCH_BACKOFF:
        wait_then(wa, NEXT_WATCH, false, bn_backoff_next(&wa->backoff, now));
        break;
    case BN_REFLECT_RELIST_BACKOFF:
    default:
        wait_then(wa, wa->relist ? NEXT_LIST : NEXT_WATCH, false,
                  bn_backoff_next(&wa->backoff, now));
        break;
    }
}

/* client-go's per-request retry (429/5xx with Retry-After) of a LIST or a
 * watch request; true when a retry is scheduled. */
static bool
retry_request(struct bn_watch *wa, const struct bn_resp *r, enum next_req again)
{
    uint64_t wait_ns;

    if (!bn_retry_on_response(&wa->w->retry, wa->retries, r->status,
                              r->has_retry_after ? r->retry_after : NULL, &wait_ns)) {
        return false;
    }
    wa->retries++;
    BUMP(wa, retries);
    wait_then(wa, again, true, wait_ns);
    return true;
}

static void
stream_line(struct bn_watch *wa)
{
    struct bn_wev ev;

    bn_wev_parse(wa->line, wa->linelen, &ev);
    if (ev.rv[0] != '\0' && ev.type != BN_WEV_ERROR) {
        memcpy(wa->rv, ev.rv, sizeof(wa->rv));
    }
    switch (ev.type) {
    case BN_WEV_ADDED:
    case BN_WEV_MODIFIED:
    case BN_WEV_DELETED:
        wa->stream_events++;
        BUMP(wa, events);
        break;
    case BN_WEV_BOOKMARK:
        wa->stream_events++;
        BUMP(wa, bookmarks);
        break;
    case BN_WEV_ERROR:
        BUMP(wa, error_events);
        wa->has_error_end = true;
        wa->error_end = ev.code == 410   ? BN_WEND_EXPIRED
                        : ev.code == 429 ? BN_WEND_EVENT_429
                                         : BN_WEND_EVENT_ERROR;
        break;
    case BN_WEV_UNKNOWN:
    default:
        break;
    }
}

static void
watch_on_head(void *arg, const struct bn_resp *r, uint64_t now)
{
    struct bn_watch *wa = arg;

    wa->status = r->status;
    if (wa->phase != PH_WATCHING || r->status != 200) {
        return;
    }
    wa->phase = PH_STREAMING;
    wa->stream_start_ns = now;
    wa->stream_events = 0;
    bump_watch_code(wa, 200);
    BUMP(wa, watch_ok);
    wa->st->open_watches++;
    bn_hist_record(&wa->st->establish, now > wa->wanted_ns ? now - wa->wanted_ns : 0);
}

static void
watch_on_body(void *arg, const char *p, size_t n)
{
    struct bn_watch *wa = arg;
    const char *end = p + n, *nl;
    size_t take;

    wa->st->total.bytes_in += n;
    wa->st->sec.bytes_in += n;
    if (wa->phase == PH_LISTING && wa->status == 200) {
        /* The list's resourceVersion is in its first bytes. */
        take = n < sizeof(wa->line) - wa->linelen ? n : sizeof(wa->line) - wa->linelen;
        memcpy(wa->line + wa->linelen, p, take);
        wa->linelen += take;
        return;
    }
    if (wa->phase != PH_STREAMING) {
        return;
    }
    while (p < end) {
        nl = memchr(p, '\n', (size_t)(end - p));
        take = (size_t)((nl != NULL ? nl : end) - p);
        /* Only a line's head matters; the rest of a big object is skipped. */
        if (take > sizeof(wa->line) - wa->linelen) {
            take = sizeof(wa->line) - wa->linelen;
        }
        memcpy(wa->line + wa->linelen, p, take);
        wa->linelen += take;
        if (nl == NULL) {
            return;
        }
        stream_line(wa);
        wa->linelen = 0;
        p = nl + 1;
    }
}

static void
stream_over(struct bn_watch *wa, uint64_t now)
{
    wa->st->open_watches--;
    BUMP(wa, watch_ended);
    wa->wanted_ns = now;
    reflect(wa, wa->has_error_end ? wa->error_end : BN_WEND_CLOSED, now);
}

static void
watch_on_done(void *arg, const struct bn_resp *r, uint64_t now)
{
    struct bn_watch *wa = arg;
    char rv[BN_RV_MAX];

    switch (wa->phase) {
    case PH_LISTING:
        bump_watch_code(wa, r->status);
        if (r->status == 200) {
            wa->retries = 0;
            wa->rv_unavailable = false;
            if (bn_list_rv(wa->line, wa->linelen, rv, sizeof(rv)) == 0) {
                memcpy(wa->rv, rv, sizeof(rv));
            }
            do_watch(wa, now);
        } else if (r->status == 410 && !wa->rv_unavailable) {
            /* reflector.list(): the version is gone, LIST again at once
             * as a consistent read. */
            wa->rv_unavailable = true;
            do_list(wa, false, now);
        } else if (!retry_request(wa, r, NEXT_LIST)) {
            reflect(wa, BN_WEND_CREATE_ERROR, now);
        }
        return;
    case PH_WATCHING:
        bump_watch_code(wa, r->status);
        if (retry_request(wa, r, NEXT_WATCH)) {
            return;
        }
        BUMP(wa, watch_failed);
        reflect(wa,
                r->status == 429   ? BN_WEND_CREATE_429
                : r->status == 410 ? BN_WEND_EXPIRED
                                   : BN_WEND_CREATE_ERROR,
                now);
        return;
    case PH_STREAMING:
        stream_over(wa, now);
        return;
    case PH_IDLE:
    case PH_WAITING:
    default:
        return;
    }
}

static void
watch_on_fail(void *arg, enum bn_fail why, bool reused, uint64_t now)
{
    struct bn_watch *wa = arg;

    (void)reused;
    switch (wa->phase) {
    case PH_LISTING:
        bump_watch_code(wa, 0);
        /* A LIST is a GET: client-go retries a reset one at once. */
        if (bn_retry_on_failure(&wa->w->retry, wa->retries, true, why == BN_FAIL_IO)) {
            wa->retries++;
            BUMP(wa, retries);
            do_list(wa, false, now);
            return;
        }
        reflect(wa, BN_WEND_CREATE_ERROR, now);
        return;
    case PH_WATCHING:
        bump_watch_code(wa, 0);
        BUMP(wa, watch_failed);
        reflect(wa, why == BN_FAIL_CONNECT ? BN_WEND_CREATE_REFUSED : BN_WEND_CREATE_ERROR, now);
        return;
    case PH_STREAMING:
        /* A reset or an early EOF ends the stream like a close does
         * (StreamWatcher treats them alike). */
        stream_over(wa, now);
        return;
    case PH_IDLE:
    case PH_WAITING:
    default:
        return;
    }
}

static void
watch_timer(evutil_socket_t fd, short what, void *arg)
{
    struct bn_watch *wa = arg;
    uint64_t now = px_now_ns();

    (void)fd;
    (void)what;
    if (wa->w->stopping || wa->phase != PH_WAITING) {
        return;
    }
    if (wa->after_wait == NEXT_LIST) {
        do_list(wa, !wa->wait_is_retry, now);
    } else {
        do_watch(wa, now);
    }
}

struct bn_watch *
bn_watch_new(struct bn_wctx *w, struct bn_pop_stats *st, const struct bn_cred *cred,
             const char *path, bool relist, uint64_t seed)
{
    struct bn_watch *wa = calloc(1, sizeof(*wa));

    if (wa == NULL) {
        return NULL;
    }
    wa->w = w;
    wa->st = st;
    wa->cred = cred;
    wa->relist = relist;
    wa->rng = seed;
    wa->path = strdup(path);
    wa->conn = bn_conn_new(&w->env, cred, &watch_ops, wa);
    wa->timer = evtimer_new(w->env.base, watch_timer, wa);
    if (wa->path == NULL || wa->conn == NULL || wa->timer == NULL) {
        bn_watch_free(wa);
        return NULL;
    }
    return wa;
}

void
bn_watch_start(struct bn_watch *wa, uint64_t wanted_ns, uint64_t now)
{
    wa->wanted_ns = wanted_ns;
    bn_backoff_init(&wa->backoff, now, bn_rng_next(&wa->rng));
    if (wa->relist) {
        do_list(wa, true, now);
    } else {
        do_watch(wa, now);
    }
}

void
bn_watch_free(struct bn_watch *wa)
{
    if (wa == NULL) {
        return;
    }
    if (wa->phase == PH_STREAMING) {
        wa->st->open_watches--;
    }
    bn_conn_free(wa->conn);
    if (wa->timer != NULL) {
        event_free(wa->timer);
    }
    free(wa->path);
    free(wa->req);
    free(wa);
}
