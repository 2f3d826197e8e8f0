/* The simulator's authentication union, rule by rule as kube-apiserver
 * applies it: requestheader (front-proxy certificate + X-Remote-User, else
 * fall through), x509 (client CA, CN/O), service-account bearer tokens
 * (invalid → 401), anonymous only without any credential. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>

#include "bn_sim_auth.h"
#include "bn_sim_mint.h"
#include "px_jwt.h"

#define ISS "https://kubernetes.default.svc"
#define NOW 1700000000LL

static char pki[1024];
static struct px_jwt_keys *jwt;
static struct bn_sim_auth *auth;
static struct bn_sim_peer peer_none, peer_admin, peer_proxy, peer_rogue, peer_node;
static char *good_token, *expired_token, *none_token, *hs_token, *wrong_key_token, *wrong_iss_token;

static const char *
path(const char *file)
{
    static char buf[4][1200];
    static unsigned next;
    char *b = buf[next++ % 4];

    snprintf(b, sizeof(buf[0]), "%s/%s", pki, file);
    return b;
}

static X509 *
load_cert(const char *file)
{
    FILE *f = fopen(path(file), "r");
    X509 *x;

    if (f == NULL) {
        return NULL;
    }
    x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    return x;
}

static struct bn_sim_auth *
make_auth(const char *const *allowed, size_t nallowed, bool anonymous)
{
    struct bn_sim_auth_opts o = {0};
    char err[256];
    struct bn_sim_auth *a;

    o.client_ca = path("ca.crt");
    o.requestheader_ca = path("front-proxy-ca.crt");
    o.allowed_names = allowed;
    o.nallowed = nallowed;
    o.jwt = jwt;
    o.anonymous = anonymous;
    a = bn_sim_auth_new(&o, err, sizeof(err));
    if (a == NULL) {
        fprintf(stderr, "bn_sim_auth_new: %s\n", err);
    }
    return a;
}

static void
peer_from(const char *file, struct bn_sim_peer *p)
{
    X509 *x = load_cert(file);

    bn_sim_auth_peer(auth, x, NULL, p);
    X509_free(x);
}

static int
setup(void **state)
{
    const char *keys[1];
    const char *iss[] = {ISS};
    char payload[2048], err[256];

    (void)state;
    if (mint_pki("auth", pki, sizeof(pki)) != 0) {
        return -1;
    }
    keys[0] = path("sa.pub");
    jwt = px_jwt_keys_new(keys, 1, iss, 1, iss, 1, err, sizeof(err));
    if (jwt == NULL) {
        fprintf(stderr, "px_jwt_keys_new: %s\n", err);
        return -1;
    }
    auth = make_auth(NULL, 0, true);
    if (auth == NULL) {
        return -1;
    }
    bn_sim_auth_peer(auth, NULL, NULL, &peer_none);
    peer_from("admin.crt", &peer_admin);
    peer_from("front-proxy-client.crt", &peer_proxy);
    peer_from("rogue.crt", &peer_rogue);
    peer_from("system_node_node-1.crt", &peer_node);
    mint_bound_payload(payload, sizeof(payload), ISS, ISS, NOW, NOW + 3600, "monitoring",
                       "node-agent", "node-7");
    good_token = mint_token("RS256", NULL, payload, path("sa.key"));
    none_token = mint_token("none", NULL, payload, path("sa.key"));
    hs_token = mint_token("HS256", NULL, payload, path("sa.pub"));
    /* only sa.pub is trusted: the P-256 service-account key is a wrong key */
    wrong_key_token = mint_token("ES256", NULL, payload, path("sa-ec.key"));
    mint_bound_payload(payload, sizeof(payload), "https://other.example", ISS, NOW, NOW + 3600,
                       "monitoring", "node-agent", "node-7");
    wrong_iss_token = mint_token("RS256", NULL, payload, path("sa.key"));
    mint_bound_payload(payload, sizeof(payload), ISS, ISS, NOW - 7200, NOW - 3600, "monitoring",
                       "node-agent", "node-7");
    expired_token = mint_token("RS256", NULL, payload, path("sa.key"));
    return good_token != NULL && expired_token != NULL && none_token != NULL && hs_token != NULL &&
                   wrong_key_token != NULL && wrong_iss_token != NULL
               ? 0
               : -1;
}

static int
teardown(void **state)
{
    (void)state;
    bn_sim_auth_free(auth);
    px_jwt_keys_free(jwt);
    free(good_token);
    free(expired_token);
    free(none_token);
    free(hs_token);
    free(wrong_key_token);
    free(wrong_iss_token);
    return 0;
}

/* Headers from "Name: value" strings. */
struct hdrs {
    struct bn_sim_header h[64];
    size_t n;
};

static void
hdr(struct hdrs *hs, const char *line)
{
    const char *colon = strchr(line, ':');
    struct bn_sim_header *h = &hs->h[hs->n++];

    h->name = line;
    h->name_len = (size_t)(colon - line);
    h->value = colon + 1;
    while (*h->value == ' ') {
        h->value++;
    }
    h->value_len = strlen(h->value);
}

static void
bearer(struct hdrs *hs, const char *token)
{
    static char buf[8][8192];
    static unsigned next;
    char *b = buf[next++ % 8];

    snprintf(b, sizeof(buf[0]), "Authorization: Bearer %s", token);
    hdr(hs, b);
}

static int
run(const struct bn_sim_peer *p, const struct hdrs *hs, struct bn_sim_user *u)
{
    return bn_sim_auth_request(auth, p, hs->h, hs->n, NOW, u);
}

static bool
has_group(const struct bn_sim_user *u, const char *g)
{
    size_t i;

    for (i = 0; i < u->ngroups; i++) {
        if (strcmp(u->groups[i], g) == 0) {
            return true;
        }
    }
    return false;
}

static const char *
extra(const struct bn_sim_user *u, const char *key)
{
    size_t i;

    for (i = 0; i < u->nextra; i++) {
        if (strcmp(u->extra[i].key, key) == 0) {
            return u->extra[i].value;
        }
    }
    return NULL;
}

static void
test_peer_certificates_verify_against_their_own_ca_only(void **state)
{
    (void)state;
    assert_true(peer_admin.presented && peer_admin.x509_ok && !peer_admin.frontproxy_ok);
    assert_true(peer_proxy.presented && !peer_proxy.x509_ok && peer_proxy.frontproxy_ok);
    assert_true(peer_rogue.presented && !peer_rogue.x509_ok && !peer_rogue.frontproxy_ok);
    assert_false(peer_none.presented);
    assert_string_equal(peer_node.cn, "system:node:node-1");
}

static void
test_front_proxy_asserts_user_groups_and_extras(void **state)
{
    struct hdrs hs = {0};
    struct bn_sim_user u;

    (void)state;
    hdr(&hs, "X-Remote-User: alice");
    hdr(&hs, "x-remote-group: developers");
    hdr(&hs, "X-Remote-Group: a,b");
    hdr(&hs, "X-Remote-Extra-Scopes: view");
    hdr(&hs, "X-Remote-Extra-Authentication.kubernetes.io%2fPod-Name: web-1");
    hdr(&hs, "X-Remote-Extra-Bad%zzKey: v");
    assert_int_equal(run(&peer_proxy, &hs, &u), 0);
    assert_int_equal(u.method, BN_SIM_AUTHN_REQUESTHEADER);
    assert_string_equal(u.name, "alice");
    assert_int_equal(u.ngroups, 3);
    assert_string_equal(u.groups[0], "developers");
    assert_string_equal(u.groups[1], "a,b"); /* repeated headers, never comma-split */
    assert_string_equal(u.groups[2], "system:authenticated");
    assert_string_equal(extra(&u, "scopes"), "view");
    assert_string_equal(extra(&u, "authentication.kubernetes.io/pod-name"), "web-1");
    assert_string_equal(extra(&u, "bad%zzkey"), "v");
}

static void
test_front_proxy_without_remote_user_falls_through_to_the_token(void **state)
{
    struct hdrs hs = {0};
    struct bn_sim_user u;

    (void)state;
    hdr(&hs, "X-Remote-Group: system:masters");
    bearer(&hs, good_token);
    assert_int_equal(run(&peer_proxy, &hs, &u), 0);
    assert_int_equal(u.method, BN_SIM_AUTHN_TOKEN);
    assert_string_equal(u.name, "system:serviceaccount:monitoring:node-agent");
    assert_false(has_group(&u, "system:masters"));
}

static void
test_front_proxy_without_remote_user_or_token_is_unauthorized(void **state)
{
    struct hdrs hs = {0};
    struct bn_sim_user u;

    (void)state;
    hdr(&hs, "X-Remote-Group: system:masters");
    /* x509 then fails: the front-proxy CA is not the client CA */
    assert_int_equal(run(&peer_proxy, &hs, &u), -1);
    assert_int_equal(u.method, BN_SIM_AUTHN_NONE);
    assert_true(u.err[0] != '\0');
}

static void
test_empty_first_remote_user_declines_even_if_a_second_is_set(void **state)
{
    struct hdrs hs = {0};
    struct bn_sim_user u;

    (void)state;
    hdr(&hs, "X-Remote-User: ");
    hdr(&hs, "X-Remote-User: mallory");
    bearer(&hs, good_token);
    assert_int_equal(run(&peer_proxy, &hs, &u), 0);
    assert_int_equal(u.method, BN_SIM_AUTHN_TOKEN);
}

static void
test_front_proxy_cn_outside_allowed_names_is_refused(void **state)
{
    const char *allowed[] = {"aggregator"};
    struct bn_sim_auth *strict = make_auth(allowed, 1, true);
    struct bn_sim_peer p;
    struct hdrs hs = {0};
    struct bn_sim_user u;
    X509 *x = load_cert("front-proxy-client.crt");

    (void)state;
    assert_non_null(strict);
    bn_sim_auth_peer(strict, x, NULL, &p);
    assert_false(p.frontproxy_ok);
    assert_non_null(strstr(p.frontproxy_err, "not in the allowed list"));
    hdr(&hs, "X-Remote-User: alice");
    assert_int_equal(bn_sim_auth_request(strict, &p, hs.h, hs.n, NOW, &u), -1);
    X509_free(x);
    bn_sim_auth_free(strict);
}

static void
test_front_proxy_cn_inside_allowed_names_is_accepted(void **state)
{
    const char *allowed[] = {"aggregator", "front-proxy-client"};
    struct bn_sim_auth *strict = make_auth(allowed, 2, true);
    struct bn_sim_peer p;
    X509 *x = load_cert("front-proxy-client.crt");

    (void)state;
    bn_sim_auth_peer(strict, x, NULL, &p);
    assert_true(p.frontproxy_ok);
    X509_free(x);
    bn_sim_auth_free(strict);
}

static void
test_client_certificate_ignores_remote_headers(void **state)
{
    struct hdrs hs = {0};
    struct bn_sim_user u;

    (void)state;
    hdr(&hs, "X-Remote-User: mallory");
    hdr(&hs, "X-Remote-Group: system:masters");
    assert_int_equal(run(&peer_node, &hs, &u), 0);
    assert_int_equal(u.method, BN_SIM_AUTHN_X509);
    assert_string_equal(u.name, "system:node:node-1");
    assert_int_equal(u.ngroups, 2);
    assert_string_equal(u.groups[0], "system:nodes");
    assert_string_equal(u.groups[1], "system:authenticated");
}

static void
test_client_certificate_yields_cn_orgs_and_credential_id(void **state)
{
    struct hdrs hs = {0};
    struct bn_sim_user u;
    const char *id;

    (void)state;
    assert_int_equal(run(&peer_admin, &hs, &u), 0);
    assert_int_equal(u.method, BN_SIM_AUTHN_X509);
    assert_string_equal(u.name, "admin");
    assert_true(has_group(&u, "system:masters"));
    assert_true(has_group(&u, "system:authenticated"));
    id = extra(&u, "authentication.kubernetes.io/credential-id");
    assert_non_null(id);
    assert_int_equal(strncmp(id, "X509SHA256=", 11), 0);
    assert_int_equal(strlen(id), 11 + 64);
}

static void
test_certificate_from_an_unknown_ca_is_unauthorized(void **state)
{
    struct hdrs hs = {0};
    struct bn_sim_user u;

    (void)state;
    assert_int_equal(run(&peer_rogue, &hs, &u), -1);
    assert_non_null(strstr(u.err, "x509"));
}

static void
test_valid_token_wins_over_an_unknown_certificate(void **state)
{
    struct hdrs hs = {0};
    struct bn_sim_user u;

    (void)state;
    bearer(&hs, good_token);
    assert_int_equal(run(&peer_rogue, &hs, &u), 0);
    assert_int_equal(u.method, BN_SIM_AUTHN_TOKEN);
}

static void
test_token_yields_service_account_groups_and_extras(void **state)
{
    struct hdrs hs = {0};
    struct bn_sim_user u;

    (void)state;
    bearer(&hs, good_token);
    assert_int_equal(run(&peer_none, &hs, &u), 0);
    assert_string_equal(u.name, "system:serviceaccount:monitoring:node-agent");
    assert_string_equal(u.uid, "sa-uid-1");
    assert_int_equal(u.ngroups, 3);
    assert_string_equal(u.groups[0], "system:serviceaccounts");
    assert_string_equal(u.groups[1], "system:serviceaccounts:monitoring");
    assert_string_equal(u.groups[2], "system:authenticated");
    assert_string_equal(extra(&u, "authentication.kubernetes.io/node-name"), "node-7");
    assert_string_equal(extra(&u, "authentication.kubernetes.io/pod-name"), "agent-x");
    assert_string_equal(extra(&u, "authentication.kubernetes.io/credential-id"),
                        "JTI=8f1c2a9e-1111-4c3b-9a57-7d1e2f3a4b5c");
}

static void
test_bad_tokens_are_unauthorized_never_anonymous(void **state)
{
    const char *bad[] = {expired_token,   none_token,  hs_token, wrong_key_token,
                         wrong_iss_token, "not-a-jwt", "a.b.c"};
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct hdrs hs = {0};
        struct bn_sim_user u;

        bearer(&hs, bad[i]);
        assert_int_equal(run(&peer_none, &hs, &u), -1);
        assert_int_equal(u.method, BN_SIM_AUTHN_NONE);
    }
}

static void
test_no_credential_is_anonymous(void **state)
{
    static const char *const not_bearer[] = {NULL, "Authorization: Basic YWxpY2U6cHc=",
                                             "Authorization: Bearer ", "Authorization: Bearer"};
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(not_bearer) / sizeof(not_bearer[0]); i++) {
        struct hdrs hs = {0};
        struct bn_sim_user u;

        if (not_bearer[i] != NULL) {
            hdr(&hs, not_bearer[i]);
        }
        assert_int_equal(run(&peer_none, &hs, &u), 0);
        assert_int_equal(u.method, BN_SIM_AUTHN_ANONYMOUS);
        assert_string_equal(u.name, "system:anonymous");
        assert_int_equal(u.ngroups, 1);
        assert_string_equal(u.groups[0], "system:unauthenticated");
    }
}

static void
test_no_credential_without_anonymous_auth_is_unauthorized(void **state)
{
    struct bn_sim_auth *closed = make_auth(NULL, 0, false);
    struct bn_sim_user u;

    (void)state;
    assert_int_equal(bn_sim_auth_request(closed, &peer_none, NULL, 0, NOW, &u), -1);
    bn_sim_auth_free(closed);
}

static void
test_too_many_asserted_groups_is_unauthorized_not_truncated(void **state)
{
    static char lines[BN_SIM_USER_MAX_GROUPS + 1][64];
    struct hdrs hs = {0};
    struct bn_sim_user u;
    size_t i;

    (void)state;
    hdr(&hs, "X-Remote-User: alice");
    for (i = 0; i < BN_SIM_USER_MAX_GROUPS; i++) {
        snprintf(lines[i], sizeof(lines[i]), "X-Remote-Group: g%zu", i);
        hdr(&hs, lines[i]);
    }
    /* 32 asserted groups + system:authenticated does not fit */
    assert_int_equal(run(&peer_proxy, &hs, &u), -1);
    hs.n -= 1;
    assert_int_equal(run(&peer_proxy, &hs, &u), 0);
    assert_int_equal(u.ngroups, BN_SIM_USER_MAX_GROUPS);
}

static void
test_asserted_system_authenticated_is_not_duplicated(void **state)
{
    struct hdrs hs = {0};
    struct bn_sim_user u;

    (void)state;
    hdr(&hs, "X-Remote-User: bob");
    hdr(&hs, "X-Remote-Group: system:authenticated");
    assert_int_equal(run(&peer_proxy, &hs, &u), 0);
    assert_int_equal(u.ngroups, 1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_peer_certificates_verify_against_their_own_ca_only),
        cmocka_unit_test(test_front_proxy_asserts_user_groups_and_extras),
        cmocka_unit_test(test_front_proxy_without_remote_user_falls_through_to_the_token),
        cmocka_unit_test(test_front_proxy_without_remote_user_or_token_is_unauthorized),
        cmocka_unit_test(test_empty_first_remote_user_declines_even_if_a_second_is_set),
        cmocka_unit_test(test_front_proxy_cn_outside_allowed_names_is_refused),
        cmocka_unit_test(test_front_proxy_cn_inside_allowed_names_is_accepted),
        cmocka_unit_test(test_client_certificate_ignores_remote_headers),
        cmocka_unit_test(test_client_certificate_yields_cn_orgs_and_credential_id),
        cmocka_unit_test(test_certificate_from_an_unknown_ca_is_unauthorized),
        cmocka_unit_test(test_valid_token_wins_over_an_unknown_certificate),
        cmocka_unit_test(test_token_yields_service_account_groups_and_extras),
        cmocka_unit_test(test_bad_tokens_are_unauthorized_never_anonymous),
        cmocka_unit_test(test_no_credential_is_anonymous),
        cmocka_unit_test(test_no_credential_without_anonymous_auth_is_unauthorized),
        cmocka_unit_test(test_too_many_asserted_groups_is_unauthorized_not_truncated),
        cmocka_unit_test(test_asserted_system_authenticated_is_not_duplicated),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
