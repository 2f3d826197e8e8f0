/* The watch wire: reading event lines and list heads, and the LIST and
 * watch targets a reflector sends, parameter by parameter. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "bn_load_event.h"

struct ev_case {
    const char *line;
    enum bn_wev_type type;
    const char *rv;
    int code;
};

static void
test_event_lines_give_type_version_and_error_code(void **state)
{
    static const struct ev_case cases[] = {
        {"{\"type\":\"ADDED\",\"object\":{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":"
         "{\"name\":\"p\",\"namespace\":\"default\",\"uid\":\"u\",\"resourceVersion\":\"1234\"}}}",
         BN_WEV_ADDED, "1234", 0},
        {"{\"type\":\"MODIFIED\",\"object\":{\"metadata\":{\"resourceVersion\":\"7\"}}}",
         BN_WEV_MODIFIED, "7", 0},
        {"{\"type\":\"DELETED\",\"object\":{\"metadata\":{\"resourceVersion\":\"8\"}}}",
         BN_WEV_DELETED, "8", 0},
        {"{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"Pod\",\"metadata\":{\"resourceVersion\":"
         "\"99\",\"annotations\":{\"k8s.io/initial-events-end\":\"true\"}}}}",
         BN_WEV_BOOKMARK, "99", 0},
        {"{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":"
         "{},\"status\":\"Failure\",\"message\":\"too old resource version: 1 (5)\",\"reason\":"
         "\"Expired\",\"code\":410}}",
         BN_WEV_ERROR, "", 410},
        {"{\"type\":\"ERROR\",\"object\":{\"code\": 429}}", BN_WEV_ERROR, "", 429},
        {"{\"type\": \"ADDED\", \"object\": {\"metadata\": {\"resourceVersion\": \"5\"}}}",
         BN_WEV_ADDED, "5", 0},
        /* A line cut at the keep limit still gives what came first. */
        {"{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"resourceVersion\":\"42\",\"labels\":{\"a",
         BN_WEV_ADDED, "42", 0},
        {"{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"resourceVersion\":\"4", BN_WEV_ADDED, "",
         0},
        {"{\"type\":\"SOMETHING\"}", BN_WEV_UNKNOWN, "", 0},
        {"not json at all", BN_WEV_UNKNOWN, "", 0},
        {"", BN_WEV_UNKNOWN, "", 0},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct bn_wev ev;

        bn_wev_parse(cases[i].line, strlen(cases[i].line), &ev);
        if (ev.type != cases[i].type || strcmp(ev.rv, cases[i].rv) != 0 ||
            ev.code != cases[i].code) {
            fail_msg("case %zu: type %d rv \"%s\" code %d", i, ev.type, ev.rv, ev.code);
        }
    }
}

static void
test_list_resource_version_comes_from_the_list_metadata(void **state)
{
    const char *body =
        "{\"kind\":\"PodList\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":"
        "\"31337\"},\"items\":[{\"metadata\":{\"resourceVersion\":\"5\"}}]}";
    char rv[BN_RV_MAX];

    (void)state;
    assert_int_equal(bn_list_rv(body, strlen(body), rv, sizeof(rv)), 0);
    assert_string_equal(rv, "31337");
    assert_int_equal(bn_list_rv("{\"items\":[]}", 12, rv, sizeof(rv)), -1);
}

struct target_case {
    const char *path;
    const char *rv;
    const char *list;
    const char *watch;
};

static void
test_targets_are_what_a_reflector_sends(void **state)
{
    static const struct target_case cases[] = {
        {"/api/v1/pods?watch=true&fieldSelector=spec.nodeName=node-7", "0",
         "/api/v1/pods?fieldSelector=spec.nodeName=node-7&resourceVersion=0",
         "/api/v1/pods?allowWatchBookmarks=true&fieldSelector=spec.nodeName=node-7&"
         "resourceVersion=0&timeoutSeconds=300&watch=true"},
        {"/api/v1/nodes", "1234", "/api/v1/nodes?resourceVersion=1234",
         "/api/v1/nodes?allowWatchBookmarks=true&resourceVersion=1234&timeoutSeconds=300&watch="
         "true"},
        {"/api/v1/namespaces/kube-system/configmaps?watch=1&resourceVersion=9&timeoutSeconds=5&"
         "labelSelector=app%3Dx",
         NULL, "/api/v1/namespaces/kube-system/configmaps?labelSelector=app%3Dx",
         "/api/v1/namespaces/kube-system/configmaps?allowWatchBookmarks=true&labelSelector=app%3Dx&"
         "timeoutSeconds=300&watch=true"},
        {"/api/v1/watch/pods?fieldSelector=spec.nodeName%3Dn", "",
         "/api/v1/pods?fieldSelector=spec.nodeName%3Dn",
         "/api/v1/pods?allowWatchBookmarks=true&fieldSelector=spec.nodeName%3Dn&timeoutSeconds=300&"
         "watch=true"},
        {"/apis/apps/v1/watch/namespaces/x/deployments", "5",
         "/apis/apps/v1/namespaces/x/deployments?resourceVersion=5",
         "/apis/apps/v1/namespaces/x/deployments?allowWatchBookmarks=true&resourceVersion=5&"
         "timeoutSeconds=300&watch=true"},
    };
    char out[BN_WATCH_TARGET_MAX];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_true(bn_watch_list_target(cases[i].path, cases[i].rv, out, sizeof(out)) > 0);
        if (strcmp(out, cases[i].list) != 0) {
            fail_msg("case %zu list:\n  got  %s\n  want %s", i, out, cases[i].list);
        }
        assert_true(bn_watch_watch_target(cases[i].path, cases[i].rv, 300, out, sizeof(out)) > 0);
        if (strcmp(out, cases[i].watch) != 0) {
            fail_msg("case %zu watch:\n  got  %s\n  want %s", i, out, cases[i].watch);
        }
    }
}

static void
test_list_without_version_is_a_consistent_read(void **state)
{
    char out[64];

    (void)state;
    assert_int_equal(bn_watch_list_target("/api/v1/pods?watch=true", NULL, out, sizeof(out)), 12);
    assert_string_equal(out, "/api/v1/pods");
    assert_int_equal(bn_watch_list_target("/api/v1/pods?watch=true", NULL, out, 12), -1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_event_lines_give_type_version_and_error_code),
        cmocka_unit_test(test_list_resource_version_comes_from_the_list_metadata),
        cmocka_unit_test(test_targets_are_what_a_reflector_sends),
        cmocka_unit_test(test_list_without_version_is_a_consistent_read),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
