/* The scenario reader: a complete scenario parses into the values it says,
 * and every mistake is reported with its JSON path and exact words. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bn_load_scenario.h"

static char tmpdir[] = "/tmp/bn_load_scnXXXXXX";

static int
setup(void **state)
{
    const char *files[] = {"ca.crt", "ca.key", "sa.key", "node.crt", "node.key"};
    size_t i;

    (void)state;
    if (mkdtemp(tmpdir) == NULL || chdir(tmpdir) != 0) {
        return -1;
    }
    for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        FILE *f = fopen(files[i], "w");

        if (f == NULL) {
            return -1;
        }
        fputs("not parsed here\n", f);
        fclose(f);
    }
    return 0;
}

static int
teardown(void **state)
{
    const char *files[] = {"ca.crt", "ca.key", "sa.key", "node.crt", "node.key"};
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        unlink(files[i]);
    }
    return chdir("/") == 0 && rmdir(tmpdir) == 0 ? 0 : -1;
}

static const char good[] =
    "{\"target\": \"https://127.0.0.1:6443\", \"ca\": \"ca.crt\", \"duration\": \"20s\",\n"
    " \"ca_cert\": \"ca.crt\", \"ca_key\": \"ca.key\", \"sa_key\": \"sa.key\",\n"
    " \"sa_issuer\": \"https://kubernetes.default.svc\", \"seed\": 7,\n"
    " \"populations\": [\n"
    "  {\"name\": \"critical\", \"count\": 2, \"critical\": true,\n"
    "   \"identity\": {\"kind\": \"cert\", \"user\": \"system:kube-controller-manager\"},\n"
    "   \"requests\": [{\"path\": \"/api/v1/nodes\", \"rate\": \"5/s\"}]},\n"
    "  {\"name\": \"fleet\", \"count\": 2000, \"ramp\": \"10s\", \"start\": 1,\n"
    "   \"identity\": {\"kind\": \"cert\", \"user\": \"system:node:node-{i}\",\n"
    "                \"groups\": [\"system:nodes\"]},\n"
    "   \"watches\": [{\"path\": "
    "\"/api/v1/pods?watch=true&fieldSelector=spec.nodeName=node-{i}\"},\n"
    "               {\"path\": \"/api/v1/nodes?watch=1\", \"relist\": false}],\n"
    "   \"requests\": [{\"method\": \"PATCH\", \"path\": \"/api/v1/nodes/node-{i}/status\",\n"
    "                 \"body\": \"{\\\"status\\\":{}}\",\n"
    "                 \"headers\": [\"Content-Type: application/merge-patch+json\"],\n"
    "                 \"rate\": \"6/m\", \"arrival\": \"poisson\"},\n"
    "                {\"path\": \"/api/v1/pods\", \"total_rate\": 500}]},\n"
    "  {\"name\": \"ds\", \"count\": 3, \"identity\": {\"kind\": \"token\", \"namespace\": "
    "\"kube-system\",\n"
    "   \"serviceaccount\": \"telemetry\", \"node\": \"node-{i}\", \"pod\": \"telemetry-{i}\"},\n"
    "   \"requests\": [{\"path\": \"/version\", \"rate\": 0.2}]}]}\n";

static void
test_a_complete_scenario_reads_into_its_values(void **state)
{
    struct bn_scn *s;
    char err[BN_SCN_ERRLEN];
    uint32_t div;

    (void)state;
    if (bn_scn_parse(good, strlen(good), "storm.json", NULL, &s, err, sizeof(err)) != 0) {
        fail_msg("%s", err);
    }
    assert_string_equal(s->target, "https://127.0.0.1:6443");
    assert_string_equal(s->host, "127.0.0.1");
    assert_string_equal(s->port, "6443");
    assert_string_equal(s->ca, "ca.crt");
    assert_int_equal(s->duration_ns, 20000000000ull);
    assert_int_equal(s->timeout_ns, 30000000000ull);
    assert_true(s->retry_after);
    assert_int_equal(s->max_retries, 10);
    assert_int_equal(s->seed, 7);
    assert_int_equal(s->npops, 3);
    assert_true(s->pops[0].critical);
    assert_int_equal(s->pops[0].id.kind, BN_ID_CERT);
    assert_int_equal(s->pops[0].requests[0].rate_mrps, 5000);
    assert_string_equal(s->pops[0].requests[0].method, "GET");
    assert_false(s->pops[1].critical);
    assert_int_equal(s->pops[1].count, 2000);
    assert_int_equal(s->pops[1].start_ns, 1000000000ull);
    assert_int_equal(s->pops[1].ramp_ns, 10000000000ull);
    assert_string_equal(s->pops[1].id.user, "system:node:node-{i}");
    assert_int_equal(s->pops[1].id.ngroups, 1);
    assert_int_equal(s->pops[1].nwatches, 2);
    assert_true(s->pops[1].watches[0].relist);
    assert_false(s->pops[1].watches[1].relist);
    assert_int_equal(s->pops[1].nrequests, 2);
    assert_int_equal(s->pops[1].requests[0].rate_mrps, 100); /* 6/m */
    assert_int_equal(s->pops[1].requests[0].arrival, BN_ARRIVAL_POISSON);
    assert_string_equal(s->pops[1].requests[0].headers[0],
                        "Content-Type: application/merge-patch+json");
    assert_int_equal(bn_scn_member_rate(&s->pops[1], &s->pops[1].requests[1], &div), 500000);
    assert_int_equal(div, 2000);
    assert_int_equal(bn_scn_pop_rate(&s->pops[1]), 100 * 2000 + 500000);
    assert_int_equal(s->pops[2].id.kind, BN_ID_TOKEN);
    assert_string_equal(s->pops[2].id.issuer, "https://kubernetes.default.svc");
    assert_string_equal(s->pops[2].id.audience, "https://kubernetes.default.svc");
    assert_int_equal(s->pops[2].id.expiration_ns, 3600000000000ull);
    assert_int_equal(s->pops[2].requests[0].rate_mrps, 200);
    bn_scn_free(s);
}

static void
test_target_flag_replaces_the_files_target(void **state)
{
    struct bn_scn *s;
    char err[BN_SCN_ERRLEN];

    (void)state;
    assert_int_equal(
        bn_scn_parse(good, strlen(good), "storm.json", "https://[::1]:9443/", &s, err, sizeof(err)),
        0);
    assert_string_equal(s->host, "::1");
    assert_string_equal(s->port, "9443");
    assert_string_equal(s->target, "https://[::1]:9443");
    bn_scn_free(s);
}

static void
test_relative_files_resolve_next_to_the_scenario(void **state)
{
    const char *doc = "{\"target\": \"https://localhost\", \"ca\": \"ca.crt\", \"populations\": "
                      "[{\"name\": \"a\", \"requests\": [{\"path\": \"/\", \"rate\": 1}]}]}";
    char name[64], err[BN_SCN_ERRLEN];
    struct bn_scn *s;

    (void)state;
    snprintf(name, sizeof(name), "%s/storm.json", tmpdir);
    assert_int_equal(bn_scn_parse(doc, strlen(doc), name, NULL, &s, err, sizeof(err)), 0);
    snprintf(name, sizeof(name), "%s/ca.crt", tmpdir);
    assert_string_equal(s->ca, name);
    assert_string_equal(s->port, "443");
    bn_scn_free(s);
}

static void
test_closed_loop_needs_no_rates(void **state)
{
    const char *doc = "{\"target\": \"https://localhost\", \"insecure\": true, \"closed\": true, "
                      "\"populations\": [{\"name\": \"a\", \"count\": 50, \"requests\": "
                      "[{\"path\": \"/version\"}]}]}";
    char err[BN_SCN_ERRLEN];
    struct bn_scn *s;

    (void)state;
    if (bn_scn_parse(doc, strlen(doc), "cli", NULL, &s, err, sizeof(err)) != 0) {
        fail_msg("%s", err);
    }
    assert_true(s->closed);
    assert_null(s->ca);
    assert_int_equal(s->pops[0].requests[0].rate_mrps, 0);
    bn_scn_free(s);
}

struct bad_case {
    const char *doc;
    const char *msg;
};

#define HEAD "{\"target\": \"https://127.0.0.1:6443\", \"ca\": \"ca.crt\", "
#define POP  "\"populations\": [{\"name\": \"p\", "
#define REQ  "\"requests\": [{\"path\": \"/version\", \"rate\": 1}]"

static const struct bad_case bad[] = {
    {"[1, 2]", "storm.json: expected an object at the top level, got an array"},
    {HEAD "\"retry_afterr\": false}",
     "storm.json: retry_afterr: unknown key, did you mean \"retry_after\"?"},
    {HEAD "\"zzz\": 1}",
     "storm.json: zzz: unknown key; expected one of target, ca, insecure, duration, timeout, "
     "threads, closed, retry_after, max_retries, seed, ca_cert, ca_key, sa_key, sa_issuer, "
     "populations"},
    {"{\"ca\": \"ca.crt\"}", "storm.json: target: required (or --target URL)"},
    {"{\"target\": \"http://127.0.0.1:8080\"}",
     "storm.json: target: expected an https:// URL, got \"http://127.0.0.1:8080\""},
    {"{\"target\": \"https://127.0.0.1:6443/api\"}",
     "storm.json: target: expected no path (requests name their own), got \"/api\""},
    {"{\"target\": \"https://127.0.0.1:99999999\"}",
     "storm.json: target: expected https://HOST[:PORT], got \"https://127.0.0.1:99999999\""},
    {"{\"target\": \"https://127.0.0.1\"}", "storm.json: ca: required"},
    {"{\"target\": \"https://127.0.0.1\", \"ca\": \"missing.crt\"}",
     "storm.json: ca: expected a readable file (No such file or directory), got \"missing.crt\""},
    {HEAD "\"duration\": \"30 s\"}",
     "storm.json: duration: expected a duration like \"30s\", \"500ms\" or \"2m\", got \"30 s\""},
    {HEAD "\"populations\": []}",
     "storm.json: populations: expected an array of 1 to 64 populations, got []"},
    {HEAD "\"populations\": [{\"name\": \"fleet\", " REQ "}, {\"name\": \"fleet\", " REQ "}]}",
     "storm.json: populations[1].name: \"fleet\" is already the name of populations[0]"},
    {HEAD "\"populations\": [{\"name\": \"a b\", " REQ "}]}",
     "storm.json: populations[0].name: expected 1 to 63 letters, digits, '.', '_' or '-', got "
     "\"a b\""},
    {HEAD "\"populations\": [{" REQ "}]}", "storm.json: populations[0].name: required"},
    {HEAD POP "\"count\": 0, " REQ "}]}",
     "storm.json: populations[0].count: expected an integer from 1 to 100000, got 0"},
    {HEAD POP "\"critical\": \"yes\", " REQ "}]}",
     "storm.json: populations[0].critical: expected true or false, got \"yes\""},
    {HEAD POP "\"wathces\": []}]}",
     "storm.json: populations[0].wathces: unknown key, did you mean \"watches\"?"},
    {HEAD POP "\"identity\": {\"kind\": \"x509\"}, " REQ "}]}",
     "storm.json: populations[0].identity.kind: expected one of \"cert\", \"token\", \"bearer\", "
     "\"kubeconfig\", \"none\", got \"x509\""},
    {HEAD POP "\"identity\": {\"kind\": \"cert\", \"user\": \"u\", \"grups\": []}, " REQ "}]}",
     "storm.json: populations[0].identity.grups: unknown key, did you mean \"groups\"?"},
    {HEAD POP "\"identity\": {\"kind\": \"cert\", \"user\": \"system:node:node-{i}\"}, " REQ "}]}",
     "storm.json: populations[0].identity: minting certificates needs \"ca_cert\" and \"ca_key\" "
     "at the top level"},
    {HEAD
     "\"ca_cert\": \"ca.crt\", \"ca_key\": \"ca.key\", " POP
     "\"identity\": {\"kind\": \"cert\", \"user\": \"u\", \"groups\": [\"g\", \"n-{i+}\"]}, " REQ
     "}]}",
     "storm.json: populations[0].identity.groups[1]: malformed placeholder \"{i+}\" (expected "
     "{i}, {i+N}, {i%N}, {i%N+M}, with an optional :0W width, or {pop})"},
    {HEAD POP "\"identity\": {\"kind\": \"cert\", \"cert\": \"node.crt\"}, " REQ "}]}",
     "storm.json: populations[0].identity.key: required"},
    {HEAD POP "\"identity\": {\"kind\": \"token\", \"namespace\": \"ns\", \"serviceaccount\": "
              "\"sa\"}, " REQ "}]}",
     "storm.json: populations[0].identity: signing tokens needs \"sa_key\" at the top level"},
    {HEAD "\"sa_key\": \"sa.key\", " POP "\"identity\": {\"kind\": \"token\", \"namespace\": "
          "\"ns\", \"serviceaccount\": \"sa\"}, " REQ "}]}",
     "storm.json: populations[0].identity.issuer: required (or \"sa_issuer\" at the top level)"},
    {HEAD POP "\"identity\": {\"kind\": \"bearer\"}, " REQ "}]}",
     "storm.json: populations[0].identity.token: required"},
    {HEAD "\"populations\": [{\"name\": \"a\", " REQ "}, {\"name\": \"b\", \"watches\": "
          "[{\"path\": 42}]}]}",
     "storm.json: populations[1].watches[0].path: expected a string starting with \"/\", got 42"},
    {HEAD POP "\"watches\": [\"/api/v1/pods\"]}]}",
     "storm.json: populations[0].watches[0]: expected an object like {\"path\": "
     "\"/api/v1/pods?watch=true\"}, got \"/api/v1/pods\""},
    {HEAD POP "\"requests\": [{\"path\": \"/v\", \"rate\": 1, \"total_rate\": 5}]}]}",
     "storm.json: populations[0].requests[0]: \"rate\" (per member) and \"total_rate\" are "
     "exclusive"},
    {HEAD POP "\"requests\": [{\"path\": \"/v\"}]}]}",
     "storm.json: populations[0].requests[0]: needs \"rate\" (per member) or \"total_rate\""},
    {HEAD POP "\"requests\": [{\"path\": \"/v\", \"rate\": \"fast\"}]}]}",
     "storm.json: populations[0].requests[0].rate: expected a rate like \"10/s\", \"600/m\" or a "
     "number >= 0.001 per second, got \"fast\""},
    {HEAD POP "\"requests\": [{\"path\": \"/v\", \"total_rate\": \"1/h\"}]}]}",
     "storm.json: populations[0].requests[0].total_rate: expected a rate like \"10/s\", \"600/m\" "
     "or a number >= 0.001 per second, got \"1/h\""},
    {HEAD POP "\"requests\": [{\"path\": \"/v\", \"rate\": 1, \"arrival\": \"burst\"}]}]}",
     "storm.json: populations[0].requests[0].arrival: expected \"constant\" or \"poisson\", got "
     "\"burst\""},
    {HEAD POP "\"requests\": [{\"method\": \"FETCH\", \"path\": \"/v\", \"rate\": 1}]}]}",
     "storm.json: populations[0].requests[0].method: expected one of GET, POST, PUT, PATCH, "
     "DELETE, HEAD, got \"FETCH\""},
    {HEAD POP "\"requests\": [{\"path\": \"/v\", \"body\": \"{}\", \"rate\": 1}]}]}",
     "storm.json: populations[0].requests[0].body: a GET request carries no body"},
    {HEAD POP "\"requests\": [{\"path\": \"/api/v1/nodes/node-{i%0}\", \"rate\": 1}]}]}",
     "storm.json: populations[0].requests[0].path: \"{i%0}\": the modulo must be at least 1"},
    {HEAD POP "\"requests\": [{\"path\": \"/v\", \"rate\": 1, \"headers\": [\"X-Bad\"]}]}]}",
     "storm.json: populations[0].requests[0].headers[0]: expected \"Name: value\", got \"X-Bad\""},
    {HEAD POP "\"watches\": []}]}",
     "storm.json: populations[0]: has neither \"watches\" nor \"requests\": nothing to do"},
    {HEAD "\"duration\": \"30s\", " POP "\"start\": \"40s\", " REQ "}]}",
     "storm.json: populations[0].start: starts after the run ends (\"duration\" is 30s)"},
};

static void
test_each_mistake_is_reported_at_its_path(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char err[BN_SCN_ERRLEN];
        struct bn_scn *s = NULL;

        if (bn_scn_parse(bad[i].doc, strlen(bad[i].doc), "storm.json", NULL, &s, err,
                         sizeof(err)) == 0) {
            bn_scn_free(s);
            fail_msg("case %zu parsed: %s", i, bad[i].doc);
        }
        assert_null(s);
        if (strcmp(err, bad[i].msg) != 0) {
            fail_msg("case %zu:\n  got  %s\n  want %s", i, err, bad[i].msg);
        }
    }
}

static void
test_invalid_json_names_line_and_column(void **state)
{
    const char *doc = "{\n  \"target\": ,\n}";
    char err[BN_SCN_ERRLEN];
    struct bn_scn *s;

    (void)state;
    assert_int_equal(bn_scn_parse(doc, strlen(doc), "storm.json", NULL, &s, err, sizeof(err)), -1);
    assert_true(strncmp(err, "storm.json:2:13: invalid JSON: ", 31) == 0);
    doc = "{\"target\": 1, \"target\": 2}";
    assert_int_equal(bn_scn_parse(doc, strlen(doc), "storm.json", NULL, &s, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "duplicate object key"));
}

static void
test_load_reports_a_missing_file(void **state)
{
    char err[BN_SCN_ERRLEN];
    struct bn_scn *s;

    (void)state;
    assert_int_equal(bn_scn_load("nope.json", NULL, &s, err, sizeof(err)), -1);
    assert_string_equal(err, "nope.json: No such file or directory");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_complete_scenario_reads_into_its_values),
        cmocka_unit_test(test_target_flag_replaces_the_files_target),
        cmocka_unit_test(test_relative_files_resolve_next_to_the_scenario),
        cmocka_unit_test(test_closed_loop_needs_no_rates),
        cmocka_unit_test(test_each_mistake_is_reported_at_its_path),
        cmocka_unit_test(test_invalid_json_names_line_and_column),
        cmocka_unit_test(test_load_reports_a_missing_file),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
