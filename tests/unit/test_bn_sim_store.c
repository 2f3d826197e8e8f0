/* The simulator's store as kube-apiserver's storage behaves: resourceVersion
 * ordering, get/create/update/patch/delete and their Status errors, label
 * and field selectors, limit/continue with consistent snapshots, watches
 * from a resourceVersion, 410 Gone for what left the window. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bn_sim_store.h"

#define NOW    1700000000LL
#define P(str) str, strlen(str)

static struct bn_sim_store *
new_store(size_t window)
{
    char err[256];
    struct bn_sim_store *s = bn_sim_store_new(window, 42, err, sizeof(err));

    assert_non_null(s);
    return s;
}

static struct bn_sim_obj *
create_json(struct bn_sim_store *s, enum bn_sim_res r, const char *ns, const char *json,
            struct bn_sim_status *st)
{
    json_t *doc = json_loads(json, 0, NULL);
    struct bn_sim_obj *o = NULL;
    int rc;

    assert_non_null(doc);
    rc = bn_sim_store_create(s, r, ns, doc, NOW, &o, st);
    json_decref(doc);
    return rc == 0 ? o : NULL;
}

static void
ns(struct bn_sim_store *s, const char *name)
{
    char json[256];
    struct bn_sim_status st;

    snprintf(json, sizeof(json), "{\"metadata\":{\"name\":\"%s\"}}", name);
    assert_non_null(create_json(s, BN_SIM_RES_NAMESPACES, "", json, &st));
}

static struct bn_sim_obj *
cm(struct bn_sim_store *s, const char *nsname, const char *name, const char *labels)
{
    char json[512];
    struct bn_sim_status st;
    struct bn_sim_obj *o;

    snprintf(json, sizeof(json), "{\"metadata\":{\"name\":\"%s\",\"labels\":{%s}},\"data\":{}}",
             name, labels != NULL ? labels : "");
    o = create_json(s, BN_SIM_RES_CONFIGMAPS, nsname, json, &st);
    if (o == NULL) {
        fail_msg("create %s/%s: %d %s", nsname, name, st.code, st.message);
    }
    return o;
}

static struct bn_sim_obj *
pod(struct bn_sim_store *s, const char *nsname, const char *name, const char *node)
{
    char json[512];
    struct bn_sim_status st;

    snprintf(json, sizeof(json),
             "{\"metadata\":{\"name\":\"%s\"},\"spec\":{\"nodeName\":\"%s\"},"
             "\"status\":{\"phase\":\"Running\"}}",
             name, node);
    return create_json(s, BN_SIM_RES_PODS, nsname, json, &st);
}

/* Collects list output as "key@rv" joined by spaces. */
struct names {
    char buf[8192];
    size_t n;
};

static void
collect(void *arg, struct bn_sim_obj *o)
{
    struct names *nm = arg;
    size_t len = strlen(nm->buf);

    snprintf(nm->buf + len, sizeof(nm->buf) - len, "%s%s", len > 0 ? " " : "", o->key);
    nm->n++;
}

static int
list(struct bn_sim_store *s, enum bn_sim_res r, const struct bn_sim_query *q, struct names *nm,
     struct bn_sim_list_result *res, struct bn_sim_status *st)
{
    memset(nm, 0, sizeof(*nm));
    return bn_sim_store_list(s, r, q, collect, nm, res, st);
}

static void
test_writes_get_increasing_resource_versions(void **state)
{
    struct bn_sim_store *s = new_store(100);
    struct bn_sim_obj *a, *b;
    uint64_t before;

    (void)state;
    ns(s, "default");
    before = bn_sim_store_rv(s);
    a = cm(s, "default", "a", NULL);
    b = cm(s, "default", "b", NULL);
    assert_int_equal(a->rv, before + 1);
    assert_int_equal(b->rv, before + 2);
    assert_int_equal(bn_sim_store_rv(s), before + 2);
    assert_ptr_equal(bn_sim_store_get(s, BN_SIM_RES_CONFIGMAPS, "default", "a"), a);
    assert_non_null(strstr(a->json, "\"resourceVersion\":\"2\""));
    assert_non_null(strstr(a->json, "\"creationTimestamp\":\"2023-11-14T22:13:20Z\""));
    assert_int_equal(strlen(a->uid), 36);
    assert_string_not_equal(a->uid, b->uid);
    bn_sim_store_free(s);
}

static void
test_create_errors_are_kube_statuses(void **state)
{
    struct bn_sim_store *s = new_store(100);
    struct bn_sim_status st;
    struct bn_sim_obj *o;

    (void)state;
    ns(s, "default");
    cm(s, "default", "x", NULL);
    assert_null(
        create_json(s, BN_SIM_RES_CONFIGMAPS, "default", "{\"metadata\":{\"name\":\"x\"}}", &st));
    assert_int_equal(st.code, 409);
    assert_string_equal(st.reason, "AlreadyExists");
    assert_string_equal(st.message, "configmaps \"x\" already exists");
    assert_null(
        create_json(s, BN_SIM_RES_CONFIGMAPS, "nope", "{\"metadata\":{\"name\":\"y\"}}", &st));
    assert_int_equal(st.code, 404);
    assert_string_equal(st.message, "namespaces \"nope\" not found");
    assert_null(create_json(s, BN_SIM_RES_CONFIGMAPS, "default",
                            "{\"metadata\":{\"name\":\"Bad_\"}}", &st));
    assert_int_equal(st.code, 422);
    assert_string_equal(st.reason, "Invalid");
    assert_non_null(strstr(st.message, "ConfigMap \"Bad_\" is invalid: metadata.name: Invalid"));
    assert_null(create_json(s, BN_SIM_RES_CONFIGMAPS, "default", "{\"metadata\":{}}", &st));
    assert_int_equal(st.code, 422);
    assert_null(create_json(s, BN_SIM_RES_CONFIGMAPS, "default",
                            "{\"metadata\":{\"name\":\"r\",\"resourceVersion\":\"5\"}}", &st));
    assert_int_equal(st.code, 500);
    assert_null(create_json(s, BN_SIM_RES_CONFIGMAPS, "default",
                            "{\"kind\":\"Pod\",\"metadata\":{\"name\":\"k\"}}", &st));
    assert_int_equal(st.code, 400);
    assert_null(create_json(s, BN_SIM_RES_CONFIGMAPS, "default",
                            "{\"metadata\":{\"name\":\"k\",\"namespace\":\"other\"}}", &st));
    assert_int_equal(st.code, 400);
    o = create_json(s, BN_SIM_RES_CONFIGMAPS, "default",
                    "{\"metadata\":{\"generateName\":\"gen-\"}}", &st);
    assert_non_null(o);
    assert_int_equal(strlen(o->name), 9);
    assert_int_equal(strncmp(o->name, "gen-", 4), 0);
    bn_sim_store_free(s);
}

static void
test_update_checks_resource_version_and_skips_no_ops(void **state)
{
    struct bn_sim_store *s = new_store(100);
    struct bn_sim_obj *o, *u = NULL;
    struct bn_sim_status st;
    uint64_t rv;
    json_t *doc;

    (void)state;
    ns(s, "default");
    o = cm(s, "default", "x", NULL);
    rv = o->rv;
    /* stale resourceVersion: 409 Conflict */
    doc = json_pack("{s:{s:s,s:s},s:{s:s}}", "metadata", "name", "x", "resourceVersion", "1",
                    "data", "k", "v");
    assert_int_equal(bn_sim_store_update(s, BN_SIM_RES_CONFIGMAPS, "default", "x", doc, &u, &st),
                     -1);
    assert_int_equal(st.code, 409);
    assert_string_equal(st.message, "Operation cannot be fulfilled on configmaps \"x\": the "
                                    "object has been modified; please apply your changes to the "
                                    "latest version and try again");
    json_decref(doc);
    /* current resourceVersion: stored */
    doc = bn_sim_obj_doc(o);
    json_object_set_new(doc, "data", json_pack("{s:s}", "k", "v"));
    assert_int_equal(bn_sim_store_update(s, BN_SIM_RES_CONFIGMAPS, "default", "x", doc, &u, &st),
                     0);
    assert_int_equal(u->rv, rv + 1);
    json_decref(doc);
    /* the same bytes again: no new revision */
    doc = bn_sim_obj_doc(u);
    assert_int_equal(bn_sim_store_update(s, BN_SIM_RES_CONFIGMAPS, "default", "x", doc, &o, &st),
                     0);
    assert_int_equal(o->rv, rv + 1);
    assert_int_equal(bn_sim_store_rv(s), rv + 1);
    json_decref(doc);
    /* wrong name, missing object */
    doc = json_pack("{s:{s:s}}", "metadata", "name", "y");
    assert_int_equal(bn_sim_store_update(s, BN_SIM_RES_CONFIGMAPS, "default", "x", doc, &o, &st),
                     -1);
    assert_int_equal(st.code, 400);
    assert_int_equal(bn_sim_store_update(s, BN_SIM_RES_CONFIGMAPS, "default", "y", doc, &o, &st),
                     -1);
    assert_int_equal(st.code, 404);
    assert_string_equal(st.message, "configmaps \"y\" not found");
    json_decref(doc);
    bn_sim_store_free(s);
}

static void
test_merge_patch_adds_replaces_and_deletes(void **state)
{
    static const char patch[] =
        "{\"metadata\":{\"labels\":{\"a\":null,\"b\":\"2\"}},\"data\":{\"k\":\"new\"}}";
    struct bn_sim_store *s = new_store(100);
    struct bn_sim_obj *o, *p = NULL;
    struct bn_sim_status st;

    (void)state;
    ns(s, "default");
    o = cm(s, "default", "x", "\"a\":\"1\",\"c\":\"3\"");
    assert_int_equal(
        bn_sim_store_patch(s, BN_SIM_RES_CONFIGMAPS, "default", "x", patch, strlen(patch), &p, &st),
        0);
    assert_int_equal(p->rv, o->rv + 1);
    assert_null(strstr(p->json, "\"a\":\"1\""));
    assert_non_null(strstr(p->json, "\"b\":\"2\""));
    assert_non_null(strstr(p->json, "\"c\":\"3\""));
    assert_non_null(strstr(p->json, "\"k\":\"new\""));
    assert_string_equal(bn_sim_packed_get(p->labels, "b"), "2");
    assert_int_equal(bn_sim_store_patch(s, BN_SIM_RES_CONFIGMAPS, "default", "x",
                                        P("{\"metadata\":{\"resourceVersion\":\"1\"}}"), &p, &st),
                     -1);
    assert_int_equal(st.code, 409);
    assert_int_equal(bn_sim_store_patch(s, BN_SIM_RES_CONFIGMAPS, "default", "x",
                                        P("{\"metadata\":{\"name\":\"z\"}}"), &p, &st),
                     -1);
    assert_int_equal(st.code, 422);
    assert_int_equal(
        bn_sim_store_patch(s, BN_SIM_RES_CONFIGMAPS, "default", "x", P("[1]"), &p, &st), -1);
    assert_int_equal(st.code, 400);
    assert_int_equal(
        bn_sim_store_patch(s, BN_SIM_RES_CONFIGMAPS, "default", "nope", "{}", 2, &p, &st), -1);
    assert_int_equal(st.code, 404);
    bn_sim_store_free(s);
}

static void
test_delete_checks_preconditions_and_cascades_namespaces(void **state)
{
    struct bn_sim_store *s = new_store(100);
    struct bn_sim_obj *o, *gone = NULL;
    struct bn_sim_status st;
    uint64_t rv;

    (void)state;
    ns(s, "a");
    ns(s, "b");
    o = cm(s, "a", "x", NULL);
    cm(s, "a", "y", NULL);
    cm(s, "b", "z", NULL);
    assert_int_equal(
        bn_sim_store_delete(s, BN_SIM_RES_CONFIGMAPS, "a", "x", "other-uid", NULL, &gone, &st), -1);
    assert_int_equal(st.code, 409);
    assert_non_null(strstr(st.message, "Precondition failed: UID in precondition"));
    assert_int_equal(bn_sim_store_delete(s, BN_SIM_RES_CONFIGMAPS, "a", "x", NULL, "1", &gone, &st),
                     -1);
    assert_int_equal(st.code, 409);
    rv = bn_sim_store_rv(s);
    assert_int_equal(
        bn_sim_store_delete(s, BN_SIM_RES_CONFIGMAPS, "a", "x", o->uid, NULL, &gone, &st), 0);
    assert_int_equal(gone->rv, rv + 1);
    assert_null(bn_sim_store_get(s, BN_SIM_RES_CONFIGMAPS, "a", "x"));
    assert_int_equal(
        bn_sim_store_delete(s, BN_SIM_RES_CONFIGMAPS, "a", "x", NULL, NULL, &gone, &st), -1);
    assert_int_equal(st.code, 404);
    assert_int_equal(bn_sim_store_delete(s, BN_SIM_RES_NAMESPACES, "", "a", NULL, NULL, &gone, &st),
                     0);
    assert_null(bn_sim_store_get(s, BN_SIM_RES_CONFIGMAPS, "a", "y"));
    assert_non_null(bn_sim_store_get(s, BN_SIM_RES_CONFIGMAPS, "b", "z"));
    assert_int_equal(bn_sim_store_count(s, BN_SIM_RES_CONFIGMAPS, ""), 1);
    bn_sim_store_free(s);
}

struct sel_case {
    const char *selector;
    const char *want; /* keys selected, in order */
};

static const struct sel_case label_cases[] = {
    {"", "ns/a ns/b ns/c ns/d"},
    {"app=web", "ns/a ns/b"},
    {"app==web", "ns/a ns/b"},
    {"app!=web", "ns/c ns/d"}, /* absent labels pass != */
    {"app in (web,db)", "ns/a ns/b ns/c"},
    {"app notin (web)", "ns/c ns/d"},
    {"tier", "ns/a ns/c"},
    {"!tier", "ns/b ns/d"},
    {"app=web,tier", "ns/a"},
    {"rank>2", "ns/b"},
    {"rank<2", "ns/a"},
    {" app = web , tier ", "ns/a"},
};

static void
test_label_selectors_select_like_apimachinery(void **state)
{
    struct bn_sim_store *s = new_store(100);
    struct bn_sim_list_result res;
    struct bn_sim_status st;
    size_t i;

    (void)state;
    ns(s, "ns");
    cm(s, "ns", "a", "\"app\":\"web\",\"tier\":\"fe\",\"rank\":\"1\"");
    cm(s, "ns", "b", "\"app\":\"web\",\"rank\":\"3\"");
    cm(s, "ns", "c", "\"app\":\"db\",\"tier\":\"be\"");
    cm(s, "ns", "d", "");
    for (i = 0; i < sizeof(label_cases) / sizeof(label_cases[0]); i++) {
        struct bn_sim_selector sel;
        struct bn_sim_query q = {.ns = "ns", .labels = &sel};
        struct names nm;
        char err[256];

        assert_int_equal(
            bn_sim_label_selector_parse(&sel, label_cases[i].selector, err, sizeof(err)), 0);
        assert_int_equal(list(s, BN_SIM_RES_CONFIGMAPS, &q, &nm, &res, &st), 0);
        if (strcmp(nm.buf, label_cases[i].want) != 0) {
            fail_msg("%s: got '%s', want '%s'", label_cases[i].selector, nm.buf,
                     label_cases[i].want);
        }
    }
    bn_sim_store_free(s);
}

static void
test_malformed_selectors_are_refused(void **state)
{
    static const char *const labels[] = {"a in (b", "=x", "a,", "a in b", "a>b", "a b"};
    static const char *const fields[] = {"spec.nodeName", "a"};
    struct bn_sim_selector sel;
    char err[256];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(labels) / sizeof(labels[0]); i++) {
        err[0] = '\0';
        if (bn_sim_label_selector_parse(&sel, labels[i], err, sizeof(err)) != -1) {
            fail_msg("label selector '%s' was accepted", labels[i]);
        }
        assert_true(err[0] != '\0');
    }
    for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        assert_int_equal(bn_sim_field_selector_parse(&sel, fields[i], err, sizeof(err)), -1);
    }
    assert_int_equal(bn_sim_field_selector_parse(&sel, "a\\,b=c\\=d,x!=", err, sizeof(err)), 0);
    assert_int_equal(sel.nreqs, 2);
    assert_string_equal(sel.reqs[0].key, "a,b");
    assert_string_equal(sel.reqs[0].values[0], "c=d");
    assert_int_equal(sel.reqs[1].op, BN_SIM_SEL_NEQ);
    assert_string_equal(sel.reqs[1].values[0], "");
}

static void
test_field_selectors_use_the_resources_field_labels(void **state)
{
    struct bn_sim_store *s = new_store(100);
    struct bn_sim_selector sel;
    struct bn_sim_query q = {.fields = &sel};
    struct bn_sim_list_result res;
    struct bn_sim_status st;
    struct names nm;
    char err[256];

    (void)state;
    ns(s, "a");
    ns(s, "b");
    pod(s, "a", "p1", "node-1");
    pod(s, "a", "p2", "node-2");
    pod(s, "b", "p3", "node-1");
    assert_int_equal(bn_sim_field_selector_parse(&sel, "spec.nodeName=node-1", err, sizeof(err)),
                     0);
    assert_int_equal(list(s, BN_SIM_RES_PODS, &q, &nm, &res, &st), 0);
    assert_string_equal(nm.buf, "a/p1 b/p3");
    assert_int_equal(bn_sim_store_count_on_node(s, "node-1"), 2);
    /* the same through the paged (scan) path */
    q.limit = 10;
    assert_int_equal(list(s, BN_SIM_RES_PODS, &q, &nm, &res, &st), 0);
    assert_string_equal(nm.buf, "a/p1 b/p3");
    q.limit = 0;
    assert_int_equal(bn_sim_field_selector_parse(&sel, "spec.nodeName!=node-1,metadata.namespace=a",
                                                 err, sizeof(err)),
                     0);
    assert_int_equal(list(s, BN_SIM_RES_PODS, &q, &nm, &res, &st), 0);
    assert_string_equal(nm.buf, "a/p2");
    assert_int_equal(bn_sim_field_selector_parse(&sel, "metadata.name=p3", err, sizeof(err)), 0);
    assert_int_equal(list(s, BN_SIM_RES_PODS, &q, &nm, &res, &st), 0);
    assert_string_equal(nm.buf, "b/p3");
    assert_int_equal(bn_sim_field_selector_parse(&sel, "spec.foo=x", err, sizeof(err)), 0);
    assert_int_equal(list(s, BN_SIM_RES_PODS, &q, &nm, &res, &st), -1);
    assert_int_equal(st.code, 400);
    assert_string_equal(st.message, "field label not supported: spec.foo");
    assert_int_equal(bn_sim_field_selector_parse(&sel, "spec.nodeName=x", err, sizeof(err)), 0);
    assert_int_equal(list(s, BN_SIM_RES_CONFIGMAPS, &q, &nm, &res, &st), -1);
    bn_sim_store_free(s);
}

static void
test_limit_and_continue_page_a_consistent_snapshot(void **state)
{
    struct bn_sim_store *s = new_store(1000);
    struct bn_sim_query q = {.ns = "ns", .limit = 3};
    struct bn_sim_list_result res;
    struct bn_sim_status st;
    struct bn_sim_obj *gone;
    struct names nm;
    char all[8192] = "", cont[BN_SIM_CONTINUE_MAX], name[16];
    uint64_t rv0;
    int i, pages = 0;

    (void)state;
    ns(s, "ns");
    ns(s, "other");
    for (i = 0; i < 8; i++) {
        snprintf(name, sizeof(name), "cm-%d", i);
        cm(s, "ns", name, NULL);
    }
    cm(s, "other", "cm-x", NULL);
    assert_int_equal(list(s, BN_SIM_RES_CONFIGMAPS, &q, &nm, &res, &st), 0);
    assert_string_equal(nm.buf, "ns/cm-0 ns/cm-1 ns/cm-2");
    assert_int_equal(res.remaining, 5);
    assert_true(res.cont[0] != '\0');
    rv0 = res.rv;
    strcat(all, nm.buf);
    /* the world moves on between pages */
    assert_int_equal(
        bn_sim_store_delete(s, BN_SIM_RES_CONFIGMAPS, "ns", "cm-5", NULL, NULL, &gone, &st), 0);
    cm(s, "ns", "cm-4a", NULL);
    while (res.cont[0] != '\0') {
        snprintf(cont, sizeof(cont), "%s", res.cont);
        q.cont = cont;
        assert_int_equal(list(s, BN_SIM_RES_CONFIGMAPS, &q, &nm, &res, &st), 0);
        assert_int_equal(res.rv, rv0);
        strcat(all, " ");
        strcat(all, nm.buf);
        pages++;
    }
    /* every key of the snapshot once, in order: cm-5 still there, cm-4a not */
    assert_string_equal(all, "ns/cm-0 ns/cm-1 ns/cm-2 ns/cm-3 ns/cm-4 ns/cm-5 ns/cm-6 ns/cm-7");
    assert_int_equal(pages, 2);
    assert_int_equal(res.remaining, -1);
    bn_sim_store_free(s);
}

static void
test_continue_errors_and_too_old_tokens(void **state)
{
    struct bn_sim_store *s = new_store(4);
    struct bn_sim_query q = {.ns = "ns", .limit = 1};
    struct bn_sim_list_result res;
    struct bn_sim_status st;
    struct names nm;
    char cont[BN_SIM_CONTINUE_MAX], inconsistent[BN_SIM_CONTINUE_MAX];
    int i;

    (void)state;
    ns(s, "ns");
    cm(s, "ns", "a", NULL);
    cm(s, "ns", "b", NULL);
    cm(s, "ns", "c", NULL);
    assert_int_equal(list(s, BN_SIM_RES_CONFIGMAPS, &q, &nm, &res, &st), 0);
    snprintf(cont, sizeof(cont), "%s", res.cont);
    q.cont = cont;
    q.rv_mode = BN_SIM_RV_ZERO;
    assert_int_equal(list(s, BN_SIM_RES_CONFIGMAPS, &q, &nm, &res, &st), -1);
    assert_int_equal(st.code, 400);
    assert_string_equal(st.message,
                        "specifying resource version is not allowed when using continue");
    q.rv_mode = BN_SIM_RV_UNSET;
    q.cont = "!!!";
    assert_int_equal(list(s, BN_SIM_RES_CONFIGMAPS, &q, &nm, &res, &st), -1);
    assert_int_equal(st.code, 400);
    assert_non_null(strstr(st.message, "continue key is not valid"));
    /* five more writes push the snapshot (rv 4) out of a window of 4 */
    for (i = 0; i < 5; i++) {
        char patch[64];
        struct bn_sim_obj *o;

        snprintf(patch, sizeof(patch), "{\"data\":{\"i\":\"%d\"}}", i);
        assert_int_equal(
            bn_sim_store_patch(s, BN_SIM_RES_CONFIGMAPS, "ns", "c", patch, strlen(patch), &o, &st),
            0);
    }
    q.cont = cont;
    assert_int_equal(list(s, BN_SIM_RES_CONFIGMAPS, &q, &nm, &res, &st), -1);
    assert_int_equal(st.code, 410);
    assert_string_equal(st.reason, "Expired");
    assert_non_null(strstr(st.message, "The provided continue parameter is too old"));
    assert_true(st.cont[0] != '\0');
    /* the inconsistent token goes on from the current state */
    snprintf(inconsistent, sizeof(inconsistent), "%s", st.cont);
    q.cont = inconsistent;
    q.limit = 0;
    assert_int_equal(list(s, BN_SIM_RES_CONFIGMAPS, &q, &nm, &res, &st), 0);
    assert_string_equal(nm.buf, "ns/b ns/c");
    bn_sim_store_free(s);
}

static void
test_resource_version_zero_ignores_limit_and_exact_reads_the_past(void **state)
{
    struct bn_sim_store *s = new_store(100);
    struct bn_sim_query q = {.ns = "ns", .limit = 1, .rv_mode = BN_SIM_RV_ZERO};
    struct bn_sim_list_result res;
    struct bn_sim_status st;
    struct bn_sim_obj *gone;
    struct names nm;
    uint64_t then;

    (void)state;
    ns(s, "ns");
    cm(s, "ns", "a", NULL);
    cm(s, "ns", "b", NULL);
    assert_int_equal(list(s, BN_SIM_RES_CONFIGMAPS, &q, &nm, &res, &st), 0);
    assert_string_equal(nm.buf, "ns/a ns/b");
    assert_string_equal(res.cont, "");
    then = bn_sim_store_rv(s);
    assert_int_equal(
        bn_sim_store_delete(s, BN_SIM_RES_CONFIGMAPS, "ns", "a", NULL, NULL, &gone, &st), 0);
    cm(s, "ns", "c", NULL);
    q = (struct bn_sim_query){.ns = "ns", .rv_mode = BN_SIM_RV_VALUE, .rv = then, .exact = true};
    assert_int_equal(list(s, BN_SIM_RES_CONFIGMAPS, &q, &nm, &res, &st), 0);
    assert_string_equal(nm.buf, "ns/a ns/b");
    assert_int_equal(res.rv, then);
    /* not older than: the current state */
    q.exact = false;
    assert_int_equal(list(s, BN_SIM_RES_CONFIGMAPS, &q, &nm, &res, &st), 0);
    assert_string_equal(nm.buf, "ns/b ns/c");
    q.rv = bn_sim_store_rv(s) + 10;
    assert_int_equal(list(s, BN_SIM_RES_CONFIGMAPS, &q, &nm, &res, &st), -1);
    assert_int_equal(st.code, 504);
    assert_true(st.too_large_rv);
    bn_sim_store_free(s);
}

/* A watcher that records "TYPE key@rv" lines. */
struct rec {
    char buf[8192];
    int n;
};

static void
on_event(void *arg, enum bn_sim_ev type, struct bn_sim_obj *o)
{
    static const char *const names[] = {"ADDED", "MODIFIED", "DELETED"};
    struct rec *r = arg;
    size_t len = strlen(r->buf);

    snprintf(r->buf + len, sizeof(r->buf) - len, "%s%s %s@%" PRIu64, len > 0 ? " " : "",
             names[type], o->key, o->rv);
    r->n++;
}

static void
test_watch_from_resource_version_replays_then_follows(void **state)
{
    struct bn_sim_store *s = new_store(100);
    struct bn_sim_watcher *w;
    struct bn_sim_status st;
    struct bn_sim_obj *o, *gone;
    struct rec rec = {0};
    struct bn_sim_query q = {.ns = "ns", .rv_mode = BN_SIM_RV_VALUE};
    char want[512];
    uint64_t rv;

    (void)state;
    ns(s, "ns");
    cm(s, "ns", "a", NULL);
    rv = bn_sim_store_rv(s);
    o = cm(s, "ns", "b", NULL);
    q.rv = rv;
    w = bn_sim_store_watch(s, BN_SIM_RES_CONFIGMAPS, &q, false, on_event, &rec, &st);
    assert_non_null(w);
    assert_int_equal(bn_sim_store_patch(s, BN_SIM_RES_CONFIGMAPS, "ns", "b",
                                        P("{\"data\":{\"k\":\"v\"}}"), &o, &st),
                     0);
    assert_int_equal(
        bn_sim_store_delete(s, BN_SIM_RES_CONFIGMAPS, "ns", "a", NULL, NULL, &gone, &st), 0);
    snprintf(want, sizeof(want),
             "ADDED ns/b@%" PRIu64 " MODIFIED ns/b@%" PRIu64 " DELETED ns/a@%" PRIu64, rv + 1,
             rv + 2, rv + 3);
    assert_string_equal(rec.buf, want);
    bn_sim_store_unwatch(s, w);
    cm(s, "ns", "c", NULL);
    assert_int_equal(rec.n, 3);
    bn_sim_store_free(s);
}

static void
test_watch_with_initial_events_then_live(void **state)
{
    struct bn_sim_store *s = new_store(100);
    struct bn_sim_query q = {.ns = "ns"};
    struct bn_sim_status st;
    struct rec rec = {0};
    struct bn_sim_watcher *w;

    (void)state;
    ns(s, "ns");
    ns(s, "other");
    cm(s, "ns", "a", NULL);
    cm(s, "other", "x", NULL);
    w = bn_sim_store_watch(s, BN_SIM_RES_CONFIGMAPS, &q, true, on_event, &rec, &st);
    assert_non_null(w);
    assert_string_equal(rec.buf, "ADDED ns/a@3");
    cm(s, "other", "y", NULL);
    cm(s, "ns", "b", NULL);
    assert_string_equal(rec.buf, "ADDED ns/a@3 ADDED ns/b@6");
    bn_sim_store_free(s); /* frees the watcher too */
}

static void
test_watch_older_than_the_window_is_gone_and_future_is_too_large(void **state)
{
    struct bn_sim_store *s = new_store(3);
    struct bn_sim_query q = {.rv_mode = BN_SIM_RV_VALUE, .rv = 1};
    struct bn_sim_status st;
    struct rec rec = {0};
    struct bn_sim_watcher *w;

    (void)state;
    ns(s, "ns");
    cm(s, "ns", "a", NULL); /* rv 2 */
    cm(s, "ns", "b", NULL);
    cm(s, "ns", "c", NULL);
    cm(s, "ns", "d", NULL); /* evicts rv 2: the window now starts after 2 */
    assert_null(bn_sim_store_watch(s, BN_SIM_RES_CONFIGMAPS, &q, false, on_event, &rec, &st));
    assert_int_equal(st.code, 410);
    assert_string_equal(st.reason, "Expired");
    assert_string_equal(st.message, "too old resource version: 1 (2)");
    q.rv = 2;
    w = bn_sim_store_watch(s, BN_SIM_RES_CONFIGMAPS, &q, false, on_event, &rec, &st);
    assert_non_null(w);
    assert_string_equal(rec.buf, "ADDED ns/b@3 ADDED ns/c@4 ADDED ns/d@5");
    bn_sim_store_unwatch(s, w);
    q.rv = 99;
    assert_null(bn_sim_store_watch(s, BN_SIM_RES_CONFIGMAPS, &q, false, on_event, &rec, &st));
    assert_int_equal(st.code, 504);
    bn_sim_store_free(s);
}

static void
test_watchers_see_objects_enter_and_leave_their_selection(void **state)
{
    struct bn_sim_store *s = new_store(100);
    struct bn_sim_selector web, node1;
    struct bn_sim_query qw = {.labels = &web}, qn = {.fields = &node1};
    struct bn_sim_status st;
    struct rec rw = {0}, rn = {0};
    struct bn_sim_obj *o;
    char err[256];
    uint64_t rv;

    (void)state;
    assert_int_equal(bn_sim_label_selector_parse(&web, "app=web", err, sizeof(err)), 0);
    assert_int_equal(bn_sim_field_selector_parse(&node1, "spec.nodeName=node-1", err, sizeof(err)),
                     0);
    ns(s, "ns");
    cm(s, "ns", "x", "\"app\":\"db\"");
    pod(s, "ns", "p", "node-2");
    assert_non_null(bn_sim_store_watch(s, BN_SIM_RES_CONFIGMAPS, &qw, false, on_event, &rw, &st));
    assert_non_null(bn_sim_store_watch(s, BN_SIM_RES_PODS, &qn, false, on_event, &rn, &st));
    rv = bn_sim_store_rv(s);
    assert_int_equal(bn_sim_store_patch(s, BN_SIM_RES_CONFIGMAPS, "ns", "x",
                                        P("{\"metadata\":{\"labels\":{\"app\":\"web\"}}}"), &o,
                                        &st),
                     0);
    assert_int_equal(bn_sim_store_patch(s, BN_SIM_RES_CONFIGMAPS, "ns", "x",
                                        P("{\"metadata\":{\"labels\":{\"app\":\"db\"}}}"), &o, &st),
                     0);
    assert_int_equal(bn_sim_store_patch(s, BN_SIM_RES_PODS, "ns", "p",
                                        P("{\"spec\":{\"nodeName\":\"node-1\"}}"), &o, &st),
                     0);
    pod(s, "ns", "q", "node-3");
    {
        char want[256];

        /* leaving: the previous state, at the event's resourceVersion */
        snprintf(want, sizeof(want), "ADDED ns/x@%" PRIu64 " DELETED ns/x@%" PRIu64, rv + 1,
                 rv + 2);
        assert_string_equal(rw.buf, want);
        snprintf(want, sizeof(want), "ADDED ns/p@%" PRIu64, rv + 3);
        assert_string_equal(rn.buf, want);
    }
    assert_int_equal(bn_sim_store_count_on_node(s, "node-1"), 1);
    assert_int_equal(bn_sim_store_count_on_node(s, "node-2"), 0);
    bn_sim_store_free(s);
}

static void
test_node_index_survives_many_nodes_coming_and_going(void **state)
{
    struct bn_sim_store *s = new_store(10);
    struct bn_sim_status st;
    struct bn_sim_obj *gone;
    char name[32], node[32];
    int i;

    (void)state;
    ns(s, "ns");
    for (i = 0; i < 2000; i++) {
        snprintf(name, sizeof(name), "p%d", i);
        snprintf(node, sizeof(node), "node-%d", i % 700);
        assert_non_null(pod(s, "ns", name, node));
    }
    for (i = 0; i < 2000; i += 2) {
        snprintf(name, sizeof(name), "p%d", i);
        assert_int_equal(
            bn_sim_store_delete(s, BN_SIM_RES_PODS, "ns", name, NULL, NULL, &gone, &st), 0);
    }
    for (i = 0; i < 700; i++) {
        size_t want = 0;
        int k;

        for (k = i; k < 2000; k += 700) {
            want += k % 2 == 1;
        }
        snprintf(node, sizeof(node), "node-%d", i);
        assert_int_equal(bn_sim_store_count_on_node(s, node), want);
    }
    bn_sim_store_free(s);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_writes_get_increasing_resource_versions),
        cmocka_unit_test(test_create_errors_are_kube_statuses),
        cmocka_unit_test(test_update_checks_resource_version_and_skips_no_ops),
        cmocka_unit_test(test_merge_patch_adds_replaces_and_deletes),
        cmocka_unit_test(test_delete_checks_preconditions_and_cascades_namespaces),
        cmocka_unit_test(test_label_selectors_select_like_apimachinery),
        cmocka_unit_test(test_malformed_selectors_are_refused),
        cmocka_unit_test(test_field_selectors_use_the_resources_field_labels),
        cmocka_unit_test(test_limit_and_continue_page_a_consistent_snapshot),
        cmocka_unit_test(test_continue_errors_and_too_old_tokens),
        cmocka_unit_test(test_resource_version_zero_ignores_limit_and_exact_reads_the_past),
        cmocka_unit_test(test_watch_from_resource_version_replays_then_follows),
        cmocka_unit_test(test_watch_with_initial_events_then_live),
        cmocka_unit_test(test_watch_older_than_the_window_is_gone_and_future_is_too_large),
        cmocka_unit_test(test_watchers_see_objects_enter_and_leave_their_selection),
        cmocka_unit_test(test_node_index_survives_many_nodes_coming_and_going),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
