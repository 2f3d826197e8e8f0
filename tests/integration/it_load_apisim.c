/* floodgate-load against floodgate-apisim: a critical population and a
 * fleet that holds watches run for ten seconds; the JSON report has both,
 * request counts within 10% of what their rates call for, every watch
 * established through a LIST first, and minted identities and signed
 * service-account tokens accepted by the simulator's authentication. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "itlib.h"

static char tmp[200], pki[256], addr[64];
static pid_t sim;

static int
setup(void **state)
{
    char ready[300], cert[300], key[300], ca[300], sa[300], log[300];

    (void)state;
    snprintf(tmp, sizeof(tmp), "%s", it_tmpdir("load-apisim"));
    snprintf(pki, sizeof(pki), "%s/pki", tmp);
    if (it_pki(pki) != 0) {
        return -1;
    }
    snprintf(ready, sizeof(ready), "%s/ready", tmp);
    snprintf(cert, sizeof(cert), "%s/apiserver.crt", pki);
    snprintf(key, sizeof(key), "%s/apiserver.key", pki);
    snprintf(ca, sizeof(ca), "%s/ca.crt", pki);
    snprintf(sa, sizeof(sa), "%s/sa.pub", pki);
    snprintf(log, sizeof(log), "%s/apisim.log", tmp);
    {
        char *argv[] = {(char *)it_bin("floodgate-apisim"),
                        (char *)"--listen",
                        (char *)"127.0.0.1:0",
                        (char *)"--ready-file",
                        ready,
                        (char *)"--cert",
                        cert,
                        (char *)"--key",
                        key,
                        (char *)"--client-ca",
                        ca,
                        (char *)"--service-account-key-file",
                        sa,
                        (char *)"--service-account-issuer",
                        (char *)"https://kubernetes.default.svc",
                        (char *)"--anonymous-auth",
                        (char *)"false",
                        (char *)"--nodes",
                        (char *)"20",
                        (char *)"--pods-per-node",
                        (char *)"2",
                        (char *)"--churn-per-s",
                        (char *)"20",
                        (char *)"--log-level",
                        (char *)"warn",
                        NULL};

        sim = it_spawn(argv, NULL, log);
    }
    return sim > 0 && it_wait_ready(ready, "listen", addr, sizeof(addr), 10000) == 0 ? 0 : -1;
}

static int
teardown(void **state)
{
    (void)state;
    it_stop(sim, SIGTERM, 3000);
    return 0;
}

/* Writes the scenario <body> (populations) with the common head. */
static void
scenario(const char *path, const char *duration, const char *populations)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    fprintf(f,
            "{\"target\": \"https://%s\", \"ca\": \"%s/ca.crt\", \"duration\": \"%s\",\n"
            " \"ca_cert\": \"%s/ca.crt\", \"ca_key\": \"%s/ca.key\",\n"
            " \"sa_key\": \"%s/sa.key\", \"sa_issuer\": \"https://kubernetes.default.svc\",\n"
            " \"populations\": [%s]}\n",
            addr, pki, duration, pki, pki, pki, populations);
    fclose(f);
}

static json_t *
run(const char *name)
{
    char path[300], json[300], out[16384];
    json_t *rep;

    snprintf(path, sizeof(path), "%s/%s.json", tmp, name);
    snprintf(json, sizeof(json), "%s/%s-report.json", tmp, name);
    {
        char *argv[] = {(char *)it_bin("floodgate-load"),
                        (char *)"-q",
                        (char *)"--scenario",
                        path,
                        (char *)"--json",
                        json,
                        NULL};
        int rc = it_run(argv, NULL, out, sizeof(out), 60000);

        if (rc != 0) {
            fail_msg("floodgate-load exited %d:\n%s", rc, out);
        }
    }
    rep = json_load_file(json, 0, NULL);
    assert_non_null(rep);
    return rep;
}

static json_int_t
get_int(json_t *o, const char *a, const char *b)
{
    json_t *v = json_object_get(o, a);

    return json_integer_value(b != NULL ? json_object_get(v, b) : v);
}

static void
assert_near(json_int_t got, double want)
{
    if ((double)got < want * 0.9 || (double)got > want * 1.1) {
        fail_msg("%lld requests, expected %.0f +-10%%", (long long)got, want);
    }
}

static void
test_critical_and_fleet_with_watches_run_at_their_rates(void **state)
{
    char path[300];
    json_t *rep, *crit, *fleet, *w, *series;
    size_t i;

    (void)state;
    snprintf(path, sizeof(path), "%s/storm.json", tmp);
    scenario(path, "10s",
             "{\"name\": \"critical\", \"count\": 2, \"critical\": true,\n"
             "  \"identity\": {\"kind\": \"cert\", \"user\": \"system:kube-controller-manager\"},\n"
             "  \"requests\": [{\"path\": \"/api/v1/nodes\", \"rate\": \"5/s\"}]},\n"
             " {\"name\": \"fleet\", \"count\": 20, \"ramp\": \"2s\",\n"
             "  \"identity\": {\"kind\": \"cert\", \"user\": \"system:node:node-{i:05}\",\n"
             "               \"groups\": [\"system:nodes\"]},\n"
             "  \"watches\": [{\"path\": "
             "\"/api/v1/pods?watch=true&fieldSelector=spec.nodeName=node-{i:05}\"}],\n"
             "  \"requests\": [{\"path\": \"/api/v1/nodes/node-{i:05}\", \"rate\": \"1/s\"}]}");
    rep = run("storm");
    assert_int_equal(json_array_size(json_object_get(rep, "populations")), 2);
    crit = json_array_get(json_object_get(rep, "populations"), 0);
    fleet = json_array_get(json_object_get(rep, "populations"), 1);
    assert_string_equal(json_string_value(json_object_get(crit, "name")), "critical");
    assert_true(json_is_true(json_object_get(crit, "critical")));
    assert_string_equal(json_string_value(json_object_get(fleet, "name")), "fleet");

    /* 2 members x 5/s x 10 s; 20 members x 1/s x (10 s - their place in a
     * 2 s ramp) = 200 - 19. */
    assert_near(get_int(crit, "requests", NULL), 100.0);
    assert_near(get_int(fleet, "requests", NULL), 181.0);
    assert_true(json_real_value(json_object_get(fleet, "expected_requests")) > 180.9 &&
                json_real_value(json_object_get(fleet, "expected_requests")) < 181.1);
    assert_int_equal(get_int(crit, "codes", "200"), get_int(crit, "requests", NULL));
    assert_int_equal(get_int(fleet, "codes", "200"), get_int(fleet, "requests", NULL));

    w = json_object_get(fleet, "watches");
    assert_int_equal(get_int(w, "configured", NULL), 20);
    assert_int_equal(get_int(w, "established", NULL), 20);
    assert_int_equal(get_int(w, "open", NULL), 20);
    assert_int_equal(get_int(w, "failed", NULL), 0);
    assert_int_equal(get_int(w, "lists", NULL), 20); /* a reflector LISTs first */
    assert_int_equal(get_int(w, "relists", NULL), 0);
    assert_int_equal(get_int(w, "codes", "200"), 40);
    assert_int_equal(get_int(json_object_get(w, "establish_ms"), "count", NULL), 20);
    assert_int_equal(get_int(json_object_get(crit, "watches"), "configured", NULL), 0);

    series = json_object_get(rep, "series");
    assert_int_equal(json_array_size(series), 10);
    for (i = 0; i < json_array_size(series); i++) {
        json_t *pops = json_object_get(json_array_get(series, i), "populations");

        assert_non_null(json_object_get(pops, "critical"));
        assert_non_null(json_object_get(pops, "fleet"));
    }
    /* Every watch is open by the last second. */
    assert_int_equal(
        get_int(json_object_get(json_object_get(json_array_get(series, 9), "populations"), "fleet"),
                "open_watches", NULL),
        20);
    json_decref(rep);
}

static void
test_signed_tokens_are_accepted_and_foreign_ones_are_not(void **state)
{
    char path[300];
    json_t *rep, *ok, *bad;

    (void)state;
    snprintf(path, sizeof(path), "%s/tokens.json", tmp);
    scenario(path, "2s",
             "{\"name\": \"daemonset\", \"count\": 3,\n"
             "  \"identity\": {\"kind\": \"token\", \"namespace\": \"kube-system\",\n"
             "               \"serviceaccount\": \"telemetry\", \"node\": \"node-{i:05}\"},\n"
             "  \"requests\": [{\"path\": \"/api/v1/nodes/node-{i:05}\", \"rate\": \"5/s\"}]},\n"
             " {\"name\": \"stranger\", \"count\": 1,\n"
             "  \"identity\": {\"kind\": \"bearer\", \"token\": \"not-a-token\"},\n"
             "  \"requests\": [{\"path\": \"/api/v1/nodes\", \"rate\": \"5/s\"}]}");
    rep = run("tokens");
    ok = json_array_get(json_object_get(rep, "populations"), 0);
    bad = json_array_get(json_object_get(rep, "populations"), 1);
    assert_true(get_int(ok, "requests", NULL) >= 27);
    assert_int_equal(get_int(ok, "codes", "200"), get_int(ok, "requests", NULL));
    assert_true(get_int(bad, "requests", NULL) >= 9);
    assert_int_equal(get_int(bad, "codes", "401"), get_int(bad, "requests", NULL));
    json_decref(rep);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_critical_and_fleet_with_watches_run_at_their_rates),
        cmocka_unit_test(test_signed_tokens_are_accepted_and_foreign_ones_are_not),
    };

    return it_finish(cmocka_run_group_tests(tests, setup, teardown));
}
