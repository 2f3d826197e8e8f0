/* The demo's files: the storm scenario split into informers, critical
 * clients and fleet (with overrides for a shortened storm), and a run read
 * back from the files bench/demo.sh leaves (the storm window of the
 * simulator's samples, counters as differences, the critical totals, the
 * first second every fleet watch was open). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "bn_demo_run.h"
#include "bn_demo_split.h"

static char dir[64];

static int
setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/test_bn_demo.XXXXXX");
    return mkdtemp(dir) != NULL ? 0 : -1;
}

static int
teardown(void **state)
{
    char cmd[128];

    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void
put(const char *name, const char *text)
{
    char path[256];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static json_t *
get(const char *name)
{
    char path[256];
    json_t *j;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    j = json_load_file(path, 0, NULL);
    assert_non_null(j);
    return j;
}

static const char *const storm =
    "{\"ca\": \"pki/ca.crt\", \"duration\": \"40s\", \"seed\": 7, \"populations\": ["
    " {\"name\": \"controllers\", \"count\": 4, \"critical\": true,"
    "  \"requests\": [{\"path\": \"/api/v1/nodes\"}]},"
    " {\"name\": \"informers\", \"count\": 1, \"critical\": true,"
    "  \"watches\": [{\"path\": \"/api/v1/pods?watch=true\"}]},"
    " {\"name\": \"fleet\", \"count\": 400, \"ramp\": \"15s\","
    "  \"watches\": [{\"path\": \"/api/v1/services?watch=true\"}]},"
    " {\"name\": \"fleet-poll\", \"count\": 400, \"start\": \"15s\","
    "  \"requests\": [{\"path\": \"/api/v1/pods\"}]}]}";

static const char *
pop_name(json_t *scn, size_t i)
{
    return json_string_value(
        json_object_get(json_array_get(json_object_get(scn, "populations"), i), "name"));
}

static void
test_split_sends_watching_critical_populations_to_informers(void **state)
{
    char in[256], err[256];
    json_t *c, *f, *inf;

    (void)state;
    put("storm.json", storm);
    snprintf(in, sizeof(in), "%s/storm.json", dir);
    assert_int_equal(bn_demo_split(in, NULL, 0, dir, err, sizeof(err)), 0);
    c = get("critical.json");
    f = get("fleet.json");
    inf = get("informers.json");
    assert_int_equal(json_array_size(json_object_get(c, "populations")), 1);
    assert_string_equal(pop_name(c, 0), "controllers");
    assert_int_equal(json_array_size(json_object_get(inf, "populations")), 1);
    assert_string_equal(pop_name(inf, 0), "informers");
    assert_int_equal(json_array_size(json_object_get(f, "populations")), 2);
    assert_string_equal(pop_name(f, 1), "fleet-poll");
    /* the top level goes with every part */
    assert_string_equal(json_string_value(json_object_get(f, "ca")), "pki/ca.crt");
    assert_int_equal(json_integer_value(json_object_get(c, "seed")), 7);
    json_decref(c);
    json_decref(f);
    json_decref(inf);
}

static void
test_split_overrides_count_ramp_and_start(void **state)
{
    char in[256], err[256], a1[] = "fleet=100", a2[] = "fleet-poll=6s", a3[] = "fleet=5s";
    struct bn_demo_override ov[3];
    json_t *f, *p0, *p1;

    (void)state;
    put("storm.json", storm);
    snprintf(in, sizeof(in), "%s/storm.json", dir);
    assert_int_equal(bn_demo_override_parse(a1, "count", &ov[0], err, sizeof(err)), 0);
    assert_int_equal(bn_demo_override_parse(a2, "start", &ov[1], err, sizeof(err)), 0);
    assert_int_equal(bn_demo_override_parse(a3, "ramp", &ov[2], err, sizeof(err)), 0);
    assert_int_equal(bn_demo_split(in, ov, 3, dir, err, sizeof(err)), 0);
    f = get("fleet.json");
    p0 = json_array_get(json_object_get(f, "populations"), 0);
    p1 = json_array_get(json_object_get(f, "populations"), 1);
    assert_int_equal(json_integer_value(json_object_get(p0, "count")), 100);
    assert_string_equal(json_string_value(json_object_get(p0, "ramp")), "5s");
    assert_int_equal(json_integer_value(json_object_get(p1, "count")), 400);
    assert_string_equal(json_string_value(json_object_get(p1, "start")), "6s");
    json_decref(f);
}

static void
test_split_refuses_what_it_cannot_do(void **state)
{
    char in[256], err[256], unknown[] = "nodes=3", zero[] = "fleet=0", bad[] = "fleet";
    struct bn_demo_override ov;

    (void)state;
    put("storm.json", storm);
    snprintf(in, sizeof(in), "%s/storm.json", dir);
    assert_int_equal(bn_demo_override_parse(unknown, "count", &ov, err, sizeof(err)), 0);
    assert_int_equal(bn_demo_split(in, &ov, 1, dir, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "no such population"));
    assert_int_equal(bn_demo_override_parse(zero, "count", &ov, err, sizeof(err)), 0);
    assert_int_equal(bn_demo_split(in, &ov, 1, dir, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "expected 1..100000"));
    assert_int_equal(bn_demo_override_parse(bad, "ramp", &ov, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "POPULATION=VALUE"));
    put("storm.json", "{\"populations\": [{\"name\": \"fleet\", \"count\": 1}]}");
    assert_int_equal(bn_demo_split(in, NULL, 0, dir, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "needs critical populations"));
}

/* A floodgate-load --json of <pops> with <series>. */
static void
put_load(const char *name, const char *totals_lat, const char *pops, const char *series)
{
    char buf[4096];

    snprintf(buf, sizeof(buf),
             "{\"generator\": {\"cpu_user_s\": 1.5, \"cpu_sys_s\": 0.5},"
             " \"totals\": {\"latency_ms\": %s}, \"populations\": [%s], \"series\": [%s]}",
             totals_lat, pops, series);
    put(name, buf);
}

static void
test_run_reads_the_storm_window_and_the_critical_totals(void **state)
{
    struct bn_demo_run *r = calloc(1, sizeof(*r));
    char err[256];

    (void)state;
    assert_non_null(r);
    put("meta.txt", "mode=floodgate\nslots=16\nstorm_s=40\ncalm_s=10\ncalm_t0=990\n"
                    "storm_t0=1000\nclk_tck=100\nsim_cpu_ticks=250\nfloodgate_cpu_ticks=400\n"
                    "floodgate_rss_kb=61440\n");
    /* before the storm: a calm peak that must not count; counters 5 and 1 */
    put("sim.csv", "epoch inflight_readonly inflight_mutating queue busy_slots watches_open "
                   "rejected_inflight timeouts\n"
                   "995.0 90 1 80 16 1 5 1\n"
                   "1001.0 7 2 3 6 300 5 1\n"
                   "1020.0 9 1 0 5 1200 12 4\n"
                   "1060.0 500 0 400 16 0 99 99\n" /* after the storm: ignored */);
    put_load("load-calm.json", "{\"p50\": 5.0, \"p99\": 20.0}",
             "{\"name\": \"controllers\", \"critical\": true, \"requests\": 520}",
             "{\"t\": 1, \"populations\": {\"controllers\": {\"requests\": 52, \"p99_ms\": 18}}}");
    put_load("load-critical.json", "{\"p50\": 6.0, \"p99\": 25.0}",
             "{\"name\": \"controllers\", \"critical\": true, \"requests\": 2000,"
             " \"scheduled_rps\": 52, \"errors\": 0, \"unsent\": 2, \"retries\": 0}",
             "{\"t\": 1, \"populations\": {\"controllers\": {\"requests\": 52, \"p99_ms\": 30}}},"
             "{\"t\": 2, \"populations\": {\"controllers\": {\"requests\": 0, \"p99_ms\": 0}}}");
    put_load("load-fleet.json", "{}",
             "{\"name\": \"fleet\", \"count\": 400, \"requests\": 0, \"codes\": {},"
             " \"watches\": {\"configured\": 1200, \"codes\": {\"200\": 2400}}},"
             "{\"name\": \"fleet-poll\", \"count\": 400, \"requests\": 300, \"retries\": 900,"
             " \"codes\": {\"200\": 120, \"429\": 180}, \"watches\": {}}",
             "{\"t\": 14, \"populations\": {\"fleet\": {\"open_watches\": 1100}}},"
             "{\"t\": 16, \"populations\": {\"fleet\": {\"open_watches\": 1200}}},"
             "{\"t\": 17, \"populations\": {\"fleet\": {\"open_watches\": 1199}}}");
    put("kubectl.txt", "calm get_pods 420 0 400\nstorm get_pods 15000 124 0\n");
    assert_int_equal(bn_demo_run_read(dir, r, err, sizeof(err)), 0);
    assert_string_equal(r->mode, "floodgate");
    assert_int_equal(r->peak_inflight_ro, 9);
    assert_int_equal(r->peak_inflight_mut, 2);
    assert_int_equal(r->peak_queue, 3);
    assert_int_equal(r->sim_429, 7);
    assert_int_equal(r->sim_timeouts, 3);
    assert_true(r->calm_p99_ms == 20.0 && r->p99_ms == 25.0 && r->p50_ms == 6.0);
    assert_int_equal(r->crit_unanswered, 2);
    assert_int_equal(r->nodes, 400);
    assert_int_equal(r->lists_ok, 120);
    assert_int_equal(r->lists_failed, 180);
    assert_int_equal(r->fleet_retries, 900);
    assert_int_equal(r->watches_configured, 1200);
    assert_int_equal(r->watches_open_max, 1200);
    assert_true(r->all_watches_s == 16.0);
    assert_true(r->sim_cpu_s == 2.5 && r->fg_cpu_s == 4.0 && r->gen_cpu_s == 4.0);
    assert_int_equal(r->fg_rss_kb, 61440);
    assert_true(r->kubectl[BN_DEMO_CALM][BN_DEMO_GET_PODS].have);
    assert_int_equal(r->kubectl[BN_DEMO_STORM][BN_DEMO_GET_PODS].rc, 124);
    assert_false(r->kubectl[BN_DEMO_STORM][BN_DEMO_VERSION].have);
    /* the plot's seconds: the calm run's before 0, none completed is < 0 */
    assert_int_equal(r->nseconds, 3);
    assert_true(r->seconds[0].t_s == -9.0 && r->seconds[0].p99_ms == 18.0);
    assert_true(r->seconds[2].t_s == 2.0 && r->seconds[2].p99_ms < 0);
    free(r);
}

static void
test_run_without_a_calm_measurement_is_refused(void **state)
{
    struct bn_demo_run *r = calloc(1, sizeof(*r));
    char err[256];

    (void)state;
    assert_non_null(r);
    put("meta.txt", "mode=direct\nstorm_s=40\nstorm_t0=1000\n");
    put("sim.csv", "1001.0 7 2 3 6 300 5 1\n");
    put_load("load-calm.json", "{\"p50\": 0, \"p99\": 0}", "", "");
    put_load("load-critical.json", "{}", "", "");
    put_load("load-fleet.json", "{}", "", "");
    assert_int_equal(bn_demo_run_read(dir, r, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "no critical request completed"));
    put("meta.txt", "mode=direct\n");
    assert_int_equal(bn_demo_run_read(dir, r, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "needs mode, storm_t0 and storm_s"));
    free(r);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_split_sends_watching_critical_populations_to_informers,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_split_overrides_count_ramp_and_start, setup, teardown),
        cmocka_unit_test_setup_teardown(test_split_refuses_what_it_cannot_do, setup, teardown),
        cmocka_unit_test_setup_teardown(test_run_reads_the_storm_window_and_the_critical_totals,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_run_without_a_calm_measurement_is_refused, setup,
                                        teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
