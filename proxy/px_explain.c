/* Explain, the decision and who is asking: see px_explain.h. The request
 * info is lim_request_parse's, the decision and the trace lim_explain's,
 * the identity lim_identity's as the proxy would build it; the rendering is
 * in px_explain_json.c and px_explain_text.c. */
#include "px_explain.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "px_err.h"

#define SA_USER_MAX (2 * PX_JWT_FIELD + 32)

int
px_explain_run(struct px_explain *x, struct lim *l, bool live, const struct cf_config *cf,
               struct lim_identity *id, const char *method, const char *target, uint64_t now_ns,
               char *err, size_t errlen)
{
    const struct lim_policy *p = cf->policy;
    int ci;

    if (lim_request_parse(&x->req, method, strlen(method), target, strlen(target), err, errlen) !=
        0) {
        return -1;
    }
    x->cf = cf;
    x->id = id;
    x->target = target;
    x->live = live && l != NULL;
    lim_explain(l, p, id, &x->req, now_ns, &x->dec, &x->tr);
    ci = lim_policy_class_index(p, x->dec.class_name);
    x->cls = lim_policy_class(p, (size_t)ci); /* the policy's own class: ci >= 0 */
    x->mode = lim_class_mode(l, p, (size_t)ci);
    x->mode_override = x->mode != x->cls->mode;
    return 0;
}

int
px_identity_from_claims(struct lim_identity *id, const struct px_jwt_claims *c, char *err,
                        size_t errlen)
{
    char user[SA_USER_MAX];

    if (c->ns[0] == '\0' || c->sa_name[0] == '\0') {
        px_errf(err, errlen, "token claims name no service account namespace and name");
        return -1;
    }
    /* serviceaccount.ServiceAccountInfo.UserInfo: the name comes from the
     * namespace and name claims, never from sub. */
    snprintf(user, sizeof(user), "system:serviceaccount:%s:%s", c->ns, c->sa_name);
    return lim_identity_set(id, LIM_CRED_TOKEN, user, NULL, 0, c->node_name, err, errlen);
}

/* pkg/storage/cacher/delegator.go (ShouldDelegateList, and GET's
 * ShouldDelegateExactRV): which store serves a read. */
const char *
px_explain_read_from(const struct lim_request *r, const char **why)
{
    static const char *const connect[] = {"log", "exec", "attach", "portforward", "proxy"};
    const char *from = "none", *w = "not a read";
    size_t i;

    for (i = 0; r->is_resource && i < sizeof(connect) / sizeof(connect[0]); i++) {
        if (strcmp(r->subresource, connect[i]) == 0) {
            break;
        }
    }
    if (!r->is_resource) {
        w = "non-resource request";
    } else if (r->verb == LIM_VERB_PROXY || i < sizeof(connect) / sizeof(connect[0])) {
        /* Connect subresources: a stream to the kubelet or the proxied
         * backend, after one lookup of the object. */
        w = "answered by the kubelet or the proxied backend, not by storage";
    } else if (r->verb == LIM_VERB_WATCH) {
        from = "cache", w = "watches are served from the watch cache";
    } else if (r->verb == LIM_VERB_GET) {
        if (r->rv == LIM_RV_UNSET) {
            from = "etcd", w = "get without resourceVersion: a quorum read of one key";
        } else {
            from = "cache", w = "get at a resourceVersion: the watch cache";
        }
    } else if (r->verb == LIM_VERB_LIST) {
        if (r->rv_match == LIM_RVM_NOT_OLDER_THAN) {
            from = "cache", w = "resourceVersionMatch=NotOlderThan: the watch cache";
        } else if (r->rv_match == LIM_RVM_EXACT) {
            from = "etcd", w = "resourceVersionMatch=Exact: etcd";
        } else if (r->has_continue) {
            from = "etcd", w = "continue: etcd (or a watch-cache snapshot where kept)";
        } else if (r->has_limit && r->limit > 0 && r->rv == LIM_RV_VALUE) {
            from = "etcd", w = "limit at a resourceVersion: an exact read from etcd";
        } else if (r->rv == LIM_RV_UNSET) {
            from = "consistent", w = "no resourceVersion: from the watch cache once it has caught "
                                     "up if etcd supports progress notify, else from etcd";
        } else if (r->rv == LIM_RV_ZERO) {
            from = "cache", w = "resourceVersion=0: the watch cache, limit ignored";
        } else {
            from = "cache", w = "resourceVersion not older than: the watch cache";
        }
    }
    if (why != NULL) {
        *why = w;
    }
    return from;
}

/* --- who is asking --- */

/* kube's hasCorrectIssuer: a token from an issuer nobody configured is
 * not verified (the proxy then treats it as unverified). A payload without
 * iss is taken as the configured issuer's. */
static bool
issuer_accepted(const struct cf_config *cf, const struct px_jwt_claims *c)
{
    size_t i;

    if (c->legacy || c->issuer[0] == '\0') {
        return true;
    }
    for (i = 0; i < cf->auth.nissuers; i++) {
        if (strcmp(cf->auth.issuers[i], c->issuer) == 0) {
            return true;
        }
    }
    return false;
}

static int
identity_from_claims_text(struct lim_identity *id, const struct px_explain_who *w,
                          const struct cf_config *cf, char *err, size_t errlen)
{
    struct px_jwt_claims *c;
    char why[PX_ERRLEN];
    int rc = -1;

    if (cf->auth.nkeys == 0) {
        px_errf(err, errlen,
                "auth.keys is empty, so floodgate verifies no token and would treat this one as "
                "unverified");
        return -1;
    }
    c = malloc(sizeof(*c)); /* 2.8 KB */
    if (c == NULL) {
        px_errf(err, errlen, "out of memory");
        return -1;
    }
    if (px_jwt_claims_parse(w->claims, w->claims_len, c, why, sizeof(why)) != PX_JWT_OK ||
        px_identity_from_claims(id, c, why, sizeof(why)) != 0) {
        px_errf(err, errlen, "%s", why);
    } else if (!issuer_accepted(cf, c)) {
        px_errf(err, errlen,
                "issuer \"%.128s\" is not in auth.issuers, so floodgate would treat the token as "
                "unverified",
                c->issuer);
    } else {
        rc = 0;
    }
    free(c);
    return rc;
}

int
px_explain_identity(struct lim_identity *id, const struct px_explain_who *w,
                    const struct cf_config *cf, char *err, size_t errlen)
{
    uint8_t md[SHA256_DIGEST_LENGTH];

    switch (w->kind) {
    case PX_EXPLAIN_CERT:
        /* x509.CommonNameUserConversion: CN is the user, O the groups. */
        return lim_identity_set(id, LIM_CRED_CERT, w->user, w->groups, w->ngroups, NULL, err,
                                errlen);
    case PX_EXPLAIN_CLAIMS:
        return identity_from_claims_text(id, w, cf, err, errlen);
    case PX_EXPLAIN_UNVERIFIED:
        /* The proxy keys an unverifiable bearer token by SHA-256 of its
         * bytes (the value after "Bearer "). */
        SHA256((const unsigned char *)w->token, strlen(w->token), md);
        lim_identity_unverified(id, md);
        return 0;
    default:
        lim_identity_anonymous(id);
        return 0;
    }
}

int
px_explain_identity_audit(struct lim_identity *id, char *user, char *groups, char *err,
                          size_t errlen)
{
    const char *g[LIM_ID_MAX_GROUPS];
    enum lim_cred cred = LIM_CRED_CERT;
    char *p = groups;
    size_t ng = 0;

    if (strcmp(user, "system:anonymous") == 0) {
        lim_identity_anonymous(id);
        return 0;
    }
    /* kube reserves the prefix for service-account tokens. */
    if (strncmp(user, "system:serviceaccount:", 22) == 0) {
        cred = LIM_CRED_TOKEN;
    }
    while (p != NULL && *p != '\0') {
        char *comma = strchr(p, ',');

        if (comma != NULL) {
            *comma = '\0';
        }
        if (*p != '\0') {
            if (ng == LIM_ID_MAX_GROUPS) {
                px_errf(err, errlen, "more than %d groups", LIM_ID_MAX_GROUPS);
                return -1;
            }
            g[ng++] = p;
        }
        p = comma != NULL ? comma + 1 : NULL;
    }
    return lim_identity_set(id, cred, user, g, ng, NULL, err, errlen);
}
