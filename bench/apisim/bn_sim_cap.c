/* The capacity model: see bn_sim_cap.h. An event loop over virtual time:
 * each step takes the earliest of (a slot finishing, an idle slot taking
 * work that has arrived, the queue head's deadline) up to the caller's now.
 * O(slots) per step. */
#include "bn_sim_cap.h"

#include <stdlib.h>
#include <string.h>

#include "px_err.h"

enum job_state { JOB_IDLE = 0, JOB_QUEUED, JOB_RUNNING, JOB_PENDING };

struct slot {
    uint64_t until_ns;      /* busy until, or free since */
    struct bn_sim_job *job; /* the request on it, NULL for debt or a cancelled job */
    bool busy;
};

struct jlist {
    struct bn_sim_job *head, *tail;
    uint64_t n;
};

struct bn_sim_cap {
    struct bn_sim_cap_params p;
    struct slot *slots;
    struct jlist queue;   /* FIFO, all with the same timeout: head expires first */
    struct jlist pending; /* finished or expired, callbacks not yet run */
    uint64_t debt_ns;
    uint64_t debt_since_ns; /* when the oldest unpaid debt arrived */
    uint64_t running;
    uint64_t inflight[2]; /* [mutating] */
    uint64_t busy_ns_total, dropped_ns_total, rejected, timeouts, served, wait_ns_total;
};

static void
jl_push(struct jlist *l, struct bn_sim_job *j)
{
    j->next = NULL;
    j->prev = l->tail;
    if (l->tail != NULL) {
        l->tail->next = j;
    } else {
        l->head = j;
    }
    l->tail = j;
    l->n++;
}

static void
jl_unlink(struct jlist *l, struct bn_sim_job *j)
{
    if (j->prev != NULL) {
        j->prev->next = j->next;
    } else {
        l->head = j->next;
    }
    if (j->next != NULL) {
        j->next->prev = j->prev;
    } else {
        l->tail = j->prev;
    }
    j->prev = j->next = NULL;
    l->n--;
}

struct bn_sim_cap *
bn_sim_cap_new(const struct bn_sim_cap_params *p, char *err, size_t errlen)
{
    struct bn_sim_cap *c;

    if (p->slots == 0 || p->slots > BN_SIM_CAP_MAX_SLOTS) {
        px_errf(err, errlen, "slots: expected 1..%d, got %u", BN_SIM_CAP_MAX_SLOTS, p->slots);
        return NULL;
    }
    if (p->queue_timeout_ns == 0) {
        px_errf(err, errlen, "queue-timeout: must be > 0");
        return NULL;
    }
    c = calloc(1, sizeof(*c));
    if (c == NULL || (c->slots = calloc(p->slots, sizeof(*c->slots))) == NULL) {
        px_errf(err, errlen, "out of memory");
        free(c);
        return NULL;
    }
    c->p = *p;
    return c;
}

void
bn_sim_cap_free(struct bn_sim_cap *c)
{
    if (c == NULL) {
        return;
    }
    free(c->slots);
    free(c);
}

static void
leave(struct bn_sim_cap *c, struct bn_sim_job *j)
{
    if (!j->exempt) {
        c->inflight[j->mutating ? 1 : 0]--;
    }
}

enum bn_sim_cap_admit
bn_sim_cap_submit(struct bn_sim_cap *c, struct bn_sim_job *j, uint64_t now_ns)
{
    uint32_t limit = j->mutating ? c->p.max_mutating_inflight : c->p.max_inflight;

    if (!j->exempt && limit > 0 && c->inflight[j->mutating ? 1 : 0] >= limit) {
        c->rejected++;
        return BN_SIM_CAP_REJECTED;
    }
    if (!j->exempt) {
        c->inflight[j->mutating ? 1 : 0]++;
    }
    j->enqueued_ns = now_ns;
    j->started_ns = 0;
    j->state = JOB_QUEUED;
    jl_push(&c->queue, j);
    return BN_SIM_CAP_ADMITTED;
}

void
bn_sim_cap_cancel(struct bn_sim_cap *c, struct bn_sim_job *j)
{
    uint32_t i;

    switch (j->state) {
    case JOB_QUEUED:
        jl_unlink(&c->queue, j);
        leave(c, j);
        break;
    case JOB_RUNNING:
        for (i = 0; i < c->p.slots; i++) {
            if (c->slots[i].job == j) {
                c->slots[i].job = NULL; /* the slot stays busy until its end */
            }
        }
        c->running--;
        leave(c, j);
        break;
    case JOB_PENDING:
        jl_unlink(&c->pending, j);
        break;
    default:
        break;
    }
    j->state = JOB_IDLE;
}

void
bn_sim_cap_background(struct bn_sim_cap *c, uint64_t cost_ns, uint64_t now_ns)
{
    uint64_t room = c->p.max_debt_ns > c->debt_ns ? c->p.max_debt_ns - c->debt_ns : 0;

    if (cost_ns > room) {
        c->dropped_ns_total += cost_ns - room;
        cost_ns = room;
    }
    if (cost_ns == 0) {
        return;
    }
    if (c->debt_ns == 0) {
        c->debt_since_ns = now_ns;
    }
    c->debt_ns += cost_ns;
}

/* When idle slot <s> can next take work, or UINT64_MAX. */
static uint64_t
take_at(const struct bn_sim_cap *c, const struct slot *s)
{
    uint64_t arrival = UINT64_MAX;

    if (c->debt_ns > 0) {
        arrival = c->debt_since_ns;
    }
    if (c->queue.head != NULL && c->queue.head->enqueued_ns < arrival) {
        arrival = c->queue.head->enqueued_ns;
    }
    if (arrival == UINT64_MAX) {
        return UINT64_MAX;
    }
    return arrival > s->until_ns ? arrival : s->until_ns;
}

static void
fill(struct bn_sim_cap *c, struct slot *s, uint64_t t)
{
    struct bn_sim_job *j;

    if (c->debt_ns > 0 && c->debt_since_ns <= t) {
        /* background first: events must go out, requests wait behind them */
        uint64_t chunk = c->debt_ns < BN_SIM_CAP_CHUNK_NS ? c->debt_ns : BN_SIM_CAP_CHUNK_NS;

        c->debt_ns -= chunk;
        s->busy = true;
        s->job = NULL;
        s->until_ns = t + chunk;
        c->busy_ns_total += chunk;
        return;
    }
    j = c->queue.head;
    jl_unlink(&c->queue, j);
    j->state = JOB_RUNNING;
    j->started_ns = t;
    s->busy = true;
    s->job = j;
    s->until_ns = t + j->cost_ns;
    c->running++;
    c->busy_ns_total += j->cost_ns;
}

void
bn_sim_cap_advance(struct bn_sim_cap *c, uint64_t now_ns)
{
    for (;;) {
        struct slot *best = NULL;
        uint64_t t = UINT64_MAX, expire;
        bool finish = false;
        uint32_t i;

        for (i = 0; i < c->p.slots; i++) {
            struct slot *s = &c->slots[i];
            uint64_t at = s->busy ? s->until_ns : take_at(c, s);

            /* at equal times a finish goes first, then a take */
            if (at < t || (at == t && s->busy && !finish)) {
                t = at;
                best = s;
                finish = s->busy;
            }
        }
        expire =
            c->queue.head != NULL ? c->queue.head->enqueued_ns + c->p.queue_timeout_ns : UINT64_MAX;
        if (expire < t && expire <= now_ns) {
            struct bn_sim_job *j = c->queue.head;

            jl_unlink(&c->queue, j);
            leave(c, j);
            c->timeouts++;
            j->state = JOB_PENDING;
            j->outcome = BN_SIM_CAP_TIMEOUT;
            jl_push(&c->pending, j);
            continue;
        }
        if (best == NULL || t > now_ns) {
            break;
        }
        if (finish) {
            struct bn_sim_job *j = best->job;

            best->busy = false;
            best->job = NULL;
            if (j != NULL) {
                c->running--;
                leave(c, j);
                c->served++;
                c->wait_ns_total += j->started_ns - j->enqueued_ns;
                j->state = JOB_PENDING;
                j->outcome = BN_SIM_CAP_DONE;
                jl_push(&c->pending, j);
            }
        } else {
            fill(c, best, t);
        }
    }
    /* callbacks last, with the model at <now_ns>: they may submit and cancel */
    while (c->pending.head != NULL) {
        struct bn_sim_job *j = c->pending.head;

        jl_unlink(&c->pending, j);
        j->state = JOB_IDLE;
        j->done(j, (enum bn_sim_cap_outcome)j->outcome, now_ns);
    }
}

uint64_t
bn_sim_cap_next_ns(const struct bn_sim_cap *c)
{
    uint64_t t = UINT64_MAX;
    uint32_t i;

    for (i = 0; i < c->p.slots; i++) {
        uint64_t at = c->slots[i].busy ? c->slots[i].until_ns : take_at(c, &c->slots[i]);

        if (at < t) {
            t = at;
        }
    }
    if (c->queue.head != NULL && c->queue.head->enqueued_ns + c->p.queue_timeout_ns < t) {
        t = c->queue.head->enqueued_ns + c->p.queue_timeout_ns;
    }
    return t;
}

void
bn_sim_cap_stats(const struct bn_sim_cap *c, uint64_t now_ns, struct bn_sim_cap_stats *out)
{
    uint32_t i;

    (void)now_ns;
    memset(out, 0, sizeof(*out));
    out->slots = c->p.slots;
    for (i = 0; i < c->p.slots; i++) {
        out->busy_slots += c->slots[i].busy ? 1 : 0;
    }
    out->queued = c->queue.n;
    out->running = c->running;
    out->inflight_readonly = c->inflight[0];
    out->inflight_mutating = c->inflight[1];
    out->debt_ns = c->debt_ns;
    out->busy_ns_total = c->busy_ns_total;
    out->debt_dropped_ns_total = c->dropped_ns_total;
    out->rejected_total = c->rejected;
    out->timeouts_total = c->timeouts;
    out->served_total = c->served;
    out->queue_wait_ns_total = c->wait_ns_total;
}
