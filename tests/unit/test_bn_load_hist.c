/* The latency histogram against exact percentiles: random and adversarial
 * data must come back within 1% of the value a full sort gives. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bn_load_hist.h"
#include "bn_load_sched.h"

static const double pcts[] = {0.0, 1.0, 25.0, 50.0, 75.0, 90.0, 99.0, 99.9, 99.99, 100.0};

static int
cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

/* Nearest rank on sorted data, the definition bn_hist_percentile uses;
 * permille avoids floating point in the reference. */
static uint64_t
exact(const uint64_t *sorted, size_t n, double pct)
{
    uint64_t milli = (uint64_t)llround(pct * 1000.0), rank;

    if (milli == 0) {
        return sorted[0];
    }
    rank = (milli * n + 99999) / 100000;
    return sorted[(rank < 1 ? 1 : rank) - 1];
}

static struct bn_hist *
hist_of(const uint64_t *v, size_t n)
{
    struct bn_hist *h = malloc(sizeof(*h));
    size_t i;

    assert_non_null(h);
    bn_hist_init(h);
    for (i = 0; i < n; i++) {
        bn_hist_record(h, v[i]);
    }
    return h;
}

static void
assert_within_1pct(uint64_t *v, size_t n)
{
    struct bn_hist *h = hist_of(v, n);
    size_t i;

    qsort(v, n, sizeof(*v), cmp_u64);
    for (i = 0; i < sizeof(pcts) / sizeof(pcts[0]); i++) {
        uint64_t want = exact(v, n, pcts[i]), got = bn_hist_percentile(h, pcts[i]);
        double err = fabs((double)got - (double)want) / (double)(want > 0 ? want : 1);

        if (err > 0.01) {
            fail_msg("p%g: got %llu, exact %llu (%.3f%% off)", pcts[i], (unsigned long long)got,
                     (unsigned long long)want, err * 100);
        }
    }
    free(h);
}

static void
test_every_bucket_is_narrower_than_1pct_of_its_values(void **state)
{
    uint64_t v, seed = 7;
    int k;

    (void)state;
    for (k = 0; k < 200000; k++) {
        uint32_t idx;
        uint64_t low, width;

        v = bn_rng_next(&seed) >> (bn_rng_next(&seed) % 64);
        if (v > BN_HIST_MAX_NS) {
            v = BN_HIST_MAX_NS;
        }
        idx = bn_hist_index(v);
        low = bn_hist_bucket_low(idx);
        width = bn_hist_bucket_width(idx);
        assert_true(idx < BN_HIST_BUCKETS);
        assert_true(low <= v && v < low + width);
        assert_true(width == 1 || (double)width / (double)low <= 1.0 / BN_HIST_SUB + 1e-12);
    }
    assert_int_equal(bn_hist_index(BN_HIST_MAX_NS), BN_HIST_BUCKETS - 1);
    assert_int_equal(bn_hist_index(255), 255);
    assert_int_equal(bn_hist_index(256), 256);
}

static void
test_log_uniform_latencies_from_1us_to_100s_are_within_1pct(void **state)
{
    size_t n = 200000, i;
    uint64_t *v = malloc(n * sizeof(*v)), seed = 42;

    (void)state;
    assert_non_null(v);
    for (i = 0; i < n; i++) {
        /* 10^3 .. 10^11 ns */
        v[i] = (uint64_t)llround(pow(10.0, 3.0 + 8.0 * bn_rng_unit(&seed)));
    }
    assert_within_1pct(v, n);
    free(v);
}

static void
test_exponential_latencies_are_within_1pct(void **state)
{
    size_t n = 100000, i;
    uint64_t *v = malloc(n * sizeof(*v)), seed = 3;

    (void)state;
    assert_non_null(v);
    for (i = 0; i < n; i++) {
        v[i] = 1000 + (uint64_t)llround(-log1p(-bn_rng_unit(&seed)) * 2e6);
    }
    assert_within_1pct(v, n);
    free(v);
}

static void
test_bimodal_stall_shows_at_p99_9_not_at_p99(void **state)
{
    size_t n = 10000, i;
    uint64_t *v = malloc(n * sizeof(*v));

    (void)state;
    assert_non_null(v);
    for (i = 0; i < n; i++) {
        v[i] = i % 200 == 0 ? 100000000000ull : 1000; /* 0.5% at 100 s */
    }
    assert_within_1pct(v, n);
    {
        struct bn_hist *h = hist_of(v, n);

        assert_true(bn_hist_percentile(h, 99.0) < 1010);
        assert_true(bn_hist_percentile(h, 99.9) > 99000000000ull);
        assert_int_equal(bn_hist_percentile(h, 100.0), 100000000000ull);
        free(h);
    }
    free(v);
}

static void
test_bucket_edges_and_powers_of_two_are_within_1pct(void **state)
{
    uint64_t v[3 * 40];
    size_t n = 0;
    int k;

    (void)state;
    for (k = 1; k < 40; k++) {
        v[n++] = (1ull << k) - 1;
        v[n++] = 1ull << k;
        v[n++] = (1ull << k) + 1;
    }
    assert_within_1pct(v, n);
}

static void
test_identical_values_report_that_value_exactly(void **state)
{
    uint64_t v[1000];
    size_t i;
    struct bn_hist *h;

    (void)state;
    for (i = 0; i < 1000; i++) {
        v[i] = 123456789;
    }
    h = hist_of(v, 1000);
    for (i = 0; i < sizeof(pcts) / sizeof(pcts[0]); i++) {
        assert_int_equal(bn_hist_percentile(h, pcts[i]), 123456789);
    }
    assert_int_equal(bn_hist_mean(h), 123456789);
    free(h);
}

static void
test_values_below_256ns_are_exact(void **state)
{
    uint64_t v[256];
    size_t i;
    struct bn_hist *h;

    (void)state;
    for (i = 0; i < 256; i++) {
        v[i] = i;
    }
    h = hist_of(v, 256);
    assert_int_equal(bn_hist_percentile(h, 50.0), 127);
    assert_int_equal(bn_hist_percentile(h, 0.0), 0);
    assert_int_equal(bn_hist_percentile(h, 100.0), 255);
    free(h);
}

static void
test_values_above_the_range_are_clamped_and_counted(void **state)
{
    struct bn_hist h;

    (void)state;
    bn_hist_init(&h);
    bn_hist_record(&h, BN_HIST_MAX_NS + 1000);
    bn_hist_record(&h, 5);
    assert_int_equal(h.count, 2);
    assert_int_equal(h.clamped, 1);
    assert_int_equal(bn_hist_percentile(&h, 100.0), BN_HIST_MAX_NS);
    assert_int_equal(bn_hist_percentile(&h, 50.0), 5);
}

static void
test_empty_histogram_reports_zero(void **state)
{
    struct bn_hist h;

    (void)state;
    bn_hist_init(&h);
    assert_int_equal(bn_hist_percentile(&h, 50.0), 0);
    assert_int_equal(bn_hist_percentile(&h, 100.0), 0);
    assert_int_equal(bn_hist_mean(&h), 0);
}

static void
test_merged_histograms_equal_one_fed_everything(void **state)
{
    struct bn_hist *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b)), *all = malloc(sizeof(*all));
    uint64_t seed = 11;
    size_t i;

    (void)state;
    assert_true(a != NULL && b != NULL && all != NULL);
    bn_hist_init(a);
    bn_hist_init(b);
    bn_hist_init(all);
    for (i = 0; i < 50000; i++) {
        uint64_t v = bn_rng_next(&seed) % 5000000000ull;

        bn_hist_record(i % 3 == 0 ? a : b, v);
        bn_hist_record(all, v);
    }
    bn_hist_merge(a, b);
    assert_memory_equal(a, all, sizeof(*a));
    free(a);
    free(b);
    free(all);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_bucket_is_narrower_than_1pct_of_its_values),
        cmocka_unit_test(test_log_uniform_latencies_from_1us_to_100s_are_within_1pct),
        cmocka_unit_test(test_exponential_latencies_are_within_1pct),
        cmocka_unit_test(test_bimodal_stall_shows_at_p99_9_not_at_p99),
        cmocka_unit_test(test_bucket_edges_and_powers_of_two_are_within_1pct),
        cmocka_unit_test(test_identical_values_report_that_value_exactly),
        cmocka_unit_test(test_values_below_256ns_are_exact),
        cmocka_unit_test(test_values_above_the_range_are_clamped_and_counted),
        cmocka_unit_test(test_empty_histogram_reports_zero),
        cmocka_unit_test(test_merged_histograms_equal_one_fed_everything),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
