/* A member's request streams: see bn_load_member.h. */
#include "bn_load_member.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/event.h>

#include "bn_load_ident.h"
#include "bn_load_sched.h"
#include "bn_load_scenario.h"
#include "bn_load_stats.h"
#include "bn_load_tmpl.h"
#include "bn_load_watch.h"
#include "px_clock.h"
#include "px_err.h"

#define CLOSED_PAUSE_NS 10000000ull /* closed loop: 10 ms after a refused connect */

struct stream {
    char *req;
    size_t len;
    bool head, is_get;
};

/* A request between attempts: the first attempt's intended time and the
 * retries made so far travel with it. */
struct attempt {
    uint32_t stream;
    uint32_t retries;
    uint64_t intended_ns;
    uint64_t due_ns;
};

struct bn_member {
    struct bn_wctx *w;
    const struct bn_scn_pop *pop;
    struct bn_pop_stats *st;
    uint32_t index;
    uint64_t start_ns;
    bool started;
    struct event *timer; /* the next scheduled send, or the start */
    struct event *next;  /* "send what is due" once this loop pass is over */
    struct bn_conn *conn;
    struct stream *streams;
    struct bn_sched *sched; /* parallel to streams: bn_sched_pick wants an array */
    size_t nstreams;
    size_t rr; /* closed loop: next stream */
    bool inflight;
    struct attempt cur;
    uint64_t free_since_ns; /* when the connection last became free */
    struct attempt waiting[BN_MEMBER_WAITING_MAX];
    size_t nwaiting;
    struct bn_watch *watches[BN_SCN_MAX_WATCHES];
    size_t nwatches;
};

static void member_on_done(void *arg, const struct bn_resp *r, uint64_t now);
static void member_on_fail(void *arg, enum bn_fail why, bool reused, uint64_t now);
static void member_on_body(void *arg, const char *p, size_t n);

static const struct bn_conn_ops member_ops = {
    .on_head = NULL,
    .on_body = member_on_body,
    .on_done = member_on_done,
    .on_fail = member_on_fail,
};

/* --- rendering --------------------------------------------------------- */

static bool
has_header(const char *const *headers, size_t n, const char *name)
{
    size_t i, l = strlen(name);

    for (i = 0; i < n; i++) {
        if (strncasecmp(headers[i], name, l) == 0 && headers[i][l] == ':') {
            return true;
        }
    }
    return false;
}

char *
bn_render_request(const struct bn_wctx *w, const char *method, const char *target,
                  const struct bn_cred *cred, const char *const *headers, size_t nheaders,
                  const char *body, size_t *len)
{
    size_t cap = strlen(method) + strlen(target) + strlen(w->host_header) + 256, i, o;
    size_t blen = body != NULL ? strlen(body) : 0;
    char *out;

    cap += cred != NULL && cred->auth != NULL ? strlen(cred->auth) : 0;
    for (i = 0; i < nheaders; i++) {
        cap += strlen(headers[i]) + 2;
    }
    cap += blen;
    if ((out = malloc(cap)) == NULL) {
        return NULL;
    }
    o = (size_t)snprintf(out, cap,
                         "%s %s HTTP/1.1\r\n%sUser-Agent: floodgate-load/0.1.0\r\n"
                         "Accept: application/json\r\n%s",
                         method, target, w->host_header,
                         cred != NULL && cred->auth != NULL ? cred->auth : "");
    for (i = 0; i < nheaders; i++) {
        o += (size_t)snprintf(out + o, cap - o, "%s\r\n", headers[i]);
    }
    if (body != NULL) {
        if (!has_header(headers, nheaders, "Content-Type")) {
            o += (size_t)snprintf(out + o, cap - o, "Content-Type: application/json\r\n");
        }
        o += (size_t)snprintf(out + o, cap - o, "Content-Length: %zu\r\n", blen);
    }
    o += (size_t)snprintf(out + o, cap - o, "\r\n");
    memcpy(out + o, body != NULL ? body : "", blen);
    *len = o + blen;
    return out;
}

/* --- counting ---------------------------------------------------------- */

static void
count_final(struct bn_member *m, int status, enum bn_fail why, uint64_t latency_ns)
{
    struct bn_counts *c[2] = {&m->st->total, &m->st->sec};
    size_t i;

    for (i = 0; i < 2; i++) {
        c[i]->requests++;
        c[i]->codes[status > 0 ? bn_code_slot(status) : 0]++;
        if (status <= 0) {
            c[i]->fails[why]++;
        }
    }
    if (status > 0) {
        bn_hist_record(&m->st->lat, latency_ns);
        bn_hist_record(&m->st->lat_sec, latency_ns);
    }
}

static void
count_retry(struct bn_member *m)
{
    m->st->total.retries++;
    m->st->sec.retries++;
}

/* --- scheduling -------------------------------------------------------- */

static void
arm_at(struct bn_member *m, uint64_t at, uint64_t now)
{
    uint64_t d = at > now ? at - now : 0;
    struct timeval tv = {(time_t)(d / PX_NS_PER_S), (suseconds_t)(d % PX_NS_PER_S / 1000)};

    event_add(m->timer, &tv);
}

static void
send_attempt(struct bn_member *m, const struct attempt *a, uint64_t now)
{
    const struct stream *s = &m->streams[a->stream];

    m->cur = *a;
    m->inflight = true;
    /* A refused socket is reported through on_fail from the loop. */
    (void)bn_conn_send(m->conn, s->req, s->len, s->head, false, m->w->scn->timeout_ns, now);
}

static bool
take_due_retry(struct bn_member *m, uint64_t now, struct attempt *out, uint64_t *wake)
{
    size_t i, best = SIZE_MAX;

    for (i = 0; i < m->nwaiting; i++) {
        if (best == SIZE_MAX || m->waiting[i].due_ns < m->waiting[best].due_ns) {
            best = i;
        }
    }
    if (best == SIZE_MAX) {
        return false;
    }
    if (m->waiting[best].due_ns > now) {
        *wake = m->waiting[best].due_ns < *wake ? m->waiting[best].due_ns : *wake;
        return false;
    }
    *out = m->waiting[best];
    m->waiting[best] = m->waiting[--m->nwaiting];
    return true;
}

/* Sends whatever is due, or sleeps until something will be. */
static void
kick(struct bn_member *m, uint64_t now)
{
    struct attempt a = {0};
    uint64_t wake = UINT64_MAX, next = UINT64_MAX, ref;
    int k;

    if (m->inflight || m->w->stopping || m->nstreams == 0) {
        return;
    }
    if (take_due_retry(m, now, &a, &wake)) {
        send_attempt(m, &a, now);
        return;
    }
    if (m->w->scn->closed) {
        a.stream = (uint32_t)(m->rr++ % m->nstreams);
        a.intended_ns = 0; /* closed loop measures from the send */
        send_attempt(m, &a, now);
        return;
    }
    k = bn_sched_pick(m->sched, m->nstreams, now, &a.intended_ns, &next);
    if (k >= 0) {
        /* How late the generator itself was: time past the intended send
         * while the connection was already free. */
        ref = a.intended_ns > m->free_since_ns ? a.intended_ns : m->free_since_ns;
        bn_hist_record(&m->st->lag, now > ref ? now - ref : 0);
        a.stream = (uint32_t)k;
        send_attempt(m, &a, now);
        return;
    }
    wake = next < wake ? next : wake;
    if (wake != UINT64_MAX) {
        arm_at(m, wake, now);
    }
}

/* Puts the current request aside to be retried at <due>. */
static bool
wait_retry(struct bn_member *m, uint64_t due)
{
    if (m->nwaiting == BN_MEMBER_WAITING_MAX) {
        m->st->total.dropped++;
        m->st->sec.dropped++;
        return false;
    }
    m->waiting[m->nwaiting] = m->cur;
    m->waiting[m->nwaiting].retries++;
    m->waiting[m->nwaiting].due_ns = due;
    m->nwaiting++;
    count_retry(m);
    return true;
}

/* The next request leaves after every response that arrived in this pass
 * of the event loop has been read, as wrk's does (it waits for the socket
 * to turn writable): the server then reads requests in batches, not one
 * wake-up per response. Latency is unaffected: it runs from the send (closed
 * loop) or from the schedule (open loop). */
static void
defer_kick(struct bn_member *m)
{
    event_active(m->next, EV_TIMEOUT, 1);
}

static void
member_next(evutil_socket_t fd, short what, void *arg)
{
    struct bn_member *m = arg;

    (void)fd;
    (void)what;
    if (!m->w->stopping) {
        kick(m, px_now_ns());
    }
}

static void
member_on_body(void *arg, const char *p, size_t n)
{
    struct bn_member *m = arg;

    (void)p;
    m->st->total.bytes_in += n;
    m->st->sec.bytes_in += n;
}

static void
member_on_done(void *arg, const struct bn_resp *r, uint64_t now)
{
    struct bn_member *m = arg;
    uint64_t wait_ns;

    m->inflight = false;
    m->free_since_ns = now;
    if (m->cur.retries == 0 && m->w->scn->closed) {
        m->cur.intended_ns = bn_conn_sent_ns(m->conn);
    }
    if (bn_retry_on_response(&m->w->retry, m->cur.retries, r->status,
                             r->has_retry_after ? r->retry_after : NULL, &wait_ns) &&
        wait_retry(m, now + wait_ns)) {
        defer_kick(m);
        return;
    }
    if ((r->status == 429 || r->status >= 500) && r->has_retry_after && m->w->retry.retry_after &&
        m->cur.retries >= m->w->retry.max_retries) {
        m->st->total.gave_up++;
        m->st->sec.gave_up++;
    }
    count_final(m, r->status, BN_FAIL_N, now - m->cur.intended_ns);
    defer_kick(m);
}

static void
member_on_fail(void *arg, enum bn_fail why, bool reused, uint64_t now)
{
    struct bn_member *m = arg;

    (void)reused;
    m->inflight = false;
    m->free_since_ns = now;
    if (m->cur.retries == 0 && m->w->scn->closed) {
        m->cur.intended_ns = now;
    }
    /* client-go retries a GET at once after a reset or early EOF. */
    if (bn_retry_on_failure(&m->w->retry, m->cur.retries, m->streams[m->cur.stream].is_get,
                            why == BN_FAIL_IO) &&
        wait_retry(m, now)) {
        defer_kick(m);
        return;
    }
    count_final(m, 0, why, 0);
    if (m->w->scn->closed && (why == BN_FAIL_CONNECT || why == BN_FAIL_TLS)) {
        arm_at(m, now + CLOSED_PAUSE_NS, now); /* not a busy loop on a dead target */
        return;
    }
    defer_kick(m);
}

static void
member_timer(evutil_socket_t fd, short what, void *arg)
{
    struct bn_member *m = arg;
    uint64_t now = px_now_ns();
    size_t i;

    (void)fd;
    (void)what;
    if (m->w->stopping) {
        return;
    }
    if (!m->started) {
        m->started = true;
        m->free_since_ns = now;
        for (i = 0; i < m->nwatches; i++) {
            bn_watch_start(m->watches[i], m->start_ns, now);
        }
    }
    kick(m, now);
}

/* --- lifecycle --------------------------------------------------------- */

static int
build_streams(struct bn_member *m, const struct bn_cred *cred, uint64_t seed, char *err,
              size_t errlen)
{
    const struct bn_scn_pop *p = m->pop;
    struct bn_tmpl_vars v = {.i = m->index, .pop = p->name};
    char target[BN_TMPL_MAX], body[BN_TMPL_MAX], *hdrs[BN_SCN_MAX_HEADERS] = {0};
    size_t k, h;
    int rc = -1;

    m->nstreams = p->nrequests;
    m->streams = calloc(p->nrequests + 1, sizeof(*m->streams));
    m->sched = calloc(p->nrequests + 1, sizeof(*m->sched));
    if (m->streams == NULL || m->sched == NULL) {
        px_errf(err, errlen, "out of memory");
        return -1;
    }
    for (k = 0; k < p->nrequests; k++) {
        const struct bn_scn_request *q = &p->requests[k];
        uint32_t div;
        uint64_t rate = bn_scn_member_rate(p, q, &div);

        for (h = 0; h < q->nheaders; h++) {
            if ((hdrs[h] = malloc(BN_TMPL_MAX)) == NULL ||
                bn_tmpl_expand(q->headers[h], &v, hdrs[h], BN_TMPL_MAX, err, errlen) < 0) {
                goto out;
            }
        }
        if (bn_tmpl_expand(q->path, &v, target, sizeof(target), err, errlen) < 0 ||
            (q->body != NULL && bn_tmpl_expand(q->body, &v, body, sizeof(body), err, errlen) < 0)) {
            goto out;
        }
        m->streams[k].req =
            bn_render_request(m->w, q->method, target, cred, (const char *const *)hdrs, q->nheaders,
                              q->body != NULL ? body : NULL, &m->streams[k].len);
        if (m->streams[k].req == NULL) {
            px_errf(err, errlen, "out of memory");
            goto out;
        }
        m->streams[k].head = strcmp(q->method, "HEAD") == 0;
        m->streams[k].is_get = strcmp(q->method, "GET") == 0;
        /* Members started together spread their constant streams over one
         * interval; Poisson streams are independent by construction. */
        bn_sched_init(&m->sched[k], q->arrival, rate == 0 ? 1 : rate, div,
                      m->start_ns + bn_sched_phase(rate, div, m->index, p->count),
                      seed + k * 0x9e3779b97f4a7c15ull);
        for (h = 0; h < q->nheaders; h++) {
            free(hdrs[h]);
            hdrs[h] = NULL;
        }
    }
    rc = 0;
out:
    for (h = 0; h < BN_SCN_MAX_HEADERS; h++) {
        free(hdrs[h]);
    }
    return rc;
}

struct bn_member *
bn_member_new(struct bn_wctx *w, size_t pop_idx, uint32_t i, const struct bn_cred *cred, char *err,
              size_t errlen)
{
    struct bn_member *m = calloc(1, sizeof(*m));
    const struct bn_scn_pop *p = &w->scn->pops[pop_idx];
    struct bn_tmpl_vars v = {.i = i, .pop = p->name};
    char path[BN_TMPL_MAX];
    uint64_t seed = w->scn->seed ^ ((uint64_t)pop_idx << 40) ^ ((uint64_t)i * 0x100000001b3ull);
    size_t k;

    if (m == NULL) {
        px_errf(err, errlen, "out of memory");
        return NULL;
    }
    m->w = w;
    m->pop = p;
    m->st = &w->stats[pop_idx];
    m->index = i;
    /* Offsets from the origin until bn_member_arm knows it. */
    m->start_ns = bn_sched_member_start(p->start_ns, p->ramp_ns, i, p->count);
    m->timer = evtimer_new(w->env.base, member_timer, m);
    m->next = event_new(w->env.base, -1, 0, member_next, m);
    if (m->timer == NULL || m->next == NULL) {
        px_errf(err, errlen, "out of memory");
        goto fail;
    }
    if (p->nrequests > 0) {
        m->conn = bn_conn_new(&w->env, cred, &member_ops, m);
        if (m->conn == NULL || build_streams(m, cred, bn_rng_next(&seed), err, errlen) != 0) {
            if (m->conn == NULL) {
                px_errf(err, errlen, "out of memory");
            }
            goto fail;
        }
    }
    for (k = 0; k < p->nwatches; k++) {
        if (bn_tmpl_expand(p->watches[k].path, &v, path, sizeof(path), err, errlen) < 0) {
            goto fail;
        }
        m->watches[k] =
            bn_watch_new(w, m->st, cred, path, p->watches[k].relist, bn_rng_next(&seed));
        if (m->watches[k] == NULL) {
            px_errf(err, errlen, "out of memory");
            goto fail;
        }
        m->nwatches++;
    }
    return m;

fail:
    bn_member_free(m);
    return NULL;
}

void
bn_member_arm(struct bn_member *m, uint64_t origin_ns)
{
    size_t k;

    m->start_ns += origin_ns;
    for (k = 0; k < m->nstreams; k++) {
        m->sched[k].origin_ns += origin_ns;
        m->sched[k].next_ns += origin_ns;
    }
    arm_at(m, m->start_ns, px_now_ns());
}

void
bn_member_count_unsent(struct bn_member *m, uint64_t end_ns)
{
    uint64_t n = m->nwaiting + (m->inflight ? 1 : 0), intended, wake;

    if (m->w->scn->closed || !m->started) {
        return;
    }
    while (bn_sched_pick(m->sched, m->nstreams, end_ns - 1, &intended, &wake) >= 0) {
        n++;
    }
    m->st->total.unsent += n;
}

void
bn_member_free(struct bn_member *m)
{
    size_t k;

    if (m == NULL) {
        return;
    }
    for (k = 0; k < m->nwatches; k++) {
        bn_watch_free(m->watches[k]);
    }
    bn_conn_free(m->conn);
    if (m->timer != NULL) {
        event_free(m->timer);
    }
    if (m->next != NULL) {
        event_free(m->next);
    }
    for (k = 0; k < m->nstreams; k++) {
        free(m->streams[k].req);
    }
    free(m->streams);
    free(m->sched);
    free(m);
}
