/* Per-worker counters: status codes land in their class (429 apart),
 * durations in the right bucket (the last one is +Inf), class slots past
 * the table share the last one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>

#include "px_stats.h"

static void
test_codes_map_to_their_class_and_429_apart(void **state)
{
    (void)state;
    assert_int_equal(px_stats_code(0), PX_CODE_NONE);
    assert_int_equal(px_stats_code(101), PX_CODE_1XX);
    assert_int_equal(px_stats_code(200), PX_CODE_2XX);
    assert_int_equal(px_stats_code(304), PX_CODE_3XX);
    assert_int_equal(px_stats_code(404), PX_CODE_4XX);
    assert_int_equal(px_stats_code(429), PX_CODE_429);
    assert_int_equal(px_stats_code(499), PX_CODE_4XX);
    assert_int_equal(px_stats_code(503), PX_CODE_5XX);
    assert_int_equal(px_stats_code(600), PX_CODE_NONE);
}

static void
test_requests_and_durations_are_counted_where_they_belong(void **state)
{
    struct px_stats *s = calloc(1, sizeof(*s));

    (void)state;
    px_stats_request(s, 3, LIM_VERB_LIST, PX_DEC_REJECT, 429, 500 * 1000); /* 0.5 ms */
    px_stats_request(s, 3, LIM_VERB_LIST, PX_DEC_ADMIT, 200, 1000 * 1000); /* 1 ms: <= 1 ms */
    px_stats_request(s, 3, LIM_VERB_WATCH, PX_DEC_ADMIT, 200, 3600ull * 1000000000ull);
    px_stats_request(s, 9999, LIM_VERB_GET, PX_DEC_DRY_RUN, 503, 2 * 1000000000ull);
    px_stats_request(s, 0, (enum lim_verb)200, PX_DEC_NONE, 0, 0);
    assert_int_equal(px_stats_get(&s->requests[3][LIM_VERB_LIST][PX_DEC_REJECT][PX_CODE_429]), 1);
    assert_int_equal(px_stats_get(&s->requests[3][LIM_VERB_LIST][PX_DEC_ADMIT][PX_CODE_2XX]), 1);
    assert_int_equal(px_stats_get(&s->duration[3][0]), 2);
    assert_int_equal(px_stats_get(&s->duration[3][PX_STATS_BUCKETS - 1]), 1); /* an hour */
    assert_int_equal(px_stats_get(&s->duration_sum_us[3]), 500 + 1000 + 3600000000ull);
    assert_int_equal(
        px_stats_get(&s->requests[PX_STATS_CLASSES - 1][LIM_VERB_GET][PX_DEC_DRY_RUN][PX_CODE_5XX]),
        1);
    assert_int_equal(px_stats_get(&s->duration[PX_STATS_CLASSES - 1][9]), 1); /* 2 s: <= 2.5 s */
    assert_int_equal(px_stats_get(&s->requests[0][LIM_VERB_UNKNOWN][PX_DEC_NONE][PX_CODE_NONE]), 1);
    free(s);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_codes_map_to_their_class_and_429_apart),
        cmocka_unit_test(test_requests_and_durations_are_counted_where_they_belong),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
