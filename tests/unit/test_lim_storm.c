/* The incident, replayed on the fake clock: a DaemonSet rollout on 10,000
 * nodes. Each node (system:node:node-N in system:nodes) runs an agent that
 * starts 3 informers, whose watches have resourceVersion unset (so each
 * pays a consistent LIST), and, once they are established (client-go's
 * WaitForCacheSync), LISTs its pods at 10/s until the end of the 60
 * simulated seconds. Nodes arrive over the first 5 s, like a rollout.
 * Clients honour Retry-After (with the limiter's jitter) and retry;
 * watches stay open once established. An operator in system:masters
 * issues 20 GETs and 2 LISTs a second throughout. Upstream is a fixed
 * latency per request, after which the request is released (a watch's
 * initial events are then out: lim_watch_started).
 *
 * Policy: an exempt class for system:masters; `nodes` (per node: 0.25
 * token/s, burst 6, 3 watches at once; for the fleet: 3000 tokens/s,
 * burst 4000, half the read-only seats); a catch-all.
 *
 * What must hold (each assert states its bound):
 *  - the fleet never gets more than its budget: admitted tokens <=
 *    class_rate * 60 s + class_burst = 184,000 tokens (GCRA's bound), and
 *    the storm does press on it (>= 90% used);
 *  - the operator is never rejected;
 *  - no starvation: every node has its 3 watches within 50 s, and within
 *    3 s (one jittered retry plus the initial events) of the last moment
 *    the fleet's bucket was saturated;
 *  - in-flight seats never exceed the class's share (200) or the pool (400).
 *
 * Above the fair share. When the per-node rates sum below the class rate
 * (here 10,000 * 0.25 = 2,500 < 3,000 tokens/s), the fleet's bucket
 * saturates only while the rollout's backlog lasts. With per-node rates
 * above that fair share (0.5 token/s: 5,000 tokens/s) it stays saturated
 * for good, and plain rejections made admission a lottery whose losers
 * waited arbitrarily long: about one node in twenty still missed a watch
 * after 60 s in this simulation (one in seven when the LIST loop does not
 * wait for the watches). Turns (limiter/lim_turn.c) make it a queue: a
 * node rejected by the fleet's bucket books its turn, one per node, so a
 * turn is at most B = NODES * c_max / class_rate ahead (c_max: the dearest
 * request a node makes, measured), and the node is back within 2 s of it
 * (Retry-After rounded up, plus at most 1 s of jitter). A node's requests
 * take turns one after the other, the first rejected first: its 3 watches
 * (and, when the LIST loop does not wait, one LIST that may be queued
 * ahead of them) need at most TURNS turns, so every node has its watches
 * by RAMP + TURNS * (B + 2 s) + 3 s (a few 1-2 s seat rejections, which a
 * turn survives). These cases also check the fleet's budget (the bucket
 * counts a turn's tokens as of its turn) and that the operator is never
 * rejected.
 *
 * Runs ~1,000,000 decisions in about a second. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lim.h"
#include "lim_test_util.h"

#define S  T_NS_PER_S
#define MS T_NS_PER_MS

#define NODES           10000
#define WATCHES         3
#define RUN_NS          (60 * S)
#define RAMP_NS         (5 * S)
#define LIST_PERIOD_NS  (100 * MS) /* 10/s per node */
#define LIST_LATENCY_NS (50 * MS)
#define WATCH_INIT_NS   (100 * MS)
#define OPS_PERIOD_NS   (50 * MS) /* the operator: 20 GET/s, a LIST each 0.5 s */
#define LIST_BYTES      20000     /* a node's pods: a filtered LIST */

/* The nodes class. */
#define NODE_RATE_MTPS  250     /* 0.25 token/s per node */
#define NODE_BURST      6       /* tokens: the 3 watches cost 5.1 */
#define CLASS_RATE_MTPS 3000000 /* 3000 tokens/s for the fleet */
#define CLASS_BURST     4000    /* tokens */
#define CLASS_SHARE_PCT 50      /* of 400 read-only seats: 200 */
#define WATCH_BOUND_NS  (50 * S)
#define RETRY_SLACK_NS  (3 * S)

/* One run of the storm. */
struct storm_cfg {
    uint64_t node_rate_mtps;
    bool list_waits; /* the LIST loop starts once the watches are up */
};

enum ev_kind { EV_START, EV_WATCH_TRY, EV_WATCH_INIT, EV_LIST_TRY, EV_LIST_DONE, EV_OPS };

struct ev {
    uint64_t t;
    uint64_t seq;
    uint32_t node;
    uint8_t kind;
    uint8_t k; /* watch number */
    struct lim_ticket ticket;
};

struct heap {
    struct ev *v;
    size_t n, cap;
    uint64_t seq;
};

static void
push(struct heap *h, struct ev e)
{
    size_t i;

    if (h->n == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 1024;
        h->v = realloc(h->v, h->cap * sizeof(*h->v));
        assert_non_null(h->v);
    }
    e.seq = h->seq++;
    i = h->n++;
    while (i > 0) {
        size_t up = (i - 1) / 2;

        if (h->v[up].t < e.t || (h->v[up].t == e.t && h->v[up].seq < e.seq)) {
            break;
        }
        h->v[i] = h->v[up];
        i = up;
    }
    h->v[i] = e;
}

static struct ev
pop(struct heap *h)
{
    struct ev top = h->v[0], last = h->v[--h->n];
    size_t i = 0;

    for (;;) {
        size_t c = 2 * i + 1;

        if (c >= h->n) {
            break;
        }
        if (c + 1 < h->n && (h->v[c + 1].t < h->v[c].t ||
                             (h->v[c + 1].t == h->v[c].t && h->v[c + 1].seq < h->v[c].seq))) {
            c++;
        }
        if (last.t < h->v[c].t || (last.t == h->v[c].t && last.seq < h->v[c].seq)) {
            break;
        }
        h->v[i] = h->v[c];
        i = c;
    }
    if (h->n > 0) {
        h->v[i] = last;
    }
    return top;
}

struct storm {
    struct storm_cfg cfg;
    struct lim *l;
    struct lim_policy *p;
    struct lim_identity *nodes;
    struct lim_identity ops;
    struct lim_request list_pods, watch[WATCHES], ops_get, ops_list;
    struct heap h;
    uint64_t rng;
    size_t nodes_slot;
    /* per node */
    struct lim_ticket (*watch_ticket)[WATCHES];
    uint64_t *watches_done_ns; /* when the last watch was established */
    uint8_t *watches_up;
    /* measured */
    uint64_t decisions, node_tokens_mt, node_admits, node_rejects[LIM_REASON_COUNT];
    uint64_t ops_admits, ops_rejects;
    uint64_t max_cost_mt;          /* the dearest node request */
    uint64_t last_class_reject_ns; /* the fleet's bucket was saturated then */
    int64_t max_class_inflight, max_pool_inflight;
};

static uint64_t
rnd(struct storm *s)
{
    s->rng ^= s->rng << 13;
    s->rng ^= s->rng >> 7;
    s->rng ^= s->rng << 17;
    return s->rng;
}

static struct lim_policy *
storm_policy(const struct storm_cfg *cfg)
{
    static const char *const masters[] = {"system:masters"};
    static const char *const nodes[] = {"system:nodes"};
    struct lim_global_params g;
    struct lim_class_params ex, nc, def;
    struct lim_rule_params r;
    struct lim_policy *p;
    char err[256];

    lim_global_defaults(&g); /* 400/200 seats, 10 reserved, jitter 50 %, max 30 s */
    g.max_watches = 50000;
    p = lim_policy_new(&g, err, sizeof(err));
    assert_non_null(p);
    lim_class_defaults(&ex, "exempt", &g);
    ex.mode = LIM_MODE_EXEMPT;
    lim_class_defaults(&nc, "nodes", &g);
    nc.dist = LIM_DIST_NODE;
    nc.rate_mtps = cfg->node_rate_mtps;
    nc.burst = NODE_BURST;
    nc.class_rate_mtps = CLASS_RATE_MTPS;
    nc.class_burst = CLASS_BURST;
    nc.concurrency_share_pct = CLASS_SHARE_PCT;
    nc.max_inflight_per_key = 4;
    nc.max_watches_per_key = 5;
    nc.max_watches = 40000;
    nc.watch_rate_mtps = 1000; /* a watch a second per node, 3 at once */
    nc.watch_burst = 3;
    lim_class_defaults(&def, "default", &g);
    def.rate_mtps = 10000;
    def.burst = 20;
    assert_int_equal(lim_policy_add_class(p, &ex, err, sizeof(err)), 0);
    assert_int_equal(lim_policy_add_class(p, &nc, err, sizeof(err)), 0);
    assert_int_equal(lim_policy_add_class(p, &def, err, sizeof(err)), 0);
    r = t_rule("exempt");
    r.groups = masters, r.ngroups = 1;
    assert_int_equal(lim_policy_add_rule(p, &r, err, sizeof(err)), 0);
    r = t_rule("nodes");
    r.groups = nodes, r.ngroups = 1;
    assert_int_equal(lim_policy_add_rule(p, &r, err, sizeof(err)), 0);
    r = t_rule("default");
    assert_int_equal(lim_policy_add_rule(p, &r, err, sizeof(err)), 0);
    assert_int_equal(lim_policy_finish(p, err, sizeof(err)), 0);
    return p;
}

static void
storm_init(struct storm *s, const struct storm_cfg *cfg)
{
    char user[64];
    uint32_t i;

    memset(s, 0, sizeof(*s));
    s->cfg = *cfg;
    s->rng = 0x9e3779b97f4a7c15ull;
    s->l = lim_new(2 * NODES, 20240601, NULL, 0);
    assert_non_null(s->l);
    s->p = storm_policy(cfg);
    assert_int_equal(lim_bind(s->l, s->p, NULL, 0), 0);
    s->nodes = calloc(NODES, sizeof(*s->nodes));
    s->watch_ticket = calloc(NODES, sizeof(*s->watch_ticket));
    s->watches_done_ns = calloc(NODES, sizeof(*s->watches_done_ns));
    s->watches_up = calloc(NODES, 1);
    assert_non_null(s->nodes);
    assert_non_null(s->watch_ticket);
    assert_non_null(s->watches_done_ns);
    assert_non_null(s->watches_up);
    for (i = 0; i < NODES; i++) {
        snprintf(user, sizeof(user), "system:node:node-%u", i);
        assert_int_equal(t_id(&s->nodes[i], LIM_CRED_CERT, user, "system:nodes", NULL), 0);
    }
    assert_int_equal(t_id(&s->ops, LIM_CRED_CERT, "admin", "system:masters", NULL), 0);
    /* The kubelet-like DaemonSet: its pods (a filtered, consistent LIST),
     * and watches on its pods, its node object and the configmaps. */
    t_req(&s->list_pods, LIM_VERB_LIST, "", "pods", "");
    s->list_pods.field_selector = "spec.nodeName=node-N";
    s->watch[0] = s->list_pods;
    s->watch[0].verb = LIM_VERB_WATCH;
    s->watch[0].is_long_running = true;
    t_req(&s->watch[1], LIM_VERB_WATCH, "", "nodes", "");
    s->watch[1].name = "node-N"; /* metadata.name: one object */
    t_req(&s->watch[2], LIM_VERB_WATCH, "", "configmaps", "");
    t_req(&s->ops_get, LIM_VERB_GET, "", "pods", "default");
    s->ops_get.name = "p1";
    t_req(&s->ops_list, LIM_VERB_LIST, "apps", "deployments", "");
    for (i = 0; i < lim_class_slot_count(s->l); i++) {
        if (strcmp(lim_class_slot_name(s->l, i), "nodes") == 0) {
            s->nodes_slot = i;
        }
    }
}

static void
storm_fini(struct storm *s)
{
    lim_free(s->l);
    lim_policy_free(s->p);
    free(s->nodes);
    free(s->watch_ticket);
    free(s->watches_done_ns);
    free(s->watches_up);
    free(s->h.v);
}

static void
check_caps(struct storm *s)
{
    struct lim_class_stats cs;
    struct lim_stats st;

    lim_stats(s->l, &st);
    lim_class_slot_stats(s->l, s->nodes_slot, &cs);
    if (cs.inflight[0] > s->max_class_inflight) {
        s->max_class_inflight = cs.inflight[0];
    }
    if (st.inflight[0] > s->max_pool_inflight) {
        s->max_pool_inflight = st.inflight[0];
    }
}

/* A node's decision: counts what the class admitted. */
static void
node_decide(struct storm *s, uint32_t n, const struct lim_request *r, uint64_t t,
            struct lim_decision *d)
{
    lim_decide(s->l, s->p, &s->nodes[n], r, t, rnd(s), d);
    s->decisions++;
    s->max_cost_mt = d->cost_mt > s->max_cost_mt ? d->cost_mt : s->max_cost_mt;
    assert_string_equal(d->class_name, "nodes");
    assert_int_not_equal(d->verdict, LIM_DELAY); /* no max_wait configured */
    if (d->verdict == LIM_ADMIT) {
        s->node_admits++;
        /* The class bucket is charged the cost clamped to its burst. */
        s->node_tokens_mt +=
            d->cost_mt < CLASS_BURST * 1000ull ? d->cost_mt : CLASS_BURST * 1000ull;
        check_caps(s);
    } else {
        assert_true(d->retry_after_s >= 1 && d->retry_after_s <= 30);
        if (d->reason == LIM_REASON_CLASS_RATE) {
            s->last_class_reject_ns = t;
        }
        s->node_rejects[d->reason]++;
    }
}

static void
step(struct storm *s, struct ev e)
{
    struct lim_decision d;
    uint32_t n = e.node;
    uint8_t k;

    switch ((enum ev_kind)e.kind) {
    case EV_START:
        for (k = 0; k < WATCHES; k++) {
            push(&s->h, (struct ev){.t = e.t, .node = n, .kind = EV_WATCH_TRY, .k = k});
        }
        if (!s->cfg.list_waits) {
            push(&s->h, (struct ev){.t = e.t, .node = n, .kind = EV_LIST_TRY});
        }
        break;
    case EV_WATCH_TRY:
        if (e.t >= RUN_NS) {
            break;
        }
        node_decide(s, n, &s->watch[e.k], e.t, &d);
        if (d.verdict == LIM_REJECT) {
            push(&s->h,
                 (struct ev){
                     .t = e.t + d.retry_after_s * S, .node = n, .kind = EV_WATCH_TRY, .k = e.k});
        } else {
            push(&s->h, (struct ev){.t = e.t + WATCH_INIT_NS,
                                    .node = n,
                                    .kind = EV_WATCH_INIT,
                                    .k = e.k,
                                    .ticket = d.ticket});
        }
        break;
    case EV_WATCH_INIT:
        s->watch_ticket[n][e.k] = e.ticket;
        lim_watch_started(s->l, &s->watch_ticket[n][e.k]);
        if (++s->watches_up[n] == WATCHES) {
            /* Caches synced: the agent's work loop starts. */
            s->watches_done_ns[n] = e.t;
            if (s->cfg.list_waits) {
                push(&s->h, (struct ev){.t = e.t, .node = n, .kind = EV_LIST_TRY});
            }
        }
        break;
    case EV_LIST_TRY:
        if (e.t >= RUN_NS) {
            break;
        }
        node_decide(s, n, &s->list_pods, e.t, &d);
        if (d.verdict == LIM_REJECT) {
            push(&s->h,
                 (struct ev){.t = e.t + d.retry_after_s * S, .node = n, .kind = EV_LIST_TRY});
        } else {
            push(&s->h, (struct ev){.t = e.t + LIST_LATENCY_NS,
                                    .node = n,
                                    .kind = EV_LIST_DONE,
                                    .ticket = d.ticket});
            push(&s->h, (struct ev){.t = e.t + LIST_PERIOD_NS, .node = n, .kind = EV_LIST_TRY});
        }
        break;
    case EV_LIST_DONE:
        lim_release(s->l, &e.ticket, 200, LIST_BYTES, LIST_LATENCY_NS, e.t);
        break;
    case EV_OPS:
        if (e.t >= RUN_NS) {
            break;
        }
        lim_decide(s->l, s->p, &s->ops,
                   (e.t / OPS_PERIOD_NS) % 10 == 0 ? &s->ops_list : &s->ops_get, e.t, rnd(s), &d);
        s->decisions++;
        if (d.verdict == LIM_ADMIT && d.exempt) {
            s->ops_admits++;
            lim_release(s->l, &d.ticket, 200, 4096, 0, e.t);
        } else {
            s->ops_rejects++;
        }
        push(&s->h, (struct ev){.t = e.t + OPS_PERIOD_NS, .kind = EV_OPS});
        break;
    }
}

/* Runs the rollout to the end of RUN_NS. */
static void
storm_run(struct storm *s)
{
    uint32_t n;

    for (n = 0; n < NODES; n++) {
        uint64_t jitter = rnd(s) % (50 * MS);

        push(&s->h, (struct ev){.t = (uint64_t)n * (RAMP_NS / NODES) + jitter,
                                .node = n,
                                .kind = EV_START});
    }
    push(&s->h, (struct ev){.t = 0, .kind = EV_OPS});
    while (s->h.n > 0) {
        step(s, pop(&s->h));
    }
}

/* What holds whatever the per-node rate: the fleet's budget (and that the
 * storm pressed on it), the operator never rejected, the seats within
 * their caps. */
static void
check_budget_operator_seats(struct storm *s)
{
    uint64_t budget_mt = (uint64_t)CLASS_RATE_MTPS * (RUN_NS / S) + CLASS_BURST * 1000ull;

    print_message("storm: %llu decisions, nodes admitted %llu (%llu.%03llu of %llu tokens "
                  "budget), rejected rate %llu class_rate %llu concurrency %llu watch_rate "
                  "%llu watch_cap %llu\n",
                  (unsigned long long)s->decisions, (unsigned long long)s->node_admits,
                  (unsigned long long)(s->node_tokens_mt / 1000),
                  (unsigned long long)(s->node_tokens_mt % 1000),
                  (unsigned long long)(budget_mt / 1000),
                  (unsigned long long)s->node_rejects[LIM_REASON_RATE],
                  (unsigned long long)s->node_rejects[LIM_REASON_CLASS_RATE],
                  (unsigned long long)s->node_rejects[LIM_REASON_CONCURRENCY],
                  (unsigned long long)s->node_rejects[LIM_REASON_WATCH_RATE],
                  (unsigned long long)s->node_rejects[LIM_REASON_WATCH_CAP]);
    /* 1. The fleet's budget: GCRA admits at most burst + rate * time (a
     * turn counts as of its time, and nobody here comes back early). */
    assert_true(s->node_tokens_mt <= budget_mt);
    /* ... and the storm really pressed against it (the bound is not idle). */
    assert_true(s->node_tokens_mt >= budget_mt * 9 / 10);
    assert_true(s->node_rejects[LIM_REASON_CLASS_RATE] > 50000);

    /* 2. The operator: every request admitted, as exempt. */
    assert_int_equal(s->ops_rejects, 0);
    assert_int_equal(s->ops_admits, RUN_NS / OPS_PERIOD_NS);

    /* 4. Seats never beyond the caps: the class's share (ceil(400 * 50%))
     * and the read-only pool (400; the operator may use the 10 reserved). */
    assert_true(s->max_class_inflight <= 200);
    assert_true(s->max_pool_inflight <= 400);
}

/* 3. No starvation: every node has its 3 watches by <bound_ns>. Returns
 * the last one. */
static uint64_t
check_all_watches_by(struct storm *s, uint64_t bound_ns)
{
    uint64_t last_watch = 0, sum_watch = 0;
    uint32_t n, missing = 0;

    for (n = 0; n < NODES; n++) {
        if (s->watches_up[n] != WATCHES) {
            missing++;
            continue;
        }
        last_watch = s->watches_done_ns[n] > last_watch ? s->watches_done_ns[n] : last_watch;
        sum_watch += s->watches_done_ns[n];
    }
    print_message("storm: %u of %d nodes without their watches at the end; the others' up by "
                  "%llu ms (mean %llu ms, bound %llu ms), fleet bucket saturated until %llu "
                  "ms; max in flight: class %lld seats, read-only pool %lld\n",
                  missing, NODES, (unsigned long long)(last_watch / MS),
                  (unsigned long long)(sum_watch / (NODES - missing + !(NODES - missing)) / MS),
                  (unsigned long long)(bound_ns / MS),
                  (unsigned long long)(s->last_class_reject_ns / MS),
                  (long long)s->max_class_inflight, (long long)s->max_pool_inflight);
    assert_int_equal(missing, 0);
    assert_true(last_watch <= bound_ns);
    return last_watch;
}

/* The watches stay open and counted; nothing else is in flight. */
static void
check_watches_open_then_release(struct storm *s)
{
    struct lim_class_stats cs;
    struct lim_stats st;
    uint32_t n, k;

    lim_stats(s->l, &st);
    lim_class_slot_stats(s->l, s->nodes_slot, &cs);
    assert_int_equal(st.watches_open, NODES * WATCHES);
    assert_int_equal(cs.watches_open, NODES * WATCHES);
    assert_int_equal(cs.watches_started, NODES * WATCHES);
    if (s->cfg.list_waits) {
        /* The last LISTs are released by the end; with the loop started
         * early they are too (they run their 50 ms within RUN_NS). */
        assert_int_equal(st.inflight[0], 0);
    }
    for (n = 0; n < NODES; n++) {
        for (k = 0; k < WATCHES; k++) {
            lim_release(s->l, &s->watch_ticket[n][k], 200, 0, 0, RUN_NS);
        }
    }
    lim_stats(s->l, &st);
    assert_int_equal(st.watches_open, 0);
    assert_int_equal(st.clients, NODES);
}

static void
test_daemonset_storm_on_10k_nodes(void **state)
{
    static const struct storm_cfg cfg = {.node_rate_mtps = NODE_RATE_MTPS, .list_waits = true};
    struct storm s;
    uint64_t last_watch;

    (void)state;
    storm_init(&s, &cfg);
    storm_run(&s);
    check_budget_operator_seats(&s);
    last_watch = check_all_watches_by(&s, WATCH_BOUND_NS);
    /* Below the fair share the bucket drains: the last watch is in soon
     * after its last saturation. */
    assert_true(last_watch <= s.last_class_reject_ns + RETRY_SLACK_NS);
    check_watches_open_then_release(&s);
    storm_fini(&s);
}

/* Above the fair share (0.5 token/s per node, twice the rate above): the
 * bound of the header comment, from the queue of turns (one per node, the
 * dearest request a node makes) and the class rate. */
static void
storm_above_fair_share(bool list_waits)
{
    const struct storm_cfg cfg = {.node_rate_mtps = 2 * NODE_RATE_MTPS, .list_waits = list_waits};
    struct lim_class_stats cs;
    struct storm s;
    uint64_t turns = list_waits ? WATCHES : WATCHES + 1, queue_ns, bound_ns;

    storm_init(&s, &cfg);
    storm_run(&s);
    check_budget_operator_seats(&s);
    /* The fleet's bucket never drained: this is the regime turns are for. */
    assert_true(s.last_class_reject_ns >= RUN_NS - S);
    queue_ns = (uint64_t)NODES * s.max_cost_mt * S / CLASS_RATE_MTPS;
    bound_ns = RAMP_NS + turns * (queue_ns + 2 * S) + RETRY_SLACK_NS;
    print_message("storm: turns ahead at most %llu ms (%d nodes * %llu.%03llu tokens / %d "
                  "tokens/s), %llu turns a node\n",
                  (unsigned long long)(queue_ns / MS), NODES,
                  (unsigned long long)(s.max_cost_mt / 1000),
                  (unsigned long long)(s.max_cost_mt % 1000), CLASS_RATE_MTPS / 1000,
                  (unsigned long long)turns);
    assert_true(bound_ns < RUN_NS); /* the bound says something */
    check_all_watches_by(&s, bound_ns);
    lim_class_slot_stats(s.l, s.nodes_slot, &cs);
    print_message("storm: turns booked %llu, used %llu, forfeited %llu\n",
                  (unsigned long long)cs.reservations_made,
                  (unsigned long long)cs.reservations_honoured,
                  (unsigned long long)cs.reservations_forfeited);
    assert_true(cs.reservations_honoured > 50000);
    /* Clients here always come back: none is forfeited, and those still
     * held are due after the end. */
    assert_int_equal(cs.reservations_forfeited, 0);
    assert_true(cs.reservations_made - cs.reservations_honoured <= NODES);
    check_watches_open_then_release(&s);
    storm_fini(&s);
}

static void
test_above_fair_share_every_node_gets_its_watches_in_turn(void **state)
{
    (void)state;
    storm_above_fair_share(true);
}

static void
test_above_fair_share_with_list_loop_from_the_start(void **state)
{
    (void)state;
    storm_above_fair_share(false);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_daemonset_storm_on_10k_nodes),
        cmocka_unit_test(test_above_fair_share_every_node_gets_its_watches_in_turn),
        cmocka_unit_test(test_above_fair_share_with_list_loop_from_the_start),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
