/* Metrics exposition: see bn_sim_metrics.h. */
#include "bn_sim_metrics.h"

#include <inttypes.h>

#include "lim_request.h"

const uint64_t bn_sim_buckets_us[BN_SIM_BUCKETS] = {
    1000,   2500,    5000,    10000,   25000,    50000,    100000,   250000,
    500000, 1000000, 2500000, 5000000, 10000000, 15000000, 30000000, 60000000,
};

void
bn_sim_metrics_request(struct bn_sim_metrics *m, int verb, int code, uint64_t latency_ns)
{
    uint64_t us = latency_ns / 1000;
    int b;

    if (verb < 0 || verb >= BN_SIM_VERBS) {
        verb = 0;
    }
    if (code < 100 || code >= 600) {
        code = 500;
    }
    m->requests[verb][code]++;
    for (b = 0; b < BN_SIM_BUCKETS && us > bn_sim_buckets_us[b]; b++) {
    }
    m->hist[verb][b]++;
    m->hist_sum_us[verb] += us;
    m->hist_count[verb]++;
}

static const char *
verb_label(int v)
{
    const char *n = v > 0 && v < LIM_VERB_COUNT ? lim_verb_name((enum lim_verb)v) : "";

    return n[0] != '\0' ? n : "unknown";
}

static void
gauge(FILE *out, const char *name, const char *help, double v)
{
    fprintf(out, "# HELP %s %s\n# TYPE %s gauge\n%s %.6g\n", name, help, name, name, v);
}

static void
counter(FILE *out, const char *name, const char *help, double v)
{
    fprintf(out, "# HELP %s %s\n# TYPE %s counter\n%s %.9g\n", name, help, name, name, v);
}

static void
render_requests(const struct bn_sim_metrics *m, FILE *out)
{
    int v, code, b;

    fprintf(out, "# HELP apisim_requests_total Requests answered, by verb and HTTP code.\n"
                 "# TYPE apisim_requests_total counter\n");
    for (v = 0; v < BN_SIM_VERBS; v++) {
        for (code = 100; code < 600; code++) {
            if (m->requests[v][code] > 0) {
                fprintf(out, "apisim_requests_total{verb=\"%s\",code=\"%d\"} %" PRIu64 "\n",
                        verb_label(v), code, m->requests[v][code]);
            }
        }
    }
    fprintf(out, "# HELP apisim_request_duration_seconds Time from a request's last byte to its "
                 "response (watches: to their start), by verb.\n"
                 "# TYPE apisim_request_duration_seconds histogram\n");
    for (v = 0; v < BN_SIM_VERBS; v++) {
        uint64_t cum = 0;

        if (m->hist_count[v] == 0) {
            continue;
        }
        for (b = 0; b < BN_SIM_BUCKETS; b++) {
            cum += m->hist[v][b];
            fprintf(out,
                    "apisim_request_duration_seconds_bucket{verb=\"%s\",le=\"%g\"} %" PRIu64 "\n",
                    verb_label(v), (double)bn_sim_buckets_us[b] / 1e6, cum);
        }
        fprintf(out,
                "apisim_request_duration_seconds_bucket{verb=\"%s\",le=\"+Inf\"} %" PRIu64 "\n"
                "apisim_request_duration_seconds_sum{verb=\"%s\"} %.6f\n"
                "apisim_request_duration_seconds_count{verb=\"%s\"} %" PRIu64 "\n",
                verb_label(v), m->hist_count[v], verb_label(v), (double)m->hist_sum_us[v] / 1e6,
                verb_label(v), m->hist_count[v]);
    }
}

void
bn_sim_metrics_render(const struct bn_sim_metrics *m, const struct bn_sim_gauges *g, FILE *out)
{
    static const char *const term[BN_SIM_TERM_COUNT] = {"slow", "timeout", "client"};
    static const char *const res[BN_SIM_RES_COUNT] = {
        "namespaces", "nodes",       "pods",
        "services",   "endpoints",   "configmaps",
        "leases",     "deployments", "poddisruptionbudgets"};
    int i;

    render_requests(m, out);
    fprintf(out,
            "# HELP apisim_inflight Requests queued or running, by kind (max-inflight "
            "pools; system:masters not counted).\n# TYPE apisim_inflight gauge\n"
            "apisim_inflight{kind=\"readonly\"} %" PRIu64 "\n"
            "apisim_inflight{kind=\"mutating\"} %" PRIu64 "\n",
            g->cap.inflight_readonly, g->cap.inflight_mutating);
    gauge(out, "apisim_queue_depth", "Requests waiting for a storage slot.", (double)g->cap.queued);
    gauge(out, "apisim_running", "Requests holding a storage slot.", (double)g->cap.running);
    gauge(out, "apisim_storage_slots", "Storage slots of the capacity model.",
          (double)g->cap.slots);
    gauge(out, "apisim_storage_busy_slots", "Storage slots busy now (requests or background).",
          (double)g->cap.busy_slots);
    gauge(out, "apisim_storage_utilisation", "Busy storage slots / storage slots, now.",
          g->cap.slots > 0 ? (double)g->cap.busy_slots / g->cap.slots : 0);
    counter(out, "apisim_storage_busy_seconds_total",
            "Slot time spent (counted when work starts); rate() / slots is the utilisation.",
            (double)g->cap.busy_ns_total / 1e9);
    gauge(out, "apisim_background_owed_seconds",
          "Background work (watch fan-out, churn) owed to the storage slots.",
          (double)g->cap.debt_ns / 1e9);
    counter(out, "apisim_background_dropped_seconds_total",
            "Background work beyond --max-background, dropped.",
            (double)g->cap.debt_dropped_ns_total / 1e9);
    fprintf(out,
            "# HELP apisim_rejected_total Requests refused by the capacity model.\n"
            "# TYPE apisim_rejected_total counter\n"
            "apisim_rejected_total{reason=\"inflight\"} %" PRIu64 "\n"
            "apisim_rejected_total{reason=\"queue_timeout\"} %" PRIu64 "\n",
            g->cap.rejected_total, g->cap.timeouts_total);
    counter(out, "apisim_queue_wait_seconds_total", "Time served requests waited for a slot.",
            (double)g->cap.queue_wait_ns_total / 1e9);
    gauge(out, "apisim_connections", "Client connections open.", (double)g->connections);
    gauge(out, "apisim_watches_open", "Watches open.", (double)g->watches_open);
    counter(out, "apisim_watches_total", "Watches started.", (double)m->watches_total);
    gauge(out, "apisim_watch_memory_bytes",
          "Memory the open watches cost the simulated apiserver (watches x --watch-memory).",
          (double)g->watch_memory_bytes);
    gauge(out, "apisim_watch_buffered_bytes", "Bytes queued to watchers, not yet sent.",
          (double)g->watch_buffered_bytes);
    counter(out, "apisim_watch_events_total", "Events delivered to watchers.",
            (double)m->watch_events);
    fprintf(out, "# HELP apisim_watches_terminated_total Watches ended by the server or the "
                 "client.\n# TYPE apisim_watches_terminated_total counter\n");
    for (i = 0; i < BN_SIM_TERM_COUNT; i++) {
        fprintf(out, "apisim_watches_terminated_total{reason=\"%s\"} %" PRIu64 "\n", term[i],
                m->watch_terminated[i]);
    }
    fprintf(out, "# HELP apisim_objects Objects stored, by resource.\n"
                 "# TYPE apisim_objects gauge\n");
    for (i = 0; i < BN_SIM_RES_COUNT; i++) {
        fprintf(out, "apisim_objects{resource=\"%s\"} %zu\n", res[i], g->store.objects[i]);
    }
    gauge(out, "apisim_store_bytes",
          "Bytes of stored objects and of the revisions the event "
          "windows hold.",
          (double)g->store.bytes);
    gauge(out, "apisim_resource_version", "The store's current resourceVersion.",
          (double)g->store.rv);
    counter(out, "apisim_churn_writes_total", "Pod updates made by the churn generator.",
            (double)m->churn_writes);
    counter(out, "apisim_authentication_failures_total", "Requests answered 401.",
            (double)m->auth_failures);
}
