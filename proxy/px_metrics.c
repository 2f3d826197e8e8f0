/* Prometheus exposition: see px_metrics.h. Each family is written whole
 * (HELP, TYPE, then its samples), as the format requires. Class labels of
 * the per-worker request counters come from px_stats slots: the first
 * PX_STATS_CLASSES - 1 limiter classes by name, and "other" for the rest
 * and for requests answered before any class was decided (400, 401, 408,
 * 413, 431: decision "none"). */
#include "px_metrics.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "cf.h"
#include "lim.h"
#include "px_clock.h"
#include "px_rejlog.h"
#include "px_state.h"
#include "px_stats.h"
#include "px_worker.h"

#define LABELS_MAX 512

static const char *const decision_names[PX_DEC_COUNT] = {"admit", "delay", "reject", "dry_run",
                                                         "none"};
static const char *const code_names[PX_CODE_COUNT] = {"none", "1xx", "2xx", "3xx",
                                                      "4xx",  "429", "5xx"};
static const char *const kind_names[2] = {"readonly", "mutating"};
static const char *const mode_names[LIM_MODE_COUNT] = {"enforce", "dry-run", "exempt"};

/* The workers' counters added up (relaxed loads; each is monotonic on its
 * own, the sum is as consistent as a scrape needs). */
struct totals {
    uint64_t requests[PX_STATS_CLASSES][LIM_VERB_COUNT][PX_DEC_COUNT][PX_CODE_COUNT];
    uint64_t duration[PX_STATS_CLASSES][PX_STATS_BUCKETS];
    uint64_t duration_sum_us[PX_STATS_CLASSES];
    uint64_t tls_handshakes, tls_resumed, tls_failures;
    uint64_t conns_accepted, conns_refused;
    int64_t conns_open;
    uint64_t upstream_connects, upstream_errors, upstream_reused, bytes_in;
    int64_t pool_idle, upstream_open;
};

struct mx {
    struct evbuffer *out;
    int failed;
};

static void put(struct mx *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
put(struct mx *m, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    if (evbuffer_add_vprintf(m->out, fmt, ap) < 0) {
        m->failed = 1;
    }
    va_end(ap);
}

static void
family(struct mx *m, const char *name, const char *type, const char *help)
{
    put(m, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Appends `key="value"` (escaped as the format says) to <buf>. */
static void
label(char *buf, size_t len, const char *key, const char *value)
{
    size_t n = strlen(buf);

    if (n + 1 >= len) {
        return;
    }
    n += (size_t)snprintf(buf + n, len - n, "%s%s=\"", n > 0 ? "," : "", key);
    for (; *value != '\0' && n + 3 < len; value++) {
        if (*value == '\\' || *value == '"') {
            buf[n++] = '\\';
            buf[n++] = *value;
        } else if (*value == '\n') {
            buf[n++] = '\\';
            buf[n++] = 'n';
        } else {
            buf[n++] = *value;
        }
    }
    if (n + 1 < len) {
        buf[n++] = '"';
    }
    buf[n < len ? n : len - 1] = '\0';
}

static void
sample_u(struct mx *m, const char *name, const char *labels, uint64_t v)
{
    if (labels != NULL && labels[0] != '\0') {
        put(m, "%s{%s} %" PRIu64 "\n", name, labels, v);
    } else {
        put(m, "%s %" PRIu64 "\n", name, v);
    }
}

static void
sample_i(struct mx *m, const char *name, const char *labels, int64_t v)
{
    if (labels != NULL && labels[0] != '\0') {
        put(m, "%s{%s} %" PRId64 "\n", name, labels, v);
    } else {
        put(m, "%s %" PRId64 "\n", name, v);
    }
}

static void
sample_d(struct mx *m, const char *name, const char *labels, double v)
{
    if (labels != NULL && labels[0] != '\0') {
        put(m, "%s{%s} %.9g\n", name, labels, v);
    } else {
        put(m, "%s %.9g\n", name, v);
    }
}

static void
one(struct mx *m, const char *name, const char *type, const char *help, uint64_t v)
{
    family(m, name, type, help);
    sample_u(m, name, NULL, v);
}

static void
one_i(struct mx *m, const char *name, const char *help, int64_t v)
{
    family(m, name, "gauge", help);
    sample_i(m, name, NULL, v);
}

static void
sum_workers(const struct px_state *st, struct totals *t)
{
    unsigned i;
    size_t c, v, d, k, b;

    memset(t, 0, sizeof(*t));
    for (i = 0; i < st->nworkers; i++) {
        const struct px_stats *s = px_worker_stats(st->workers[i]);

        for (c = 0; c < PX_STATS_CLASSES; c++) {
            for (v = 0; v < LIM_VERB_COUNT; v++) {
                for (d = 0; d < PX_DEC_COUNT; d++) {
                    for (k = 0; k < PX_CODE_COUNT; k++) {
                        t->requests[c][v][d][k] += px_stats_get(&s->requests[c][v][d][k]);
                    }
                }
            }
            for (b = 0; b < PX_STATS_BUCKETS; b++) {
                t->duration[c][b] += px_stats_get(&s->duration[c][b]);
            }
            t->duration_sum_us[c] += px_stats_get(&s->duration_sum_us[c]);
        }
        t->tls_handshakes += px_stats_get(&s->tls_handshakes);
        t->tls_resumed += px_stats_get(&s->tls_resumed);
        t->tls_failures += px_stats_get(&s->tls_failures);
        t->conns_accepted += px_stats_get(&s->conns_accepted);
        t->conns_refused += px_stats_get(&s->conns_refused);
        t->conns_open +=
            atomic_load_explicit((_Atomic int64_t *)&s->conns_open, memory_order_relaxed);
        t->upstream_connects += px_stats_get(&s->upstream_connects);
        t->upstream_errors += px_stats_get(&s->upstream_errors);
        t->upstream_reused += px_stats_get(&s->upstream_reused);
        t->bytes_in += px_stats_get(&s->bytes_in);
        t->pool_idle +=
            atomic_load_explicit((_Atomic int64_t *)&s->pool_idle, memory_order_relaxed);
        t->upstream_open +=
            atomic_load_explicit((_Atomic int64_t *)&s->upstream_open, memory_order_relaxed);
    }
}

/* The class label of px_stats slot <c>, or NULL when the slot names no
 * class (and then counted nothing). */
static const char *
stats_class(const struct lim *lim, size_t c)
{
    if (c == PX_STATS_CLASSES - 1) {
        return "other";
    }
    return lim_class_slot_name(lim, c);
}

static void
requests(struct mx *m, const struct lim *lim, const struct totals *t)
{
    size_t c, v, d, k;
    char l[LABELS_MAX];

    family(m, "floodgate_requests_total", "counter",
           "Requests answered, by class, kube verb, decision and status code class.");
    for (c = 0; c < PX_STATS_CLASSES; c++) {
        const char *cls = stats_class(lim, c);

        for (v = 0; v < LIM_VERB_COUNT; v++) {
            const char *verb = lim_verb_name((enum lim_verb)v);

            for (d = 0; d < PX_DEC_COUNT; d++) {
                for (k = 0; k < PX_CODE_COUNT; k++) {
                    if (t->requests[c][v][d][k] == 0 || cls == NULL) {
                        continue;
                    }
                    l[0] = '\0';
                    label(l, sizeof(l), "class", cls);
                    label(l, sizeof(l), "verb", verb[0] != '\0' ? verb : "unknown");
                    label(l, sizeof(l), "decision", decision_names[d]);
                    label(l, sizeof(l), "code", code_names[k]);
                    sample_u(m, "floodgate_requests_total", l, t->requests[c][v][d][k]);
                }
            }
        }
    }
}

static void
durations(struct mx *m, const struct lim *lim, const struct totals *t)
{
    size_t c, b;
    char l[LABELS_MAX], le[32];

    family(m, "floodgate_request_duration_seconds", "histogram",
           "Time from a complete request head to the end of its response, by class.");
    for (c = 0; c < PX_STATS_CLASSES; c++) {
        const char *cls = stats_class(lim, c);
        uint64_t cum = 0;

        if (cls == NULL) {
            continue;
        }
        for (b = 0; b < PX_STATS_BUCKETS; b++) {
            cum += t->duration[c][b];
            if (b == PX_STATS_BUCKETS - 1) {
                snprintf(le, sizeof(le), "+Inf");
            } else {
                snprintf(le, sizeof(le), "%.9g", (double)px_stats_bucket_us[b] / 1e6);
            }
            l[0] = '\0';
            label(l, sizeof(l), "class", cls);
            label(l, sizeof(l), "le", le);
            sample_u(m, "floodgate_request_duration_seconds_bucket", l, cum);
        }
        l[0] = '\0';
        label(l, sizeof(l), "class", cls);
        sample_d(m, "floodgate_request_duration_seconds_sum", l,
                 (double)t->duration_sum_us[c] / 1e6);
        sample_u(m, "floodgate_request_duration_seconds_count", l, cum);
    }
}

/* <buf> holding the class label of limiter slot <slot> only. */
static const char *
class_label(char *buf, size_t len, const struct lim *lim, size_t slot)
{
    buf[0] = '\0';
    label(buf, len, "class", lim_class_slot_name(lim, slot));
    return buf;
}

/* The limiter's per-class counters, one family at a time. */
static void
classes(struct mx *m, struct px_state *st, const struct cf_config *cf)
{
    size_t n = lim_class_slot_count(st->lim), s, r, k;
    struct lim_class_stats *cs = calloc(n > 0 ? n : 1, sizeof(*cs));
    char l[LABELS_MAX];

    if (cs == NULL) {
        m->failed = 1;
        return;
    }
    for (s = 0; s < n; s++) {
        lim_class_slot_stats(st->lim, s, &cs[s]);
    }
    family(m, "floodgate_admitted_total", "counter",
           "Requests the limiter admitted (at once, or in dry-run), by class.");
    for (s = 0; s < n; s++) {
        sample_u(m, "floodgate_admitted_total", class_label(l, sizeof(l), st->lim, s),
                 cs[s].admitted);
    }
    family(m, "floodgate_delayed_total", "counter",
           "Requests the limiter admitted after a wait (max_wait), by class.");
    for (s = 0; s < n; s++) {
        sample_u(m, "floodgate_delayed_total", class_label(l, sizeof(l), st->lim, s),
                 cs[s].delayed);
    }
    family(m, "floodgate_rejections_total", "counter",
           "Requests rejected with 429, by class and reason.");
    for (s = 0; s < n; s++) {
        for (r = 1; r < LIM_REASON_COUNT; r++) {
            class_label(l, sizeof(l), st->lim, s);
            label(l, sizeof(l), "reason", lim_reason_name((enum lim_reason)r));
            sample_u(m, "floodgate_rejections_total", l, cs[s].rejected[r]);
        }
    }
    family(m, "floodgate_would_reject_total", "counter",
           "Requests a dry-run class admitted that enforce would have rejected, by class and "
           "reason.");
    for (s = 0; s < n; s++) {
        for (r = 1; r < LIM_REASON_COUNT; r++) {
            class_label(l, sizeof(l), st->lim, s);
            label(l, sizeof(l), "reason", lim_reason_name((enum lim_reason)r));
            sample_u(m, "floodgate_would_reject_total", l, cs[s].would_reject[r]);
        }
    }
    family(m, "floodgate_inflight_seats", "gauge",
           "Concurrency seats held by requests in flight, by class and kind.");
    for (s = 0; s < n; s++) {
        for (k = 0; k < 2; k++) {
            class_label(l, sizeof(l), st->lim, s);
            label(l, sizeof(l), "kind", kind_names[k]);
            sample_i(m, "floodgate_inflight_seats", l, cs[s].inflight[k]);
        }
    }
    family(m, "floodgate_watches_open", "gauge", "Watches open now, by class.");
    for (s = 0; s < n; s++) {
        sample_i(m, "floodgate_watches_open", class_label(l, sizeof(l), st->lim, s),
                 cs[s].watches_open);
    }
    family(m, "floodgate_watches_started_total", "counter",
           "Watches established (the apiserver answered 2xx), by class.");
    for (s = 0; s < n; s++) {
        sample_u(m, "floodgate_watches_started_total", class_label(l, sizeof(l), st->lim, s),
                 cs[s].watches_started);
    }
    family(m, "floodgate_class_mode", "gauge",
           "The effective mode of each class of the running policy (1), after operator "
           "overrides.");
    for (s = 0; s < lim_policy_class_count(cf->policy); s++) {
        enum lim_mode mode = lim_class_mode(st->lim, cf->policy, s);

        l[0] = '\0';
        label(l, sizeof(l), "class", lim_policy_class(cf->policy, s)->name);
        label(l, sizeof(l), "mode", mode_names[mode]);
        sample_u(m, "floodgate_class_mode", l, 1);
    }
    free(cs);
}

static void
limiter(struct mx *m, struct px_state *st)
{
    struct lim_stats ls;
    uint32_t scale;
    bool lw;
    char l[LABELS_MAX];
    size_t k;

    lim_stats(st->lim, &ls);
    lim_get_shed(st->lim, &scale, &lw);
    family(m, "floodgate_global_inflight_seats", "gauge",
           "Concurrency seats held in each global pool, all classes together.");
    for (k = 0; k < 2; k++) {
        l[0] = '\0';
        label(l, sizeof(l), "kind", kind_names[k]);
        sample_i(m, "floodgate_global_inflight_seats", l, ls.inflight[k]);
    }
    one_i(m, "floodgate_global_watches_open", "Watches open now, all classes together.",
          ls.watches_open);
    one(m, "floodgate_clients_tracked", "gauge",
        "Per-(class, key) entries in the limiter's client table.", ls.clients);
    one(m, "floodgate_clients_max", "gauge", "Capacity of the client table (limits.max_clients).",
        ls.max_clients);
    one(m, "floodgate_clients_evicted_total", "counter",
        "Idle client entries evicted to make room for new ones.", ls.evictions);
    one(m, "floodgate_overflow_decisions_total", "counter",
        "Decisions made on a class's shared overflow bucket because the table was full.",
        ls.overflow);
    family(m, "floodgate_shed_scale_ratio", "gauge",
           "Operator shed: the fraction of their budgets enforced classes get (1 = normal).");
    sample_d(m, "floodgate_shed_scale_ratio", NULL, (double)scale / 100.0);
    one(m, "floodgate_shed_list_watch", "gauge",
        "Operator shed: 1 while every non-exempt LIST and watch is rejected.", lw ? 1 : 0);
}

static void
admin(struct mx *m, struct px_state *st, const struct cf_config *cf)
{
    struct px_override *ov = calloc(PX_OVERRIDES_MAX, sizeof(*ov));
    size_t n = ov != NULL ? px_state_overrides(st, px_now_ns(), ov, PX_OVERRIDES_MAX) : 0, i;
    uint64_t blocks = 0, allows = 0;
    char l[LABELS_MAX];

    for (i = 0; i < n; i++) {
        if (ov[i].allow) {
            allows++;
        } else {
            blocks++;
        }
    }
    free(ov);
    family(m, "floodgate_overrides", "gauge", "Operator blocks and allows in force, by action.");
    sample_u(m, "floodgate_overrides", "action=\"block\"", blocks);
    sample_u(m, "floodgate_overrides", "action=\"allow\"", allows);
    family(m, "floodgate_controls_total", "counter",
           "Operator controls requested through the admin endpoint, by action.");
    for (i = 0; i < PX_CTL_COUNT; i++) {
        l[0] = '\0';
        label(l, sizeof(l), "action", px_ctl_action_name((enum px_ctl_action)i));
        sample_u(m, "floodgate_controls_total", l, atomic_load(&st->controls[i]));
    }
    family(m, "floodgate_config_reloads_total", "counter",
           "Configuration reloads (SIGHUP or POST /reload), by result.");
    sample_u(m, "floodgate_config_reloads_total", "result=\"success\"",
             atomic_load(&st->reloads[PX_RELOAD_SUCCESS]));
    sample_u(m, "floodgate_config_reloads_total", "result=\"failure\"",
             atomic_load(&st->reloads[PX_RELOAD_FAILURE]));
    family(m, "floodgate_config_last_reload_successful", "gauge",
           "1 when the last reload was applied (or none was tried), 0 when it was refused.");
    pthread_mutex_lock(&st->lock);
    sample_u(m, "floodgate_config_last_reload_successful", NULL,
             st->reload_error[0] == '\0' ? 1 : 0);
    family(m, "floodgate_config_loaded_timestamp_seconds", "gauge",
           "When the running configuration was loaded (Unix time).");
    sample_i(m, "floodgate_config_loaded_timestamp_seconds", NULL, st->reload_wall_s);
    pthread_mutex_unlock(&st->lock);
    family(m, "floodgate_config_info", "gauge",
           "The running configuration: first 64 bits of the SHA-256 of its file.");
    l[0] = '\0';
    label(l, sizeof(l), "hash", cf->hash);
    sample_u(m, "floodgate_config_info", l, 1);
    one(m, "floodgate_draining", "gauge", "1 once SIGTERM started the drain.",
        atomic_load(&st->draining) ? 1 : 0);
    one_i(m, "floodgate_start_time_seconds", "When the process started (Unix time).",
          st->start_wall_s);
    if (st->rejlog != NULL) {
        one(m, "floodgate_rejection_logs_suppressed_total", "counter",
            "Rejections counted in summary lines instead of logged one by one.",
            px_rejlog_suppressed(st->rejlog));
    }
}

static void
upstream(struct mx *m, struct px_state *st, const struct cf_config *cf, const struct totals *t)
{
    int up = atomic_load(&st->upstream_up);

    one(m, "floodgate_upstream_up", "gauge",
        "1 when the last health probe of the apiserver passed, 0 when it failed or none ran yet.",
        up == 1 ? 1 : 0);
    family(m, "floodgate_upstream_probe_duration_seconds", "gauge",
           "Duration of the last upstream health probe (connect, TLS, answer).");
    sample_d(m, "floodgate_upstream_probe_duration_seconds", NULL,
             (double)atomic_load(&st->probe_ns) / 1e9);
    family(m, "floodgate_upstream_probes_total", "counter", "Upstream health probes, by result.");
    sample_u(m, "floodgate_upstream_probes_total", "result=\"success\"",
             atomic_load(&st->probes[0]));
    sample_u(m, "floodgate_upstream_probes_total", "result=\"failure\"",
             atomic_load(&st->probes[1]));
    one(m, "floodgate_upstream_connections_total", "counter",
        "Upstream TLS connections established by the workers.", t->upstream_connects);
    one(m, "floodgate_upstream_connect_errors_total", "counter",
        "Upstream connects or TLS handshakes that failed.", t->upstream_errors);
    one(m, "floodgate_upstream_reused_total", "counter",
        "Requests sent on a pooled keep-alive upstream connection.", t->upstream_reused);
    one_i(m, "floodgate_upstream_open_connections",
          "Upstream connections open now (in use, idle or connecting).", t->upstream_open);
    one_i(m, "floodgate_upstream_pool_idle_connections",
          "Idle keep-alive upstream connections in the workers' pools.", t->pool_idle);
    one(m, "floodgate_upstream_pool_size", "gauge",
        "Idle upstream connections the pools may keep, all workers together.",
        (uint64_t)cf->upstream.pool_size * st->nworkers);
    one(m, "floodgate_upstream_response_bytes_total", "counter",
        "Response body bytes relayed from the apiserver.", t->bytes_in);
}

static void
edge(struct mx *m, const struct totals *t)
{
    one(m, "floodgate_tls_handshakes_total", "counter", "Client TLS handshakes completed.",
        t->tls_handshakes);
    one(m, "floodgate_tls_resumed_total", "counter",
        "Client TLS handshakes that resumed a session.", t->tls_resumed);
    one(m, "floodgate_tls_handshake_failures_total", "counter",
        "Client TLS handshakes that failed or timed out.", t->tls_failures);
    one(m, "floodgate_connections_accepted_total", "counter", "Client connections accepted.",
        t->conns_accepted);
    one(m, "floodgate_connections_refused_total", "counter",
        "Client connections closed at once (listen.max_connections, drain).", t->conns_refused);
    one_i(m, "floodgate_connections_open", "Client connections open now.", t->conns_open);
}

int
px_metrics_render(struct px_state *st, struct evbuffer *out)
{
    struct mx m = {out, 0};
    struct totals *t = malloc(sizeof(*t));
    struct cf_config *cf = px_state_config(st);

    if (t == NULL) {
        cf_unref(cf);
        return -1;
    }
    sum_workers(st, t);
    requests(&m, st->lim, t);
    durations(&m, st->lim, t);
    classes(&m, st, cf);
    limiter(&m, st);
    edge(&m, t);
    upstream(&m, st, cf, t);
    admin(&m, st, cf);
    free(t);
    cf_unref(cf);
    return m.failed ? -1 : 0;
}
