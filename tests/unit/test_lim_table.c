/* The client table: bounded size, eviction only of idle entries with full
 * buckets (so an evicted client never comes back to a fresh bucket it had
 * not earned), NULL (the caller's overflow entry) when a shard is full of
 * live entries, LRU order, the bounded eviction scan, and concurrent use
 * from four threads. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "lim_hash.h"
#include "lim_table.h"

#define S 1000000000ull

static struct lim_hash_key hk;

static struct lim_entry *
get(struct lim_table *t, int key, uint32_t slot, uint64_t now, enum lim_table_op op)
{
    char name[32];
    uint64_t h[2];
    int n = snprintf(name, sizeof(name), "client-%d", key);

    lim_hash128(&hk, name, (size_t)n, h);
    return lim_table_get(t, h, slot, 1, name, (size_t)n, now, op);
}

/* Inserts <key> and leaves it holding a request in flight (not evictable). */
static struct lim_entry *
pin(struct lim_table *t, int key, uint64_t now)
{
    struct lim_entry *e = get(t, key, 0, now, LIM_TABLE_GET);

    assert_non_null(e);
    e->inflight++;
    lim_table_unlock(t, e);
    return e;
}

static void
unpin(struct lim_table *t, struct lim_entry *e)
{
    lim_table_lock(t, e);
    e->inflight--;
    lim_table_unlock(t, e);
}

static void
test_new_refuses_zero_and_huge_sizes(void **state)
{
    char err[128];

    (void)state;
    assert_null(lim_table_new(0, err, sizeof(err)));
    assert_non_null(strstr(err, "max_clients must be 1.."));
    assert_null(lim_table_new(LIM_TABLE_MAX_CLIENTS + 1, err, sizeof(err)));
}

static void
test_small_tables_are_one_shard_large_ones_64(void **state)
{
    struct lim_table *t;

    (void)state;
    t = lim_table_new(127, NULL, 0);
    assert_int_equal(lim_table_shard_count(t), 1);
    lim_table_free(t);
    t = lim_table_new(128, NULL, 0);
    assert_int_equal(lim_table_shard_count(t), 2);
    lim_table_free(t);
    t = lim_table_new(1000000, NULL, 0);
    assert_int_equal(lim_table_shard_count(t), 64);
    assert_int_equal(lim_table_max_clients(t), 1000000);
    lim_table_free(t);
}

static void
test_get_returns_the_same_entry_and_find_does_not_insert(void **state)
{
    struct lim_table *t = lim_table_new(16, NULL, 0);
    struct lim_entry *a, *b;

    (void)state;
    assert_null(get(t, 1, 0, S, LIM_TABLE_FIND));
    a = get(t, 1, 0, S, LIM_TABLE_GET);
    assert_non_null(a);
    a->requests = 42;
    lim_table_unlock(t, a);
    b = get(t, 1, 0, 2 * S, LIM_TABLE_FIND);
    assert_ptr_equal(a, b);
    assert_int_equal(b->requests, 42);
    assert_string_equal(lim_table_cold(t, b)->key, "client-1");
    lim_table_unlock(t, b);
    /* Same name, another class slot: another entry. */
    b = get(t, 1, 5, S, LIM_TABLE_GET);
    assert_ptr_not_equal(a, b);
    assert_int_equal(b->requests, 0);
    lim_table_unlock(t, b);
    assert_int_equal(lim_table_clients(t), 2);
    lim_table_free(t);
}

static void
test_full_of_live_entries_returns_null_never_a_fresh_entry(void **state)
{
    struct lim_table *t = lim_table_new(8, NULL, 0);
    struct lim_entry *pinned[8], *e;
    int i;

    (void)state;
    for (i = 0; i < 8; i++) {
        pinned[i] = pin(t, i, S);
    }
    assert_int_equal(lim_table_clients(t), 8);
    assert_null(get(t, 100, 0, 1000 * S, LIM_TABLE_GET));
    assert_int_equal(lim_table_clients(t), 8);
    assert_int_equal(lim_table_evictions(t), 0);
    /* Once one of them holds nothing, it makes room. */
    unpin(t, pinned[3]);
    e = get(t, 100, 0, 1000 * S, LIM_TABLE_GET);
    assert_ptr_equal(e, pinned[3]); /* its memory, re-used for the newcomer */
    assert_int_equal(e->inflight, 0);
    assert_string_equal(lim_table_cold(t, e)->key, "client-100");
    lim_table_unlock(t, e);
    assert_int_equal(lim_table_evictions(t), 1);
    assert_int_equal(lim_table_clients(t), 8);
    assert_null(get(t, 3, 0, 1000 * S, LIM_TABLE_FIND));
    for (i = 0; i < 8; i++) {
        if (i != 3) {
            unpin(t, pinned[i]);
        }
    }
    lim_table_free(t);
}

/* A client that emptied its bucket keeps its entry until the bucket has
 * refilled, however many newcomers arrive. */
static void
test_entry_with_bucket_not_full_is_never_evicted(void **state)
{
    struct lim_table *t = lim_table_new(4, NULL, 0);
    struct lim_entry *e, *heavy;
    int i;

    (void)state;
    heavy = get(t, 0, 0, S, LIM_TABLE_GET);
    heavy->tat = 61 * S; /* empty until t = 61 s */
    lim_table_unlock(t, heavy);
    for (i = 1; i < 4; i++) {
        e = get(t, i, 0, S, LIM_TABLE_GET);
        e->watch_tat = 2 * S; /* watch bucket refilled at t = 2 s */
        lim_table_unlock(t, e);
    }
    for (i = 100; i < 200; i++) {
        e = get(t, i, 0, 30 * S, LIM_TABLE_GET);
        assert_non_null(e);
        lim_table_unlock(t, e);
    }
    e = get(t, 0, 0, 30 * S, LIM_TABLE_FIND);
    assert_ptr_equal(e, heavy);
    assert_int_equal(e->tat, 61 * S);
    lim_table_unlock(t, e);
    /* After the refill it may go, and coming back is a full bucket: the
     * same thing it would have had. */
    for (i = 200; i < 204; i++) {
        e = get(t, i, 0, 62 * S, LIM_TABLE_GET);
        lim_table_unlock(t, e);
    }
    assert_null(get(t, 0, 0, 62 * S, LIM_TABLE_FIND));
    lim_table_free(t);
}

static void
test_watch_holders_are_never_evicted(void **state)
{
    struct lim_table *t = lim_table_new(2, NULL, 0);
    struct lim_entry *e;

    (void)state;
    e = get(t, 0, 0, S, LIM_TABLE_GET);
    e->watches = 1;
    lim_table_unlock(t, e);
    e = get(t, 1, 0, S, LIM_TABLE_GET);
    e->watches = 3;
    lim_table_unlock(t, e);
    assert_null(get(t, 2, 0, 3600 * S, LIM_TABLE_GET));
    lim_table_free(t);
}

static void
test_eviction_takes_the_least_recently_used(void **state)
{
    struct lim_table *t = lim_table_new(4, NULL, 0);
    struct lim_entry *e;
    int i;

    (void)state;
    for (i = 0; i < 4; i++) {
        e = get(t, i, 0, (uint64_t)(i + 1) * 2 * S, LIM_TABLE_GET);
        lim_table_unlock(t, e);
    }
    /* Touch 0 later: 1 is now the oldest. */
    e = get(t, 0, 0, 10 * S, LIM_TABLE_GET);
    lim_table_unlock(t, e);
    e = get(t, 9, 0, 11 * S, LIM_TABLE_GET);
    lim_table_unlock(t, e);
    assert_null(get(t, 1, 0, 11 * S, LIM_TABLE_FIND));
    e = get(t, 0, 0, 11 * S, LIM_TABLE_FIND);
    assert_non_null(e);
    lim_table_unlock(t, e);
    lim_table_free(t);
}

/* Only the LIM_TABLE_EVICT_SCAN oldest entries are looked at: O(1) per
 * insert whatever the table holds. */
static void
test_eviction_scan_is_bounded(void **state)
{
    struct lim_table *t = lim_table_new(20, NULL, 0);
    struct lim_entry *e[20];
    int i;

    (void)state;
    for (i = 0; i < 20; i++) {
        e[i] = pin(t, i, (uint64_t)(i + 1) * 2 * S); /* 0 is the oldest */
    }
    unpin(t, e[LIM_TABLE_EVICT_SCAN]); /* the ninth oldest: out of reach */
    assert_null(get(t, 100, 0, 100 * S, LIM_TABLE_GET));
    unpin(t, e[LIM_TABLE_EVICT_SCAN - 1]); /* the eighth: within reach */
    e[LIM_TABLE_EVICT_SCAN - 1] = get(t, 100, 0, 100 * S, LIM_TABLE_GET);
    assert_non_null(e[LIM_TABLE_EVICT_SCAN - 1]);
    lim_table_unlock(t, e[LIM_TABLE_EVICT_SCAN - 1]);
    for (i = 0; i < 20; i++) {
        if (i != LIM_TABLE_EVICT_SCAN && i != LIM_TABLE_EVICT_SCAN - 1) {
            unpin(t, e[i]);
        }
    }
    lim_table_free(t);
}

struct counter {
    size_t n;
};

static void
count_entry(void *arg, const struct lim_entry *e, const struct lim_entry_cold *c)
{
    struct counter *k = arg;

    (void)c;
    assert_true(e->flags & LIM_ENTRY_USED);
    k->n++;
}

static size_t
walk_count(struct lim_table *t)
{
    struct counter k = {0};
    size_t i;

    for (i = 0; i < lim_table_shard_count(t); i++) {
        lim_table_walk(t, i, count_entry, &k);
    }
    return k.n;
}

/* A hundred thousand clients through a table of 20,000: every lookup of a
 * present key finds it, the size never passes the bound, and the walk
 * agrees with the count. */
static void
test_many_clients_stay_bounded_and_findable(void **state)
{
    struct lim_table *t = lim_table_new(20000, NULL, 0);
    struct lim_entry *e;
    int i, found = 0;

    (void)state;
    for (i = 0; i < 100000; i++) {
        e = get(t, i, 0, (uint64_t)i * S, LIM_TABLE_GET);
        assert_non_null(e);
        lim_table_unlock(t, e);
        assert_true(lim_table_clients(t) <= 20000);
    }
    assert_true(lim_table_clients(t) > 19000);
    assert_int_equal(walk_count(t), lim_table_clients(t));
    assert_int_equal(lim_table_evictions(t) + lim_table_clients(t), 100000);
    for (i = 0; i < 100000; i++) {
        e = get(t, i, 0, 100000 * S, LIM_TABLE_FIND);
        if (e != NULL) {
            char want[32];

            snprintf(want, sizeof(want), "client-%d", i);
            assert_string_equal(lim_table_cold(t, e)->key, want);
            lim_table_unlock(t, e);
            found++;
        }
    }
    assert_int_equal((uint64_t)found, lim_table_clients(t));
    lim_table_free(t);
}

#define THREADS 4
#define OPS     200000

struct worker {
    struct lim_table *t;
    unsigned seed;
    uint64_t admitted, overflowed;
};

static void *
work(void *arg)
{
    struct worker *w = arg;
    struct lim_entry *held[16];
    unsigned x = w->seed;
    int i, nheld = 0;

    for (i = 0; i < OPS; i++) {
        struct lim_entry *e;

        x = x * 1103515245u + 12345u;
        e = get(w->t, (int)(x >> 8) % 5000, 0, (uint64_t)i * 1000, LIM_TABLE_GET);
        if (e == NULL) {
            w->overflowed++;
            continue;
        }
        e->requests++;
        e->inflight++;
        lim_table_unlock(w->t, e);
        w->admitted++;
        held[nheld++] = e;
        if (nheld == 16) {
            while (nheld > 0) {
                unpin(w->t, held[--nheld]);
            }
        }
    }
    while (nheld > 0) {
        unpin(w->t, held[--nheld]);
    }
    return NULL;
}

static void
test_concurrent_use_keeps_the_table_consistent(void **state)
{
    struct lim_table *t = lim_table_new(1024, NULL, 0);
    struct worker w[THREADS];
    pthread_t th[THREADS];
    int i;

    (void)state;
    for (i = 0; i < THREADS; i++) {
        w[i] = (struct worker){t, (unsigned)i * 7919u + 1u, 0, 0};
        assert_int_equal(pthread_create(&th[i], NULL, work, &w[i]), 0);
    }
    for (i = 0; i < THREADS; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(w[i].admitted + w[i].overflowed, OPS);
    }
    assert_true(lim_table_clients(t) <= 1024);
    assert_int_equal(walk_count(t), lim_table_clients(t));
    assert_true(lim_table_evictions(t) > 0);
    /* Everything was given back: every entry is idle and findable. */
    for (i = 0; i < 5000; i++) {
        struct lim_entry *e = get(t, i, 0, OPS * 1000ull, LIM_TABLE_FIND);

        if (e != NULL) {
            assert_int_equal(e->inflight, 0);
            lim_table_unlock(t, e);
        }
    }
    lim_table_free(t);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_refuses_zero_and_huge_sizes),
        cmocka_unit_test(test_small_tables_are_one_shard_large_ones_64),
        cmocka_unit_test(test_get_returns_the_same_entry_and_find_does_not_insert),
        cmocka_unit_test(test_full_of_live_entries_returns_null_never_a_fresh_entry),
        cmocka_unit_test(test_entry_with_bucket_not_full_is_never_evicted),
        cmocka_unit_test(test_watch_holders_are_never_evicted),
        cmocka_unit_test(test_eviction_takes_the_least_recently_used),
        cmocka_unit_test(test_eviction_scan_is_bounded),
        cmocka_unit_test(test_many_clients_stay_bounded_and_findable),
        cmocka_unit_test(test_concurrent_use_keeps_the_table_consistent),
    };

    lim_hash_key_init(&hk, 12345);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
