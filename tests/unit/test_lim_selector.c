/* lim_selector against apimachinery: label selectors from pkg/labels
 * selector_test.go (TestSelectorParse, TestSetSelectorParser,
 * TestRequirementConstructor) plus the lexer's NUL and validation corners,
 * and field selectors from pkg/fields selector_test.go plus escapes,
 * term order and UnescapeValue's U+FFFD rewrite. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "lim_selector.h"

struct lcase {
    const char *s;
    size_t len; /* 0: strlen(s) */
    bool valid;
};

/* clang-format off */
static const struct lcase labels[] = {
    /* TestSelectorParse */
    {"x=a,y=b,z=c", 0, true}, {"", 0, true}, {"x!=a,y=b", 0, true}, {"x=", 0, true},
    {"x= ", 0, true}, {"x=,z= ", 0, true}, {"x= ,z= ", 0, true}, {"!x", 0, true},
    {"x>1", 0, true}, {"x>1,z<5", 0, true},
    {"x=a||y=b", 0, false}, {"x==a==b", 0, false}, {"!x=a", 0, false}, {"x<a", 0, false},
    /* TestSetSelectorParser */
    {"\rx", 0, true},
    {"this-is-a-dns.domain.com/key-with-dash", 0, true},
    {"this-is-another-dns.domain.com/key-with-dash in (so,what)", 0, true},
    {"0.1.2.domain/99 notin (10.10.100.1, tick.tack.clock)", 0, true},
    {"foo  in\t (abc)", 0, true}, {"x notin\n (abc)", 0, true}, {"x  notin\t\t\t(abc,def)", 0, true},
    {"x in (abc,def)", 0, true}, {"x in (abc,)", 0, true}, {"x in ()", 0, true},
    {"x notin (abc,,def),bar,z in (),w", 0, true}, {"x,y in (a)", 0, true}, {"x=a", 0, true},
    {"x<7", 0, true}, {"x=a,y!=b", 0, true}, {"x=a,y!=b,z in (h,i,j)", 0, true},
    {"x,,y", 0, false}, {",x,y", 0, false}, {"x nott in (y)", 0, false},
    {"x notin ( )", 0, true}, {"x notin (, a)", 0, true}, {"a in (xyz),", 0, false},
    {"a in (xyz)b notin ()", 0, false}, {"a ", 0, true}, {"a in (x,y,notin, z,in)", 0, true},
    {"a in (xyz abc)", 0, false}, {"a notin(", 0, false}, {"a (", 0, false}, {"(", 0, false},
    /* TestSelectorMatches / TestRequirementConstructor keys and values */
    {"notin=in", 0, true}, {"1foo in (bar)", 0, true}, {"1234 in (bar)", 0, true},
    {"y>1", 0, true}, {"z<6", 0, true}, {"foo>bar", 0, false}, {"barz<blah", 0, false},
    {"Key=axahm2EJ8Phiephe2eixohbee9eGeiyees1thuozi1xoh0GiuH3diewi8iem7Nui", 0, false},
    /* Keys: qualified names with an optional DNS-1123 subdomain prefix. */
    {"in in (in)", 0, true}, {"a/b/c", 0, false}, {"/a", 0, false}, {"a/", 0, false},
    {"A.B/c", 0, false}, {"a-/b", 0, false}, {"a..b/c", 0, false}, {"-a", 0, false},
    {"a_", 0, false}, {"a_b.c-D", 0, true}, {"a==b", 0, true}, {"a!=", 0, true},
    /* '<' and '>' need an int64 that is also a valid label value. */
    {"x>-1", 0, false}, {"x<", 0, false}, {"x>+1", 0, false}, {"x>007", 0, true},
    {"x>9223372036854775807", 0, true}, {"x>9223372036854775808", 0, false},
    /* Structure. */
    {"=a", 0, false}, {",", 0, false}, {"a,", 0, false}, {"!", 0, false}, {"a in", 0, false},
    {"a in (", 0, false}, {"a in (b", 0, false}, {"a b", 0, false}, {"a=b c", 0, false},
    {"a=b=c", 0, false}, {"!a,!b", 0, true}, {"a=(b)", 0, false}, {"a in b", 0, false},
    {" \t\r\n", 0, true}, {"a=b,", 0, false}, {"a =  b ,  c != d", 0, true},
    /* A NUL at a token start ends the input; right after an identifier or
     * an operator it is consumed as a separator. */
    {"a \0!!", 5, true}, {"\0junk", 5, true}, {"a,\0b", 4, true}, {"a, \0b", 5, false}, {"a\0b", 3, false},
    {"a=\0b", 4, true}, {"a=b\0", 4, true}, {"a\0", 2, true},
};
/* clang-format on */

struct fcase {
    const char *s;
    int want; /* lim_field_selector_name's result */
    const char *name;
};

/* clang-format off */
static const struct fcase fields[] = {
    /* TestSelectorParse, TestDeterministicParse */
    {"x=a,y=b,z=c", 0, NULL}, {"", 0, NULL}, {"x!=a,y=b", 0, NULL},
    {"x=a||y=b", -1, NULL}, {"x==a==b", -1, NULL}, {"x=a,a=x", 0, NULL},
    /* RequiresExactMatch on metadata.name */
    {"metadata.name=foo", 1, "foo"}, {"metadata.name==foo", 1, "foo"},
    {"metadata.name!=foo", 0, NULL}, {"metadata.name=", 1, ""},
    {",metadata.name=a,", 1, "a"}, {"spec.x=1,metadata.name=a", 1, "a"},
    {"metadata.name=b,metadata.name=a", 1, "a"}, {"metadata.name=x,metadata.name==y", 1, "y"},
    {"metadata.name!=a,metadata.name=b", 1, "b"}, {"metadata.namespace=a", 0, NULL},
    {"Metadata.name=a", 0, NULL}, {"metadata.name =a", 0, NULL},
    /* splitTerm / UnescapeValue */
    {"x", -1, NULL}, {"=", 0, NULL}, {"==", 0, NULL}, {"!=", 0, NULL}, {"a!==b", -1, NULL},
    {"metadata.name=a\\,b", 1, "a,b"}, {"metadata.name=a\\\\", 1, "a\\"},
    {"metadata.name=a\\=", 1, "a="}, {"metadata.name=a\\", -1, NULL},
    {"metadata.name=a\\x", -1, NULL}, {"a\\=b=c", -1, NULL}, {"a\\,b=c", 0, NULL},
    {"metadata.name=a\\,b,x=\\\\", 1, "a,b"},
    /* Without an escape the value is kept byte for byte... */
    {"metadata.name=x\xff", 1, "x\xff"},
    /* ...with one, Go rewrites it rune by rune and bad UTF-8 becomes U+FFFD. */
    {"metadata.name=\\=\xff", 1, "=\xef\xbf\xbd"},
    {"metadata.name=\xc3\xa9\\,", 1, "\xc3\xa9,"},
    {"metadata.name=\xed\xa0\x80\\,", 1, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd,"},
    {"metadata.name=\xf0\x9f\x98\x80\\=", 1, "\xf0\x9f\x98\x80="},
    {"metadata.name=\xf4\x90\x80\x80\\=", 1, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd="},
    {"metadata.name=\xc0\xaf\\=", 1, "\xef\xbf\xbd\xef\xbf\xbd="},
};
/* clang-format on */

static void
test_label_selector_validity_matches_labels_parse(void **state)
{
    size_t i, failed = 0;

    (void)state;
    for (i = 0; i < sizeof(labels) / sizeof(labels[0]); i++) {
        size_t n = labels[i].len != 0 ? labels[i].len : strlen(labels[i].s);

        if (lim_label_selector_valid(labels[i].s, n) != labels[i].valid) {
            print_error("labels[%zu] \"%s\": valid is %d, want %d\n", i, labels[i].s,
                        !labels[i].valid, labels[i].valid);
            failed++;
        }
    }
    assert_int_equal(failed, 0);
}

static void
test_label_selector_key_and_value_length_bounds(void **state)
{
    char s[400];

    (void)state;
    memset(s, 'a', sizeof(s));
    assert_true(lim_label_selector_valid(s, 63));
    assert_false(lim_label_selector_valid(s, 64));
    /* 253-byte prefix, '/', 63-byte name */
    s[253] = '/';
    assert_true(lim_label_selector_valid(s, 253 + 1 + 63));
    assert_false(lim_label_selector_valid(s, 253 + 1 + 64));
    memmove(s + 1, s, 320);
    assert_false(lim_label_selector_valid(s, 254 + 1 + 63));
    memcpy(s, "k=", 2);
    memset(s + 2, 'v', 64);
    assert_true(lim_label_selector_valid(s, 2 + 63));
    assert_false(lim_label_selector_valid(s, 2 + 64));
}

static void
test_field_selector_pins_metadata_name_like_requires_exact_match(void **state)
{
    char out[64];
    size_t i, failed = 0;

    (void)state;
    for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        const char *rhs = NULL;
        size_t rhs_len = 0, n;
        int got = lim_field_selector_name(fields[i].s, strlen(fields[i].s), &rhs, &rhs_len);

        if (got != fields[i].want) {
            print_error("fieldSelector \"%s\": %d, want %d\n", fields[i].s, got, fields[i].want);
            failed++;
            continue;
        }
        if (got != 1) {
            continue;
        }
        n = lim_field_unescape(rhs, rhs_len, out);
        if (n != lim_field_unescape(rhs, rhs_len, NULL) || n != strlen(fields[i].name) ||
            memcmp(out, fields[i].name, n) != 0) {
            print_error("fieldSelector \"%s\": name \"%.*s\", want \"%s\"\n", fields[i].s, (int)n,
                        out, fields[i].name);
            failed++;
        }
    }
    assert_int_equal(failed, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_label_selector_validity_matches_labels_parse),
        cmocka_unit_test(test_label_selector_key_and_value_length_bounds),
        cmocka_unit_test(test_field_selector_pins_metadata_name_like_requires_exact_match),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
