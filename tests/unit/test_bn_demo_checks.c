/* The demo's verdict: when the direct run counts as saturated and when the
 * run through floodgate counts as protecting the critical clients, as the
 * demo issue states them (table-driven on the numbers of two runs). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "bn_demo_report.h"

/* Two runs that pass every check. */
static void
good_runs(struct bn_demo_run *d, struct bn_demo_run *f)
{
    memset(d, 0, sizeof(*d));
    memset(f, 0, sizeof(*f));
    snprintf(d->mode, sizeof(d->mode), "direct");
    snprintf(f->mode, sizeof(f->mode), "floodgate");
    d->calm_p99_ms = 20;
    d->p99_ms = 5000;
    f->calm_p99_ms = 20;
    f->p99_ms = 25;
    f->cap_ro = 400;
    f->cap_mut = 200;
    f->peak_inflight_ro = 12;
    f->peak_inflight_mut = 2;
    f->crit_scheduled_rps = 56;
    f->watches_configured = 1200;
    f->watches_open_max = 1200;
    f->all_watches_s = 16;
}

struct row {
    const char *what;
    void (*edit)(struct bn_demo_run *d, struct bn_demo_run *f);
    enum bn_demo_check_id failing; /* BN_DEMO_NCHECKS: none */
};

static void
nothing(struct bn_demo_run *d, struct bn_demo_run *f)
{
    (void)d;
    (void)f;
}

static void
direct_only_4x(struct bn_demo_run *d, struct bn_demo_run *f)
{
    (void)f;
    d->p99_ms = 4 * d->calm_p99_ms;
}

static void
direct_4x_with_errors(struct bn_demo_run *d, struct bn_demo_run *f)
{
    (void)f;
    d->p99_ms = 4 * d->calm_p99_ms;
    d->crit_errors = 3;
}

static void
direct_4x_far_behind(struct bn_demo_run *d, struct bn_demo_run *f)
{
    (void)f;
    d->p99_ms = 4 * d->calm_p99_ms;
    d->crit_scheduled_rps = 56;
    d->crit_unanswered = 900;
}

static void
fg_one_error(struct bn_demo_run *d, struct bn_demo_run *f)
{
    (void)d;
    f->crit_errors = 1;
}

static void
fg_informer_watch_failed(struct bn_demo_run *d, struct bn_demo_run *f)
{
    (void)d;
    f->crit_watch_failed = 1;
}

static void
fg_last_second_in_flight(struct bn_demo_run *d, struct bn_demo_run *f)
{
    (void)d;
    f->crit_unanswered = 56; /* one second of schedule: normal at the end */
}

static void
fg_more_than_a_second_behind(struct bn_demo_run *d, struct bn_demo_run *f)
{
    (void)d;
    f->crit_unanswered = 57;
}

static void
fg_p99_at_1_5x(struct bn_demo_run *d, struct bn_demo_run *f)
{
    (void)d;
    f->p99_ms = 1.5 * f->calm_p99_ms;
}

static void
fg_p99_over_1_5x(struct bn_demo_run *d, struct bn_demo_run *f)
{
    (void)d;
    f->p99_ms = 1.51 * f->calm_p99_ms;
}

static void
fg_inflight_over_readonly_cap(struct bn_demo_run *d, struct bn_demo_run *f)
{
    (void)d;
    f->peak_inflight_ro = f->cap_ro + 1;
}

static void
fg_inflight_over_mutating_cap(struct bn_demo_run *d, struct bn_demo_run *f)
{
    (void)d;
    f->peak_inflight_mut = f->cap_mut + 1;
}

static void
fg_without_caps(struct bn_demo_run *d, struct bn_demo_run *f)
{
    (void)d;
    f->cap_ro = f->cap_mut = 0;
}

static void
fg_watches_never_all_open(struct bn_demo_run *d, struct bn_demo_run *f)
{
    (void)d;
    f->watches_open_max = 1199;
    f->all_watches_s = -1;
}

static const struct row rows[] = {
    {"both runs as the demo promises", nothing, BN_DEMO_NCHECKS},
    {"direct p99 4x calm and nothing failed is not saturated", direct_only_4x,
     BN_DEMO_CHECK_DIRECT_SATURATES},
    {"direct p99 4x calm with critical errors is saturated", direct_4x_with_errors,
     BN_DEMO_NCHECKS},
    {"direct far behind its schedule is saturated", direct_4x_far_behind, BN_DEMO_NCHECKS},
    {"one critical error through floodgate fails", fg_one_error, BN_DEMO_CHECK_NO_CRITICAL_ERRORS},
    {"an informer's failed watch fails", fg_informer_watch_failed,
     BN_DEMO_CHECK_NO_CRITICAL_ERRORS},
    {"a second of schedule in flight at the end is not an error", fg_last_second_in_flight,
     BN_DEMO_NCHECKS},
    {"more than a second of schedule unanswered fails", fg_more_than_a_second_behind,
     BN_DEMO_CHECK_NO_CRITICAL_ERRORS},
    {"critical p99 at 1.5x calm passes", fg_p99_at_1_5x, BN_DEMO_NCHECKS},
    {"critical p99 above 1.5x calm fails", fg_p99_over_1_5x, BN_DEMO_CHECK_CRITICAL_P99},
    {"read-only in-flight above floodgate's seats fails", fg_inflight_over_readonly_cap,
     BN_DEMO_CHECK_INFLIGHT_CAP},
    {"mutating in-flight above floodgate's seats fails", fg_inflight_over_mutating_cap,
     BN_DEMO_CHECK_INFLIGHT_CAP},
    {"no known seat pools fails the cap check", fg_without_caps, BN_DEMO_CHECK_INFLIGHT_CAP},
    {"a watch never open fails", fg_watches_never_all_open, BN_DEMO_CHECK_WATCHES},
};

static void
test_checks_follow_the_issue(void **state)
{
    struct bn_demo_run *d = calloc(1, sizeof(*d)), *f = calloc(1, sizeof(*f));
    struct bn_demo_check c[BN_DEMO_NCHECKS];
    size_t i, k;

    (void)state;
    assert_non_null(d);
    assert_non_null(f);
    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        good_runs(d, f);
        rows[i].edit(d, f);
        bn_demo_checks(d, f, c);
        for (k = 0; k < BN_DEMO_NCHECKS; k++) {
            if ((k == (size_t)rows[i].failing) == c[k].pass) {
                fail_msg("%s: %s: %s", rows[i].what, c[k].name, c[k].detail);
            }
        }
    }
    free(d);
    free(f);
}

static void
test_table_names_both_runs_and_every_check(void **state)
{
    struct bn_demo_run *d = calloc(1, sizeof(*d)), *f = calloc(1, sizeof(*f));
    struct bn_demo_check c[BN_DEMO_NCHECKS];
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);

    (void)state;
    assert_non_null(out);
    good_runs(d, f);
    f->p99_ms = 100; /* 5x: fails */
    bn_demo_checks(d, f, c);
    bn_demo_table(out, d, f, c);
    fclose(out);
    assert_non_null(strstr(buf, "through floodgate"));
    assert_non_null(strstr(buf, "critical p99 / calm p99"));
    assert_non_null(strstr(buf, "250.0x (calm 20ms)"));
    assert_non_null(strstr(buf, "[FAIL]   floodgate: critical p99 5.00x"));
    assert_non_null(strstr(buf, "[ok]     direct"));
    free(buf);
    free(d);
    free(f);
}

static void
test_a_waived_check_is_shown_and_not_enforced(void **state)
{
    struct bn_demo_run *d = calloc(1, sizeof(*d)), *f = calloc(1, sizeof(*f));
    struct bn_demo_check c[BN_DEMO_NCHECKS];
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);

    (void)state;
    assert_non_null(out);
    good_runs(d, f);
    f->p99_ms = 100;
    bn_demo_checks(d, f, c);
    assert_false(c[BN_DEMO_CHECK_CRITICAL_P99].waived);
    assert_int_equal(bn_demo_waive(c, "floodgate_critical_p99_within_calm"), 0);
    assert_int_equal(bn_demo_waive(c, "no_such_check"), -1);
    assert_true(c[BN_DEMO_CHECK_CRITICAL_P99].waived);
    assert_false(c[BN_DEMO_CHECK_CRITICAL_P99].pass);
    bn_demo_table(out, d, f, c);
    fclose(out);
    assert_non_null(strstr(buf, "[waived] floodgate: critical p99 5.00x"));
    free(buf);
    free(d);
    free(f);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_checks_follow_the_issue),
        cmocka_unit_test(test_table_names_both_runs_and_every_check),
        cmocka_unit_test(test_a_waived_check_is_shown_and_not_enforced),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
