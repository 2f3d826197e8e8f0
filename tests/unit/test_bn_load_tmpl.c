/* Template expansion, table-driven: every placeholder, literal braces in
 * JSON bodies, and the exact message for each malformed template. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "bn_load_tmpl.h"

struct expand_case {
    const char *src;
    uint64_t i;
    const char *want; /* NULL: fails */
    const char *why;  /* the failure message */
};

static const struct expand_case cases[] = {
    {"/api/v1/nodes/node-{i}", 7, "/api/v1/nodes/node-7", NULL},
    {"node-{i+1}", 0, "node-1", NULL},
    {"node-{i%100}", 1234, "node-34", NULL},
    {"node-{i%100+1}", 199, "node-100", NULL},
    {"{i}{i}", 12, "1212", NULL},
    {"system:node:node-{i}", 4999, "system:node:node-4999", NULL},
    {"{pop}-{i}", 3, "fleet-3", NULL},
    {"node-{i:05}", 42, "node-00042", NULL},
    {"node-{i%1000+1:03}", 1998, "node-999", NULL},
    {"node-{i:02}", 12345, "node-12345", NULL},
    {"{i:5}", 0, NULL,
     "malformed placeholder \"{i:5}\" (expected {i}, {i+N}, {i%N}, {i%N+M}, with an optional :0W "
     "width, or {pop})"},
    {"{i:00}", 0, NULL,
     "malformed placeholder \"{i:00}\" (expected {i}, {i+N}, {i%N}, {i%N+M}, with an optional :0W "
     "width, or {pop})"},
    {"", 0, "", NULL},
    {"no placeholders", 0, "no placeholders", NULL},
    {"{\"kind\":\"Pod\",\"metadata\":{\"name\":\"p-{i}\"}}", 2,
     "{\"kind\":\"Pod\",\"metadata\":{\"name\":\"p-2\"}}", NULL},
    {"{index} {} {i {pod}", 5, "{index} {} {i {pod}", NULL},
    {"trailing {", 0, "trailing {", NULL},
    {"{i+}", 0, NULL,
     "malformed placeholder \"{i+}\" (expected {i}, {i+N}, {i%N}, {i%N+M}, with an optional :0W "
     "width, or {pop})"},
    {"x{i%}", 0, NULL,
     "malformed placeholder \"{i%}\" (expected {i}, {i+N}, {i%N}, {i%N+M}, with an optional :0W "
     "width, or {pop})"},
    {"{i+1%3}", 0, NULL,
     "malformed placeholder \"{i+1%3}\" (expected {i}, {i+N}, {i%N}, {i%N+M}, with an optional :0W "
     "width, or {pop})"},
    {"{i%0}", 0, NULL, "\"{i%0}\": the modulo must be at least 1"},
    {"{i+1234567890123456789}", 0, NULL,
     "malformed placeholder \"{i+1234567890123456789}\" (expected {i}, {i+N}, {i%N}, {i%N+M}, "
     "with an optional :0W width, or {pop})"},
};

static void
test_expands_the_table(void **state)
{
    size_t k;

    (void)state;
    for (k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        const struct expand_case *c = &cases[k];
        struct bn_tmpl_vars v = {.i = c->i, .pop = "fleet"};
        char out[256], why[256] = "";
        int n = bn_tmpl_expand(c->src, &v, out, sizeof(out), why, sizeof(why));

        if (c->want != NULL) {
            if (n < 0) {
                fail_msg("%s: failed: %s", c->src, why);
            }
            assert_string_equal(out, c->want);
            assert_int_equal(n, (int)strlen(c->want));
        } else {
            if (n >= 0) {
                fail_msg("%s: expanded to %s", c->src, out);
            }
            assert_string_equal(why, c->why);
        }
    }
}

static void
test_expansion_that_does_not_fit_fails_and_stays_terminated(void **state)
{
    struct bn_tmpl_vars v = {.i = 123456, .pop = "p"};
    char out[16], why[128];

    (void)state;
    assert_int_equal(bn_tmpl_expand("node-{i}", &v, out, 8, why, sizeof(why)), -1);
    assert_string_equal(why, "expands to more than 7 bytes");
    assert_true(memchr(out, '\0', 8) != NULL);
    assert_int_equal(bn_tmpl_expand("node-{i}", &v, out, 11, why, sizeof(why)), -1);
    assert_int_equal(bn_tmpl_expand("node-{i}", &v, out, 12, why, sizeof(why)), 11);
}

static void
test_check_tries_the_first_and_last_member(void **state)
{
    char why[128];

    (void)state;
    assert_int_equal(bn_tmpl_check("/api/v1/nodes/node-{i}", 5000, why, sizeof(why)), 0);
    assert_int_equal(bn_tmpl_check("{i%0}", 1, why, sizeof(why)), -1);
}

static void
test_uses_index_tells_per_member_templates_apart(void **state)
{
    (void)state;
    assert_true(bn_tmpl_uses_index("node-{i}"));
    assert_true(bn_tmpl_uses_index("{\"a\":1} node-{i%3+1}"));
    assert_false(bn_tmpl_uses_index("/version"));
    assert_false(bn_tmpl_uses_index("{pop} {index}"));
    assert_true(bn_tmpl_uses_index("node-{i:05}"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_expands_the_table),
        cmocka_unit_test(test_expansion_that_does_not_fit_fails_and_stays_terminated),
        cmocka_unit_test(test_check_tries_the_first_and_last_member),
        cmocka_unit_test(test_uses_index_tells_per_member_templates_apart),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
