/* The generated cluster: what --nodes and --pods-per-node make, objects of
 * realistic size, pods bound to their nodes (the index agrees), names that
 * never collide at thousands of nodes, and churn that writes pods. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "bn_sim_gen.h"

#define NOW 1700000000LL

static struct bn_sim_store *
generate(uint64_t nodes, uint64_t pods)
{
    struct bn_sim_gen_opts o = {nodes, pods, NOW};
    char err[256] = "";
    struct bn_sim_store *s = bn_sim_store_new(100, 7, err, sizeof(err));

    assert_non_null(s);
    if (bn_sim_gen_cluster(s, &o, err, sizeof(err)) != 0) {
        fail_msg("generate: %s", err);
    }
    return s;
}

static void
test_counts_follow_nodes_and_pods_per_node(void **state)
{
    struct bn_sim_store *s = generate(5, 4);

    (void)state;
    assert_int_equal(bn_sim_store_count(s, BN_SIM_RES_NODES, ""), 5);
    assert_int_equal(bn_sim_store_count(s, BN_SIM_RES_PODS, ""), 20);
    assert_int_equal(bn_sim_store_count(s, BN_SIM_RES_PODS, "kube-system"), 5);
    assert_int_equal(bn_sim_store_count(s, BN_SIM_RES_LEASES, "kube-node-lease"), 5);
    assert_int_equal(bn_sim_store_count(s, BN_SIM_RES_NAMESPACES, ""), 12);
    assert_int_equal(bn_sim_store_count(s, BN_SIM_RES_SERVICES, ""), 129);
    assert_int_equal(bn_sim_store_count(s, BN_SIM_RES_ENDPOINTS, ""), 128);
    assert_int_equal(bn_sim_store_count(s, BN_SIM_RES_CONFIGMAPS, ""), 12 + 128);
    assert_non_null(bn_sim_store_get(s, BN_SIM_RES_NODES, "", "node-00004"));
    assert_non_null(bn_sim_store_get(s, BN_SIM_RES_SERVICES, "default", "kubernetes"));
    bn_sim_store_free(s);
}

static void
test_objects_are_realistically_sized_and_bound_to_nodes(void **state)
{
    struct bn_sim_store *s = generate(3, 5);
    size_t i, n = bn_sim_store_count(s, BN_SIM_RES_PODS, "");

    (void)state;
    for (i = 0; i < n; i++) {
        struct bn_sim_obj *p = bn_sim_store_nth(s, BN_SIM_RES_PODS, i);
        const char *node = bn_sim_packed_get(p->fields, "spec.nodeName");

        assert_true(p->json_len >= 4096 && p->json_len <= 8192);
        assert_non_null(node);
        assert_non_null(bn_sim_store_get(s, BN_SIM_RES_NODES, "", node));
        assert_string_equal(bn_sim_packed_get(p->fields, "status.phase"), "Running");
    }
    assert_true(bn_sim_store_nth(s, BN_SIM_RES_NODES, 0)->json_len >= 2048);
    for (i = 0; i < 3; i++) {
        char node[32];

        bn_sim_gen_node_name(i, node, sizeof(node));
        assert_int_equal(bn_sim_store_count_on_node(s, node), 5);
    }
    bn_sim_store_free(s);
}

static void
test_names_do_not_collide_at_thousands_of_nodes(void **state)
{
    /* random five-character suffixes collide around a thousand pods */
    struct bn_sim_store *s = generate(1500, 2);

    (void)state;
    assert_int_equal(bn_sim_store_count(s, BN_SIM_RES_PODS, "kube-system"), 1500);
    assert_int_equal(bn_sim_store_count(s, BN_SIM_RES_PODS, ""), 3000);
    bn_sim_store_free(s);
}

static void
test_churn_writes_pods(void **state)
{
    struct bn_sim_store *s = generate(4, 3);
    uint64_t rng = 1, rv = bn_sim_store_rv(s);
    size_t i, beating = 0;

    (void)state;
    assert_int_equal(bn_sim_gen_churn(s, &rng, 30, NOW + 60), 30);
    assert_int_equal(bn_sim_store_rv(s), rv + 30);
    for (i = 0; i < 12; i++) {
        struct bn_sim_obj *p = bn_sim_store_nth(s, BN_SIM_RES_PODS, i);

        beating += strstr(p->json, "floodgate.dev/heartbeat") != NULL;
    }
    assert_true(beating >= 6);
    bn_sim_store_free(s);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counts_follow_nodes_and_pods_per_node),
        cmocka_unit_test(test_objects_are_realistically_sized_and_bound_to_nodes),
        cmocka_unit_test(test_names_do_not_collide_at_thousands_of_nodes),
        cmocka_unit_test(test_churn_writes_pods),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
