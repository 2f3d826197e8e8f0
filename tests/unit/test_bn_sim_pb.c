/* Protobuf request bodies as typed client-go clients send them ("k8s\0" +
 * runtime.Unknown): ConfigMap, Lease, Namespace and DeleteOptions decode to
 * the JSON the store takes; other kinds get 415; malformed and truncated
 * bodies are refused, never read past their end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "bn_sim_pb.h"

/* A tiny protobuf writer. */
struct w {
    uint8_t b[4096];
    size_t n;
};

static void
varint(struct w *w, uint64_t v)
{
    do {
        uint8_t c = (uint8_t)(v & 0x7f);

        v >>= 7;
        w->b[w->n++] = (uint8_t)(c | (v != 0 ? 0x80 : 0));
    } while (v != 0);
}

static void
bytes(struct w *w, uint32_t field, const void *p, size_t len)
{
    varint(w, (uint64_t)field << 3 | 2);
    varint(w, len);
    memcpy(w->b + w->n, p, len);
    w->n += len;
}

static void
str(struct w *w, uint32_t field, const char *s)
{
    bytes(w, field, s, strlen(s));
}

static void
num(struct w *w, uint32_t field, uint64_t v)
{
    varint(w, (uint64_t)field << 3);
    varint(w, v);
}

static void
sub(struct w *w, uint32_t field, const struct w *inner)
{
    bytes(w, field, inner->b, inner->n);
}

static void
map_entry(struct w *w, uint32_t field, const char *k, const char *v)
{
    struct w e = {0};

    str(&e, 1, k);
    str(&e, 2, v);
    sub(w, field, &e);
}

/* "k8s\0" + Unknown{typeMeta{apiVersion, kind}, raw} */
static void
envelope(struct w *out, const char *av, const char *kind, const struct w *raw)
{
    struct w tm = {0}, u = {0};

    str(&tm, 1, av);
    str(&tm, 2, kind);
    sub(&u, 1, &tm);
    sub(&u, 2, raw);
    str(&u, 4, "application/vnd.kubernetes.protobuf");
    memcpy(out->b, "k8s", 4);
    out->n = 4;
    memcpy(out->b + out->n, u.b, u.n);
    out->n += u.n;
}

static void
object_meta(struct w *meta, const char *name)
{
    str(meta, 1, name);
    str(meta, 2, ""); /* gogo writes empty strings: they must not appear */
    str(meta, 3, "default");
    map_entry(meta, 11, "app", "web");
    map_entry(meta, 12, "note", "hi");
}

static void
configmap(struct w *body)
{
    struct w cm = {0}, meta = {0};

    object_meta(&meta, "x");
    sub(&cm, 1, &meta);
    map_entry(&cm, 2, "k", "v");
    map_entry(&cm, 2, "k2", "v2");
    num(&cm, 4, 1);
    envelope(body, "v1", "ConfigMap", &cm);
}

static void
test_configmap_decodes_to_the_json_kubectl_meant(void **state)
{
    struct w body = {0};
    char err[256];
    int code = 0;
    json_t *doc;

    (void)state;
    configmap(&body);
    doc = bn_sim_pb_object(BN_SIM_RES_CONFIGMAPS, body.b, body.n, &code, err, sizeof(err));
    assert_non_null(doc);
    assert_string_equal(json_string_value(json_object_get(doc, "kind")), "ConfigMap");
    assert_string_equal(json_string_value(json_object_get(doc, "apiVersion")), "v1");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(doc, "metadata"), "name")), "x");
    assert_null(json_object_get(json_object_get(doc, "metadata"), "generateName"));
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_object_get(doc, "metadata"), "labels"), "app")),
                        "web");
    assert_string_equal(json_string_value(json_object_get(json_object_get(doc, "data"), "k2")),
                        "v2");
    assert_true(json_is_true(json_object_get(doc, "immutable")));
    json_decref(doc);
}

static void
test_lease_spec_times_and_integers_decode(void **state)
{
    struct w body = {0}, lease = {0}, meta = {0}, spec = {0}, t = {0};
    char err[256];
    int code = 0;
    json_t *doc, *sp;

    (void)state;
    str(&meta, 1, "node-1");
    sub(&lease, 1, &meta);
    str(&spec, 1, "node-1");
    num(&spec, 2, 40);
    num(&t, 1, 1700000000);
    num(&t, 2, 123456000);
    sub(&spec, 4, &t);
    sub(&lease, 2, &spec);
    envelope(&body, "coordination.k8s.io/v1", "Lease", &lease);
    doc = bn_sim_pb_object(BN_SIM_RES_LEASES, body.b, body.n, &code, err, sizeof(err));
    assert_non_null(doc);
    sp = json_object_get(doc, "spec");
    assert_string_equal(json_string_value(json_object_get(sp, "holderIdentity")), "node-1");
    assert_int_equal(json_integer_value(json_object_get(sp, "leaseDurationSeconds")), 40);
    assert_string_equal(json_string_value(json_object_get(sp, "renewTime")),
                        "2023-11-14T22:13:20.123456Z");
    json_decref(doc);
}

static void
test_namespace_finalizers_decode(void **state)
{
    struct w body = {0}, ns = {0}, meta = {0}, spec = {0};
    char err[256];
    int code = 0;
    json_t *doc;

    (void)state;
    str(&meta, 1, "team-x");
    sub(&ns, 1, &meta);
    str(&spec, 1, "kubernetes");
    sub(&ns, 2, &spec);
    envelope(&body, "v1", "Namespace", &ns);
    doc = bn_sim_pb_object(BN_SIM_RES_NAMESPACES, body.b, body.n, &code, err, sizeof(err));
    assert_non_null(doc);
    assert_string_equal(json_string_value(json_array_get(
                            json_object_get(json_object_get(doc, "spec"), "finalizers"), 0)),
                        "kubernetes");
    json_decref(doc);
}

static void
test_delete_options_keep_their_preconditions(void **state)
{
    struct w body = {0}, opts = {0}, pre = {0};
    char err[256];
    int code = 0;
    json_t *doc;

    (void)state;
    str(&pre, 1, "uid-1");
    str(&pre, 2, "42");
    num(&opts, 1, 30);
    sub(&opts, 2, &pre);
    envelope(&body, "v1", "DeleteOptions", &opts);
    doc = bn_sim_pb_delete_options(body.b, body.n, &code, err, sizeof(err));
    assert_non_null(doc);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(doc, "preconditions"), "uid")), "uid-1");
    assert_string_equal(json_string_value(json_object_get(json_object_get(doc, "preconditions"),
                                                          "resourceVersion")),
                        "42");
    json_decref(doc);
}

static void
test_kinds_not_decoded_ask_for_json_with_415(void **state)
{
    struct w body = {0}, pod = {0}, meta = {0};
    char err[256];
    int code = 0;

    (void)state;
    str(&meta, 1, "p");
    sub(&pod, 1, &meta);
    envelope(&body, "v1", "Pod", &pod);
    assert_null(bn_sim_pb_object(BN_SIM_RES_PODS, body.b, body.n, &code, err, sizeof(err)));
    assert_int_equal(code, 415);
    assert_non_null(strstr(err, "application/json"));
}

static void
test_wrong_kind_and_missing_magic_are_400(void **state)
{
    struct w body = {0};
    char err[256];
    int code = 0;

    (void)state;
    configmap(&body);
    assert_null(bn_sim_pb_object(BN_SIM_RES_LEASES, body.b, body.n, &code, err, sizeof(err)));
    assert_int_equal(code, 400);
    assert_non_null(strstr(err, "does not match the expected kind"));
    body.b[0] = '{';
    assert_null(bn_sim_pb_object(BN_SIM_RES_CONFIGMAPS, body.b, body.n, &code, err, sizeof(err)));
    assert_int_equal(code, 400);
}

static void
test_every_truncation_is_refused_without_reading_past_the_end(void **state)
{
    struct w body = {0};
    char err[256];
    size_t cut;

    (void)state;
    configmap(&body);
    for (cut = 0; cut < body.n; cut++) {
        /* an exact-size copy, so that ASan sees any read past the end */
        uint8_t *p = malloc(cut > 0 ? cut : 1);
        int code = 0;
        json_t *doc;

        memcpy(p, body.b, cut);
        doc = bn_sim_pb_object(BN_SIM_RES_CONFIGMAPS, p, cut, &code, err, sizeof(err));
        /* a prefix can end cleanly at a field boundary of the outer message
         * only after the raw object: then it is a whole object, else refused */
        if (doc != NULL) {
            assert_true(cut > body.n - 40);
            json_decref(doc);
        } else {
            assert_int_equal(code, 400);
        }
        json_decref(bn_sim_pb_delete_options(p, cut, &code, err, sizeof(err)));
        free(p);
    }
}

static void
test_garbage_varints_and_wire_types_are_refused(void **state)
{
    static const uint8_t bodies[][16] = {
        {'k', '8', 's', 0, 0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
        {'k', '8', 's', 0, 0x0f, 0x01},       /* wire type 7 */
        {'k', '8', 's', 0, 0x12, 0x7f, 0x00}, /* raw longer than the body */
        {'k', '8', 's', 0, 0x00},             /* field number 0 */
    };
    char err[256];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        int code = 0;

        assert_null(bn_sim_pb_object(BN_SIM_RES_CONFIGMAPS, bodies[i], sizeof(bodies[i]), &code,
                                     err, sizeof(err)));
        assert_int_equal(code, 400);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_configmap_decodes_to_the_json_kubectl_meant),
        cmocka_unit_test(test_lease_spec_times_and_integers_decode),
        cmocka_unit_test(test_namespace_finalizers_decode),
        cmocka_unit_test(test_delete_options_keep_their_preconditions),
        cmocka_unit_test(test_kinds_not_decoded_ask_for_json_with_415),
        cmocka_unit_test(test_wrong_kind_and_missing_magic_are_400),
        cmocka_unit_test(test_every_truncation_is_refused_without_reading_past_the_end),
        cmocka_unit_test(test_garbage_varints_and_wire_types_are_refused),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
