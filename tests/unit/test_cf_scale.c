/* A 1,000-class file (each class with its own rule, the way a big fleet
 * splits tenants) loads in well under a second: names are hashed, nothing
 * is quadratic on the load path. Prints the time; asserts only the result,
 * never the clock (a loaded CI machine must not fail it). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cf.h"
#include "cf_test_pki.h"

#define NCLASSES 1000

static char *
big_config(size_t n)
{
    size_t cap = 512 + n * 400, o = 0, i;
    char *s = malloc(cap);

    if (s == NULL) {
        return NULL;
    }
    o += (size_t)snprintf(s + o, cap - o,
                          "{\"listen\":{\"cert\":\"${CFT}/srv.crt\",\"key\":\"${CFT}/srv.key\","
                          "\"client_ca\":\"${CFT}/ca.crt\"},\"upstream\":{\"server\":"
                          "\"127.0.0.1:6444\",\"ca\":\"${CFT}/ca.crt\"},\"limits\":{\"classes\":[");
    for (i = 0; i < n; i++) {
        o += (size_t)snprintf(s + o, cap - o,
                              "%s{\"name\":\"tenant-%04zu\",\"distinguisher\":\"user\","
                              "\"rate\":\"%zu/m\",\"burst\":%zu,\"class_rate\":\"50/s\","
                              "\"class_burst\":100,\"max_watches_per_key\":10,"
                              "\"watch_rate\":\"6/m\",\"watch_burst\":3}",
                              i == 0 ? "" : ",", i, 60 + i, 5 + i % 7);
    }
    o += (size_t)snprintf(s + o, cap - o, "],\"rules\":[");
    for (i = 0; i < n; i++) {
        o += (size_t)snprintf(s + o, cap - o,
                              "{\"class\":\"tenant-%04zu\",\"service_accounts\":[\"team-%zu/*\"],"
                              "\"verbs\":[\"get\",\"list\",\"watch\"]},",
                              i, i);
    }
    snprintf(s + o, cap - o, "{\"class\":\"tenant-0000\"}]}}");
    return s;
}

static void
test_a_thousand_classes_load_quickly(void **state)
{
    char *json = big_config(NCLASSES), path[600], err[CF_ERRLEN] = "";
    struct cf_config *cf = NULL;
    struct timespec t0, t1;
    FILE *f;
    double ms;

    (void)state;
    assert_non_null(json);
    snprintf(path, sizeof(path), "%s/big.json", cf_test_dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(json, f);
    fclose(f);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (cf_load(path, &cf, err, sizeof(err)) != 0) {
        fail_msg("%s", err);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    printf("cf_load: %d classes, %d rules, %zu bytes in %.1f ms\n", NCLASSES, NCLASSES + 1,
           strlen(json), ms);
    assert_int_equal(lim_policy_class_count(cf->policy), NCLASSES);
    assert_int_equal(lim_policy_rule_count(cf->policy), NCLASSES + 1);
    assert_int_equal(lim_policy_class(cf->policy, 999)->rate_mtps, (1059 * 1000 + 30) / 60);
    cf_unref(cf);
    unlink(path);
    free(json);
}

static int
setup(void **state)
{
    (void)state;
    return cf_test_pki_make();
}

static int
teardown(void **state)
{
    (void)state;
    cf_test_pki_remove();
    return 0;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_thousand_classes_load_quickly),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
