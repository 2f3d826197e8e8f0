/* floodgate explain as a tool: --stdin over 10,000 lines (every line
 * answered, bad lines named, the time printed), a policy edit that moves a
 * request to another rule and class, learned sizes from --state, claims
 * from a file, and the errors and usage exits. */
#include "it_explain.h"

#include <time.h>

#define STDIN_LINES 10000
#define BAD_EVERY   997 /* one malformed line in that many */

static int
setup(void **state)
{
    (void)state;
    return ex_setup("explain-cli");
}

static const char *
tmp(const char *file)
{
    static char buf[4][1200];
    static unsigned next;
    char *b = buf[next++ % 4];

    snprintf(b, sizeof(buf[0]), "%s/%s", ex_dir, file);
    return b;
}

static double
now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* `floodgate explain --config <cfg> --stdin < in > out`, stderr into
 * ex_out; the exit code. */
static int
run_stdin(const char *cfg, const char *in, const char *out)
{
    char *argv[] = {(char *)"/bin/sh",
                    (char *)"-c",
                    (char *)"exec \"$0\" explain --config \"$1\" --stdin <\"$2\" >\"$3\"",
                    (char *)it_bin("floodgate"),
                    (char *)cfg,
                    (char *)in,
                    (char *)out,
                    NULL};

    return it_run(argv, NULL, ex_out, sizeof(ex_out), 60000);
}

static const char *const targets[] = {
    "/api/v1/namespaces/default/pods?limit=500",
    "/api/v1/pods?watch=1&resourceVersion=0",
    "/apis/apps/v1/namespaces/kube-system/daemonsets/kube-proxy",
    "/healthz",
    "/api/v1/nodes/node-3/status",
    "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/node-3",
    "/api/v1/namespaces/x/configmaps?fieldSelector=metadata.name%3Dfoo&watch=true",
};
static const char *const methods[] = {"GET", "GET", "GET", "PUT", "PATCH", "POST", "DELETE"};

/* Writes STDIN_LINES lines: METHOD TARGET, with a user (and groups) on
 * most, and (with <bad>) a malformed one every BAD_EVERY lines. Returns the
 * number of malformed lines. */
static int
write_lines(const char *path, bool bad)
{
    FILE *f = fopen(path, "w");
    int i, nbad = 0;

    assert_non_null(f);
    for (i = 1; i <= STDIN_LINES; i++) {
        const char *m = methods[(i / 7) % 7], *t = targets[i % 7];

        if (bad && i % BAD_EVERY == 0) {
            fprintf(f, "%s\n", i % 2 ? "GET" : "GET not-a-target");
            nbad++;
            continue;
        }
        switch (i % 5) {
        case 0:
            fprintf(f, "%s %s\n", m, t);
            break;
        case 1:
            fprintf(f, "%s %s alice developers\n", m, t);
            break;
        case 2:
            fprintf(f, "%s %s system:node:node-%d system:nodes\n", m, t, i % 500);
            break;
        case 3:
            fprintf(f, "%s %s system:serviceaccount:monitoring:agent\n", m, t);
            break;
        default:
            fprintf(f, "%s %s admin system:masters,ops\n", m, t);
            break;
        }
    }
    fclose(f);
    return nbad;
}

static void
test_stdin_answers_ten_thousand_lines(void **state)
{
    char *line = NULL;
    size_t cap = 0;
    FILE *f;
    int rc, nbad, nerr = 0;
    unsigned long n = 0;
    double t0, dt;

    (void)state;
    /* Clean input: every line answered, exit 0, timed. */
    write_lines(tmp("lines.txt"), false);
    t0 = now_s();
    rc = run_stdin(ex_sidecar, tmp("lines.txt"), tmp("out.jsonl"));
    dt = now_s() - t0;
    if (rc != 0) {
        fail_msg("--stdin exited %d: %s", rc, ex_out);
    }
    printf("explain --stdin: %d lines in %.3f s (floodgate explain --config "
           "conf/examples/sidecar.json --stdin)\n",
           STDIN_LINES, dt);
    f = fopen(tmp("out.jsonl"), "r");
    assert_non_null(f);
    while (getline(&line, &cap, f) > 0) {
        json_t *j = json_loads(line, 0, NULL);
        char tag[64];

        n++;
        snprintf(tag, sizeof(tag), "output line %lu", n);
        assert_non_null(j);
        EX_INT(tag, j, "line", n);
        /* The line's USER decides the identity (see write_lines). */
        switch (n % 5) {
        case 0:
            EX_STR(tag, j, "identity.credential", "anonymous");
            break;
        case 1:
            EX_STR(tag, j, "identity.user", "alice");
            EX_STR(tag, j, "identity.credential", "certificate");
            break;
        case 2:
            EX_STR(tag, j, "identity.credential", "certificate");
            if (strcmp(ex_str(j, "class.name"), "nodes") == 0) {
                EX_STR(tag, j, "class.key", ex_str(j, "identity.node"));
            } else {
                EX_STR(tag, j, "class.name", "exempt"); /* GET /healthz */
            }
            break;
        case 3:
            EX_STR(tag, j, "identity.credential", "token");
            EX_STR(tag, j, "identity.service_account", "monitoring/agent");
            if (strcmp(ex_str(j, "class.name"), "exempt") != 0) {
                EX_STR(tag, j, "class.name", "service-accounts");
            }
            break;
        default:
            EX_STR(tag, j, "class.name", "exempt");
            EX_STR(tag, j, "identity.groups.1", "ops");
            break;
        }
        json_decref(j);
    }
    fclose(f);
    assert_int_equal(n, STDIN_LINES);

    /* With malformed lines: one error object each, naming its line, the
     * rest still answered, exit 1. */
    nbad = write_lines(tmp("bad.txt"), true);
    assert_int_equal(run_stdin(ex_sidecar, tmp("bad.txt"), tmp("bad.jsonl")), 1);
    f = fopen(tmp("bad.jsonl"), "r");
    assert_non_null(f);
    n = 0;
    while (getline(&line, &cap, f) > 0) {
        json_t *j = json_loads(line, 0, NULL), *err;

        n++;
        assert_non_null(j);
        err = json_object_get(j, "error");
        if (n % BAD_EVERY == 0) {
            if (err == NULL) {
                fail_msg("line %lu was malformed but explained", n);
            }
            assert_int_equal(json_integer_value(json_object_get(j, "line")), n);
            nerr++;
        } else if (err != NULL) {
            fail_msg("line %lu: unexpected error %s", n, json_string_value(err));
        }
        json_decref(j);
    }
    fclose(f);
    free(line);
    assert_int_equal(n, STDIN_LINES);
    assert_int_equal(nerr, nbad);
}

/* sidecar.json with <edit> applied, written to <file>. */
static const char *
edited(const char *file, void (*edit)(json_t *root))
{
    json_t *root = json_load_file(ex_sidecar, 0, NULL);
    const char *path = tmp(file);

    assert_non_null(root);
    edit(root);
    assert_int_equal(json_dump_file(root, path, JSON_INDENT(2)), 0);
    json_decref(root);
    return path;
}

/* An operator gives alice the system class, before the nodes rule. */
static void
alice_is_system(json_t *root)
{
    json_t *rules = json_object_get(json_object_get(root, "limits"), "rules");

    assert_int_equal(json_array_insert_new(
                         rules, 3, json_pack("{s:s, s:[s]}", "class", "system", "users", "alice")),
                     0);
}

/* And the nodes class keys by user instead of node. */
static void
nodes_by_user(json_t *root)
{
    json_t *classes = json_object_get(json_object_get(root, "limits"), "classes");

    assert_int_equal(
        json_object_set_new(json_array_get(classes, 2), "distinguisher", json_string("user")), 0);
}

static void
test_policy_edit_changes_the_matching_rule(void **state)
{
    const char *alice[] = {"--json",
                           "--user",
                           "alice",
                           "--group",
                           "developers",
                           "GET",
                           "/api/v1/namespaces/default/pods",
                           NULL};
    const char *node[] = {"--json",       "--user", "system:node:node-1",   "--group",
                          "system:nodes", "GET",    "/api/v1/nodes/node-1", NULL};
    const char *cfg;
    json_t *j;

    (void)state;
    j = ex_json(ex_sidecar, alice);
    EX_INT("before", j, "rule.index", 7);
    EX_STR("before", j, "class.name", "global-default");
    json_decref(j);

    cfg = edited("alice-system.json", alice_is_system);
    j = ex_json(cfg, alice);
    EX_INT("after", j, "rule.index", 3);
    EX_INT("after", j, "rule.count", 10);
    EX_STR("after", j, "class.name", "system");
    EX_STR("after", j, "class.key", "alice");
    EX_MILLI("after", j, "budget.key.rate", 100000);
    if (json_array_size(ex_at(j, "rule.misses")) != 3) {
        fail_msg("after: %zu misses, want 3", json_array_size(ex_at(j, "rule.misses")));
    }
    EX_STR("after", j, "rule.misses.2.why", "user alice not in users/groups/service_accounts");
    json_decref(j);
    /* The kubelet's rule moved down one place; its class did not change. */
    j = ex_json(cfg, node);
    EX_INT("after", j, "rule.index", 4);
    EX_STR("after", j, "class.name", "nodes");
    EX_STR("after", j, "class.key", "node-1");
    json_decref(j);

    cfg = edited("nodes-by-user.json", nodes_by_user);
    j = ex_json(cfg, node);
    EX_INT("by user", j, "rule.index", 3);
    EX_STR("by user", j, "class.distinguisher", "user");
    EX_STR("by user", j, "class.key", "system:node:node-1");
    json_decref(j);
}

static void
test_state_file_teaches_list_sizes(void **state)
{
    const char *cache[] = {
        "--json", "--user", "alice", "--state", NULL, "GET", "/api/v1/pods?resourceVersion=0",
        NULL};
    const char *filtered[] = {
        "--json", "--user", "alice", "--state", NULL, "GET", "/api/v1/pods?labelSelector=app%3Dweb",
        NULL};
    const char *apps[] = {"--json",
                          "--user",
                          "alice",
                          "--state",
                          NULL,
                          "GET",
                          "/apis/apps/v1/daemonsets?resourceVersion=0",
                          NULL};
    FILE *f = fopen(tmp("state.json"), "w");
    json_t *j;

    (void)state;
    assert_non_null(f);
    fputs("{\"learned\": [\n"
          "  {\"api_group\": \"\", \"resource\": \"pods\", \"filtered\": false, \"avg_bytes\": "
          "12800000},\n"
          "  {\"api_group\": \"apps\", \"resource\": \"daemonsets\", \"avg_bytes\": 300000}\n"
          "]}\n",
          f);
    fclose(f);
    cache[4] = filtered[4] = apps[4] = tmp("state.json");

    /* 12.8 MB of pods: 126 tokens, capped at 100; 1 + 125 seats, capped
     * at 10. */
    j = ex_json(ex_sidecar, cache);
    EX_INT("pods", j, "cost.learned_bytes", 12800000);
    EX_MILLI("pods", j, "cost.tokens", 100000);
    EX_INT("pods", j, "cost.seats", 10);
    EX_STR("pods", j, "cost.why",
           "list pods from the watch cache: 12.8 MB learned -> 100.000 tokens (capped), 10 seats");
    json_decref(j);
    /* A filtered LIST has learned nothing of its own (64 KiB assumed), but
     * etcd reads the whole range: its share is the unfiltered 12.8 MB. */
    j = ex_json(ex_sidecar, filtered);
    EX_INT("filtered", j, "cost.learned_bytes", 65536);
    EX_MILLI("filtered", j, "cost.tokens", 100000);
    EX_INT("filtered", j, "cost.seats", 1);
    json_decref(j);
    /* 300,000 bytes: 1 + 2.929 tokens, 1 + 2 seats. */
    j = ex_json(ex_sidecar, apps);
    EX_INT("daemonsets", j, "cost.learned_bytes", 300000);
    EX_MILLI("daemonsets", j, "cost.tokens", 3929);
    EX_INT("daemonsets", j, "cost.seats", 3);
    json_decref(j);

    /* A bad state file: exit 1, the file and the JSON path named. */
    f = fopen(tmp("bad-state.json"), "w");
    assert_non_null(f);
    fputs("{\"learned\": [{\"api_group\": \"\", \"resource\": \"pods\", \"avg_bytes\": -4}]}", f);
    fclose(f);
    cache[4] = tmp("bad-state.json");
    assert_int_equal(ex_run(ex_sidecar, cache), 1);
    if (strstr(ex_out, "bad-state.json: learned[0].avg_bytes: expected an integer "
                       "1..1099511627776 (bytes), got -4") == NULL) {
        fail_msg("bad state: %s", ex_out);
    }
}

static void
test_token_claims_from_a_file(void **state)
{
    const char *args[] = {"--json", "--token-claims", NULL, "GET", "/api/v1/pods", NULL};
    char at[1300];
    FILE *f = fopen(tmp("claims.json"), "w");
    json_t *j;

    (void)state;
    assert_non_null(f);
    fputs("{\"iss\": \"https://kubernetes.default.svc.cluster.local\",\n"
          " \"kubernetes.io\": {\"namespace\": \"ci\",\n"
          "   \"serviceaccount\": {\"name\": \"runner\", \"uid\": \"u-1\"},\n"
          "   \"node\": {\"name\": \"node-42\", \"uid\": \"n-42\"}}}\n",
          f);
    fclose(f);
    snprintf(at, sizeof(at), "@%s", tmp("claims.json"));
    args[2] = at;
    j = ex_json(ex_sidecar, args);
    EX_STR("claims file", j, "identity.user", "system:serviceaccount:ci:runner");
    EX_STR("claims file", j, "identity.node", "node-42");
    EX_STR("claims file", j, "class.name", "service-accounts");
    EX_STR("claims file", j, "class.key", "node-42");
    json_decref(j);
}

/* A percent-decoded path or a user name need not be UTF-8; the object is
 * still valid JSON, with U+FFFD for each stray byte, as Go writes them. */
static void
test_bytes_that_are_not_utf8_still_give_valid_json(void **state)
{
    const char *args[] = {
        "--json", "--user", "caf\xc3\xa9-\xff", "GET", "/api/v1/namespaces/%ff%c3%a9/pods", NULL};
    json_t *j;

    (void)state;
    j = ex_json(ex_sidecar, args);
    EX_STR("utf-8", j, "request.namespace", "\xef\xbf\xbd\xc3\xa9");
    EX_STR("utf-8", j, "identity.user", "caf\xc3\xa9-\xef\xbf\xbd");
    EX_STR("utf-8", j, "class.key", "caf\xc3\xa9-\xef\xbf\xbd");
    json_decref(j);
}

struct err_case {
    const char *name;
    const char *args[8];
    bool with_config;
    int want_rc;
    const char *want; /* in the output */
};

static const struct err_case err_cases[] = {
    {"relative target",
     {"GET", "api/v1/pods"},
     true,
     1,
     "request target: neither an absolute path nor an absolute URI"},
    {"bad escape", {"GET", "/api/v1/pods%zz"}, true, 1, "invalid URL escape \"%zz\" in path"},
    {"legacy watch prefix without a resource",
     {"GET", "/api/v1/watch"},
     true,
     1,
     "unable to determine kind and namespace from url /api/v1/watch"},
    {"no --config", {"GET", "/healthz"}, false, 2, "--config FILE is required"},
    {"unknown option", {"--frobnicate", "GET", "/healthz"}, true, 2, "unknown option --frobnicate"},
    {"two identities", {"--user", "a", "--anonymous", "GET", "/"}, true, 2, "exclude each other"},
    {"group without user", {"--group", "g", "GET", "/"}, true, 2, "--group needs --user"},
    {"one positional", {"GET"}, true, 2, "expected METHOD TARGET"},
    {"positional with --stdin", {"--stdin", "GET", "/"}, true, 2, "--stdin reads METHOD TARGET"},
    {"option without value", {"GET", "/", "--user"}, true, 2, "--user needs a value"},
    {"claims of no service account",
     {"--token-claims", "{\"iss\":\"x\"}", "GET", "/"},
     true,
     1,
     "--token-claims: claim kubernetes.io is missing"},
    {"claims from an unknown issuer",
     {"--token-claims",
      "{\"iss\":\"https://evil\",\"kubernetes.io\":{\"namespace\":\"a\",\"serviceaccount\":"
      "{\"name\":\"b\",\"uid\":\"c\"}}}",
      "GET", "/"},
     true,
     1,
     "issuer \"https://evil\" is not in auth.issuers"},
    {"claims that are not JSON",
     {"--token-claims", "{", "GET", "/"},
     true,
     1,
     "--token-claims: claims are not a JSON object"},
};

static void
test_errors_and_usage_exit_one_and_two(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(err_cases) / sizeof(err_cases[0]); i++) {
        const struct err_case *c = &err_cases[i];
        int rc = ex_run(c->with_config ? ex_sidecar : NULL, c->args);

        if (rc != c->want_rc || strstr(ex_out, c->want) == NULL) {
            fail_msg("%s: exit %d (want %d), output: %s", c->name, rc, c->want_rc, ex_out);
        }
    }
    {
        const char *args[] = {"GET", "/", NULL};

        assert_int_equal(ex_run(tmp("missing.json"), args), 1);
        assert_non_null(strstr(ex_out, "missing.json"));
    }
    {
        const char *args[] = {"--help", NULL};

        assert_int_equal(ex_run(NULL, args), 0);
        assert_non_null(strstr(ex_out, "--token-claims JSON|@FILE"));
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stdin_answers_ten_thousand_lines),
        cmocka_unit_test(test_policy_edit_changes_the_matching_rule),
        cmocka_unit_test(test_state_file_teaches_list_sizes),
        cmocka_unit_test(test_token_claims_from_a_file),
        cmocka_unit_test(test_bytes_that_are_not_utf8_still_give_valid_json),
        cmocka_unit_test(test_errors_and_usage_exit_one_and_two),
    };

    return it_finish(cmocka_run_group_tests(tests, setup, NULL));
}
