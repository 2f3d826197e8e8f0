/* Every way a configuration can be wrong gets one exact, path-precise
 * message: each case below is a whole file that must be refused with the
 * message given, word for word. "${CFT}" in a message stands for the
 * temporary PKI directory the files point into. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf.h"
#include "cf_test_pki.h"

#define CERT       "\"cert\":\"${CFT}/srv.crt\""
#define KEY        "\"key\":\"${CFT}/srv.key\""
#define CLIENT_CA  "\"client_ca\":\"${CFT}/ca.crt\""
#define LISTEN_(x) "\"listen\":{" CERT "," KEY "," CLIENT_CA x "}"
#define LISTEN     LISTEN_("")
#define UP_(x)     "\"upstream\":{\"server\":\"127.0.0.1:6444\",\"ca\":\"${CFT}/ca.crt\"" x "}"
#define UP         UP_("")
#define CLASS_A    "{\"name\":\"a\",\"rate\":\"10/s\",\"burst\":20}"
#define ALL_TO_A   "{\"class\":\"a\"}"
#define LIMITS_(g, classes, rules)                                                                 \
    "\"limits\":{" g "\"classes\":[" classes "],\"rules\":[" rules "]}"
#define LIMITS                  LIMITS_("", CLASS_A, ALL_TO_A)
#define CFG(...)                "{" __VA_ARGS__ "}"
#define WITH(x)                 CFG(LISTEN "," UP "," LIMITS "," x)
#define CLASSES(classes, rules) CFG(LISTEN "," UP "," LIMITS_("", classes, rules))
#define GLOBAL(g)               CFG(LISTEN "," UP "," LIMITS_(g ",", CLASS_A, ALL_TO_A))
#define RULES(rules)            CLASSES(CLASS_A ",{\"name\":\"b\"}", rules "," ALL_TO_A)

struct bad {
    const char *json;
    const char *message;
};

static const struct bad cases[] = {
    /* The file as JSON. */
    {"{\"listen\": }", "t.json:1:12: invalid JSON: unexpected token near '}'"},
    {"{\"log\":{},\"log\":{}}", "t.json:1:15: invalid JSON: duplicate object key near '\"log\"'"},
    {"[]", "t.json: expected a JSON object at the top level, got []"},
    {CFG(LISTEN "," UP "," LIMITS ",\"listne\":{}"),
     "t.json: listne: unknown key, did you mean \"listen\"?"},
    {WITH("\"zzz\":1"),
     "t.json: zzz: unknown key; expected one of listen, upstream, auth, admin, limits, log"},

    /* listen */
    {CFG(UP "," LIMITS),
     "t.json: listen: expected an object with at least cert and key, got nothing"},
    {CFG("\"listen\":5," UP "," LIMITS), "t.json: listen: expected an object, got 5"},
    {CFG("\"listen\":{" KEY "," CLIENT_CA "}," UP "," LIMITS),
     "t.json: listen.cert: expected the serving certificate: a PEM file path, got nothing"},
    {CFG("\"listen\":{\"cert\":\"${CFT}/nope.crt\"," KEY "}," UP "," LIMITS),
     "t.json: listen.cert: expected a readable PEM file with a certificate, got "
     "\"${CFT}/nope.crt\" (No such file or directory)"},
    {CFG("\"listen\":{\"cert\":\"${CFT}/notpem.txt\"," KEY "}," UP "," LIMITS),
     "t.json: listen.cert: expected a readable PEM file with a certificate, got "
     "\"${CFT}/notpem.txt\" (no PEM certificate in it)"},
    {CFG("\"listen\":{" CERT ",\"key\":\"${CFT}/srv.crt\"}," UP "," LIMITS),
     "t.json: listen.key: expected a readable PEM file with an unencrypted private key, got "
     "\"${CFT}/srv.crt\" (no unencrypted PEM private key in it)"},
    {CFG("\"listen\":{" CERT ",\"key\":\"${CFT}/ca.key\"}," UP "," LIMITS),
     "t.json: listen.key: expected the private key of listen.cert, got \"${CFT}/ca.key\" (not "
     "the key of the certificate)"},
    {CFG("\"listen\":{" CERT "," KEY "}," UP "," LIMITS),
     "t.json: listen.client_ca: expected the client CA (a PEM file path) unless client_auth is "
     "\"off\", got nothing"},
    {CFG(LISTEN_(",\"client_auth\":\"maybe\"") "," UP "," LIMITS),
     "t.json: listen.client_auth: expected one of \"off\", \"optional\", \"required\", got "
     "\"maybe\""},
    {CFG(LISTEN_(",\"tls_min_version\":\"1.1\"") "," UP "," LIMITS),
     "t.json: listen.tls_min_version: expected one of \"1.2\", \"1.3\", got \"1.1\""},
    {CFG(LISTEN_(",\"workers\":-1") "," UP "," LIMITS),
     "t.json: listen.workers: expected an integer from 0 to 256, got -1"},
    {CFG(LISTEN_(",\"max_header_bytes\":\"64XB\"") "," UP "," LIMITS),
     "t.json: listen.max_header_bytes: expected a size like \"64KiB\" or a number of bytes from "
     "1KiB to 1MiB, got \"64XB\""},
    {CFG(LISTEN_(",\"max_body_bytes\":\"2GiB\"") "," UP "," LIMITS),
     "t.json: listen.max_body_bytes: expected a size like \"64KiB\" or a number of bytes from "
     "1KiB to 1GiB, got \"2GiB\""},
    {CFG(LISTEN_(",\"header_timeout\":10") "," UP "," LIMITS),
     "t.json: listen.header_timeout: expected a duration like \"30s\" or \"250ms\" from 1ms to "
     "10m, got 10"},
    {CFG(LISTEN_(",\"idle_timeout\":\"5 s\"") "," UP "," LIMITS),
     "t.json: listen.idle_timeout: expected a duration like \"30s\" or \"250ms\" from 1s to 1h, "
     "got \"5 s\""},
    {CFG(LISTEN_(",\"address\":\"localhost\"") "," UP "," LIMITS),
     "t.json: listen.address: expected an address like \"127.0.0.1:6443\", \"[::1]:6443\" or "
     "\"unix:/path\", got \"localhost\""},
    {CFG(LISTEN_(",\"address\":\"::1:6443\"") "," UP "," LIMITS),
     "t.json: listen.address: expected an address like \"127.0.0.1:6443\", \"[::1]:6443\" or "
     "\"unix:/path\", got \"::1:6443\""},
    {CFG(LISTEN_(",\"max_connections\":0") "," UP "," LIMITS),
     "t.json: listen.max_connections: expected an integer from 1 to 1000000, got 0"},
    {CFG(LISTEN_(",\"max_conections\":10") "," UP "," LIMITS),
     "t.json: listen.max_conections: unknown key, did you mean \"max_connections\"?"},

    /* upstream */
    {CFG(LISTEN ",\"upstream\":{\"ca\":\"${CFT}/ca.crt\"}," LIMITS),
     "t.json: upstream.servers: expected the apiserver address(es), e.g. [\"127.0.0.1:6444\"], "
     "got nothing"},
    {CFG(LISTEN "," UP_(",\"servers\":[\"10.0.0.1:6443\"]") "," LIMITS),
     "t.json: upstream.server: expected either server or servers, not both, got "
     "\"127.0.0.1:6444\""},
    {CFG(LISTEN ",\"upstream\":{\"servers\":[],\"ca\":\"${CFT}/ca.crt\"}," LIMITS),
     "t.json: upstream.servers: expected at least one address like \"127.0.0.1:6444\", got []"},
    {CFG(LISTEN ",\"upstream\":{\"servers\":[\"10.0.0.1:6443\",\"10.0.0.2:99999\"],"
                "\"ca\":\"${CFT}/ca.crt\"}," LIMITS),
     "t.json: upstream.servers[1]: expected an address like \"10.0.0.1:6443\", \"[::1]:6443\", "
     "\"apiserver.local:6443\" or \"unix:/path\", got \"10.0.0.2:99999\""},
    {CFG(LISTEN ",\"upstream\":{\"server\":\"127.0.0.1:6444\"}," LIMITS),
     "t.json: upstream.ca: expected the CA that signed the apiserver's certificate (PEM), got "
     "nothing"},
    {CFG(LISTEN "," UP_(",\"client_cert\":\"${CFT}/srv.crt\"") "," LIMITS),
     "t.json: upstream.client_key: expected client_cert and client_key together, got nothing"},
    {CFG(LISTEN "," UP_(",\"health_path\":\"readyz\"") "," LIMITS),
     "t.json: upstream.health_path: expected a path starting with \"/\", got \"readyz\""},
    {CFG(LISTEN "," UP_(",\"server_name\":\"bad name\"") "," LIMITS),
     "t.json: upstream.server_name: expected a DNS name or an IP address, got \"bad name\""},
    {CFG(LISTEN "," UP_(",\"connect_timeout\":\"0s\"") "," LIMITS),
     "t.json: upstream.connect_timeout: expected a duration like \"30s\" or \"250ms\" from 1ms "
     "to 5m, got \"0s\""},

    /* auth */
    {WITH("\"auth\":{\"issuers\":[\"https://k\"],\"keys\":[\"${CFT}/p384.pub\"]}"),
     "t.json: auth.keys[0]: expected a readable PEM file with an RSA or EC P-256 public key, got "
     "\"${CFT}/p384.pub\" (an EC key on secp384r1; ES256 needs P-256)"},
    {WITH("\"auth\":{\"issuers\":[\"https://k\"],\"keys\":[\"${CFT}/sa.pub\","
          "\"${CFT}/ed25519.pub\"]}"),
     "t.json: auth.keys[1]: expected a readable PEM file with an RSA or EC P-256 public key, got "
     "\"${CFT}/ed25519.pub\" (ED25519 key; RS256 needs RSA, ES256 EC P-256)"},
    {WITH("\"auth\":{\"keys\":[\"${CFT}/sa.pub\"]}"),
     "t.json: auth.issuers: expected the service-account issuer(s) that auth.keys sign for, e.g. "
     "[\"https://kubernetes.default.svc.cluster.local\"], got nothing"},
    {WITH("\"auth\":{\"unverified\":\"drop\"}"),
     "t.json: auth.unverified: expected one of \"hash\", \"reject\", got \"drop\""},
    {WITH("\"auth\":{\"issuers\":[\"\"]}"),
     "t.json: auth.issuers[0]: expected a non-empty string, got \"\""},

    /* admin */
    {WITH("\"admin\":{\"address\":\"0.0.0.0:9444\"}"),
     "t.json: admin.address: expected a loopback address (127.0.0.1, [::1], localhost) unless "
     "admin.token_file is set, got \"0.0.0.0:9444\""},
    {WITH("\"admin\":{\"address\":\"unix:/run/fg.sock\"}"),
     "t.json: admin.address: expected HOST:PORT (a unix socket goes in admin.socket), got "
     "\"unix:/run/fg.sock\""},
    {WITH("\"admin\":{\"token_file\":\"${CFT}/missing-token\"}"),
     "t.json: admin.token_file: expected a readable file holding the admin bearer token, got "
     "\"${CFT}/missing-token\""},
    {WITH("\"admin\":{\"token_file\":\"${CFT}/empty\"}"),
     "t.json: admin.token_file: expected a file holding the admin bearer token, got "
     "\"${CFT}/empty\" (empty)"},

    /* log */
    {WITH("\"log\":{\"level\":\"verbose\"}"), "t.json: log.level: expected one of \"error\", "
                                              "\"warn\", \"info\", \"debug\", got \"verbose\""},
    {WITH("\"log\":{\"reject_log_per_s\":\"ten\"}"),
     "t.json: log.reject_log_per_s: expected an integer from 0 to 100000, got \"ten\""},

    /* ${ENV} expansion */
    {CFG("\"listen\":{\"cert\":\"${CF_TEST_UNSET}/srv.crt\"," KEY "}," UP "," LIMITS),
     "t.json: listen.cert: expected environment variable CF_TEST_UNSET to be set, got "
     "\"${CF_TEST_UNSET}/srv.crt\""},
    {CFG("\"listen\":{\"cert\":\"${1X}\"," KEY "}," UP "," LIMITS),
     "t.json: listen.cert: expected ${NAME} or ${NAME:-default} with NAME made of letters, digits "
     "and _, got \"${1X}\""},
    {CFG("\"listen\":{\"cert\":\"${CFT\"," KEY "}," UP "," LIMITS),
     "t.json: listen.cert: expected \"}\" to close \"${\", got \"${CFT\""},

    /* limits: globals */
    {GLOBAL("\"reserved_seats\":200"),
     "t.json: limits.reserved_seats: expected fewer than each seat pool (max_inflight_readonly "
     "400, max_inflight_mutating 200), got 200"},
    {GLOBAL("\"watch_rate\":\"100/s\""),
     "t.json: limits.watch_burst: expected an integer >= 1 since watch_rate is set, got nothing"},
    {GLOBAL("\"retry_after_max\":\"1500ms\""),
     "t.json: limits.retry_after_max: expected a duration in whole seconds like \"30s\" from 1s "
     "to 1h, got \"1500ms\""},
    {GLOBAL("\"retry_after_jitter\":\"-5%\""),
     "t.json: limits.retry_after_jitter: expected a percentage like \"25%\" from 0% to 100%, got "
     "\"-5%\""},
    {GLOBAL("\"max_clients\":0"),
     "t.json: limits.max_clients: expected an integer from 1 to 10000000, got 0"},
    {GLOBAL("\"cost\":{\"max_seat\":5}"),
     "t.json: limits.cost.max_seat: unknown key, did you mean \"max_seats\"?"},
    {GLOBAL("\"cost\":{\"base\":\"one\"}"),
     "t.json: limits.cost.base: expected a number of tokens from 0.001 to 1000, got \"one\""},

    /* limits.classes */
    {CFG(LISTEN "," UP ",\"limits\":{\"rules\":[" ALL_TO_A "]}"),
     "t.json: limits.classes: expected an array of 1 to 4096 classes, got nothing"},
    {CLASSES("", ALL_TO_A),
     "t.json: limits.classes: expected an array of 1 to 4096 classes, got []"},
    {CLASSES("{\"rate\":\"1/s\",\"burst\":1}", ALL_TO_A),
     "t.json: limits.classes[0].name: expected a class name, got nothing"},
    {CLASSES("{\"name\":\"a b\"}", ALL_TO_A),
     "t.json: limits.classes[0].name: expected a name of 1 to 63 letters, digits, \"-\", \"_\" or "
     "\".\", starting with a letter or digit, got \"a b\""},
    {CLASSES(CLASS_A ",{\"name\":\"b\"}," CLASS_A, ALL_TO_A),
     "t.json: limits.classes[2].name: expected a name no other class has (limits.classes[0] has "
     "it), got \"a\""},
    {CLASSES(CLASS_A ",{\"name\":\"b\"},{\"name\":\"c\"},{\"name\":\"d\",\"burst\":-4}", ALL_TO_A),
     "t.json: limits.classes[3].burst: expected an integer >= 1, got -4"},
    {CLASSES("{\"name\":\"a\",\"rate\":\"ten/s\",\"burst\":1}", ALL_TO_A),
     "t.json: limits.classes[0].rate: expected a rate like \"10/s\", \"600/m\" or a number per "
     "second, or \"none\", got \"ten/s\""},
    {CLASSES("{\"name\":\"a\",\"rate\":\"10/s\"}", ALL_TO_A),
     "t.json: limits.classes[0].burst: expected an integer >= 1 since rate is set, got nothing"},
    {CLASSES("{\"name\":\"a\",\"mode\":\"shadow\"}", ALL_TO_A),
     "t.json: limits.classes[0].mode: expected one of \"enforce\", \"dry-run\", \"exempt\", got "
     "\"shadow\""},
    {CLASSES("{\"name\":\"a\",\"distinguisher\":\"pod\"}", ALL_TO_A),
     "t.json: limits.classes[0].distinguisher: expected one of \"user\", \"namespace\", \"node\", "
     "\"none\", got \"pod\""},
    {CLASSES("{\"name\":\"a\",\"concurrency_share\":\"60%\"},"
             "{\"name\":\"b\",\"concurrency_share\":50}",
             ALL_TO_A),
     "t.json: limits.classes[1].concurrency_share: expected at most 40% (the classes before it "
     "hold 60% of the seats), got 50%"},
    {CLASSES("{\"name\":\"a\",\"concurrency_share\":\"150%\"}", ALL_TO_A),
     "t.json: limits.classes[0].concurrency_share: expected a percentage like \"25%\" from 0% to "
     "100%, got \"150%\""},
    {CLASSES("{\"name\":\"a\",\"max_watches\":10,\"max_watches_per_key\":20}", ALL_TO_A),
     "t.json: limits.classes[0].max_watches_per_key: expected at most max_watches (10), got 20"},
    {CFG(LISTEN "," UP "," LIMITS_("\"max_watches\":100,", "{\"name\":\"a\",\"max_watches\":200}",
                                   ALL_TO_A)),
     "t.json: limits.classes[0].max_watches: expected at most limits.max_watches (100), got 200"},
    {CLASSES("{\"name\":\"a\",\"cost\":{\"max_seats\":5000}}", ALL_TO_A),
     "t.json: limits.classes[0].cost.max_seats: expected an integer from 1 to 1000, got 5000"},
    {CLASSES("{\"name\":\"a\",\"rate\":\"10/s\",\"brust\":20}", ALL_TO_A),
     "t.json: limits.classes[0].brust: unknown key, did you mean \"burst\"?"},
    {CLASSES("{\"name\":\"a\",\"max_wait\":\"2m\"}", ALL_TO_A),
     "t.json: limits.classes[0].max_wait: expected a duration like \"30s\" or \"250ms\" from 0s "
     "to 1m, got \"2m\""},
    {CLASSES("\"a\"", ALL_TO_A), "t.json: limits.classes[0]: expected an object, got \"a\""},

    /* limits.rules */
    {CFG(LISTEN "," UP ",\"limits\":{\"classes\":[" CLASS_A "]}"),
     "t.json: limits.rules: expected an array of rules ending with a catch-all, got nothing"},
    {CLASSES("{\"name\":\"system\"}", "{\"class\":\"sytem\"}"),
     "t.json: limits.rules[0].class: expected the name of a class in limits.classes, got "
     "\"sytem\" (did you mean \"system\"?)"},
    {CLASSES(CLASS_A, "{\"users\":[\"x\"]}"),
     "t.json: limits.rules[0].class: expected the name of a class in limits.classes, got "
     "nothing"},
    {CLASSES(CLASS_A, "{\"class\":\"a\",\"groups\":[\"system:masters\"]}"),
     "t.json: limits.rules[0]: expected the last rule to be a catch-all (only \"class\", matching "
     "every request), got a rule with groups"},
    {CLASSES(CLASS_A, ALL_TO_A "," ALL_TO_A),
     "t.json: limits.rules[0]: expected only the last rule to match every request, got a "
     "catch-all (the rules after it could never match)"},
    {RULES("{\"class\":\"b\",\"verbs\":[\"get\",\"gets\"]}"),
     "t.json: limits.rules[0].verbs[1]: expected a kube verb (get, list, watch, create, update, "
     "patch, delete, deletecollection, proxy, post, put, head, options) or \"*\", got \"gets\""},
    {RULES("{\"class\":\"b\",\"service_accounts\":[\"kube-system\"]}"),
     "t.json: limits.rules[0].service_accounts[0]: expected \"NAMESPACE/NAME\" or "
     "\"NAMESPACE/*\", got \"kube-system\""},
    {RULES("{\"class\":\"b\",\"credentials\":[\"cert\"]}"),
     "t.json: limits.rules[0].credentials[0]: expected one of \"certificate\", \"token\", "
     "\"unverified\", \"anonymous\", got \"cert\""},
    {RULES("{\"class\":\"b\",\"groups\":[\"g\"],\"namespaces\":[\"default\"]}"),
     "t.json: limits.rules[0].namespaces: expected resources next to it (namespaces narrows "
     "resource requests), got an array"},
    {RULES("{\"class\":\"b\",\"non_resource_urls\":[\"healthz\"]}"),
     "t.json: limits.rules[0].non_resource_urls[0]: expected a path like \"/healthz\", "
     "\"/apis/*\" or \"*\", got \"healthz\""},
    {RULES("{\"class\":\"b\",\"group\":[\"g\"]}"),
     "t.json: limits.rules[0].group: unknown key, did you mean \"groups\"?"},
    {RULES("{\"class\":\"b\",\"resources\":[\"pods\"],\"cluster_scope\":\"yes\"}"),
     "t.json: limits.rules[0].cluster_scope: expected true or false, got \"yes\""},
    {RULES("{\"class\":\"b\",\"users\":\"alice\"}"),
     "t.json: limits.rules[0].users: expected an array of at most 1024 strings, got \"alice\""},
    {RULES("{\"class\":\"b\",\"resources\":[\"Pods\"]}"),
     "t.json: limits.rules[0].resources[0]: expected a resource like \"pods\", \"pods/log\", "
     "\"*/status\" or \"*\", got \"Pods\""},
    {RULES("{\"class\":\"b\",\"resources\":[\"pods\"],\"namespaces\":[\"kube_system\"]}"),
     "t.json: limits.rules[0].namespaces[0]: expected a namespace name or \"*\", got "
     "\"kube_system\""},
};

#define NCASES (sizeof(cases) / sizeof(cases[0]))

/* <msg> with "${CFT}" replaced by the PKI directory. */
static void
expected(const char *msg, char *out, size_t len)
{
    const char *p = msg, *hit;
    size_t o = 0;

    while ((hit = strstr(p, "${CFT}")) != NULL && o < len) {
        o += (size_t)snprintf(out + o, len - o, "%.*s%s", (int)(hit - p), p, cf_test_dir);
        p = hit + 6;
    }
    if (o < len) {
        snprintf(out + o, len - o, "%s", p);
    }
}

static int
setup(void **state)
{
    (void)state;
    unsetenv("CF_TEST_UNSET");
    return cf_test_pki_make();
}

static int
teardown(void **state)
{
    (void)state;
    cf_test_pki_remove();
    return 0;
}

static void
test_base_configuration_is_valid(void **state)
{
    static const char *const good[] = {WITH("\"log\":{}"),
                                       RULES("{\"class\":\"b\",\"groups\":[\"g\"]}")};
    struct cf_config *cf = NULL;
    char err[CF_ERRLEN] = "";
    size_t i;

    (void)state;
    /* The cases are this file plus one mistake: it must load as it is. */
    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        if (cf_load_string(good[i], "t.json", &cf, err, sizeof(err)) != 0) {
            fail_msg("good config %zu refused: %s", i, err);
        }
        cf_unref(cf);
    }
}

static void
test_each_invalid_configuration_names_path_expectation_and_value(void **state)
{
    size_t i, failures = 0;

    (void)state;
    assert_true(NCASES >= 40);
    for (i = 0; i < NCASES; i++) {
        struct cf_config *cf = NULL;
        char err[CF_ERRLEN] = "", want[CF_ERRLEN * 2];

        expected(cases[i].message, want, sizeof(want));
        if (cf_load_string(cases[i].json, "t.json", &cf, err, sizeof(err)) == 0) {
            print_error("case %zu loaded, expected: %s\n", i, want);
            cf_unref(cf);
            failures++;
        } else if (strcmp(err, want) != 0) {
            print_error("case %zu\n  want: %s\n  got:  %s\n", i, want, err);
            failures++;
        }
        assert_null(cf);
    }
    assert_int_equal(failures, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base_configuration_is_valid),
        cmocka_unit_test(test_each_invalid_configuration_names_path_expectation_and_value),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
