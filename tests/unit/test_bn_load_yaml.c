/* The YAML subset as trees: what each construct reads as, compared with
 * the same document written as JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "bn_load_yaml.h"

struct case_ {
    const char *yaml;
    const char *json;
};

static void
test_constructs_read_as_their_json(void **state)
{
    static const struct case_ cases[] = {
        {"a: b\nc: 'd e'\n", "{\"a\": \"b\", \"c\": \"d e\"}"},
        {"# top\n---\nk: \"x # not a comment\"  # a comment\n", "{\"k\": \"x # not a comment\"}"},
        {"l:\n- 1\n- two\n- 'it''s'\n", "{\"l\": [\"1\", \"two\", \"it's\"]}"},
        {"l:\n  - a: 1\n    b: 2\n  - a: 3\n",
         "{\"l\": [{\"a\": \"1\", \"b\": \"2\"}, {\"a\": \"3\"}]}"},
        {"m: {x: [1, 2], y: {z: ''}}\n", "{\"m\": {\"x\": [\"1\", \"2\"], \"y\": {\"z\": \"\"}}}"},
        {"e: []\nf: {}\n", "{\"e\": [], \"f\": {}}"},
        {"t: true\nf: false\nn: null\ntilde: ~\nempty:\n",
         "{\"t\": true, \"f\": false, \"n\": null, \"tilde\": null, \"empty\": null}"},
        {"\"quoted key\": v\nurl: https://h:6443/x\n",
         "{\"quoted key\": \"v\", \"url\": \"https://h:6443/x\"}"},
        {"- a\n- - b\n  - c\n", "[\"a\", [\"b\", \"c\"]]"},
        {"d: \"tab\\there\"\n", "{\"d\": \"tab\\there\"}"},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *text = strdup(cases[i].yaml), err[256] = "";
        json_t *got = bn_yaml_load(text, "y", err, sizeof(err));
        json_t *want = json_loads(cases[i].json, 0, NULL);

        assert_non_null(want);
        if (got == NULL || !json_equal(got, want)) {
            char *g = got != NULL ? json_dumps(got, JSON_COMPACT) : NULL;

            fail_msg("case %zu: got %s (%s)", i, g != NULL ? g : "NULL", err);
        }
        json_decref(got);
        json_decref(want);
        free(text);
    }
}

static void
test_what_is_not_supported_is_refused_with_its_line(void **state)
{
    static const struct case_ bad[] = {
        {"a: &x 1\n", "y:1: anchors, aliases, tags and block scalars are not supported"},
        {"a: !!str 1\n", "y:1: anchors, aliases, tags and block scalars are not supported"},
        {"a: b\n  c: d\n", "y:2: unexpected indentation"},
        {"a: {b: c\n",
         "y:1: malformed flow collection (expected {k: v, ...} or [a, ...] on one line)"},
        {"just text\n", "y:1: expected \"key: value\""},
        {"\n# only a comment\n", "y: empty document"},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *text = strdup(bad[i].yaml), err[256] = "";
        json_t *got = bn_yaml_load(text, "y", err, sizeof(err));

        assert_null(got);
        if (strcmp(err, bad[i].json) != 0) {
            fail_msg("case %zu:\n  got  %s\n  want %s", i, err, bad[i].json);
        }
        free(text);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_constructs_read_as_their_json),
        cmocka_unit_test(test_what_is_not_supported_is_refused_with_its_line),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
