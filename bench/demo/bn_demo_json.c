/* demo.json: both runs side by side and the checks, for people who diff
 * runs and for the README's table. */
#include <errno.h>
#include <string.h>

#include <jansson.h>

#include "bn_demo_report.h"

static json_t *
kubectl_json(const struct bn_demo_kubectl *k)
{
    if (!k->have) {
        return json_null();
    }
    return json_pack("{s:f, s:b, s:i}", "seconds", k->ms / 1000, "ok", k->rc == 0, "objects",
                     (json_int_t)k->lines);
}

static json_t *
run_json(const struct bn_demo_run *r)
{
    static const char *const phase[BN_DEMO_PHASES] = {"calm", "storm"};
    json_t *kc = json_object(), *o;
    size_t i;

    for (i = 0; i < BN_DEMO_PHASES; i++) {
        json_object_set_new(kc, phase[i],
                            json_pack("{s:o, s:o}", "get_pods_kube_system",
                                      kubectl_json(&r->kubectl[i][BN_DEMO_GET_PODS]), "version",
                                      kubectl_json(&r->kubectl[i][BN_DEMO_VERSION])));
    }
    o = json_pack(
        "{s:s, s:f, s:f, s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I}, s:{s:I, s:I},"
        " s:{s:f, s:f, s:f, s:f, s:f, s:I, s:I, s:I, s:I, s:I},"
        " s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:f}, s:o}",
        "mode", r->mode, "storm_s", r->storm_s, "calm_s", r->calm_s, "simulator", "slots",
        (json_int_t)r->slots, "peak_inflight_readonly", (json_int_t)r->peak_inflight_ro,
        "peak_inflight_mutating", (json_int_t)r->peak_inflight_mut, "peak_queue",
        (json_int_t)r->peak_queue, "peak_busy_slots", (json_int_t)r->peak_busy, "rejected_429",
        (json_int_t)r->sim_429, "queue_timeouts", (json_int_t)r->sim_timeouts, "floodgate_seats",
        "readonly", (json_int_t)r->cap_ro, "mutating", (json_int_t)r->cap_mut, "critical",
        "calm_p50_ms", r->calm_p50_ms, "calm_p99_ms", r->calm_p99_ms, "p50_ms", r->p50_ms, "p99_ms",
        r->p99_ms, "p99_over_calm", r->calm_p99_ms > 0 ? r->p99_ms / r->calm_p99_ms : 0.0,
        "requests", (json_int_t)r->crit_requests, "errors", (json_int_t)r->crit_errors,
        "never_answered", (json_int_t)r->crit_unanswered, "retries", (json_int_t)r->crit_retries,
        "watches_failed", (json_int_t)r->crit_watch_failed, "fleet", "nodes", (json_int_t)r->nodes,
        "lists_admitted", (json_int_t)r->lists_ok, "lists_rejected", (json_int_t)r->lists_failed,
        "retries", (json_int_t)r->fleet_retries, "never_answered", (json_int_t)r->fleet_unanswered,
        "watches_configured", (json_int_t)r->watches_configured, "watches_open_max",
        (json_int_t)r->watches_open_max, "watch_429", (json_int_t)r->watch_429,
        "all_watches_open_after_s", r->all_watches_s, "establish_p99_ms", r->establish_p99_ms,
        "kubectl_system_masters", kc);
    json_object_set_new(o, "cpu_s",
                        json_pack("{s:f, s:f, s:f}", "simulator", r->sim_cpu_s, "floodgate",
                                  r->fg_cpu_s, "generators", r->gen_cpu_s));
    json_object_set_new(o, "floodgate_rss_kib",
                        json_pack("{s:I, s:I}", "end", (json_int_t)r->fg_rss_kb, "peak",
                                  (json_int_t)r->fg_rss_peak_kb));
    return o;
}

int
bn_demo_json(const char *path, json_t *info, const struct bn_demo_run *d,
             const struct bn_demo_run *f, const struct bn_demo_check checks[BN_DEMO_NCHECKS],
             char *err, size_t errlen)
{
    json_t *root = json_object(), *cs = json_object(), *runs = json_object();
    size_t i;
    int rc = -1;

    if (root == NULL || cs == NULL || runs == NULL) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    for (i = 0; i < BN_DEMO_NCHECKS; i++) {
        json_object_set_new(cs, checks[i].name,
                            json_pack("{s:b, s:b, s:s}", "pass", checks[i].pass, "waived",
                                      checks[i].waived, "detail", checks[i].detail));
    }
    json_object_set_new(runs, "direct", run_json(d));
    json_object_set_new(runs, "floodgate", run_json(f));
    json_object_set_new(root, "tool", json_string("floodgate-demo"));
    if (info != NULL) {
        json_object_set(root, "info", info);
    }
    json_object_set_new(root, "thresholds",
                        json_pack("{s:f, s:f}", "direct_p99_over_calm_at_least", BN_DEMO_SATURATE_X,
                                  "floodgate_p99_over_calm_at_most", BN_DEMO_PROTECT_X));
    json_object_set(root, "runs", runs);
    json_object_set(root, "checks", cs);
    if (json_dump_file(root, path, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0) {
        snprintf(err, errlen, "%s: cannot write: %s", path, strerror(errno));
        goto out;
    }
    rc = 0;
out:
    json_decref(root);
    json_decref(cs);
    json_decref(runs);
    return rc;
}
