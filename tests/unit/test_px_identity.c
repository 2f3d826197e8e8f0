/* Who a request is: certificate fields -> user and groups to assert;
 * bearer tokens through the per-worker cache (verified once until they
 * expire, failures remembered, least recently used evicted); other
 * credentials keyed by their hash; nothing -> anonymous. With a fake
 * verifier, and with px_jwt on keys from deploy/pki.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "bn_sim_mint.h"
#include "px_identity.h"
#include "px_jwt.h"

struct fake {
    int calls;
    int64_t exp;
};

/* Tokens "sa:NS:NAME[:NODE]" verify; anything else does not. */
static int
fake_verify(void *arg, const char *token, size_t len, int64_t now_s, struct px_token_claims *out)
{
    struct fake *f = arg;
    char t[256], *node;

    (void)now_s;
    f->calls++;
    if (len < 3 || len >= sizeof(t) || memcmp(token, "sa:", 3) != 0) {
        return -1;
    }
    memcpy(t, token + 3, len - 3);
    t[len - 3] = '\0';
    node = strchr(strchr(t, ':') + 1, ':');
    if (node != NULL) {
        *node++ = '\0';
    }
    snprintf(out->user, sizeof(out->user), "system:serviceaccount:%s", t);
    snprintf(out->node, sizeof(out->node), "%s", node != NULL ? node : "");
    out->exp = f->exp;
    return 0;
}

static enum px_auth
resolve(struct px_idcache *c, const char *authz, bool reject, int64_t now, struct px_who *who)
{
    return px_identity_resolve(c, NULL, authz, authz != NULL ? strlen(authz) : 0,
                               reject ? PX_AUTH_REJECT_UNVERIFIED : 0u, now, who);
}

static void
test_certificate_fields_become_user_and_groups(void **state)
{
    static const char *const orgs[] = {"system:masters", "dev"};
    struct px_who who;

    (void)state;
    assert_int_equal(px_identity_from_cert("alice", orgs, 2, &who), 0);
    assert_int_equal(who.id.cred, LIM_CRED_CERT);
    assert_string_equal(who.id.user, "alice");
    assert_int_equal(who.id.ngroups, 3); /* + system:authenticated */
    assert_string_equal(who.assert.user, "alice");
    assert_int_equal(who.assert.ngroups, 2); /* the apiserver adds system:authenticated */
    assert_string_equal(who.assert.groups[0], "system:masters");
    assert_string_equal(who.assert.groups[1], "dev");
    assert_int_equal(px_identity_from_cert("system:node:n1", orgs + 1, 1, &who), 0);
    assert_string_equal(who.id.node, "n1");
}

static void
test_certificate_fields_that_cannot_be_asserted_are_refused(void **state)
{
    static const char *const bad[] = {"ok", "x\r\nX-Remote-User: root"};
    struct px_who who;

    (void)state;
    assert_int_equal(px_identity_from_cert("a\nb", NULL, 0, &who), -1);
    assert_int_equal(px_identity_from_cert("alice", bad, 2, &who), -1);
    assert_int_equal(px_identity_from_cert(" alice", NULL, 0, &who), -1);
}

static void
test_no_credential_is_anonymous_asserted_as_such(void **state)
{
    struct px_idcache *c = px_idcache_new(4, NULL, NULL, 1);
    struct px_who who;

    (void)state;
    assert_int_equal(resolve(c, NULL, true, 100, &who), PX_AUTH_OK);
    assert_int_equal(who.id.cred, LIM_CRED_ANONYMOUS);
    assert_string_equal(who.assert.user, "system:anonymous");
    assert_int_equal(who.assert.ngroups, 1);
    assert_string_equal(who.assert.groups[0], "system:unauthenticated");
    px_idcache_free(c);
}

/* auth.anonymous false mirrors kube's --anonymous-auth=false: floodgate
 * answers 401 itself rather than assert system:anonymous, which the
 * apiserver behind it would serve. A credential still goes through. */
static void
test_no_credential_is_refused_when_anonymous_is_off(void **state)
{
    struct px_idcache *c = px_idcache_new(4, NULL, NULL, 1);
    struct px_who who;

    (void)state;
    assert_int_equal(px_identity_resolve(c, NULL, NULL, 0, PX_AUTH_REJECT_ANONYMOUS, 100, &who),
                     PX_AUTH_UNAUTHORIZED);
    assert_null(who.assert.user);
    assert_int_equal(
        px_identity_resolve(c, NULL, "Bearer abc", 10, PX_AUTH_REJECT_ANONYMOUS, 100, &who),
        PX_AUTH_OK);
    assert_int_equal(who.id.cred, LIM_CRED_UNVERIFIED);
    px_idcache_free(c);
}

static void
test_verified_token_is_cached_until_it_expires(void **state)
{
    struct fake f = {0, 1000};
    struct px_idcache *c = px_idcache_new(4, fake_verify, &f, 1);
    struct px_who who;

    (void)state;
    assert_int_equal(resolve(c, "Bearer sa:kube-system:agent:node-7", false, 100, &who),
                     PX_AUTH_OK);
    assert_int_equal(who.id.cred, LIM_CRED_TOKEN);
    assert_string_equal(who.id.user, "system:serviceaccount:kube-system:agent");
    assert_string_equal(who.id.node, "node-7");
    assert_string_equal(who.id.sa_namespace, "kube-system");
    assert_null(who.assert.user); /* the apiserver authenticates the token itself */
    assert_int_equal(resolve(c, "bearer sa:kube-system:agent:node-7", false, 999, &who),
                     PX_AUTH_OK);
    assert_int_equal(f.calls, 1);
    assert_int_equal(resolve(c, "Bearer sa:kube-system:agent:node-7", false, 1000, &who),
                     PX_AUTH_OK);
    assert_int_equal(f.calls, 2); /* expired: verified again */
    px_idcache_free(c);
}

static void
test_unverifiable_token_is_keyed_by_its_hash_and_remembered(void **state)
{
    struct fake f = {0, 0};
    struct px_idcache *c = px_idcache_new(4, fake_verify, &f, 1);
    struct px_who a, b;

    (void)state;
    assert_int_equal(resolve(c, "Bearer not-a-jwt", false, 100, &a), PX_AUTH_OK);
    assert_int_equal(a.id.cred, LIM_CRED_UNVERIFIED);
    assert_int_equal(strncmp(a.id.user, "floodgate:unverified:", 21), 0);
    assert_int_equal(resolve(c, "Bearer not-a-jwt", false, 100 + PX_NEGATIVE_TTL_S - 1, &b),
                     PX_AUTH_OK);
    assert_string_equal(a.id.user, b.id.user);
    assert_int_equal(f.calls, 1);
    assert_int_equal(resolve(c, "Bearer other", false, 100, &b), PX_AUTH_OK);
    assert_string_not_equal(a.id.user, b.id.user);
    /* Basic and other schemes: the whole value is the key. */
    assert_int_equal(resolve(c, "Basic YTpi", false, 100, &b), PX_AUTH_OK);
    assert_int_equal(b.id.cred, LIM_CRED_UNVERIFIED);
    assert_int_equal(f.calls, 2);
    assert_null(b.assert.user);
    px_idcache_free(c);
}

static void
test_unverified_reject_mode_answers_401(void **state)
{
    struct fake f = {0, 0};
    struct px_idcache *c = px_idcache_new(4, fake_verify, &f, 1);
    struct px_who who;

    (void)state;
    assert_int_equal(resolve(c, "Bearer junk", true, 100, &who), PX_AUTH_UNAUTHORIZED);
    assert_int_equal(resolve(c, "Basic YTpi", true, 100, &who), PX_AUTH_UNAUTHORIZED);
    assert_int_equal(resolve(c, "Bearer sa:a:b", true, 100, &who), PX_AUTH_OK);
    px_idcache_free(c);
}

static void
test_cache_evicts_least_recently_used(void **state)
{
    struct fake f = {0, 0};
    struct px_idcache *c = px_idcache_new(2, fake_verify, &f, 1);
    struct px_who who;

    (void)state;
    resolve(c, "Bearer sa:a:1", false, 1, &who);
    resolve(c, "Bearer sa:a:2", false, 1, &who);
    resolve(c, "Bearer sa:a:1", false, 1, &who); /* 1 is now the most recent */
    resolve(c, "Bearer sa:a:3", false, 1, &who); /* evicts 2 */
    assert_int_equal(f.calls, 3);
    resolve(c, "Bearer sa:a:1", false, 1, &who);
    assert_int_equal(f.calls, 3);
    resolve(c, "Bearer sa:a:2", false, 1, &who);
    assert_int_equal(f.calls, 4);
    assert_int_equal(px_idcache_verifications(c), 4);
    px_idcache_free(c);
}

static void
test_real_service_account_tokens_through_px_jwt(void **state)
{
    char dir[1024], pub[1100], key[1100], ecpub[1100], eckey[1100], payload[1024], authz[4096];
    const char *paths[2] = {pub, ecpub};
    const char *issuers[1] = {"https://kubernetes.default.svc"};
    struct px_jwt_keys *keys;
    struct px_idcache *c;
    struct px_who who;
    char err[256], *tok;
    int64_t now = 1700000000;

    (void)state;
    assert_int_equal(mint_pki("px-identity", dir, sizeof(dir)), 0);
    snprintf(pub, sizeof(pub), "%s/sa.pub", dir);
    snprintf(key, sizeof(key), "%s/sa.key", dir);
    snprintf(ecpub, sizeof(ecpub), "%s/sa-ec.pub", dir);
    snprintf(eckey, sizeof(eckey), "%s/sa-ec.key", dir);
    keys = px_jwt_keys_new(paths, 2, issuers, 1, NULL, 0, err, sizeof(err));
    assert_non_null(keys);
    c = px_idcache_new(16, px_identity_jwt_verify, keys, 7);
    mint_bound_payload(payload, sizeof(payload), issuers[0], "https://kubernetes.default.svc", now,
                       now + 3600, "kube-system", "agent", "node-3");
    tok = mint_token("RS256", NULL, payload, key);
    snprintf(authz, sizeof(authz), "Bearer %s", tok);
    free(tok);
    assert_int_equal(resolve(c, authz, true, now, &who), PX_AUTH_OK);
    assert_int_equal(who.id.cred, LIM_CRED_TOKEN);
    assert_string_equal(who.id.user, "system:serviceaccount:kube-system:agent");
    assert_string_equal(who.id.node, "node-3");
    tok = mint_token("ES256", NULL, payload, eckey);
    snprintf(authz, sizeof(authz), "Bearer %s", tok);
    free(tok);
    assert_int_equal(resolve(c, authz, true, now, &who), PX_AUTH_OK);
    assert_int_equal(who.id.cred, LIM_CRED_TOKEN);
    /* alg none and HMAC keyed with the public key are forgeries. */
    tok = mint_token("none", NULL, payload, NULL);
    snprintf(authz, sizeof(authz), "Bearer %s", tok);
    free(tok);
    assert_int_equal(resolve(c, authz, true, now, &who), PX_AUTH_UNAUTHORIZED);
    tok = mint_token("HS256", NULL, payload, pub);
    snprintf(authz, sizeof(authz), "Bearer %s", tok);
    free(tok);
    assert_int_equal(resolve(c, authz, false, now, &who), PX_AUTH_OK);
    assert_int_equal(who.id.cred, LIM_CRED_UNVERIFIED);
    px_idcache_free(c);
    px_jwt_keys_free(keys);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_certificate_fields_become_user_and_groups),
        cmocka_unit_test(test_certificate_fields_that_cannot_be_asserted_are_refused),
        cmocka_unit_test(test_no_credential_is_anonymous_asserted_as_such),
        cmocka_unit_test(test_no_credential_is_refused_when_anonymous_is_off),
        cmocka_unit_test(test_verified_token_is_cached_until_it_expires),
        cmocka_unit_test(test_unverifiable_token_is_keyed_by_its_hash_and_remembered),
        cmocka_unit_test(test_unverified_reject_mode_answers_401),
        cmocka_unit_test(test_cache_evicts_least_recently_used),
        cmocka_unit_test(test_real_service_account_tokens_through_px_jwt),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
